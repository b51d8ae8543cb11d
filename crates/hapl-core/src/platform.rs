//! The platform a script builds: declared hardware and the objects made for it.

use std::collections::BTreeMap;

use crate::diagnostic::{Diagnostic, Severity};
use crate::identity::Identity;
use crate::origin::Origin;
use crate::resource::Resource;

/// The node the platform runs on, as the script declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub arch: String,
    /// Millicores.
    pub cpu_millis: u64,
    /// Bytes.
    pub memory_bytes: u64,
}

/// The NAS the platform keeps its state on, as the script declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nas {
    pub name: String,
    /// Usable capacity in bytes.
    pub capacity_bytes: u64,
}

/// An object of the platform, named the way scripts and messages name it:
/// `Kind/namespace/name`, or `Kind/name` for cluster-scoped kinds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectRef {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    /// Parses `Kind/namespace/name` or `Kind/name`.
    pub fn parse(s: &str) -> Result<ObjectRef, String> {
        let parts: Vec<&str> = s.split('/').collect();
        if parts.iter().any(|p| p.trim().is_empty()) || !(2..=3).contains(&parts.len()) {
            return Err(format!(
                "`{s}` does not name an object; write `Kind/namespace/name` (e.g. `Deployment/homeassistant/home-assistant`) or `Kind/name` for cluster-wide kinds"
            ));
        }
        Ok(ObjectRef {
            kind: parts[0].to_owned(),
            namespace: (parts.len() == 3).then(|| parts[1].to_owned()),
            name: parts[parts.len() - 1].to_owned(),
        })
    }

    pub fn of(resource: &Resource) -> ObjectRef {
        ObjectRef {
            kind: resource.kind().to_owned(),
            namespace: resource
                .is_namespaced()
                .then(|| resource.namespace().unwrap_or("default").to_owned()),
            name: resource.name().to_owned(),
        }
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{ns}/{}", self.kind, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

/// What a waiver does to a rule's findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaiverScope {
    /// The rule does not apply to one object.
    Except(ObjectRef),
    /// The rule's findings get this severity, or disappear (`None`: off).
    Relax(Option<Severity>),
    /// `resources-required` accepts containers without a CPU limit: of one object, or all.
    NoCpuLimit(Option<ObjectRef>),
}

/// A script's decision to lower or lift a rule, with the reason it must give. Reasons are
/// printed with every check, so no opt-out is silent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiver {
    pub rule: String,
    pub scope: WaiverScope,
    pub reason: String,
    pub origin: Origin,
}

/// The annotation prefix that records an exception on its object: `hapl.dev/except.<rule>`,
/// the reason as the value.
pub const EXCEPT_ANNOTATION: &str = "hapl.dev/except.";

/// A script's statement that data moves from one object to another (`p.migrate(from, #{ to,
/// reason })`): the plan may then delete or replace `from` without a `data-continuity` error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The PersistentVolumeClaim, PersistentVolume or StatefulSet whose data moves.
    pub from: ObjectRef,
    /// Where the data goes (an object the script declares).
    pub to: ObjectRef,
    /// How the data gets there, in one sentence (printed with the plan).
    pub reason: String,
    pub origin: Origin,
}

/// An object and everything hapl knows about where it came from and where it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct PlatformObject {
    pub resource: Resource,
    pub origin: Origin,
    /// The group of objects this belongs to (an app or a piece of infrastructure), used for
    /// layout: objects of one component sit in one directory.
    pub component: String,
    /// An explicit directory (relative to the repo root) chosen by the script, if any.
    pub path: Option<String>,
    /// The Flux layer the object is applied in (`sources`, `storage`, `infrastructure`,
    /// `datastore`, `apps`, ...): each layer is one directory applied by one Flux Kustomization,
    /// see [`Platform::layer_dir`].
    pub layer: Option<String>,
    /// The seed's phase (1 storage & data safety, 2 HA hardening, 3 long-term metrics,
    /// 4 logging & observability, 5 Zigbee/Matter/edge, 6 backups & DR) a change to this object
    /// belongs to.
    pub phase: Option<u8>,
    /// Why the object exists, in one sentence: what it does for durability. Shown in plans.
    pub reason: Option<String>,
}

