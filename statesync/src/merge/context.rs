//! The state of one merge: options, the path being merged, and the conflicts found.

use std::any::TypeId;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::fmt::{self, Debug};

use crate::children::ChildCollection;
use crate::depth::Level;
use crate::diff::Diff;
use crate::error::Error;
use crate::fields::{Attribute, AttributeVisitor};
use crate::model::{DiffModel, ModelField};

use super::MergeModel;
use super::strategy::{Preference, Strategy};

/// Which value a reported conflict keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Kept {
    /// Our side's value.
    Ours,
    /// Their side's value.
    Theirs,
    /// The base's value (so the conflict comes up again next time).
    Base,
}

/// What conflicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ConflictKind {
    /// A field changed to different values on both sides.
    Field,
    /// An element deleted on one side and changed on the other.
    DeleteUpdate,
    /// The root's key changed on both sides to different keys, or on one side while the
    /// other side changed the root: a root holds one model, so the two cannot both be kept.
    RootKey,
}

/// A conflict the strategies did not resolve. Values are rendered with `Debug`; `None`
/// stands for "absent" (no base for an element created on both sides, or a deleted side).
/// A conflict about a whole element (its delete, its root key) shows the first 1,024 bytes
/// of each model's rendering, marked ` …` where cut, not its whole subtree; a delete or a
/// rename against an edit also shows what the edit changed ([`Conflict::changes`]), which
/// may lie past the cut.
///
/// Its `Display` is one line, but for a conflict with an edit's plan
/// ([`Conflict::changes`]), which follows on lines of its own. It is `#[non_exhaustive]`: the merge makes conflicts,
/// and a field added to them is not a breaking change.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Conflict {
    /// Where: the element from the root and the field, as an error's path names an element
    /// (`inventory.sites.site[name=nyc].devices.device[site=nyc, name=sw1].role`; the
    /// element alone for a conflict about a whole element).
    pub path: String,
    /// What conflicted.
    pub kind: ConflictKind,
    /// The base value.
    pub base: Option<String>,
    /// Our value.
    pub ours: Option<String>,
    /// Their value.
    pub theirs: Option<String>,
    /// For a delete against an edit ([`ConflictKind::DeleteUpdate`]), or a root's key
    /// changed on one side while the other edited the root ([`ConflictKind::RootKey`]):
    /// what the editing side changed since the base, as a plan (the rendering of the
    /// base's diff to it, first 4,096 bytes, marked ` …` where cut). `None` otherwise (a
    /// field's conflict, or a root renamed on both sides).
    pub changes: Option<String>,
    /// For a field whose strategy, other than `report`, could not decide: why (`newest`
    /// given two equal versions, `max` two values that do not compare, a `merge_with`
    /// function that returned `None`); for a delete against an edit, that only `ours` and
    /// `theirs` decide one. `None` for a conflict `report` leaves.
    #[cfg_attr(feature = "serde", serde(default))]
    pub undecided: Option<String>,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |value: &Option<String>| value.clone().unwrap_or_else(|| "(absent)".into());
        write!(
            f,
            "{}: base {}, ours {}, theirs {}",
            self.path,
            show(&self.base),
            show(&self.ours),
            show(&self.theirs)
        )?;
        if let Some(undecided) = &self.undecided {
            write!(f, " ({undecided})")?;
        }
        match &self.changes {
            Some(changes) => write!(f, "; changed since the base:\n{}", changes.trim_end()),
            None => Ok(()),
        }
    }
}

/// A merged value and the conflicts listed on the way.
#[derive(Debug, Clone, PartialEq)]
#[must_use = "the merged value, and the conflicts it lists"]
pub struct Merged<M> {
    /// The merged model.
    pub value: M,
    /// Conflicts no strategy resolved, in the order they were found.
    pub conflicts: Vec<Conflict>,
}

/// Per-call strategy overrides, by model type and field.
#[derive(Debug, Clone, Default)]
pub struct MergeOptions {
    overrides: HashMap<(TypeId, Option<&'static str>), Strategy>,
}

impl MergeOptions {
    /// Overrides the strategy for one field of `M` (`Some(field)`), or for the model (`None`:
    /// every field without a per-call field override, declared strategies included, and its
    /// delete/update conflicts). Only the strategies of [`Preference`] can be set per call:
    /// the others need code the derive generates for the declared field. Overrides are
    /// kept by model type: two model types that share a name do not share overrides.
    pub fn prefer<M: MergeModel>(
        mut self,
        field: Option<M::Field>,
        preference: Preference,
    ) -> Self {
        self.overrides.insert(
            (TypeId::of::<M>(), field.map(ModelField::name)),
            preference.into(),
        );
        self
    }

