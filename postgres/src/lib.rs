#![warn(missing_docs)]
//! PostgreSQL for statesync: state shared by several processes and machines.
//!
//! - [`PgHistory`]: the versions of a root model as JSONB diffs, with compare-and-set
//!   commits and a merge-and-retry loop.
//! - [`PgInventory`]: the inventory models in tables with foreign keys, typed hooks that
//!   record, one transaction per sync with bulk writes (COPY), and a loader.
//! - [`Fleet`]: a sync split by site over worker processes that claim partitions with
//!   leases (`FOR UPDATE SKIP LOCKED`, expiry, heartbeat) and apply each exactly once;
//!   triggers on the source `NOTIFY` the partitions that changed.
//!
//! Every table lives in a [`Schema`] the caller names, so a source and a target inventory,
//! or two tests, never meet. [`connect`] opens a connection (no TLS) on the current tokio
//! runtime.

mod error;
mod fleet;
mod history;
mod inventory;
mod schema;

pub use error::Error;
pub use fleet::process as fleet_process;
pub use fleet::{Applied, Fleet, Lease, PartitionError, WorkerOptions, WorkerReport};
pub use history::{Checkout, CommitError, Committed, PgHistory};
pub use inventory::{BULK_CREATES, Changes, FailAt, PgInventory, Synced, Table};
pub use schema::{Schema, connect};
