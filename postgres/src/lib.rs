#![warn(missing_docs)]
#![doc = include_str!(concat!(env!("OUT_DIR"), "/README-section.md"))]

mod error;
mod fleet;
mod history;
mod inventory;
mod json_path;
mod schema;

pub use error::Error;
pub use fleet::process as fleet_process;
pub use fleet::{Applied, Fleet, Lease, PartitionError, WorkerOptions, WorkerReport};
pub use history::{Checkout, CommitError, Committed, PgHistory};
pub use inventory::{BULK_CREATES, Changes, FailAt, PgInventory, Synced, Table};
pub use schema::{Schema, connect};
