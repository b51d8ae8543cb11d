//! The book is tested: every code block in `book/src/**/*.md` runs, every shown output is the
//! real output, and every relative link and `{{#include}}` resolves. HACKING.md ("The book")
//! describes the conventions; `the_harness_reports_a_stale_page` proves the harness fails.
//!
//! Code blocks, by info string (mdBook style: language, then comma-separated attributes):
//! - ` ```rhai `: the block is a `platform.rhai`; `hapl check` must succeed and `hapl plan`
//!   (against the block's folder) must exit 0 or 2, both with nothing on stderr. `rhai,ignore`
//!   is not run (a fragment).
//! - ` ```rhai,should_fail `: `hapl check` must fail, and its stderr must be exactly the next
//!   code block, which must be a ` ```text ` block.
//! - ` ```console `: every `$ hapl ...` line is run and what it prints (stdout, then stderr)
//!   must be the lines below it, up to the next `$ ` line. Other commands are not allowed. The
//!   command must exit 0, or with `status=N` (an attribute) the last command must exit N.
//!
//! - A shown output line `...` stands for any number of real lines (long output shortened).
//!
//! `cwd=DIR` (an attribute, relative to the repository root) runs a block in a copy of DIR (a
//! rhai block replaces DIR's `platform.rhai`), so a project's `lib/` is there and the repository
//! is never written. Without it a block runs in an empty directory. Output is compared with
//! colour off, line by line without trailing spaces.
//!
//! Projects, for chapters that build something up: `project=NAME` runs the block in one folder
//! named NAME that lives from its first block to the end of the book (pages in path order), so
//! a rhai block writes its `platform.rhai`, console blocks run in it one after the other, and
//! `git` commands may run there too (with a fixed author and date, so hashes are stable);
//! `from=DIR` on the first block starts it with a copy of DIR at the same relative path;
//! `file=PATH` makes the block that file of the project instead of running it. `warns` lets a
//! rhai block's check print warnings and notes. `starts=TEXT` on any block checks that its
//! first line contains TEXT (an excerpt included by line numbers that moved is reported).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::legacy_repo::files_under;
use crate::support::{hapl, hapl_cmd, root, stderr};

/// Commands a ` ```rhai ` block must pass, with the exit codes that mean success: `check`, and
/// `plan` against the folder the block runs in (2: changes to make).
const RHAI_MUST_PASS: &[(&str, &[i32])] = &[("check", &[0]), ("plan", &[0, 2])];

/// A fenced code block of a page.
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    lang: String,
    attrs: Vec<String>,
    /// The body with `{{#include}}`s expanded.
    body: String,
    /// Whether the body came (partly) from an `{{#include}}`.
    included: bool,
}

impl Block {
    fn has(&self, attr: &str) -> bool {
        self.attrs.iter().any(|a| a == attr)
    }

    fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find_map(|a| a.strip_prefix(key)?.strip_prefix('='))
    }
}

/// Problems found in one book, as `file:line: message`.
#[derive(Default)]
struct Report {
    problems: Vec<String>,
    blocks_run: usize,
    links_checked: usize,
}

impl Report {
    fn problem(&mut self, page: &Path, line: usize, message: String) {
        self.problems
            .push(format!("{}:{line}: {message}", page.display()));
    }
}

fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect()
}

