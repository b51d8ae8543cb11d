//! `hapl init`, `completions`, `man`, `definitions`, the CI recipe, and the schema modelines of
//! new files.

use std::path::Path;

use crate::support::{copy_dir, hapl, root, shared, stderr, stdout};

/// The subcommands, as `hapl --help` lists them.
fn subcommands() -> Vec<String> {
    let help = stdout(&hapl(&root(), &["--help"]));
    let list: Vec<String> = help
        .split("Commands:")
        .nth(1)
        .expect("help lists commands")
        .split("Options:")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| *w != "help")
        .map(str::to_owned)
        .collect();
    for c in ["check", "plan", "init", "completions", "man", "definitions"] {
        assert!(list.iter().any(|l| l == c), "{c} missing from {list:?}");
    }
    list
}

#[test]
fn init_scaffolds_a_platform_that_checks_cleanly_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let o = hapl(dir.path(), &["init", "--name", "home"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(dir.path().join("platform.rhai")).unwrap();
    assert!(text.contains("nas::storage_class") && text.contains("app::release"));
    let o = hapl(dir.path(), &["check"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "", "the scaffold has findings");
    assert!(stdout(&o).contains("platform `home`"), "{}", stdout(&o));
    // A second init refuses and leaves the (edited) script alone.
    std::fs::write(dir.path().join("platform.rhai"), "// mine\n").unwrap();
    let o = hapl(dir.path(), &["init"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    let o = hapl(
        dir.path(),
        &["--script", "other.rhai", "init", "--adopt", "missing"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("`missing` is not a folder"),
        "{}",
        stderr(&o)
    );
    assert!(!dir.path().join("other.rhai").exists());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("platform.rhai")).unwrap(),
        "// mine\n"
    );
}

/// Adopt `repo` with a script in a fresh folder; its plan against `repo` must be empty, and the
/// script must list every object the repository holds.
fn adopt_and_plan(repo: &Path) {
    let dir = tempfile::tempdir().unwrap();
    let repo_arg = repo.to_str().unwrap();
    let o = hapl(
        dir.path(),
        &["init", "--name", "adopted", "--adopt", repo_arg],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}: {}",
        repo.display(),
        stderr(&o)
    );
    let script = std::fs::read_to_string(dir.path().join("platform.rhai")).unwrap();
    let read = hapl_repo::repo::read(repo, true).unwrap();
    assert!(!read.objects.is_empty(), "{}: no objects", repo.display());
    for (id, locs) in &read.objects {
        for loc in locs {
            let line = format!("{id}  {}:{}-{}", loc.file, loc.lines.0, loc.lines.1);
            assert!(
                script.contains(&line),
                "{}: `{line}` not listed",
                repo.display()
            );
        }
        if let Some(ns) = &id.namespace {
            assert!(
                script.contains(&format!("//   {ns}: ")),
                "namespace {ns} not listed"
            );
        }
    }
    let o = hapl(dir.path(), &["plan", "--repo", repo_arg, "--keep-going"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}: the adopted plan is not empty:\n{}{}",
        repo.display(),
        stdout(&o),
        stderr(&o)
    );
    assert!(stdout(&o).contains("Plan: 0 to add, 0 to change, 0 to delete"));
}

#[test]
fn init_adopts_the_legacy_repository_in_place_and_plans_nothing() {
    adopt_and_plan(&root().join("examples/legacy-microk8s"));
    // In place: the script sits in the repository, which stays byte-identical.
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("flux");
    copy_dir(&root().join("examples/legacy-microk8s"), &repo);
    let o = hapl(dir.path(), &["init", "--adopt", "flux"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let script = std::fs::read_to_string(dir.path().join("platform.rhai")).unwrap();
    assert!(script.contains("#{ repo: \"flux\" }"), "{script}");
    let o = hapl(dir.path(), &["plan"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(
        hapl_repo::repo::read(&repo, true).unwrap().hashes,
        hapl_repo::repo::read(&root().join("examples/legacy-microk8s"), true)
            .unwrap()
            .hashes
    );
}

#[test]
fn init_adopts_every_corpus_repository_with_an_empty_plan() {
    let Some(shared) = shared() else { return };
    let corpus = shared.join("corpus");
    let mut repos: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    repos.sort();
    assert!(repos.len() >= 5, "corpus has {} repos", repos.len());
    for repo in repos {
        adopt_and_plan(&repo);
    }
}

#[test]
fn completions_and_man_page_name_every_subcommand() {
    let commands = subcommands();
    for shell in ["bash", "zsh", "fish"] {
        let o = hapl(&root(), &["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let text = stdout(&o);
        for c in &commands {
            assert!(text.contains(c.as_str()), "{shell} completions lack `{c}`");
        }
        assert!(text.contains("keep-going"), "{shell}: no plan flags");
    }
    let o = hapl(&root(), &["man"]);
    let page = stdout(&o);
    assert!(
        page.starts_with(".ie") || page.contains(".TH hapl"),
        "{page}"
    );
    for c in &commands {
        assert!(
            // roff escapes every hyphen: `hapl\-apply\-to\-git`.
            page.contains(&format!("hapl\\-{}", c.replace('-', "\\-"))),
            "man page lacks `{c}`"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let o = hapl(dir.path(), &["man", "--out", "man"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for c in &commands {
        assert!(dir.path().join(format!("man/hapl-{c}.1")).is_file(), "{c}");
    }
}

#[test]
fn definitions_cover_every_public_stdlib_function_and_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let o = hapl(dir.path(), &["definitions", "--out", "defs"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for (module, text) in hapl_script::stdlib::MODULES {
        let defs = std::fs::read_to_string(dir.path().join(format!("defs/{module}.d.rhai")))
            .unwrap_or_else(|e| panic!("{module}: {e}"));
        assert!(defs.starts_with(&format!("module {module};")));
        let mut public = 0;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("fn ") {
                let name = rest.split('(').next().unwrap();
                assert!(
                    defs.contains(&format!("fn {name}(")),
                    "{module}::{name} missing"
                );
                public += 1;
            } else if let Some(rest) = line.strip_prefix("private fn ") {
                let name = rest.split('(').next().unwrap();
                assert!(
                    !defs.contains(&format!("fn {name}(")),
                    "{module}::{name} is private"
                );
            }
        }
        assert!(public > 0, "{module} has no public function");
        assert!(defs.contains("/// "), "{module}: no docs");
    }
    let api = std::fs::read_to_string(dir.path().join("defs/__static__.d.rhai")).unwrap();
    for f in ["fn platform(", "fn add(", "fn except(", "fn check_options("] {
        assert!(api.contains(f), "{f} missing from the API definitions");
    }
}

#[test]
fn new_files_carry_the_repos_schema_modeline() {
    let dir = tempfile::tempdir().unwrap();
    let apps = dir.path().join("flux/apps/demo");
    std::fs::create_dir_all(&apps).unwrap();
    let modeline = "# yaml-language-server: $schema=https://example.invalid/configmap-v1.json";
    std::fs::write(
        apps.join("settings.yaml"),
        format!("---\n{modeline}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: demo\ndata:\n  a: b\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("platform.rhai"),
        r#"let p = platform("demo", #{ repo: "flux" });
p.add(#{ apiVersion: "v1", kind: "ConfigMap",
    metadata: #{ name: "more", namespace: "demo" }, data: #{ b: "c" } });
p
"#,
    )
    .unwrap();
    let o = hapl(dir.path(), &["plan"]);
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains(&format!("+{modeline}")),
        "{}",
        stdout(&o)
    );
}

/// Every `hapl` command line in a workflow's `run:` steps, split into words.
fn hapl_commands(workflow: &serde_yaml::Value) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let jobs = workflow["jobs"].as_mapping().expect("jobs");
    for job in jobs.values() {
        for step in job["steps"].as_sequence().expect("steps") {
            let Some(run) = step.get("run").and_then(|r| r.as_str()) else {
                continue;
            };
            for line in run.lines() {
                let words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
                if words.first().is_some_and(|w| w == "hapl") {
                    out.push(words);
                }
            }
        }
    }
    out
}

#[test]
fn the_ci_recipes_are_valid_workflows_using_real_hapl_flags() {
    for name in ["github-workflow.yaml", "forgejo-workflow.yaml"] {
        let path = root().join("examples/ci").join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let workflow: serde_yaml::Value =
            serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(workflow["on"].get("pull_request").is_some(), "{name}");
        let commands = hapl_commands(&workflow);
        let used: Vec<&str> = commands.iter().map(|c| c[1].as_str()).collect();
        assert!(
            used.contains(&"check") && used.contains(&"plan"),
            "{name}: {used:?}"
        );
        for words in &commands {
            let help = stdout(&hapl(&root(), &[words[1].as_str(), "--help"]));
            assert!(help.contains("Usage: hapl"), "{name}: `{}`", words[1]);
            for (i, w) in words.iter().enumerate().skip(2) {
                if w.starts_with("--") {
                    assert!(
                        help.contains(w.as_str()),
                        "{name}: hapl {} has no {w}",
                        words[1]
                    );
                    if let Some(value) = words.get(i + 1).filter(|v| !v.starts_with('-')) {
                        if help.contains(&format!("{w} <")) && help.contains("possible values") {
                            let values_line = help
                                .lines()
                                .skip_while(|l| !l.contains(w.as_str()))
                                .find(|l| l.contains("possible values"))
                                .unwrap_or("");
                            assert!(
                                values_line.is_empty() || values_line.contains(value.as_str()),
                                "{name}: `{w} {value}` is not one of {values_line}"
                            );
                        }
                    }
                }
            }
        }
        // The plan's exit code 2 (changes) must not fail the job; 1 must.
        assert!(text.contains("\"$status\" -eq 1"), "{name}");
    }
}

/// `hapl plan` in `dir` under a pseudo-terminal (util-linux `script`), with `CI` as given.
fn plan_on_a_terminal(dir: &Path, ci: Option<&str>) -> Option<String> {
    let mut cmd = std::process::Command::new("script");
    cmd.args([
        "-qec",
        &format!("{} plan", env!("CARGO_BIN_EXE_hapl")),
        "/dev/null",
    ])
    .current_dir(dir)
    .env("NO_COLOR", "1")
    .env_remove("CI");
    if let Some(v) = ci {
        cmd.env("CI", v);
    }
    match cmd.output() {
        Ok(o) => Some(String::from_utf8_lossy(&o.stdout).into_owned()),
        Err(e) => {
            eprintln!("skipping: no `script` to make a terminal ({e})");
            None
        }
    }
}

#[test]
fn progress_shows_on_a_terminal_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("platform.rhai"),
        "let p = platform(\"legacy\", #{ repo: \"flux\" });\np\n",
    )
    .unwrap();
    copy_dir(
        &root().join("examples/legacy-microk8s"),
        &dir.path().join("flux"),
    );
    // In a pipe: no progress, no escape codes.
    let o = hapl(dir.path(), &["plan"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("reading") && !stderr(&o).contains('\x1b'));
    let Some(tty) = plan_on_a_terminal(dir.path(), None) else {
        return;
    };
    assert!(tty.contains("reading `./flux`…\r\x1b[K"), "{tty:?}");
    assert!(tty.contains("Plan: 0 to add"), "{tty:?}");
    let ci = plan_on_a_terminal(dir.path(), Some("true")).unwrap();
    assert!(!ci.contains("reading"), "{ci:?}");
}
