//! Adapters from chart values to the workload view, one per chart the standard library uses.
//! Each reads the chart's real upstream value keys (with the chart's defaults where a key is
//! absent) and yields the workloads the chart will create.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{
    ContainerView, EnvValue, NewClaim, PortView, Resources, Uninspected, VolumeSource, VolumeView,
    Workload, WorkloadKind, Workloads,
};
use crate::flux::HelmRelease;

/// Charts whose values hapl reads into workloads.
pub const INSPECTED_CHARTS: &[&str] = &[
    "app-template",
    "postgresql",
    "influxdb2",
    "loki",
    "grafana",
    "prometheus",
    "alloy",
    "promtail",
];

/// Infrastructure charts the module that installs them configures completely: hapl does not
/// look inside their workloads (their values are checked by that module).
pub const INFRASTRUCTURE_CHARTS: &[&str] = &[
    "csi-driver-nfs",
    "cert-manager",
    "sealed-secrets",
    "ingress-nginx",
    "traefik",
];

/// The role a chart's main workload has.
pub fn role_of_chart(chart: &str) -> Option<&'static str> {
    Some(match chart {
        "influxdb2" => "influxdb",
        "postgresql" => "postgresql",
        "loki" => "loki",
        "grafana" => "grafana",
        "prometheus" => "prometheus",
        "alloy" | "promtail" => "log-collector",
        "prometheus-node-exporter" => "node-exporter",
        "ingress-nginx" | "traefik" => "ingress-controller",
        "cert-manager" => "cert-manager",
        "sealed-secrets" => "sealed-secrets",
        "csi-driver-nfs" => "nfs-driver",
        _ => return None,
    })
}

/// The chart a release installs: `chart.spec.chart`, or the OCIRepository name for `chartRef`.
pub fn chart_name(hr: &HelmRelease) -> String {
    if let Some(chart) = &hr.spec.chart {
        return chart.spec.chart.clone();
    }
    hr.spec
        .chart_ref
        .as_ref()
        .map(|r| r.name.clone())
        .unwrap_or_default()
}

/// Adds the workloads of release `object` (or an [`Uninspected`] entry) to `out`.
pub fn release_workloads(object: usize, hr: &HelmRelease, out: &mut Workloads) {
    let chart = chart_name(hr);
    static NULL: Value = Value::Null;
    let values = hr.spec.values.as_ref().unwrap_or(&NULL);
    let ns = hr
        .spec
        .target_namespace
        .as_deref()
        .or(hr.metadata.namespace.as_deref())
        .unwrap_or("default");
    let release = hr
        .spec
        .release_name
        .as_deref()
        .or(hr.metadata.name.as_deref())
        .unwrap_or_default();
    let v = Values(values);
    let name = v
        .str("fullnameOverride")
        .unwrap_or_else(|| release.to_owned());
    let cx = Release {
        object,
        chart: &chart,
        ns,
        release,
        name: &name,
        values: v,
    };
    let made = match chart.as_str() {
        "app-template" => app_template(&cx),
        "influxdb2" => vec![influxdb2(&cx)],
        "postgresql" => vec![bitnami_postgresql(&cx)],
        "loki" => match loki(&cx) {
            Ok(ws) => ws,
            Err(why) => {
                out.uninspected.push(Uninspected { object, chart, why });
                return;
            }
        },
        "grafana" => vec![grafana(&cx)],
        "prometheus" => prometheus(&cx),
        "alloy" => vec![alloy(&cx)],
        "promtail" => vec![promtail(&cx)],
        c if INFRASTRUCTURE_CHARTS.contains(&c) => {
            out.infrastructure.push(object);
            return;
        }
        _ => {
            out.uninspected.push(Uninspected {
                object,
                chart,
                why: "hapl does not know this chart's values".into(),
            });
            return;
        }
    };
    for mut w in made {
        // The release's role belongs to the chart's own workload, not to a subchart's.
        let subchart = w.chart.as_deref() != Some(chart.as_str());
        for (k, v) in hr.metadata.labels.iter().flatten() {
            if subchart && k == super::ROLE_LABEL {
                continue;
            }
            w.labels.entry(k.clone()).or_insert_with(|| v.clone());
        }
        for (k, v) in hr.metadata.annotations.iter().flatten() {
            w.annotations.entry(k.clone()).or_insert_with(|| v.clone());
        }
        out.workloads.push(w);
    }
}

/// Read-only access to a values tree by dotted paths.
#[derive(Clone, Copy)]
pub struct Values<'a>(pub &'a Value);

impl<'a> Values<'a> {
    pub fn get(&self, path: &str) -> Option<&'a Value> {
        let mut cur = self.0;
        for key in path.split('.').filter(|k| !k.is_empty()) {
            cur = cur.get(key)?;
        }
        (!cur.is_null()).then_some(cur)
    }

    pub fn at(&self, path: &str) -> Values<'a> {
        static NULL: Value = Value::Null;
        Values(self.get(path).unwrap_or(&NULL))
    }

    pub fn str(&self, path: &str) -> Option<String> {
        match self.get(path)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    pub fn bool_or(&self, path: &str, default: bool) -> bool {
        self.get(path).and_then(Value::as_bool).unwrap_or(default)
    }

    pub fn int_or(&self, path: &str, default: i64) -> i64 {
        self.get(path).and_then(Value::as_i64).unwrap_or(default)
    }

    pub fn map(&self, path: &str) -> Vec<(&'a String, Values<'a>)> {
        match self.get(path) {
            Some(Value::Object(m)) => m.iter().map(|(k, v)| (k, Values(v))).collect(),
            _ => Vec::new(),
        }
    }

    /// A map of strings (labels, annotations, a node selector).
    pub fn strings(&self, path: &str) -> BTreeMap<String, String> {
        self.map(path)
            .into_iter()
            .filter_map(|(k, v)| v.str("").map(|s| (k.clone(), s)))
            .collect()
    }

    /// A probe or settings block that is present and not empty (`{}` means "none").
    pub fn set(&self, path: &str) -> bool {
        match self.get(path) {
            Some(Value::Object(m)) => {
                !m.is_empty() && m.get("enabled").and_then(Value::as_bool) != Some(false)
            }
            Some(Value::Bool(b)) => *b,
            Some(_) => true,
            None => false,
        }
    }
}

