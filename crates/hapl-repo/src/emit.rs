//! Writing values as YAML in a repository's style: block collections, sequences indented or not
//! under their key, scalars plain where YAML 1.1 reads them back as the same string.

use serde_json::Value;

use crate::yaml::plain_is_string;

/// How a repository writes YAML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Style {
    /// `key:\n  - item` (true) or `key:\n- item` (false).
    pub indent_sequences: bool,
    /// New files start with `---`.
    pub document_start: bool,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            indent_sequences: true,
            document_start: true,
        }
    }
}

/// A scalar as it appears after `key: ` or `- `; `None` for a collection that needs a block.
pub fn inline(value: &Value) -> Option<String> {
    match value {
        Value::Null => Some("null".into()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.contains('\n') || !literal_ok(s) => Some(scalar_str(s)),
        Value::String(_) => None,
        Value::Array(a) if a.is_empty() => Some("[]".into()),
        Value::Object(m) if m.is_empty() => Some("{}".into()),
        _ => None,
    }
}

/// A value in flow style (`{a: 1, b: [x]}`), for edits inside flow collections.
pub fn flow(value: &Value) -> String {
    match value {
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(flow).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", scalar_str(k), flow(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::String(s) => double_quoted(s),
        other => inline(other).unwrap_or_default(),
    }
}

/// Whether `s` can be written plain: one pass over it (every string the emitter writes is
/// asked), then the YAML 1.1 resolution.
fn plain_ok(s: &str) -> bool {
    let (Some(first), Some(last)) = (s.chars().next(), s.chars().next_back()) else {
        return false;
    };
    let indicator = matches!(
        first,
        '?' | ':'
            | ','
            | '['
            | ']'
            | '{'
            | '}'
            | '#'
            | '&'
            | '*'
            | '!'
            | '|'
            | '>'
            | '\''
            | '"'
            | '%'
            | '@'
            | '`'
    );
    let dash = first == '-' && (s.len() == 1 || s.starts_with("- ") || s.starts_with("---"));
    if indicator || dash || first.is_whitespace() || last.is_whitespace() || last == ':' {
        return false;
    }
    let mut prev = first;
    for c in s.chars() {
        if needs_escape(c)
            || matches!(c, '{' | '}' | '[' | ']' | ',')
            || (prev == ':' && c == ' ')
            || (prev == ' ' && c == '#')
        {
            return false;
        }
        prev = c;
    }
    s != "<<" && plain_is_string(s)
}

/// Whether a multi-line string can be a literal block (`|`): YAML allows no control characters
/// there but the line feed and the tab, and a carriage return or a Unicode line separator would
/// not read back as written; nor would a string of line feeds alone. Anything else is double-quoted with escapes.
fn literal_ok(s: &str) -> bool {
    // Only line feeds: a block of empty lines reads back as "" whatever its chomping.
    s.contains(|c| c != '\n')
        && !s.chars().any(|c| {
            (c.is_control() && c != '\n' && c != '\t')
                || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}')
        })
}

/// Characters only a double-quoted scalar carries safely: control characters, and the byte
/// order mark, which a reader drops where a document starts.
fn needs_escape(c: char) -> bool {
    c.is_control() || c == '\u{feff}'
}

/// `s` double-quoted, every [`needs_escape`] character escaped.
fn double_quoted(s: &str) -> String {
    serde_json::to_string(s)
        .expect("strings serialize")
        .replace('\u{feff}', "\\uFEFF")
}

/// A single-line string: plain when that reads back as the same string, else single-quoted,
/// else double-quoted with escapes.
pub fn scalar_str(s: &str) -> String {
    if plain_ok(s) {
        s.to_owned()
    } else if !s.chars().any(needs_escape) {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        double_quoted(s)
    }
}

/// Lines of a block value at `indent` (each line ends with `\n`).
pub fn block(value: &Value, indent: usize, style: &Style) -> String {
    let mut out = String::new();
    write_block(value, indent, style, &mut out);
    out
}

/// `key: value` (or `key:` and a block below) at `indent`.
pub fn entry(key: &str, value: &Value, indent: usize, style: &Style) -> String {
    let mut out = String::new();
    write_entry(key, value, indent, style, &mut out);
    out
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn write_entry(key: &str, value: &Value, indent: usize, style: &Style, out: &mut String) {
    pad(out, indent);
    let key = scalar_str(key);
    if key.chars().count() > 1024 {
        // YAML allows an implicit key 1024 characters at most; a longer one (found by the patch
        // fuzz target) takes the explicit form, `? key` and then `: value` on the next line.
        out.push_str("? ");
        out.push_str(&key);
        out.push('\n');
        pad(out, indent);
    } else {
        out.push_str(&key);
    }
    out.push(':');
    match (inline(value), value) {
        (Some(s), _) => {
            out.push(' ');
            out.push_str(&s);
            out.push('\n');
        }
        (None, Value::String(s)) => write_literal(s, indent + 2, out),
        (None, Value::Array(_)) => {
            out.push('\n');
            let child = if style.indent_sequences {
                indent + 2
            } else {
                indent
            };
            write_block(value, child, style, out);
        }
        (None, _) => {
            out.push('\n');
            write_block(value, indent + 2, style, out);
        }
    }
}

/// ` |` and the lines of a multi-line string (the caller has written `key:` or `-`).
fn write_literal(s: &str, indent: usize, out: &mut String) {
    let chomp = if s.ends_with("\n\n") {
        "+"
    } else if s.ends_with('\n') {
        ""
    } else {
        "-"
    };
    let indicator = if s.starts_with([' ', '\n']) { "2" } else { "" };
    out.push_str(&format!(" |{indicator}{chomp}\n"));
    let body = s.strip_suffix('\n').unwrap_or(s);
    for line in body.split('\n') {
        if !line.is_empty() {
            pad(out, indent);
            out.push_str(line);
        }
        out.push('\n');
    }
}

fn write_block(value: &Value, indent: usize, style: &Style, out: &mut String) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                write_entry(k, v, indent, style, out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                write_item(item, indent, style, out);
            }
        }
        other => {
            pad(out, indent);
            match (inline(other), other) {
                (Some(s), _) => out.push_str(&s),
                (None, Value::String(s)) => out.push_str(&double_quoted(s)),
                _ => {}
            }
            out.push('\n');
        }
    }
}

