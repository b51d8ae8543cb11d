//! hapl's repository side: layout of rendered objects and writing trees to disk.
//! (Reading checked-in repos, minimal diffs and git commits build on this.)

pub mod assess;
pub mod chart;
pub mod emit;
pub mod git;
pub mod layout;
pub mod owned;
pub mod patch;
pub mod plan;
pub mod repo;
pub mod write;
pub mod yaml;

pub use layout::{render_tree, Tree};
pub use write::{write_render, WriteError};
