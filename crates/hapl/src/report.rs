//! Rendering diagnostics for a terminal with ariadne.

use std::io::Write;

use ariadne::{Color, Config, IndexType, Label, Report, ReportKind};
use hapl_core::{Diagnostic, Severity, Span};
use hapl_repo::owned::OWNED_PATH;
use hapl_repo::plan::{Action, PhasePlan, Plan};
use hapl_script::Sources;

/// The char range of a span in a text, widened to the token it starts.
fn char_range(text: &str, span: &Span) -> Option<std::ops::Range<usize>> {
    if span.line == 0 {
        return None;
    }
    let mut offset = 0usize;
    let mut lines = text.split('\n');
    for _ in 1..span.line {
        offset += lines.next()?.chars().count() + 1;
    }
    let line = lines.next()?;
    let col = (span.column.max(1) - 1) as usize;
    let line_len = line.chars().count();
    if col > line_len {
        return Some(offset + line_len..offset + line_len);
    }
    let len = if span.len > 0 {
        span.len as usize
    } else {
        // Highlight the word (a function name, `module::function`, a key) at the position.
        line.chars()
            .skip(col)
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .count()
            .max(1)
    };
    let start = offset + col;
    Some(start..start + len.min(line_len - col).max(1))
}

pub struct Renderer {
    pub color: bool,
}

impl Renderer {
    pub fn write(&self, out: &mut impl Write, diag: &Diagnostic, sources: &Sources) {
        let kind = match diag.severity {
            Severity::Error => ReportKind::Error,
            Severity::Warning => ReportKind::Warning,
            Severity::Note => ReportKind::Advice,
        };
        let primary = diag.primary.as_ref().and_then(|s| {
            sources
                .get(&s.file)
                .and_then(|t| char_range(t, s))
                .map(|r| (s.file.clone(), r))
        });
        let anchor = primary.clone().unwrap_or_else(|| (String::new(), 0..0));
        let mut report = Report::build(kind, anchor)
            .with_config(
                Config::default()
                    .with_color(self.color)
                    .with_index_type(IndexType::Char)
                    .with_compact(false),
            )
            .with_code(&diag.code)
            .with_message(&diag.message);
        let color = match diag.severity {
            Severity::Error => Color::Red,
            Severity::Warning => Color::Yellow,
            Severity::Note => Color::Blue,
        };
        match (&primary, &diag.primary) {
            (Some(span), _) => {
                let mut label = Label::new(span.clone()).with_color(color).with_order(0);
                if !diag.primary_label.is_empty() {
                    label = label.with_message(&diag.primary_label);
                }
                report = report.with_label(label);
            }
            (None, Some(span)) => report = report.with_note(format!("at {span}")),
            (None, None) => {}
        }
        for label in &diag.labels {
            match sources
                .get(&label.span.file)
                .and_then(|t| char_range(t, &label.span))
            {
                Some(range) => {
                    report = report.with_label(
                        Label::new((label.span.file.clone(), range))
                            .with_message(&label.message)
                            .with_color(Color::Cyan)
                            .with_order(1),
                    );
                }
                None => report = report.with_note(format!("{}: {}", label.span, label.message)),
            }
        }
        for frame in &diag.trace {
            report = report.with_note(format!("in `{}` at {}", frame.function, frame.span));
        }
        for hint in &diag.hints {
            report = report.with_help(hint);
        }
        // Only the files this diagnostic shows: ariadne indexes the lines of every source it is
        // given, and the stdlib alone is thousands of lines (most of `hapl plan`'s time on a
        // platform with a few warnings went there).
        let shown = |name: &str| {
            diag.primary.as_ref().is_some_and(|s| s.file == name)
                || diag.labels.iter().any(|l| l.span.file == name)
        };
        let cache = ariadne::sources(
            sources
                .iter()
                .filter(|(n, _)| shown(n))
                .map(|(n, t)| (n.to_owned(), t.to_owned()))
                .chain([(String::new(), String::new())]),
        );
        let _ = report.finish().write(cache, &mut *out);
    }
}