    fn for_field(&self, model: TypeId, field: &'static str) -> Option<Strategy> {
        self.overrides
            .get(&(model, Some(field)))
            .or_else(|| self.overrides.get(&(model, None)))
            .copied()
    }

    /// Whether a per-call preference makes the model or one of its fields merge by
    /// `Newest`.
    fn prefers_newest(&self, model: TypeId) -> bool {
        self.overrides
            .iter()
            .any(|((of, _), strategy)| *of == model && matches!(strategy, Strategy::Newest))
    }

    fn for_model(&self, model: TypeId) -> Option<Strategy> {
        self.overrides.get(&(model, None)).copied()
    }
}

/// An attribute with a declared merge strategy (`merge = "..."` or `merge_with`): the
/// attribute (where it sits, its equality), and the function that runs `Max`, `Min`,
/// `Union` or `Custom`.
pub struct Rule<M: DiffModel, T> {
    /// The attribute, as the model describes it to the core.
    pub attribute: Attribute<M, T>,
    /// The declared strategy.
    pub strategy: Strategy,
    /// Resolves a conflict under `Max`, `Min`, `Union` or `Custom` (`None`: unresolved).
    pub resolve: fn(Option<&T>, &T, &T) -> Option<T>,
}

/// Visits the attributes of `M` that declare a merge strategy.
pub trait RuleVisitor<M: DiffModel> {
    /// Called once per attribute with a declared strategy.
    fn rule<T: Clone + Debug>(&mut self, rule: Rule<M, T>);
}

/// Never resolves: the strategies that need no code of the attribute's own.
fn unresolved<T>(_: Option<&T>, _: &T, _: &T) -> Option<T> {
    None
}

/// Merges a model's attributes into `merged` (which holds ours): those with a declared
/// rule first, the others under the model's strategy; each field's conflict is kept with
/// its position, so conflicts come out in declaration order.
struct MergeAttributes<'m, 'c, 'o, M: MergeModel> {
    base: Option<&'m M>,
    ours: &'m M,
    theirs: &'m M,
    intended: Option<&'m M>,
    merged: &'m mut M,
    cx: &'c mut MergeCx<'o>,
    newer: Option<Ordering>,
    ruled: Vec<M::Field>,
    conflicts: Vec<(usize, Conflict)>,
}

impl<M: MergeModel> MergeAttributes<'_, '_, '_, M> {
    fn merge<T: Clone + Debug>(&mut self, rule: Rule<M, T>) {
        let Rule {
            attribute: a,
            strategy,
            resolve,
        } = rule;
        let before = self.cx.conflicts.len();
        let value = self.cx.field(
            TypeId::of::<M>(),
            a.field.name(),
            (
                self.base.map(a.get),
                (a.get)(self.ours),
                (a.get)(self.theirs),
                self.intended.map(a.get),
            ),
            a.eq,
            strategy,
            self.newer,
            resolve,
        );
        *(a.get_mut)(self.merged) = value;
        if self.cx.conflicts.len() > before {
            let at = M::Field::ALL.iter().position(|known| *known == a.field);
            self.conflicts.extend(
                self.cx
                    .conflicts
                    .drain(before..)
                    .map(|conflict| (at.unwrap_or_default(), conflict)),
            );
        }
    }
}

impl<M: MergeModel> RuleVisitor<M> for MergeAttributes<'_, '_, '_, M> {
    fn rule<T: Clone + Debug>(&mut self, rule: Rule<M, T>) {
        self.ruled.push(rule.attribute.field);
        self.merge(rule);
    }
}

impl<M: MergeModel> AttributeVisitor<M> for MergeAttributes<'_, '_, '_, M> {
    fn attribute<T: Clone + Debug>(&mut self, a: &Attribute<M, T>) {
        if !self.ruled.contains(&a.field) {
            let strategy = if M::VERSION_FIELD == Some(a.field.name())
                && self.cx.options.prefers_newest(TypeId::of::<M>())
            {
                Strategy::Newest
            } else {
                M::MERGE_STRATEGY
            };
            self.merge(Rule {
                attribute: *a,
                strategy,
                resolve: unresolved,
            });
        }
    }
}

/// Merges one model: its children by key (the derive's `merge_children`), then its
/// attributes; the model's own conflicts come before its children's.
///
/// `None` when the merge failed (the error is in `cx`): the model, or something under it,
/// is what `diff` refuses (deeper than [`crate::MAX_DEPTH`], a key twice in a collection, a
/// misfiled map child).
pub(crate) fn merge_model<M: MergeModel>(
    base: Option<&M>,
    ours: &M,
    theirs: &M,
    intended: Option<&M>,
    cx: &mut MergeCx<'_>,
) -> Option<M> {
    merge_model_counting(base, ours, theirs, intended, cx).map(|(merged, _)| merged)
}

