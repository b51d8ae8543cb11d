//! Every source text the engine saw, by the name diagnostics use for it.

use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: BTreeMap<String, String>,
}

impl Sources {
    pub fn insert(&mut self, name: impl Into<String>, text: impl Into<String>) {
        self.files.insert(name.into(), text.into());
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.files.get(name).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}
