//! A model seen without its type: [`AnyModel`], what the walks over whole subtrees (the
//! depth check, counting, rendering created and deleted subtrees) need of each model.
//!
//! Every `DiffModel` is an `AnyModel`, so these walks are compiled once, not once per model
//! type: each model type brings three small functions (its name, its key, its children),
//! where a generic walk brought a copy of the whole walk.

use std::fmt;

use crate::children::ChildCollection;
use crate::fields::{ChildField, ChildFieldVisitor};
use crate::model::DiffModel;

/// Called with the name of a children field and one child.
pub(crate) type OnChild<'f> = dyn FnMut(&'static str, &dyn AnyModel) + 'f;

/// A model behind `&dyn`: its name, its key and its children.
pub(crate) trait AnyModel {
    /// The model's name ([`DiffModel::NAME`]).
    fn name(&self) -> &'static str;

    /// Writes the model's key.
    fn fmt_key(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;

    /// Calls `f` with each child, collection by collection, each collection in key order
    /// when `key_order` is set (for output that must not depend on insertion order), or
    /// else in its own order.
    fn each_child(&self, key_order: bool, f: &mut OnChild<'_>);

    /// The model's children fields that share their model type with another of its
    /// children fields (see [`fields_sharing_a_model`]).
    fn fields_sharing_a_model(&self) -> Vec<&'static str>;
}

impl<M: DiffModel> AnyModel for M {
    fn name(&self) -> &'static str {
        M::NAME
    }

    fn fmt_key(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.key(), f)
    }

    fn each_child(&self, key_order: bool, f: &mut OnChild<'_>) {
        M::visit_child_fields(&mut EachChild {
            model: self,
            key_order,
            f,
        });
    }

    fn fields_sharing_a_model(&self) -> Vec<&'static str> {
        fields_sharing_a_model::<M>()
    }
}

/// The children fields of `M` whose model (by name) another children field of `M` holds
/// too, such as a firewall's `ingress` and `egress` rules: what a rendering names, since
/// the model and key alone do not say which collection an element is in. Empty for a
/// model with fewer than two children fields (without allocating).
pub(crate) fn fields_sharing_a_model<M: DiffModel>() -> Vec<&'static str> {
    /// `(field, model)` pairs; the first is held apart, so that a model with one
    /// children field (most parents) allocates nothing.
    #[derive(Default)]
    struct Fields {
        first: Option<(&'static str, &'static str)>,
        all: Vec<(&'static str, &'static str)>,
    }

    impl<M: DiffModel> ChildFieldVisitor<M> for Fields {
        fn children<C: ChildCollection>(&mut self, field: &ChildField<M, C>) {
            let pair = (field.name, <C::Model as DiffModel>::NAME);
            match self.first {
                None => self.first = Some(pair),
                Some(first) => {
                    if self.all.is_empty() {
                        self.all.push(first);
                    }
                    self.all.push(pair);
                }
            }
        }
    }

    let mut fields = Fields::default();
    M::visit_child_fields(&mut fields);
    shared(&fields.all)
}

/// Of `(field, model)` pairs, the fields whose model another field has too.
fn shared(fields: &[(&'static str, &'static str)]) -> Vec<&'static str> {
    fields
        .iter()
        .filter(|(field, model)| {
            fields
                .iter()
                .any(|(other, other_model)| other != field && other_model == model)
        })
        .map(|(field, _)| *field)
        .collect()
}

/// A model's key, built when it is displayed.
pub(crate) struct KeyOf<'a>(pub(crate) &'a dyn AnyModel);

impl fmt::Display for KeyOf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt_key(f)
    }
}

/// Hands each children field's models to `f`.
struct EachChild<'a, 'f, M> {
    model: &'a M,
    key_order: bool,
    f: &'a mut OnChild<'f>,
}

impl<M: DiffModel> ChildFieldVisitor<M> for EachChild<'_, '_, M> {
    fn children<C: ChildCollection>(&mut self, field: &ChildField<M, C>) {
        each_child_of(field.name, (field.get)(self.model), self.key_order, self.f);
    }
}

/// Calls `f` with each model of one collection (one copy per collection type).
fn each_child_of<C: ChildCollection>(
    field: &'static str,
    children: &C,
    key_order: bool,
    f: &mut OnChild<'_>,
) {
    if key_order {
        for (_, child) in &crate::__private::in_key_order(children) {
            f(field, *child);
        }
    } else {
        children.for_each_child(&mut |child| f(field, child));
    }
}
