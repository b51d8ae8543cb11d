//! The core platform modules (app, cluster, nas_pvc inventory, postgres, influxdb,
//! home_assistant, backups) and the top-level platform.rhai, evaluated for real: what they
//! make, and what they refuse, at the user's line.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::{eval, eval_err};
use hapl_core::quantity::is_exact_version;
use hapl_core::workload::{workloads, WorkloadKind};
use hapl_core::{Diagnostic, Resource};
use hapl_script::{evaluate_str, Evaluation, Options};
use serde_json::Value;

/// The error is reported at `line` of the user's script (not inside the stdlib).
fn assert_at_line(d: &Diagnostic, line: u32) {
    let span = d.primary.as_ref().expect("a location");
    assert_eq!(span.file, "test.rhai", "{d}");
    assert_eq!(span.line, line, "{d}");
}

/// Every object as JSON, with its kind, namespace and name.
fn objects(e: &Evaluation) -> Vec<(String, String, String, Value)> {
    e.platform
        .objects
        .iter()
        .map(|o| {
            (
                o.resource.kind().to_owned(),
                o.resource.namespace().unwrap_or("").to_owned(),
                o.resource.name().to_owned(),
                o.resource.to_value(),
            )
        })
        .collect()
}

fn find(e: &Evaluation, kind: &str, name: &str) -> Value {
    objects(e)
        .into_iter()
        .find(|(k, _, n, _)| k == kind && n == name)
        .map(|(_, _, _, v)| v)
        .unwrap_or_else(|| panic!("no {kind} `{name}`"))
}

fn count(e: &Evaluation, kind: &str) -> usize {
    objects(e).iter().filter(|(k, ..)| k == kind).count()
}

/// The values of a HelmRelease.
fn values(e: &Evaluation, release: &str) -> Value {
    find(e, "HelmRelease", release)
        .pointer("/spec/values")
        .cloned()
        .unwrap_or(Value::Null)
}

fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer} in {v}"))
}

const CIPHER_A: &str = "AgBvGJ8mK3vQm2Pq0cXlq7n1v6b9hT4eR2sYw5uZ8aD1fC3gE6jH9kL2nP5rS8uV0xY3zA6b";
const CIPHER_B: &str = "AgCx1fQ9nT3sK7vB2mP6rW0yD4hL8jN1qS5uX9zA2cE6gI0kM4oR8tV2wY6aC0eG4iK8mO2q";

