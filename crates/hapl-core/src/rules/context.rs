//! What rules look at, computed once per check: workloads with roles, generated
//! configuration, claims and classes.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::api::storage::v1::StorageClass;
use serde_json::Value;
use serde_yaml::Value as Yaml;

use super::config::yaml;
use super::Settings;
use crate::platform::Platform;
use crate::resource::Resource;
use crate::workload::{self, VolumeSource, Workload, Workloads};

/// The label that marks a ConfigMap of generated upstream configuration.
pub const CONFIG_LABEL: &str = "hapl.dev/config";

/// A configuration text found in the platform: a ConfigMap key, or a document inside chart
/// values.
#[derive(Debug, Clone)]
pub struct ConfigText {
    /// The object holding it.
    pub object: usize,
    /// `home-assistant`, `zigbee2mqtt`, `mosquitto`, `postgresql`, `loki`, ...
    pub format: String,
    pub text: String,
}

pub struct Context<'a> {
    pub platform: &'a Platform,
    pub settings: &'a Settings,
    pub resources: Vec<&'a Resource>,
    pub workloads: Workloads,
    pub configs: Vec<ConfigText>,
    /// Home Assistant configuration documents (packages, configuration.yaml, chart values).
    pub ha_docs: Vec<(usize, Yaml)>,
    /// (namespace, name) → object index of every PersistentVolumeClaim.
    claims: BTreeMap<(&'a str, &'a str), usize>,
}

