//! Behaviour tests of the core: every derive option, every collection kind, the store, apply
//! and its errors, serde and rendering.

mod apply;
mod collections;
mod dataset;
mod depth;
mod evolution;
mod floats;
mod options;
mod render;
mod serde_form;
mod store;
