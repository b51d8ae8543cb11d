//! Schema conformance: every kind hapl renders against the real schemas.
//!
//! Built-in kinds are checked against the strict Kubernetes 1.34 JSON Schemas in
//! `../shared/schemas/kubernetes-json-schema/v1.34.0/standalone-strict/`. Flux kinds and
//! SealedSecret and ClusterIssuer are checked against their CRDs (`../shared/schemas/flux-crds/`,
//! `../shared/schemas/sealed-secrets/`, `../shared/schemas/cert-manager/`), converted here to strict JSON Schema following the recipe
//! in `../shared/schemas/README.md`: `additionalProperties: false` wherever `properties` are
//! listed (the root too) unless the CRD preserves unknown fields there, `nullable` as a `null`
//! type, int-or-string as `anyOf`, `apiVersion`/`kind` pinned and required, and `metadata` as the
//! strict Kubernetes ObjectMeta. The ready-made crds-catalog files are not used: they leave the
//! root open, close preserve-unknown nodes, and reject `null` where the CRD allows it.
//!
//! Without `../shared` the tests print why and pass (under `CI=true` they fail instead).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use hapl_core::render::{ordered_value, to_yaml};
use hapl_core::{Resource, KINDS};
use jsonschema::Validator;
use serde_json::{json, Map, Value};

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
/// Built-in kinds: one self-contained strict schema per kind.
const K8S_DIR: &str = "schemas/kubernetes-json-schema/v1.34.0/standalone-strict";
/// A standalone file whose `$defs` carry ObjectMeta and everything it refers to.
const OBJECT_META_SOURCE: &str = "namespace-v1.json";
/// Folders of CRD YAML for the other kinds.
const CRD_DIRS: &[&str] = &[
    "schemas/flux-crds",
    "schemas/sealed-secrets",
    "schemas/cert-manager",
];
const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

// ------------------------------------------------------------------------------------------
// The schema catalog: one compiled validator per kind in `hapl_core::KINDS`.

struct Schema {
    /// The file the schema came from (for messages).
    source: PathBuf,
    /// The JSON Schema the validator was built from (converted, for CRDs).
    schema: Value,
    validator: Validator,
}

struct Catalog {
    /// Keyed by (apiVersion, kind); an `Err` says why that kind has no usable schema.
    kinds: BTreeMap<(String, String), Result<Schema, String>>,
    load_time: std::time::Duration,
}

impl Catalog {
    fn load(shared: &Path) -> Catalog {
        let started = Instant::now();
        let crds = load_crds(shared);
        let meta_defs = object_meta_defs(shared);
        let mut kinds = BTreeMap::new();
        for (api, kind, _) in KINDS {
            let schema = if is_builtin(api) {
                builtin_schema(shared, api, kind)
            } else {
                crd_schema(&crds, &meta_defs, api, kind)
            };
            kinds.insert((api.to_string(), kind.to_string()), schema);
        }
        Catalog {
            kinds,
            load_time: started.elapsed(),
        }
    }

    fn get(&self, api: &str, kind: &str) -> &Schema {
        match self.kinds.get(&(api.to_owned(), kind.to_owned())) {
            Some(Ok(schema)) => schema,
            Some(Err(why)) => panic!("no schema for {api} {kind}: {why}"),
            None => panic!("{api} {kind} is not in hapl_core::KINDS"),
        }
    }

    /// The schema for an object, chosen by its own `apiVersion` and `kind`.
    fn for_value(&self, value: &Value) -> &Schema {
        let (api, kind) = type_meta(value);
        self.get(&api, &kind)
    }
}

/// The catalog, loaded once for all tests; `None` (with a printed reason) without `../shared`.
fn catalog() -> Option<&'static Catalog> {
    static CATALOG: OnceLock<Option<Catalog>> = OnceLock::new();
    CATALOG
        .get_or_init(|| crate::support::shared().map(|shared| Catalog::load(&shared)))
        .as_ref()
}

fn type_meta(value: &Value) -> (String, String) {
    let field = |key: &str| {
        value
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("object without a string `{key}`: {value}"))
            .to_owned()
    };
    (field("apiVersion"), field("kind"))
}

fn split_api_version(api: &str) -> (&str, &str) {
    api.rsplit_once('/').unwrap_or(("", api))
}

/// Kinds whose schemas come from the Kubernetes OpenAPI (core group and `*.k8s.io` groups).
fn is_builtin(api: &str) -> bool {
    let (group, _) = split_api_version(api);
    group.is_empty() || !group.contains('.') || group.ends_with(".k8s.io")
}

/// `deployment-apps-v1.json`, `storageclass-storage-v1.json`, `persistentvolumeclaim-v1.json`.
fn builtin_file_name(api: &str, kind: &str) -> String {
    let (group, version) = split_api_version(api);
    let kind = kind.to_lowercase();
    match group.split('.').next() {
        Some(label) if !label.is_empty() => format!("{kind}-{label}-{version}.json"),
        _ => format!("{kind}-{version}.json"),
    }
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn compile(schema: &Value) -> Result<Validator, String> {
    jsonschema::options()
        .should_validate_formats(true)
        .offline()
        .build(schema)
        .map_err(|e| format!("does not compile: {e}"))
}

fn builtin_schema(shared: &Path, api: &str, kind: &str) -> Result<Schema, String> {
    let source = shared.join(K8S_DIR).join(builtin_file_name(api, kind));
    let schema = read_json(&source)?;
    // The file must really be the schema of this kind, not just a file with a fitting name.
    for (key, want) in [("apiVersion", api), ("kind", kind)] {
        let allowed = schema.pointer(&format!("/properties/{key}/enum"));
        if !allowed
            .and_then(Value::as_array)
            .is_some_and(|a| a.contains(&json!(want)))
        {
            return Err(format!(
                "{} does not allow {key} `{want}` (enum: {allowed:?})",
                source.display()
            ));
        }
    }
    let validator = compile(&schema).map_err(|e| format!("{}: {e}", source.display()))?;
    Ok(Schema {
        source,
        schema,
        validator,
    })
}

/// A CRD version's schema and where it came from.
struct CrdVersion {
    source: PathBuf,
    open_api: Value,
}

/// Every served version of every CRD in `CRD_DIRS`, keyed by (apiVersion, kind).
fn load_crds(shared: &Path) -> BTreeMap<(String, String), CrdVersion> {
    let mut crds = BTreeMap::new();
    for dir in CRD_DIRS {
        let dir = shared.join(dir);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("readable directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
            .collect();
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(&file).expect("readable CRD file");
            for doc in yaml_documents(&text) {
                let crd: Value = serde_yaml::from_str(doc)
                    .unwrap_or_else(|e| panic!("{}: not YAML: {e}", file.display()));
                if crd.get("kind") != Some(&json!("CustomResourceDefinition")) {
                    continue;
                }
                let group = crd
                    .pointer("/spec/group")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let kind = crd
                    .pointer("/spec/names/kind")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let versions = crd.pointer("/spec/versions").and_then(Value::as_array);
                for version in versions.into_iter().flatten() {
                    if version.get("served") != Some(&Value::Bool(true)) {
                        continue;
                    }
                    let (Some(name), Some(open_api)) = (
                        version.get("name").and_then(Value::as_str),
                        version.pointer("/schema/openAPIV3Schema"),
                    ) else {
                        continue;
                    };
                    crds.insert(
                        (format!("{group}/{name}"), kind.to_owned()),
                        CrdVersion {
                            source: file.clone(),
                            open_api: open_api.clone(),
                        },
                    );
                }
            }
        }
    }
    crds
}

/// The documents of a multi-document YAML file (split at `---` lines; CRD files have no
/// block scalars that could hold such a line).
fn yaml_documents(text: &str) -> Vec<&str> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" {
            docs.push(&text[start..offset]);
            start = offset + line.len();
        }
        offset += line.len();
    }
    docs.push(&text[start..]);
    docs.into_iter().filter(|d| !d.trim().is_empty()).collect()
}

