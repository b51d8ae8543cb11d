//! The CLI end to end: diagnostics (snapshots), rendering, determinism, precedence, sandbox.

use std::path::Path;
use std::process::Command;

use crate::support::{hapl, read_tree, root, stderr, stdout};

fn diagnostics_dir() -> std::path::PathBuf {
    root().join("tests/fixtures/diagnostics")
}

/// `hapl check` on a fixture: it must fail with exit code 1; returns stderr.
#[track_caller]
fn check_fails(fixture: &str) -> String {
    let out = hapl(
        &diagnostics_dir(),
        &["--timeout", "2", "--script", fixture, "check"],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{fixture}: stdout {}\nstderr {}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).is_empty(),
        "{fixture} printed to stdout: {}",
        stdout(&out)
    );
    stderr(&out)
}

macro_rules! diagnostic_snapshot {
    ($name:ident, $fixture:literal) => {
        #[test]
        fn $name() {
            let err = check_fails($fixture);
            insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false }, {
                insta::assert_snapshot!(stringify!($name), err);
            });
        }
    };
}

diagnostic_snapshot!(a_syntax_error_points_at_the_token, "syntax_error.rhai");
diagnostic_snapshot!(
    an_error_raised_in_the_stdlib_points_at_the_users_call,
    "stdlib_runtime_error.rhai"
);
diagnostic_snapshot!(
    a_size_without_unit_names_the_field_and_the_form,
    "wrong_argument.rhai"
);
diagnostic_snapshot!(
    a_chart_version_range_is_an_error_at_the_users_line,
    "unpinned_chart.rhai"
);
diagnostic_snapshot!(
    a_script_that_returns_no_platform_says_what_to_return,
    "no_platform.rhai"
);
diagnostic_snapshot!(a_non_utf8_script_points_at_the_byte, "not_utf8.rhai");
diagnostic_snapshot!(an_unknown_field_names_its_path, "unknown_field.rhai");
diagnostic_snapshot!(
    two_objects_with_one_identity_name_both_origins,
    "duplicate_object.rhai"
);
diagnostic_snapshot!(a_misspelt_option_suggests_the_right_one, "option_typo.rhai");
diagnostic_snapshot!(an_unknown_module_lists_the_stdlib, "missing_module.rhai");
diagnostic_snapshot!(a_path_leaving_the_repo_is_refused, "path_escape.rhai");

#[test]
fn a_missing_script_file_says_how_to_name_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = hapl(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("a_missing_script_file_says_how_to_name_one", stderr(&out));
    });
}

#[test]
fn an_endless_loop_ends_with_a_clear_error() {
    let err = check_fails("endless_loop.rhai");
    assert!(
        err.contains("[script-limit]") && err.contains("loop forever"),
        "{err}"
    );
    assert!(err.contains("endless_loop.rhai:3:"), "{err}");
}

#[test]
fn deep_recursion_ends_with_a_clear_error() {
    let err = check_fails("deep_recursion.rhai");
    assert!(
        err.contains("[script-limit]") && err.contains("too deeply"),
        "{err}"
    );
}

#[test]
fn a_huge_string_ends_with_a_clear_error() {
    let err = check_fails("huge_string.rhai");
    assert!(
        err.contains("[script-limit]") && err.contains("larger than allowed"),
        "{err}"
    );
}

#[test]
fn a_module_that_imports_itself_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("lib")).unwrap();
    std::fs::write(
        dir.path().join("lib/a.rhai"),
        "import \"b\" as b;\nfn f() { 1 }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("lib/b.rhai"),
        "import \"a\" as a;\nfn g() { 2 }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("platform.rhai"),
        "import \"a\" as a;\nlet p = platform(\"x\");\np\n",
    )
    .unwrap();
    let out = hapl(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("[module-cycle]") && err.contains("a → b → a"),
        "{err}"
    );
}

