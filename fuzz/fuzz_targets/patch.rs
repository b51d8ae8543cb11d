//! Arbitrary YAML and an arbitrary edit: see fuzz/harness/patch.rs for what is checked.
#![no_main]

#[path = "../harness/patch.rs"]
mod harness;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: harness::Input| harness::check(&input));
