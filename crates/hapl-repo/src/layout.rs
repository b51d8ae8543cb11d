//! Where each rendered object goes in a repository tree.
//!
//! The default layout, used for a fresh repo and by `hapl render`:
//! `<namespace>/<component>/<kind>-<name>.yaml` for namespaced objects and
//! `cluster/<component>/<kind>-<name>.yaml` for cluster-scoped ones; an object with an explicit
//! `path` goes into that directory instead, and one with a `layer` into
//! `<layer dir>/<component>` ([`Platform::layer_dir`]). Every directory gets a
//! `kustomization.yaml` that lists its files and subdirectories, so `kubectl kustomize` builds
//! any subtree.
//!
//! In a repository that already has objects, [`Placer`] learns where the repo puts things: for
//! each namespace, the folder named after it and the shape of an app folder below it
//! (`kubernetes/apps/<ns>/<app>/app/`, `<ns>/<app>/`, ...), and whether files are named after
//! their kind (`helmrelease.yaml`). New objects follow the same pattern.

use std::collections::{BTreeMap, BTreeSet};

use hapl_core::kustomize::KustomizationFile;
use hapl_core::{render, Platform, PlatformObject, Resource};
use serde_json::Value;

use crate::emit::{self, Style};
use crate::patch;
use crate::repo::Repo;
use crate::yaml;

/// A rendered tree: relative path (with `/`) → file content. Sorted, so output is stable.
pub type Tree = BTreeMap<String, String>;

/// The directory of an object under the default layout.
pub fn default_dir(platform: &Platform, obj: &PlatformObject) -> String {
    if let Some(path) = &obj.path {
        return path.trim_end_matches('/').to_owned();
    }
    if let Some(layer) = &obj.layer {
        return format!("{}/{}", platform.layer_dir(layer), obj.component);
    }
    let top = obj.resource.namespace().unwrap_or("cluster");
    let top = if obj.resource.is_namespaced() {
        top
    } else {
        "cluster"
    };
    format!("{top}/{}", obj.component)
}

fn file_stem(obj: &PlatformObject) -> String {
    format!(
        "{}-{}",
        obj.resource.kind().to_ascii_lowercase(),
        obj.resource.name()
    )
}

/// Render the platform into a tree of YAML files with a `kustomization.yaml` in every directory.
pub fn render_tree(platform: &Platform) -> Tree {
    // Directory → file name → content.
    let mut dirs: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for obj in &platform.objects {
        let dir = default_dir(platform, obj);
        let files = dirs.entry(dir).or_default();
        let mut name = format!("{}.yaml", file_stem(obj));
        if files.contains_key(&name) {
            // Same kind and name from two namespaces in one explicit directory.
            let ns = obj.resource.namespace().unwrap_or("cluster");
            name = format!("{}-{ns}.yaml", file_stem(obj));
        }
        files.insert(name, new_file(&obj.resource, None, &Style::default()));
    }

    // Every ancestor directory lists its children.
    let mut children: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    children.entry(String::new()).or_default();
    for dir in dirs.keys() {
        let mut path = String::new();
        for part in dir.split('/') {
            let parent = path.clone();
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(part);
            children
                .entry(parent)
                .or_default()
                .insert(format!("{part}/"));
            children.entry(path.clone()).or_default();
        }
    }

    let mut tree = Tree::new();
    for (dir, subdirs) in &children {
        let files = dirs.remove(dir);
        let mut resources: Vec<String> = files
            .as_ref()
            .map(|f| f.keys().cloned().collect())
            .unwrap_or_default();
        resources.extend(subdirs.iter().map(|d| d.trim_end_matches('/').to_owned()));
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        tree.insert(
            format!("{prefix}kustomization.yaml"),
            kustomization_text(resources, &Style::default()),
        );
        if let Some(files) = files {
            for (name, content) in files {
                tree.insert(format!("{prefix}{name}"), content);
            }
        }
    }
    tree
}

/// A new file holding one object: `---` (if the repo starts files so), the repo's schema modeline for the kind if it uses
/// one, the object.
pub fn new_file(resource: &Resource, modeline: Option<&str>, style: &Style) -> String {
    let mut text = String::new();
    if style.document_start {
        text.push_str("---\n");
    }
    if let Some(m) = modeline {
        text.push_str(m);
        text.push('\n');
    }
    text.push_str(&emit::block(&render::ordered_value(resource), 0, style));
    text
}