/// The platform's foundation: base, NAS, PostgreSQL, InfluxDB.
fn foundation() -> String {
    format!(
        r#"import "cluster" as cluster;
import "nas_pvc" as nas;
import "postgres" as postgres;
import "influxdb" as influxdb;
import "home_assistant" as home_assistant;
import "backups" as backups;
let p = platform("home", #{{ cluster: "pi", node: #{{ arch: "arm64", cpu: 4, memory: "8Gi" }} }});
let base = cluster::base(p, #{{}});
let nas = nas::storage_class(p, #{{ server: "dpx2800.lan", share: "/volume1/k8s", capacity: "1Ti" }});
let db = postgres::server(p, nas, #{{ credentials: #{{ name: "pg", encrypted: #{{ "postgres-password": "{CIPHER_A}", "homeassistant-password": "{CIPHER_B}" }} }} }});
let influx = influxdb::server(p, nas, #{{ credentials: "influxdb-auth" }});
"#
    )
}

fn home_assistant(extra: &str) -> String {
    format!(
        r#"{}let ha = home_assistant::core(p, nas, #{{ base: base, database: db, influxdb: influx,
    secrets: #{{ name: "ha-secrets", encrypted: #{{ recorder_password: "{CIPHER_A}", influxdb_token: "{CIPHER_B}" }} }}{extra} }});
"#,
        foundation()
    )
}

// ------------------------------------------------------------------------------------------
// app

const APP: &str = r#"import "app" as app;
let p = platform("home");
"#;

fn app_release(fields: &str) -> String {
    format!(
        "{APP}app::release(p, #{{ name: \"web\", namespace: \"apps\", role: \"web\", phase: 2, reason: \"r\",\n    resources: app::resources(\"5m\", \"16Mi\", \"100m\", \"64Mi\"), {fields} }});\np"
    )
}

#[test]
fn an_app_is_a_pinned_app_template_release_with_its_role_everywhere() {
    let e = eval(&app_release(
        r#"image: "docker.io/traefik/whoami:v1.11.0", ports: #{ http: 80 }, probes: #{ http: "/health" },
    env: #{ TOKEN: #{ secret: "web-secret", key: "token" }, MODE: "x" }"#,
    ));
    let hr = find(&e, "HelmRelease", "web");
    assert_eq!(s(&hr, "/metadata/labels/hapl.dev~1role"), "web");
    assert_eq!(s(&hr, "/spec/chartRef/kind"), "OCIRepository");
    let oci = find(&e, "OCIRepository", "app-template");
    assert!(is_exact_version(s(&oci, "/spec/ref/tag")));
    assert_eq!(
        s(&oci, "/spec/url"),
        "oci://ghcr.io/bjw-s-labs/helm/app-template"
    );
    let v = values(&e, "web");
    let ctl = &v["controllers"]["main"];
    assert_eq!(ctl["labels"]["hapl.dev/role"], "web");
    assert_eq!(ctl["pod"]["labels"]["hapl.dev/role"], "web");
    assert_eq!(ctl["strategy"], "Recreate");
    assert_eq!(ctl["replicas"], 1);
    let app = &ctl["containers"]["app"];
    assert_eq!(app["image"]["tag"], "v1.11.0");
    assert_eq!(app["securityContext"]["privileged"], false);
    assert_eq!(
        app["env"]["TOKEN"]["valueFrom"]["secretKeyRef"]["name"],
        "web-secret"
    );
    assert_eq!(
        app["probes"]["liveness"]["spec"]["httpGet"]["path"],
        "/health"
    );
    // The workload view (what the rules see) agrees.
    let refs: Vec<&Resource> = e.platform.objects.iter().map(|o| &o.resource).collect();
    let w = workloads(&refs);
    let web = w.workloads.iter().find(|w| w.name == "web").unwrap();
    assert_eq!(web.kind, WorkloadKind::Deployment);
    assert_eq!(web.chart.as_deref(), Some("app-template"));
    assert_eq!(web.strategy.as_deref(), Some("Recreate"));
    assert!(web.containers[0].liveness && web.containers[0].readiness);
}

#[test]
fn two_modules_share_one_app_template_source() {
    let e = eval(&format!(
        "{APP}for n in [\"a\", \"b\"] {{ app::release(p, #{{ name: n, namespace: \"apps\", role: n, phase: 2, reason: \"r\",\n    image: \"docker.io/library/busybox:1.37.0\", resources: app::resources(\"5m\", \"16Mi\", \"100m\", \"64Mi\"),\n    controller: \"cronjob\", schedule: \"0 3 * * *\" }}); }}\np"
    ));
    assert_eq!(count(&e, "OCIRepository"), 1);
    assert_eq!(count(&e, "HelmRelease"), 2);
}

#[test]
fn moving_image_tags_are_refused_at_the_users_line() {
    for image in [
        "ghcr.io/home-assistant/home-assistant:latest",
        "ghcr.io/home-assistant/home-assistant:stable",
        "ghcr.io/home-assistant/home-assistant",
        "localhost:5000/app",
        "docker.io/library/postgres:18",
        "docker.io/library/postgres:18-alpine",
    ] {
        let d = eval_err(&app_release(&format!(
            "image: \"{image}\", ports: #{{ http: 80 }}, probes: #{{ tcp: true }}"
        )));
        assert_eq!(d.code, "pinned-versions", "{image}: {d}");
        assert_at_line(&d, 3);
    }
}

#[test]
fn a_service_without_probes_or_resources_is_refused() {
    let d = eval_err(&app_release(
        r#"image: "docker.io/traefik/whoami:v1.11.0", ports: #{ http: 80 }"#,
    ));
    assert_eq!(d.code, "probes");
    let d = eval_err(&format!(
        "{APP}app::release(p, #{{ name: \"web\", namespace: \"apps\", role: \"web\", phase: 2, reason: \"r\",\n    image: \"docker.io/traefik/whoami:v1.11.0\", probes: #{{ tcp: true }}, ports: #{{ http: 80 }} }});\np"
    ));
    assert_eq!(d.code, "resources");
    assert_at_line(&d, 3);
}

#[test]
fn host_network_and_privilege_need_a_written_reason() {
    let base = r#"image: "docker.io/traefik/whoami:v1.11.0", ports: #{ http: 80 }, probes: #{ tcp: true }"#;
    let d = eval_err(&app_release(&format!("{base}, host_network: true")));
    assert_eq!(d.code, "host-network");
    let d = eval_err(&app_release(&format!(
        "{base}, security: #{{ privileged: true }}"
    )));
    assert_eq!(d.code, "privileged");

    let e = eval(&app_release(&format!(
        "{base}, host_network: true, host_network_reason: \"mDNS discovery of LAN devices\",\n    security: #{{ privileged: true }}, privileged_reason: \"opens a serial device through hostPath\""
    )));
    let pod = &values(&e, "web")["controllers"]["main"]["pod"];
    assert_eq!(pod["hostNetwork"], true);
    assert_eq!(pod["dnsPolicy"], "ClusterFirstWithHostNet");
    assert_eq!(
        pod["annotations"]["hapl.dev/host-network-reason"],
        "mDNS discovery of LAN devices"
    );
    assert_eq!(
        pod["annotations"]["hapl.dev/privileged-reason"],
        "opens a serial device through hostPath"
    );
}

#[test]
fn a_misspelt_option_is_an_error_with_a_suggestion() {
    let d = eval_err(&app_release(
        r#"image: "docker.io/traefik/whoami:v1.11.0", ports: #{ http: 80 }, probes: #{ tcp: true }, stratgy: "Recreate""#,
    ));
    assert_eq!(d.code, "invalid-argument");
    assert!(d.message.contains("stratgy"), "{d}");
    assert!(d.hints.iter().any(|h| h.contains("`strategy`")), "{d}");
    assert_at_line(&d, 3);
}

#[test]
fn a_plain_password_is_never_accepted_as_a_sealed_secret() {
    let d = eval_err(&format!(
        "{APP}app::sealed_secret(p, #{{ name: \"s\", namespace: \"n\", encrypted: #{{ password: \"hunter2\" }} }});\np"
    ));
    assert_eq!(d.code, "secret-in-plaintext");
    assert!(!d.message.contains("hunter2"), "{d}");
    assert_at_line(&d, 3);
}

// ------------------------------------------------------------------------------------------
// nas_pvc inventory

const NAS: &str = r#"import "nas_pvc" as nas;
let p = platform("home");
let s = nas::storage_class(p, #{ server: "dpx2800.lan", share: "/volume1/k8s", capacity: "100Gi" });
"#;

#[test]
fn claims_beyond_the_nas_capacity_are_refused_at_the_claim_that_overflows() {
    let e = eval(&format!(
        "{NAS}nas::pvc(p, s, #{{ name: \"a\", namespace: \"x\", size: \"60Gi\" }});\nnas::pvc(p, s, #{{ name: \"b\", namespace: \"x\", size: \"40Gi\" }});\np"
    ));
    let sc = find(&e, "StorageClass", "nfs-storage");
    assert_eq!(
        s(&sc, "/metadata/annotations/hapl.dev~1nas-capacity"),
        "100Gi"
    );
    let d = eval_err(&format!(
        "{NAS}nas::pvc(p, s, #{{ name: \"a\", namespace: \"x\", size: \"60Gi\" }});\nnas::static_pv(p, s, #{{ name: \"b\", namespace: \"x\", path: \"old\", size: \"41Gi\" }});\np"
    ));
    assert_eq!(d.code, "nas-capacity");
    assert!(
        d.message.contains("101 GiB") && d.message.contains("100Gi"),
        "{d}"
    );
    assert_at_line(&d, 5);
}

#[test]
fn there_is_exactly_one_default_storage_class() {
    let d = eval_err(&format!(
        "{NAS}nas::storage_class(p, #{{ server: \"other.lan\", share: \"/x\", name: \"second\" }});\np"
    ));
    assert_eq!(d.code, "default-storage-class");
    assert_at_line(&d, 4);
    let e = eval(&format!(
        "{NAS}nas::storage_class(p, #{{ server: \"other.lan\", share: \"/x\", name: \"second\", \"default\": false }});\np"
    ));
    let defaults = objects(&e)
        .into_iter()
        .filter(|(k, ..)| k == "StorageClass")
        .filter(|(.., v)| {
            v.pointer("/metadata/annotations/storageclass.kubernetes.io~1is-default-class")
                == Some(&Value::from("true"))
        })
        .count();
    assert_eq!(defaults, 1);
}

// ------------------------------------------------------------------------------------------
// cluster

#[test]
fn the_base_makes_remappable_namespaces_and_the_controllers() {
    let e = eval(
        r#"import "cluster" as cluster;
let p = platform("home");
let base = cluster::base(p, #{ namespaces: #{ homeassistant: "home-automation" },
    issuer: #{ name: "le", email: "me@example.org", server: "staging" } });
if base.ns.homeassistant != "home-automation" || base.ns.datastore != "datastore" { throw "handle"; }
p"#,
    );
    let namespaces: Vec<String> = objects(&e)
        .into_iter()
        .filter(|(k, ..)| k == "Namespace")
        .map(|(.., n, _)| n)
        .collect();
    for ns in [
        "home-automation",
        "datastore",
        "logging",
        "monitoring",
        "ingress",
        "zigbee",
    ] {
        assert!(namespaces.contains(&ns.to_owned()), "{ns}: {namespaces:?}");
    }
    assert!(!namespaces.contains(&"homeassistant".to_owned()));
    let issuer = find(&e, "ClusterIssuer", "le");
    assert_eq!(
        s(&issuer, "/spec/acme/server"),
        "https://acme-staging-v02.api.letsencrypt.org/directory"
    );
    assert_eq!(
        s(
            &issuer,
            "/spec/acme/solvers/0/http01/ingress/ingressClassName"
        ),
        "traefik"
    );
    for (release, role) in [
        ("traefik", "ingress-controller"),
        ("cert-manager", "cert-manager"),
        ("sealed-secrets-controller", "sealed-secrets"),
    ] {
        let hr = find(&e, "HelmRelease", release);
        assert_eq!(s(&hr, "/metadata/labels/hapl.dev~1role"), role);
        assert!(
            hr.pointer("/spec/values/resources/requests/memory")
                .is_some(),
            "{release} has no resources"
        );
    }
    let d = eval_err(
        "import \"cluster\" as cluster;\nlet p = platform(\"home\");\ncluster::base(p, #{ namespaces: #{ home_assistant: \"x\" } });\np",
    );
    assert!(d.hints.iter().any(|h| h.contains("`homeassistant`")), "{d}");
    assert_at_line(&d, 3);
}

#[test]
fn flux_kustomizations_apply_every_layer_in_order_with_waits_and_timeouts() {
    let e = eval(&format!(
        "{}p.place_layer(\"datastore\", \"clusters/microk8s/databases\");\ncluster::flux(p, #{{}});\np",
        home_assistant("")
    ));
    let ks: BTreeMap<String, Value> = objects(&e)
        .into_iter()
        .filter(|(k, ..)| k == "Kustomization")
        .map(|(.., n, v)| (n, v))
        .collect();
    let names: Vec<&str> = ks.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "apps",
            "datastore",
            "infrastructure",
            "infrastructure-config",
            "sources",
            "storage"
        ]
    );
    let deps = |layer: &str| -> Vec<String> {
        ks[layer]["spec"]["dependsOn"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|d| d["name"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(deps("sources").is_empty());
    assert_eq!(deps("infrastructure"), ["sources"]);
    assert_eq!(deps("storage"), ["infrastructure"]);
    assert_eq!(deps("datastore"), ["storage"]);
    assert_eq!(deps("apps"), ["datastore", "infrastructure-config"]);
    for (layer, k) in &ks {
        assert_eq!(k["spec"]["wait"], true, "{layer}");
        assert_eq!(k["spec"]["prune"], true, "{layer}");
        assert!(k["spec"]["timeout"].is_string(), "{layer}");
        let expected = if layer == "datastore" {
            "./clusters/microk8s/databases".to_owned()
        } else {
            format!("./clusters/pi/{layer}")
        };
        assert_eq!(k["spec"]["path"], expected.as_str(), "{layer}");
    }
    // Every object the modules made sits in a layer and a phase, with a reason.
    for o in &e.platform.objects {
        let id = o.identity();
        assert!(o.layer.is_some(), "{id} has no layer");
        assert!(o.phase.is_some(), "{id} has no phase");
        assert!(o.reason.as_deref().is_some_and(|r| r.len() > 10), "{id}");
    }
}

// ------------------------------------------------------------------------------------------
// postgres

#[test]
fn postgres_is_power_loss_safe_and_runs_the_config_it_ships() {
    let e = eval(&format!("{}p", foundation()));
    let cm = find(&e, "ConfigMap", "postgresql-config");
    assert_eq!(s(&cm, "/metadata/labels/hapl.dev~1config"), "postgresql");
    let conf = s(&cm, "/data/postgresql.conf");
    let settings: BTreeMap<&str, &str> = conf
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (k, v) = l.split_once(" = ").expect("key = value");
            (k, v)
        })
        .collect();
    for key in ["fsync", "full_page_writes", "synchronous_commit"] {
        assert_eq!(settings[key], "on", "{key}");
    }
    assert_eq!(settings["shared_buffers"], "128MB");
    assert_eq!(settings["listen_addresses"], "'*'");

    let v = values(&e, "postgresql");
    let ctl = &v["controllers"]["main"];
    assert_eq!(ctl["type"], "statefulset");
    let app = &ctl["containers"]["app"];
    assert_eq!(app["image"]["repository"], "docker.io/library/postgres");
    assert!(is_exact_version(app["image"]["tag"].as_str().unwrap()));
    assert_eq!(
        app["args"],
        serde_json::json!(["-c", "config_file=/etc/postgresql/postgresql.conf"])
    );
    assert_eq!(
        app["env"]["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"],
        "pg"
    );
    let exporter = &ctl["containers"]["exporter"];
    assert_eq!(
        exporter["image"]["repository"],
        "quay.io/prometheuscommunity/postgres-exporter"
    );
    assert_eq!(v["persistence"]["data"]["existingClaim"], "postgresql-data");
    assert_eq!(
        v["persistence"]["config"]["advancedMounts"]["main"]["app"][0]["path"],
        "/etc/postgresql/postgresql.conf"
    );
    let pvc = find(&e, "PersistentVolumeClaim", "postgresql-data");
    assert_eq!(s(&pvc, "/spec/storageClassName"), "nfs-storage");
    let sealed = find(&e, "SealedSecret", "pg");
    assert_eq!(
        s(&sealed, "/spec/encryptedData/postgres-password"),
        CIPHER_A
    );
    let init = find(&e, "ConfigMap", "postgresql-init");
    assert!(s(&init, "/data/10-roles.sh").contains("CREATE ROLE"));
    // The role script also runs on every start, from a sidecar, for adopted data directories.
    let roles = &ctl["containers"]["roles"];
    assert!(roles["command"][2]
        .as_str()
        .unwrap()
        .contains("sh /docker-entrypoint-initdb.d/10-roles.sh"));
    assert_eq!(
        v["persistence"]["init"]["advancedMounts"]["main"]["roles"][0]["path"],
        "/docker-entrypoint-initdb.d"
    );
}

#[test]
fn the_database_versions_are_pinned() {
    for (call, code) in [
        (
            "postgres::server(p, nas, #{ credentials: \"pg\", version: \"latest\" });",
            "pinned-versions",
        ),
        (
            "postgres::server(p, nas, #{ credentials: \"pg\", version: 18 });",
            "pinned-versions",
        ),
        (
            "influxdb::server(p, nas, #{ credentials: \"i\", version: \"2\" });",
            "pinned-versions",
        ),
    ] {
        let d = eval_err(&format!("{}{call}\np", foundation()));
        assert_eq!(d.code, code, "{call}: {d}");
        assert_at_line(&d, 12);
    }
}

#[test]
fn turning_a_durability_setting_off_is_refused() {
    for (key, value) in [
        ("fsync", "off"),
        ("full_page_writes", "false"),
        ("synchronous_commit", "off"),
    ] {
        let d = eval_err(&format!(
            "import \"nas_pvc\" as nas;\nimport \"postgres\" as postgres;\nlet p = platform(\"home\");\nlet s = nas::storage_class(p, #{{ server: \"n\", share: \"/k\" }});\npostgres::server(p, s, #{{ credentials: \"pg\", settings: #{{ {key}: \"{value}\" }} }});\np"
        ));
        assert_eq!(d.code, "power-loss-safety", "{key}");
        assert_at_line(&d, 5);
    }
}

// ------------------------------------------------------------------------------------------
// influxdb

#[test]
fn influxdb_keeps_years_with_pi_sized_shards() {
    let e = eval(&format!("{}p", foundation()));
    let hr = find(&e, "HelmRelease", "influxdb");
    assert_eq!(s(&hr, "/spec/chart/spec/chart"), "influxdb2");
    assert!(is_exact_version(s(&hr, "/spec/chart/spec/version")));
    assert_eq!(s(&hr, "/metadata/labels/hapl.dev~1role"), "influxdb");
    assert_eq!(s(&hr, "/spec/values/adminUser/retention_policy"), "1825d");
    assert_eq!(
        s(
            &hr,
            "/metadata/annotations/hapl.dev~1influx-shard-group-duration"
        ),
        "30d"
    );
    assert_eq!(
        s(&hr, "/spec/values/adminUser/existingSecret"),
        "influxdb-auth"
    );
    assert_eq!(s(&hr, "/spec/values/persistence/name"), "influxdb-data");
    assert_eq!(s(&hr, "/spec/values/image/tag"), "2.7.12");
    // 500 series every 60 s for 1825 days at 3 bytes a sample.
    let growth: u64 = s(&hr, "/metadata/annotations/hapl.dev~1influx-growth-bytes")
        .parse()
        .unwrap();
    assert_eq!(growth, 500 * (1825 * 86400 / 60) * 3);
    // The bucket settings are applied for real by a CronJob with the influx CLI.
    let job = values(&e, "influxdb-bucket-settings");
    let app = &job["controllers"]["main"]["containers"]["app"];
    assert!(app["command"][2]
        .as_str()
        .unwrap()
        .contains("--shard-group-duration \"$SHARD_GROUP_DURATION\""));
    assert_eq!(app["env"]["SHARD_GROUP_DURATION"], "30d");
    assert_eq!(app["env"]["RETENTION"], "1825d");
}

#[test]
fn a_short_retention_or_a_claim_too_small_for_the_estimate_is_refused() {
    let head = "import \"nas_pvc\" as nas;\nimport \"influxdb\" as influxdb;\nlet p = platform(\"home\");\nlet s = nas::storage_class(p, #{ server: \"n\", share: \"/k\" });\n";
    let d = eval_err(&format!(
        "{head}influxdb::server(p, s, #{{ credentials: \"i\", retention_days: 30 }});\np"
    ));
    assert_eq!(d.code, "retention");
    assert_at_line(&d, 5);
    let d = eval_err(&format!(
        "{head}influxdb::server(p, s, #{{ credentials: \"i\", size: \"1Gi\", series: 2000, interval_seconds: 10 }});\np"
    ));
    assert_eq!(d.code, "influx-capacity");
    assert_at_line(&d, 5);
    let e = eval(&format!(
        "{head}if influxdb::growth_bytes(300, 60, 1825) != 300 * 2628000 * 3 {{ throw \"estimate\"; }}\np"
    ));
    assert_eq!(e.platform.objects.len(), 3);
}

// ------------------------------------------------------------------------------------------
// home_assistant

#[test]
fn home_assistant_core_is_hardened_and_reads_a_package() {
    let e = eval(&format!(
        "{}p",
        home_assistant(", host: \"ha.example.org\", purge_keep_days: 45")
    ));
    let v = values(&e, "home-assistant");
    let ctl = &v["controllers"]["main"];
    let app = &ctl["containers"]["app"];
    assert_eq!(
        app["image"]["repository"],
        "ghcr.io/home-assistant/home-assistant"
    );
    assert!(is_exact_version(app["image"]["tag"].as_str().unwrap()));
    assert_eq!(ctl["strategy"], "Recreate");
    assert_eq!(app["securityContext"]["privileged"], false);
    assert!(ctl["pod"].get("hostNetwork").is_none());
    // No USB or any other host device: every volume is the NAS claim, the package, the secret.
    let persistence = v["persistence"].as_object().unwrap();
    for (name, p) in persistence {
        assert_ne!(p["type"], "hostPath", "{name}");
    }
    assert_eq!(
        v["persistence"]["config"]["existingClaim"],
        "home-assistant-config"
    );
    assert_eq!(
        v["persistence"]["hapl_package"]["globalMounts"][0]["path"],
        "/config/packages/hapl.yaml"
    );
    assert_eq!(
        v["persistence"]["secrets"]["globalMounts"][0]["path"],
        "/config/packages/secrets.yaml"
    );
    assert_eq!(v["ingress"]["main"]["hosts"][0]["host"], "ha.example.org");

    let cm = find(&e, "ConfigMap", "home-assistant-hapl");
    assert_eq!(
        s(&cm, "/metadata/labels/hapl.dev~1config"),
        "home-assistant"
    );
    let package: serde_yaml::Value = serde_yaml::from_str(s(&cm, "/data/hapl.yaml")).unwrap();
    let secret_ref = |v: &serde_yaml::Value| match v {
        serde_yaml::Value::Tagged(t) if t.tag == "!secret" => t.value.as_str().map(str::to_owned),
        _ => None,
    };
    assert_eq!(
        secret_ref(&package["recorder"]["db_url"]).as_deref(),
        Some("recorder_db_url")
    );
    assert_eq!(package["recorder"]["purge_keep_days"], 45);
    assert_eq!(package["http"]["use_x_forwarded_for"], true);
    assert_eq!(package["http"]["trusted_proxies"][0], "10.42.0.0/16");
    assert_eq!(package["influxdb"]["api_version"], 2);
    assert_eq!(
        package["influxdb"]["host"],
        "influxdb.datastore.svc.cluster.local"
    );
    assert_eq!(package["influxdb"]["bucket"], "home_assistant");
    assert_eq!(
        secret_ref(&package["influxdb"]["token"]).as_deref(),
        Some("influxdb_token")
    );
    assert!(package["prometheus"].is_mapping());

    // The recorder URL is assembled in the cluster: git has only ciphertext and a template.
    let sealed = find(&e, "SealedSecret", "ha-secrets");
    let template = s(&sealed, "/spec/template/data/secrets.yaml");
    assert!(template.contains(
        "postgresql://homeassistant:{{ .recorder_password }}@postgresql.datastore.svc.cluster.local:5432/homeassistant"
    ));
}

#[test]
fn the_recorder_window_and_discovery_are_checked() {
    let d = eval_err(&format!("{}p", home_assistant(", purge_keep_days: 7")));
    assert_eq!(d.code, "recorder-purge");
    assert_at_line(&d, 12);
    let e = eval(&format!(
        "{}p",
        home_assistant(
            ", discovery: #{ reason: \"mDNS discovery of Chromecasts\" },\n    mqtt: #{ broker: \"mosquitto.zigbee:1883\", credentials: \"ha-mqtt\" }"
        )
    ));
    let v = values(&e, "home-assistant");
    let pod = &v["controllers"]["main"]["pod"];
    assert_eq!(pod["hostNetwork"], true);
    assert_eq!(
        pod["annotations"]["hapl.dev/host-network-reason"],
        "mDNS discovery of Chromecasts"
    );
    let hr = find(&e, "HelmRelease", "home-assistant");
    assert_eq!(
        s(&hr, "/metadata/annotations/hapl.dev~1mqtt-broker"),
        "mosquitto.zigbee:1883"
    );
    assert_eq!(
        s(&hr, "/metadata/annotations/hapl.dev~1mqtt-credentials"),
        "ha-mqtt"
    );
}

#[test]
fn an_adopted_claim_is_declared_as_it_is_and_mounted_by_name() {
    let e = eval(&format!(
        r#"{}let metrics = nas::existing_pvc(p, #{{ name: "influxdb-influxdb2", namespace: "datastore",
    storage_class: "nfs-storage-legacy", size: "20Gi", helm_keep: true }});
let kept = influxdb::server(p, nas, #{{ name: "kept", credentials: "influxdb-auth", claim: metrics,
    fullname: "influxdb-influxdb2", service_port: 80, series: 10 }});
p"#,
        home_assistant(
            ", config_claim: nas::existing_pvc(p, #{ name: \"home-assistant-data\", namespace: \"homeassistant\", storage_class: \"nfs-storage-legacy\", size: \"5Gi\" })"
        )
    ));
    // The claim is exactly the repo's: its own class and size, no NAS class, no new claim.
    let claim = find(&e, "PersistentVolumeClaim", "home-assistant-data");
    assert_eq!(s(&claim, "/spec/storageClassName"), "nfs-storage-legacy");
    assert_eq!(s(&claim, "/spec/resources/requests/storage"), "5Gi");
    assert!(claim["metadata"].get("annotations").is_none());
    assert!(!objects(&e)
        .iter()
        .any(|(k, _, n, _)| k == "PersistentVolumeClaim" && n == "home-assistant-config"));
    let v = values(&e, "home-assistant");
    assert_eq!(
        v["persistence"]["config"]["existingClaim"],
        "home-assistant-data"
    );
    // A chart-made claim is kept from Helm's pruning once the release mounts it as existing.
    let metrics = find(&e, "PersistentVolumeClaim", "influxdb-influxdb2");
    assert_eq!(
        s(&metrics, "/metadata/annotations/helm.sh~1resource-policy"),
        "keep"
    );
    let kept = values(&e, "kept");
    assert_eq!(kept["persistence"]["name"], "influxdb-influxdb2");
    assert_eq!(kept["persistence"]["useExisting"], true);
    assert_eq!(kept["fullnameOverride"], "influxdb-influxdb2");
    assert_eq!(kept["service"]["port"], 80);
    // A claim in another namespace than the workload is refused.
    let d = eval_err(&format!(
        "{}p",
        home_assistant(
            ", config_claim: nas::existing_pvc(p, #{ name: \"x\", namespace: \"elsewhere\", storage_class: \"c\", size: \"1Gi\" })"
        )
    ));
    assert!(d.message.contains("is in elsewhere"), "{}", d.message);
}

// ------------------------------------------------------------------------------------------
// backups

fn with_backups() -> Evaluation {
    eval(&format!(
        "{}backups::schedule(p, nas, #{{ postgres: db, influxdb: influx, home_assistant: ha,\n    files: [#{{ role: \"zigbee2mqtt\", namespace: \"zigbee\", claim: \"zigbee2mqtt-data\" }}] }});\np",
        home_assistant("")
    ))
}

#[test]
fn every_state_has_a_labelled_backup_job_and_postgres_a_restore_test() {
    let e = with_backups();
    let mut backed_up = Vec::new();
    for (kind, ns, name, v) in objects(&e) {
        if kind != "HelmRelease" {
            continue;
        }
        let labels = &v["metadata"]["labels"];
        if let Some(of) = labels["hapl.dev/backup-of"].as_str() {
            backed_up.push(of.to_owned());
            assert_eq!(labels["hapl.dev/role"], "backup", "{name}");
            let ctl = &v["spec"]["values"]["controllers"]["main"];
            assert_eq!(ctl["type"], "cronjob", "{name}");
            assert_eq!(ctl["labels"]["hapl.dev/backup-of"], of, "{name}");
            assert!(ctl["containers"]["app"]["resources"]["limits"]["memory"].is_string());
            let claim = v["spec"]["values"]["persistence"]["backup"]["existingClaim"]
                .as_str()
                .unwrap();
            let pv = find(&e, "PersistentVolumeClaim", claim);
            assert_eq!(pv["metadata"]["namespace"], ns.as_str());
        }
    }
    backed_up.sort();
    assert_eq!(
        backed_up,
        ["home-assistant", "influxdb", "postgresql", "zigbee2mqtt"]
    );
    // Each of the four has a weekly restore test, labelled and annotated, running its script
    // against the same backup volume its backup writes.
    for (name, of, script) in [
        (
            "postgresql-restore-test",
            "postgresql",
            "restore-test-postgresql.sh",
        ),
        (
            "influxdb-restore-test",
            "influxdb",
            "restore-test-influxdb.sh",
        ),
        (
            "home-assistant-restore-test",
            "home-assistant",
            "restore-test-files.sh",
        ),
        (
            "zigbee2mqtt-restore-test",
            "zigbee2mqtt",
            "restore-test-files.sh",
        ),
    ] {
        let test = find(&e, "HelmRelease", name);
        assert_eq!(s(&test, "/metadata/labels/hapl.dev~1restore-test-of"), of);
        assert_eq!(
            s(&test, "/metadata/annotations/hapl.dev~1restore-test-of"),
            of
        );
        assert_eq!(s(&test, "/metadata/labels/hapl.dev~1role"), "restore-test");
        let ctl = &test["spec"]["values"]["controllers"]["main"];
        assert_eq!(ctl["type"], "cronjob", "{name}");
        assert_eq!(
            ctl["containers"]["app"]["command"][1],
            format!("/scripts/{script}"),
            "{name}"
        );
        let backup = find(&e, "HelmRelease", &format!("{of}-backup"));
        assert_eq!(
            test["spec"]["values"]["persistence"]["backup"]["existingClaim"],
            backup["spec"]["values"]["persistence"]["backup"]["existingClaim"],
            "{name}"
        );
    }
    let z2m = find(&e, "HelmRelease", "zigbee2mqtt-restore-test");
    let env = &z2m["spec"]["values"]["controllers"]["main"]["containers"]["app"]["env"];
    assert_eq!(
        env["CHECK_FILES"],
        "yaml:configuration.yaml jsonl:database.db|json:coordinator_backup.json"
    );
    assert_eq!(
        s(
            &z2m,
            "/spec/values/controllers/main/containers/app/image/repository"
        ),
        "ghcr.io/home-assistant/home-assistant"
    );
    let influx = find(&e, "HelmRelease", "influxdb-restore-test");
    let env = &influx["spec"]["values"]["controllers"]["main"]["containers"]["app"]["env"];
    assert_eq!(env["BUCKET"], "home_assistant");
    assert_eq!(
        env["INFLUX_TOKEN"]["valueFrom"]["secretKeyRef"]["key"],
        "admin-token"
    );
    // The destination folders are static volumes below the backup path on the NAS.
    let pv = find(&e, "PersistentVolume", "datastore-backup-postgresql");
    assert_eq!(
        s(&pv, "/spec/csi/volumeAttributes/share"),
        "/volume1/k8s/backups/postgresql"
    );
    let docs = find(&e, "ConfigMap", "backup-docs");
    assert_eq!(s(&docs, "/metadata/labels/hapl.dev~1config"), "backup-docs");
    let guide = s(&docs, "/data/backups.md");
    assert!(guide.contains("dpx2800.lan:/volume1/k8s/backups/postgresql"));
    assert!(guide.contains("## zigbee2mqtt"));
    assert!(guide.contains("## NAS snapshots"));
    assert!(guide.contains("influxdb::growth_bytes"));
}

#[test]
fn the_backup_scripts_are_valid_posix_sh() {
    let e = with_backups();
    let cm = find(&e, "ConfigMap", "backup-scripts");
    assert_eq!(
        s(&cm, "/metadata/labels/hapl.dev~1config"),
        "backup-scripts"
    );
    let data = cm["data"].as_object().unwrap();
    let names: Vec<&str> = data.keys().map(String::as_str).collect();
    for expected in [
        "backup-postgresql.sh",
        "restore-postgresql.sh",
        "restore-test-postgresql.sh",
        "backup-influxdb.sh",
        "backup-files.sh",
        "restore-test-files.sh",
        "restore-test-influxdb.sh",
    ] {
        assert!(names.contains(&expected), "{expected}: {names:?}");
    }
    let dir = std::env::temp_dir().join(format!("hapl-scripts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in data {
        let text = text.as_str().unwrap();
        assert!(text.starts_with("#!/bin/sh\n"), "{name}");
        assert!(!text.contains("@{"), "{name} kept a placeholder");
        assert!(text.contains("${BACKUP_DIR:?}"), "{name}");
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        // `sh -n` parses without running: a syntax error fails here, not at 3 a.m.
        let out = Command::new("sh").arg("-n").arg(&path).output().unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
    // The same text in every namespace that runs a backup.
    let all: Vec<Value> = objects(&e)
        .into_iter()
        .filter(|(k, _, n, _)| k == "ConfigMap" && n == "backup-scripts")
        .map(|(.., v)| v["data"].clone())
        .collect();
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|d| *d == all[0]));
}

/// Runs one generated script with `sh` and the given environment; returns (success, output).
fn run_backup_script(text: &str, dir: &std::path::Path, env: &[(&str, &str)]) -> (bool, String) {
    let script = dir.join("script.sh");
    std::fs::write(&script, text).unwrap();
    let out = Command::new("sh")
        .arg(&script)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_file_restore_test_unpacks_the_newest_archive_and_fails_on_a_broken_file() {
    if Command::new("python3")
        .args(["-c", "import yaml"])
        .output()
        .map_or(true, |o| !o.status.success())
    {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI needs python3 with PyYAML"
        );
        eprintln!("skipped: python3 with PyYAML (the restore test's parser) is not installed");
        return;
    }
    let e = with_backups();
    let cm = find(&e, "ConfigMap", "backup-scripts");
    let backup = s(&cm, "/data/backup-files.sh");
    let test = s(&cm, "/data/restore-test-files.sh");
    let z2m = find(&e, "HelmRelease", "zigbee2mqtt-restore-test");
    let checks = s(
        &z2m,
        "/spec/values/controllers/main/containers/app/env/CHECK_FILES",
    );
    let ha = find(&e, "HelmRelease", "home-assistant-restore-test");
    let ha_checks = s(
        &ha,
        "/spec/values/controllers/main/containers/app/env/CHECK_FILES",
    );

    let root = std::env::temp_dir().join(format!("hapl-restore-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (src, out, scratch) = (root.join("src"), root.join("backup"), root.join("scratch"));
    for d in [&src, &out, &scratch] {
        std::fs::create_dir_all(d).unwrap();
    }
    // Zigbee2MQTT's state as it writes it: settings with a `!secret` tag, a device database
    // of one JSON document per line.
    std::fs::write(
        src.join("configuration.yaml"),
        "mqtt:\n  server: mqtt://mosquitto:1883\n  password: '!secret mqtt_password'\nserial:\n  port: /dev/ttyACM0\n",
    )
    .unwrap();
    std::fs::write(
        src.join("database.db"),
        "{\"id\":1,\"type\":\"Coordinator\"}\n{\"id\":2,\"type\":\"Router\"}\n",
    )
    .unwrap();
    let (src_s, out_s, scratch_s) = (
        src.to_str().unwrap(),
        out.to_str().unwrap(),
        scratch.to_str().unwrap(),
    );
    let base = [
        ("SOURCE_DIR", src_s),
        ("NAME", "zigbee2mqtt"),
        ("BACKUP_DIR", out_s),
        ("SCRATCH_DIR", scratch_s),
    ];
    let (ok, log) = run_backup_script(backup, &root, &base);
    assert!(ok, "{log}");
    let with_checks = |c: &str| {
        let mut v: Vec<(&str, String)> = base.iter().map(|(k, v)| (*k, v.to_string())).collect();
        v.push(("CHECK_FILES", c.to_owned()));
        v
    };
    let run_test = |c: &str| {
        let env = with_checks(c);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run_backup_script(test, &root, &env)
    };
    let (ok, log) = run_test(checks);
    assert!(ok, "{log}");
    assert!(log.contains("ok: configuration.yaml (yaml"), "{log}");
    assert!(log.contains("ok: database.db (jsonl"), "{log}");
    let last = std::fs::read_to_string(out.join("zigbee2mqtt/restore-test.last")).unwrap();
    assert!(last.starts_with("archive: zigbee2mqtt-"), "{last}");
    // The scratch folder is removed afterwards.
    assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 0);

    // Home Assistant's list names a file this archive does not have: the test fails.
    let (ok, log) = run_test(ha_checks);
    assert!(!ok, "{log}");
    assert!(
        log.contains("FAILED: none of json:.storage/core.config_entries"),
        "{log}"
    );

    // A newer archive with a truncated device database: the newest one is tested, and fails.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(src.join("database.db"), "{\"id\":1,\"type\":\"Coord").unwrap();
    let (ok, log) = run_backup_script(backup, &root, &base);
    assert!(ok, "{log}");
    let (ok, log) = run_test(checks);
    assert!(!ok, "a truncated database.db passed: {log}");
    assert!(
        log.contains("FAILED: none of jsonl:database.db|json:coordinator_backup.json"),
        "{log}"
    );
    // ... unless the coordinator backup is there and parses.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(
        src.join("coordinator_backup.json"),
        "{\"metadata\": {\"format\": \"zigpy/open-coordinator-backup\"}}",
    )
    .unwrap();
    let (ok, log) = run_backup_script(backup, &root, &base);
    assert!(ok, "{log}");
    let (ok, log) = run_test(checks);
    assert!(ok, "{log}");
    assert!(log.contains("ok: coordinator_backup.json (json"), "{log}");
    std::fs::remove_dir_all(&root).unwrap();
}

// ------------------------------------------------------------------------------------------
// the top-level platform

#[test]
fn the_platform_is_clean_and_its_requests_fit_the_pi_with_headroom() {
    let script = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/seed-platform/platform.rhai"
    ))
    .unwrap();
    let e = match evaluate_str("platform.rhai", &script, &Options::default()) {
        Ok(e) => e,
        Err(f) => panic!("{:?}", f.diagnostics),
    };
    assert!(e.diagnostics.is_empty(), "{:?}", e.diagnostics);
    assert!(e.platform.check_identities().is_empty());
    let node = e.platform.node.as_ref().unwrap();
    assert_eq!(node.arch, "arm64");

    // The budget `hapl check` prints: everything running plus the largest nightly job.
    let budget = hapl_core::rules::budget(
        &e.platform,
        &hapl_core::rules::Settings {
            today: hapl_core::rules::Date::from_unix_days(20_414), // 2025-11-22
        },
    );
    let peak = budget.total;
    println!(
        "budget: requests {} m CPU, {} MiB; limits {} m CPU, {} MiB; charts summed from values: {:?}",
        peak.cpu_request,
        peak.memory_request >> 20,
        peak.cpu_limit,
        peak.memory_limit >> 20,
        budget.from_chart_values
    );
    assert!(budget.fits(node));
    assert_eq!(peak.incomplete, 0);
    // Headroom: k3s itself, the kernel and the page cache need a good part of the 8 GiB.
    assert!(peak.memory_request < node.memory_bytes * 6 / 10);
    assert!(peak.cpu_request < node.cpu_millis * 6 / 10);
    // Even every memory limit reached at once stays inside the node.
    assert!(peak.memory_limit < node.memory_bytes);
    // The releases the workload view does not model are summed from their chart values.
    for chart in [
        "traefik",
        "cert-manager",
        "sealed-secrets",
        "csi-driver-nfs",
    ] {
        assert!(
            budget
                .from_chart_values
                .iter()
                .any(|c| c.ends_with(&format!("({chart})"))),
            "{chart}: {:?}",
            budget.from_chart_values
        );
    }

    // Every app-template workload: resources on every container, probes on services, a role.
    let refs: Vec<&Resource> = e.platform.objects.iter().map(|o| &o.resource).collect();
    let w = workloads(&refs);
    assert!(!w.workloads.is_empty());
    for wl in &w.workloads {
        for c in &wl.containers {
            let r = &c.resources;
            assert!(
                r.cpu_request.is_some()
                    && r.memory_request.is_some()
                    && r.cpu_limit.is_some()
                    && r.memory_limit.is_some(),
                "{}/{} has incomplete resources",
                wl.name,
                c.name
            );
            if wl.long_running() && !c.init && !c.sidecar {
                assert!(c.liveness && c.readiness, "{}/{}", wl.name, c.name);
            }
            assert!(!c.privileged || wl.name == "zigbee2mqtt", "{}", wl.name);
        }
    }
    for o in &e.platform.objects {
        if let Resource::HelmRelease(hr) = &o.resource {
            let labels = hr.metadata.labels.clone().unwrap_or_default();
            assert!(
                labels.contains_key("hapl.dev/role"),
                "HelmRelease {} has no role",
                hr.metadata.name.as_deref().unwrap_or("")
            );
        }
    }
}

