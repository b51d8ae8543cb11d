//! hapl's integration tests: one binary (see tests/README.md).

mod support;

mod assess;
mod book;
mod cli;
mod legacy_repo;
mod plan;
mod rules;
mod schema;
