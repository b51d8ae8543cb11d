//! The check behind the `patch` fuzz target, shared with the regression test that replays the
//! inputs it crashed on (crates/hapl-repo/tests/fuzz_regressions.rs): arbitrary YAML and an
//! arbitrary edit (a value set at a path of the first mapping document); the patched text parses,
//! holds the new value, and every other document is unchanged.

use arbitrary::Arbitrary;
use hapl_repo::{emit::Style, patch, yaml};
use serde_json::Value;

#[derive(Debug, Arbitrary)]
pub struct Input {
    pub yaml: String,
    pub path: Vec<String>,
    pub value: Leaf,
}

#[derive(Debug, Arbitrary)]
pub enum Leaf {
    Str(String),
    Int(i64),
    Bool(bool),
    Null,
    List(Vec<String>),
}

impl Leaf {
    fn value(&self) -> Value {
        match self {
            Leaf::Str(s) => Value::String(s.clone()),
            Leaf::Int(i) => Value::from(*i),
            Leaf::Bool(b) => Value::Bool(*b),
            Leaf::Null => Value::Null,
            Leaf::List(l) => l.iter().map(|s| Value::String(s.clone())).collect(),
        }
    }
}

/// `value` with `leaf` set at `path` (maps created on the way); `None` if a step is not a map.
fn set(value: &Value, path: &[String], leaf: Value) -> Option<Value> {
    let Some((first, rest)) = path.split_first() else {
        return Some(leaf);
    };
    let mut map = value.as_object()?.clone();
    let inner = map
        .get(first)
        .cloned()
        .unwrap_or(Value::Object(Default::default()));
    map.insert(first.clone(), set(&inner, rest, leaf)?);
    Some(Value::Object(map))
}

fn values(docs: &[yaml::Document]) -> Vec<Option<Value>> {
    docs.iter()
        .map(|d| {
            d.root
                .as_ref()
                .map(|r| yaml::to_value(r, &yaml::anchors(r)))
        })
        .collect()
}

/// Panics when the patcher breaks its promise for `input`.
pub fn check(input: &Input) {
    // The plan refuses to edit a file with lone carriage returns; the patcher does not take one.
    if patch::has_lone_cr(&input.yaml) {
        return;
    }
    let Ok(docs) = yaml::parse(&input.yaml) else {
        return;
    };
    let Some(i) = docs.iter().position(|d| {
        d.root
            .as_ref()
            .is_some_and(|r| matches!(r.kind, yaml::NodeKind::Map(_)))
    }) else {
        return;
    };
    if input.path.is_empty() || input.path.len() > 4 {
        return;
    }
    let root = docs[i].root.as_ref().expect("root");
    let old = yaml::to_value(root, &yaml::anchors(root));
    let Some(new) = set(&old, &input.path, input.value.value()) else {
        return;
    };
    let patched = patch::patch_document(
        &input.yaml,
        root,
        (docs[i].start, docs[i].end),
        &old,
        &new,
        &Style::default(),
    );
    let after = yaml::parse(&patched)
        .unwrap_or_else(|e| panic!("the patched text does not parse: {e:?}\n{patched}"));
    let (before_values, after_values) = (values(&docs), values(&after));
    assert_eq!(before_values.len(), after_values.len(), "{patched}");
    for (j, (b, a)) in before_values.iter().zip(&after_values).enumerate() {
        if j == i {
            let a = a.as_ref().expect("the document is still there");
            assert!(patch::same_doc(a, &new), "{a:?} != {new:?}\n{patched}");
        } else {
            assert_eq!(b, a, "document {j} changed\n{patched}");
        }
    }
}
