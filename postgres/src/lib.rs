#![warn(missing_docs)]
//! PostgreSQL for statesync: state shared by several processes and machines.
//!
//! - [`PgHistory`]: the versions of a root model as JSONB diffs, with compare-and-set
//!   commits and a merge-and-retry loop.
//! - [`PgInventory`]: the inventory models in tables with foreign keys, typed hooks that
//!   record, one transaction per sync with bulk writes (COPY), and a loader.
//!
//! Every table lives in a [`Schema`] the caller names, so a source and a target inventory,
//! or two tests, never meet. [`connect`] opens a connection (no TLS) on the current tokio
//! runtime.

mod error;
mod history;
mod inventory;
mod schema;

pub use error::Error;
pub use history::{Checkout, CommitError, Committed, PgHistory};
pub use inventory::{BULK_CREATES, Changes, FailAt, PgInventory, Synced, Table};
pub use schema::{Schema, connect};
