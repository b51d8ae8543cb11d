//! Reading a checked-in Flux repository: every YAML file, every document, indexed by object
//! identity with file, document index and line span.
//!
//! Files that are not plain YAML are handled on purpose: Helm chart `templates/` are not parsed;
//! SOPS-encrypted files (a top-level `sops:` key) are read for their identities but never
//! edited; files with `${VAR}` substitutions are read as written (the variables stay text).
//! Every file is kept byte-identical unless the plan edits an object in it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use hapl_core::identity::group_of;
use hapl_core::{Identity, KINDS};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::emit::Style;
use crate::owned::OWNED_PATH;
use crate::yaml::{self, Document};

/// Why a file was not read for objects.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct NotInspected {
    pub file: String,
    pub why: String,
}

/// A file that could not be read (with `--keep-going`: a finding; otherwise an error).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Finding {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// One parsed YAML file.
#[derive(Debug, Clone)]
pub struct RepoFile {
    pub text: String,
    pub docs: Vec<Document>,
    /// Values of the documents when only the fallback reader (libyaml) could read the file:
    /// such a file is indexed but never edited.
    pub fallback: Vec<Value>,
    /// SOPS-encrypted: read, never edited.
    pub encrypted: bool,
    /// Uses `${VAR}` substitutions (Flux `postBuild`): values are read as written.
    pub substituted: bool,
    /// Documents with content (counted before a lean read drops `docs`).
    pub documents: usize,
    /// The file's schema modeline (`# yaml-language-server: $schema=...` in its first three
    /// lines) with `apiVersion/kind` of the object in its first document, when that document is
    /// one object.
    pub modeline: Option<(String, String)>,
    /// How the file writes sequences and starts, for [`Repo::style`].
    pub style: FileStyle,
    /// A lean read dropped `text` (it is empty): every object in the file is unchanged (see
    /// [`read_lean`]). The file is still on disk, with the hash in [`Repo::hashes`].
    pub dropped: bool,
}

/// One file's share of a repo's [`Style`].
#[derive(Debug, Clone, Copy, Default)]
pub struct FileStyle {
    /// Block sequences under a key indented below it, and at its column.
    pub indented: u32,
    pub compact: u32,
    /// Whether the first line with content is `---` (`None`: no content).
    pub marked: Option<bool>,
}

impl FileStyle {
    fn of(text: &str) -> Self {
        let (indented, compact) = sequence_styles(text);
        let first = text
            .trim_start_matches('\u{feff}')
            .lines()
            .find(|l| !l.trim().is_empty() && !l.starts_with('#'));
        FileStyle {
            indented: u32::try_from(indented).unwrap_or(u32::MAX),
            compact: u32::try_from(compact).unwrap_or(u32::MAX),
            marked: first.map(|l| l.starts_with("---")),
        }
    }
}

/// Where an object lives.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    pub file: String,
    /// Index of the document in its file (0-based, counting empty documents).
    pub doc: usize,
    /// First and last line (1-based).
    pub lines: (usize, usize),
    /// The object's value as Kubernetes reads it (namespace filled in from the nearest
    /// `kustomization.yaml` when the document has none). `Null` for an item of a list, and
    /// after a lean read found it `unchanged`.
    pub value: Value,
    /// A lean read found the value equal to the one its caller wants, and dropped it.
    pub unchanged: bool,
}

/// A repository as read from disk.
#[derive(Debug, Clone, Default)]
pub struct Repo {
    pub root: PathBuf,
    pub files: BTreeMap<String, RepoFile>,
    pub objects: BTreeMap<Identity, Vec<Located>>,
    pub not_inspected: Vec<NotInspected>,
    pub findings: Vec<Finding>,
    /// sha256 (hex) of every file read, by path.
    pub hashes: BTreeMap<String, String>,
    /// Every file path in the repo (YAML or not), for placement and collisions.
    pub paths: Vec<String>,
}

/// A file that is not valid YAML, unless `keep_going` made it a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError(pub Finding);

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for ReadError {}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn is_yaml(path: &str) -> bool {
    path.ends_with(".yaml") || path.ends_with(".yml")
}

