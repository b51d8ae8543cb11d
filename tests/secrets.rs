//! No secret value in any output (issue #10): diagnostics of `hapl check`, `hapl render` and
//! `hapl plan` in every format and `--out` (refusals, `render`'s included, write nothing), the plan's diffs, and commit messages made from a
//! plan through the git library. The fixtures use recognisable values; the test scans for them.

use std::fs;
use std::path::Path;

use hapl_repo::git::{self, ApplyOptions, CommitSpec, FileChange};
use hapl_repo::plan::PlanOptions;

use crate::support::{hapl, stderr, stdout};

const VALUES: [&str; 5] = [
    "S3cr3t-StringData-1",
    "S3cr3t-Env-Pass-2",
    "S3cr3t-Url-Pass-3",
    "S3cr3t-Grafana-4",
    "UzNjcjN0LURhdGEtNQ==", // base64 `data` of a Secret
];

#[track_caller]
fn assert_clean(what: &str, text: &str) {
    for v in VALUES.iter().chain(["S3cr3t-Data-5"].iter()) {
        assert!(!text.contains(v), "{what} leaks `{v}`:\n{text}");
    }
}

/// A platform leaking each pattern homelab repos leak: every rule error, no value printed.
const LEAKY: &str = r#"let p = platform("home", #{ repo: "repo" });
p.add(#{ apiVersion: "v1", kind: "Secret", metadata: #{ name: "app", namespace: "default" },
        stringData: #{ password: "S3cr3t-StringData-1" } }, #{ component: "app" });
p.add(#{ apiVersion: "v1", kind: "Secret", metadata: #{ name: "data", namespace: "default" },
        data: #{ token: "UzNjcjN0LURhdGEtNQ==" } }, #{ component: "app" });
p.add(#{ apiVersion: "apps/v1", kind: "Deployment",
        metadata: #{ name: "app", namespace: "default" },
        spec: #{ selector: #{ matchLabels: #{ app: "app" } },
                 template: #{ metadata: #{ labels: #{ app: "app" } },
                              spec: #{ containers: [#{ name: "app", image: "app:1.0.0",
                                  env: [#{ name: "DB_PASSWORD", value: "S3cr3t-Env-Pass-2" },
                                        #{ name: "DB_URL", value: "postgres://app:S3cr3t-Url-Pass-3@db/app" }] }] } } } },
      #{ component: "app" });
p.add(#{ apiVersion: "helm.toolkit.fluxcd.io/v2", kind: "HelmRelease",
        metadata: #{ name: "grafana", namespace: "monitoring" },
        spec: #{ interval: "1h", chart: #{ spec: #{ chart: "grafana", version: "10.1.4",
                 sourceRef: #{ kind: "HelmRepository", name: "grafana" } } },
                 values: #{ adminPassword: "S3cr3t-Grafana-4" } } },
      #{ component: "grafana" });
p
"#;

fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(tree(&path));
        } else {
            out.push((path.display().to_string(), fs::read(&path).unwrap()));
        }
    }
    out.sort();
    out
}

#[test]
fn no_command_prints_or_writes_a_secret_value() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("platform.rhai"), LEAKY).unwrap();
    fs::create_dir_all(dir.path().join("repo")).unwrap();
    let before = tree(dir.path());
    let mut runs: Vec<Vec<&str>> = vec![
        vec!["check"],
        vec!["render", "--out", "rendered"],
        vec!["plan", "--out", "plan.json"],
    ];
    for format in ["text", "json", "markdown"] {
        runs.push(vec!["plan", "--format", format]);
    }
    for args in runs {
        let out = hapl(dir.path(), &args);
        let (o, e) = (stdout(&out), stderr(&out));
        assert_clean(&format!("{args:?} stdout"), &o);
        assert_clean(&format!("{args:?} stderr"), &e);
        // Each pattern is an error, so each command refuses.
        assert_eq!(out.status.code(), Some(1), "{args:?}\n{o}\n{e}");
        for what in [
            "Secret `app` holds its data in plain text",
            "Secret `data` holds its data in plain text",
            "env `DB_PASSWORD` of container `app`",
            "env `DB_URL` of container `app`",
            "HelmRelease `grafana` hold a credential in plain text at `adminPassword`",
        ] {
            assert!(e.contains(what), "{args:?} misses {what}:\n{e}");
        }
    }
    assert_eq!(tree(dir.path()), before, "a refusal wrote something");
}

#[test]
fn plan_diffs_and_commit_messages_mask_credentials_around_a_change() {
    // A ConfigMap holding a password and a URL with credentials (no rule covers ConfigMaps):
    // the change of one key must not print its neighbours in the diff's context.
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    let run = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=T", "-c", "user.email=t@example.invalid"])
            .args(args)
            .current_dir(repo)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["init", "-q", "-b", "main"]);
    let file = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: default\ndata:\n  DATABASE_URL: postgres://app:S3cr3t-Url-Pass-3@db/app\n  GRAFANA_ADMIN_PASSWORD: S3cr3t-Grafana-4\n  mode: old\n";
    fs::create_dir_all(repo.join("default/app")).unwrap();
    fs::write(repo.join("default/app/config.yaml"), file).unwrap();
    run(&["add", "-A"]);
    run(&["commit", "-q", "-m", "init"]);
    let mut value: serde_json::Value = serde_yaml::from_str(file).unwrap();
    value["data"]["mode"] = "new".into();
    let resource = hapl_core::Resource::from_value(value).unwrap();
    let mut platform = hapl_core::Platform::new("home", "home");
    platform.objects.push(hapl_core::PlatformObject {
        component: "app".into(),
        resource,
        origin: hapl_core::Origin::new(hapl_core::Span::new("platform.rhai", 1, 1)),
        path: None,
        layer: None,
        phase: None,
        reason: Some("the app's mode".into()),
    });
    let plan = hapl_repo::plan::plan(&platform, repo, &PlanOptions::default()).unwrap();
    let json = serde_json::to_string_pretty(&plan).unwrap();
    assert!(json.contains("+  mode: new"), "{json}");
    assert!(json.contains("GRAFANA_ADMIN_PASSWORD: (masked)"), "{json}");
    assert_clean("plan JSON", &json);
    let commits: Vec<CommitSpec> = plan
        .phases
        .iter()
        .map(|p| CommitSpec {
            message: format!(
                "hapl: {}\n\n{}",
                p.changes
                    .iter()
                    .map(|c| c.object.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                p.changes
                    .iter()
                    .map(|c| c.reason.clone())
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
            changes: p
                .writes
                .iter()
                .map(|(path, text)| FileChange::write(path, text.as_bytes().to_vec()))
                .collect(),
        })
        .collect();
    let options = ApplyOptions {
        identity: Some(git::Identity {
            name: "hapl".into(),
            email: "hapl@example.invalid".into(),
        }),
        ..ApplyOptions::default()
    };
    git::apply(repo, &commits, &options).unwrap();
    let log = std::process::Command::new("git")
        .args(["log", "--format=%B"])
        .current_dir(repo)
        .output()
        .unwrap();
    let log = String::from_utf8(log.stdout).unwrap();
    assert!(log.contains("the app's mode"), "{log}");
    assert_clean("commit messages", &log);
}
