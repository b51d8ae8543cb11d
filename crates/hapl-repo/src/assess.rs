//! `hapl assess`: a read-only Phase 0 assessment of a checked-in Flux repository.
//!
//! The repo's objects become a [`Platform`] (typed where hapl knows the kind; a field that does
//! not convert is dropped, not the object; unknown kinds are listed), local Helm charts are
//! rendered leniently ([`crate::chart`]), the rule catalogue runs over the platform, and every
//! finding that names a field path is moved from the object's first line to the field's line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use hapl_core::diagnostic::Span;
use hapl_core::rules::{self, Settings};
use hapl_core::{Diagnostic, Origin, Platform, PlatformObject, Resource, KINDS};
use serde_json::Value;

use crate::chart::{self, ChartValues, Rendered, Scope, ValuesFile};
use crate::repo::{self, identity_of, NotInspected, ReadError};
use crate::yaml::{self, Node, NodeKind};

/// Where an object of the platform was written: its document's node tree, and for rendered
/// templates the file and line of every rendered line.
#[derive(Debug, Clone)]
pub struct Source {
    pub file: String,
    pub root: Option<Node>,
    pub lines: Option<Vec<(String, usize)>>,
    /// A release of a local chart: where its merged values were written.
    pub values: Option<ChartValues>,
}

/// An object hapl read but did not check.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Skipped {
    pub file: String,
    pub line: usize,
    pub object: String,
    pub why: String,
}

#[derive(Debug)]
pub struct Assessment {
    pub root: std::path::PathBuf,
    pub platform: Platform,
    /// One per platform object.
    pub sources: Vec<Source>,
    pub diagnostics: Vec<Diagnostic>,
    /// Objects of kinds hapl does not know, or that did not convert.
    pub skipped: Vec<Skipped>,
    /// Fields dropped so that an object converts (`file:line object: why`).
    pub dropped: Vec<Skipped>,
    pub not_inspected: Vec<NotInspected>,
    pub unreadable: Vec<repo::Finding>,
    /// Folders that hold no file but dotfiles (`.gitkeep`).
    pub empty_dirs: Vec<String>,
    /// Local chart templates rendered.
    pub templates: Vec<String>,
}

impl Assessment {
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }
}

/// Reads the repo at `root` and assesses it. Unreadable YAML files are reported, not fatal;
/// only an unreadable folder is an error.
pub fn assess(root: &Path, settings: &Settings) -> Result<Assessment, ReadError> {
    let repo = repo::read(root, true)?;
    let mut a = Assessment {
        root: root.to_owned(),
        platform: Platform::new(
            root.canonicalize()
                .ok()
                .and_then(|r| r.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "repo".into()),
            "repo",
        ),
        sources: Vec::new(),
        diagnostics: Vec::new(),
        skipped: Vec::new(),
        dropped: Vec::new(),
        not_inspected: Vec::new(),
        unreadable: repo.findings.clone(),
        empty_dirs: empty_dirs(&repo.paths),
        templates: Vec::new(),
    };
    let mut rendered_templates = BTreeSet::new();
    for (id, located) in &repo.objects {
        let Some(loc) = located.iter().find(|l| !l.value.is_null()) else {
            continue;
        };
        let root_node = repo
            .files
            .get(&loc.file)
            .and_then(|f| f.docs.get(loc.doc))
            .and_then(|d| d.root.clone());
        let line = loc.lines.0.max(1);
        let Some(mut resource) = a.convert(loc.value.clone(), &loc.file, line, &id.to_string())
        else {
            continue;
        };
        let mut values = None;
        if let Resource::HelmRelease(hr) = &mut resource {
            if let Some(dir) = local_chart_dir(root, hr) {
                let release_values = hr.spec.values.clone().unwrap_or_else(chart::empty);
                let cv = chart_values(root, &dir, &release_values, &loc.file, root_node.clone());
                hr.spec.values = Some(cv.values.clone());
                let release = hr
                    .spec
                    .release_name
                    .clone()
                    .or(hr.metadata.name.clone())
                    .unwrap_or_default();
                let ns = hr
                    .spec
                    .target_namespace
                    .clone()
                    .or(hr.metadata.namespace.clone())
                    .unwrap_or_else(|| "default".into());
                a.render_chart(root, &dir, &release, &ns, &cv, &mut rendered_templates);
                values = Some(cv);
            }
        }
        a.push(
            resource,
            Source {
                file: loc.file.clone(),
                root: root_node,
                lines: None,
                values,
            },
            line,
        );
    }
    a.not_inspected = repo
        .not_inspected
        .iter()
        .filter(|n| !rendered_templates.contains(&n.file))
        .cloned()
        .collect();
    a.not_inspected.sort();
    let diagnostics = rules::check(&a.platform, settings);
    a.diagnostics = a.place(diagnostics);
    Ok(a)
}