#[test]
fn a_misspelt_option_of_any_core_module_points_at_the_users_line() {
    // (the call with a typo, the option the hint must suggest)
    let cases = [
        (
            "postgres::server(p, nas, #{ credentials: \"pg\", sise: \"10Gi\" });",
            "size",
        ),
        (
            "influxdb::server(p, nas, #{ credentials: \"i\", retention_day: 1825 });",
            "retention_days",
        ),
        (
            "home_assistant::core(p, nas, #{ base: base, database: db, secrets: \"s\", purge_keep_day: 30 });",
            "purge_keep_days",
        ),
        (
            "backups::schedule(p, nas, #{ postgres: db, keepdays: 7 });",
            "keep_days",
        ),
        ("cluster::flux(p, #{ intreval: \"5m\" });", "interval"),
        (
            "nas::pvc(p, nas, #{ name: \"x\", namespace: \"y\", size: \"1Gi\", phse: 1 });",
            "phase",
        ),
    ];
    for (call, suggestion) in cases {
        let d = eval_err(&format!("{}{call}\np", foundation()));
        assert_eq!(d.code, "invalid-argument", "{call}: {d}");
        assert_at_line(&d, 12);
        assert!(
            d.hints
                .iter()
                .any(|h| h.contains(&format!("`{suggestion}`"))),
            "{call}: {d}"
        );
    }
}