/// [`merge_model`], with how many conflicts the model's own attributes had (its
/// children's aside).
fn merge_model_counting<M: MergeModel>(
    base: Option<&M>,
    ours: &M,
    theirs: &M,
    intended: Option<&M>,
    cx: &mut MergeCx<'_>,
) -> Option<(M, usize)> {
    let _level = match Level::enter_or_check(ours) {
        Ok(level) => level,
        Err(error) => {
            cx.fail(error);
            return None;
        }
    };
    let before = cx.conflicts.len();
    let mut merged = M::merge_children(base, ours, theirs, intended, cx);
    cx.name_parent(M::NAME, ours);
    let children: Vec<Conflict> = cx.conflicts.drain(before..).collect();
    let mut attributes = MergeAttributes {
        base,
        ours,
        theirs,
        intended,
        merged: &mut merged,
        cx,
        newer: M::newer(ours, theirs),
        ruled: Vec::new(),
        conflicts: Vec::new(),
    };
    M::visit_rules(&mut attributes);
    M::visit_attributes(&mut attributes);
    let mut own = std::mem::take(&mut attributes.conflicts);
    crate::order::sort_by_key_ref(&mut own, |(at, _)| at);
    let own_conflicts = own.len();
    cx.conflicts
        .extend(own.into_iter().map(|(_, conflict)| conflict));
    cx.conflicts.extend(children);
    cx.error.is_none().then_some((merged, own_conflicts))
}

/// A conflicting value, rendered as in a plan (map and set entries sorted).
fn render(value: &dyn Debug) -> String {
    crate::render::render_value(value)
}

/// How much of a whole model a conflict about an element (its delete, its root key) shows:
/// the start of its rendering, not its whole subtree.
const ELEMENT_SHOWN: usize = 1024;

/// A model in a conflict about the element, cut after [`ELEMENT_SHOWN`] bytes.
fn render_element(model: &dyn Debug) -> String {
    crate::render::render_bounded(model, ELEMENT_SHOWN)
}

/// Why a field's strategy left two values in conflict, for [`Conflict::undecided`]; `None`
/// for `report`, which decides nothing.
fn undecided(strategy: Strategy, newer: Option<Ordering>) -> Option<&'static str> {
    match (strategy, newer) {
        (Strategy::Newest, Some(Ordering::Equal)) => {
            Some("`newest` could not decide: both sides hold the same version")
        }
        (Strategy::Newest, _) => Some(
            "`newest` could not decide: no versions to compare (the model has no `version` \
             field, or its versions do not compare)",
        ),
        (Strategy::Max, _) => Some("`max` could not decide: the values do not compare"),
        (Strategy::Min, _) => Some("`min` could not decide: the values do not compare"),
        (Strategy::Union, _) => Some("`union` could not decide"),
        (Strategy::Custom, _) => Some("the `merge_with` function returned `None`"),
        (Strategy::Report | Strategy::Ours | Strategy::Theirs, _) => None,
    }
}

/// How much of the plan of an edit a conflict about a whole element shows
/// ([`Conflict::changes`]).
const CHANGES_SHOWN: usize = 4096;

/// An edit's plan, cut after [`CHANGES_SHOWN`] bytes, for [`Conflict::changes`].
fn plan_shown<M: DiffModel>(edit: &Diff<M>) -> String {
    crate::render::cut(edit.to_string(), CHANGES_SHOWN)
}

/// One merge in progress. Generated code calls [`MergeCx::field`] per attribute and
/// [`MergeCx::children`] per children field.
pub struct MergeCx<'o> {
    options: &'o MergeOptions,
    kept: Kept,
    /// Whether this merge takes only what both sides agree on (see [`MergeCx::agreement`]).
    agreement: bool,
    /// In an agreement, the conflicts the merge it follows reported: their elements keep
    /// the base's, whole.
    /// The paths of those conflicts, to look up an element's by its path.
    conflicted: HashSet<&'o str>,
    path: Vec<String>,
    conflicts: Vec<Conflict>,
    /// Why the merge failed: the first element `diff` would refuse (too deep, a key twice in
    /// a collection, a misfiled map child). The merge stops there.
    error: Option<Error>,
    /// While the error climbs out of a children field, that field: the model holding it
    /// puts itself and the field in front of the error's path ([`MergeCx::name_parent`]),
    /// so the error names the element from the root, as a diff's does.
    failed_in: Option<&'static str>,
}