struct Release<'a> {
    object: usize,
    chart: &'a str,
    ns: &'a str,
    release: &'a str,
    /// `fullnameOverride`, else the release name.
    name: &'a str,
    values: Values<'a>,
}

impl Release<'_> {
    fn workload(&self, kind: WorkloadKind, name: &str) -> Workload {
        let mut w = Workload::new(self.object, kind, name, self.ns);
        w.chart = Some(self.chart.to_owned());
        w
    }
}

fn resources(v: Values) -> Resources {
    Resources {
        cpu_request: v.str("requests.cpu"),
        cpu_limit: v.str("limits.cpu"),
        memory_request: v.str("requests.memory"),
        memory_limit: v.str("limits.memory"),
    }
}

/// An image from `{registry, repository, tag}` values; an empty tag is the chart's appVersion.
fn chart_image(v: Values, default_repository: &str) -> (String, bool) {
    let repo = v
        .str("repository")
        .unwrap_or_else(|| default_repository.to_owned());
    let repo = match v.str("registry") {
        Some(reg) if !repo.starts_with(&format!("{reg}/")) => format!("{reg}/{repo}"),
        _ => repo,
    };
    match (v.str("tag"), v.str("digest")) {
        (Some(tag), Some(d)) => (format!("{repo}:{tag}@{d}"), false),
        (Some(tag), None) => (format!("{repo}:{tag}"), false),
        (None, Some(d)) => (format!("{repo}@{d}"), false),
        (None, None) => (repo, true),
    }
}

/// A container as charts describe it: image values, resources values, probes.
fn chart_container(
    name: &str,
    image: Values,
    default_repository: &str,
    res: Values,
    (liveness, readiness): (bool, bool),
) -> ContainerView {
    let (image, image_from_chart) = chart_image(image, default_repository);
    ContainerView {
        name: name.to_owned(),
        image,
        image_from_chart,
        resources: resources(res),
        liveness,
        readiness,
        ..ContainerView::default()
    }
}

/// A helper container of a chart (no probes).
fn sidecar(name: &str, image: Values, default_repository: &str, res: Values) -> ContainerView {
    ContainerView {
        sidecar: true,
        ..chart_container(name, image, default_repository, res, (false, false))
    }
}

/// `env` as a list of `{name, value | valueFrom}` (Kubernetes shape) or a map of name → value.
fn env(v: Values) -> Vec<(String, EnvValue)> {
    let one = |value: &Value| match value {
        Value::String(s) => EnvValue::Literal(s.clone()),
        Value::Number(n) => EnvValue::Literal(n.to_string()),
        Value::Bool(b) => EnvValue::Literal(b.to_string()),
        other if other.pointer("/valueFrom/secretKeyRef").is_some() => EnvValue::FromSecret,
        other if other.pointer("/secretKeyRef").is_some() => EnvValue::FromSecret,
        other => match other.get("value") {
            Some(v) => EnvValue::Literal(Values(v).str("").unwrap_or_default()),
            None => EnvValue::FromOther,
        },
    };
    match v.0 {
        Value::Array(items) => items
            .iter()
            .filter_map(|e| Some((e.get("name")?.as_str()?.to_owned(), one(e))))
            .collect(),
        Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), one(v))).collect(),
        _ => Vec::new(),
    }
}

/// The volume for a chart's `persistence`-style block: an existing claim, a claim the chart
/// makes, or an emptyDir when persistence is off.
fn persistence(
    enabled: bool,
    existing: Option<String>,
    claim_name: String,
    p: Values,
    class_key: &str,
    default_size: &str,
) -> VolumeSource {
    if !enabled {
        return VolumeSource::EmptyDir;
    }
    if let Some(claim) = existing {
        return VolumeSource::Pvc(claim);
    }
    let modes: Vec<String> = match p.get("accessModes") {
        Some(Value::Array(a)) => a.iter().filter_map(|m| Values(m).str("")).collect(),
        _ => p.str("accessMode").into_iter().collect(),
    };
    VolumeSource::NewClaim(NewClaim {
        name: claim_name,
        storage_class: p.str(class_key).filter(|c| c != "-"),
        size: p.str("size").or_else(|| Some(default_size.to_owned())),
        read_write_once: modes.is_empty() || modes.iter().any(|m| m == "ReadWriteOnce"),
    })
}

fn mount(w: &mut Workload, volume: &str, source: VolumeSource, path: &str) {
    for c in w.containers.iter_mut().filter(|c| !c.init) {
        c.mounts.push((volume.to_owned(), path.to_owned()));
    }
    w.volumes.push(VolumeView {
        name: volume.to_owned(),
        source,
    });
}

fn pod_options(w: &mut Workload, v: Values, annotations_key: &str) {
    w.node_selector = v.strings("nodeSelector");
    w.pinned_to_node = !w.node_selector.is_empty() || v.set("affinity.nodeAffinity");
    w.annotations.extend(v.strings(annotations_key));
    w.labels.extend(v.strings("podLabels"));
}

