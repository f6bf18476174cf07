//! Three-way merge of whole hierarchies, with per-field strategies and conflicts that are
//! listed, never dropped.
//!
//! Per field, against the base: unchanged on both sides → kept; changed on one side → that
//! side's value; changed on both to the same value → that value; changed on both to
//! different values → the field's strategy decides, or a [`Conflict`] is listed. Children
//! are merged by key: created on one side → created; deleted on one side and untouched on
//! the other (or changed only by deletes in its subtree) → deleted; deleted on one side and
//! changed on the other → the model's strategy decides when it is `ours` or `theirs`
//! (default: a conflict); created on both sides → merged field by field against an
//! empty base. Conflicts are listed model by model, parents first: a model's attributes in
//! declaration order, then its children's conflicts.
//!
//! ```
//! use statesync::merge::{merge, MergeOptions};
//! use statesync::DiffModel;
//!
//! #[derive(DiffModel, Clone, Debug, PartialEq)]
//! struct Port {
//!     #[statesync(id)]
//!     name: String,
//!     #[statesync(merge = "max")]
//!     mtu: u32,
//!     #[statesync(merge = "union")]
//!     vlans: Vec<u16>,
//!     description: String, // no strategy: a conflict is reported, ours is kept
//! }
//!
//! let base = Port { name: "et-1".into(), mtu: 1500, vlans: vec![10], description: "a".into() };
//! let ours = Port { mtu: 9000, vlans: vec![10, 20], description: "ours".into(), ..base.clone() };
//! let theirs = Port { mtu: 9216, vlans: vec![10, 30], description: "theirs".into(), ..base.clone() };
//!
//! let merged = merge(&base, &ours, &theirs, &MergeOptions::default())?;
//! assert_eq!(merged.value.mtu, 9216);
//! assert_eq!(merged.value.vlans, [10, 20, 30]);
//! assert_eq!(merged.value.description, "ours");
//! assert_eq!(merged.conflicts.len(), 1);
//! assert_eq!(merged.conflicts[0].path, "port[name=et-1].description");
//! assert_eq!(merged.conflicts[0].theirs.as_deref(), Some("\"theirs\""));
//! # Ok::<(), statesync::Error>(())
//! ```

#[cfg(feature = "sync")]
mod bidirectional;
mod context;
mod history;
#[cfg(feature = "history")]
mod history_file;
mod strategy;

#[cfg(feature = "sync")]
pub use bidirectional::{BidirectionalReport, sync_bidirectional, sync_bidirectional_with};
pub use context::{Conflict, ConflictKind, Kept, MergeOptions, Merged};
// One merge in progress and the attributes' declared strategies: what generated code
// passes along.
#[doc(hidden)]
pub use context::{MergeCx, Rule, RuleVisitor};
pub use history::{Commit, History, Refused};
#[cfg(feature = "history")]
pub use history_file::ReplayError;
pub use strategy::{MergeUnion, Preference, Strategy};

use std::fmt::Debug;

use crate::model::DiffModel;

/// A model that can be merged three-way: `#[derive(DiffModel)]` implements it (with the
/// `merge` feature) for every `'static` model that is also `Debug` (conflicts show values
/// the way a plan does). What it describes (the attributes with a declared strategy, how
/// the children merge) is turned into a merge by generic runtime code, compiled only where
/// a merge of the model is.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be merged",
    label = "no merge for this model",
    note = "`#[derive(DiffModel)]` implements it for a `'static` model that is `Debug` and whose children models derive `DiffModel` and are `Debug` too"
)]
pub trait MergeModel: DiffModel + Debug + 'static {
    /// The model's merge strategy (`#[statesync(merge = "...")]`; default `Report`): the
    /// default for its fields, and the rule for an element deleted on one side and changed
    /// on the other.
    const MERGE_STRATEGY: Strategy = Strategy::Report;

    /// The display name of the version field (`#[statesync(version = "...")]`), if any:
    /// under a per-call `Newest` preference for the model or any of its fields, it merges
    /// by `Newest` too (the newer side's version comes with its values) unless it has a
    /// rule or a per-call preference of its own.
    #[doc(hidden)]
    const VERSION_FIELD: Option<&'static str> = None;

    /// How the version fields of two models compare (`#[statesync(version = "...")]`), for
    /// the `newest` strategy.
    #[doc(hidden)]
    #[inline]
    fn newer(_ours: &Self, _theirs: &Self) -> Option<std::cmp::Ordering> {
        None
    }

    /// Calls the visitor with each attribute that declares a strategy (generated).
    #[doc(hidden)]
    #[inline]
    fn visit_rules<V: RuleVisitor<Self>>(_visitor: &mut V) {}

    /// `ours` with its children merged by key (generated for models with children).
    /// `intended`, in the agreement after a bidirectional sync, is the element in the merge
    /// that sync carried (see `MergeCx::field`).
    #[doc(hidden)]
    #[inline]
    fn merge_children(
        _base: Option<&Self>,
        ours: &Self,
        _theirs: &Self,
        _intended: Option<&Self>,
        _cx: &mut MergeCx<'_>,
    ) -> Self {
        ours.clone()
    }
}

