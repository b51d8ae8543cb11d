//! The book's reference, generated from the code (hidden command `hapl reference DIR`): one page
//! per standard-library module from its doc comments, the rules from the catalogue `hapl
//! explain` prints, and the command line from clap. `--check` compares instead of writing, so a
//! stale book fails the tests (`tests/book.rs`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::cli::{EXIT_ERROR, EXIT_OK};

/// The command that rewrites the book's reference, as the check tells the reader.
pub const REGENERATE: &str = "cargo run -p hapl -- reference book/src/reference";

/// Every generated page: path under the reference folder → text.
pub fn pages(cli: clap::Command) -> Result<BTreeMap<String, String>, String> {
    let mut pages = BTreeMap::new();
    let mut index = String::from(
        "# Standard library\n\n\
         Generated from the doc comments of `stdlib/*.rhai` by `hapl reference`; do not edit.\n\
         Import a module by name (`import \"nas_pvc\" as nas;`); a module of the same name in\n\
         the project's `lib/` replaces it.\n\n\
         | module | what it is |\n|---|---|\n",
    );
    for (name, text) in hapl_script::stdlib::MODULES {
        let (summary, page) = module_page(name, text)?;
        let _ = writeln!(index, "| [`{name}`](stdlib/{name}.md) | {summary} |");
        pages.insert(format!("stdlib/{name}.md"), page);
    }
    pages.insert("stdlib.md".to_owned(), index);
    pages.insert("script.md".to_owned(), script_page());
    pages.insert("rules.md".to_owned(), rules_page());
    pages.insert("cli.md".to_owned(), cli_page(cli));
    Ok(pages)
}