/// The largest YAML file read (bigger ones are refused before being read).
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// Every regular file under `root` (`.git` aside); symbolic links are never followed, only
/// listed in `links`.
fn walk_files(
    root: &Path,
    rel: &str,
    out: &mut Vec<String>,
    links: &mut Vec<String>,
) -> std::io::Result<()> {
    let dir = if rel.is_empty() {
        root.to_owned()
    } else {
        root.join(rel)
    };
    let mut entries: Vec<_> = fs::read_dir(&dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == ".git" {
            continue;
        }
        let path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let ty = entry.file_type()?;
        if ty.is_dir() {
            walk_files(root, &path, out, links)?;
        } else if ty.is_file() {
            out.push(path);
        } else if ty.is_symlink() {
            links.push(path);
        }
    }
    Ok(())
}

/// A Helm chart's template (a `templates/` folder beside a `Chart.yaml`).
fn is_chart_template(path: &str, paths: &[String]) -> bool {
    let mut dir = path;
    while let Some((parent, _)) = dir.rsplit_once('/') {
        if parent.ends_with("templates") || parent == "templates" {
            let chart = match parent.rsplit_once('/') {
                Some((p, _)) => format!("{p}/Chart.yaml"),
                None => "Chart.yaml".to_owned(),
            };
            if paths.binary_search(&chart).is_ok() {
                return true;
            }
        }
        dir = parent;
    }
    false
}

/// Read every YAML file under `root`. A missing root is an empty repository.
pub fn read(root: &Path, keep_going: bool) -> Result<Repo, ReadError> {
    read_with(root, keep_going, None)
}

/// Tells a lean read which objects the caller already holds with exactly the value read.
pub type Unchanged<'a> = &'a dyn Fn(&Identity, &Value) -> bool;

/// [`read`] for a plan, at a fraction of the memory: no node trees are kept (the plan parses
/// again the few files it edits), the value of every object `unchanged` says the caller
/// already holds is dropped as soon as it is read ([`Located::unchanged`]), and so is the text
/// of a file holding only such objects ([`RepoFile::dropped`]). A repo of 30,000 objects the
/// plan leaves alone is then not held in memory twice.
pub fn read_lean(root: &Path, keep_going: bool, unchanged: Unchanged) -> Result<Repo, ReadError> {
    read_with(root, keep_going, Some(unchanged))
}

fn is_kustomization(path: &str) -> bool {
    path.ends_with("kustomization.yaml") || path.ends_with("kustomization.yml")
}

/// `lean`: see [`read_lean`].
fn read_with(root: &Path, keep_going: bool, lean: Option<Unchanged>) -> Result<Repo, ReadError> {
    let mut repo = Repo {
        root: root.to_owned(),
        ..Repo::default()
    };
    if !root.exists() {
        return Ok(repo);
    }
    let mut paths = Vec::new();
    let mut links = Vec::new();
    walk_files(root, "", &mut paths, &mut links)
        .map_err(|e| io_finding(&root.display().to_string(), e))?;
    paths.sort();
    for link in links.into_iter().filter(|l| is_yaml(l)) {
        repo.not_inspected.push(NotInspected {
            file: link,
            why: "symbolic link (not followed)".into(),
        });
    }
    // `kustomization.yaml` files first: the namespaces they set are inherited by the objects
    // of their folders. Then each other file is read and indexed in turn, so that in a lean
    // read only one node tree is alive at a time.
    let yaml_paths: Vec<&String> = paths.iter().filter(|p| is_yaml(p)).collect();
    let mut namespaces = BTreeMap::new();
    for path in yaml_paths.iter().filter(|p| is_kustomization(p)) {
        if let Some(mut file) = load_file(root, path, &paths, keep_going, &mut repo)? {
            if let Some((dir, ns)) = kustomization_namespace(path, &file) {
                namespaces.insert(dir.to_owned(), ns);
            }
            if lean.is_some() {
                file.docs = Vec::new();
            }
            repo.files.insert((*path).clone(), file);
        }
    }
    let mut objects = BTreeMap::new();
    for path in yaml_paths.iter().filter(|p| !is_kustomization(p)) {
        if let Some(mut file) = load_file(root, path, &paths, keep_going, &mut repo)? {
            let (first_object, all_unchanged) =
                index_file(&mut objects, &namespaces, path, &file, lean);
            file.modeline = first_object.zip(modeline_of(&file.text));
            if lean.is_some() {
                file.docs = Vec::new();
                if all_unchanged && path.as_str() != OWNED_PATH {
                    file.text = String::new();
                    file.dropped = true;
                }
            }
            repo.files.insert((*path).clone(), file);
        }
    }
    repo.objects = objects;
    repo.not_inspected.sort();
    repo.findings
        .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    repo.paths = paths;
    Ok(repo)
}

