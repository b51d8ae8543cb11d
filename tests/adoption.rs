//! The adoption of `examples/legacy-microk8s` by the top-level `platform.rhai`, end to end: in a
//! copy of the repository in a temp git repo, the plan is applied phase by phase (one commit
//! per phase, with `hapl_repo::git::apply`); no phase deletes, renames or replaces a claim that
//! holds data; afterwards the plan is empty, the rules are clean and kustomize still builds
//! every folder. Also the `data-continuity` check of the plan: a replaced or deleted claim is
//! refused unless the script states a migration.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use hapl_core::{Identity, Platform};
use hapl_repo::git::{apply, ApplyOptions, CommitSpec, FileChange};
use hapl_repo::plan::{plan, PlanError, PlanOptions};
use serde_json::Value;

use crate::support::{copy_dir, hapl, root, stderr, stdout};

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `examples/legacy-microk8s` as the first commit of a new git repo.
fn legacy_repo() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&root().join("examples/legacy-microk8s"), tmp.path());
    git(tmp.path(), &["init", "-q", "-b", "main"]);
    git(tmp.path(), &["config", "user.name", "Adoption Test"]);
    git(
        tmp.path(),
        &["config", "user.email", "adoption@example.org"],
    );
    git(tmp.path(), &["add", "-A"]);
    git(
        tmp.path(),
        &["commit", "-q", "-m", "the repository before Phase 1"],
    );
    tmp
}

fn evaluate(text: &str) -> Platform {
    let e = hapl_script::evaluate_str("platform.rhai", text, &hapl_script::Options::default())
        .unwrap_or_else(|f| panic!("{:?}", f.diagnostics));
    e.platform
}

fn top_level() -> String {
    fs::read_to_string(root().join("platform.rhai")).unwrap()
}

/// Every claim in the repo: identity → (file, storage class, access modes, volume name).
fn claims(dir: &Path) -> BTreeMap<Identity, (String, Value, Value, Value)> {
    let repo = hapl_repo::repo::read(dir, false).unwrap();
    repo.objects
        .iter()
        .filter(|(id, _)| id.kind == "PersistentVolumeClaim")
        .map(|(id, locs)| {
            let v = &locs[0].value;
            let at = |p: &str| v.pointer(p).cloned().unwrap_or(Value::Null);
            (
                id.clone(),
                (
                    locs[0].file.clone(),
                    at("/spec/storageClassName"),
                    at("/spec/accessModes"),
                    at("/spec/volumeName"),
                ),
            )
        })
        .collect()
}

/// Folders with a `kustomization.yaml` that `kubectl kustomize` builds (a Flux layer folder or
/// a kustomize overlay; `charts/` holds Helm charts, not kustomizations).
fn kustomize_dirs(dir: &Path) -> BTreeMap<String, Result<(), String>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() && !path.ends_with(".git") {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "kustomization.yaml") {
                let folder: PathBuf = path.parent().unwrap().to_owned();
                let o = Command::new("kubectl")
                    .args(["kustomize", folder.to_str().unwrap()])
                    .output()
                    .expect("kubectl is installed");
                let rel = folder.strip_prefix(dir).unwrap().display().to_string();
                let result = if o.status.success() {
                    Ok(())
                } else {
                    Err(String::from_utf8_lossy(&o.stderr).into_owned())
                };
                out.insert(rel, result);
            }
        }
    }
    out
}

