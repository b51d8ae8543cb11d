//! `hapl apply-to-git` against real repositories in temp dirs, checked with real git (`log`,
//! `show`, `status`, `fsck --strict`). The git library's own tests are in
//! `crates/hapl-repo/tests/git.rs`; these drive the CLI end to end.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use crate::git_harness::{
    copy_dir, fsck_clean, git, isolate, snapshot, wait_for_group, write, Lcg,
};
use crate::support::{hapl_cmd, root, stderr, stdout};

/// A fixture script: `platform.rhai` spans phases 1, 2, 4, 5 and 6 with the stdlib;
/// `small/platform.rhai` has three objects in phases 1 and 4 (fast, for the crash test);
/// `secret/platform.rhai` has a Secret whose value its reason repeats.
fn script(name: &str) -> PathBuf {
    root().join("tests/fixtures/apply").join(name)
}

fn big() -> PathBuf {
    script("platform.rhai")
}

fn small() -> PathBuf {
    script("small/platform.rhai")
}

/// `hapl <args> --repo <dir>` for `script`, git isolated as in the harness (fixed identity and
/// dates: commit ids are reproducible).
fn hapl_git(script: &Path, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = hapl_cmd(dir);
    isolate(&mut cmd, dir.parent().unwrap());
    cmd.env("NO_COLOR", "1")
        .arg("--script")
        .arg(script)
        .args(args)
        .arg("--repo")
        .arg(dir);
    cmd
}

fn run(script: &Path, dir: &Path, args: &[&str]) -> Output {
    hapl_git(script, dir, args).output().expect("hapl runs")
}

