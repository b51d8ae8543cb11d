//! Replays every script the `script` fuzz target ever crashed or hung on
//! (`fuzz/regressions/script/`, kept by scripts/fuzz/run): no panic, an error is a diagnostic.

use std::fs;
use std::time::{Duration, Instant};

#[path = "../../../fuzz/harness/kept.rs"]
mod kept;
use kept::kept;

#[test]
fn fuzz_regressions_of_scripts_replay_without_panics() {
    let options = hapl_script::Options {
        lib_dir: None,
        limits: hapl_script::Limits {
            max_operations: 200_000,
            timeout: Duration::from_millis(500),
            ..Default::default()
        },
    };
    for input in kept("script") {
        let text = String::from_utf8_lossy(&fs::read(&input).unwrap()).into_owned();
        let started = Instant::now();
        if let Err(f) = hapl_script::evaluate_str("fuzz.rhai", &text, &options) {
            assert!(!f.diagnostics.is_empty(), "{}", input.display());
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{}",
            input.display()
        );
    }
}

/// The operation limit, not only the timeout, stops a script: an endless loop under a low
/// operation limit and a long timeout ends at once with the operation message.
#[test]
fn the_operation_limit_stops_an_endless_loop_before_the_timeout() {
    let options = hapl_script::Options {
        lib_dir: None,
        limits: hapl_script::Limits {
            max_operations: 100_000,
            timeout: Duration::from_secs(60),
            ..Default::default()
        },
    };
    let started = Instant::now();
    let failure =
        hapl_script::evaluate_str("loop.rhai", "let x = 0;\nloop { x += 1; }\n", &options)
            .expect_err("an endless loop fails");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let message = &failure.diagnostics[0].message;
    assert!(message.contains("too many operations"), "{message}");
}
