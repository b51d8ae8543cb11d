//! The plan: what changes in the repository for it to hold the platform, as data.
//!
//! Objects are compared by meaning ([`crate::patch::same_doc`]); an object that exists changes in
//! place ([`crate::patch`]), a new one goes where the repo puts such things
//! ([`crate::layout::Placer`]) and into its folder's `kustomization.yaml`, and an object hapl
//! owns ([`crate::owned`]) that the script no longer declares is deleted. Changes are grouped by
//! the seed's phase (1–6, then objects without one); every phase carries the full bytes of each
//! file it writes and the files it deletes, on top of the phases before it, so a phase can be
//! applied (and committed) on its own.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use hapl_core::rules::{secret_key, url_with_password};
use hapl_core::{render, Identity, Platform, PlatformObject};
use serde::Serialize;
use serde_json::Value;

use crate::emit::Style;
use crate::layout::{self, Placer};
use crate::owned::{Owned, OWNED_PATH};
use crate::patch::{self, same};
use crate::repo::{self, Finding, NotInspected, ReadError, Repo};
use crate::yaml;

/// Version of the plan's JSON form (`hapl plan --format json`, `--out`).
pub const SCHEMA: &str = "hapl.dev/plan/v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Add,
    Change,
    Delete,
}

/// One file's change, as a unified diff with secret values masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileDiff {
    pub path: String,
    pub diff: String,
}

/// One object's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub action: Action,
    #[serde(serialize_with = "ser_identity")]
    pub object: Identity,
    /// The file holding the object.
    pub file: String,
    /// Why, in one sentence: the object's `reason`, or which module made it.
    pub reason: String,
    /// The edits this change makes (the object's file, then `kustomization.yaml` files).
    pub diffs: Vec<FileDiff>,
}

fn ser_identity<S: serde::Serializer>(id: &Identity, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(None)?;
    m.serialize_entry("group", &id.group)?;
    m.serialize_entry("kind", &id.kind)?;
    m.serialize_entry("namespace", &id.namespace)?;
    m.serialize_entry("name", &id.name)?;
    m.end()
}

/// The changes of one phase and what they do to the files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhasePlan {
    /// 1–6, or `None` for objects without a phase.
    pub phase: Option<u8>,
    pub changes: Vec<Change>,
    /// Path → full new bytes, on top of the earlier phases (includes the ownership record).
    /// Never serialized: it may hold secret values.
    #[serde(skip)]
    pub writes: BTreeMap<String, String>,
    /// Paths to delete.
    pub deletes: Vec<String>,
    /// sha256 of each write, so a saved plan can be checked against a fresh one.
    pub write_hashes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub delete: usize,
}

/// The plan as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub schema: &'static str,
    /// `git rev-parse HEAD` of the repo, when it is a git work tree with a commit.
    pub base_commit: Option<String>,
    /// The phase it was limited to (`--phase`), if any.
    pub phase: Option<u8>,
    pub summary: Summary,
    pub phases: Vec<PhasePlan>,
    /// sha256 of every file read, by path.
    pub read_hashes: BTreeMap<String, String>,
    pub not_inspected: Vec<NotInspected>,
    /// Files that could not be read (only with `keep_going`).
    pub findings: Vec<Finding>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.phases.iter().all(|p| p.changes.is_empty())
    }
}

#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Plan only the objects of this phase.
    pub phase: Option<u8>,
    /// A broken file is a finding instead of an error.
    pub keep_going: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    Read(ReadError),
    /// The plan would have to do something hapl never does.
    Refused(String),
    /// The plan would delete or replace data the script does not say it migrates (rule
    /// `data-continuity`): one line per object.
    DataContinuity(Vec<String>),
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::Read(e) => write!(f, "{e}"),
            PlanError::Refused(why) => f.write_str(why),
            PlanError::DataContinuity(hits) => {
                writeln!(
                    f,
                    "[data-continuity] the plan would lose data; nothing was planned:"
                )?;
                for h in hits {
                    writeln!(f, "  - {h}")?;
                }
                write!(
                    f,
                    "keep the existing claims (name, storage class, access modes, size), or state the move with `p.migrate(from, #{{ to, reason }})`; `hapl explain data-continuity`"
                )
            }
        }
    }
}

impl std::error::Error for PlanError {}

/// The ownership record as the plan edits it, and whether the current phase changed it (a
/// flag, not a copy to compare with: the record of a large repo has tens of thousands of
/// entries).
struct Record {
    owned: Owned,
    changed: bool,
}

