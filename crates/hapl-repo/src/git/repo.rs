//! Reading the state of a repository through git plumbing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use sha1::Digest;

use super::cmd::Git;
use super::error::ApplyError;
use super::journal::Entry;

/// Paths given to one git command: well under any system's argument limit.
const PATHS_PER_RUN: usize = 500;

/// Lowercase hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The repository an apply works on.
#[derive(Debug)]
pub(crate) struct Repo {
    /// The top of the work tree (absolute, as git reports it).
    pub top: PathBuf,
    /// This work tree's git directory (`.git`, or `.git/worktrees/<name>`).
    pub git_dir: PathBuf,
    /// The directory shared by all work trees (`.git`).
    pub common_dir: PathBuf,
    sha256: bool,
    pub git: Git,
}

/// What `HEAD` is.
#[derive(Debug, Clone)]
pub(crate) struct Head {
    /// `refs/heads/<branch>`, or `HEAD` when detached.
    pub reference: String,
    pub detached: bool,
    /// `None` on an unborn branch.
    pub commit: Option<String>,
}

fn lines_z(bytes: &[u8]) -> impl Iterator<Item = String> + '_ {
    bytes
        .split(|b| *b == 0)
        .filter(|r| !r.is_empty())
        .map(|r| String::from_utf8_lossy(r).into_owned())
}

impl Repo {
    pub(crate) fn open(dir: &Path) -> Result<Repo, ApplyError> {
        let not_repo = |detail: String| ApplyError::NotARepository {
            path: dir.to_owned(),
            detail,
        };
        if !dir.is_dir() {
            return Err(not_repo("no such directory".into()));
        }
        let git = Git::new(dir);
        let out = git.output(
            &[
                "rev-parse",
                "--path-format=absolute",
                "--git-dir",
                "--git-common-dir",
                "--show-object-format",
                "--show-toplevel",
            ],
            None,
            &[],
        )?;
        if !out.status.success() {
            let bare = git.output(&["rev-parse", "--is-bare-repository"], None, &[])?;
            if bare.status.success() && bare.stdout.starts_with(b"true") {
                return Err(ApplyError::BareRepository {
                    path: dir.to_owned(),
                });
            }
            let err = String::from_utf8_lossy(&out.stderr);
            let detail = err.trim().trim_start_matches("fatal: ").to_owned();
            return Err(not_repo(detail));
        }
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let lines: Vec<&str> = text.lines().collect();
        let [git_dir, common_dir, format, top] = lines[..] else {
            return Err(not_repo(
                "it is inside the git directory, not a work tree".into(),
            ));
        };
        let top = PathBuf::from(top);
        Ok(Repo {
            git: git.at(&top),
            top,
            git_dir: PathBuf::from(git_dir),
            common_dir: PathBuf::from(common_dir),
            sha256: format == "sha256",
        })
    }

