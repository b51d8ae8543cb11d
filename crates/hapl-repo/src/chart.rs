//! Local Helm charts read without Helm: `values.yaml` with the release's values merged on top,
//! and `templates/*.yaml` rendered leniently, line by line.
//!
//! A template line that only holds actions is a control line (`if`, `with`, `range`, `else`,
//! `end`, comments, `define`) or a block insertion (`toYaml X | nindent N`, `X | nindent N`);
//! other actions inside a line are replaced by their value when it is a simple reference
//! (`.Values.a.b`, `.Release.Name`, `.Release.Namespace`, `.Chart.Name`, `.Chart.AppVersion`,
//! `include "<chart>.fullname" .`, with `quote` and `default`), by a placeholder otherwise.
//! `if`/`with` on a reference that resolves keep or drop their block as Helm would; on anything
//! else both branches are kept. Every rendered line remembers where it was written: the
//! template's line, or the values file's line when the whole value came from `.Values`.

use serde_json::{Map, Value};

use crate::yaml::{self, Node, NodeKind};

/// What stands for a value the reader cannot compute.
pub const PLACEHOLDER: &str = "hapl-unresolved";

/// A values file as read: its node tree, to find lines of keys.
#[derive(Debug, Clone)]
pub struct ValuesFile {
    pub file: String,
    pub root: Option<Node>,
}

/// The merged values of a release of a local chart, and where each part was written.
#[derive(Debug, Clone)]
pub struct ChartValues {
    pub values: Value,
    /// Searched in order for a key's line: the release's `spec.values` first, then the chart's.
    pub files: Vec<(ValuesFile, Vec<String>)>,
}

impl ChartValues {
    /// File and line where the value at `path` (keys under the values root) is written.
    pub fn line_of(&self, path: &[String]) -> Option<(String, usize, &Node)> {
        for (vf, prefix) in &self.files {
            let Some(root) = &vf.root else { continue };
            let full: Vec<&str> = prefix
                .iter()
                .map(String::as_str)
                .chain(path.iter().map(String::as_str))
                .collect();
            if let Some(node) = find_keys(root, &full) {
                return Some((vf.file.clone(), node.line, node));
            }
        }
        None
    }
}

fn find_keys<'a>(mut node: &'a Node, keys: &[&str]) -> Option<&'a Node> {
    for key in keys {
        let NodeKind::Map(entries) = &node.kind else {
            return None;
        };
        node = &entries
            .iter()
            .find(|(k, _)| yaml::key_str(k) == Some(key))?
            .1;
    }
    Some(node)
}

/// Deep merge: `over` wins, maps merge key by key.
pub fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// A rendered template: its text, and for every line the (file, line) it was written at.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub text: String,
    pub lines: Vec<(String, usize)>,
}

/// What templates see besides values.
pub struct Scope<'a> {
    pub chart_name: &'a str,
    pub app_version: &'a str,
    pub release: &'a str,
    pub namespace: &'a str,
    pub values: &'a ChartValues,
}

struct Frame {
    /// Whether lines in this block are emitted.
    live: bool,
    /// The context `.` of a `with` block.
    dot: Option<Value>,
    /// The condition's value when known (for `else`).
    known: Option<bool>,
    parent_live: bool,
}

/// Renders one template leniently.
pub fn render(file: &str, text: &str, scope: &Scope) -> Rendered {
    let mut out = Rendered {
        text: String::new(),
        lines: Vec::new(),
    };
    let mut stack: Vec<Frame> = Vec::new();
    let mut in_comment = false;
    let mut in_define = 0usize;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let trimmed = line.trim();
        if in_comment {
            in_comment = !trimmed.contains("*/");
            continue;
        }
        if trimmed.starts_with("{{") && trimmed.contains("/*") && !trimmed.contains("*/") {
            in_comment = true;
            continue;
        }
        let live = stack.last().is_none_or(|f| f.live);
        let dot = stack.iter().rev().find_map(|f| f.dot.clone());
        if let Some(action) = sole_action(trimmed) {
            let word = action.split_whitespace().next().unwrap_or("");
            if in_define > 0 {
                match word {
                    "define" | "if" | "with" | "range" | "block" => in_define += 1,
                    "end" => in_define -= 1,
                    _ => {}
                }
                continue;
            }
            match word {
                "define" => in_define = 1,
                "if" | "with" => {
                    let expr = action[word.len()..].trim();
                    let value = resolve(expr, scope, dot.as_ref());
                    let known = value.as_ref().map(truthy);
                    stack.push(Frame {
                        live: live && known != Some(false),
                        dot: if word == "with" {
                            Some(value.unwrap_or(Value::Null))
                        } else {
                            None
                        },
                        known,
                        parent_live: live,
                    });
                }
                "range" | "block" => stack.push(Frame {
                    live,
                    dot: Some(Value::Null),
                    known: None,
                    parent_live: live,
                }),
                "else" => {
                    if let Some(f) = stack.last_mut() {
                        f.live = f.parent_live && f.known != Some(true);
                        f.dot = None;
                    }
                }
                "end" => {
                    stack.pop();
                }
                _ if action.starts_with("/*") => {}
                _ if live => insert_block(action, n, file, scope, dot.as_ref(), &mut out),
                _ => {}
            }
            continue;
        }
        if !live || in_define > 0 {
            continue;
        }
        let (rendered, whole) = substitute(line, scope, dot.as_ref());
        let at = whole
            .and_then(|path| scope.values.line_of(&path))
            .map_or_else(|| (file.to_owned(), n), |(f, l, _)| (f, l));
        out.text.push_str(&rendered);
        out.text.push('\n');
        out.lines.push(at);
    }
    out
}