fn io_finding(file: &str, e: std::io::Error) -> ReadError {
    ReadError(Finding {
        file: file.to_owned(),
        line: 0,
        message: format!("cannot read: {e}"),
    })
}

/// One YAML file, read and parsed; `None` when it is skipped (a chart template, not YAML with
/// `keep_going`, ...), with the reason recorded in `repo`.
fn load_file(
    root: &Path,
    path: &str,
    paths: &[String],
    keep_going: bool,
    repo: &mut Repo,
) -> Result<Option<RepoFile>, ReadError> {
    if is_chart_template(path, paths) {
        repo.not_inspected.push(NotInspected {
            file: path.to_owned(),
            why: "Helm chart template".into(),
        });
        return Ok(None);
    }
    let size = fs::metadata(root.join(path))
        .map_err(|e| io_finding(path, e))?
        .len();
    if size > MAX_FILE_BYTES {
        let finding = Finding {
            file: path.to_owned(),
            line: 0,
            message: format!(
                "file of {} MiB; hapl reads YAML files up to {} MiB",
                size >> 20,
                MAX_FILE_BYTES >> 20
            ),
        };
        if keep_going {
            repo.findings.push(finding);
            return Ok(None);
        }
        return Err(ReadError(finding));
    }
    let bytes = fs::read(root.join(path)).map_err(|e| io_finding(path, e))?;
    repo.hashes.insert(path.to_owned(), sha256_hex(&bytes));
    // hapl's own record holds no objects and has its own reader (`Owned::parse`), which is
    // lighter than a node tree of its tens of thousands of entries.
    let is_record = path == OWNED_PATH;
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let finding = Finding {
                file: path.to_owned(),
                line: valid.iter().filter(|b| **b == b'\n').count() + 1,
                message: format!("not UTF-8 ({e})"),
            };
            if keep_going {
                repo.findings.push(finding);
                return Ok(None);
            }
            return Err(ReadError(finding));
        }
    };
    let mut fallback = Vec::new();
    let docs = match if is_record {
        Ok(Vec::new())
    } else {
        yaml::parse(&text)
    } {
        Ok(docs) => docs,
        Err(e) if !e.limit && read_with_libyaml(&text).is_some() => {
            fallback = read_with_libyaml(&text).unwrap_or_default();
            Vec::new()
        }
        Err(e) if text.contains("{{") || text.contains("<<") && text.contains(">>") => {
            repo.not_inspected.push(NotInspected {
                file: path.to_owned(),
                why: format!("template syntax, not YAML (line {}: {})", e.line, e.message),
            });
            return Ok(None);
        }
        Err(e) => {
            let finding = Finding {
                file: path.to_owned(),
                line: e.line,
                message: format!("invalid YAML: {}", e.message),
            };
            if keep_going {
                repo.findings.push(finding);
                return Ok(None);
            }
            return Err(ReadError(finding));
        }
    };
    let encrypted = docs.iter().any(|d| {
        d.root
            .as_ref()
            .is_some_and(|r| matches!(&r.kind, yaml::NodeKind::Map(e) if e.iter().any(|(k, _)| yaml::key_str(k) == Some("sops"))))
    }) || fallback.iter().any(|v| v.get("sops").is_some());
    let substituted = text.contains("${");
    let documents = docs.iter().filter(|d| d.root.is_some()).count() + fallback.len();
    Ok(Some(RepoFile {
        docs,
        fallback,
        encrypted,
        substituted,
        documents: documents.max(usize::from(is_record)),
        modeline: None,
        style: FileStyle::of(&text),
        dropped: false,
        text,
    }))
}