/// The text an `{{#include ARG}}` stands for: a whole file, `file:LINE`, `file:START:END`
/// (1-based, inclusive, either side may be empty), or `file:ANCHOR` (between `ANCHOR: name`
/// and `ANCHOR_END: name` lines), as mdBook reads it.
fn include(page: &Path, arg: &str) -> Result<String, String> {
    let mut parts = arg.trim().splitn(2, ':');
    let file = parts.next().unwrap_or_default();
    let path = page.parent().unwrap().join(file);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("`{{{{#include {arg}}}}}`: {}: {e}", path.display()))?;
    let lines: Vec<&str> = text.lines().collect();
    let Some(selector) = parts.next() else {
        return Ok(text);
    };
    let number = |s: &str| s.parse::<usize>().map_err(|_| format!("bad line `{s}`"));
    let selected: Vec<&str> = if let Some((start, end)) = selector.split_once(':') {
        let start = if start.is_empty() { 1 } else { number(start)? };
        let end = if end.is_empty() {
            lines.len()
        } else {
            number(end)?
        };
        if start == 0 || start > end || end > lines.len() {
            return Err(format!(
                "`{{{{#include {arg}}}}}`: {file} has {} lines",
                lines.len()
            ));
        }
        lines[start - 1..end].to_vec()
    } else if let Ok(line) = selector.parse::<usize>() {
        let Some(one) = line.checked_sub(1).and_then(|i| lines.get(i)) else {
            return Err(format!(
                "`{{{{#include {arg}}}}}`: {file} has {} lines",
                lines.len()
            ));
        };
        vec![*one]
    } else {
        let begin = lines
            .iter()
            .position(|l| l.contains(&format!("ANCHOR: {selector}")))
            .ok_or_else(|| format!("`{{{{#include {arg}}}}}`: no anchor `{selector}`"))?;
        let end = lines[begin..]
            .iter()
            .position(|l| l.contains(&format!("ANCHOR_END: {selector}")))
            .ok_or_else(|| format!("`{{{{#include {arg}}}}}`: anchor `{selector}` never ends"))?;
        lines[begin + 1..begin + end]
            .iter()
            .copied()
            .filter(|l| !l.contains("ANCHOR"))
            .collect()
    };
    Ok(selected.join("\n") + "\n")
}

/// Expands every `{{#include ...}}` in `text`; `\{{#include ...}}` stays, without the `\`.
fn expand_includes(page: &Path, text: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{#include ") {
        if let Some(before) = rest[..start].strip_suffix('\\') {
            out.push_str(before);
            out.push_str("{{");
            rest = &rest[start + 2..];
            continue;
        }
        out.push_str(&rest[..start]);
        let after = &rest[start + "{{#include ".len()..];
        let end = after
            .find("}}")
            .ok_or("`{{#include` is never closed".to_owned())?;
        let included = include(page, &after[..end])?;
        out.push_str(included.strip_suffix('\n').unwrap_or(&included));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The fenced code blocks of a page (fences of three or more backticks at the line start).
fn code_blocks(page: &Path, text: &str, report: &mut Report) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String, String, Vec<&str>)> = None;
    for (i, line) in text.lines().enumerate() {
        let fence_len = line.len() - line.trim_start_matches('`').len();
        let Some((start, fence, info, body)) = &mut open else {
            if fence_len >= 3 {
                let info = line[fence_len..].trim().to_owned();
                open = Some((i + 1, line[..fence_len].to_owned(), info, Vec::new()));
            }
            continue;
        };
        if line.trim_end() != fence.as_str() {
            body.push(line);
            continue;
        }
        let mut words = info.split(',').map(|w| w.trim().to_owned());
        let lang = words.next().unwrap_or_default();
        let raw = body.join("\n") + "\n";
        match expand_includes(page, &raw) {
            Ok(body) => blocks.push(Block {
                line: *start,
                lang,
                attrs: words.collect(),
                included: body != raw,
                body,
            }),
            Err(e) => report.problem(page, *start, e),
        }
        open = None;
    }
    if let Some((start, ..)) = open {
        report.problem(page, start, "code block is never closed".to_owned());
    }
    blocks
}

/// Where blocks run: `repo` holds the `cwd=` folders; `projects` the folders of `project=NAME`
/// blocks, which live from the first block naming them to the end of the book.
struct Dirs<'a> {
    repo: &'a Path,
    projects: BTreeMap<String, tempfile::TempDir>,
    /// The directory of the block being run, when it is not a project's.
    scratch: Option<tempfile::TempDir>,
}