impl Record {
    fn set(&mut self, id: &Identity, file: &str, phase: Option<u8>) {
        let same = |(f, p): &(String, Option<u8>)| f == file && *p == phase;
        if !self.owned.objects.get(id).is_some_and(same) {
            self.owned
                .objects
                .insert(id.clone(), (file.to_owned(), phase));
            self.changed = true;
        }
    }

    fn forget(&mut self, id: &Identity) {
        self.changed |= self.owned.objects.remove(id).is_some();
    }
}

/// The working copy the plan edits: path → text (`None` once deleted).
struct Work<'a> {
    repo: &'a Repo,
    files: BTreeMap<String, Option<String>>,
}

impl Work<'_> {
    /// The file's text in the working copy (`None`: not a YAML file read, or deleted). A text
    /// the lean read dropped is read again, and must not have changed since.
    fn get(&self, path: &str) -> Result<Option<String>, PlanError> {
        match self.files.get(path) {
            Some(t) => Ok(t.clone()),
            None => match self.repo.files.get(path) {
                Some(f) if f.dropped => self.reread(path).map(Some),
                Some(f) => Ok(Some(f.text.clone())),
                None => Ok(None),
            },
        }
    }

    /// [`Work::get`] for a `kustomization.yaml` (whose text a lean read keeps).
    fn listing(&self, path: &str) -> Option<String> {
        self.get(path).ok().flatten()
    }

    fn reread(&self, path: &str) -> Result<String, PlanError> {
        let changed = || {
            PlanError::Refused(format!(
                "`{path}` changed while hapl was planning; run the plan again"
            ))
        };
        let text = std::fs::read_to_string(self.repo.root.join(path)).map_err(|_| changed())?;
        match self.repo.hashes.get(path) {
            Some(h) if *h == repo::sha256_hex(text.as_bytes()) => Ok(text),
            _ => Err(changed()),
        }
    }

    /// Whether the working copy holds this YAML file (read, and not deleted by the plan).
    fn has(&self, path: &str) -> bool {
        match self.files.get(path) {
            Some(t) => t.is_some(),
            None => self.repo.files.contains_key(path),
        }
    }

    fn exists(&self, path: &str) -> bool {
        match self.files.get(path) {
            Some(t) => t.is_some(),
            None => self
                .repo
                .paths
                .binary_search_by(|p| p.as_str().cmp(path))
                .is_ok(),
        }
    }
}

/// Plan the platform against the repository in `dir` (a missing `dir` is an empty repo).
pub fn plan(platform: &Platform, dir: &Path, options: &PlanOptions) -> Result<Plan, PlanError> {
    // Objects the repo already holds as declared are compared while the repo is read, and their
    // values dropped: the plan never needs them again.
    let declared: BTreeMap<Identity, &PlatformObject> =
        platform.objects.iter().map(|o| (o.identity(), o)).collect();
    let unchanged = |id: &Identity, value: &Value| {
        declared
            .get(id)
            .is_some_and(|o| patch::same_doc(value, &render::ordered_value(&o.resource)))
    };
    let mut repo = repo::read_lean(dir, options.keep_going, &unchanged).map_err(PlanError::Read)?;
    drop(declared);
    let mut plan = plan_of(platform, &repo, options)?;
    // Moved, not copied: a large repo has tens of thousands of hashes.
    plan.read_hashes = std::mem::take(&mut repo.hashes);
    plan.not_inspected = std::mem::take(&mut repo.not_inspected);
    plan.findings = std::mem::take(&mut repo.findings);
    plan.base_commit = base_commit(dir);
    Ok(plan)
}

fn base_commit(dir: &Path) -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--verify", "--quiet", "HEAD"])
        .current_dir(dir)
        .output()
        .ok()?;
    let head = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !head.is_empty()).then_some(head)
}

fn phase_key(p: Option<u8>) -> u8 {
    p.unwrap_or(u8::MAX)
}

/// Plan against a repository already read.
pub fn plan_repo(
    platform: &Platform,
    repo: &Repo,
    options: &PlanOptions,
) -> Result<Plan, PlanError> {
    let mut plan = plan_of(platform, repo, options)?;
    plan.read_hashes = repo.hashes.clone();
    plan.not_inspected = repo.not_inspected.clone();
    plan.findings = repo.findings.clone();
    Ok(plan)
}

