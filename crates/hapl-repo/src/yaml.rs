//! YAML with positions: a node tree over saphyr-parser's events, every node carrying its byte
//! span in the file, and the conversion of nodes to plain values the way Kubernetes reads them
//! (YAML 1.1 scalars such as the octal `0755`, anchors, aliases, `<<` merge keys).

use std::collections::BTreeMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::{Map, Number, Value};

/// A node and where it sits in the file (byte offsets, 1-based lines).
#[derive(Debug, Clone)]
pub struct Node {
    pub kind: NodeKind,
    pub start: usize,
    pub end: usize,
    pub line: usize,
    /// The anchor id (`&name`) the node defines, 0 for none.
    pub anchor: usize,
    /// A flow collection (`{...}`, `[...]`).
    pub flow: bool,
}

#[derive(Debug, Clone)]
pub enum NodeKind {
    Scalar {
        value: String,
        style: ScalarStyle,
        tag: Option<String>,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
    Alias(usize),
}

/// One document of a stream.
#[derive(Debug, Clone)]
pub struct Document {
    /// `None` for an empty or comment-only document.
    pub root: Option<Node>,
    /// Byte range of the whole document, from its `---` (or first content) up to the next
    /// document; comment lines in between belong to the document that follows them.
    pub start: usize,
    pub end: usize,
    pub explicit_start: bool,
}

/// A syntax error at a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub col: usize,
    pub message: String,
    /// One of the reader's limits (depth, alias expansion), not a syntax error as such.
    pub limit: bool,
}

/// Byte offsets of a text whose parser reports character offsets.
struct Offsets {
    /// Byte offset of every char, for non-ASCII text; empty when bytes and chars agree.
    bytes: Vec<usize>,
    base: usize,
    len: usize,
}

impl Offsets {
    fn new(text: &str, base: usize) -> Self {
        let bytes = if text.is_ascii() {
            Vec::new()
        } else {
            text.char_indices().map(|(i, _)| i).collect()
        };
        Offsets {
            bytes,
            base,
            len: text.len(),
        }
    }

    fn at(&self, chars: usize) -> usize {
        self.base
            + if self.bytes.is_empty() {
                chars.min(self.len)
            } else {
                self.bytes.get(chars).copied().unwrap_or(self.len)
            }
    }
}

enum Open {
    Seq(Node, Vec<Node>),
    Map(Node, Vec<(Node, Node)>, Option<Node>),
}

/// Deepest nesting of collections the reader accepts (Kubernetes objects stay far below; the
/// conversion to values stops at the same depth).
pub const MAX_DEPTH: usize = 64;

/// Most nodes that aliases may add to a document when expanded (refuses "billion laughs").
pub const MAX_ALIAS_NODES: usize = 100_000;

