//! kustomize's own `kustomization.yaml` (`kustomize.config.k8s.io/v1beta1`), the file every
//! directory of a Flux repo carries.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const API_VERSION: &str = "kustomize.config.k8s.io/v1beta1";

/// Top-level keys kustomize understands beyond the typed ones. Anything else is a typo.
pub const OTHER_KNOWN_KEYS: &[&str] = &[
    "buildMetadata",
    "commonAnnotations",
    "commonLabels",
    "configMapGenerator",
    "configurations",
    "crds",
    "generatorOptions",
    "generators",
    "helmCharts",
    "helmGlobals",
    "images",
    "labels",
    "metadata",
    "namePrefix",
    "nameSuffix",
    "openapi",
    "patches",
    "patchesJson6902",
    "patchesStrategicMerge",
    "replacements",
    "replicas",
    "secretGenerator",
    "sortOptions",
    "transformers",
    "validators",
    "vars",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KustomizationFile {
    #[serde(default = "default_api_version")]
    pub api_version: String,
    #[serde(default = "default_kind")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

fn default_api_version() -> String {
    API_VERSION.to_owned()
}

fn default_kind() -> String {
    "Kustomization".to_owned()
}

impl KustomizationFile {
    pub fn new(resources: Vec<String>) -> Self {
        KustomizationFile {
            api_version: default_api_version(),
            kind: default_kind(),
            namespace: None,
            resources,
            components: Vec::new(),
            other: BTreeMap::new(),
        }
    }

    /// Keys that kustomize would reject.
    pub fn unknown_keys(&self) -> Vec<&str> {
        self.other
            .keys()
            .map(String::as_str)
            .filter(|k| !OTHER_KNOWN_KEYS.contains(k))
            .collect()
    }
}