/// The action of a line that holds one action and nothing else.
fn sole_action(trimmed: &str) -> Option<&str> {
    let inner = trimmed.strip_prefix("{{")?.strip_suffix("}}")?;
    if inner.contains("}}") || inner.contains("{{") {
        return None;
    }
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    Some(inner.trim())
}

/// `toYaml X | nindent N`, `X | nindent N`, `toYaml X | indent N`: the value as YAML lines.
fn insert_block(
    action: &str,
    n: usize,
    file: &str,
    scope: &Scope,
    dot: Option<&Value>,
    out: &mut Rendered,
) {
    let parts: Vec<&str> = action.split('|').map(str::trim).collect();
    let Some(indent) = parts[1..].iter().find_map(|p| {
        let mut w = p.split_whitespace();
        match (w.next(), w.next()) {
            (Some("nindent" | "indent"), Some(n)) => n.parse::<usize>().ok(),
            _ => None,
        }
    }) else {
        return;
    };
    let expr = parts[0].strip_prefix("toYaml ").unwrap_or(parts[0]).trim();
    let Some(value) = resolve(expr, scope, dot) else {
        return;
    };
    let path = values_path(expr);
    let origin = path.as_ref().and_then(|p| scope.values.line_of(p));
    let text = match &value {
        Value::String(s) => s.clone(),
        Value::Null => return,
        v => serde_yaml::to_string(v).unwrap_or_default(),
    };
    // A block string written as `key: |` starts on the line after its key.
    let block_start = origin.as_ref().and_then(|(_, l, node)| match &node.kind {
        NodeKind::Scalar { value, .. } if value.contains('\n') => Some(*l + 1),
        _ => None,
    });
    for (k, text_line) in text.lines().enumerate() {
        out.text.push_str(&" ".repeat(indent));
        out.text.push_str(text_line);
        out.text.push('\n');
        out.lines.push(match (&origin, block_start) {
            (Some((f, _, _)), Some(start)) => (f.clone(), start + k),
            (Some((f, l, _)), None) => (f.clone(), *l),
            (None, _) => (file.to_owned(), n),
        });
    }
}

/// The line with every action replaced, and the values path when the line's value is one
/// `.Values` reference.
fn substitute(line: &str, scope: &Scope, dot: Option<&Value>) -> (String, Option<Vec<String>>) {
    let mut out = String::new();
    let mut rest = line;
    let mut refs = Vec::new();
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        out.push_str(&rest[..start]);
        let action = rest[start + 2..start + len].trim_matches('-').trim();
        let value = resolve(action, scope, dot);
        out.push_str(&match value {
            Some(Value::String(s)) if action.contains("quote") => format!("{s:?}"),
            Some(Value::String(s)) => s,
            Some(Value::Null) | None => PLACEHOLDER.to_owned(),
            Some(v) => v.to_string(),
        });
        refs.push(values_path(action));
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    let value_part = out.split_once(": ").map_or("", |(_, v)| v);
    let whole = match refs.as_slice() {
        [Some(p)] if !value_part.is_empty() && line.trim_end().ends_with("}}") => Some(p.clone()),
        _ => None,
    };
    (out, whole)
}

/// `.Values.a.b` → `["a", "b"]` (the first reference of an expression's first stage).
fn values_path(expr: &str) -> Option<Vec<String>> {
    let first = expr.split('|').next()?.split_whitespace().next()?;
    let rest = first.strip_prefix(".Values.")?;
    Some(rest.split('.').map(str::to_owned).collect())
}