/// Parse every document of a file. A UTF-8 byte-order mark is skipped (offsets stay file offsets).
/// Duplicate keys, nesting deeper than [`MAX_DEPTH`] and aliases expanding to more than
/// [`MAX_ALIAS_NODES`] nodes are syntax errors.
pub fn parse(text: &str) -> Result<Vec<Document>, SyntaxError> {
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let body = &text[bom..];
    flow_depth(body)?;
    let off = Offsets::new(body, bom);
    let mut parser = Parser::new_from_str(body);
    let mut docs: Vec<Document> = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut current: Option<Document> = None;
    let mut pending_root: Option<Node> = None;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| SyntaxError {
            line: e.marker().line(),
            col: e.marker().col() + 1,
            message: e.info().to_owned(),
            limit: false,
        })?;
        let node_at = |kind: NodeKind, span: &Span, anchor: usize, flow: bool| Node {
            kind,
            start: off.at(span.start.index()),
            end: off.at(span.end.index()),
            line: span.start.line(),
            anchor,
            flow,
        };
        let finished: Option<Node> = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => None,
            Event::DocumentStart(explicit) => {
                current = Some(Document {
                    root: None,
                    start: line_start(text, off.at(span.start.index())),
                    end: text.len(),
                    explicit_start: explicit,
                });
                None
            }
            Event::DocumentEnd => {
                if let Some(mut doc) = current.take() {
                    // A document without content comes as a null scalar that is not in the text.
                    doc.root = pending_root.take().filter(|n| match &n.kind {
                        NodeKind::Scalar {
                            value,
                            style: ScalarStyle::Plain,
                            tag: None,
                        } if value == "~" => text[n.start..].starts_with('~'),
                        _ => true,
                    });
                    docs.push(doc);
                }
                None
            }
            Event::Alias(id) => Some(node_at(NodeKind::Alias(id), &span, 0, false)),
            Event::Scalar(value, style, anchor, tag) => Some(node_at(
                NodeKind::Scalar {
                    value: value.into_owned(),
                    style,
                    tag: tag.map(|t| format!("{}{}", t.handle, t.suffix)),
                },
                &span,
                anchor,
                false,
            )),
            Event::SequenceStart(..) | Event::MappingStart(..) if stack.len() >= MAX_DEPTH => {
                return Err(SyntaxError {
                    line: span.start.line(),
                    col: span.start.col() + 1,
                    message: format!("nested deeper than {MAX_DEPTH} levels"),
                    limit: true,
                });
            }
            Event::SequenceStart(anchor, _) => {
                let flow = body[char_range(&off, &span, body)].starts_with('[');
                stack.push(Open::Seq(
                    node_at(NodeKind::Seq(Vec::new()), &span, anchor, flow),
                    Vec::new(),
                ));
                None
            }
            Event::MappingStart(anchor, _) => {
                let flow = body[char_range(&off, &span, body)].starts_with('{');
                stack.push(Open::Map(
                    node_at(NodeKind::Map(Vec::new()), &span, anchor, flow),
                    Vec::new(),
                    None,
                ));
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Open::Seq(mut node, items)) => {
                    node.end = items.last().map_or(node.end, |n| n.end);
                    if node.flow {
                        node.end = off.at(span.end.index());
                    }
                    node.kind = NodeKind::Seq(items);
                    Some(node)
                }
                _ => None,
            },
            Event::MappingEnd => match stack.pop() {
                Some(Open::Map(mut node, entries, _)) => {
                    duplicate_keys(&entries)?;
                    node.end = entries.last().map_or(node.end, |(_, v)| v.end);
                    if node.flow {
                        node.end = off.at(span.end.index());
                    }
                    node.kind = NodeKind::Map(entries);
                    Some(node)
                }
                _ => None,
            },
        };
        if let Some(node) = finished {
            match stack.last_mut() {
                Some(Open::Seq(_, items)) => items.push(node),
                Some(Open::Map(_, entries, key)) => match key.take() {
                    Some(k) => entries.push((k, node)),
                    None => *key = Some(node),
                },
                None => pending_root = Some(node),
            }
        }
    }
    // Each document runs up to the next one; comment-only lines before a `---` belong to the
    // document that follows.
    for i in 0..docs.len() {
        let end = docs.get(i + 1).map_or(text.len(), |d| d.start);
        docs[i].end = end;
    }
    for doc in &mut docs {
        if let Some(root) = &mut doc.root {
            alias_nodes(root, &mut BTreeMap::new(), &mut 0)?;
            trim_block_scalar_ends(root, text);
        }
    }
    Ok(docs)
}

/// Refuses flow nesting deeper than [`MAX_DEPTH`] before parsing (the parser slows down
/// quadratically with it). Brackets inside quoted scalars and comments do not count (a string
/// hapl wrote may hold any number of them); elsewhere every bracket counts, so the scan errs on
/// the side of refusing: a quote opens a quoted scalar only where one can start (after `: `,
/// `- `, `? ` or at the start of a line in block context; after `[`, `{`, `,`, `:` or a space
/// inside brackets), and only a text with more than [`MAX_DEPTH`] unclosed brackets is refused.
fn flow_depth(text: &str) -> Result<(), SyntaxError> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    // The last byte that was not a space or tab on this line (`\n` at a line start).
    let mut prev = b'\n';
    while i < bytes.len() {
        let b = bytes[i];
        let after_space = i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b'\n');
        match b {
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'#' if after_space => {
                i = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
                continue;
            }
            b'|' | b'>' if depth == 0 && after_space && matches!(prev, b':' | b'-' | b'?') => {
                if let Some(end) = block_scalar_end(text, i, prev) {
                    i = end;
                    prev = b'\n';
                    continue;
                }
            }
            b'"' | b'\''
                if (depth == 0 && after_space && matches!(prev, b'\n' | b':' | b'-' | b'?'))
                    || (depth > 0
                        && (after_space || matches!(prev, b'[' | b'{' | b',' | b':'))) =>
            {
                i = closing_quote(bytes, i).map_or(bytes.len(), |e| e + 1);
                prev = b;
                continue;
            }
            _ => {}
        }
        if depth > MAX_DEPTH {
            return Err(SyntaxError {
                line: line_of(text, i),
                col: i - line_start(text, i) + 1,
                message: format!("nested deeper than {MAX_DEPTH} levels"),
                limit: true,
            });
        }
        if b == b'\n' {
            prev = b'\n';
        } else if b != b' ' && b != b'\t' {
            prev = b;
        }
        i += 1;
    }
    Ok(())
}

