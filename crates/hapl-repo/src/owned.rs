//! The ownership record, `.hapl/owned.yaml`: the objects hapl created or adopted in the repo.
//!
//! hapl deletes an object only when the record lists it and the script no longer declares it;
//! everything else (hand-written YAML, `flux-system/gotk-*`) is left alone unless the script
//! declares an object with its identity, which adopts it. The file is plain YAML, sorted by
//! identity, one entry per object, so it reviews like code:
//!
//! ```yaml
//! # Objects hapl manages in this repository; see HACKING.md "The ownership record".
//! version: 1
//! objects:
//!   - kind: HelmRelease
//!     group: helm.toolkit.fluxcd.io
//!     namespace: home
//!     name: home-assistant
//!     file: apps/home/home-assistant/helmrelease-home-assistant.yaml
//!     phase: 2
//! ```

use std::collections::BTreeMap;

use hapl_core::Identity;
use saphyr_parser::{Event, Parser, ScalarStyle, StrInput};
use serde::Serialize;

/// Where the record lives, relative to the repo root.
pub const OWNED_PATH: &str = ".hapl/owned.yaml";

const HEADER: &str = "# Objects hapl manages in this repository. hapl deletes an object only when it is listed\n# here and the script no longer declares it. Written by hapl, sorted; review it like code.\n";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct Entry {
    kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    group: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    name: String,
    file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phase: Option<u8>,
}

#[derive(Debug, Serialize)]
struct File {
    version: u32,
    #[serde(default)]
    objects: Vec<Entry>,
}

/// What hapl owns: identity → (file, phase).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owned {
    pub objects: BTreeMap<Identity, (String, Option<u8>)>,
}

impl Owned {
    /// Read the record's text (`None` when the repo has none yet).
    ///
    /// The record of a large repo holds tens of thousands of entries, so it is read straight
    /// from the parser's events into entries, never into a tree of the whole file (serde_yaml
    /// holds every event of a document: 60 MB for 30,000 entries).
    pub fn parse(text: Option<&str>) -> Result<Owned, String> {
        let Some(text) = text else {
            return Ok(Owned::default());
        };
        let mut objects = BTreeMap::new();
        Record::new(text).read(|e: Entry| {
            objects.insert(
                Identity {
                    group: e.group,
                    kind: e.kind,
                    namespace: e.namespace,
                    name: e.name,
                },
                (e.file, e.phase),
            );
        })?;
        Ok(Owned { objects })
    }

    /// The record's text: deterministic, sorted by identity.
    pub fn render(&self) -> String {
        let file = File {
            version: 1,
            objects: self
                .objects
                .iter()
                .map(|(id, (file, phase))| Entry {
                    kind: id.kind.clone(),
                    group: id.group.clone(),
                    namespace: id.namespace.clone(),
                    name: id.name.clone(),
                    file: file.clone(),
                    phase: *phase,
                })
                .collect(),
        };
        let body = crate::emit::block(
            &serde_json::to_value(&file).expect("the record serializes"),
            0,
            &crate::emit::Style::default(),
        );
        format!("---\n{HEADER}{body}")
    }
}

/// The record's reader: saphyr-parser's events, one entry at a time.
struct Record<'t> {
    parser: Parser<'t, StrInput<'t>>,
    /// Line of the last event (1-based).
    line: usize,
}

/// YAML's null written as a plain scalar (`~`, `null`, nothing).
fn is_null(value: &str, style: ScalarStyle) -> bool {
    style == ScalarStyle::Plain && matches!(value, "" | "~" | "null" | "Null" | "NULL")
}

fn err(line: usize, message: impl std::fmt::Display) -> String {
    format!("{OWNED_PATH}:{line}: {message}")
}

impl<'t> Record<'t> {
    fn new(text: &'t str) -> Self {
        Record {
            parser: Parser::new_from_str(text.strip_prefix('\u{feff}').unwrap_or(text)),
            line: 1,
        }
    }

