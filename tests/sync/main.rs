//! The sync engine against a fault-injecting adapter that simulates a real system.

mod calls;
mod engine;
mod fatal;
mod faulty;
mod fields;
mod flags;
mod hooks;
mod maps;
mod order;
mod plan;
mod returning;
mod root;
mod subtrees;