/// The resource budget as a table: requests and limits per namespace and in total, against
/// the declared node.
pub fn budget_table(b: &hapl_core::rules::Budget) -> String {
    use std::fmt::Write as _;
    let cpu = |m: u64| format!("{m}m");
    let mem = |bytes: u64| format!("{}Mi", bytes.div_ceil(1 << 20));
    let mut s = String::new();
    let _ = writeln!(s, "resource budget:");
    let _ = writeln!(
        s,
        "  {:<20} {:>5} {:>9} {:>9} {:>10} {:>10}",
        "namespace", "pods", "cpu req", "cpu lim", "mem req", "mem lim"
    );
    let mut row = |name: &str, u: &hapl_core::rules::Usage| {
        let _ = writeln!(
            s,
            "  {name:<20} {:>5} {:>9} {:>9} {:>10} {:>10}",
            u.pods,
            cpu(u.cpu_request),
            cpu(u.cpu_limit),
            mem(u.memory_request),
            mem(u.memory_limit)
        );
    };
    for (ns, u) in &b.namespaces {
        row(ns, u);
    }
    if b.largest_job.pods > 0 {
        row("largest job", &b.largest_job);
    }
    row("total", &b.total);
    match &b.node {
        Some(n) => {
            let pct = |used: u64, of: u64| format!("{}%", (used * 100).div_ceil(of.max(1)));
            let _ = writeln!(
                s,
                "  {:<20} {:>5} {:>9} {:>9} {:>10} {:>10}",
                format!("node `{}`", n.name),
                "",
                cpu(n.cpu_millis),
                "",
                mem(n.memory_bytes),
                ""
            );
            let _ = writeln!(
                s,
                "  {:<20} {:>5} {:>9} {:>9} {:>10} {:>10}",
                "share of node",
                "",
                pct(b.total.cpu_request, n.cpu_millis),
                pct(b.total.cpu_limit, n.cpu_millis),
                pct(b.total.memory_request, n.memory_bytes),
                pct(b.total.memory_limit, n.memory_bytes)
            );
        }
        None => {
            let _ = writeln!(
                s,
                "  no node declared: `platform(name, #{{ node: #{{ cpu: 4, memory: \"8Gi\" }} }})`"
            );
        }
    }
    if b.total.incomplete > 0 {
        let _ = writeln!(
            s,
            "  containers without some request or limit: {} (counted as 0 there)",
            b.total.incomplete
        );
    }
    if !b.from_chart_values.is_empty() {
        let _ = writeln!(
            s,
            "  summed from chart values (one replica each): {}",
            b.from_chart_values.join(", ")
        );
    }
    s
}

/// The seed's phases, as plans title them.
fn phase_title(phase: Option<u8>) -> String {
    match phase {
        Some(1) => "Phase 1: storage & data safety".into(),
        Some(2) => "Phase 2: Home Assistant hardening".into(),
        Some(3) => "Phase 3: long-term metrics".into(),
        Some(4) => "Phase 4: logging & observability".into(),
        Some(5) => "Phase 5: Zigbee, Matter & edge".into(),
        Some(6) => "Phase 6: backups & disaster recovery".into(),
        Some(n) => format!("Phase {n}"),
        None => "Objects without a phase".into(),
    }
}

fn verb(action: Action) -> (&'static str, &'static str) {
    match action {
        Action::Add => ("+", "add"),
        Action::Change => ("~", "change"),
        Action::Delete => ("-", "delete"),
    }
}

/// The closing line of every plan.
pub fn plan_summary(plan: &Plan) -> String {
    format!(
        "Plan: {} to add, {} to change, {} to delete",
        plan.summary.add, plan.summary.change, plan.summary.delete
    )
}

/// A plan for a terminal: phases, each change with its object, file, reason and diff.
pub fn plan_text(plan: &Plan, color: bool) -> String {
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    };
    let mut out = String::new();
    for phase in &plan.phases {
        if phase.changes.is_empty() {
            continue;
        }
        out.push_str(&paint("1", &phase_title(phase.phase)));
        out.push('\n');
        for c in &phase.changes {
            let (sign, word) = verb(c.action);
            let code = match c.action {
                Action::Add => "32",
                Action::Change => "33",
                Action::Delete => "31",
            };
            out.push_str(&format!(
                "  {} {}\n      file: {}\n      why:  {}\n",
                paint(code, &format!("{sign} {word}")),
                paint("1", &c.object.to_string()),
                c.file,
                c.reason
            ));
            for d in &c.diffs {
                for line in d.diff.lines() {
                    let code = if line.starts_with("+++") || line.starts_with("---") {
                        "1"
                    } else if line.starts_with('+') {
                        "32"
                    } else if line.starts_with('-') {
                        "31"
                    } else if line.starts_with("@@") {
                        "36"
                    } else {
                        ""
                    };
                    let line = if code.is_empty() {
                        line.to_owned()
                    } else {
                        paint(code, line)
                    };
                    out.push_str(&format!("    {line}\n"));
                }
            }
        }
        if phase.write_hashes.contains_key(OWNED_PATH) {
            out.push_str(&format!("  records what hapl owns in {OWNED_PATH}\n"));
        }
        out.push('\n');
    }
    notes(plan, &mut out, "");
    out.push_str(&paint("1", &plan_summary(plan)));
    out.push('\n');
    out
}

fn notes(plan: &Plan, out: &mut String, bullet: &str) {
    if !plan.not_inspected.is_empty() {
        out.push_str(&format!(
            "Not inspected ({} files, kept byte-identical):\n",
            plan.not_inspected.len()
        ));
        for n in &plan.not_inspected {
            out.push_str(&format!("  {bullet}{}: {}\n", n.file, n.why));
        }
    }
    if !plan.findings.is_empty() {
        out.push_str(&format!("Unreadable ({} files):\n", plan.findings.len()));
        for f in &plan.findings {
            out.push_str(&format!("  {bullet}{f}\n"));
        }
    }
}

