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

/// Any serializable data (a `kustomization.yaml`, say) as YAML, in its serialization order.
pub fn data_to_yaml<T: serde::Serialize>(data: &T) -> String {
    value_to_yaml(&serde_json::to_value(data).expect("plain data serializes"))
}

/// Any value as YAML.
pub fn value_to_yaml(value: &Value) -> String {
    fast_yaml(value).unwrap_or_else(|| {
        serde_yaml::to_string(value).expect("JSON values always serialize to YAML")
    })
}

/// The bytes `serde_yaml` writes for a mapping whose keys and strings are plain words (names,
/// quantities, versions, paths, URLs, image references: nearly every Kubernetes object), written
/// directly: `serde_yaml` decides the style of every scalar by trying to parse it and then runs
/// libyaml's emitter, which is most of the time `hapl render` spends. Anything else (floats,
/// strings with spaces, quotes or line breaks, nested sequences, long keys) gives `None`, and
/// the caller uses `serde_yaml` for the whole document. A test compares both on many documents.
fn fast_yaml(value: &Value) -> Option<String> {
    match value {
        Value::Object(map) if !map.is_empty() => {
            let mut out = String::with_capacity(1024);
            block_map(map, 0, false, &mut out)?;
            Some(out)
        }
        _ => None,
    }
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// `key: value` lines at column `at`; with `inline`, the first line's indentation is already
/// written (after a sequence's `- `).
fn block_map(map: &Map<String, Value>, at: usize, inline: bool, out: &mut String) -> Option<()> {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 || !inline {
            indent(out, at);
        }
        if key.len() > 100 || !plain_word(key) || !reads_as_string(key) {
            return None;
        }
        out.push_str(key);
        out.push(':');
        match value {
            Value::Object(m) if !m.is_empty() => {
                out.push('\n');
                block_map(m, at + 2, false, out)?;
            }
            Value::Array(a) if !a.is_empty() => {
                out.push('\n');
                block_seq(a, at, out)?;
            }
            _ => {
                out.push(' ');
                scalar(value, out)?;
                out.push('\n');
            }
        }
    }
    Some(())
}

/// `- item` lines at column `at` (a sequence in a mapping is not indented further).
fn block_seq(items: &[Value], at: usize, out: &mut String) -> Option<()> {
    for item in items {
        indent(out, at);
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => block_map(m, at + 2, true, out)?,
            Value::Array(a) if !a.is_empty() => return None,
            _ => {
                scalar(item, out)?;
                out.push('\n');
            }
        }
    }
    Some(())
}

fn scalar(value: &Value, out: &mut String) -> Option<()> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) if n.is_i64() || n.is_u64() => out.push_str(&n.to_string()),
        Value::String(s) if plain_word(s) => {
            if reads_as_string(s) {
                out.push_str(s);
            } else {
                // `'true'`, `'5'`: what serde_yaml writes for strings YAML would read otherwise.
                out.push('\'');
                out.push_str(s);
                out.push('\'');
            }
        }
        Value::Object(m) if m.is_empty() => out.push_str("{}"),
        Value::Array(a) if a.is_empty() => out.push_str("[]"),
        _ => return None,
    }
    Some(())
}

/// Letters, digits and `._/=-` (and `:` not at the end), starting with a letter, digit, `/` or
/// `./` (Flux paths): libyaml writes such a string plain (or single-quoted), never with escapes.
fn plain_word(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphanumeric() || b[0] == b'/' || s.starts_with("./"))
        && b[b.len() - 1] != b':'
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"._/=-:".contains(&c))
}

