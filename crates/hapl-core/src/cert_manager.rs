//! `cert-manager.io/v1` ClusterIssuer: where the platform's TLS certificates come from.
//!
//! Typed for the issuers a homelab uses: ACME (Let's Encrypt) with HTTP-01 through the ingress
//! or DNS-01 through Cloudflare, RFC 2136 or a webhook; a CA from a secret; self-signed. Any
//! other field is an error naming it, like the Flux kinds.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterIssuer {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    pub spec: IssuerSpec,
}

impl ClusterIssuer {
    pub const API_VERSION: &'static str = "cert-manager.io/v1";
    pub const KIND: &'static str = "ClusterIssuer";
}

/// One of `acme`, `ca`, `selfSigned`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IssuerSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acme: Option<Acme>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<CaIssuer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_signed: Option<SelfSigned>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Acme {
    /// The ACME directory URL, e.g. Let's Encrypt's production endpoint.
    pub server: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The Secret that stores the ACME account key.
    pub private_key_secret_ref: SecretKeySelector,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub solvers: Vec<AcmeSolver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_chain: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "skipTLSVerify"
    )]
    pub skip_tls_verify: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_account_key_generation: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKeySelector {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AcmeSolver {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<SolverSelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http01: Option<Http01>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns01: Option<Dns01>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SolverSelector {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_zones: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Http01 {
    pub ingress: Http01Ingress,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Http01Ingress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_class_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Dns01 {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cname_strategy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloudflare: Option<Cloudflare>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rfc2136: Option<Rfc2136>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<Webhook>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cloudflare {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_token_secret_ref: Option<SecretKeySelector>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_secret_ref: Option<SecretKeySelector>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rfc2136 {
    pub nameserver: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tsig_key_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tsig_algorithm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tsig_secret_secret_ref: Option<SecretKeySelector>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Webhook {
    pub group_name: String,
    pub solver_name: String,
    /// Free-form: the webhook's own configuration (the CRD preserves unknown fields here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaIssuer {
    pub secret_name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SelfSigned {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub crl_distribution_points: Vec<String>,
}
