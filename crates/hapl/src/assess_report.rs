//! `hapl assess` output: the Phase 0 report as text, markdown (shaped like the seed's) or JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hapl_core::rules::Context;
use hapl_core::workload::VolumeSource;
use hapl_core::{Diagnostic, Resource, Severity};
use hapl_repo::assess::Assessment;
use serde_json::{json, Value};

/// The seed's phase that fixes a rule's findings.
pub fn phase_of(rule: &str) -> u8 {
    match rule {
        "nas-backed-state"
        | "single-default-storageclass"
        | "no-sqlite-recorder"
        | "recorder-on-postgres"
        | "power-loss-safe"
        | "storage-capacity" => 1,
        "influx-retention" => 3,
        "eol-component" | "node-capacity" => 4,
        "matter-isolated" | "usb-single-pod" | "zigbee-via-mqtt" => 5,
        "backup-coverage" => 6,
        _ => 2,
    }
}

const PHASES: [&str; 6] = [
    "Storage & Data Safety",
    "Home Assistant Hardening",
    "Long-Term Metrics (InfluxDB)",
    "Logging & Observability",
    "Zigbee, Matter & Edge Integrations",
    "Backups & Disaster Recovery",
];

struct Inventory {
    namespaces: Vec<String>,
    /// name, namespace, chart, version, source, file
    releases: Vec<[String; 6]>,
    /// name, provisioner, reclaim, default, file
    classes: Vec<[String; 5]>,
    /// name, namespace, class, size, file
    pvcs: Vec<[String; 5]>,
    /// file, recorder, integrations
    home_assistant: Vec<[String; 3]>,
}

fn inventory(a: &Assessment, cx: &Context) -> Inventory {
    let file = |i: usize| {
        let site = &a.platform.objects[i].origin.site;
        format!("{}:{}", site.file, site.line)
    };
    let mut inv = Inventory {
        namespaces: Vec::new(),
        releases: Vec::new(),
        classes: Vec::new(),
        pvcs: Vec::new(),
        home_assistant: Vec::new(),
    };
    for (i, r) in cx.resources.iter().enumerate() {
        match r {
            Resource::Namespace(_) => inv.namespaces.push(r.name().to_owned()),
            Resource::HelmRelease(hr) => {
                let (chart, version, source) = match &hr.spec.chart {
                    Some(c) => (
                        c.spec.chart.clone(),
                        c.spec.version.clone().unwrap_or_else(|| "-".into()),
                        format!("{}/{}", c.spec.source_ref.kind, c.spec.source_ref.name),
                    ),
                    None => (
                        hapl_core::workload::charts::chart_name(hr),
                        "-".into(),
                        "OCIRepository".into(),
                    ),
                };
                inv.releases.push([
                    r.name().into(),
                    r.namespace().unwrap_or("default").into(),
                    chart,
                    version,
                    source,
                    file(i),
                ]);
            }
            Resource::StorageClass(sc) => {
                let default = cx.default_classes().iter().any(|(j, _)| *j == i);
                inv.classes.push([
                    r.name().into(),
                    sc.provisioner.clone(),
                    sc.reclaim_policy.clone().unwrap_or_else(|| "Delete".into()),
                    if default { "yes" } else { "no" }.into(),
                    file(i),
                ]);
            }
            Resource::PersistentVolumeClaim(p) => {
                let spec = p.spec.as_ref();
                inv.pvcs.push([
                    r.name().into(),
                    r.namespace().unwrap_or("default").into(),
                    spec.and_then(|s| s.storage_class_name.clone())
                        .unwrap_or_else(|| "(default)".into()),
                    spec.and_then(|s| s.resources.as_ref())
                        .and_then(|r| r.requests.as_ref())
                        .and_then(|r| r.get("storage"))
                        .map_or("-".into(), |q| q.0.clone()),
                    file(i),
                ]);
            }
            _ => {}
        }
    }
    // Claims that charts make.
    for w in &cx.workloads.workloads {
        for v in &w.volumes {
            if let VolumeSource::NewClaim(c) = &v.source {
                inv.pvcs.push([
                    c.name.clone(),
                    w.namespace.clone(),
                    c.storage_class
                        .clone()
                        .unwrap_or_else(|| "(default)".into()),
                    c.size.clone().unwrap_or_else(|| "-".into()),
                    format!("{} (made by the chart)", file(w.object)),
                ]);
            }
        }
    }
    for (i, doc) in &cx.ha_docs {
        let map = doc.as_mapping();
        let recorder = map
            .and_then(|m| m.get("recorder"))
            .map_or("(none: SQLite by default)".into(), |r| {
                serde_json::to_string(r).unwrap_or_default()
            });
        let integrations: Vec<String> = map
            .into_iter()
            .flat_map(|m| m.keys())
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect();
        inv.home_assistant
            .push([file(*i), recorder, integrations.join(", ")]);
    }
    inv.namespaces.sort();
    inv.namespaces.dedup();
    inv.releases.sort();
    inv.classes.sort();
    inv.pvcs.sort();
    inv.pvcs.dedup_by(|a, b| a[0] == b[0] && a[1] == b[1]);
    inv
}