/// ObjectMeta and every definition it refers to, from a standalone strict schema's `$defs`.
fn object_meta_defs(shared: &Path) -> Map<String, Value> {
    let file = shared.join(K8S_DIR).join(OBJECT_META_SOURCE);
    let schema = read_json(&file).unwrap_or_else(|e| panic!("{e}"));
    let all = schema["$defs"]
        .as_object()
        .expect("standalone schemas carry $defs");
    let mut defs = Map::new();
    let mut todo = vec![OBJECT_META.to_owned()];
    while let Some(name) = todo.pop() {
        if defs.contains_key(&name) {
            continue;
        }
        let def = all
            .get(&name)
            .unwrap_or_else(|| panic!("{}: no $defs/{name}", file.display()))
            .clone();
        collect_local_refs(&def, &mut todo);
        defs.insert(name, def);
    }
    assert_eq!(
        defs[OBJECT_META]["additionalProperties"],
        json!(false),
        "the ObjectMeta of {} is expected to be strict",
        file.display()
    );
    defs
}

fn collect_local_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                if let Some(name) = r.strip_prefix("#/$defs/") {
                    out.push(name.to_owned());
                }
            }
            map.values().for_each(|v| collect_local_refs(v, out));
        }
        Value::Array(list) => list.iter().for_each(|v| collect_local_refs(v, out)),
        _ => {}
    }
}

fn crd_schema(
    crds: &BTreeMap<(String, String), CrdVersion>,
    meta_defs: &Map<String, Value>,
    api: &str,
    kind: &str,
) -> Result<Schema, String> {
    let crd = crds
        .get(&(api.to_owned(), kind.to_owned()))
        .ok_or_else(|| {
            format!(
                "no served CRD version for {api} {kind} in {}",
                CRD_DIRS.join(", ")
            )
        })?;
    let schema = strict_crd_schema(&crd.open_api, api, kind, meta_defs);
    let validator = compile(&schema).map_err(|e| format!("{}: {e}", crd.source.display()))?;
    Ok(Schema {
        source: crd.source.clone(),
        schema,
        validator,
    })
}

/// A CRD's `openAPIV3Schema` as a strict JSON Schema (the README recipe).
fn strict_crd_schema(
    open_api: &Value,
    api: &str,
    kind: &str,
    meta_defs: &Map<String, Value>,
) -> Value {
    let mut schema = open_api.clone();
    make_strict(&mut schema);
    let root = schema.as_object_mut().expect("openAPIV3Schema is a map");
    let properties = root
        .get_mut("properties")
        .and_then(Value::as_object_mut)
        .expect("the CRD schema lists top-level properties");
    properties.insert("apiVersion".into(), json!({"type": "string", "const": api}));
    properties.insert("kind".into(), json!({"type": "string", "const": kind}));
    properties.insert(
        "metadata".into(),
        json!({"$ref": format!("#/$defs/{OBJECT_META}")}),
    );
    let required = root.entry("required").or_insert_with(|| json!([]));
    let required = required.as_array_mut().expect("`required` is a list");
    for key in ["apiVersion", "kind"] {
        if !required.contains(&json!(key)) {
            required.push(json!(key));
        }
    }
    root.insert("$schema".into(), json!(DRAFT_2020_12));
    root.insert("$defs".into(), Value::Object(meta_defs.clone()));
    schema
}

/// Walk schema positions only (never into `enum`, `default` or `example` values).
fn make_strict(node: &mut Value) {
    let Value::Object(map) = node else { return };
    let is_true = |map: &Map<String, Value>, key: &str| map.get(key) == Some(&Value::Bool(true));

    if map.contains_key("properties")
        && !map.contains_key("additionalProperties")
        && !is_true(map, "x-kubernetes-preserve-unknown-fields")
    {
        map.insert("additionalProperties".into(), Value::Bool(false));
    }
    if is_true(map, "x-kubernetes-int-or-string") && !map.contains_key("anyOf") {
        map.insert(
            "anyOf".into(),
            json!([{"type": "integer"}, {"type": "string"}]),
        );
    }
    if is_true(map, "nullable") {
        map.remove("nullable");
        match map.get("type").cloned() {
            Some(Value::String(t)) => {
                map.insert("type".into(), json!([t, "null"]));
            }
            None => {
                if let Some(Value::Array(any)) = map.get_mut("anyOf") {
                    any.push(json!({"type": "null"}));
                }
            }
            Some(_) => {}
        }
        if let Some(Value::Array(values)) = map.get_mut("enum") {
            if !values.contains(&Value::Null) {
                values.push(Value::Null);
            }
        }
    }

    if let Some(Value::Object(properties)) = map.get_mut("properties") {
        properties.values_mut().for_each(make_strict);
    }
    if let Some(additional @ Value::Object(_)) = map.get_mut("additionalProperties") {
        make_strict(additional);
    }
    match map.get_mut("items") {
        Some(Value::Array(items)) => items.iter_mut().for_each(make_strict),
        Some(items) => make_strict(items),
        None => {}
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(list)) = map.get_mut(key) {
            list.iter_mut().for_each(make_strict);
        }
    }
    if let Some(not) = map.get_mut("not") {
        make_strict(not);
    }
}

// ------------------------------------------------------------------------------------------
// Validation helpers.

/// `instance path: message` for every error, empty when the value is valid.
fn errors(schema: &Schema, value: &Value) -> Vec<(String, String)> {
    schema
        .validator
        .iter_errors(value)
        .map(|e| (e.instance_path().to_string(), e.to_string()))
        .collect()
}

