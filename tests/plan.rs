//! `hapl plan` end to end: golden plans, properties (render → plan is empty, determinism,
//! patches read back), and every real repository of the shared corpus.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use hapl_core::{Platform, Resource};
use hapl_repo::owned::OWNED_PATH;
use hapl_repo::plan::{plan_repo, Plan, PlanOptions};
use hapl_repo::yaml;
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::support::{carry_out, copy_dir, hapl, object, read_tree, root, stderr, stdout};

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/plan").join(name)
}

/// A copy of a fixture in a temp dir (outside the project's git work tree).
fn copy_fixture(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture(name), tmp.path());
    tmp
}

/// `hapl plan` in a folder: (exit code, stdout).
fn run_plan(dir: &Path, args: &[&str]) -> (i32, String) {
    let mut all = vec!["--script", "platform.rhai", "plan"];
    all.extend_from_slice(args);
    let out = hapl(dir, &all);
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 2,
        "plan failed: {}\n{}",
        stdout(&out),
        stderr(&out)
    );
    (code, stdout(&out))
}

macro_rules! plan_snapshot {
    ($name:ident, $fixture:literal, $args:expr) => {
        #[test]
        fn $name() {
            let dir = copy_fixture($fixture);
            let (code, out) = run_plan(dir.path(), $args);
            insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false }, {
                insta::assert_snapshot!(stringify!($name), format!("exit code {code}\n{out}"));
            });
        }
    };
}

plan_snapshot!(plan_adopts_a_helmrelease_and_places_a_new_app, "adopt", &[]);
plan_snapshot!(
    plan_as_a_pull_request_comment,
    "adopt",
    &["--format", "markdown"]
);
plan_snapshot!(plan_deletes_only_what_hapl_owns, "owned", &[]);
plan_snapshot!(plan_in_a_flat_repo_masks_secrets, "flat", &[]);
plan_snapshot!(plan_of_one_phase, "adopt", &["--phase", "5"]);

#[test]
fn secret_values_never_appear_in_any_format() {
    let dir = copy_fixture("flat");
    for format in ["text", "json", "markdown"] {
        let (code, out) = run_plan(dir.path(), &["--format", format]);
        assert_eq!(code, 2);
        assert!(out.contains("password"), "{format}: {out}");
        assert!(
            !out.contains("s3cr3t"),
            "{format} prints a secret value:\n{out}"
        );
    }
}

fn evaluate(script: &Path) -> Platform {
    let options = hapl_script::Options {
        lib_dir: None,
        ..Default::default()
    };
    hapl_script::evaluate_file(script, &options)
        .unwrap_or_else(|f| panic!("{:?}", f.diagnostics))
        .platform
}

fn plan_dir(platform: &Platform, dir: &Path) -> Plan {
    hapl_repo::plan::plan(platform, dir, &PlanOptions::default()).unwrap()
}

#[test]
fn applying_a_plan_leaves_nothing_to_plan_and_touches_only_planned_lines() {
    for name in ["adopt", "owned", "flat"] {
        let dir = copy_fixture(name);
        let platform = evaluate(&dir.path().join("platform.rhai"));
        let repo = dir.path().join("repo");
        let before = read_tree(&repo);
        let plan = plan_dir(&platform, &repo);
        assert!(!plan.is_empty(), "{name}");
        carry_out(&plan, &repo);
        let again = plan_dir(&platform, &repo);
        assert!(
            again.is_empty(),
            "{name}: still to do after applying: {:#?}",
            again.phases
        );
        // Files the plan did not name are byte-identical.
        let named: Vec<&String> = plan
            .phases
            .iter()
            .flat_map(|p| p.writes.keys().chain(&p.deletes))
            .collect();
        let after = read_tree(&repo);
        for (path, bytes) in &before {
            if !named.contains(&path) {
                assert_eq!(after.get(path), Some(bytes), "{name}: {path} changed");
            }
        }
    }
}

