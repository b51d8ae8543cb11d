//! The ownership record, `.hapl/owned.yaml`: the objects hapl created or adopted in the repo.
//!
//! hapl deletes an object only when the record lists it and the script no longer declares it;
//! everything else (hand-written YAML, `flux-system/gotk-*`) is left alone unless the script
//! declares an object with its identity, which adopts it. The file is plain YAML, sorted by
//! identity, one entry per object, so it reviews like code:
//!
//! ```yaml
//! # Objects hapl manages in this repository; see HACKING.md "The ownership record".
//! version: 1
//! objects:
//!   - kind: HelmRelease
//!     group: helm.toolkit.fluxcd.io
//!     namespace: home
//!     name: home-assistant
//!     file: apps/home/home-assistant/helmrelease-home-assistant.yaml
//!     phase: 2
//! ```

use std::collections::BTreeMap;

use hapl_core::Identity;
use serde::{Deserialize, Serialize};

/// Where the record lives, relative to the repo root.
pub const OWNED_PATH: &str = ".hapl/owned.yaml";

const HEADER: &str = "# Objects hapl manages in this repository. hapl deletes an object only when it is listed\n# here and the script no longer declares it. Written by hapl, sorted; review it like code.\n";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    group: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    name: String,
    file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phase: Option<u8>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    version: u32,
    #[serde(default)]
    objects: Vec<Entry>,
}

/// What hapl owns: identity → (file, phase).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owned {
    pub objects: BTreeMap<Identity, (String, Option<u8>)>,
}

impl Owned {
    /// Read the record's text (`None` when the repo has none yet).
    pub fn parse(text: Option<&str>) -> Result<Owned, String> {
        let Some(text) = text else {
            return Ok(Owned::default());
        };
        let file: File = serde_yaml::from_str(text).map_err(|e| {
            let line = e.location().map_or(0, |l| l.line());
            format!("{OWNED_PATH}:{line}: {e}")
        })?;
        if file.version != 1 {
            return Err(format!(
                "{OWNED_PATH}: version {} is newer than this hapl understands (1)",
                file.version
            ));
        }
        let objects = file
            .objects
            .into_iter()
            .map(|e| {
                (
                    Identity {
                        group: e.group,
                        kind: e.kind,
                        namespace: e.namespace,
                        name: e.name,
                    },
                    (e.file, e.phase),
                )
            })
            .collect();
        Ok(Owned { objects })
    }

    /// The record's text: deterministic, sorted by identity.
    pub fn render(&self) -> String {
        let file = File {
            version: 1,
            objects: self
                .objects
                .iter()
                .map(|(id, (file, phase))| Entry {
                    kind: id.kind.clone(),
                    group: id.group.clone(),
                    namespace: id.namespace.clone(),
                    name: id.name.clone(),
                    file: file.clone(),
                    phase: *phase,
                })
                .collect(),
        };
        let body = crate::emit::block(
            &serde_json::to_value(&file).expect("the record serializes"),
            0,
            &crate::emit::Style::default(),
        );
        format!("---\n{HEADER}{body}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_round_trips_sorted() {
        let mut owned = Owned::default();
        owned.objects.insert(
            Identity::new("", "Service", Some("home"), "b"),
            ("x/b.yaml".into(), None),
        );
        owned.objects.insert(
            Identity::new("apps", "Deployment", Some("home"), "a"),
            ("x/a.yaml".into(), Some(2)),
        );
        let text = owned.render();
        assert_eq!(Owned::parse(Some(&text)).unwrap(), owned);
        assert!(Owned::parse(Some("version: 1\nobjects:\n  - kinds: x\n")).is_err());
    }
}