/// The documents of a file the span-keeping parser rejects, read by libyaml instead.
fn read_with_libyaml(text: &str) -> Option<Vec<Value>> {
    use serde::Deserialize;
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let mut v = serde_yaml::Value::deserialize(doc).ok()?;
        v.apply_merge().ok()?;
        out.push(serde_json::to_value(v).ok()?);
    }
    Some(out)
}

/// The folder of a `kustomization.yaml` (`""` for the root) and the `namespace:` it sets.
fn kustomization_namespace<'p>(path: &'p str, file: &RepoFile) -> Option<(&'p str, String)> {
    let dir = match path.strip_suffix("kustomization.yaml") {
        Some(d) if d.is_empty() || d.ends_with('/') => d.trim_end_matches('/'),
        _ => return None,
    };
    // The top-level `namespace:` key, without reading the whole (often long) document.
    let Some(yaml::Node {
        kind: yaml::NodeKind::Map(entries),
        ..
    }) = file.docs.first().and_then(|d| d.root.as_ref())
    else {
        return None;
    };
    entries.iter().find_map(|(k, v)| match (&k.kind, &v.kind) {
        (_, yaml::NodeKind::Scalar { value, .. }) if yaml::key_str(k) == Some("namespace") => {
            Some((dir, value.clone()))
        }
        _ => None,
    })
}

/// The namespace the nearest `kustomization.yaml` above `path` sets, if any.
fn inherited_namespace<'a>(
    namespaces: &'a BTreeMap<String, String>,
    path: &str,
) -> Option<&'a str> {
    let mut dir = path;
    while let Some((parent, _)) = dir.rsplit_once('/') {
        if let Some(ns) = namespaces.get(parent) {
            return Some(ns);
        }
        dir = parent;
    }
    namespaces.get("").map(String::as_str)
}

/// Identity of a plain object value: `None` unless it has `apiVersion`, `kind` and a name.
pub fn identity_of(value: &Value, inherited_ns: Option<&str>) -> Option<Identity> {
    let api = value.get("apiVersion")?.as_str()?;
    let kind = value.get("kind")?.as_str()?;
    let name = value.pointer("/metadata/name")?.as_str()?;
    let ns = value
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .or(inherited_ns);
    let namespaced = KINDS
        .iter()
        .find(|(_, k, _)| *k == kind)
        .map(|(_, _, n)| *n);
    let ns = match namespaced {
        Some(false) => None,
        Some(true) => Some(ns.unwrap_or("default")),
        None => ns,
    };
    Some(Identity::new(group_of(api), kind, ns, name))
}

/// The schema modeline in the first three lines of a file.
fn modeline_of(text: &str) -> Option<String> {
    text.lines()
        .take(3)
        .find(|l| l.starts_with("# yaml-language-server: $schema="))
        .map(|l| l.trim_end().to_owned())
}

