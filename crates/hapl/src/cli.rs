//! Arguments, commands and exit codes.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};
use hapl_core::{Diagnostic, Severity};
use hapl_script::{Evaluation, Options};

use crate::report::Renderer;

/// Exit codes: 0 ok, 1 error.
pub const EXIT_OK: i32 = 0;
pub const EXIT_ERROR: i32 = 1;

#[derive(Parser)]
#[command(
    name = "hapl",
    version,
    about = "Describe a Home Assistant platform on k3s in Rhai; check it against durability rules; render it for Flux."
)]
struct Cli {
    /// The platform script.
    #[arg(
        long,
        global = true,
        default_value = "platform.rhai",
        value_name = "PATH"
    )]
    script: PathBuf,
    /// The project's module folder, searched before the standard library [default: `lib/` next to the script].
    #[arg(long, global = true, value_name = "DIR", env = "HAPL_LIB")]
    lib: Option<PathBuf>,
    /// When to use colour (also off when NO_COLOR is set).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Stop a script that runs longer than this many seconds (an endless loop, say).
    #[arg(long, global = true, default_value_t = 10, value_name = "SECONDS")]
    timeout: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate the script and check the platform; print every diagnostic.
    Check,
    /// Write the rendered platform to a directory, with a kustomization.yaml in every folder.
    Render {
        /// Output directory: must be new, empty, or an earlier `hapl render` output.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

pub fn run() -> i32 {
    let cli = Cli::parse();
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
        }
    };
    let renderer = Renderer { color };
    let options = Options {
        lib_dir: Some(
            cli.lib
                .clone()
                .unwrap_or_else(|| script_dir(&cli.script).join("lib")),
        ),
        limits: hapl_script::Limits {
            timeout: std::time::Duration::from_secs(cli.timeout),
            ..hapl_script::Limits::default()
        },
    };
    let evaluation = match hapl_script::evaluate_file(&cli.script, &options) {
        Ok(e) => e,
        Err(failure) => {
            print_diagnostics(&renderer, &failure.diagnostics, &failure.sources);
            return EXIT_ERROR;
        }
    };
    print_output(&evaluation);
    print_diagnostics(&renderer, &evaluation.diagnostics, &evaluation.sources);
    match cli.command {
        Command::Check => check(&evaluation),
        Command::Render { out } => render(&evaluation, &out),
    }
}

fn script_dir(script: &Path) -> PathBuf {
    match script.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

fn print_output(evaluation: &Evaluation) {
    let mut err = std::io::stderr().lock();
    for line in &evaluation.output {
        let _ = writeln!(err, "{line}");
    }
}

fn print_diagnostics(
    renderer: &Renderer,
    diagnostics: &[Diagnostic],
    sources: &hapl_script::Sources,
) {
    let mut err = std::io::stderr().lock();
    for diag in diagnostics {
        renderer.write(&mut err, diag, sources);
    }
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    if errors > 0 {
        let _ = writeln!(err, "{}", count_line(errors, warnings));
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn count_line(errors: usize, warnings: usize) -> String {
    format!(
        "{}, {}",
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}

fn check(evaluation: &Evaluation) -> i32 {
    let p = &evaluation.platform;
    let warnings = evaluation
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    let budget = hapl_core::budget::budget(p);
    let fits = p.node.as_ref().is_none_or(|node| budget.fits(node));
    // A closed stdout (`hapl check | head -1`) is not an error of the platform.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "platform `{}` (cluster `{}`): {}, {}",
        p.name,
        p.cluster,
        plural(p.objects.len(), "object"),
        count_line(usize::from(!fits), warnings)
    );
    let _ = writeln!(out, "{}", budget_line(&budget, p.node.as_ref()));
    if !budget.incomplete.is_empty() {
        let _ = writeln!(
            out,
            "  without a request or limit (not counted): {}",
            budget.incomplete.join(", ")
        );
    }
    if fits {
        EXIT_OK
    } else {
        let d = Diagnostic::error(
            "budget",
            "the platform's requests do not fit the node it declares",
        )
        .hint("lower the requests of the largest workloads, or declare the node's real size in `platform(...)`");
        eprintln!("{d}");
        EXIT_ERROR
    }
}

/// `budget: requests 1.06 CPU (27% of 4), 2.42 GiB (30% of 8 GiB); ...`
fn budget_line(b: &hapl_core::budget::Budget, node: Option<&hapl_core::Node>) -> String {
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    let peak = b.peak();
    let cpu = |m: u64| m as f64 / 1000.0;
    let gib = |bytes: u64| bytes as f64 / GIB;
    let share = |part: u64, whole: u64| {
        if whole == 0 {
            String::new()
        } else {
            format!(" ({:.0}%)", part as f64 * 100.0 / whole as f64)
        }
    };
    let (node_cpu, node_mem) = node.map_or((0, 0), |n| (n.cpu_millis, n.memory_bytes));
    let mut line = format!(
        "budget: requests {:.2} CPU{}, {:.2} GiB{}; limits {:.2} CPU, {:.2} GiB{}",
        cpu(peak.cpu_request_millis),
        share(peak.cpu_request_millis, node_cpu),
        gib(peak.memory_request_bytes),
        share(peak.memory_request_bytes, node_mem),
        cpu(peak.cpu_limit_millis),
        gib(peak.memory_limit_bytes),
        share(peak.memory_limit_bytes, node_mem),
    );
    if let Some(n) = node {
        line.push_str(&format!(
            " of node `{}` ({} CPU, {:.0} GiB, {})",
            n.name,
            cpu(n.cpu_millis),
            gib(n.memory_bytes),
            n.arch
        ));
    }
    if b.largest_job != hapl_core::budget::Amounts::default() {
        line.push_str(&format!(
            "; includes the largest job ({:.2} CPU, {:.0} MiB)",
            cpu(b.largest_job.cpu_request_millis),
            b.largest_job.memory_request_bytes as f64 / 1024.0 / 1024.0
        ));
    }
    line
}

fn render(evaluation: &Evaluation, out: &Path) -> i32 {
    let tree = hapl_repo::render_tree(&evaluation.platform);
    match hapl_repo::write_render(out, &tree) {
        Ok(()) => {
            println!(
                "rendered {} to `{}`",
                plural(tree.len(), "file"),
                out.display()
            );
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_ERROR
        }
    }
}
