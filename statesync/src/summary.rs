//! [`Summary`]: create / update / delete / unchanged counts over a whole diff tree.

use std::fmt;

use crate::any_model::AnyModel;
use crate::depth::{SubtreeSink, walk_subtree};
use crate::diff::{Action, Diff};
use crate::model::{DiffModel, DiffVisitor};

/// Counts over a whole diff tree. Each model instance is one element: `create` if only in
/// the new state, `delete` if only in the old, `update` if in both with at least one
/// differing attribute, `unchanged` otherwise. Children of a created or deleted parent count
/// as creates or deletes themselves (the counting rule of Python's diffsync). The root is
/// an element too, where diffsync's adapter is none: a sync's counts and a delete limit's
/// size are one higher than diffsync's for the same records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Summary {
    /// Elements only in the new state.
    pub create: usize,
    /// Elements in both states with a differing attribute.
    pub update: usize,
    /// Elements only in the old state.
    pub delete: usize,
    /// Elements in both states with no differing attribute.
    pub unchanged: usize,
    /// Elements a sync's flags leave alone (diffsync's `skip`, but each with its
    /// descendants, as `unchanged` counts them; diffsync counts a skipped element once),
    /// and those it does not try because of an element it refuses (under it, or the new
    /// model of a root whose old one stays: `sync::Plan::refused`):
    /// always 0 in the summary of a [`Diff`]; counted in the summary of a
    /// `sync::Plan`, where skipped elements are neither changes nor
    /// unchanged.
    #[cfg_attr(feature = "serde", serde(default))]
    pub skip: usize,
}

impl Summary {
    /// Creates, updates and deletes together.
    pub fn changes(&self) -> usize {
        self.create
            .saturating_add(self.update)
            .saturating_add(self.delete)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "create: {}, update: {}, delete: {}, unchanged: {}",
            self.create, self.update, self.delete, self.unchanged
        )?;
        if self.skip > 0 {
            write!(f, ", skip: {}", self.skip)?;
        }
        Ok(())
    }
}

/// Counts the models of a subtree.
struct SubtreeSize(usize);

impl SubtreeSink for SubtreeSize {
    fn model(&mut self, _depth: usize, _name: &'static str, _key: &dyn fmt::Display) {
        self.0 = self.0.saturating_add(1);
    }
}

/// The number of elements in a model's subtree, the model included (within
/// [`MAX_DEPTH`](crate::MAX_DEPTH): a deeper tree is counted down to the limit).
pub(crate) fn subtree_size(model: &dyn AnyModel) -> usize {
    subtree_count(model).0
}

/// [`subtree_size`], and whether the subtree is within [`MAX_DEPTH`](crate::MAX_DEPTH)
/// (counted whole).
pub(crate) fn subtree_count(model: &dyn AnyModel) -> (usize, bool) {
    let mut size = SubtreeSize(1);
    // Too deep a tree is counted as far as it goes; the diff itself refuses it.
    let whole = walk_subtree(model, &mut size).is_ok();
    (size.0, whole)
}

impl DiffVisitor for Summary {
    fn visit<C: DiffModel>(&mut self, _field: &'static str, diff: &Diff<C>) {
        self.unchanged = self.unchanged.saturating_add(diff.unchanged_here());
        for element in diff.elements() {
            match &element.action {
                Action::Create(model) => {
                    self.create = self.create.saturating_add(subtree_size(model))
                }
                Action::Delete(model) => {
                    self.delete = self.delete.saturating_add(subtree_size(model))
                }
                Action::Update(update) => {
                    if update.has_field_changes() {
                        self.update = self.update.saturating_add(1);
                    } else {
                        self.unchanged = self.unchanged.saturating_add(1);
                    }
                    C::visit_child_diffs(&update.children, self);
                }
            }
        }
    }
}

impl<M: DiffModel> Diff<M> {
    /// Create / update / delete / unchanged counts over the whole tree.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        summary.visit("", self);
        summary
    }
}
