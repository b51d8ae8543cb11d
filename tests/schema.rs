//! Schema conformance: every kind hapl renders against the real schemas.