impl PlatformObject {
    pub fn identity(&self) -> Identity {
        self.resource.identity()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Platform {
    pub name: String,
    pub cluster: String,
    pub node: Option<Node>,
    /// The NAS, when the script declares it (capacity checks use it).
    pub nas: Option<Nas>,
    /// Where the script called `platform(...)`.
    pub origin: Option<Origin>,
    /// Exceptions and relaxations of rules, in script order.
    pub waivers: Vec<Waiver>,
    /// Data the script moves on purpose (`p.migrate`), in script order.
    pub migrations: Vec<Migration>,
    pub objects: Vec<PlatformObject>,
    /// Layer → directory overrides set by the script (adopting a repo with its own layout).
    pub layer_dirs: BTreeMap<String, String>,
    /// The Flux repository the platform is planned against (`platform(name, #{ repo })`), a
    /// path relative to the script's folder.
    pub repo: Option<String>,
}

impl Platform {
    pub fn new(name: impl Into<String>, cluster: impl Into<String>) -> Self {
        Platform {
            name: name.into(),
            cluster: cluster.into(),
            node: None,
            nas: None,
            origin: None,
            waivers: Vec::new(),
            migrations: Vec::new(),
            objects: Vec::new(),
            layer_dirs: BTreeMap::new(),
            repo: None,
        }
    }

    /// The directory (relative to the repo root, no trailing `/`) that holds a layer's objects
    /// and that its Flux Kustomization applies: `clusters/<cluster>/<layer>` unless the script
    /// placed the layer elsewhere.
    pub fn layer_dir(&self, layer: &str) -> String {
        match self.layer_dirs.get(layer) {
            Some(dir) => dir.clone(),
            None => format!("clusters/{}/{layer}", self.cluster),
        }
    }

    /// Writes each object-scoped exception (`p.except(rule, object, reason)`) onto its object as
    /// the annotation `hapl.dev/except.<rule>: <reason>`, so the repository itself carries the
    /// decision and its reason: `hapl assess`, reading the repo without the script, honours it
    /// (see [`Platform::repo_waivers`]) and a reviewer sees it beside the object.
    pub fn record_waivers(&mut self) {
        for w in &self.waivers {
            let WaiverScope::Except(target) = &w.scope else {
                continue;
            };
            let Some(obj) = self
                .objects
                .iter_mut()
                .find(|o| ObjectRef::of(&o.resource) == *target)
            else {
                continue;
            };
            obj.resource
                .metadata_mut()
                .annotations
                .get_or_insert_with(Default::default)
                .insert(format!("{EXCEPT_ANNOTATION}{}", w.rule), w.reason.clone());
        }
    }

    /// The exceptions objects carry as `hapl.dev/except.<rule>` annotations (written by
    /// [`Platform::record_waivers`], or by hand), except those the script states itself: each
    /// at its object's origin.
    pub fn repo_waivers(&self) -> Vec<Waiver> {
        let mut out = Vec::new();
        for o in &self.objects {
            let target = ObjectRef::of(&o.resource);
            for (key, reason) in o.resource.metadata().annotations.iter().flatten() {
                let Some(rule) = key.strip_prefix(EXCEPT_ANNOTATION) else {
                    continue;
                };
                let stated = self.waivers.iter().any(|w| {
                    w.rule == rule && matches!(&w.scope, WaiverScope::Except(r) if *r == target)
                });
                if !stated {
                    out.push(Waiver {
                        rule: rule.to_owned(),
                        scope: WaiverScope::Except(target.clone()),
                        reason: reason.clone(),
                        origin: o.origin.clone(),
                    });
                }
            }
        }
        out
    }

    /// Two objects with one identity are an error naming both origins.
    pub fn check_identities(&self) -> Vec<Diagnostic> {
        let mut seen: BTreeMap<Identity, usize> = BTreeMap::new();
        let mut diags = Vec::new();
        for (i, obj) in self.objects.iter().enumerate() {
            let id = obj.identity();
            if let Some(&first) = seen.get(&id) {
                let first = &self.objects[first];
                diags.push(
                    Diagnostic::error("duplicate-object", format!("{id} is declared twice"))
                        .at(obj.origin.site.clone(), "declared again here")
                        .label(first.origin.site.clone(), "first declared here")
                        .with_trace(obj.origin.frames.clone())
                        .hint("give one of them another name, or remove the second call"),
                );
            } else {
                seen.insert(id, i);
            }
        }
        diags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_refs_name_namespaced_and_cluster_wide_objects() {
        let r = ObjectRef::parse("Deployment/homeassistant/home-assistant").unwrap();
        assert_eq!(r.namespace.as_deref(), Some("homeassistant"));
        assert_eq!(r.to_string(), "Deployment/homeassistant/home-assistant");
        let r = ObjectRef::parse("StorageClass/nfs-storage").unwrap();
        assert_eq!(
            (r.kind.as_str(), r.namespace, r.name.as_str()),
            ("StorageClass", None, "nfs-storage")
        );
        for bad in ["Deployment", "a/b/c/d", "Deployment//x", ""] {
            assert!(ObjectRef::parse(bad).is_err(), "{bad}");
        }
    }
}
