//! The [`DiffModel`] trait that `#[derive(DiffModel)]` implements, and the visitors that walk
//! a model's children without knowing their types in advance.

use std::fmt::{Debug, Display};
use std::hash::Hash;

use crate::diff::Diff;
use crate::error::Error;
use crate::fields::{
    ApplyChildren, ApplyFields, AttributeVisitor, CheckChildren, ChildFieldVisitor, DiffFields,
    EachChange, EachChild, EachChildDiff, FirstMoved, Invert, InvertChildren, NoChange, Snapshot,
};

/// What a generated key type (`DeviceKey`) provides: it is owned, ordered, hashable and
/// printable (`site=nyc, name=sw1`). Each `id` field's type is one too: the derive checks it
/// once per field, at the field.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a key: it is not `Clone + Eq + Ord + Hash + Debug + Display`",
    label = "an `id` field's type must have each of these traits",
    note = "derive the ones it lacks (`Display` by hand), or key the model by a field of another type"
)]
pub trait ModelKey: Clone + Eq + Ord + Hash + Debug + Display {}

impl<K: Clone + Eq + Ord + Hash + Debug + Display> ModelKey for K {}

/// What a generated field enum (`DeviceField`) provides: one variant per compared attribute.
pub trait ModelField: Copy + Eq + Debug + 'static {
    /// Every compared field, in declaration order.
    const ALL: &'static [Self];

    /// The display name of the field (its `rename`, or the field's name).
    fn name(self) -> &'static str;
}

/// A model whose instances can be diffed field by field and matched by key across a
/// hierarchy. Implement it with `#[derive(DiffModel)]`; the methods are the small per-model
/// pieces the runtime (diff, apply, rendering, sync) is built from.
///
/// Models are `Clone` (derive it beside `DiffModel`): a diff owns the models it creates and
/// deletes, so that `state.apply(&state.diff(&new)?)` does not borrow `state` twice. A diff
/// is `Debug` and `PartialEq` when its models are.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a statesync model",
    label = "`{Self}` does not derive `DiffModel`",
    note = "add `#[derive(DiffModel)]` to `{Self}` (every model in a tree derives it, children included); a generic model that derives it is a model only where its type parameters have the traits its impl asks (`Clone + Debug + PartialEq` of a compared field's)"
)]
pub trait DiffModel: Clone {
    /// The generated key type, built from the `#[statesync(id)]` fields (`()`-like for a
    /// singleton).
    type Key: ModelKey;
    /// The generated field enum, one variant per compared attribute.
    type Field: ModelField;
    /// The generated record of changed attributes: one `Option<Change<T>>` per field.
    type Changes: Clone + Debug + PartialEq + Default;
    /// The generated record of child diffs: one [`Diff`] per `children` field (`Debug` and
    /// `PartialEq` when the child models are).
    type ChildDiffs: Clone + Default;

    /// The model's name (`#[statesync(name = "...")]`, default the type name in snake case).
    const NAME: &'static str;

    /// The flags declared in the derive (`#[statesync(flags = "...")]`), as bits the core
    /// keeps for the layer that reads them (`sync::ModelFlags`; see `sync::SyncModel::FLAGS`).
    #[doc(hidden)]
    const DECLARED_FLAGS: u8 = 0;

    /// Whether a model of this type can hold, below it, a model that holds itself (a
    /// children field in a cycle, its own or a child model's): reading a created or deleted
    /// one in a diff then bounds its nesting (generated).
    #[doc(hidden)]
    const NESTS_ITSELF: bool = false;

    /// Whether a created or deleted model, or an update, of this type read with serde in a
    /// diff bounds its nesting: it nests itself, or a field of it or of a descendant is of
    /// a type whose nesting the derive cannot see to be bounded (a recursive enum, say).
    #[doc(hidden)]
    const READ_BOUNDED: bool = Self::NESTS_ITSELF;

    /// The model's key, built from its id fields.
    fn key(&self) -> Self::Key;

    /// Whether this model's id fields equal `key`, without building a key.
    #[doc(hidden)]
    fn has_key(&self, key: &Self::Key) -> bool;

    /// Whether two models have the same key, without building keys.
    #[doc(hidden)]
    fn same_key(&self, other: &Self) -> bool;

    /// Hashes the model's key into `state` as the key's own `Hash` does (the derive hashes
    /// the id fields in order, without building the key).
    #[doc(hidden)]
    fn hash_key(&self, state: &mut crate::__private::KeyHasher) {
        std::hash::Hash::hash(&self.key(), state);
    }

