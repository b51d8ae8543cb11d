//! The embedded modules, evaluated for real: what they make, and what they refuse.

mod common;

use common::{eval, eval_err};
use hapl_core::{Resource, Severity};
use hapl_script::{evaluate_str, Options};

const NAS: &str = r#"import "nas_pvc" as nas;
let p = platform("home");
let s = nas::storage_class(p, #{ server: "dpx2800.lan", share: "/volume1/k8s" });
"#;

#[test]
fn the_nas_class_retains_data_and_is_the_only_default() {
    let e = eval(&format!("{NAS}p"));
    let classes: Vec<_> = e
        .platform
        .objects
        .iter()
        .filter_map(|o| match &o.resource {
            Resource::StorageClass(sc) => Some(sc),
            _ => None,
        })
        .collect();
    assert_eq!(classes.len(), 1);
    let sc = classes[0];
    assert_eq!(sc.reclaim_policy.as_deref(), Some("Retain"));
    assert_eq!(sc.provisioner, "nfs.csi.k8s.io");
    let params = sc.parameters.as_ref().unwrap();
    assert_eq!(params["server"], "dpx2800.lan");
    assert_eq!(params["share"], "/volume1/k8s");
    let ann = sc.metadata.annotations.as_ref().unwrap();
    assert_eq!(ann["storageclass.kubernetes.io/is-default-class"], "true");
}

#[test]
fn the_nfs_driver_is_installed_from_a_pinned_chart() {
    let e = eval(&format!("{NAS}p"));
    let release = e
        .platform
        .objects
        .iter()
        .find_map(|o| match &o.resource {
            Resource::HelmRelease(hr) => Some(hr),
            _ => None,
        })
        .expect("a HelmRelease for csi-driver-nfs");
    let chart = &release.spec.chart.as_ref().unwrap().spec;
    assert_eq!(chart.chart, "csi-driver-nfs");
    assert!(hapl_core::quantity::is_exact_version(
        chart.version.as_deref().unwrap()
    ));
    assert_eq!(chart.source_ref.kind, "HelmRepository");
}

#[test]
fn a_pvc_has_an_explicit_size_on_the_nas_class() {
    let e = eval(&format!(
        "{NAS}nas::pvc(p, s, #{{ name: \"ha-config\", namespace: \"homeassistant\", size: \"5Gi\" }});\np"
    ));
    let pvc = e
        .platform
        .objects
        .iter()
        .find_map(|o| match &o.resource {
            Resource::PersistentVolumeClaim(c) => Some(c),
            _ => None,
        })
        .unwrap();
    let spec = pvc.spec.as_ref().unwrap();
    assert_eq!(spec.storage_class_name.as_deref(), Some("nfs-storage"));
    assert_eq!(
        spec.resources.as_ref().unwrap().requests.as_ref().unwrap()["storage"].0,
        "5Gi"
    );
    assert_eq!(
        spec.access_modes.as_deref(),
        Some(&["ReadWriteOnce".to_owned()][..])
    );
}

#[test]
fn a_static_pv_binds_an_existing_nas_folder_to_its_claim() {
    let e = eval(&format!(
        "{NAS}nas::static_pv(p, s, #{{ name: \"influxdb-data\", namespace: \"datastore\", path: \"influxdb\", size: \"20Gi\" }});\np"
    ));
    let pv = e
        .platform
        .objects
        .iter()
        .find_map(|o| match &o.resource {
            Resource::PersistentVolume(v) => Some(v),
            _ => None,
        })
        .unwrap();
    let spec = pv.spec.as_ref().unwrap();
    assert_eq!(
        spec.persistent_volume_reclaim_policy.as_deref(),
        Some("Retain")
    );
    let csi = spec.csi.as_ref().unwrap();
    assert_eq!(
        csi.volume_attributes.as_ref().unwrap()["share"],
        "/volume1/k8s/influxdb"
    );
    let claim = spec.claim_ref.as_ref().unwrap();
    assert_eq!(
        (claim.namespace.as_deref(), claim.name.as_deref()),
        (Some("datastore"), Some("influxdb-data"))
    );
    let pvc = e
        .platform
        .objects
        .iter()
        .find_map(|o| match &o.resource {
            Resource::PersistentVolumeClaim(c) => Some(c),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        pvc.spec.as_ref().unwrap().volume_name.as_deref(),
        Some("datastore-influxdb-data")
    );
}

#[test]
fn a_static_pv_path_may_not_leave_the_share() {
    let d = eval_err(&format!(
        "{NAS}nas::static_pv(p, s, #{{ name: \"x\", namespace: \"y\", path: \"../etc\", size: \"1Gi\" }});\np"
    ));
    assert_eq!(d.code, "invalid-argument");
    assert_eq!(d.primary.as_ref().unwrap().line, 4);
}

#[test]
fn an_oci_chart_is_pinned_by_tag_and_the_release_uses_chart_ref() {
    let e = eval(
        r#"import "pinned_helm" as helm;
let p = platform("home");
let src = helm::oci_chart(p, #{ name: "app-template", url: "oci://ghcr.io/bjw-s-labs/helm/app-template", version: "4.4.0" });
helm::release(p, #{ name: "ha", namespace: "homeassistant", source: src, values: #{ a: 1 } });
p"#,
    );
    let (oci, hr) = (
        &e.platform.objects[0].resource,
        &e.platform.objects[1].resource,
    );
    let Resource::OciRepository(oci) = oci else {
        panic!("{oci:?}")
    };
    assert_eq!(
        oci.spec.reference.as_ref().unwrap().tag.as_deref(),
        Some("4.4.0")
    );
    let Resource::HelmRelease(hr) = hr else {
        panic!("{hr:?}")
    };
    let chart_ref = hr.spec.chart_ref.as_ref().unwrap();
    assert_eq!(
        (chart_ref.kind.as_str(), chart_ref.name.as_str()),
        ("OCIRepository", "app-template")
    );
    assert!(hr.spec.chart.is_none());
}

#[test]
fn every_range_or_moving_tag_is_refused_at_the_users_line() {
    for version in ["^1.2", "~1.2.3", ">=1.0.0", "1.x", "*", "latest", "1"] {
        let d = eval_err(&format!(
            r#"import "pinned_helm" as helm;
let p = platform("home");
let r = helm::repository(p, #{{ name: "r", url: "https://charts.example.org" }});
helm::release(p, #{{ name: "x", namespace: "y", source: r, chart: "c", version: "{version}" }});
p"#
        ));
        assert_eq!(d.code, "pinned-versions", "{version}: {d}");
        let span = d.primary.as_ref().unwrap();
        assert_eq!(
            (span.file.as_str(), span.line),
            ("test.rhai", 4),
            "{version}: {d}"
        );
        assert!(
            d.trace
                .iter()
                .any(|f| f.span.file == "<stdlib>/pinned_helm.rhai"),
            "{d}"
        );
    }
}

#[test]
fn origins_record_the_users_line_and_the_module_frames_between() {
    let e = eval(&format!(
        "{NAS}fn my_claim(p, s) {{\n    nas::pvc(p, s, #{{ name: \"c\", namespace: \"n\", size: \"1Gi\" }})\n}}\nmy_claim(p, s);\np"
    ));
    let obj = e
        .platform
        .objects
        .iter()
        .find(|o| o.resource.kind() == "PersistentVolumeClaim")
        .unwrap();
    // The innermost call in a user file: `nas::pvc` inside `my_claim`, line 5.
    assert_eq!(obj.origin.site.file, "test.rhai");
    assert_eq!(obj.origin.site.line, 5);
    assert_eq!(obj.origin.site.column, 10);
    // Between it and the object: the `p.add` inside the stdlib's `pvc`.
    assert_eq!(obj.origin.frames.len(), 1, "{:?}", obj.origin.frames);
    assert_eq!(obj.origin.frames[0].function, "pvc");
    assert_eq!(obj.origin.frames[0].span.file, "<stdlib>/nas_pvc.rhai");
    // Objects made by the stdlib on behalf of a nested stdlib call carry both frames.
    let hr = e
        .platform
        .objects
        .iter()
        .find(|o| o.resource.kind() == "HelmRelease")
        .unwrap();
    assert_eq!(hr.origin.site.line, 3);
    let functions: Vec<&str> = hr
        .origin
        .frames
        .iter()
        .map(|f| f.function.as_str())
        .collect();
    assert_eq!(functions, ["release", "storage_class"]);
}

#[test]
fn invalid_objects_are_all_reported_in_one_run() {
    let f = evaluate_str(
        "t.rhai",
        r#"let p = platform("home");
p.add(#{ apiVersion: "v1", kind: "Namespace", metadata: #{ name: "a" }, spek: 1 });
p.add(#{ apiVersion: "v1", kind: "Namespcae", metadata: #{ name: "b" } });
p.add(#{ apiVersion: "apps/v1", kind: "Deployment", metadata: #{ name: "c" }, spec: #{ replicas: "x" } });
p"#,
        &Options::default(),
    )
    .unwrap_err();
    let lines: Vec<u32> = f
        .diagnostics
        .iter()
        .map(|d| d.primary.as_ref().unwrap().line)
        .collect();
    assert_eq!(lines, [2, 3, 4]);
    assert!(f
        .diagnostics
        .iter()
        .all(|d| d.severity == Severity::Error && d.code == "invalid-object"));
}

#[test]
fn scripts_cannot_eval_or_reach_files() {
    let d = eval_err("let p = platform(\"x\");\neval(\"1\");\np");
    assert!(d.message.contains("eval"), "{d}");
    let d = eval_err("import \"../../etc/passwd\" as x;\nlet p = platform(\"x\");\np");
    assert_eq!(d.code, "module-name");
}