impl<'o> MergeCx<'o> {
    pub(super) fn new(options: &'o MergeOptions, kept: Kept) -> Self {
        Self {
            options,
            kept,
            agreement: false,
            conflicted: HashSet::new(),
            path: Vec::new(),
            conflicts: Vec::new(),
            error: None,
            failed_in: None,
        }
    }

    /// A merge that is not one: where both sides hold the same value (or element) it takes
    /// it; where one side holds the value the sync carried (the intended merge, given to
    /// the walk) and the other does not, the other side's; everywhere else it keeps the
    /// base's (an element only one side holds keeps the base's, without what both sides
    /// deleted of its subtree, or stays out; one with a conflict of `conflicted` keeps the
    /// base's whole). No strategy runs; what differs is counted as a conflict (kept from
    /// the base), for the merge's own bookkeeping only.
    #[cfg(feature = "sync")]
    pub(super) fn agreement(options: &'o MergeOptions, conflicted: &'o [Conflict]) -> Self {
        Self {
            agreement: true,
            conflicted: conflicted
                .iter()
                .map(|conflict| conflict.path.as_str())
                .collect(),
            ..Self::new(options, Kept::Base)
        }
    }

    /// Whether the element the path leads to has a conflict of [`MergeCx::conflicted`].
    fn is_conflicted(&self) -> bool {
        !self.conflicted.is_empty() && self.conflicted.contains(self.path_to("").as_str())
    }

    /// The conflicts found, or why the merge failed.
    pub(super) fn into_conflicts(self) -> Result<Vec<Conflict>, Error> {
        match self.error {
            Some(error) => Err(error),
            None => Ok(self.conflicts),
        }
    }

    /// Fails the merge (the first error is kept).
    fn fail(&mut self, error: Error) {
        self.error.get_or_insert(error);
    }

    /// Notes that the merge failed under the children field `field` (the first time the
    /// error leaves one), for the model holding it to name itself.
    fn failed_under(&mut self, field: &'static str) {
        if self.error.is_some() && self.failed_in.is_none() {
            self.failed_in = Some(field);
        }
    }

    /// Puts `parent` and the children field the error came out of in front of the error's
    /// path, once the error has left one of `parent`'s children fields.
    fn name_parent<M: DiffModel>(&mut self, name: &'static str, parent: &M) {
        if let Some(field) = self.failed_in.take()
            && let Some(error) = self.error.take()
        {
            self.error = Some(error.within(name, &parent.key(), field));
        }
    }

    /// Whether each model's subtree is one a diff takes (within [`crate::MAX_DEPTH`], no
    /// key twice in a collection, map children under their own keys); the merge fails
    /// otherwise, as `diff` would. Checked before a model is rendered whole for a conflict,
    /// as rendering (`Debug`) recurses without bound, and before it is taken whole.
    fn all_sound<M: DiffModel>(&mut self, models: &[&M]) -> bool {
        for model in models {
            if let Err(error) = crate::diff::check_create(*model) {
                self.fail(error);
                return false;
            }
        }
        true
    }

    /// A copy of a model taken whole (not merged level by level), once its subtree is
    /// checked as [`MergeCx::all_sound`] checks it; `None` (and the merge fails) otherwise.
    fn taken_whole<M: DiffModel>(&mut self, model: &M) -> Option<M> {
        self.all_sound(&[model]).then(|| model.clone())
    }

    fn path_to(&self, last: &str) -> String {
        let mut path = self.path.join(".");
        if !last.is_empty() {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(last);
        }
        path
    }

    fn segment<M: DiffModel>(name: &str, model: &M) -> String {
        crate::error::Element(name, &model.key().to_string()).to_string()
    }

    /// A child's segment, `field.model[key]`: the children field that holds it, then the
    /// child, as an error's path writes them.
    fn child_segment<M: DiffModel>(field: &str, model: &M) -> String {
        format!("{field}.{}", Self::segment(M::NAME, model))
    }

    /// Merges two roots. A root whose key changed is a replacement (as a diff sees it: a
    /// delete and a create): taken when the other side left the base unchanged, merged
    /// against the base when both sides gave it one new key (the same change of its id
    /// fields on both sides: its attributes merge three-way as usual, while children
    /// whose keys hold the root's id fields no longer match the base's and merge as
    /// created on both sides), and a [`ConflictKind::RootKey`] otherwise.
    pub(super) fn merge_root<M: MergeModel>(
        &mut self,
        base: &M,
        ours: &M,
        theirs: &M,
        intended: Option<&M>,
    ) -> Result<M, Error> {
        let merged = self.merge_root_model(base, ours, theirs, intended);
        match (self.error.take(), merged) {
            (None, Some(merged)) => Ok(merged),
            (Some(error), _) => Err(error),
            // Every path that gives no model records why.
            (None, None) => Err(Error::too_deep(M::NAME, &ours.key())),
        }
    }

