//! Shared helpers for the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The shared data dir (`HAPL_SHARED`, `../shared`, `/work/shared`), or `None` with a printed
/// reason. In CI (`CI=true`) its
/// absence is a failure, never a silent skip.
pub fn shared() -> Option<PathBuf> {
    // `HAPL_SHARED` first, then `../shared` beside the checkout (CI), then `/work/shared`.
    let candidates: Vec<PathBuf> = std::env::var_os("HAPL_SHARED")
        .map(PathBuf::from)
        .into_iter()
        .chain([root().join("../shared"), PathBuf::from("/work/shared")])
        .collect();
    if let Some(dir) = candidates.iter().find(|d| d.join("schemas").is_dir()) {
        return Some(dir.clone());
    }
    let dir = root().join("../shared");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "CI=true but ../shared (with schemas/) is missing beside the checkout at {}",
            dir.display()
        );
    }
    eprintln!(
        "skipping: ../shared is not beside the checkout ({}), HAPL_SHARED is unset and /work/shared is absent",
        dir.display()
    );
    None
}

/// The hapl binary with colour off, in `dir`.
pub fn hapl_cmd(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hapl"));
    cmd.current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("HAPL_LIB");
    cmd
}

/// Run the hapl binary with colour off, in `dir`.
pub fn hapl(dir: &Path, args: &[&str]) -> Output {
    hapl_cmd(dir).args(args).output().expect("hapl runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Copy the folder `from` (recursively) to `to`, creating `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every file under `dir`, relative path → bytes.
pub fn read_tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Carry out a plan's writes and deletes, phase by phase (what `apply-to-git` commits).
pub fn carry_out(plan: &hapl_repo::plan::Plan, dir: &Path) {
    for phase in &plan.phases {
        for (path, text) in &phase.writes {
            let target = dir.join(path);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(target, text).unwrap();
        }
        for path in &phase.deletes {
            std::fs::remove_file(dir.join(path)).unwrap();
        }
    }
}

/// A platform object made from a manifest, as if `generated.rhai` line 1 declared it.
pub fn object(value: serde_json::Value, phase: Option<u8>) -> hapl_core::PlatformObject {
    let resource = hapl_core::Resource::from_value(value).unwrap();
    hapl_core::PlatformObject {
        component: resource.name().to_owned(),
        resource,
        origin: hapl_core::Origin::new(hapl_core::Span::new("generated.rhai", 1, 1)),
        path: None,
        layer: None,
        phase,
        reason: None,
    }
}
