//! Home Assistant itself: its recorder, no Supervisor, Matter beside it, the proxy in front.

use serde_yaml::Value as Yaml;

use super::config::{lookup, scalar, secret_ref};
use super::{container_path, Context, Findings, Rule};
use crate::diagnostic::Severity;
use crate::resource::Resource;
use crate::workload::{image_repository, role_of_image, VolumeSource};

pub(super) static NO_SQLITE_RECORDER: Rule = Rule {
    id: "no-sqlite-recorder",
    severity: Severity::Error,
    summary: "Home Assistant's recorder never writes to SQLite.",
    explanation: "The recorder writes every state change. With a `sqlite://` URL it writes one \
        database file on the config volume, which here is NFS: SQLite's locking does not hold \
        over NFS, and a power cut or a second pod during a rollout corrupts the file, taking the \
        whole history with it. The seed's Critical Rules forbid SQLite outright; PostgreSQL in \
        the `datastore` namespace holds the recorder instead.",
    fix: "set `recorder.db_url: !secret recorder_db_url` in the Home Assistant package and put a \
        `postgresql://...` URL for the platform's PostgreSQL in that secret",
    check: no_sqlite_recorder,
};

fn no_sqlite_recorder(cx: &Context, f: &mut Findings) {
    for (object, doc) in &cx.ha_docs {
        if let Some(url) = lookup(doc, "recorder.db_url").and_then(scalar) {
            if url.trim_start().to_ascii_lowercase().starts_with("sqlite") {
                f.at(
                    *object,
                    format!("Home Assistant's recorder writes to SQLite: `{url}`"),
                    "the recorder configuration comes from here",
                )
                .path(cx.text_path(*object, "recorder.db_url"));
            }
        }
    }
}

pub(super) static RECORDER_ON_POSTGRES: Rule = Rule {
    id: "recorder-on-postgres",
    severity: Severity::Error,
    summary: "With Home Assistant present, its recorder points at the platform's PostgreSQL \
        through a secret.",
    explanation: "Home Assistant without a `recorder.db_url` silently records into SQLite in \
        its config folder, which is exactly what `no-sqlite-recorder` forbids. The URL carries \
        the database password, so it belongs in a secret (`!secret`), never in the \
        configuration text; and it must lead to the PostgreSQL the platform runs (NAS-backed, \
        backed up, restore-tested), not to a database nobody checks.",
    fix: "configure `recorder.db_url: !secret <key>` in the Home Assistant package, keep the \
        URL in a SealedSecret, and run PostgreSQL in the platform (`datastore` namespace)",
    check: recorder_on_postgres,
};

fn recorder_on_postgres(cx: &Context, f: &mut Findings) {
    let Some(ha) = cx.role("home-assistant").next() else {
        return;
    };
    let urls: Vec<(usize, &Yaml)> = cx
        .ha_docs
        .iter()
        .filter_map(|(o, d)| Some((*o, lookup(d, "recorder.db_url")?)))
        .collect();
    if urls.is_empty() {
        f.at(
            ha.object,
            format!(
                "{} has no recorder `db_url`: Home Assistant then records into SQLite",
                ha.describe()
            ),
            "Home Assistant is made here",
        );
        return;
    }
    let postgres = cx.role("postgresql").next();
    for (object, url) in urls {
        match secret_ref(url) {
            Some(key) if postgres.is_none() => {
                f.at(
                    object,
                    format!("the recorder URL comes from secret `{key}`, but the platform runs no PostgreSQL"),
                    "the recorder is configured here",
                );
            }
            Some(_) => {}
            None => {
                let text = scalar(url).unwrap_or_default();
                if text.to_ascii_lowercase().starts_with("sqlite") && postgres.is_none() {
                    f.at(
                        ha.object,
                        format!(
                            "the platform runs no PostgreSQL for the recorder of {}",
                            ha.describe()
                        ),
                        "Home Assistant is made here",
                    );
                } else if !text.to_ascii_lowercase().starts_with("sqlite") {
                    f.at(
                        object,
                        "the recorder URL is written into the configuration instead of `!secret <key>`",
                        "the recorder is configured here",
                    );
                }
            }
        }
    }
}

pub(super) static RECORDER_RETENTION: Rule = Rule {
    id: "recorder-retention",
    severity: Severity::Warning,
    summary: "The recorder keeps 30 to 90 days of history in PostgreSQL.",
    explanation: "The seed splits history in two: PostgreSQL holds short and medium-term \
        history (30 to 90 days), InfluxDB holds years. Home Assistant's default \
        `purge_keep_days` is 10, which loses the month-on-month view; much more than 90 days \
        makes the recorder database large and slow on a Raspberry Pi, and duplicates what \
        InfluxDB keeps anyway.",
    fix: "set `recorder.purge_keep_days` between 30 and 90 (e.g. 30) in the Home Assistant \
        package",
    check: recorder_retention,
};

