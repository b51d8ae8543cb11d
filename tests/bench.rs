//! The benchmark workload (scripts/bench/gen_platform.py) renders to what the harness claims:
//! per app a Namespace, a NAS claim, a chart source, a HelmRelease and a Flux Kustomization,
//! each folder with its kustomization.yaml; and its "one change" twin differs in one file.
//! No timing here: benchmark results are never asserted in tests.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::support::{hapl, root, stderr};

/// Write the generated platform of `n` apps to `dir/<name>`, or `None` (with the reason
/// printed) when python3 is missing; under `CI=true` that is a failure.
fn generate(dir: &Path, n: usize, name: &str, change: bool) -> Option<std::path::PathBuf> {
    let out = dir.join(name);
    let mut cmd = Command::new("python3");
    cmd.arg(root().join("scripts/bench/gen_platform.py"))
        .arg(n.to_string())
        .arg(&out);
    if change {
        cmd.arg("--change");
    }
    match cmd.status() {
        Ok(status) => {
            assert!(status.success(), "gen_platform.py failed");
            Some(out)
        }
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but python3 cannot run: {e}")
        }
        Err(e) => {
            eprintln!("skipping: python3 cannot run ({e})");
            None
        }
    }
}

fn render(dir: &Path, script: &Path, out: &str) -> BTreeMap<String, String> {
    let o = hapl(
        dir,
        &["--script", script.to_str().unwrap(), "render", "--out", out],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let mut files = BTreeMap::new();
    let base = dir.join(out);
    let mut stack = vec![base.clone()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "yaml") {
                let rel = p
                    .strip_prefix(&base)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                files.insert(rel, std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    files
}

#[test]
fn the_generated_platform_renders_the_n_apps_workload() {
    let tmp = tempfile::tempdir().unwrap();
    let n = 10;
    let Some(script) = generate(tmp.path(), n, "platform.rhai", false) else {
        return;
    };
    let files = render(tmp.path(), &script, "out");

    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut dirs: BTreeMap<String, bool> = BTreeMap::new();
    for (path, text) in &files {
        let doc: serde_yaml::Value = serde_yaml::from_str(text).unwrap();
        let kind = format!(
            "{} {}",
            doc["apiVersion"].as_str().unwrap(),
            doc["kind"].as_str().unwrap()
        );
        *kinds.entry(kind).or_default() += 1;
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d).to_owned();
        *dirs.entry(dir).or_default() |= path.ends_with("kustomization.yaml");
    }
    let folders = dirs.len();
    assert!(
        dirs.values().all(|has| *has),
        "a folder lacks its kustomization.yaml: {dirs:?}"
    );
    // The storage base (nas_pvc::storage_class) adds the NFS driver's chart source and release
    // and the StorageClass.
    let expected: BTreeMap<String, usize> = [
        ("v1 Namespace", n),
        ("v1 PersistentVolumeClaim", n),
        ("source.toolkit.fluxcd.io/v1 HelmRepository", n + 1),
        ("helm.toolkit.fluxcd.io/v2 HelmRelease", n + 1),
        ("kustomize.toolkit.fluxcd.io/v1 Kustomization", n),
        ("storage.k8s.io/v1 StorageClass", 1),
        ("kustomize.config.k8s.io/v1beta1 Kustomization", folders),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(kinds, expected);
    // Five objects per app plus the storage base, and one kustomization.yaml per folder.
    assert_eq!(files.len(), 5 * n + 3 + folders);
    let release = files
        .iter()
        .find(|(p, _)| p.ends_with("helmrelease-app-7.yaml"))
        .expect("app-7's HelmRelease")
        .1;
    for line in [
        "repository: ghcr.io/example/app-7",
        "tag: 1.2.3",
        "existingClaim: app-7-data",
        "version: 3.7.3",
    ] {
        assert!(release.contains(line), "{line} missing in\n{release}");
    }
}

#[test]
fn the_one_change_twin_differs_in_one_field_of_one_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (Some(a), Some(b)) = (
        generate(tmp.path(), 10, "a.rhai", false),
        generate(tmp.path(), 10, "b.rhai", true),
    ) else {
        return;
    };
    let (ra, rb) = (render(tmp.path(), &a, "a"), render(tmp.path(), &b, "b"));
    assert_eq!(ra.keys().collect::<Vec<_>>(), rb.keys().collect::<Vec<_>>());
    let differing: Vec<&String> = ra.keys().filter(|k| ra[*k] != rb[*k]).collect();
    assert_eq!(differing.len(), 1, "{differing:?}");
    assert!(differing[0].ends_with("helmrelease-app-5.yaml"));
    assert!(rb[differing[0]].contains("tag: 1.2.4"));
}