/// Add the objects of one file (not a `kustomization.yaml`) to `objects`, dropping the values
/// `unchanged` knows. Returns `apiVersion/kind` of the first document when it is one object,
/// and whether the file has content and all of it is objects dropped as unchanged.
fn index_file(
    objects: &mut BTreeMap<Identity, Vec<Located>>,
    namespaces: &BTreeMap<String, String>,
    path: &str,
    file: &RepoFile,
    unchanged: Option<Unchanged>,
) -> (Option<String>, bool) {
    let mut first_object = None;
    let (mut any, mut all_unchanged) = (false, true);
    let mut inherited: Option<Option<String>> = None;
    let docs = file.docs.iter().map(|d| {
        d.root.as_ref().map(|r| {
            let lines = (
                r.line,
                r.line + file.text[r.start..r.end].matches('\n').count(),
            );
            (yaml::to_value(r, &yaml::anchors(r)), lines)
        })
    });
    let fallback = file.fallback.iter().map(|v| Some((v.clone(), (0, 0))));
    for (i, doc) in docs.chain(fallback).enumerate() {
        let Some((value, lines)) = doc else { continue };
        any = true;
        // A top-level list of objects (or a `List`) is read item by item.
        let items: Vec<Value> = match value {
            Value::Array(items) => items,
            Value::Object(ref m) if m.get("kind").and_then(Value::as_str) == Some("List") => m
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            v => vec![v],
        };
        let single = items.len() == 1;
        for mut item in items {
            let ns = inherited
                .get_or_insert_with(|| inherited_namespace(namespaces, path).map(str::to_owned))
                .clone();
            let Some(id) = identity_of(&item, ns.as_deref()) else {
                // Not an object (values, settings): the file keeps its text.
                all_unchanged = false;
                continue;
            };
            if let (Some(ns), Some(meta)) = (&id.namespace, item.get_mut("metadata")) {
                if let Some(meta) = meta.as_object_mut() {
                    meta.entry("namespace")
                        .or_insert_with(|| Value::String(ns.clone()));
                }
            }
            if i == 0 && single {
                first_object = match (item.get("apiVersion"), item.get("kind")) {
                    (Some(Value::String(api)), Some(Value::String(kind))) => {
                        Some(format!("{api}/{kind}"))
                    }
                    _ => None,
                };
            }
            let same = single && unchanged.is_some_and(|f| f(&id, &item));
            all_unchanged &= same;
            // Nearly every identity is in one place: no room for four.
            objects
                .entry(id)
                .or_insert_with(|| Vec::with_capacity(1))
                .push(Located {
                    file: path.to_owned(),
                    doc: i,
                    lines,
                    // Items of a list cannot be patched on their own.
                    value: if single && !same { item } else { Value::Null },
                    unchanged: same,
                });
        }
    }
    (first_object, any && all_unchanged)
}

impl Repo {
    /// Number of documents with content.
    pub fn document_count(&self) -> usize {
        self.files.values().map(|f| f.documents).sum()
    }

    /// Whether the folder `dir` (`""`: the root) holds any file, in a repo with objects (a
    /// folder of scripts and notes is an empty repo).
    pub fn has_dir(&self, dir: &str) -> bool {
        if self.objects.is_empty() {
            return false;
        }
        if dir.is_empty() {
            return true;
        }
        let prefix = format!("{dir}/");
        let i = self.paths.partition_point(|p| p.as_str() < prefix.as_str());
        self.paths.get(i).is_some_and(|p| p.starts_with(&prefix))
    }

    /// Whether the repo writes `kustomization.yaml` files (some flat repos let Flux generate one).
    pub fn uses_kustomizations(&self) -> bool {
        self.files.keys().any(|p| p.ends_with("kustomization.yaml"))
    }

    /// The repo's style: the majority of block sequences under a key, and of files starting
    /// with `---`.
    pub fn style(&self) -> Style {
        let (mut indented, mut compact) = (0usize, 0usize);
        let (mut marked, mut unmarked) = (0usize, 0usize);
        for file in self.files.values().take(200) {
            indented += file.style.indented as usize;
            compact += file.style.compact as usize;
            match file.style.marked {
                Some(true) => marked += 1,
                Some(false) => unmarked += 1,
                None => {}
            }
        }
        Style {
            indent_sequences: indented >= compact,
            document_start: marked >= unmarked,
        }
    }

    /// `# yaml-language-server: $schema=` modelines the repo uses, by `apiVersion/kind`.
    pub fn modelines(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (kind, line) in self.files.values().filter_map(|f| f.modeline.as_ref()) {
            out.entry(kind.clone()).or_insert_with(|| line.clone());
        }
        out
    }
}

/// (indented, compact) counts of `key:` lines followed by a `- ` line.
pub fn sequence_styles(text: &str) -> (usize, usize) {
    let (mut indented, mut compact) = (0, 0);
    let mut prev: Option<(usize, bool)> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        if let Some((key_indent, true)) = prev {
            if trimmed.starts_with("- ") || trimmed == "-" {
                if indent > key_indent {
                    indented += 1;
                } else {
                    compact += 1;
                }
            }
        }
        let opens = trimmed.trim_end().ends_with(':') && !trimmed.starts_with("- ");
        prev = Some((indent, opens));
    }
    (indented, compact)
}
