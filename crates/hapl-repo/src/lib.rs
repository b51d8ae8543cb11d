//! hapl's repository side: reading a checked-in Flux repo with positions (`yaml`, `repo`),
//! comparing by meaning and patching in place (`patch`, `emit`), where new objects go
//! (`layout`), what hapl owns (`owned`), the plan as data (`plan`), and writing files
//! atomically (`write`).

pub mod apply;
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