/// [`plan_repo`] without what it copies from the repo (read hashes, files not inspected,
/// findings).
fn plan_of(platform: &Platform, repo: &Repo, options: &PlanOptions) -> Result<Plan, PlanError> {
    let mut owned = Record {
        owned: Owned::parse(repo.files.get(OWNED_PATH).map(|f| f.text.as_str()))
            .map_err(PlanError::Refused)?,
        changed: false,
    };
    let style = repo.style();
    let mut placer = Placer::new(platform, repo);
    let mut work = Work {
        repo,
        files: BTreeMap::new(),
    };
    let wanted = |p: Option<u8>| options.phase.is_none() || options.phase == p;

    let declared: BTreeSet<Identity> = platform.objects.iter().map(|o| o.identity()).collect();
    // Phase → objects to put in place, then owned objects to delete.
    let mut by_phase: BTreeMap<u8, (Vec<&PlatformObject>, Vec<Identity>)> = BTreeMap::new();
    for obj in platform.objects.iter().filter(|o| wanted(o.phase)) {
        by_phase
            .entry(phase_key(obj.phase))
            .or_default()
            .0
            .push(obj);
    }
    for (id, (_, phase)) in &owned.owned.objects {
        if !declared.contains(id) && wanted(*phase) {
            by_phase
                .entry(phase_key(*phase))
                .or_default()
                .1
                .push(id.clone());
        }
    }

    let mut data_loss = Vec::new();
    for (objects, gone) in by_phase.values() {
        for obj in objects {
            let id = obj.identity();
            let existing = repo.objects.get(&id).and_then(|l| l.first());
            if let Some(loc) = existing.filter(|l| !l.unchanged) {
                let new = render::ordered_value(&obj.resource);
                if let Some(what) = replaces_data(&id, &loc.value, &new) {
                    data_loss.push((id, format!("{} ({what})", loc.file)));
                }
            }
        }
        for id in gone {
            if holds_data(id) {
                if let Some((file, _)) = owned.owned.objects.get(id) {
                    data_loss.push((
                        id.clone(),
                        format!("{file} (the script no longer declares it: deleted)"),
                    ));
                }
            }
        }
    }
    let unmigrated: Vec<String> = data_loss
        .into_iter()
        .filter(|(id, _)| !platform.migrations.iter().any(|m| same_object(&m.from, id)))
        .map(|(id, what)| format!("{id} in {what}"))
        .collect();
    if !unmigrated.is_empty() {
        return Err(PlanError::DataContinuity(unmigrated));
    }

    let mut phases = Vec::new();
    let mut summary = Summary {
        add: 0,
        change: 0,
        delete: 0,
    };
    for (key, (objects, gone)) in by_phase {
        let before = work.files.clone();
        owned.changed = false;
        let mut changes = Vec::new();
        let mut kustomizations = layout::NewKustomizations::default();
        for obj in objects {
            if let Some(change) = put(
                obj,
                repo,
                &mut work,
                &mut placer,
                &mut kustomizations,
                &style,
                &mut owned,
            )? {
                changes.push(change);
            }
        }
        for id in gone {
            if let Some(change) = delete(&id, &mut work, &owned)? {
                changes.push(change);
            }
            owned.forget(&id);
        }
        for kpath in kustomizations.write(&mut work.files, &style) {
            // Show a created `kustomization.yaml` with the first change placed below it.
            let dir = kpath.trim_end_matches("kustomization.yaml");
            if let Some(c) = changes.iter_mut().find(|c| c.file.starts_with(dir)) {
                c.diffs
                    .push(diff(&kpath, None, work.files[&kpath].as_deref()));
            }
        }
        if owned.changed {
            work.files
                .insert(OWNED_PATH.to_owned(), Some(owned.owned.render()));
        }
        for c in &changes {
            match c.action {
                Action::Add => summary.add += 1,
                Action::Change => summary.change += 1,
                Action::Delete => summary.delete += 1,
            }
        }
        let mut writes = BTreeMap::new();
        let mut deletes = Vec::new();
        for (path, text) in &work.files {
            if before.get(path) == Some(text) {
                continue;
            }
            match text {
                Some(t) => {
                    writes.insert(path.clone(), t.clone());
                }
                None => deletes.push(path.clone()),
            }
        }
        if changes.is_empty() && writes.is_empty() && deletes.is_empty() {
            continue;
        }
        check_writes(&writes)?;
        let write_hashes = writes
            .iter()
            .map(|(p, t)| (p.clone(), repo::sha256_hex(t.as_bytes())))
            .collect();
        phases.push(PhasePlan {
            phase: (key != u8::MAX).then_some(key),
            changes,
            writes,
            deletes,
            write_hashes,
        });
    }
    Ok(Plan {
        schema: SCHEMA,
        base_commit: None,
        phase: options.phase,
        summary,
        phases,
        read_hashes: BTreeMap::new(),
        not_inspected: Vec::new(),
        findings: Vec::new(),
    })
}

