//! The resource budget: what the platform's pods request and may use, against the declared
//! node. `hapl check` prints it; a platform whose requests do not fit the node is an error.
//!
//! Long-running workloads (Deployments, StatefulSets, DaemonSets, and app-template controllers
//! of those kinds) are summed; a pod counts `max(sum of its containers, largest init
//! container)` times its replicas (a DaemonSet once: hapl plans single-node platforms). Jobs
//! and CronJobs run to completion and are scheduled apart, so only the largest one is added.
//! Charts other than app-template are summed from every `resources` map with `requests` and
//! `limits` in their values (one replica each), and named in `from_chart_values`.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::platform::{Node, Platform};
use crate::quantity::parse_quantity;
use crate::resource::Resource;
use crate::workload::{chart_name, workloads, Workload, APP_TEMPLATE};

/// CPU in millicores and memory in bytes, requested and limited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Amounts {
    pub cpu_request_millis: u64,
    pub memory_request_bytes: u64,
    pub cpu_limit_millis: u64,
    pub memory_limit_bytes: u64,
}

impl Amounts {
    fn add(&mut self, other: Amounts) {
        self.cpu_request_millis += other.cpu_request_millis;
        self.memory_request_bytes += other.memory_request_bytes;
        self.cpu_limit_millis += other.cpu_limit_millis;
        self.memory_limit_bytes += other.memory_limit_bytes;
    }

    fn max(self, other: Amounts) -> Amounts {
        Amounts {
            cpu_request_millis: self.cpu_request_millis.max(other.cpu_request_millis),
            memory_request_bytes: self.memory_request_bytes.max(other.memory_request_bytes),
            cpu_limit_millis: self.cpu_limit_millis.max(other.cpu_limit_millis),
            memory_limit_bytes: self.memory_limit_bytes.max(other.memory_limit_bytes),
        }
    }