fn place(d: &Diagnostic) -> String {
    d.primary
        .as_ref()
        .map_or("(the repository as a whole)".into(), |s| {
            if s.line == 0 {
                s.file.clone()
            } else {
                format!("{}:{}", s.file, s.line)
            }
        })
}

fn findings(a: &Assessment) -> Vec<&Diagnostic> {
    a.diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Note)
        .collect()
}

/// Rules the repository itself waives (`hapl.dev/except.<rule>` annotations, which `hapl
/// apply-to-git` writes for a script's `p.except`): each a note with the reason, so no accepted
/// risk is hidden by the "0 critical".
fn exceptions(a: &Assessment) -> Vec<&Diagnostic> {
    a.diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Note)
        .collect()
}

pub fn text(a: &Assessment, cx: &Context) -> String {
    let inv = inventory(a, cx);
    let mut s = String::new();
    let ds = findings(a);
    let _ = writeln!(
        s,
        "Assessment of {}: {} objects checked, {} critical, {} warnings",
        a.platform.name,
        a.platform.objects.len(),
        a.errors(),
        ds.len() - a.errors()
    );
    let _ = writeln!(s, "\nNamespaces: {}", inv.namespaces.join(", "));
    let _ = writeln!(s, "\nHelmReleases:");
    for r in &inv.releases {
        let _ = writeln!(
            s,
            "  {}/{}  chart {} {} from {}  ({})",
            r[1], r[0], r[2], r[3], r[4], r[5]
        );
    }
    let _ = writeln!(s, "\nStorageClasses:");
    for c in &inv.classes {
        let _ = writeln!(
            s,
            "  {}  provisioner {}  reclaim {}  default {}  ({})",
            c[0], c[1], c[2], c[3], c[4]
        );
    }
    let _ = writeln!(s, "\nPersistentVolumeClaims:");
    for p in &inv.pvcs {
        let _ = writeln!(
            s,
            "  {}/{}  class {}  size {}  ({})",
            p[1], p[0], p[2], p[3], p[4]
        );
    }
    let _ = writeln!(s, "\nHome Assistant configuration:");
    if inv.home_assistant.is_empty() {
        let _ = writeln!(s, "  none found");
    }
    for h in &inv.home_assistant {
        let _ = writeln!(s, "  {}: recorder {}; top-level keys: {}", h[0], h[1], h[2]);
    }
    let _ = writeln!(s, "\nFindings:");
    for d in &ds {
        let _ = writeln!(s, "  {} {}[{}] {}", place(d), d.severity, d.code, d.message);
        for l in &d.labels {
            let _ = writeln!(s, "      also {}: {}", l.span, l.message);
        }
    }
    let accepted = exceptions(a);
    if !accepted.is_empty() {
        let _ = writeln!(s, "\nExceptions recorded in the repository:");
        for d in &accepted {
            let _ = writeln!(s, "  {} [{}] {}", place(d), d.code, d.message);
        }
    }
    let _ = writeln!(s, "\nProposed changes by phase:");
    for (p, items) in by_phase(&ds) {
        let _ = writeln!(s, "  Phase {p}: {}", PHASES[p as usize - 1]);
        for (rule, fix, places) in items {
            let _ = writeln!(s, "    [{rule}] {fix} ({})", places.join(", "));
        }
    }
    let _ = writeln!(s, "\nNot inspected:");
    not_inspected(a, &mut s, "  ");
    s
}

