//! Arbitrary bytes as a YAML file of a repository: the reader never panics, and a file it
//! refuses is a finding naming the file and a line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    hapl_fuzz_read(data);
});

fn hapl_fuzz_read(data: &[u8]) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("file.yaml"), data).expect("write");
    match hapl_repo::repo::read(dir.path(), false) {
        Ok(repo) => {
            // Everything the plan looks at must be computable.
            let _ = (repo.document_count(), repo.style(), repo.modelines());
        }
        Err(e) => {
            assert_eq!(e.0.file, "file.yaml", "{e}");
            assert!(e.0.line >= 1, "a finding without a line: {e}");
        }
    }
}
