//! The resource budget: summed requests and limits of every workload against the declared node.

use std::collections::BTreeMap;

use super::{Context, Findings, Rule, Settings};
use crate::diagnostic::Severity;
use crate::platform::{Node, Platform};
use crate::quantity::parse_quantity;
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
}

/// What the platform asks of its node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    pub namespaces: BTreeMap<String, Usage>,
    pub total: Usage,
    pub node: Option<Node>,
    /// Releases whose workloads hapl could not see (not counted).
    pub uninspected: Vec<String>,
    /// Releases of infrastructure charts configured by their module (not counted).
    pub infrastructure: Vec<String>,
}

/// The budget of a platform.
pub fn budget(platform: &Platform, settings: &Settings) -> Budget {
    let cx = Context::new(platform, settings);
    of_context(&cx)
}

pub(super) fn of_context(cx: &Context) -> Budget {
    let mut namespaces: BTreeMap<String, Usage> = BTreeMap::new();
    let mut total = Usage::default();
    for w in &cx.workloads.workloads {
        let u = pod_usage(w);
        namespaces.entry(w.namespace.clone()).or_default().add(&u);
        total.add(&u);
    }
    Budget {
        namespaces,
        total,
        node: cx.platform.node.clone(),
        uninspected: cx
            .workloads
            .uninspected
            .iter()
            .map(|u| release(cx, u.object))
            .collect(),
        infrastructure: cx
            .workloads
            .infrastructure
            .iter()
            .map(|i| release(cx, *i))
            .collect(),
    }
}

/// `namespace/name (chart)` of a release.
fn release(cx: &Context, object: usize) -> String {
    let r = cx.resources[object];
    let chart = match r {
        crate::resource::Resource::HelmRelease(hr) => crate::workload::charts::chart_name(hr),
        _ => String::new(),
    };
    format!(
        "{}/{} ({chart})",
        r.namespace().unwrap_or("default"),
        r.name()
    )
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

fn node_capacity(cx: &Context, f: &mut Findings) {
    let Some(node) = &cx.platform.node else {
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
