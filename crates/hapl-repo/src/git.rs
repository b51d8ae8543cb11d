//! Committing a change to a git repository atomically, without losing anybody's work.
//!
//! [`apply`] takes a list of commits (one per plan phase, in order), each a message and a set of
//! whole-file writes and deletes, and carries them out on the branch checked out in a work tree:
//!
//! 1. **Check, change nothing.** Take `.git/hapl.lock`; refuse a merge, rebase, cherry-pick,
//!    revert or bisect in progress, a detached `HEAD` (unless allowed), a saved plan's base
//!    commit or read file that no longer matches, a path that is not plainly inside the work
//!    tree (`..`, absolute, `.git`, a symlink or nested repository along it), a `filter`
//!    attribute, uncommitted edits (staged or not) in a path the change writes, a read-only file
//!    or directory, and a missing author identity.
//! 2. **Build the commits aside.** Write the blobs (`git hash-object -w`), build each tree in a
//!    temporary index (`GIT_INDEX_FILE`, `read-tree`, `update-index --index-info`, `write-tree`)
//!    and each commit with `commit-tree`. The user's index and work tree are untouched; a crash
//!    here leaves only unreachable objects.
//! 3. **Journal, then move the branch.** Write `.git/hapl-journal.json` (old commit, new
//!    commit, the paths with their old and new entries), then move the branch from its old value
//!    to the last commit in one compare-and-swap (`git update-ref <ref> <new> <old>`, with a
//!    reflog message). The branch is at the old commit or at the new one, never between.
//! 4. **Bring the work tree up.** For exactly the changed paths: a file still holding the old
//!    content is replaced (write to a temporary file, fsync, keep the file's mode, rename) or
//!    removed; a file already holding the new content is left; anything else is a user's edit
//!    and is kept. The index entries of those paths are set to the new commit's, then stat
//!    information is refreshed. Other files, staged or not, are never touched.
//! 5. Remove the journal and the lock.
//!
//! A run that finds a journal first finishes that job (the branch is at the journal's new
//! commit) or discards it (the branch never moved), so after a crash at any instant a second run
//! either finds nothing to do or finishes the job.
//!
//! Commits are signed when `commit.gpgSign` is set (`commit-tree -S`, with the user's
//! `gpg.format` and `user.signingKey`), as `git commit` would sign them.
//!
//! Authors: the caller's [`Identity`] if given, else git's configured one (`user.name`,
//! `user.email`, or the `GIT_AUTHOR_*`/`GIT_COMMITTER_*` variables). git is never allowed to
//! invent one from the host name (`user.useConfigOnly`); with none, apply refuses with
//! [`ApplyError::NoIdentity`].

mod cmd;
mod error;
mod journal;
mod lock;
mod path;
mod repo;
mod worktree;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::time::Duration;

use sha2::Digest;

pub use error::{ApplyError, DirtyPath};

use error::io_at;
use journal::{Entry, Journal, JournalPath};
use lock::Lock;
use path::OnDisk;
use repo::{Head, Repo};

/// One file of a commit: its repo-relative path (with `/`) and its full new content, or `None`
/// to delete it. A file that exists keeps its mode (executable or not); a new file is 0644.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub path: String,
    pub content: Option<Vec<u8>>,
}

impl FileChange {
    pub fn write(path: impl Into<String>, content: impl Into<Vec<u8>>) -> FileChange {
        FileChange {
            path: path.into(),
            content: Some(content.into()),
        }
    }

    pub fn delete(path: impl Into<String>) -> FileChange {
        FileChange {
            path: path.into(),
            content: None,
        }
    }
}

/// One commit to make: its message (first line = title; trailing whitespace is trimmed) and
/// its file changes (each path at most once), applied on top of the previous commit of the
/// list. A commit whose changes are already in place is skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitSpec {
    pub message: String,
    pub changes: Vec<FileChange>,
}

/// The commit a saved plan was made on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// The branch had no commit yet.
    Unborn,
    /// A full commit id.
    Commit(String),
}

/// Author and committer of the commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

