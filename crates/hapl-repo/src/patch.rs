//! Format-preserving edits: change one document of a file so it means the new value, touching
//! only the lines of keys whose meaning changed. Comments, key order, anchors, quoting and
//! indentation elsewhere stay byte-identical.
//!
//! The edit walks the document's node tree against (old, new) values. Unchanged subtrees are
//! skipped; a changed scalar is replaced in its span; a new key is inserted after the last entry
//! of its mapping; a removed key loses its lines; sequences of equal length are walked item by
//! item, appended to, or thinned. Whatever cannot be edited in place (a key that comes from a
//! merge, an entry that shares its line with a `- `) is replaced one level up. The result is
//! parsed again and must mean the new value; otherwise the whole document is rewritten.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::emit::{self, Style};
use crate::yaml::{self, key_str, line_end, line_start, Node, NodeKind};

/// A replacement of `start..end` by `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Edit {
    start: usize,
    end: usize,
    text: String,
}

/// Equality of meaning: nulls, empty maps and empty lists are the same as absent, and a scalar
/// equals another whose text is the same (`"8080"` and `8080`, as Kubernetes types coerce them).
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.iter()
                .all(|(k, v)| y.get(k).map_or(is_empty(v), |w| same(v, w)))
                && y.iter().all(|(k, w)| x.contains_key(k) || is_empty(w))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same(v, w))
        }
        (Value::String(s), Value::Number(n)) | (Value::Number(n), Value::String(s)) => {
            *s == n.to_string()
        }
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => is_empty(a) && is_empty(b) || a == b,
    }
}

/// Equality of meaning for a whole document: [`same`], except inside free-form data where
/// nulls, empty lists and the types of scalars mean something of their own, and only equal
/// values are the same: a HelmRelease's `spec.values` (Helm deletes a chart default for a
/// `null`, and a chart may test whether `8080` is a string).
pub fn same_doc(a: &Value, b: &Value) -> bool {
    if free_form(a) || free_form(b) {
        same_in(Some(a), Some(b), true, &mut Vec::new())
    } else {
        same(a, b)
    }
}

/// Whether a document holds free-form data hapl must compare exactly (see [`same_doc`]).
fn free_form(doc: &Value) -> bool {
    doc.get("kind").and_then(Value::as_str) == Some("HelmRelease")
}

/// Whether `path` (keys from the document root; `#` for a list item) is inside the exactly
/// compared data of a free-form document: below `spec.values`, not `spec.values` itself, which
/// is the same absent, null or empty.
fn exact_at(free: bool, path: &[String]) -> bool {
    free && path.len() > 2 && path[0] == "spec" && path[1] == "values"
}

fn same_in(a: Option<&Value>, b: Option<&Value>, free: bool, path: &mut Vec<String>) -> bool {
    let exact = exact_at(free, path);
    match (a, b) {
        (None, None) => true,
        (Some(v), None) | (None, Some(v)) => !exact && is_empty(v),
        (Some(a), Some(b)) if exact => a == b,
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let only_in_y = y.keys().filter(|k| !x.contains_key(*k));
            x.keys().chain(only_in_y).all(|k| {
                path.push(k.clone());
                let r = same_in(x.get(k), y.get(k), free, path);
                path.pop();
                r
            })
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            path.push("#".into());
            let r = x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|(v, w)| same_in(Some(v), Some(w), free, path));
            path.pop();
            r
        }
        (Some(a), Some(b)) => same(a, b),
    }
}

/// Null, `{}` or `[]`: the same as a missing field.
pub fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Where a node sits: decides how a block replacement is written.
#[derive(Clone, Copy)]
enum Slot<'a> {
    Root,
    MapValue(&'a Node),
    SeqItem,
}

struct Ctx<'a> {
    text: &'a str,
    anchors: BTreeMap<usize, &'a Node>,
    style: &'a Style,
    edits: Vec<Edit>,
    /// Whether the document holds free-form data compared exactly (see [`same_doc`]).
    free: bool,
    /// Keys from the document root to the node being walked (`#` for a list item).
    path: Vec<String>,
}

