//! Arguments, commands and exit codes.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use hapl_core::{Diagnostic, Severity};
use hapl_script::{Evaluation, Options};

use crate::report::Renderer;

/// Exit codes: 0 ok (for `plan`: no changes), 1 error, 2 (`plan`) changes to make.
pub const EXIT_OK: i32 = 0;
pub const EXIT_ERROR: i32 = 1;
pub const EXIT_CHANGES: i32 = 2;
/// `assess`: the repository has critical findings (errors).
pub const EXIT_CRITICAL: i32 = 3;

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
    /// Print a rule's documentation: the risk it guards against and how to fix a finding.
    Explain {
        /// The rule id, e.g. `no-sqlite-recorder`.
        #[arg(required_unless_present = "list")]
        rule: Option<String>,
        /// List every rule with its severity and summary.
        #[arg(long, conflicts_with = "rule")]
        list: bool,
    },
    /// Show the minimal change to the Flux repository that makes it hold the platform.
    /// Exit code 0: no changes, 2: changes, 1: error.
    Plan(PlanArgs),
    /// Carry out the plan on the Flux repository as git commits, one per phase, atomically.
    /// Exit code 0: applied or nothing to do, 1: error (nothing changed on a refusal).
    ApplyToGit(ApplyArgs),
    /// Phase 0: assess a Flux repository read-only (inventory, findings at file:line, changes
    /// by phase). Needs no script. Exit code 0: no critical finding, 3: critical findings,
    /// 1: the repository cannot be read.
    Assess {
        /// The repository [default: the current directory].
        #[arg(long, value_name = "DIR", default_value = ".")]
        repo: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Write a first `platform.rhai` (never over an existing one), or one adopting a Flux repository.
    Init(crate::habits::InitArgs),
    /// Print a shell completion script (e.g. `hapl completions bash > /etc/bash_completion.d/hapl`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write `hapl.1` and a page per command into a folder.
    Man {
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Write Rhai definition files of hapl's API and stdlib, for the Rhai language server.
    Definitions {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Draw the platform: Flux Kustomizations and their dependsOn, which workload mounts which
    /// claim on which StorageClass and NAS export, who talks to MQTT, which secrets feed what.
    Graph {
        #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
        format: GraphFormat,
    },
    /// Write the book's generated reference (stdlib, rules, command line) into DIR.
    #[command(hide = true)]
    Reference {
        dir: PathBuf,
        /// Compare with DIR instead of writing; exit 1 when it is stale.
        #[arg(long)]
        check: bool,
    },
}

#[derive(clap::Args)]
struct ApplyArgs {
    /// The Flux repository [default: the platform's `repo`, else the script's folder].
    #[arg(long, value_name = "DIR")]
    repo: Option<PathBuf>,
    /// Apply only this phase (1-6).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=6))]
    phase: Option<u8>,
    /// One commit for every phase instead of one per phase.
    #[arg(long)]
    single_commit: bool,
    /// Show what would be committed; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Apply a plan saved by `hapl plan --out`: the script must still make exactly that plan,
    /// and the repository must still be at its base commit with the files it read.
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// Write the files only: no commit; the branch and the index stay as they are.
    #[arg(long)]
    no_commit: bool,
    /// Commit on a detached HEAD.
    #[arg(long)]
    allow_detached: bool,
}

#[derive(clap::Args)]
struct PlanArgs {
    /// The Flux repository [default: the platform's `repo`, else the script's folder].
    #[arg(long, value_name = "DIR")]
    repo: Option<PathBuf>,
    /// Plan only this phase (1-6).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=6))]
    phase: Option<u8>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Also save the plan (JSON, with the base commit and the hashes of the files read).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Report unreadable YAML files as findings instead of stopping.
    #[arg(long)]
    keep_going: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphFormat {
    /// Mermaid flowchart (GitHub, Forgejo and the book render it).
    Mermaid,
    /// Graphviz DOT (`hapl graph --format dot | dot -Tsvg > platform.svg`).
    Dot,
    /// The Mermaid flowchart as an HTML `<pre class="mermaid">` block, escaped, for a page that
    /// loads mermaid.js (how the book shows it, with no mdbook preprocessor).
    Html,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
    Markdown,
}

pub fn run() -> i32 {
    // Usage errors exit 1 (clap's own 2 means "changes" for `hapl plan`).
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
        }
    };
    match &cli.command {
        Command::Explain { rule, list } => return explain(rule.as_deref(), *list),
        Command::Init(args) => return crate::habits::init(&cli.script, args),
        Command::Completions { shell } => {
            return crate::habits::completions(*shell, Cli::command())
        }
        Command::Man { out } => return crate::habits::man(Cli::command(), out.as_deref()),
        Command::Definitions { out } => return crate::habits::definitions(out),
        Command::Reference { dir, check } => {
            return crate::reference::run(Cli::command(), dir, *check)
        }
        _ => {}
    }
    if let Command::Assess { repo, format } = &cli.command {
        return assess(repo, *format);
    }
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
        }
    };
    let renderer = Renderer { color };
    let color_out = !matches!(cli.color, ColorChoice::Never)
        && (matches!(cli.color, ColorChoice::Always)
            || std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal());
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
        Command::Check => check(&evaluation, &renderer),
        Command::Render { out } => render(&evaluation, &renderer, &out),
        Command::Graph { format } => {
            let graph = crate::graph::Graph::of(&evaluation.platform);
            match format {
                GraphFormat::Mermaid => print!("{}", graph.mermaid()),
                GraphFormat::Dot => print!("{}", graph.dot()),
                GraphFormat::Html => print!("{}", graph.html()),
            }
            EXIT_OK
        }
        Command::Explain { .. }
        | Command::Assess { .. }
        | Command::Init(_)
        | Command::Completions { .. }
        | Command::Man { .. }
        | Command::Definitions { .. }
        | Command::Reference { .. } => unreachable!("handled before evaluation"),
        Command::Plan(args) => plan(&evaluation, &renderer, &cli.script, &args, color_out),
        Command::ApplyToGit(args) => {
            match checked_repo(&evaluation, &renderer, &cli.script, &args.repo) {
                Some(repo) => match apply_to_git(&evaluation, &repo, &args) {
                    Ok(text) => {
                        print!("{text}");
                        EXIT_OK
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        EXIT_ERROR
                    }
                },
                None => EXIT_ERROR,
            }
        }
    }
}

