//! The rule catalogue: the seed's Critical Rules and anti-patterns, as data.
//!
//! Every rule is a [`Rule`]: a stable kebab-case id, a default severity, a one-paragraph
//! explanation of the risk, a fix hint, and a check. The text here is the one place `hapl
//! explain` (and the book) read. Rules look at a [`Platform`]: objects with origins, the
//! declared node and NAS, and the script's waivers. Objects read from a repository are checked
//! the same way; their origin is a file:line span.
//!
//! Every violation is reported, each at the origin of the object that made it.

mod budget;
mod config;
mod context;
mod home_assistant;
mod hygiene;
mod renovate;
mod storage;
mod zigbee;

use std::fmt::Write as _;

pub use budget::{budget, Budget, Usage};
pub use config::{parse_duration_hours, Date};
pub use context::Context;
pub use hygiene::{secret_key, url_with_password};

use crate::diagnostic::{Diagnostic, Severity, Span};
use crate::platform::{ObjectRef, Platform, WaiverScope};
use crate::resource::Resource;
use crate::workload::charts::{chart_name, Values};
use crate::workload::{ContainerView, Workload};

/// A rule of the catalogue.
pub struct Rule {
    /// Stable kebab-case id, used in diagnostics, `hapl explain` and waivers.
    pub id: &'static str,
    pub severity: Severity,
    /// One line: what the rule demands.
    pub summary: &'static str,
    /// One paragraph: the risk the rule guards against.
    pub explanation: &'static str,
    /// What to do about a finding.
    pub fix: &'static str,
    check: fn(&Context, &mut Findings),
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rule").field("id", &self.id).finish()
    }
}

/// Every rule, errors first, then warnings, each group sorted by id.
static CATALOGUE: &[&Rule] = &[
    &storage::BACKUP_COVERAGE,
    &storage::DATA_CONTINUITY,
    &storage::INFLUX_RETENTION,
    &home_assistant::MATTER_ISOLATED,
    &storage::NAS_BACKED_STATE,
    &hygiene::NO_PLAINTEXT_SECRETS,
    &home_assistant::NO_SQLITE_RECORDER,
    &home_assistant::NO_SUPERVISOR,
    &hygiene::PINNED_VERSIONS,
    &storage::POWER_LOSS_SAFE,
    &home_assistant::RECORDER_ON_POSTGRES,
    &hygiene::RESOURCES_REQUIRED,
    &storage::RESTART_SAFE,
    &storage::SINGLE_DEFAULT_STORAGECLASS,
    &zigbee::USB_SINGLE_POD,
    &zigbee::ZIGBEE_VIA_MQTT,
    &hygiene::EOL_COMPONENT,
    &hygiene::HARDCODED_NAMESPACE,
    &hygiene::HOST_NETWORK,
    &hygiene::HOST_PORT_COLLISION,
    &budget::NODE_CAPACITY,
    &hygiene::PRIVILEGED,
    &home_assistant::PROXY_TRUST,
    &home_assistant::RECORDER_RETENTION,
    &renovate::RENOVATE_PIN,
    &storage::STORAGE_CAPACITY,
    &hygiene::UNKNOWN_CHART,
];

/// Every rule with its documentation, in catalogue order.
pub fn catalogue() -> &'static [&'static Rule] {
    CATALOGUE
}

/// The rule with this id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    CATALOGUE.iter().copied().find(|r| r.id == id)
}

/// The ids of every rule, in catalogue order.
pub fn ids() -> Vec<String> {
    CATALOGUE.iter().map(|r| r.id.to_owned()).collect()
}

/// The documentation of a rule as `hapl explain` prints it (and the book renders it).
pub fn explain(rule: &Rule) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{} ({})", rule.id, rule.severity);
    let _ = writeln!(s);
    let _ = writeln!(s, "{}", rule.summary);
    let _ = writeln!(s);
    let _ = writeln!(s, "{}", wrap(rule.explanation, 96));
    let _ = writeln!(s);
    let _ = writeln!(s, "{}", wrap(&format!("Fix: {}", rule.fix), 96));
    s
}

fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = 0;
    for word in text.split_whitespace() {
        if line > 0 && line + 1 + word.len() > width {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += word.len();
    }
    out
}

/// What rules need besides the platform.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Today's date, for end-of-life dates.
    pub today: Date,
}