/// bjw-s app-template (v3 and v4 values): one workload per controller.
fn app_template(cx: &Release) -> Vec<Workload> {
    let v = cx.values;
    let controllers = v.map("controllers");
    let defaults = v.at("defaultPodOptions");
    let mut out = Vec::new();
    for (cname, ctl) in &controllers {
        if !ctl.bool_or("enabled", true) {
            continue;
        }
        let kind = match ctl.str("type").as_deref() {
            Some("statefulset") => WorkloadKind::StatefulSet,
            Some("daemonset") => WorkloadKind::DaemonSet,
            Some("cronjob") => WorkloadKind::CronJob,
            Some("job") => WorkloadKind::Job,
            _ => WorkloadKind::Deployment,
        };
        let name = if controllers.len() == 1 || cname.as_str() == "main" {
            cx.name.to_owned()
        } else {
            format!("{}-{cname}", cx.name)
        };
        let mut w = cx.workload(kind, &name);
        w.replicas = ctl.int_or("replicas", 1) as i32;
        w.strategy = ctl.str("strategy").or_else(|| {
            matches!(kind, WorkloadKind::Deployment).then(|| "RollingUpdate".to_owned())
        });
        let pod = ctl.at("pod");
        let pod_value = |key: &str| pod.get(key).or_else(|| defaults.get(key));
        w.host_network = pod_value("hostNetwork")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        w.node_selector = pod_value("nodeSelector")
            .map(|s| Values(s).strings(""))
            .unwrap_or_default();
        w.pinned_to_node = !w.node_selector.is_empty()
            || pod_value("nodeName").is_some()
            || pod_value("affinity").is_some_and(|a| Values(a).set("nodeAffinity"));
        w.labels.extend(defaults.strings("labels"));
        w.labels.extend(ctl.strings("labels"));
        w.labels.extend(pod.strings("labels"));
        w.annotations.extend(defaults.strings("annotations"));
        w.annotations.extend(ctl.strings("annotations"));
        w.annotations.extend(pod.strings("annotations"));
        for (group, init) in [("initContainers", true), ("containers", false)] {
            for (name, c) in ctl.map(group) {
                let (image, _) = chart_image(c.at("image"), "");
                let probes = c.at("probes");
                // app-template turns liveness and readiness probes on unless told otherwise.
                let probe = |p: &str| !init && probes.bool_or(&format!("{p}.enabled"), true);
                w.containers.push(ContainerView {
                    name: name.clone(),
                    image,
                    init,
                    resources: resources(c.at("resources")),
                    liveness: probe("liveness"),
                    readiness: probe("readiness"),
                    privileged: c.bool_or("securityContext.privileged", false),
                    env: env(c.at("env")),
                    args: ["command", "args"]
                        .iter()
                        .flat_map(|k| match c.get(k) {
                            Some(Value::Array(a)) => {
                                a.iter().filter_map(|x| Values(x).str("")).collect()
                            }
                            Some(Value::String(s)) => vec![s.clone()],
                            _ => Vec::new(),
                        })
                        .collect(),
                    ..ContainerView::default()
                });
            }
        }
        app_template_ports(cx, cname, &mut w);
        app_template_persistence(cx, cname, &mut w);
        out.push(w);
    }
    out
}

/// Service ports of services that select this controller (all of them when only one exists).
fn app_template_ports(cx: &Release, cname: &str, w: &mut Workload) {
    let single = cx.values.map("controllers").len() == 1;
    for (_, svc) in cx.values.map("service") {
        if !svc.bool_or("enabled", true) {
            continue;
        }
        let selects = match svc.str("controller") {
            Some(c) => c == cname,
            None => single,
        };
        if !selects {
            continue;
        }
        for (_, p) in svc.map("ports") {
            let port = p.int_or("targetPort", p.int_or("port", 0));
            if let (Ok(port), Some(c)) = (
                u16::try_from(port),
                w.containers.iter_mut().find(|c| !c.init),
            ) {
                c.ports.push(PortView {
                    port,
                    protocol: p.str("protocol").unwrap_or_else(|| "TCP".into()),
                    host: w.host_network,
                });
            }
        }
    }
}

/// Persistence items mount into every controller unless `advancedMounts` names others.
fn app_template_persistence(cx: &Release, cname: &str, w: &mut Workload) {
    for (pname, p) in cx.values.map("persistence") {
        if !p.bool_or("enabled", true) {
            continue;
        }
        let applies = match p.get("advancedMounts") {
            Some(Value::Object(adv)) if p.get("globalMounts").is_none() => adv.contains_key(cname),
            _ => true,
        };
        if !applies {
            continue;
        }
        let source = match p.str("type").as_deref().unwrap_or("persistentVolumeClaim") {
            "persistentVolumeClaim" => match p.str("existingClaim") {
                Some(c) => VolumeSource::Pvc(c),
                None => persistence(
                    true,
                    None,
                    format!("{}-{pname}", cx.name),
                    p,
                    "storageClass",
                    "1Gi",
                ),
            },
            "nfs" => VolumeSource::Nfs {
                server: p.str("server").unwrap_or_default(),
                path: p.str("path").unwrap_or_default(),
            },
            "emptyDir" if p.str("medium").as_deref() == Some("Memory") => VolumeSource::Tmpfs,
            "emptyDir" => VolumeSource::EmptyDir,
            "hostPath" => VolumeSource::HostPath(p.str("hostPath").unwrap_or_default()),
            "configMap" => VolumeSource::ConfigMap(
                p.str("name")
                    .or_else(|| p.str("identifier"))
                    .unwrap_or_default(),
            ),
            "secret" => VolumeSource::Secret(
                p.str("name")
                    .or_else(|| p.str("identifier"))
                    .unwrap_or_default(),
            ),
            _ => VolumeSource::Other,
        };
        let mounts = |list: Option<&Value>| -> Vec<String> {
            match list {
                Some(Value::Array(ms)) => ms
                    .iter()
                    .map(|m| Values(m).str("path").unwrap_or_else(|| format!("/{pname}")))
                    .collect(),
                _ => Vec::new(),
            }
        };
        // advancedMounts: controller → container → [mounts]; globalMounts: every container.
        let advanced = p.at("advancedMounts").at(cname);
        let default_paths = if p.get("globalMounts").is_some() {
            mounts(p.get("globalMounts"))
        } else if p.get("advancedMounts").is_some() {
            Vec::new()
        } else {
            vec![p
                .str("hostPath")
                .filter(|_| p.str("type").as_deref() == Some("hostPath"))
                .unwrap_or_else(|| format!("/{pname}"))]
        };
        for c in w.containers.iter_mut() {
            let mut paths = if c.init {
                Vec::new()
            } else {
                default_paths.clone()
            };
            paths.extend(mounts(advanced.get(&c.name)));
            for path in paths {
                c.mounts.push((pname.clone(), path));
            }
        }
        w.volumes.push(VolumeView {
            name: pname.clone(),
            source,
        });
    }
}