impl Assessment {
    fn push(&mut self, resource: Resource, source: Source, line: usize) {
        let file = match &source.lines {
            Some(map) => map
                .get(line - 1)
                .cloned()
                .unwrap_or((source.file.clone(), line)),
            None => (source.file.clone(), line),
        };
        let origin = Origin::new(Span::new(file.0, file.1 as u32, 1));
        self.platform.objects.push(PlatformObject {
            resource,
            origin,
            component: String::new(),
            path: None,
            layer: None,
            phase: None,
            reason: None,
        });
        self.sources.push(source);
    }

    /// A typed object, dropping fields that do not convert; `None` (and a note) when the kind
    /// is unknown or the object does not convert at all.
    fn convert(
        &mut self,
        mut value: Value,
        file: &str,
        line: usize,
        name: &str,
    ) -> Option<Resource> {
        let api = value
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
        if !KINDS.iter().any(|(a, k, _)| *a == api && *k == kind) {
            self.skipped.push(Skipped {
                file: file.to_owned(),
                line,
                object: name.to_owned(),
                why: format!("kind `{kind}` (`{api}`) is not one hapl checks"),
            });
            return None;
        }
        for _ in 0..32 {
            match Resource::from_value(value.clone()) {
                Ok(r) => return Some(r),
                Err(e) if !e.path.is_empty() && remove_path(&mut value, &e.path) => {
                    self.dropped.push(Skipped {
                        file: file.to_owned(),
                        line,
                        object: name.to_owned(),
                        why: format!("field dropped: {e}"),
                    });
                }
                Err(e) => {
                    self.skipped.push(Skipped {
                        file: file.to_owned(),
                        line,
                        object: name.to_owned(),
                        why: format!("does not convert: {e}"),
                    });
                    return None;
                }
            }
        }
        None
    }