    /// Calls the visitor with each compared attribute, in declaration order: the model's
    /// description, generated; the runtime builds diff, check, apply and rendering on it.
    #[doc(hidden)]
    fn visit_attributes<V: AttributeVisitor<Self>>(visitor: &mut V);

    /// Calls the visitor with each children field, in declaration order (generated for a
    /// model with children fields; by default there are none, so an impl written by hand
    /// for a model with children must write it, or its children are never diffed).
    #[doc(hidden)]
    #[inline(always)]
    fn visit_child_fields<V: ChildFieldVisitor<Self>>(visitor: &mut V) {
        let _ = visitor;
    }

    /// The compared attributes that differ from `self` to `new`; clones only what changed.
    #[doc(hidden)]
    #[inline]
    fn diff_fields(&self, new: &Self) -> Self::Changes {
        let mut diff = DiffFields {
            old: self,
            new,
            changes: Self::Changes::default(),
        };
        Self::visit_attributes(&mut diff);
        diff.changes
    }

    /// Whether a record of changes holds no change.
    #[doc(hidden)]
    #[inline]
    fn changes_are_empty(changes: &Self::Changes) -> bool {
        let mut empty = NoChange::<Self>(changes, true);
        Self::visit_attributes(&mut empty);
        empty.1
    }

    /// Calls `f` with each changed field, its old and its new value, in declaration order.
    #[doc(hidden)]
    fn for_each_change(changes: &Self::Changes, f: &mut OnChange<'_, Self::Field>) {
        Self::visit_attributes(&mut EachChange::<Self>(changes, f));
    }

    /// Child diffs the other way (see [`Diff::invert`]).
    #[doc(hidden)]
    fn invert_child_diffs(diffs: &Self::ChildDiffs) -> Self::ChildDiffs {
        let mut invert = InvertChildren::<Self> {
            diffs,
            out: Self::ChildDiffs::default(),
        };
        Self::visit_child_fields(&mut invert);
        invert.out
    }

    /// The same changes the other way: every old value becomes the new one.
    #[doc(hidden)]
    fn invert_changes(changes: &Self::Changes) -> Self::Changes {
        let mut invert = Invert::<Self> {
            changes,
            out: Self::Changes::default(),
        };
        Self::visit_attributes(&mut invert);
        invert.out
    }