/// How to apply.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Commit on a detached `HEAD` (moving `HEAD` itself) instead of refusing.
    pub allow_detached: bool,
    /// Write the files only: no commit, the branch and the index stay as they are.
    pub no_commit: bool,
    /// Run every check and report what would be committed; change nothing (takes no lock).
    pub dry_run: bool,
    /// Refuse unless `HEAD` is this commit (a saved plan's base). Like `read_files`, only
    /// checked when there is something to do: a saved plan whose end state is already in
    /// place (e.g. applied once, then interrupted and finished) is "nothing to do".
    pub expected_base: Option<Base>,
    /// Refuse unless each work-tree file still has this content: path → hex sha256 of its
    /// bytes as [`sha256_hex`] computes it, or `None` if the plan saw no file there.
    pub read_files: BTreeMap<String, Option<String>>,
    /// Author and committer; `None` uses git's configured identity.
    pub identity: Option<Identity>,
    /// How long to wait for another apply holding the lock; zero refuses at once.
    pub lock_wait: Duration,
}

/// How a path changes in one commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    Add,
    Modify,
    Delete,
}

/// A path a commit changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub kind: ChangeKind,
}

/// What became of one [`CommitSpec`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitOutcome {
    /// The first line of the message.
    pub title: String,
    /// The commit made; `None` if nothing was committed (dry run, no-commit, or no change).
    pub id: Option<String>,
    /// What it changes, sorted by path; empty if its changes were already in place.
    pub changes: Vec<Change>,
}

/// What was done to a work-tree file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FileAction {
    Written,
    Deleted,
    /// It already had the new content.
    UpToDate,
    /// It held neither the old nor the new content (edited after an interrupted apply): kept.
    KeptUserEdit,
}

/// A work-tree path and what was done to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOutcome {
    pub path: String,
    pub action: FileAction,
}

/// An interrupted apply this run finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// The commit the branch had been moved to.
    pub commit: String,
    pub files: Vec<FileOutcome>,
}

/// The result of [`apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyReport {
    /// `refs/heads/<branch>`, or `HEAD` when detached.
    pub reference: String,
    /// The commit before (after finishing any interrupted apply); `None` on an unborn branch.
    pub base: Option<String>,
    /// The commit after.
    pub head: Option<String>,
    /// One per [`CommitSpec`], in order.
    pub commits: Vec<CommitOutcome>,
    /// The work-tree paths of this run, sorted (empty for a dry run).
    pub files: Vec<FileOutcome>,
    /// An interrupted apply found and finished first.
    pub recovered: Option<Recovery>,
    /// A dry run found the journal of an interrupted apply, which a real run finishes first
    /// (the report is computed against the branch as it is).
    pub pending_recovery: bool,
}

impl ApplyReport {
    /// Whether the change was already in place (nothing committed or written).
    pub fn nothing_to_do(&self) -> bool {
        self.commits.iter().all(|c| c.changes.is_empty())
    }
}

/// Progress through an apply, reported to the observer of [`apply_observed`] (used by the
/// crash tests to stop a run at every step).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    Locked,
    Recovered,
    Checked,
    BlobsWritten,
    CommitCreated {
        title: String,
    },
    JournalWritten,
    BranchMoved,
    /// The new content is on disk in a temporary file, not yet renamed.
    FileStaged {
        path: String,
    },
    FileWritten {
        path: String,
    },
    FileDeleted {
        path: String,
    },
    IndexUpdated,
    Done,
}

/// Lowercase hex sha256 of `bytes`, the form of [`ApplyOptions::read_files`].
pub fn sha256_hex(bytes: &[u8]) -> String {
    repo::hex(&sha2::Sha256::digest(bytes))
}

/// Whether an interrupted apply left its journal in the work tree containing `dir`: the branch
/// may be ahead of the work tree until the next [`apply`] finishes it. `hapl plan` says
/// so rather than diff against a lagging work tree.
pub fn interrupted(dir: &Path) -> Result<bool, ApplyError> {
    let repo = Repo::open(dir)?;
    Ok(journal::path_in(&repo.git_dir).exists())
}