#[test]
fn the_adoption_commits_one_phase_at_a_time_and_keeps_every_claim() {
    let repo = legacy_repo();
    let dir = repo.path();
    let platform = evaluate(&top_level());
    assert_eq!(platform.repo.as_deref(), Some("examples/legacy-microk8s"));
    let before_build = kustomize_dirs(dir);
    let original = claims(dir);
    for name in ["home-assistant-data", "loki-storage", "grafana-storage"] {
        assert!(
            original.keys().any(|id| id.name == name),
            "the legacy repo has no claim {name}"
        );
    }

    let mut commits = 1;
    let mut phases_with_changes = Vec::new();
    for phase in 1..=6u8 {
        let before = claims(dir);
        let options = PlanOptions {
            phase: Some(phase),
            keep_going: false,
        };
        let p = plan(&platform, dir, &options).unwrap_or_else(|e| panic!("phase {phase}: {e}"));
        let Some(pp) = p.phases.iter().find(|pp| pp.phase == Some(phase)) else {
            continue;
        };
        assert_eq!(p.phases.len(), 1, "phase {phase} planned other phases");
        for c in &pp.changes {
            assert!(
                !c.reason.is_empty(),
                "phase {phase}: {} has no reason",
                c.object
            );
        }
        let mut changes: Vec<FileChange> = pp
            .writes
            .iter()
            .map(|(path, text)| FileChange::write(path.clone(), text.clone()))
            .collect();
        changes.extend(pp.deletes.iter().map(|d| FileChange::delete(d.clone())));
        let spec = CommitSpec {
            message: format!(
                "phase {phase}: adopt the seed's platform\n\n{} changes",
                pp.changes.len()
            ),
            changes,
        };
        apply(dir, &[spec], &ApplyOptions::default())
            .unwrap_or_else(|e| panic!("phase {phase}: {e}"));
        commits += 1;
        phases_with_changes.push(phase);
        assert_eq!(
            git(dir, &["rev-list", "--count", "HEAD"]).trim(),
            commits.to_string(),
            "phase {phase} is not exactly one commit"
        );
        assert!(git(dir, &["status", "--porcelain"]).trim().is_empty());

        // No claim that existed before the phase is gone, renamed or replaced by it.
        let after = claims(dir);
        for (id, (file, class, modes, volume)) in &before {
            let (_, c2, m2, v2) = after
                .get(id)
                .unwrap_or_else(|| panic!("phase {phase} deleted {id} ({file})"));
            assert_eq!(
                (class, modes, volume),
                (c2, m2, v2),
                "phase {phase} replaced {id}"
            );
        }
    }
    assert_eq!(phases_with_changes, [1, 2, 3, 4, 5, 6]);
    // The claims of the original repo are all still there, on the same class.
    let last = claims(dir);
    for (id, (_, class, ..)) in &original {
        assert_eq!(&last[id].1, class, "{id}");
    }
    // InfluxDB's chart-made claim is now in git, kept from Helm's pruning.
    let influx = hapl_repo::repo::read(dir, false).unwrap();
    let claim = influx
        .objects
        .iter()
        .find(|(id, _)| id.name == "influxdb-influxdb2")
        .map(|(_, l)| l[0].value.clone())
        .expect("the InfluxDB claim is declared");
    assert_eq!(
        claim["metadata"]["annotations"]["helm.sh/resource-policy"],
        "keep"
    );

    // Afterwards: nothing left to plan, and the rules are clean.
    let again = plan(&platform, dir, &PlanOptions::default()).unwrap();
    assert!(again.is_empty(), "{:?}", again.summary);
    let settings = hapl_core::rules::Settings {
        today: hapl_core::rules::Date::new(2026, 6, 1),
    };
    let findings = hapl_core::rules::check(&platform, &settings);
    // Only notes (the stated exceptions), and the one warning the seed's choice of Promtail
    // brings: it reached end of life on 2026-03-02.
    assert!(
        findings
            .iter()
            .all(|d| d.severity == hapl_core::Severity::Note
                || (d.code == "eol-component" && d.message.contains("grafana/promtail"))),
        "{findings:?}"
    );

    // kustomize builds every folder it built before, and every new one.
    let after_build = kustomize_dirs(dir);
    for (d, ok) in &before_build {
        if ok.is_ok() {
            assert!(
                after_build.get(d).is_some_and(Result::is_ok),
                "{d} no longer builds: {:?}",
                after_build.get(d)
            );
        }
    }
    for (d, ok) in &after_build {
        if !before_build.contains_key(d) {
            assert!(ok.is_ok(), "new folder {d} does not build: {ok:?}");
        }
    }
}