impl<'a> Context<'a> {
    pub fn new(platform: &'a Platform, settings: &'a Settings) -> Self {
        let resources: Vec<&Resource> = platform.objects.iter().map(|o| &o.resource).collect();
        let workloads = workload::workloads(&resources);
        let mut configs = find_configs(&resources);
        // Bitnami's PostgreSQL chart takes postgresql.conf lines in its values.
        for (i, v) in super::charts_values_of(&resources, "postgresql") {
            for key in ["primary.configuration", "primary.extendedConfiguration"] {
                if let Some(text) = v.str(key) {
                    configs.push(ConfigText {
                        object: i,
                        format: "postgresql".into(),
                        text,
                    });
                }
            }
        }
        let mut ha_docs = Vec::new();
        for c in &configs {
            if c.format == "home-assistant" {
                if let Some(doc) = yaml(&c.text) {
                    ha_docs.push((c.object, doc));
                }
            }
        }
        for (i, r) in resources.iter().enumerate() {
            if let Resource::HelmRelease(hr) = r {
                if let Some(values) = &hr.spec.values {
                    find_ha_docs(i, values, &mut ha_docs);
                }
            }
        }
        let claims = resources
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r, Resource::PersistentVolumeClaim(_)))
            .map(|(i, r)| ((r.namespace().unwrap_or("default"), r.name()), i))
            .collect();
        Context {
            platform,
            settings,
            resources,
            workloads,
            configs,
            ha_docs,
            claims,
        }
    }

    /// Workloads with this role.
    pub fn role(&self, role: &str) -> impl Iterator<Item = &Workload> + '_ {
        let role = role.to_owned();
        self.workloads
            .workloads
            .iter()
            .filter(move |w| w.role() == Some(role.as_str()))
    }

    pub fn has_role(&self, role: &str) -> bool {
        self.role(role).next().is_some()
    }

    /// Configuration texts of one format.
    pub fn configs(&self, format: &str) -> impl Iterator<Item = &ConfigText> + '_ {
        let format = format.to_owned();
        self.configs.iter().filter(move |c| c.format == format)
    }

    pub fn pvc(&self, namespace: &str, name: &str) -> Option<(usize, &'a PersistentVolumeClaim)> {
        let i = *self.claims.get(&(namespace, name))?;
        match self.resources[i] {
            Resource::PersistentVolumeClaim(p) => Some((i, &**p)),
            _ => None,
        }
    }

    pub fn storage_classes(&self) -> impl Iterator<Item = (usize, &'a StorageClass)> + '_ {
        self.resources
            .iter()
            .enumerate()
            .filter_map(|(i, r)| match r {
                Resource::StorageClass(s) => Some((i, &**s)),
                _ => None,
            })
    }

    /// The classes marked as the cluster default.
    pub fn default_classes(&self) -> Vec<(usize, &'a StorageClass)> {
        self.storage_classes()
            .filter(|(_, sc)| {
                sc.metadata.annotations.iter().flatten().any(|(k, v)| {
                    (k == "storageclass.kubernetes.io/is-default-class"
                        || k == "storageclass.beta.kubernetes.io/is-default-class")
                        && v == "true"
                })
            })
            .collect()
    }

    /// Whether claims of a class land on the NAS: `Some(true)` NFS, `Some(false)` node-local,
    /// `None` when hapl cannot tell (the class is not part of the platform).
    pub fn class_on_nas(&self, class: Option<&str>) -> (Option<bool>, String) {
        let found = match class {
            Some(name) => self
                .storage_classes()
                .find(|(_, sc)| sc.metadata.name.as_deref() == Some(name)),
            None => self.default_classes().into_iter().next(),
        };
        let Some((_, sc)) = found else {
            return match class {
                Some(name) if name.contains("nfs") => (Some(true), name.to_owned()),
                Some(name) if LOCAL_CLASSES.contains(&name) => (Some(false), name.to_owned()),
                Some(name) => (None, name.to_owned()),
                // k3s's own default is local-path.
                None => (Some(false), "local-path (k3s's default class)".to_owned()),
            };
        };
        let name = sc.metadata.name.clone().unwrap_or_default();
        let nfs = sc.provisioner.contains("nfs")
            || sc
                .parameters
                .iter()
                .flatten()
                .any(|(k, _)| k == "server" || k == "nfsServer");
        (Some(nfs), name)
    }

    /// Whether a workload's volume keeps its data on the NAS, and what it is.
    pub fn volume_on_nas(&self, w: &Workload, source: &VolumeSource) -> (Option<bool>, String) {
        match source {
            VolumeSource::Pvc(claim) => match self.pvc(&w.namespace, claim) {
                Some((_, pvc)) => {
                    let spec = pvc.spec.as_ref();
                    if let Some(pv) = spec.and_then(|s| s.volume_name.as_deref()) {
                        if let Some(on_nas) = self.pv_on_nas(pv) {
                            return (Some(on_nas), format!("claim `{claim}` (volume `{pv}`)"));
                        }
                    }
                    let (nas, class) =
                        self.class_on_nas(spec.and_then(|s| s.storage_class_name.as_deref()));
                    (nas, format!("claim `{claim}` on class `{class}`"))
                }
                None => (
                    None,
                    format!("claim `{claim}`, which the platform does not declare"),
                ),
            },
            VolumeSource::NewClaim(c) => {
                let (nas, class) = self.class_on_nas(c.storage_class.as_deref());
                (nas, format!("claim `{}` on class `{class}`", c.name))
            }
            VolumeSource::Nfs { server, path } => (Some(true), format!("NFS `{server}:{path}`")),
            VolumeSource::EmptyDir => (Some(false), "an emptyDir (gone when the pod goes)".into()),
            VolumeSource::HostPath(p) => {
                (Some(false), format!("the node's disk at `{p}` (hostPath)"))
            }
            other => (None, format!("{other:?}")),
        }
    }

    fn pv_on_nas(&self, name: &str) -> Option<bool> {
        self.resources.iter().find_map(|r| match r {
            Resource::PersistentVolume(pv) if r.name() == name => {
                let spec = pv.spec.as_ref()?;
                Some(
                    spec.nfs.is_some()
                        || spec.csi.as_ref().is_some_and(|c| c.driver.contains("nfs"))
                        || (spec.host_path.is_none() && spec.local.is_none() && {
                            let (nas, _) = self.class_on_nas(spec.storage_class_name.as_deref());
                            nas == Some(true)
                        }),
                )
            }
            _ => None,
        })
    }

    /// The path of a key (`recorder.db_url`) of the Home Assistant configuration held by
    /// `object`: inside a ConfigMap's file, or inside the release's values (a map, or a
    /// `configuration: |` text). See [`crate::Diagnostic::path`].
    pub fn text_path(&self, object: usize, key: &str) -> Option<String> {
        let top = key.split('.').next()?;
        match self.resources[object] {
            Resource::ConfigMap(cm) => cm
                .data
                .iter()
                .flatten()
                .find(|(_, text)| text.contains(&format!("{top}:")))
                .map(|(k, _)| format!("data[\"{k}\"]|{key}")),
            Resource::HelmRelease(hr) => {
                let base = config_path(hr.spec.values.as_ref()?, top)?;
                Some(format!("spec.values{base}{key}"))
            }
            _ => None,
        }
    }

    pub fn label<'b>(&'b self, object: usize, key: &str) -> Option<&'b str> {
        let meta = self.resources[object].metadata();
        meta.labels
            .as_ref()
            .and_then(|l| l.get(key))
            .or_else(|| meta.annotations.as_ref().and_then(|a| a.get(key)))
            .map(String::as_str)
    }
}

