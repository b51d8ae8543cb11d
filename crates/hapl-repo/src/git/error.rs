//! Why an apply was refused or failed. Every refusal is raised before anything changes on disk.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// A path the change touches that has edits of its own, so writing it would lose them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirtyPath {
    /// Repo-relative path with `/`.
    pub path: String,
    /// What is uncommitted there, e.g. "modified in the work tree".
    pub state: &'static str,
}

/// The error of [`apply`](super::apply). Refusals (everything except [`ApplyError::Git`],
/// [`ApplyError::Io`] and [`ApplyError::WorkTreeUnfinished`]) leave the work tree, the index,
/// `HEAD` and every ref exactly as they were.
#[derive(Debug)]
#[non_exhaustive]
pub enum ApplyError {
    /// The directory is not inside a git work tree (or git refuses it, e.g. dubious ownership).
    NotARepository { path: PathBuf, detail: String },
    /// The repository has no work tree.
    BareRepository { path: PathBuf },
    /// A merge, rebase, cherry-pick, revert or bisect is in progress.
    OperationInProgress { operation: &'static str },
    /// `HEAD` is detached and detached commits were not allowed.
    DetachedHead { commit: Option<String> },
    /// Another apply holds the lock.
    Locked { lock: PathBuf, holder: String },
    /// git has no configured author identity and none was given.
    NoIdentity { detail: String },
    /// A saved plan was made against another commit than the current `HEAD`.
    BaseMoved { expected: String, actual: String },
    /// A file a saved plan read is no longer what it read.
    ReadFileChanged { path: String },
    /// The list of commits itself is malformed (empty message, a path twice in one commit).
    InvalidSpec { reason: String },
    /// A path is not a plain repo-relative path, or leads through a symlink, a nested
    /// repository, `.git`, or out of the repository.
    UnsafePath { path: String, reason: String },
    /// A path carries a git attribute that would make the committed bytes differ from the
    /// written ones (a `filter`, such as git-crypt or git-lfs).
    UnsupportedAttribute {
        path: String,
        attribute: &'static str,
        value: String,
    },
    /// Paths the change touches have uncommitted edits (staged or not).
    Dirty { paths: Vec<DirtyPath> },
    /// A file or directory the change must write is read-only.
    ReadOnly { path: String },
    /// The branch moved between reading it and moving it (someone committed meanwhile).
    BranchMoved {
        reference: String,
        expected: String,
        actual: String,
    },
    /// A journal left by an interrupted apply cannot be finished safely.
    Interrupted { journal: PathBuf, detail: String },
    /// The commits are in, but writing the work tree failed; the journal is kept, so the next
    /// run finishes the job once the cause is fixed.
    WorkTreeUnfinished {
        commit: String,
        path: String,
        source: io::Error,
    },
    /// A git command failed.
    Git { command: String, stderr: String },
    /// Reading or writing a file failed.
    Io { path: PathBuf, source: io::Error },
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApplyError::NotARepository { path, detail } => write!(
                f,
                "`{}` is not inside a git work tree: {detail}",
                path.display()
            ),
            ApplyError::BareRepository { path } => write!(
                f,
                "`{}` is a bare repository; apply to a clone with a work tree",
                path.display()
            ),
            ApplyError::OperationInProgress { operation } => {
                let abort = if *operation == "bisect" {
                    "git bisect reset".to_owned()
                } else {
                    format!("git {operation} --abort")
                };
                write!(
                    f,
                    "a {operation} is in progress; finish it or end it (`{abort}`) first"
                )
            }
            ApplyError::DetachedHead { commit } => write!(
                f,
                "`HEAD` is detached{}; check out a branch, or allow detached commits",
                commit
                    .as_deref()
                    .map(|c| format!(" at {}", short(c)))
                    .unwrap_or_default()
            ),
            ApplyError::Locked { lock, holder } => write!(
                f,
                "another apply is running ({holder}); wait for it, or remove `{}` if that process is gone",
                lock.display()
            ),
            ApplyError::NoIdentity { detail } => write!(
                f,
                "git has no author identity ({detail}); set `git config user.name` and `git config user.email`"
            ),
            ApplyError::BaseMoved { expected, actual } => write!(
                f,
                "the saved plan was made on commit {} but `HEAD` is now {}; run `hapl plan` again",
                short(expected),
                short(actual)
            ),
            ApplyError::ReadFileChanged { path } => write!(
                f,
                "`{path}` changed since the plan was saved; run `hapl plan` again"
            ),
            ApplyError::InvalidSpec { reason } => write!(f, "invalid change: {reason}"),
            ApplyError::UnsafePath { path, reason } => {
                write!(f, "refusing to write `{path}`: {reason}")
            }
            ApplyError::UnsupportedAttribute {
                path,
                attribute,
                value,
            } => write!(
                f,
                "refusing to write `{path}`: it has the git attribute `{attribute}={value}`, \
                 and hapl writes and commits bytes as they are"
            ),
            ApplyError::Dirty { paths } => {
                write!(
                    f,
                    "uncommitted edits in files the change would write; commit or stash them first:"
                )?;
                for p in paths {
                    write!(f, "\n  `{}`: {}", p.path, p.state)?;
                }
                Ok(())
            }
            ApplyError::ReadOnly { path } => write!(
                f,
                "`{path}` is read-only; make it writable if hapl may change it"
            ),
            ApplyError::BranchMoved {
                reference,
                expected,
                actual,
            } => write!(
                f,
                "`{reference}` moved from {} to {} while applying; nothing was changed, run again",
                short(expected),
                short(actual)
            ),
            ApplyError::Interrupted { journal, detail } => write!(
                f,
                "an interrupted apply left `{}` and cannot be finished: {detail}; \
                 check `git status` and `git log`, then remove that file",
                journal.display()
            ),
            ApplyError::WorkTreeUnfinished {
                commit,
                path,
                source,
            } => write!(
                f,
                "committed {} but could not write `{path}`: {source}; fix that and run again to finish the work tree",
                short(commit)
            ),
            ApplyError::Git { command, stderr } => {
                write!(f, "`git {command}` failed: {}", stderr.trim())
            }
            ApplyError::Io { path, source } => {
                write!(f, "cannot access `{}`: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for ApplyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ApplyError::Io { source, .. } | ApplyError::WorkTreeUnfinished { source, .. } => {
                Some(source)
            }
            _ => None,
        }
    }
}

/// `map_err` helper for IO on a path.
pub(crate) fn io_at(path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> ApplyError {
    let path = path.into();
    move |source| ApplyError::Io { path, source }
}
