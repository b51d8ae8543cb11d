//! Property tests of the promises hapl's writing rests on (issue #10), over values chosen to
//! break a YAML writer: YAML 1.1 booleans and octals, indicators, `<<`, empty and multi-line
//! strings, control characters, Unicode line separators, extreme numbers, deep nesting.
//! - render → read back → the identical typed model, object by object;
//! - a plan applied to a repo hapl wrote before (edits in place, not fresh files) reads back as
//!   the new platform, leaves every file it had no reason to touch byte-identical, and the
//!   next plan is empty.

use std::collections::BTreeMap;
use std::path::Path;

use hapl_core::{Platform, PlatformObject, Resource};
use hapl_repo::plan::{plan, Plan, PlanOptions};
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::support::{self, carry_out, read_tree};

/// Strings a careless emitter writes so that they read back as something else.
fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            "yes",
            "No",
            "on",
            "OFF",
            "y",
            "0755",
            "0o17",
            "0x1F",
            "1_000",
            "1.5",
            "-1",
            "+1",
            ".inf",
            "-.NaN",
            "1e3",
            "null",
            "~",
            "NULL",
            "true",
            "a: b",
            "a #b",
            "#c",
            "- x",
            "-",
            "---",
            "...",
            "[x]",
            "{y}",
            "*a",
            "&b",
            "!t",
            "|",
            ">",
            "'q'",
            "\"d\"",
            "%p",
            "@x",
            "`x`",
            "<<",
            "?",
            ": x",
            " lead",
            "trail ",
            "\ttab",
            "x\ny",
            "x\n",
            "\n",
            "\n\n",
            " \n x",
            "a\r\nb",
            "\r",
            "ä ö 🙂",
            "\u{85}x\ny",
            "a\u{2028}b",
            "\u{feff}bom",
            "x\0y\nz",
            "a\\b",
            "2026-11-22",
            "12:30:00",
            "=",
            "<<: *a",
        ])
        .prop_map(String::from),
        "[ -~]{0,24}",
        "\\PC{0,12}",
        "[a-z #:\n\t-]{0,30}",
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(|f| json!(f)),
        prop::sample::select(vec![1e21, -2.5e-8, 0.1, 1e300, 5e-324, -0.0]).prop_map(|f| json!(f)),
        tricky_string().prop_map(Value::from),
    ]
}

/// Free-form chart values: nested maps and lists of scalars, tricky keys included.
fn values() -> impl Strategy<Value = Value> {
    let tree = scalar().prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(tricky_string(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop::collection::btree_map(tricky_string(), tree, 0..5)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

/// One app: a ConfigMap, a Deployment and a HelmRelease whose contents are all arbitrary.
#[derive(Debug, Clone)]
struct App {
    data: BTreeMap<String, String>,
    env: Vec<String>,
    annotation: String,
    tag: String,
    values: Value,
}

fn app() -> impl Strategy<Value = App> {
    (
        prop::collection::btree_map("[-._a-zA-Z0-9]{1,12}", tricky_string(), 0..4),
        prop::collection::vec(tricky_string(), 0..3),
        tricky_string(),
        "[a-z0-9][a-z0-9._-]{0,10}",
        values(),
    )
        .prop_map(|(data, env, annotation, tag, values)| App {
            data,
            env,
            annotation,
            tag,
            values,
        })
}

fn object(value: Value, phase: u8) -> PlatformObject {
    PlatformObject {
        layer: Some("apps".into()),
        reason: Some("generated".into()),
        ..support::object(value, Some(phase))
    }
}

fn platform(apps: &[App]) -> Platform {
    let mut p = Platform::new("home", "pi");
    p.objects.push(object(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}),
        1,
    ));
    for (i, a) in apps.iter().enumerate() {
        let name = format!("app-{i}");
        let env: Vec<Value> = a
            .env
            .iter()
            .enumerate()
            .map(|(j, v)| json!({"name": format!("VAR_{j}"), "value": v}))
            .collect();
        p.objects.push(object(
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": name, "namespace": "apps"}, "data": a.data}),
            2,
        ));
        p.objects.push(object(
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": name, "namespace": "apps",
                                "annotations": {"example.org/note": a.annotation}},
                   "spec": {"selector": {"matchLabels": {"app": name}},
                            "template": {"metadata": {"labels": {"app": name}},
                                         "spec": {"containers": [{"name": "app",
                                                                  "image": format!("ghcr.io/example/app:{}", a.tag),
                                                                  "env": env}]}}}}),
            3,
        ));
        p.objects.push(object(
            json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                   "metadata": {"name": name, "namespace": "apps"},
                   "spec": {"interval": "1h",
                            "chart": {"spec": {"chart": "app-template", "version": "4.4.0",
                                               "sourceRef": {"kind": "HelmRepository", "name": "bjw-s",
                                                             "namespace": "flux-system"}}},
                            "values": a.values}}),
            4,
        ));
    }
    p
}

