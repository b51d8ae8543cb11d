//! Which paths hapl may write: plain repo-relative paths that stay inside the work tree.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::error::{io_at, ApplyError};

fn unsafe_path(path: &str, reason: impl Into<String>) -> ApplyError {
    ApplyError::UnsafePath {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// Check the spelling of a repo-relative path: `/`-separated, relative, no empty, `.` or `..`
/// component, no component named `.git` (in any case), no backslash or NUL.
pub(crate) fn check_syntax(path: &str) -> Result<(), ApplyError> {
    if path.is_empty() {
        return Err(unsafe_path(path, "the path is empty"));
    }
    if path.starts_with('/') {
        return Err(unsafe_path(
            path,
            "it is absolute; paths are relative to the repository",
        ));
    }
    if path.contains('\0') {
        return Err(unsafe_path(path, "it contains a NUL byte"));
    }
    if path.contains('\\') {
        return Err(unsafe_path(
            path,
            "it contains a backslash; separate directories with `/`",
        ));
    }
    for component in path.split('/') {
        match component {
            "" => {
                return Err(unsafe_path(
                    path,
                    "it has an empty component (`//` or a trailing `/`)",
                ))
            }
            "." | ".." => {
                return Err(unsafe_path(
                    path,
                    format!("it has a `{component}` component and could leave the repository"),
                ))
            }
            c if c.eq_ignore_ascii_case(".git") => {
                return Err(unsafe_path(path, "it is inside a `.git` directory"))
            }
            _ => {}
        }
    }
    Ok(())
}

/// What is on disk at a path, looked at without following symlinks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OnDisk {
    Missing,
    File { bytes: Vec<u8>, executable: bool },
}

/// Walk `path` below `top` component by component without following symlinks, and refuse a
/// symlink anywhere along it, a directory or special file at its end, a file in the middle,
/// or a directory holding its own `.git` (a nested repository or submodule).
pub(crate) fn check_on_disk(top: &Path, path: &str) -> Result<(), ApplyError> {
    let components: Vec<&str> = path.split('/').collect();
    let mut at = top.to_path_buf();
    for (i, component) in components.iter().enumerate() {
        at.push(component);
        let last = i + 1 == components.len();
        let shown = components[..=i].join("/");
        let meta = match fs::symlink_metadata(&at) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_at(&at)(e)),
        };
        let kind = meta.file_type();
        if kind.is_symlink() {
            let target = fs::read_link(&at)
                .map(|t| format!(" (to `{}`)", t.display()))
                .unwrap_or_default();
            return Err(unsafe_path(
                path,
                format!("`{shown}` is a symbolic link{target}; hapl never writes through symlinks"),
            ));
        }
        if last {
            if !kind.is_file() {
                return Err(unsafe_path(
                    path,
                    if kind.is_dir() {
                        "it is a directory".to_string()
                    } else {
                        "it is not a regular file".to_string()
                    },
                ));
            }
        } else if kind.is_dir() {
            if fs::symlink_metadata(at.join(".git")).is_ok() {
                return Err(unsafe_path(
                    path,
                    format!("`{shown}` is another git repository (a submodule or nested repo)"),
                ));
            }
        } else {
            return Err(unsafe_path(
                path,
                format!("`{shown}` is a file, not a directory"),
            ));
        }
    }
    Ok(())
}

/// Read what is at `path` (already checked with [`check_on_disk`]).
pub(crate) fn read(top: &Path, path: &str) -> Result<OnDisk, ApplyError> {
    use std::os::unix::fs::PermissionsExt;
    let full = top.join(path);
    match fs::symlink_metadata(&full) {
        Ok(meta) if meta.is_file() => Ok(OnDisk::File {
            bytes: fs::read(&full).map_err(io_at(&full))?,
            executable: meta.permissions().mode() & 0o111 != 0,
        }),
        Ok(_) => Err(unsafe_path(path, "it is not a regular file")),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(OnDisk::Missing),
        Err(e) => Err(io_at(&full)(e)),
    }
}

/// Refuse a read-only file at `path` or a read-only directory that writing or deleting it would
/// change (the nearest existing ancestor directory).
pub(crate) fn check_writable(top: &Path, path: &str) -> Result<(), ApplyError> {
    let full = top.join(path);
    if let Ok(meta) = fs::symlink_metadata(&full) {
        if meta.permissions().readonly() {
            return Err(ApplyError::ReadOnly {
                path: path.to_owned(),
            });
        }
    }
    let mut dir: PathBuf = full.parent().map(Path::to_path_buf).unwrap_or_default();
    loop {
        match fs::metadata(&dir) {
            Ok(meta) => {
                if meta.permissions().readonly() {
                    let shown = dir
                        .strip_prefix(top)
                        .map(|p| {
                            if p.as_os_str().is_empty() {
                                ".".to_string()
                            } else {
                                format!("{}/", p.display())
                            }
                        })
                        .unwrap_or_else(|_| dir.display().to_string());
                    return Err(ApplyError::ReadOnly { path: shown });
                }
                return Ok(());
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound && dir.starts_with(top) && dir != top => {
                dir.pop();
            }
            Err(e) => return Err(io_at(&dir)(e)),
        }
    }
}
