//! The Zigbee coordinator, Zigbee2MQTT and the MQTT broker.

use super::config::{broker_address, last, lookup, mosquitto_conf, scalar, yaml};
use super::{container_path, Context, Findings, Rule};
use crate::diagnostic::Severity;
use crate::workload::{EnvValue, VolumeSource, VolumeView, Workload, WorkloadKind};

pub(super) static USB_SINGLE_POD: Rule = Rule {
    id: "usb-single-pod",
    severity: Severity::Error,
    summary: "A host device is mounted in exactly one workload, the Zigbee2MQTT pod: one \
        replica, Recreate, on the node that has it.",
    explanation: "A USB Zigbee coordinator is a serial port: two processes opening it garble \
        each other's frames and the coordinator loses the network. That happens when a second \
        workload (Home Assistant with ZHA, say) mounts the device, when Zigbee2MQTT has two \
        replicas, or during a RollingUpdate, where the new pod starts before the old one lets \
        go. A pod scheduled on a node without the stick crash-loops. Only the Zigbee2MQTT pod \
        mounts it, with one replica, the Recreate strategy and a node selector for the node the \
        stick is plugged into.",
    fix: "mount the device only in Zigbee2MQTT; give it `replicas: 1`, `strategy: Recreate` and \
        a `nodeSelector` (e.g. `kubernetes.io/hostname: <node>`)",
    check: usb_single_pod,
};

fn usb_single_pod(cx: &Context, f: &mut Findings) {
    let node = cx.platform.node.as_ref().map(|n| n.name.as_str());
    let mut zigbee_holder: Option<&Workload> = None;
    for w in &cx.workloads.workloads {
        if w.role() != Some("zigbee2mqtt") {
            // Every host device (and the host's Bluetooth stack) the pod mounts.
            for v in &w.volumes {
                let Some(device) = v.device().or_else(|| host_bluetooth(v)) else {
                    continue;
                };
                let mount = w.containers.iter().find_map(|c| {
                    c.mounts.iter().any(|(n, _)| *n == v.name).then(|| {
                        container_path(cx, w, c, &format!("volumeMounts[name={}]", v.name))
                    })
                });
                f.at(
                    w.object,
                    format!(
                        "{} mounts the host device `{device}`; only the Zigbee2MQTT pod may",
                        w.describe()
                    ),
                    "made here",
                )
                .path(mount.flatten());
            }
            continue;
        }
        let Some(device) = w.volumes.iter().find_map(|v| v.device()) else {
            continue;
        };
        if let Some(first) = zigbee_holder {
            f.at(
                w.object,
                format!(
                    "{} mounts `{device}` too: a second workload holds a host device",
                    w.describe()
                ),
                "made here",
            )
            .related(first.object, "the first holder is made here");
            continue;
        }
        zigbee_holder = Some(w);
        if w.replicas != 1 || w.kind == WorkloadKind::DaemonSet {
            let n = if w.kind == WorkloadKind::DaemonSet {
                "one per node (DaemonSet)".to_owned()
            } else {
                w.replicas.to_string()
            };
            f.at(
                w.object,
                format!(
                    "{} holds `{device}` with {n} replicas; exactly one may",
                    w.describe()
                ),
                "made here",
            );
        }
        if w.kind == WorkloadKind::Deployment && w.strategy.as_deref() != Some("Recreate") {
            f.at(
                w.object,
                format!(
                    "{} holds `{device}` with the {} strategy: old and new pod open it at once during a rollout",
                    w.describe(),
                    w.strategy.as_deref().unwrap_or("RollingUpdate")
                ),
                "made here",
            );
        }
        if !w.pinned_to_node {
            f.at(
                w.object,
                format!("{} holds `{device}` but is not scheduled on the node that has it (no node selector)", w.describe()),
                "made here",
            );
        } else if let (Some(node), Some(host)) =
            (node, w.node_selector.get("kubernetes.io/hostname"))
        {
            if host != node {
                f.at(
                    w.object,
                    format!(
                        "{} is scheduled on `{host}`, but the platform's node is `{node}`",
                        w.describe()
                    ),
                    "made here",
                );
            }
        }
    }
}

pub(super) static ZIGBEE_VIA_MQTT: Rule = Rule {
    id: "zigbee-via-mqtt",
    severity: Severity::Error,
    summary: "Home Assistant reaches Zigbee only through MQTT; HA, Zigbee2MQTT and the broker \
        agree on the broker's address and credentials.",
    explanation: "With Zigbee2MQTT in charge of the coordinator, Home Assistant must not run \
        ZHA (it would fight over the stick, or sit broken). Everything goes through the MQTT \
        broker, so the three parties must agree: Zigbee2MQTT publishing to one address while \
        Home Assistant listens on another, or using a different credentials secret, leaves \
        every device unavailable with no error in git. Home Assistant's MQTT integration is \
        set up in its UI, so its side is declared by the annotations `hapl.dev/mqtt-broker` \
        and `hapl.dev/mqtt-credentials` on the three workloads; and the broker must refuse \
        anonymous clients, or the credentials mean nothing.",
    fix: "remove `zha:` from Home Assistant's configuration; annotate Home Assistant, \
        Zigbee2MQTT and Mosquitto with the same `hapl.dev/mqtt-broker: <host:port>` and \
        `hapl.dev/mqtt-credentials: <secret>`; point Zigbee2MQTT's `mqtt.server` there; set \
        `allow_anonymous false` in mosquitto.conf",
    check: zigbee_via_mqtt,
};

