//! What the stdlib tests share: evaluating a script as `test.rhai` with the real engine.

use hapl_core::Diagnostic;
use hapl_script::{evaluate_str, Evaluation, Options};

/// Evaluate a script that must succeed; a failure panics with every diagnostic.
pub fn eval(script: &str) -> Evaluation {
    match evaluate_str("test.rhai", script, &Options::default()) {
        Ok(e) => e,
        Err(f) => panic!(
            "{}",
            f.diagnostics
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

/// Evaluate a script that must fail with exactly one diagnostic, and return it.
pub fn eval_err(script: &str) -> Diagnostic {
    let Err(f) = evaluate_str("test.rhai", script, &Options::default()) else {
        panic!("the script should fail:\n{script}");
    };
    assert_eq!(f.diagnostics.len(), 1, "{:?}", f.diagnostics);
    f.diagnostics.into_iter().next().unwrap()
}