// ------------------------------------------------------------------------------------------
// pinned_helm (extended)

#[test]
fn releases_carry_labels_annotations_and_placement_and_sources_are_shared() {
    let e = eval(
        r#"import "pinned_helm" as helm;
let p = platform("home");
let a = helm::repository(p, #{ name: "grafana", url: "https://grafana.github.io/helm-charts", phase: 4 });
let b = helm::repository(p, #{ name: "grafana", url: "https://grafana.github.io/helm-charts", phase: 4 });
helm::release(p, #{ name: "loki", namespace: "logging", source: b, chart: "loki", version: "6.30.1",
    role: "loki", labels: #{ team: "home" }, annotations: #{ "hapl.dev/note": "x" },
    layer: "observability", phase: 4, reason: "logs on the NAS for a year" });
p"#,
    );
    assert_eq!(count(&e, "HelmRepository"), 1);
    let hr = find(&e, "HelmRelease", "loki");
    assert_eq!(s(&hr, "/metadata/labels/hapl.dev~1role"), "loki");
    assert_eq!(s(&hr, "/metadata/labels/team"), "home");
    assert_eq!(s(&hr, "/metadata/annotations/hapl.dev~1note"), "x");
    let obj = e
        .platform
        .objects
        .iter()
        .find(|o| o.resource.kind() == "HelmRelease")
        .unwrap();
    assert_eq!(obj.layer.as_deref(), Some("observability"));
    assert_eq!(obj.phase, Some(4));
    assert_eq!(obj.reason.as_deref(), Some("logs on the NAS for a year"));
    let repo = e
        .platform
        .objects
        .iter()
        .find(|o| o.resource.kind() == "HelmRepository")
        .unwrap();
    assert_eq!(repo.layer.as_deref(), Some("sources"));

    let d = eval_err(
        "import \"pinned_helm\" as helm;\nlet p = platform(\"home\");\nhelm::repository(p, #{ name: \"r\", url: \"https://x.org\", phase: 9 });\np",
    );
    assert_eq!(d.code, "invalid-argument");
    assert_at_line(&d, 3);
}

#[test]
fn switching_matter_off_removes_only_matter_objects() {
    let script = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/seed-platform/platform.rhai"
    ))
    .unwrap();
    let marker = "primary_interface: \"eth0\",";
    assert!(
        script.contains(marker),
        "platform.rhai changed its Matter call"
    );
    let off = script.replace(marker, &format!("{marker} enabled: false,"));
    let ids = |text: &str| -> std::collections::BTreeSet<String> {
        let e = evaluate_str("platform.rhai", text, &Options::default()).unwrap();
        e.platform
            .objects
            .iter()
            .map(|o| o.identity().to_string())
            .collect()
    };
    let on = ids(&script);
    let without = ids(&off);
    assert!(without.is_subset(&on));
    let removed: Vec<&String> = on.difference(&without).collect();
    assert!(!removed.is_empty());
    for id in &removed {
        // Matter's own objects, and the Flux Kustomization of its layer, now empty.
        let layer = id.starts_with("Kustomization.") && id.ends_with("/experimental");
        assert!(
            id.contains("matter") || layer,
            "switching Matter off also removed {id}"
        );
    }
    // Nothing else changed: every object left renders the same with Matter on and off, except
    // the restore guide, which no longer lists the Matter backup.
    let e_on = evaluate_str("platform.rhai", &script, &Options::default()).unwrap();
    let e_off = evaluate_str("platform.rhai", &off, &Options::default()).unwrap();
    for o in &e_off.platform.objects {
        if o.resource.name() == "backup-docs" {
            continue;
        }
        let same = e_on
            .platform
            .objects
            .iter()
            .find(|x| x.identity() == o.identity())
            .unwrap();
        assert_eq!(
            same.resource.to_value(),
            o.resource.to_value(),
            "{}",
            o.identity()
        );
    }
}