/// Every YAML file hapl would write must read back: a bug in an edit is a refusal here, never a
/// broken file in the user's repo.
fn check_writes(writes: &BTreeMap<String, String>) -> Result<(), PlanError> {
    for (path, text) in writes {
        if path.ends_with(".yaml") || path.ends_with(".yml") {
            if let Err(e) = yaml::parse(text) {
                return Err(PlanError::Refused(format!(
                    "hapl would write `{path}` so that it does not parse (line {}: {}); nothing was planned. This is a bug in hapl: please report it with the file",
                    e.line, e.message
                )));
            }
        }
    }
    Ok(())
}

/// Kinds whose deletion or replacement loses data.
fn holds_data(id: &Identity) -> bool {
    matches!(
        id.kind.as_str(),
        "PersistentVolumeClaim" | "PersistentVolume" | "StatefulSet"
    )
}

fn same_object(r: &hapl_core::ObjectRef, id: &Identity) -> bool {
    r.kind == id.kind && r.namespace == id.namespace && r.name == id.name
}

/// What makes changing `old` into `new` a delete-and-recreate of stored data: fields Kubernetes
/// cannot change in place on a claim or volume (so Flux replaces it), a smaller claim, or other
/// claim templates on a StatefulSet. `None` for an in-place change.
fn replaces_data(id: &Identity, old: &Value, new: &Value) -> Option<String> {
    let at = |v: &Value, p: &str| v.pointer(p).cloned().unwrap_or(Value::Null);
    let fields: &[&str] = match id.kind.as_str() {
        "PersistentVolumeClaim" => &[
            "/spec/storageClassName",
            "/spec/accessModes",
            "/spec/volumeName",
            "/spec/selector",
            "/spec/volumeMode",
        ],
        "PersistentVolume" => &[
            "/spec/storageClassName",
            "/spec/nfs",
            "/spec/csi",
            "/spec/hostPath",
            "/spec/local",
        ],
        "StatefulSet" => &["/spec/volumeClaimTemplates"],
        _ => return None,
    };
    for f in fields {
        let (a, b) = (at(old, f), at(new, f));
        if !same(&a, &b) {
            let show = |v: &Value| {
                if v.is_null() {
                    "unset".to_owned()
                } else {
                    v.to_string()
                }
            };
            return Some(format!(
                "`{}` would change from {} to {}, which replaces it",
                f.trim_start_matches('/').replace('/', "."),
                show(&a),
                show(&b)
            ));
        }
    }
    let size = |v: &Value| {
        v.pointer("/spec/resources/requests/storage")
            .and_then(Value::as_str)
            .and_then(hapl_core::quantity::parse_quantity)
    };
    if id.kind == "PersistentVolumeClaim" {
        if let (Some(a), Some(b)) = (size(old), size(new)) {
            if b < a {
                return Some(
                    "the claim would shrink, which Kubernetes refuses; Flux would recreate it"
                        .into(),
                );
            }
        }
    }
    None
}

/// Why an object is in the plan, in one sentence.
fn reason_of(obj: &PlatformObject) -> String {
    if let Some(r) = &obj.reason {
        return r.clone();
    }
    match obj.origin.frames.last() {
        Some(frame) => format!(
            "made by `{}`, called at {}:{}",
            frame.function, obj.origin.site.file, obj.origin.site.line
        ),
        None => format!(
            "declared at {}:{}",
            obj.origin.site.file, obj.origin.site.line
        ),
    }
}

