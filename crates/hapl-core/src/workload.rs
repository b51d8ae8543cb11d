//! One view of "what will run" for every object that makes pods: Deployments, StatefulSets,
//! DaemonSets, Jobs, CronJobs, and HelmReleases of charts hapl knows the values of
//! ([`charts`]). Rules look at workloads through this view, so a rule written once sees inside
//! Helm releases too.

pub mod charts;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::resource::Resource;

/// The label that names a workload's role (`home-assistant`, `postgresql`, ...).
pub const ROLE_LABEL: &str = "hapl.dev/role";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeSource {
    /// An existing PersistentVolumeClaim, by name.
    Pvc(String),
    /// A claim the workload makes itself: a StatefulSet volume claim template, or a PVC a chart
    /// creates from its `persistence` values.
    NewClaim(NewClaim),
    /// An NFS volume written into the pod spec.
    Nfs {
        server: String,
        path: String,
    },
    EmptyDir,
    /// An emptyDir in memory (`medium: Memory`): scratch by design, never state (modules use it
    /// for secret material copied in at start).
    Tmpfs,
    HostPath(String),
    ConfigMap(String),
    Secret(String),
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewClaim {
    pub name: String,
    /// `None`: the cluster's default class.
    pub storage_class: Option<String>,
    pub size: Option<String>,
    pub read_write_once: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeView {
    pub name: String,
    pub source: VolumeSource,
}

impl VolumeView {
    /// A host device (`/dev/ttyUSB0`, `/dev/serial/by-id/...`), not the shared memory mount.
    pub fn device(&self) -> Option<&str> {
        match &self.source {
            VolumeSource::HostPath(p)
                if p == "/dev" || p.starts_with("/dev/") && !p.starts_with("/dev/shm") =>
            {
                Some(p)
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    pub cpu_request: Option<String>,
    pub cpu_limit: Option<String>,
    pub memory_request: Option<String>,
    pub memory_limit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    Literal(String),
    FromSecret,
    FromOther,
}

/// A port a container listens on; `host` when it is bound on the node (hostPort, or any port
/// of a hostNetwork pod).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortView {
    pub port: u16,
    pub protocol: String,
    pub host: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerView {
    pub name: String,
    pub image: String,
    /// The image tag is the chart's default (its appVersion): pinned by the chart version.
    pub image_from_chart: bool,
    pub init: bool,
    /// A helper next to the main container (config reloader, dashboard sidecar): charts give
    /// these no probes.
    pub sidecar: bool,
    pub resources: Resources,
    pub liveness: bool,
    pub readiness: bool,
    pub privileged: bool,
    pub env: Vec<(String, EnvValue)>,
    /// (volume name, mount path)
    pub mounts: Vec<(String, String)>,
    pub ports: Vec<PortView>,
    /// Command and arguments, in order.
    pub args: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
    DaemonSet,
    Job,
    CronJob,
}

impl WorkloadKind {
    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::DaemonSet => "DaemonSet",
            WorkloadKind::Job => "Job",
            WorkloadKind::CronJob => "CronJob",
        }
    }

    /// Runs until stopped (not a Job or CronJob).
    pub fn long_running(self) -> bool {
        !matches!(self, WorkloadKind::Job | WorkloadKind::CronJob)
    }
}

/// A pod-making thing, as far as rules care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// Index of the object in `Platform::objects` that makes it.
    pub object: usize,
    pub kind: WorkloadKind,
    /// The chart, when a HelmRelease makes this workload.
    pub chart: Option<String>,
    pub name: String,
    pub namespace: String,
    pub replicas: i32,
    /// `Recreate` or `RollingUpdate` (Deployments), `OnDelete`/`RollingUpdate` (StatefulSets).
    pub strategy: Option<String>,
    pub host_network: bool,
    pub node_selector: BTreeMap<String, String>,
    /// Pinned to a node: a node selector, `nodeName`, or a required node affinity.
    pub pinned_to_node: bool,
    /// Labels and annotations of the object, the controller and the pod template, merged.
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub containers: Vec<ContainerView>,
    pub volumes: Vec<VolumeView>,
}

impl Workload {
    fn new(object: usize, kind: WorkloadKind, name: &str, namespace: &str) -> Self {
        Workload {
            object,
            kind,
            chart: None,
            name: name.to_owned(),
            namespace: namespace.to_owned(),
            replicas: 1,
            strategy: None,
            host_network: false,
            node_selector: BTreeMap::new(),
            pinned_to_node: false,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
            containers: Vec::new(),
            volumes: Vec::new(),
        }
    }

    pub fn volume(&self, name: &str) -> Option<&VolumeSource> {
        self.volumes
            .iter()
            .find(|v| v.name == name)
            .map(|v| &v.source)
    }

    /// Runs until stopped (not a Job or CronJob).
    pub fn long_running(&self) -> bool {
        self.kind.long_running()
    }

    /// `Deployment homeassistant/home-assistant`, or `StatefulSet datastore/influxdb (HelmRelease
    /// `influxdb`, chart influxdb2)` for workloads inside a release.
    pub fn describe(&self) -> String {
        format!("{} {}/{}", self.kind.name(), self.namespace, self.name)
    }

    /// The role: the `hapl.dev/role` label when present, `backup` / `restore-test` for workloads
    /// labelled `hapl.dev/backup-of` / `hapl.dev/restore-test-of`, else inferred from the chart
    /// and the images (so hand-written repos are understood too).
    pub fn role(&self) -> Option<&str> {
        if let Some(role) = self.labels.get(ROLE_LABEL) {
            return Some(role);
        }
        // A backup or restore test runs the image of what it copies (`postgres` for pg_dump).
        if self.annotation("hapl.dev/backup-of").is_some() {
            return Some("backup");
        }
        if self.annotation("hapl.dev/restore-test-of").is_some() {
            return Some("restore-test");
        }
        if let Some(role) = self.chart.as_deref().and_then(charts::role_of_chart) {
            return Some(role);
        }
        self.containers
            .iter()
            .filter(|c| !c.init)
            .find_map(|c| role_of_image(&c.image))
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations
            .get(key)
            .or_else(|| self.labels.get(key))
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }
}

/// The image name without registry-independent noise: `ghcr.io/home-assistant/home-assistant`
/// from `ghcr.io/home-assistant/home-assistant:2025.11.3@sha256:...`.
pub fn image_repository(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    match no_digest.rfind(':') {
        Some(i) if !no_digest[i..].contains('/') => &no_digest[..i],
        _ => no_digest,
    }
}

/// The tag of an image reference (`""` when there is none), and whether it has a digest.
pub fn image_tag(image: &str) -> (&str, bool) {
    let (name, digest) = match image.split_once('@') {
        Some((n, _)) => (n, true),
        None => (image, false),
    };
    let tag = match name.rfind(':') {
        Some(i) if !name[i..].contains('/') => &name[i + 1..],
        _ => "",
    };
    (tag, digest)
}

/// Roles known from images: (repository suffix, role). Matched against the repository with
/// any registry in front (`docker.io/`, `ghcr.io/`, a mirror).
const IMAGE_ROLES: &[(&str, &str)] = &[
    ("home-assistant/home-assistant", "home-assistant"),
    ("homeassistant/home-assistant", "home-assistant"),
    ("python-matter-server", "matter-server"),
    ("matter-server", "matter-server"),
    ("koenkk/zigbee2mqtt", "zigbee2mqtt"),
    ("eclipse-mosquitto", "mosquitto"),
    ("postgres", "postgresql"),
    ("postgresql", "postgresql"),
    ("cloudnative-pg/postgresql", "postgresql"),
    ("timescaledb", "postgresql"),
    ("influxdb", "influxdb"),
    ("grafana/loki", "loki"),
    ("grafana/promtail", "log-collector"),
    ("grafana/alloy", "log-collector"),
    ("prometheus/prometheus", "prometheus"),
    ("prom/prometheus", "prometheus"),
    ("prometheus/node-exporter", "node-exporter"),
    ("prom/node-exporter", "node-exporter"),
    ("grafana/grafana", "grafana"),
];

/// The role an image implies, if hapl knows it.
pub fn role_of_image(image: &str) -> Option<&'static str> {
    let repo = image_repository(image);
    IMAGE_ROLES.iter().find_map(|(suffix, role)| {
        let matches = repo == *suffix
            || repo
                .strip_suffix(suffix)
                .is_some_and(|rest| rest.ends_with('/'));
        matches.then_some(*role)
    })
}

/// A release hapl could not see into, so rules can say so rather than stay silent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uninspected {
    pub object: usize,
    pub chart: String,
    pub why: String,
}