/// A `kustomization.yaml` listing `resources`.
pub fn kustomization_text(resources: Vec<String>, style: &Style) -> String {
    let k = KustomizationFile::new(resources);
    let value = serde_json::to_value(&k).expect("kustomization serializes");
    let start = if style.document_start { "---\n" } else { "" };
    format!("{start}{}", emit::block(&value, 0, style))
}

fn parent_dir(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

fn base_name(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, n)| n)
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// Where new objects go in a repository, learnt from the objects already there.
pub struct Placer<'a> {
    platform: &'a Platform,
    empty: bool,
    kustomizations: bool,
    /// namespace → (folder of the namespace, shape below an app folder) → count.
    by_namespace: BTreeMap<String, BTreeMap<(String, String), usize>>,
    /// (folder holding namespace folders, shape below an app folder) → count.
    roots: BTreeMap<(String, String), usize>,
    /// Files named after their kind (`helmrelease.yaml`) outnumber the others.
    kind_names: bool,
    modelines: BTreeMap<String, String>,
    placed: BTreeSet<String>,
    /// Every folder that holds an object's file.
    object_dirs: BTreeSet<String>,
}

impl<'a> Placer<'a> {
    pub fn new(platform: &'a Platform, repo: &Repo) -> Self {
        let mut by_namespace: BTreeMap<String, BTreeMap<(String, String), usize>> = BTreeMap::new();
        let mut roots: BTreeMap<(String, String), usize> = BTreeMap::new();
        let (mut kind_named, mut other_named) = (0usize, 0usize);
        for (id, locs) in &repo.objects {
            for loc in locs {
                let name = base_name(&loc.file);
                if name.trim_end_matches(".yaml").trim_end_matches(".yml")
                    == id.kind.to_ascii_lowercase()
                {
                    kind_named += 1;
                } else {
                    other_named += 1;
                }
                let Some(ns) = &id.namespace else { continue };
                let parts: Vec<&str> = parent_dir(&loc.file).split('/').collect();
                if let Some(i) = parts.iter().position(|p| p == ns) {
                    if i + 1 < parts.len() {
                        let shape = parts[i + 2..].join("/");
                        *by_namespace
                            .entry(ns.clone())
                            .or_default()
                            .entry((parts[..=i].join("/"), shape.clone()))
                            .or_default() += 1;
                        *roots.entry((parts[..i].join("/"), shape)).or_default() += 1;
                    }
                }
            }
        }
        Placer {
            platform,
            empty: repo.objects.is_empty(),
            kustomizations: repo.objects.is_empty() || repo.uses_kustomizations(),
            by_namespace,
            roots,
            kind_names: kind_named > other_named,
            modelines: repo.modelines(),
            placed: BTreeSet::new(),
            object_dirs: repo
                .objects
                .values()
                .flatten()
                .map(|l| parent_dir(&l.file).to_owned())
                .collect(),
        }
    }

    pub fn uses_kustomizations(&self) -> bool {
        self.kustomizations
    }

    /// The repo's schema modeline for this kind, if it uses one.
    pub fn modeline(&self, resource: &Resource) -> Option<&str> {
        self.modelines
            .get(&format!("{}/{}", resource.api_version(), resource.kind()))
            .map(String::as_str)
    }

    /// A folder the repo keeps flat: objects' files directly in it, none in folders below.
    fn is_flat(&self, dir: &str) -> bool {
        let below = format!("{dir}/");
        self.object_dirs.contains(dir)
            && !self
                .object_dirs
                .range(below.clone()..)
                .next()
                .is_some_and(|d| d.starts_with(&below))
    }

    fn dir(&self, obj: &PlatformObject) -> String {
        if let (Some(layer), None, false) = (&obj.layer, &obj.path, self.empty) {
            // A layer folder the repo keeps flat (`sources/jetstack.yaml`, ...) gets new files
            // beside the old ones, not a folder per component.
            let dir = self.platform.layer_dir(layer);
            if self.is_flat(&dir) {
                return dir;
            }
        }
        if self.empty || obj.path.is_some() || obj.layer.is_some() {
            return default_dir(self.platform, obj);
        }
        let most = |m: &BTreeMap<(String, String), usize>| {
            m.iter()
                .max_by_key(|(k, n)| (**n, std::cmp::Reverse((*k).clone())))
                .map(|(k, _)| k.clone())
        };
        let app = |ns_dir: String, shape: String| {
            let dir = join(&ns_dir, &obj.component);
            if shape.is_empty() {
                dir
            } else {
                format!("{dir}/{shape}")
            }
        };
        if let Some(ns) = obj
            .resource
            .namespace()
            .filter(|_| obj.resource.is_namespaced())
        {
            if let Some((ns_dir, shape)) = self.by_namespace.get(ns).and_then(most) {
                return app(ns_dir, shape);
            }
            if let Some((root, shape)) = most(&self.roots) {
                return app(join(&root, ns), shape);
            }
        }
        default_dir(self.platform, obj)
    }