/// Bring one declared object into the repo: nothing, a change in place, or a new file.
fn put(
    obj: &PlatformObject,
    repo: &Repo,
    work: &mut Work,
    placer: &mut Placer,
    kustomizations: &mut layout::NewKustomizations,
    style: &Style,
    owned: &mut Record,
) -> Result<Option<Change>, PlanError> {
    let id = obj.identity();
    let mut locations = repo
        .objects
        .get(&id)
        .into_iter()
        .flatten()
        .filter(|l| work.has(&l.file));
    let located = locations.next();
    // Two declarations in one folder are one kustomization's resources twice (kustomize refuses
    // the build); across folders they are usually one per cluster.
    let folder = |f: &str| f.rsplit_once('/').map_or("", |(d, _)| d).to_owned();
    if let Some(first) = located {
        if let Some(second) = locations.find(|l| folder(&l.file) == folder(&first.file)) {
            return Err(PlanError::Refused(format!(
                "{id} is declared twice in one folder, at {}:{} and {}:{}; keep one of them",
                first.file, first.lines.0, second.file, second.lines.0
            )));
        }
    }
    if let Some(loc) = located {
        if loc.unchanged {
            return Ok(None);
        }
        let new = render::ordered_value(&obj.resource);
        if patch::same_doc(&loc.value, &new) {
            return Ok(None);
        }
        let file = &repo.files[&loc.file];
        if file.encrypted {
            return Err(PlanError::Refused(format!(
                "{id} in `{}` is SOPS-encrypted; hapl does not edit encrypted files (decrypt, change and re-encrypt it by hand, or remove it from the script)",
                loc.file
            )));
        }
        if patch::has_lone_cr(&file.text) {
            return Err(PlanError::Refused(format!(
                "{id} is in `{}`, which ends lines with a lone carriage return (old Mac line ends); hapl does not edit such files: convert it to LF or CRLF line ends",
                loc.file
            )));
        }
        if loc.value.is_null() || !file.fallback.is_empty() {
            return Err(PlanError::Refused(format!(
                "{id} in `{}` cannot be edited in place (it is an item of a list, or the file is read only by the fallback reader)",
                loc.file
            )));
        }
        let before = work.get(&loc.file)?.unwrap_or_default();
        let after = patch_in(&before, &id, &new, style)
            .ok_or_else(|| PlanError::Refused(format!("{id} is no longer in `{}`", loc.file)))?;
        let diff = diff(&loc.file, Some(&before), Some(&after));
        work.files.insert(loc.file.clone(), Some(after));
        owned.set(&id, &loc.file, obj.phase);
        return Ok(Some(Change {
            action: Action::Change,
            object: id,
            file: loc.file.clone(),
            reason: reason_of(obj),
            diffs: vec![diff],
        }));
    }
    let path = placer.place(obj, |p| work.exists(p));
    let text = layout::new_file(&obj.resource, placer.modeline(&obj.resource), style);
    let mut diffs = vec![diff(&path, None, Some(&text))];
    work.files.insert(path.clone(), Some(text));
    if placer.uses_kustomizations() {
        for (kpath, before) in kustomizations.add(&path, work.repo, |p| work.listing(p)) {
            let after = layout::add_resource(&before, &kpath, &path);
            if after != before {
                diffs.push(diff(&kpath, Some(&before), Some(&after)));
                work.files.insert(kpath, Some(after));
            }
        }
    }
    owned.set(&id, &path, obj.phase);
    Ok(Some(Change {
        action: Action::Add,
        object: id,
        file: path,
        reason: reason_of(obj),
        diffs,
    }))
}

/// The document of `text` holding `id`: (index, root range, value with the namespace filled).
fn find_doc<'t>(
    docs: &'t [yaml::Document],
    id: &Identity,
    inherited_ns: Option<&str>,
) -> Option<&'t yaml::Document> {
    docs.iter().find(|d| {
        d.root.as_ref().is_some_and(|r| {
            let v = yaml::to_value(r, &yaml::anchors(r));
            repo::identity_of(&v, inherited_ns).as_ref() == Some(id)
        })
    })
}

fn patch_in(text: &str, id: &Identity, new: &Value, style: &Style) -> Option<String> {
    let docs = yaml::parse(text).ok()?;
    let doc = find_doc(&docs, id, id.namespace.as_deref())?;
    let root = doc.root.as_ref()?;
    let old = yaml::to_value(root, &yaml::anchors(root));
    let mut new = new.clone();
    // A namespace the folder's `kustomization.yaml` sets stays implicit.
    if old.pointer("/metadata/namespace").is_none() {
        if let Some(meta) = new.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("namespace");
        }
    }
    Some(patch::patch_document(
        text,
        root,
        (doc.start, doc.end),
        &old,
        &new,
        style,
    ))
}