#[test]
fn a_plan_into_an_empty_repo_is_the_render() {
    let platform = evaluate(&root().join("examples/seed-platform/platform.rhai"));
    let empty = tempfile::tempdir().unwrap();
    let plan = plan_dir(&platform, empty.path());
    let mut writes: BTreeMap<String, String> = BTreeMap::new();
    for phase in &plan.phases {
        writes.extend(phase.writes.clone());
    }
    assert!(writes.remove(OWNED_PATH).is_some());
    let render = hapl_repo::render_tree(&platform);
    assert_eq!(writes, render);
}

#[test]
fn render_then_plan_is_empty_and_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("flux");
    let r = hapl(
        &root(),
        &[
            "--script",
            "examples/seed-platform/platform.rhai",
            "render",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(r.status.success(), "{}", stderr(&r));
    let o = hapl(
        &root(),
        &[
            "--script",
            "examples/seed-platform/platform.rhai",
            "plan",
            "--repo",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(stdout(&o), "Plan: 0 to add, 0 to change, 0 to delete\n");
}

#[test]
fn the_platform_names_its_repo_and_a_path_leaving_it_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(
        tmp.path().join("platform.rhai"),
        "let p = platform(\"home\", #{ repo: \"../elsewhere\" });\np\n",
    )
    .unwrap();
    let out = hapl(tmp.path(), &["--script", "platform.rhai", "plan"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("must not contain `..`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_broken_file_is_an_error_with_its_line_or_a_finding() {
    let dir = copy_fixture("flat");
    fs::write(
        dir.path().join("repo/default/app/broken.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n",
    )
    .unwrap();
    let out = hapl(dir.path(), &["--script", "platform.rhai", "plan"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("default/app/broken.yaml:"), "{err}");
    let (code, text) = run_plan(dir.path(), &["--keep-going"]);
    assert_eq!(code, 2);
    assert!(
        text.contains("Unreadable (1 files):\n  default/app/broken.yaml:"),
        "{text}"
    );
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    stdout(&out).trim().to_owned()
}

#[test]
fn a_saved_plan_has_the_base_commit_and_the_hashes_it_read() {
    let dir = copy_fixture("adopt");
    let repo = dir.path().join("repo");
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "hand-written"]);
    let head = git(&repo, &["rev-parse", "HEAD"]);
    let (code, _) = run_plan(dir.path(), &["--out", "plan.json"]);
    assert_eq!(code, 2);
    let saved: Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("plan.json")).unwrap()).unwrap();
    assert_eq!(saved["schema"], "hapl.dev/plan/v1");
    assert_eq!(saved["base_commit"], head.as_str());
    let file = "kubernetes/apps/home/home-assistant/app/helmrelease.yaml";
    let bytes = fs::read(repo.join(file)).unwrap();
    assert_eq!(
        saved["read_hashes"][file],
        hapl_repo::repo::sha256_hex(&bytes).as_str()
    );
    assert_eq!(
        saved["summary"],
        json!({"add": 1, "change": 1, "delete": 0})
    );
}

#[test]
fn plans_are_the_same_in_every_process() {
    let dir = copy_fixture("adopt");
    let (_, first) = run_plan(dir.path(), &["--format", "json"]);
    for _ in 0..3 {
        assert_eq!(run_plan(dir.path(), &["--format", "json"]).1, first);
    }
}

fn config_map(ns: &str, name: &str, data: &BTreeMap<String, String>) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name, "namespace": ns}, "data": data})
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Render into an empty repo, write it, plan: nothing to do.
    #[test]
    fn render_write_plan_is_empty(
        apps in proptest::collection::btree_map(
            "[a-z][a-z0-9-]{0,8}[a-z0-9]",
            (proptest::sample::select(vec!["home", "data", "logs"]),
             proptest::collection::btree_map("[a-zA-Z_.]{1,6}", "[ -~]{0,12}|0[0-7]{3}|yes|no|null|1\\.5|\n[a-z]+\n", 0..4),
             proptest::option::of(1u8..=6)),
            1..6),
    ) {
        let mut platform = Platform::new("home", "pi");
        for (name, (ns, data, phase)) in &apps {
            platform.objects.push(object(config_map(ns, name, data), *phase));
        }
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("repo");
        hapl_repo::write_render(&out, &hapl_repo::render_tree(&platform)).unwrap();
        let plan = plan_dir(&platform, &out);
        prop_assert!(plan.is_empty(), "{:#?}", plan.phases);
    }

    /// Any change to a document edits it so that it reads back as the new value.
    #[test]
    fn patches_read_back_as_the_new_value(
        tag in "[a-z0-9.]{1,8}",
        port in 1u16..65535,
        extra in proptest::option::of("[a-z]{1,6}"),
        drop_env in any::<bool>(),
        args in proptest::collection::vec("[a-z-]{1,6}", 0..4),
    ) {
        let text = fs::read_to_string(fixture("adopt/repo/kubernetes/apps/home/home-assistant/app/helmrelease.yaml")).unwrap();
        let docs = yaml::parse(&text).unwrap();
        let root = docs[0].root.as_ref().unwrap();
        let old = yaml::to_value(root, &yaml::anchors(root));
        let mut new = old.clone();
        let app = &mut new["spec"]["values"]["controllers"]["home-assistant"]["containers"]["app"];
        app["image"]["tag"] = json!(tag);
        app["args"] = json!(args);
        if drop_env {
            app.as_object_mut().unwrap().remove("env");
        }
        if let Some(extra) = &extra {
            new["spec"]["values"][extra.as_str()] = json!({"enabled": true});
        }
        new["spec"]["values"]["service"]["app"]["ports"]["http"]["port"] = json!(port);
        let out = hapl_repo::patch::patch_document(&text, root, (docs[0].start, docs[0].end), &old, &new, &Default::default());
        let docs2 = yaml::parse(&out).unwrap();
        let root2 = docs2[0].root.as_ref().unwrap();
        let back = yaml::to_value(root2, &yaml::anchors(root2));
        prop_assert!(hapl_repo::patch::same(&back, &new), "{out}");
        // Comments survive.
        prop_assert!(out.contains("# renovate: datasource=docker"), "{out}");
    }
}