    /// Checks that every changed attribute still holds the change's old value (under the
    /// field's equality); the name of the first that does not.
    ///
    /// # Errors
    /// The display name of the field that moved on.
    #[doc(hidden)]
    fn check_fields(&self, changes: &Self::Changes) -> Result<(), &'static str> {
        let mut check = FirstMoved {
            current: self,
            changes,
            moved: None,
        };
        Self::visit_attributes(&mut check);
        check.moved.map_or(Ok(()), Err)
    }

    /// The current values of the attributes `changes` touches, as a record that restores
    /// them when applied.
    #[doc(hidden)]
    fn snapshot_fields(&self, changes: &Self::Changes) -> Self::Changes {
        let mut snapshot = Snapshot {
            current: self,
            changes,
            out: Self::Changes::default(),
        };
        Self::visit_attributes(&mut snapshot);
        snapshot.out
    }

    /// Sets the changed attributes to their new values.
    #[doc(hidden)]
    fn apply_fields(&mut self, changes: &Self::Changes) {
        Self::visit_attributes(&mut ApplyFields {
            target: self,
            changes,
        });
    }

    /// Checks that child diffs can be applied to `self`, changing nothing.
    ///
    /// # Errors
    /// [`Error::NotFound`] or [`Error::AlreadyExists`] naming the element at fault.
    #[doc(hidden)]
    fn check_children(&self, diffs: &Self::ChildDiffs) -> Result<(), Error> {
        let mut check = CheckChildren {
            current: self,
            diffs,
            error: None,
        };
        Self::visit_child_fields(&mut check);
        check.error.map_or(Ok(()), Err)
    }

    /// Applies child diffs that [`DiffModel::check_children`] accepted.
    #[doc(hidden)]
    fn apply_children(&mut self, diffs: &Self::ChildDiffs) {
        Self::visit_child_fields(&mut ApplyChildren {
            target: self,
            diffs,
        });
    }

    /// Calls the visitor with each child diff, in declaration order.
    #[doc(hidden)]
    #[inline]
    fn visit_child_diffs<V: DiffVisitor>(diffs: &Self::ChildDiffs, visitor: &mut V) {
        Self::visit_child_fields(&mut EachChildDiff::<Self, V>(diffs, visitor));
    }

    /// Calls the visitor with each child model, collection by collection, in order.
    #[doc(hidden)]
    fn visit_children<V: ModelVisitor>(&self, visitor: &mut V) {
        Self::visit_child_fields(&mut EachChild(self, visitor));
    }

    /// The change that turns `self` into `new`: an update of `self` when the keys are equal,
    /// a delete of `self` and a create of `new` when they are not.
    ///
    /// # Errors
    /// [`Error::DuplicateKey`] when a `Vec` of children holds two children with one key;
    /// the error names the parent and the key. [`Error::KeyMismatch`] for a map of
    /// children holding a model under another key than its own. [`Error::SetAside`] for a
    /// `Store` of children holding a model set aside after a colliding rename.
    /// [`Error::TooDeep`] for a tree deeper than [`crate::MAX_DEPTH`].
    #[inline]
    fn diff(&self, new: &Self) -> Result<Diff<Self>, Error> {
        Diff::between(self, new, &mut Unobserved)
    }

    /// [`DiffModel::diff`], telling `observer` how many elements of `new` it has visited
    /// (for progress on long diffs).
    ///
    /// # Errors
    /// As [`DiffModel::diff`].
    fn diff_observed(
        &self,
        new: &Self,
        observer: &mut dyn DiffObserver,
    ) -> Result<Diff<Self>, Error> {
        Diff::between(self, new, observer)
    }

    /// Applies a diff made by [`DiffModel::diff`]: checks the whole diff first, then applies
    /// it, so a failed apply leaves `self` unchanged. Whenever it succeeds, applying
    /// [`Diff::invert`] restores `self` in every compared field (a `skip` field of a
    /// re-created model is the diff's, and a `Vec` of children may come back in another
    /// order: see [`Diff::invert`]).
    ///
    /// # Errors
    /// [`Error::NotFound`] or [`Error::AlreadyExists`] naming the element when the diff was
    /// not made for this state; [`Error::Stale`] when an updated field or a deleted element
    /// changed since; [`Error::DuplicateKey`] or [`Error::KeyMismatch`] for a diff or a
    /// created model that is not consistent; [`Error::SetAside`] for a `Store` holding a
    /// model set aside after a colliding rename; [`Error::TooDeep`] beyond
    /// [`crate::MAX_DEPTH`].
    fn apply(&mut self, diff: &Diff<Self>) -> Result<(), Error> {
        diff.apply_to_root(self)
    }
}

/// Told how far a diff has got, counted in elements of the new state: each element
/// compared (present on both sides) counts one, at every depth, and a created element
/// counts its whole subtree. A whole diff thus counts every element of the new state once.
pub trait DiffObserver {
    /// `count` more elements of the new state visited.
    fn visited(&mut self, count: usize);

    /// Whether created subtrees should be measured (walking them costs; the default
    /// observer does not want it, and is then told `1` per created element).
    fn counts_subtrees(&self) -> bool {
        false
    }
}

/// The observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unobserved;

impl DiffObserver for Unobserved {
    #[inline]
    fn visited(&mut self, _count: usize) {}
}

/// A callback given each changed field with its old and new value.
pub type OnChange<'a, F> = dyn FnMut(F, &dyn Debug, &dyn Debug) + 'a;

/// Walks the child diffs of an update. The method is generic, so each call is
/// monomorphised for the child's model type.
pub trait DiffVisitor {
    /// Called with the name of a children field and its diff.
    fn visit<C: DiffModel>(&mut self, field: &'static str, diff: &Diff<C>);
}

/// Walks the children of a model. The method is generic, so each call is monomorphised for
/// the child's model type.
pub trait ModelVisitor {
    /// Whether children must come in key order (rather than the collection's own order),
    /// for output that must not depend on insertion order. Off by default: sorting costs.
    const KEY_ORDER: bool = false;

    /// [`ModelVisitor::KEY_ORDER`], for a visitor that decides when it runs.
    fn key_order(&self) -> bool {
        Self::KEY_ORDER
    }

    /// Called with the name of a children field and one child model.
    fn visit<C: DiffModel>(&mut self, field: &'static str, child: &C);
}
