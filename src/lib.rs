//! Shared fixtures for statesync's integration tests, examples and benchmarks: the
//! inventory models of the benchmark dataset (sites → devices → interfaces).

pub mod inventory;