/// influxdata/influxdb2: one StatefulSet, data on `persistence`.
fn influxdb2(cx: &Release) -> Workload {
    let v = cx.values;
    let mut w = cx.workload(WorkloadKind::StatefulSet, cx.name);
    pod_options(&mut w, v, "podAnnotations");
    let mut c = chart_container(
        "influxdb2",
        v.at("image"),
        "influxdb",
        v.at("resources"),
        (true, true),
    );
    c.env = env(v.at("env"));
    c.privileged = v.bool_or("securityContext.privileged", false);
    c.ports.push(PortView {
        port: 8086,
        protocol: "TCP".into(),
        host: false,
    });
    w.containers.push(c);
    let p = v.at("persistence");
    let existing = p
        .bool_or("useExisting", false)
        .then(|| p.str("name"))
        .flatten();
    // The chart names its claim with its fullname: `<release>-influxdb2` unless the release's
    // name already holds the chart's.
    let claim = if v.str("fullnameOverride").is_some() || cx.name.contains("influxdb2") {
        cx.name.to_owned()
    } else {
        format!("{}-influxdb2", cx.name)
    };
    let data = persistence(
        p.bool_or("enabled", true),
        existing,
        claim,
        p,
        "storageClass",
        "50Gi",
    );
    let path = p
        .str("mountPath")
        .unwrap_or_else(|| "/var/lib/influxdb2".into());
    mount(&mut w, "data", data, &path);
    w
}

/// Bitnami's `resourcesPreset` sizes: (requests cpu, memory; limits cpu, memory).
fn bitnami_preset(name: &str) -> Option<Resources> {
    let (rc, rm, lc, lm) = match name {
        "nano" => ("100m", "128Mi", "150m", "192Mi"),
        "micro" => ("250m", "256Mi", "375m", "384Mi"),
        "small" => ("500m", "512Mi", "750m", "768Mi"),
        "medium" => ("500m", "1024Mi", "750m", "1536Mi"),
        "large" => ("1", "2048Mi", "1.5", "3072Mi"),
        "xlarge" => ("1", "3072Mi", "3", "6144Mi"),
        "2xlarge" => ("1", "3072Mi", "6", "12288Mi"),
        _ => return None,
    };
    Some(Resources {
        cpu_request: Some(rc.into()),
        memory_request: Some(rm.into()),
        cpu_limit: Some(lc.into()),
        memory_limit: Some(lm.into()),
    })
}

/// Resources of a Bitnami component: `resources` when set, else its `resourcesPreset`.
fn bitnami_resources(v: Values, default_preset: &str) -> Resources {
    match v.get("resources") {
        Some(Value::Object(m)) if !m.is_empty() => resources(v.at("resources")),
        _ => bitnami_preset(
            &v.str("resourcesPreset")
                .unwrap_or_else(|| default_preset.into()),
        )
        .unwrap_or_default(),
    }
}

/// bitnami/postgresql (standalone): the primary StatefulSet, data on `primary.persistence`.
fn bitnami_postgresql(cx: &Release) -> Workload {
    let v = cx.values;
    let primary = v.at("primary");
    let name = match v.str("fullnameOverride") {
        Some(n) => n,
        None if cx.release.contains("postgresql") => cx.release.to_owned(),
        None => format!("{}-postgresql", cx.release),
    };
    let mut w = cx.workload(WorkloadKind::StatefulSet, &name);
    pod_options(&mut w, primary, "podAnnotations");
    let (image, image_from_chart) = chart_image(v.at("image"), "bitnami/postgresql");
    let mut c = ContainerView {
        name: "postgresql".into(),
        image,
        image_from_chart,
        resources: bitnami_resources(primary, "nano"),
        liveness: primary.bool_or("livenessProbe.enabled", true),
        readiness: primary.bool_or("readinessProbe.enabled", true),
        privileged: primary.bool_or("containerSecurityContext.privileged", false),
        env: env(primary.at("extraEnvVars")),
        ..ContainerView::default()
    };
    c.ports.push(PortView {
        port: 5432,
        protocol: "TCP".into(),
        host: false,
    });
    w.containers.push(c);
    if v.bool_or("metrics.enabled", false) {
        let mut exporter = sidecar(
            "metrics",
            v.at("metrics.image"),
            "bitnami/postgres-exporter",
            v.at("metrics.resources"),
        );
        exporter.resources = bitnami_resources(v.at("metrics"), "nano");
        w.containers.push(exporter);
    }
    let p = primary.at("persistence");
    let data = persistence(
        p.bool_or("enabled", true),
        p.str("existingClaim"),
        format!("data-{name}-0"),
        p,
        "storageClass",
        "8Gi",
    );
    let path = p
        .str("mountPath")
        .unwrap_or_else(|| "/bitnami/postgresql".into());
    mount(&mut w, "data", data, &path);
    w
}

