//! Where each rendered object goes in a repository tree.
//!
//! The default layout, used for a fresh repo and by `hapl render`:
//! `<namespace>/<component>/<kind>-<name>.yaml` for namespaced objects and
//! `cluster/<component>/<kind>-<name>.yaml` for cluster-scoped ones; an object with an explicit
//! `path` goes into that directory instead. Every directory gets a `kustomization.yaml` that
//! lists its files and subdirectories, so `kubectl kustomize` builds any subtree.

use std::collections::{BTreeMap, BTreeSet};

use hapl_core::kustomize::KustomizationFile;
use hapl_core::{render, Platform, PlatformObject};

/// A rendered tree: relative path (with `/`) → file content. Sorted, so output is stable.
pub type Tree = BTreeMap<String, String>;

/// The directory of an object under the default layout.
pub fn default_dir(obj: &PlatformObject) -> String {
    if let Some(path) = &obj.path {
        return path.trim_end_matches('/').to_owned();
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
        let dir = default_dir(obj);
        let files = dirs.entry(dir).or_default();
        let mut name = format!("{}.yaml", file_stem(obj));
        if files.contains_key(&name) {
            // Same kind and name from two namespaces in one explicit directory.
            let ns = obj.resource.namespace().unwrap_or("cluster");
            name = format!("{}-{ns}.yaml", file_stem(obj));
        }
        files.insert(name, format!("---\n{}", render::to_yaml(&obj.resource)));
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
        let kustomization = KustomizationFile::new(resources);
        let yaml = render::data_to_yaml(&kustomization);
        tree.insert(
            format!("{prefix}kustomization.yaml"),
            format!("---\n{yaml}"),
        );
        if let Some(files) = files {
            for (name, content) in files {
                tree.insert(format!("{prefix}{name}"), content);
            }
        }
    }
    tree
}
