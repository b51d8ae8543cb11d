//! `hapl graph`: the platform as a picture, in Mermaid or Graphviz DOT. It draws the Flux
//! Kustomizations and their `dependsOn`, each workload with the claims it mounts, their
//! StorageClass (or volume) and the NAS export behind it, who talks to the MQTT broker, and which
//! secrets feed which workload. Nodes and edges are sorted, so the output is deterministic.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use hapl_core::rules::{Context, Date, Settings};
use hapl_core::workload::{EnvValue, VolumeSource, Workload};
use hapl_core::{Platform, Resource};
use serde_json::Value;

/// What a node stands for; it decides the node's shape.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Kustomization,
    Workload,
    Claim,
    Class,
    Nas,
    Secret,
}

struct Node {
    label: String,
    kind: Kind,
    /// The namespace box it is drawn in (`None`: cluster-wide).
    namespace: Option<String>,
}

#[derive(Default)]
pub struct Graph {
    nodes: BTreeMap<String, Node>,
    /// (from, to, label)
    edges: BTreeSet<(String, String, String)>,
}

const MQTT_BROKER: &str = "hapl.dev/mqtt-broker";

impl Graph {
    fn node(&mut self, id: String, kind: Kind, namespace: Option<&str>, label: String) -> String {
        self.nodes.entry(id.clone()).or_insert(Node {
            label,
            kind,
            namespace: namespace.map(str::to_owned),
        });
        id
    }

    fn edge(&mut self, from: &str, to: &str, label: &str) {
        self.edges
            .insert((from.to_owned(), to.to_owned(), label.to_owned()));
    }

    /// The graph of a platform.
    pub fn of(platform: &Platform) -> Graph {
        let settings = Settings {
            today: Date::from_unix_days(0),
        };
        let cx = Context::new(platform, &settings);
        let mut g = Graph::default();
        for r in &cx.resources {
            let ns = r.namespace();
            match r {
                Resource::FluxKustomization(_) => {
                    let value = r.to_value();
                    let id = g.kustomization(ns.unwrap_or("flux-system"), r.name(), &value);
                    for dep in array(&value, "/spec/dependsOn") {
                        let dep_ns = dep["namespace"].as_str().or(ns).unwrap_or("flux-system");
                        let dep_name = dep["name"].as_str().unwrap_or_default();
                        let dep = g.kustomization(dep_ns, dep_name, &Value::Null);
                        g.edge(&id, &dep, "dependsOn");
                    }
                }
                Resource::PersistentVolumeClaim(_) => {
                    g.claim(&cx, ns.unwrap_or("default"), r.name());
                }
                _ => {}
            }
        }
        for w in &cx.workloads.workloads {
            g.workload(&cx, w);
        }
        g.mqtt(&cx.workloads.workloads);
        g
    }

    fn kustomization(&mut self, ns: &str, name: &str, value: &Value) -> String {
        let id = format!("ks:{ns}/{name}");
        let label = match value.pointer("/spec/path").and_then(Value::as_str) {
            Some(path) => format!("Kustomization {name}\n{path}"),
            None => format!("Kustomization {name}"),
        };
        // A dependency seen before its own object gets its path when the object comes.
        if let Some(node) = self.nodes.get_mut(&id) {
            if value.is_object() {
                node.label = label;
            }
            return id;
        }
        self.node(id, Kind::Kustomization, Some(ns), label)
    }

    fn workload_id(w: &Workload) -> String {
        format!("wl:{}/{}/{}", w.namespace, w.kind.name(), w.name)
    }

