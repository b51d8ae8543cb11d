//! hapl's integration tests: one binary (see tests/README.md).

mod support;

mod bench;
mod cli;
mod schema;
