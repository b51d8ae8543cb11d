//! The typed object model: every kind hapl can render, one enum.
//!
//! Conversion goes `serde_json::Value` → typed object, with the path of a wrong field in the
//! error, and a round-trip check that catches fields the type does not know (k8s-openapi's own
//! deserializers skip unknown fields silently; hapl does not).

use k8s_openapi::api::{apps, batch, core, networking, policy, rbac, storage};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::cert_manager::ClusterIssuer;
use crate::flux;
use crate::identity::{group_of, Identity};
use crate::sealed_secret::SealedSecret;

/// Declares the `Resource` enum from (variant, type, apiVersion, kind, namespaced) rows.
macro_rules! resources {
    ($($variant:ident($ty:ty) = $api:literal, $kind:literal, $namespaced:literal;)*) => {
        /// One Kubernetes or Flux object of a kind hapl knows.
        #[derive(Debug, Clone, PartialEq)]
        #[allow(clippy::large_enum_variant)]
        pub enum Resource {
            $($variant(Box<$ty>),)*
        }

        /// Every (apiVersion, kind, namespaced) hapl can render, in a fixed order.
        pub const KINDS: &[(&str, &str, bool)] = &[$(($api, $kind, $namespaced),)*];

        impl Resource {
            /// Convert a plain value into a typed object, dispatching on `apiVersion` and `kind`.
            pub fn from_value(value: Value) -> Result<Resource, ConvertError> {
                let (api, kind) = type_meta(&value)?;
                let resource = match (api.as_str(), kind.as_str()) {
                    $(($api, $kind) => Resource::$variant(Box::new(typed(&value)?)),)*
                    _ => return Err(unknown_kind(&api, &kind)),
                };
                resource.check_dropped_fields(&value)?;
                Ok(resource)
            }

            /// Back to a plain value, key order as serialized by the type.
            pub fn to_value(&self) -> Value {
                match self {
                    $(Resource::$variant(o) => to_value(o),)*
                }
            }

            pub fn api_version(&self) -> &'static str {
                match self { $(Resource::$variant(_) => $api,)* }
            }

            pub fn kind(&self) -> &'static str {
                match self { $(Resource::$variant(_) => $kind,)* }
            }

            pub fn is_namespaced(&self) -> bool {
                match self { $(Resource::$variant(_) => $namespaced,)* }
            }

            pub fn metadata(&self) -> &ObjectMeta {
                match self { $(Resource::$variant(o) => &o.metadata,)* }
            }

            pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
                match self { $(Resource::$variant(o) => &mut o.metadata,)* }
            }
        }
    };
}

resources! {
    Namespace(core::v1::Namespace) = "v1", "Namespace", false;
    PersistentVolume(core::v1::PersistentVolume) = "v1", "PersistentVolume", false;
    PersistentVolumeClaim(core::v1::PersistentVolumeClaim) = "v1", "PersistentVolumeClaim", true;
    ConfigMap(core::v1::ConfigMap) = "v1", "ConfigMap", true;
    Secret(core::v1::Secret) = "v1", "Secret", true;
    Service(core::v1::Service) = "v1", "Service", true;
    ServiceAccount(core::v1::ServiceAccount) = "v1", "ServiceAccount", true;
    StorageClass(storage::v1::StorageClass) = "storage.k8s.io/v1", "StorageClass", false;
    Deployment(apps::v1::Deployment) = "apps/v1", "Deployment", true;
    StatefulSet(apps::v1::StatefulSet) = "apps/v1", "StatefulSet", true;
    DaemonSet(apps::v1::DaemonSet) = "apps/v1", "DaemonSet", true;
    Job(batch::v1::Job) = "batch/v1", "Job", true;
    CronJob(batch::v1::CronJob) = "batch/v1", "CronJob", true;
    Ingress(networking::v1::Ingress) = "networking.k8s.io/v1", "Ingress", true;
    NetworkPolicy(networking::v1::NetworkPolicy) = "networking.k8s.io/v1", "NetworkPolicy", true;
    Role(rbac::v1::Role) = "rbac.authorization.k8s.io/v1", "Role", true;
    RoleBinding(rbac::v1::RoleBinding) = "rbac.authorization.k8s.io/v1", "RoleBinding", true;
    ClusterRole(rbac::v1::ClusterRole) = "rbac.authorization.k8s.io/v1", "ClusterRole", false;
    ClusterRoleBinding(rbac::v1::ClusterRoleBinding) = "rbac.authorization.k8s.io/v1", "ClusterRoleBinding", false;
    PodDisruptionBudget(policy::v1::PodDisruptionBudget) = "policy/v1", "PodDisruptionBudget", true;
    GitRepository(flux::GitRepository) = "source.toolkit.fluxcd.io/v1", "GitRepository", true;
    OciRepository(flux::OciRepository) = "source.toolkit.fluxcd.io/v1", "OCIRepository", true;
    HelmRepository(flux::HelmRepository) = "source.toolkit.fluxcd.io/v1", "HelmRepository", true;
    HelmRelease(flux::HelmRelease) = "helm.toolkit.fluxcd.io/v2", "HelmRelease", true;
    FluxKustomization(flux::FluxKustomization) = "kustomize.toolkit.fluxcd.io/v1", "Kustomization", true;
    SealedSecret(SealedSecret) = "bitnami.com/v1alpha1", "SealedSecret", true;
    ClusterIssuer(ClusterIssuer) = "cert-manager.io/v1", "ClusterIssuer", false;
}

