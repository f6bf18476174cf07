//! The description of a model that `#[derive(DiffModel)]` emits, and the runtime work it
//! drives. A model describes its compared attributes once ([`Attribute`], through
//! [`DiffModel::visit_attributes`](crate::DiffModel::visit_attributes)) and its children
//! fields once ([`ChildField`], through
//! [`DiffModel::visit_child_fields`](crate::DiffModel::visit_child_fields)), the way a
//! `Serialize` impl drives any `Serializer`: diffing, checking, snapshotting, inverting,
//! applying and rendering the attributes, and diffing, checking, applying and walking the
//! children, are written here once, as visitors.
//!
//! Each attribute is reached through function pointers, so the per-attribute work runs
//! through functions compiled once per attribute *type* (`__private::diff_field_with::<String>`
//! serves every `String` attribute of every model).

use std::fmt::Debug;

use crate::children::ChildCollection;
use crate::diff::{Change, ChildTally, Diff};
use crate::error::Error;
use crate::model::{DiffModel, DiffObserver, DiffVisitor, ModelField, ModelVisitor, OnChange};

/// One compared attribute of `M`, of type `T`: its field, where it sits in a model and in a
/// record of changes, and its equality (`==`, or the field's `eq`).
pub struct Attribute<M: DiffModel, T> {
    /// The attribute's field.
    pub field: M::Field,
    /// The attribute in a model.
    pub get: fn(&M) -> &T,
    /// The attribute in a model, to set.
    pub get_mut: fn(&mut M) -> &mut T,
    /// The attribute's change in a record of changes.
    pub change: fn(&M::Changes) -> &Option<Change<T>>,
    /// The attribute's change in a record of changes, to set.
    pub change_mut: fn(&mut M::Changes) -> &mut Option<Change<T>>,
    /// The attribute's equality.
    pub eq: fn(&T, &T) -> bool,
}

// By hand: a derive would ask `M` and `T` to be `Copy`; the description only holds
// function pointers and a field.
impl<M: DiffModel, T> Clone for Attribute<M, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M: DiffModel, T> Copy for Attribute<M, T> {}

/// Visits the compared attributes of `M`, each with its own type.
pub trait AttributeVisitor<M: DiffModel> {
    /// Called once per compared attribute, in declaration order.
    fn attribute<T: Clone + Debug>(&mut self, attribute: &Attribute<M, T>);
}

/// One children field of `M`: its name, the collection in a model, and its diff in a record
/// of child diffs.
pub struct ChildField<M: DiffModel, C: ChildCollection> {
    /// The field's name.
    pub name: &'static str,
    /// The collection in a model.
    pub get: fn(&M) -> &C,
    /// The collection in a model, to change.
    pub get_mut: fn(&mut M) -> &mut C,
    /// The collection's diff in a record of child diffs.
    pub diff: fn(&M::ChildDiffs) -> &Diff<C::Model>,
    /// The collection's diff in a record of child diffs, to set.
    pub diff_mut: fn(&mut M::ChildDiffs) -> &mut Diff<C::Model>,
}

/// Visits the children fields of `M`, each with its own collection type.
pub trait ChildFieldVisitor<M: DiffModel> {
    /// Called once per children field, in declaration order.
    fn children<C: ChildCollection>(&mut self, field: &ChildField<M, C>);
}

/// The child diffs of a model without children fields (`DiffModel::ChildDiffs` of every
/// leaf model): nothing, written as `{}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct NoChildDiffs {}

pub(crate) struct DiffFields<'a, M: DiffModel> {
    pub(crate) old: &'a M,
    pub(crate) new: &'a M,
    pub(crate) changes: M::Changes,
}

// The hot visitors (every compared element runs them) are always inlined, so that the
// attribute's function pointers are constants where they are called, and the comparisons
// are inlined in turn.
impl<M: DiffModel> AttributeVisitor<M> for DiffFields<'_, M> {
    #[inline(always)]
    fn attribute<T: Clone + Debug>(&mut self, a: &Attribute<M, T>) {
        *(a.change_mut)(&mut self.changes) =
            crate::__private::diff_field_with((a.get)(self.old), (a.get)(self.new), a.eq);
    }
}

/// Whether two models hold the same value in every attribute: the common case, checked
/// before any record of changes is built.
pub(crate) struct SameAttributes<'a, M: DiffModel> {
    pub(crate) old: &'a M,
    pub(crate) new: &'a M,
    pub(crate) same: bool,
}