    fn workload(&mut self, cx: &Context, w: &Workload) {
        let label = match &w.chart {
            Some(chart) => format!("{} {}\nchart {chart}", w.kind.name(), w.name),
            None => format!("{} {}", w.kind.name(), w.name),
        };
        let id = self.node(
            Self::workload_id(w),
            Kind::Workload,
            Some(&w.namespace),
            label,
        );
        for volume in &w.volumes {
            let mounted_at: BTreeSet<&str> = w
                .containers
                .iter()
                .flat_map(|c| &c.mounts)
                .filter(|(v, _)| *v == volume.name)
                .map(|(_, path)| path.as_str())
                .collect();
            let label = mounted_at.into_iter().collect::<Vec<_>>().join(", ");
            match &volume.source {
                VolumeSource::Pvc(claim) => {
                    let claim = self.claim(cx, &w.namespace, claim);
                    self.edge(&id, &claim, &label);
                }
                VolumeSource::NewClaim(c) => {
                    let claim = self.node(
                        format!("pvc:{}/{}", w.namespace, c.name),
                        Kind::Claim,
                        Some(&w.namespace),
                        format!(
                            "PVC {} (template)\n{}",
                            c.name,
                            c.size.as_deref().unwrap_or("")
                        ),
                    );
                    self.edge(&id, &claim, &label);
                    let class = self.class(cx, c.storage_class.as_deref());
                    self.edge(&claim, &class, "");
                }
                VolumeSource::Nfs { server, path } => {
                    let nas = self.nas(server, path);
                    self.edge(&id, &nas, &label);
                }
                VolumeSource::HostPath(path) => {
                    let what = if volume.device().is_some() {
                        "host device"
                    } else {
                        "node's disk"
                    };
                    let host = self.node(
                        format!("host:{path}"),
                        Kind::Nas,
                        None,
                        format!("{what}\n{path}"),
                    );
                    self.edge(&id, &host, &label);
                }
                VolumeSource::Secret(secret) => {
                    let secret = self.secret(cx, &w.namespace, secret);
                    self.edge(&secret, &id, "feeds");
                }
                _ => {}
            }
        }
        // A release of several workloads: its secrets feed those that read secrets, else the
        // release's first (main) workload.
        let siblings: Vec<&Workload> = cx
            .workloads
            .workloads
            .iter()
            .filter(|o| o.object == w.object)
            .collect();
        let feeds = match siblings.iter().any(|o| reads_secrets(o)) {
            true => reads_secrets(w),
            false => siblings.first().is_some_and(|first| first.name == w.name),
        };
        if !feeds {
            return;
        }
        let mut refs = BTreeSet::new();
        secret_refs(&cx.resources[w.object].to_value(), &mut refs);
        for secret in refs {
            let secret = self.secret(cx, &w.namespace, &secret);
            self.edge(&secret, &id, "feeds");
        }
    }

    fn claim(&mut self, cx: &Context, ns: &str, name: &str) -> String {
        let id = format!("pvc:{ns}/{name}");
        if self.nodes.contains_key(&id) {
            return id;
        }
        let Some((_, pvc)) = cx.pvc(ns, name) else {
            return self.node(
                id,
                Kind::Claim,
                Some(ns),
                format!("PVC {name}\n(not declared)"),
            );
        };
        let spec = pvc.spec.as_ref();
        let size = spec
            .and_then(|s| s.resources.as_ref())
            .and_then(|r| r.requests.as_ref())
            .and_then(|r| r.get("storage"))
            .map(|q| q.0.clone())
            .unwrap_or_default();
        let id = self.node(id, Kind::Claim, Some(ns), format!("PVC {name}\n{size}"));
        match spec.and_then(|s| s.volume_name.as_deref()) {
            Some(pv) => {
                let volume = self.volume(cx, pv);
                self.edge(&id, &volume, "bound to");
            }
            None => {
                let class = self.class(cx, spec.and_then(|s| s.storage_class_name.as_deref()));
                self.edge(&id, &class, "");
            }
        }
        id
    }

    /// A PersistentVolume: its NFS export when it has one.
    fn volume(&mut self, cx: &Context, name: &str) -> String {
        let pv = cx.resources.iter().find_map(|r| match r {
            Resource::PersistentVolume(pv) if r.name() == name => pv.spec.as_ref(),
            _ => None,
        });
        let id = self.node(
            format!("pv:{name}"),
            Kind::Class,
            None,
            format!("PV {name}"),
        );
        if let Some(nfs) = pv.and_then(|s| s.nfs.as_ref()) {
            let nas = self.nas(&nfs.server, &nfs.path);
            self.edge(&id, &nas, "");
        } else if let Some(csi) = pv.and_then(|s| s.csi.as_ref()) {
            let attrs = csi.volume_attributes.as_ref();
            let get = |k: &str| attrs.and_then(|a| a.get(k)).cloned().unwrap_or_default();
            if csi.driver.contains("nfs") {
                let nas = self.nas(&get("server"), &get("share"));
                self.edge(&id, &nas, "");
            }
        }
        id
    }

