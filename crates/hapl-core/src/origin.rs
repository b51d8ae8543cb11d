//! Where the user's script made an object.

use crate::diagnostic::{Frame, Span};

/// The user's line that made an object, and the module frames in between (innermost first).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    /// The call in the user's own file (the script or a project `lib/` module).
    pub site: Span,
    /// Stdlib frames between the user's call and the place the object was made, innermost first.
    pub frames: Vec<Frame>,
}

impl Origin {
    pub fn new(site: Span) -> Self {
        Origin {
            site,
            frames: Vec::new(),
        }
    }

    /// An origin for objects that hapl made itself (generated kustomizations and the like).
    pub fn generated(what: &str) -> Self {
        Origin::new(Span::file(format!("<generated:{what}>")))
    }
}