    fn render_chart(
        &mut self,
        root: &Path,
        dir: &str,
        release: &str,
        ns: &str,
        values: &ChartValues,
        rendered: &mut BTreeSet<String>,
    ) {
        let meta = read_value(root, &format!("{dir}/Chart.yaml")).unwrap_or(Value::Null);
        let field = |k: &str| meta.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let (chart_name, app_version) = (field("name"), field("appVersion"));
        let scope = Scope {
            chart_name: &chart_name,
            app_version: &app_version,
            release,
            namespace: ns,
            values,
        };
        let Ok(entries) = std::fs::read_dir(root.join(dir).join("templates")) else {
            return;
        };
        let mut files: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
            .collect();
        files.sort();
        for name in files {
            let file = format!("{dir}/templates/{name}");
            let Ok(text) = std::fs::read_to_string(root.join(&file)) else {
                continue;
            };
            let out: Rendered = chart::render(&file, &text, &scope);
            let docs = match yaml::parse(&out.text) {
                Ok(docs) => docs,
                Err(e) => {
                    let at = out.lines.get(e.line.saturating_sub(1)).map_or(0, |l| l.1);
                    self.not_inspected.push(NotInspected {
                        file: file.clone(),
                        why: format!(
                            "template not readable without Helm (line {at}: {})",
                            e.message
                        ),
                    });
                    rendered.insert(file);
                    continue;
                }
            };
            rendered.insert(file.clone());
            self.templates.push(file.clone());
            for doc in docs {
                let Some(node) = doc.root else { continue };
                let mut value = yaml::to_value(&node, &yaml::anchors(&node));
                let Some(id) = identity_of(&value, Some(ns)) else {
                    continue;
                };
                if let (Some(n), Some(meta)) = (&id.namespace, value.get_mut("metadata")) {
                    if let Some(meta) = meta.as_object_mut() {
                        meta.entry("namespace")
                            .or_insert_with(|| Value::String(n.clone()));
                    }
                }
                let line = node.line;
                let at = out.lines.get(line - 1).map_or(line, |l| l.1);
                if let Some(r) = self.convert(value, &file, at, &id.to_string()) {
                    self.push(
                        r,
                        Source {
                            file: file.clone(),
                            root: Some(node),
                            lines: Some(out.lines.clone()),
                            values: None,
                        },
                        line,
                    );
                }
            }
        }
    }

    /// Moves diagnostics that name a field to the field's line.
    fn place(&self, diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
        let by_origin: BTreeMap<&Span, usize> = self
            .platform
            .objects
            .iter()
            .enumerate()
            .map(|(i, o)| (&o.origin.site, i))
            .collect();
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for mut d in diagnostics {
            let object = d.primary.as_ref().and_then(|s| by_origin.get(s).copied());
            if let Some(i) = object {
                // The release of a local chart: its templates were read.
                if d.code == "unknown-chart" && self.sources[i].values.is_some() {
                    continue;
                }
                if let Some((file, line)) = d.path.as_ref().and_then(|p| self.locate(i, p)) {
                    // A namespace a template takes from the release is not written into it.
                    if d.code == "hardcoded-namespace" && self.written_by_template(&file, line) {
                        continue;
                    }
                    d.primary = Some(Span::new(file, line as u32, 1));
                }
            }
            for l in &mut d.labels {
                let Some(&i) = by_origin.get(&l.span) else {
                    continue;
                };
                if let Some((file, line)) = l.path.as_ref().and_then(|p| self.locate(i, p)) {
                    l.span = Span::new(file, line as u32, 1);
                }
            }
            if let Some(words) = MISSING.iter().find(|(r, _)| *r == d.code).map(|(_, w)| w) {
                for dir in &self.empty_dirs {
                    let last = dir.trim_end_matches('/').rsplit('/').next().unwrap_or("");
                    if words.iter().any(|w| last.contains(w)) {
                        d = d.label(Span::file(dir.clone()), "this folder is empty");
                    }
                }
            }
            // A local chart's configuration is seen twice (values and the rendered ConfigMap).
            if seen.insert((d.code.clone(), d.primary.clone())) {
                out.push(d);
            }
        }
        out.sort_by(|a, b| {
            let key = |d: &Diagnostic| {
                let (file, line) = d
                    .primary
                    .as_ref()
                    .map_or((String::new(), 0), |s| (s.file.clone(), s.line));
                (d.severity, file, line, d.code.clone(), d.message.clone())
            };
            key(a).cmp(&key(b))
        });
        out
    }

    /// Whether a template's line takes its value from a template action.
    fn written_by_template(&self, file: &str, line: usize) -> bool {
        self.templates.iter().any(|t| t == file)
            && std::fs::read_to_string(self.root.join(file))
                .ok()
                .and_then(|text| text.lines().nth(line - 1).map(|l| l.contains("{{")))
                .unwrap_or(false)
    }

