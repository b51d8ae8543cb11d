//! The rule catalogue against fixtures: for every rule, `tests/fixtures/rules/<id>.rhai` breaks
//! it and `<id>.ok.rhai` does not. Expected diagnostics are annotated inline:
//!
//! ```text
//! p.add(deployment(...)); // expect: warning[privileged] @ 12:3-6
//! p.add(...); // expect: error[a] @ 20:3-6 // expect: note[b] @ 20:3-6 ~ relaxed
//! ```
//!
//! Annotations sit at the end of the line they point at (several may share a line).
//! `severity[code] @ line:start-end` names the diagnostic's primary span (columns 1-based, end
//! exclusive, the highlighted token); `~ text` also requires `text` in the message. A fixture
//! is checked exactly for its rule and for every code its annotations name: each such
//! diagnostic must be annotated, and each annotation must be met. A passing counterpart has no
//! diagnostic of its rule at all.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use hapl_core::rules::{self, Date, Settings};
use hapl_core::{Diagnostic, Severity};
use hapl_script::{evaluate_file, Options};

use crate::support::{hapl, root, stderr, stdout};

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/rules")
}

/// A fixed date, so end-of-life findings do not change with the calendar.
fn settings() -> Settings {
    Settings {
        today: Date::new(2026, 6, 1),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Expect {
    severity: String,
    code: String,
    line: u32,
    start: u32,
    end: u32,
}

/// Annotations, each with its optional message text.
fn expectations(text: &str, file: &Path) -> Vec<(Expect, Option<String>)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for spec in line.split("// expect:").skip(1).map(str::trim) {
            let bad = format!("{}:{}: cannot read `{spec}`", file.display(), n + 1);
            let (head, message) = match spec.split_once(" ~ ") {
                Some((h, m)) => (h.trim(), Some(m.trim().to_owned())),
                None => (spec, None),
            };
            let (diag, at) = head.split_once(" @ ").expect(&bad);
            let (severity, code) = diag.trim_end_matches(']').split_once('[').expect(&bad);
            let (line_no, cols) = at.split_once(':').expect(&bad);
            let (start, end) = cols.split_once('-').expect(&bad);
            let num = |s: &str| s.trim().parse::<u32>().expect(&bad);
            out.push((
                Expect {
                    severity: severity.to_owned(),
                    code: code.to_owned(),
                    line: num(line_no),
                    start: num(start),
                    end: num(end),
                },
                message,
            ));
        }
    }
    out
}

/// The end column of the token at a span, as the renderer highlights it.
fn token_end(text: &str, line: u32, column: u32, len: u32) -> u32 {
    if len > 0 {
        return column + len;
    }
    let l = text
        .lines()
        .nth(line.saturating_sub(1) as usize)
        .unwrap_or("");
    let word = l
        .chars()
        .skip(column.saturating_sub(1) as usize)
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
        .count()
        .max(1);
    column + word as u32
}

/// Everything `hapl check` reports for a fixture: evaluation diagnostics, or the rules'.
fn diagnostics(path: &Path) -> (Vec<Diagnostic>, String) {
    let text = std::fs::read_to_string(path).unwrap();
    let options = Options {
        lib_dir: None,
        ..Options::default()
    };
    match evaluate_file(path, &options) {
        Ok(e) => {
            let mut d = e.diagnostics;
            d.extend(rules::check(&e.platform, &settings()));
            (d, text)
        }
        Err(f) => (f.diagnostics, text),
    }
}

fn describe(d: &Diagnostic, text: &str) -> Expect {
    let span = d.primary.as_ref().expect("rule diagnostics have a place");
    Expect {
        severity: d.severity.to_string(),
        code: d.code.clone(),
        line: span.line,
        start: span.column,
        end: token_end(text, span.line, span.column, span.len),
    }
}

fn fmt(e: &Expect) -> String {
    format!(
        "// expect: {}[{}] @ {}:{}-{}",
        e.severity, e.code, e.line, e.start, e.end
    )
}

/// Checks one failing fixture; returns a list of problems (empty when it matches).
fn check_fixture(path: &Path, rule: Option<&str>) -> Vec<String> {
    let (diags, text) = diagnostics(path);
    let expected = expectations(&text, path);
    let mut codes: BTreeSet<String> = expected.iter().map(|(e, _)| e.code.clone()).collect();
    codes.extend(rule.map(str::to_owned));
    let mut problems = Vec::new();
    let mut actual: Vec<(Expect, &Diagnostic)> = diags
        .iter()
        .filter(|d| codes.contains(&d.code))
        .map(|d| (describe(d, &text), d))
        .collect();
    for (e, message) in &expected {
        match actual.iter().position(|(a, d)| {
            a == e
                && message
                    .as_ref()
                    .is_none_or(|m| d.message.contains(m.as_str()))
        }) {
            Some(i) => {
                actual.remove(i);
            }
            None => problems.push(format!("missing: {}", fmt(e))),
        }
    }
    for (a, d) in actual {
        problems.push(format!("unexpected: {}  ({})", fmt(&a), d.message));
    }
    if rule.is_some() && expected.is_empty() {
        problems.push("no `// expect:` annotation".into());
    }
    problems
}

