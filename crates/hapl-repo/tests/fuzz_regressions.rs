//! Replays every input the `read` fuzz target ever crashed on (`fuzz/regressions/read/`, kept by
//! scripts/fuzz/run): the reader must not panic, and a refusal names the file and a line.

use std::fs;
use std::path::Path;

#[test]
fn fuzz_regressions_of_the_reader_replay_without_panics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions/read");
    let mut inputs: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| n != ".gitkeep"))
        .collect();
    inputs.sort();
    for input in inputs {
        let repo = tempfile::tempdir().unwrap();
        fs::write(repo.path().join("file.yaml"), fs::read(&input).unwrap()).unwrap();
        if let Err(e) = hapl_repo::repo::read(repo.path(), false) {
            assert!(e.0.line >= 1, "{}: {e}", input.display());
        }
    }
}