const BROKER: &str = "hapl.dev/mqtt-broker";
const CREDENTIALS: &str = "hapl.dev/mqtt-credentials";

/// The host's Bluetooth stack (D-Bus socket, `/sys/class/bluetooth`) mounted from the host.
fn host_bluetooth(v: &VolumeView) -> Option<&str> {
    match &v.source {
        VolumeSource::HostPath(p)
            if p.contains("bluetooth") || p == "/var/run/dbus" || p == "/run/dbus" =>
        {
            Some(p)
        }
        _ => None,
    }
}

fn zigbee_via_mqtt(cx: &Context, f: &mut Findings) {
    let Some(z2m) = cx.role("zigbee2mqtt").next() else {
        // Home Assistant holding the coordinator itself: Zigbee runs through ZHA, not MQTT.
        for ha in cx.role("home-assistant") {
            if let Some(device) = ha.volumes.iter().find_map(|v| v.device()) {
                f.at(
                    ha.object,
                    format!(
                        "{} drives the Zigbee coordinator `{device}` itself: the platform has no Zigbee2MQTT and no MQTT broker",
                        ha.describe()
                    ),
                    "made here",
                );
            }
        }
        return;
    };
    for (object, doc) in &cx.ha_docs {
        if lookup(doc, "zha").is_some() {
            f.at(
                *object,
                "Home Assistant's configuration enables ZHA while Zigbee2MQTT runs the coordinator",
                "the configuration comes from here",
            );
        }
    }
    let broker = cx.role("mosquitto").next();
    if broker.is_none() {
        f.at(
            z2m.object,
            format!(
                "{} runs, but the platform has no MQTT broker (Mosquitto)",
                z2m.describe()
            ),
            "made here",
        );
    }
    let parties: Vec<(&str, &Workload)> = [
        ("the broker", broker),
        ("Zigbee2MQTT", Some(z2m)),
        ("Home Assistant", cx.role("home-assistant").next()),
    ]
    .into_iter()
    .filter_map(|(n, w)| Some((n, w?)))
    .collect();
    for (key, what, normalize) in [
        (
            BROKER,
            "broker address",
            broker_address as fn(&str) -> String,
        ),
        (CREDENTIALS, "credentials secret", |s: &str| {
            s.trim().to_owned()
        }),
    ] {
        let mut reference: Option<(&str, &Workload, String)> = None;
        for (who, w) in &parties {
            let Some(value) = w.annotation(key).map(normalize) else {
                f.at(
                    w.object,
                    format!(
                        "{who} ({}) does not declare its MQTT {what} (`{key}`)",
                        w.describe()
                    ),
                    "made here",
                );
                continue;
            };
            match &reference {
                None => reference = Some((who, w, value)),
                Some((rwho, rw, rvalue)) if *rvalue != value => {
                    f.at(
                        w.object,
                        format!("{who} uses MQTT {what} `{value}`, but {rwho} uses `{rvalue}`"),
                        "made here",
                    )
                    .related(rw.object, format!("{rwho} is made here"));
                }
                Some(_) => {}
            }
        }
    }
    // Zigbee2MQTT's own configuration must name the declared broker.
    if let Some(declared) = z2m.annotation(BROKER).map(broker_address) {
        let env_server = z2m
            .containers
            .iter()
            .flat_map(|c| &c.env)
            .find_map(|(k, v)| match v {
                EnvValue::Literal(s) if k == "ZIGBEE2MQTT_CONFIG_MQTT_SERVER" => Some(s.clone()),
                _ => None,
            });
        let configured = cx
            .configs("zigbee2mqtt")
            .filter_map(|c| {
                let doc = yaml(&c.text)?;
                Some((c.object, scalar(lookup(&doc, "mqtt.server")?)?))
            })
            .chain(env_server.map(|s| (z2m.object, s)));
        for (object, server) in configured {
            if broker_address(&server) != declared {
                f.at(
                    object,
                    format!("Zigbee2MQTT's `mqtt.server` is `{server}`, but it declares the broker `{declared}`"),
                    "configured here",
                );
            }
        }
    }
    for c in cx.configs("mosquitto") {
        let conf = mosquitto_conf(&c.text);
        if last(&conf, "allow_anonymous") == Some("true") {
            f.at(
                c.object,
                "Mosquitto accepts anonymous clients (`allow_anonymous true`): the MQTT credentials are not enforced",
                "configured here",
            );
        }
    }
}