/// A plan as a pull-request comment.
pub fn plan_markdown(plan: &Plan) -> String {
    let mut out = format!("### hapl plan\n\n**{}**\n\n", plan_summary(plan));
    if let Some(commit) = &plan.base_commit {
        out.push_str(&format!("Base commit: `{commit}`\n\n"));
    }
    for phase in &plan.phases {
        if phase.changes.is_empty() {
            continue;
        }
        out.push_str(&format!("#### {}\n\n", phase_title(phase.phase)));
        for c in &phase.changes {
            let (_, word) = verb(c.action);
            out.push_str(&format!(
                "- **{word}** `{}` in `{}`: {}\n",
                c.object, c.file, c.reason
            ));
            let diff: String = c.diffs.iter().map(|d| d.diff.as_str()).collect();
            if !diff.is_empty() {
                let fence = if diff.contains("```") { "~~~~" } else { "```" };
                out.push_str(&format!(
                    "\n  <details><summary>diff</summary>\n\n{fence}diff\n{diff}{fence}\n\n  </details>\n\n"
                ));
            }
        }
        out.push('\n');
    }
    notes(plan, &mut out, "- ");
    out
}

/// The message of a commit holding `phases` of `plan`: a title naming the phase (or the
/// phases, for one commit), the counts, and each change's object, file and reason, with every
/// value of `secrets` masked.
pub fn commit_message(plan: &Plan, phases: &[&PhasePlan], secrets: &[String]) -> String {
    let title = match phases {
        [one] => match phase_title(one.phase).split_once(": ") {
            Some((label, name)) => format!("hapl: {label} — {name}"),
            None => format!("hapl: {}", phase_title(one.phase)),
        },
        _ => {
            let names: Vec<String> = phases
                .iter()
                .map(|p| p.phase.map_or("no phase".to_owned(), |n| n.to_string()))
                .collect();
            format!("hapl: phases {}", names.join(", "))
        }
    };
    let changes = || phases.iter().flat_map(|p| &p.changes);
    let count = |a: Action| changes().filter(|c| c.action == a).count();
    let mut out = format!(
        "{title}\n\nThis commit: {} to add, {} to change, {} to delete ({}).\n",
        count(Action::Add),
        count(Action::Change),
        count(Action::Delete),
        plan_summary(plan)
    );
    for phase in phases {
        if phases.len() > 1 {
            out.push_str(&format!("\n{}:\n", phase_title(phase.phase)));
        } else {
            out.push('\n');
        }
        for c in &phase.changes {
            out.push_str(&format!(
                "- {} {} in {}: {}\n",
                verb(c.action).1,
                c.object,
                c.file,
                c.reason
            ));
        }
        if phase.write_hashes.contains_key(OWNED_PATH) {
            out.push_str(&format!("- records what hapl owns in {OWNED_PATH}\n"));
        }
    }
    out.push_str("\nMade by `hapl apply-to-git`.\n");
    hapl_repo::apply::mask(&out, secrets)
}

/// What `hapl apply-to-git` did (or, for a dry run, would do).
pub fn apply_text(report: &hapl_repo::git::ApplyReport, dry_run: bool, no_commit: bool) -> String {
    use hapl_repo::git::ChangeKind;
    let short = |id: &str| id[..id.len().min(12)].to_owned();
    let mut out = String::new();
    if let Some(r) = &report.recovered {
        out.push_str(&format!(
            "finished an interrupted apply: {} at {}\n",
            report.reference,
            short(&r.commit)
        ));
    }
    if report.pending_recovery {
        out.push_str("an interrupted apply is pending: a real run finishes it first\n");
    }
    if report.nothing_to_do() {
        out.push_str("nothing to do: the repository already holds the platform\n");
        return out;
    }
    for c in report.commits.iter().filter(|c| !c.changes.is_empty()) {
        let head = match (&c.id, dry_run, no_commit) {
            (Some(id), _, _) => format!("committed {} {}", short(id), c.title),
            (None, true, _) => format!("would commit: {}", c.title),
            (None, _, true) => format!("wrote (not committed): {}", c.title),
            (None, false, false) => format!("already in place: {}", c.title),
        };
        out.push_str(&head);
        out.push('\n');
        for ch in &c.changes {
            let sign = match ch.kind {
                ChangeKind::Add => 'A',
                ChangeKind::Modify => 'M',
                ChangeKind::Delete => 'D',
            };
            out.push_str(&format!("  {sign} {}\n", ch.path));
        }
    }
    if dry_run {
        out.push_str("dry run: nothing changed\n");
    } else if !no_commit {
        if let Some(head) = &report.head {
            out.push_str(&format!("{} is now at {}\n", report.reference, short(head)));
        }
    }
    out
}
