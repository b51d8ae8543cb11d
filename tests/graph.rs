//! `hapl graph` on the seed platform: the edges a reader looks for are there, in both formats,
//! every edge joins two drawn nodes, and the output is the same on every run.

use std::collections::BTreeSet;

use crate::support::{hapl, root, stderr, stdout};

fn graph(format: &str) -> String {
    let out = hapl(
        &root().join("examples/seed-platform"),
        &["graph", "--format", format],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn the_seed_platform_graph_shows_flux_storage_mqtt_and_secrets() {
    let mermaid = graph("mermaid");
    assert!(mermaid.starts_with("flowchart LR\n"), "{mermaid}");
    for edge in [
        // Flux Kustomizations in their order.
        "ks_flux_system_apps -->|\"dependsOn\"| ks_flux_system_datastore",
        "ks_flux_system_storage -->|\"dependsOn\"| ks_flux_system_infrastructure",
        // Home Assistant's configuration: claim, class, NAS export.
        "wl_homeassistant_Deployment_home_assistant -->|\"/config\"| pvc_homeassistant_home_assistant_config",
        "pvc_homeassistant_home_assistant_config --> sc_nfs_storage",
        "sc_nfs_storage --> nas_dpx2800_lan__volume1_k8s",
        // A backup claim bound to its own NAS folder.
        "pvc_datastore_backup_postgresql -->|\"bound to\"| pv_datastore_backup_postgresql",
        "pv_datastore_backup_postgresql --> nas_dpx2800_lan__volume1_k8s_backups_postgresql",
        // MQTT.
        "wl_zigbee_Deployment_zigbee2mqtt -->|\"MQTT mosquitto.zigbee.svc.cluster.local:1883\"| wl_zigbee_Deployment_mosquitto",
        "wl_homeassistant_Deployment_home_assistant -->|\"MQTT mosquitto.zigbee.svc.cluster.local:1883\"| wl_zigbee_Deployment_mosquitto",
        // Secrets.
        "secret_datastore_postgresql_credentials -->|\"feeds\"| wl_datastore_StatefulSet_postgresql",
        "secret_zigbee_mqtt_credentials -->|\"feeds\"| wl_zigbee_Deployment_zigbee2mqtt",
    ] {
        assert!(mermaid.contains(&format!("  {edge}\n")), "no edge `{edge}` in\n{mermaid}");
    }
    assert!(
        mermaid.contains(
            "secret_datastore_postgresql_credentials{{\"SealedSecret postgresql-credentials\"}}"
        ),
        "{mermaid}"
    );
    // The Zigbee stick is a host device of Zigbee2MQTT alone.
    let device_edges: Vec<&str> = mermaid
        .lines()
        .filter(|l| l.contains("--> host__dev_") || l.contains("| host__dev_"))
        .collect();
    assert_eq!(device_edges.len(), 1, "{device_edges:?}");
    assert!(device_edges[0].contains("wl_zigbee_Deployment_zigbee2mqtt"));

    // Every edge joins drawn nodes.
    let nodes: BTreeSet<&str> = mermaid
        .lines()
        .map(str::trim)
        .filter(|l| !l.contains("-->") && !l.starts_with("subgraph") && *l != "end")
        .filter_map(|l| l.split(['[', '{', '(']).next())
        .collect();
    for line in mermaid.lines().filter(|l| l.contains("-->")) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (from, to) = (words[0], words[words.len() - 1]);
        assert!(
            nodes.contains(from) && nodes.contains(to),
            "`{line}`: an end is not a node"
        );
    }

    let dot = graph("dot");
    assert!(
        dot.starts_with("digraph platform {\n") && dot.ends_with("}\n"),
        "{dot}"
    );
    for edge in [
        "\"ks:flux-system/apps\" -> \"ks:flux-system/datastore\" [label=\"dependsOn\"];",
        "\"wl:zigbee/Deployment/zigbee2mqtt\" -> \"wl:zigbee/Deployment/mosquitto\" [label=\"MQTT mosquitto.zigbee.svc.cluster.local:1883\"];",
        "\"sc:nfs-storage\" -> \"nas:dpx2800.lan:/volume1/k8s\";",
    ] {
        assert!(dot.contains(edge), "no edge `{edge}` in\n{dot}");
    }
    // As many edges in both formats.
    let count = |text: &str, arrow: &str| text.lines().filter(|l| l.contains(arrow)).count();
    assert_eq!(count(&mermaid, "-->"), count(&dot, " -> "));

    assert_eq!(graph("mermaid"), mermaid, "not deterministic");
    assert_eq!(graph("dot"), dot, "not deterministic");

    // The HTML form is the Mermaid text, escaped, in the block mermaid.js draws.
    let html = graph("html");
    let inner = html
        .strip_prefix("<pre class=\"mermaid\">\n")
        .and_then(|h| h.strip_suffix("</pre>\n"))
        .unwrap_or_else(|| panic!("{html}"));
    assert!(
        !inner.contains('<') && inner.contains("&lt;br&gt;"),
        "{inner}"
    );
    let unescaped = inner
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    assert_eq!(unescaped, mermaid);
}

/// A script that does not evaluate is an error at its line, and nothing is drawn.
#[test]
fn graph_of_a_broken_script_is_an_error_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("platform.rhai"),
        "let p = platform(\"x\");\nnope(p);\np\n",
    )
    .unwrap();
    let out = hapl(dir.path(), &["graph"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("platform.rhai:2"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
}

/// The adoption (the top-level platform): the claims kept as they are stay on the repository's
/// `nfs-storage` class, the new ones go on the NAS class, which leads to the NAS export.
#[test]
fn the_adoption_graph_shows_kept_and_new_claims_on_their_classes() {
    let out = hapl(&root(), &["graph"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mermaid = stdout(&out);
    for edge in [
        "pvc_home_automation_home_assistant_data --> sc_nfs_storage",
        "pvc_data_storage_influxdb_influxdb2 --> sc_nfs_storage",
        "pvc_data_storage_postgresql_data --> sc_nas_nfs",
        "pvc_zigbee_zigbee2mqtt_data --> sc_nas_nfs",
    ] {
        assert!(
            mermaid.contains(&format!("  {edge}\n")),
            "no edge `{edge}` in\n{mermaid}"
        );
    }
    assert!(
        mermaid
            .lines()
            .any(|l| l.starts_with("  sc_nas_nfs --> nas_")),
        "the NAS class leads to no export:\n{mermaid}"
    );
}