/// Whether YAML reads the plain word back as a string (serde_yaml's own inference: null, bools,
/// integers in any radix, finite floats, and digit strings with a leading zero are quoted).
fn reads_as_string(s: &str) -> bool {
    if matches!(
        s,
        "null" | "Null" | "NULL" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE"
    ) {
        return false;
    }
    if !s.as_bytes()[0].is_ascii_digit() {
        return true; // every number form left in a plain word starts with a digit
    }
    let radix = |prefix: &str, radix: u32| {
        s.strip_prefix(prefix)
            .is_some_and(|rest| i128::from_str_radix(rest, radix).is_ok())
    };
    let number = s.parse::<i128>().is_ok()
        || radix("0x", 16)
        || radix("0o", 8)
        || radix("0b", 2)
        || s.parse::<f64>().is_ok_and(f64::is_finite);
    let leading_zero = s.len() > 1 && s.starts_with('0') && s.bytes().all(|c| c.is_ascii_digit());
    !number && !leading_zero
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn same_as_serde_yaml(value: &Value) -> bool {
        let expected = serde_yaml::to_string(value).unwrap();
        match fast_yaml(value) {
            Some(fast) => {
                assert_eq!(fast, expected, "for {value}");
                true
            }
            None => false,
        }
    }

    #[test]
    fn the_direct_writer_matches_serde_yaml_on_kubernetes_objects() {
        let docs = [
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                   "metadata": {"name": "app-1-data", "namespace": "app-1"},
                   "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                            "storageClassName": "nfs-storage"}}),
            json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                   "metadata": {"name": "nfs", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                   "allowVolumeExpansion": true, "mountOptions": ["nfsvers=4.1", "hard"],
                   "parameters": {"server": "nas.lan", "share": "/volume1/k8s"}}),
            json!({"spec": {"values": {"image": {"repository": "ghcr.io/example/app:1", "tag": "1.2.3"},
                   "persistence": {"data": {"globalMounts": [{"path": "/data", "subPath": "x"}, {"path": "/b"}]}},
                   "replicas": 1, "port": 8123, "big": 18446744073709551615u64, "neg": -5, "none": null,
                   "empty": {}, "list": [], "n": [1, true, null, {}, []], "zero": "0", "octal": "0755",
                   "hex": "0x1F", "oct": "0o17", "bin": "0b101", "exp": "1e5", "flt": "1.5", "ver": "3.7.3",
                   "cpu": "500m", "url": "https://charts.example.org/x", "path": "./apps/x", "yes": "yes", "on": "on",
                   "nullish": "null", "dash": "a-", "i": "1_000"}}}),
        ];
        for doc in &docs {
            assert!(
                same_as_serde_yaml(doc),
                "the direct writer should take {doc}"
            );
        }
    }

    #[test]
    fn the_direct_writer_matches_serde_yaml_or_declines_on_random_values() {
        // Deterministic pseudo-random values over an alphabet with YAML's troublemakers.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        // Half the words from the characters of plain words, so that many values take the
        // direct path; the rest from an alphabet with YAML's troublemakers.
        let plain: Vec<char> = "abZ0189._/=-:".chars().collect();
        let tricky: Vec<char> = "aZ09._/=-:~ #'\"!&*?|>%@`,[]{}\nxeE+_".chars().collect();
        let words = [
            "true", "null", "0", "07", "1.0", "1e3", "0x1", ".inf", "-", "yes", "3.7.3", "1Gi",
            "./a", "./", ".5", "...",
        ];
        let mut taken = 0;
        for _ in 0..3000 {
            let mut map = Map::new();
            for _ in 0..1 + next(4) {
                let word = |next: &mut dyn FnMut(u64) -> u64| -> String {
                    let chars = if next(2) == 0 { &plain } else { &tricky };
                    if next(3) == 0 {
                        words[next(words.len() as u64) as usize].to_owned()
                    } else {
                        (0..1 + next(5))
                            .map(|_| chars[next(chars.len() as u64) as usize])
                            .collect()
                    }
                };
                let key = word(&mut next);
                let value = match next(5) {
                    0 => json!([word(&mut next), {"k": word(&mut next)}]),
                    1 => json!({"inner": word(&mut next)}),
                    2 => json!(next(1000)),
                    _ => Value::String(word(&mut next)),
                };
                map.insert(key, value);
            }
            if same_as_serde_yaml(&Value::Object(map)) {
                taken += 1;
            }
        }
        assert!(
            taken > 100,
            "the direct writer took only {taken} of 3000 values"
        );
    }
}
