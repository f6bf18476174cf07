#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

// The core: models, keys, fields, stores, diffs, apply, rendering. It names no layer above.
mod any_model;
#[cfg(feature = "serde")]
mod bounded;
mod callback;
mod canonical;
mod children;
mod depth;
mod diff;
#[cfg(feature = "serde")]
mod diff_serde;
mod error;
mod fields;
pub mod file;
mod index;
mod join;
mod model;
mod order;
pub mod projection;
mod render;
mod store;
mod summary;

// The layers on top, each a cargo feature (see the README's "Features").
#[cfg(feature = "merge")]
pub mod merge;
#[cfg(feature = "sync")]
pub mod scope;
#[cfg(feature = "serde")]
pub mod serde_map;
#[cfg(feature = "sync")]
pub mod sync;

mod __layers;
#[doc(hidden)]
pub mod __private;
#[cfg(feature = "serde")]
#[doc(hidden)]
pub mod __serde_child;
#[cfg(feature = "serde")]
#[doc(hidden)]
pub mod __serde_record;

#[doc(hidden)]
pub use children::ChildKeys;
pub use children::{ChildCollection, EngineOnly, Keyed};
pub use depth::MAX_DEPTH;
pub use diff::{Action, Change, Diff, ElementDiff, ModelUpdate};
pub use error::{Error, Operation, Path, Result};
pub use fields::NoChildDiffs;
#[doc(hidden)]
pub use fields::{Attribute, AttributeVisitor, ChildField, ChildFieldVisitor};
pub use model::{DiffModel, DiffObserver, ModelField, ModelKey, OnChange, Unobserved};
// Walks of child diffs and of children, for the runtime and generated code only.
#[doc(hidden)]
pub use model::{DiffVisitor, ModelVisitor};
pub use render::{Entry, EntryKind, FieldChange};
pub use store::{Store, StoreMut};
pub use summary::Summary;

/// Derives [`DiffModel`](trait@DiffModel) for a struct with named fields, with a key type
/// (`XKey`), a field enum (`XField`), a changes record (`XChanges`) and a child-diff record
/// (`XChildDiffs`). Models also derive `Clone`; a diff is `Debug`/`PartialEq` when they are
/// (and `merge` needs `Debug`).
///
/// Field options:
///
/// - `id`: part of the key, in declaration order. A model without one is a singleton.
/// - `skip`: neither compared nor applied.
/// - `children`: a [`ChildCollection`] of models matched by key (models with `id` fields:
///   [`Keyed`]). Map children written as JSON take `#[serde(with = "statesync::serde_map")]`.
/// - `eq = path`: compares this attribute with `path(&old, &new) -> bool`.
/// - `rename = "..."`: the field's display name in renderings and [`ModelField::name`]; two
///   fields may not share one.
/// - `merge = "..."`: how a three-way merge resolves this attribute when both sides changed
///   it: `ours`, `theirs`, `newest`, `max`, `min`, `union` or `report` (see
///   `merge::Strategy`).
/// - `merge_with = path`: a custom merge, `fn(Option<&T>, &T, &T) -> Option<T>`.
///
/// ```
/// use statesync::{DiffModel, ModelField, Store};
///
/// fn same_text(a: &str, b: &str) -> bool {
///     a.eq_ignore_ascii_case(b)
/// }
///
/// #[derive(DiffModel, Clone, Debug, PartialEq)]
/// struct Port {
///     #[statesync(id)]
///     switch: String,
///     #[statesync(id)]
///     number: u16,
///     #[statesync(eq = same_text)]
///     label: String,
///     #[statesync(rename = "admin-up")]
///     enabled: bool,
///     #[statesync(skip)]
///     polled_at: u64,
///     #[statesync(children)]
///     vlans: Store<Vlan>,
/// }
///
/// #[derive(DiffModel, Clone, Debug, PartialEq)]
/// struct Vlan {
///     #[statesync(id)]
///     id: u16,
/// }
///
/// let old = Port {
///     switch: "sw1".into(),
///     number: 1,
///     label: "Uplink".into(),
///     enabled: true,
///     polled_at: 1,
///     vlans: Store::try_from_iter([Vlan { id: 10 }])?,
/// };
/// let mut new = old.clone();
/// new.label = "UPLINK".into(); // equal under `eq`
/// new.polled_at = 2; // skipped
/// assert!(old.diff(&new)?.is_empty());
/// new.enabled = false;
/// new.vlans.insert(Vlan { id: 20 })?;
/// assert_eq!(
///     old.diff(&new)?.to_string(),
///     "~ port[switch=sw1, number=1] admin-up: true -> false\n  + vlan[id=20]\n"
/// );
/// assert_eq!(PortField::Enabled.name(), "admin-up");
/// # Ok::<(), statesync::Error>(())
/// ```
///
/// Container options:
///
/// - `name = "..."`: the model name (default: the type name in snake case).
/// - `crate = "..."`: the path to `statesync` when it is re-exported under another name.
/// - `bound = "..."`: where-predicates that replace the bounds inferred on type parameters.
/// - `flags = "IGNORE | ..."`: `sync::ModelFlags` for every sync of this model.
/// - `merge = "..."`: the model's merge strategy (`ours`, `theirs`, `newest`, `report`), the
///   default for its attributes and the rule for deleted-here, changed-there elements.
/// - `version = "field"`: the attribute `newest` compares. In a model that merges anything
///   by `newest`, it merges by `max` unless it declares a `merge` of its own, so the newest
///   side's version comes with its values.
/// - `sync_models = "A, B, C"`: for mutually recursive models, every model type reachable
///   from the cycle (its members and their other descendants); the sync impl then asks the
///   adapter for hooks for each instead of chasing child bounds (which would recurse
///   forever). Put the same list on each model of the cycle. In a generic cycle
///   (`sync_models = "Dir<T>, File<T>"`), a model whose parameter reaches the other members'
///   attributes or ids only through its children asks of it only `Clone`: give it what the
///   others ask with `bound` (`bound = "T: Clone + Debug + PartialEq"`). Models of a cycle
///   that also have children outside it must derive serde as well, when the `serde`
///   feature is on: the generated serde impls of their diffs cannot otherwise be checked
///   without a cycle of bounds. (A model that holds only itself, beside any other children,
///   needs no serde.)
/// - `key_type = "..."`, `field_type = "..."`, `changes_type = "..."`,
///   `child_diffs_type = "..."`: the names of the generated types (default `{Model}Key`,
///   `{Model}Field`, `{Model}Changes`, `{Model}ChildDiffs`), for when one is taken, say by
///   your own `PortKey` type. Each must differ from the model's and from the others' names.
///
/// ```
/// mod facade {
///     pub mod sync {
///         pub use statesync::*;
///     }
/// }
///
/// #[derive(facade::sync::DiffModel, Clone, Debug, PartialEq)]
/// #[statesync(name = "setting", crate = "facade::sync", bound = "T: Clone + std::fmt::Debug + PartialEq")]
/// struct Setting<T> {
///     #[statesync(id)]
///     key: String,
///     value: T,
/// }
///
/// use facade::sync::DiffModel as _;
/// assert_eq!(<Setting<u8> as facade::sync::DiffModel>::NAME, "setting");
/// let a = Setting { key: "mtu".into(), value: 1500 };
/// let b = Setting { key: "mtu".into(), value: 9000 };
/// assert_eq!(a.diff(&b)?.summary().update, 1);
/// # Ok::<(), statesync::Error>(())
/// ```
#[cfg(feature = "derive")]
pub use statesync_derive::DiffModel;
