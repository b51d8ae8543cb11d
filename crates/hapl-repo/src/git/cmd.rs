//! Running the git CLI with a controlled environment.
//!
//! Every command runs in the repository's top directory with:
//! - every inherited `GIT_*` variable removed (a caller's `GIT_DIR`, `GIT_INDEX_FILE`,
//!   `GIT_WORK_TREE`, `GIT_CONFIG_PARAMETERS`, ... would silently redirect hapl), except the
//!   identity and date variables and the ones naming which config files to read;
//! - hooks off (`core.hooksPath=/dev/null`: `update-ref` would run `reference-transaction`),
//!   no fsmonitor daemon, no optional locks (reading never rewrites `.git/index`), literal
//!   pathspecs (a path with `*` is a path), the C locale, no prompts;
//! - `core.fsync=committed,index`, so objects, refs and the index reach the disk before the
//!   branch points at them, whatever git's default.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::error::ApplyError;

/// Inherited `GIT_*` variables that are kept: who the author is, commit dates, and which
/// config files git reads.
const KEPT: &[&str] = &[
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_AUTHOR_DATE",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    "GIT_COMMITTER_DATE",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "GIT_CONFIG_NOSYSTEM",
];

/// A git runner bound to one directory.
#[derive(Debug, Clone)]
pub(crate) struct Git {
    dir: PathBuf,
    env: Vec<(OsString, OsString)>,
}

impl Git {
    pub(crate) fn new(dir: &Path) -> Git {
        Git {
            dir: dir.to_owned(),
            env: Vec::new(),
        }
    }

    /// The same runner, run from another directory.
    pub(crate) fn at(&self, dir: &Path) -> Git {
        Git {
            dir: dir.to_owned(),
            env: self.env.clone(),
        }
    }

    /// Set a variable for every later command of this runner (identity).
    pub(crate) fn set_env(&mut self, key: &str, value: &str) {
        self.env.push((key.into(), value.into()));
    }

    fn command(&self, args: &[&str], extra_env: &[(&str, &OsStr)]) -> Command {
        let mut cmd = Command::new("git");
        for (key, _) in std::env::vars_os() {
            let key_str = key.to_string_lossy();
            if key_str.starts_with("GIT_") && !KEPT.contains(&key_str.as_ref()) {
                cmd.env_remove(&key);
            }
        }
        cmd.env("LC_ALL", "C")
            .env_remove("LANGUAGE")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_LITERAL_PATHSPECS", "1")
            .env("GIT_OPTIONAL_LOCKS", "0");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        cmd.args([
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "core.fsmonitor=false",
            "-c",
            "core.fsync=committed,index",
            "-c",
            "user.useConfigOnly=true",
        ]);
        cmd.args(args).current_dir(&self.dir);
        cmd
    }

    /// Run and return the raw output, whatever the exit status.
    pub(crate) fn output(
        &self,
        args: &[&str],
        input: Option<&[u8]>,
        extra_env: &[(&str, &OsStr)],
    ) -> Result<Output, ApplyError> {
        let mut cmd = self.command(args, extra_env);
        cmd.stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let spawn_err = |source| ApplyError::Git {
            command: args.join(" "),
            stderr: format!("cannot run git: {source}"),
        };
        let mut child = cmd.spawn().map_err(spawn_err)?;
        let writer = match (input, child.stdin.take()) {
            (Some(bytes), Some(mut stdin)) => {
                let bytes = bytes.to_vec();
                Some(std::thread::spawn(move || stdin.write_all(&bytes)))
            }
            _ => None,
        };
        let out = child.wait_with_output().map_err(spawn_err)?;
        if let Some(w) = writer {
            // A broken pipe means git stopped reading; its exit status tells why.
            let _ = w.join();
        }
        Ok(out)
    }

    /// Run, require success, return stdout.
    pub(crate) fn run_with(
        &self,
        args: &[&str],
        input: Option<&[u8]>,
        extra_env: &[(&str, &OsStr)],
    ) -> Result<Vec<u8>, ApplyError> {
        let out = self.output(args, input, extra_env)?;
        if !out.status.success() {
            return Err(ApplyError::Git {
                command: args.join(" "),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        Ok(out.stdout)
    }

    pub(crate) fn run(&self, args: &[&str]) -> Result<Vec<u8>, ApplyError> {
        self.run_with(args, None, &[])
    }
}