#[test]
fn the_base_adopts_an_existing_ingress_and_issues_through_dns() {
    let e = eval(
        r#"import "cluster" as cluster;
let p = platform("home");
let base = cluster::base(p, #{ ingress: #{ enabled: false, "class": "nginx" }, sealed_secrets: false,
    issuer: #{ name: "le-dns", email: "me@example.org", solver: #{ cloudflare_secret: "cloudflare", key: "token" } } });
if base.ingress_class != "nginx" || base.issuer != "le-dns" { throw "handle"; }
p"#,
    );
    assert!(!objects(&e)
        .iter()
        .any(|(k, _, n, _)| k == "HelmRelease"
            && (n == "traefik" || n == "sealed-secrets-controller")));
    let issuer = find(&e, "ClusterIssuer", "le-dns");
    assert_eq!(
        s(
            &issuer,
            "/spec/acme/solvers/0/dns01/cloudflare/apiTokenSecretRef/name"
        ),
        "cloudflare"
    );
    assert_eq!(
        s(&issuer, "/spec/acme/privateKeySecretRef/name"),
        "le-dns-account-key"
    );
    let d = eval_err(
        "import \"cluster\" as cluster;\nlet p = platform(\"home\");\ncluster::base(p, #{ issuer: #{ name: \"x\", email: \"e@x.org\", server: \"http://insecure\" } });\np",
    );
    assert_eq!(d.code, "invalid-argument");
    assert_at_line(&d, 3);
}
