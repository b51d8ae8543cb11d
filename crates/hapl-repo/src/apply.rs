//! A plan carried out as git commits: the mapping of a [`Plan`] onto [`CommitSpec`]s for
//! [`crate::git::apply`], the ownership check at that boundary, and saved plans.
//!
//! One commit per phase, in phase order, each holding the phase's whole-file writes and
//! deletes (ownership record included: a phase's writes carry the record as it stands after
//! that phase), or all phases folded into one commit. The git side (atomicity, refusals,
//! recovery) is entirely [`crate::git`]'s.
//!
//! A saved plan (`hapl plan --out`) holds no file contents (they may hold secrets), only their
//! hashes: applying it re-evaluates the script, and the fresh plan must agree with the saved
//! one file by file (same phases, same writes by hash, same deletes); the saved base commit
//! and read-file hashes then go to git as [`ApplyOptions::expected_base`] and
//! [`ApplyOptions::read_files`], so the repository must still be what the plan read.
//!
//! [`ApplyOptions::expected_base`]: crate::git::ApplyOptions::expected_base
//! [`ApplyOptions::read_files`]: crate::git::ApplyOptions::read_files

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use hapl_core::{render, Platform};
use serde::Deserialize;
use serde_json::Value;

use crate::git::{Base, CommitSpec, FileChange};
use crate::owned::{Owned, OWNED_PATH};
use crate::plan::{PhasePlan, Plan, SCHEMA};

