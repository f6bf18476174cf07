#![doc = include_str!("../../README.md")]
#![warn(missing_docs)]

mod children;
mod diff;
mod error;
mod model;
mod render;
mod store;
mod summary;

#[doc(hidden)]
pub mod __private;

pub use children::ChildCollection;
pub use diff::{Action, Change, Diff, ElementDiff, ModelUpdate};
pub use error::{Error, Operation, Path, Result};
pub use model::{DiffModel, DiffVisitor, ModelField, ModelKey, ModelVisitor, OnChange};
pub use render::{Entry, EntryKind, FieldChange};
pub use store::Store;
pub use summary::Summary;

/// Derives [`DiffModel`](trait@DiffModel) for a struct with named fields.
#[cfg(feature = "derive")]
pub use statesync_derive::DiffModel;
