//! hapl's scripting side: the sandboxed Rhai engine, the API scripts call, the embedded standard
//! library and its resolver chain, origins, and script errors as diagnostics.

pub mod api;
pub mod docs;
pub mod engine;
pub mod error;
pub mod resolver;
pub mod sources;
pub mod stdlib;

pub use engine::{
    evaluate_file, evaluate_str, write_definitions, Evaluation, Failure, Limits, Options,
};
pub use sources::Sources;