    /// File and line of the field at `path` in object `i`.
    pub fn locate(&self, i: usize, path: &str) -> Option<(String, usize)> {
        let source = &self.sources[i];
        let mut parts = path.split('|');
        let segs = segments(parts.next()?);
        let (mut line, node) = match &source.values {
            Some(cv) if segs.len() > 2 && segs[0] == "spec" && segs[1] == "values" => {
                let keys: Vec<String> = segs[2..].to_vec();
                let (file, line, node) = cv.line_of(&keys)?;
                return inner(node, line, parts).map(|l| (file, l));
            }
            _ => {
                let root = source.root.as_ref()?;
                let node = walk(root, &segs);
                (node.line, node)
            }
        };
        let rest: Vec<&str> = parts.collect();
        if !rest.is_empty() {
            line = inner(node, line, rest.into_iter())?;
        }
        Some(match &source.lines {
            Some(map) => map
                .get(line - 1)
                .cloned()
                .unwrap_or((source.file.clone(), line)),
            None => (source.file.clone(), line),
        })
    }
}

/// Rules about something missing, and the folder names that would have held it.
const MISSING: &[(&str, &[&str])] = &[
    ("recorder-on-postgres", &["postgres"]),
    ("zigbee-via-mqtt", &["zigbee", "mosquitto", "mqtt"]),
    ("backup-coverage", &["backup"]),
];

/// The line inside a text value (`key: |` holding YAML) that `paths` name, one level of
/// embedding per part.
fn inner<'a>(node: &Node, line: usize, parts: impl Iterator<Item = &'a str>) -> Option<usize> {
    let mut line = line;
    let mut text = match &node.kind {
        NodeKind::Scalar { value, .. } => (value.clone(), value.contains('\n')),
        _ => return Some(line),
    };
    for part in parts {
        let docs = yaml::parse(&text.0).ok()?;
        let root = docs.into_iter().find_map(|d| d.root)?;
        let found = walk(&root, &segments(part));
        // A block string starts on the line after its key.
        line += found.line - usize::from(!text.1);
        text = match &found.kind {
            NodeKind::Scalar { value, .. } => (value.clone(), value.contains('\n')),
            _ => break,
        };
    }
    Some(line)
}

/// The deepest node `segs` reach.
fn walk<'a>(root: &'a Node, segs: &[String]) -> &'a Node {
    let mut node = root;
    for seg in segs {
        let next = match &node.kind {
            NodeKind::Map(entries) => entries
                .iter()
                .find(|(k, _)| yaml::key_str(k) == Some(seg.as_str()))
                .map(|(_, v)| v),
            NodeKind::Seq(items) => match seg.strip_prefix("name=") {
                Some(name) => items.iter().find(|item| match &item.kind {
                    NodeKind::Map(e) => e.iter().any(|(k, v)| {
                        yaml::key_str(k) == Some("name") && yaml::key_str(v) == Some(name)
                    }),
                    _ => false,
                }),
                None => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
            },
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => break,
        }
    }
    node
}

/// `a.b[0].c["x.y"][name=z]` → `a`, `b`, `0`, `c`, `x.y`, `name=z`.
fn segments(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            '[' => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                let mut inside = String::new();
                for c in chars.by_ref() {
                    if c == ']' {
                        break;
                    }
                    inside.push(c);
                }
                out.push(inside.trim_matches('"').to_owned());
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Removes the field at a conversion error's path; false when there is nothing to remove.
fn remove_path(value: &mut Value, path: &str) -> bool {
    let segs = segments(path);
    let Some((last, parents)) = segs.split_last() else {
        return false;
    };
    let mut v = value;
    for seg in parents {
        v = match v {
            Value::Object(m) => match m.get_mut(seg) {
                Some(c) => c,
                None => return false,
            },
            Value::Array(a) => match seg.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                Some(c) => c,
                None => return false,
            },
            _ => return false,
        };
    }
    match v {
        Value::Object(m) => m.remove(last).is_some(),
        Value::Array(a) => match last.parse::<usize>() {
            Ok(i) if i < a.len() => {
                a.remove(i);
                true
            }
            _ => false,
        },
        _ => false,
    }
}

