//! Deterministic YAML: same object, same bytes, in every process.
//!
//! Top-level keys follow Kubernetes convention (`apiVersion, kind, metadata, spec`, then the
//! rest in the type's own order); `metadata` starts with `name, namespace, labels, annotations`.
//! Maps inside come out in the order the types serialize them (struct order, `BTreeMap` order);
//! free-form maps (Helm values) keep the order the script wrote them in.

use serde_json::{Map, Value};

use crate::resource::Resource;

const TOP_ORDER: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "spec",
    "type",
    "data",
    "stringData",
];
const META_ORDER: &[&str] = &["name", "namespace", "labels", "annotations"];

fn reorder(map: Map<String, Value>, order: &[&str]) -> Map<String, Value> {
    let mut map = map;
    let mut out = Map::with_capacity(map.len());
    for key in order {
        if let Some(v) = map.shift_remove(*key) {
            out.insert((*key).to_owned(), v);
        }
    }
    out.extend(map);
    out
}

/// The plain value of an object in rendering order.
pub fn ordered_value(resource: &Resource) -> Value {
    match resource.to_value() {
        Value::Object(map) => {
            let mut map = reorder(map, TOP_ORDER);
            if let Some(Value::Object(meta)) = map.get_mut("metadata") {
                *meta = reorder(std::mem::take(meta), META_ORDER);
            }
            Value::Object(map)
        }
        other => other,
    }
}

/// One object as a YAML document (no leading `---`).
pub fn to_yaml(resource: &Resource) -> String {
    value_to_yaml(&ordered_value(resource))
}

/// Any value as YAML.
pub fn value_to_yaml(value: &Value) -> String {
    serde_yaml::to_string(value).expect("JSON values always serialize to YAML")
}