/// grafana/loki: single binary (or simple scalable) plus the gateway, caches and canary the
/// chart turns on by default.
fn loki(cx: &Release) -> Result<Vec<Workload>, String> {
    let v = cx.values;
    let image = v.at("loki.image");
    let mode = v
        .str("deploymentMode")
        .unwrap_or_else(|| "SimpleScalable".into());
    let targets: &[&str] = match mode.as_str() {
        "SingleBinary" => &["singleBinary"],
        "SimpleScalable" => &["read", "write", "backend"],
        other => {
            return Err(format!(
                "hapl reads Loki's SingleBinary and SimpleScalable modes, not `{other}`"
            ))
        }
    };
    let mut out = Vec::new();
    for target in targets {
        let t = v.at(target);
        let default_replicas = if *target == "singleBinary" { 1 } else { 3 };
        let replicas = t.int_or("replicas", default_replicas);
        if replicas == 0 {
            continue;
        }
        let name = if *target == "singleBinary" {
            cx.name.to_owned()
        } else {
            format!("{}-{target}", cx.name)
        };
        let mut w = cx.workload(WorkloadKind::StatefulSet, &name);
        w.replicas = replicas as i32;
        pod_options(&mut w, t, "podAnnotations");
        let mut c = chart_container(
            "loki",
            image,
            "grafana/loki",
            t.at("resources"),
            (v.set("loki.livenessProbe"), true),
        );
        c.ports.push(PortView {
            port: 3100,
            protocol: "TCP".into(),
            host: false,
        });
        w.containers.push(c);
        if *target != "read" && v.bool_or("sidecar.rules.enabled", true) {
            w.containers.push(sidecar(
                "loki-sc-rules",
                v.at("sidecar.image"),
                "kiwigrid/k8s-sidecar",
                v.at("sidecar.resources"),
            ));
        }
        let p = t.at("persistence");
        let data = persistence(
            p.bool_or("enabled", true),
            p.str("existingClaim"),
            "storage".into(),
            p,
            "storageClass",
            "10Gi",
        );
        mount(&mut w, "storage", data, "/var/loki");
        out.push(w);
    }
    let extras: [(&str, &str, &str, WorkloadKind); 4] = [
        (
            "gateway",
            "gateway",
            "nginxinc/nginx-unprivileged",
            WorkloadKind::Deployment,
        ),
        (
            "chunksCache",
            "chunks-cache",
            "memcached",
            WorkloadKind::StatefulSet,
        ),
        (
            "resultsCache",
            "results-cache",
            "memcached",
            WorkloadKind::StatefulSet,
        ),
        (
            "lokiCanary",
            "canary",
            "grafana/loki-canary",
            WorkloadKind::DaemonSet,
        ),
    ];
    for (key, suffix, repo, kind) in extras {
        let e = v.at(key);
        if !e.bool_or("enabled", true) {
            continue;
        }
        let mut w = cx.workload(kind, &format!("{}-{suffix}", cx.name));
        if kind != WorkloadKind::DaemonSet {
            w.replicas = e.int_or("replicas", 1) as i32;
        }
        pod_options(&mut w, e, "podAnnotations");
        let mut c = chart_container(suffix, e.at("image"), repo, e.at("resources"), (true, true));
        if key.ends_with("Cache") && e.get("resources").is_none() {
            // The chart sizes memcached from `allocatedMemory` (MB) when no resources are set.
            let mb = e.int_or(
                "allocatedMemory",
                if key == "chunksCache" { 8192 } else { 1024 },
            );
            let memory = format!("{}Mi", mb * 6 / 5);
            c.resources.memory_request = Some(memory.clone());
            c.resources.memory_limit = Some(memory);
        }
        w.containers.push(c);
        out.push(w);
    }
    Ok(out)
}

/// grafana/grafana: one Deployment; its database and plugins live on `persistence`.
fn grafana(cx: &Release) -> Workload {
    let v = cx.values;
    let mut w = cx.workload(WorkloadKind::Deployment, cx.name);
    w.replicas = v.int_or("replicas", 1) as i32;
    w.strategy = Some(
        v.str("deploymentStrategy.type")
            .unwrap_or_else(|| "RollingUpdate".into()),
    );
    pod_options(&mut w, v, "podAnnotations");
    let persistent = v.bool_or("persistence.enabled", false);
    if persistent && v.bool_or("initChownData.enabled", true) {
        let mut init = chart_container(
            "init-chown-data",
            v.at("initChownData.image"),
            "library/busybox",
            v.at("initChownData.resources"),
            (false, false),
        );
        init.init = true;
        w.containers.push(init);
    }
    let mut c = chart_container(
        "grafana",
        v.at("image"),
        "grafana/grafana",
        v.at("resources"),
        (
            v.get("livenessProbe").is_none() || v.set("livenessProbe"),
            v.get("readinessProbe").is_none() || v.set("readinessProbe"),
        ),
    );
    c.env = env(v.at("env"));
    c.privileged = v.bool_or("securityContext.privileged", false);
    w.containers.push(c);
    for kind in [
        "dashboards",
        "datasources",
        "notifiers",
        "alerts",
        "plugins",
    ] {
        if v.bool_or(&format!("sidecar.{kind}.enabled"), false) {
            w.containers.push(sidecar(
                &format!("grafana-sc-{kind}"),
                v.at("sidecar.image"),
                "kiwigrid/k8s-sidecar",
                v.at("sidecar.resources"),
            ));
        }
    }
    let p = v.at("persistence");
    let data = persistence(
        persistent,
        p.str("existingClaim"),
        cx.name.to_owned(),
        p,
        "storageClassName",
        "10Gi",
    );
    mount(&mut w, "storage", data, "/var/lib/grafana");
    w
}