impl Resource {
    /// k8s-openapi's deserializers skip unknown fields; find them by comparing the input with the
    /// typed object serialized back. hapl's own Flux types deny unknown fields themselves, and
    /// hold no k8s-openapi type but `metadata` (a test in this file keeps it so), so for them
    /// only `metadata` is compared.
    fn check_dropped_fields(&self, input: &Value) -> Result<(), ConvertError> {
        let mut unknown = Vec::new();
        if is_flux_api(self.api_version()) {
            if let Some(meta) = input.get("metadata") {
                let back = to_value(self.metadata());
                dropped_fields(meta, &back, &mut "metadata".to_owned(), &mut unknown);
            }
        } else {
            dropped_fields(input, &self.to_value(), &mut String::new(), &mut unknown);
        }
        match unknown.into_iter().next() {
            None => Ok(()),
            Some(path) => Err(ConvertError {
                message: format!(
                    "unknown field `{}`",
                    path.rsplit('.').next().unwrap_or(&path)
                ),
                path,
            }),
        }
    }

    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or("")
    }

    pub fn namespace(&self) -> Option<&str> {
        self.metadata().namespace.as_deref()
    }

    pub fn identity(&self) -> Identity {
        Identity::new(
            group_of(self.api_version()),
            self.kind(),
            if self.is_namespaced() {
                Some(self.namespace().unwrap_or("default"))
            } else {
                None
            },
            self.name(),
        )
    }
}

/// Why a value is not a valid object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertError {
    /// Dotted path of the offending field (`spec.chart.spec.version`), empty for the whole object.
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for ConvertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "`{}`: {}", self.path, self.message)
        }
    }
}

fn type_meta(value: &Value) -> Result<(String, String), ConvertError> {
    let Value::Object(map) = value else {
        return Err(ConvertError {
            path: String::new(),
            message: format!("an object must be a map, found {}", json_type(value)),
        });
    };
    let field = |key: &str| match map.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(other) => Err(ConvertError {
            path: key.to_owned(),
            message: format!("expected a non-empty string, found {}", json_type(other)),
        }),
        None => Err(ConvertError {
            path: key.to_owned(),
            message: "missing; every object needs `apiVersion` and `kind`".to_owned(),
        }),
    };
    Ok((field("apiVersion")?, field("kind")?))
}

fn unknown_kind(api: &str, kind: &str) -> ConvertError {
    let same_kind: Vec<String> = KINDS
        .iter()
        .filter(|(_, k, _)| *k == kind)
        .map(|(a, k, _)| format!("`{a}` {k}"))
        .collect();
    let message = if same_kind.is_empty() {
        format!("hapl does not know the kind `{kind}` (apiVersion `{api}`)")
    } else {
        format!(
            "`{api}` is not a served version of {kind}; use {}",
            same_kind.join(" or ")
        )
    };
    ConvertError {
        path: "apiVersion".to_owned(),
        message,
    }
}

/// A short name of a value's type for messages.
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a map",
    }
}