    /// [`MergeCx::merge_root`], `None` when it failed.
    fn merge_root_model<M: MergeModel>(
        &mut self,
        base: &M,
        ours: &M,
        theirs: &M,
        intended: Option<&M>,
    ) -> Option<M> {
        if self.agreement && !ours.same_key(theirs) {
            return self.root_agreement(base, ours, theirs);
        }
        if ours.same_key(theirs) {
            self.path.push(Self::segment(M::NAME, ours));
            let merged = merge_model(Some(base), ours, theirs, intended, self);
            self.path.pop();
            return merged;
        }
        // Each side's change, made once: whether it left the base alone, and (for a side
        // that kept the base's key) the edit a conflict shows.
        let (ours_change, theirs_change) = (base.diff(ours).ok(), base.diff(theirs).ok());
        let unchanged = |change: &Option<Diff<M>>| change.as_ref().is_some_and(Diff::is_empty);
        if unchanged(&ours_change) {
            return self.taken_whole(theirs);
        }
        if unchanged(&theirs_change) {
            return self.taken_whole(ours);
        }
        if !self.all_sound(&[base, ours, theirs]) {
            return None;
        }
        // A side that kept the base's key edited the root: its edit, which the cut
        // renderings may not reach.
        let edit = if ours.same_key(base) {
            ours_change
        } else if theirs.same_key(base) {
            theirs_change
        } else {
            None
        };
        self.path.push(Self::segment(M::NAME, base));
        self.conflicts.push(Conflict {
            path: self.path_to(""),
            kind: ConflictKind::RootKey,
            base: Some(render_element(base)),
            ours: Some(render_element(ours)),
            theirs: Some(render_element(theirs)),
            changes: edit.as_ref().map(plan_shown),
            undecided: None,
        });
        self.path.pop();
        match self.kept {
            Kept::Ours => self.taken_whole(ours),
            Kept::Theirs => self.taken_whole(theirs),
            Kept::Base => self.taken_whole(base),
        }
    }

    /// The agreement on a root one side replaced (gave another key) while the other kept
    /// its key: as for an element one side deleted and the other kept, the base's
    /// attributes stay, and what the keeping side deleted of its subtree is gone from the
    /// base too (so a replacement that reached the keeping side only in part, its children
    /// deleted but not the root, is finished next time rather than met as an edit). The
    /// base's whole where the merge before the sync reported a conflict at the root, or
    /// when neither side kept the base's key.
    fn root_agreement<M: MergeModel>(&mut self, base: &M, ours: &M, theirs: &M) -> Option<M> {
        let kept = [ours, theirs].into_iter().find(|side| side.same_key(base));
        self.path.push(Self::segment(M::NAME, base));
        let agreed = match kept {
            Some(kept) if !self.is_conflicted() => {
                merge_model(Some(base), &without_children(base), kept, None, self)
            }
            _ => self.taken_whole(base),
        };
        self.path.pop();
        agreed
    }