impl Dirs<'_> {
    /// The directory a block runs in: its project's, else a fresh copy of `cwd` (relative to
    /// `repo`), else a fresh empty one.
    fn of(&mut self, block: &Block) -> Result<PathBuf, String> {
        if let Some(name) = block.attr("project") {
            // The folder is named after the project: hapl shows a repository's folder name.
            if !self.projects.contains_key(name) {
                let dir = tempfile::tempdir().unwrap();
                std::fs::create_dir(dir.path().join(name)).unwrap();
                // `from=DIR`: the project starts with a copy of DIR at the same relative path.
                if let Some(from) = block.attr("from") {
                    if !self.repo.join(from).is_dir() {
                        return Err(format!(
                            "from `{from}` is not a directory of the repository"
                        ));
                    }
                    let to = dir.path().join(name).join(from);
                    std::fs::create_dir_all(&to).unwrap();
                    copy_dir(&self.repo.join(from), &to);
                }
                self.projects.insert(name.to_owned(), dir);
            }
            return Ok(self.projects[name].path().join(name));
        }
        let dir = tempfile::tempdir().unwrap();
        if let Some(cwd) = block.attr("cwd") {
            let from = self.repo.join(cwd);
            if !from.is_dir() {
                return Err(format!("cwd `{cwd}` is not a directory of the repository"));
            }
            copy_dir(&from, dir.path());
        }
        let path = dir.path().to_path_buf();
        self.scratch = Some(dir);
        Ok(path)
    }
}

