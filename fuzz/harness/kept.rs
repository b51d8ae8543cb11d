//! The inputs a fuzz target crashed on, kept by scripts/fuzz/run in `fuzz/regressions/<target>/`
//! (the `.gitkeep` aside), sorted: what the crates' regression tests replay.

use std::path::{Path, PathBuf};

pub fn kept(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions")
        .join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| n != ".gitkeep"))
        .collect();
    inputs.sort();
    inputs
}
