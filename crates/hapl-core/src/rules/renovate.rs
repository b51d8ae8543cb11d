//! Pins Renovate can update: its `flux` manager reads chart versions from HelmRelease
//! `spec.chart.spec.version` and OCIRepository `spec.ref.tag`, its `helm-values` manager reads
//! images from chart values as `repository` with `tag` beside it, and its `kubernetes` manager
//! reads a container's `image`. A pin anywhere else is invisible to it and silently goes stale.

use serde_json::Value;

use super::{Context, Findings, Rule};
use crate::diagnostic::Severity;
use crate::quantity::is_exact_version;
use crate::resource::Resource;
use crate::workload::EnvValue;

pub(super) static RENOVATE_PIN: Rule = Rule {
    id: "renovate-pin",
    severity: Severity::Warning,
    summary: "Image tags and versions sit where Renovate finds them, not inside strings, \
        arguments or ConfigMaps.",
    explanation: "Pinned versions only stay safe while someone updates them, and in a homelab \
        that someone is Renovate: it opens a pull request for each new chart or image, which \
        `hapl plan` then reviews. Renovate reads a container's `image`, a HelmRelease's chart \
        version, an OCIRepository's tag, and chart values that give an image as `repository` \
        with `tag` beside it. An image written into an environment variable or an argument \
        (`--image=ghcr.io/x/y:1.2.3`), into a ConfigMap, or a version under a key of its own \
        (`imageTag: 1.2.3`, `appVersion`) is invisible to it: that pin never moves, security fixes never arrive, and years \
        later the upgrade is a leap across many versions at once.",
    fix: "give the image as a container's `image` or as chart values `image: #{ repository, tag \
        }`; when a program must receive an image by name, keep the reference in chart values \
        Renovate reads and add a Renovate `customManagers` regex for the remaining place",
    check: renovate_pin,
};

/// `ghcr.io/org/app:1.2.3` or `org/app@sha256:…` inside a string: the words that are image
/// references with a version (a URL or `host:port` alone is not one).
fn image_refs(text: &str) -> Vec<&str> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '=' | '"' | '\'' | ',' | '(' | ')'))
        .filter(|w| is_image_ref(w))
        .collect()
}

fn is_image_ref(word: &str) -> bool {
    if word.contains("://") || !word.contains('/') {
        return false;
    }
    let (path, version) = match word.split_once("@sha256:") {
        Some((path, digest)) => {
            if digest.len() != 64 || !digest.chars().all(|c| c.is_ascii_hexdigit()) {
                return false;
            }
            (path.split(':').next().unwrap_or(path), "digest")
        }
        None => {
            let last = word.rsplit('/').next().unwrap_or(word);
            let Some((_, tag)) = last.split_once(':') else {
                return false;
            };
            let path = &word[..word.len() - tag.len() - 1];
            let tag_ok = tag
                .trim_start_matches('v')
                .starts_with(|c: char| c.is_ascii_digit())
                && tag
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
            if !tag_ok {
                return false;
            }
            (path, tag)
        }
    };
    !version.is_empty()
        && path.split('/').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-:".contains(c))
        })
}

fn renovate_pin(cx: &Context, f: &mut Findings) {
    for w in &cx.workloads.workloads {
        for c in &w.containers {
            for (name, value) in &c.env {
                let EnvValue::Literal(text) = value else {
                    continue;
                };
                for r in image_refs(text) {
                    f.at(
                        w.object,
                        format!(
                            "container `{}` of {} pins the image `{r}` in the environment variable `{name}`, where Renovate cannot update it",
                            c.name,
                            w.describe()
                        ),
                        "made here",
                    );
                }
            }
            for arg in &c.args {
                for r in image_refs(arg) {
                    f.at(
                        w.object,
                        format!(
                            "container `{}` of {} pins the image `{r}` in an argument, where Renovate cannot update it",
                            c.name,
                            w.describe()
                        ),
                        "made here",
                    );
                }
            }
        }
    }
    for (i, r) in cx.resources.iter().enumerate() {
        match r {
            Resource::ConfigMap(cm) => {
                for (key, text) in cm.data.iter().flatten() {
                    for image in image_refs(text) {
                        f.at(
                            i,
                            format!(
                                "ConfigMap `{}` pins the image `{image}` in `{key}`, where Renovate cannot update it",
                                cm.metadata.name.as_deref().unwrap_or_default()
                            ),
                            "made here",
                        );
                    }
                }
            }
            Resource::HelmRelease(hr) => {
                if let Some(values) = &hr.spec.values {
                    let mut path = Vec::new();
                    lone_tags(values, &mut path, &mut |at| {
                        f.at(
                            i,
                            format!(
                                "HelmRelease `{}` pins a version at `values.{at}`, a key Renovate's helm-values manager does not read (it reads `repository` with `tag`)",
                                hr.metadata.name.as_deref().unwrap_or_default()
                            ),
                            "made here",
                        );
                    });
                }
            }
            _ => {}
        }
    }
}

/// Exact versions in chart values under a key of their own making (`imageTag`, `app_version`):
/// keys ending in `tag` or `version` other than `tag` itself.
fn lone_tags(value: &Value, path: &mut Vec<String>, report: &mut dyn FnMut(String)) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                path.push(k.clone());
                let key = k.to_ascii_lowercase();
                let odd_key = key != "tag" && (key.ends_with("tag") || key.ends_with("version"));
                if let Value::String(version) = v {
                    if odd_key && is_exact_version(version) {
                        report(path.join("."));
                    }
                }
                lone_tags(v, path, report);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (n, v) in items.iter().enumerate() {
                path.push(n.to_string());
                lone_tags(v, path, report);
                path.pop();
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_in_text() {
        assert_eq!(
            image_refs("--image=ghcr.io/org/app:1.2.3 --port=8080"),
            ["ghcr.io/org/app:1.2.3"]
        );
        assert_eq!(
            image_refs("docker.io/library/postgres:v16.4-alpine"),
            ["docker.io/library/postgres:v16.4-alpine"]
        );
        let digest = format!("ghcr.io/org/app:1.2@sha256:{}", "a".repeat(64));
        assert_eq!(image_refs(&digest), [digest.as_str()]);
        for not in [
            "http://nas.lan:8080/path",
            "registry.lan:5000/app",
            "postgres:16",
            "org/app:latest",
            "/config/a:1",
            "10.0.0.1:8123",
        ] {
            assert!(image_refs(not).is_empty(), "{not}");
        }
    }
}