#[test]
fn plan_in_the_project_root_shows_the_adoption_by_phase_and_exits_2() {
    let out = hapl(&root(), &["plan"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stdout(&out);
    let mut seen = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Phase ") {
            seen.insert(rest.chars().next().unwrap());
        }
    }
    assert_eq!(seen.into_iter().collect::<String>(), "123456", "{text}");
    assert!(text.contains("why:"), "{text}");
    // The repo keeps its sources flat (`sources/jetstack.yaml`): new ones go beside them.
    assert!(
        text.contains("file: clusters/microk8s/sources/helmrepository-csi-driver-nfs.yaml"),
        "{text}"
    );
    // The repo's data claims are never in the plan as deletions.
    for name in [
        "home-assistant-data",
        "influxdb-influxdb2",
        "loki-storage",
        "grafana-storage",
    ] {
        assert!(
            !text
                .lines()
                .any(|l| l.starts_with("  - delete") && l.contains(name)),
            "{name}: {text}"
        );
    }
}

/// What a user does, with the real binary: `hapl apply-to-git` of the top-level platform on a
/// copy of the legacy repo in a temp git repo makes one commit per phase; then `hapl plan` has
/// nothing to do, git is clean and fsck is happy, and `hapl assess` of the repo alone (without
/// the script) finds no critical finding: the script's exceptions travel in the repo as
/// `hapl.dev/except.<rule>` annotations, each listed with its reason.
#[test]
fn the_cli_adoption_leaves_a_repo_that_assess_finds_nothing_critical_in() {
    let work = tempfile::tempdir().unwrap();
    let repo = legacy_repo();
    let dir = work.path().join("repo");
    copy_dir(repo.path(), &dir);
    fs::write(
        work.path().join("platform.rhai"),
        top_level().replace("repo: \"examples/legacy-microk8s\",", "repo: \"repo\","),
    )
    .unwrap();
    let head_before = git(&dir, &["rev-parse", "HEAD"]);

    let before = hapl(&dir, &["assess", "--repo", "."]);
    assert_eq!(before.status.code(), Some(3), "{}", stderr(&before));

    let applied = hapl(work.path(), &["apply-to-git"]);
    assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));
    let log = git(
        &dir,
        &[
            "log",
            "--format=%s",
            &format!("{}..HEAD", head_before.trim()),
        ],
    );
    let titles: Vec<&str> = log.lines().rev().collect();
    assert_eq!(titles.len(), 6, "one commit per phase: {log}");
    for (i, t) in titles.iter().enumerate() {
        assert!(t.contains(&format!("hase {}", i + 1)), "commit {i}: {t}");
    }
    assert!(git(&dir, &["status", "--porcelain"]).trim().is_empty());
    git(&dir, &["fsck", "--strict"]);

    let again = hapl(work.path(), &["plan"]);
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));

    let after = hapl(&dir, &["assess", "--repo", "."]);
    let report = stdout(&after);
    assert_eq!(after.status.code(), Some(0), "{report}{}", stderr(&after));
    assert!(report.contains(" 0 critical"), "{report}");
    assert!(!report.contains(" error["), "{report}");
    let exceptions = report
        .split("Exceptions recorded in the repository:")
        .nth(1)
        .unwrap_or_else(|| panic!("no exceptions listed: {report}"));
    for claim in [
        "home-assistant-data",
        "influxdb-influxdb2",
        "loki-storage",
        "grafana-storage",
    ] {
        assert!(
            exceptions.contains(&format!("/{claim} (1 finding hidden)")),
            "{claim} is not listed with its reason: {exceptions}"
        );
    }
    assert!(exceptions.contains("microk8s.io/hostpath"), "{exceptions}");
}

/// The top-level platform with one line replaced.
fn edited(from: &str, to: &str) -> String {
    let text = top_level();
    assert!(text.contains(from), "platform.rhai no longer has `{from}`");
    text.replacen(from, to, 1)
}