/// The shared data: env `HAPL_SHARED`, then `../shared` beside the checkout, then `/work/shared`.
fn shared_dir() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("HAPL_SHARED").map(PathBuf::from),
        Some(root().join("../shared")),
        Some(PathBuf::from("/work/shared")),
    ];
    if let Some(dir) = candidates
        .into_iter()
        .flatten()
        .find(|d| d.join("corpus").is_dir())
    {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but the shared corpus is missing (HAPL_SHARED, ../shared, /work/shared)");
    }
    eprintln!("skipping: no shared corpus (HAPL_SHARED, ../shared, /work/shared)");
    None
}

fn corpus() -> Vec<PathBuf> {
    let Some(shared) = shared_dir() else {
        return Vec::new();
    };
    let mut repos: Vec<PathBuf> = fs::read_dir(shared.join("corpus"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    repos.sort();
    assert!(!repos.is_empty());
    repos
}

/// Objects of a repo that hapl's types read: (value, file).
fn typed_objects(repo: &hapl_repo::repo::Repo) -> Vec<(Value, String)> {
    repo.objects
        .values()
        .filter_map(|locs| locs.first())
        .filter(|l| !l.value.is_null() && Resource::from_value(l.value.clone()).is_ok())
        .map(|l| (l.value.clone(), l.file.clone()))
        .collect()
}

#[test]
fn corpus_repos_load_and_declaring_their_objects_unchanged_plans_nothing() {
    for dir in corpus() {
        let repo =
            hapl_repo::repo::read(&dir, false).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        assert!(repo.document_count() > 10, "{}", dir.display());
        // The lean read (what `hapl plan` uses: no node trees kept) knows the same.
        let lean = hapl_repo::repo::read_lean(&dir, false, &|_, _| false).unwrap();
        assert_eq!(lean.objects, repo.objects, "{}", dir.display());
        assert_eq!(lean.modelines(), repo.modelines(), "{}", dir.display());
        assert_eq!(lean.style(), repo.style(), "{}", dir.display());
        assert_eq!(lean.document_count(), repo.document_count());
        assert_eq!(lean.hashes, repo.hashes);
        assert!(lean.files.values().all(|f| f.docs.is_empty() && !f.dropped));
        let nothing =
            plan_repo(&Platform::new("home", "pi"), &repo, &PlanOptions::default()).unwrap();
        assert!(
            nothing.is_empty() && nothing.phases.is_empty(),
            "{}",
            dir.display()
        );

        let mut platform = Platform::new("home", "pi");
        for (value, _) in typed_objects(&repo) {
            platform.objects.push(object(value, None));
        }
        assert!(!platform.objects.is_empty(), "{}", dir.display());
        let plan = plan_repo(&platform, &repo, &PlanOptions::default()).unwrap();
        let changed: Vec<String> = plan
            .phases
            .iter()
            .flat_map(|p| &p.changes)
            .map(|c| format!("{} in {}\n{}", c.object, c.file, c.diffs[0].diff))
            .collect();
        assert!(
            changed.is_empty(),
            "{}: {} of {} objects changed with their own values:\n{}",
            dir.display(),
            changed.len(),
            platform.objects.len(),
            changed.join("\n")
        );
        // `hapl plan`'s own read drops what the platform holds unchanged, and finds the same.
        let declared: BTreeMap<_, Value> = platform
            .objects
            .iter()
            .map(|o| (o.identity(), hapl_core::render::ordered_value(&o.resource)))
            .collect();
        let dropping = hapl_repo::repo::read_lean(&dir, false, &|id, v| {
            declared
                .get(id)
                .is_some_and(|d| hapl_repo::patch::same_doc(v, d))
        })
        .unwrap();
        let dropped = dropping.files.values().filter(|f| f.dropped).count();
        assert!(dropped > 0, "{}", dir.display());
        let lean_plan = hapl_repo::plan::plan(&platform, &dir, &PlanOptions::default()).unwrap();
        assert!(lean_plan.phases.is_empty(), "{}", dir.display());
        assert_eq!(lean_plan.read_hashes, repo.hashes);
        assert_eq!(lean_plan.not_inspected, plan.not_inspected);

        // One object changed among all of them: the lean plan (most values and texts dropped)
        // writes exactly what the plan over the full read writes.
        let i = platform
            .objects
            .iter()
            .position(|o| o.resource.kind() == "ConfigMap" || o.resource.kind() == "HelmRelease")
            .unwrap_or(0);
        let mut value = hapl_core::render::ordered_value(&platform.objects[i].resource);
        value["metadata"]["labels"]["hapl.dev/test"] = json!("changed");
        platform.objects[i] = object(value, None);
        let full = plan_repo(&platform, &repo, &PlanOptions::default()).unwrap();
        let lean_plan = hapl_repo::plan::plan(&platform, &dir, &PlanOptions::default()).unwrap();
        assert_eq!(full.summary.change, 1, "{}", dir.display());
        assert_eq!(lean_plan.summary.change, 1, "{}", dir.display());
        assert_eq!(
            lean_plan.phases[0].writes,
            full.phases[0].writes,
            "{}",
            dir.display()
        );
    }
}

/// The path of the first `tag:` string under `spec.values`.
fn find_tag(value: &Value, path: &mut Vec<String>) -> bool {
    if let Value::Object(map) = value {
        if map.get("tag").is_some_and(Value::is_string) {
            path.push("tag".into());
            return true;
        }
        for (k, v) in map {
            path.push(k.clone());
            if find_tag(v, path) {
                return true;
            }
            path.pop();
        }
    }
    false
}

/// The node at `path`, unless it lies inside an anchored node (whose aliases and merges would
/// change with it).
fn node_at<'a>(node: &'a yaml::Node, path: &[String]) -> Option<&'a yaml::Node> {
    if node.anchor != 0 {
        return None;
    }
    let Some((first, rest)) = path.split_first() else {
        return Some(node);
    };
    match &node.kind {
        yaml::NodeKind::Map(entries) => entries
            .iter()
            .find(|(k, _)| yaml::key_str(k) == Some(first.as_str()))
            .and_then(|(_, v)| node_at(v, rest)),
        _ => None,
    }
}

