//! The commands that make hapl fit a homelab's habits: `init` (a first script, or one adopting a
//! Flux repository), `completions`, `man`, `definitions` (for the Rhai language server), and the
//! progress line shown on a terminal during long work.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::cli::{EXIT_ERROR, EXIT_OK};

#[derive(clap::Args)]
pub struct InitArgs {
    /// Adopt this existing Flux repository: detect its namespaces and layout and list its
    /// objects, declaring none of them (so the first plan is empty).
    #[arg(long, value_name = "DIR")]
    pub adopt: Option<PathBuf>,
    /// The platform's name [default: the script folder's name, or `home`].
    #[arg(long)]
    pub name: Option<String>,
}

/// The first script of an empty project: NAS storage and one app, commented. It passes
/// `hapl check` (tested).
const SCAFFOLD: &str = r#"// The platform, as a Rhai script. `hapl check` checks it against the durability rules,
// `hapl render --out DIR` writes its YAML, `hapl plan` shows the change to your Flux repository.
// `hapl explain --list` lists the rules; `hapl definitions --out .rhai` lets your editor
// complete the standard library.
import "nas_pvc" as nas;
import "app" as app;

// The node everything runs on: a Raspberry Pi 5 with 8 GiB. Add `repo: "flux"` to the options
// when the Flux repository is a folder next to this script.
let p = platform("NAME", #{ node: #{ arch: "arm64", cpu: 4, memory: "8Gi" } });

// All state lives on the NAS (an NFS export; the StorageClass keeps data when a claim goes).
// Put your NAS's host name and export here, and its size as `capacity: "2Ti"`.
let storage = nas::storage_class(p, #{ server: "nas.lan", share: "/volume1/k8s" });

// A first app: ESPHome, pinned to an exact version, with its configuration on the NAS.
nas::pvc(p, storage, #{ name: "esphome-config", namespace: "esphome", size: "1Gi" });
app::release(p, #{
    name: "esphome",
    namespace: "esphome",
    role: "esphome",
    phase: 5,
    reason: "ESPHome's device configurations live on the NAS, so a dead Pi loses nothing",
    image: "ghcr.io/esphome/esphome:2025.10.0",
    resources: app::resources("50m", "128Mi", "1", "512Mi"),
    ports: #{ http: 6052 },
    probes: #{ tcp: true },
    volumes: #{ config: #{ claim: "esphome-config", path: "/config" } },
});

p
"#;

pub fn init(script: &Path, args: &InitArgs) -> i32 {
    if script.exists() {
        eprintln!(
            "error: `{}` already exists; hapl init never overwrites a script (move it away, or pass --script NEW.rhai)",
            script.display()
        );
        return EXIT_ERROR;
    }
    let dir = crate::cli::script_dir(script);
    let name = args.name.clone().unwrap_or_else(|| default_name(&dir));
    if !is_platform_name(&name) {
        eprintln!("error: `{name}` is not a platform name (lowercase letters, digits and `-`); pass --name");
        return EXIT_ERROR;
    }
    let text = match &args.adopt {
        None => SCAFFOLD.replace("NAME", &name),
        Some(repo_dir) if !repo_dir.is_dir() => {
            eprintln!(
                "error: `{}` is not a folder; --adopt takes the Flux repository's folder",
                repo_dir.display()
            );
            return EXIT_ERROR;
        }
        Some(repo_dir) => {
            let progress = Progress::start(&format!("reading `{}`", repo_dir.display()));
            let repo = hapl_repo::repo::read(repo_dir, true);
            drop(progress);
            match repo {
                Ok(repo) => adoption_script(&name, &dir, repo_dir, &repo),
                Err(e) => {
                    eprintln!("error: {e}");
                    return EXIT_ERROR;
                }
            }
        }
    };
    if let Err(e) = std::fs::create_dir_all(&dir)
        .map_err(|e| e.to_string())
        .and_then(|()| {
            hapl_repo::write::write_file_atomic(script, text.as_bytes()).map_err(|e| e.to_string())
        })
    {
        eprintln!("error: cannot write `{}`: {e}", script.display());
        return EXIT_ERROR;
    }
    println!("wrote `{}`; next: hapl check", script.display());
    EXIT_OK
}

fn default_name(dir: &Path) -> String {
    let folder = std::fs::canonicalize(dir)
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let name: String = folder
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let name = name.trim_matches('-').to_owned();
    if is_platform_name(&name) {
        name
    } else {
        "home".to_owned()
    }
}

fn is_platform_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A script that declares nothing and lists what the repository holds. Adoption in hapl happens
/// by declaring an object's identity (the plan then edits it in place and records it as owned),
/// so the generated script only records where the repository is: its first plan is empty
/// whatever the hand-written objects would say to the rules, and the user takes objects over
/// one at a time, each change reviewed in its own plan.
fn adoption_script(
    name: &str,
    script_dir: &Path,
    repo_dir: &Path,
    repo: &hapl_repo::repo::Repo,
) -> String {
    let mut out = String::new();
    let shown = repo_dir.display().to_string();
    out.push_str(&format!(
        "// The platform, adopting the Flux repository `{shown}` (written by `hapl init --adopt`).\n//\n"
    ));
    out.push_str(
        "// It declares nothing yet, so `hapl plan` is empty: hapl owns no object and never touches\n\
         // hand-written YAML. Take an object over by declaring it, with the standard library or with\n\
         // `p.add(#{ ... })`, under the same kind, namespace and name: the plan then edits it in\n\
         // place, in its file, and records it in `.hapl/owned.yaml`. Run `hapl check` and\n\
         // `hapl plan` after each one; `hapl explain RULE` says why a rule flags it.\n//\n",
    );
    let objects: usize = repo.objects.values().map(Vec::len).sum();
    let files = repo
        .objects
        .values()
        .flatten()
        .map(|l| l.file.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    out.push_str(&format!(
        "// Layout: {objects} objects in {files} files; {}; schema modelines for {} kinds.\n",
        if repo.uses_kustomizations() {
            "folders list their files in kustomization.yaml"
        } else {
            "no kustomization.yaml files (Flux generates them)"
        },
        repo.modelines().len()
    ));
    for n in &repo.not_inspected {
        out.push_str(&format!("// Not inspected: {} ({})\n", n.file, n.why));
    }
    for f in &repo.findings {
        out.push_str(&format!(
            "// Unreadable: {}:{}: {}\n",
            f.file, f.line, f.message
        ));
    }
    // namespace (or cluster-scoped) → objects, each with its place.
    let mut by_ns: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut dirs: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (id, locs) in &repo.objects {
        let ns = id
            .namespace
            .clone()
            .unwrap_or_else(|| "(cluster-scoped)".to_owned());
        for loc in locs {
            let secret =
                if id.kind == "Secret" || repo.files.get(&loc.file).is_some_and(|f| f.encrypted) {
                    " (secret: its values stay in the repository)"
                } else {
                    ""
                };
            by_ns.entry(ns.clone()).or_default().push(format!(
                "{id}  {}:{}-{}{secret}",
                loc.file, loc.lines.0, loc.lines.1
            ));
            if id.namespace.is_some() {
                dirs.entry(ns.clone()).or_default().push(parent(&loc.file));
            }
        }
    }
    if !dirs.is_empty() {
        out.push_str("// Namespaces, with the folder their objects share:\n");
        for (ns, ds) in &dirs {
            out.push_str(&format!(
                "//   {ns}: {} ({} objects)\n",
                common_dir(ds),
                ds.len()
            ));
        }
    }
    let repo_option = relative_repo(script_dir, repo_dir);
    out.push('\n');
    match &repo_option {
        Some(rel) if rel.is_empty() => {
            out.push_str(&format!("let p = platform({name:?});\n"));
        }
        Some(rel) => {
            out.push_str(&format!(
                "let p = platform({name:?}, #{{ repo: {rel:?} }});\n"
            ));
        }
        None => {
            out.push_str(&format!(
                "// The repository is not below this script's folder: plan with `hapl plan --repo {shown}`.\n"
            ));
            out.push_str(&format!("let p = platform({name:?});\n"));
        }
    }
    out.push_str("\n// The objects found, by namespace: identity, then file:lines.\n");
    for (ns, lines) in &by_ns {
        out.push_str(&format!("//\n// {ns}\n"));
        for l in lines {
            out.push_str(&format!("//   {l}\n"));
        }
    }
    out.push_str("\np\n");
    out
}

fn parent(file: &str) -> &str {
    file.rsplit_once('/').map_or("", |(d, _)| d)
}

/// The longest folder prefix the paths share (`.` for none).
fn common_dir(dirs: &[&str]) -> String {
    let mut common: Vec<&str> = dirs[0].split('/').collect();
    for d in &dirs[1..] {
        let n = common
            .iter()
            .zip(d.split('/'))
            .take_while(|(a, b)| *a == b)
            .count();
        common.truncate(n);
    }
    let joined = common.join("/");
    if joined.is_empty() {
        ".".to_owned()
    } else {
        joined
    }
}

/// The repository relative to the script's folder: `Some("")` when they are the same folder,
/// `None` when the repository is not below it.
fn relative_repo(script_dir: &Path, repo_dir: &Path) -> Option<String> {
    let base = std::fs::canonicalize(script_dir).ok()?;
    let repo = std::fs::canonicalize(repo_dir).ok()?;
    let rel = repo.strip_prefix(&base).ok()?;
    Some(rel.to_string_lossy().into_owned())
}

pub fn completions(shell: clap_complete::Shell, mut cmd: clap::Command) -> i32 {
    clap_complete::generate(shell, &mut cmd, "hapl", &mut std::io::stdout());
    EXIT_OK
}

/// `hapl man`: the page on stdout, or `hapl.1` and one page per subcommand in `--out DIR`.
pub fn man(cmd: clap::Command, out: Option<&Path>) -> i32 {
    let result = match out {
        None => clap_mangen::Man::new(cmd).render(&mut std::io::stdout()),
        Some(dir) => std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(cmd, dir)),
    };
    match result {
        Ok(()) => {
            if let Some(dir) = out {
                println!("wrote the manual pages to `{}`", dir.display());
            }
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: cannot write the manual: {e}");
            EXIT_ERROR
        }
    }
}

pub fn definitions(out: &Path) -> i32 {
    if let Err(e) = std::fs::create_dir_all(out) {
        eprintln!("error: cannot create `{}`: {e}", out.display());
        return EXIT_ERROR;
    }
    match hapl_script::write_definitions(out) {
        Ok(()) => {
            println!(
                "wrote Rhai definitions for hapl's API and {} stdlib modules to `{}`",
                hapl_script::stdlib::MODULES.len(),
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

/// A one-line status on stderr while long work runs, only on a terminal outside CI; erased when
/// dropped, so nothing of it stays in the scrollback or reaches a pipe or a log.
pub struct Progress {
    shown: bool,
}

impl Progress {
    pub fn start(what: &str) -> Progress {
        let shown = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        if shown {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "{what}…");
            let _ = err.flush();
        }
        Progress { shown }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.shown {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
        }
    }
}
