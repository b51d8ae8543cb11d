//! Rules on every workload and object: resources, pinning, secrets, privileges, host
//! networking, namespaces, end-of-life components, and charts hapl cannot see into.

use std::collections::BTreeMap;

use serde_json::Value;
use serde_yaml::Value as Yaml;

use super::config::{lookup, secret_ref, yaml, Date};
use super::{container_path, pod_path, Context, Findings, Rule};
use crate::diagnostic::Severity;
use crate::quantity::is_exact_version;
use crate::resource::Resource;
use crate::workload::{image_repository, image_tag, EnvValue, Workload};

pub(super) static RESOURCES_REQUIRED: Rule = Rule {
    id: "resources-required",
    severity: Severity::Error,
    summary: "Every container (init containers and CronJobs included) has CPU and memory \
        requests and limits.",
    explanation: "A Raspberry Pi has 8 GiB and four cores for everything. A container without \
        a memory limit can take all of it, and the kernel's OOM killer then picks a victim, \
        often PostgreSQL or Home Assistant; without requests the scheduler cannot tell that the \
        node is full. The seed demands both on every workload. A CPU limit only throttles, so a \
        script may allow a container without one, explicitly and with a reason \
        (`p.allow_no_cpu_limit(...)`).",
    fix: "set `resources.requests.{cpu,memory}` and `resources.limits.{cpu,memory}` on the \
        container (in chart values, where the chart takes them)",
    check: resources_required,
};

fn resources_required(cx: &Context, f: &mut Findings) {
    for w in &cx.workloads.workloads {
        for c in &w.containers {
            let r = &c.resources;
            let missing: Vec<&str> = [
                ("CPU request", &r.cpu_request),
                ("memory request", &r.memory_request),
                ("memory limit", &r.memory_limit),
            ]
            .into_iter()
            .filter(|(_, v)| v.is_none())
            .map(|(n, _)| n)
            .collect();
            let which = if c.init {
                "init container"
            } else {
                "container"
            };
            if !missing.is_empty() {
                f.at(
                    w.object,
                    format!(
                        "{which} `{}` of {} has no {}",
                        c.name,
                        w.describe(),
                        missing.join(", ")
                    ),
                    "made here",
                )
                .path(container_path(cx, w, c, "resources"));
            }
            if r.cpu_limit.is_none() {
                f.at(
                    w.object,
                    format!("{which} `{}` of {} has no CPU limit", c.name, w.describe()),
                    "made here",
                )
                .tag("cpu-limit")
                .path(container_path(cx, w, c, "resources"));
            }
        }
    }
}

pub(super) static PINNED_VERSIONS: Rule = Rule {
    id: "pinned-versions",
    severity: Severity::Error,
    summary: "Charts are pinned to exact versions and images to exact tags or digests.",
    explanation: "A moving reference (`latest`, `stable`, `edge`, `dev`, `main`, `nightly`, an \
        empty tag, a chart range such as `^1.2` or no chart version at all) upgrades itself \
        whenever a pod restarts or Flux reconciles, without a commit: the platform that worked \
        yesterday is not the one running today, and there is nothing to roll back to. Exact \
        versions make every upgrade a reviewable change in git (Renovate can propose them).",
    fix: "pin the chart to one exact version (\"1.2.3\") and each image to an exact tag \
        (\"2025.11.3\") or a digest (`@sha256:...`)",
    check: pinned_versions,
};

const MOVING_TAGS: &[&str] = &[
    "", "latest", "stable", "edge", "dev", "develop", "main", "master", "nightly", "beta",
    "rolling",
];