/// The words of a command line: split at spaces, `"..."` kept together without its quotes.
fn words(command: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let (mut quoted, mut started) = (false, false);
    for c in command.chars() {
        match c {
            '"' => (quoted, started) = (!quoted, true),
            c if c.is_whitespace() && !quoted => {
                if started {
                    out.push(std::mem::take(&mut word));
                }
                started = false;
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        out.push(word);
    }
    out
}

/// `hapl` or `git` with colour off and a fixed author and date, so commits (and their hashes)
/// are the same on every run.
fn run(dir: &Path, program: &str, args: &[String]) -> Output {
    let mut cmd = match program {
        "hapl" => hapl_cmd(dir),
        _ => {
            let mut cmd = std::process::Command::new(program);
            cmd.current_dir(dir);
            cmd
        }
    };
    for who in ["AUTHOR", "COMMITTER"] {
        cmd.env(format!("GIT_{who}_NAME"), "Reader")
            .env(format!("GIT_{who}_EMAIL"), "reader@home.example.org")
            .env(format!("GIT_{who}_DATE"), "2026-01-01T12:00:00Z");
    }
    cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("CI", "true")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"))
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            if path.file_name() != Some(".git".as_ref()) {
                std::fs::create_dir(&target).unwrap();
                copy_dir(&path, &target);
            }
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// Text for comparison: trailing spaces of each line and trailing empty lines removed.
fn normalise(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    lines.join("\n").trim_end_matches('\n').to_owned()
}

/// Whether the shown lines are the real ones, where a shown line `...` stands for any number
/// of real lines (long output is shortened in the book, never rewritten).
fn matches(shown: &[&str], real: &[&str]) -> bool {
    match shown.split_first() {
        None => real.is_empty(),
        Some((&"...", rest)) => (0..=real.len()).any(|skip| matches(rest, &real[skip..])),
        Some((line, rest)) => real
            .split_first()
            .is_some_and(|(r, real)| r == line && matches(rest, real)),
    }
}

/// `None` when they agree, else a message showing both.
fn compare(what: &str, shown: &str, real: &str) -> Option<String> {
    let (shown, real) = (normalise(shown), normalise(real));
    let lines = |t: &str| t.lines().map(str::to_owned).collect::<Vec<_>>();
    let (s, r) = (lines(&shown), lines(&real));
    let s: Vec<&str> = s.iter().map(String::as_str).collect();
    let r: Vec<&str> = r.iter().map(String::as_str).collect();
    (!matches(&s, &r)).then(|| {
        format!("{what} is stale\n--- shown in the book\n{shown}\n--- real output\n{real}\n---")
    })
}

fn check_rhai(dirs: &mut Dirs, block: &Block, next: Option<&Block>) -> Result<(), String> {
    let dir = dirs.of(block)?;
    std::fs::write(dir.join("platform.rhai"), &block.body).unwrap();
    let text = |o: &Output| String::from_utf8_lossy(&o.stderr).into_owned();
    if block.has("should_fail") {
        let out = hapl(&dir, &["check"]);
        if out.status.success() {
            return Err("marked should_fail, but `hapl check` succeeds".to_owned());
        }
        let Some(shown) = next.filter(|b| b.lang == "text") else {
            return Err(
                "a should_fail block must be followed by a ```text block with the error".to_owned(),
            );
        };
        return compare("the error shown after it", &shown.body, &text(&out)).map_or(Ok(()), Err);
    }
    for (command, ok) in RHAI_MUST_PASS {
        let out = hapl(&dir, &[command]);
        // `warns`: warnings and waiver notes on stderr are expected (shown by a later block).
        let passed = out.status.code().is_some_and(|c| ok.contains(&c));
        if !passed || !out.stderr.is_empty() && !block.has("warns") {
            return Err(format!(
                "`hapl {command}` is not clean (exit {:?}):\n{}",
                out.status.code(),
                text(&out)
            ));
        }
    }
    Ok(())
}

fn check_console(dirs: &mut Dirs, block: &Block) -> Result<(), String> {
    let mut commands: Vec<(&str, Vec<&str>)> = Vec::new();
    for line in block.body.lines() {
        if let Some(command) = line.strip_prefix("$ ") {
            commands.push((command, Vec::new()));
        } else if let Some((_, shown)) = commands.last_mut() {
            shown.push(line);
        } else if !line.trim().is_empty() {
            return Err("a console block starts with a `$ ` command".to_owned());
        }
    }
    let dir = dirs.of(block)?;
    let last_status = match block.attr("status") {
        Some(s) => s
            .parse()
            .map_err(|_| format!("status `{s}` is not a number"))?,
        None => 0,
    };
    for (i, (command, shown)) in commands.iter().enumerate() {
        let words = words(command);
        let Some((program, args)) = words
            .split_first()
            .filter(|(p, _)| *p == "hapl" || *p == "git")
        else {
            return Err(format!(
                "`{command}`: only `hapl` and `git` commands can be run"
            ));
        };
        let out = run(&dir, program, args);
        let real = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if let Some(stale) = compare(
            &format!("the output of `{command}`"),
            &shown.join("\n"),
            &real,
        ) {
            return Err(stale);
        }
        let want = if i + 1 == commands.len() {
            last_status
        } else {
            0
        };
        if out.status.code() != Some(want) {
            return Err(format!(
                "`{command}` exits {:?}, the block expects {want} (attribute status=N)",
                out.status.code()
            ));
        }
    }
    Ok(())
}

/// The lines of a page outside code blocks, with their 1-based numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    // The fence that opened the code block we are in: only the same fence closes it.
    let mut fence: Option<&str> = None;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let ticks = &line[..line.len() - line.trim_start_matches('`').len()];
        match fence {
            Some(open) if line.trim_end() == open => fence = None,
            Some(_) => {}
            None if ticks.len() >= 3 => fence = Some(ticks),
            None => out.push((i + 1, line)),
        }
    }
    out
}

/// The heading anchors of a page, as mdBook makes them: an explicit `{#id}`, or the heading
/// in lowercase with spaces turned into `-` and other punctuation dropped.
fn anchors(text: &str) -> Vec<String> {
    prose_lines(text)
        .into_iter()
        .filter(|(_, l)| l.starts_with('#'))
        .map(|(_, l)| {
            let heading = l.trim_start_matches('#').trim();
            if let Some((_, id)) = heading.strip_suffix('}').and_then(|h| h.rsplit_once("{#")) {
                return id.to_owned();
            }
            heading
                .to_lowercase()
                .chars()
                .filter_map(|c| match c {
                    ' ' => Some('-'),
                    c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                    _ => None,
                })
                .collect()
        })
        .collect()
}

/// Outside code blocks, every `{{#include}}` resolves and every relative link `](target)`
/// points at a file of the book (and at a heading of it, when it has a `#anchor`).
fn check_prose(page: &Path, text: &str, report: &mut Report) {
    for (i, line) in prose_lines(text) {
        if let Err(e) = expand_includes(page, line) {
            report.problem(page, i, e);
        }
        for (pos, _) in line.match_indices("](") {
            let rest = &line[pos + 2..];
            let Some(end) = rest.find(')') else { continue };
            let target = rest[..end].split_whitespace().next().unwrap_or_default();
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            report.links_checked += 1;
            let (file, anchor) = target.split_once('#').unwrap_or((target, ""));
            let path = if file.is_empty() {
                page.to_path_buf()
            } else {
                page.parent().unwrap().join(file)
            };
            let Ok(linked) = std::fs::read_to_string(&path) else {
                report.problem(page, i, format!("link `{target}`: no such file"));
                continue;
            };
            let is_markdown = path.extension().is_some_and(|e| e == "md");
            if !anchor.is_empty() && is_markdown && !anchors(&linked).iter().any(|a| a == anchor) {
                report.problem(page, i, format!("link `{target}`: no such heading"));
            }
        }
    }
}

/// `(examples/NAME/platform.rhai, its text)` for every example of the repository.
fn example_scripts(repo: &Path) -> Vec<(String, String)> {
    let Ok(dirs) = std::fs::read_dir(repo.join("examples")) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = dirs
        .map(|d| d.unwrap().path().join("platform.rhai"))
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            Some((p.strip_prefix(repo).unwrap().display().to_string(), text))
        })
        .collect();
    out.sort();
    out
}