impl Ctx<'_> {
    /// [`same_doc`]'s equality for the values at `path` + `child` (the current node if `None`).
    fn same(&mut self, child: Option<&str>, a: Option<&Value>, b: Option<&Value>) -> bool {
        if !self.free {
            return match (a, b) {
                (Some(a), Some(b)) => same(a, b),
                (Some(v), None) | (None, Some(v)) => is_empty(v),
                (None, None) => true,
            };
        }
        if let Some(c) = child {
            self.path.push(c.to_owned());
        }
        let r = same_in(a, b, self.free, &mut self.path);
        if child.is_some() {
            self.path.pop();
        }
        r
    }

    fn exact(&mut self, child: &str) -> bool {
        self.path.push(child.to_owned());
        let r = exact_at(self.free, &self.path);
        self.path.pop();
        r
    }
}

/// Whether `text` has a carriage return that is not part of a CRLF: a line break to YAML (old
/// Mac line ends) but not to the line arithmetic of edits. [`patch_document`] does not take such
/// text; the plan refuses to edit the file.
pub fn has_lone_cr(text: &str) -> bool {
    text.match_indices('\r')
        .any(|(i, _)| !text[i + 1..].starts_with('\n'))
}

/// The text of a whole file after changing the document whose root is `root` from `old` to
/// `new` (`text` has no lone carriage return, see [`has_lone_cr`]). `doc_range` is the document's byte range, used when it must be rewritten whole.
pub fn patch_document(
    text: &str,
    root: &Node,
    doc_range: (usize, usize),
    old: &Value,
    new: &Value,
    style: &Style,
) -> String {
    let mut patched = edit_once(text, root, old, new, style);
    // An edit inside an anchored node changes its aliases and `<<` merges too; the next pass
    // sees those as differences and pins them (an alias written out, an explicit key).
    for _ in 0..3 {
        let Ok(docs) = yaml::parse(&patched) else {
            break;
        };
        let Some(root) = docs
            .iter()
            .rev()
            .find(|d| d.start <= doc_range.0)
            .and_then(|d| d.root.as_ref())
        else {
            break;
        };
        let now = yaml::to_value(root, &yaml::anchors(root));
        if same_doc(&now, new) {
            return patched;
        }
        patched = edit_once(&patched, root, &now, new, style);
    }
    // The in-place edit did not read back as the new value (an anchor used elsewhere, say):
    // rewrite this one document.
    rewrite(text, doc_range, new, style)
}

/// `text` with the document at `doc_range` replaced by `new`, written whole.
fn rewrite(text: &str, doc_range: (usize, usize), new: &Value, style: &Style) -> String {
    let mut doc = String::new();
    if text[doc_range.0..].starts_with("---") {
        doc.push_str("---\n");
    }
    doc.push_str(&emit::block(new, 0, style));
    let mut out = String::with_capacity(text.len() + doc.len());
    out.push_str(&text[..doc_range.0]);
    out.push_str(&newlines(text, &doc));
    out.push_str(&text[doc_range.1..]);
    out
}

/// One pass of edits from `old` (what `root` means) towards `new`.
fn edit_once(text: &str, root: &Node, old: &Value, new: &Value, style: &Style) -> String {
    let mut ctx = Ctx {
        text,
        anchors: yaml::anchors(root),
        style,
        edits: Vec::new(),
        free: free_form(old) || free_form(new),
        path: Vec::new(),
    };
    if !walk(&mut ctx, root, old, new) {
        replace(&mut ctx, root, new, Slot::Root);
    }
    apply(text, ctx.edits)
}

fn apply(text: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by(|a, b| b.start.cmp(&a.start).then(b.end.cmp(&a.end)));
    let mut out = text.to_owned();
    let mut limit = usize::MAX;
    for e in edits {
        // Overlapping edits cannot both apply, nor can a span the parser reported inverted or
        // inside a character (odd tagged or empty nodes): the read-back check in
        // `patch_document` catches the result and rewrites the document instead.
        if e.end > limit
            || e.start > e.end
            || !text.is_char_boundary(e.start)
            || !text.is_char_boundary(e.end)
        {
            continue;
        }
        out.replace_range(e.start..e.end, &newlines(text, &e.text));
        limit = e.start;
    }
    out
}

/// `s` with the file's line breaks (CRLF files stay CRLF).
pub fn newlines(file: &str, s: &str) -> String {
    if file.contains("\r\n") {
        s.replace("\r\n", "\n").replace('\n', "\r\n")
    } else {
        s.to_owned()
    }
}

fn column(text: &str, pos: usize) -> usize {
    pos - line_start(text, pos)
}