/// The commits of `plan`: one per phase, or one for all (`single`), each with the message
/// `message` makes for its phases.
pub fn commits(
    plan: &Plan,
    single: bool,
    message: &dyn Fn(&[&PhasePlan]) -> String,
) -> Vec<CommitSpec> {
    let phases: Vec<&PhasePlan> = plan.phases.iter().collect();
    let groups: Vec<&[&PhasePlan]> = if single {
        vec![&phases[..]]
    } else {
        phases.chunks(1).collect()
    };
    groups
        .into_iter()
        .filter(|g| !g.is_empty())
        .map(|group| {
            // Later phases write on top of earlier ones: the last word on a path wins.
            let mut files: BTreeMap<&str, Option<&str>> = BTreeMap::new();
            for phase in group {
                for (path, text) in &phase.writes {
                    files.insert(path, Some(text));
                }
                for path in &phase.deletes {
                    files.insert(path, None);
                }
            }
            CommitSpec {
                message: message(group),
                changes: files
                    .into_iter()
                    .map(|(path, text)| match text {
                        Some(t) => FileChange::write(path, t.as_bytes()),
                        None => FileChange::delete(path),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Refuse a plan that would change or delete a file hapl does not own. hapl may write: new
/// files; the ownership record; files of objects the record lists, before or after any phase
/// (objects hapl made, and objects the script adopts, which the phase records); and the
/// `kustomization.yaml` of a folder holding such a file (to list or unlist it). It may delete
/// only files the record listed before. `dir` is the work tree the plan was made against.
pub fn check_ownership(plan: &Plan, dir: &Path) -> Result<(), String> {
    let current = std::fs::read_to_string(dir.join(OWNED_PATH)).ok();
    let before = Owned::parse(current.as_deref())?;
    let files_of = |o: &Owned| -> BTreeSet<String> {
        o.objects.values().map(|(file, _)| file.clone()).collect()
    };
    let owned_before = files_of(&before);
    let mut owned = owned_before.clone();
    for phase in &plan.phases {
        if let Some(text) = phase.writes.get(OWNED_PATH) {
            owned.extend(files_of(&Owned::parse(Some(text))?));
        }
    }
    let folders: BTreeSet<&str> = owned
        .iter()
        .flat_map(|f| {
            f.match_indices('/')
                .map(|(i, _)| &f[..=i])
                .chain(std::iter::once(""))
        })
        .collect();
    let may_write = |path: &str| {
        path == OWNED_PATH
            || owned.contains(path)
            || path
                .strip_suffix("kustomization.yaml")
                .is_some_and(|folder| folders.contains(folder))
            || std::fs::symlink_metadata(dir.join(path)).is_err()
    };
    for phase in &plan.phases {
        if let Some(path) = phase.writes.keys().find(|p| !may_write(p)) {
            return Err(format!(
                "`{path}`: hapl does not own this file (it is not in {OWNED_PATH} and holds no object the script adopts), so it will not change it"
            ));
        }
        if let Some(path) = phase.deletes.iter().find(|p| !owned_before.contains(*p)) {
            return Err(format!(
                "`{path}`: hapl does not own this file (it is not in {OWNED_PATH}), so it will not delete it"
            ));
        }
    }
    Ok(())
}

/// The values of every `Secret`'s `data` and `stringData` in the platform, longest first: text
/// that must never appear in a commit message.
pub fn secret_values(platform: &Platform) -> Vec<String> {
    let mut values = BTreeSet::new();
    for obj in &platform.objects {
        let v = render::ordered_value(&obj.resource);
        if v.get("kind").and_then(Value::as_str) != Some("Secret") {
            continue;
        }
        for key in ["data", "stringData"] {
            if let Some(map) = v.get(key).and_then(Value::as_object) {
                values.extend(
                    map.values()
                        .filter_map(Value::as_str)
                        .filter(|s| !s.trim().is_empty())
                        .map(str::to_owned),
                );
            }
        }
    }
    let mut values: Vec<String> = values.into_iter().collect();
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    values
}

/// `text` with every occurrence of a secret value replaced by `(masked)`.
pub fn mask(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .fold(text.to_owned(), |t, s| t.replace(s.as_str(), "(masked)"))
}

/// A plan saved by `hapl plan --out`: what applying it checks.
#[derive(Debug, Clone, Deserialize)]
pub struct SavedPlan {
    pub schema: String,
    pub base_commit: Option<String>,
    /// The `--phase` it was made with.
    #[serde(default)]
    pub phase: Option<u8>,
    pub phases: Vec<SavedPhase>,
    pub read_hashes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SavedPhase {
    pub phase: Option<u8>,
    pub deletes: Vec<String>,
    pub write_hashes: BTreeMap<String, String>,
}

impl SavedPlan {
    /// Read a saved plan.
    pub fn load(path: &Path) -> Result<SavedPlan, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("`{}`: {e}", path.display()))?;
        let saved: SavedPlan = serde_json::from_slice(&bytes)
            .map_err(|e| format!("`{}`: not a saved plan: {e}", path.display()))?;
        if saved.schema != SCHEMA {
            return Err(format!(
                "`{}`: schema `{}`, this hapl reads `{SCHEMA}`",
                path.display(),
                saved.schema
            ));
        }
        Ok(saved)
    }

    /// The first way `fresh` (the script's plan now) differs from the saved plan, if any.
    pub fn disagreement(&self, fresh: &Plan) -> Option<String> {
        let name = |p: Option<u8>| p.map_or("without a phase".to_owned(), |n| format!("{n}"));
        let saved: Vec<Option<u8>> = self.phases.iter().map(|p| p.phase).collect();
        let now: Vec<Option<u8>> = fresh.phases.iter().map(|p| p.phase).collect();
        if saved != now {
            let list = |v: &[Option<u8>]| v.iter().map(|p| name(*p)).collect::<Vec<_>>().join(", ");
            return Some(format!(
                "the saved plan has phases [{}], the script now plans [{}]",
                list(&saved),
                list(&now)
            ));
        }
        for (s, f) in self.phases.iter().zip(&fresh.phases) {
            let paths: BTreeSet<&String> = s
                .write_hashes
                .keys()
                .chain(f.write_hashes.keys())
                .chain(&s.deletes)
                .chain(&f.deletes)
                .collect();
            for path in paths {
                let state = |w: &BTreeMap<String, String>, d: &[String]| {
                    (w.get(path).cloned(), d.contains(path))
                };
                if state(&s.write_hashes, &s.deletes) != state(&f.write_hashes, &f.deletes) {
                    return Some(format!(
                        "phase {}: the script now makes `{path}` differently than the saved plan",
                        name(s.phase)
                    ));
                }
            }
        }
        None
    }

    /// What git must still find: the base commit, and each file the plan read with the hash it
    /// read (a file the plan writes and did not read must still be absent).
    pub fn expectations(&self, fresh: &Plan) -> (Base, BTreeMap<String, Option<String>>) {
        let base = match &self.base_commit {
            Some(c) => Base::Commit(c.clone()),
            None => Base::Unborn,
        };
        let mut files: BTreeMap<String, Option<String>> = self
            .read_hashes
            .iter()
            .map(|(p, h)| (p.clone(), Some(h.clone())))
            .collect();
        for phase in &fresh.phases {
            for path in phase.writes.keys() {
                files.entry(path.clone()).or_insert(None);
            }
        }
        (base, files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Summary;

    fn plan_writing(writes: &[&str], deletes: &[&str]) -> Plan {
        Plan {
            schema: SCHEMA,
            base_commit: None,
            phase: None,
            summary: Summary {
                add: 0,
                change: 0,
                delete: 0,
            },
            phases: vec![PhasePlan {
                phase: Some(1),
                changes: Vec::new(),
                writes: writes
                    .iter()
                    .map(|p| {
                        let text = match *p {
                            OWNED_PATH => Owned::default().render(),
                            _ => "kind: X\n".to_owned(),
                        };
                        (p.to_string(), text)
                    })
                    .collect(),
                deletes: deletes.iter().map(|p| p.to_string()).collect(),
                write_hashes: BTreeMap::new(),
            }],
            read_hashes: BTreeMap::new(),
            not_inspected: Vec::new(),
            findings: Vec::new(),
        }
    }

    #[test]
    fn only_owned_new_or_listing_files_are_touched() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::create_dir_all(dir.join(".hapl")).unwrap();
        std::fs::create_dir_all(dir.join("apps/ha")).unwrap();
        let mut owned = Owned::default();
        owned.objects.insert(
            hapl_core::Identity::new("", "ConfigMap", Some("home"), "ha"),
            ("apps/ha/cm.yaml".into(), Some(1)),
        );
        std::fs::write(dir.join(OWNED_PATH), owned.render()).unwrap();
        for f in [
            "apps/ha/cm.yaml",
            "apps/kustomization.yaml",
            "apps/user.yaml",
        ] {
            std::fs::write(dir.join(f), "kind: X\n").unwrap();
        }
        let ok = |w: &[&str], d: &[&str]| check_ownership(&plan_writing(w, d), dir);
        assert_eq!(
            ok(
                &[
                    "apps/ha/cm.yaml",
                    "apps/kustomization.yaml",
                    "apps/new.yaml",
                    OWNED_PATH
                ],
                &["apps/ha/cm.yaml"]
            ),
            Ok(())
        );
        let err = ok(&["apps/user.yaml"], &[]).unwrap_err();
        assert!(err.contains("`apps/user.yaml`: hapl does not own"), "{err}");
        let err = ok(&[], &["apps/user.yaml"]).unwrap_err();
        assert!(err.contains("will not delete it"), "{err}");
    }

    #[test]
    fn secrets_are_masked_longest_first() {
        let secrets = vec!["hunter22".to_owned(), "hunter2".to_owned()];
        assert_eq!(
            mask("a hunter22 b hunter2", &secrets),
            "a (masked) b (masked)"
        );
    }
}
