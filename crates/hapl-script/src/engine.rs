//! The sandboxed engine and the evaluation of a platform script.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use hapl_core::{Diagnostic, Platform, Span};
use rhai::{Dynamic, Engine, EvalAltResult};

use crate::api::{self, MainFile, PlatformHandle};
use crate::error::to_diagnostic;
use crate::resolver::{ModuleOrigin, Resolver, ResolverState};
use crate::sources::Sources;

/// Sandbox limits. The defaults let a 5,000-app platform evaluate and stop `loop {}` in seconds.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_operations: u64,
    pub timeout: Duration,
    pub max_call_levels: usize,
    pub max_expr_depth: usize,
    pub max_function_expr_depth: usize,
    pub max_string_size: usize,
    pub max_array_size: usize,
    pub max_map_size: usize,
    pub max_modules: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_operations: 200_000_000,
            timeout: Duration::from_secs(10),
            max_call_levels: 64,
            max_expr_depth: 64,
            max_function_expr_depth: 48,
            max_string_size: 4 << 20,
            max_array_size: 200_000,
            max_map_size: 100_000,
            max_modules: 256,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The project's own module folder (`lib/` next to the script), searched before the stdlib.
    pub lib_dir: Option<PathBuf>,
    pub limits: Limits,
}

/// A script evaluated to a platform.
#[derive(Debug)]
pub struct Evaluation {
    pub platform: Platform,
    /// Warnings and notes found while evaluating (errors make the evaluation fail).
    pub diagnostics: Vec<Diagnostic>,
    /// What the script printed with `print` / `debug`.
    pub output: Vec<String>,
    pub sources: Sources,
}

/// A script that did not produce a valid platform.
#[derive(Debug)]
pub struct Failure {
    pub diagnostics: Vec<Diagnostic>,
    pub sources: Sources,
}

fn build_engine(
    options: &Options,
    main: &str,
    state: Rc<RefCell<ResolverState>>,
    output: Rc<RefCell<Vec<String>>>,
) -> Engine {
    let limits = &options.limits;
    let mut engine = Engine::new();
    engine
        .set_max_operations(limits.max_operations)
        .set_max_call_levels(limits.max_call_levels)
        .set_max_expr_depths(limits.max_expr_depth, limits.max_function_expr_depth)
        .set_max_string_size(limits.max_string_size)
        .set_max_array_size(limits.max_array_size)
        .set_max_map_size(limits.max_map_size)
        .set_max_modules(limits.max_modules)
        .set_strict_variables(true);
    // No string interning: once Rhai's interner holds its 256 strings, every new string (each
    // app's names and URLs) scans the whole cache to evict one, 6 % of a 1,000-app render.
    engine.set_max_strings_interned(0);
    engine.disable_symbol("eval");
    let deadline = Instant::now() + limits.timeout;
    engine.on_progress(move |ops| {
        if ops % 65_536 == 0 && Instant::now() > deadline {
            Some(Dynamic::UNIT)
        } else {
            None
        }
    });
    let out = output.clone();
    engine.on_print(move |s| out.borrow_mut().push(s.to_owned()));
    engine.on_debug(move |s, src, pos| {
        output
            .borrow_mut()
            .push(format!("[debug] {}:{pos}: {s}", src.unwrap_or("")));
    });
    // The debugger interface keeps Rhai's call stack, which origins are made from.
    #[allow(deprecated)] // "volatile", not deprecated: see its doc comment
    engine.register_debugger(
        |_, dbg| dbg,
        |_, _, _, _, _| Ok(rhai::debugger::DebuggerCommand::Continue),
    );
    engine.set_default_tag(Dynamic::from(MainFile(Rc::from(main))));
    engine.set_module_resolver(Resolver::new(options.lib_dir.clone(), state));
    api::register(&mut engine);
    engine
}

/// Read and evaluate a script file. `display_name` is how diagnostics name it.
pub fn evaluate_file(path: &Path, options: &Options) -> Result<Evaluation, Failure> {
    let name = path.to_string_lossy().into_owned();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            let hint = if e.kind() == std::io::ErrorKind::NotFound {
                "run hapl in the folder that holds platform.rhai, or name the script with `--script PATH`".to_owned()
            } else {
                "check the file's permissions".to_owned()
            };
            return Err(Failure {
                diagnostics: vec![Diagnostic::error(
                    "script-read",
                    format!("cannot read the script `{name}`: {e}"),
                )
                .hint(hint)],
                sources: Sources::default(),
            });
        }
    };
    match String::from_utf8(bytes) {
        Ok(text) => evaluate_str(&name, &text, options),
        Err(e) => {
            let bytes = e.as_bytes();
            let at = e.utf8_error().valid_up_to();
            let before = String::from_utf8_lossy(&bytes[..at]);
            let line = before.matches('\n').count() as u32 + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u32 + 1;
            let mut sources = Sources::default();
            sources.insert(name.clone(), String::from_utf8_lossy(bytes).into_owned());
            Err(Failure {
                diagnostics: vec![Diagnostic::error(
                    "script-encoding",
                    format!(
                        "the script `{name}` is not valid UTF-8 (byte 0x{:02x})",
                        bytes[at]
                    ),
                )
                .at(
                    Span::new(name.clone(), line, column).with_len(1),
                    "this byte is not UTF-8",
                )
                .hint("save the script as UTF-8")],
                sources,
            })
        }
    }
}

