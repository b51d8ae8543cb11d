//! `.git/hapl-journal.json`: what an apply is about to do, written before the branch moves.
//!
//! If the process dies after moving the branch and before the work tree and index caught up,
//! the next apply finds the journal and finishes the job (or discards it if the branch never
//! moved). The journal is written to a temporary file, flushed, and renamed into place.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{io_at, ApplyError};

/// A tree entry: git mode (`100644`, `100755`) and object id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub mode: String,
    pub id: String,
}

impl Entry {
    pub(crate) fn executable(&self) -> bool {
        self.mode == "100755"
    }
}

/// One path the apply changes: its entry in the old commit and in the new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct JournalPath {
    pub path: String,
    pub old: Option<Entry>,
    pub new: Option<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Journal {
    /// `refs/heads/<branch>`, or `HEAD` when detached.
    pub reference: String,
    /// The commit the reference pointed to; `None` for an unborn branch.
    pub old: Option<String>,
    /// The commit it is moved to.
    pub new: String,
    pub paths: Vec<JournalPath>,
}

pub(crate) fn path_in(git_dir: &Path) -> PathBuf {
    git_dir.join("hapl-journal.json")
}

impl Journal {
    pub(crate) fn read(path: &Path) -> Result<Option<Journal>, ApplyError> {
        match fs::read(path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| ApplyError::Interrupted {
                        journal: path.to_owned(),
                        detail: format!("it is not readable ({e})"),
                    })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_at(path)(e)),
        }
    }

    /// Write atomically and durably: a temporary file in `tmp` (cleaned by the next run if
    /// this one dies), fsync, rename, fsync the directory.
    pub(crate) fn write(&self, path: &Path, tmp: &Path) -> Result<(), ApplyError> {
        let temp = tmp.join("journal.json");
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| io_at(path)(io::Error::new(io::ErrorKind::InvalidData, e.to_string())))?;
        (|| {
            let mut file = fs::File::create(&temp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            fs::rename(&temp, path)?;
            fs::File::open(path.parent().unwrap_or(Path::new(".")))?.sync_all()
        })()
        .map_err(io_at(path))
    }

    pub(crate) fn remove(path: &Path) -> Result<(), ApplyError> {
        match fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_at(path)(e)),
        }
        fs::File::open(path.parent().unwrap_or(Path::new(".")))
            .and_then(|d| d.sync_all())
            .map_err(io_at(path))
    }
}