/// Merges `ours` and `theirs`, both changed from `base`; conflicts kept as `ours`.
///
/// # Errors
/// What [`DiffModel::diff`] refuses in a side, wherever the merge meets it (in what it
/// merges level by level and in a subtree it takes whole), with `diff`'s error naming the
/// element by its path from the root: [`Error::TooDeep`](crate::Error::TooDeep) for an
/// element deeper than [`crate::MAX_DEPTH`] (so a tree of any depth merges without
/// overflowing the stack), [`Error::DuplicateKey`](crate::Error::DuplicateKey) for a
/// `Vec` holding a key twice, [`Error::SetAside`](crate::Error::SetAside) for a `Store`
/// holding a model set aside after a colliding rename, [`Error::KeyMismatch`](crate::Error::KeyMismatch) for a map holding a
/// child under another key than its own (its id changed in place).
pub fn merge<M: MergeModel>(
    base: &M,
    ours: &M,
    theirs: &M,
    options: &MergeOptions,
) -> Result<Merged<M>, crate::Error> {
    merge_keeping(base, ours, theirs, options, Kept::Ours)
}

/// Like [`merge`], choosing which value a reported conflict keeps: ours, theirs or the
/// base's (a bidirectional sync uses all three: one per side and one for the new base).
///
/// # Errors
/// As [`merge`].
pub fn merge_keeping<M: MergeModel>(
    base: &M,
    ours: &M,
    theirs: &M,
    options: &MergeOptions,
    kept: Kept,
) -> Result<Merged<M>, crate::Error> {
    let mut cx = MergeCx::new(options, kept);
    let value = cx.merge_root(base, ours, theirs, None)?;
    Ok(Merged {
        value,
        conflicts: cx.into_conflicts()?,
    })
}

/// What `a` and `b` hold alike, with the base's values and elements everywhere else, and
/// the base's whole where the merge before the sync reported one of `conflicts` (see
/// `MergeCx::agreement`): the base a bidirectional sync moves to when a side failed.
#[cfg(feature = "sync")]
///
/// `intended` is the merge the sync carried (the new base had both sides taken it whole).
/// Where one side holds its value and the other does not, the other side's value is
/// taken (the merge took it in). It also tells apart, under a root both sides now hold under a new key, a child one side
/// lacks because its create there failed (the merge holds it: it is not agreed, and is
/// left out) from one it lacks because its delete never reached the other side (the merge
/// does not hold it: the old base's copy stays, so the delete comes again).
pub(crate) fn agreement<M: MergeModel>(
    base: &M,
    a: &M,
    b: &M,
    conflicts: &[Conflict],
    intended: &M,
) -> Result<M, crate::Error> {
    let options = MergeOptions::default();
    let mut cx = MergeCx::agreement(&options, conflicts);
    if a.same_key(b) && !a.same_key(base) {
        let base = context::without_children_held_by(base, intended, conflicts);
        return cx.merge_root(&base, a, b, Some(intended));
    }
    cx.merge_root(base, a, b, Some(intended))
}