    /// Merges one attribute of the model type `model`: its values in the base, ours,
    /// theirs and (in an agreement, see [`MergeCx::agreement`]) the merge the sync carried.
    /// `declared` is the field's (or its model's) strategy, `newer` compares the models'
    /// version fields, `resolve` runs the declared `Max`, `Min`, `Union` or `Custom`
    /// strategy (`None`: unresolved). The
    /// functions are pointers, not closures, so that this is compiled once per attribute
    /// type, not once per attribute.
    #[allow(clippy::too_many_arguments)]
    #[doc(hidden)]
    pub fn field<T: Clone + Debug>(
        &mut self,
        model: TypeId,
        field: &'static str,
        (base, ours, theirs, intended): (Option<&T>, &T, &T, Option<&T>),
        eq: fn(&T, &T) -> bool,
        declared: Strategy,
        newer: Option<Ordering>,
        resolve: fn(Option<&T>, &T, &T) -> Option<T>,
    ) -> T {
        // Compared as a diff compares them, so that a value unequal to itself (`NaN`) is
        // the same as its copy and a side that kept it is unchanged.
        let same = |a: &T, b: &T| crate::__private::same_value(a, b, eq);
        if same(ours, theirs) {
            return ours.clone();
        }
        // In the agreement after a bidirectional sync that failed in part, where one side
        // holds the value the sync carried (it got the merge) and the other does not (its
        // sync failed there): the other side's value, which that merge took in, so that
        // next time the merge is carried to it rather than merged with its value again
        // (a `merge_with` function given its own result would repeat that side's edit).
        // A conflict's value is the base's in the merge, which neither side holds.
        if self.agreement
            && let Some(intended) = intended
        {
            if same(ours, intended) {
                return theirs.clone();
            }
            if same(theirs, intended) {
                return ours.clone();
            }
        }
        if let Some(base) = base.filter(|_| !self.agreement) {
            if same(base, ours) {
                return theirs.clone();
            }
            if same(base, theirs) {
                return ours.clone();
            }
        }
        let strategy = if self.agreement {
            Strategy::Report
        } else {
            self.options.for_field(model, field).unwrap_or(declared)
        };
        let resolved = match strategy {
            Strategy::Ours => Some(ours.clone()),
            Strategy::Theirs => Some(theirs.clone()),
            Strategy::Newest => match newer {
                Some(Ordering::Greater) => Some(ours.clone()),
                Some(Ordering::Less) => Some(theirs.clone()),
                _ => None,
            },
            Strategy::Max | Strategy::Min | Strategy::Union | Strategy::Custom => {
                resolve(base, ours, theirs)
            }
            Strategy::Report => None,
        };
        if let Some(value) = resolved {
            return value;
        }
        let undecided = undecided(strategy, newer);
        // Two values that differ but render alike once map entries are sorted are shown as
        // they print.
        let (ours_rendered, theirs_rendered) = crate::render::render_change(ours, theirs);
        self.conflicts.push(Conflict {
            path: self.path_to(field),
            kind: ConflictKind::Field,
            base: base.map(|value| render(value)),
            ours: Some(ours_rendered),
            theirs: Some(theirs_rendered),
            changes: None,
            undecided: undecided.map(str::to_owned),
        });
        match (self.kept, base) {
            (Kept::Theirs, _) => theirs.clone(),
            (Kept::Base, Some(base)) => base.clone(),
            (Kept::Ours | Kept::Base, _) => ours.clone(),
        }
    }

