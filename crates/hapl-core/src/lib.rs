//! hapl's typed core: the object model (Flux kinds and core Kubernetes kinds through
//! k8s-openapi), identities, origins, the platform, deterministic rendering, and diagnostics as
//! data. No IO, no Rhai, no terminal.

pub mod cert_manager;
pub mod diagnostic;
pub mod flux;
pub mod identity;
pub mod kustomize;
pub mod origin;
pub mod platform;
pub mod quantity;
pub mod render;
pub mod resource;
pub mod rules;
pub mod sealed_secret;
pub mod workload;

pub use diagnostic::{CheckResult, Diagnostic, Frame, Label, Severity, Span};
pub use identity::Identity;
pub use origin::Origin;
pub use platform::{
    Migration, Nas, Node, ObjectRef, Platform, PlatformObject, Waiver, WaiverScope,
};
pub use resource::{ConvertError, Resource, KINDS};

/// File names of embedded stdlib modules start with this, e.g. `<stdlib>/nas_pvc.rhai`.
pub const STDLIB_PREFIX: &str = "<stdlib>/";

/// The Kubernetes version hapl's core types follow (k8s-openapi feature `v1_34`).
pub const KUBERNETES_VERSION: &str = "1.34";