/// Checks every page of the book in `src`; `repo` is where `cwd=` directories and the
/// `examples/` the book must include (never copy) are found.
fn check_book(src: &Path, repo: &Path) -> Report {
    let mut report = Report::default();
    let mut dirs = Dirs {
        repo,
        projects: BTreeMap::new(),
        scratch: None,
    };
    let examples = example_scripts(repo);
    let summary = src.join("SUMMARY.md");
    if !summary.is_file() {
        report.problem(&summary, 1, "no SUMMARY.md".to_owned());
    }
    for page in markdown_files(src) {
        let text = std::fs::read_to_string(&page).unwrap();
        check_prose(&page, &text, &mut report);
        if page != summary
            && !std::fs::read_to_string(&summary)
                .unwrap_or_default()
                .contains(page.strip_prefix(src).unwrap().to_str().unwrap())
        {
            report.problem(&page, 1, "the page is not in SUMMARY.md".to_owned());
        }
        let blocks = code_blocks(&page, &text, &mut report);
        for block in blocks.iter().filter(|b| b.lang == "rhai" && !b.included) {
            if let Some(example) = examples
                .iter()
                .find(|(_, t)| normalise(t) == normalise(&block.body))
            {
                let message = format!("a copy of {}: include it instead", example.0);
                report.problem(&page, block.line, message);
            }
        }
        for (i, block) in blocks.iter().enumerate() {
            if let Some(start) = block.attr("starts") {
                if !block
                    .body
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .contains(start)
                {
                    let message =
                        format!("the block no longer starts with `{start}` (a moved excerpt?)");
                    report.problem(&page, block.line, message);
                }
            }
            // `file=PATH` (in a project): the block is that file of the project.
            if let (Some(file), Some(_)) = (block.attr("file"), block.attr("project")) {
                match dirs.of(block) {
                    Ok(dir) => {
                        let path = dir.join(file);
                        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                        std::fs::write(path, &block.body).unwrap();
                    }
                    Err(e) => report.problem(&page, block.line, e),
                }
                continue;
            }
            let result = match block.lang.as_str() {
                "rhai" if block.has("ignore") => continue,
                "rhai" => check_rhai(&mut dirs, block, blocks.get(i + 1)),
                "console" if block.body.contains("$ hapl") || block.body.contains("$ git") => {
                    check_console(&mut dirs, block)
                }
                _ => continue,
            };
            report.blocks_run += 1;
            if let Err(e) = result {
                report.problem(&page, block.line, e);
            }
        }
    }
    report
}