#[test]
fn moving_a_claim_to_another_class_is_refused_unless_the_script_states_a_migration() {
    let repo = legacy_repo();
    // Home Assistant's existing claim on the NAS class: Kubernetes cannot change a claim's
    // class, so Flux would delete and recreate it, empty.
    let moved = edited(
        "#{ name: \"home-assistant-data\", namespace: base.ns.homeassistant, size: \"5Gi\",",
        "#{ name: \"home-assistant-data\", namespace: base.ns.homeassistant, size: \"5Gi\", class: \"nas-nfs\",",
    )
    .replace(
        "storage_class: \"nfs-storage\", size: c.size,",
        "storage_class: c.class ?? \"nfs-storage\", size: c.size,",
    );
    let err = plan(&evaluate(&moved), repo.path(), &PlanOptions::default()).unwrap_err();
    let PlanError::DataContinuity(hits) = &err else {
        panic!("{err}");
    };
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert!(
        hits[0].contains("home-automation/home-assistant-data")
            && hits[0].contains("clusters/microk8s/apps/home-assistant/pvc.yaml")
            && hits[0].contains("storageClassName"),
        "{}",
        hits[0]
    );
    assert!(err.to_string().contains("[data-continuity]"));

    // The same through the CLI: exit 1, nothing written.
    fs::write(
        repo.path().join("adopt.rhai"),
        moved.replace("    repo: \"examples/legacy-microk8s\",\n", ""),
    )
    .unwrap();
    let out = hapl(repo.path(), &["--script", "adopt.rhai", "plan"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("[data-continuity]"),
        "{}",
        stderr(&out)
    );
    fs::remove_file(repo.path().join("adopt.rhai")).unwrap();
    assert!(git(repo.path(), &["status", "--porcelain"])
        .trim()
        .is_empty());

    // A stated migration (the data copied first) lets the plan through.
    let migrated = moved.replacen(
        "\np\n",
        "\np.migrate(\"PersistentVolumeClaim/home-automation/home-assistant-data\", #{\n    to: \"PersistentVolumeClaim/home-automation/home-assistant-data\",\n    reason: \"copied to the NFS class by hand with rsync while Home Assistant was scaled to 0\" });\np\n",
        1,
    );
    let ok = plan(&evaluate(&migrated), repo.path(), &PlanOptions::default());
    assert!(ok.is_ok(), "{:?}", ok.err());
}

#[test]
fn deleting_an_owned_claim_is_refused() {
    let repo = legacy_repo();
    let dir = repo.path();
    // Adopt phase 5 (Zigbee): hapl now owns zigbee/zigbee2mqtt-data.
    let platform = evaluate(&top_level());
    let p = plan(
        &platform,
        dir,
        &PlanOptions {
            phase: Some(5),
            keep_going: false,
        },
    )
    .unwrap();
    let pp = &p.phases[0];
    let changes = pp
        .writes
        .iter()
        .map(|(path, text)| FileChange::write(path.clone(), text.clone()))
        .collect();
    apply(
        dir,
        &[CommitSpec {
            message: "phase 5".into(),
            changes,
        }],
        &ApplyOptions::default(),
    )
    .unwrap();
    // A script without the Zigbee stack would delete the coordinator's network state.
    let start = top_level()
        .find("let broker = zigbee_stack::mosquitto")
        .unwrap();
    let end = top_level().find("// Phase 5: the Matter server").unwrap();
    let mut without = top_level();
    without.replace_range(start..end, "");
    let without = without
        .replace("    mqtt: broker,\n", "")
        .replace(
            "let file_state = [#{ role: \"zigbee2mqtt\", namespace: base.ns.zigbee, claim: \"zigbee2mqtt-data\" }];",
            "let file_state = [];",
        );
    let err = plan(&evaluate(&without), dir, &PlanOptions::default()).unwrap_err();
    let PlanError::DataContinuity(hits) = &err else {
        panic!("{err}");
    };
    assert!(
        hits.iter()
            .any(|h| h.contains("zigbee/zigbee2mqtt-data") && h.contains("deleted")),
        "{hits:?}"
    );
    assert!(
        !hits.iter().any(|h| h.contains("ConfigMap")),
        "only data is refused: {hits:?}"
    );
}