/// Remove an owned object: its document, and its file once nothing else is in it.
fn delete(id: &Identity, work: &mut Work, owned: &Record) -> Result<Option<Change>, PlanError> {
    let Some((file, _)) = owned.owned.objects.get(id).cloned() else {
        return Ok(None);
    };
    let Some(before) = work.get(&file)? else {
        return Ok(None);
    };
    let docs = yaml::parse(&before).map_err(|e| {
        PlanError::Refused(format!("{file}:{}: invalid YAML: {}", e.line, e.message))
    })?;
    let Some(doc) = find_doc(&docs, id, id.namespace.as_deref()) else {
        // Already gone by hand: only the record changes.
        return Ok(None);
    };
    let others = docs
        .iter()
        .filter(|d| d.root.is_some() && d.start != doc.start)
        .count();
    let mut diffs = Vec::new();
    if others == 0 {
        diffs.push(diff(&file, Some(&before), None));
        work.files.insert(file.clone(), None);
        if let Some((kpath, ktext)) = layout::kustomization_of(&file, |p| work.listing(p)) {
            let after = layout::remove_resource(&ktext, &file);
            if after != ktext {
                diffs.push(diff(&kpath, Some(&ktext), Some(&after)));
                work.files.insert(kpath, Some(after));
            }
        }
    } else {
        let mut after = before.clone();
        after.replace_range(doc.start..doc.end, "");
        diffs.push(diff(&file, Some(&before), Some(&after)));
        work.files.insert(file.clone(), Some(after));
    }
    Ok(Some(Change {
        action: Action::Delete,
        object: id.clone(),
        file,
        reason: "hapl made this object and the script no longer declares it".into(),
        diffs,
    }))
}

/// Secret values (`data` / `stringData` of a `Secret`) replaced by a mask, line by line.
pub fn mask_secrets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for doc in split_keep(text) {
        // Any `kind: Secret` line (masking too much is safe, too little is not).
        let is_secret = doc.lines().any(|l| {
            let l = l.split(" #").next().unwrap_or(l).trim();
            l.strip_prefix("kind:")
                .is_some_and(|v| v.trim().trim_matches(['"', '\'']) == "Secret")
        });
        if !is_secret {
            out.push_str(&mask_credentials(doc));
            continue;
        }
        let mut in_data: Option<usize> = None;
        for line in doc.split_inclusive('\n') {
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            let content = trimmed.trim_end();
            if let Some(base) = in_data {
                if content.is_empty() || content.starts_with('#') || indent > base {
                    if let Some((key, value)) = content.split_once(':') {
                        if indent > base && !value.trim().is_empty() {
                            let eol = &line[line.trim_end_matches(['\r', '\n']).len()..];
                            out.push_str(&format!("{}{key}: (masked){eol}", " ".repeat(indent)));
                            continue;
                        }
                    }
                    if indent > base + 2 && !content.is_empty() {
                        // A continuation line of a block value.
                        let eol = &line[line.trim_end_matches(['\r', '\n']).len()..];
                        out.push_str(&format!("{}(masked){eol}", " ".repeat(indent)));
                        continue;
                    }
                    out.push_str(line);
                    continue;
                }
                in_data = None;
            }
            if let Some(key) = ["data:", "stringData:"]
                .into_iter()
                .find(|k| content.starts_with(k))
            {
                let rest = content[key.len()..].trim();
                if rest.is_empty() || rest.starts_with('#') {
                    in_data = Some(indent);
                } else {
                    // A flow map (`data: {a: b}`) on one line.
                    let eol = &line[line.trim_end_matches(['\r', '\n']).len()..];
                    out.push_str(&format!("{}{key} (masked){eol}", " ".repeat(indent)));
                    continue;
                }
            }
            out.push_str(line);
        }
    }
    out
}

/// Credentials outside Secrets masked line by line: the value under a credential-like key
/// (`password:`, `adminPassword:`, `apiKey:` ...), an env `value:` after a credential-like
/// `name:`, and the password of a URL (`postgres://user:(masked)@db`).
fn mask_credentials(doc: &str) -> String {
    let mut out = String::with_capacity(doc.len());
    let mut env_credential = false;
    for line in doc.split_inclusive('\n') {
        let body = line.trim_end_matches(['\r', '\n']);
        let eol = &line[body.len()..];
        let item = body.trim_start().trim_start_matches("- ");
        let mut masked = None;
        if let Some((key, value)) = item.split_once(':') {
            let (key, value) = (key.trim().trim_matches(['"', '\'']), value.trim());
            let literal = !value.is_empty()
                && !["${", "ENC[", "!secret", "|", ">", "#"]
                    .iter()
                    .any(|p| value.starts_with(p));
            if key == "name" {
                env_credential = secret_key(value.trim_matches(['"', '\'']));
            } else if literal && (secret_key(key) || key == "value" && env_credential) {
                let at = body.len() - item.len() + item.find(':').unwrap_or(0) + 1;
                masked = Some(format!("{} (masked){eol}", &body[..at]));
            }
        }
        match masked {
            Some(m) => out.push_str(&m),
            None if url_with_password(body) => out.push_str(&mask_url_passwords(line)),
            None => out.push_str(line),
        }
    }
    out
}