/// One violation, before waivers apply.
#[derive(Debug, Clone)]
pub(crate) struct Finding {
    rule: &'static Rule,
    /// The platform object that made the problem (its origin is where the finding points).
    object: Option<usize>,
    message: String,
    label: String,
    /// Secondary places (other objects involved).
    related: Vec<(usize, String, Option<String>)>,
    /// A sub-kind some waivers select (`cpu-limit` for `resources-required`).
    tag: Option<&'static str>,
    /// The offending field inside the object (see [`Diagnostic::path`]).
    path: Option<String>,
}

/// The findings of one rule.
pub(crate) struct Findings {
    rule: &'static Rule,
    out: Vec<Finding>,
}

impl Findings {
    /// A finding at object `object` (an index into the platform's objects).
    pub(crate) fn at(
        &mut self,
        object: usize,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> &mut Finding {
        self.push(Some(object), message, label)
    }

    /// A finding about the platform as a whole (at the `platform(...)` call).
    pub(crate) fn platform(&mut self, message: impl Into<String>) -> &mut Finding {
        self.push(None, message, "declared here")
    }

    fn push(
        &mut self,
        object: Option<usize>,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> &mut Finding {
        self.out.push(Finding {
            rule: self.rule,
            object,
            message: message.into(),
            label: label.into(),
            related: Vec::new(),
            tag: None,
            path: None,
        });
        self.out.last_mut().expect("just pushed")
    }
}

impl Finding {
    pub(crate) fn related(&mut self, object: usize, label: impl Into<String>) -> &mut Self {
        self.related.push((object, label.into(), None));
        self
    }

    /// A secondary place: a field of another object.
    pub(crate) fn related_field(
        &mut self,
        object: usize,
        path: Option<String>,
        label: impl Into<String>,
    ) -> &mut Self {
        self.related.push((object, label.into(), path));
        self
    }

    pub(crate) fn tag(&mut self, tag: &'static str) -> &mut Self {
        self.tag = Some(tag);
        self
    }

    /// Names the offending field (see [`Diagnostic::path`]).
    pub(crate) fn path(&mut self, path: impl Into<Option<String>>) -> &mut Self {
        self.path = path.into();
        self
    }
}

/// Runs every rule over the platform and applies the script's waivers. Returns every finding
/// (errors, warnings, and a note for every waiver that took effect, with its reason), in a
/// stable order.
pub fn check(platform: &Platform, settings: &Settings) -> Vec<Diagnostic> {
    check_with_budget(platform, settings).0
}

/// [`check`] and [`budget`] from one look at the platform (what `hapl check` prints).
pub fn check_with_budget(platform: &Platform, settings: &Settings) -> (Vec<Diagnostic>, Budget) {
    let cx = Context::new(platform, settings);
    (run(&cx), budget::of_context(&cx))
}

fn run(cx: &Context) -> Vec<Diagnostic> {
    let mut findings = Vec::new();
    for rule in CATALOGUE {
        let mut f = Findings {
            rule,
            out: Vec::new(),
        };
        (rule.check)(cx, &mut f);
        findings.extend(f.out);
    }
    apply_waivers(cx, findings)
}

fn span_of(cx: &Context, object: Option<usize>) -> Option<Span> {
    match object {
        Some(i) => Some(cx.platform.objects[i].origin.site.clone()),
        None => cx.platform.origin.as_ref().map(|o| o.site.clone()),
    }
}

fn to_diagnostic(cx: &Context, f: &Finding, severity: Severity) -> Diagnostic {
    let mut d = Diagnostic::new(severity, f.rule.id, &f.message);
    d.path = f.path.clone();
    if let Some(span) = span_of(cx, f.object) {
        d = d.at(span, &f.label);
    }
    let origin = match f.object {
        Some(i) => Some(&cx.platform.objects[i].origin),
        None => cx.platform.origin.as_ref(),
    };
    if let Some(origin) = origin {
        d = d.with_trace(origin.frames.clone());
    }
    for (i, label, path) in &f.related {
        if Some(*i) != f.object {
            d = d.label(cx.platform.objects[*i].origin.site.clone(), label);
            if let Some(l) = d.labels.last_mut() {
                l.path = path.clone();
            }
        }
    }
    d.hint(f.rule.fix)
}

fn apply_waivers(cx: &Context, findings: Vec<Finding>) -> Vec<Diagnostic> {
    let platform = cx.platform;
    // The script's waivers, then those recorded on objects in the repository.
    let mut waivers = platform.waivers.clone();
    waivers.extend(platform.repo_waivers());
    let refs: Vec<ObjectRef> = platform
        .objects
        .iter()
        .map(|o| ObjectRef::of(&o.resource))
        .collect();
    let mut out = Vec::new();
    // Waivers naming objects that do not exist are errors at the waiver's line.
    let known: Vec<String> = refs.iter().map(ToString::to_string).collect();
    for w in &waivers {
        let target = match &w.scope {
            WaiverScope::Except(r) | WaiverScope::NoCpuLimit(Some(r)) => r,
            _ => continue,
        };
        if !refs.contains(target) {
            let wanted = target.to_string();
            let hint = match closest(&wanted, &known) {
                Some(k) => format!("did you mean `{k}`? objects are named `Kind/namespace/name`"),
                None => "objects are named `Kind/namespace/name` (or `Kind/name` for cluster-wide kinds), e.g. `Deployment/homeassistant/home-assistant`".into(),
            };
            out.push(
                Diagnostic::error(
                    "unknown-object",
                    format!(
                        "the platform has no object `{wanted}` to except from `{}`",
                        w.rule
                    ),
                )
                .at(w.origin.site.clone(), "named here")
                .with_trace(w.origin.frames.clone())
                .hint(hint),
            );
        }
    }
    let mut used = vec![0usize; waivers.len()];
    for f in &findings {
        let target = f.object.map(|i| &refs[i]);
        let mut severity = Some(f.rule.severity);
        let mut relaxed_by = None;
        for (wi, w) in waivers.iter().enumerate() {
            if w.rule != f.rule.id {
                continue;
            }
            let applies = match &w.scope {
                WaiverScope::Except(r) => target == Some(r),
                WaiverScope::NoCpuLimit(r) => {
                    f.tag == Some("cpu-limit") && r.as_ref().is_none_or(|r| target == Some(r))
                }
                WaiverScope::Relax(_) => true,
            };
            if !applies {
                continue;
            }
            used[wi] += 1;
            match &w.scope {
                WaiverScope::Relax(to) => {
                    severity = *to;
                    relaxed_by = Some(w);
                }
                _ => {
                    severity = None;
                    break;
                }
            }
        }
        if let Some(severity) = severity {
            let mut d = to_diagnostic(cx, f, severity);
            if let Some(w) = relaxed_by {
                d = d.label(
                    w.origin.site.clone(),
                    format!("relaxed to {severity} here: {}", w.reason),
                );
            }
            out.push(d);
        }
    }
    for (w, n) in waivers.iter().zip(used) {
        let what = match &w.scope {
            WaiverScope::Except(r) => format!("`{}` does not apply to {r}", w.rule),
            WaiverScope::Relax(Some(s)) => format!("`{}` is relaxed to a {s}", w.rule),
            WaiverScope::Relax(None) => format!("`{}` is off", w.rule),
            WaiverScope::NoCpuLimit(Some(r)) => format!("{r} may run without CPU limits"),
            WaiverScope::NoCpuLimit(None) => "containers may run without CPU limits".into(),
        };
        let d = if n > 0 {
            let hidden = match &w.scope {
                WaiverScope::Relax(Some(_)) => String::new(),
                _ => format!(" ({} hidden)", plural(n, "finding")),
            };
            Diagnostic::new(
                Severity::Note,
                w.rule.as_str(),
                format!("{what}{hidden}: {}", w.reason),
            )
            .at(w.origin.site.clone(), "waived here")
        } else if matches!(&w.scope, WaiverScope::Except(r) | WaiverScope::NoCpuLimit(Some(r)) if !refs.contains(r))
        {
            continue;
        } else {
            let place = match &w.scope {
                WaiverScope::Except(r) | WaiverScope::NoCpuLimit(Some(r)) => format!(" on {r}"),
                _ => String::new(),
            };
            Diagnostic::warning(
                "unused-waiver",
                format!(
                    "this waiver is not needed: `{}` finds nothing{place} to waive",
                    w.rule
                ),
            )
            .at(w.origin.site.clone(), "not needed")
            .hint("remove this line, so a later violation is reported again")
        };
        out.push(d.with_trace(w.origin.frames.clone()));
    }
    out.sort_by(|a, b| {
        (a.severity, &a.primary, &a.code, &a.message)
            .cmp(&(b.severity, &b.primary, &b.code, &b.message))
    });
    out
}

/// Where a workload's pod spec sits in its object, for workloads written out as objects (not
/// made by a chart).
pub(crate) fn pod_path(cx: &Context, w: &Workload) -> Option<&'static str> {
    if w.chart.is_some() {
        return None;
    }
    match cx.resources[w.object] {
        Resource::CronJob(_) => Some("spec.jobTemplate.spec.template.spec"),
        Resource::Deployment(_)
        | Resource::StatefulSet(_)
        | Resource::DaemonSet(_)
        | Resource::Job(_) => Some("spec.template.spec"),
        _ => None,
    }
}

/// The path of a container (and a field under it: `""` for the container itself).
pub(crate) fn container_path(
    cx: &Context,
    w: &Workload,
    c: &ContainerView,
    field: &str,
) -> Option<String> {
    let list = if c.init {
        "initContainers"
    } else {
        "containers"
    };
    let dot = if field.is_empty() { "" } else { "." };
    pod_path(cx, w).map(|p| format!("{p}.{list}[name={}]{dot}{field}", c.name))
}

/// The values of every release of `chart`, with the release's object index.
pub(crate) fn charts_values<'a>(cx: &Context<'a>, chart: &str) -> Vec<(usize, Values<'a>)> {
    charts_values_of(&cx.resources, chart)
}