/// Apply `commits` to the branch checked out in the work tree that contains `dir` (paths are
/// relative to the top of that work tree). See the module docs for the algorithm and the
/// guarantees; every [`ApplyError`] except `Git`, `Io` and `WorkTreeUnfinished` is a refusal
/// made before anything changed.
///
/// ```no_run
/// use hapl_repo::git::{apply, ApplyOptions, CommitSpec, FileChange};
///
/// let commits = vec![CommitSpec {
///     message: "phase 1: storage\n\nwhy it changes".into(),
///     changes: vec![FileChange::write("infra/storage/nfs.yaml", "kind: StorageClass\n")],
/// }];
/// let report = apply(std::path::Path::new("."), &commits, &ApplyOptions::default())?;
/// println!("now at {:?}", report.head);
/// # Ok::<(), hapl_repo::git::ApplyError>(())
/// ```
pub fn apply(
    dir: &Path,
    commits: &[CommitSpec],
    opts: &ApplyOptions,
) -> Result<ApplyReport, ApplyError> {
    apply_observed(dir, commits, opts, &mut |_| {})
}

/// [`apply`], calling `observe` at each [`Step`].
pub fn apply_observed(
    dir: &Path,
    commits: &[CommitSpec],
    opts: &ApplyOptions,
    observe: &mut dyn FnMut(&Step),
) -> Result<ApplyReport, ApplyError> {
    check_specs(commits)?;
    let mut repo = Repo::open(dir)?;
    // The Flux repo may be a folder of the git work tree (`repo: "flux"` beside `.git`): the
    // changes' paths are relative to the Flux repo, git's to the top of the work tree.
    let prefixed = in_work_tree(&repo, dir, commits)?;
    let commits = prefixed.as_deref().unwrap_or(commits);
    if let Some(id) = &opts.identity {
        for who in ["AUTHOR", "COMMITTER"] {
            repo.git.set_env(&format!("GIT_{who}_NAME"), &id.name);
            repo.git.set_env(&format!("GIT_{who}_EMAIL"), &id.email);
        }
    }
    let _lock = if opts.dry_run {
        None
    } else {
        Some(Lock::acquire(
            &repo.common_dir.join("hapl.lock"),
            opts.lock_wait,
        )?)
    };
    observe(&Step::Locked);
    if let Some(operation) = repo.operation_in_progress() {
        return Err(ApplyError::OperationInProgress { operation });
    }
    let mut head = repo.head()?;
    if head.detached && !opts.allow_detached {
        return Err(ApplyError::DetachedHead {
            commit: head.commit,
        });
    }
    let tmp = repo.git_dir.join("hapl-tmp");
    let journal_path = journal::path_in(&repo.git_dir);
    let mut recovered = None;
    let journal = Journal::read(&journal_path)?;
    let pending_recovery = opts.dry_run && journal.is_some();
    if !opts.dry_run {
        remove_tmp(&tmp)?;
        if let Some(journal) = journal {
            recovered = recover(&repo, &head, &journal, &journal_path, &tmp, observe)?;
            head = repo.head()?;
            observe(&Step::Recovered);
        }
    }

    let plan = Plan::new(&repo, &head, commits)?;
    let mut report = ApplyReport {
        reference: head.reference.clone(),
        base: head.commit.clone(),
        head: head.commit.clone(),
        commits: plan.outcomes(commits),
        files: Vec::new(),
        recovered,
        pending_recovery,
    };
    if plan.targets.is_empty() {
        return Ok(report);
    }
    check_base(&head, opts)?;
    check_read_files(&repo, &opts.read_files)?;
    check_clean(&repo, &plan.targets)?;
    for t in &plan.targets {
        path::check_writable(&repo.top, &t.path)?;
    }
    if !opts.no_commit {
        repo.check_identity()?;
    }
    observe(&Step::Checked);
    if opts.dry_run {
        return Ok(report);
    }
    fs::create_dir_all(&tmp).map_err(io_at(&tmp))?;
    if opts.no_commit {
        report.files = finish(&repo, &plan.targets, &plan.contents, &tmp, None, observe)?;
    } else {
        let ids = commit_all(&repo, &head, commits, &plan, &tmp, observe)?;
        // The last commit made (a trailing phase may have had nothing to change).
        let new = ids.iter().rev().find_map(Clone::clone).unwrap_or_default();
        for (outcome, id) in report.commits.iter_mut().zip(ids) {
            outcome.id = id;
        }
        let journal = Journal {
            reference: head.reference.clone(),
            old: head.commit.clone(),
            new: new.clone(),
            paths: plan.targets.clone(),
        };
        journal.write(&journal_path, &tmp)?;
        observe(&Step::JournalWritten);
        move_ref(&repo, &head, &new, &report.commits, &journal_path)?;
        observe(&Step::BranchMoved);
        report.head = Some(new.clone());
        report.files = finish(
            &repo,
            &plan.targets,
            &plan.contents,
            &tmp,
            Some(&new),
            observe,
        )?;
        Journal::remove(&journal_path)?;
    }
    remove_tmp(&tmp)?;
    observe(&Step::Done);
    Ok(report)
}

