//! The platform a script builds: declared hardware and the objects made for it.

use std::collections::BTreeMap;

use crate::diagnostic::Diagnostic;
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
    pub objects: Vec<PlatformObject>,
}

impl Platform {
    pub fn new(name: impl Into<String>, cluster: impl Into<String>) -> Self {
        Platform {
            name: name.into(),
            cluster: cluster.into(),
            node: None,
            objects: Vec::new(),
        }
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
