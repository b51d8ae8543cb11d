//! hapl's integration tests: one binary (see tests/README.md).

mod git_harness;
mod support;

mod adoption;
mod apply;
mod assess;
mod bench;
mod book;
mod cli;
mod graph;
mod habits;
mod hostile;
mod legacy_repo;
mod plan;
mod properties;
mod rules;
mod schema;
mod secrets;