    fn next(&mut self) -> Result<Event<'t>, String> {
        match self.parser.next_event() {
            Some(Ok((event, span))) => {
                self.line = span.start.line();
                Ok(event)
            }
            Some(Err(e)) => Err(err(e.marker().line(), e.info())),
            None => Ok(Event::StreamEnd),
        }
    }

    /// A scalar's text; `None` for null (`~`, `null`, nothing).
    fn scalar(&mut self, what: &str) -> Result<Option<String>, String> {
        match self.next()? {
            Event::Scalar(value, style, anchor, _) => {
                if anchor != 0 {
                    return Err(err(self.line, "anchors are not used in the record"));
                }
                // A copy of exactly its length: the parser's string has room to spare.
                Ok((!is_null(&value, style)).then(|| String::from(value.as_ref())))
            }
            Event::Alias(_) => Err(err(self.line, "aliases are not used in the record")),
            _ => Err(err(self.line, format!("`{what}` must be a plain value"))),
        }
    }

    fn read(mut self, mut entry: impl FnMut(Entry)) -> Result<(), String> {
        let (mut version, mut listed) = (None, false);
        loop {
            match self.next()? {
                Event::StreamStart | Event::DocumentStart(_) | Event::Nothing => {}
                Event::MappingStart(..) => break,
                Event::StreamEnd => return Err(err(self.line, "the record is empty")),
                _ => return Err(err(self.line, "the record must be a mapping")),
            }
        }
        loop {
            let key = match self.next()? {
                Event::MappingEnd => break,
                Event::Scalar(key, ..) => key.into_owned(),
                _ => return Err(err(self.line, "keys of the record are plain words")),
            };
            let duplicate = || err(self.line, format!("duplicate field `{key}`"));
            match key.as_str() {
                "version" if version.is_some() => return Err(duplicate()),
                "objects" if listed => return Err(duplicate()),
                "version" => {
                    let v = self.scalar("version")?.unwrap_or_default();
                    version = Some(v.parse::<u32>().map_err(|_| {
                        err(self.line, format!("`version` must be a number, not `{v}`"))
                    })?);
                }
                "objects" => {
                    listed = true;
                    self.objects(&mut entry)?;
                }
                other => {
                    return Err(err(
                        self.line,
                        format!("unknown field `{other}`, expected `version` or `objects`"),
                    ));
                }
            }
        }
        loop {
            match self.next()? {
                Event::DocumentEnd | Event::Nothing => {}
                Event::StreamEnd => break,
                _ => return Err(err(self.line, "the record is one YAML document")),
            }
        }
        match version {
            Some(1) => Ok(()),
            Some(v) => Err(format!(
                "{OWNED_PATH}: version {v} is newer than this hapl understands (1)"
            )),
            None => Err(err(1, "missing field `version`")),
        }
    }

    fn objects(&mut self, entry: &mut impl FnMut(Entry)) -> Result<(), String> {
        match self.next()? {
            Event::SequenceStart(..) => {}
            // `objects:` with nothing after it.
            Event::Scalar(v, style, ..) if is_null(&v, style) => return Ok(()),
            _ => return Err(err(self.line, "`objects` must be a list")),
        }
        loop {
            match self.next()? {
                Event::SequenceEnd => return Ok(()),
                Event::MappingStart(..) => entry(self.entry()?),
                _ => return Err(err(self.line, "each entry of `objects` is a mapping")),
            }
        }
    }

    fn entry(&mut self) -> Result<Entry, String> {
        let line = self.line;
        let mut fields: [Option<Option<String>>; 6] = Default::default();
        const NAMES: [&str; 6] = ["kind", "group", "namespace", "name", "file", "phase"];
        loop {
            let key = match self.next()? {
                Event::MappingEnd => break,
                Event::Scalar(key, ..) => key.into_owned(),
                _ => return Err(err(self.line, "keys of an entry are plain words")),
            };
            let Some(i) = NAMES.iter().position(|n| *n == key) else {
                return Err(err(
                    self.line,
                    format!("unknown field `{key}`, expected one of `kind`, `group`, `namespace`, `name`, `file`, `phase`"),
                ));
            };
            if fields[i].is_some() {
                return Err(err(self.line, format!("duplicate field `{key}`")));
            }
            fields[i] = Some(self.scalar(&key)?);
        }
        let [kind, group, namespace, name, file, phase] = fields;
        let required = |v: Option<Option<String>>, what: &str| {
            v.flatten()
                .ok_or_else(|| err(line, format!("an entry without `{what}`")))
        };
        let phase = match phase.flatten() {
            None => None,
            Some(p) => Some(
                p.parse::<u8>()
                    .map_err(|_| err(line, format!("`phase` must be a number, not `{p}`")))?,
            ),
        };
        Ok(Entry {
            kind: required(kind, "kind")?,
            group: group.flatten().unwrap_or_default(),
            namespace: namespace.flatten(),
            name: required(name, "name")?,
            file: required(file, "file")?,
            phase,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_round_trips_sorted() {
        let mut owned = Owned::default();
        owned.objects.insert(
            Identity::new("", "Service", Some("home"), "b"),
            ("x/b.yaml".into(), None),
        );
        owned.objects.insert(
            Identity::new("apps", "Deployment", Some("home"), "a"),
            ("x/a.yaml".into(), Some(2)),
        );
        let text = owned.render();
        assert_eq!(Owned::parse(Some(&text)).unwrap(), owned);
        assert!(Owned::parse(Some("version: 1\nobjects:\n  - kinds: x\n")).is_err());
    }

    fn error_of(text: &str) -> String {
        Owned::parse(Some(text)).expect_err(text)
    }

    #[test]
    fn hand_edited_records_read_as_yaml_reads_them() {
        // Flow style, quotes, comments, nulls, a BOM, an explicit end: all YAML a person might
        // write; each must give the same record as the strict typed reading by serde_yaml.
        let texts = [
            "version: 1\nobjects: []\n",
            "version: 1\nobjects:\n",
            "version: 1\n",
            "\u{feff}---\n# note\nversion: 1 # one\nobjects:\n- {kind: Service, name: 'a b', file: \"x/a.yaml\", namespace: ~}\n...\n",
            "objects:\n  - kind: ConfigMap\n    group: null\n    namespace: home\n    name: \"yes\"\n    file: a.yaml\n    phase: 3\nversion: 1\n",
        ];
        for text in texts {
            let owned = Owned::parse(Some(text)).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            let file: serde_yaml::Value =
                serde_yaml::from_str(text.trim_start_matches('\u{feff}')).unwrap();
            let listed = file["objects"].as_sequence().map_or(0, Vec::len);
            assert_eq!(owned.objects.len(), listed, "{text:?}");
            for e in file["objects"].as_sequence().into_iter().flatten() {
                let s = |k: &str| {
                    e.get(k)
                        .and_then(serde_yaml::Value::as_str)
                        .map(str::to_owned)
                };
                let id = Identity {
                    group: s("group").unwrap_or_default(),
                    kind: s("kind").unwrap(),
                    namespace: s("namespace"),
                    name: s("name").unwrap(),
                };
                let phase = e
                    .get("phase")
                    .and_then(serde_yaml::Value::as_u64)
                    .map(|p| p as u8);
                assert_eq!(
                    owned.objects.get(&id),
                    Some(&(s("file").unwrap(), phase)),
                    "{text:?}"
                );
            }
        }
    }

    #[test]
    fn a_broken_record_is_an_error_with_its_line() {
        let cases = [
            (
                "version: 1\nobjects:\n  - kinds: x\n",
                ":3: unknown field `kinds`",
            ),
            (
                "version: 1\nobjects:\n  - kind: A\n    file: a.yaml\n",
                ":3: an entry without `name`",
            ),
            (
                "version: 1\nobjects:\n  - kind: A\n    name: a\n    name: b\n    file: a\n",
                ":5: duplicate field `name`",
            ),
            ("version: 1\nversion: 1\n", ":2: duplicate field `version`"),
            (
                "version: 1\nobjects: []\nobjects: []\n",
                ":3: duplicate field `objects`",
            ),
            ("version: 1\nowner: me\n", ":2: unknown field `owner`"),
            ("version: 2\n", "version 2 is newer"),
            ("version: one\n", "`version` must be a number"),
            ("objects: []\n", "missing field `version`"),
            ("", "the record is empty"),
            ("- a\n", "must be a mapping"),
            ("version: 1\nobjects: {}\n", ":2: `objects` must be a list"),
            (
                "version: 1\nobjects:\n  - kind: A\n    name: a\n    file: a\n    phase: 300\n",
                "`phase` must be a number",
            ),
            (
                "version: 1\nobjects:\n  - kind: &k A\n    name: a\n    file: a\n",
                ":3: anchors",
            ),
            (
                "version: 1\nobjects:\n  - kind: [A]\n",
                ":3: `kind` must be a plain value",
            ),
            ("version: 1\nobjects: [\n", "owned.yaml:"),
            ("version: 1\n---\nversion: 1\n", "one YAML document"),
        ];
        for (text, want) in cases {
            let e = error_of(text);
            assert!(e.starts_with(OWNED_PATH), "{text:?}: {e}");
            assert!(e.contains(want), "{text:?}: {e} (wanted {want:?})");
        }
    }
}
