//! Arbitrary bytes as a YAML file of a repository: the reader never panics, and a file it
//! refuses is a finding naming the file and a line. The same bytes as hapl's ownership record:
//! its reader never panics, and an error names the record.
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
            // The plan's lean read knows the same objects, and drops every value it is told
            // it may.
            let lean = hapl_repo::repo::read_lean(dir.path(), false, &|_, _| false).expect("lean");
            assert_eq!(lean.objects, repo.objects);
            assert_eq!(lean.modelines(), repo.modelines());
            assert_eq!(lean.style(), repo.style());
            let dropping = hapl_repo::repo::read_lean(dir.path(), false, &|_, _| true).expect("lean");
            assert!(dropping.objects.values().flatten().all(|l| l.value.is_null()));
        }
        Err(e) => {
            assert_eq!(e.0.file, "file.yaml", "{e}");
            assert!(e.0.line >= 1, "a finding without a line: {e}");
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = hapl_repo::owned::Owned::parse(Some(text)) {
            assert!(e.starts_with(hapl_repo::owned::OWNED_PATH), "{e}");
        }
    }
}