fn title_of(message: &str) -> String {
    message.lines().next().unwrap_or_default().trim().to_owned()
}

/// The message as committed: trailing whitespace trimmed, one final newline.
fn normalized(message: &str) -> String {
    format!("{}\n", message.trim_end())
}

/// `commits` with every path made relative to the top of the work tree, when `dir` is a folder
/// below it; `None` when `dir` is the top.
fn in_work_tree(
    repo: &Repo,
    dir: &Path,
    commits: &[CommitSpec],
) -> Result<Option<Vec<CommitSpec>>, ApplyError> {
    let io = |e: std::io::Error| ApplyError::NotARepository {
        path: dir.to_owned(),
        detail: e.to_string(),
    };
    let (dir_abs, top_abs) = (
        dir.canonicalize().map_err(io)?,
        repo.top.canonicalize().map_err(io)?,
    );
    let Ok(rel) = dir_abs.strip_prefix(&top_abs) else {
        return Err(ApplyError::NotARepository {
            path: dir.to_owned(),
            detail: format!("it is not inside the work tree at {}", top_abs.display()),
        });
    };
    if rel.as_os_str().is_empty() {
        return Ok(None);
    }
    let prefix: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let prefix = prefix.join("/");
    Ok(Some(
        commits
            .iter()
            .map(|c| CommitSpec {
                message: c.message.clone(),
                changes: c
                    .changes
                    .iter()
                    .map(|f| FileChange {
                        path: format!("{prefix}/{}", f.path),
                        content: f.content.clone(),
                    })
                    .collect(),
            })
            .collect(),
    ))
}

fn check_specs(commits: &[CommitSpec]) -> Result<(), ApplyError> {
    for (i, spec) in commits.iter().enumerate() {
        if title_of(&spec.message).is_empty() {
            return Err(ApplyError::InvalidSpec {
                reason: format!("commit {} has no title (its message starts empty)", i + 1),
            });
        }
        let mut seen = BTreeSet::new();
        for change in &spec.changes {
            path::check_syntax(&change.path)?;
            if !seen.insert(change.path.as_str()) {
                return Err(ApplyError::InvalidSpec {
                    reason: format!(
                        "commit `{}` changes `{}` twice",
                        title_of(&spec.message),
                        change.path
                    ),
                });
            }
        }
    }
    Ok(())
}

fn remove_tmp(tmp: &Path) -> Result<(), ApplyError> {
    match fs::remove_dir_all(tmp) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_at(tmp)(e)),
    }
}

/// Finish or discard the job of an interrupted apply.
fn recover(
    repo: &Repo,
    head: &Head,
    journal: &Journal,
    journal_path: &Path,
    tmp: &Path,
    observe: &mut dyn FnMut(&Step),
) -> Result<Option<Recovery>, ApplyError> {
    let interrupted = |detail: String| ApplyError::Interrupted {
        journal: journal_path.to_owned(),
        detail,
    };
    if journal.reference != head.reference {
        return Err(interrupted(format!(
            "it moved `{}`, but `HEAD` is now `{}`",
            journal.reference, head.reference
        )));
    }
    let now = repo.resolve(&journal.reference)?;
    if now.as_deref() == Some(journal.new.as_str()) {
        fs::create_dir_all(tmp).map_err(io_at(tmp))?;
        let files = finish(
            repo,
            &journal.paths,
            &BTreeMap::new(),
            tmp,
            Some(&journal.new),
            observe,
        )?;
        Journal::remove(journal_path)?;
        remove_tmp(tmp)?;
        Ok(Some(Recovery {
            commit: journal.new.clone(),
            files,
        }))
    } else if now == journal.old {
        Journal::remove(journal_path)?;
        Ok(None)
    } else {
        Err(interrupted(format!(
            "`{}` is at {}, neither the commit before it ({}) nor after it ({})",
            journal.reference,
            now.as_deref().unwrap_or("no commit"),
            journal.old.as_deref().unwrap_or("no commit"),
            journal.new
        )))
    }
}

