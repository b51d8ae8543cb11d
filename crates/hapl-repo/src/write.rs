//! Writing a rendered tree to disk without ever leaving half a tree behind.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::layout::Tree;

/// The marker file `hapl render` leaves in its output, so a later render may replace it.
pub const RENDER_MARKER: &str = ".hapl-render";

#[derive(Debug)]
pub enum WriteError {
    /// The output directory holds files hapl did not write.
    NotOurs {
        dir: PathBuf,
    },
    NotADirectory {
        path: PathBuf,
    },
    Io {
        path: PathBuf,
        source: io::Error,
    },
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::NotOurs { dir } => write!(
                f,
                "`{}` is not empty and was not written by `hapl render`; refusing to replace it",
                dir.display()
            ),
            WriteError::NotADirectory { path } => {
                write!(f, "`{}` exists and is not a directory", path.display())
            }
            WriteError::Io { path, source } => {
                write!(f, "cannot write `{}`: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for WriteError {}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Replace `out` with the rendered tree. `out` must not exist, be empty, or hold an earlier
/// render. The tree is written next to `out` first and swapped in with renames, so a failure
/// leaves either the old tree or the new one.
pub fn write_render(out: &Path, tree: &Tree) -> Result<(), WriteError> {
    if out.exists() {
        if !out.is_dir() {
            return Err(WriteError::NotADirectory {
                path: out.to_owned(),
            });
        }
        let empty = fs::read_dir(out).map_err(io_err(out))?.next().is_none();
        if !empty && !out.join(RENDER_MARKER).is_file() {
            return Err(WriteError::NotOurs {
                dir: out.to_owned(),
            });
        }
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    let base = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let staging = parent.join(format!(".{base}.hapl-new-{}", std::process::id()));
    let old = parent.join(format!(".{base}.hapl-old-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    let result = (|| {
        fs::create_dir(&staging).map_err(io_err(&staging))?;
        // Each directory is made once, not once per file (two system calls saved per file);
        // then the files are written by two threads, one half each (a render is thousands of
        // small files, and each costs system calls more than bytes).
        let mut made: HashSet<&Path> = HashSet::new();
        for rel in tree.keys() {
            if let Some(dir) = Path::new(rel).parent() {
                if made.insert(dir) {
                    let dir = staging.join(dir);
                    fs::create_dir_all(&dir).map_err(io_err(&dir))?;
                }
            }
        }
        let files: Vec<(&String, &String)> = tree.iter().collect();
        let (first, second) = files.split_at(files.len() / 2);
        let write = |part: &[(&String, &String)]| -> Result<(), WriteError> {
            for (rel, content) in part {
                let path = staging.join(rel);
                let mut file = fs::File::create(&path).map_err(io_err(&path))?;
                file.write_all(content.as_bytes()).map_err(io_err(&path))?;
            }
            Ok(())
        };
        std::thread::scope(|s| {
            let other = s.spawn(|| write(second));
            let mine = write(first);
            mine.and(other.join().expect("writing does not panic"))
        })?;
        let marker = staging.join(RENDER_MARKER);
        fs::write(
            &marker,
            "written by `hapl render`; the whole folder is replaced on the next render\n",
        )
        .map_err(io_err(&marker))?;
        if out.exists() {
            fs::rename(out, &old).map_err(io_err(out))?;
        }
        fs::rename(&staging, out).map_err(io_err(out))?;
        let _ = fs::remove_dir_all(&old);
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
        if old.exists() && !out.exists() {
            let _ = fs::rename(&old, out);
        }
    }
    result
}

/// Write one file so that it is either the old content or the new, never half of it.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.hapl-new-{}", std::process::id()));
    let result = (|| {
        let mut file = fs::File::create(&tmp).map_err(io_err(&tmp))?;
        file.write_all(bytes).map_err(io_err(&tmp))?;
        file.sync_all().map_err(io_err(&tmp))?;
        fs::rename(&tmp, path).map_err(io_err(path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