    /// Merges one children field by key. The merged collection holds ours' elements in
    /// ours' order, then those only theirs holds in theirs' order (theirs' order instead
    /// when ours kept the base's keys in the base's order and theirs reordered or added to
    /// them without deleting any: so an insert or a reorder made on one side only is kept),
    /// and conflicts come out in that order too, except in a `HashMap` (whose order
    /// changes from run to run) and a `Vec`, where they come out in key order. Each side
    /// is looked up through one index, so a `Vec` merges in linear time.
    #[doc(hidden)]
    pub fn children<C: ChildCollection<Model: MergeModel>>(
        &mut self,
        field: &'static str,
        base: Option<&C>,
        ours: &C,
        theirs: &C,
        intended: Option<&C>,
    ) -> C {
        // A collection `diff` refuses is refused: a map holding a child under another key
        // than its own (looked up by the map's key, its change would be lost or misfiled),
        // a `Vec` holding a key twice, a `Store` holding a model set aside after a
        // colliding rename (only the first would be seen).
        let sound = [base, Some(ours), Some(theirs)]
            .into_iter()
            .flatten()
            .try_for_each(|side| {
                side.check_filing()
                    .and_then(|()| side.check_no_collisions())
            });
        if let Err(error) = sound {
            self.fail(error);
        }
        if self.error.is_some() {
            self.failed_under(field);
            return C::default();
        }
        let (our_keys, their_keys) = (ours.child_keys(), theirs.child_keys());
        // Theirs' order when ours kept the base's and theirs holds all of ours' elements
        // (reordered or added to, nothing deleted: an element a merge keeps against a
        // delete stays in place). Not in an agreement, which takes no side's order, nor
        // where the order is no order (a `HashMap`).
        let reordered_by_theirs =
            |base: &C| our_keys != their_keys && base.child_keys() == our_keys;
        let base_index = base.map(Index::new);
        let (ours, theirs) = (Index::new(ours), Index::new(theirs));
        let theirs_first = !self.agreement
            && !C::UNORDERED
            && base.is_some_and(reordered_by_theirs)
            && our_keys.iter().all(|key| theirs.get(key).is_some());
        let base = base_index;
        let intended = intended.map(Index::new);
        let (first, first_keys, second_keys) = if theirs_first {
            (&theirs, &their_keys, &our_keys)
        } else {
            (&ours, &our_keys, &their_keys)
        };
        // Decided in key order where the collection's own order is no order (a `HashMap`)
        // or is a scan's (a `Vec`), else in the order the merged collection takes.
        let sorted = C::SCANS || C::UNORDERED;
        let mut keys: Vec<&<C::Model as DiffModel>::Key> = if sorted {
            first_keys.iter().chain(second_keys).collect()
        } else {
            let second_only = second_keys.iter().filter(|key| first.get(key).is_none());
            first_keys.iter().chain(second_only).collect()
        };
        if sorted {
            keys.sort_unstable();
            keys.dedup();
        }
        // `decided[at]`: what the merge keeps of the element with `keys[at]`.
        let mut decided = Vec::with_capacity(keys.len());
        for &key in &keys {
            if self.error.is_some() {
                self.failed_under(field);
                return C::default();
            }
            let base_child = base.as_ref().and_then(|base| base.get(key));
            let kept = match (ours.get(key), theirs.get(key)) {
                (Some(our), Some(their)) => {
                    self.path.push(Self::child_segment(field, our));
                    let intended_child = intended.as_ref().and_then(|index| index.get(key));
                    let merged_child =
                        merge_model_counting(base_child, our, their, intended_child, self);
                    self.path.pop();
                    // Created on both sides with a conflict in its own attributes: a base
                    // has no value to keep, so the element stays out of it and the conflict
                    // comes up again next time. A conflict below it leaves out only the
                    // element that has it (decided at its own level), so edits made on one
                    // side to the rest of the new subtree are heard next time.
                    merged_child.and_then(|(merged, own_conflicts)| {
                        let unresolved_creation =
                            base_child.is_none() && own_conflicts > 0 && self.kept == Kept::Base;
                        (!unresolved_creation).then_some(merged)
                    })
                }
                (Some(only), None) | (None, Some(only)) => {
                    let deleter = if theirs.get(key).is_some() {
                        Side::Ours
                    } else {
                        Side::Theirs
                    };
                    self.path.push(Self::child_segment(field, only));
                    let intended_child = intended.as_ref().and_then(|index| index.get(key));
                    let kept = match base_child {
                        // A conflict of the merge this agreement follows (a delete against
                        // an edit): the base's element, whole, so the conflict comes up
                        // again.
                        Some(base_child) if self.agreement && self.is_conflicted() => {
                            self.taken_whole(base_child)
                        }
                        // The merge kept the element (against a delete, or in a subtree it
                        // created again) and the side that lacks it did not get it (its
                        // create failed, or a flag left it out): out of the base, so next
                        // time it reads as the other side's create and is carried again,
                        // not as this side's delete of it.
                        Some(_) if self.agreement && intended_child.is_some() => None,
                        // One side deleted the element, the other kept it: no agreement on
                        // the element (the base's attributes stay), but on its subtree
                        // there is: what the keeping side deleted too is gone from both.
                        Some(base_child) if self.agreement => merge_model(
                            Some(base_child),
                            &without_children(base_child),
                            only,
                            None,
                            self,
                        ),
                        None if self.agreement => None,
                        None => self.taken_whole(only),
                        Some(base_child) => self.deleted_on_one_side(base_child, only, deleter),
                    };
                    self.path.pop();
                    kept
                }
                (None, None) => None,
            };
            decided.push(kept);
        }
        if self.error.is_some() {
            self.failed_under(field);
            return C::default();
        }
        if !sorted {
            return C::from_children(decided.into_iter().flatten().collect());
        }
        let mut merged = Vec::with_capacity(decided.len());
        for key in first_keys.iter().chain(second_keys) {
            let child = keys
                .binary_search(&key)
                .ok()
                .and_then(|at| decided.get_mut(at))
                .and_then(Option::take);
            merged.extend(child);
        }
        C::from_children(merged)
    }