/// The effective change: per commit, the paths whose entry changes relative to the commit
/// before it; overall, each changed path with its entry at `HEAD` and at the end.
struct Plan {
    /// Per [`CommitSpec`]: (path, new entry, kind), sorted by path.
    per_commit: Vec<Vec<(String, Option<Entry>, ChangeKind)>>,
    /// Paths whose final entry differs from `HEAD`'s, sorted.
    targets: Vec<JournalPath>,
    /// Blob id → bytes, for every content in the commits.
    contents: BTreeMap<String, Vec<u8>>,
}

impl Plan {
    fn new(repo: &Repo, head: &Head, commits: &[CommitSpec]) -> Result<Plan, ApplyError> {
        let paths: BTreeSet<&str> = commits
            .iter()
            .flat_map(|c| c.changes.iter().map(|f| f.path.as_str()))
            .collect();
        let paths: Vec<&str> = paths.into_iter().collect();
        repo.check_attributes(&paths)?;
        for p in &paths {
            path::check_on_disk(&repo.top, p)?;
        }
        let tree = repo.tree_entries(head.commit.as_deref(), &paths)?;
        for (p, (entry, kind)) in &tree {
            let reason = match (kind.as_str(), entry.mode.as_str()) {
                ("blob", "100644" | "100755") => continue,
                ("blob", "120000") => "it is a symbolic link in the last commit",
                ("commit", _) => "it is a submodule",
                ("tree", _) => "it is a directory in the last commit",
                _ => "it is not a regular file in the last commit",
            };
            return Err(ApplyError::UnsafePath {
                path: p.clone(),
                reason: reason.into(),
            });
        }
        let before: BTreeMap<&str, Option<Entry>> = paths
            .iter()
            .map(|p| (*p, tree.get(*p).map(|(e, _)| e.clone())))
            .collect();
        let mut current = before.clone();
        let mut contents = BTreeMap::new();
        let mut per_commit = Vec::new();
        for spec in commits {
            let mut changes = Vec::new();
            for change in &spec.changes {
                let old = current[change.path.as_str()].clone();
                let new = change.content.as_ref().map(|bytes| {
                    let id = repo.blob_id(bytes);
                    contents.insert(id.clone(), bytes.clone());
                    let mode = old.as_ref().map_or("100644", |e| e.mode.as_str());
                    Entry {
                        mode: mode.to_owned(),
                        id,
                    }
                });
                if old == new {
                    continue;
                }
                let kind = match (&old, &new) {
                    (None, _) => ChangeKind::Add,
                    (_, None) => ChangeKind::Delete,
                    _ => ChangeKind::Modify,
                };
                current.insert(change.path.as_str(), new.clone());
                changes.push((change.path.clone(), new, kind));
            }
            changes.sort_by(|a, b| a.0.cmp(&b.0));
            per_commit.push(changes);
        }
        let targets: Vec<JournalPath> = paths
            .iter()
            .filter(|p| before[*p] != current[*p])
            .map(|p| JournalPath {
                path: (*p).to_owned(),
                old: before[*p].clone(),
                new: current[*p].clone(),
            })
            .collect();
        if targets.is_empty() {
            // The end state is already there (phases that change a file back and forth
            // included): nothing to commit.
            per_commit.iter_mut().for_each(Vec::clear);
        }
        Ok(Plan {
            per_commit,
            targets,
            contents,
        })
    }

    fn outcomes(&self, commits: &[CommitSpec]) -> Vec<CommitOutcome> {
        commits
            .iter()
            .zip(&self.per_commit)
            .map(|(spec, changes)| CommitOutcome {
                title: title_of(&spec.message),
                id: None,
                changes: changes
                    .iter()
                    .map(|(path, _, kind)| Change {
                        path: path.clone(),
                        kind: *kind,
                    })
                    .collect(),
            })
            .collect()
    }
}