fn pinned_versions(cx: &Context, f: &mut Findings) {
    for w in &cx.workloads.workloads {
        for c in w.containers.iter().filter(|c| !c.image_from_chart) {
            let (tag, digest) = image_tag(&c.image);
            if !digest && MOVING_TAGS.contains(&tag.to_ascii_lowercase().as_str()) {
                let why = if tag.is_empty() {
                    "has no tag (it means `latest`)".to_owned()
                } else {
                    format!("uses the moving tag `{tag}`")
                };
                f.at(
                    w.object,
                    format!(
                        "image `{}` of container `{}` in {} {why}",
                        c.image,
                        c.name,
                        w.describe()
                    ),
                    "made here",
                )
                .path(container_path(cx, w, c, "image"));
            }
        }
    }
    for (i, r) in cx.resources.iter().enumerate() {
        match r {
            Resource::HelmRelease(hr) => {
                // A chart from a Git repository or bucket is pinned by the source's revision.
                let from_registry = hr.spec.chart.as_ref().is_some_and(|c| {
                    !matches!(c.spec.source_ref.kind.as_str(), "GitRepository" | "Bucket")
                });
                if let Some(chart) = hr.spec.chart.as_ref().filter(|_| from_registry) {
                    let msg = match chart.spec.version.as_deref() {
                        None | Some("") => format!("chart `{}` of HelmRelease `{}` has no version: Flux installs the newest", chart.spec.chart, r.name()),
                        Some(v) if !is_exact_version(v) => format!("chart `{}` is not pinned: `{v}` is a range or a moving tag", chart.spec.chart),
                        Some(_) => continue,
                    };
                    f.at(i, msg, "made here")
                        .path("spec.chart.spec.chart".to_owned());
                }
            }
            Resource::OciRepository(oci) => {
                let reference = oci.spec.reference.as_ref();
                if reference.and_then(|r| r.digest.as_ref()).is_some() {
                    continue;
                }
                let name = r.name();
                let msg = match reference {
                    Some(rf) if rf.semver.is_some() => format!(
                        "OCIRepository `{name}` follows the range `{}`",
                        rf.semver.as_deref().unwrap_or_default()
                    ),
                    Some(rf) => match rf.tag.as_deref() {
                        Some(t) if is_exact_version(t) => continue,
                        Some(t) => format!("OCIRepository `{name}` follows the moving tag `{t}`"),
                        None => format!(
                            "OCIRepository `{name}` has no tag or digest: it follows `latest`"
                        ),
                    },
                    None => format!("OCIRepository `{name}` has no `ref`: it follows `latest`"),
                };
                f.at(i, msg, "made here");
            }
            _ => {}
        }
    }
}

pub(super) static NO_PLAINTEXT_SECRETS: Rule = Rule {
    id: "no-plaintext-secrets",
    severity: Severity::Error,
    summary: "No credentials in git: no Secret with data unless SOPS-encrypted, no \
        password-like literal in env, values or configuration.",
    explanation: "Everything hapl writes goes into a git repository, with its whole history: a \
        password committed once stays readable forever, in every clone and backup. The Phase 0 \
        repo had Grafana's admin password as an env literal. Credentials belong in \
        SealedSecrets (encrypted for the cluster's key) or SOPS-encrypted Secrets, and \
        workloads reference them (`secretKeyRef`, `existingSecret`, `!secret`).",
    fix: "move the value into a SealedSecret (`kubeseal`) and reference it: `valueFrom.secretKeyRef` \
        in env, the chart's `existingSecret`, or `!secret <key>` in Home Assistant and \
        Zigbee2MQTT configuration",
    check: no_plaintext_secrets,
};

/// A key that holds a credential (`password`, `adminPassword`, `api_key`, `token`, ...).
pub fn secret_key(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    !k.starts_with("existing")
        && [
            "password",
            "passwd",
            "token",
            "apikey",
            "clientsecret",
            "secretkey",
            "privatekey",
        ]
        .iter()
        .any(|s| k.ends_with(s))
        || k == "secret"
}

/// A URL with a password in it (`postgresql://user:pass@host/db`).
pub fn url_with_password(s: &str) -> bool {
    s.split_once("://").is_some_and(|(_, rest)| {
        rest.split_once('@')
            .is_some_and(|(user, _)| user.contains(':') && !user.ends_with(':'))
    })
}