fn plan(
    evaluation: &Evaluation,
    renderer: &Renderer,
    script: &Path,
    args: &PlanArgs,
    color: bool,
) -> i32 {
    let Some(repo) = checked_repo(evaluation, renderer, script, &args.repo) else {
        return EXIT_ERROR;
    };
    if matches!(hapl_repo::git::interrupted(&repo), Ok(true)) {
        eprintln!(
            "error: an `hapl apply-to-git` in `{}` was interrupted and its work tree lags behind the branch; run `hapl apply-to-git` again to finish it",
            repo.display()
        );
        return EXIT_ERROR;
    }
    let options = hapl_repo::plan::PlanOptions {
        phase: args.phase,
        keep_going: args.keep_going,
    };
    let progress = crate::habits::Progress::start(&format!("reading `{}`", repo.display()));
    let plan = hapl_repo::plan::plan(&evaluation.platform, &repo, &options);
    drop(progress);
    let plan = match plan {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let json = || serde_json::to_string_pretty(&plan).expect("plans serialize") + "\n";
    if let Some(out) = &args.out {
        if let Err(e) = hapl_repo::write::write_file_atomic(out, json().as_bytes()) {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    }
    match args.format {
        Format::Text => print!("{}", crate::report::plan_text(&plan, color)),
        Format::Json => print!("{}", json()),
        Format::Markdown => print!("{}", crate::report::plan_markdown(&plan)),
    }
    if plan.is_empty() {
        EXIT_OK
    } else {
        EXIT_CHANGES
    }
}

/// The repository to plan for, once the platform passes the rules: a platform that breaks a
/// rule is never planned or applied (the user fixes it, or waives it with a reason, first).
/// Warnings and waiver notes are shown and do not stop it.
fn checked_repo(
    evaluation: &Evaluation,
    renderer: &Renderer,
    script: &Path,
    repo: &Option<PathBuf>,
) -> Option<PathBuf> {
    let findings = hapl_core::rules::check(&evaluation.platform, &rule_settings());
    print_diagnostics(renderer, &findings, &evaluation.sources);
    if findings.iter().any(Diagnostic::is_error) {
        return None;
    }
    Some(match (repo, &evaluation.platform.repo) {
        (Some(dir), _) => dir.clone(),
        (None, Some(rel)) => script_dir(script).join(rel),
        (None, None) => script_dir(script),
    })
}

/// Plan and commit (see `hapl_repo::apply`); the text to print, or the error.
fn apply_to_git(evaluation: &Evaluation, repo: &Path, args: &ApplyArgs) -> Result<String, String> {
    use hapl_repo::{apply, git};
    let saved = args
        .plan
        .as_deref()
        .map(apply::SavedPlan::load)
        .transpose()?;
    let phase = match (&saved, args.phase) {
        (Some(s), Some(p)) if s.phase != Some(p) => {
            return Err(format!(
                "--phase {p} differs from the saved plan's phase ({})",
                s.phase.map_or("all".to_owned(), |n| n.to_string())
            ))
        }
        (Some(s), _) => s.phase,
        (None, p) => p,
    };
    let mut observe = kill_hook();
    let mut opts = git::ApplyOptions {
        allow_detached: args.allow_detached,
        no_commit: args.no_commit,
        dry_run: args.dry_run,
        // Another apply (or one killed while taking the lock) is waited for, not failed on.
        lock_wait: std::time::Duration::from_secs(10),
        ..git::ApplyOptions::default()
    };
    let mut out = String::new();
    // An interrupted apply is finished first, so the plan sees the work tree it left.
    if !args.dry_run && git::interrupted(repo).unwrap_or(false) {
        let done =
            git::apply_observed(repo, &[], &opts, &mut observe).map_err(|e| e.to_string())?;
        out = crate::report::apply_text(&done, false, args.no_commit);
    }
    let options = hapl_repo::plan::PlanOptions {
        phase,
        keep_going: false,
    };
    let plan =
        hapl_repo::plan::plan(&evaluation.platform, repo, &options).map_err(|e| e.to_string())?;
    let secrets = apply::secret_values(&evaluation.platform);
    let commits = apply::commits(&plan, args.single_commit, &|phases| {
        crate::report::commit_message(&plan, phases, &secrets)
    });
    // A saved plan already carried out is "nothing to do", like any other.
    if let (Some(saved), Some(file), false) = (&saved, &args.plan, plan.is_empty()) {
        let (base, files) = saved.expectations(&plan);
        opts.expected_base = Some(base);
        opts.read_files = files;
        if let Some(why) = saved.disagreement(&plan) {
            // A repository that moved under the plan is the likelier cause: git names it.
            let check = git::ApplyOptions {
                dry_run: true,
                ..opts.clone()
            };
            git::apply(repo, &commits, &check).map_err(|e| e.to_string())?;
            return Err(format!(
                "`{}` is not what the script plans now: {why}; make a new plan",
                file.display()
            ));
        }
    }
    apply::check_ownership(&plan, repo)?;
    let report =
        git::apply_observed(repo, &commits, &opts, &mut observe).map_err(|e| e.to_string())?;
    if out.is_empty() || !report.nothing_to_do() {
        out.push_str(&crate::report::apply_text(
            &report,
            args.dry_run,
            args.no_commit,
        ));
    }
    Ok(out)
}

/// A test hook, off unless `HAPL_TEST_KILL_AT_STEP=k` is set: `HAPL_TEST_KILL_DELAY_US` µs after
/// the apply reaches its step `k` (0-based, counted over the whole run), `kill -9` is sent to
/// this process while the work goes on (with no delay, at that step, before it goes on). The
/// crash tests use it to stop a run anywhere.
fn kill_hook() -> impl FnMut(&hapl_repo::git::Step) {
    let num = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let at = num("HAPL_TEST_KILL_AT_STEP");
    let delay = std::time::Duration::from_micros(num("HAPL_TEST_KILL_DELAY_US").unwrap_or(0));
    let mut n = 0u64;
    move |_| {
        if at == Some(n) {
            std::thread::spawn(move || {
                std::thread::sleep(delay);
                let pid = std::process::id().to_string();
                let _ = std::process::Command::new("kill")
                    .args(["-9", &pid])
                    .status();
            });
        }
        n += 1;
    }
}

pub(crate) fn script_dir(script: &Path) -> PathBuf {
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

fn check(evaluation: &Evaluation, renderer: &Renderer) -> i32 {
    let p = &evaluation.platform;
    let settings = rule_settings();
    let (findings, budget) = hapl_core::rules::check_with_budget(p, &settings);
    print_diagnostics(renderer, &findings, &evaluation.sources);
    let all = || evaluation.diagnostics.iter().chain(&findings);
    let count = |s: Severity| all().filter(|d| d.severity == s).count();
    let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
    // A closed stdout (`hapl check | head -1`) is not an error of the platform.
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{}", crate::report::budget_table(&budget));
    let _ = writeln!(
        out,
        "platform `{}` (cluster `{}`): {}, {}",
        p.name,
        p.cluster,
        plural(p.objects.len(), "object"),
        count_line(errors, warnings)
    );
    if errors > 0 {
        EXIT_ERROR
    } else {
        EXIT_OK
    }
}

fn assess(repo: &Path, format: Format) -> i32 {
    use crate::assess_report as report;
    let settings = rule_settings();
    let a = match hapl_repo::assess::assess(repo, &settings) {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "error: cannot read the repository `{}`: {e}",
                repo.display()
            );
            return EXIT_ERROR;
        }
    };
    let cx = hapl_core::rules::Context::new(&a.platform, &settings);
    let out = match format {
        Format::Text => report::text(&a, &cx),
        Format::Markdown => report::markdown(&a, &cx),
        Format::Json => format!("{:#}\n", report::json(&a, &cx)),
    };
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    if a.errors() > 0 {
        EXIT_CRITICAL
    } else {
        EXIT_OK
    }
}

/// Today (for end-of-life dates) from the system clock.
fn rule_settings() -> hapl_core::rules::Settings {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    hapl_core::rules::Settings {
        today: hapl_core::rules::Date::from_unix_days((secs / 86_400) as i64),
    }
}

fn explain(rule: Option<&str>, list: bool) -> i32 {
    use hapl_core::rules;
    // Output may go to a pager or `head`; a closed pipe is not an error worth a panic.
    let mut out = std::io::stdout().lock();
    if list {
        for r in rules::catalogue() {
            let _ = writeln!(
                out,
                "{:<28} {:<7} {}",
                r.id,
                r.severity.to_string(),
                r.summary
            );
        }
        return EXIT_OK;
    }
    let id = rule.unwrap_or_default();
    match rules::rule(id) {
        Some(r) => {
            let _ = write!(out, "{}", rules::explain(r));
            EXIT_OK
        }
        None => {
            let hint = match rules::closest(id, &rules::ids()) {
                Some(k) => format!("did you mean `{k}`? "),
                None => String::new(),
            };
            eprintln!(
                "error: there is no rule `{id}`; {hint}`hapl explain --list` lists every rule"
            );
            EXIT_ERROR
        }
    }
}

/// Write the platform's tree, after the same rule check `plan` runs: a platform with an error
/// (a plaintext secret, a floating tag, state off the NAS) is not written anywhere.
fn render(evaluation: &Evaluation, renderer: &Renderer, out: &Path) -> i32 {
    // The rules and the rendering read the same platform: one on each core. Nothing is
    // written before the rules are through.
    let platform = &evaluation.platform;
    let (findings, tree) = std::thread::scope(|s| {
        let rules = s.spawn(|| hapl_core::rules::check(platform, &rule_settings()));
        let tree = hapl_repo::render_tree(platform);
        (rules.join().expect("the rules do not panic"), tree)
    });
    print_diagnostics(renderer, &findings, &evaluation.sources);
    if findings.iter().any(Diagnostic::is_error) {
        eprintln!("error: the platform breaks the rules above; nothing was written");
        return EXIT_ERROR;
    }
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