/// Where the content of the block scalar whose indicator (`|` or `>`) is at `at` ends: the start
/// of the first line after it that is neither blank nor indented deeper than its parent (the
/// key, or the `-` when the indicator follows one). `None` when `at` is not a block scalar
/// indicator (other text follows it on its line).
fn block_scalar_end(text: &str, at: usize, prev: u8) -> Option<usize> {
    let line_end = text[at..].find('\n').map_or(text.len(), |n| at + n);
    let header = text[at + 1..line_end].trim_end_matches('\r');
    let modifiers = header.split_once(" #").map_or(header, |(m, _)| m);
    if !modifiers
        .trim_end()
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'+' || b == b'-')
    {
        return None;
    }
    let start = line_start(text, at);
    let line = &text[start..at];
    let parent = if prev == b'-' {
        line.rfind('-')?
    } else {
        // The key's column: past the indentation and any `- ` of compact sequences.
        let mut col = 0;
        let b = line.as_bytes();
        while col < b.len() && (b[col] == b' ' || (b[col] == b'-' && b.get(col + 1) == Some(&b' ')))
        {
            col += 1;
        }
        col
    };
    let mut pos = line_end;
    while pos < text.len() {
        let next = pos + 1;
        let end = text[next..].find('\n').map_or(text.len(), |n| next + n);
        let content = &text[next..end];
        let indent = content.len() - content.trim_start_matches(' ').len();
        if !content.trim().is_empty() && indent <= parent {
            return Some(next);
        }
        pos = end;
    }
    Some(text.len())
}

