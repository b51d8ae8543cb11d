//! One view of "what will run" for every object that makes pods: Deployments, StatefulSets,
//! DaemonSets, Jobs, CronJobs, and HelmReleases of charts hapl knows the values of. Rules look
//! at workloads through this view, so a rule written once sees inside Helm releases too.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
use serde_json::Value;

use crate::resource::Resource;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeSource {
    Pvc(String),
    EmptyDir,
    HostPath(String),
    ConfigMap(String),
    Secret(String),
    /// A volume claim template of a StatefulSet (per-replica PVC).
    ClaimTemplate(String),
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeView {
    pub name: String,
    pub source: VolumeSource,
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerView {
    pub name: String,
    pub image: String,
    pub init: bool,
    pub resources: Resources,
    pub liveness: bool,
    pub readiness: bool,
    pub privileged: bool,
    pub env: Vec<(String, EnvValue)>,
    /// (volume name, mount path)
    pub mounts: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
    DaemonSet,
    Job,
    CronJob,
    /// A HelmRelease of the bjw-s app-template chart, one controller of it.
    AppTemplate,
}

/// A pod-making thing, as far as rules care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// Index of the object in `Platform::objects` that makes it.
    pub object: usize,
    pub kind: WorkloadKind,
    pub name: String,
    pub namespace: String,
    pub replicas: i32,
    /// `Recreate` or `RollingUpdate` (Deployments), `OnDelete`/`RollingUpdate` (StatefulSets).
    pub strategy: Option<String>,
    pub host_network: bool,
    pub node_selector: BTreeMap<String, String>,
    pub containers: Vec<ContainerView>,
    pub volumes: Vec<VolumeView>,
    /// Runs until stopped (not a Job or CronJob).
    pub long_running: bool,
}

impl Workload {
    pub fn volume(&self, name: &str) -> Option<&VolumeSource> {
        self.volumes
            .iter()
            .find(|v| v.name == name)
            .map(|v| &v.source)
    }
}

/// What the view could not see into, so rules can say so rather than stay silent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uninspected {
    pub object: usize,
    pub chart: String,
}

/// Charts whose values hapl reads into workloads.
pub const APP_TEMPLATE: &str = "app-template";

/// Charts that make no long-running workload of the platform's own, or whose workloads the
/// module that installs them configures completely (their values are checked there).
pub const INFRASTRUCTURE_CHARTS: &[&str] = &["csi-driver-nfs"];

pub struct Workloads {
    pub workloads: Vec<Workload>,
    pub uninspected: Vec<Uninspected>,
}

/// The workloads of a list of objects (indices refer to that list).
pub fn workloads(objects: &[&Resource]) -> Workloads {
    let mut out = Workloads {
        workloads: Vec::new(),
        uninspected: Vec::new(),
    };
    for (i, r) in objects.iter().enumerate() {
        let ns = r.namespace().unwrap_or("default").to_owned();
        let name = r.name().to_owned();
        let mut push = |kind,
                        replicas,
                        strategy: Option<String>,
                        template: Option<&PodTemplateSpec>,
                        claims: Vec<String>| {
            let spec = template.and_then(|t| t.spec.as_ref());
            let mut w = from_pod_spec(i, kind, &name, &ns, spec);
            w.replicas = replicas;
            w.strategy = strategy;
            w.volumes.extend(claims.into_iter().map(|c| VolumeView {
                name: c.clone(),
                source: VolumeSource::ClaimTemplate(c),
            }));
            out.workloads.push(w);
        };
        match r {
            Resource::Deployment(d) => {
                let spec = d.spec.as_ref();
                let strategy = spec
                    .and_then(|s| s.strategy.as_ref())
                    .and_then(|s| s.type_.clone());
                let replicas = spec.and_then(|s| s.replicas).unwrap_or(1);
                push(
                    WorkloadKind::Deployment,
                    replicas,
                    strategy,
                    spec.map(|s| &s.template),
                    vec![],
                );
            }
            Resource::StatefulSet(s) => {
                let spec = s.spec.as_ref();
                let strategy = spec
                    .and_then(|s| s.update_strategy.as_ref())
                    .and_then(|s| s.type_.clone());
                let claims = spec
                    .and_then(|s| s.volume_claim_templates.as_ref())
                    .map(|ts| ts.iter().filter_map(|t| t.metadata.name.clone()).collect())
                    .unwrap_or_default();
                let replicas = spec.and_then(|s| s.replicas).unwrap_or(1);
                push(
                    WorkloadKind::StatefulSet,
                    replicas,
                    strategy,
                    spec.map(|s| &s.template),
                    claims,
                );
            }
            Resource::DaemonSet(d) => {
                let spec = d.spec.as_ref();
                push(
                    WorkloadKind::DaemonSet,
                    1,
                    None,
                    spec.map(|s| &s.template),
                    vec![],
                );
            }
            Resource::Job(j) => {
                let spec = j.spec.as_ref();
                push(
                    WorkloadKind::Job,
                    1,
                    None,
                    spec.map(|s| &s.template),
                    vec![],
                );
            }
            Resource::CronJob(c) => {
                let template = c
                    .spec
                    .as_ref()
                    .and_then(|s| s.job_template.spec.as_ref())
                    .map(|s| &s.template);
                push(WorkloadKind::CronJob, 1, None, template, vec![]);
            }
            Resource::HelmRelease(hr) => {
                let chart = chart_name(hr);
                if chart == APP_TEMPLATE {
                    let values = hr.spec.values.clone().unwrap_or(Value::Null);
                    out.workloads.extend(app_template(i, &name, &ns, &values));
                } else if !INFRASTRUCTURE_CHARTS.contains(&chart.as_str()) {
                    out.uninspected.push(Uninspected { object: i, chart });
                }
            }
            _ => {}
        }
    }
    out
}