type PhaseItems<'a> = BTreeMap<u8, Vec<(&'a str, &'static str, Vec<String>)>>;

fn by_phase<'a>(ds: &[&'a Diagnostic]) -> PhaseItems<'a> {
    let mut out: PhaseItems = BTreeMap::new();
    for d in ds {
        let fix = hapl_core::rules::rule(&d.code).map_or("", |r| r.fix);
        let items = out.entry(phase_of(&d.code)).or_default();
        match items.iter_mut().find(|(r, _, _)| *r == d.code) {
            Some(item) => item.2.push(place(d)),
            None => items.push((d.code.as_str(), fix, vec![place(d)])),
        }
    }
    out
}

fn not_inspected(a: &Assessment, s: &mut String, bullet: &str) {
    for n in &a.not_inspected {
        let _ = writeln!(s, "{bullet}{}: {}", n.file, n.why);
    }
    for f in &a.unreadable {
        let _ = writeln!(s, "{bullet}{f}");
    }
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for k in &a.skipped {
        *kinds.entry(k.why.as_str()).or_default() += 1;
    }
    for (why, n) in kinds {
        let _ = writeln!(s, "{bullet}{n} object(s): {why}");
    }
    for d in &a.dropped {
        let _ = writeln!(s, "{bullet}{}:{} {}: {}", d.file, d.line, d.object, d.why);
    }
    for dir in &a.empty_dirs {
        let _ = writeln!(s, "{bullet}{dir}: empty folder");
    }
}

pub fn markdown(a: &Assessment, cx: &Context) -> String {
    let inv = inventory(a, cx);
    let ds = findings(a);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Phase 0 — Repository Assessment: {}\n",
        a.platform.name
    );
    let _ = writeln!(s, "**Status:** READ ONLY — no changes made\n");
    let _ = writeln!(s, "## Executive Summary\n");
    let _ = writeln!(
        s,
        "{} objects checked ({} rendered from local chart templates). **{} critical violations** and **{} anti-patterns** found.\n",
        a.platform.objects.len(),
        a.templates.len(),
        a.errors(),
        ds.len() - a.errors()
    );
    let _ = writeln!(
        s,
        "## Current Architecture Overview\n\n### Namespaces in Use\n"
    );
    let _ = writeln!(s, "| Namespace |\n|-----------|");
    for n in &inv.namespaces {
        let _ = writeln!(s, "| `{n}` |");
    }
    let _ = writeln!(s, "\n### HelmReleases\n\n| Release | Namespace | Chart | Version | Source | File |\n|---|---|---|---|---|---|");
    for r in &inv.releases {
        let _ = writeln!(
            s,
            "| `{}` | {} | `{}` | {} | {} | `{}` |",
            r[0], r[1], r[2], r[3], r[4], r[5]
        );
    }
    let _ = writeln!(s, "\n### StorageClasses\n\n| StorageClass | Provisioner | Reclaim Policy | Default | File |\n|---|---|---|---|---|");
    for c in &inv.classes {
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | `{}` |",
            c[0], c[1], c[2], c[3], c[4]
        );
    }
    let _ = writeln!(s, "\n### PersistentVolumeClaims\n\n| PVC | Namespace | StorageClass | Size | File |\n|---|---|---|---|---|");
    for p in &inv.pvcs {
        let _ = writeln!(
            s,
            "| `{}` | {} | `{}` | {} | `{}` |",
            p[0], p[1], p[2], p[3], p[4]
        );
    }
    let _ = writeln!(s, "\n### Home Assistant Configuration\n");
    for h in &inv.home_assistant {
        let _ = writeln!(
            s,
            "- `{}`: recorder `{}`; top-level keys: {}",
            h[0], h[1], h[2]
        );
    }
    for (title, sev, mark) in [
        ("Critical Violations (Must Fix)", Severity::Error, "🔴"),
        ("Anti-Patterns & Issues", Severity::Warning, "🟠"),
    ] {
        let _ = writeln!(s, "\n## {title}\n");
        for d in ds.iter().filter(|d| d.severity == sev) {
            let _ = writeln!(s, "### {mark} `{}`: {}\n", d.code, d.message);
            let _ = writeln!(s, "**Location:** `{}`\n", place(d));
            for l in &d.labels {
                let _ = writeln!(s, "- also `{}`: {}", l.span, l.message);
            }
            if !d.labels.is_empty() {
                let _ = writeln!(s);
            }
            if let Some(h) = d.hints.first() {
                let _ = writeln!(s, "**Fix (Phase {}):** {h}\n", phase_of(&d.code));
            }
        }
    }
    let accepted = exceptions(a);
    if !accepted.is_empty() {
        let _ = writeln!(
            s,
            "## Accepted Exceptions\n\n| Rule | Where | Decision and reason |\n|---|---|---|"
        );
        for d in &accepted {
            let _ = writeln!(s, "| `{}` | `{}` | {} |", d.code, place(d), d.message);
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "## Proposed Changes by Phase");
    for (p, items) in by_phase(&ds) {
        let _ = writeln!(
            s,
            "\n### Phase {p} — {}\n\n| Rule | Task | Files Affected |\n|---|---|---|",
            PHASES[p as usize - 1]
        );
        for (rule, fix, places) in items {
            let files: Vec<String> = places.iter().map(|p| format!("`{p}`")).collect();
            let _ = writeln!(s, "| `{rule}` | {fix} | {} |", files.join(", "));
        }
    }
    let _ = writeln!(s, "\n## What Was Not Inspected\n");
    not_inspected(a, &mut s, "- ");
    s
}

