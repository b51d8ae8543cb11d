//! `examples/legacy-microk8s`, the seed's repository before Phase 1, and
//! `tests/fixtures/legacy_findings.yaml`, what an assessment of it must find: every cited file,
//! line and quote is really there (and, with `../shared`, really the seed's), the repository
//! builds with kustomize wherever kustomize applies, every YAML file parses, and the chart's
//! templates are well-formed Go templates.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml::Value;

use crate::support::root;

fn example() -> PathBuf {
    root().join("examples/legacy-microk8s")
}

/// Every file under `dir`, sorted, recursively. (Also used by `book.rs`; it belongs in
/// `support.rs` once that file can take it.)
pub(crate) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// All documents of a (multi-document) YAML file, split at `---` lines; panics with the file
/// name on a parse error. Empty documents (a leading `---`, comments only) are dropped.
fn yaml_documents(path: &Path) -> Vec<Value> {
    let text = read(path);
    let mut docs = vec![String::new()];
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" {
            docs.push(String::new());
        } else {
            docs.last_mut().unwrap().push_str(line);
        }
    }
    docs.iter()
        .map(|doc| {
            serde_yaml::from_str::<Value>(doc)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()))
        })
        .filter(|v| !v.is_null())
        .collect()
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

fn is_helm_template(path: &Path) -> bool {
    path.parent().and_then(Path::file_name) == Some("templates".as_ref())
        && path.ancestors().any(|a| a.join("Chart.yaml").is_file())
}

fn yaml_files() -> Vec<PathBuf> {
    files_under(&example())
        .into_iter()
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .filter(|p| !is_helm_template(p))
        .collect()
}

struct Finding {
    id: String,
    source: String,
    title: String,
    rule: String,
    locations: Vec<Value>,
}

fn findings() -> Vec<Finding> {
    let path = root().join("tests/fixtures/legacy_findings.yaml");
    let doc = &yaml_documents(&path)[0];
    assert_eq!(str_at(doc, &["repo"]), Some("examples/legacy-microk8s"));
    doc["findings"]
        .as_sequence()
        .expect("findings is a list")
        .iter()
        .map(|f| {
            let field = |k: &str| {
                str_at(f, &[k])
                    .unwrap_or_else(|| panic!("a finding lacks `{k}`: {f:?}"))
                    .to_owned()
            };
            Finding {
                id: field("id"),
                source: field("source"),
                title: field("title"),
                rule: field("rule"),
                locations: f["locations"]
                    .as_sequence()
                    .unwrap_or_else(|| panic!("{}: locations is a list", field("id")))
                    .clone(),
            }
        })
        .collect()
}

/// `[first, last]` of a location, when it cites lines.
fn cited_lines(loc: &Value) -> Option<(usize, usize)> {
    let lines = loc.get("lines")?.as_sequence()?;
    let n = |i: usize| lines[i].as_u64().expect("line numbers are integers") as usize;
    assert_eq!(lines.len(), 2, "lines is [first, last]: {loc:?}");
    Some((n(0), n(1)))
}