/// Evaluate script text. `name` is the file name diagnostics use.
pub fn evaluate_str(name: &str, text: &str, options: &Options) -> Result<Evaluation, Failure> {
    let state = Rc::new(RefCell::new(ResolverState::default()));
    state.borrow_mut().sources.insert(name, text);
    let output = Rc::new(RefCell::new(Vec::new()));
    let engine = build_engine(options, name, state.clone(), output.clone());

    let fail = |diagnostics: Vec<Diagnostic>, state: &Rc<RefCell<ResolverState>>| Failure {
        diagnostics,
        sources: state.borrow().sources.clone(),
    };

    let mut ast = match engine.compile(text) {
        Ok(ast) => ast,
        Err(err) => {
            let e = EvalAltResult::ErrorParsing(*err.0, err.1);
            let files = state.borrow().files.clone();
            return Err(fail(vec![to_diagnostic(&e, name, &files)], &state));
        }
    };
    ast.set_source(name);
    let result = engine.eval_ast::<Dynamic>(&ast);
    drop(engine);
    let files = state.borrow().files.clone();
    let value = match result {
        Ok(v) => v,
        Err(err) => return Err(fail(vec![to_diagnostic(&err, name, &files)], &state)),
    };
    let Some(handle) = value.clone().try_cast::<PlatformHandle>() else {
        let last_line = text.trim_end().lines().count().max(1) as u32;
        let found = if value.is_unit() {
            "nothing".to_owned()
        } else {
            format!("a value of type `{}`", value.type_name())
        };
        return Err(fail(
            vec![Diagnostic::error(
                "script-no-platform",
                format!("the script must end with the platform it built, but it returned {found}"),
            )
            .at(Span::new(name, last_line, 1), "the last expression is the script's result")
            .hint("end the script with the variable that holds `platform(...)`, e.g. a last line `p` (no semicolon)")],
            &state,
        ));
    };
    // Taken, not cloned: the script's values are gone, and a copy would double peak memory.
    let (mut platform, mut diagnostics) = {
        let mut st = handle.0.borrow_mut();
        (
            std::mem::replace(&mut st.platform, Platform::new("", "")),
            std::mem::take(&mut st.diagnostics),
        )
    };
    drop(handle);
    drop(value);
    diagnostics.extend(platform.check_identities());
    diagnostics.extend(shadowing_notes(&state.borrow()));
    platform.record_waivers();
    // The list grew by doubling; a plan holds it while it reads the repo.
    platform.objects.shrink_to_fit();
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(fail(diagnostics, &state));
    }
    let output = output.borrow().clone();
    let sources = state.borrow().sources.clone();
    Ok(Evaluation {
        platform,
        diagnostics,
        output,
        sources,
    })
}

/// A note for every project module that replaces a stdlib module of the same name.
fn shadowing_notes(state: &ResolverState) -> Vec<Diagnostic> {
    state
        .origins
        .iter()
        .filter(|(name, origin)| {
            matches!(origin, ModuleOrigin::Project(_)) && crate::stdlib::module(name).is_some()
        })
        .map(|(name, _)| {
            Diagnostic::new(
                hapl_core::Severity::Note,
                "module-shadowed",
                format!("lib/{name}.rhai replaces the standard library module `{name}`"),
            )
            .hint(format!(
                "rename lib/{name}.rhai to use the standard library's `{name}` again"
            ))
        })
        .collect()
}

/// Write Rhai definition files (`.d.rhai`) for the Rhai language server into `dir`: hapl's
/// registered functions and types (`__static__.d.rhai`, Rhai's own output), and one file per
/// stdlib module (`<module>.d.rhai`) with each public function and its `///` docs.
pub fn write_definitions(dir: &Path) -> Result<(), Box<EvalAltResult>> {
    let state = Rc::new(RefCell::new(ResolverState::default()));
    let output = Rc::new(RefCell::new(Vec::new()));
    let engine = build_engine(&Options::default(), "<definitions>", state, output);
    let write_err =
        |e: std::io::Error| format!("cannot write definitions to `{}`: {e}", dir.display());
    engine
        .definitions()
        .with_headers(true)
        .include_standard_packages(false)
        .write_to_dir(dir)
        .map_err(write_err)?;
    for (name, text) in crate::stdlib::MODULES {
        let ast = engine.compile(*text)?;
        let mut functions: Vec<_> = ast
            .iter_functions()
            .filter(|f| f.access == rhai::FnAccess::Public && !f.name.starts_with("anon$"))
            .collect();
        functions.sort_by(|a, b| (a.name, a.params.len()).cmp(&(b.name, b.params.len())));
        let mut out = format!("module {name};\n");
        for f in functions {
            out.push('\n');
            for comment in &f.comments {
                out.push_str(comment);
                out.push('\n');
            }
            let params: Vec<String> = f.params.iter().map(|p| format!("{p}: ?")).collect();
            out.push_str(&format!("fn {}({}) -> ?;\n", f.name, params.join(", ")));
        }
        std::fs::write(dir.join(format!("{name}.d.rhai")), out).map_err(write_err)?;
    }
    Ok(())
}
