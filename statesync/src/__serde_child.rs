//! The serde of one child diff inside a generated `XChildDiffs` record, for generated code
//! only (through [`crate::__serde_record`]).
//!
//! The record's serde impls are bounded on `__Via: SerializeVia<Diff<Child>>` (and
//! `DeserializeVia`), where `__Via` is a parameter of the record that is always `()`. A
//! bound that names a parameter is assumed while the impl is checked and proved only where
//! it is used, so a tree of models without serde compiles at any depth; a bound on the
//! concrete `Diff<Child>` would be proved through its impl at once, needing the serde of
//! every model further down.

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, Serializer};

/// Writes a `T`: implemented by `()` for every `T: Serialize`.
#[diagnostic::on_unimplemented(
    message = "a children field's diff, `{T}`, cannot be written with serde",
    label = "the child diffs of this model need serde",
    note = "every child model derives `DiffModel`, and with serde, `Serialize` and `Deserialize`"
)]
pub trait SerializeVia<T> {
    /// Writes `value`.
    ///
    /// # Errors
    /// The serializer's.
    fn serialize_via<S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error>;
}

impl<T: Serialize> SerializeVia<T> for () {
    fn serialize_via<S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
        value.serialize(serializer)
    }
}

/// Reads a `T` from data that lives for `'de` (so a child diff may borrow from it):
/// implemented by `()` for every `T: Deserialize<'de>`.
#[diagnostic::on_unimplemented(
    message = "a children field's diff, `{T}`, cannot be read with serde",
    label = "the child diffs of this model need serde",
    note = "every child model derives `DiffModel`, and with serde, `Serialize` and `Deserialize`"
)]
pub trait DeserializeVia<'de, T> {
    /// Reads a value.
    ///
    /// # Errors
    /// The deserializer's.
    fn deserialize_via<D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error>;
}

impl<'de, T: Deserialize<'de>> DeserializeVia<'de, T> for () {
    fn deserialize_via<D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
        T::deserialize(deserializer)
    }
}