fn check_base(head: &Head, opts: &ApplyOptions) -> Result<(), ApplyError> {
    let Some(expected) = &opts.expected_base else {
        return Ok(());
    };
    let matches = match expected {
        Base::Unborn => head.commit.is_none(),
        Base::Commit(id) => head
            .commit
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case(id)),
    };
    if matches {
        return Ok(());
    }
    Err(ApplyError::BaseMoved {
        expected: match expected {
            Base::Unborn => "(none)".into(),
            Base::Commit(id) => id.clone(),
        },
        actual: head.commit.clone().unwrap_or_else(|| "(none)".into()),
    })
}

fn check_read_files(
    repo: &Repo,
    read_files: &BTreeMap<String, Option<String>>,
) -> Result<(), ApplyError> {
    for (p, expected) in read_files {
        path::check_syntax(p)?;
        path::check_on_disk(&repo.top, p)?;
        let actual = match path::read(&repo.top, p)? {
            OnDisk::Missing => None,
            OnDisk::File { bytes, .. } => Some(sha256_hex(&bytes)),
        };
        let expected = expected.as_ref().map(|s| s.to_ascii_lowercase());
        if actual != expected {
            return Err(ApplyError::ReadFileChanged { path: p.clone() });
        }
    }
    Ok(())
}

/// The blob id of what is on disk at `path`, `None` if nothing is.
fn disk_id(repo: &Repo, path: &str) -> Result<Option<String>, ApplyError> {
    Ok(match path::read(&repo.top, path)? {
        OnDisk::Missing => None,
        OnDisk::File { bytes, .. } => Some(repo.blob_id(&bytes)),
    })
}

/// The stage-0 index entry of a path; `Err` with a reason if the path is conflicted.
fn staged<'a>(
    index: &'a BTreeMap<String, Vec<(Entry, String)>>,
    path: &str,
) -> Result<Option<&'a Entry>, &'static str> {
    match index.get(path).map(Vec::as_slice) {
        None => Ok(None),
        Some([(entry, stage)]) if stage == "0" => Ok(Some(entry)),
        Some(_) => Err("has merge conflicts"),
    }
}

/// Refuse if any target path has edits of its own: a staged change, or a work-tree file that
/// is neither the committed content nor already the new content.
fn check_clean(repo: &Repo, targets: &[JournalPath]) -> Result<(), ApplyError> {
    let paths: Vec<&str> = targets.iter().map(|t| t.path.as_str()).collect();
    let index = repo.index_entries(&paths)?;
    let file_mode = repo.config_bool("core.fileMode")?.unwrap_or(true);
    let mut dirty = Vec::new();
    for t in targets {
        let mut mark = |state| {
            dirty.push(DirtyPath {
                path: t.path.clone(),
                state,
            })
        };
        let staged = match staged(&index, &t.path) {
            Ok(s) => s,
            Err(state) => {
                mark(state);
                continue;
            }
        };
        if staged != t.old.as_ref() {
            mark("has staged changes");
            continue;
        }
        let (on_disk, executable) = match path::read(&repo.top, &t.path)? {
            OnDisk::Missing => (None, None),
            OnDisk::File { bytes, executable } => (Some(repo.blob_id(&bytes)), Some(executable)),
        };
        let id = |e: Option<&Entry>| e.map(|e| e.id.clone());
        if on_disk == id(t.new.as_ref()) {
            continue;
        }
        if on_disk == id(staged) {
            let mode_changed = file_mode
                && matches!((staged, executable), (Some(e), Some(x)) if e.executable() != x);
            if mode_changed {
                mark("its executable bit was changed in the work tree");
            }
            continue;
        }
        mark(match (staged, &on_disk) {
            (Some(_), None) => "deleted in the work tree",
            (None, Some(_)) => "untracked, and the change would overwrite it",
            _ => "modified in the work tree",
        });
    }
    if dirty.is_empty() {
        Ok(())
    } else {
        Err(ApplyError::Dirty { paths: dirty })
    }
}