impl<M: DiffModel> AttributeVisitor<M> for SameAttributes<'_, M> {
    #[inline(always)]
    fn attribute<T: Clone + Debug>(&mut self, a: &Attribute<M, T>) {
        self.same =
            self.same && crate::__private::same_value((a.get)(self.old), (a.get)(self.new), a.eq);
    }
}

pub(crate) struct NoChange<'a, M: DiffModel>(pub(crate) &'a M::Changes, pub(crate) bool);

impl<M: DiffModel> AttributeVisitor<M> for NoChange<'_, M> {
    #[inline(always)]
    fn attribute<T: Clone + Debug>(&mut self, a: &Attribute<M, T>) {
        self.1 &= (a.change)(self.0).is_none();
    }
}

pub(crate) struct EachChange<'a, 'f, M: DiffModel>(
    pub(crate) &'a M::Changes,
    pub(crate) &'a mut OnChange<'f, M::Field>,
);

impl<M: DiffModel> AttributeVisitor<M> for EachChange<'_, '_, M> {
    fn attribute<T: Clone + Debug>(&mut self, a: &Attribute<M, T>) {
        if let Some(change) = (a.change)(self.0) {
            (self.1)(a.field, &change.old, &change.new);
        }
    }
}

/// Whether a record of changes changes any attribute to a value other than its old one
/// (a record `diff` makes always does; a hand-written `10 -> 10` does not).
pub(crate) struct ChangesAny<'a, M: DiffModel>(pub(crate) &'a M::Changes, pub(crate) bool);

impl<M: DiffModel> AttributeVisitor<M> for ChangesAny<'_, M> {
    fn attribute<T: Clone + Debug>(&mut self, a: &Attribute<M, T>) {
        if let Some(change) = (a.change)(self.0) {
            self.1 |= !crate::__private::same_value(&change.old, &change.new, a.eq);
        }
    }
}

/// The first attribute that no longer holds its change's old value.
pub(crate) struct FirstMoved<'a, M: DiffModel> {
    pub(crate) current: &'a M,
    pub(crate) changes: &'a M::Changes,
    pub(crate) moved: Option<&'static str>,
}

impl<M: DiffModel> AttributeVisitor<M> for FirstMoved<'_, M> {
    fn attribute<T: Clone + Debug>(&mut self, a: &Attribute<M, T>) {
        if self.moved.is_none()
            && !crate::__private::field_unmoved(
                (a.get)(self.current),
                (a.change)(self.changes),
                a.eq,
            )
        {
            self.moved = Some(a.field.name());
        }
    }
}

/// The current values of the attributes a record of changes touches.
pub(crate) struct Snapshot<'a, M: DiffModel> {
    pub(crate) current: &'a M,
    pub(crate) changes: &'a M::Changes,
    pub(crate) out: M::Changes,
}

impl<M: DiffModel> AttributeVisitor<M> for Snapshot<'_, M> {
    fn attribute<T: Clone + Debug>(&mut self, a: &Attribute<M, T>) {
        *(a.change_mut)(&mut self.out) =
            crate::__private::snapshot_field((a.get)(self.current), (a.change)(self.changes));
    }
}

pub(crate) struct Invert<'a, M: DiffModel> {
    pub(crate) changes: &'a M::Changes,
    pub(crate) out: M::Changes,
}

impl<M: DiffModel> AttributeVisitor<M> for Invert<'_, M> {
    fn attribute<T: Clone + Debug>(&mut self, a: &Attribute<M, T>) {
        *(a.change_mut)(&mut self.out) = crate::__private::invert_field((a.change)(self.changes));
    }
}

pub(crate) struct ApplyFields<'a, M: DiffModel> {
    pub(crate) target: &'a mut M,
    pub(crate) changes: &'a M::Changes,
}

impl<M: DiffModel> AttributeVisitor<M> for ApplyFields<'_, M> {
    fn attribute<T: Clone + Debug>(&mut self, a: &Attribute<M, T>) {
        crate::__private::apply_field((a.get_mut)(self.target), (a.change)(self.changes));
    }
}

pub(crate) struct InvertChildren<'a, M: DiffModel> {
    pub(crate) diffs: &'a M::ChildDiffs,
    pub(crate) out: M::ChildDiffs,
}

impl<M: DiffModel> ChildFieldVisitor<M> for InvertChildren<'_, M> {
    fn children<C: ChildCollection>(&mut self, field: &ChildField<M, C>) {
        *(field.diff_mut)(&mut self.out) = (field.diff)(self.diffs).invert();
    }
}