    /// An element that `deleter` deleted and the other side kept as `survivor`: deleted if
    /// the survivor is unchanged, otherwise the model's strategy decides.
    fn deleted_on_one_side<M: MergeModel>(
        &mut self,
        base: &M,
        survivor: &M,
        deleter: Side,
    ) -> Option<M> {
        if !self.all_sound(&[base, survivor]) {
            return None;
        }
        // Untouched, or changed only by deletes in its subtree, which the delete of the
        // whole element takes along: deleted, with no conflict.
        let edit = base.diff(survivor).ok();
        let only_deleted = edit.as_ref().is_some_and(|diff| {
            let summary = diff.summary();
            summary.create == 0 && summary.update == 0
        });
        if only_deleted {
            return None;
        }
        let strategy = self
            .options
            .for_model(TypeId::of::<M>())
            .unwrap_or(M::MERGE_STRATEGY);
        let winner = match strategy {
            Strategy::Ours => Some(Side::Ours),
            Strategy::Theirs => Some(Side::Theirs),
            _ => None,
        };
        // Both subtrees were checked above (`all_sound`): copied as they are.
        let keep_survivor = |side: Side| (side != deleter).then(|| survivor.clone());
        if let Some(side) = winner {
            return keep_survivor(side);
        }
        let (ours, theirs) = match deleter {
            Side::Ours => (None, Some(render_element(survivor))),
            Side::Theirs => (Some(render_element(survivor)), None),
        };
        self.conflicts.push(Conflict {
            path: self.path_to(""),
            kind: ConflictKind::DeleteUpdate,
            base: Some(render_element(base)),
            ours,
            theirs,
            changes: edit.as_ref().map(plan_shown),
            undecided: (strategy != Strategy::Report)
                .then(|| "only `ours` and `theirs` decide a delete against an edit".to_owned()),
        });
        match self.kept {
            Kept::Ours => keep_survivor(Side::Ours),
            Kept::Theirs => keep_survivor(Side::Theirs),
            Kept::Base => Some(base.clone()),
        }
    }
}

/// A children collection looked up by key: through its own index, or (a `Vec`, whose
/// lookup is a scan) through a hash table built once (the collection holds each key once:
/// `MergeCx::children` refuses it otherwise).
enum Index<'c, C: ChildCollection> {
    Own(&'c C),
    Built(HashMap<<C::Model as DiffModel>::Key, &'c C::Model>),
}

impl<'c, C: ChildCollection> Index<'c, C> {
    fn new(children: &'c C) -> Self {
        if !C::SCANS {
            return Index::Own(children);
        }
        let mut index = HashMap::new();
        children.for_each_child(&mut |child| {
            index.entry(child.key()).or_insert(child);
        });
        Index::Built(index)
    }

    fn get(&self, key: &<C::Model as DiffModel>::Key) -> Option<&'c C::Model> {
        match self {
            Index::Own(children) => children.child(key),
            Index::Built(index) => index.get(key).copied(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Ours,
    Theirs,
}

/// `base` without the children `intended` holds, collection by collection: the base of an
/// agreement on a root both sides now hold under a new key (see `super::agreement`). A
/// child with a conflict of `conflicts` (at it or below it) stays, so that the agreement
/// keeps it whole and the conflict comes up again (it was left out, and the next sync
/// read the deleting side's lack of it as the other side's create: an outside tester).
#[cfg(feature = "sync")]
pub(super) fn without_children_held_by<M: DiffModel>(
    base: &M,
    intended: &M,
    conflicts: &[Conflict],
) -> M {
    struct Held<'m, M> {
        base: &'m mut M,
        intended: &'m M,
        root: String,
        conflicts: &'m [Conflict],
    }

    impl<M: DiffModel> crate::fields::ChildFieldVisitor<M> for Held<'_, M> {
        fn children<C: ChildCollection>(&mut self, field: &crate::fields::ChildField<M, C>) {
            let held = (field.get)(self.intended).child_keys();
            // Each held child's path, and for each conflict the paths it lies at or under
            // (its own and those ending before each `.`): one lookup per prefix, rather
            // than a scan of every conflict per child.
            let paths: HashMap<String, usize> = held
                .iter()
                .enumerate()
                .map(|(at, key)| {
                    let element = crate::error::Element(C::Model::NAME, &key.to_string());
                    (format!("{}.{}.{element}", self.root, field.name), at)
                })
                .collect();
            let mut kept = vec![false; held.len()];
            for conflict in self.conflicts {
                let path = conflict.path.as_str();
                let ends = path.match_indices('.').map(|(end, _)| end);
                for end in ends.chain([path.len()]) {
                    if let Some(&at) = path.get(..end).and_then(|prefix| paths.get(prefix))
                        && let Some(slot) = kept.get_mut(at)
                    {
                        *slot = true;
                    }
                }
            }
            let held: Vec<_> = held
                .into_iter()
                .zip(kept)
                .filter_map(|(key, kept)| (!kept).then_some(key))
                .collect();
            (field.get_mut)(self.base).remove_children(&held);
        }
    }

    let mut bare = base.clone();
    M::visit_child_fields(&mut Held {
        base: &mut bare,
        intended,
        root: MergeCx::segment(M::NAME, intended),
        conflicts,
    });
    bare
}

/// `model` with every children collection emptied: in an agreement, what the side that
/// deleted `model` holds of its subtree (nothing).
fn without_children<M: DiffModel>(model: &M) -> M {
    let mut bare = model.clone();
    crate::fields::clear_children(&mut bare);
    bare
}