    /// The path of a new file for `obj`, not colliding with `exists` or earlier placements.
    pub fn place(&mut self, obj: &PlatformObject, exists: impl Fn(&str) -> bool) -> String {
        let dir = self.dir(obj);
        let kind = obj.resource.kind().to_ascii_lowercase();
        let name = obj.resource.name();
        let ns = obj.resource.namespace().unwrap_or("cluster");
        let mut candidates = Vec::new();
        if self.kind_names {
            candidates.push(format!("{kind}.yaml"));
        }
        candidates.push(format!("{kind}-{name}.yaml"));
        candidates.push(format!("{kind}-{name}-{ns}.yaml"));
        let free = |p: &String| !exists(p) && !self.placed.contains(p);
        let path = candidates
            .iter()
            .map(|c| join(&dir, c))
            .find(free)
            .unwrap_or_else(|| {
                (2..)
                    .map(|n| join(&dir, &format!("{kind}-{name}-{ns}-{n}.yaml")))
                    .find(free)
                    .expect("some number is free")
            });
        self.placed.insert(path.clone());
        path
    }
}

/// `kustomization.yaml` files a plan creates, filled as objects are placed.
#[derive(Default)]
pub struct NewKustomizations {
    /// folder → entries (files, then `sub/` folders).
    dirs: BTreeMap<String, BTreeSet<String>>,
}

impl NewKustomizations {
    /// Make `file` part of the build: returns existing `kustomization.yaml` files (path, text)
    /// that must list a new entry (see [`add_resource`]), and creates the missing ones for the
    /// new folders between. When the nearest existing folder has no `kustomization.yaml`, the
    /// repo lets Flux generate one there: nothing is created (a partial list would hide the
    /// folder's other files). In an empty repo the chain goes up to the root, like `hapl render`.
    pub fn add(
        &mut self,
        file: &str,
        repo: &Repo,
        get: impl Fn(&str) -> Option<String>,
    ) -> Vec<(String, String)> {
        let mut child = file.to_owned();
        let mut created: Vec<String> = Vec::new();
        loop {
            let dir = parent_dir(&child).to_owned();
            let kpath = join(&dir, "kustomization.yaml");
            if let Some(entries) = self.dirs.get_mut(&dir) {
                entries.insert(entry_name(&child, file));
                return Vec::new();
            }
            if let Some(text) = get(&kpath) {
                if listed_by_flux_kustomizations(&text) && child != file {
                    // `<app>/ks.yaml` style: a Flux Kustomization, not this list, applies the
                    // new folder; only the folder's own `kustomization.yaml` is needed.
                    for dir in created.iter().skip(1) {
                        self.dirs.remove(dir);
                    }
                    return Vec::new();
                }
                return vec![(kpath, text)];
            }
            if repo.has_dir(&dir) {
                for dir in &created {
                    self.dirs.remove(dir);
                }
                return Vec::new();
            }
            self.dirs
                .entry(dir.clone())
                .or_default()
                .insert(entry_name(&child, file));
            created.push(dir.clone());
            if dir.is_empty() {
                return Vec::new();
            }
            child = dir;
        }
    }

    /// Write the created files into the working copy; returns their paths.
    pub fn write(
        &self,
        files: &mut BTreeMap<String, Option<String>>,
        style: &Style,
    ) -> Vec<String> {
        let mut out = Vec::new();
        for (dir, entries) in &self.dirs {
            let (subdirs, plain): (Vec<&String>, Vec<&String>) =
                entries.iter().partition(|e| e.ends_with('/'));
            let resources = plain
                .into_iter()
                .chain(subdirs)
                .map(|e| e.trim_end_matches('/').to_owned())
                .collect();
            let path = join(dir, "kustomization.yaml");
            files.insert(path.clone(), Some(kustomization_text(resources, style)));
            out.push(path);
        }
        out
    }
}

fn entry_name(child: &str, file: &str) -> String {
    if child == file {
        base_name(child).to_owned()
    } else {
        format!("{}/", base_name(child))
    }
}