/// Try to edit `node` in place; `false` asks the caller to replace it.
fn walk(ctx: &mut Ctx, node: &Node, old: &Value, new: &Value) -> bool {
    if ctx.same(None, Some(old), Some(new)) {
        return true;
    }
    match (&node.kind, old, new) {
        // A mapping left with no keys is written `{}` by the caller: a key with nothing under
        // it would read as null.
        (NodeKind::Map(entries), Value::Object(o), Value::Object(n))
            if !node.flow && !entries.is_empty() && !n.is_empty() =>
        {
            let explicit: BTreeMap<&str, &(Node, Node)> = entries
                .iter()
                .filter_map(|e| key_of(&ctx.anchors, &e.0).map(|k| (k, e)))
                .collect();
            let indent = column(ctx.text, entries[0].0.start);
            let mut inserts = String::new();
            for (k, nv) in n {
                let ov = o.get(k);
                if ctx.same(Some(k), ov, Some(nv)) {
                    continue;
                }
                match explicit.get(k.as_str()) {
                    Some((kn, vn)) => {
                        let ov = ov.cloned().unwrap_or(Value::Null);
                        ctx.path.push(k.clone());
                        let edited = walk(ctx, vn, &ov, nv);
                        ctx.path.pop();
                        if !edited {
                            replace(ctx, vn, nv, Slot::MapValue(kn));
                        }
                    }
                    None => inserts.push_str(&emit::entry(k, nv, indent, ctx.style)),
                }
            }
            for (k, ov) in o {
                if n.contains_key(k) || (is_empty(ov) && !ctx.exact(k)) {
                    continue;
                }
                match explicit.get(k.as_str()) {
                    Some((kn, vn)) => {
                        let start = line_start(ctx.text, kn.start);
                        if !ctx.text[start..kn.start].trim().is_empty() {
                            return false;
                        }
                        ctx.edits.push(Edit {
                            start,
                            end: line_end(ctx.text, vn.end),
                            text: String::new(),
                        });
                    }
                    // Merged in from an anchor: only a rewrite of the mapping can drop it.
                    None => return false,
                }
            }
            if !inserts.is_empty() {
                let last = entries.last().expect("non-empty");
                insert_after(ctx, last.1.end, inserts);
            }
            true
        }
        (NodeKind::Seq(items), Value::Array(o), Value::Array(n))
            if !node.flow && !items.is_empty() =>
        {
            if o.len() == n.len() && items.len() == o.len() {
                ctx.path.push("#".into());
                for ((item, ov), nv) in items.iter().zip(o).zip(n) {
                    if !walk(ctx, item, ov, nv) {
                        replace(ctx, item, nv, Slot::SeqItem);
                    }
                }
                ctx.path.pop();
                return true;
            }
            if items.len() != o.len() {
                return false;
            }
            let dash = dash_col(ctx.text, &items[0]);
            if n.len() > o.len()
                && o.iter()
                    .zip(n)
                    .all(|(a, b)| ctx.same(Some("#"), Some(a), Some(b)))
            {
                let tail = Value::Array(n[o.len()..].to_vec());
                let last = items.last().expect("non-empty");
                let text = emit::block(&tail, dash, ctx.style);
                insert_after(ctx, last.end, text);
                return true;
            }
            if n.len() < o.len() && !n.is_empty() {
                // Drop the items that are gone, when the rest keep their order (all of them:
                // the caller writes `[]`, since a key with no items left would read as null).
                let mut keep = n.iter().peekable();
                let mut drop = Vec::new();
                for (i, ov) in o.iter().enumerate() {
                    if keep
                        .peek()
                        .is_some_and(|nv| ctx.same(Some("#"), Some(ov), Some(nv)))
                    {
                        keep.next();
                    } else {
                        drop.push(i);
                    }
                }
                if keep.peek().is_none() {
                    for i in drop {
                        let item = &items[i];
                        let start = line_start(ctx.text, item.start);
                        ctx.edits.push(Edit {
                            start,
                            end: line_end(ctx.text, item.end),
                            text: String::new(),
                        });
                    }
                    return true;
                }
            }
            false
        }
        _ => false,
    }
}

/// A mapping key's string, through an alias (`*app :`) when it is one.
fn key_of<'a>(anchors: &BTreeMap<usize, &'a Node>, key: &'a Node) -> Option<&'a str> {
    match &key.kind {
        NodeKind::Alias(id) => anchors.get(id).and_then(|n| key_str(n)),
        _ => key_str(key),
    }
}