/// Where in `v` a configuration with top-level key `top` sits: `.a.b.` for a map at `a.b`,
/// `.a.b|` for a text at `a.b` (the separator to append the key with).
fn config_path(v: &Value, top: &str) -> Option<String> {
    match v {
        Value::Object(m) if m.contains_key(top) => Some(".".into()),
        Value::Object(m) => m.iter().find_map(|(k, c)| {
            let rest = config_path(c, top)?;
            let k = if k.contains('.') {
                format!("[\"{k}\"]")
            } else {
                format!(".{k}")
            };
            Some(format!("{k}{rest}"))
        }),
        Value::String(s) if s.contains(&format!("{top}:")) => Some("|".into()),
        _ => None,
    }
}

/// Node-local provisioners' usual class names.
const LOCAL_CLASSES: &[&str] = &[
    "local-path",
    "local-storage",
    "microk8s-hostpath",
    "hostpath",
];

/// Configuration texts: ConfigMaps labelled `hapl.dev/config`, and unlabelled ConfigMaps whose
/// keys are the well-known file names (hand-written repos).
fn find_configs(resources: &[&Resource]) -> Vec<ConfigText> {
    let mut out = Vec::new();
    for (i, r) in resources.iter().enumerate() {
        let Resource::ConfigMap(cm) = r else { continue };
        let labelled = cm
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(CONFIG_LABEL))
            .cloned();
        for (key, text) in cm.data.iter().flatten() {
            let format = match &labelled {
                Some(f) => f.clone(),
                None => match key.as_str() {
                    "mosquitto.conf" => "mosquitto".into(),
                    "postgresql.conf" => "postgresql".into(),
                    k if k.ends_with(".yaml") || k.ends_with(".yml") => {
                        match yaml(text).as_ref().and_then(Yaml::as_mapping) {
                            Some(m) if m.contains_key("serial") && m.contains_key("mqtt") => {
                                "zigbee2mqtt".into()
                            }
                            Some(m) if is_ha_doc(m) => "home-assistant".into(),
                            Some(m)
                                if m.contains_key("ingester")
                                    || m.contains_key("schema_config") =>
                            {
                                "loki".into()
                            }
                            _ => continue,
                        }
                    }
                    _ => continue,
                },
            };
            out.push(ConfigText {
                object: i,
                format,
                text: text.clone(),
            });
        }
    }
    out
}

fn is_ha_doc(m: &serde_yaml::Mapping) -> bool {
    !m.contains_key("serial")
        && (m.contains_key("recorder")
            || m.contains_key("homeassistant") && m.contains_key("http")
            || m.contains_key("default_config")
            || m.get("http").and_then(Yaml::as_mapping).is_some_and(|h| {
                h.contains_key("trusted_proxies") || h.contains_key("use_x_forwarded_for")
            }))
}

/// Home Assistant configuration inside chart values: maps that look like HA configuration,
/// and strings holding such YAML (`configuration: |`).
fn find_ha_docs(object: usize, v: &Value, out: &mut Vec<(usize, Yaml)>) {
    match v {
        Value::Object(m) => {
            if m.contains_key("recorder") && !m.contains_key("serial") {
                if let Ok(doc) = serde_yaml::to_value(v) {
                    out.push((object, doc));
                    return;
                }
            }
            for child in m.values() {
                find_ha_docs(object, child, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|c| find_ha_docs(object, c, out)),
        Value::String(s) if s.contains("recorder:") || s.contains("trusted_proxies") => {
            if let Some(doc) = yaml(s) {
                if doc.as_mapping().is_some_and(is_ha_doc) {
                    out.push((object, doc));
                }
            }
        }
        _ => {}
    }
}
