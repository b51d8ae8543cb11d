//! Rhai errors → diagnostics. The primary label is always the user's own line; stdlib frames
//! between it and the place the error was raised become the trace.

use std::collections::BTreeMap;

use hapl_core::{Diagnostic, Frame, Span};
use rhai::{Dynamic, EvalAltResult, Map, Position};

/// Marker key of a structured hapl error thrown from Rust or from `fail(...)` in a module.
const MARKER: &str = "__hapl_error";

/// A structured error: `code`, `message`, optional `hint`, raised as a Rhai runtime error.
pub fn hapl_error(
    code: &str,
    message: String,
    hint: Option<&str>,
    pos: Position,
) -> Box<EvalAltResult> {
    let mut map = Map::new();
    map.insert(MARKER.into(), Dynamic::TRUE);
    map.insert("code".into(), code.into());
    map.insert("message".into(), message.into());
    if let Some(hint) = hint {
        map.insert("hint".into(), hint.into());
    }
    Box::new(EvalAltResult::ErrorRuntime(map.into(), pos))
}

pub fn span_of(source: &str, pos: Position) -> Span {
    Span::new(
        source,
        pos.line().unwrap_or(0) as u32,
        pos.position().unwrap_or(0) as u32,
    )
}

/// A stdlib file or a user file?
fn is_user(file: &str) -> bool {
    !file.starts_with(hapl_core::STDLIB_PREFIX)
}

/// One step on the way from the user's script to where an error was raised.
struct Step {
    function: String,
    span: Span,
}

/// Convert an evaluation error. `main` is the file name of the top-level script;
/// `module_files` maps module names to the file names their diagnostics use.
pub fn to_diagnostic(
    err: &EvalAltResult,
    main: &str,
    module_files: &BTreeMap<String, String>,
) -> Diagnostic {
    // Walk from the outermost layer inwards, recording each call site.
    let mut steps: Vec<Step> = Vec::new();
    let mut current = main.to_owned();
    let mut layer = err;
    loop {
        match layer {
            EvalAltResult::ErrorInFunctionCall(name, fn_source, inner, pos) => {
                steps.push(Step {
                    function: name.clone(),
                    span: span_of(&current, *pos),
                });
                if !fn_source.is_empty() {
                    current = fn_source.clone();
                }
                layer = inner;
            }
            EvalAltResult::ErrorInModule(name, inner, pos) => {
                steps.push(Step {
                    function: format!("import \"{name}\""),
                    span: span_of(&current, *pos),
                });
                if let Some(file) = module_files.get(name) {
                    current = file.clone();
                }
                layer = inner;
            }
            _ => break,
        }
    }
    let raised = span_of(&current, layer.position());
    let (code, message, hints) = describe(layer);

    // The primary span: the innermost place in a user file.
    let mut places: Vec<(String, Span)> = steps
        .iter()
        .map(|s| (s.function.clone(), s.span.clone()))
        .collect();
    places.push((String::new(), raised.clone()));
    let user_index = places
        .iter()
        .rposition(|(_, span)| is_user(&span.file) && span.line > 0);
    let (primary, label, trace) = match user_index {
        Some(i) => {
            // Place j lies inside the function called at place j - 1; innermost first.
            let trace = (i + 1..places.len())
                .rev()
                .map(|j| Frame {
                    function: places[j - 1].0.clone(),
                    span: places[j].1.clone(),
                })
                .collect();
            let label = if i + 1 < places.len() {
                format!("in this call to `{}`", places[i].0)
            } else {
                default_label(&code).to_owned()
            };
            (places[i].1.clone(), label, trace)
        }
        None => (raised, default_label(&code).to_owned(), Vec::new()),
    };
    let mut diag = Diagnostic::error(code, message).at(primary, label);
    diag.trace = trace;
    diag.hints = hints;
    diag
}

/// Code, message and hints for the innermost error.
fn describe(err: &EvalAltResult) -> (String, String, Vec<String>) {
    use EvalAltResult as E;
    match err {
        E::ErrorRuntime(value, _) => {
            if let Some(map) = value.read_lock::<Map>() {
                if map.get(MARKER).is_some() {
                    let get = |k: &str| map.get(k).map(|v| v.to_string()).unwrap_or_default();
                    let hints = map
                        .get("hint")
                        .map(|h| vec![h.to_string()])
                        .unwrap_or_default();
                    return (get("code"), get("message"), hints);
                }
            }
            (
                "script-runtime".into(),
                format!("script error: {value}"),
                vec![],
            )
        }
        E::ErrorParsing(kind, _) => (
            "script-syntax".into(),
            format!("syntax error: {kind}"),
            vec![],
        ),
        E::ErrorTooManyOperations(_) => (
            "script-limit".into(),
            "the script ran too many operations; does it loop forever?".into(),
            vec![
                "look for a `loop` or `while` without a `break`, or recursion without an end"
                    .into(),
            ],
        ),
        E::ErrorTerminated(_, _) => (
            "script-limit".into(),
            "the script ran out of time; does it loop forever?".into(),
            vec![
                "look for a `loop` or `while` without a `break`, or recursion without an end"
                    .into(),
            ],
        ),
        E::ErrorStackOverflow(_) => (
            "script-limit".into(),
            "functions call each other too deeply (stack overflow)".into(),
            vec!["a recursive function needs a case that stops the recursion".into()],
        ),
        E::ErrorDataTooLarge(what, _) => (
            "script-limit".into(),
            format!(
                "the script built a value larger than allowed ({} over the limit)",
                what.to_lowercase()
            ),
            vec![
                "a platform needs no data this large; look for a loop that keeps appending".into(),
            ],
        ),
        E::ErrorTooManyModules(_) => (
            "script-limit".into(),
            "the script imports too many modules".into(),
            vec![],
        ),
        E::ErrorFunctionNotFound(sig, _) => (
            "script-runtime".into(),
            format!("no function `{sig}`"),
            vec!["check the function's name and the number and types of its arguments".into()],
        ),
        other => (
            "script-runtime".into(),
            without_position(&other.to_string()),
            vec![],
        ),
    }
}

/// Rhai's messages end with ` (line 3, position 7)`; the diagnostic shows that itself.
fn without_position(message: &str) -> String {
    match message.rfind(" (line ") {
        Some(i) if message.ends_with(')') => message[..i].to_owned(),
        _ => message.to_owned(),
    }
}

fn default_label(code: &str) -> &'static str {
    match code {
        "script-limit" => "stopped here",
        "module-not-found" | "module-name" | "module-cycle" => "imported here",
        _ => "here",
    }
}