    /// The operation in progress in this work tree, if any.
    pub(crate) fn operation_in_progress(&self) -> Option<&'static str> {
        const MARKERS: &[(&str, &str)] = &[
            ("MERGE_HEAD", "merge"),
            ("rebase-merge", "rebase"),
            ("rebase-apply", "rebase"),
            ("CHERRY_PICK_HEAD", "cherry-pick"),
            ("REVERT_HEAD", "revert"),
            ("BISECT_LOG", "bisect"),
            ("sequencer", "cherry-pick"),
        ];
        MARKERS
            .iter()
            .find(|(file, _)| self.git_dir.join(file).exists())
            .map(|(_, op)| *op)
    }

    /// The object a ref points to, `None` if it does not exist.
    pub(crate) fn resolve(&self, reference: &str) -> Result<Option<String>, ApplyError> {
        let out = self.git.output(
            &[
                "rev-parse",
                "-q",
                "--verify",
                &format!("{reference}^{{commit}}"),
            ],
            None,
            &[],
        )?;
        let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Ok((out.status.success() && !id.is_empty()).then_some(id))
    }

    pub(crate) fn head(&self) -> Result<Head, ApplyError> {
        let out = self
            .git
            .output(&["symbolic-ref", "-q", "HEAD"], None, &[])?;
        let symbolic = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let (reference, detached) = if out.status.success() && !symbolic.is_empty() {
            (symbolic, false)
        } else {
            ("HEAD".to_owned(), true)
        };
        let commit = self.resolve(&reference)?;
        Ok(Head {
            reference,
            detached,
            commit,
        })
    }

    /// Refuse without an author and committer identity (the caller's or git's configured one;
    /// `user.useConfigOnly` keeps git from inventing `user@host`).
    pub(crate) fn check_identity(&self) -> Result<(), ApplyError> {
        for var in ["GIT_AUTHOR_IDENT", "GIT_COMMITTER_IDENT"] {
            let out = self.git.output(&["var", var], None, &[])?;
            if !out.status.success() {
                let err = String::from_utf8_lossy(&out.stderr);
                let detail = err
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("unknown")
                    .trim_start_matches("fatal: ")
                    .to_owned();
                return Err(ApplyError::NoIdentity { detail });
            }
        }
        Ok(())
    }

    /// A boolean config value, `None` if unset.
    pub(crate) fn config_bool(&self, key: &str) -> Result<Option<bool>, ApplyError> {
        let out = self
            .git
            .output(&["config", "--type=bool", "--get", key], None, &[])?;
        Ok(match out.stdout.trim_ascii() {
            b"true" => Some(true),
            b"false" => Some(false),
            _ => None,
        })
    }

    /// The id git gives a blob with these bytes.
    pub(crate) fn blob_id(&self, bytes: &[u8]) -> String {
        let header = format!("blob {}\0", bytes.len());
        if self.sha256 {
            let mut h = sha2::Sha256::new();
            h.update(header.as_bytes());
            h.update(bytes);
            hex(&h.finalize())
        } else {
            let mut h = sha1::Sha1::new();
            h.update(header.as_bytes());
            h.update(bytes);
            hex(&h.finalize())
        }
    }

    /// The all-zero object id (used to remove an index entry).
    pub(crate) fn zero_id(&self) -> String {
        "0".repeat(if self.sha256 { 64 } else { 40 })
    }

    /// The entries of `paths` in `commit`'s tree, with their object type. Paths absent from the
    /// tree are absent from the map.
    pub(crate) fn tree_entries(
        &self,
        commit: Option<&str>,
        paths: &[&str],
    ) -> Result<BTreeMap<String, (Entry, String)>, ApplyError> {
        let mut out = BTreeMap::new();
        let Some(commit) = commit else {
            return Ok(out);
        };
        if paths.is_empty() {
            return Ok(out);
        }
        let wanted: BTreeSet<&str> = paths.iter().copied().collect();
        for line in self.per_chunk(&["ls-tree", "-z", commit, "--"], paths)? {
            // <mode> SP <type> SP <id> TAB <path>
            let Some((meta, path)) = line.split_once('\t') else {
                continue;
            };
            let mut parts = meta.split(' ');
            if let (Some(mode), Some(kind), Some(id)) = (parts.next(), parts.next(), parts.next()) {
                if wanted.contains(path) {
                    let entry = Entry {
                        mode: mode.to_owned(),
                        id: id.to_owned(),
                    };
                    out.insert(path.to_owned(), (entry, kind.to_owned()));
                }
            }
        }
        Ok(out)
    }

    /// The index entries of `paths`: path → (entry, stage). More than one entry, or a stage
    /// other than 0, means a conflict.
    pub(crate) fn index_entries(
        &self,
        paths: &[&str],
    ) -> Result<BTreeMap<String, Vec<(Entry, String)>>, ApplyError> {
        let mut out: BTreeMap<String, Vec<(Entry, String)>> = BTreeMap::new();
        if paths.is_empty() {
            return Ok(out);
        }
        let wanted: BTreeSet<&str> = paths.iter().copied().collect();
        for line in self.per_chunk(&["ls-files", "-s", "-z", "--"], paths)? {
            // <mode> SP <id> SP <stage> TAB <path>
            let Some((meta, path)) = line.split_once('\t') else {
                continue;
            };
            let mut parts = meta.split(' ');
            if let (Some(mode), Some(id), Some(stage)) = (parts.next(), parts.next(), parts.next())
            {
                if wanted.contains(path) {
                    let entry = Entry {
                        mode: mode.to_owned(),
                        id: id.to_owned(),
                    };
                    out.entry(path.to_owned())
                        .or_default()
                        .push((entry, stage.to_owned()));
                }
            }
        }
        Ok(out)
    }

    /// The NUL-separated output fields of `git <args> <paths>`, run on at most
    /// [`PATHS_PER_RUN`] paths at a time (a plan may change more files than one command line
    /// holds: "Argument list too long").
    fn per_chunk(&self, args: &[&str], paths: &[&str]) -> Result<Vec<String>, ApplyError> {
        let mut out = Vec::new();
        for chunk in paths.chunks(PATHS_PER_RUN) {
            let mut all = args.to_vec();
            all.extend_from_slice(chunk);
            out.extend(lines_z(&self.git.run(&all)?));
        }
        Ok(out)
    }

    /// Refuse paths with a `filter` attribute: hapl commits exactly the bytes it writes.
    pub(crate) fn check_attributes(&self, paths: &[&str]) -> Result<(), ApplyError> {
        if paths.is_empty() {
            return Ok(());
        }
        let fields = self.per_chunk(&["check-attr", "-z", "filter", "--"], paths)?;
        for triple in fields.chunks(3) {
            if let [path, _, value] = triple {
                if value != "unspecified" && value != "unset" {
                    return Err(ApplyError::UnsupportedAttribute {
                        path: path.clone(),
                        attribute: "filter",
                        value: value.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// The content of blobs, read with one `git cat-file --batch`.
    pub(crate) fn blobs(&self, ids: &[&str]) -> Result<BTreeMap<String, Vec<u8>>, ApplyError> {
        let mut out = BTreeMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let input: String = ids.iter().map(|id| format!("{id}\n")).collect();
        let bytes = self
            .git
            .run_with(&["cat-file", "--batch"], Some(input.as_bytes()), &[])?;
        let mut rest = &bytes[..];
        for id in ids {
            let header_end = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
            let header = String::from_utf8_lossy(&rest[..header_end]).into_owned();
            let size: Option<usize> = header
                .split(' ')
                .nth(2)
                .and_then(|s| s.parse().ok())
                .filter(|_| header.split(' ').nth(1) == Some("blob"))
                .filter(|size| header_end + 1 + size <= rest.len());
            let Some(size) = size else {
                return Err(ApplyError::Git {
                    command: "cat-file --batch".into(),
                    stderr: format!("object {id} is not a readable blob: {header}"),
                });
            };
            let start = header_end + 1;
            out.insert((*id).to_owned(), rest[start..start + size].to_vec());
            rest = &rest[(start + size + 1).min(rest.len())..];
        }
        Ok(out)
    }
}