/// The index of the quote that closes the one at `open` (`\"` escapes in double quotes, `''`
/// in single quotes).
fn closing_quote(bytes: &[u8], open: usize) -> Option<usize> {
    let q = bytes[open];
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if q == b'"' => i += 1,
            c if c == q => {
                if q == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                    i += 1;
                } else {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// A key written twice in one mapping (`<<` merge keys aside): an error at the second one.
fn duplicate_keys(entries: &[(Node, Node)]) -> Result<(), SyntaxError> {
    let mut keys: Vec<(&str, usize, usize)> = entries
        .iter()
        .enumerate()
        .filter_map(|(i, (k, _))| key_str(k).filter(|k| *k != "<<").map(|s| (s, i, k.line)))
        .collect();
    keys.sort_unstable();
    match keys.windows(2).find(|w| w[0].0 == w[1].0) {
        Some(w) => Err(SyntaxError {
            line: w[1].2,
            col: 1,
            message: format!("duplicate key `{}` (first at line {})", w[0].0, w[0].2),
            limit: false,
        }),
        None => Ok(()),
    }
}

/// The size of `node` with its aliases expanded; refuses an alias inside its own anchor and
/// more than [`MAX_ALIAS_NODES`] nodes added by aliases. `sizes` holds each finished anchor's
/// size, so the walk is linear in the text however much the aliases expand.
fn alias_nodes(
    node: &Node,
    sizes: &mut BTreeMap<usize, usize>,
    added: &mut usize,
) -> Result<usize, SyntaxError> {
    let size = match &node.kind {
        NodeKind::Scalar { .. } => 1,
        NodeKind::Alias(id) => {
            let Some(&size) = sizes.get(id) else {
                return Err(SyntaxError {
                    line: node.line,
                    col: 1,
                    message: "an alias inside the anchor it refers to".into(),
                    limit: true,
                });
            };
            *added = added.saturating_add(size);
            if *added > MAX_ALIAS_NODES {
                return Err(SyntaxError {
                    line: node.line,
                    col: 1,
                    message: format!(
                        "aliases expand to more than {MAX_ALIAS_NODES} nodes (a \"billion laughs\" document?)"
                    ),
                    limit: true,
                });
            }
            size
        }
        NodeKind::Seq(items) => {
            let mut size = 1usize;
            for item in items {
                size = size.saturating_add(alias_nodes(item, sizes, added)?);
            }
            size
        }
        NodeKind::Map(entries) => {
            let mut size = 1usize;
            for (k, v) in entries {
                size = size.saturating_add(alias_nodes(k, sizes, added)?);
                size = size.saturating_add(alias_nodes(v, sizes, added)?);
            }
            size
        }
    };
    if node.anchor != 0 {
        sizes.insert(node.anchor, size);
    }
    Ok(size)
}

fn char_range(off: &Offsets, span: &Span, body: &str) -> std::ops::Range<usize> {
    let start = off.at(span.start.index()) - off.base;
    start..body.len()
}

/// Block scalars and plain multi-line scalars report an end after their trailing line breaks;
/// keep spans on content so an edit never swallows the next line.
fn trim_block_scalar_ends(node: &mut Node, text: &str) {
    match &mut node.kind {
        NodeKind::Scalar { .. } | NodeKind::Alias(_) => {
            if let NodeKind::Scalar {
                style: ScalarStyle::Literal | ScalarStyle::Folded,
                ..
            } = &node.kind
            {
                // The span starts at the content; the node starts at its `|` / `>` header.
                if let Some(i) = text[..node.start].rfind(['|', '>']) {
                    node.line -= text[i..node.start].matches('\n').count();
                    node.start = i;
                }
            }
            let trimmed = text[node.start..node.end].trim_end_matches([' ', '\t', '\r', '\n']);
            node.end = node.start + trimmed.len();
            if let Some(end) = quoted_end(text, node.start) {
                node.end = end;
            }
        }
        NodeKind::Seq(items) => {
            for item in items.iter_mut() {
                trim_block_scalar_ends(item, text);
            }
            if !node.flow {
                node.end = items.last().map_or(node.end, |n| n.end);
            }
        }
        NodeKind::Map(entries) => {
            for (k, v) in entries.iter_mut() {
                trim_block_scalar_ends(k, text);
                trim_block_scalar_ends(v, text);
            }
            if !node.flow {
                node.end = entries.last().map_or(node.end, |(_, v)| v.end);
            }
        }
    }
}

/// The end of a quoted scalar starting at `start` (the parser's span runs on over a trailing
/// comment).
fn quoted_end(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let quote = *bytes.get(start)?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b if b == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Offset of the start of the line holding `pos`.
pub fn line_start(text: &str, pos: usize) -> usize {
    text[..pos].rfind('\n').map_or(0, |i| i + 1)
}

/// Offset just after the line break ending the line holding `pos` (or the end of the text).
pub fn line_end(text: &str, pos: usize) -> usize {
    text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1)
}

/// 1-based line of a byte offset.
pub fn line_of(text: &str, pos: usize) -> usize {
    text.as_bytes()[..pos.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The string a mapping key stands for.
pub fn key_str(node: &Node) -> Option<&str> {
    match &node.kind {
        NodeKind::Scalar { value, .. } => Some(value),
        _ => None,
    }
}

/// Anchors of a document: id → node, collected in document order.
pub fn anchors(root: &Node) -> BTreeMap<usize, &Node> {
    fn walk<'a>(node: &'a Node, out: &mut BTreeMap<usize, &'a Node>) {
        if node.anchor != 0 {
            out.insert(node.anchor, node);
        }
        match &node.kind {
            NodeKind::Seq(items) => items.iter().for_each(|n| walk(n, out)),
            NodeKind::Map(entries) => entries.iter().for_each(|(k, v)| {
                walk(k, out);
                walk(v, out);
            }),
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    walk(root, &mut out);
    out
}

/// A node's plain value: aliases resolved, merge keys applied (explicit keys win), scalars typed
/// as YAML 1.1 does for Kubernetes.
pub fn to_value(node: &Node, anchors: &BTreeMap<usize, &Node>) -> Value {
    let mut budget = ALIAS_BUDGET;
    to_value_depth(node, anchors, 0, &mut budget)
}

/// How many nodes aliases may expand to in one document: an "alias bomb" (aliases of aliases
/// of ...) stops there instead of exhausting memory; what is left reads as null.
const ALIAS_BUDGET: usize = 1 << 20;

fn to_value_depth(
    node: &Node,
    anchors: &BTreeMap<usize, &Node>,
    depth: usize,
    budget: &mut usize,
) -> Value {
    if depth > MAX_DEPTH || *budget == 0 {
        return Value::Null;
    }
    *budget -= 1;
    match &node.kind {
        NodeKind::Scalar { value, style, tag } => scalar_value(value, *style, tag.as_deref()),
        NodeKind::Alias(id) => anchors.get(id).map_or(Value::Null, |n| {
            to_value_depth(n, anchors, depth + 1, budget)
        }),
        NodeKind::Seq(items) => Value::Array(
            items
                .iter()
                .map(|n| to_value_depth(n, anchors, depth + 1, budget))
                .collect(),
        ),
        NodeKind::Map(entries) => {
            let mut explicit = Map::new();
            let mut merged = Map::new();
            for (k, v) in entries {
                let key = match &k.kind {
                    NodeKind::Scalar { value, .. } => value.clone(),
                    _ => match to_value_depth(k, anchors, depth + 1, budget) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    },
                };
                if key == "<<"
                    && matches!(
                        &k.kind,
                        NodeKind::Scalar {
                            style: ScalarStyle::Plain,
                            ..
                        }
                    )
                {
                    match to_value_depth(v, anchors, depth + 1, budget) {
                        Value::Object(m) => merge_into(&mut merged, m),
                        Value::Array(list) => {
                            for item in list {
                                if let Value::Object(m) = item {
                                    merge_into(&mut merged, m);
                                }
                            }
                        }
                        _ => {}
                    }
                } else {
                    explicit.insert(key, to_value_depth(v, anchors, depth + 1, budget));
                }
            }
            for (k, v) in explicit {
                merged.insert(k, v);
            }
            Value::Object(merged)
        }
    }
}

/// Earlier merge sources win over later ones.
fn merge_into(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        into.entry(k).or_insert(v);
    }
}

fn scalar_value(value: &str, style: ScalarStyle, tag: Option<&str>) -> Value {
    match tag {
        Some("tag:yaml.org,2002:str") | Some("!!str") => return Value::String(value.to_owned()),
        Some(t) if t.ends_with("binary") => return Value::String(value.to_owned()),
        _ => {}
    }
    if style != ScalarStyle::Plain {
        return Value::String(value.to_owned());
    }
    resolve_plain(value)
}

/// Whether a plain scalar reads back as this string (what `resolve_plain` would say, without
/// allocating: the emitter asks this for every string it writes).
pub fn plain_is_string(s: &str) -> bool {
    keyword(s).is_none() && (!could_be_number(s) || matches!(resolve_plain(s), Value::String(_)))
}

fn keyword(s: &str) -> Option<Value> {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => Some(Value::Null),
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
            Some(Value::Bool(true))
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
            Some(Value::Bool(false))
        }
        _ => None,
    }
}

/// Every number `resolve_plain` reads is made of these bytes (an optional sign, then digits,
/// `_`, the `0x`/`0o`/`0b` prefixes, hex digits, a float's `.`, exponent and sign) and has a
/// digit: anything else is a string.
fn could_be_number(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    digits
        .bytes()
        .all(|b| b.is_ascii_hexdigit() || matches!(b, b'_' | b'x' | b'o' | b'.' | b'+' | b'-'))
        && digits.bytes().any(|b| b.is_ascii_digit())
}

/// The YAML 1.1 resolution Kubernetes' YAML reader applies to plain scalars.
pub fn resolve_plain(s: &str) -> Value {
    if let Some(v) = keyword(s) {
        return v;
    }
    if !could_be_number(s) {
        return Value::String(s.to_owned());
    }
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    // i128 holds every integer JSON can (i64 and u64); wider ones fall through to floats.
    let int = if let Some(hex) = clean.strip_prefix("0x") {
        i128::from_str_radix(hex, 16).ok()
    } else if let Some(oct) = clean.strip_prefix("0o") {
        i128::from_str_radix(oct, 8).ok()
    } else if let Some(bin) = clean.strip_prefix("0b") {
        i128::from_str_radix(bin, 2).ok()
    } else if clean.len() > 1 && clean.starts_with('0') && clean.bytes().all(|b| b.is_ascii_digit())
    {
        i128::from_str_radix(&clean[1..], 8).ok()
    } else if !clean.is_empty() && clean.bytes().all(|b| b.is_ascii_digit()) {
        clean.parse::<i128>().ok()
    } else {
        None
    };
    if let Some(n) = int {
        if digits.len() == clean.len() || clean.len() > 1 {
            let n = if neg { -n } else { n };
            if let Ok(i) = i64::try_from(n) {
                return Value::Number(Number::from(i));
            }
            if let Ok(u) = u64::try_from(n) {
                return Value::Number(Number::from(u));
            }
        }
    }
    let looks_float = !clean.is_empty()
        && clean
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && clean.bytes().any(|b| b.is_ascii_digit())
        && clean.bytes().filter(|b| *b == b'.').count() <= 1;
    if looks_float {
        if let Ok(f) = s.replace('_', "").parse::<f64>() {
            if let Some(n) = Number::from_f64(f) {
                return Value::Number(n);
            }
        }
    }
    Value::String(s.to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn brackets_in_quotes_and_comments_are_not_nesting_but_real_nesting_is_refused() {
        let many = "[".repeat(MAX_DEPTH + 10);
        for ok in [
            format!("k: \"{many}\"\n"),
            format!("k: '{many}'\n"),
            format!("? \"a\\\"{many}\"\n: v\n"),
            format!("k: [\"{many}\", '{many}']\n"),
            format!("k: v # {many}\n"),
            format!("k: |\n  {many}\n  x\nl: 1\n"),
            format!("- |2-\n\n    {many}\n- >\n  {many}\n"),
            format!("a:\n  - k: |+\n      {many}\n"),
        ] {
            let docs = parse(&ok).unwrap_or_else(|e| panic!("{ok}: {e:?}"));
            assert!(docs[0].root.is_some(), "{ok}");
        }
        for deep in [
            format!("k: {many}\n"),
            format!("a: don't\nk: {many}\n"),
            format!("k: [a'b, {many}\n"),
            format!("k: |\n  text\nl: {many}\n"),
            format!("k: | x {many}\n"),
        ] {
            let e = parse(&deep).expect_err(&deep);
            assert!(e.limit, "{deep}: {e:?}");
        }
    }

    use super::*;

    fn values(text: &str) -> Vec<Value> {
        parse(text)
            .unwrap()
            .iter()
            .filter_map(|d| d.root.as_ref().map(|r| to_value(r, &anchors(r))))
            .collect()
    }

    #[test]
    fn spans_are_byte_offsets_of_the_content() {
        let text = "---\n# c\na: 1 # x\nb:\n  - \"é\"\n  - |\n    line\n\nc: {d: 1}\n";
        let docs = parse(text).unwrap();
        let root = docs[0].root.as_ref().unwrap();
        let NodeKind::Map(entries) = &root.kind else {
            panic!()
        };
        assert_eq!(&text[entries[0].1.start..entries[0].1.end], "1");
        let NodeKind::Seq(items) = &entries[1].1.kind else {
            panic!()
        };
        assert_eq!(&text[items[0].start..items[0].end], "\"é\"");
        assert_eq!(&text[items[1].start..items[1].end], "|\n    line");
        assert_eq!(&text[entries[2].1.start..entries[2].1.end], "{d: 1}");
        assert!(entries[2].1.flow);
        assert_eq!(entries[2].0.line, 9);
    }

    #[test]
    fn yaml_1_1_scalars_anchors_and_merge_keys() {
        let v = values("a: &x {m: 0755, n: yes, o: '0755', p: ~}\nb:\n  <<: *x\n  n: false\n");
        assert_eq!(
            v[0],
            serde_json::json!({"a": {"m": 493, "n": true, "o": "0755", "p": null},
                               "b": {"m": 493, "n": false, "o": "0755", "p": null}})
        );
    }

    #[test]
    fn bom_crlf_empty_and_comment_only_documents() {
        let text = "\u{feff}---\r\na: 1\r\n---\r\n# only a comment\r\n---\r\n- x\r\n";
        let docs = parse(text).unwrap();
        assert_eq!(docs.len(), 3);
        assert!(docs[1].root.is_none());
        assert_eq!(
            values(text),
            vec![serde_json::json!({"a": 1}), serde_json::json!(["x"])]
        );
        let root = docs[0].root.as_ref().unwrap();
        let NodeKind::Map(entries) = &root.kind else {
            panic!()
        };
        assert_eq!(&text[entries[0].1.start..entries[0].1.end], "1");
    }

    #[test]
    fn an_alias_bomb_stops() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        // Refused while reading (10^10 nodes), before any expansion is attempted.
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("alias"), "{err:?}");
    }

    #[test]
    fn a_syntax_error_has_its_line() {
        let err = parse("a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(err.line >= 2, "{err:?}");
    }
}
