//! Rendering diagnostics for a terminal with ariadne.

use std::io::Write;

use ariadne::{Color, Config, IndexType, Label, Report, ReportKind};
use hapl_core::{Diagnostic, Severity, Span};
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
        let cache = ariadne::sources(
            sources
                .iter()
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
    for u in &b.uninspected {
        let _ = writeln!(s, "  not counted: {u}: chart values not inspected");
    }
    for u in &b.infrastructure {
        let _ = writeln!(
            s,
            "  not counted: {u}: infrastructure chart, configured by its module"
        );
    }
    s
}
