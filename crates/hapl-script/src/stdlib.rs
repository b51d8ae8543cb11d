//! The standard library, embedded in the binary. Each module keeps its own file name
//! (`<stdlib>/nas_pvc.rhai`) so diagnostics point into it.

use hapl_core::STDLIB_PREFIX;

/// `(module name, source text)` for every embedded module, sorted by name.
pub const MODULES: &[(&str, &str)] = &[
    ("app", include_str!("../../../stdlib/app.rhai")),
    ("backups", include_str!("../../../stdlib/backups.rhai")),
    ("cluster", include_str!("../../../stdlib/cluster.rhai")),
    (
        "home_assistant",
        include_str!("../../../stdlib/home_assistant.rhai"),
    ),
    ("influxdb", include_str!("../../../stdlib/influxdb.rhai")),
    ("logging", include_str!("../../../stdlib/logging.rhai")),
    (
        "matter_experimental",
        include_str!("../../../stdlib/matter_experimental.rhai"),
    ),
    (
        "monitoring",
        include_str!("../../../stdlib/monitoring.rhai"),
    ),
    ("nas_pvc", include_str!("../../../stdlib/nas_pvc.rhai")),
    (
        "pinned_helm",
        include_str!("../../../stdlib/pinned_helm.rhai"),
    ),
    ("postgres", include_str!("../../../stdlib/postgres.rhai")),
    (
        "zigbee_stack",
        include_str!("../../../stdlib/zigbee_stack.rhai"),
    ),
];

/// The text of an embedded module.
pub fn module(name: &str) -> Option<&'static str> {
    MODULES
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .map(|i| MODULES[i].1)
}

/// The file name diagnostics use for an embedded module.
pub fn file_name(name: &str) -> String {
    format!("{STDLIB_PREFIX}{name}.rhai")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_modules_match_the_stdlib_directory() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../stdlib");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".rhai") && !n.ends_with(".test.rhai"))
            .map(|n| n.trim_end_matches(".rhai").to_owned())
            .collect();
        on_disk.sort();
        let embedded: Vec<String> = MODULES.iter().map(|(n, _)| (*n).to_owned()).collect();
        assert_eq!(embedded, on_disk, "stdlib/ and stdlib::MODULES disagree");
        for (name, text) in MODULES {
            let disk = std::fs::read_to_string(format!("{dir}/{name}.rhai")).unwrap();
            assert_eq!(*text, disk, "{name} is stale");
        }
    }
}
