#![warn(missing_docs)]
//! Shared fixtures for statesync's integration tests, examples and benchmarks: the
//! inventory models of the benchmark dataset (sites → devices → interfaces) and a seeded
//! generator of such inventories.

pub mod baseline;
pub mod cli;
pub mod dataset;
pub mod fixtures;
pub mod fuzzing;
pub mod inventory;
pub mod json_file;
pub mod measure;
pub mod remote;
pub mod sqlite;