/// `(line, text)` pairs of a location's `quote` or `expect` list.
fn line_texts(loc: &Value, key: &str) -> Vec<(usize, String)> {
    loc.get(key)
        .and_then(Value::as_sequence)
        .map(|items| {
            items
                .iter()
                .map(|q| {
                    let line = q["line"].as_u64().expect("quote line") as usize;
                    (line, q["text"].as_str().expect("quote text").to_owned())
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The rule ids of the catalogue (issue #4). Kept here until the catalogue in `hapl-core` can
/// be asked for them.
const RULE_IDS: &[&str] = &[
    "no-sqlite-recorder",
    "recorder-on-postgres",
    "no-supervisor",
    "nas-backed-state",
    "resources-required",
    "pinned-versions",
    "usb-single-pod",
    "zigbee-via-mqtt",
    "matter-isolated",
    "influx-retention",
    "single-default-storageclass",
    "restart-safe",
    "power-loss-safe",
    "backup-coverage",
    "no-plaintext-secrets",
    "privileged",
    "host-network",
    "hardcoded-namespace",
    "eol-component",
    "node-capacity",
    "storage-capacity",
    "host-port-collision",
    "proxy-trust",
];

#[test]
fn the_findings_cover_the_seeds_table_with_catalogue_rules() {
    let all = findings();
    let seed: Vec<&str> = all
        .iter()
        .filter(|f| f.source == "seed")
        .map(|f| f.id.as_str())
        .collect();
    let expected: Vec<String> = (1..=6)
        .map(|i| format!("V{i}"))
        .chain((1..=8).map(|i| format!("A{i}")))
        .collect();
    assert_eq!(seed, expected, "the seed's V1-V6 and A1-A8, in order");
    let missed: Vec<&Finding> = all.iter().filter(|f| f.source == "missed").collect();
    assert_eq!(
        missed.len() + seed.len(),
        all.len(),
        "source is seed or missed"
    );
    for rule in ["nas-backed-state", "eol-component"] {
        assert!(
            missed.iter().any(|f| f.rule == rule),
            "the missed findings include {rule}"
        );
    }
    let mut ids = BTreeSet::new();
    for f in &all {
        assert!(ids.insert(&f.id), "{} appears twice", f.id);
        assert!(
            RULE_IDS.contains(&f.rule.as_str()),
            "{}: `{}` is not a catalogue rule id",
            f.id,
            f.rule
        );
    }
}

#[test]
fn every_cited_file_line_and_quote_is_in_the_repository() {
    let mut checked_lines = 0;
    for f in findings() {
        for loc in &f.locations {
            let rel = str_at(loc, &["file"]).expect("a location has a file");
            let path = example().join(rel);
            if rel.ends_with('/') {
                assert!(path.is_dir(), "{}: {rel} is not a directory", f.id);
                continue;
            }
            let text = read(&path);
            let lines: Vec<&str> = text.lines().collect();
            let cited = cited_lines(loc);
            if let Some((first, last)) = cited {
                assert!(
                    1 <= first && first <= last && last <= lines.len(),
                    "{}: {rel} has {} lines, the finding cites L{first}-L{last}",
                    f.id,
                    lines.len()
                );
            }
            let quote = line_texts(loc, "quote");
            for (line, want) in quote.iter().chain(&line_texts(loc, "expect")) {
                let got = lines.get(line - 1).map(|l| l.trim());
                assert_eq!(
                    got,
                    Some(want.trim()),
                    "{}: {rel}:{line} is not the cited text",
                    f.id
                );
                checked_lines += 1;
            }
            if let (Some((first, last)), false) = (cited, quote.is_empty()) {
                assert!(
                    quote.iter().any(|(l, _)| (first..=last).contains(l)),
                    "{}: no quoted line lies in the cited L{first}-L{last} of {rel}",
                    f.id
                );
            }
            for s in loc
                .get("absent")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
            {
                let s = s.as_str().expect("absent lists strings");
                assert!(!text.contains(s), "{}: {rel} contains `{s}`", f.id);
            }
        }
    }
    assert!(checked_lines >= 30, "only {checked_lines} lines checked");
}

/// The seed's Phase 0 document: `$HAPL_SHARED`, then `../shared` beside the checkout, then
/// `/work/shared`. `None` (with a printed reason) when none has it; a failure under `CI=true`.
fn seed_document() -> Option<String> {
    let candidates: Vec<PathBuf> = std::env::var_os("HAPL_SHARED")
        .map(PathBuf::from)
        .into_iter()
        .chain([root().join("../shared"), PathBuf::from("/work/shared")])
        .collect();
    let found = candidates
        .iter()
        .map(|d| d.join("seeds/ARCHITECTURE_TASK.md"))
        .find(|p| p.is_file());
    match found {
        Some(p) => Some(read(&p)),
        None if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but no shared dir has seeds/ARCHITECTURE_TASK.md: {candidates:?}")
        }
        None => {
            eprintln!("skipping: no shared dir has seeds/ARCHITECTURE_TASK.md ({candidates:?})");
            None
        }
    }
}

#[test]
fn the_seed_findings_are_the_seeds_words_at_the_seeds_places() {
    let Some(seed) = seed_document() else { return };
    let seed_lines: BTreeSet<&str> = seed.lines().map(str::trim).collect();
    for f in findings().iter().filter(|f| f.source == "seed") {
        let heading = format!("{}: {}", f.id, f.title);
        assert!(seed.contains(&heading), "the seed has no `{heading}`");
        for loc in &f.locations {
            let rel = str_at(loc, &["file"]).unwrap();
            let place = match cited_lines(loc) {
                Some((a, b)) if a == b => format!("{rel}#L{a})"),
                Some((a, b)) => format!("{rel}#L{a}-L{b})"),
                None => rel.to_owned(),
            };
            assert!(
                seed.contains(&place),
                "{}: the seed never cites {place}",
                f.id
            );
            for (_, text) in line_texts(loc, "quote") {
                let inline = format!("`{text}`");
                assert!(
                    seed_lines.contains(text.as_str()) || seed.contains(&inline),
                    "{}: the seed does not quote `{text}`",
                    f.id
                );
            }
        }
    }
}

#[test]
fn kubectl_kustomize_builds_every_kustomization() {
    let dirs: Vec<PathBuf> = files_under(&example())
        .into_iter()
        .filter(|p| p.file_name() == Some("kustomization.yaml".as_ref()))
        .map(|p| p.parent().unwrap().to_path_buf())
        .collect();
    assert!(dirs.len() >= 15, "only {} kustomizations", dirs.len());
    for dir in &dirs {
        let out = Command::new("kubectl")
            .arg("kustomize")
            .arg(dir)
            .output()
            .expect("kubectl is on the PATH");
        assert!(
            out.status.success(),
            "kubectl kustomize {} failed:\n{}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stdout.is_empty(), "{} builds nothing", dir.display());
    }
}

#[test]
fn every_yaml_file_parses_and_flux_objects_use_served_versions() {
    let served: BTreeMap<&str, &str> = [
        ("GitRepository", "source.toolkit.fluxcd.io/v1"),
        ("HelmRepository", "source.toolkit.fluxcd.io/v1"),
        ("HelmRelease", "helm.toolkit.fluxcd.io/v2"),
        ("Kustomization", "kustomize.toolkit.fluxcd.io/v1"),
    ]
    .into();
    let files = yaml_files();
    assert!(files.len() >= 40, "only {} YAML files", files.len());
    let mut documents = 0;
    for path in &files {
        for doc in yaml_documents(path) {
            documents += 1;
            let (Some(kind), Some(api)) = (str_at(&doc, &["kind"]), str_at(&doc, &["apiVersion"]))
            else {
                continue;
            };
            if api.contains("toolkit.fluxcd.io") {
                assert_eq!(
                    served.get(kind),
                    Some(&api),
                    "{}: {kind} {api}",
                    path.display()
                );
            }
        }
    }
    assert!(documents >= 50, "only {documents} documents");
}

/// Every Flux Kustomization points at a directory kustomize can build, and every HelmRelease at
/// a chart that exists (local) or a HelmRepository in `sources/` with a pinned version.
#[test]
fn flux_paths_and_chart_references_resolve() {
    let repositories: BTreeSet<String> = yaml_files()
        .iter()
        .flat_map(|p| yaml_documents(p))
        .filter(|d| str_at(d, &["kind"]) == Some("HelmRepository"))
        .map(|d| str_at(&d, &["metadata", "name"]).unwrap().to_owned())
        .collect();
    let mut kustomizations = 0;
    let mut releases = 0;
    for doc in yaml_files().iter().flat_map(|p| yaml_documents(p)) {
        let name = str_at(&doc, &["metadata", "name"])
            .unwrap_or_default()
            .to_owned();
        match (str_at(&doc, &["apiVersion"]), str_at(&doc, &["kind"])) {
            (Some("kustomize.toolkit.fluxcd.io/v1"), Some("Kustomization")) => {
                kustomizations += 1;
                let path = str_at(&doc, &["spec", "path"]).unwrap();
                assert!(
                    example().join(path).join("kustomization.yaml").is_file(),
                    "Kustomization {name}: {path} has no kustomization.yaml"
                );
            }
            (Some("helm.toolkit.fluxcd.io/v2"), Some("HelmRelease")) => {
                releases += 1;
                let spec = &doc["spec"]["chart"]["spec"];
                let chart = str_at(spec, &["chart"]).unwrap();
                match str_at(spec, &["sourceRef", "kind"]) {
                    Some("GitRepository") => assert!(
                        example().join(chart).join("Chart.yaml").is_file(),
                        "HelmRelease {name}: no chart at {chart}"
                    ),
                    _ => {
                        let repo = str_at(spec, &["sourceRef", "name"]).unwrap();
                        assert!(repositories.contains(repo), "{name}: no repository {repo}");
                        let version = str_at(spec, &["version"]).unwrap_or_default();
                        let plain = version.trim_start_matches('v');
                        assert!(
                            plain.split('.').count() == 3
                                && plain.split('.').all(|p| p.parse::<u32>().is_ok()),
                            "HelmRelease {name}: version `{version}` is not pinned"
                        );
                    }
                }
            }
            _ => {}
        }
    }
    assert_eq!(kustomizations, 7, "flux-system and six layers");
    assert_eq!(releases, 5);
}

fn map(pairs: Vec<(&str, Value)>) -> Value {
    Value::Mapping(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
}

fn string(v: Option<&str>) -> Value {
    Value::String(v.unwrap_or_else(|| panic!("missing field")).to_owned())
}

/// The inventory of the repository, derived from its files in the shape of the fixture's
/// `inventory` (sorted by name, or by kind and name).
fn derived_inventory() -> Value {
    let docs: Vec<(String, Value)> = yaml_files()
        .into_iter()
        .flat_map(|p| {
            let rel = p.strip_prefix(example()).unwrap().display().to_string();
            yaml_documents(&p)
                .into_iter()
                .map(move |d| (rel.clone(), d))
        })
        .collect();
    let of_kind = |kinds: &[&str]| -> Vec<(&String, &Value)> {
        let mut found: Vec<(&String, &Value)> = docs
            .iter()
            .filter(|(_, d)| kinds.contains(&str_at(d, &["kind"]).unwrap_or_default()))
            .map(|(f, d)| (f, d))
            .collect();
        found.sort_by_key(|(_, d)| (str_at(d, &["kind"]), str_at(d, &["metadata", "name"])));
        found
    };
    let meta = |d: &Value, k: &str| string(str_at(d, &["metadata", k]));

    let namespaces = of_kind(&["Namespace"])
        .into_iter()
        .map(|(_, d)| meta(d, "name"))
        .collect();
    let storage_classes = of_kind(&["StorageClass"])
        .into_iter()
        .map(|(file, d)| {
            let default_class = &[
                "metadata",
                "annotations",
                "storageclass.kubernetes.io/is-default-class",
            ];
            map(vec![
                ("name", meta(d, "name")),
                ("provisioner", string(str_at(d, &["provisioner"]))),
                ("reclaim_policy", string(str_at(d, &["reclaimPolicy"]))),
                (
                    "default",
                    Value::Bool(str_at(d, default_class) == Some("true")),
                ),
                ("path", string(str_at(d, &["parameters", "pvDir"]))),
                ("file", string(Some(file))),
            ])
        })
        .collect();
    let releases = of_kind(&["HelmRelease"]);
    let mut pvcs: Vec<Value> = of_kind(&["PersistentVolumeClaim"])
        .into_iter()
        .map(|(file, d)| {
            map(vec![
                ("name", meta(d, "name")),
                ("namespace", meta(d, "namespace")),
                (
                    "storage_class",
                    string(str_at(d, &["spec", "storageClassName"])),
                ),
                (
                    "size",
                    string(str_at(d, &["spec", "resources", "requests", "storage"])),
                ),
                ("file", string(Some(file))),
            ])
        })
        .collect();
    // The influxdb2 chart makes `<release>-influxdb2` from its persistence values.
    for (file, d) in &releases {
        if str_at(d, &["spec", "chart", "spec", "chart"]) == Some("influxdb2") {
            let persistence = &d["spec"]["values"]["persistence"];
            let name = format!("{}-influxdb2", str_at(d, &["metadata", "name"]).unwrap());
            pvcs.push(map(vec![
                ("name", string(Some(&name))),
                ("namespace", meta(d, "namespace")),
                (
                    "storage_class",
                    string(str_at(persistence, &["storageClass"])),
                ),
                ("size", string(str_at(persistence, &["size"]))),
                ("file", string(Some(file))),
            ]));
        }
    }
    pvcs.sort_by_key(|p| str_at(p, &["name"]).unwrap().to_owned());
    let helm_releases = releases
        .iter()
        .map(|(file, d)| {
            let spec = &d["spec"]["chart"]["spec"];
            let source = format!(
                "{}/{}",
                str_at(spec, &["sourceRef", "kind"]).unwrap(),
                str_at(spec, &["sourceRef", "name"]).unwrap()
            );
            let mut fields = vec![
                ("name", meta(d, "name")),
                ("namespace", meta(d, "namespace")),
                ("chart", string(str_at(spec, &["chart"]))),
            ];
            if let Some(version) = str_at(spec, &["version"]) {
                fields.push(("version", string(Some(version))));
            }
            fields.push(("source", string(Some(&source))));
            fields.push(("file", string(Some(file))));
            map(fields)
        })
        .collect();
    let workloads = of_kind(&["DaemonSet", "Deployment", "StatefulSet"])
        .into_iter()
        .map(|(file, d)| {
            let container = &d["spec"]["template"]["spec"]["containers"][0];
            map(vec![
                ("kind", string(str_at(d, &["kind"]))),
                ("name", meta(d, "name")),
                ("namespace", meta(d, "namespace")),
                ("image", string(str_at(container, &["image"]))),
                ("file", string(Some(file))),
            ])
        })
        .collect();

    let values_file = "charts/home-assistant/values.yaml";
    let values = &yaml_documents(&example().join(values_file))[0];
    let image = format!(
        "{}:{}",
        str_at(values, &["image", "repository"]).unwrap(),
        str_at(values, &["image", "tag"]).unwrap()
    );
    let configuration: Value =
        serde_yaml::from_str(str_at(values, &["configuration"]).unwrap()).unwrap();
    let pick = |section: &str, keys: &[&str]| {
        map(keys
            .iter()
            .map(|k| (*k, configuration[section][*k].clone()))
            .collect())
    };
    let home_assistant = map(vec![
        ("values", string(Some(values_file))),
        ("image", string(Some(&image))),
        ("recorder", pick("recorder", &["db_url", "purge_keep_days"])),
        (
            "influxdb",
            pick("influxdb", &["api_version", "host", "bucket"]),
        ),
    ]);

    map(vec![
        ("namespaces", Value::Sequence(namespaces)),
        ("storage_classes", Value::Sequence(storage_classes)),
        ("pvcs", Value::Sequence(pvcs)),
        ("helm_releases", Value::Sequence(helm_releases)),
        ("workloads", Value::Sequence(workloads)),
        ("home_assistant", home_assistant),
    ])
}

/// The fixture's inventory is the repository's: the seed's namespaces (no `zigbee`), its two
/// default StorageClasses and four PVCs, and the rest of what an assessment lists.
#[test]
fn the_inventory_in_the_fixture_is_the_repositorys() {
    let fixture = &yaml_documents(&root().join("tests/fixtures/legacy_findings.yaml"))[0];
    let expected = &fixture["inventory"];
    let derived = derived_inventory();
    for section in expected.as_mapping().unwrap().keys() {
        assert_eq!(
            derived[section], expected[section],
            "inventory section {section:?}: the repository (left) differs from the fixture"
        );
    }
    assert_eq!(
        derived.as_mapping().unwrap().len(),
        expected.as_mapping().unwrap().len()
    );
}

/// "All Helm charts and images have explicit versions" (the seed), except the Matter server's
/// `:stable` that the seed quoted without noticing (M3): every literal `image:` and `tag:` in
/// the repository and the chart has an exact version.
#[test]
fn every_image_is_pinned_but_the_matter_server() {
    let moving = ["latest", "stable", "edge", "dev", "main", "nightly"];
    let mut unpinned = Vec::new();
    let mut seen = 0;
    for path in files_under(&example()) {
        let rel = path.strip_prefix(example()).unwrap().display().to_string();
        if !rel.ends_with(".yaml") {
            continue;
        }
        for (i, line) in read(&path).lines().enumerate() {
            let line = line.trim().trim_start_matches("- ");
            let tag = if let Some(image) = line.strip_prefix("image: ") {
                image.trim_matches('"').rsplit_once(':').map(|(_, t)| t)
            } else if let Some(tag) = line.strip_prefix("tag: ") {
                Some(tag.trim_matches('"'))
            } else {
                continue;
            };
            if line.contains("{{") {
                continue; // a template: the values hold the tag
            }
            seen += 1;
            let pinned = tag.is_some_and(|t| {
                !moving.contains(&t)
                    && t.trim_start_matches('v')
                        .starts_with(|c: char| c.is_ascii_digit())
            });
            if !pinned {
                unpinned.push(format!("{rel}:{}", i + 1));
            }
        }
    }
    assert!(seen >= 7, "only {seen} image references");
    assert_eq!(
        unpinned,
        ["charts/home-assistant/templates/deployment.yaml:160"]
    );
}

/// The state before Phase 1 that PHASE1_IMPLEMENTATION.md changes.
#[test]
fn the_repository_is_the_seeds_before_phase_1() {
    // postgresql/ is empty and unlisted.
    let postgresql = example().join("clusters/microk8s/databases/postgresql");
    let entries: Vec<_> = std::fs::read_dir(&postgresql)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries, [".gitkeep"]);
    let databases = read(&example().join("clusters/microk8s/databases/kustomization.yaml"));
    assert!(!databases.contains("postgresql"));
    // Home Assistant's sealed secret has no PostgreSQL URL yet.
    let ha_secret = example().join("clusters/microk8s/apps/home-assistant/sealed-secret.yaml");
    let sealed = &yaml_documents(&ha_secret)[0];
    assert_eq!(
        str_at(sealed, &["metadata", "name"]),
        Some("home-assistant-config")
    );
    let keys: Vec<&str> = sealed["spec"]["encryptedData"]
        .as_mapping()
        .unwrap()
        .keys()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(keys, ["influxdb-token"]);
    // Every secret is sealed; none is a plain Secret.
    let kinds: Vec<String> = yaml_files()
        .iter()
        .flat_map(|p| yaml_documents(p))
        .filter_map(|d| str_at(&d, &["kind"]).map(str::to_owned))
        .collect();
    assert_eq!(kinds.iter().filter(|k| *k == "SealedSecret").count(), 4);
    assert!(
        !kinds.iter().any(|k| k == "Secret"),
        "no plain Secret in git"
    );
}

/// A structural check of Go template syntax, as far as it can go without Helm: every action is
/// closed, `if`/`with`/`range`/`define`/`block` blocks balance with `end`, `else` only inside
/// `if`/`with`/`range`, comments are closed, and every `include`/`template` names a `define`.
#[test]
fn the_chart_templates_are_well_formed_go_templates() {
    let chart = example().join("charts/home-assistant");
    let chart_yaml = &yaml_documents(&chart.join("Chart.yaml"))[0];
    assert_eq!(str_at(chart_yaml, &["apiVersion"]), Some("v2"));
    assert_eq!(str_at(chart_yaml, &["name"]), Some("home-assistant"));
    let templates = files_under(&chart.join("templates"));
    assert!(templates.len() >= 6, "{templates:?}");
    let mut defined = BTreeSet::new();
    let mut used = BTreeSet::new();
    for path in &templates {
        let text = read(path);
        let problems = go_template_problems(&text, &mut defined, &mut used);
        assert!(problems.is_empty(), "{}: {problems:?}", path.display());
    }
    let undefined: Vec<_> = used.difference(&defined).collect();
    assert!(
        undefined.is_empty(),
        "included but never defined: {undefined:?}"
    );
    assert!(defined.contains("home-assistant.fullname"));
}

/// The problems `go_template_problems` finds in broken templates: the check can fail.
#[test]
fn the_go_template_check_finds_broken_templates() {
    let problems = |t: &str| go_template_problems(t, &mut BTreeSet::new(), &mut BTreeSet::new());
    assert!(problems("{{- if .Values.a }}\nx: 1\n{{- end }}\n").is_empty());
    assert!(problems("{{ with .a }}{{ else }}{{ end }}{{/* note */}}").is_empty());
    for broken in [
        "{{- if .Values.a }}\nx: 1\n",
        "{{ end }}",
        "x: {{ .Values.a ",
        "{{ else }}",
        "{{ define \"x\" }}{{ if .a }}{{ end }}",
        "{{/* unclosed comment }}",
    ] {
        assert!(
            !problems(broken).is_empty(),
            "no problem found in {broken:?}"
        );
    }
}

fn go_template_problems(
    text: &str,
    defined: &mut BTreeSet<String>,
    used: &mut BTreeSet<String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut stack: Vec<(&str, usize)> = Vec::new();
    let mut rest = text;
    let line_of = |rest: &str| text[..text.len() - rest.len()].matches('\n').count() + 1;
    while let Some(start) = rest.find("{{") {
        rest = &rest[start + 2..];
        let line = line_of(rest);
        let Some(end) = rest.find("}}") else {
            problems.push(format!("line {line}: `{{{{` is never closed"));
            break;
        };
        let action = rest[..end]
            .trim_start_matches('-')
            .trim_end_matches('-')
            .trim();
        rest = &rest[end + 2..];
        if let Some(comment) = action.strip_prefix("/*") {
            if !comment.ends_with("*/") {
                problems.push(format!("line {line}: comment is not closed with `*/}}}}`"));
            }
            continue;
        }
        let word = action.split_whitespace().next().unwrap_or_default();
        let quoted = || action.split('"').nth(1).map(str::to_owned);
        match word {
            "if" | "with" | "range" | "define" | "block" => {
                if word == "define" {
                    defined.extend(quoted());
                }
                stack.push((word, line));
            }
            "else" if !matches!(stack.last(), Some(("if" | "with" | "range", _))) => {
                problems.push(format!("line {line}: `else` outside if/with/range"));
            }
            // The guard pops the block `end` closes.
            "end" if stack.pop().is_none() => {
                problems.push(format!("line {line}: `end` without a block"));
            }
            _ => {}
        }
        for call in ["include \"", "template \""] {
            for (i, _) in action.match_indices(call) {
                let name = action[i + call.len()..]
                    .split('"')
                    .next()
                    .unwrap_or_default();
                used.insert(name.to_owned());
            }
        }
    }
    problems.extend(
        stack
            .into_iter()
            .map(|(word, line)| format!("line {line}: `{word}` is never ended")),
    );
    problems
}