/// The chart a release installs: `chart.spec.chart`, or the OCIRepository name for `chartRef`.
pub fn chart_name(hr: &crate::flux::HelmRelease) -> String {
    if let Some(chart) = &hr.spec.chart {
        return chart.spec.chart.clone();
    }
    hr.spec
        .chart_ref
        .as_ref()
        .map(|r| r.name.clone())
        .unwrap_or_default()
}

fn from_pod_spec(
    object: usize,
    kind: WorkloadKind,
    name: &str,
    ns: &str,
    spec: Option<&PodSpec>,
) -> Workload {
    let long_running = !matches!(kind, WorkloadKind::Job | WorkloadKind::CronJob);
    let mut w = Workload {
        object,
        kind,
        name: name.to_owned(),
        namespace: ns.to_owned(),
        replicas: 1,
        strategy: None,
        host_network: false,
        node_selector: BTreeMap::new(),
        containers: Vec::new(),
        volumes: Vec::new(),
        long_running,
    };
    let Some(spec) = spec else { return w };
    w.host_network = spec.host_network.unwrap_or(false);
    w.node_selector = spec.node_selector.clone().unwrap_or_default();
    for c in spec.init_containers.iter().flatten() {
        w.containers.push(container(c, true));
    }
    for c in &spec.containers {
        w.containers.push(container(c, false));
    }
    for v in spec.volumes.iter().flatten() {
        let source = if let Some(p) = &v.persistent_volume_claim {
            VolumeSource::Pvc(p.claim_name.clone())
        } else if v.empty_dir.is_some() {
            VolumeSource::EmptyDir
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
    w
}

fn container(c: &Container, init: bool) -> ContainerView {
    let q =
        |m: Option<&BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>,
         k: &str| { m.and_then(|m| m.get(k)).map(|q| q.0.clone()) };
    let res = c.resources.as_ref();
    let requests = res.and_then(|r| r.requests.as_ref());
    let limits = res.and_then(|r| r.limits.as_ref());
    ContainerView {
        name: c.name.clone(),
        image: c.image.clone().unwrap_or_default(),
        init,
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
    }
}

fn s(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    match cur {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn enabled(probe: Option<&Value>) -> bool {
    // app-template: probes are on by default unless `enabled: false`.
    probe.is_none_or(|p| p.get("enabled").and_then(Value::as_bool).unwrap_or(true))
}

/// The workloads an app-template (bjw-s, v3/v4 values) release makes: one per controller.
fn app_template(object: usize, release: &str, ns: &str, values: &Value) -> Vec<Workload> {
    let empty = serde_json::Map::new();
    let controllers = values
        .get("controllers")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let pod_defaults = values.get("defaultPodOptions");
    let persistence = values
        .get("persistence")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut out = Vec::new();
    for (cname, ctl) in controllers {
        let kind = match ctl
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("deployment")
        {
            "statefulset" => WorkloadKind::StatefulSet,
            "daemonset" => WorkloadKind::DaemonSet,
            "cronjob" => WorkloadKind::CronJob,
            "job" => WorkloadKind::Job,
            _ => WorkloadKind::Deployment,
        };
        let name = if controllers.len() == 1 || cname == "main" {
            release.to_owned()
        } else {
            format!("{release}-{cname}")
        };
        let mut w = from_pod_spec(object, kind, &name, ns, None);
        w.kind = WorkloadKind::AppTemplate;
        w.long_running = !matches!(
            ctl.get("type").and_then(Value::as_str),
            Some("cronjob" | "job")
        );
        w.replicas = ctl.get("replicas").and_then(Value::as_i64).unwrap_or(1) as i32;
        w.strategy = s(ctl, &["strategy"]);
        let pod = ctl.get("pod");
        w.host_network = pod
            .and_then(|p| p.get("hostNetwork"))
            .or_else(|| pod_defaults.and_then(|p| p.get("hostNetwork")))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if let Some(sel) = pod
            .and_then(|p| p.get("nodeSelector"))
            .or_else(|| pod_defaults.and_then(|p| p.get("nodeSelector")))
            .and_then(Value::as_object)
        {
            w.node_selector = sel
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect();
        }
        for (group, init) in [("initContainers", true), ("containers", false)] {
            for (name, c) in ctl.get(group).and_then(Value::as_object).unwrap_or(&empty) {
                let image = match (s(c, &["image", "repository"]), s(c, &["image", "tag"])) {
                    (Some(r), Some(t)) => format!("{r}:{t}"),
                    (Some(r), None) => r,
                    _ => String::new(),
                };
                let probes = c.get("probes");
                let env = c
                    .get("env")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| {
                                let value = match v {
                                    Value::String(s) => EnvValue::Literal(s.clone()),
                                    Value::Number(n) => EnvValue::Literal(n.to_string()),
                                    Value::Bool(b) => EnvValue::Literal(b.to_string()),
                                    other if other.pointer("/valueFrom/secretKeyRef").is_some() => {
                                        EnvValue::FromSecret
                                    }
                                    other if other.get("value").is_some() => {
                                        EnvValue::Literal(s(other, &["value"]).unwrap_or_default())
                                    }
                                    _ => EnvValue::FromOther,
                                };
                                (k.clone(), value)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                w.containers.push(ContainerView {
                    name: name.clone(),
                    image,
                    init,
                    resources: Resources {
                        cpu_request: s(c, &["resources", "requests", "cpu"]),
                        cpu_limit: s(c, &["resources", "limits", "cpu"]),
                        memory_request: s(c, &["resources", "requests", "memory"]),
                        memory_limit: s(c, &["resources", "limits", "memory"]),
                    },
                    liveness: !init && enabled(probes.and_then(|p| p.get("liveness"))),
                    readiness: !init && enabled(probes.and_then(|p| p.get("readiness"))),
                    privileged: c
                        .pointer("/securityContext/privileged")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    env,
                    mounts: Vec::new(),
                });
            }
        }
        // Persistence items mount into every controller unless `advancedMounts` names others.
        for (pname, p) in persistence {
            if p.get("enabled").and_then(Value::as_bool) == Some(false) {
                continue;
            }
            let applies = match p.get("advancedMounts").and_then(Value::as_object) {
                Some(adv) if p.get("globalMounts").is_none() => adv.contains_key(cname),
                _ => true,
            };
            if !applies {
                continue;
            }
            let ty = p
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("persistentVolumeClaim");
            let source = match ty {
                "persistentVolumeClaim" => VolumeSource::Pvc(
                    s(p, &["existingClaim"]).unwrap_or_else(|| format!("{release}-{pname}")),
                ),
                "emptyDir" => VolumeSource::EmptyDir,
                "hostPath" => VolumeSource::HostPath(s(p, &["hostPath"]).unwrap_or_default()),
                "configMap" => VolumeSource::ConfigMap(s(p, &["name"]).unwrap_or_default()),
                "secret" => VolumeSource::Secret(s(p, &["name"]).unwrap_or_default()),
                _ => VolumeSource::Other,
            };
            let paths: Vec<String> = p
                .get("globalMounts")
                .and_then(Value::as_array)
                .map(|ms| ms.iter().filter_map(|m| s(m, &["path"])).collect())
                .unwrap_or_else(|| vec![format!("/{pname}")]);
            for c in w.containers.iter_mut().filter(|c| !c.init) {
                for path in &paths {
                    c.mounts.push((pname.clone(), path.clone()));
                }
            }
            w.volumes.push(VolumeView {
                name: pname.clone(),
                source,
            });
        }
        out.push(w);
    }
    out
}