#[test]
fn every_rule_has_a_failing_and_a_passing_fixture_that_behave() {
    let mut problems = Vec::new();
    for rule in rules::catalogue() {
        let fail = fixtures().join(format!("{}.rhai", rule.id));
        let pass = fixtures().join(format!("{}.ok.rhai", rule.id));
        for f in [&fail, &pass] {
            if !f.is_file() {
                problems.push(format!("{} is missing", f.display()));
            }
        }
        if !fail.is_file() || !pass.is_file() {
            continue;
        }
        for p in check_fixture(&fail, Some(rule.id)) {
            problems.push(format!("{}.rhai: {p}", rule.id));
        }
        let (diags, _) = diagnostics(&pass);
        let evaluated = diags
            .iter()
            .all(|d| !d.is_error() || rules::rule(&d.code).is_some());
        for d in diags.iter().filter(|d| d.code == rule.id || !evaluated) {
            problems.push(format!("{}.ok.rhai reports: {d}", rule.id));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn every_other_fixture_matches_its_annotations() {
    let ids: BTreeSet<String> = rules::ids().into_iter().collect();
    let mut problems = Vec::new();
    let mut checked = 0;
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".rhai") else {
            continue;
        };
        if ids.contains(stem) || stem.ends_with(".ok") {
            continue;
        }
        checked += 1;
        for p in check_fixture(&path, None) {
            problems.push(format!("{name}: {p}"));
        }
    }
    assert!(checked >= 5, "only {checked} extra fixtures");
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn a_script_that_breaks_six_rules_gets_six_diagnostics_in_one_run() {
    let (diags, _) = diagnostics(&fixtures().join("six_rules.rhai"));
    let codes: BTreeSet<&str> = diags
        .iter()
        .filter(|d| d.severity != Severity::Note)
        .map(|d| d.code.as_str())
        .collect();
    assert_eq!(codes.len(), 6, "{codes:?}");
    let out = hapl(&fixtures(), &["--script", "six_rules.rhai", "check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    for code in &codes {
        assert!(
            err.contains(&format!("[{code}]")),
            "{code} missing from\n{err}"
        );
    }
    assert!(stdout(&out).contains("6 errors"), "{}", stdout(&out));
}

#[test]
fn waivers_print_their_reasons_in_check() {
    let out = hapl(&fixtures(), &["--script", "waivers.rhai", "check"]);
    let err = stderr(&out);
    for reason in [
        "the NUT driver needs raw USB access",
        "mDNS discovery of Chromecasts",
        "CPU throttling slows the Z-Wave network heal",
    ] {
        assert!(err.contains(reason), "{reason} missing from\n{err}");
    }
    assert_eq!(out.status.code(), Some(0), "{err}");
}

#[test]
fn a_platform_of_the_seed_shape_that_follows_the_rules_gets_no_finding() {
    let (diags, _) = diagnostics(&fixtures().join("clean_platform.rhai"));
    assert!(
        diags.is_empty(),
        "{}",
        diags
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn check_prints_the_budget_per_namespace_against_the_node() {
    let out = hapl(&fixtures(), &["--script", "clean_platform.rhai", "check"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let row = |name: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no `{name}` row in\n{text}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    // Six services (10m / 100m / 32Mi / 64Mi each), the largest of the eight backup and
    // restore-test CronJobs once (they run to completion, one at a time), and the NFS driver
    // summed from its chart values.
    assert_eq!(
        row("total"),
        ["total", "8", "115m", "1350m", "368Mi", "1152Mi"]
    );
    assert_eq!(
        row("homeassistant"),
        ["homeassistant", "1", "10m", "100m", "32Mi", "64Mi"]
    );
    assert_eq!(
        row("largest job"),
        ["largest", "job", "1", "10m", "100m", "32Mi", "64Mi"]
    );
    assert_eq!(
        row("share of node"),
        ["share", "of", "node", "3%", "34%", "5%", "15%"]
    );
}

#[test]
fn the_top_level_platform_passes_every_rule() {
    let (diags, _) = diagnostics(&root().join("examples/seed-platform/platform.rhai"));
    assert!(
        diags.is_empty(),
        "{}",
        diags
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    let out = hapl(
        &root(),
        &["--script", "examples/seed-platform/platform.rhai", "check"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("0 errors, 0 warnings"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("resource budget"), "{}", stdout(&out));
}

#[test]
fn explain_prints_a_rule_and_lists_them_all() {
    let out = hapl(&root(), &["explain", "no-sqlite-recorder"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.starts_with("no-sqlite-recorder (error)"), "{text}");
    assert!(text.contains("Fix: "), "{text}");
    let out = hapl(&root(), &["explain", "--list"]);
    let list = stdout(&out);
    assert_eq!(list.lines().count(), rules::catalogue().len());
    let out = hapl(&root(), &["explain", "no-sqlite-recoder"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("did you mean `no-sqlite-recorder`?"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_waiver_for_an_unknown_rule_suggests_the_closest_id() {
    let out = hapl(
        &fixtures(),
        &["--script", "waiver_unknown_rule.rhai", "check"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("did you mean `privileged`?"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_finding_on_an_object_made_in_the_stdlib_points_at_the_users_call_with_the_module_trace() {
    let out = hapl(&fixtures(), &["--script", "unknown-chart.rhai", "check"]);
    insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("a_rule_finding_in_a_stdlib_call", stderr(&out));
    });
}