/// Column of the `- ` that introduces a sequence item.
fn dash_col(text: &str, item: &Node) -> usize {
    let start = line_start(text, item.start);
    text[start..item.start]
        .rfind('-')
        .unwrap_or_else(|| column(text, item.start))
}

fn insert_after(ctx: &mut Ctx, end: usize, text: String) {
    let at = line_end(ctx.text, end);
    let text = if at == ctx.text.len() && !ctx.text.ends_with('\n') {
        format!("\n{text}")
    } else {
        text
    };
    ctx.edits.push(Edit {
        start: at,
        end: at,
        text,
    });
}

/// Replace a node's text with the new value, written to fit where the node sits.
fn replace(ctx: &mut Ctx, node: &Node, new: &Value, slot: Slot) {
    if node.flow {
        ctx.edits.push(Edit {
            start: node.start,
            end: node.end,
            text: emit::flow(new),
        });
        return;
    }
    if let Some(s) = emit::inline(new) {
        ctx.edits.push(Edit {
            start: node.start,
            end: node.end,
            text: s,
        });
        return;
    }
    match slot {
        Slot::MapValue(key) => {
            let indent = column(ctx.text, key.start);
            let colon = ctx.text[key.end..]
                .find(':')
                .map_or(key.end, |i| key.end + i + 1);
            let mut body = emit::entry("k", new, indent, ctx.style);
            // `emit::entry` writes `<indent>k:` first; keep what follows the colon.
            body.replace_range(..indent + 2, "");
            let body = body.strip_suffix('\n').unwrap_or(&body).to_owned();
            ctx.edits.push(Edit {
                start: colon,
                end: node.end,
                text: body,
            });
        }
        Slot::SeqItem | Slot::Root => {
            let indent = column(ctx.text, node.start);
            let body = emit::block(new, indent, ctx.style);
            let body = body.strip_suffix('\n').unwrap_or(&body);
            ctx.edits.push(Edit {
                start: node.start,
                end: node.end,
                text: body[indent..].to_owned(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patch(text: &str, new: Value) -> String {
        let docs = yaml::parse(text).unwrap();
        let doc = &docs[0];
        let root = doc.root.as_ref().unwrap();
        let old = yaml::to_value(root, &yaml::anchors(root));
        patch_document(
            text,
            root,
            (doc.start, doc.end),
            &old,
            &new,
            &Style::default(),
        )
    }

    #[test]
    fn a_changed_scalar_moves_only_its_line() {
        let text = "---\n# top\nspec:\n  values:\n    image: &img\n      tag: \"1.0\" # pinned\n    other: *img\n  x: 1\n";
        let new =
            json!({"spec": {"values": {"image": {"tag": "2.0"}, "other": {"tag": "1.0"}}, "x": 1}});
        assert_eq!(
            patch(text, new),
            "---\n# top\nspec:\n  values:\n    image: &img\n      tag: '2.0' # pinned\n    other:\n      tag: '1.0'\n  x: 1\n"
        );
    }

    #[test]
    fn keys_are_inserted_and_removed_in_place() {
        let text = "a: 1 # one\nb:\n  c: 2\n  d: 3\ne: [1, 2]\n";
        let out = patch(
            text,
            json!({"a": 1, "b": {"c": 2, "f": {"g": ["x"]}}, "e": [1, 3]}),
        );
        assert_eq!(
            out,
            "a: 1 # one\nb:\n  c: 2\n  f:\n    g:\n      - x\ne: [1, 3]\n"
        );
    }

    #[test]
    fn sequences_are_appended_to_and_thinned() {
        let text = "l:\n- a\n- b # keep\n- c\n";
        assert_eq!(patch(text, json!({"l": ["a", "c"]})), "l:\n- a\n- c\n");
        assert_eq!(
            patch(text, json!({"l": ["a", "b", "c", "d"]})),
            "l:\n- a\n- b # keep\n- c\n- d\n"
        );
    }

    #[test]
    fn crlf_files_stay_crlf() {
        let text = "a: 1\r\nb: 2\r\n";
        assert_eq!(
            patch(text, json!({"a": 1, "b": 2, "c": {"d": 1}})),
            "a: 1\r\nb: 2\r\nc:\r\n  d: 1\r\n"
        );
    }

    #[test]
    fn formatting_only_differences_are_the_same() {
        assert!(same(&json!({"a": {}, "b": "80"}), &json!({"b": 80})));
        assert!(!same(&json!({"a": {"x": 1}}), &json!({})));
    }
}
