//! Replays every script the `script` fuzz target ever crashed or hung on
//! (`fuzz/regressions/script/`, kept by scripts/fuzz/run): no panic, an error is a diagnostic.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

#[test]
fn fuzz_regressions_of_scripts_replay_without_panics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions/script");
    let mut inputs: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| n != ".gitkeep"))
        .collect();
    inputs.sort();
    let options = hapl_script::Options {
        lib_dir: None,
        limits: hapl_script::Limits {
            max_operations: 200_000,
            timeout: Duration::from_millis(500),
            ..Default::default()
        },
    };
    for input in inputs {
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