pub fn json(a: &Assessment, cx: &Context) -> Value {
    let inv = inventory(a, cx);
    let findings: Vec<Value> = findings(a)
        .iter()
        .map(|d| {
            json!({
                "rule": d.code, "severity": d.severity.to_string(), "message": d.message,
                "file": d.primary.as_ref().map(|s| s.file.clone()),
                "line": d.primary.as_ref().map(|s| s.line),
                "path": d.path, "phase": phase_of(&d.code),
                "labels": d.labels.iter().map(|l| json!({"at": l.span.to_string(), "message": l.message})).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "repo": a.platform.name,
        "critical": a.errors(),
        "inventory": {
            "namespaces": inv.namespaces,
            "helm_releases": inv.releases.iter().map(|r| json!({"name": r[0], "namespace": r[1], "chart": r[2], "version": r[3], "source": r[4], "at": r[5]})).collect::<Vec<_>>(),
            "storage_classes": inv.classes.iter().map(|c| json!({"name": c[0], "provisioner": c[1], "reclaim_policy": c[2], "default": c[3] == "yes", "at": c[4]})).collect::<Vec<_>>(),
            "pvcs": inv.pvcs.iter().map(|p| json!({"name": p[0], "namespace": p[1], "storage_class": p[2], "size": p[3], "at": p[4]})).collect::<Vec<_>>(),
            "home_assistant": inv.home_assistant.iter().map(|h| json!({"at": h[0], "recorder": h[1], "keys": h[2]})).collect::<Vec<_>>(),
        },
        "findings": findings,
        "exceptions": exceptions(a).iter().map(|d| json!({"rule": d.code, "message": d.message, "file": d.primary.as_ref().map(|s| s.file.clone()), "line": d.primary.as_ref().map(|s| s.line)})).collect::<Vec<_>>(),
        "not_inspected": a.not_inspected.iter().map(|n| json!({"file": n.file, "why": n.why})).collect::<Vec<_>>(),
        "skipped": a.skipped.iter().map(|k| json!({"file": k.file, "line": k.line, "object": k.object, "why": k.why})).collect::<Vec<_>>(),
        "dropped_fields": a.dropped.iter().map(|k| json!({"file": k.file, "line": k.line, "object": k.object, "why": k.why})).collect::<Vec<_>>(),
        "templates": a.templates,
        "empty_dirs": a.empty_dirs,
    })
}