#[test]
fn corpus_changing_one_field_of_one_object_changes_exactly_its_line() {
    let mut tested = 0;
    for dir in corpus() {
        let repo = hapl_repo::repo::read(&dir, false).unwrap();
        for (value, file) in typed_objects(&repo)
            .into_iter()
            .filter(|(v, _)| v["kind"] == "HelmRelease")
        {
            let rf = &repo.files[&file];
            if rf.encrypted || !rf.fallback.is_empty() {
                continue;
            }
            let mut path = vec!["spec".to_owned(), "values".to_owned()];
            if !find_tag(&value["spec"]["values"], &mut path) {
                continue;
            }
            // The field's node in the file: plain text, no anchor or alias on its line.
            let docs = yaml::parse(&rf.text).unwrap();
            let Some(node) = docs.iter().find_map(|d| {
                let root = d.root.as_ref()?;
                let v = yaml::to_value(root, &yaml::anchors(root));
                (v["metadata"]["name"] == value["metadata"]["name"] && v["kind"] == "HelmRelease")
                    .then(|| node_at(root, &path))
                    .flatten()
            }) else {
                continue;
            };
            let line = rf.text.lines().nth(node.line - 1).unwrap();
            if line.contains(['&', '*']) || !matches!(node.kind, yaml::NodeKind::Scalar { .. }) {
                continue;
            }
            let mut changed = value.clone();
            let pointer = format!("/{}", path.join("/"));
            let old = changed
                .pointer(&pointer)
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned();
            *changed.pointer_mut(&pointer).unwrap() = json!(format!("{old}-hapl"));
            let mut platform = Platform::new("home", "pi");
            platform.objects.push(object(changed, Some(2)));
            let plan = plan_repo(&platform, &repo, &PlanOptions::default()).unwrap();
            assert_eq!(plan.summary.change, 1, "{file}");
            let writes = &plan.phases[0].writes;
            let mut expected = vec![file.clone(), OWNED_PATH.to_owned()];
            expected.sort();
            assert_eq!(
                writes.keys().cloned().collect::<Vec<_>>(),
                expected,
                "{file}"
            );
            let new_text = &writes[&file];
            let before: Vec<&str> = rf.text.split_inclusive('\n').collect();
            let after: Vec<&str> = new_text.split_inclusive('\n').collect();
            assert_eq!(before.len(), after.len(), "{file}:\n{new_text}");
            let differing: Vec<usize> = (0..before.len())
                .filter(|i| before[*i] != after[*i])
                .collect();
            assert_eq!(differing, vec![node.line - 1], "{}: {file}", dir.display());
            assert!(after[node.line - 1].contains(&format!("{old}-hapl")));
            tested += 1;
            if tested % 25 == 0 {
                break;
            }
        }
    }
    eprintln!("changed one image tag in {tested} corpus HelmReleases");
    if shared_dir().is_some() {
        assert!(tested > 0, "no HelmRelease with a tag in the corpus");
    }
}

