//! The resource budget: what the platform's pods request and may use, against the declared
//! node. `hapl check` prints it; `node-capacity` warns when it does not fit.
//!
//! Long-running workloads are summed per namespace: a pod counts `max(sum of its containers,
//! largest init container)` times its replicas (a DaemonSet once: hapl plans single-node
//! platforms). Jobs and CronJobs run to completion, apart, so only the largest one is added to
//! the total. Releases of charts whose workloads the view does not model (infrastructure charts,
//! unknown charts) are summed from every `resources` map with `requests` and `limits` in their
//! values, one replica each, and named in `from_chart_values`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{pod_path, Context, Findings, Rule, Settings};
use crate::diagnostic::Severity;
use crate::platform::{Node, Platform};
use crate::quantity::parse_quantity;
use crate::resource::Resource;
use crate::workload::{Workload, WorkloadKind};

/// Requests and limits, summed. CPU in millicores, memory in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub cpu_request: u64,
    pub cpu_limit: u64,
    pub memory_request: u64,
    pub memory_limit: u64,
    /// Pods counted (replicas included).
    pub pods: u64,
    /// Containers without some request or limit (their share is missing from the sums).
    pub incomplete: u64,
}

impl Usage {
    fn add(&mut self, o: &Usage) {
        self.cpu_request += o.cpu_request;
        self.cpu_limit += o.cpu_limit;
        self.memory_request += o.memory_request;
        self.memory_limit += o.memory_limit;
        self.pods += o.pods;
        self.incomplete += o.incomplete;
    }

    fn max(self, o: Usage) -> Usage {
        Usage {
            cpu_request: self.cpu_request.max(o.cpu_request),
            cpu_limit: self.cpu_limit.max(o.cpu_limit),
            memory_request: self.memory_request.max(o.memory_request),
            memory_limit: self.memory_limit.max(o.memory_limit),
            pods: self.pods.max(o.pods),
            incomplete: self.incomplete.max(o.incomplete),
        }
    }
}

/// What the platform asks of its node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    /// Long-running workloads per namespace.
    pub namespaces: BTreeMap<String, Usage>,
    /// The largest Job or CronJob pod, on top while it runs.
    pub largest_job: Usage,
    /// The busiest moment: everything running plus the largest job.
    pub total: Usage,
    pub node: Option<Node>,
    /// `namespace/release (chart)` of releases summed from their chart values.
    pub from_chart_values: Vec<String>,
}

impl Budget {
    /// Whether the peak requests fit the node (what the scheduler needs).
    pub fn fits(&self, node: &Node) -> bool {
        self.total.cpu_request <= node.cpu_millis && self.total.memory_request <= node.memory_bytes
    }
}

/// The budget of a platform.
pub fn budget(platform: &Platform, settings: &Settings) -> Budget {
    let cx = Context::new(platform, settings);
    of_context(&cx)
}

pub(super) fn of_context(cx: &Context) -> Budget {
    let mut namespaces: BTreeMap<String, Usage> = BTreeMap::new();
    let mut largest_job = Usage::default();
    for w in &cx.workloads.workloads {
        let u = pod_usage(w);
        if w.long_running() {
            namespaces.entry(w.namespace.clone()).or_default().add(&u);
        } else {
            largest_job = largest_job.max(u);
        }
    }
    let mut from_chart_values = Vec::new();
    let modelled: std::collections::BTreeSet<usize> =
        cx.workloads.workloads.iter().map(|w| w.object).collect();
    for (i, r) in cx.resources.iter().enumerate() {
        let Resource::HelmRelease(hr) = r else {
            continue;
        };
        if modelled.contains(&i) {
            continue;
        }
        let mut u = Usage {
            pods: 1,
            ..Usage::default()
        };
        if let Some(values) = &hr.spec.values {
            sum_values(values, &mut u);
        }
        let ns = r.namespace().unwrap_or("default");
        namespaces.entry(ns.to_owned()).or_default().add(&u);
        from_chart_values.push(format!(
            "{ns}/{} ({})",
            r.name(),
            crate::workload::charts::chart_name(hr)
        ));
    }
    from_chart_values.sort();
    let mut total = Usage::default();
    for u in namespaces.values() {
        total.add(u);
    }
    total.add(&largest_job);
    Budget {
        namespaces,
        largest_job,
        total,
        node: cx.platform.node.clone(),
        from_chart_values,
    }
}

/// Sum every `resources`-shaped map (with `requests` and `limits`) in chart values.
fn sum_values(v: &Value, out: &mut Usage) {
    match v {
        Value::Object(m) => {
            if let (Some(req), Some(lim)) = (m.get("requests"), m.get("limits")) {
                let get = |m: &Value, k: &str| match m.get(k) {
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(Value::Number(n)) => Some(n.to_string()),
                    _ => None,
                };
                out.add(&Usage {
                    cpu_request: millis(&get(req, "cpu")).unwrap_or(0),
                    cpu_limit: millis(&get(lim, "cpu")).unwrap_or(0),
                    memory_request: bytes(&get(req, "memory")).unwrap_or(0),
                    memory_limit: bytes(&get(lim, "memory")).unwrap_or(0),
                    pods: 0,
                    incomplete: 0,
                });
                return;
            }
            m.values().for_each(|c| sum_values(c, out));
        }
        Value::Array(a) => a.iter().for_each(|c| sum_values(c, out)),
        _ => {}
    }
}

