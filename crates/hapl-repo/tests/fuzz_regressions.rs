//! Replays every input the fuzz targets ever crashed on (`fuzz/regressions/<target>/`, kept by
//! scripts/fuzz/run): the reader must not panic, and a refusal names the file and a line; the
//! patcher keeps the promises fuzz/harness/patch.rs checks.

use std::fs;

#[path = "../../../fuzz/harness/patch.rs"]
mod patch_harness;

#[path = "../../../fuzz/harness/kept.rs"]
mod kept;
use kept::kept;

#[test]
fn fuzz_regressions_of_the_reader_replay_without_panics() {
    for input in kept("read") {
        let repo = tempfile::tempdir().unwrap();
        fs::write(repo.path().join("file.yaml"), fs::read(&input).unwrap()).unwrap();
        if let Err(e) = hapl_repo::repo::read(repo.path(), false) {
            assert!(e.0.line >= 1, "{}: {e}", input.display());
        }
    }
}

#[test]
fn fuzz_regressions_of_the_patcher_replay() {
    for input in kept("patch") {
        let bytes = fs::read(&input).unwrap();
        let Ok(decoded) = <patch_harness::Input as arbitrary::Arbitrary>::arbitrary_take_rest(
            arbitrary::Unstructured::new(&bytes),
        ) else {
            continue; // libFuzzer skips what does not decode; so does the replay
        };
        patch_harness::check(&decoded);
    }
}

/// The crash CI's fuzz run found on 2026-11-22 (NUL bytes and newlines in a key of a new
/// mapping), kept as the decoded input since CI's artifact did not come back.
#[test]
fn a_key_with_nul_bytes_and_newlines_is_written_so_that_it_reads_back() {
    let nul = |n: usize| "\0".repeat(n);
    patch_harness::check(&patch_harness::Input {
        yaml: "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: cert-manager\n  namespace: cert-manager\nspec:\n  interval: 1h\n  chart:\n    szec:\n      chart: cert-manager\n      version: v1.19.1\n      sourceRef:\n        kind: HelmRepository\n        name: jetstack\n        namespace: flux-system\n      interval: 12h\n  install:\n    remediation:\n      retries: 2\n  upgrade:\n    remediation:\n      retries: 3\n  values:\n    crds:\n      enabled: true\n      keep: true\n    # DNS-01 through Cloudflare: check propagation against public re".into(),
        path: vec![format!(
            "olvers, not the LAN's.\n    extraArgs:\n      - --dns01-recursive-nameservers-only\n      - --dns01-recursive-nameservers=1.1.1.1:53,9.9.9.9:53\nze.config.k8s.io/v1beta1\nkind: Kustomizati    resources:\n      requests:apiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata:\n  name: letsencrypt-prod\nspec:\n  acme:\n    server: https://acme-v02.api.letsencrypt.org/directory\n    email{}",
            nul(27)
        )],
        value: patch_harness::Leaf::Str(format!(
            "{}: admin@example.net\n    privateKeySecretRef:\n      name: letsencrypt-prod-account-key\n    solvers:\n     \n        cpu: 25   cpu: 100m\n          memory: 64M - dns01:\n          cloudflare:\n            apiTokenSecretRef:\n              name: cloudfl",
            nul(79)
        )),
    });
}