#[test]
fn usage_errors_exit_1_not_2() {
    let dir = copy_fixture("flat");
    let out = hapl(
        dir.path(),
        &["--script", "platform.rhai", "plan", "--phase", "7"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

/// Where a new ConfigMap of component `hapl-new` in `namespace` lands in a corpus repo, and which
/// files the plan writes.
fn place_in_corpus(repo: &str, namespace: &str) -> Option<Vec<String>> {
    let dir = shared_dir()?.join("corpus").join(repo);
    let repo = hapl_repo::repo::read(&dir, false).unwrap();
    let mut platform = Platform::new("home", "pi");
    let mut obj = object(config_map(namespace, "hapl-new", &BTreeMap::new()), None);
    obj.component = "hapl-new".into();
    platform.objects.push(obj);
    let plan = plan_repo(&platform, &repo, &PlanOptions::default()).unwrap();
    assert_eq!(plan.summary.add, 1);
    Some(plan.phases[0].writes.keys().cloned().collect())
}

#[test]
fn new_objects_follow_the_layout_of_corpus_repos() {
    // `kubernetes/apps/<ns>/<app>/app/`, files named after their kind, `ks.yaml` lists.
    if let Some(writes) = place_in_corpus("onedr0p+home-ops", "default") {
        assert_eq!(
            writes,
            [
                OWNED_PATH,
                "kubernetes/apps/default/hapl-new/app/configmap.yaml",
                "kubernetes/apps/default/hapl-new/app/kustomization.yaml",
            ]
        );
    }
    // Flat `<ns>/<app>/` without any kustomization.yaml beside the apps.
    if let Some(writes) = place_in_corpus("wrmilling+k3s-gitops", "media") {
        assert_eq!(writes[0], OWNED_PATH);
        assert!(writes[1].starts_with("media/hapl-new/"), "{writes:?}");
        assert_eq!(writes.len(), 2, "{writes:?}");
    }
}

/// A temp project: `platform.rhai` and a repo of the given files.
fn project(script: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("platform.rhai"), script).unwrap();
    for (path, text) in files {
        let target = tmp.path().join("repo").join(path);
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::write(target, text).unwrap();
    }
    tmp
}

const SOPS_SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: home\nstringData:\n  password: ENC[AES256_GCM,data:abc,type:str]\nsops:\n  version: 3.9.0\n";

#[test]
fn encrypted_files_are_never_edited_and_templates_are_listed_not_read() {
    let files = [
        ("home/db/secret.sops.yaml", SOPS_SECRET),
        ("charts/x/Chart.yaml", "apiVersion: v2\nname: x\nversion: 1.0.0\n"),
        (
            "charts/x/templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n{{- if .Values.x }}\ndata: {}\n{{- end }}\n",
        ),
    ];
    let adopt = project(
        "let p = platform(\"home\", #{ repo: \"repo\" });\n\
         p.except(\"no-plaintext-secrets\", \"Secret/home/db\", \"the test shows the plan refuses to edit the SOPS file\");\n\
         p.add(#{ apiVersion: \"v1\", kind: \"Secret\", metadata: #{ name: \"db\", namespace: \"home\" }, stringData: #{ password: \"x\" } });\np\n",
        &files,
    );
    let out = hapl(adopt.path(), &["--script", "platform.rhai", "plan"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("SOPS-encrypted"), "{}", stderr(&out));

    let nothing = project(
        "let p = platform(\"home\", #{ repo: \"repo\" });\np\n",
        &files,
    );
    let (code, text) = run_plan(nothing.path(), &[]);
    assert_eq!(code, 0);
    assert!(
        text.contains("Not inspected (1 files, kept byte-identical):\n  charts/x/templates/cm.yaml: Helm chart template"),
        "{text}"
    );
}

#[test]
fn colour_follows_the_flag_and_no_color() {
    let dir = copy_fixture("flat");
    let coloured = hapl(
        dir.path(),
        &["--color", "always", "--script", "platform.rhai", "plan"],
    );
    assert!(
        stdout(&coloured).contains("\x1b[32m+"),
        "{}",
        stdout(&coloured)
    );
    let (_, plain) = run_plan(dir.path(), &[]);
    assert!(!plain.contains('\x1b'));
}

#[test]
fn reading_indexes_lists_inherited_namespaces_and_yaml_1_1() {
    let tmp = project(
        "",
        &[
            ("apps/kustomization.yaml", "namespace: media\nresources: [list.yaml]\n"),
            (
                "apps/list.yaml",
                "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: b, namespace: other}\n",
            ),
            (
                "apps/mode.yaml",
                "# comment only\n---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\ndata: {mode: 0755}\n",
            ),
        ],
    );
    let repo = hapl_repo::repo::read(&tmp.path().join("repo"), false).unwrap();
    let ids: Vec<String> = repo.objects.keys().map(|i| i.to_string()).collect();
    assert_eq!(
        ids,
        [
            "ConfigMap media/a",
            "ConfigMap media/m",
            "ConfigMap other/b"
        ]
    );
    let m = &repo.objects.values().nth(1).unwrap()[0];
    assert_eq!(m.value["data"]["mode"], 493);
    assert_eq!(
        (m.file.as_str(), m.doc, m.lines),
        ("apps/mode.yaml", 1, (4, 7))
    );
}

#[test]
fn deleting_one_document_of_a_file_keeps_the_others_byte_identical() {
    let owned = "version: 1\nobjects:\n  - kind: ConfigMap\n    namespace: home\n    name: a\n    file: apps/both.yaml\n  - kind: ConfigMap\n    namespace: home\n    name: b\n    file: apps/both.yaml\n";
    let both = "---\n# a stays\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: home}\n---\n# b goes\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: home}\n";
    let tmp = project(
        "let p = platform(\"home\", #{ repo: \"repo\" });\n\
         p.add(#{ apiVersion: \"v1\", kind: \"ConfigMap\", metadata: #{ name: \"a\", namespace: \"home\" } });\np\n",
        &[(".hapl/owned.yaml", owned), ("apps/both.yaml", both)],
    );
    let platform = evaluate(&tmp.path().join("platform.rhai"));
    let repo = tmp.path().join("repo");
    let plan = plan_dir(&platform, &repo);
    assert_eq!(plan.summary.delete, 1);
    assert_eq!(
        plan.phases[0].writes["apps/both.yaml"],
        "---\n# a stays\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: home}\n"
    );
    carry_out(&plan, &repo);
    assert!(plan_dir(&platform, &repo).is_empty());
    let record = fs::read_to_string(repo.join(OWNED_PATH)).unwrap();
    assert!(
        record.contains("name: a") && !record.contains("name: b"),
        "{record}"
    );
}

#[test]
fn a_script_with_errors_is_not_planned() {
    let tmp = project(
        "let p = platform(\"home\", #{ repo: \"repo\" });\np.add(#{ kind: \"Nope\" });\np\n",
        &[],
    );
    let out = hapl(tmp.path(), &["--script", "platform.rhai", "plan"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).is_empty());
}

/// A file whose lines end with a lone carriage return (old Mac line ends) is read, but hapl
/// refuses to edit it, naming the file: its edits count lines by line feeds.
#[test]
fn a_file_with_lone_carriage_returns_is_not_edited() {
    let tmp = tempfile::tempdir().unwrap();
    let text = "apiVersion: v1\rkind: ConfigMap\rmetadata:\r  name: app\r  namespace: default\rdata:\r  k: v\r";
    fs::write(tmp.path().join("cm.yaml"), text).unwrap();
    let mut platform = Platform::new("home", "pi");
    let wanted = BTreeMap::from([("k".to_owned(), "w".to_owned())]);
    platform
        .objects
        .push(object(config_map("default", "app", &wanted), None));
    let err =
        hapl_repo::plan::plan(&platform, tmp.path(), &PlanOptions::default()).expect_err("refused");
    let message = err.to_string();
    assert!(
        message.contains("cm.yaml") && message.contains("lone carriage return"),
        "{message}"
    );
    // Unchanged, it plans nothing: reading such a file works.
    let same = BTreeMap::from([("k".to_owned(), "v".to_owned())]);
    platform.objects[0] = object(config_map("default", "app", &same), None);
    assert!(plan_dir(&platform, tmp.path()).is_empty());
}