/// Write the blobs and build every commit in a temporary index; return each spec's commit id.
fn commit_all(
    repo: &Repo,
    head: &Head,
    commits: &[CommitSpec],
    plan: &Plan,
    tmp: &Path,
    observe: &mut dyn FnMut(&Step),
) -> Result<Vec<Option<String>>, ApplyError> {
    let needed: BTreeSet<&str> = plan
        .per_commit
        .iter()
        .flatten()
        .filter_map(|(_, new, _)| new.as_ref().map(|e| e.id.as_str()))
        .collect();
    // One `hash-object` for all blobs, from files in the temporary directory.
    let mut list = String::new();
    for (n, id) in needed.iter().enumerate() {
        let file = tmp.join(format!("blob-{n}"));
        fs::write(&file, &plan.contents[*id]).map_err(io_at(&file))?;
        list.push_str(&format!("{}\n", file.display()));
    }
    let written = repo.git.run_with(
        &["hash-object", "-w", "--no-filters", "--stdin-paths"],
        Some(list.as_bytes()),
        &[],
    )?;
    let written = String::from_utf8_lossy(&written).into_owned();
    if !written.lines().eq(needed.iter().copied()) {
        return Err(ApplyError::Git {
            command: "hash-object -w --no-filters --stdin-paths".into(),
            stderr: format!("stored blobs {written:?}, expected {needed:?}"),
        });
    }
    observe(&Step::BlobsWritten);
    let index_file = tmp.join("index");
    let env = [("GIT_INDEX_FILE", index_file.as_os_str())];
    if let Some(base) = &head.commit {
        repo.git.run_with(&["read-tree", base], None, &env)?;
    }
    let zero = repo.zero_id();
    // `commit-tree` is plumbing and ignores `commit.gpgSign`; honour it as `git commit` would.
    let sign = repo.config_bool("commit.gpgSign")?.unwrap_or(false);
    let mut parent = head.commit.clone();
    let mut ids = Vec::new();
    for (spec, changes) in commits.iter().zip(&plan.per_commit) {
        if changes.is_empty() {
            ids.push(None);
            continue;
        }
        let info: String = changes
            .iter()
            .map(|(path, new, _)| match new {
                Some(e) => format!("{} {}\t{path}\0", e.mode, e.id),
                None => format!("0 {zero}\t{path}\0"),
            })
            .collect();
        repo.git.run_with(
            &["update-index", "-z", "--index-info"],
            Some(info.as_bytes()),
            &env,
        )?;
        let tree = String::from_utf8_lossy(&repo.git.run_with(&["write-tree"], None, &env)?)
            .trim()
            .to_owned();
        let mut args = vec!["commit-tree", tree.as_str()];
        if sign {
            args.push("-S");
        }
        if let Some(p) = &parent {
            args.extend(["-p", p.as_str()]);
        }
        let message = normalized(&spec.message);
        let id = repo.git.run_with(&args, Some(message.as_bytes()), &[])?;
        let id = String::from_utf8_lossy(&id).trim().to_owned();
        observe(&Step::CommitCreated {
            title: title_of(&spec.message),
        });
        parent = Some(id.clone());
        ids.push(Some(id));
    }
    Ok(ids)
}

/// Move the reference from the old commit to `new` in one compare-and-swap.
fn move_ref(
    repo: &Repo,
    head: &Head,
    new: &str,
    outcomes: &[CommitOutcome],
    journal_path: &Path,
) -> Result<(), ApplyError> {
    let made: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.id.is_some())
        .map(|o| o.title.as_str())
        .collect();
    let message = match made.as_slice() {
        [one] => format!("hapl apply-to-git: {one}"),
        many => format!("hapl apply-to-git: {} commits", many.len()),
    };
    let old = head.commit.clone().unwrap_or_default();
    let mut args = vec!["update-ref", "-m", message.as_str()];
    if head.detached {
        args.push("--no-deref");
    }
    args.extend([head.reference.as_str(), new, old.as_str()]);
    let Err(err) = repo.git.run(&args) else {
        return Ok(());
    };
    let now = repo.resolve(&head.reference)?;
    if now.as_deref() == Some(new) {
        return Ok(());
    }
    Journal::remove(journal_path)?;
    if now != head.commit {
        return Err(ApplyError::BranchMoved {
            reference: head.reference.clone(),
            expected: head.commit.clone().unwrap_or_else(|| "(none)".into()),
            actual: now.unwrap_or_else(|| "(none)".into()),
        });
    }
    Err(err)
}