fn describe(errors: &[(String, String)]) -> String {
    errors
        .iter()
        .map(|(path, message)| {
            let path = if path.is_empty() { "(root)" } else { path };
            format!("  - at {path}: {message}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn label_of(value: &Value) -> String {
    let (api, kind) = type_meta(value);
    let name = value
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("?");
    format!("{api} {kind} {name}")
}

/// Validate a value and describe any failure (schema source, errors, and the value).
fn check(catalog: &Catalog, what: &str, value: &Value, failures: &mut Vec<String>) {
    let schema = catalog.for_value(value);
    let errs = errors(schema, value);
    if !errs.is_empty() {
        failures.push(format!(
            "{what} does not validate against {}:\n{}\n  value: {}",
            schema.source.display(),
            describe(&errs),
            serde_json::to_string_pretty(value).unwrap()
        ));
    }
}

/// The YAML hapl writes to git, read back as a plain value.
fn yaml_round_trip(resource: &Resource) -> Value {
    let yaml = to_yaml(resource);
    serde_yaml::from_str(&yaml)
        .unwrap_or_else(|e| panic!("hapl's YAML does not parse: {e}\n{yaml}"))
}

fn assert_no_failures(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} failure(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

// ------------------------------------------------------------------------------------------
// Tests.

#[test]
fn every_kind_hapl_knows_has_a_schema() {
    let Some(catalog) = catalog() else { return };
    eprintln!("schemas loaded and compiled in {:?}", catalog.load_time);
    let mut failures = Vec::new();
    for (api, kind, _) in KINDS {
        match &catalog.kinds[&(api.to_string(), kind.to_string())] {
            Err(why) => failures.push(format!("{api} {kind}: {why}")),
            Ok(schema) => {
                // Strict from the root down: a misspelt top-level key must not pass.
                if schema.schema["additionalProperties"] != json!(false) {
                    failures.push(format!(
                        "{api} {kind}: the root of {} is not strict",
                        schema.source.display()
                    ));
                }
                // CRD schemas are converted here: type meta must be pinned and required.
                if !is_builtin(api) {
                    let required = schema.schema["required"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    for key in ["apiVersion", "kind"] {
                        if !required.contains(&json!(key)) {
                            failures.push(format!("{api} {kind}: `{key}` is not required"));
                        }
                    }
                }
                // A value of another kind must never pass this kind's schema.
                let other = json!({"apiVersion": "example.com/v1", "kind": "Other", "metadata": {"name": "x"}});
                if schema.validator.is_valid(&other) {
                    failures.push(format!("{api} {kind}: accepts an object of another kind"));
                }
            }
        }
    }
    assert_no_failures(&failures);
}

#[test]
fn every_rendered_object_of_the_minimal_example_validates() {
    let Some(catalog) = catalog() else { return };
    let script = crate::support::root().join("examples/minimal/platform.rhai");
    let options = hapl_script::Options {
        lib_dir: None,
        ..Default::default()
    };
    let evaluation = hapl_script::evaluate_file(&script, &options).unwrap_or_else(|f| {
        panic!(
            "{} does not evaluate: {:#?}",
            script.display(),
            f.diagnostics
        )
    });
    let objects = &evaluation.platform.objects;
    assert!(
        !objects.is_empty(),
        "the minimal example renders no objects"
    );

    let mut failures = Vec::new();
    let mut kinds = BTreeSet::new();
    for object in objects {
        let resource = &object.resource;
        kinds.insert(resource.kind());
        let value = ordered_value(resource);
        let what = label_of(&value);
        check(catalog, &format!("rendered {what}"), &value, &mut failures);
        let from_yaml = yaml_round_trip(resource);
        check(
            catalog,
            &format!("rendered YAML of {what}"),
            &from_yaml,
            &mut failures,
        );
        if from_yaml != value {
            failures.push(format!(
                "the YAML of {what} does not read back as the rendered value:\n{}",
                to_yaml(resource)
            ));
        }
    }
    assert_no_failures(&failures);
    // The example is small but should exercise both schema families.
    for kind in [
        "StorageClass",
        "PersistentVolumeClaim",
        "HelmRepository",
        "HelmRelease",
    ] {
        assert!(
            kinds.contains(kind),
            "the minimal example no longer renders a {kind}: {kinds:?}"
        );
    }
}

#[test]
fn a_valid_sample_of_every_kind_validates() {
    let Some(catalog) = catalog() else { return };
    let samples = samples();
    let covered: BTreeSet<(String, String)> = samples.iter().map(|(_, v)| type_meta(v)).collect();
    for (api, kind, _) in KINDS {
        assert!(
            covered.contains(&(api.to_string(), kind.to_string())),
            "no valid sample of {api} {kind}: add one to samples()"
        );
    }

    let mut failures = Vec::new();
    for (label, sample) in &samples {
        // The hand-written sample itself must be valid, or the test proves nothing.
        let schema = catalog.for_value(sample);
        let raw_errors = errors(schema, sample);
        if !raw_errors.is_empty() {
            failures.push(format!(
                "sample `{label}` itself is invalid (fix the sample) against {}:\n{}",
                schema.source.display(),
                describe(&raw_errors)
            ));
            continue;
        }
        let resource = match Resource::from_value(sample.clone()) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("hapl rejects the valid sample `{label}`: {e}"));
                continue;
            }
        };
        let rendered = ordered_value(&resource);
        check(
            catalog,
            &format!("hapl's rendering of sample `{label}`"),
            &rendered,
            &mut failures,
        );
        let from_yaml = yaml_round_trip(&resource);
        check(
            catalog,
            &format!("hapl's YAML of sample `{label}`"),
            &from_yaml,
            &mut failures,
        );
        // Nothing valid may be dropped, renamed or reshaped on the way through the typed model.
        if rendered != *sample {
            failures.push(format!(
                "hapl changes sample `{label}` on the way through:\n  in:  {sample}\n  out: {rendered}"
            ));
        }
    }
    assert_no_failures(&failures);
}

#[test]
fn a_broken_object_of_every_kind_is_rejected() {
    let Some(catalog) = catalog() else { return };
    let samples: BTreeMap<&str, Value> = samples().into_iter().collect();
    let cases = broken_cases();

    let mut failures = Vec::new();
    let mut covered = BTreeSet::new();
    for case in &cases {
        let base = samples
            .get(case.base)
            .unwrap_or_else(|| panic!("case `{}`: no sample `{}`", case.label, case.base));
        // The unbroken base must pass, so a rejection is down to the one edit.
        let schema = catalog.for_value(base);
        assert!(
            schema.validator.is_valid(base),
            "case `{}`: the base sample `{}` is not valid itself:\n{}",
            case.label,
            case.base,
            describe(&errors(schema, base))
        );
        covered.insert(type_meta(base));

        let mut broken = base.clone();
        case.edit.apply(&mut broken);
        let errs = errors(schema, &broken);
        let hit = errs
            .iter()
            .any(|(path, message)| path == case.path && message.contains(case.needle));
        if errs.is_empty() {
            failures.push(format!(
                "case `{}` is accepted by {} but must be rejected at `{}`\n  value: {}",
                case.label,
                schema.source.display(),
                case.path,
                broken
            ));
        } else if !hit {
            failures.push(format!(
                "case `{}` is rejected, but not at `{}` with a message mentioning `{}`:\n{}",
                case.label,
                case.path,
                case.needle,
                describe(&errs)
            ));
        }
    }
    assert_no_failures(&failures);

    for (api, kind, _) in KINDS {
        assert!(
            covered.contains(&(api.to_string(), kind.to_string())),
            "no broken case for {api} {kind}: add one to broken_cases()"
        );
    }
    let metadata_typo = |builtin: bool| {
        cases.iter().any(|c| {
            c.path == "/metadata"
                && matches!(c.edit, Edit::Set(..) | Edit::Rename(..))
                && is_builtin(&type_meta(&samples[c.base]).0) == builtin
        })
    };
    assert!(
        metadata_typo(true),
        "no misspelt metadata key for a built-in kind"
    );
    assert!(
        metadata_typo(false),
        "no misspelt metadata key for a CRD kind"
    );
}

#[test]
fn the_strict_crd_schemas_stay_open_where_the_crd_preserves_unknown_fields() {
    let Some(catalog) = catalog() else { return };
    let mut failures = Vec::new();
    // SealedSecret `spec.template.metadata` preserves unknown fields, and `template.data` is
    // nullable: the crds-catalog schema gets both wrong, the converted one must not.
    let sealed = json!({
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": "mqtt-auth", "namespace": "mqtt"},
        "spec": {
            "encryptedData": {"password": "AgBy3i4OJSWK+PiTySYZZA=="},
            "template": {
                "metadata": {"name": "mqtt-auth", "creationTimestamp": null, "generateName": "x-"},
                "data": null
            }
        }
    });
    check(
        catalog,
        "SealedSecret with open template metadata",
        &sealed,
        &mut failures,
    );
    // Helm values are free-form.
    let release = json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "any-values", "namespace": "apps"},
        "spec": {
            "interval": "1h",
            "chartRef": {"kind": "OCIRepository", "name": "chart"},
            "values": {"anything": {"goes": [1, "two", {"three": null}]}, "here": true}
        }
    });
    check(
        catalog,
        "HelmRelease with free-form values",
        &release,
        &mut failures,
    );
    assert_no_failures(&failures);
}

// ------------------------------------------------------------------------------------------
// Field spellings and placements the schemas once caught hapl getting wrong.

/// The valid sample `base` with one edit applied.
fn edited(base: &str, edit: Edit) -> Value {
    let samples: BTreeMap<&str, Value> = samples().into_iter().collect();
    let mut value = samples[base].clone();
    edit.apply(&mut value);
    value
}