fn recorder_retention(cx: &Context, f: &mut Findings) {
    for (object, doc) in &cx.ha_docs {
        if lookup(doc, "recorder").is_none() {
            continue;
        }
        let days = lookup(doc, "recorder.purge_keep_days").and_then(scalar);
        let n = days.as_deref().map_or(Some(10), |d| d.parse::<i64>().ok());
        let msg = match n {
            Some(n) if (30..=90).contains(&n) => continue,
            Some(n) if days.is_none() => {
                format!("the recorder keeps Home Assistant's default of {n} days of history")
            }
            Some(n) => format!("the recorder keeps {n} days of history, outside 30 to 90"),
            None => format!(
                "`recorder.purge_keep_days` is `{}`, not a number of days",
                days.unwrap_or_default()
            ),
        };
        f.at(*object, msg, "the recorder is configured here")
            .path(cx.text_path(*object, "recorder.purge_keep_days"));
    }
}

pub(super) static NO_SUPERVISOR: Rule = Rule {
    id: "no-supervisor",
    severity: Severity::Error,
    summary: "No Home Assistant OS, Supervisor or add-ons: Home Assistant Core only.",
    explanation: "The Supervisor manages Docker containers on its own host and assumes it owns \
        the machine: it installs add-ons, updates itself and Home Assistant outside git, and \
        needs the Docker socket. On Kubernetes that is a second, invisible orchestrator whose \
        changes Flux cannot see or roll back, and add-ons escape every rule here (storage, \
        resources, pinning). The seed's Critical Rules allow Home Assistant Core in a container \
        only; what add-ons did runs as ordinary workloads of the platform.",
    fix: "run the `ghcr.io/home-assistant/home-assistant` Core image, remove Supervisor and \
        add-on images, the `hassio:` configuration and any Docker socket mount, and deploy the \
        add-on's service (Mosquitto, Zigbee2MQTT, ...) as its own workload",
    check: no_supervisor,
};

const SUPERVISOR_IMAGES: &[&str] = &[
    "hassio-supervisor",
    "hassio-observer",
    "hassio-dns",
    "hassio-audio",
    "hassio-cli",
    "hassio-multicast",
    "-addon-",
    "hassio-addons/",
    "home-assistant-os",
];

fn no_supervisor(cx: &Context, f: &mut Findings) {
    for w in &cx.workloads.workloads {
        for c in &w.containers {
            let repo = image_repository(&c.image);
            if SUPERVISOR_IMAGES.iter().any(|s| repo.contains(s)) {
                f.at(
                    w.object,
                    format!(
                        "container `{}` of {} runs `{repo}`, a Supervisor or add-on image",
                        c.name,
                        w.describe()
                    ),
                    "made here",
                );
            }
        }
        if w.role() != Some("home-assistant") {
            continue;
        }
        for v in &w.volumes {
            if let VolumeSource::HostPath(p) = &v.source {
                if p.ends_with("docker.sock") {
                    f.at(
                        w.object,
                        format!(
                            "{} mounts the Docker socket `{p}`, which only the Supervisor needs",
                            w.describe()
                        ),
                        "made here",
                    );
                }
            }
        }
        for c in &w.containers {
            for (name, _) in &c.env {
                if matches!(
                    name.as_str(),
                    "SUPERVISOR" | "SUPERVISOR_TOKEN" | "HASSIO_TOKEN"
                ) {
                    f.at(
                        w.object,
                        format!(
                            "container `{}` of {} sets `{name}`, a Supervisor setting",
                            c.name,
                            w.describe()
                        ),
                        "made here",
                    );
                }
            }
        }
    }
    for (object, doc) in &cx.ha_docs {
        if let Some(key) = ["hassio", "supervisor"]
            .into_iter()
            .find(|k| lookup(doc, k).is_some())
        {
            f.at(
                *object,
                format!(
                    "the Home Assistant configuration enables `{key}:`, the Supervisor integration"
                ),
                "the configuration comes from here",
            );
        }
    }
}

pub(super) static MATTER_ISOLATED: Rule = Rule {
    id: "matter-isolated",
    severity: Severity::Error,
    summary: "The Matter server runs in its own workload, marked experimental, that nothing \
        depends on.",
    explanation: "A container in Home Assistant's pod shares its fate: when the Matter server \
        crashes, runs out of memory or hangs at start, the whole pod restarts and Home \
        Assistant with it. The seed runs Matter isolated in its own pod, marked experimental \
        (`hapl.dev/experimental: \"true\"`), and easy to switch off completely: so nothing may \
        wait for it (`dependsOn`), or switching it off would stall the rest.",
    fix: "move the Matter server into its own workload (the stdlib's `matter_experimental` \
        module does), annotate it `hapl.dev/experimental: \"true\"`, and remove any `dependsOn` \
        that names it",
    check: matter_isolated,
};