/// The folder of a release's chart when it lives in this repository.
fn local_chart_dir(root: &Path, hr: &hapl_core::flux::HelmRelease) -> Option<String> {
    let spec = &hr.spec.chart.as_ref()?.spec;
    if spec.source_ref.kind != "GitRepository" && spec.source_ref.kind != "Bucket" {
        return None;
    }
    let dir = spec.chart.trim_start_matches("./").trim_end_matches('/');
    root.join(dir)
        .join("Chart.yaml")
        .is_file()
        .then(|| dir.to_owned())
}

fn read_value(root: &Path, file: &str) -> Option<Value> {
    let text = std::fs::read_to_string(root.join(file)).ok()?;
    serde_yaml::from_str::<serde_yaml::Value>(&text)
        .ok()
        .and_then(|v| serde_json::to_value(v).ok())
}

/// The chart's `values.yaml` with the release's values on top.
fn chart_values(
    root: &Path,
    dir: &str,
    release_values: &Value,
    release_file: &str,
    release_root: Option<Node>,
) -> ChartValues {
    let file = format!("{dir}/values.yaml");
    let text = std::fs::read_to_string(root.join(&file)).unwrap_or_default();
    let values_root = yaml::parse(&text)
        .ok()
        .and_then(|d| d.into_iter().find_map(|d| d.root));
    let mut values = values_root
        .as_ref()
        .map(|r| yaml::to_value(r, &yaml::anchors(r)))
        .filter(Value::is_object)
        .unwrap_or_else(chart::empty);
    chart::merge(&mut values, release_values);
    ChartValues {
        values,
        files: vec![
            (
                ValuesFile {
                    file: release_file.to_owned(),
                    root: release_root,
                },
                vec!["spec".into(), "values".into()],
            ),
            (
                ValuesFile {
                    file,
                    root: values_root,
                },
                Vec::new(),
            ),
        ],
    }
}

/// Folders whose files are all dotfiles (a `.gitkeep` holding an empty folder in git).
fn empty_dirs(paths: &[String]) -> Vec<String> {
    let mut dirs: BTreeMap<String, bool> = BTreeMap::new();
    for p in paths {
        let Some((dir, name)) = p.rsplit_once('/') else {
            continue;
        };
        let entry = dirs.entry(format!("{dir}/")).or_insert(true);
        *entry &= name.starts_with('.');
        // Parents that hold this folder are not empty.
        let mut parent = dir;
        while let Some((up, _)) = parent.rsplit_once('/') {
            dirs.insert(format!("{up}/"), false);
            parent = up;
        }
    }
    dirs.into_iter()
        .filter(|(_, e)| *e)
        .map(|(d, _)| d)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_into_keys_indices_and_selectors() {
        assert_eq!(
            segments(r#"spec.containers[name=app].env[0].value"#),
            ["spec", "containers", "name=app", "env", "0", "value"]
        );
        assert_eq!(
            segments(r#"metadata.annotations["a.b/c"]"#),
            ["metadata", "annotations", "a.b/c"]
        );
    }

    #[test]
    fn a_field_that_does_not_convert_is_dropped_not_the_object() {
        let mut v = serde_json::json!({"spec": {"containers": [{"name": "a", "bogus": 1}]}});
        assert!(remove_path(&mut v, "spec.containers[0].bogus"));
        assert_eq!(
            v,
            serde_json::json!({"spec": {"containers": [{"name": "a"}]}})
        );
        assert!(!remove_path(&mut v, "spec.nothing.here"));
    }

    #[test]
    fn folders_holding_only_dotfiles_are_empty() {
        let paths: Vec<String> = ["a/.gitkeep", "a/b/x.yaml", "c/.gitkeep", "d/e/.gitkeep"]
            .map(String::from)
            .to_vec();
        assert_eq!(empty_dirs(&paths), ["c/", "d/e/"]);
    }
}
