//! The edge of the platform, evaluated for real: `zigbee_stack`, `matter_experimental`,
//! `logging` and `monitoring`. Each test runs a script through the real engine and the real
//! embedded modules and asserts properties of the objects it made (as the typed objects
//! serialize, and through the core's workload view, which reads app-template releases).

mod common;

use std::collections::BTreeSet;

use common::{eval, eval_err};
use hapl_core::workload::{workloads, VolumeSource, Workload};
use hapl_core::{Identity, Resource};
use hapl_script::Evaluation;
use serde_json::Value;

/// The 1-based line of the diagnostic's primary label, which must lie in the user's script.
fn line_of(d: &hapl_core::Diagnostic) -> usize {
    let span = d.primary.as_ref().expect("a primary span");
    assert_eq!(
        span.file, "test.rhai",
        "the error should point at the user's line: {d}"
    );
    span.line as usize
}

/// The line of `script` that contains `needle`.
fn line_with(script: &str, needle: &str) -> usize {
    script
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle}"))
        + 1
}

const BASE: &str = r#"import "nas_pvc" as nas;
import "zigbee_stack" as zigbee;
import "matter_experimental" as matter;
import "logging" as logging;
import "monitoring" as monitoring;
let p = platform("home", #{ node: #{ name: "pi5", arch: "arm64", cpu: 4, memory: "8Gi" } });
let s = nas::storage_class(p, #{ server: "dpx2800.lan", share: "/volume1/k8s" });
"#;

const STICK: &str = "/dev/serial/by-id/usb-ITead_Sonoff_Zigbee_3.0_USB_Dongle_Plus_1234-if00-port0";

fn zigbee_script(extra: &str) -> String {
    format!(
        r#"{BASE}let broker = zigbee::mosquitto(p, s, #{{ passwd_secret: "mosquitto-passwd" }});
print(broker.url);
print(broker.secret);
zigbee::zigbee2mqtt(p, s, broker, #{{ coordinator: "{STICK}", adapter: "zstack", node: "pi5"{extra} }});
p"#
    )
}

/// The object of `kind` named `name`, as a plain value.
fn object(e: &Evaluation, kind: &str, name: &str) -> Value {
    e.platform
        .objects
        .iter()
        .find(|o| o.resource.kind() == kind && o.resource.name() == name)
        .map(|o| o.resource.to_value())
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn has(e: &Evaluation, kind: &str, name: &str) -> bool {
    e.platform
        .objects
        .iter()
        .any(|o| o.resource.kind() == kind && o.resource.name() == name)
}

/// A data key of a ConfigMap, checking its `hapl.dev/config` label.
fn config_text(e: &Evaluation, name: &str, format: &str, key: &str) -> String {
    let cm = object(e, "ConfigMap", name);
    assert_eq!(cm["metadata"]["labels"]["hapl.dev/config"], format, "{cm}");
    cm["data"][key]
        .as_str()
        .unwrap_or_else(|| panic!("{name} has no key {key}"))
        .to_owned()
}

fn values(e: &Evaluation, release: &str) -> Value {
    object(e, "HelmRelease", release)["spec"]["values"].clone()
}

fn all_workloads(e: &Evaluation) -> Vec<Workload> {
    let objects: Vec<&Resource> = e.platform.objects.iter().map(|o| &o.resource).collect();
    workloads(&objects).workloads
}

fn workload(e: &Evaluation, name: &str) -> Workload {
    all_workloads(e)
        .into_iter()
        .find(|w| w.name == name)
        .unwrap_or_else(|| panic!("no workload {name}"))
}

// ---------------------------------------------------------------- zigbee_stack

#[test]
fn mosquitto_refuses_anonymous_clients_and_persists_on_the_nas() {
    let e = eval(&zigbee_script(""));
    let conf = config_text(&e, "mosquitto-config", "mosquitto", "mosquitto.conf");
    let lines: Vec<&str> = conf.lines().map(str::trim).collect();
    for wanted in [
        "allow_anonymous false",
        "password_file /mosquitto/auth/passwd",
        "persistence true",
        "persistence_location /mosquitto/data/",
        "autosave_interval 300",
        "listener 1883",
    ] {
        assert!(lines.contains(&wanted), "missing `{wanted}` in\n{conf}");
    }
    assert!(!lines.iter().any(|l| l.starts_with("allow_anonymous true")));

    let w = workload(&e, "mosquitto");
    assert_eq!(w.replicas, 1);
    assert_eq!(w.strategy.as_deref(), Some("Recreate"));
    assert_eq!(
        w.volume("data"),
        Some(&VolumeSource::Pvc("mosquitto-data".into()))
    );
    assert_eq!(
        w.volume("config"),
        Some(&VolumeSource::ConfigMap("mosquitto-config".into()))
    );
    assert_eq!(
        w.volume("passwd"),
        Some(&VolumeSource::Secret("mosquitto-passwd".into()))
    );
    let app = w.containers.iter().find(|c| c.name == "app").unwrap();
    assert!(app.liveness && app.readiness);
    let v = values(&e, "mosquitto");
    let mounts = |volume: &str| v["persistence"][volume]["advancedMounts"]["main"].clone();
    assert_eq!(mounts("config")["app"][0]["path"], "/mosquitto/config");
    assert_eq!(mounts("data")["app"][0]["path"], "/mosquitto/data");
    assert_eq!(mounts("auth")["app"][0]["path"], "/mosquitto/auth");
    // The password file reaches the broker only through the init container's private copy.
    let passwd = mounts("passwd");
    assert_eq!(
        passwd.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["passwd"]
    );
    for c in &w.containers {
        assert!(c.resources.memory_limit.is_some() && c.resources.cpu_request.is_some());
        assert!(!c.privileged);
    }

    let pvc = object(&e, "PersistentVolumeClaim", "mosquitto-data");
    assert_eq!(pvc["spec"]["storageClassName"], "nfs-storage");
    let hr = object(&e, "HelmRelease", "mosquitto");
    assert_eq!(hr["metadata"]["labels"]["hapl.dev/role"], "mosquitto");
    assert_eq!(
        hr["metadata"]["annotations"]["hapl.dev/mqtt-broker"],
        "mosquitto.zigbee.svc.cluster.local:1883"
    );
    assert_eq!(
        e.output[0],
        "mqtt://mosquitto.zigbee.svc.cluster.local:1883"
    );
    assert_eq!(e.output[1], "mqtt-credentials");
}

#[test]
fn the_coordinator_is_mounted_by_id_into_the_zigbee2mqtt_pod_only() {
    let e = eval(&zigbee_script(""));
    let all = all_workloads(&e);
    let with_device: Vec<&Workload> = all
        .iter()
        .filter(|w| {
            w.volumes
                .iter()
                .any(|v| matches!(v.source, VolumeSource::HostPath(_)))
        })
        .collect();
    assert_eq!(with_device.len(), 1);
    let w = with_device[0];
    assert_eq!(w.name, "zigbee2mqtt");
    assert_eq!(w.namespace, "zigbee");
    assert_eq!(
        w.volume("coordinator"),
        Some(&VolumeSource::HostPath(STICK.into()))
    );
    assert_eq!(w.replicas, 1);
    assert_eq!(w.strategy.as_deref(), Some("Recreate"));
    assert_eq!(w.node_selector["kubernetes.io/hostname"], "pi5");
    assert_eq!(
        w.volume("data"),
        Some(&VolumeSource::Pvc("zigbee2mqtt-data".into()))
    );
    let app = w.containers.iter().find(|c| c.name == "app").unwrap();
    // Privileged for the device cgroup, but only the main container, and never root.
    assert!(app.privileged);
    let init = w.containers.iter().find(|c| c.init).unwrap();
    assert!(!init.privileged);

    let v = values(&e, "zigbee2mqtt");
    let persistence = &v["persistence"]["coordinator"];
    assert_eq!(persistence["hostPathType"], "CharDevice");
    // Mounted at its by-id path, into the main container and nowhere else.
    let mounts = persistence["advancedMounts"]["main"].as_object().unwrap();
    assert_eq!(mounts.keys().collect::<Vec<_>>(), ["app"]);
    assert_eq!(mounts["app"][0]["path"], STICK);
    assert_eq!(
        v["persistence"]["data"]["advancedMounts"]["main"]["app"][0]["path"],
        "/app/data"
    );
    let pod = &v["controllers"]["main"]["pod"];
    assert_eq!(pod["securityContext"]["runAsUser"], 1000);
    assert_eq!(pod["securityContext"]["supplementalGroups"][0], 20);
    assert!(pod["annotations"]["hapl.dev/privileged-reason"]
        .as_str()
        .unwrap()
        .contains("device"));
}

#[test]
fn zigbee2mqtt_reads_mqtt_credentials_from_a_secret_and_never_from_the_config() {
    let e = eval(&zigbee_script(""));
    let conf = config_text(
        &e,
        "zigbee2mqtt-config",
        "zigbee2mqtt",
        "configuration.yaml",
    );
    assert!(conf.contains("server: 'mqtt://mosquitto.zigbee.svc.cluster.local:1883'"));
    assert!(conf.contains("user: '!secret.yaml mqtt_user'"));
    assert!(conf.contains("password: '!secret.yaml mqtt_password'"));
    assert!(conf.contains(&format!("port: '{STICK}'")));
    assert!(conf.contains("adapter: zstack"));
    assert!(conf.contains("version: 5"));
    assert!(conf.contains("network_key: GENERATE"));

    let v = values(&e, "zigbee2mqtt");
    let init = &v["controllers"]["main"]["initContainers"]["config"];
    for (var, key) in [("MQTT_USER", "username"), ("MQTT_PASSWORD", "password")] {
        let r = &init["env"][var]["valueFrom"]["secretKeyRef"];
        assert_eq!(r["name"], "mqtt-credentials");
        assert_eq!(r["key"], key);
    }
    // secret.yaml lives in memory, mounted over the file Zigbee2MQTT reads.
    let secrets = &v["persistence"]["secrets"];
    assert_eq!(secrets["type"], "emptyDir");
    assert_eq!(secrets["medium"], "Memory");
    assert_eq!(
        secrets["advancedMounts"]["main"]["app"][0]["path"],
        "/app/data/secret.yaml"
    );
    // The merge keeps what Zigbee2MQTT generated and its settings version.
    let script = init["command"][2].as_str().unwrap();
    assert!(script.contains(r#"w === "GENERATE""#));
    assert!(script.contains("renameSync"));
    assert!(script.contains("out.version = version"));

    // Broker and bridge name the same broker and credentials.
    let ann = |name: &str| object(&e, "HelmRelease", name)["metadata"]["annotations"].clone();
    assert_eq!(ann("mosquitto"), ann("zigbee2mqtt"));
    assert_eq!(
        ann("zigbee2mqtt")["hapl.dev/mqtt-credentials"],
        "mqtt-credentials"
    );
}

#[test]
fn a_device_plugin_replaces_the_privileged_container() {
    let e = eval(&zigbee_script(r#", device_resource: "squat.ai/serial""#));
    let w = workload(&e, "zigbee2mqtt");
    assert!(w.containers.iter().all(|c| !c.privileged));
    let v = values(&e, "zigbee2mqtt");
    let res = &v["controllers"]["main"]["containers"]["app"]["resources"];
    assert_eq!(res["limits"]["squat.ai/serial"], 1);
    assert_eq!(res["limits"]["memory"], "256Mi");
    assert!(v["controllers"]["main"]["pod"]["annotations"]
        .get("hapl.dev/privileged-reason")
        .is_none());
}

#[test]
fn a_kernel_tty_name_is_refused_at_the_users_line() {
    let script = zigbee_script("").replace(STICK, "/dev/ttyUSB0");
    let d = eval_err(&script);
    assert_eq!(d.code, "invalid-argument");
    assert!(d.message.contains("/dev/serial/by-id/"), "{d}");
    assert_eq!(line_of(&d), line_with(&script, "zigbee::zigbee2mqtt("));
}

#[test]
fn zigbee2mqtt_must_be_pinned_to_the_node_with_the_stick() {
    let script = zigbee_script("").replace(r#", node: "pi5""#, "");
    let d = eval_err(&script);
    assert!(d.message.contains("node"), "{d}");
    assert_eq!(line_of(&d), line_with(&script, "zigbee::zigbee2mqtt("));

    let e = eval(&zigbee_script("").replace(
        r#"node: "pi5""#,
        r#"node_label: #{ "hapl.dev/zigbee-coordinator": "true" }"#,
    ));
    let w = workload(&e, "zigbee2mqtt");
    assert_eq!(w.node_selector["hapl.dev/zigbee-coordinator"], "true");
    assert!(!w.node_selector.contains_key("kubernetes.io/hostname"));
}

#[test]
fn an_option_typo_suggests_the_option() {
    let script = zigbee_script("").replace("coordinator:", "coordinater:");
    let d = eval_err(&script);
    assert!(d.message.contains("coordinater"), "{d}");
    assert!(d.hints.iter().any(|h| h.contains("`coordinator`")), "{d:?}");
    assert_eq!(line_of(&d), line_with(&script, "zigbee::zigbee2mqtt("));
}

#[test]
fn mosquitto_takes_its_password_file_only_from_a_secret() {
    let script =
        format!("{BASE}zigbee::mosquitto(p, s, #{{ passwd_secret: \"ci:$7$101$abc\" }});\np");
    let d = eval_err(&script);
    assert!(d.message.contains("passwd_secret"), "{d}");
    let script = format!("{BASE}zigbee::mosquitto(p, s, #{{}});\np");
    let d = eval_err(&script);
    assert!(d.message.contains("passwd_secret"), "{d}");
}

#[test]
fn existing_claims_are_adopted_instead_of_made() {
    let e = eval(&zigbee_script(r#", existing_claim: "zigbee2mqtt-seed""#));
    assert!(!has(&e, "PersistentVolumeClaim", "zigbee2mqtt-data"));
    assert_eq!(
        workload(&e, "zigbee2mqtt").volume("data"),
        Some(&VolumeSource::Pvc("zigbee2mqtt-seed".into()))
    );
}

#[test]
fn credentials_given_as_ciphertext_become_sealed_secrets_and_plaintext_is_refused() {
    let cipher = format!("Ag{}", "B".repeat(60));
    let script = format!(
        "{BASE}let b = zigbee::mosquitto(p, s, #{{ passwd_secret: #{{ name: \"mosquitto-passwd\", encrypted: #{{ passwd: \"{cipher}\" }} }},
    credentials_secret: #{{ name: \"mqtt-credentials\", encrypted: #{{ username: \"{cipher}\", password: \"{cipher}\" }} }} }});
print(b.secret);
p"
    );
    let e = eval(&script);
    assert_eq!(e.output[0], "mqtt-credentials");
    let sealed = object(&e, "SealedSecret", "mosquitto-passwd");
    assert_eq!(sealed["metadata"]["namespace"], "zigbee");
    assert_eq!(sealed["spec"]["encryptedData"]["passwd"], cipher.as_str());
    let creds = object(&e, "SealedSecret", "mqtt-credentials");
    assert!(creds["spec"]["encryptedData"]["password"].is_string());

    let plain = script.replace(&format!("password: \"{cipher}\""), "password: \"hunter2\"");
    let d = eval_err(&plain);
    assert_eq!(d.code, "secret-in-plaintext");
    // The error never repeats the secret it refused.
    assert!(!d.message.contains("hunter2") && d.hints.iter().all(|h| !h.contains("hunter2")));
}

// ---------------------------------------------------------------- matter_experimental

fn matter_script(opts: &str) -> String {
    format!("{BASE}let m = matter::server(p, s, #{{ {opts} }});\nprint(m.enabled);\nprint(m.url ?? \"\");\np")
}

#[test]
fn the_matter_server_runs_alone_on_the_host_network_and_experimental() {
    let e = eval(&matter_script(r#"primary_interface: "eth0""#));
    let w = workload(&e, "matter-server");
    assert!(w.host_network);
    assert_eq!(w.replicas, 1);
    assert_eq!(
        w.volume("data"),
        Some(&VolumeSource::Pvc("matter-server-data".into()))
    );
    let app = w.containers.iter().find(|c| c.name == "app").unwrap();
    assert!(app.image.starts_with("ghcr.io/matter-js/matterjs-server:"));
    assert!(app.liveness && !app.privileged);
    let v = values(&e, "matter-server");
    let pod = &v["controllers"]["main"]["pod"];
    let reason = pod["annotations"]["hapl.dev/host-network-reason"]
        .as_str()
        .unwrap();
    assert!(
        reason.contains("mDNS") && reason.contains("IPv6"),
        "{reason}"
    );
    assert_eq!(pod["annotations"]["hapl.dev/experimental"], "true");
    assert_eq!(
        v["controllers"]["main"]["containers"]["app"]["env"]["STORAGE_PATH"],
        "/data"
    );
    for o in &e.platform.objects {
        if matches!(o.resource.kind(), "HelmRelease" | "PersistentVolumeClaim")
            && o.resource.name().starts_with("matter")
        {
            let ann = o
                .resource
                .metadata()
                .annotations
                .clone()
                .unwrap_or_default();
            assert_eq!(
                ann.get("hapl.dev/experimental").map(String::as_str),
                Some("true")
            );
            assert_eq!(o.layer.as_deref(), Some("experimental"));
        }
    }
    assert_eq!(e.output[0], "true");
    assert_eq!(
        e.output[1],
        "ws://matter-server.homeassistant.svc.cluster.local:5580/ws"
    );
}

#[test]
fn switching_matter_off_removes_exactly_its_objects() {
    let ids = |e: &Evaluation| -> BTreeSet<Identity> {
        e.platform
            .objects
            .iter()
            .map(|o| o.resource.identity())
            .collect()
    };
    // A platform with other namespaced neighbours, so removing Matter must not remove them.
    let on = eval(&matter_script("").replace(
        "let m = matter::server",
        "let b = zigbee::mosquitto(p, s, #{ passwd_secret: \"mosquitto-passwd\" });\nlet m = matter::server",
    ));
    let off = eval(
        &matter_script("enabled: false").replace(
            "let m = matter::server",
            "let b = zigbee::mosquitto(p, s, #{ passwd_secret: \"mosquitto-passwd\" });\nlet m = matter::server",
        ),
    );
    assert_eq!(off.output[0], "false");
    let (on_ids, off_ids) = (ids(&on), ids(&off));
    assert!(off_ids.is_subset(&on_ids));
    let removed: Vec<&Identity> = on_ids.difference(&off_ids).collect();
    assert!(!removed.is_empty());
    for o in &on.platform.objects {
        let id = o.resource.identity();
        let experimental = o
            .resource
            .metadata()
            .annotations
            .as_ref()
            .and_then(|a| a.get("hapl.dev/experimental"))
            .is_some();
        // What Matter made is exactly what disappears (its namespace aside, which it shares).
        if o.resource.kind() != "Namespace" {
            assert_eq!(removed.contains(&&id), experimental, "{id:?}");
        }
    }
    // Nothing waits for the Matter server.
    for o in &on.platform.objects {
        if let Resource::HelmRelease(hr) = &o.resource {
            assert!(hr.spec.depends_on.iter().all(|d| d.name != "matter-server"));
        }
    }
}

// ---------------------------------------------------------------- logging

#[test]
fn loki_retention_is_what_fits_on_the_claim() {
    let e = eval(&format!(
        "{BASE}print(logging::retention_fit(\"20Gi\", \"200Mi\"));\nprint(logging::retention_fit(\"10Gi\", \"1Gi\"));\nlet l = logging::loki(p, s, #{{}});\nprint(l.retention_days);\np"
    ));
    // 20 GiB * 3/4 = 15360 MiB; 200 MiB/day / 5 = 40 MiB/day on disk.
    assert_eq!(e.output[0], "384");
    assert_eq!(e.output[1], "37");
    assert_eq!(e.output[2], "365");
    let v = values(&e, "loki");
    assert_eq!(v["loki"]["limits_config"]["retention_period"], "8760h");
    assert_eq!(v["loki"]["compactor"]["retention_enabled"], true);

    let e = eval(&format!(
        "{BASE}logging::loki(p, s, #{{ size: \"10Gi\", ingest_per_day: \"1Gi\", retention: \"4w\" }});\np"
    ));
    assert_eq!(
        values(&e, "loki")["loki"]["limits_config"]["retention_period"],
        "672h"
    );
}

#[test]
fn a_retention_that_does_not_fit_is_an_error_naming_the_size_it_needs() {
    let script = format!(
        "{BASE}logging::loki(p, s, #{{ size: \"10Gi\", ingest_per_day: \"1Gi\", retention: \"90d\" }});\np"
    );
    let d = eval_err(&script);
    assert_eq!(d.code, "retention");
    assert!(d.message.contains("37 days fit"), "{d}");
    // 90 days * 204 MiB * 4/3 = 24480 MiB: 24 GiB.
    assert!(
        d.hints.iter().any(|h| h.contains("size: \"24Gi\"")),
        "{d:?}"
    );
    assert_eq!(line_of(&d), line_with(&script, "logging::loki("));
}

#[test]
fn loki_is_a_single_binary_with_its_wal_on_the_nas() {
    let e = eval(&format!("{BASE}logging::stack(p, s, #{{}});\np"));
    let hr = object(&e, "HelmRelease", "loki");
    assert_eq!(hr["spec"]["chart"]["spec"]["chart"], "loki");
    assert_eq!(
        hr["spec"]["chart"]["spec"]["sourceRef"]["name"],
        "grafana-community"
    );
    assert_eq!(hr["metadata"]["labels"]["hapl.dev/role"], "loki");
    let v = &hr["spec"]["values"];
    assert_eq!(v["deploymentMode"], "SingleBinary");
    assert_eq!(v["singleBinary"]["replicas"], 1);
    let wal = &v["loki"]["ingester"]["wal"];
    assert_eq!(wal["enabled"], true);
    assert!(wal["dir"].as_str().unwrap().starts_with("/var/loki/"));
    let persistence = &v["singleBinary"]["persistence"];
    assert_eq!(persistence["enabled"], true);
    assert_eq!(persistence["storageClass"], "nfs-storage");
    assert_eq!(v["loki"]["storage"]["type"], "filesystem");
    // Loki runs the ConfigMap hapl renders, with the same WAL and retention.
    assert_eq!(v["loki"]["configObjectName"], "loki-config");
    assert_eq!(v["loki"]["generatedConfigObjectName"], "");
    let conf = config_text(&e, "loki-config", "loki", "config.yaml");
    assert!(
        conf.contains("  wal:\n    enabled: true\n    dir: /var/loki/wal"),
        "{conf}"
    );
    assert!(conf.contains("retention_period: 8760h"), "{conf}");
    assert!(conf.contains("retention_enabled: true"), "{conf}");
    assert!(conf.contains("object_store: filesystem"), "{conf}");
    assert_eq!(v["chunksCache"]["enabled"], false);
    assert!(v["loki"]["livenessProbe"]["tcpSocket"].is_object());
    assert_eq!(v["resultsCache"]["enabled"], false);
    assert!(v["singleBinary"]["resources"]["limits"]["memory"].is_string());
}

#[test]
fn alloy_is_the_default_collector_and_reads_every_pod() {
    let e = eval(&format!("{BASE}logging::stack(p, s, #{{}});\np"));
    assert!(!has(&e, "HelmRelease", "promtail"));
    let conf = config_text(&e, "alloy-config", "alloy", "config.alloy");
    assert!(conf.contains(r#"url = "http://loki.logging.svc.cluster.local:3100/loki/api/v1/push""#));
    assert!(conf.contains("/var/log/pods/"));
    assert!(conf.contains("__meta_kubernetes_pod_label_hapl_dev_role"));
    let hr = object(&e, "HelmRelease", "alloy");
    assert_eq!(hr["metadata"]["labels"]["hapl.dev/role"], "log-collector");
    let v = &hr["spec"]["values"];
    assert_eq!(v["controller"]["type"], "daemonset");
    assert_eq!(v["alloy"]["configMap"]["create"], false);
    assert_eq!(v["alloy"]["configMap"]["name"], "alloy-config");
    assert_eq!(v["alloy"]["configMap"]["key"], "config.alloy");
    assert_eq!(v["alloy"]["mounts"]["varlog"], true);
}

#[test]
fn promtail_on_request_is_marked_end_of_life() {
    let e = eval(&format!(
        "{BASE}logging::stack(p, s, #{{ collector: \"promtail\" }});\np"
    ));
    assert!(!has(&e, "HelmRelease", "alloy"));
    let hr = object(&e, "HelmRelease", "promtail");
    assert!(hr["metadata"]["annotations"]["hapl.dev/eol"]
        .as_str()
        .unwrap()
        .contains("2026-03-02"));
    let conf = config_text(&e, "promtail-config", "promtail", "promtail.yaml");
    assert!(conf.contains("url: http://loki.logging.svc.cluster.local:3100/loki/api/v1/push"));
    let v = &hr["spec"]["values"];
    assert_eq!(v["extraArgs"][0], "-config.file=/etc/hapl/promtail.yaml");
    assert_eq!(v["extraVolumeMounts"][0]["mountPath"], "/etc/hapl");
    assert_eq!(v["extraVolumes"][0]["configMap"]["name"], "promtail-config");

    let script = format!("{BASE}logging::stack(p, s, #{{ collector: \"fluentbit\" }});\np");
    let d = eval_err(&script);
    assert!(d.message.contains("fluentbit"), "{d}");
}

// ---------------------------------------------------------------- monitoring

const MONITORING: &str = r#"let l = logging::stack(p, s, #{});
let prom = monitoring::prometheus(p, s, #{ node: "pi5", loki: l });
monitoring::grafana(p, s, #{ admin_secret: "grafana-admin", prometheus: prom, loki: l,
    influxdb: #{ url: "http://influxdb.datastore.svc.cluster.local:8086", organization: "home",
                 bucket: "home_assistant", token_secret: "grafana-influxdb" } });
p"#;

#[test]
fn prometheus_runs_the_configuration_hapl_renders() {
    let e = eval(&format!("{BASE}{MONITORING}"));
    let hr = object(&e, "HelmRelease", "prometheus");
    let v = &hr["spec"]["values"];
    // The chart mounts `<release>-<configMapOverrideName>` as the server's configuration.
    let override_name = format!(
        "{}-{}",
        hr["metadata"]["name"].as_str().unwrap(),
        v["server"]["configMapOverrideName"].as_str().unwrap()
    );
    let conf = config_text(&e, &override_name, "prometheus", "prometheus.yml");
    assert!(conf.contains("job_name: home-assistant"));
    assert!(conf.contains("metrics_path: /api/prometheus"));
    // The token file is where the chart mounts the Secret.
    let mount = &v["server"]["extraSecretMounts"][0];
    assert_eq!(mount["secretName"], "home-assistant-prometheus-token");
    let token_file = format!("{}/token", mount["mountPath"].as_str().unwrap());
    assert!(
        conf.contains(&format!("credentials_file: {token_file}")),
        "{conf}"
    );
    // The rules ConfigMap is mounted where rule_files looks.
    let rules_mount = &v["server"]["extraConfigmapMounts"][0];
    assert_eq!(rules_mount["configMap"], "prometheus-rules");
    let rules_dir = rules_mount["mountPath"].as_str().unwrap();
    assert!(conf.contains(&format!("  - {rules_dir}/*.yml")));
    let rules = config_text(&e, "prometheus-rules", "prometheus-rules", "hapl.yml");
    assert!(rules.contains("alert: HomeAssistantDown"));
    assert!(conf.contains("/api/v1/nodes/pi5/proxy/metrics"));
    assert!(conf.contains("loki.logging.svc.cluster.local:3100"));
    assert!(!conf.contains("kubernetes_sd_configs"));

    assert_eq!(
        v["server"]["persistentVolume"]["storageClass"],
        "nfs-storage"
    );
    assert_eq!(v["server"]["strategy"]["type"], "Recreate");
    assert_eq!(v["server"]["retentionSize"], "8192MB");
    let ne = &v["prometheus-node-exporter"];
    assert_eq!(ne["enabled"], true);
    assert_eq!(ne["podLabels"]["hapl.dev/role"], "node-exporter");
    assert!(ne["podAnnotations"]["hapl.dev/host-network-reason"].is_string());
    assert_eq!(ne["extraArgs"][0], "--collector.mountstats");
    assert_eq!(v["alertmanager"]["enabled"], false);
}

#[test]
fn grafana_provisions_datasources_and_valid_dashboards_from_configmaps() {
    let e = eval(&format!("{BASE}{MONITORING}"));
    let v = values(&e, "grafana");
    assert_eq!(v["admin"]["existingSecret"], "grafana-admin");
    assert_eq!(v["persistence"]["storageClassName"], "nfs-storage");
    assert_eq!(v["podLabels"]["hapl.dev/role"], "grafana");
    assert_eq!(
        v["envValueFrom"]["INFLUXDB_TOKEN"]["secretKeyRef"]["name"],
        "grafana-influxdb"
    );
    let mount = &v["extraConfigmapMounts"][0];
    assert_eq!(mount["configMap"], "grafana-datasources");
    assert_eq!(mount["mountPath"], "/etc/grafana/provisioning/datasources");
    let ds = config_text(
        &e,
        "grafana-datasources",
        "grafana-datasources",
        "datasources.yaml",
    );
    for uid in [
        "uid: prometheus",
        "uid: loki",
        "uid: influxdb",
        "token: $INFLUXDB_TOKEN",
    ] {
        assert!(ds.contains(uid), "{ds}");
    }
    assert!(ds.contains("url: http://prometheus.monitoring.svc.cluster.local:9090"));
    assert_eq!(v["dashboardsConfigMaps"]["hapl"], "grafana-dashboards");
    let provider_path = v["dashboardProviders"]["dashboardproviders.yaml"]["providers"][0]
        ["options"]["path"]
        .as_str()
        .unwrap();
    assert!(provider_path.ends_with("/hapl"));

    let cm = object(&e, "ConfigMap", "grafana-dashboards");
    assert_eq!(
        cm["metadata"]["labels"]["hapl.dev/config"],
        "grafana-dashboards"
    );
    let data = cm["data"].as_object().unwrap();
    assert_eq!(
        data.keys().map(String::as_str).collect::<Vec<_>>(),
        ["home-assistant.json", "nas-storage.json", "zigbee.json"]
    );
    let mut uids = BTreeSet::new();
    for (file, text) in data {
        let d: Value = serde_json::from_str(text.as_str().unwrap())
            .unwrap_or_else(|err| panic!("{file} is not JSON: {err}"));
        assert!(d["title"].is_string() && d["time"]["to"] == "now", "{file}");
        assert!(uids.insert(d["uid"].as_str().unwrap().to_owned()));
        let panels = d["panels"].as_array().unwrap();
        assert!(panels.len() >= 4, "{file}");
        let mut ids = BTreeSet::new();
        for panel in panels {
            assert!(
                ids.insert(panel["id"].as_i64().unwrap()),
                "{file}: duplicate id"
            );
            let source = panel["datasource"]["uid"].as_str().unwrap();
            assert!(["prometheus", "loki"].contains(&source), "{file}");
            assert!(!panel["targets"][0]["expr"].as_str().unwrap().is_empty());
            assert_eq!(panel["targets"][0]["refId"], "A");
        }
    }
}

#[test]
fn grafana_needs_its_admin_credentials_from_a_secret() {
    let script = format!(
        "{BASE}{}",
        MONITORING.replace(r#"admin_secret: "grafana-admin", "#, "")
    );
    let d = eval_err(&script);
    assert!(d.message.contains("admin_secret"), "{d}");
}

// ---------------------------------------------------------------- budget

/// MiB of a memory quantity like "256Mi" or "1Gi".
fn mib(q: &str) -> u64 {
    if let Some(n) = q.strip_suffix("Gi") {
        n.parse::<u64>().unwrap() * 1024
    } else {
        q.strip_suffix("Mi").unwrap().parse().unwrap()
    }
}

/// Every `resources.limits.memory` in a chart's values (all containers, init ones included).
fn memory_limits(v: &Value, out: &mut Vec<u64>) {
    match v {
        Value::Object(m) => {
            if let Some(mem) = m
                .get("limits")
                .and_then(|l| l.get("memory"))
                .and_then(Value::as_str)
            {
                out.push(mib(mem));
            }
            for x in m.values() {
                memory_limits(x, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| memory_limits(x, out)),
        _ => {}
    }
}

#[test]
fn the_edge_fits_beside_home_assistant_on_an_8_gib_pi() {
    let script = format!(
        "{BASE}let broker = zigbee::mosquitto(p, s, #{{ passwd_secret: \"mosquitto-passwd\" }});
zigbee::zigbee2mqtt(p, s, broker, #{{ coordinator: \"{STICK}\", adapter: \"ember\", node: \"pi5\" }});
matter::server(p, s, #{{}});
{MONITORING}"
    );
    let e = eval(&script);
    let mut limits = Vec::new();
    let mut releases = 0;
    for o in &e.platform.objects {
        if let Resource::HelmRelease(hr) = &o.resource {
            if hr.metadata.name.as_deref() == Some("csi-driver-nfs") {
                continue;
            }
            releases += 1;
            memory_limits(hr.spec.values.as_ref().unwrap(), &mut limits);
        }
    }
    assert_eq!(
        releases, 7,
        "mosquitto, zigbee2mqtt, matter, loki, alloy, prometheus, grafana"
    );
    let total: u64 = limits.iter().sum();
    // Counting init containers as if they ran beside the others, the four modules stay under
    // 2.5 GiB of limits, leaving the rest of 8 GiB to Home Assistant, PostgreSQL and InfluxDB.
    assert!(total <= 2560, "{total} MiB of memory limits: {limits:?}");
    // Every workload of the edge has requests and limits and a role.
    for w in all_workloads(&e) {
        for c in &w.containers {
            let r = &c.resources;
            assert!(
                r.cpu_request.is_some()
                    && r.cpu_limit.is_some()
                    && r.memory_request.is_some()
                    && r.memory_limit.is_some(),
                "{}/{}",
                w.name,
                c.name
            );
        }
    }
}