#[test]
fn hapl_accepts_and_renders_the_crd_spelling_of_acronym_fields() {
    let Some(catalog) = catalog() else { return };
    use Edit::Set;
    let cases = [
        (
            "OCIRepository spec.verify.matchOIDCIdentity",
            edited(
                "ocirepository",
                Set(
                    "/spec/verify/matchOIDCIdentity",
                    json!([{"issuer": "^https://token.actions.githubusercontent.com$",
                            "subject": "^https://github.com/stefanprodan/podinfo.*$"}]),
                ),
            ),
        ),
        (
            "HelmRelease spec.install.disableOpenAPIValidation",
            edited(
                "helmrelease-chart",
                Set("/spec/install/disableOpenAPIValidation", json!(true)),
            ),
        ),
        (
            "HelmRelease spec.install.skipCRDs",
            edited(
                "helmrelease-chart",
                Set("/spec/install/skipCRDs", json!(true)),
            ),
        ),
        (
            "HelmRelease spec.upgrade.disableOpenAPIValidation",
            edited(
                "helmrelease-chart",
                Set("/spec/upgrade/disableOpenAPIValidation", json!(true)),
            ),
        ),
    ];
    let mut failures = Vec::new();
    for (label, value) in &cases {
        check(
            catalog,
            &format!("the CRD-valid `{label}`"),
            value,
            &mut failures,
        );
        match Resource::from_value(value.clone()) {
            Err(e) => failures.push(format!("hapl rejects the CRD-valid `{label}`: {e}")),
            Ok(resource) => {
                let rendered = ordered_value(&resource);
                check(
                    catalog,
                    &format!("hapl's rendering of `{label}`"),
                    &rendered,
                    &mut failures,
                );
                if rendered != *value {
                    failures.push(format!(
                        "hapl changes `{label}`:\n  in:  {value}\n  out: {rendered}"
                    ));
                }
            }
        }
    }
    assert_no_failures(&failures);
}

#[test]
fn hapl_rejects_flux_fields_the_crds_do_not_have() {
    let Some(catalog) = catalog() else { return };
    use Edit::Set;
    let cases = [
        // hapl's own spellings of the acronym fields (the API server would prune them).
        (
            "OCIRepository spec.verify.matchOidcIdentity",
            edited(
                "ocirepository",
                Set(
                    "/spec/verify/matchOidcIdentity",
                    json!([{"issuer": "^https://a$", "subject": "^b$"}]),
                ),
            ),
        ),
        (
            "HelmRelease spec.install.disableOpenApiValidation",
            edited(
                "helmrelease-chart",
                Set("/spec/install/disableOpenApiValidation", json!(true)),
            ),
        ),
        (
            "HelmRelease spec.install.skipCrds",
            edited(
                "helmrelease-chart",
                Set("/spec/install/skipCrds", json!(true)),
            ),
        ),
        (
            "HelmRelease spec.upgrade.disableOpenApiValidation",
            edited(
                "helmrelease-chart",
                Set("/spec/upgrade/disableOpenApiValidation", json!(true)),
            ),
        ),
        // Shared Rust types that carry fields only one CRD position has.
        (
            "HelmRelease spec.install.remediation.strategy (upgrade only)",
            edited(
                "helmrelease-chart",
                Set("/spec/install/remediation/strategy", json!("uninstall")),
            ),
        ),
        (
            "HelmRelease spec.chart.spec.verify.trustedRootSecretRef (OCIRepository only)",
            edited(
                "helmrelease-chart",
                Set(
                    "/spec/chart/spec/verify",
                    json!({"provider": "cosign", "trustedRootSecretRef": {"name": "root"}}),
                ),
            ),
        ),
        (
            "HelmRelease spec.chart.spec.verify.matchOidcIdentity (OCIRepository only)",
            edited(
                "helmrelease-chart",
                Set(
                    "/spec/chart/spec/verify",
                    json!({"provider": "cosign", "matchOidcIdentity": [{"issuer": "^a$", "subject": "^b$"}]}),
                ),
            ),
        ),
    ];
    let mut failures = Vec::new();
    for (label, value) in &cases {
        let schema = catalog.for_value(value);
        assert!(
            !schema.validator.is_valid(value),
            "case `{label}` is valid for the CRD; fix the case"
        );
        if let Ok(resource) = Resource::from_value(value.clone()) {
            let rendered = ordered_value(&resource);
            let errs = errors(schema, &rendered);
            failures.push(format!(
                "hapl accepts `{label}` and renders what {} rejects:\n{}",
                schema.source.display(),
                describe(&errs)
            ));
        }
    }
    assert_no_failures(&failures);
}

// ------------------------------------------------------------------------------------------
// Broken objects: a valid sample with exactly one deliberate mistake.