    /// A StorageClass and, for an NFS class, the export behind it.
    fn class(&mut self, cx: &Context, name: Option<&str>) -> String {
        let sc = match name {
            Some(n) => cx
                .storage_classes()
                .find(|(_, sc)| sc.metadata.name.as_deref() == Some(n)),
            None => cx.default_classes().into_iter().next(),
        };
        let (_, described) = cx.class_on_nas(name);
        let id = self.node(
            format!("sc:{described}"),
            Kind::Class,
            None,
            format!("StorageClass {described}"),
        );
        if let Some((_, sc)) = sc {
            let params = sc.parameters.clone().unwrap_or_default();
            if let Some(server) = params.get("server") {
                let share = params.get("share").cloned().unwrap_or_default();
                let nas = self.nas(server, &share);
                self.edge(&id, &nas, "");
            }
        }
        id
    }

    fn nas(&mut self, server: &str, path: &str) -> String {
        self.node(
            format!("nas:{server}:{path}"),
            Kind::Nas,
            None,
            format!("NAS {server}\n{path}"),
        )
    }

    fn secret(&mut self, cx: &Context, ns: &str, name: &str) -> String {
        let sealed = cx.resources.iter().any(|r| {
            matches!(r, Resource::SealedSecret(_)) && r.namespace() == Some(ns) && r.name() == name
        });
        let kind = if sealed { "SealedSecret" } else { "Secret" };
        self.node(
            format!("secret:{ns}/{name}"),
            Kind::Secret,
            Some(ns),
            format!("{kind} {name}"),
        )
    }

    /// Every workload that declares an MQTT broker (`hapl.dev/mqtt-broker`) talks to the
    /// broker workload (role `mosquitto`) that declares the same address, else to the address.
    fn mqtt(&mut self, workloads: &[Workload]) {
        let brokers: Vec<&Workload> = workloads
            .iter()
            .filter(|w| w.role() == Some("mosquitto"))
            .collect();
        for w in workloads.iter().filter(|w| w.role() != Some("mosquitto")) {
            let Some(address) = w.annotation(MQTT_BROKER) else {
                continue;
            };
            let broker = brokers
                .iter()
                .find(|b| b.annotation(MQTT_BROKER) == Some(address))
                .or(brokers.first());
            let to = match broker {
                Some(b) => Self::workload_id(b),
                None => self.node(
                    format!("mqtt:{address}"),
                    Kind::Workload,
                    None,
                    format!("MQTT broker\n{address}"),
                ),
            };
            self.edge(&Self::workload_id(w), &to, &format!("MQTT {address}"));
        }
    }

    /// Mermaid flowchart text (```mermaid in Markdown).
    pub fn mermaid(&self) -> String {
        let ids = self.short_ids();
        let mut out = String::from("flowchart LR\n");
        for (ns, nodes) in self.by_namespace() {
            let indent = if ns.is_some() { "    " } else { "" };
            if let Some(ns) = &ns {
                let _ = writeln!(out, "  subgraph ns_{}[\"{ns}\"]", sanitize(ns));
            }
            for (id, node) in nodes {
                let label = node.label.replace('"', "#quot;").replace('\n', "<br>");
                let (open, close) = match node.kind {
                    Kind::Kustomization => ("[[\"", "\"]]"),
                    Kind::Workload => ("[\"", "\"]"),
                    Kind::Claim | Kind::Class => ("[(\"", "\")]"),
                    Kind::Nas => ("[/\"", "\"/]"),
                    Kind::Secret => ("{{\"", "\"}}"),
                };
                let _ = writeln!(out, "  {indent}{}{open}{label}{close}", ids[id]);
            }
            if ns.is_some() {
                out.push_str("  end\n");
            }
        }
        for (from, to, label) in &self.edges {
            let arrow = match label.as_str() {
                "" => "-->".to_owned(),
                l => format!("-->|\"{}\"|", l.replace('"', "#quot;")),
            };
            let _ = writeln!(out, "  {} {arrow} {}", ids[from], ids[to]);
        }
        out
    }