/// `- item` at `indent`; a collection item starts on the dash line.
fn write_item(item: &Value, indent: usize, style: &Style, out: &mut String) {
    match (inline(item), item) {
        (Some(s), _) => {
            pad(out, indent);
            out.push_str("- ");
            out.push_str(&s);
            out.push('\n');
        }
        (None, Value::String(s)) => {
            pad(out, indent);
            out.push('-');
            write_literal(s, indent + 2, out);
        }
        _ => {
            let mut inner = String::new();
            write_block(item, indent + 2, style, &mut inner);
            pad(out, indent);
            out.push_str("- ");
            out.push_str(&inner[indent + 2..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_that_read_back_differently_are_quoted() {
        for s in [
            "yes", "0755", "1.5", "", " x", "a: b", "#x", "null", "- x", "{a}",
        ] {
            let q = scalar_str(s);
            assert!(q.starts_with('\''), "{s:?} → {q}");
        }
        for s in [
            "ghcr.io/home-assistant/home-assistant:2024.1.0",
            "-Xmx1g",
            "a b",
        ] {
            assert_eq!(scalar_str(s), s);
        }
    }

    #[test]
    fn blocks_follow_the_style_and_read_back() {
        let v = json!({"a": {"b": [1, {"c": "x", "d": ["y"]}], "e": "l1\nl2\n"}, "f": []});
        for indent_sequences in [true, false] {
            let text = block(
                &v,
                0,
                &Style {
                    indent_sequences,
                    ..Style::default()
                },
            );
            let docs = crate::yaml::parse(&text).unwrap();
            let root = docs[0].root.as_ref().unwrap();
            assert_eq!(
                crate::yaml::to_value(root, &crate::yaml::anchors(root)),
                v,
                "{text}"
            );
        }
        assert_eq!(
            block(&json!({"k": ["a"]}), 0, &Style::default()),
            "k:\n  - a\n"
        );
    }
}

#[cfg(test)]
mod round_trip_tests {
    use super::*;

    #[test]
    fn a_byte_order_mark_in_a_key_or_a_value_reads_back() {
        for s in ["\u{feff}Version", "a\u{feff}b", "\u{feff}"] {
            let v = serde_json::json!({ s: s, "l": [s] });
            let text = block(&v, 0, &Style::default());
            assert!(!text.contains('\u{feff}'), "{text}");
            let docs = crate::yaml::parse(&text).unwrap();
            let root = docs[0].root.as_ref().unwrap();
            assert_eq!(
                crate::yaml::to_value(root, &crate::yaml::anchors(root)),
                v,
                "{text}"
            );
        }
    }

    #[test]
    fn multi_line_strings_read_back_exactly_whatever_they_hold() {
        for s in [
            "\n",
            "\n\n",
            "x\n",
            "x\n\n\n",
            " x\n",
            "\n x",
            "  \n",
            "line \nnext",
            "\tx\ny",
            "a\0b\nc",
            "x\r\ny",
            "a\u{2028}b\nc",
            "\u{feff}x\ny",
            "a\u{85}b\nc",
            "# not a comment\n",
        ] {
            let v = serde_json::json!({"k": s, "l": [s]});
            let text = block(&v, 0, &Style::default());
            let docs = crate::yaml::parse(&text).unwrap_or_else(|e| panic!("{s:?}: {e:?}\n{text}"));
            let root = docs[0].root.as_ref().unwrap();
            assert_eq!(
                crate::yaml::to_value(root, &crate::yaml::anchors(root)),
                v,
                "{text}"
            );
        }
    }

    #[test]
    fn a_key_longer_than_yaml_allows_implicitly_is_written_explicitly_and_reads_back() {
        let key = "k".repeat(1500);
        let text = entry(&key, &Value::String("v".into()), 0, &Style::default());
        assert!(text.starts_with("? "), "{text}");
        let docs = crate::yaml::parse(&text).expect("parses");
        let root = docs[0].root.as_ref().unwrap();
        let value = crate::yaml::to_value(root, &crate::yaml::anchors(root));
        assert_eq!(value[key.as_str()], "v");
    }
}