#[test]
fn every_example_in_the_book_runs_and_every_shown_output_is_real() {
    let report = check_book(&root().join("book/src"), &root());
    assert!(
        report.problems.is_empty(),
        "the book is stale:\n\n{}",
        report.problems.join("\n\n")
    );
    assert!(
        report.blocks_run >= 3,
        "only {} blocks ran",
        report.blocks_run
    );
    assert!(
        report.links_checked >= 2,
        "only {} links",
        report.links_checked
    );
}

/// A throwaway book with one page of each kind of staleness: each is reported at its line,
/// and the good blocks beside them are not.
#[test]
fn the_harness_reports_a_stale_page() {
    let repo = tempfile::tempdir().unwrap();
    let src = repo.path().join("book/src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(repo.path().join("project")).unwrap();
    let minimal = std::fs::read_to_string(root().join("examples/minimal/platform.rhai")).unwrap();
    std::fs::write(repo.path().join("project/platform.rhai"), &minimal).unwrap();
    std::fs::create_dir_all(repo.path().join("examples/tiny")).unwrap();
    let tiny = "let p = platform(\"tiny\");\np\n";
    std::fs::write(repo.path().join("examples/tiny/platform.rhai"), tiny).unwrap();
    std::fs::write(
        src.join("SUMMARY.md"),
        "# Summary\n\n[Stale](stale.md)\n[Gone](gone.md)\n",
    )
    .unwrap();
    let bad_rhai = "let p = platform(\"x\");\nhelm::release(p, #{});\np\n";
    let page = [
        "# Stale",                                  // 1
        "",                                         // 2
        "```rhai",                                  // 3: good, included
        "{{#include ../../project/platform.rhai}}", // 4
        "```",                                      // 5
        "",                                         // 6
        "```rhai",                                  // 7: does not check
        bad_rhai.trim_end(),                        // 8-10
        "```",                                      // 11
        "",                                         // 12
        "```rhai,should_fail",                      // 13: error text is stale
        "let p = platform(\"x\", #{ nod: 1 });",    // 14
        "p",                                        // 15
        "```",                                      // 16
        "",                                         // 17
        "```text",                                  // 18
        "Error: something else",                    // 19
        "```",                                      // 20
        "",                                         // 21
        "```console,cwd=project",                   // 22: good
        "$ hapl --version",                         // 23
        concat!("hapl ", env!("CARGO_PKG_VERSION")),
        "```",                    // 25
        "",                       // 26
        "```console,cwd=project", // 27: stale output
        "$ hapl --version",       // 28
        "hapl 0.0.0-stale",
        "```",                                                                // 30
        "",                                                                   // 31
        "```rhai",                                 // 32: include of a missing file
        "{{#include ../../project/missing.rhai}}", // 33
        "```",                                     // 34
        "",                                        // 35
        "See [the intro](intro.md) and [this](#stale) and [that](#nowhere).", // 36
        "",                                        // 37
        "```rhai,should_fail",                     // 38: succeeds
        "{{#include ../../project/platform.rhai}}", // 39
        "```",                                     // 40
        "",                                        // 41
        "```text",                                 // 42
        "```",                                     // 43
        "",                                        // 44
        "## Details {#details}",                   // 45
        "{{#include ../../project/nothing.md}}",   // 46: include of a missing file
        "See [the details](#details).",            // 47: explicit anchor
        "",                                        // 48
        "```rhai,ignore",                          // 49
        "\\{{#include not/expanded.rhai}}",        // 50: escaped, not an include
        "{{#include ../../project/platform.rhai:1}}", // 51: one line
        "```",                                     // 52
        "",                                        // 53
        "```rhai",                                 // 54: a copy of an example
        "let p = platform(\"tiny\");",             // 55
        "p",                                       // 56
        "```",                                     // 57
    ]
    .join("\n");
    std::fs::write(src.join("stale.md"), page + "\n").unwrap();
    std::fs::write(src.join("orphan.md"), "# Orphan\n").unwrap();

    let report = check_book(&src, repo.path());
    let at = |line: &str| -> Vec<&String> {
        report
            .problems
            .iter()
            .filter(|p| p.contains(&format!("stale.md:{line}:")))
            .collect()
    };
    for (line, words) in [
        ("7", "`hapl check` is not clean"),
        ("13", "the error shown after it is stale"),
        ("27", "the output of `hapl --version` is stale"),
        ("32", "missing.rhai"),
        ("36", "link `intro.md`: no such file"),
        ("36", "link `#nowhere`: no such heading"),
        ("38", "marked should_fail, but `hapl check` succeeds"),
        ("46", "nothing.md"),
        (
            "54",
            "a copy of examples/tiny/platform.rhai: include it instead",
        ),
    ] {
        assert!(
            at(line).iter().any(|p| p.contains(words)),
            "no problem `{words}` at line {line}; problems:\n{}",
            report.problems.join("\n")
        );
    }
    for good in ["3", "22", "47", "49"] {
        assert!(at(good).is_empty(), "line {good} is fine: {:?}", at(good));
    }
    assert!(report
        .problems
        .iter()
        .any(|p| p.contains("orphan.md:1: the page is not in SUMMARY.md")));
    assert!(report
        .problems
        .iter()
        .any(|p| p.contains("SUMMARY.md:4: link `gone.md`: no such file")));
    assert_eq!(report.problems.len(), 11, "{}", report.problems.join("\n"));
    // The stale console block shows both sides.
    let stale = at("27")[0];
    assert!(
        stale.contains("0.0.0-stale") && stale.contains(env!("CARGO_PKG_VERSION")),
        "{stale}"
    );
}

/// The reference pages (`book/src/reference`) are what `hapl reference` generates from the
/// stdlib's doc comments, the rule catalogue and the CLI; `HAPL_BLESS=1` rewrites them.
#[test]
fn the_reference_is_generated_from_the_code() {
    let dir = root().join("book/src/reference");
    let dir = dir.to_str().unwrap();
    if std::env::var_os("HAPL_BLESS").is_some() {
        let out = hapl(&root(), &["reference", dir]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = hapl(&root(), &["reference", dir, "--check"]);
    assert!(
        out.status.success(),
        "{}(or run this test with HAPL_BLESS=1)",
        stderr(&out)
    );
}

/// Files the book includes that `hapl` generates: (file, folder of the repository to run in,
/// arguments). `HAPL_BLESS=1` rewrites them.
const GENERATED: &[(&str, &str, &[&str])] = &[
    (
        "book/src/graphs/seed-platform.html",
        "examples/seed-platform",
        &["graph", "--format", "html"],
    ),
    (
        "book/src/graphs/seed-platform.dot",
        "examples/seed-platform",
        &["graph", "--format", "dot"],
    ),
];

#[test]
fn the_pictures_in_the_book_are_generated_from_the_examples() {
    let mut stale = Vec::new();
    for (file, cwd, args) in GENERATED {
        let out = hapl(&root().join(cwd), args);
        assert!(
            out.status.success(),
            "hapl {}: {}",
            args.join(" "),
            stderr(&out)
        );
        let path = root().join(file);
        if std::env::var_os("HAPL_BLESS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &out.stdout).unwrap();
        }
        if std::fs::read(&path).ok() != Some(out.stdout) {
            stale.push(format!("{file} (`hapl {}` in {cwd})", args.join(" ")));
        }
    }
    assert!(
        stale.is_empty(),
        "stale, regenerate with `HAPL_BLESS=1 cargo test -p hapl --test integration book`:\n{}",
        stale.join("\n")
    );
}

/// A throwaway book exercising projects (`project=`, `file=`), `git` commands, `...` elision,
/// `starts=` guards and the refusal of other commands: each problem is reported at its line.
#[test]
fn the_harness_runs_projects_and_reports_their_stale_output() {
    let repo = tempfile::tempdir().unwrap();
    let src = repo.path().join("book/src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(
        src.join("SUMMARY.md"),
        "# Summary\n\n[Project](project.md)\n",
    )
    .unwrap();
    let version = concat!("hapl ", env!("CARGO_PKG_VERSION"));
    let page = [
        "# Project",                                                           // 1
        "",                                                                    // 2
        "```rhai,ignore,project=demo,file=lib/hello.rhai", // 3: a file of the project
        "/// Says hello.",                                 // 4
        "fn hello() { \"hello\" }",                        // 5
        "```",                                             // 6
        "",                                                // 7
        "```rhai,project=demo",                            // 8: imports it: good
        "import \"hello\" as h;",                          // 9
        "let p = platform(h::hello());",                   // 10
        "p",                                               // 11
        "```",                                             // 12
        "",                                                // 13
        "```console,project=demo",                         // 14: good, shortened
        "$ hapl check",                                    // 15
        "resource budget:",                                // 16
        "...",                                             // 17
        "platform `hello` (cluster `hello`): 0 objects, 0 errors, 0 warnings", // 18
        "```",                                             // 19
        "",                                                // 20
        "```console,project=demo",                         // 21: stale despite `...`
        "$ hapl check",                                    // 22
        "...",                                             // 23
        "platform `hello` (cluster `hello`): 1 objects, 0 errors, 0 warnings", // 24
        "```",                                             // 25
        "",                                                // 26
        "```rhai,ignore,starts=Phase 9",                   // 27: a moved excerpt
        "// Phase 1: something else",                      // 28
        "```",                                             // 29
        "",                                                // 30
        "```console,project=demo",                         // 31: git, in the project
        "$ git init --quiet",                              // 32
        "$ git status --short",                            // 33
        "?? lib/",                                         // 34
        "?? platform.rhai",                                // 35
        "```",                                             // 36
        "",                                                // 37
        "```console",                                      // 38: only hapl and git
        "$ hapl --version",                                // 39
        version,                                           // 40
        "$ rm -rf lib",                                    // 41
        "```",                                             // 42
    ]
    .join("\n");
    std::fs::write(src.join("project.md"), page + "\n").unwrap();

    let report = check_book(&src, repo.path());
    let at = |line: &str| -> Vec<&String> {
        report
            .problems
            .iter()
            .filter(|p| p.contains(&format!("project.md:{line}:")))
            .collect()
    };
    for (line, words) in [
        ("21", "the output of `hapl check` is stale"),
        ("27", "no longer starts with `Phase 9`"),
        (
            "38",
            "`rm -rf lib`: only `hapl` and `git` commands can be run",
        ),
    ] {
        assert!(
            at(line).iter().any(|p| p.contains(words)),
            "no problem `{words}` at line {line}; problems:\n{}",
            report.problems.join("\n")
        );
    }
    assert_eq!(report.problems.len(), 3, "{}", report.problems.join("\n"));
}
