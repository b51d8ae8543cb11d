//! Replacing and removing work-tree files without ever leaving half a file.
//!
//! A file is written in full to a temporary file under the git directory (so a crash leaves no
//! stray file in the work tree), flushed to disk, given its mode, and renamed over the target;
//! then the directory is flushed. If the git directory is on another file system, the temporary
//! file is a hidden sibling of the target instead (`.<name>.hapl-tmp`), removed on the next run.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The permission bits for a file: the existing file's, with the executable bits following
/// `executable`; 0644/0755 for a new file.
fn mode_for(existing: Option<u32>, executable: bool) -> u32 {
    match existing {
        Some(mode) if executable => (mode & 0o7777) | ((mode & 0o444) >> 2),
        Some(mode) => mode & 0o7666,
        None if executable => 0o755,
        None => 0o644,
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The hidden sibling used when the git directory is on another file system.
pub(crate) fn sibling_temp(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.hapl-tmp"))
}

fn write_temp(temp: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let _ = fs::remove_file(temp);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(temp)?;
    file.write_all(bytes)?;
    // `mode` at creation is masked by the umask; set it exactly.
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    file.sync_all()
}

/// Create `dir` and its missing ancestors, flushing each new entry to its parent directory.
fn create_dirs(dir: &Path) -> io::Result<()> {
    let mut missing = Vec::new();
    let mut at = dir;
    while fs::symlink_metadata(at).is_err() {
        missing.push(at);
        match at.parent() {
            Some(parent) => at = parent,
            None => break,
        }
    }
    fs::create_dir_all(dir)?;
    for created in missing.iter().rev() {
        if let Some(parent) = created.parent() {
            sync_dir(parent)?;
        }
    }
    Ok(())
}

/// Replace `target` with `bytes`. `staging` is a fresh path in the git directory;
/// `staged` is called once the bytes are on disk and before the rename.
pub(crate) fn replace(
    target: &Path,
    bytes: &[u8],
    executable: bool,
    staging: &Path,
    staged: &mut dyn FnMut(),
) -> io::Result<()> {
    let dir = target.parent().unwrap_or(Path::new("."));
    create_dirs(dir)?;
    let existing = fs::symlink_metadata(target)
        .ok()
        .map(|m| m.permissions().mode());
    let mode = mode_for(existing, executable);
    write_temp(staging, bytes, mode)?;
    staged();
    match fs::rename(staging, target) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
            let _ = fs::remove_file(staging);
            let temp = sibling_temp(target);
            write_temp(&temp, bytes, mode)?;
            fs::rename(&temp, target)?;
        }
        Err(e) => {
            let _ = fs::remove_file(staging);
            return Err(e);
        }
    }
    sync_dir(dir)
}

/// Remove `target` (if present) and the directories it leaves empty, up to `top`.
pub(crate) fn remove(top: &Path, target: &Path) -> io::Result<()> {
    match fs::remove_file(target) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut dir = target.parent().map(Path::to_path_buf);
    while let Some(d) = dir {
        if d == top || !d.starts_with(top) {
            return sync_dir(&d);
        }
        if fs::remove_dir(&d).is_err() {
            return sync_dir(&d);
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    Ok(())
}
