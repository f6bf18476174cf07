//! The checks the fuzz targets in `fuzz/` run on each input, shared with the seeded run in
//! `tests/fuzz.rs` (so CI exercises them on stable on every change).
//!
//! Each check takes raw bytes and returns `Err` describing the law an input broke; a fuzz
//! target panics on it, a test fails. An input that is merely invalid (bad JSON, a diff
//! that does not apply) is fine: what is checked is how statesync handles it.
//!
//! - [`check_diff_apply`]: a `Diff<T>` read from JSON and applied to a known state, for the
//!   inventory models and the self-recursive [`Node`]. On error the target must be unchanged
//!   (compared exactly, order included); on success every store's index must agree with
//!   its models, the state must round-trip through serde, the inverse must restore the
//!   original, and `before.diff(&after)` must reproduce `after`.
//! - [`check_inventory_load`]: the inventory JSON loader's parse and checks.
//! - [`check_server_message`]: one request line to the demo server.

mod inputs;
mod laws;
mod node;

pub use inputs::{Inputs, Target};
pub use laws::{check_diff_apply, check_inventory_load, check_server_message};
pub use node::{Node, NodeKey};

/// What became of an input that broke no law.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// It did not parse (or was empty).
    Unreadable,
    /// It parsed and was refused with an error (the target unchanged).
    Refused,
    /// It was accepted (applied, loaded, committed) and every law held.
    Accepted,
}

/// A law an input broke, described.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Violation(pub String);