    /// Graphviz DOT text.
    /// [`Graph::mermaid`] in a `<pre class="mermaid">` block, HTML-escaped: mermaid.js reads
    /// the block's text, so labels keep their `<br>`.
    pub fn html(&self) -> String {
        let text = self
            .mermaid()
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        format!("<pre class=\"mermaid\">\n{text}</pre>\n")
    }

    pub fn dot(&self) -> String {
        let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
        let mut out = String::from(
            "digraph platform {\n  rankdir=LR;\n  node [fontname=\"sans-serif\", fontsize=10];\n  edge [fontname=\"sans-serif\", fontsize=9];\n",
        );
        for (ns, nodes) in self.by_namespace() {
            let indent = if ns.is_some() { "    " } else { "  " };
            if let Some(ns) = &ns {
                let _ = writeln!(
                    out,
                    "  subgraph {} {{\n    label={};",
                    quote(&format!("cluster_{ns}")),
                    quote(ns)
                );
            }
            for (id, node) in nodes {
                let shape = match node.kind {
                    Kind::Kustomization => "component",
                    Kind::Workload => "box",
                    Kind::Claim | Kind::Class => "cylinder",
                    Kind::Nas => "folder",
                    Kind::Secret => "hexagon",
                };
                let label = node.label.replace('\n', "\\n").replace('"', "\\\"");
                let _ = writeln!(
                    out,
                    "{indent}{} [label=\"{label}\", shape={shape}];",
                    quote(id)
                );
            }
            if ns.is_some() {
                out.push_str("  }\n");
            }
        }
        for (from, to, label) in &self.edges {
            let attrs = if label.is_empty() {
                String::new()
            } else {
                format!(" [label={}]", quote(label))
            };
            let _ = writeln!(out, "  {} -> {}{attrs};", quote(from), quote(to));
        }
        out.push_str("}\n");
        out
    }

    /// Nodes grouped by namespace (cluster-wide ones first), each group sorted by id.
    fn by_namespace(&self) -> BTreeMap<Option<String>, Vec<(&String, &Node)>> {
        let mut groups: BTreeMap<Option<String>, Vec<(&String, &Node)>> = BTreeMap::new();
        for (id, node) in &self.nodes {
            groups
                .entry(node.namespace.clone())
                .or_default()
                .push((id, node));
        }
        groups
    }

    /// Mermaid node ids: the node's id with every other character than a letter, digit or
    /// `_` replaced, numbered when two collide.
    fn short_ids(&self) -> BTreeMap<&String, String> {
        let mut taken: BTreeMap<String, usize> = BTreeMap::new();
        let mut ids = BTreeMap::new();
        for id in self.nodes.keys() {
            let base = sanitize(id);
            let n = taken.entry(base.clone()).or_insert(0);
            *n += 1;
            let short = if *n == 1 { base } else { format!("{base}_{n}") };
            ids.insert(id, short);
        }
        ids
    }
}

/// Whether a workload reads a secret: an environment variable from one, or a secret volume.
fn reads_secrets(w: &Workload) -> bool {
    w.volumes
        .iter()
        .any(|v| matches!(v.source, VolumeSource::Secret(_)))
        || w.containers
            .iter()
            .flat_map(|c| &c.env)
            .any(|(_, v)| *v == EnvValue::FromSecret)
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn array<'a>(value: &'a Value, pointer: &str) -> &'a [Value] {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Names of the secrets an object reads: `secretKeyRef`/`secretRef` names (env, envFrom),
/// `secretName` (volumes), chart values' `existingSecret`, and a HelmRelease's `valuesFrom`
/// of kind Secret.
fn secret_refs(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let named = match key.as_str() {
                    "secretKeyRef" | "secretRef" => v.get("name").and_then(Value::as_str),
                    "secretName" | "existingSecret" => v.as_str(),
                    "valuesFrom" => {
                        for from in v.as_array().into_iter().flatten() {
                            if from["kind"] == "Secret" {
                                if let Some(name) = from["name"].as_str() {
                                    out.insert(name.to_owned());
                                }
                            }
                        }
                        None
                    }
                    _ => None,
                };
                match named {
                    Some(name) if !name.is_empty() => {
                        out.insert(name.to_owned());
                    }
                    _ => secret_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| secret_refs(v, out)),
        _ => {}
    }
}