#[test]
fn check_on_the_minimal_example_is_clean() {
    let out = hapl(&root().join("examples/minimal"), &["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out)
            .contains("platform `minimal` (cluster `minimal`): 6 objects, 0 errors, 0 warnings"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_chart_whose_values_hapl_cannot_read_is_a_warning_never_silence() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("platform.rhai"),
        r#"import "pinned_helm" as helm;
let p = platform("home");
let charts = helm::repository(p, #{ name: "t3n", url: "https://storage.googleapis.com/t3n-helm-charts" });
helm::release(p, #{ name: "mosquitto", namespace: "mqtt", source: charts, chart: "mosquitto", version: "2.4.1" });
p
"#,
    )
    .unwrap();
    let out = hapl(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("0 errors, 1 warning"),
        "{}",
        stdout(&out)
    );
    assert!(stderr(&out).contains("[unknown-chart]"), "{}", stderr(&out));
}

#[test]
fn check_on_the_top_level_platform_is_clean_and_prints_a_budget_that_fits() {
    let out = hapl(
        &root(),
        &["--script", "examples/seed-platform/platform.rhai", "check"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("0 errors, 0 warnings"), "{text}");
    assert!(text.contains("node `pi5`"), "{text}");
    // The share of the node the requests take ("share of node  26%  289%  30%  90%": CPU
    // requests, CPU limits, memory requests, memory limits) leaves headroom for k3s itself.
    let shares: Vec<u32> = text
        .lines()
        .find(|l| l.trim_start().starts_with("share of node"))
        .unwrap_or_else(|| panic!("no share row in {text}"))
        .split_whitespace()
        .filter_map(|w| w.strip_suffix('%')?.parse().ok())
        .collect();
    assert_eq!(shares.len(), 4, "{text}");
    assert!(shares[0] <= 60 && shares[2] <= 60, "{text}");
    assert!(shares[3] <= 100, "memory limits fit the node: {text}");
    assert!(!text.contains("without some request or limit"), "{text}");
}

#[test]
fn a_platform_that_does_not_fit_its_node_is_warned_with_the_shares() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("platform.rhai"),
        "import \"app\" as app;\nlet p = platform(\"home\", #{ node: #{ cpu: 1, memory: \"1Gi\" } });\napp::release(p, #{ name: \"big\", namespace: \"a\", role: \"big\", phase: 2, reason: \"too big for the node\",\n    image: \"docker.io/library/busybox:1.37.0\", resources: app::resources(\"100m\", \"2Gi\", \"1\", \"2Gi\"),\n    ports: #{ http: 80 }, probes: #{ tcp: true } });\np\n",
    )
    .unwrap();
    let out = hapl(dir.path(), &["check"]);
    // `node-capacity` is a warning (issue #4): the check passes and says why it will not fit.
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stderr(&out).contains("[node-capacity]"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("memory requests add up to 2.0 GiB"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("200%"), "{}", stdout(&out));
}

fn render_example(example: &str, out: &Path) {
    let o = hapl(
        &root().join("examples").join(example),
        &["render", "--out", out.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn rendering_twice_in_two_processes_gives_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    render_example("minimal", &a);
    render_example("minimal", &b);
    let (ta, tb) = (read_tree(&a), read_tree(&b));
    assert!(ta.len() > 10, "{:?}", ta.keys());
    assert_eq!(ta, tb);
}

#[test]
fn the_rendered_tree_builds_with_kubectl_kustomize_in_every_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    render_example("minimal", &out);
    let tree = read_tree(&out);
    let dirs: Vec<&str> = tree
        .keys()
        .filter_map(|k| k.strip_suffix("kustomization.yaml"))
        .collect();
    // Every directory holding YAML has a kustomization.yaml.
    for file in tree.keys().filter(|k| k.ends_with(".yaml")) {
        let parent = file.rsplit_once('/').map_or("", |(d, _)| d);
        let want = if parent.is_empty() {
            String::new()
        } else {
            format!("{parent}/")
        };
        assert!(
            dirs.contains(&want.as_str()),
            "{parent} has no kustomization.yaml"
        );
    }
    for d in &dirs {
        let o = Command::new("kubectl")
            .args(["kustomize", out.join(d).to_str().unwrap()])
            .output()
            .expect("kubectl is installed");
        assert!(
            o.status.success(),
            "kubectl kustomize {d}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let all = Command::new("kubectl")
        .args(["kustomize", out.to_str().unwrap()])
        .output()
        .unwrap();
    let built = String::from_utf8_lossy(&all.stdout);
    assert_eq!(
        built.matches("\nkind: ").count() + usize::from(built.starts_with("kind: ")),
        6,
        "{built}"
    );
}

#[test]
fn render_refuses_a_directory_it_did_not_write_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mine");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let o = hapl(
        &root().join("examples/minimal"),
        &["render", "--out", out.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("was not written by `hapl render`"),
        "{}",
        stderr(&o)
    );
    let tree = read_tree(&out);
    assert_eq!(tree.len(), 1);
    assert_eq!(tree["notes.txt"], b"mine");
}

#[test]
fn render_replaces_its_own_earlier_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    render_example("minimal", &out);
    std::fs::write(out.join("stale.yaml"), "x").unwrap();
    render_example("minimal", &out);
    assert!(!out.join("stale.yaml").exists());
    assert!(out.join("kustomization.yaml").is_file());
}

#[test]
fn a_project_lib_module_shadows_the_stdlib_module_of_the_same_name() {
    let dir = root().join("tests/fixtures/precedence");
    let out = tempfile::tempdir().unwrap();
    let o = hapl(
        &dir,
        &["render", "--out", out.path().join("r").to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let tree = read_tree(&out.path().join("r"));
    assert!(
        tree.keys()
            .any(|k| k.ends_with("namespace-from-project-lib.yaml")),
        "{:?}",
        tree.keys()
    );
    assert!(
        !tree.keys().any(|k| k.contains("storageclass")),
        "the stdlib nas_pvc ran: {:?}",
        tree.keys()
    );
    assert!(
        stderr(&o).contains("lib/nas_pvc.rhai replaces the standard library module `nas_pvc`"),
        "{}",
        stderr(&o)
    );
    // Without lib/, the stdlib module runs.
    let o = hapl(
        &dir,
        &[
            "--lib",
            "/nonexistent",
            "render",
            "--out",
            out.path().join("s").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let tree = read_tree(&out.path().join("s"));
    assert!(
        tree.keys()
            .any(|k| k.ends_with("storageclass-nfs-storage.yaml")),
        "{:?}",
        tree.keys()
    );
}

#[test]
fn colour_is_off_with_no_color_and_on_with_always() {
    let dir = diagnostics_dir();
    let plain = hapl(&dir, &["--script", "wrong_argument.rhai", "check"]);
    assert!(!stderr(&plain).contains('\u{1b}'));
    let coloured = hapl(
        &dir,
        &[
            "--color",
            "always",
            "--script",
            "wrong_argument.rhai",
            "check",
        ],
    );
    assert!(stderr(&coloured).contains('\u{1b}'));
}