/// Doc comment lines without their `///` or `//!` marker; code examples in them are fragments,
/// so they are marked `rhai,ignore` for the book's example check.
fn doc_text<'a>(lines: impl IntoIterator<Item = &'a str>, marker: &str) -> String {
    let mut out = String::new();
    for line in lines {
        let line = line.trim_start().strip_prefix(marker).unwrap_or(line);
        let line = line.strip_prefix(' ').unwrap_or(line);
        let line = if line.trim_end() == "```rhai" {
            "```rhai,ignore"
        } else {
            line
        };
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.trim().to_owned()
}

/// `(first sentence of the module doc, the page)` of one module.
fn module_page(name: &str, text: &str) -> Result<(String, String), String> {
    let limits = hapl_script::Limits::default();
    let mut engine = rhai::Engine::new_raw();
    engine.set_max_expr_depths(limits.max_expr_depth, limits.max_function_expr_depth);
    let ast = engine
        .compile(text)
        .map_err(|e| format!("stdlib module `{name}` does not compile: {e}"))?;
    let doc = doc_text(ast.doc().lines(), "//!");
    let summary = doc
        .lines()
        .next()
        .unwrap_or_default()
        .split(". ")
        .next()
        .unwrap_or_default()
        .trim_end_matches('.')
        .replace('|', "\\|");
    let mut functions: Vec<_> = ast
        .iter_functions()
        .filter(|f| f.access == rhai::FnAccess::Public && !f.name.starts_with("anon$"))
        .collect();
    functions.sort_by(|a, b| (a.name, a.params.len()).cmp(&(b.name, b.params.len())));
    let mut page = format!(
        "# `{name}`\n\n\
         Generated from `stdlib/{name}.rhai` by `hapl reference`; do not edit.\n\n\
         ```rhai,ignore\nimport \"{name}\" as {name};\n```\n\n{doc}\n\n## Functions\n\n"
    );
    let anchor = |f: &rhai::ScriptFnMetadata| {
        if functions.iter().filter(|g| g.name == f.name).count() > 1 {
            format!("{}-{}", f.name, f.params.len())
        } else {
            f.name.to_owned()
        }
    };
    for f in &functions {
        let _ = writeln!(page, "- [`{}`](#{})", f.name, anchor(f));
    }
    for f in &functions {
        let docs = doc_text(f.comments.iter().flat_map(|c| c.lines()), "///");
        let docs = if docs.is_empty() {
            "*Not documented.*".to_owned()
        } else {
            docs
        };
        let _ = write!(
            page,
            "\n### `{name}::{}({})` {{#{}}}\n\n{docs}\n",
            f.name,
            f.params.join(", "),
            anchor(f)
        );
    }
    Ok((summary, page))
}

/// The functions hapl adds to Rhai (`hapl_script::docs`), by section.
fn script_page() -> String {
    use hapl_script::docs::{FUNCTIONS, SECTIONS};
    let mut page = String::from(
        "# Script API\n\n\
         Generated from `crates/hapl-script/src/docs.rs` by `hapl reference`; do not edit. A\n\
         platform script is [Rhai](https://rhai.rs/book/) with these functions added, in a\n\
         sandbox: no `eval`, no file or network access, modules imported by name (the project's\n\
         `lib/`, then the [standard library](stdlib.md)), and limits on time, depth and size.\n",
    );
    for (section, intro) in SECTIONS {
        let _ = write!(page, "\n## {section}\n\n{intro}\n");
        for f in FUNCTIONS.iter().filter(|f| f.section == *section) {
            let _ = write!(
                page,
                "\n### `{}`\n\n```rhai,ignore\n{}\n```\n\n{}\n",
                f.name.trim_start_matches("get$"),
                f.usage.join("\n"),
                f.doc
            );
        }
    }
    page
}

fn rules_page() -> String {
    let rules = hapl_core::rules::catalogue();
    let mut page = String::from(
        "# Rules\n\n\
         Generated from hapl's rule catalogue by `hapl reference`; do not edit. `hapl explain\n\
         RULE` prints the same text, `hapl explain --list` the table. An error stops `hapl\n\
         plan` and `hapl apply-to-git`; a warning is shown and does not. A finding can be waived\n\
         for one object with a reason (`p.except`, `p.relax`; see the chapter on exceptions).\n\n\
         | rule | severity | what it demands |\n|---|---|---|\n",
    );
    for r in rules {
        let _ = writeln!(
            page,
            "| [`{0}`](#{0}) | {1} | {2} |",
            r.id,
            r.severity,
            r.summary.replace('|', "\\|")
        );
    }
    for r in rules {
        let _ = write!(
            page,
            "\n## `{0}` {{#{0}}}\n\n**{1}.** {2}\n\n{3}\n\n**Fix:** {4}\n",
            r.id, r.severity, r.summary, r.explanation, r.fix
        );
    }
    page
}

fn cli_page(cli: clap::Command) -> String {
    let mut cli = cli.term_width(100);
    let mut page = String::from(
        "# Command line\n\n\
         Generated from hapl's argument parser by `hapl reference`; do not edit. Every command\n\
         takes the global options (`--script`, `--lib`, `--color`, `--timeout`).\n\n\
         ```text\n",
    );
    page.push_str(&plain(&cli.render_long_help().to_string()));
    page.push_str("\n```\n");
    let subcommands: Vec<_> = cli
        .get_subcommands()
        .filter(|c| !c.is_hide_set() && c.get_name() != "help")
        .cloned()
        .collect();
    for sub in subcommands {
        let name = sub.get_name().to_owned();
        let mut sub = sub.bin_name(format!("hapl {name}"));
        let help = plain(&sub.render_long_help().to_string());
        let _ = write!(
            page,
            "\n## `hapl {name}` {{#{name}}}\n\n```text\n{help}\n```\n"
        );
    }
    page
}

/// Help text without trailing spaces.
fn plain(help: &str) -> String {
    let lines: Vec<&str> = help.lines().map(str::trim_end).collect();
    lines.join("\n").trim_end().to_owned()
}

/// `hapl reference DIR [--check]`: write the pages into DIR, or compare them with it.
pub fn run(cli: clap::Command, dir: &Path, check: bool) -> i32 {
    let pages = match pages(cli) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let extra = extra_pages(dir, &pages);
    if check {
        let mut stale: Vec<String> = pages
            .iter()
            .filter(|(path, text)| {
                std::fs::read_to_string(dir.join(path)).ok().as_ref() != Some(*text)
            })
            .map(|(path, _)| path.clone())
            .collect();
        stale.extend(extra);
        if stale.is_empty() {
            return EXIT_OK;
        }
        for path in stale {
            eprintln!("stale: {}", dir.join(path).display());
        }
        eprintln!("the reference is stale; regenerate it with `{REGENERATE}`");
        return EXIT_ERROR;
    }
    for (path, text) in &pages {
        let path = dir.join(path);
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .map_err(|e| e.to_string())
            .and_then(|()| {
                hapl_repo::write::write_file_atomic(&path, text.as_bytes())
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = written {
            eprintln!("error: cannot write `{}`: {e}", path.display());
            return EXIT_ERROR;
        }
    }
    for path in extra {
        if let Err(e) = std::fs::remove_file(dir.join(&path)) {
            eprintln!("error: cannot remove `{path}`: {e}");
            return EXIT_ERROR;
        }
    }
    println!(
        "wrote {} reference pages to `{}`",
        pages.len(),
        dir.display()
    );
    EXIT_OK
}

/// Pages under `dir` (`*.md`, relative paths) the generator no longer makes.
fn extra_pages(dir: &Path, pages: &BTreeMap<String, String>) -> Vec<String> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                let rel = path.strip_prefix(dir).unwrap_or(&path);
                let rel = rel.to_string_lossy().replace('\\', "/");
                if !pages.contains_key(&rel) {
                    found.push(rel);
                }
            }
        }
    }
    found.sort();
    found
}
