//! hapl's integration tests: one binary (see tests/README.md).

mod support;

mod cli;
mod plan;
mod schema;