/// Bring the work tree (and, with a `commit`, the index) of the target paths to their new
/// entries: replace or remove files that still hold the old content, leave files that already
/// hold the new one, keep anything else. `contents` has the bytes known in memory; the others
/// are read from the object database.
fn finish(
    repo: &Repo,
    targets: &[JournalPath],
    contents: &BTreeMap<String, Vec<u8>>,
    tmp: &Path,
    commit: Option<&str>,
    observe: &mut dyn FnMut(&Step),
) -> Result<Vec<FileOutcome>, ApplyError> {
    let missing: Vec<&str> = targets
        .iter()
        .filter_map(|t| t.new.as_ref().map(|e| e.id.as_str()))
        .filter(|id| !contents.contains_key(*id))
        .collect();
    let fetched = repo.blobs(&missing)?;
    let paths: Vec<&str> = targets.iter().map(|t| t.path.as_str()).collect();
    let index = match commit {
        Some(_) => repo.index_entries(&paths)?,
        None => BTreeMap::new(),
    };
    let unfinished = |path: &str, source| match commit {
        Some(c) => ApplyError::WorkTreeUnfinished {
            commit: c.to_owned(),
            path: path.to_owned(),
            source,
        },
        None => io_at(repo.top.join(path))(source),
    };
    let mut outcomes = Vec::new();
    let mut info = String::new();
    let zero = repo.zero_id();
    for (n, t) in targets.iter().enumerate() {
        // Checked again: a journal's paths come from a file, and the disk may have changed.
        path::check_syntax(&t.path)?;
        path::check_on_disk(&repo.top, &t.path)?;
        let full = repo.top.join(&t.path);
        let _ = fs::remove_file(worktree::sibling_temp(&full));
        let on_disk = disk_id(repo, &t.path)?;
        let id = |e: &Option<Entry>| e.as_ref().map(|e| e.id.clone());
        let action = if on_disk == id(&t.new) {
            FileAction::UpToDate
        } else if on_disk == id(&t.old) {
            match &t.new {
                Some(e) => {
                    let bytes = contents.get(&e.id).or_else(|| fetched.get(&e.id));
                    let bytes = bytes.map(Vec::as_slice).unwrap_or_default();
                    let staging = tmp.join(format!("file-{n}"));
                    let path = t.path.clone();
                    worktree::replace(&full, bytes, e.executable(), &staging, &mut || {
                        observe(&Step::FileStaged { path: path.clone() })
                    })
                    .map_err(|source| unfinished(&t.path, source))?;
                    observe(&Step::FileWritten {
                        path: t.path.clone(),
                    });
                    FileAction::Written
                }
                None => {
                    worktree::remove(&repo.top, &full)
                        .map_err(|source| unfinished(&t.path, source))?;
                    observe(&Step::FileDeleted {
                        path: t.path.clone(),
                    });
                    FileAction::Deleted
                }
            }
        } else {
            FileAction::KeptUserEdit
        };
        if commit.is_some() {
            // Only an index entry that is still the old one (or already the new one) is set;
            // anything else was staged by the user after an interruption and stays.
            let entry = staged(&index, &t.path).ok().flatten();
            if entry == t.old.as_ref() || entry == t.new.as_ref() {
                info.push_str(&match &t.new {
                    Some(e) => format!("{} {}\t{}\0", e.mode, e.id, t.path),
                    None => format!("0 {zero}\t{}\0", t.path),
                });
            }
        }
        outcomes.push(FileOutcome {
            path: t.path.clone(),
            action,
        });
    }
    if !info.is_empty() {
        repo.git.run_with(
            &["update-index", "-z", "--index-info"],
            Some(info.as_bytes()),
            &[],
        )?;
        // Only stat information: lets `git diff-files` see the rewritten files as clean. A
        // failure here (another git holding the index) loses nothing.
        let _ = repo
            .git
            .output(&["update-index", "-q", "--refresh"], None, &[]);
        observe(&Step::IndexUpdated);
    }
    Ok(outcomes)
}