    fn times(self, n: u64) -> Amounts {
        Amounts {
            cpu_request_millis: self.cpu_request_millis * n,
            memory_request_bytes: self.memory_request_bytes * n,
            cpu_limit_millis: self.cpu_limit_millis * n,
            memory_limit_bytes: self.memory_limit_bytes * n,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    /// Everything that runs all the time.
    pub running: Amounts,
    /// The largest Job or CronJob pod, added on top while it runs.
    pub largest_job: Amounts,
    /// `namespace/workload/container` of containers missing a request or a limit: the totals
    /// are low by what they use.
    pub incomplete: Vec<String>,
    /// `namespace/release (chart)` of releases summed from their chart values.
    pub from_chart_values: Vec<String>,
}

impl Budget {
    /// Requests and limits at the busiest moment: everything running plus the largest job.
    pub fn peak(&self) -> Amounts {
        let mut peak = self.running;
        peak.add(self.largest_job);
        peak
    }

    /// Whether the peak requests fit the node (what the scheduler needs).
    pub fn fits(&self, node: &Node) -> bool {
        let peak = self.peak();
        peak.cpu_request_millis <= node.cpu_millis && peak.memory_request_bytes <= node.memory_bytes
    }
}

fn cpu_millis(q: Option<&str>) -> u64 {
    q.and_then(parse_quantity)
        .map_or(0, |c| (c * 1000.0).round() as u64)
}

fn bytes(q: Option<&str>) -> u64 {
    q.and_then(parse_quantity).map_or(0, |b| b.round() as u64)
}

fn value_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Sum every `resources`-shaped map (`requests` and `limits`) in chart values.
fn sum_values(v: &Value, out: &mut Amounts) {
    match v {
        Value::Object(m) => {
            if let (Some(req), Some(lim)) = (m.get("requests"), m.get("limits")) {
                let get = |m: &Value, k: &str| m.get(k).and_then(value_str);
                out.add(Amounts {
                    cpu_request_millis: cpu_millis(get(req, "cpu").as_deref()),
                    memory_request_bytes: bytes(get(req, "memory").as_deref()),
                    cpu_limit_millis: cpu_millis(get(lim, "cpu").as_deref()),
                    memory_limit_bytes: bytes(get(lim, "memory").as_deref()),
                });
                return;
            }
            m.values().for_each(|c| sum_values(c, out));
        }
        Value::Array(a) => a.iter().for_each(|c| sum_values(c, out)),
        _ => {}
    }
}

/// One pod of a workload: its containers summed, or its largest init container if larger.
fn pod_amounts(w: &Workload, incomplete: &mut Vec<String>) -> Amounts {
    let mut main = Amounts::default();
    let mut init = Amounts::default();
    for c in &w.containers {
        let r = &c.resources;
        if r.cpu_request.is_none()
            || r.memory_request.is_none()
            || r.cpu_limit.is_none()
            || r.memory_limit.is_none()
        {
            incomplete.push(format!("{}/{}/{}", w.namespace, w.name, c.name));
        }
        let a = Amounts {
            cpu_request_millis: cpu_millis(r.cpu_request.as_deref()),
            memory_request_bytes: bytes(r.memory_request.as_deref()),
            cpu_limit_millis: cpu_millis(r.cpu_limit.as_deref()),
            memory_limit_bytes: bytes(r.memory_limit.as_deref()),
        };
        if c.init {
            init = init.max(a);
        } else {
            main.add(a);
        }
    }
    main.max(init)
}

/// The budget of a platform.
pub fn budget(platform: &Platform) -> Budget {
    let objects: Vec<&Resource> = platform.objects.iter().map(|o| &o.resource).collect();
    let mut b = Budget {
        running: Amounts::default(),
        largest_job: Amounts::default(),
        incomplete: Vec::new(),
        from_chart_values: Vec::new(),
    };
    for w in workloads(&objects).workloads {
        let pod = pod_amounts(&w, &mut b.incomplete);
        if w.long_running {
            b.running.add(pod.times(w.replicas.max(0) as u64));
        } else {
            b.largest_job = b.largest_job.max(pod);
        }
    }
    let mut charts = BTreeSet::new();
    for r in &objects {
        if let Resource::HelmRelease(hr) = r {
            let chart = chart_name(hr);
            if chart == APP_TEMPLATE {
                continue;
            }
            let mut a = Amounts::default();
            if let Some(values) = &hr.spec.values {
                sum_values(values, &mut a);
            }
            b.running.add(a);
            charts.insert(format!(
                "{}/{} ({chart})",
                r.namespace().unwrap_or("default"),
                r.name()
            ));
        }
    }
    b.from_chart_values = charts.into_iter().collect();
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PlatformObject;
    use serde_json::json;

    fn object(value: Value) -> PlatformObject {
        PlatformObject {
            resource: Resource::from_value(value).unwrap(),
            origin: crate::Origin {
                site: crate::Span::new("t.rhai", 1, 1),
                frames: vec![],
            },
            component: "c".into(),
            path: None,
            layer: None,
            phase: None,
            reason: None,
        }
    }

    fn container(name: &str, cpu: &str, mem: &str) -> Value {
        json!({"name": name, "image": "x:1", "resources": {
            "requests": {"cpu": cpu, "memory": mem}, "limits": {"cpu": cpu, "memory": mem}}})
    }

    #[test]
    fn replicas_init_containers_jobs_and_chart_values_are_counted_once_each() {
        let mut p = Platform::new("home", "pi");
        p.objects.push(object(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "a"},
            "spec": {"replicas": 2, "selector": {}, "template": {"spec": {
                "initContainers": [container("init", "1", "1Gi")],
                "containers": [container("a", "100m", "100Mi"), container("b", "50m", "28Mi")]}}}
        })));
        for (name, mem) in [("small", "64Mi"), ("big", "256Mi")] {
            p.objects.push(object(json!({
                "apiVersion": "batch/v1", "kind": "CronJob",
                "metadata": {"name": name, "namespace": "a"},
                "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
                    "containers": [container("c", "10m", mem)]}}}}}
            })));
        }
        p.objects.push(object(json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "traefik", "namespace": "ingress"},
            "spec": {"interval": "1h", "chart": {"spec": {"chart": "traefik", "version": "1.0.0",
                "sourceRef": {"kind": "HelmRepository", "name": "t"}}},
                "values": {"resources": {"requests": {"cpu": "50m", "memory": "64Mi"},
                                          "limits": {"cpu": "500m", "memory": "192Mi"}}}}
        })));
        let b = budget(&p);
        // Per pod: the init container (1 CPU, 1 GiB) is larger than the two containers.
        assert_eq!(b.running.cpu_request_millis, 2 * 1000 + 50);
        assert_eq!(
            b.running.memory_request_bytes,
            (2 * 1024 + 64) * 1024 * 1024
        );
        assert_eq!(b.running.memory_limit_bytes, (2 * 1024 + 192) * 1024 * 1024);
        assert_eq!(b.largest_job.memory_request_bytes, 256 * 1024 * 1024);
        assert_eq!(b.from_chart_values, ["ingress/traefik (traefik)"]);
        assert!(b.incomplete.is_empty());
        let node = Node {
            name: "pi".into(),
            arch: "arm64".into(),
            cpu_millis: 2000,
            memory_bytes: 8 << 30,
        };
        assert!(!b.fits(&node), "2.06 CPU requested on 2");
    }
}