#[derive(Debug, Clone, Default)]
pub struct Workloads {
    pub workloads: Vec<Workload>,
    pub uninspected: Vec<Uninspected>,
    /// Releases of infrastructure charts their module configures completely (not inspected).
    pub infrastructure: Vec<usize>,
}

/// The workloads of a list of objects (indices refer to that list).
pub fn workloads(objects: &[&Resource]) -> Workloads {
    let mut out = Workloads::default();
    for (i, r) in objects.iter().enumerate() {
        let ns = r.namespace().unwrap_or("default");
        let name = r.name();
        let meta = r.metadata();
        let push = |kind, replicas: Option<i32>, template: Option<&PodTemplateSpec>| {
            let mut w = Workload::new(i, kind, name, ns);
            w.replicas = replicas.unwrap_or(1);
            merge_meta(&mut w, meta);
            if let Some(t) = template {
                merge_meta(
                    &mut w,
                    t.metadata.as_ref().unwrap_or(&ObjectMeta::default()),
                );
                from_pod_spec(&mut w, t.spec.as_ref());
            }
            w
        };
        let w = match r {
            Resource::Deployment(d) => {
                let spec = d.spec.as_ref();
                let mut w = push(
                    WorkloadKind::Deployment,
                    spec.and_then(|s| s.replicas),
                    spec.map(|s| &s.template),
                );
                w.strategy = spec
                    .and_then(|s| s.strategy.as_ref())
                    .map(|s| s.type_.clone().unwrap_or_else(|| "RollingUpdate".into()))
                    .or_else(|| Some("RollingUpdate".into()));
                w
            }
            Resource::StatefulSet(s) => {
                let spec = s.spec.as_ref();
                let mut w = push(
                    WorkloadKind::StatefulSet,
                    spec.and_then(|s| s.replicas),
                    spec.map(|s| &s.template),
                );
                w.strategy = spec
                    .and_then(|s| s.update_strategy.as_ref())
                    .and_then(|s| s.type_.clone());
                for t in spec
                    .and_then(|s| s.volume_claim_templates.as_ref())
                    .into_iter()
                    .flatten()
                {
                    let name = t.metadata.name.clone().unwrap_or_default();
                    let ts = t.spec.as_ref();
                    w.volumes.push(VolumeView {
                        name: name.clone(),
                        source: VolumeSource::NewClaim(NewClaim {
                            name,
                            storage_class: ts.and_then(|s| s.storage_class_name.clone()),
                            size: ts
                                .and_then(|s| s.resources.as_ref())
                                .and_then(|r| r.requests.as_ref())
                                .and_then(|r| r.get("storage"))
                                .map(|q| q.0.clone()),
                            read_write_once: ts
                                .and_then(|s| s.access_modes.as_ref())
                                .is_none_or(|m| m.iter().any(|m| m == "ReadWriteOnce")),
                        }),
                    });
                }
                w
            }
            Resource::DaemonSet(d) => push(
                WorkloadKind::DaemonSet,
                None,
                d.spec.as_ref().map(|s| &s.template),
            ),
            Resource::Job(j) => push(
                WorkloadKind::Job,
                None,
                j.spec.as_ref().map(|s| &s.template),
            ),
            Resource::CronJob(c) => {
                let job = c.spec.as_ref().map(|s| &s.job_template);
                let mut w = push(
                    WorkloadKind::CronJob,
                    None,
                    job.and_then(|j| j.spec.as_ref()).map(|s| &s.template),
                );
                if let Some(m) = job.and_then(|j| j.metadata.as_ref()) {
                    merge_meta(&mut w, m);
                }
                w
            }
            Resource::HelmRelease(hr) => {
                charts::release_workloads(i, hr, &mut out);
                continue;
            }
            _ => continue,
        };
        out.workloads.push(w);
    }
    out
}

