//! Apply a JSON spec with `hapl_repo::git::apply`; used by the crash and lock tests.
//!
//! ```text
//! apply_spec SPEC.json
//! {"repo": "/path", "commits": [{"message": "...", "changes": [{"path": "a.yaml",
//!   "content": "text or null to delete"}]}], "no_commit": false, "allow_detached": false}
//! ```
//!
//! Test hooks, read from the environment:
//! - `APPLY_SPEC_TRACE=1`: print each step to stderr as it is reached.
//! - `APPLY_SPEC_KILL_AT_STEP=k`, `APPLY_SPEC_KILL_DELAY_US=d`: when step `k` (0-based) is
//!   reached, a thread sleeps `d` µs and then has `kill -9` sent to this process, while the
//!   apply goes on; the kill lands somewhere inside the following work.
//! - `APPLY_SPEC_PAUSE_AT_STEP=k`: at step `k`, print `paused` to stdout and sleep
//!   `APPLY_SPEC_PAUSE_MS` (default 10 000) ms, holding the lock, so a test can start a second
//!   apply or kill this one there.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use hapl_repo::git::{self, ApplyOptions, Base, CommitSpec, FileChange, Identity};
use serde_json::Value;

fn env_num(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn parse(spec: &Value) -> Result<(PathBuf, Vec<CommitSpec>, ApplyOptions), String> {
    let repo = spec["repo"].as_str().ok_or("`repo` must be a string")?;
    let mut commits = Vec::new();
    for c in spec["commits"]
        .as_array()
        .ok_or("`commits` must be a list")?
    {
        let message = c["message"].as_str().ok_or("`message` must be a string")?;
        let mut changes = Vec::new();
        for f in c["changes"].as_array().ok_or("`changes` must be a list")? {
            let path = f["path"].as_str().ok_or("`path` must be a string")?;
            changes.push(match &f["content"] {
                Value::Null => FileChange::delete(path),
                Value::String(s) => FileChange::write(path, s.as_bytes()),
                _ => return Err("`content` must be a string or null".into()),
            });
        }
        commits.push(CommitSpec {
            message: message.to_owned(),
            changes,
        });
    }
    let flag = |name: &str| spec[name].as_bool().unwrap_or(false);
    let read_files: BTreeMap<String, Option<String>> = spec["read_files"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().map(str::to_owned)))
                .collect()
        })
        .unwrap_or_default();
    let opts = ApplyOptions {
        allow_detached: flag("allow_detached"),
        no_commit: flag("no_commit"),
        dry_run: flag("dry_run"),
        expected_base: spec["expected_base"].as_str().map(|b| match b {
            "unborn" => Base::Unborn,
            id => Base::Commit(id.to_owned()),
        }),
        read_files,
        identity: spec["identity"]["name"].as_str().map(|name| Identity {
            name: name.to_owned(),
            email: spec["identity"]["email"].as_str().unwrap_or("").to_owned(),
        }),
        lock_wait: Duration::from_millis(spec["lock_wait_ms"].as_u64().unwrap_or(0)),
    };
    Ok((PathBuf::from(repo), commits, opts))
}

fn main() {
    let Some(spec_path) = std::env::args_os().nth(1) else {
        eprintln!("usage: apply_spec SPEC.json");
        std::process::exit(2);
    };
    let spec: Value = match std::fs::read(&spec_path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(v) => v,
        Err(e) => {
            eprintln!("cannot read the spec: {e}");
            std::process::exit(2);
        }
    };
    let (repo, commits, opts) = match parse(&spec) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("bad spec: {e}");
            std::process::exit(2);
        }
    };
    let trace = std::env::var_os("APPLY_SPEC_TRACE").is_some();
    let kill_at = env_num("APPLY_SPEC_KILL_AT_STEP");
    let kill_delay = Duration::from_micros(env_num("APPLY_SPEC_KILL_DELAY_US").unwrap_or(0));
    let pause_at = env_num("APPLY_SPEC_PAUSE_AT_STEP");
    let pause = Duration::from_millis(env_num("APPLY_SPEC_PAUSE_MS").unwrap_or(10_000));
    let mut n = 0u64;
    let mut observe = |step: &git::Step| {
        if trace {
            eprintln!("step {n}: {step:?}");
        }
        if kill_at == Some(n) {
            std::thread::spawn(move || {
                std::thread::sleep(kill_delay);
                let pid = std::process::id().to_string();
                let _ = std::process::Command::new("kill")
                    .args(["-9", &pid])
                    .status();
            });
        }
        if pause_at == Some(n) {
            println!("paused");
            let _ = std::io::stdout().flush();
            std::thread::sleep(pause);
        }
        n += 1;
    };
    match git::apply_observed(&repo, &commits, &opts, &mut observe) {
        Ok(report) => {
            println!("head {}", report.head.as_deref().unwrap_or("(none)"));
            for c in &report.commits {
                println!(
                    "commit {} {} ({} changes)",
                    c.id.as_deref().unwrap_or("-"),
                    c.title,
                    c.changes.len()
                );
            }
            for f in &report.files {
                println!("file {:?} {}", f.action, f.path);
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