/// prometheus-community/prometheus: the server plus the subcharts it enables by default.
fn prometheus(cx: &Release) -> Vec<Workload> {
    let v = cx.values;
    let s = v.at("server");
    let kind = if s.bool_or("statefulSet.enabled", false) {
        WorkloadKind::StatefulSet
    } else {
        WorkloadKind::Deployment
    };
    let mut w = cx.workload(kind, &format!("{}-server", cx.name));
    w.replicas = s.int_or("replicaCount", 1) as i32;
    if kind == WorkloadKind::Deployment {
        w.strategy = Some(s.str("strategy.type").unwrap_or_else(|| "Recreate".into()));
    }
    pod_options(&mut w, s, "podAnnotations");
    w.host_network = s.bool_or("hostNetwork", false);
    if v.bool_or("configmapReload.prometheus.enabled", true) {
        w.containers.push(sidecar(
            "prometheus-server-configmap-reload",
            v.at("configmapReload.prometheus.image"),
            "quay.io/prometheus-operator/prometheus-config-reloader",
            v.at("configmapReload.prometheus.resources"),
        ));
    }
    let mut c = chart_container(
        "prometheus-server",
        s.at("image"),
        "quay.io/prometheus/prometheus",
        s.at("resources"),
        (true, true),
    );
    c.ports.push(PortView {
        port: 9090,
        protocol: "TCP".into(),
        host: w.host_network,
    });
    w.containers.push(c);
    let p = s.at("persistentVolume");
    let data = persistence(
        p.bool_or("enabled", true),
        p.str("existingClaim"),
        format!("{}-server", cx.name),
        p,
        "storageClass",
        "8Gi",
    );
    let path = p.str("mountPath").unwrap_or_else(|| "/data".into());
    mount(&mut w, "storage-volume", data, &path);
    let mut out = vec![w];
    let subcharts: [(&str, &str, &str, WorkloadKind); 4] = [
        (
            "alertmanager",
            "alertmanager",
            "quay.io/prometheus/alertmanager",
            WorkloadKind::StatefulSet,
        ),
        (
            "kube-state-metrics",
            "kube-state-metrics",
            "registry.k8s.io/kube-state-metrics/kube-state-metrics",
            WorkloadKind::Deployment,
        ),
        (
            "prometheus-node-exporter",
            "prometheus-node-exporter",
            "quay.io/prometheus/node-exporter",
            WorkloadKind::DaemonSet,
        ),
        (
            "prometheus-pushgateway",
            "prometheus-pushgateway",
            "quay.io/prometheus/pushgateway",
            WorkloadKind::Deployment,
        ),
    ];
    for (key, suffix, repo, kind) in subcharts {
        let sub = v.at(key);
        if !sub.bool_or("enabled", true) {
            continue;
        }
        let mut w = cx.workload(kind, &format!("{}-{suffix}", cx.release));
        w.chart = Some(key.to_owned());
        pod_options(&mut w, sub, "podAnnotations");
        let mut c = chart_container(
            suffix,
            sub.at("image"),
            repo,
            sub.at("resources"),
            (true, true),
        );
        if key == "prometheus-node-exporter" {
            w.host_network = sub.bool_or("hostNetwork", true);
            c.ports.push(PortView {
                port: sub.int_or("service.port", 9100) as u16,
                protocol: "TCP".into(),
                host: true,
            });
        }
        if key == "alertmanager" {
            let p = sub.at("persistence");
            let data = persistence(
                p.bool_or("enabled", true),
                None,
                "storage".into(),
                p,
                "storageClass",
                "2Gi",
            );
            w.containers.push(c);
            mount(&mut w, "storage", data, "/alertmanager");
        } else {
            w.containers.push(c);
        }
        out.push(w);
    }
    out
}

/// grafana/alloy: a DaemonSet (or the controller type chosen) with the config reloader.
fn alloy(cx: &Release) -> Workload {
    let v = cx.values;
    let kind = match v.str("controller.type").as_deref() {
        Some("deployment") => WorkloadKind::Deployment,
        Some("statefulset") => WorkloadKind::StatefulSet,
        _ => WorkloadKind::DaemonSet,
    };
    let mut w = cx.workload(kind, cx.name);
    if kind != WorkloadKind::DaemonSet {
        w.replicas = v.int_or("controller.replicas", 1) as i32;
    }
    pod_options(&mut w, v.at("controller"), "podAnnotations");
    w.host_network = v.bool_or("controller.hostNetwork", false);
    let a = v.at("alloy");
    let mut c = chart_container(
        "alloy",
        v.at("image"),
        "grafana/alloy",
        a.at("resources"),
        (a.set("livenessProbe"), true),
    );
    c.env = env(a.at("extraEnv"));
    c.privileged = a.bool_or("securityContext.privileged", false);
    c.ports.push(PortView {
        port: a.int_or("listenPort", 12345) as u16,
        protocol: "TCP".into(),
        host: w.host_network,
    });
    w.containers.push(c);
    if v.bool_or("configReloader.enabled", true) {
        w.containers.push(sidecar(
            "config-reloader",
            v.at("configReloader.image"),
            "quay.io/prometheus-operator/prometheus-config-reloader",
            v.at("configReloader.resources"),
        ));
    }
    if a.bool_or("mounts.varlog", false) {
        mount(
            &mut w,
            "varlog",
            VolumeSource::HostPath("/var/log".into()),
            "/var/log",
        );
    }
    w
}