fn merge_meta(w: &mut Workload, meta: &ObjectMeta) {
    for (k, v) in meta.labels.iter().flatten() {
        w.labels.insert(k.clone(), v.clone());
    }
    for (k, v) in meta.annotations.iter().flatten() {
        w.annotations.insert(k.clone(), v.clone());
    }
}

fn from_pod_spec(w: &mut Workload, spec: Option<&PodSpec>) {
    let Some(spec) = spec else { return };
    w.host_network = spec.host_network.unwrap_or(false);
    w.node_selector = spec.node_selector.clone().unwrap_or_default();
    w.pinned_to_node = !w.node_selector.is_empty()
        || spec.node_name.is_some()
        || spec
            .affinity
            .as_ref()
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|n| {
                n.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })
            .is_some();
    for c in spec.init_containers.iter().flatten() {
        w.containers.push(container(c, true, w.host_network));
    }
    for c in &spec.containers {
        w.containers.push(container(c, false, w.host_network));
    }
    for v in spec.volumes.iter().flatten() {
        let source = if let Some(p) = &v.persistent_volume_claim {
            VolumeSource::Pvc(p.claim_name.clone())
        } else if let Some(n) = &v.nfs {
            VolumeSource::Nfs {
                server: n.server.clone(),
                path: n.path.clone(),
            }
        } else if let Some(e) = &v.empty_dir {
            if e.medium.as_deref() == Some("Memory") {
                VolumeSource::Tmpfs
            } else {
                VolumeSource::EmptyDir
            }
        } else if let Some(h) = &v.host_path {
            VolumeSource::HostPath(h.path.clone())
        } else if let Some(c) = &v.config_map {
            VolumeSource::ConfigMap(c.name.clone())
        } else if let Some(s) = &v.secret {
            VolumeSource::Secret(s.secret_name.clone().unwrap_or_default())
        } else {
            VolumeSource::Other
        };
        w.volumes.push(VolumeView {
            name: v.name.clone(),
            source,
        });
    }
}

