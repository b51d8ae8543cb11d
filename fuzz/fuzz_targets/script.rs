//! Arbitrary script text under the sandbox with tight limits: evaluation never panics and ends
//! within its timeout (a failure is a diagnostic).
#![no_main]

use std::time::{Duration, Instant};

use hapl_script::{evaluate_str, Limits, Options};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let options = Options {
        lib_dir: None,
        limits: Limits {
            max_operations: 200_000,
            timeout: Duration::from_millis(500),
            max_string_size: 64 << 10,
            max_array_size: 10_000,
            max_map_size: 10_000,
            ..Limits::default()
        },
    };
    let started = Instant::now();
    if let Err(failure) = evaluate_str("fuzz.rhai", text, &options) {
        assert!(
            !failure.diagnostics.is_empty(),
            "a failure without a diagnostic"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "ran for {:?}",
        started.elapsed()
    );
});
