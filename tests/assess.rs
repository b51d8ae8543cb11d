//! `hapl assess`: the seed's Phase 0 findings on `examples/legacy-microk8s`, read from
//! `tests/fixtures/legacy_findings.yaml` (the single source of truth), the markdown report as a
//! snapshot, and every repository of the shared corpus assessed without a crash.

use std::path::Path;
use std::time::Instant;

use serde_json::Value as Json;
use serde_yaml::Value;

use crate::support::{hapl, root, shared, stderr, stdout};

const EXIT_CRITICAL: i32 = 3;

fn assess_json(repo: &Path) -> Json {
    let out = hapl(
        &root(),
        &[
            "assess",
            "--repo",
            repo.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(EXIT_CRITICAL), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).expect("assess prints JSON")
}

/// (file, line) of a finding's primary place and of its labels (`file:line:col`, or a folder).
fn places(f: &Json) -> Vec<(String, u64)> {
    let mut out = vec![(
        f["file"].as_str().unwrap_or("").to_owned(),
        f["line"].as_u64().unwrap_or(0),
    )];
    for l in f["labels"].as_array().into_iter().flatten() {
        let at = l["at"].as_str().unwrap_or("");
        let mut parts = at.rsplitn(3, ':');
        let (col, line, file) = (parts.next(), parts.next(), parts.next());
        match (file, line.and_then(|l| l.parse().ok()), col) {
            (Some(file), Some(line), Some(_)) => out.push((file.to_owned(), line)),
            _ => out.push((at.to_owned(), 0)),
        }
    }
    out
}

#[test]
fn assess_reports_every_finding_of_the_fixture_at_its_file_and_line() {
    let fixture: Value = serde_yaml::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/legacy_findings.yaml")).unwrap(),
    )
    .unwrap();
    let report = assess_json(&root().join("examples/legacy-microk8s"));
    let findings = report["findings"].as_array().unwrap();
    let mut missing = Vec::new();
    for f in fixture["findings"].as_sequence().unwrap() {
        let id = f["id"].as_str().unwrap();
        let rule = f["rule"].as_str().unwrap();
        let of_rule: Vec<&Json> = findings.iter().filter(|d| d["rule"] == rule).collect();
        if of_rule.is_empty() {
            missing.push(format!("{id}: no `{rule}` finding at all"));
            continue;
        }
        for loc in f["locations"].as_sequence().into_iter().flatten() {
            let file = loc["file"].as_str().unwrap();
            let lines = loc["lines"]
                .as_sequence()
                .map(|l| (l[0].as_u64().unwrap(), l[1].as_u64().unwrap()));
            let hit = of_rule
                .iter()
                .flat_map(|d| places(d))
                .any(|(f, l)| f == file && lines.is_none_or(|(a, b)| (a..=b).contains(&l)));
            if !hit {
                let seen: Vec<String> = of_rule
                    .iter()
                    .flat_map(|d| places(d))
                    .map(|(f, l)| format!("{f}:{l}"))
                    .collect();
                missing.push(format!(
                    "{id}: no `{rule}` finding at {file} {lines:?}; found at {seen:?}"
                ));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    // The inventory lists what the fixture's inventory lists.
    let inv = &fixture["inventory"];
    let names = |key: &str, json: &str| -> (Vec<String>, Vec<String>) {
        let want: Vec<String> = inv[key]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|v| v.get("name").unwrap_or(v).as_str().unwrap().to_owned())
            .collect();
        let got: Vec<String> = report["inventory"][json]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.get("name").unwrap_or(v).as_str().unwrap().to_owned())
            .collect();
        (want, got)
    };
    for (key, json) in [
        ("namespaces", "namespaces"),
        ("storage_classes", "storage_classes"),
        ("helm_releases", "helm_releases"),
    ] {
        let (mut want, mut got) = names(key, json);
        want.sort();
        got.sort();
        assert_eq!(got, want, "{key}");
    }
    let (want, got) = names("pvcs", "pvcs");
    for pvc in want {
        assert!(got.contains(&pvc), "PVC {pvc} not in the inventory {got:?}");
    }
    let ha = report["inventory"]["home_assistant"].to_string();
    assert!(
        ha.contains("sqlite:////config/home-assistant_v2.db"),
        "{ha}"
    );
    // Templates were read, and what was not is said.
    let not = report["not_inspected"].to_string();
    assert!(!not.contains("templates/deployment.yaml"), "{not}");
    assert!(report["empty_dirs"]
        .to_string()
        .contains("clusters/microk8s/databases/postgresql/"));
}

#[test]
fn the_markdown_report_of_the_legacy_repo() {
    let example = root().join("examples/legacy-microk8s");
    let out = hapl(&example, &["assess", "--format", "markdown"]);
    assert_eq!(out.status.code(), Some(EXIT_CRITICAL), "{}", stderr(&out));
    let md = stdout(&out);
    for heading in [
        "## Executive Summary",
        "## Critical Violations (Must Fix)",
        "## Anti-Patterns & Issues",
        "### Phase 1 — Storage & Data Safety",
        "## What Was Not Inspected",
    ] {
        assert!(md.contains(heading), "{heading} missing");
    }
    insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("assess_legacy_markdown", md);
    });
}

#[test]
fn assess_of_a_missing_folder_is_an_empty_repo_and_a_bad_format_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = hapl(dir.path(), &["assess"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("0 objects checked"));
    let out = hapl(dir.path(), &["assess", "--format", "yaml"]);
    assert_ne!(out.status.code(), Some(0));
}

/// Every corpus repository is assessed: no crash, exit 0 or 3, an inventory printed.
/// Release-build wall times on the 2-core dev machine (`hapl assess --repo <repo>`, 2026-11-22):
/// Diaoul+home-ops 0.18 s, billimek+k8s-gitops@2022-05-31 0.16 s,
/// fluxcd+flux2-kustomize-helm-example 0.01 s, gandazgul+k8s-infrastructure 0.49 s,
/// onedr0p+home-ops 0.12 s, wrmilling+k3s-gitops 0.17 s, xunholy+k8s-gitops 0.16 s;
/// examples/legacy-microk8s 0.02 s. All exit 3 (each has critical findings).
#[test]
fn every_corpus_repo_is_assessed() {
    let Some(shared) = shared() else { return };
    let corpus = shared.join("corpus");
    let mut repos: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    repos.sort();
    assert!(
        !repos.is_empty(),
        "no corpus repositories in {}",
        corpus.display()
    );
    for repo in repos {
        let start = Instant::now();
        let out = hapl(&root(), &["assess", "--repo", repo.to_str().unwrap()]);
        let code = out.status.code();
        assert!(
            code == Some(0) || code == Some(EXIT_CRITICAL),
            "{}: exit {code:?}\n{}",
            repo.display(),
            stderr(&out)
        );
        let text = stdout(&out);
        for part in [
            "Namespaces:",
            "HelmReleases:",
            "StorageClasses:",
            "Findings:",
        ] {
            assert!(text.contains(part), "{}: no {part}", repo.display());
        }
        eprintln!("{}: {:?}", repo.display(), start.elapsed());
    }
}