fn matter_isolated(cx: &Context, f: &mut Findings) {
    let mut matter_objects = Vec::new();
    for w in &cx.workloads.workloads {
        let matter: Vec<_> = w
            .containers
            .iter()
            .filter(|c| role_of_image(&c.image) == Some("matter-server"))
            .collect();
        if matter.is_empty() && w.role() != Some("matter-server") {
            continue;
        }
        let with_ha = w.role() == Some("home-assistant")
            || w.containers
                .iter()
                .any(|c| role_of_image(&c.image) == Some("home-assistant"));
        if with_ha {
            for c in matter {
                f.at(
                    w.object,
                    format!(
                        "the Matter server (container `{}`) runs inside Home Assistant's pod ({})",
                        c.name,
                        w.describe()
                    ),
                    "made here",
                )
                .path(container_path(cx, w, c, ""));
            }
            continue;
        }
        matter_objects.push((w.object, w.name.clone()));
        if w.annotation("hapl.dev/experimental") != Some("true") {
            f.at(
                w.object,
                format!(
                    "the Matter server {} is not marked `hapl.dev/experimental: \"true\"`",
                    w.describe()
                ),
                "made here",
            );
        }
    }
    for (i, r) in cx.resources.iter().enumerate() {
        let deps = match r {
            Resource::HelmRelease(hr) => &hr.spec.depends_on,
            Resource::FluxKustomization(k) => &k.spec.depends_on,
            _ => continue,
        };
        for d in deps {
            if let Some((m, _)) = matter_objects
                .iter()
                .find(|(m, name)| *name == d.name && cx.resources[*m].kind() == r.kind())
            {
                f.at(
                    i,
                    format!(
                        "{} `{}` waits for the Matter server `{}` (`dependsOn`)",
                        r.kind(),
                        r.name(),
                        d.name
                    ),
                    "made here",
                )
                .related(*m, "the Matter server is made here");
            }
        }
    }
}

pub(super) static PROXY_TRUST: Rule = Rule {
    id: "proxy-trust",
    severity: Severity::Warning,
    summary: "Home Assistant behind an ingress trusts that proxy (`use_x_forwarded_for`, \
        `trusted_proxies`).",
    explanation: "Behind a reverse proxy Home Assistant sees every request coming from the \
        ingress controller. Without `http.use_x_forwarded_for: true` and the controller's \
        network in `http.trusted_proxies`, Home Assistant rejects proxied requests with 400 \
        errors, and its login ban (`ip_ban_enabled`) bans the proxy itself, locking everybody \
        out after a few failed logins.",
    fix: "set `http.use_x_forwarded_for: true` and `http.trusted_proxies` to the pod network \
        of the ingress controller (k3s: `10.42.0.0/16`) in the Home Assistant package",
    check: proxy_trust,
};

fn proxy_trust(cx: &Context, f: &mut Findings) {
    let ha: Vec<_> = cx.role("home-assistant").collect();
    if ha.is_empty() {
        return;
    }
    let trusted = cx.ha_docs.iter().any(|(_, d)| {
        let forwarded = lookup(d, "http.use_x_forwarded_for").and_then(Yaml::as_bool) == Some(true);
        let proxies = lookup(d, "http.trusted_proxies").is_some_and(|p| match p {
            Yaml::Sequence(s) => !s.is_empty() && s.iter().filter_map(scalar).all(|e| is_cidr(&e)),
            other => scalar(other).is_some_and(|e| is_cidr(&e)),
        });
        forwarded && proxies
    });
    if trusted {
        return;
    }
    for (i, r) in cx.resources.iter().enumerate() {
        let routes_to_ha = match r {
            Resource::Ingress(ing) => ha.iter().any(|w| {
                r.namespace().unwrap_or("default") == w.namespace
                    && ing.spec.iter().any(|s| {
                        let backends = s
                            .rules
                            .iter()
                            .flatten()
                            .filter_map(|r| r.http.as_ref())
                            .flat_map(|h| &h.paths)
                            .map(|p| &p.backend)
                            .chain(s.default_backend.as_ref());
                        backends.into_iter().any(|b| {
                            b.service.as_ref().is_some_and(|svc| {
                                svc.name.starts_with(&w.name) || w.name.starts_with(&svc.name)
                            })
                        })
                    })
            }),
            Resource::HelmRelease(hr) => {
                ha.iter().any(|w| w.object == i)
                    && hr.spec.values.as_ref().is_some_and(|v| {
                        v.get("ingress")
                            .and_then(|i| i.as_object())
                            .is_some_and(|m| {
                                m.values().any(|ing| {
                                    ing.get("enabled").and_then(|e| e.as_bool()) != Some(false)
                                }) || m.get("enabled").and_then(|e| e.as_bool()) == Some(true)
                            })
                    })
            }
            _ => false,
        };
        if routes_to_ha {
            let f = f.at(
                i,
                format!("{} `{}` puts Home Assistant behind a proxy it does not trust (no `http.use_x_forwarded_for: true` with `http.trusted_proxies`)", r.kind(), r.name()),
                "the ingress is made here",
            );
            if let Some((o, _)) = cx.ha_docs.first() {
                f.related(*o, "Home Assistant's configuration");
            }
        }
    }
}

fn is_cidr(s: &str) -> bool {
    let (addr, bits) = s.split_once('/').unwrap_or((s, "32"));
    addr.parse::<std::net::IpAddr>().is_ok() && bits.parse::<u8>().is_ok_and(|b| b <= 128)
}
