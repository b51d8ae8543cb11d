//! hapl's integration tests: one binary (see tests/README.md).

mod support;

mod book;
mod cli;
mod hostile;
mod legacy_repo;
mod plan;
mod rules;
mod schema;
mod secrets;