/// `scheme://user:password@host` with each password replaced by `(masked)`.
fn mask_url_passwords(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail.find(|c: char| c.is_whitespace() || c == '/' || c == '"' || c == '\'');
        let authority = &tail[..end.unwrap_or(tail.len())];
        match authority
            .rsplit_once('@')
            .and_then(|(user, _)| user.split_once(':'))
        {
            Some((name, pass)) if !pass.is_empty() => {
                out.push_str(name);
                out.push_str(":(masked)");
                rest = &tail[name.len() + 1 + pass.len()..];
            }
            _ => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// Documents of a text, each with its separator line, concatenating back to the text.
fn split_keep(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        if line.starts_with("---") && pos > start {
            parts.push(&text[start..pos]);
            start = pos;
        }
        pos += line.len();
    }
    parts.push(&text[start..]);
    parts
}

/// A unified diff of one file, secrets masked: lines are compared as written and printed
/// masked, so a changed secret shows as a changed line without its value.
fn diff(path: &str, before: Option<&str>, after: Option<&str>) -> FileDiff {
    let (old, new) = (before.unwrap_or(""), after.unwrap_or(""));
    let (old_masked, new_masked) = (mask_secrets(old), mask_secrets(new));
    let old_lines: Vec<&str> = old_masked.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = new_masked.split_inclusive('\n').collect();
    let text = similar::TextDiff::from_lines(old, new);
    let mut out = String::new();
    for group in text.grouped_ops(3) {
        let (first, last) = (&group[0], &group[group.len() - 1]);
        let (o, n) = (first.old_range().start, first.new_range().start);
        let (ol, nl) = (last.old_range().end - o, last.new_range().end - n);
        let start = |s: usize, l: usize| if l == 0 { s } else { s + 1 };
        out.push_str(&format!(
            "@@ -{},{ol} +{},{nl} @@\n",
            start(o, ol),
            start(n, nl)
        ));
        for op in &group {
            for change in text.iter_changes(op) {
                let (sign, line) = match change.tag() {
                    similar::ChangeTag::Equal => (' ', old_lines[change.old_index().expect("old")]),
                    similar::ChangeTag::Delete => {
                        ('-', old_lines[change.old_index().expect("old")])
                    }
                    similar::ChangeTag::Insert => {
                        ('+', new_lines[change.new_index().expect("new")])
                    }
                };
                out.push(sign);
                out.push_str(line.trim_end_matches(['\n', '\r']));
                out.push('\n');
                if !line.ends_with('\n') {
                    out.push_str("\\ No newline at end of file\n");
                }
            }
        }
    }
    let name = |side: Option<&str>, prefix: &str| match side {
        Some(_) => format!("{prefix}/{path}"),
        None => "/dev/null".to_owned(),
    };
    let diff = if out.is_empty() {
        String::new()
    } else {
        format!("--- {}\n+++ {}\n{out}", name(before, "a"), name(after, "b"))
    };
    FileDiff {
        path: path.to_owned(),
        diff,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_that_does_not_parse_refuses_the_plan() {
        let mut writes = BTreeMap::new();
        writes.insert("a.yaml".to_owned(), "a: 1\n".to_owned());
        writes.insert("notes.txt".to_owned(), "a: [\n".to_owned());
        assert!(check_writes(&writes).is_ok());
        writes.insert("b/c.yml".to_owned(), "a: 1\nb: [x\n".to_owned());
        let Err(PlanError::Refused(why)) = check_writes(&writes) else {
            panic!("a broken write was let through");
        };
        assert!(
            why.starts_with("hapl would write `b/c.yml` so that it does not parse (line"),
            "{why}"
        );
        assert!(why.contains("nothing was planned"), "{why}");
    }

    #[test]
    fn a_text_the_lean_read_dropped_is_read_again_only_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: n\n";
        std::fs::write(dir.path().join("cm.yaml"), cm).unwrap();
        std::fs::write(
            dir.path().join("kustomization.yaml"),
            "resources:\n  - cm.yaml\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("notes.yaml"), "just: data\n").unwrap();
        let repo = repo::read_lean(dir.path(), false, &|_, _| true).unwrap();
        let loc = &repo.objects[&Identity::new("", "ConfigMap", Some("n"), "a")][0];
        assert!(loc.unchanged && loc.value.is_null());
        // Only the file whose every object is unchanged loses its text.
        assert!(repo.files["cm.yaml"].dropped && repo.files["cm.yaml"].text.is_empty());
        assert!(!repo.files["kustomization.yaml"].dropped);
        assert_eq!(repo.files["notes.yaml"].text, "just: data\n");
        let work = Work {
            repo: &repo,
            files: BTreeMap::new(),
        };
        assert!(work.has("cm.yaml") && !work.has("gone.yaml"));
        assert_eq!(work.get("cm.yaml").unwrap().as_deref(), Some(cm));
        std::fs::write(dir.path().join("cm.yaml"), cm.replace("a\n", "b\n")).unwrap();
        let Err(PlanError::Refused(why)) = work.get("cm.yaml") else {
            panic!("a file changed under the plan was read again");
        };
        assert!(
            why.contains("`cm.yaml` changed while hapl was planning"),
            "{why}"
        );
    }

    #[test]
    fn secret_values_are_masked() {
        let text = "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  password: hunter2\n  multi: |\n    line1\n    line2\ntype: Opaque\n---\nkind: ConfigMap\ndata:\n  a: visible\n";
        let masked = mask_secrets(text);
        assert!(
            !masked.contains("hunter2") && !masked.contains("line1"),
            "{masked}"
        );
        assert!(masked.contains("password: (masked)") && masked.contains("a: visible"));
        assert!(masked.contains("type: Opaque"));
        let flow = mask_secrets("kind: Secret\nstringData: {password: hunter2}\n");
        assert_eq!(flow, "kind: Secret\nstringData: (masked)\n");
        let commented = mask_secrets("kind: Secret\ndata: # base64\n  k: aHVudGVyMg==\n");
        assert_eq!(commented, "kind: Secret\ndata: # base64\n  k: (masked)\n");
    }

    #[test]
    fn what_replaces_stored_data() {
        use serde_json::json;
        let pvc = Identity::new("", "PersistentVolumeClaim", Some("ns"), "data");
        let claim = |class: &str, size: &str| {
            json!({"spec": {"storageClassName": class, "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": size}}}})
        };
        // Growing a claim is an in-place expansion; a new class or a smaller size is not.
        assert_eq!(
            replaces_data(&pvc, &claim("nfs", "5Gi"), &claim("nfs", "10Gi")),
            None
        );
        let why = replaces_data(&pvc, &claim("nfs", "5Gi"), &claim("nas", "5Gi")).unwrap();
        assert!(
            why.contains("spec.storageClassName") && why.contains("\"nas\""),
            "{why}"
        );
        let why = replaces_data(&pvc, &claim("nfs", "10Gi"), &claim("nfs", "5Gi")).unwrap();
        assert!(why.contains("shrink"), "{why}");
        // A StatefulSet's claim templates cannot change; its replicas can.
        let sts = Identity::new("apps", "StatefulSet", Some("ns"), "db");
        let set = |size: &str, replicas: i64| {
            json!({"spec": {"replicas": replicas, "volumeClaimTemplates": [
                {"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": size}}}}]}})
        };
        assert_eq!(replaces_data(&sts, &set("5Gi", 1), &set("5Gi", 0)), None);
        assert!(replaces_data(&sts, &set("5Gi", 1), &set("8Gi", 1)).is_some());
        // A volume moved to another export; other kinds never count.
        let pv = Identity::new("", "PersistentVolume", None, "pv");
        let nfs = |path: &str| json!({"spec": {"nfs": {"server": "nas", "path": path}}});
        assert!(replaces_data(&pv, &nfs("/a"), &nfs("/b")).is_some());
        let cm = Identity::new("", "ConfigMap", Some("ns"), "c");
        assert_eq!(replaces_data(&cm, &nfs("/a"), &nfs("/b")), None);
        assert!(holds_data(&pvc) && holds_data(&sts) && !holds_data(&cm));
    }

    #[test]
    fn credentials_outside_secrets_are_masked() {
        let text = "kind: Deployment\nspec:\n  env:\n    - name: GF_SECURITY_ADMIN_PASSWORD\n      value: pw-env\n    - name: LOG_LEVEL\n      value: debug\n    - name: DB\n      value: postgres://app:pw-url@db:5432/app\n  adminPassword: \"pw-chart\"\n  existingSecret: grafana\n  token: ${TOKEN}\n";
        let masked = mask_secrets(text);
        for leak in ["pw-env", "pw-url", "pw-chart"] {
            assert!(!masked.contains(leak), "{leak}: {masked}");
        }
        for kept in [
            "      value: (masked)\n",
            "value: debug",
            "postgres://app:(masked)@db:5432/app",
            "  adminPassword: (masked)\n",
            "existingSecret: grafana",
            "token: ${TOKEN}",
        ] {
            assert!(masked.contains(kept), "{kept}: {masked}");
        }
    }
}