fn container(c: &Container, init: bool, host_network: bool) -> ContainerView {
    let q =
        |m: Option<&BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>,
         k: &str| { m.and_then(|m| m.get(k)).map(|q| q.0.clone()) };
    let res = c.resources.as_ref();
    let requests = res.and_then(|r| r.requests.as_ref());
    let limits = res.and_then(|r| r.limits.as_ref());
    ContainerView {
        name: c.name.clone(),
        image: c.image.clone().unwrap_or_default(),
        image_from_chart: false,
        init,
        sidecar: false,
        resources: Resources {
            cpu_request: q(requests, "cpu"),
            cpu_limit: q(limits, "cpu"),
            memory_request: q(requests, "memory"),
            memory_limit: q(limits, "memory"),
        },
        liveness: c.liveness_probe.is_some(),
        readiness: c.readiness_probe.is_some(),
        privileged: c
            .security_context
            .as_ref()
            .and_then(|s| s.privileged)
            .unwrap_or(false),
        env: c
            .env
            .iter()
            .flatten()
            .map(|e| {
                let v = match (&e.value, &e.value_from) {
                    (Some(v), _) => EnvValue::Literal(v.clone()),
                    (None, Some(from)) if from.secret_key_ref.is_some() => EnvValue::FromSecret,
                    _ => EnvValue::FromOther,
                };
                (e.name.clone(), v)
            })
            .collect(),
        mounts: c
            .volume_mounts
            .iter()
            .flatten()
            .map(|m| (m.name.clone(), m.mount_path.clone()))
            .collect(),
        ports: c
            .ports
            .iter()
            .flatten()
            .filter_map(|p| {
                let host = p.host_port.is_some() || host_network;
                let port = p.host_port.unwrap_or(p.container_port);
                Some(PortView {
                    port: u16::try_from(port).ok()?,
                    protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                    host,
                })
            })
            .collect(),
        args: c
            .command
            .iter()
            .flatten()
            .chain(c.args.iter().flatten())
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_split_into_repository_tag_and_digest() {
        assert_eq!(image_tag("nginx"), ("", false));
        assert_eq!(image_tag("nginx:1.27"), ("1.27", false));
        assert_eq!(image_tag("registry.lan:5000/x/nginx"), ("", false));
        assert_eq!(image_tag("registry.lan:5000/x/nginx:1.2"), ("1.2", false));
        assert_eq!(image_tag("nginx@sha256:abc"), ("", true));
        assert_eq!(image_tag("nginx:1.2@sha256:abc"), ("1.2", true));
        assert_eq!(
            image_repository("ghcr.io/home-assistant/home-assistant:2025.11.3"),
            "ghcr.io/home-assistant/home-assistant"
        );
        assert_eq!(
            image_repository("registry.lan:5000/x/nginx"),
            "registry.lan:5000/x/nginx"
        );
    }

    #[test]
    fn roles_are_inferred_from_images_with_any_registry() {
        for (image, role) in [
            (
                "ghcr.io/home-assistant/home-assistant:2025.11.3",
                "home-assistant",
            ),
            ("homeassistant/home-assistant:stable", "home-assistant"),
            (
                "ghcr.io/home-assistant-libs/python-matter-server:8.1.0",
                "matter-server",
            ),
            ("docker.io/library/postgres:16.4", "postgresql"),
            ("postgres:16", "postgresql"),
            ("eclipse-mosquitto:2.0.20", "mosquitto"),
            ("ghcr.io/koenkk/zigbee2mqtt:2.6.3", "zigbee2mqtt"),
            ("docker.io/grafana/promtail:3.5.1", "log-collector"),
        ] {
            assert_eq!(role_of_image(image), Some(role), "{image}");
        }
        assert_eq!(role_of_image("ghcr.io/example/not-postgres-tool:1"), None);
        assert_eq!(role_of_image("nginx:1.27"), None);
    }
}