#[track_caller]
fn ok(script: &Path, dir: &Path, args: &[&str]) -> String {
    let out = run(script, dir, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "hapl {args:?}: {}{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// `hapl plan`: its exit code and output.
fn plan(script: &Path, dir: &Path) -> (Option<i32>, String) {
    let out = run(script, dir, &["plan"]);
    (
        out.status.code(),
        format!("{}{}", stdout(&out), stderr(&out)),
    )
}

/// A git repository `repo/` on `main` in a temp dir.
struct Repo {
    tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Repo {
    fn empty() -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("repo");
        fs::create_dir(&dir).unwrap();
        git(&dir, &["init", "-q", "-b", "main"]);
        Repo { tmp, dir }
    }

    /// A first commit with a README and a hand-written YAML file hapl reads but does not own.
    fn new() -> Repo {
        let r = Repo::empty();
        write(&r.dir, "README.md", "# homelab\n");
        write(
            &r.dir,
            "extra/notes.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\n  namespace: default\ndata:\n  a: b\n",
        );
        git(&r.dir, &["add", "-A"]);
        git(&r.dir, &["commit", "-q", "-m", "initial"]);
        r
    }

    fn head(&self) -> String {
        git(&self.dir, &["rev-parse", "HEAD"]).trim().to_owned()
    }

    fn status(&self) -> String {
        git(
            &self.dir,
            &["status", "--porcelain=v1", "--untracked-files=all"],
        )
    }

    /// Commit titles, oldest first.
    fn titles(&self) -> Vec<String> {
        git(&self.dir, &["log", "--reverse", "--format=%s"])
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

const TITLES: [&str; 5] = [
    "hapl: Phase 1 — storage & data safety",
    "hapl: Phase 2 — Home Assistant hardening",
    "hapl: Phase 4 — logging & observability",
    "hapl: Phase 5 — Zigbee, Matter & edge",
    "hapl: Phase 6 — backups & disaster recovery",
];

/// After an apply: clean status, sound repository, and `hapl plan` has nothing to do.
#[track_caller]
fn assert_done(script: &Path, r: &Repo) {
    assert_eq!(r.status(), "");
    fsck_clean(&r.dir);
    let (code, out) = plan(script, &r.dir);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("Plan: 0 to add, 0 to change, 0 to delete"),
        "{out}"
    );
}

#[test]
fn one_commit_per_phase_into_an_empty_repo_then_nothing_to_do() {
    let r = Repo::empty();
    let out = ok(&big(), &r.dir, &["apply-to-git"]);
    assert_eq!(r.titles(), TITLES, "{out}");
    assert_done(&big(), &r);
    // Every commit records what hapl owns after it; every message counts and explains.
    let record = git(&r.dir, &["log", "--format=%s", "--", ".hapl/owned.yaml"]);
    assert_eq!(record.lines().count(), 5, "{record}");
    for rev in ["HEAD~4", "HEAD~3", "HEAD~2", "HEAD~1", "HEAD"] {
        let message = git(&r.dir, &["show", "-s", "--format=%B", rev]);
        let lines: Vec<&str> = message.lines().collect();
        assert!(lines[0].starts_with("hapl: Phase "), "{message}");
        assert_eq!(lines[1], "", "{message}");
        assert!(lines[2].starts_with("This commit: "), "{message}");
        let changes: Vec<&&str> = lines.iter().filter(|l| l.starts_with("- add ")).collect();
        assert!(!changes.is_empty(), "{message}");
        assert!(changes
            .iter()
            .all(|l| l.contains(" in ") && l.contains(": ")));
        assert!(message.contains("- records what hapl owns in .hapl/owned.yaml"));
    }
    let phase1 = git(&r.dir, &["show", "-s", "--format=%B", "HEAD~4"]);
    assert!(
        phase1.contains("- add StorageClass.storage.k8s.io nfs-storage in "),
        "{phase1}"
    );
    let phase1_files = git(&r.dir, &["show", "--name-only", "--format=", "HEAD~4"]);
    assert!(
        phase1_files.contains("storageclass-nfs-storage.yaml"),
        "{phase1_files}"
    );
    assert!(!phase1_files.contains("home-assistant"), "{phase1_files}");

    // A second run finds nothing to do.
    let head = r.head();
    let again = ok(&big(), &r.dir, &["apply-to-git"]);
    assert!(again.contains("nothing to do"), "{again}");
    assert_eq!(r.head(), head);

    // One commit for all phases makes the same tree.
    let single = Repo::empty();
    ok(&big(), &single.dir, &["apply-to-git", "--single-commit"]);
    assert_eq!(single.titles(), ["hapl: phases 1, 2, 4, 5, 6"]);
    let tree = |r: &Repo| git(&r.dir, &["rev-parse", "HEAD^{tree}"]);
    assert_eq!(tree(&single), tree(&r));
    assert_done(&big(), &single);
    let message = git(&single.dir, &["show", "-s", "--format=%B", "HEAD"]);
    for title in TITLES {
        let name = title.trim_start_matches("hapl: ").replace(" — ", ": ");
        assert!(message.contains(&format!("\n{name}:\n")), "{message}");
    }
}

/// The Flux repo as a folder of the git work tree (`flux/` beside `.git`, with other files
/// around it): the commits put every file under `flux/`, nothing outside it changes, and the
/// next plan is empty.
#[test]
fn a_flux_repo_in_a_folder_of_the_work_tree_is_committed_in_that_folder() {
    let r = Repo::new();
    let flux = r.dir.join("flux");
    fs::create_dir(&flux).unwrap();
    ok(&small(), &flux, &["apply-to-git"]);
    let changed = git(&r.dir, &["diff", "--name-only", "HEAD~2", "HEAD"]);
    assert!(!changed.trim().is_empty());
    for path in changed.lines() {
        assert!(
            path.starts_with("flux/"),
            "{path} is outside flux/:\n{changed}"
        );
    }
    assert_eq!(r.status(), "");
    fsck_clean(&r.dir);
    let (code, out) = plan(&small(), &flux);
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn one_phase_now_and_the_others_later() {
    let r = Repo::new();
    ok(&small(), &r.dir, &["apply-to-git", "--phase", "4"]);
    assert_eq!(
        r.titles(),
        ["initial", "hapl: Phase 4 — logging & observability"]
    );
    assert_eq!(r.status(), "");
    let (code, out) = plan(&small(), &r.dir);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("Plan: 2 to add"), "{out}");
    ok(&small(), &r.dir, &["apply-to-git"]);
    assert_eq!(
        r.titles(),
        [
            "initial",
            "hapl: Phase 4 — logging & observability",
            "hapl: Phase 1 — storage & data safety"
        ]
    );
    assert_done(&small(), &r);
}

#[test]
fn dry_run_changes_nothing_and_no_commit_writes_the_files_only() {
    let r = Repo::new();
    let before = snapshot(&r.dir);
    let out = ok(&small(), &r.dir, &["apply-to-git", "--dry-run"]);
    assert!(
        out.contains("would commit: hapl: Phase 1 — storage & data safety\n  A .hapl/owned.yaml\n"),
        "{out}"
    );
    assert!(out.contains("would commit: hapl: Phase 4"), "{out}");
    assert!(out.ends_with("dry run: nothing changed\n"), "{out}");
    assert_eq!(snapshot(&r.dir), before);

    let head = r.head();
    let out = ok(&small(), &r.dir, &["apply-to-git", "--no-commit"]);
    assert!(
        out.contains("wrote (not committed): hapl: Phase 1"),
        "{out}"
    );
    assert_eq!(r.head(), head);
    let status = r.status();
    assert!(status.contains("?? .hapl/owned.yaml\n"), "{status}");
    assert!(status.lines().all(|l| l.starts_with("?? ")), "{status}");
    // The files are in place: nothing left to plan or apply; the user reviews and commits.
    let (code, out) = plan(&small(), &r.dir);
    assert_eq!(code, Some(0), "{out}");
    let out = ok(&small(), &r.dir, &["apply-to-git"]);
    assert!(out.contains("nothing to do"), "{out}");
    git(&r.dir, &["add", "-A"]);
    git(&r.dir, &["commit", "-q", "-m", "reviewed"]);
    assert_done(&small(), &r);
}

/// Run and expect a refusal (exit 1) whose message contains `expected`, with no byte changed
/// anywhere under `dir` (work tree and `.git`: refs, `HEAD`, index, objects).
#[track_caller]
fn assert_refused(script: &Path, dir: &Path, args: &[&str], expected: &str) {
    let before = snapshot(dir);
    let out = run(script, dir, args);
    let err = stderr(&out);
    eprintln!("refused: {err}");
    assert_eq!(out.status.code(), Some(1), "{}{err}", stdout(&out));
    assert!(
        err.contains(expected),
        "{err:?} does not contain {expected:?}"
    );
    let after = snapshot(dir);
    let changed: Vec<&String> = before
        .keys()
        .chain(after.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert!(changed.is_empty(), "the refusal changed {changed:?}");
}

#[test]
fn a_saved_plan_is_applied_exactly_or_refused_when_the_repo_moved() {
    let saved = |r: &Repo| {
        let path = r.tmp.path().join("plan.json");
        let out = run(&small(), &r.dir, &["plan", "--out", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        path.to_str().unwrap().to_owned()
    };
    // Applied as saved.
    let r = Repo::new();
    let p = saved(&r);
    ok(&small(), &r.dir, &["apply-to-git", "--plan", &p]);
    assert_eq!(r.titles().len(), 3);
    assert_done(&small(), &r);
    // Applied again: nothing to do.
    let out = ok(&small(), &r.dir, &["apply-to-git", "--plan", &p]);
    assert!(out.contains("nothing to do"), "{out}");

    // `HEAD` moved since the plan was saved.
    let r = Repo::new();
    let p = saved(&r);
    write(&r.dir, "README.md", "# homelab, edited\n");
    git(&r.dir, &["commit", "-q", "-am", "edit"]);
    assert_refused(
        &small(),
        &r.dir,
        &["apply-to-git", "--plan", &p],
        "the saved plan was made on commit",
    );

    // A file the plan read changed since.
    let r = Repo::new();
    let p = saved(&r);
    write(
        &r.dir,
        "extra/notes.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\n  namespace: default\ndata:\n  a: c\n",
    );
    assert_refused(
        &small(),
        &r.dir,
        &["apply-to-git", "--plan", &p],
        "`extra/notes.yaml` changed since the plan was saved",
    );

    // The script no longer makes the saved plan (saved for phase 4 only, applied for all).
    let r = Repo::new();
    let p = saved(&r);
    assert_refused(
        &small(),
        &r.dir,
        &["apply-to-git", "--plan", &p, "--phase", "4"],
        "--phase 4 differs from the saved plan's phase (all)",
    );
}

#[test]
fn refuses_outside_a_repository_and_during_a_merge_rebase_or_cherry_pick() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = tmp.path().join("plain");
    fs::create_dir(&plain).unwrap();
    write(&plain, "README.md", "not a repository\n");
    assert_refused(
        &small(),
        &plain,
        &["apply-to-git"],
        "is not inside a git work tree",
    );

    for (operation, args) in [
        ("merge", &["merge", "-q", "other"][..]),
        ("rebase", &["rebase", "-q", "other"][..]),
        ("cherry-pick", &["cherry-pick", "other"][..]),
    ] {
        let r = Repo::new();
        git(&r.dir, &["checkout", "-q", "-b", "other"]);
        write(&r.dir, "README.md", "# theirs\n");
        git(&r.dir, &["commit", "-q", "-am", "theirs"]);
        git(&r.dir, &["checkout", "-q", "main"]);
        write(&r.dir, "README.md", "# ours\n");
        git(&r.dir, &["commit", "-q", "-am", "ours"]);
        let conflict = crate::git_harness::git_cmd(&r.dir)
            .args(args)
            .output()
            .unwrap();
        assert!(!conflict.status.success(), "{operation} should conflict");
        assert_refused(
            &small(),
            &r.dir,
            &["apply-to-git"],
            &format!("a {operation} is in progress"),
        );
    }
}

#[test]
fn refuses_a_detached_head_unless_allowed() {
    let r = Repo::new();
    git(&r.dir, &["checkout", "-q", "--detach"]);
    assert_refused(&small(), &r.dir, &["apply-to-git"], "`HEAD` is detached");
    ok(&small(), &r.dir, &["apply-to-git", "--allow-detached"]);
    assert_eq!(r.titles().len(), 3);
    // The branch stays where it was.
    assert_eq!(git(&r.dir, &["log", "--format=%s", "main"]), "initial\n");
    assert_done(&small(), &r);
}

#[test]
fn refuses_uncommitted_edits_in_the_files_it_writes_and_keeps_other_edits() {
    let r = Repo::new();
    ok(&small(), &r.dir, &["apply-to-git", "--phase", "1"]);
    let record = fs::read_to_string(r.dir.join(".hapl/owned.yaml")).unwrap();
    write(&r.dir, ".hapl/owned.yaml", &format!("{record}# my note\n"));
    write(&r.dir, "README.md", "# homelab, my edit\n");
    write(&r.dir, "scratch.txt", "mine\n");
    assert_refused(
        &small(),
        &r.dir,
        &["apply-to-git"],
        "uncommitted edits in files the change would write; commit or stash them first:\n  `.hapl/owned.yaml`",
    );
    git(&r.dir, &["checkout", "-q", "--", ".hapl/owned.yaml"]);
    ok(&small(), &r.dir, &["apply-to-git"]);
    assert_eq!(r.status(), " M README.md\n?? scratch.txt\n");
    assert_eq!(
        fs::read_to_string(r.dir.join("README.md")).unwrap(),
        "# homelab, my edit\n"
    );
    fsck_clean(&r.dir);
}

#[test]
fn refuses_a_path_through_a_symlink_out_of_the_repository() {
    let r = Repo::new();
    let outside = r.tmp.path().join("outside");
    fs::create_dir(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, r.dir.join("datastore")).unwrap();
    git(&r.dir, &["add", "datastore"]);
    git(&r.dir, &["commit", "-q", "-m", "a link out"]);
    assert_refused(
        &small(),
        &r.dir,
        &["apply-to-git"],
        "refusing to write `datastore/",
    );
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
}

#[test]
fn secret_values_never_reach_a_commit_message() {
    let r = Repo::new();
    let out = ok(&script("secret/platform.rhai"), &r.dir, &["apply-to-git"]);
    let log = git(&r.dir, &["log", "--format=%B"]);
    for text in [&log, &out] {
        assert!(!text.contains("s3cr3t-hunter-42"), "{text}");
    }
    assert!(log.contains("rotated to (masked) in May"), "{log}");
}

#[test]
fn plan_says_so_when_an_apply_was_interrupted() {
    // Killed (no delay: at once) when the branch has moved, before the work tree is written.
    // Steps: locked, checked, blobs written, two commits created, journal written, branch moved.
    let r = Repo::new();
    let out = hapl_git(&small(), &r.dir, &["apply-to-git"])
        .env("HAPL_TEST_KILL_AT_STEP", "6")
        .output()
        .unwrap();
    assert_eq!(out.status.signal(), Some(9));
    let journal = r.dir.join(".git/hapl-journal.json");
    assert!(journal.exists());
    assert_eq!(r.titles().len(), 3, "the branch moved");
    let (code, text) = plan(&small(), &r.dir);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("run `hapl apply-to-git` again to finish it"),
        "{text}"
    );
    let out = ok(&small(), &r.dir, &["apply-to-git"]);
    assert!(out.contains("finished an interrupted apply"), "{out}");
    assert!(!journal.exists());
    assert_done(&small(), &r);
}

#[test]
fn kill_9_at_any_instant_leaves_old_or_new_and_a_rerun_finishes() {
    // The template: a first commit, an unrelated edit and an untracked file (kept as they are).
    let tmp = tempfile::tempdir().unwrap();
    let template = Repo::new();
    write(&template.dir, "README.md", "# homelab, edited\n");
    write(&template.dir, "scratch.txt", "scratch\n");
    let base = template.head();
    let baseline = template.status();

    let reference = tmp.path().join("reference");
    copy_dir(&template.dir, &reference);
    ok(&small(), &reference, &["apply-to-git"]);
    let new = git(&reference, &["rev-parse", "HEAD"]).trim().to_owned();
    let changed: BTreeSet<String> = git(&reference, &["diff", "--name-only", &base, &new])
        .lines()
        .map(str::to_owned)
        .collect();

    let seed = std::env::var("HAPL_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_0002_u64);
    eprintln!("CLI crash test seed {seed} (set HAPL_CRASH_SEED to replay)");
    let next = AtomicU64::new(0);
    let kills = AtomicU64::new(0);
    let landed_new = AtomicU64::new(0);
    let plan_checked = AtomicBool::new(false);
    let started = Instant::now();
    std::thread::scope(|scope| {
        // Four workers on two cores: a run mostly waits on git processes and fsync.
        for _ in 0..4 {
            scope.spawn(|| {
                while kills.load(Ordering::SeqCst) < 200 {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    assert!(n < 500, "too few runs were killed");
                    let mut rng = Lcg(seed ^ n);
                    let (step, delay) = (rng.next(14), rng.next(4000));
                    let context = format!("run {n}: kill at step {step} + {delay} µs");
                    let dir = tmp.path().join(format!("run-{n}"));
                    copy_dir(&template.dir, &dir);
                    let mut child = hapl_git(&small(), &dir, &["apply-to-git"])
                        .env("HAPL_TEST_KILL_AT_STEP", step.to_string())
                        .env("HAPL_TEST_KILL_DELAY_US", delay.to_string())
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .process_group(0)
                        .spawn()
                        .unwrap();
                    let pgid = child.id();
                    let status = child.wait().unwrap();
                    wait_for_group(pgid);
                    let killed = status.signal() == Some(9);
                    if killed {
                        kills.fetch_add(1, Ordering::SeqCst);
                    } else {
                        assert!(status.success(), "{context}: {status}");
                    }

                    // Right after: sound, the branch old or new, only the changed paths differ.
                    fsck_clean(&dir);
                    let head = git(&dir, &["rev-parse", "refs/heads/main"])
                        .trim()
                        .to_owned();
                    assert!(head == base || head == new, "{context}: branch at {head}");
                    let status_now =
                        git(&dir, &["status", "--porcelain=v1", "--untracked-files=all"]);
                    if head == base {
                        assert_eq!(status_now, baseline, "{context}: work tree touched");
                    } else {
                        landed_new.fetch_add(u64::from(killed), Ordering::SeqCst);
                        let before: BTreeSet<&str> = baseline.lines().collect();
                        let after: BTreeSet<&str> = status_now.lines().collect();
                        for line in after.symmetric_difference(&before) {
                            assert!(changed.contains(&line[3..]), "{context}: {line:?}");
                        }
                    }
                    // An interrupted apply: `hapl plan` says so (checked once, it costs a run).
                    if dir.join(".git/hapl-journal.json").exists()
                        && !plan_checked.swap(true, Ordering::SeqCst)
                    {
                        let (code, text) = plan(&small(), &dir);
                        assert_eq!(code, Some(1), "{context}: {text}");
                        assert!(text.contains("run `hapl apply-to-git` again"), "{text}");
                    }

                    // A second run finishes the job.
                    let out = run(&small(), &dir, &["apply-to-git"]);
                    assert!(out.status.success(), "{context}: {}", stderr(&out));
                    // The same commit id: the same tree, parents and messages.
                    assert_eq!(git(&dir, &["rev-parse", "HEAD"]).trim(), new, "{context}");
                    assert_eq!(
                        git(&dir, &["status", "--porcelain=v1", "--untracked-files=all"]),
                        baseline,
                        "{context}"
                    );
                    for leftover in ["hapl.lock", "hapl-journal.json", "hapl-tmp"] {
                        assert!(!dir.join(".git").join(leftover).exists(), "{context}");
                    }
                    if n.is_multiple_of(25) {
                        let (code, text) = plan(&small(), &dir);
                        assert_eq!(code, Some(0), "{context}: {text}");
                    }
                    fs::remove_dir_all(&dir).unwrap();
                }
            });
        }
    });
    let runs = next.load(Ordering::SeqCst);
    eprintln!(
        "CLI crash test: {} kills in {runs} runs, {} with the branch moved ({:.1} s)",
        kills.load(Ordering::SeqCst),
        landed_new.load(Ordering::SeqCst),
        started.elapsed().as_secs_f64()
    );
    assert!(kills.load(Ordering::SeqCst) >= 200);
    assert!(landed_new.load(Ordering::SeqCst) > 0);
}