/// The Flux API groups, whose types (`flux.rs`) deny unknown fields.
fn is_flux_api(api_version: &str) -> bool {
    matches!(
        group_of(api_version),
        "source.toolkit.fluxcd.io" | "helm.toolkit.fluxcd.io" | "kustomize.toolkit.fluxcd.io"
    )
}

fn typed<T: DeserializeOwned>(value: &Value) -> Result<T, ConvertError> {
    // Tracking the path costs a third of the conversion: only do it to explain an error.
    if let Ok(obj) = T::deserialize(value) {
        return Ok(obj);
    }
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(obj) => Ok(obj),
        Err(err) => {
            let path = err.path().to_string();
            Err(ConvertError {
                path: if path == "." { String::new() } else { path },
                message: err.into_inner().to_string(),
            })
        }
    }
}

fn to_value<T: Serialize>(obj: &T) -> Value {
    serde_json::to_value(obj).expect("typed objects always serialize")
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// Paths present (and non-empty) in `input` but missing from `output`.
fn dropped_fields(input: &Value, output: &Value, path: &mut String, found: &mut Vec<String>) {
    match (input, output) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                match b.get(key) {
                    Some(other) => dropped_fields(value, other, path, found),
                    None if !is_empty(value) => found.push(path.clone()),
                    None => {}
                }
                path.truncate(len);
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                dropped_fields(x, y, path, found);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn converts_a_deployment_and_keeps_its_identity() {
        let r = Resource::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "ha", "namespace": "homeassistant"},
            "spec": {"selector": {"matchLabels": {"app": "ha"}},
                     "template": {"spec": {"containers": [{"name": "ha", "image": "x:1"}]}}}
        }))
        .unwrap();
        assert_eq!(r.identity().to_string(), "Deployment.apps homeassistant/ha");
    }

    #[test]
    fn an_unknown_field_in_a_k8s_openapi_kind_is_an_error_with_its_path() {
        let err = Resource::from_value(json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "x"},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClasName": "nfs"}
        }))
        .unwrap_err();
        assert_eq!(err.path, "spec.storageClasName");
        assert!(err.message.contains("unknown field"), "{err}");
    }

    #[test]
    fn an_unknown_field_in_a_flux_kind_is_an_error_with_its_path() {
        let err = Resource::from_value(json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "x"},
            "spec": {"interval": "1h", "chart": {"spec": {"chart": "c", "versoin": "1.0.0",
                     "sourceRef": {"kind": "HelmRepository", "name": "r"}}}}
        }))
        .unwrap_err();
        assert_eq!(err.path, "spec.chart.spec.versoin");
        assert!(err.message.contains("unknown field `versoin`"), "{err}");
    }

    #[test]
    fn an_unknown_metadata_field_in_a_flux_kind_is_an_error_with_its_path() {
        let err = Resource::from_value(json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "x", "namespace": "y", "lables": {"a": "b"}},
            "spec": {"interval": "1h", "chart": {"spec": {"chart": "c", "version": "1.0.0",
                     "sourceRef": {"kind": "HelmRepository", "name": "r"}}}}
        }))
        .unwrap_err();
        assert_eq!(err.path, "metadata.lables");
        assert!(err.message.contains("unknown field `lables`"), "{err}");
    }

    #[test]
    fn flux_types_hold_no_k8s_openapi_type_but_object_meta() {
        // `check_dropped_fields` compares only `metadata` for Flux kinds: any other k8s-openapi
        // type inside them would drop unknown fields silently. Add it to that check first.
        let src = include_str!("flux.rs");
        let uses: Vec<&str> = src.lines().filter(|l| l.contains("k8s_openapi")).collect();
        assert_eq!(
            uses,
            ["use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;"]
        );
    }

    #[test]
    fn a_wrong_type_names_the_field() {
        let err = Resource::from_value(json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "x"},
            "spec": {"replicas": "one", "selector": {}, "template": {}}
        }))
        .unwrap_err();
        assert_eq!(err.path, "spec.replicas");
    }

    #[test]
    fn a_removed_flux_version_names_the_served_one() {
        let err = Resource::from_value(json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2beta1", "kind": "HelmRelease",
            "metadata": {"name": "x"}, "spec": {}
        }))
        .unwrap_err();
        assert!(
            err.message
                .contains("`helm.toolkit.fluxcd.io/v2` HelmRelease"),
            "{err}"
        );
    }
}