/// grafana/promtail: a DaemonSet reading the node's pod logs.
fn promtail(cx: &Release) -> Workload {
    let v = cx.values;
    let kind = if v.bool_or("deployment.enabled", false) {
        WorkloadKind::Deployment
    } else {
        WorkloadKind::DaemonSet
    };
    let mut w = cx.workload(kind, cx.name);
    pod_options(&mut w, v, "podAnnotations");
    w.host_network = v.bool_or("hostNetwork", false);
    let mut c = chart_container(
        "promtail",
        v.at("image"),
        "grafana/promtail",
        v.at("resources"),
        (v.set("livenessProbe"), true),
    );
    c.env = env(v.at("extraEnv"));
    w.containers.push(c);
    for (name, path) in [
        ("run", "/run/promtail"),
        ("containers", "/var/lib/docker/containers"),
        ("pods", "/var/log/pods"),
    ] {
        mount(&mut w, name, VolumeSource::HostPath(path.into()), path);
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Resource;
    use serde_json::json;

    fn release(chart: &str, values: Value) -> Workloads {
        let r = Resource::from_value(json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "rel", "namespace": "ns", "labels": {"team": "home"}},
            "spec": {"interval": "1h", "chart": {"spec": {"chart": chart, "version": "1.0.0",
                     "sourceRef": {"kind": "HelmRepository", "name": "r"}}}, "values": values}
        }))
        .unwrap();
        super::super::workloads(&[&r])
    }

    #[test]
    fn app_template_controllers_become_workloads_with_mounts_and_devices() {
        let ws = release(
            "app-template",
            json!({
                "controllers": {
                    "main": {"strategy": "Recreate",
                        "pod": {"nodeSelector": {"kubernetes.io/hostname": "pi5"}},
                        "containers": {"app": {
                            "image": {"repository": "ghcr.io/koenkk/zigbee2mqtt", "tag": "2.6.3"},
                            "resources": {"requests": {"cpu": "50m", "memory": "128Mi"},
                                          "limits": {"memory": "256Mi"}},
                            "probes": {"liveness": {"enabled": false}},
                            "env": {"TZ": "Europe/Berlin", "MQTT_PASSWORD": {"valueFrom": {"secretKeyRef": {"name": "m", "key": "p"}}}}}}},
                    "backup": {"type": "cronjob", "labels": {"hapl.dev/backup-of": "zigbee2mqtt"},
                        "containers": {"app": {"image": {"repository": "alpine", "tag": "3.22"}}}}
                },
                "persistence": {
                    "data": {"existingClaim": "z2m-data", "globalMounts": [{"path": "/app/data"}]},
                    "usb": {"type": "hostPath", "hostPath": "/dev/ttyUSB0",
                            "advancedMounts": {"main": {"app": [{"path": "/dev/ttyUSB0"}]}}},
                    "cache": {"type": "emptyDir", "enabled": false}
                },
                "service": {"app": {"controller": "main", "ports": {"http": {"port": 8080}}}}
            }),
        );
        assert!(ws.uninspected.is_empty());
        let [main, backup] = &ws.workloads[..] else {
            panic!("{:?}", ws.workloads)
        };
        assert_eq!(main.name, "rel");
        assert_eq!(main.kind, WorkloadKind::Deployment);
        assert_eq!(main.strategy.as_deref(), Some("Recreate"));
        assert!(main.pinned_to_node);
        assert_eq!(main.role(), Some("zigbee2mqtt"));
        assert_eq!(main.labels["team"], "home");
        let c = &main.containers[0];
        assert_eq!(c.image, "ghcr.io/koenkk/zigbee2mqtt:2.6.3");
        assert_eq!(c.resources.cpu_limit, None);
        assert_eq!(c.resources.memory_limit.as_deref(), Some("256Mi"));
        assert!(!c.liveness && c.readiness);
        assert_eq!(c.env[1], ("MQTT_PASSWORD".into(), EnvValue::FromSecret));
        assert_eq!(
            c.mounts,
            vec![
                ("data".into(), "/app/data".into()),
                ("usb".into(), "/dev/ttyUSB0".into())
            ]
        );
        assert_eq!(c.ports[0].port, 8080);
        assert_eq!(
            main.volumes
                .iter()
                .filter_map(|v| v.device())
                .collect::<Vec<_>>(),
            ["/dev/ttyUSB0"]
        );
        assert_eq!(backup.name, "rel-backup");
        assert_eq!(backup.kind, WorkloadKind::CronJob);
        assert_eq!(backup.labels["hapl.dev/backup-of"], "zigbee2mqtt");
        // The device is mounted only where advancedMounts says.
        assert!(backup.containers[0].mounts.iter().all(|(v, _)| v != "usb"));
    }

    #[test]
    fn influxdb2_reads_image_resources_and_existing_claim() {
        let ws = release(
            "influxdb2",
            json!({
                "image": {"tag": "2.7.12"},
                "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}},
                "persistence": {"useExisting": true, "name": "influxdb-data"},
                "adminUser": {"retention_policy": "0s"}
            }),
        );
        let w = &ws.workloads[0];
        assert_eq!(w.kind, WorkloadKind::StatefulSet);
        assert_eq!(w.role(), Some("influxdb"));
        assert_eq!(w.containers[0].image, "influxdb:2.7.12");
        assert!(!w.containers[0].image_from_chart);
        assert_eq!(
            w.volume("data"),
            Some(&VolumeSource::Pvc("influxdb-data".into()))
        );
        // Without useExisting the chart makes its own 50Gi claim on the default class.
        let ws = release("influxdb2", json!({}));
        assert!(ws.workloads[0].containers[0].image_from_chart);
        assert_eq!(
            ws.workloads[0].volume("data"),
            Some(&VolumeSource::NewClaim(NewClaim {
                name: "rel-influxdb2".into(),
                storage_class: None,
                size: Some("50Gi".into()),
                read_write_once: true
            }))
        );
    }

    #[test]
    fn bitnami_postgresql_reads_presets_persistence_and_metrics() {
        let ws = release(
            "postgresql",
            json!({"image": {"tag": "16.4.0-debian-12-r0"},
                   "primary": {"persistence": {"existingClaim": "postgresql-data"}},
                   "metrics": {"enabled": true, "resources": {"limits": {"memory": "64Mi"}}}}),
        );
        let w = &ws.workloads[0];
        assert_eq!(w.name, "rel-postgresql");
        assert_eq!(w.role(), Some("postgresql"));
        assert_eq!(
            w.containers[0].image,
            "bitnami/postgresql:16.4.0-debian-12-r0"
        );
        // No resources: the chart's default preset `nano`.
        assert_eq!(
            w.containers[0].resources.memory_limit.as_deref(),
            Some("192Mi")
        );
        assert_eq!(
            w.containers[1].resources.memory_limit.as_deref(),
            Some("64Mi")
        );
        assert_eq!(w.containers[1].resources.cpu_request, None);
        assert_eq!(
            w.volume("data"),
            Some(&VolumeSource::Pvc("postgresql-data".into()))
        );
        let none = release(
            "postgresql",
            json!({"primary": {"resourcesPreset": "none"}}),
        );
        assert_eq!(
            none.workloads[0].containers[0].resources,
            Resources::default()
        );
    }

    #[test]
    fn loki_single_binary_and_the_extras_it_turns_on_by_default() {
        let ws = release(
            "loki",
            json!({
                "deploymentMode": "SingleBinary",
                "loki": {"image": {"tag": "3.5.3"}},
                "singleBinary": {"replicas": 1, "resources": {"limits": {"memory": "1Gi"}},
                                 "persistence": {"storageClass": "nfs-storage", "size": "20Gi"}},
                "gateway": {"enabled": false}
            }),
        );
        let names: Vec<&str> = ws.workloads.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(
            names,
            ["rel", "rel-chunks-cache", "rel-results-cache", "rel-canary"]
        );
        let main = &ws.workloads[0];
        assert_eq!(main.containers[0].image, "grafana/loki:3.5.3");
        assert!(!main.containers[0].liveness && main.containers[0].readiness);
        assert_eq!(main.containers[1].name, "loki-sc-rules");
        let VolumeSource::NewClaim(claim) = main.volume("storage").unwrap() else {
            panic!()
        };
        assert_eq!(claim.storage_class.as_deref(), Some("nfs-storage"));
        // memcached sized from the default allocatedMemory (8192 MB): the Pi's whole memory.
        assert_eq!(
            ws.workloads[1].containers[0]
                .resources
                .memory_request
                .as_deref(),
            Some("9830Mi")
        );
        let distributed = release("loki", json!({"deploymentMode": "Distributed"}));
        assert!(distributed.workloads.is_empty());
        assert_eq!(distributed.uninspected.len(), 1);
    }

    #[test]
    fn grafana_without_persistence_keeps_its_database_in_an_empty_dir() {
        let ws = release("grafana", json!({"adminPassword": "admin"}));
        let w = &ws.workloads[0];
        assert_eq!(w.role(), Some("grafana"));
        assert_eq!(w.volume("storage"), Some(&VolumeSource::EmptyDir));
        assert_eq!(w.strategy.as_deref(), Some("RollingUpdate"));
        let ws = release(
            "grafana",
            json!({"persistence": {"enabled": true, "existingClaim": "grafana-data"},
                   "sidecar": {"dashboards": {"enabled": true}, "resources": {"limits": {"cpu": "50m"}}}}),
        );
        let names: Vec<&str> = ws.workloads[0]
            .containers
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(
            names,
            ["init-chown-data", "grafana", "grafana-sc-dashboards"]
        );
        assert!(ws.workloads[0].containers[0].init);
        assert_eq!(
            ws.workloads[0].volume("storage"),
            Some(&VolumeSource::Pvc("grafana-data".into()))
        );
    }

    #[test]
    fn prometheus_has_its_server_and_the_default_subcharts() {
        let ws = release(
            "prometheus",
            json!({"server": {"persistentVolume": {"existingClaim": "prom"}},
                   "alertmanager": {"enabled": false}, "prometheus-pushgateway": {"enabled": false}}),
        );
        let names: Vec<&str> = ws.workloads.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "rel-server",
                "rel-kube-state-metrics",
                "rel-prometheus-node-exporter"
            ]
        );
        let server = &ws.workloads[0];
        assert_eq!(server.strategy.as_deref(), Some("Recreate"));
        assert_eq!(
            server.volume("storage-volume"),
            Some(&VolumeSource::Pvc("prom".into()))
        );
        let exporter = &ws.workloads[2];
        assert!(exporter.host_network);
        assert_eq!(exporter.role(), Some("node-exporter"));
        assert_eq!(
            exporter.containers[0].ports[0],
            PortView {
                port: 9100,
                protocol: "TCP".into(),
                host: true
            }
        );
    }

    #[test]
    fn alloy_and_promtail_are_log_collectors_on_every_node() {
        let ws = release(
            "alloy",
            json!({"alloy": {"mounts": {"varlog": true}, "resources": {"requests": {"cpu": "10m"}}}}),
        );
        let w = &ws.workloads[0];
        assert_eq!(w.kind, WorkloadKind::DaemonSet);
        assert_eq!(w.role(), Some("log-collector"));
        assert_eq!(w.containers.len(), 2);
        assert_eq!(
            w.volume("varlog"),
            Some(&VolumeSource::HostPath("/var/log".into()))
        );
        let ws = release("promtail", json!({"image": {"tag": "3.5.1"}}));
        assert_eq!(
            ws.workloads[0].containers[0].image,
            "grafana/promtail:3.5.1"
        );
        assert_eq!(ws.workloads[0].kind, WorkloadKind::DaemonSet);
    }

    #[test]
    fn unknown_charts_are_listed_and_infrastructure_charts_are_not() {
        let ws = release("mosquitto", json!({}));
        assert!(ws.workloads.is_empty());
        assert_eq!(ws.uninspected[0].chart, "mosquitto");
        let ws = release("cert-manager", json!({}));
        assert!(ws.workloads.is_empty() && ws.uninspected.is_empty());
        assert_eq!(ws.infrastructure, [0]);
    }
}