fn listed_by_flux_kustomizations(text: &str) -> bool {
    resources_of(text).iter().any(|r| r.ends_with("/ks.yaml"))
}

fn resources_of(text: &str) -> Vec<String> {
    let Ok(docs) = yaml::parse(text) else {
        return Vec::new();
    };
    let Some(root) = docs.first().and_then(|d| d.root.as_ref()) else {
        return Vec::new();
    };
    let v = yaml::to_value(root, &yaml::anchors(root));
    v.get("resources")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The `kustomization.yaml` of the folder holding `file`, if there is one: (path, text).
pub fn kustomization_of(
    file: &str,
    get: impl Fn(&str) -> Option<String>,
) -> Option<(String, String)> {
    let kpath = join(parent_dir(file), "kustomization.yaml");
    get(&kpath).map(|t| (kpath, t))
}

/// Change the `resources:` list of a `kustomization.yaml` text, editing in place.
fn edit_resources(text: &str, edit: impl FnOnce(&mut Vec<Value>)) -> String {
    let Ok(docs) = yaml::parse(text) else {
        return text.to_owned();
    };
    let Some(doc) = docs.iter().find(|d| d.root.is_some()) else {
        return text.to_owned();
    };
    let root = doc.root.as_ref().expect("found");
    let old = yaml::to_value(root, &yaml::anchors(root));
    let mut new = old.clone();
    let Some(map) = new.as_object_mut() else {
        return text.to_owned();
    };
    let mut list = map
        .get("resources")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    edit(&mut list);
    map.insert("resources".into(), Value::Array(list));
    patch::patch_document(
        text,
        root,
        (doc.start, doc.end),
        &old,
        &new,
        &Style::default(),
    )
}

fn relative(kpath: &str, file: &str) -> String {
    let dir = parent_dir(kpath);
    if dir.is_empty() {
        file.to_owned()
    } else {
        file.strip_prefix(&format!("{dir}/"))
            .unwrap_or(file)
            .to_owned()
    }
}

fn names_entry(entry: &str, rel: &str) -> bool {
    let e = entry.trim_start_matches("./").trim_end_matches('/');
    e == rel
}

/// `text` (a `kustomization.yaml` at `kpath`) with `file` (or the folder holding it, when
/// `file` is below a subfolder) in `resources:`.
pub fn add_resource(text: &str, kpath: &str, file: &str) -> String {
    let rel = relative(kpath, file);
    let rel = match rel.split_once('/') {
        Some((first, _)) => first.to_owned(),
        None => rel,
    };
    if resources_of(text).iter().any(|e| names_entry(e, &rel)) {
        return text.to_owned();
    }
    let existing = resources_of(text);
    let dotted = existing.iter().any(|e| e.starts_with("./"));
    let entry = if dotted { format!("./{rel}") } else { rel };
    // A list already in hapl's order (files, then folders, each sorted) stays in that order, so
    // a kustomization.yaml built up over several phases reads like `hapl render` writes it;
    // any other order is the author's, and the new entry goes at the end.
    let sorted = existing
        .windows(2)
        .all(|w| render_order(&w[0]) <= render_order(&w[1]));
    edit_resources(text, |list| {
        let at = if sorted {
            list.iter()
                .position(|v| {
                    v.as_str()
                        .is_some_and(|e| render_order(e) > render_order(&entry))
                })
                .unwrap_or(list.len())
        } else {
            list.len()
        };
        list.insert(at, Value::String(entry));
    })
}

/// The order `render_tree` lists resources in: files first, then folders, each by name (a
/// folder compared as `name/`).
fn render_order(entry: &str) -> (bool, String) {
    let e = entry.trim_start_matches("./").trim_end_matches('/');
    let is_file = e.ends_with(".yaml") || e.ends_with(".yml") || e.ends_with(".json");
    if is_file {
        (false, e.to_owned())
    } else {
        (true, format!("{e}/"))
    }
}

/// `text` (the `kustomization.yaml` beside `file`) without `file` in `resources:`.
pub fn remove_resource(text: &str, file: &str) -> String {
    let rel = base_name(file).to_owned();
    if !resources_of(text).iter().any(|e| names_entry(e, &rel)) {
        return text.to_owned();
    }
    edit_resources(text, |list| {
        list.retain(|e| !e.as_str().is_some_and(|s| names_entry(s, &rel)))
    })
}