enum Edit {
    /// Set the value at a JSON pointer (its parent must exist).
    Set(&'static str, Value),
    /// Remove the key at a JSON pointer.
    Remove(&'static str),
    /// Rename the key at a JSON pointer, keeping its value.
    Rename(&'static str, &'static str),
}

impl Edit {
    fn apply(&self, value: &mut Value) {
        let (pointer, parent, key) = match self {
            Edit::Set(p, _) | Edit::Remove(p) | Edit::Rename(p, _) => {
                let (parent, key) = p.rsplit_once('/').expect("a JSON pointer");
                (*p, parent, key)
            }
        };
        let parent = value
            .pointer_mut(parent)
            .unwrap_or_else(|| panic!("edit of `{pointer}`: no parent `{parent}`"));
        match (self, parent) {
            (Edit::Set(_, new), Value::Object(map)) => {
                map.insert(key.to_owned(), new.clone());
            }
            (Edit::Set(_, new), Value::Array(list)) => {
                list[key.parse::<usize>().expect("an index")] = new.clone();
            }
            (Edit::Remove(_), Value::Object(map)) => {
                map.shift_remove(key)
                    .unwrap_or_else(|| panic!("edit of `{pointer}`: nothing to remove"));
            }
            (Edit::Rename(_, to), Value::Object(map)) => {
                let old = map
                    .shift_remove(key)
                    .unwrap_or_else(|| panic!("edit of `{pointer}`: nothing to rename"));
                map.insert((*to).to_owned(), old);
            }
            _ => panic!("edit of `{pointer}`: the parent is not a map (or list)"),
        }
    }
}

struct Broken {
    label: &'static str,
    /// The label of the valid sample to break.
    base: &'static str,
    edit: Edit,
    /// The instance path (JSON pointer) the validator must report.
    path: &'static str,
    /// A word the error message there must contain (a key name, a value).
    needle: &'static str,
}

fn broken(
    label: &'static str,
    base: &'static str,
    edit: Edit,
    path: &'static str,
    needle: &'static str,
) -> Broken {
    Broken {
        label,
        base,
        edit,
        path,
        needle,
    }
}

fn broken_cases() -> Vec<Broken> {
    use Edit::{Remove, Rename, Set};
    vec![
        // --- built-in kinds
        broken(
            "Namespace label value is a number",
            "namespace",
            Set("/metadata/labels/team", json!(7)),
            "/metadata/labels/team",
            "7",
        ),
        broken(
            "Namespace spec.finalizers is a string",
            "namespace",
            Set("/spec", json!({"finalizers": "kubernetes"})),
            "/spec/finalizers",
            "kubernetes",
        ),
        broken(
            "PersistentVolume misspells spec.nfs.server",
            "persistentvolume",
            Rename("/spec/nfs/server", "sever"),
            "/spec/nfs",
            "sever",
        ),
        broken(
            "PersistentVolumeClaim spec.accessModes is a string",
            "persistentvolumeclaim",
            Set("/spec/accessModes", json!("ReadWriteOnce")),
            "/spec/accessModes",
            "ReadWriteOnce",
        ),
        broken(
            "PersistentVolumeClaim misspells spec.storageClassName",
            "persistentvolumeclaim",
            Rename("/spec/storageClassName", "storageClasName"),
            "/spec",
            "storageClasName",
        ),
        broken(
            "ConfigMap data value is a number",
            "configmap",
            Set("/data/MQTT_PORT", json!(1883)),
            "/data/MQTT_PORT",
            "1883",
        ),
        broken(
            "Secret misspells metadata.name",
            "secret",
            Rename("/metadata/name", "nmae"),
            "/metadata",
            "nmae",
        ),
        broken(
            "Secret stringData value is a boolean",
            "secret",
            Set("/stringData", json!({"enabled": true})),
            "/stringData/enabled",
            "true",
        ),
        broken(
            "Service port is a name, not a number",
            "service",
            Set("/spec/ports/0/port", json!("http")),
            "/spec/ports/0/port",
            "http",
        ),
        broken(
            "ServiceAccount automountServiceAccountToken is a string",
            "serviceaccount",
            Set("/automountServiceAccountToken", json!("no")),
            "/automountServiceAccountToken",
            "no",
        ),
        broken(
            "StorageClass without a provisioner",
            "storageclass",
            Remove("/provisioner"),
            "",
            "provisioner",
        ),
        broken(
            "Deployment container misspells resources",
            "deployment",
            Rename("/spec/template/spec/containers/0/resources", "resource"),
            "/spec/template/spec/containers/0",
            "resource",
        ),
        broken(
            "Deployment without a selector",
            "deployment",
            Remove("/spec/selector"),
            "/spec",
            "selector",
        ),
        broken(
            "Deployment misspells metadata.namespace",
            "deployment",
            Set("/metadata/namepsace", json!("homeassistant")),
            "/metadata",
            "namepsace",
        ),
        broken(
            "StatefulSet replicas is a word",
            "statefulset",
            Set("/spec/replicas", json!("one")),
            "/spec/replicas",
            "one",
        ),
        broken(
            "DaemonSet containerPort is a string",
            "daemonset",
            Set(
                "/spec/template/spec/containers/0/ports/0/containerPort",
                json!("9100"),
            ),
            "/spec/template/spec/containers/0/ports/0/containerPort",
            "9100",
        ),
        broken(
            "Job container without a name",
            "job",
            Remove("/spec/template/spec/containers/0/name"),
            "/spec/template/spec/containers/0",
            "name",
        ),
        broken(
            "CronJob without a schedule",
            "cronjob",
            Remove("/spec/schedule"),
            "/spec",
            "schedule",
        ),
        broken(
            "Ingress backend port number is a string",
            "ingress",
            Set(
                "/spec/rules/0/http/paths/0/backend/service/port/number",
                json!("8123"),
            ),
            "/spec/rules/0/http/paths/0/backend/service/port/number",
            "8123",
        ),
        broken(
            "NetworkPolicy policyTypes is a string",
            "networkpolicy",
            Set("/spec/policyTypes", json!("Ingress")),
            "/spec/policyTypes",
            "Ingress",
        ),
        broken(
            "Role rule without verbs",
            "role",
            Remove("/rules/0/verbs"),
            "/rules/0",
            "verbs",
        ),
        broken(
            "RoleBinding without a roleRef",
            "rolebinding",
            Remove("/roleRef"),
            "",
            "roleRef",
        ),
        broken(
            "ClusterRole rule misspells apiGroups",
            "clusterrole",
            Rename("/rules/0/apiGroups", "apiGroup"),
            "/rules/0",
            "apiGroup",
        ),
        broken(
            "ClusterRoleBinding subject without a kind",
            "clusterrolebinding",
            Remove("/subjects/0/kind"),
            "/subjects/0",
            "kind",
        ),
        broken(
            "PodDisruptionBudget minAvailable is a boolean",
            "poddisruptionbudget",
            Set("/spec/minAvailable", json!(true)),
            "/spec/minAvailable",
            "true",
        ),
        // --- Flux kinds
        broken(
            "GitRepository misspells metadata.name",
            "gitrepository",
            Rename("/metadata/name", "nmae"),
            "/metadata",
            "nmae",
        ),
        broken(
            "GitRepository url in scp form",
            "gitrepository",
            Set("/spec/url", json!("git@github.com:home/platform.git")),
            "/spec/url",
            "git@github.com",
        ),
        broken(
            "GitRepository misspells spec.ref.branch",
            "gitrepository",
            Rename("/spec/ref/branch", "branhc"),
            "/spec/ref",
            "branhc",
        ),
        broken(
            "OCIRepository url is not oci://",
            "ocirepository",
            Set("/spec/url", json!("https://ghcr.io/home/manifests")),
            "/spec/url",
            "https://ghcr.io",
        ),
        broken(
            "OCIRepository layerSelector operation is unknown",
            "ocirepository",
            Set("/spec/layerSelector/operation", json!("unpack")),
            "/spec/layerSelector/operation",
            "unpack",
        ),
        broken(
            "HelmRepository type is unknown",
            "helmrepository",
            Set("/spec/type", json!("git")),
            "/spec/type",
            "git",
        ),
        broken(
            "HelmRepository without a url",
            "helmrepository",
            Remove("/spec/url"),
            "/spec",
            "url",
        ),
        broken(
            "HelmRelease chart sourceRef kind is not a source kind",
            "helmrelease-chart",
            Set("/spec/chart/spec/sourceRef/kind", json!("HelmRepo")),
            "/spec/chart/spec/sourceRef/kind",
            "HelmRepo",
        ),
        broken(
            "HelmRelease misspells spec.chart.spec.version",
            "helmrelease-chart",
            Rename("/spec/chart/spec/version", "versoin"),
            "/spec/chart/spec",
            "versoin",
        ),
        broken(
            "HelmRelease misspells spec at the top level",
            "helmrelease-chart",
            Set("/sepc", json!({"suspend": true})),
            "",
            "sepc",
        ),
        broken(
            "HelmRelease interval is a number of seconds",
            "helmrelease-ref",
            Set("/spec/interval", json!(3600)),
            "/spec/interval",
            "3600",
        ),
        broken(
            "HelmRelease chartRef kind is a HelmRepository",
            "helmrelease-ref",
            Set("/spec/chartRef/kind", json!("HelmRepository")),
            "/spec/chartRef/kind",
            "HelmRepository",
        ),
        broken(
            "Kustomization without prune",
            "kustomization",
            Remove("/spec/prune"),
            "/spec",
            "prune",
        ),
        broken(
            "Kustomization sourceRef kind is a HelmRepository",
            "kustomization",
            Set("/spec/sourceRef/kind", json!("HelmRepository")),
            "/spec/sourceRef/kind",
            "HelmRepository",
        ),
        broken(
            "Kustomization with a removed apiVersion",
            "kustomization",
            Set("/apiVersion", json!("kustomize.toolkit.fluxcd.io/v1beta2")),
            "/apiVersion",
            "kustomize.toolkit.fluxcd.io/v1",
        ),
        broken(
            "Kustomization misspells metadata.labels",
            "kustomization",
            Rename("/metadata/labels", "lables"),
            "/metadata",
            "lables",
        ),
        broken(
            "Kustomization substituteFrom kind is unknown",
            "kustomization",
            Set("/spec/postBuild/substituteFrom/0/kind", json!("Vault")),
            "/spec/postBuild/substituteFrom/0/kind",
            "Vault",
        ),
        // --- ClusterIssuer
        broken(
            "ClusterIssuer ACME without a server",
            "clusterissuer",
            Remove("/spec/acme/server"),
            "/spec/acme",
            "server",
        ),
        broken(
            "ClusterIssuer misspells privateKeySecretRef",
            "clusterissuer",
            Rename("/spec/acme/privateKeySecretRef", "privateKeySecret"),
            "/spec/acme",
            "privateKeySecret",
        ),
        // --- SealedSecret
        broken(
            "SealedSecret ciphertext is a number",
            "sealedsecret",
            Set("/spec/encryptedData/password", json!(42)),
            "/spec/encryptedData/password",
            "42",
        ),
        broken(
            "SealedSecret without encryptedData",
            "sealedsecret",
            Remove("/spec/encryptedData"),
            "/spec",
            "encryptedData",
        ),
        broken(
            "SealedSecret misspells spec.template",
            "sealedsecret",
            Rename("/spec/template", "tempalte"),
            "/spec",
            "tempalte",
        ),
        broken(
            "SealedSecret without kind",
            "sealedsecret",
            Remove("/kind"),
            "",
            "kind",
        ),
    ]
}

// ------------------------------------------------------------------------------------------
// Valid samples: realistic objects of every kind, as a home platform would render them.

fn pod_labels() -> Value {
    json!({"app.kubernetes.io/name": "homeassistant", "app.kubernetes.io/instance": "ha"})
}

fn samples() -> Vec<(&'static str, Value)> {
    vec![
        (
            "namespace",
            json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": "homeassistant",
                    "labels": {
                        "pod-security.kubernetes.io/enforce": "baseline",
                        "toolkit.fluxcd.io/tenant": "home"
                    },
                    "annotations": {"hapl.dev/origin": "platform.rhai:12"}
                }
            }),
        ),
        (
            "persistentvolume",
            json!({
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": "media", "labels": {"nas": "dpx2800"}},
                "spec": {
                    "capacity": {"storage": "500Gi"},
                    "accessModes": ["ReadWriteMany"],
                    "persistentVolumeReclaimPolicy": "Retain",
                    "storageClassName": "nas-static",
                    "mountOptions": ["nfsvers=4.1", "hard"],
                    "volumeMode": "Filesystem",
                    "nfs": {"server": "dpx2800.lan", "path": "/volume1/media", "readOnly": false},
                    "claimRef": {"namespace": "media", "name": "media"}
                }
            }),
        ),
        (
            "persistentvolumeclaim",
            json!({
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": "mosquitto-data", "namespace": "mqtt", "labels": {"app": "mosquitto"}},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": "nas",
                    "volumeMode": "Filesystem",
                    "resources": {"requests": {"storage": "1Gi"}}
                }
            }),
        ),
        (
            "configmap",
            json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "cluster-vars", "namespace": "flux-system"},
                "data": {
                    "MQTT_HOST": "mosquitto.mqtt.svc",
                    "MQTT_PORT": "1883",
                    "configuration.yaml": "homeassistant:\n  name: Home\n"
                },
                "binaryData": {"logo.png": "iVBORw0KGgo="},
                "immutable": false
            }),
        ),
        (
            "secret",
            json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "registry-token", "namespace": "flux-system"},
                "type": "Opaque",
                "data": {"token": "c2VjcmV0LXRva2Vu"},
                "immutable": true
            }),
        ),
        (
            "service",
            json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "homeassistant", "namespace": "homeassistant", "labels": pod_labels()},
                "spec": {
                    "type": "LoadBalancer",
                    "selector": pod_labels(),
                    "ports": [
                        {"name": "http", "port": 8123, "targetPort": "http", "protocol": "TCP"},
                        {"name": "homekit", "port": 21064, "targetPort": 21064, "protocol": "TCP"}
                    ],
                    "externalTrafficPolicy": "Local",
                    "loadBalancerIP": "192.168.1.40"
                }
            }),
        ),
        (
            "serviceaccount",
            json!({
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "homeassistant", "namespace": "homeassistant"},
                "automountServiceAccountToken": false,
                "imagePullSecrets": [{"name": "ghcr"}]
            }),
        ),
        (
            "storageclass",
            json!({
                "apiVersion": "storage.k8s.io/v1",
                "kind": "StorageClass",
                "metadata": {
                    "name": "nas",
                    "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}
                },
                "provisioner": "nfs.csi.k8s.io",
                "parameters": {"server": "dpx2800.lan", "share": "/volume1/k8s", "subDir": "${pvc.metadata.namespace}-${pvc.metadata.name}"},
                "reclaimPolicy": "Retain",
                "volumeBindingMode": "Immediate",
                "allowVolumeExpansion": true,
                "mountOptions": ["nfsvers=4.1"]
            }),
        ),
        (
            "deployment",
            json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "homeassistant", "namespace": "homeassistant", "labels": pod_labels()},
                "spec": {
                    "replicas": 1,
                    "revisionHistoryLimit": 3,
                    "strategy": {"type": "Recreate"},
                    "selector": {"matchLabels": pod_labels()},
                    "template": {
                        "metadata": {
                            "labels": pod_labels(),
                            "annotations": {"checksum/config": "3f2a9c"}
                        },
                        "spec": {
                            "serviceAccountName": "homeassistant",
                            "nodeSelector": {"kubernetes.io/arch": "arm64"},
                            "securityContext": {
                                "fsGroup": 1000,
                                "runAsNonRoot": true,
                                "runAsUser": 1000,
                                "seccompProfile": {"type": "RuntimeDefault"}
                            },
                            "initContainers": [{
                                "name": "wait-for-mqtt",
                                "image": "busybox:1.37",
                                "command": ["sh", "-c", "until nc -z mosquitto.mqtt 1883; do sleep 2; done"]
                            }],
                            "containers": [{
                                "name": "homeassistant",
                                "image": "ghcr.io/home-assistant/home-assistant:2026.11.2",
                                "imagePullPolicy": "IfNotPresent",
                                "ports": [{"name": "http", "containerPort": 8123, "protocol": "TCP"}],
                                "env": [
                                    {"name": "TZ", "value": "Europe/Berlin"},
                                    {"name": "MQTT_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "mqtt-auth", "key": "password"}}}
                                ],
                                "envFrom": [{"configMapRef": {"name": "cluster-vars"}}],
                                "resources": {
                                    "requests": {"cpu": "250m", "memory": "512Mi"},
                                    "limits": {"memory": "2Gi"}
                                },
                                "livenessProbe": {
                                    "httpGet": {"path": "/manifest.json", "port": "http", "scheme": "HTTP"},
                                    "initialDelaySeconds": 30,
                                    "periodSeconds": 10,
                                    "failureThreshold": 5
                                },
                                "readinessProbe": {"tcpSocket": {"port": 8123}, "periodSeconds": 5},
                                "startupProbe": {"exec": {"command": ["true"]}, "failureThreshold": 30},
                                "securityContext": {
                                    "allowPrivilegeEscalation": false,
                                    "readOnlyRootFilesystem": false,
                                    "capabilities": {"drop": ["ALL"]}
                                },
                                "volumeMounts": [
                                    {"name": "config", "mountPath": "/config"},
                                    {"name": "extra", "mountPath": "/config/packages", "readOnly": true},
                                    {"name": "tmp", "mountPath": "/tmp"}
                                ]
                            }],
                            "volumes": [
                                {"name": "config", "persistentVolumeClaim": {"claimName": "homeassistant-config"}},
                                {"name": "extra", "configMap": {"name": "ha-packages", "defaultMode": 420}},
                                {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}
                            ]
                        }
                    }
                }
            }),
        ),
        (
            "statefulset",
            json!({
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "metadata": {"name": "postgres", "namespace": "db"},
                "spec": {
                    "serviceName": "postgres",
                    "replicas": 1,
                    "podManagementPolicy": "OrderedReady",
                    "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
                    "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
                    "selector": {"matchLabels": {"app": "postgres"}},
                    "template": {
                        "metadata": {"labels": {"app": "postgres"}},
                        "spec": {
                            "terminationGracePeriodSeconds": 60,
                            "containers": [{
                                "name": "postgres",
                                "image": "postgres:17.6",
                                "args": ["-c", "shared_buffers=256MB"],
                                "ports": [{"name": "pg", "containerPort": 5432}],
                                "env": [{"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"}],
                                "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
                                "readinessProbe": {"exec": {"command": ["pg_isready", "-U", "postgres"]}, "periodSeconds": 10},
                                "volumeMounts": [{"name": "data", "mountPath": "/var/lib/postgresql/data"}]
                            }]
                        }
                    },
                    // k8s-openapi always writes the type meta of an embedded claim (so does the
                    // API server); written here too, so the round trip is exact.
                    "volumeClaimTemplates": [{
                        "apiVersion": "v1",
                        "kind": "PersistentVolumeClaim",
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "storageClassName": "nas",
                            "resources": {"requests": {"storage": "10Gi"}}
                        }
                    }]
                }
            }),
        ),
        (
            "daemonset",
            json!({
                "apiVersion": "apps/v1",
                "kind": "DaemonSet",
                "metadata": {"name": "node-exporter", "namespace": "monitoring"},
                "spec": {
                    "selector": {"matchLabels": {"app": "node-exporter"}},
                    "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
                    "template": {
                        "metadata": {"labels": {"app": "node-exporter"}},
                        "spec": {
                            "hostNetwork": true,
                            "hostPID": true,
                            "tolerations": [{"operator": "Exists", "effect": "NoSchedule"}],
                            "containers": [{
                                "name": "node-exporter",
                                "image": "quay.io/prometheus/node-exporter:v1.9.1",
                                "args": ["--path.rootfs=/host"],
                                "ports": [{"name": "metrics", "containerPort": 9100, "hostPort": 9100}],
                                "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
                                "livenessProbe": {"httpGet": {"path": "/", "port": 9100}},
                                "volumeMounts": [{"name": "root", "mountPath": "/host", "readOnly": true, "mountPropagation": "HostToContainer"}]
                            }],
                            "volumes": [{"name": "root", "hostPath": {"path": "/", "type": "Directory"}}]
                        }
                    }
                }
            }),
        ),
        (
            "job",
            json!({
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": "db-migrate", "namespace": "db"},
                "spec": {
                    "backoffLimit": 3,
                    "ttlSecondsAfterFinished": 3600,
                    "activeDeadlineSeconds": 600,
                    "template": {
                        "spec": {
                            "restartPolicy": "OnFailure",
                            "containers": [{
                                "name": "migrate",
                                "image": "ghcr.io/home/migrate:1.2.0",
                                "command": ["/migrate"],
                                "args": ["--database", "$(DATABASE_URL)"],
                                "env": [{"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "db-url", "key": "url"}}}],
                                "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}}
                            }]
                        }
                    }
                }
            }),
        ),
        (
            "cronjob",
            json!({
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "metadata": {"name": "ha-backup", "namespace": "homeassistant"},
                "spec": {
                    "schedule": "30 3 * * *",
                    "timeZone": "Europe/Berlin",
                    "concurrencyPolicy": "Forbid",
                    "successfulJobsHistoryLimit": 3,
                    "failedJobsHistoryLimit": 1,
                    "jobTemplate": {
                        "spec": {
                            "backoffLimit": 1,
                            "template": {
                                "spec": {
                                    "restartPolicy": "Never",
                                    "containers": [{
                                        "name": "backup",
                                        "image": "restic/restic:0.18.0",
                                        "args": ["backup", "/config"],
                                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                                        "volumeMounts": [{"name": "config", "mountPath": "/config", "readOnly": true}]
                                    }],
                                    "volumes": [{"name": "config", "persistentVolumeClaim": {"claimName": "homeassistant-config", "readOnly": true}}]
                                }
                            }
                        }
                    }
                }
            }),
        ),
        (
            "ingress",
            json!({
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {
                    "name": "homeassistant",
                    "namespace": "homeassistant",
                    "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"}
                },
                "spec": {
                    "ingressClassName": "traefik",
                    "tls": [{"hosts": ["ha.home.example"], "secretName": "ha-tls"}],
                    "rules": [{
                        "host": "ha.home.example",
                        "http": {"paths": [{
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": "homeassistant", "port": {"number": 8123}}}
                        }]}
                    }]
                }
            }),
        ),
        (
            "networkpolicy",
            json!({
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": "mosquitto", "namespace": "mqtt"},
                "spec": {
                    "podSelector": {"matchLabels": {"app": "mosquitto"}},
                    "policyTypes": ["Ingress", "Egress"],
                    "ingress": [{
                        "from": [
                            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "homeassistant"}}},
                            {"podSelector": {"matchExpressions": [{"key": "mqtt-client", "operator": "In", "values": ["true"]}]}}
                        ],
                        "ports": [{"protocol": "TCP", "port": 1883}]
                    }],
                    "egress": [{
                        "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": "dns-tcp"}]
                    }]
                }
            }),
        ),
        (
            "role",
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": "config-reader", "namespace": "homeassistant"},
                "rules": [
                    {"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["get", "list", "watch"]},
                    {"apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["homeassistant"], "verbs": ["patch"]}
                ]
            }),
        ),
        (
            "rolebinding",
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "config-reader", "namespace": "homeassistant"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "config-reader"},
                "subjects": [{"kind": "ServiceAccount", "name": "homeassistant", "namespace": "homeassistant"}]
            }),
        ),
        (
            "clusterrole",
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": "node-reader", "labels": {"rbac.home/aggregate": "true"}},
                "rules": [
                    {"apiGroups": [""], "resources": ["nodes", "nodes/metrics"], "verbs": ["get", "list", "watch"]},
                    {"nonResourceURLs": ["/metrics"], "verbs": ["get"]}
                ]
            }),
        ),
        (
            "clusterrolebinding",
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": "node-reader"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "node-reader"},
                "subjects": [
                    {"kind": "ServiceAccount", "name": "node-exporter", "namespace": "monitoring"},
                    {"kind": "Group", "name": "home:admins", "apiGroup": "rbac.authorization.k8s.io"}
                ]
            }),
        ),
        (
            "poddisruptionbudget",
            json!({
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": {"name": "postgres", "namespace": "db"},
                "spec": {
                    "minAvailable": 1,
                    "selector": {"matchLabels": {"app": "postgres"}},
                    "unhealthyPodEvictionPolicy": "AlwaysAllow"
                }
            }),
        ),
        (
            "gitrepository",
            json!({
                "apiVersion": "source.toolkit.fluxcd.io/v1",
                "kind": "GitRepository",
                "metadata": {"name": "flux-system", "namespace": "flux-system"},
                "spec": {
                    "url": "ssh://git@github.com/home/platform.git",
                    "interval": "5m",
                    "ref": {"branch": "main"},
                    "secretRef": {"name": "flux-system"},
                    "timeout": "60s",
                    "ignore": "/*\n!/clusters/home\n",
                    "recurseSubmodules": false,
                    "include": [{"repository": {"name": "shared-config"}, "fromPath": "deploy", "toPath": "shared"}],
                    "verify": {"mode": "HEAD", "secretRef": {"name": "pgp-public-keys"}},
                    "sparseCheckout": ["clusters/home", "infrastructure"]
                }
            }),
        ),
        (
            "ocirepository",
            json!({
                "apiVersion": "source.toolkit.fluxcd.io/v1",
                "kind": "OCIRepository",
                "metadata": {"name": "podinfo", "namespace": "flux-system"},
                "spec": {
                    "url": "oci://ghcr.io/stefanprodan/charts/podinfo",
                    "interval": "10m",
                    "ref": {"semver": ">=6.0.0 <7.0.0"},
                    "layerSelector": {"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "operation": "copy"},
                    "provider": "generic",
                    "timeout": "60s",
                    "verify": {"provider": "cosign", "secretRef": {"name": "cosign-pub"},
                               "matchOIDCIdentity": [{"issuer": "^https://token.actions.githubusercontent.com$",
                                                      "subject": "^https://github.com/stefanprodan/podinfo.*$"}]}
                }
            }),
        ),
        (
            "helmrepository",
            json!({
                "apiVersion": "source.toolkit.fluxcd.io/v1",
                "kind": "HelmRepository",
                "metadata": {"name": "t3n", "namespace": "flux-system"},
                "spec": {
                    "url": "https://storage.googleapis.com/t3n-helm-charts",
                    "interval": "1h",
                    "type": "default",
                    "timeout": "60s",
                    "passCredentials": false,
                    "accessFrom": {"namespaceSelectors": [{"matchLabels": {"toolkit.fluxcd.io/tenant": "home"}}]}
                }
            }),
        ),
        (
            "helmrelease-chart",
            json!({
                "apiVersion": "helm.toolkit.fluxcd.io/v2",
                "kind": "HelmRelease",
                "metadata": {"name": "mosquitto", "namespace": "mqtt", "labels": {"app": "mosquitto"}},
                "spec": {
                    "interval": "30m",
                    "chart": {
                        "spec": {
                            "chart": "mosquitto",
                            "version": "2.4.1",
                            "sourceRef": {"kind": "HelmRepository", "name": "t3n", "namespace": "flux-system"},
                            "interval": "12h",
                            "reconcileStrategy": "ChartVersion",
                            "valuesFiles": ["values.yaml", "values-arm64.yaml"]
                        }
                    },
                    "releaseName": "mosquitto",
                    "targetNamespace": "mqtt",
                    "dependsOn": [{"name": "nfs-csi", "namespace": "kube-system"}],
                    "timeout": "10m",
                    "maxHistory": 5,
                    "install": {"crds": "CreateReplace", "createNamespace": false, "remediation": {"retries": 3}},
                    "upgrade": {
                        "crds": "CreateReplace",
                        "cleanupOnFail": true,
                        "remediation": {"retries": 3, "remediateLastFailure": true, "strategy": "rollback"}
                    },
                    "test": {"enable": false},
                    "rollback": {"cleanupOnFail": true, "recreate": false},
                    "uninstall": {"keepHistory": false, "deletionPropagation": "background"},
                    "driftDetection": {
                        "mode": "enabled",
                        "ignore": [{"paths": ["/spec/replicas"], "target": {"kind": "Deployment"}}]
                    },
                    "postRenderers": [{"kustomize": {
                        "patches": [{"patch": "- op: add\n  path: /metadata/labels/home\n  value: \"true\"\n", "target": {"kind": "Deployment", "name": "mosquitto"}}],
                        "images": [{"name": "eclipse-mosquitto", "newTag": "2.0.22"}]
                    }}],
                    "values": {
                        "persistence": {"enabled": true, "existingClaim": "mosquitto-data"},
                        "service": {"type": "LoadBalancer", "port": 1883},
                        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}}
                    },
                    "valuesFrom": [
                        {"kind": "ConfigMap", "name": "mosquitto-values", "valuesKey": "values.yaml"},
                        {"kind": "Secret", "name": "mosquitto-auth", "valuesKey": "password", "targetPath": "auth.password", "optional": true}
                    ]
                }
            }),
        ),
        (
            "helmrelease-ref",
            json!({
                "apiVersion": "helm.toolkit.fluxcd.io/v2",
                "kind": "HelmRelease",
                "metadata": {"name": "podinfo", "namespace": "apps"},
                "spec": {
                    "interval": "1h",
                    "chartRef": {"kind": "OCIRepository", "name": "podinfo", "namespace": "flux-system"},
                    "serviceAccountName": "helm-apps",
                    "storageNamespace": "apps",
                    "suspend": false,
                    "install": {"strategy": {"name": "RetryOnFailure", "retryInterval": "5m"}},
                    "upgrade": {"strategy": {"name": "RetryOnFailure"}, "serverSideApply": "auto"},
                    "waitStrategy": {"name": "poller"},
                    "healthCheckExprs": [{"apiVersion": "apps/v1", "kind": "Deployment", "current": "status.readyReplicas == status.replicas"}],
                    "commonMetadata": {"labels": {"team": "home"}},
                    "values": {"replicaCount": 1, "ingress": {"enabled": false}}
                }
            }),
        ),
        (
            "kustomization",
            json!({
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                "kind": "Kustomization",
                "metadata": {"name": "apps", "namespace": "flux-system", "labels": {"hapl.dev/layer": "apps"}},
                "spec": {
                    "interval": "10m",
                    "retryInterval": "2m",
                    "path": "./clusters/home/apps",
                    "prune": true,
                    "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
                    "dependsOn": [{"name": "infrastructure"}, {"name": "storage", "namespace": "flux-system"}],
                    "healthChecks": [
                        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "homeassistant", "namespace": "homeassistant"},
                        {"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "name": "mosquitto", "namespace": "mqtt"}
                    ],
                    "postBuild": {
                        "substitute": {"cluster_name": "home", "domain": "home.example"},
                        "substituteFrom": [
                            {"kind": "ConfigMap", "name": "cluster-vars"},
                            {"kind": "Secret", "name": "cluster-secrets", "optional": true}
                        ]
                    },
                    "components": ["../../components/monitoring"],
                    "targetNamespace": "apps",
                    "wait": true,
                    "timeout": "5m",
                    "force": false,
                    "decryption": {"provider": "sops", "secretRef": {"name": "sops-age"}},
                    "commonMetadata": {"labels": {"toolkit.fluxcd.io/tenant": "home"}},
                    "images": [{"name": "ghcr.io/home-assistant/home-assistant", "newTag": "2026.11.2"}],
                    "patches": [{"patch": "- op: replace\n  path: /spec/replicas\n  value: 1\n", "target": {"kind": "Deployment"}}]
                }
            }),
        ),
        (
            "clusterissuer",
            json!({
                "apiVersion": "cert-manager.io/v1",
                "kind": "ClusterIssuer",
                "metadata": {"name": "letsencrypt", "labels": {"app.kubernetes.io/part-of": "home"}},
                "spec": {
                    "acme": {
                        "server": "https://acme-v02.api.letsencrypt.org/directory",
                        "email": "admin@example.org",
                        "privateKeySecretRef": {"name": "letsencrypt-account"},
                        "solvers": [
                            {"http01": {"ingress": {"ingressClassName": "traefik"}}},
                            {
                                "selector": {"dnsZones": ["example.org"]},
                                "dns01": {"cloudflare": {"apiTokenSecretRef": {"name": "cloudflare", "key": "token"}}}
                            }
                        ]
                    }
                }
            }),
        ),
        (
            "sealedsecret",
            json!({
                "apiVersion": "bitnami.com/v1alpha1",
                "kind": "SealedSecret",
                "metadata": {"name": "mqtt-auth", "namespace": "mqtt"},
                "spec": {
                    "encryptedData": {
                        "password": "AgBy3i4OJSWK+PiTySYZZA9rO43cGDEq+QmI2c3kVxAsR3bFpPo6Vmxu1S7yCGQfmHeGBeMBc1d2A==",
                        "username": "AgCtr8Mv6hD3zBDaqXlFL+9Nu3WiTgX8Y0q4n4JvL3dz7BBX7CJBhFwBQgD0k0C1DdYq1Q=="
                    },
                    "template": {
                        "metadata": {
                            "name": "mqtt-auth",
                            "namespace": "mqtt",
                            "labels": {"app": "mosquitto"},
                            "annotations": {"sealedsecrets.bitnami.com/managed": "true"}
                        },
                        "type": "Opaque",
                        "data": {"url": "mqtt://{{ .username }}:{{ .password }}@mosquitto.mqtt:1883"}
                    }
                }
            }),
        ),
    ]
}