pub(crate) fn charts_values_of<'a>(
    resources: &[&'a Resource],
    chart: &str,
) -> Vec<(usize, Values<'a>)> {
    static NULL: serde_json::Value = serde_json::Value::Null;
    resources
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match r {
            Resource::HelmRelease(hr) if chart_name(hr) == chart => {
                Some((i, Values(hr.spec.values.as_ref().unwrap_or(&NULL))))
            }
            _ => None,
        })
        .collect()
}

pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The known word nearest to `word` by edit distance, if it is close enough to be a typo.
pub fn closest<'a>(word: &str, known: &'a [String]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(word, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min()
        .map(|(_, k)| k.as_str())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_has_unique_kebab_case_ids_and_full_docs() {
        let mut seen = std::collections::BTreeSet::new();
        for r in catalogue() {
            assert!(seen.insert(r.id), "{} twice", r.id);
            assert!(
                r.id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{}",
                r.id
            );
            assert!(
                !r.summary.is_empty() && r.explanation.len() > 150,
                "{}",
                r.id
            );
            assert!(!r.fix.is_empty(), "{}", r.id);
            assert!(explain(r).contains(r.explanation.split_whitespace().next().unwrap()));
        }
        // Errors first, then warnings, each sorted.
        let keys: Vec<_> = catalogue().iter().map(|r| (r.severity, r.id)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn objects_read_from_a_repository_are_reported_at_their_file_and_line() {
        use crate::{Origin, PlatformObject, Resource};
        let yaml = r#"
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: influxdb, namespace: data-storage}
spec:
  interval: 1h
  chart: {spec: {chart: influxdb2, version: 2.1.2, sourceRef: {kind: HelmRepository, name: influxdata}}}
  values:
    image: {tag: 2.7.12}
    adminUser: {retention_policy: 30d}
"#;
        let value: serde_json::Value = serde_yaml::from_str(yaml).unwrap();
        let mut platform = Platform::new("adopted", "microk8s");
        platform.objects.push(PlatformObject {
            resource: Resource::from_value(value).unwrap(),
            origin: Origin::new(Span::new(
                "clusters/microk8s/databases/influxdb/helmrelease.yaml",
                2,
                1,
            )),
            component: "influxdb".into(),
            path: None,
            layer: None,
            phase: None,
            reason: None,
        });
        let settings = Settings {
            today: Date::new(2026, 6, 1),
        };
        let found = check(&platform, &settings);
        let retention = found
            .iter()
            .find(|d| d.code == "influx-retention")
            .expect("30d is flagged");
        assert_eq!(
            retention.primary.as_ref().unwrap().to_string(),
            "clusters/microk8s/databases/influxdb/helmrelease.yaml:2:1"
        );
        assert!(retention.message.contains("`30d`"), "{}", retention.message);
        // Every violation of the release is reported, not only the first.
        let codes: std::collections::BTreeSet<&str> =
            found.iter().map(|d| d.code.as_str()).collect();
        assert!(codes.contains("resources-required"), "{codes:?}");
        assert!(codes.contains("nas-backed-state"), "{codes:?}");
    }

    #[test]
    fn closest_suggests_a_typo_fix() {
        assert_eq!(closest("privilegd", &ids()), Some("privileged"));
        assert_eq!(closest("zzz", &ids()), None);
    }
}