fn literal_secret(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty() && !s.starts_with("${") && !s.starts_with("!secret") && !s.starts_with("ENC[")
}

fn no_plaintext_secrets(cx: &Context, f: &mut Findings) {
    for (i, r) in cx.resources.iter().enumerate() {
        match r {
            Resource::Secret(s) => {
                let mut values = s
                    .data
                    .iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), String::from_utf8_lossy(&v.0).into_owned()))
                    .chain(
                        s.string_data
                            .iter()
                            .flatten()
                            .map(|(k, v)| (k.clone(), v.clone())),
                    );
                if values.any(|(_, v)| !v.starts_with("ENC[")) {
                    f.at(
                        i,
                        format!(
                            "Secret `{}` holds its data in plain text (base64 is not encryption)",
                            r.name()
                        ),
                        "made here",
                    );
                }
            }
            Resource::HelmRelease(hr) => {
                let mut found = Vec::new();
                if let Some(v) = &hr.spec.values {
                    json_secrets(v, &mut String::new(), &mut found);
                }
                for path in found {
                    f.at(i, format!("the values of HelmRelease `{}` hold a credential in plain text at `{path}`", r.name()), "made here");
                }
            }
            _ => {}
        }
    }
    for w in &cx.workloads.workloads {
        env_secrets(cx, w, f);
    }
    for (object, doc) in &cx.ha_docs {
        let mut found = Vec::new();
        yaml_secrets(doc, &mut String::new(), &mut found);
        for path in found {
            f.at(
                *object,
                format!(
                    "Home Assistant's configuration holds a credential in plain text at `{path}`"
                ),
                "configured here",
            );
        }
    }
    for c in cx.configs("zigbee2mqtt") {
        let Some(doc) = yaml(&c.text) else { continue };
        if let Some(p) = lookup(&doc, "mqtt.password") {
            if secret_ref(p).is_none()
                && super::config::scalar(p).is_some_and(|s| literal_secret(&s))
            {
                f.at(
                    c.object,
                    "Zigbee2MQTT's `mqtt.password` is written in plain text",
                    "configured here",
                );
            }
        }
    }
}

fn env_secrets(cx: &Context, w: &Workload, f: &mut Findings) {
    for c in &w.containers {
        for (name, v) in &c.env {
            let EnvValue::Literal(value) = v else {
                continue;
            };
            let upper = name.to_ascii_uppercase();
            let credential_name = [
                "PASSWORD",
                "PASSWD",
                "SECRET",
                "TOKEN",
                "API_KEY",
                "APIKEY",
                "PRIVATE_KEY",
            ]
            .iter()
            .any(|s| upper.contains(s))
                && !upper.ends_with("_FILE")
                && !upper.ends_with("_PATH");
            if (credential_name && literal_secret(value)) || url_with_password(value) {
                f.at(
                    w.object,
                    format!(
                        "env `{name}` of container `{}` in {} is a credential in plain text",
                        c.name,
                        w.describe()
                    ),
                    "made here",
                )
                .path(container_path(cx, w, c, &format!("env[name={name}]")));
            }
        }
    }
}