fn millis(q: &Option<String>) -> Option<u64> {
    q.as_deref()
        .and_then(parse_quantity)
        .map(|c| (c * 1000.0).round() as u64)
}

fn bytes(q: &Option<String>) -> Option<u64> {
    q.as_deref().and_then(parse_quantity).map(|b| b as u64)
}

/// A workload's usage: per pod the larger of the summed app containers and the largest init
/// container (how the scheduler counts), times its replicas (a DaemonSet: one per node).
fn pod_usage(w: &Workload) -> Usage {
    let mut app = [0u64; 4];
    let mut init = [0u64; 4];
    let mut incomplete = 0;
    for c in &w.containers {
        let r = &c.resources;
        let values = [
            millis(&r.cpu_request),
            millis(&r.cpu_limit),
            bytes(&r.memory_request),
            bytes(&r.memory_limit),
        ];
        if values.iter().any(Option::is_none) {
            incomplete += 1;
        }
        for (k, v) in values.into_iter().enumerate() {
            let v = v.unwrap_or(0);
            if c.init {
                init[k] = init[k].max(v);
            } else {
                app[k] += v;
            }
        }
    }
    let replicas = match w.kind {
        WorkloadKind::DaemonSet => 1,
        _ => w.replicas.max(0) as u64,
    };
    let per = |k: usize| app[k].max(init[k]) * replicas;
    Usage {
        cpu_request: per(0),
        cpu_limit: per(1),
        memory_request: per(2),
        memory_limit: per(3),
        pods: replicas,
        incomplete,
    }
}

pub(super) static NODE_CAPACITY: Rule = Rule {
    id: "node-capacity",
    severity: Severity::Warning,
    summary: "The summed requests fit the declared node, and the memory limits do too.",
    explanation: "Kubernetes schedules by requests: when they add up to more than the node \
        has, the last pods stay Pending, and after a reboot it is chance which ones. Memory \
        limits above the node's memory mean that under load the kernel's OOM killer, not the \
        limits, decides what dies, and on a Raspberry Pi with 8 GiB that is usually the \
        database. `hapl check` prints the budget per namespace; this rule warns when it does \
        not fit the node declared in `platform(..., #{ node })`.",
    fix: "lower requests and limits (Loki's caches and Prometheus are the usual culprits), \
        drop components, or declare the node you really have",
    check: node_capacity,
};

/// Without a declared node (a repository read as it is), the budget needs every workload on a
/// named node: one written out without a node selector, next to ones that have it, cannot be
/// counted against a node.
fn unplaced(cx: &Context, f: &mut Findings) {
    let written =
        |w: &&Workload| w.chart.is_none() && w.kind != WorkloadKind::DaemonSet && w.long_running();
    if !cx
        .workloads
        .workloads
        .iter()
        .filter(written)
        .any(|w| w.pinned_to_node)
    {
        return;
    }
    let pinned: Vec<&Workload> = cx
        .workloads
        .workloads
        .iter()
        .filter(written)
        .filter(|w| w.pinned_to_node)
        .collect();
    if pinned.is_empty() {
        return;
    }
    for w in cx.workloads.workloads.iter().filter(written) {
        if !w.pinned_to_node {
            let finding = f.at(
                w.object,
                format!(
                    "{} names no node (no nodeSelector), unlike the other workloads: the node budget cannot place it",
                    w.describe()
                ),
                "made here",
            );
            for p in &pinned {
                finding.related_field(
                    p.object,
                    pod_path(cx, p).map(|s| format!("{s}.nodeSelector")),
                    format!("{} names its node here", p.describe()),
                );
            }
        }
    }
}

fn node_capacity(cx: &Context, f: &mut Findings) {
    let Some(node) = &cx.platform.node else {
        unplaced(cx, f);
        return;
    };
    let b = of_context(cx);
    let t = b.total;
    let gi = |b: u64| format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64);
    let cores = |m: u64| format!("{:.2} CPUs", m as f64 / 1000.0);
    let checks = [
        (
            t.cpu_request > node.cpu_millis,
            "CPU requests",
            cores(t.cpu_request),
            cores(node.cpu_millis),
        ),
        (
            t.memory_request > node.memory_bytes,
            "memory requests",
            gi(t.memory_request),
            gi(node.memory_bytes),
        ),
        (
            t.memory_limit > node.memory_bytes,
            "memory limits",
            gi(t.memory_limit),
            gi(node.memory_bytes),
        ),
    ];
    for (over, what, sum, has) in checks {
        if over {
            f.platform(format!(
                "the workloads' {what} add up to {sum}, more than node `{}` has ({has})",
                node.name
            ));
        }
    }
}
