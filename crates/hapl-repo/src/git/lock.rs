//! `.git/hapl.lock`: one apply at a time per repository.
//!
//! The lock is a file created with `O_EXCL` (`create_new`) holding `pid <n>` and
//! `started <unix seconds>`; it is removed when the [`Lock`] is dropped. A lock whose process is
//! gone (no `/proc/<pid>`), or an empty one older than a few seconds (its writer died between
//! creating and filling it), is stale and taken over.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::error::{io_at, ApplyError};

/// An empty lock younger than this may still be being written.
const EMPTY_LOCK_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub(crate) struct Lock {
    path: PathBuf,
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The pid written in a lock, if it has one.
fn holder_pid(content: &str) -> Option<u32> {
    content
        .lines()
        .find_map(|l| l.strip_prefix("pid "))
        .and_then(|p| p.trim().parse().ok())
}

fn describe(content: &str) -> String {
    let pid = holder_pid(content).map(|p| format!("pid {p}"));
    let age = content
        .lines()
        .find_map(|l| l.strip_prefix("started "))
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|t| format!("started {} s ago", now_secs().saturating_sub(t)));
    match (pid, age) {
        (Some(p), Some(a)) => format!("{p}, {a}"),
        (Some(p), None) => p,
        _ => "a process that has not written its pid yet".into(),
    }
}

/// Whether the process that wrote `content` is certainly gone.
fn is_stale(path: &Path, content: &str) -> bool {
    match holder_pid(content) {
        // Without /proc there is no way to tell; never break a lock that may be live.
        Some(pid) => {
            Path::new("/proc/self").exists() && !Path::new(&format!("/proc/{pid}")).exists()
        }
        None => fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > EMPTY_LOCK_GRACE),
    }
}

impl Lock {
    /// Take the lock at `path`, waiting up to `wait` for a live holder to finish.
    pub(crate) fn acquire(path: &Path, wait: Duration) -> Result<Lock, ApplyError> {
        let deadline = Instant::now() + wait;
        loop {
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
            {
                Ok(mut file) => {
                    let lock = Lock {
                        path: path.to_owned(),
                    };
                    let body = format!("pid {}\nstarted {}\n", std::process::id(), now_secs());
                    file.write_all(body.as_bytes())
                        .and_then(|()| file.sync_all())
                        .map_err(io_at(path))?;
                    return Ok(lock);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io_at(path)(e)),
            }
            let content = match fs::read_to_string(path) {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_at(path)(e)),
            };
            if is_stale(path, &content) {
                break_stale(path, &content)?;
                continue;
            }
            if Instant::now() >= deadline {
                return Err(ApplyError::Locked {
                    lock: path.to_owned(),
                    holder: describe(&content),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Remove a stale lock, unless someone replaced it meanwhile. The lock is first renamed to a
/// name of our own, so two processes breaking it at once cannot remove each other's new lock:
/// if what we moved aside is not the stale content we judged, it goes back.
fn break_stale(path: &Path, stale_content: &str) -> Result<(), ApplyError> {
    let aside = path.with_extension(format!("lock.stale-{}", std::process::id()));
    match fs::rename(path, &aside) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_at(path)(e)),
    }
    let moved = fs::read_to_string(&aside).unwrap_or_default();
    if moved != stale_content {
        // A live lock: put it back unless yet another one appeared (then ours is the loser
        // and the holder's file stays where it is).
        let _ = fs::hard_link(&aside, path);
    }
    fs::remove_file(&aside).map_err(io_at(&aside))
}