fn json_secrets(v: &Value, path: &mut String, found: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                match child {
                    Value::String(s)
                        if (secret_key(k) && literal_secret(s)) || url_with_password(s) =>
                    {
                        found.push(path.clone());
                    }
                    // A literal `env` entry `{name: X_PASSWORD, value: ...}`.
                    Value::Array(items) if k == "env" => {
                        for item in items {
                            if let (Some(n), Some(Value::String(val))) =
                                (item.get("name").and_then(Value::as_str), item.get("value"))
                            {
                                if secret_key(n) && literal_secret(val) {
                                    found.push(format!("{path}[{n}]"));
                                }
                            }
                        }
                    }
                    // app-template container `env` maps are read through the workload view.
                    Value::Object(_) if k == "env" => {}
                    _ => json_secrets(child, path, found),
                }
                path.truncate(len);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                json_secrets(child, path, found);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn yaml_secrets(v: &Yaml, path: &mut String, found: &mut Vec<String>) {
    if let Yaml::Mapping(m) = v {
        for (k, child) in m {
            let Some(k) = k.as_str() else { continue };
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(k);
            match child {
                Yaml::String(s) if (secret_key(k) && literal_secret(s)) || url_with_password(s) => {
                    found.push(path.clone());
                }
                Yaml::Number(_) if secret_key(k) => found.push(path.clone()),
                _ => yaml_secrets(child, path, found),
            }
            path.truncate(len);
        }
    }
}

pub(super) static PRIVILEGED: Rule = Rule {
    id: "privileged",
    severity: Severity::Warning,
    summary: "No privileged container without a stated reason (`hapl.dev/privileged-reason`).",
    explanation: "A privileged container is root on the node: every device, every kernel \
        interface, every other pod's files. The Phase 0 repo ran Home Assistant privileged for \
        USB and Bluetooth; once Zigbee moves to Zigbee2MQTT with one mounted device, nothing \
        needs it. A compromised integration in a privileged pod owns the Pi. Where nothing \
        else works (a serial device mounted by hostPath gets no device-cgroup access without a \
        device plugin), the pod states why in `hapl.dev/privileged-reason`.",
    fix: "drop `privileged: true`; mount the one device the container needs and add only the \
        capabilities it needs, or annotate the pod `hapl.dev/privileged-reason: <why>`",
    check: privileged,
};

fn privileged(cx: &Context, f: &mut Findings) {
    for w in &cx.workloads.workloads {
        if w.annotation("hapl.dev/privileged-reason").is_some() {
            continue;
        }
        for c in w.containers.iter().filter(|c| c.privileged) {
            f.at(
                w.object,
                format!("container `{}` of {} runs privileged", c.name, w.describe()),
                "made here",
            )
            .path(container_path(cx, w, c, "securityContext.privileged"));
        }
    }
}

pub(super) static HOST_NETWORK: Rule = Rule {
    id: "host-network",
    severity: Severity::Warning,
    summary: "A workload on the host network states why (`hapl.dev/host-network-reason`).",
    explanation: "A pod on the host network binds the node's ports directly, sees all its \
        traffic and bypasses network policies; two such pods collide on a port and one \
        crash-loops. Some services need it (mDNS discovery for Home Assistant or Matter), but \
        it should be a decision on record, not a leftover.",
    fix: "remove `hostNetwork: true`, or annotate the workload `hapl.dev/host-network-reason: \
        <why>`",
    check: host_network,
};

fn host_network(cx: &Context, f: &mut Findings) {
    for w in cx.workloads.workloads.iter().filter(|w| w.host_network) {
        if w.annotation("hapl.dev/host-network-reason").is_none() {
            f.at(
                w.object,
                format!(
                    "{} uses the host network without a stated reason",
                    w.describe()
                ),
                "made here",
            )
            .path(pod_path(cx, w).map(|p| format!("{p}.hostNetwork")));
        }
    }
}

pub(super) static HOST_PORT_COLLISION: Rule = Rule {
    id: "host-port-collision",
    severity: Severity::Warning,
    summary: "No two pods on the node claim one host port.",
    explanation: "On a single node every hostNetwork pod and every hostPort shares the node's \
        ports. Two of them on one port (or a hostNetwork Deployment with two replicas, or a \
        rollout that starts the new pod first) leave one pod unable to bind, crash-looping \
        until the other goes.",
    fix: "move one of them off the host network, change its port, or run one replica with \
        `Recreate`",
    check: host_port_collision,
};

fn host_port_collision(cx: &Context, f: &mut Findings) {
    let mut claims: BTreeMap<(u16, String), Vec<&Workload>> = BTreeMap::new();
    for w in &cx.workloads.workloads {
        let mut ports: Vec<(u16, String)> = w
            .containers
            .iter()
            .flat_map(|c| &c.ports)
            .filter(|p| p.host)
            .map(|p| (p.port, p.protocol.clone()))
            .collect();
        ports.sort();
        ports.dedup();
        for p in ports {
            claims.entry(p).or_default().push(w);
        }
    }
    for ((port, proto), ws) in claims {
        let first = ws[0];
        for w in &ws[1..] {
            f.at(
                w.object,
                format!(
                    "{} binds host port {port}/{proto}, which {} binds too",
                    w.describe(),
                    first.describe()
                ),
                "made here",
            )
            .related(first.object, "the other claimant is made here");
        }
        let rolling = first.kind == crate::workload::WorkloadKind::Deployment
            && (first.replicas > 1 || first.strategy.as_deref() != Some("Recreate"));
        if ws.len() == 1 && rolling {
            f.at(
                first.object,
                format!("{} binds host port {port}/{proto} with {} replicas and the {} strategy: its pods collide", first.describe(), first.replicas, first.strategy.as_deref().unwrap_or("RollingUpdate")),
                "made here",
            );
        }
    }
}

pub(super) static HARDCODED_NAMESPACE: Rule = Rule {
    id: "hardcoded-namespace",
    severity: Severity::Warning,
    summary: "Charts and templates follow the namespace they are installed in.",
    explanation: "A namespace written into a chart template or forced by a value \
        (`namespaceOverride`) puts objects somewhere else than the release that owns them: \
        adopting the platform under another namespace layout then silently splits one service \
        across two namespaces, and Flux prunes or orphans the wrong half. The Phase 0 repo's \
        Home Assistant chart had `namespace: home-automation` in its Deployment template.",
    fix: "use `{{ .Release.Namespace }}` in templates and drop `namespaceOverride` values; \
        choose the namespace where the release is declared",
    check: hardcoded_namespace,
};

fn hardcoded_namespace(cx: &Context, f: &mut Findings) {
    for (i, r) in cx.resources.iter().enumerate() {
        let origin = &cx.platform.objects[i].origin.site.file;
        if origin.contains("/templates/") && r.namespace().is_some() {
            f.at(
                i,
                format!(
                    "{} `{}` has its namespace `{}` written into a chart template",
                    r.kind(),
                    r.name(),
                    r.namespace().unwrap_or_default()
                ),
                "written here",
            )
            .path("metadata.namespace".to_owned());
        }
        if let Resource::HelmRelease(hr) = r {
            let ns = hr
                .spec
                .target_namespace
                .as_deref()
                .or(r.namespace())
                .unwrap_or("default");
            let v =
                crate::workload::charts::Values(hr.spec.values.as_ref().unwrap_or(&Value::Null));
            for key in ["namespaceOverride", "global.namespaceOverride"] {
                if let Some(o) = v.str(key).filter(|o| o != ns) {
                    f.at(i, format!("HelmRelease `{}` forces its objects into namespace `{o}` (`{key}`), not its own `{ns}`", r.name()), "made here");
                }
            }
        }
    }
}

pub(super) static EOL_COMPONENT: Rule = Rule {
    id: "eol-component",
    severity: Severity::Warning,
    summary: "No component past (or within half a year of) its end of life.",
    explanation: "A component past its end of life gets no security fixes and, sooner or \
        later, breaks against the versions around it with nobody to fix it: Promtail reached \
        end of life on 2026-03-02 (Grafana Alloy replaces it), and PostgreSQL majors are \
        supported for five years. A platform meant to run for years should move before the \
        date, not after the breakage.",
    fix: "move to the successor (Promtail → Grafana Alloy) or a supported major version",
    check: eol_component,
};

/// (image repository suffix, tag major prefix or "" for any, end of life, successor).
const EOL: &[(&str, &str, Date, &str)] = &[
    (
        "grafana/promtail",
        "",
        Date::new(2026, 3, 2),
        "Grafana Alloy",
    ),
    ("postgres", "12", Date::new(2024, 11, 21), "PostgreSQL 17"),
    ("postgres", "13", Date::new(2025, 11, 13), "PostgreSQL 17"),
    ("postgres", "14", Date::new(2026, 11, 12), "PostgreSQL 17"),
    ("postgres", "15", Date::new(2027, 11, 11), "PostgreSQL 17"),
    ("postgresql", "14", Date::new(2026, 11, 12), "PostgreSQL 17"),
    ("postgresql", "15", Date::new(2027, 11, 11), "PostgreSQL 17"),
];

fn eol_component(cx: &Context, f: &mut Findings) {
    let today = cx.settings.today;
    let soon = Date::from_unix_days(unix_days(today) + 183);
    for w in &cx.workloads.workloads {
        for c in &w.containers {
            let repo = image_repository(&c.image);
            let (tag, _) = image_tag(&c.image);
            let major: String = tag.chars().take_while(char::is_ascii_digit).collect();
            for (suffix, m, date, successor) in EOL {
                let repo_matches = repo == *suffix || repo.ends_with(&format!("/{suffix}"));
                if !repo_matches || (!m.is_empty() && major != *m) || *date > soon {
                    continue;
                }
                let when = if *date <= today { "reached" } else { "reaches" };
                let what = if m.is_empty() {
                    repo.to_owned()
                } else {
                    format!("{repo} {m}")
                };
                f.at(
                    w.object,
                    format!("`{what}` (container `{}` of {}) {when} end of life on {date}; move to {successor}", c.name, w.describe()),
                    "made here",
                )
                .path(container_path(cx, w, c, "image"));
            }
        }
    }
}

fn unix_days(d: Date) -> i64 {
    // Inverse of Date::from_unix_days (days-from-civil).
    let y = i64::from(d.year) - i64::from(d.month <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(d.month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d.day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(super) static UNKNOWN_CHART: Rule = Rule {
    id: "unknown-chart",
    severity: Severity::Warning,
    summary: "Every HelmRelease's workloads are inspected; a chart hapl cannot read is named.",
    explanation: "hapl reads the values of the charts the standard library uses (app-template, \
        Bitnami postgresql, influxdb2, loki, grafana, prometheus, alloy, promtail) into the same workload view as \
        plain Deployments, and trusts the infrastructure charts its modules configure \
        completely. For any other chart it cannot see the containers, volumes, resources or \
        images the release creates, so every other rule is blind to them: this warning says so \
        instead of passing in silence.",
    fix: "deploy the service with the bjw-s app-template chart (whose values hapl reads), or \
        except the release with a reason after checking its values by hand",
    check: unknown_chart,
};

fn unknown_chart(cx: &Context, f: &mut Findings) {
    for u in &cx.workloads.uninspected {
        f.at(
            u.object,
            format!(
                "the workloads of HelmRelease `{}` (chart `{}`) were not inspected: {}",
                cx.resources[u.object].name(),
                u.chart,
                u.why
            ),
            "made here",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_keys_and_urls() {
        for k in [
            "password",
            "adminPassword",
            "postgres-password",
            "api_key",
            "token",
            "clientSecret",
        ] {
            assert!(secret_key(k), "{k}");
        }
        for k in [
            "existingSecret",
            "passwordKey",
            "secretName",
            "tokenSecretName",
            "user",
        ] {
            assert!(!secret_key(k), "{k}");
        }
        assert!(url_with_password("postgresql://ha:hunter2@db/ha"));
        assert!(!url_with_password("postgresql://ha@db/ha"));
        assert!(!url_with_password("https://example.org"));
    }

    #[test]
    fn days_round_trip() {
        for n in [0, 11_016, 20_514, 30_000] {
            assert_eq!(unix_days(Date::from_unix_days(n)), n);
        }
    }
}