/// The value of a simple expression, `None` when the reader cannot tell.
fn resolve(expr: &str, scope: &Scope, dot: Option<&Value>) -> Option<Value> {
    let mut stages = expr.split('|').map(str::trim);
    let first = stages.next()?;
    let mut value = term(first, scope, dot);
    for stage in stages {
        let mut words = stage.split_whitespace();
        match words.next()? {
            "default" => {
                let fallback = words.next().and_then(|w| term(w, scope, dot));
                if value.as_ref().is_none_or(|v| !truthy(v)) {
                    value = fallback;
                }
            }
            "quote" | "squote" | "trim" | "toString" => {
                value = value.map(|v| match v {
                    Value::String(s) => Value::String(s),
                    other => Value::String(other.to_string()),
                });
            }
            "int" | "toYaml" | "nindent" | "indent" => {}
            _ => return None,
        }
    }
    value
}

fn term(word: &str, scope: &Scope, dot: Option<&Value>) -> Option<Value> {
    let word = word.trim();
    if let Some(rest) = word.strip_prefix(".Values.") {
        return lookup(&scope.values.values, rest);
    }
    if word == ".Values" {
        return Some(scope.values.values.clone());
    }
    if let Some(s) = word.strip_prefix('"').and_then(|w| w.strip_suffix('"')) {
        return Some(Value::String(s.to_owned()));
    }
    Some(Value::String(
        match word {
            ".Release.Name" => scope.release,
            ".Release.Namespace" => scope.namespace,
            ".Chart.Name" => scope.chart_name,
            ".Chart.AppVersion" => scope.app_version,
            "." | "$" => return dot.cloned(),
            w if w.starts_with("include ") && w.contains(".fullname\"") => scope.release,
            w if w.starts_with('.') && dot.is_some() => {
                return lookup(dot?, &w[1..]);
            }
            _ => return None,
        }
        .to_owned(),
    ))
}

fn lookup(root: &Value, dotted: &str) -> Option<Value> {
    let mut v = root;
    for key in dotted.split('.') {
        v = v.get(key)?;
    }
    Some(v.clone())
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// An empty map, for charts without values.
pub fn empty() -> Value {
    Value::Object(Map::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> ChartValues {
        let root = yaml::parse(text).unwrap().into_iter().find_map(|d| d.root);
        let values = root
            .as_ref()
            .map_or_else(empty, |r| yaml::to_value(r, &yaml::anchors(r)));
        ChartValues {
            values,
            files: vec![(
                ValuesFile {
                    file: "values.yaml".into(),
                    root,
                },
                Vec::new(),
            )],
        }
    }

    fn render_with(template: &str, v: &ChartValues) -> Rendered {
        let scope = Scope {
            chart_name: "c",
            app_version: "1.0",
            release: "rel",
            namespace: "ns",
            values: v,
        };
        render("t.yaml", template, &scope)
    }

    #[test]
    fn known_conditions_choose_a_branch_and_unknown_ones_keep_both() {
        let v = values("on: true\noff: false\n");
        let out = render_with(
            "a: 1\n{{- if .Values.on }}\nb: 2\n{{- else }}\nc: 3\n{{- end }}\n{{- if .Values.off }}\nd: 4\n{{- end }}\n{{- if eq .Values.x \"y\" }}\ne: 5\n{{- else }}\nf: 6\n{{- end }}\n",
            &v,
        );
        assert_eq!(out.text, "a: 1\nb: 2\ne: 5\nf: 6\n");
        let lines: Vec<usize> = out.lines.iter().map(|l| l.1).collect();
        assert_eq!(lines, [1, 3, 11, 13]);
    }

    #[test]
    fn values_are_substituted_and_blocks_inserted_with_their_lines() {
        let v = values("image:\n  tag: \"2.0\"\nres:\n  limits:\n    cpu: 1\nconf: |\n  recorder:\n    db_url: x\n");
        let out = render_with(
            "name: {{ include \"c.fullname\" . }}\nimage: \"repo:{{ .Values.image.tag | default .Chart.AppVersion }}\"\ntag: {{ .Values.image.tag }}\nresources:\n  {{- toYaml .Values.res | nindent 2 }}\nconf: |\n  {{- .Values.conf | nindent 2 }}\nother: {{ .Values.missing | sha256sum }}\n",
            &v,
        );
        assert_eq!(
            out.text,
            "name: rel\nimage: \"repo:2.0\"\ntag: 2.0\nresources:\n  limits:\n    cpu: 1\nconf: |\n  recorder:\n    db_url: x\nother: hapl-unresolved\n"
        );
        let at: Vec<(&str, usize)> = out.lines.iter().map(|(f, l)| (f.as_str(), *l)).collect();
        assert_eq!(
            at,
            [
                ("t.yaml", 1),
                ("t.yaml", 2),
                // The whole value comes from values.yaml.
                ("values.yaml", 2),
                ("t.yaml", 4),
                // A map, at the line its content starts.
                ("values.yaml", 4),
                ("values.yaml", 4),
                ("t.yaml", 6),
                // A block string, line by line.
                ("values.yaml", 7),
                ("values.yaml", 8),
                ("t.yaml", 8),
            ]
        );
    }
}
