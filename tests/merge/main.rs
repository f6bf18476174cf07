//! Reconciliation: three-way merge, strategies, conflicts, invert and compose, history,
//! bidirectional sync.

mod bidirectional;
mod depth;
mod history;
mod projection;
mod rules;