pub(crate) struct DiffChildren<'a, 'o, M: DiffModel> {
    pub(crate) old: &'a M,
    pub(crate) new: &'a M,
    pub(crate) observer: &'a mut (dyn DiffObserver + 'o),
    pub(crate) out: M::ChildDiffs,
    pub(crate) tally: ChildTally,
    pub(crate) error: Option<Error>,
}

impl<M: DiffModel> ChildFieldVisitor<M> for DiffChildren<'_, '_, M> {
    fn children<C: ChildCollection>(&mut self, field: &ChildField<M, C>) {
        if self.error.is_some() {
            return;
        }
        match crate::__private::diff_children(
            self.old,
            field.name,
            (field.get)(self.old),
            (field.get)(self.new),
            self.observer,
        ) {
            Ok(diff) => {
                self.tally.add(&diff);
                *(field.diff_mut)(&mut self.out) = diff;
            }
            Err(error) => self.error = Some(error),
        }
    }
}

pub(crate) struct CheckChildren<'a, M: DiffModel> {
    pub(crate) current: &'a M,
    pub(crate) diffs: &'a M::ChildDiffs,
    pub(crate) error: Option<Error>,
}

impl<M: DiffModel> ChildFieldVisitor<M> for CheckChildren<'_, M> {
    fn children<C: ChildCollection>(&mut self, field: &ChildField<M, C>) {
        if self.error.is_none()
            && let Err(error) = crate::__private::check_children(
                self.current,
                field.name,
                (field.get)(self.current),
                (field.diff)(self.diffs),
            )
        {
            self.error = Some(error);
        }
    }
}

pub(crate) struct ApplyChildren<'a, M: DiffModel> {
    pub(crate) target: &'a mut M,
    pub(crate) diffs: &'a M::ChildDiffs,
}

impl<M: DiffModel> ChildFieldVisitor<M> for ApplyChildren<'_, M> {
    fn children<C: ChildCollection>(&mut self, field: &ChildField<M, C>) {
        (field.get_mut)(self.target).apply_checked((field.diff)(self.diffs));
    }
}

pub(crate) struct EachChildDiff<'a, M: DiffModel, V>(
    pub(crate) &'a M::ChildDiffs,
    pub(crate) &'a mut V,
);

impl<M: DiffModel, V: DiffVisitor> ChildFieldVisitor<M> for EachChildDiff<'_, M, V> {
    #[inline(always)]
    fn children<C: ChildCollection>(&mut self, field: &ChildField<M, C>) {
        self.1.visit(field.name, (field.diff)(self.0));
    }
}

pub(crate) struct EachChild<'a, M: DiffModel, V>(pub(crate) &'a M, pub(crate) &'a mut V);

impl<M: DiffModel, V: ModelVisitor> ChildFieldVisitor<M> for EachChild<'_, M, V> {
    #[inline]
    fn children<C: ChildCollection>(&mut self, field: &ChildField<M, C>) {
        crate::__private::visit_children(field.name, (field.get)(self.0), self.1);
    }
}

/// Swaps the children collections of two models of one type, field by field: what a model
/// a create or update hook returned takes from the element it stands for
/// ([`Hooks::create_returning`](crate::sync::Hooks::create_returning)).
#[cfg(feature = "sync")]
pub(crate) fn swap_children<M: DiffModel>(a: &mut M, b: &mut M) {
    struct Swap<'m, M>(&'m mut M, &'m mut M);

    impl<M: DiffModel> ChildFieldVisitor<M> for Swap<'_, M> {
        fn children<C: ChildCollection>(&mut self, field: &ChildField<M, C>) {
            std::mem::swap((field.get_mut)(self.0), (field.get_mut)(self.1));
        }
    }

    M::visit_child_fields(&mut Swap(a, b));
}

/// Empties every children collection of `model`: what is left of a model whose subtree
/// left the system with it (a root memory keeps after its delete), or of one a side
/// deleted (a merge's agreement). Each child is removed by key, so a `Store` that tracks
/// its changes records them.
#[cfg(any(feature = "sync", feature = "merge"))]
pub(crate) fn clear_children<M: DiffModel>(model: &mut M) {
    struct Clear<'m, M>(&'m mut M);

    impl<M: DiffModel> ChildFieldVisitor<M> for Clear<'_, M> {
        fn children<C: ChildCollection>(&mut self, field: &ChildField<M, C>) {
            let children = (field.get_mut)(self.0);
            let keys = children.child_keys();
            children.remove_children(&keys);
        }
    }

    M::visit_child_fields(&mut Clear(model));
}
