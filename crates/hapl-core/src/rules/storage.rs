//! State: where it lives, that it survives restarts and power loss, that it is backed up, and
//! that it fits.

use serde_json::Value;

use super::charts_values;
use super::config::{
    human_hours, is_off, last, lookup, parse_duration_hours, postgresql_conf, scalar, yaml,
};
use super::{container_path, plural, Context, Findings, Rule};
use crate::diagnostic::Severity;
use crate::platform::ObjectRef;
use crate::quantity::parse_quantity;
use crate::resource::Resource;
use crate::workload::{EnvValue, VolumeSource, Workload, WorkloadKind};

/// Roles whose data must survive anything.
const STATEFUL_ROLES: &[&str] = &[
    "home-assistant",
    "postgresql",
    "influxdb",
    "mosquitto",
    "zigbee2mqtt",
    "matter-server",
    "loki",
    "prometheus",
    "grafana",
];

/// Mount paths that hold scratch data or host plumbing, never state.
fn scratch(path: &str) -> bool {
    [
        "/tmp",
        "/dev",
        "/run",
        "/var/run",
        "/sys",
        "/proc",
        "/etc/localtime",
        "/etc/timezone",
    ]
    .iter()
    .any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

pub(super) static NAS_BACKED_STATE: Rule = Rule {
    id: "nas-backed-state",
    severity: Severity::Error,
    summary: "Every stateful workload keeps its state on NAS-backed volumes; no emptyDir, \
        hostPath or local-path for state.",
    explanation: "An emptyDir disappears with its pod; hostPath and local-path volumes live on \
        the Pi's own disk, which is neither snapshotted nor backed up and dies with the SSD or \
        the SD card. The seed keeps every byte of state on the NAS over NFS, where snapshots \
        and backups cover it and a replacement Pi finds it again. This rule looks at the \
        volumes of stateful services (Home Assistant, PostgreSQL, InfluxDB, Mosquitto, \
        Zigbee2MQTT, Matter, Loki, Prometheus, Grafana) and at every PersistentVolumeClaim.",
    fix: "put the data on a claim of the NAS class (`nas_pvc::pvc`) or a chart's persistence \
        with that class, and mount it where the service keeps its state",
    check: nas_backed_state,
};

fn nas_backed_state(cx: &Context, f: &mut Findings) {
    for (i, r) in cx.resources.iter().enumerate() {
        if let Resource::PersistentVolumeClaim(pvc) = r {
            let spec = pvc.spec.as_ref();
            if spec.and_then(|s| s.volume_name.as_ref()).is_some() {
                continue;
            }
            let (nas, class) = cx.class_on_nas(spec.and_then(|s| s.storage_class_name.as_deref()));
            if nas == Some(false) {
                let finding = f
                    .at(
                        i,
                        format!(
                            "claim `{}` is on `{class}`, the node's own disk, not the NAS",
                            r.name()
                        ),
                        "made here",
                    )
                    .path("spec.storageClassName".to_owned());
                if let Some((c, _)) = cx
                    .storage_classes()
                    .find(|(_, sc)| sc.metadata.name.as_deref() == Some(class.as_str()))
                {
                    finding.related_field(
                        c,
                        Some("provisioner".into()),
                        "the class writes to the node's disk here",
                    );
                }
            }
        }
    }
    for w in &cx.workloads.workloads {
        // Jobs and CronJobs keep scratch data; what they produce is checked where it lands.
        let stateful = w.long_running() && w.role().is_some_and(|r| STATEFUL_ROLES.contains(&r));
        let mut on_nas = false;
        let mut problems = Vec::new();
        for v in &w.volumes {
            let paths: Vec<&str> = w
                .containers
                .iter()
                .filter(|c| !c.init)
                .flat_map(|c| &c.mounts)
                .filter(|(name, _)| *name == v.name)
                .map(|(_, p)| p.as_str())
                .collect();
            let state_paths: Vec<&str> = paths.iter().copied().filter(|p| !scratch(p)).collect();
            match &v.source {
                VolumeSource::Pvc(_) | VolumeSource::NewClaim(_) | VolumeSource::Nfs { .. } => {
                    let (nas, what) = cx.volume_on_nas(w, &v.source);
                    match nas {
                        Some(true) => on_nas = true,
                        // A declared claim on a local class is reported at the claim.
                        Some(false) if matches!(v.source, VolumeSource::Pvc(_)) => {}
                        Some(false) => {
                            problems.push(format!("`{}` is {what}, on the node's own disk", v.name))
                        }
                        None => problems.push(format!(
                            "`{}` is {what}; hapl cannot tell that it is on the NAS",
                            v.name
                        )),
                    }
                }
                VolumeSource::EmptyDir | VolumeSource::HostPath(_)
                    if stateful && !state_paths.is_empty() && v.device().is_none() =>
                {
                    let (_, what) = cx.volume_on_nas(w, &v.source);
                    problems.push(format!(
                        "`{}` at `{}` is {what}",
                        v.name,
                        state_paths.join("`, `")
                    ));
                }
                _ => {}
            }
        }
        for p in problems {
            f.at(
                w.object,
                format!("{} keeps state off the NAS: {p}", w.describe()),
                "made here",
            );
        }
        if stateful && !on_nas {
            f.at(
                w.object,
                format!(
                    "{} ({}) has no NAS-backed volume for its state",
                    w.describe(),
                    w.role().unwrap_or_default()
                ),
                "made here",
            );
        }
    }
}

pub(super) static SINGLE_DEFAULT_STORAGECLASS: Rule = Rule {
    id: "single-default-storageclass",
    severity: Severity::Error,
    summary: "Exactly one StorageClass is the cluster's default.",
    explanation: "A claim without `storageClassName` gets the default class. With two defaults \
        Kubernetes picks one of them (the newest), so a claim meant for the NAS can land on \
        the node's SSD without anyone noticing until the data is gone; with none (and k3s's own \
        local-path class disabled) such a claim stays Pending. The Phase 0 assessment found two \
        defaults; the NAS class is meant to be the only one.",
    fix: "keep `storageclass.kubernetes.io/is-default-class: \"true\"` on the NAS class only \
        (start k3s with `--disable local-storage` or un-default `local-path`)",
    check: single_default_storageclass,
};

const DEFAULT_ANNOTATION: &str =
    "metadata.annotations[\"storageclass.kubernetes.io/is-default-class\"]";

fn single_default_storageclass(cx: &Context, f: &mut Findings) {
    let defaults = cx.default_classes();
    if let Some(((first, _), rest)) = defaults.split_first() {
        for (i, sc) in rest {
            f.at(
                *i,
                format!(
                    "StorageClass `{}` is a second default class",
                    sc.metadata.name.as_deref().unwrap_or_default()
                ),
                "made here",
            )
            .path(DEFAULT_ANNOTATION.to_owned())
            .related_field(
                *first,
                Some(DEFAULT_ANNOTATION.into()),
                "the first default class is made here",
            );
        }
    } else if let Some((i, _)) = cx.storage_classes().next() {
        f.at(
            i,
            "no StorageClass of the platform is the default: claims without a class land on k3s's local-path",
            "made here",
        );
    }
}

pub(super) static RESTART_SAFE: Rule = Rule {
    id: "restart-safe",
    severity: Severity::Error,
    summary: "A ReadWriteOnce volume means one replica with Recreate (or a StatefulSet); \
        long-running services have liveness and readiness probes.",
    explanation: "On a single node a ReadWriteOnce claim does not stop two pods from mounting \
        it: a RollingUpdate starts the new pod while the old one still writes, and two \
        database processes on one data directory corrupt it. Recreate (or a StatefulSet) stops \
        the old pod first. Without a liveness probe a hung service stays hung after a NAS \
        hiccup; without a readiness probe traffic reaches it before it can serve, so restarts \
        after a power cut look like outages.",
    fix: "use `replicas: 1` with `strategy: Recreate` (or a StatefulSet) for workloads with \
        ReadWriteOnce volumes, and give every long-running container liveness and readiness \
        probes",
    check: restart_safe,
};

fn rwo(cx: &Context, w: &Workload, source: &VolumeSource) -> bool {
    match source {
        VolumeSource::Pvc(claim) => cx.pvc(&w.namespace, claim).is_some_and(|(_, p)| {
            p.spec
                .as_ref()
                .and_then(|s| s.access_modes.as_ref())
                .is_none_or(|m| {
                    m.iter()
                        .any(|m| m == "ReadWriteOnce" || m == "ReadWriteOncePod")
                })
        }),
        VolumeSource::NewClaim(c) => c.read_write_once,
        _ => false,
    }
}

fn restart_safe(cx: &Context, f: &mut Findings) {
    for w in &cx.workloads.workloads {
        if !w.long_running() {
            continue;
        }
        let rwo_volume = w.volumes.iter().find(|v| rwo(cx, w, &v.source));
        if let Some(v) = rwo_volume {
            let unsafe_rollout = match w.kind {
                WorkloadKind::Deployment => {
                    w.replicas > 1 || w.strategy.as_deref() != Some("Recreate")
                }
                WorkloadKind::DaemonSet => true,
                _ => false,
            };
            if unsafe_rollout
                && !matches!(v.source, VolumeSource::NewClaim(_) if w.kind == WorkloadKind::StatefulSet)
            {
                f.at(
                    w.object,
                    format!(
                        "{} mounts the ReadWriteOnce volume `{}` with {} and the {} strategy: two pods write it during a rollout",
                        w.describe(),
                        v.name,
                        plural(w.replicas.max(1) as usize, "replica"),
                        w.strategy.as_deref().unwrap_or("DaemonSet")
                    ),
                    "made here",
                );
            }
        }
        for c in w.containers.iter().filter(|c| !c.init && !c.sidecar) {
            let missing: Vec<&str> = [("liveness", c.liveness), ("readiness", c.readiness)]
                .into_iter()
                .filter(|(_, has)| !has)
                .map(|(p, _)| p)
                .collect();
            if !missing.is_empty() {
                f.at(
                    w.object,
                    format!(
                        "container `{}` of {} has no {} probe",
                        c.name,
                        w.describe(),
                        missing.join(" or ")
                    ),
                    "made here",
                )
                .path(container_path(cx, w, c, ""));
            }
        }
    }
}

pub(super) static POWER_LOSS_SAFE: Rule = Rule {
    id: "power-loss-safe",
    severity: Severity::Error,
    summary: "PostgreSQL never runs with fsync, full_page_writes or synchronous_commit off; \
        Mosquitto persists; Loki keeps its WAL.",
    explanation: "A Raspberry Pi loses power more often than a server. PostgreSQL with `fsync` \
        or `full_page_writes` off can corrupt its whole cluster on a power cut, and with \
        `synchronous_commit` off it acknowledges commits it then loses. Mosquitto without \
        `persistence true` forgets retained messages (device states, Zigbee2MQTT's bridge \
        state) and queued messages on every restart. Loki without its write-ahead log loses \
        the logs it had not flushed, exactly the ones that explain the crash.",
    fix: "leave fsync, full_page_writes and synchronous_commit on in postgresql.conf; set \
        `persistence true` with `persistence_location` on the NAS volume in mosquitto.conf; do \
        not set `loki.ingester.wal.enabled: false`",
    check: power_loss_safe,
};

const PG_SAFETY: &[&str] = &["fsync", "full_page_writes", "synchronous_commit"];

fn power_loss_safe(cx: &Context, f: &mut Findings) {
    for c in cx.configs("postgresql") {
        let conf = postgresql_conf(&c.text);
        for key in PG_SAFETY {
            if last(&conf, key).is_some_and(is_off) {
                f.at(
                    c.object,
                    format!("postgresql.conf turns `{key}` off"),
                    "configured here",
                );
            }
        }
    }
    for w in cx.role("postgresql") {
        for c in &w.containers {
            for arg in &c.args {
                let setting = arg.trim_start_matches("-c").trim();
                if let Some((k, v)) = setting.split_once('=') {
                    if PG_SAFETY.contains(&k.trim()) && is_off(v.trim()) {
                        f.at(
                            w.object,
                            format!(
                                "container `{}` of {} runs PostgreSQL with `{}`",
                                c.name,
                                w.describe(),
                                setting
                            ),
                            "made here",
                        );
                    }
                }
            }
        }
    }
    let mosquitto: Vec<_> = cx.configs("mosquitto").collect();
    for c in &mosquitto {
        let conf = super::config::mosquitto_conf(&c.text);
        if last(&conf, "persistence") != Some("true") {
            f.at(c.object, "mosquitto.conf does not set `persistence true`: retained and queued messages are lost on restart", "configured here");
        }
    }
    if mosquitto.is_empty() {
        for w in cx.role("mosquitto") {
            f.at(
                w.object,
                format!("{} runs Mosquitto with no mosquitto.conf in the platform: its default is `persistence false`", w.describe()),
                "made here",
            );
        }
    }
    for (i, v) in charts_values(cx, "loki") {
        for path in [
            "loki.ingester.wal.enabled",
            "loki.structuredConfig.ingester.wal.enabled",
        ] {
            if v.get(path).and_then(Value::as_bool) == Some(false) {
                f.at(
                    i,
                    format!("Loki's write-ahead log is off (`{path}: false`)"),
                    "made here",
                );
            }
        }
    }
    for c in cx.configs("loki") {
        if yaml(&c.text).and_then(|d| lookup(&d, "ingester.wal.enabled").and_then(|v| v.as_bool()))
            == Some(false)
        {
            f.at(
                c.object,
                "Loki's write-ahead log is off (`ingester.wal.enabled: false`)",
                "configured here",
            );
        }
    }
}

pub(super) static BACKUP_COVERAGE: Rule = Rule {
    id: "backup-coverage",
    severity: Severity::Error,
    summary: "Home Assistant's config, PostgreSQL, InfluxDB and Zigbee2MQTT's state each have a \
        backup and a restore test.",
    explanation: "NAS snapshots protect against a dead Pi, not against a corrupted database \
        being snapshotted every hour, a mistaken delete, or the NAS itself. Each of the four \
        stores the seed names needs its own backup (a CronJob labelled `hapl.dev/backup-of: \
        <role>`), and a backup nobody restored is a hope: each needs a restore test too (a Job \
        or CronJob labelled `hapl.dev/restore-test-of: <role>`) that proves the dump loads.",
    fix: "add a backup CronJob and a restore-test Job for the service (the stdlib's backup \
        module makes both), labelled `hapl.dev/backup-of` and `hapl.dev/restore-test-of`",
    check: backup_coverage,
};

fn backup_coverage(cx: &Context, f: &mut Findings) {
    let labelled = |key: &str, role: &str| {
        cx.workloads
            .workloads
            .iter()
            .any(|w| !w.long_running() && w.annotation(key) == Some(role))
            || (0..cx.resources.len()).any(|i| cx.label(i, key) == Some(role))
    };
    for role in ["home-assistant", "postgresql", "influxdb", "zigbee2mqtt"] {
        let Some(w) = cx.role(role).find(|w| w.long_running()) else {
            continue;
        };
        for (key, what) in [
            ("hapl.dev/backup-of", "backup"),
            ("hapl.dev/restore-test-of", "restore test"),
        ] {
            if !labelled(key, role) {
                f.at(
                    w.object,
                    format!(
                        "{} ({role}) has no {what} (nothing labelled `{key}: {role}`)",
                        w.describe()
                    ),
                    "made here",
                );
            }
        }
    }
}

pub(super) static DATA_CONTINUITY: Rule = Rule {
    id: "data-continuity",
    severity: Severity::Error,
    summary: "No plan deletes or replaces a volume that holds data unless the script states a \
        migration.",
    explanation: "A PersistentVolumeClaim is years of Home Assistant configuration, metrics \
        and logs. Deleting one, or changing what Kubernetes cannot change in place (its storage \
        class, access modes, volume, a smaller size) or a StatefulSet's volume claim templates, \
        makes Flux delete and recreate it: with a `Delete` reclaim policy the data is gone, \
        with `Retain` it is orphaned on a volume nothing mounts. Adopting a repository means \
        keeping its claims by name. `hapl plan` compares the plan with what the repository \
        holds and refuses (exit 1) any deletion or replacement of a claim, a volume or a \
        StatefulSet's claim templates that the script does not declare as a migration \
        (`p.migrate(\"PersistentVolumeClaim/ns/old\", #{ to: \"PersistentVolumeClaim/ns/new\", \
        reason: \"...\" })`). `hapl check` checks the migrations themselves: each moves data to \
        an object the script declares, away from one it no longer declares.",
    fix: "keep the existing claim (modules take its name, e.g. `config_claim`, `existing_claim`) \
        and its storage class, access modes and size; or, when the data really moves, copy it \
        and state it with `p.migrate(from, #{ to, reason })`",
    check: data_continuity,
};

fn data_continuity(cx: &Context, f: &mut Findings) {
    let declared: Vec<ObjectRef> = cx
        .platform
        .objects
        .iter()
        .map(|o| ObjectRef::of(&o.resource))
        .collect();
    for m in &cx.platform.migrations {
        let at = &m.origin.site;
        if !declared.contains(&m.to) {
            f.platform(format!(
                "the migration at {at} moves {} to {}, which the script does not declare",
                m.from, m.to
            ));
        }
        if declared.contains(&m.from) {
            f.platform(format!(
                "the migration at {at} moves the data away from {}, which the script still declares",
                m.from
            ));
        }
    }
}

pub(super) static INFLUX_RETENTION: Rule = Rule {
    id: "influx-retention",
    severity: Severity::Error,
    summary: "InfluxDB keeps metrics for years, with a shard group duration a Pi handles.",
    explanation: "Long-term metrics are the reason InfluxDB is there: energy, climate and \
        presence history over years. A retention of days (the Phase 0 repo had `30d`) deletes \
        them for good, silently, every day. InfluxDB splits data into shard groups; shards that \
        are too short mean thousands of files and open handles on a Pi, too long make every \
        compaction and deletion huge. hapl wants a retention of at least two years (or \
        infinite, `0s`) and a shard group duration (annotation \
        `hapl.dev/influx-shard-group-duration`, default 7d) between 7 and 90 days.",
    fix: "set `adminUser.retention_policy` to years (e.g. \"43800h\" for five years, or \"0s\" \
        for infinite) and a shard group duration such as \"30d\"",
    check: influx_retention,
};

const MIN_RETENTION_HOURS: f64 = 2.0 * 8760.0;
const SHARD_ANNOTATION: &str = "hapl.dev/influx-shard-group-duration";

/// InfluxDB's retention for a workload: from the influxdb2 chart values or the image's
/// `DOCKER_INFLUXDB_INIT_RETENTION`. `None` when not set (InfluxDB's default is infinite).
fn influx_retention_of(cx: &Context, w: &Workload) -> Option<String> {
    if w.chart.as_deref() == Some("influxdb2") {
        if let Resource::HelmRelease(hr) = cx.resources[w.object] {
            return hr
                .spec
                .values
                .as_ref()
                .and_then(|v| charts_values_str(v, "adminUser.retention_policy"));
        }
    }
    w.containers
        .iter()
        .flat_map(|c| &c.env)
        .find_map(|(k, v)| match v {
            EnvValue::Literal(s) if k == "DOCKER_INFLUXDB_INIT_RETENTION" => Some(s.clone()),
            _ => None,
        })
}

fn charts_values_str(v: &Value, path: &str) -> Option<String> {
    crate::workload::charts::Values(v).str(path)
}

fn influx_retention(cx: &Context, f: &mut Findings) {
    for w in cx.role("influxdb").filter(|w| w.long_running()) {
        if let Some(r) = influx_retention_of(cx, w) {
            match parse_duration_hours(&r) {
                Some(h) if h == 0.0 || h >= MIN_RETENTION_HOURS => {}
                Some(h) => {
                    f.at(
                        w.object,
                        format!(
                            "{} keeps metrics for `{r}` ({}); long-term metrics need years",
                            w.describe(),
                            human_hours(h)
                        ),
                        "made here",
                    )
                    .path(
                        (w.chart.as_deref() == Some("influxdb2"))
                            .then(|| "spec.values.adminUser.retention_policy".to_owned()),
                    );
                }
                None => {
                    f.at(
                        w.object,
                        format!("{} has a retention `{r}` hapl cannot read", w.describe()),
                        "made here",
                    );
                }
            }
        }
        if let Some(d) = w.annotation(SHARD_ANNOTATION) {
            match parse_duration_hours(d) {
                Some(h) if (168.0..=2160.0).contains(&h) => {}
                Some(h) => {
                    f.at(
                        w.object,
                        format!(
                            "{} uses a shard group duration of `{d}` ({}), outside 7 to 90 days",
                            w.describe(),
                            human_hours(h)
                        ),
                        "made here",
                    );
                }
                None => {
                    f.at(
                        w.object,
                        format!("`{SHARD_ANNOTATION}: {d}` is not a duration"),
                        "made here",
                    );
                }
            }
        }
    }
}

pub(super) static STORAGE_CAPACITY: Rule = Rule {
    id: "storage-capacity",
    severity: Severity::Warning,
    summary: "Loki's retention and InfluxDB's growth fit their volumes; all claims fit the \
        declared NAS.",
    explanation: "A volume that fills up stops the service writing: Loki drops logs, InfluxDB \
        refuses points, and on NFS a full share can stall every pod that uses it. hapl \
        estimates what the retention needs (Loki: 100 MiB of compressed logs a day, InfluxDB: \
        10 MiB a day over its retention or five years if infinite; override with the \
        annotation `hapl.dev/daily-growth: <quantity>` on the release) and compares it with 80% \
        of the volume, and sums every claim against the NAS declared with `platform(..., #{ \
        nas: #{ capacity } })`.",
    fix: "grow the volume, shorten the retention, or declare a larger NAS if it really is",
    check: storage_capacity,
};

fn storage_capacity(cx: &Context, f: &mut Findings) {
    const MI: f64 = 1024.0 * 1024.0;
    // Loki configured by a hand-written ConfigMap.
    for c in cx.configs("loki") {
        let Some(doc) = yaml(&c.text) else { continue };
        let enabled = lookup(&doc, "compactor.retention_enabled").and_then(scalar);
        let period = lookup(&doc, "limits_config.retention_period")
            .and_then(scalar)
            .and_then(|p| parse_duration_hours(&p));
        if enabled.as_deref() != Some("true") || period.is_none_or(|h| h <= 0.0) {
            f.at(
                c.object,
                "Loki's configuration keeps logs forever (no compactor retention): it fills its volume",
                "configured here",
            )
            .path(cx.text_path(c.object, "compactor"));
        }
    }
    for w in &cx.workloads.workloads {
        let (daily_default, retention_hours, what) = match (w.role(), w.chart.as_deref()) {
            (Some("loki"), Some("loki")) if w.volume("storage").is_some() => {
                let Some((_, v)) = charts_values(cx, "loki")
                    .into_iter()
                    .find(|(i, _)| *i == w.object)
                else {
                    continue;
                };
                let enabled = v
                    .get("loki.compactor.retention_enabled")
                    .and_then(Value::as_bool)
                    == Some(true);
                let period = v
                    .str("loki.limits_config.retention_period")
                    .and_then(|p| parse_duration_hours(&p));
                match (enabled, period) {
                    (true, Some(h)) if h > 0.0 => (100.0 * MI, h, "Loki's log retention"),
                    _ => {
                        f.at(w.object, format!("{} keeps logs forever (no compactor retention): it fills its volume", w.describe()), "made here");
                        continue;
                    }
                }
            }
            (Some("influxdb"), _) => {
                let h = influx_retention_of(cx, w)
                    .and_then(|r| parse_duration_hours(&r))
                    .filter(|h| *h > 0.0)
                    .unwrap_or(5.0 * 8760.0);
                (10.0 * MI, h, "InfluxDB's growth over its retention")
            }
            _ => continue,
        };
        let daily = w
            .annotation("hapl.dev/daily-growth")
            .and_then(parse_quantity)
            .unwrap_or(daily_default);
        let needed = daily * retention_hours / 24.0;
        let size = w.volumes.iter().find_map(|v| claim_size(cx, w, &v.source));
        if let Some(size) = size {
            if needed > 0.8 * size {
                f.at(
                    w.object,
                    format!(
                        "{what} needs about {} ({} a day for {}), more than 80% of its {} volume",
                        gib(needed),
                        mib(daily),
                        human_hours(retention_hours),
                        gib(size)
                    ),
                    "made here",
                );
            }
        }
    }
    let Some(nas) = &cx.platform.nas else { return };
    let mut total = 0.0;
    for r in &cx.resources {
        match r {
            Resource::PersistentVolumeClaim(p) => {
                total += p
                    .spec
                    .as_ref()
                    .and_then(|s| s.resources.as_ref())
                    .and_then(|r| r.requests.as_ref())
                    .and_then(|r| r.get("storage"))
                    .and_then(|q| parse_quantity(&q.0))
                    .unwrap_or(0.0);
            }
            Resource::PersistentVolume(pv)
                if pv
                    .spec
                    .as_ref()
                    .and_then(|s| s.claim_ref.as_ref())
                    .is_none() =>
            {
                total += pv
                    .spec
                    .as_ref()
                    .and_then(|s| s.capacity.as_ref())
                    .and_then(|c| c.get("storage"))
                    .and_then(|q| parse_quantity(&q.0))
                    .unwrap_or(0.0);
            }
            _ => {}
        }
    }
    for w in &cx.workloads.workloads {
        for v in &w.volumes {
            if let VolumeSource::NewClaim(c) = &v.source {
                let per = c.size.as_deref().and_then(parse_quantity).unwrap_or(0.0);
                total += per * f64::from(w.replicas.max(1));
            }
        }
    }
    if total > nas.capacity_bytes as f64 {
        f.platform(format!(
            "the platform claims {} of storage, more than the {} the NAS `{}` has",
            gib(total),
            gib(nas.capacity_bytes as f64),
            nas.name
        ));
    }
}

fn claim_size(cx: &Context, w: &Workload, source: &VolumeSource) -> Option<f64> {
    match source {
        VolumeSource::Pvc(claim) => cx.pvc(&w.namespace, claim).and_then(|(_, p)| {
            parse_quantity(
                &p.spec
                    .as_ref()?
                    .resources
                    .as_ref()?
                    .requests
                    .as_ref()?
                    .get("storage")?
                    .0,
            )
        }),
        VolumeSource::NewClaim(c) => c.size.as_deref().and_then(parse_quantity),
        _ => None,
    }
}

fn gib(bytes: f64) -> String {
    format!("{:.1} GiB", bytes / (1024.0 * 1024.0 * 1024.0))
}

fn mib(bytes: f64) -> String {
    format!("{:.0} MiB", bytes / (1024.0 * 1024.0))
}