/// Every object of the platform is in the repo once, and reads back as the same typed object
/// and the same value.
fn assert_reads_back(platform: &Platform, dir: &Path) -> Result<(), TestCaseError> {
    let repo = hapl_repo::repo::read(dir, false).map_err(|e| TestCaseError::fail(e.to_string()))?;
    for obj in &platform.objects {
        let id = obj.identity();
        let locs = repo
            .objects
            .get(&id)
            .ok_or_else(|| TestCaseError::fail(format!("{id} is not in the repo")))?;
        prop_assert_eq!(locs.len(), 1, "{} is in the repo more than once", id);
        prop_assert_eq!(
            &locs[0].value,
            &obj.resource.to_value(),
            "{} in {}",
            id,
            &locs[0].file
        );
        let typed = Resource::from_value(locs[0].value.clone())
            .map_err(|e| TestCaseError::fail(format!("{id}: {e:?}")))?;
        prop_assert!(typed == obj.resource, "{} reads back as another object", id);
    }
    Ok(())
}

fn plan_dir(platform: &Platform, dir: &Path) -> Result<Plan, TestCaseError> {
    plan(platform, dir, &PlanOptions::default()).map_err(|e| TestCaseError::fail(e.to_string()))
}

proptest! {
    // 48 cases in CI; `PROPTEST_CASES=5000` for a long local run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(48),
        ..ProptestConfig::default()
    })]

    /// `hapl render`'s tree, read back by hapl's own reader, is the platform it came from.
    #[test]
    fn render_then_read_back_is_the_same_model(apps in prop::collection::vec(app(), 1..4)) {
        let platform = platform(&apps);
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("repo");
        hapl_repo::write_render(&out, &hapl_repo::render_tree(&platform)).unwrap();
        assert_reads_back(&platform, &out)?;
    }

    /// A repo hapl wrote for one platform, then planned and applied for another with new
    /// contents (format-preserving edits of the existing files): it reads back as the new
    /// platform, the files of apps that did not change are byte-identical, and the next plan
    /// is empty.
    #[test]
    fn an_applied_plan_reads_back_as_intended_and_leaves_nothing_to_plan(
        before in prop::collection::vec(app(), 1..4),
        changes in prop::collection::vec(proptest::option::of(app()), 1..4),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let first = platform(&before);
        carry_out(&plan_dir(&first, dir)?, dir);
        let written = read_tree(dir);

        // Each app is replaced by its change, if it has one; extra changes are new apps.
        let mut after = before.clone();
        for (i, c) in changes.iter().enumerate() {
            match (c, i < after.len()) {
                (Some(a), true) => after[i] = a.clone(),
                (Some(a), false) => after.push(a.clone()),
                (None, _) => {}
            }
        }
        let second = platform(&after);
        let p = plan_dir(&second, dir)?;
        carry_out(&p, dir);
        assert_reads_back(&second, dir)?;
        let now = read_tree(dir);
        let touched: Vec<&String> = p.phases.iter().flat_map(|ph| ph.writes.keys()).collect();
        for (path, bytes) in &written {
            if !touched.contains(&path) {
                prop_assert!(now.get(path) == Some(bytes), "{} changed without being planned", path);
            }
        }
        let again = plan_dir(&second, dir)?;
        prop_assert!(again.is_empty(), "{:?}", again.summary);
    }
}
