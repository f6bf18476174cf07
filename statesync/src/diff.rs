//! The diff tree: [`Diff`] is a collection of [`ElementDiff`]s, each a create, a delete or
//! an update whose child diffs are again [`Diff`]s. A root diff is the same type, holding the
//! root's own element.

use std::fmt;

use crate::depth::{Level, check_subtree};
use crate::error::{Error, Operation};
use crate::fields::{DiffChildren, SameAttributes};
use crate::model::{DiffModel, DiffObserver, DiffVisitor, Unobserved};

/// One changed attribute: its value before and after.
///
/// Read from serde, both values must be there, whatever `T` is (a missing `Option` is not
/// taken as `None`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(deny_unknown_fields, bound(deserialize = "T: serde::Deserialize<'de>"))
)]
pub struct Change<T> {
    /// The value in the old state.
    // `deserialize_with`, even T's own: serde then refuses a missing field of any type.
    #[cfg_attr(feature = "serde", serde(deserialize_with = "T::deserialize"))]
    pub old: T,
    /// The value in the new state.
    #[cfg_attr(feature = "serde", serde(deserialize_with = "T::deserialize"))]
    pub new: T,
}

/// The changes to a collection of models of one type, matched by key. Elements are held in
/// key order, so the same two states always give the same diff whatever order their
/// children were inserted in. Unchanged elements are only counted.
///
/// A diff is typed all the way down: each element is an [`Action`] on a model, an update
/// holds the model's generated record of changes (one `Option<Change<T>>` per attribute)
/// and one `Diff` per children field.
///
/// ```
/// use statesync::{Action, DiffModel, Store};
///
/// #[derive(DiffModel, Clone, Debug, PartialEq)]
/// struct Shelf {
///     #[statesync(id)]
///     name: String,
///     #[statesync(children)]
///     books: Store<Book>,
/// }
///
/// #[derive(DiffModel, Clone, Debug, PartialEq)]
/// struct Book {
///     #[statesync(id)]
///     isbn: u64,
///     copies: u32,
/// }
///
/// let book = |isbn, copies| Book { isbn, copies };
/// let old = Shelf { name: "a".into(), books: Store::try_from_iter([book(1, 2), book(2, 1)])? };
/// let new = Shelf { name: "a".into(), books: Store::try_from_iter([book(1, 3), book(3, 1)])? };
/// let diff = old.diff(&new)?;
///
/// // The root's own element: an update whose attributes did not change.
/// let [shelf] = diff.elements() else { unreachable!() };
/// let Action::Update(update) = &shelf.action else { unreachable!() };
/// assert!(!update.has_field_changes());
/// // Its `books` children: a record of changes per updated book, whole models otherwise.
/// for element in update.children.books.elements() {
///     match &element.action {
///         Action::Update(book) => {
///             let copies = book.fields.copies.as_ref().map(|change| (change.old, change.new));
///             assert_eq!((element.key.isbn, copies), (1, Some((2, 3))));
///         }
///         Action::Create(book) => assert_eq!(book.isbn, 3),
///         Action::Delete(book) => assert_eq!(book.isbn, 2),
///     }
/// }
/// # Ok::<(), statesync::Error>(())
/// ```
#[derive(Clone)]
pub struct Diff<M: DiffModel> {
    pub(crate) elements: Vec<ElementDiff<M>>,
    pub(crate) unchanged: usize,
}

/// One element of a [`Diff`]: the key of the model and what happens to it.
#[derive(Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(
        deny_unknown_fields,
        bound(
            serialize = "M: serde::Serialize, M::Key: serde::Serialize, M::Changes: serde::Serialize, M::ChildDiffs: serde::Serialize",
            deserialize = "M: serde::Deserialize<'de>, M::Key: serde::Deserialize<'de>, M::Changes: serde::Deserialize<'de>, M::ChildDiffs: serde::Deserialize<'de>"
        )
    )
)]
pub struct ElementDiff<M: DiffModel> {
    /// The model's key.
    pub key: M::Key,
    /// What happens to the model.
    pub action: Action<M>,
}

/// What happens to one element.
#[derive(Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(
        rename_all = "snake_case",
        bound(
            serialize = "M: serde::Serialize, M::Changes: serde::Serialize, M::ChildDiffs: serde::Serialize",
            deserialize = "M: serde::Deserialize<'de>, M::Changes: serde::Deserialize<'de>, M::ChildDiffs: serde::Deserialize<'de>"
        )
    )
)]
pub enum Action<M: DiffModel> {
    /// The model is only in the new state; it is created with all its children.
    #[cfg_attr(
        feature = "serde",
        serde(deserialize_with = "crate::bounded::read_payload")
    )]
    Create(M),
    /// The model is only in the old state; it is deleted with all its children.
    #[cfg_attr(
        feature = "serde",
        serde(deserialize_with = "crate::bounded::read_payload")
    )]
    Delete(M),
    /// The model is in both states and its attributes or children differ.
    Update(ModelUpdate<M>),
}

/// The changed attributes and the child diffs of a model present in both states. Its
/// `fields` may be empty when only children changed: the model itself is then unchanged.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(
        deny_unknown_fields,
        bound(
            serialize = "M::Changes: serde::Serialize, M::ChildDiffs: serde::Serialize",
            deserialize = "M::Changes: serde::Deserialize<'de>, M::ChildDiffs: serde::Deserialize<'de>"
        )
    )
)]
pub struct ModelUpdate<M: DiffModel> {
    /// The changed attributes, old and new values.
    #[cfg_attr(
        feature = "serde",
        serde(deserialize_with = "crate::bounded::read_changes::<M, _>")
    )]
    pub fields: M::Changes,
    /// One diff per children field.
    pub children: M::ChildDiffs,
}

/// `Debug` and `PartialEq` of the diff types when the models (and so their child diffs)
/// have them: written out, because a derive would ask for them only of `M` and not of
/// `M::ChildDiffs`.
/// `Debug` and `PartialEq` for a struct of the diff tree, field by field.
macro_rules! debug_and_eq {
    ($ty:ident { $($field:ident),* }) => {
        impl<M> fmt::Debug for $ty<M>
        where
            M: DiffModel + fmt::Debug,
            M::ChildDiffs: fmt::Debug,
        {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($field), &self.$field))*
                    .finish()
            }
        }

        impl<M> PartialEq for $ty<M>
        where
            M: DiffModel + PartialEq,
            M::ChildDiffs: PartialEq,
        {
            fn eq(&self, other: &Self) -> bool {
                true $(&& self.$field == other.$field)*
            }
        }
    };
}

debug_and_eq!(Diff {
    elements,
    unchanged
});
debug_and_eq!(ElementDiff { key, action });

impl<M> fmt::Debug for Action<M>
where
    M: DiffModel + fmt::Debug,
    M::ChildDiffs: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Create(model) => f.debug_tuple("Create").field(model).finish(),
            Action::Delete(model) => f.debug_tuple("Delete").field(model).finish(),
            Action::Update(update) => f.debug_tuple("Update").field(update).finish(),
        }
    }
}

impl<M> PartialEq for Action<M>
where
    M: DiffModel + PartialEq,
    M::ChildDiffs: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Action::Create(a), Action::Create(b)) | (Action::Delete(a), Action::Delete(b)) => {
                a == b
            }
            (Action::Update(a), Action::Update(b)) => a == b,
            _ => false,
        }
    }
}

impl<M: DiffModel> ModelUpdate<M> {
    /// Whether any attribute of the model itself changed.
    pub fn has_field_changes(&self) -> bool {
        !M::changes_are_empty(&self.fields)
    }
}

/// Tallies child diffs as they are made: whether any holds an element and how many
/// unchanged elements they count.
#[derive(Default)]
pub(crate) struct ChildTally {
    pub(crate) changed: bool,
    pub(crate) unchanged: usize,
}

impl ChildTally {
    /// Counts one child diff.
    pub(crate) fn add<C: DiffModel>(&mut self, diff: &Diff<C>) {
        self.changed |= !diff.elements.is_empty();
        self.unchanged = self.unchanged.saturating_add(diff.unchanged);
    }
}

/// Diffs each children collection of `old` against the one of `new`, with a tally of the
/// child diffs.
///
/// # Errors
/// [`Error::DuplicateKey`] when a collection holds two children with one key.
#[inline]
fn diff_children<M: DiffModel>(
    old: &M,
    new: &M,
    observer: &mut dyn DiffObserver,
) -> Result<(M::ChildDiffs, ChildTally), Error> {
    let mut diff = DiffChildren {
        old,
        new,
        observer,
        out: M::ChildDiffs::default(),
        tally: ChildTally::default(),
        error: None,
    };
    M::visit_child_fields(&mut diff);
    match diff.error {
        Some(error) => Err(error),
        None => Ok((diff.out, diff.tally)),
    }
}

/// Compares two models that have the same key (inlined where a diff is made: the hot
/// path): the number of elements of the subtree when nothing differs (the model and its
/// descendants), or 0 with what differs in `changed`. The update is written only when
/// there is one, so comparing equal models moves nothing but a count.
pub(crate) fn compare<M: DiffModel>(
    old: &M,
    new: &M,
    observer: &mut dyn DiffObserver,
    changed: &mut Option<ModelUpdate<M>>,
) -> Result<usize, Error> {
    let _level = Level::enter_or_check(new)?;
    observer.visited(1);
    // Equal attributes (the common case) are found without building a record of changes.
    let same = same_attributes(old, new);
    let (children, tally) = diff_children(old, new, observer)?;
    if same && !tally.changed {
        return Ok(tally.unchanged.saturating_add(1));
    }
    Ok(record_update(old, new, same, children, tally, changed))
}

/// Whether two models hold the same value in every compared attribute (children aside).
#[inline(always)]
fn same_attributes<M: DiffModel>(old: &M, new: &M) -> bool {
    let mut same = SameAttributes {
        old,
        new,
        same: true,
    };
    M::visit_attributes(&mut same);
    same.same
}

/// The rest of [`compare`] when something may differ (out of line, so the hot path stays
/// small): the update into `changed` and 0, or the unchanged count when the attributes
/// that compared unequal are alike after all (see `__private::same_value`).
#[inline(never)]
fn record_update<M: DiffModel>(
    old: &M,
    new: &M,
    same_attributes: bool,
    children: M::ChildDiffs,
    tally: ChildTally,
    changed: &mut Option<ModelUpdate<M>>,
) -> usize {
    let fields = if same_attributes {
        M::Changes::default()
    } else {
        old.diff_fields(new)
    };
    if !tally.changed && M::changes_are_empty(&fields) {
        return tally.unchanged.saturating_add(1);
    }
    *changed = Some(ModelUpdate { fields, children });
    0
}

/// [`compare`] for the checks of `apply` (not inlined: one copy per model type there):
/// what differs, if anything.
#[inline(never)]
fn compare_outlined<M: DiffModel>(old: &M, new: &M) -> Result<Option<ModelUpdate<M>>, Error> {
    let mut changed = None;
    compare(old, new, &mut Unobserved, &mut changed)?;
    Ok(changed)
}

/// A copy of a model for a diff or a collection: one out-of-line function per model type,
/// so the model's `Clone` (which derives inline, children and all) is not copied into each
/// place that copies a model.
#[inline(never)]
pub(crate) fn clone_model<M: Clone>(model: &M) -> M {
    model.clone()
}

/// Tells the observer about a created element and (when it wants) its subtree.
fn observe_created<M: DiffModel>(observer: &mut dyn DiffObserver, created: &M) {
    let count = if observer.counts_subtrees() {
        crate::summary::subtree_size(created)
    } else {
        1
    };
    observer.visited(count);
}

/// Builds the diff of one collection element by element: compares, deletes and creates,
/// counting unchanged elements.
pub(crate) struct DiffBuilder<'o, M: DiffModel> {
    observer: &'o mut dyn DiffObserver,
    elements: Vec<ElementDiff<M>>,
    unchanged: usize,
}

impl<'o, M: DiffModel> DiffBuilder<'o, M> {
    pub(crate) fn new(observer: &'o mut dyn DiffObserver) -> Self {
        Self {
            observer,
            elements: Vec::new(),
            unchanged: 0,
        }
    }

    /// An element on both sides (its key is built only when it changed).
    pub(crate) fn compared(&mut self, old: &M, new: &M) -> Result<(), Error> {
        let mut changed = None;
        let unchanged = compare(old, new, self.observer, &mut changed)?;
        match changed {
            Some(update) => self.elements.push(ElementDiff {
                key: new.key(),
                action: Action::Update(update),
            }),
            None => self.unchanged = self.unchanged.saturating_add(unchanged),
        }
        Ok(())
    }

    /// An element only on the old side.
    ///
    /// # Errors
    /// As [`check_create`]: its subtree is not one a diff can carry.
    pub(crate) fn deleted(&mut self, old: &M) -> Result<(), Error> {
        check_create(old)?;
        self.elements.push(ElementDiff {
            key: old.key(),
            action: Action::Delete(clone_model(old)),
        });
        Ok(())
    }

    /// An element only on the new side.
    ///
    /// # Errors
    /// As [`check_create`]: its subtree is not one a diff can carry.
    pub(crate) fn created(&mut self, new: &M) -> Result<(), Error> {
        check_create(new)?;
        observe_created(self.observer, new);
        self.elements.push(ElementDiff {
            key: new.key(),
            action: Action::Create(clone_model(new)),
        });
        Ok(())
    }

    pub(crate) fn finish(self) -> Diff<M> {
        Diff::sorted(self.elements, self.unchanged)
    }
}

impl<M: DiffModel> Default for Diff<M> {
    fn default() -> Self {
        Self {
            elements: Vec::new(),
            unchanged: 0,
        }
    }
}

impl<M: DiffModel> Diff<M> {
    /// Builds a diff from elements and a count of unchanged elements. Elements are sorted
    /// by key, so the order they are given in does not matter.
    ///
    /// # Errors
    /// [`Error::TooDeep`] when the diff, with the models it creates and deletes, is deeper
    /// than [`crate::MAX_DEPTH`]: no diff statesync handles is (rendering, counting and
    /// inverting walk every level).
    pub fn from_elements(elements: Vec<ElementDiff<M>>, unchanged: usize) -> Result<Self, Error> {
        let diff = Self::sorted(elements, unchanged);
        crate::depth::check_diff(&diff)?;
        Ok(diff)
    }

    /// [`Diff::from_elements`] for elements known to be within the depth.
    pub(crate) fn sorted(mut elements: Vec<ElementDiff<M>>, unchanged: usize) -> Self {
        crate::order::sort_by_key_ref(&mut elements, |element| &element.key);
        Self {
            elements,
            unchanged,
        }
    }

    /// The change that turns the root `old` into `new`. The common case of a leaf model
    /// (no children fields) left unchanged is answered inline where the diff is asked for:
    /// its attributes are compared there and nothing else is called (a leaf has no level
    /// below it to count, so there is no depth to check).
    #[inline(always)]
    pub(crate) fn between(
        old: &M,
        new: &M,
        observer: &mut dyn DiffObserver,
    ) -> Result<Self, Error> {
        if !crate::depth::has_children::<M>() && old.same_key(new) && same_attributes(old, new) {
            observer.visited(1);
            return Ok(Self {
                elements: Vec::new(),
                unchanged: 1,
            });
        }
        Self::between_outlined(old, new, observer)
    }

    /// [`Diff::between`] beyond its inline case.
    #[inline(never)]
    fn between_outlined(old: &M, new: &M, observer: &mut dyn DiffObserver) -> Result<Self, Error> {
        if !old.same_key(new) {
            return Self::replaced(old, new, observer);
        }
        let mut changed = None;
        let unchanged = compare(old, new, observer, &mut changed)?;
        Ok(match changed {
            None => Self {
                unchanged,
                ..Self::default()
            },
            Some(update) => Self::updated(new, update),
        })
    }

    /// The root diff of an update.
    #[inline(never)]
    fn updated(new: &M, update: ModelUpdate<M>) -> Self {
        let element = ElementDiff {
            key: new.key(),
            action: Action::Update(update),
        };
        Self::sorted(vec![element], 0)
    }

    /// The root diff of a root replaced by one with another key: a delete and a create.
    #[inline(never)]
    fn replaced(old: &M, new: &M, observer: &mut dyn DiffObserver) -> Result<Self, Error> {
        check_create(old)?;
        check_create(new)?;
        observe_created(observer, new);
        let delete = ElementDiff {
            key: old.key(),
            action: Action::Delete(clone_model(old)),
        };
        let create = ElementDiff {
            key: new.key(),
            action: Action::Create(clone_model(new)),
        };
        Ok(Self::sorted(vec![delete, create], 0))
    }

    /// The changed elements of this collection, in key order (not their descendants).
    pub fn elements(&self) -> &[ElementDiff<M>] {
        &self.elements
    }

    /// How many elements of this collection, with their descendants, are unchanged and not
    /// stored. Unchanged descendants of stored updates are counted in their own diffs.
    pub fn unchanged_here(&self) -> usize {
        self.unchanged
    }

    /// Whether the diff holds no element. A diff [`DiffModel::diff`] makes holds elements
    /// only where something changed; one built by hand (or read from a peer) may hold an
    /// update whose new values equal the old ones (`1 -> 1`), which changes nothing and is
    /// still an element: ask [`Diff::changes_anything`] of such a diff.
    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }

    /// Whether applying the diff changes anything: it creates or deletes an element, or
    /// changes an attribute to a value other than its old one (under the attribute's `eq`),
    /// at any depth. A diff `diff` makes does whenever it is not empty; one written by hand
    /// or read from a peer may not (an update `10 -> 10`), and a service that acts on what
    /// it receives should ask this rather than [`Diff::is_empty`].
    ///
    /// ```
    /// use statesync::{Action, Change, Diff, DiffModel, ElementDiff, ModelUpdate};
    ///
    /// #[derive(DiffModel, Clone, Debug, PartialEq)]
    /// struct Port {
    ///     #[statesync(id)]
    ///     name: String,
    ///     mtu: u32,
    /// }
    ///
    /// let same = Change { old: 1500, new: 1500 };
    /// let update = ModelUpdate::<Port> {
    ///     fields: PortChanges { mtu: Some(same) },
    ///     children: statesync::NoChildDiffs {},
    /// };
    /// let key = PortKey { name: "et-0".into() };
    /// let diff = Diff::from_elements(vec![ElementDiff { key, action: Action::Update(update) }], 0)?;
    /// assert!(!diff.is_empty());
    /// assert!(!diff.changes_anything());
    /// # Ok::<(), statesync::Error>(())
    /// ```
    pub fn changes_anything(&self) -> bool {
        self.elements.iter().any(|element| match &element.action {
            Action::Create(_) | Action::Delete(_) => true,
            Action::Update(update) => {
                let mut fields = crate::fields::ChangesAny::<M>(&update.fields, false);
                M::visit_attributes(&mut fields);
                let mut children = ChildrenChangeAnything(false);
                M::visit_child_diffs(&update.children, &mut children);
                fields.1 || children.0
            }
        })
    }

    /// The diff that undoes this one: creates become deletes, deletes creates, and every
    /// update swaps its old and new values. `state.apply(&d)` then `state.apply(&d.invert())`
    /// gives back `state` in every compared field (a `Vec` of children may come back in
    /// another order: re-created children are appended).
    #[must_use = "`invert` returns the inverted diff; it does not change this one"]
    pub fn invert(&self) -> Self {
        let elements = self
            .elements
            .iter()
            .map(|element| ElementDiff {
                key: element.key.clone(),
                action: match &element.action {
                    Action::Create(model) => Action::Delete(clone_model(model)),
                    Action::Delete(model) => Action::Create(clone_model(model)),
                    Action::Update(update) => Action::Update(ModelUpdate {
                        fields: M::invert_changes(&update.fields),
                        children: M::invert_child_diffs(&update.children),
                    }),
                },
            })
            .collect();
        Self::sorted(elements, self.unchanged)
    }

    /// The one diff that does what `first` then `second` do to `base`.
    ///
    /// # Errors
    /// When `first` does not apply to `base`, or `second` to the result.
    pub fn compose(base: &M, first: &Self, second: &Self) -> Result<Self, Error> {
        // The diff of a tree deeper than `MAX_DEPTH` is refused: refused before the copy,
        // whose derived `Clone` has no bound on its depth.
        crate::depth::check_subtree(base)?;
        let mut state = base.clone();
        state.apply(first)?;
        state.apply(second)?;
        base.diff(&state)
    }

    /// Checks a root diff against `root`, then applies it.
    pub(crate) fn apply_to_root(&self, root: &mut M) -> Result<(), Error> {
        match self.check_root(root)? {
            RootChange::None => {}
            RootChange::Update(update) => {
                root.apply_fields(&update.fields);
                root.apply_children(&update.children);
            }
            RootChange::Replace(created) => *root = created.clone(),
        }
        Ok(())
    }

    /// Checks a root diff against `root` as `apply` does, changing nothing: what applying
    /// it does to the root.
    pub(crate) fn check_root(&self, root: &M) -> Result<RootChange<'_, M>, Error> {
        check_root_shape(&self.elements)?;
        match self.elements.as_slice() {
            [
                ElementDiff {
                    key,
                    action: Action::Update(update),
                },
            ] => {
                if !root.has_key(key) {
                    return Err(not_found::<M>(Operation::Update, key));
                }
                check_update(root, key, update)?;
                Ok(RootChange::Update(update))
            }
            [first, second] => {
                let ((deleted, payload), (created_key, created)) =
                    match (&first.action, &second.action) {
                        (Action::Delete(payload), Action::Create(created)) => {
                            ((&first.key, payload), (&second.key, created))
                        }
                        (Action::Create(created), Action::Delete(payload)) => {
                            ((&second.key, payload), (&first.key, created))
                        }
                        _ => return Err(invalid_root::<M>(&first.key)),
                    };
                if !created.has_key(created_key) {
                    return Err(Error::key_mismatch(M::NAME, created_key, &created.key()));
                }
                if !root.has_key(deleted) {
                    return Err(not_found::<M>(Operation::Delete, deleted));
                }
                check_delete(root, deleted, payload)?;
                check_create(created)?;
                Ok(RootChange::Replace(created))
            }
            _ => Ok(RootChange::None),
        }
    }
}

/// What a checked root diff does to the root.
pub(crate) enum RootChange<'d, M: DiffModel> {
    /// Nothing: the diff is empty.
    None,
    /// The root is updated.
    Update(&'d ModelUpdate<M>),
    /// The root is replaced by the created model.
    Replace(&'d M),
}

/// Checks that a root diff has a shape a root can take: nothing, one update, or one delete
/// and one create under two keys (a root holds exactly one model). The sync engines refuse
/// other shapes whole, as `apply` does.
///
/// # Errors
/// [`Error::InvalidRootDiff`] naming the first element.
pub(crate) fn check_root_shape<M: DiffModel>(elements: &[ElementDiff<M>]) -> Result<(), Error> {
    let takes = match elements {
        []
        | [
            ElementDiff {
                action: Action::Update(_),
                ..
            },
        ] => true,
        [first, second] => {
            first.key != second.key
                && matches!(
                    (&first.action, &second.action),
                    (Action::Delete(_), Action::Create(_)) | (Action::Create(_), Action::Delete(_))
                )
        }
        _ => false,
    };
    match elements.first() {
        Some(first) if !takes => Err(invalid_root::<M>(&first.key)),
        _ => Ok(()),
    }
}

/// Checks an update against the current model: its fields hold the diff's old values and
/// its child diffs apply.
// Not inlined: one copy per model type, called from each place that needs it.
#[inline(never)]
pub(crate) fn check_update<M: DiffModel>(
    current: &M,
    key: &M::Key,
    update: &ModelUpdate<M>,
) -> Result<(), Error> {
    let _level = Level::enter_key(M::NAME, key)?;
    current
        .check_fields(&update.fields)
        .map_err(|field| stale::<M>(key, field))?;
    current.check_children(&update.children)
}

/// Checks a delete against the current model: the diff's payload must have the element's
/// key and equal it, under the fields' equality and children included, or the delete would
/// lose what changed since (and its inverse would not restore it).
// Not inlined: one copy per model type, called from each place that needs it.
#[inline(never)]
pub(crate) fn check_delete<M: DiffModel>(
    current: &M,
    key: &M::Key,
    payload: &M,
) -> Result<(), Error> {
    if !payload.has_key(key) {
        return Err(Error::key_mismatch(M::NAME, key, &payload.key()));
    }
    // A map entry can hold a model of another key.
    if !current.has_key(key) {
        return Err(Error::key_mismatch(M::NAME, key, &current.key()));
    }
    match compare_outlined(current, payload)? {
        None => Ok(()),
        Some(update) => {
            let mut error = stale_as::<M>(Operation::Delete, key, first_difference(&update));
            if let Error::Stale { below, .. } = &mut error
                && M::changes_are_empty(&update.fields)
            {
                *below = change_below(key, payload, current).map(Box::new);
            }
            Err(error)
        }
    }
}

/// The first change from `then` to `now` below the element (their attributes are equal),
/// as a plan shows it, after its ancestors under the element: what a refused delete of the
/// element would have lost, for [`Error::Stale`] (a children field alone sent a user
/// searching a subtree 8 levels deep). Cut after [`BELOW_SHOWN`] bytes.
#[cold]
#[inline(never)]
fn change_below<M: DiffModel>(key: &M::Key, then: &M, now: &M) -> Option<String> {
    let update = compare_outlined(then, now).ok()??;
    let since = Diff {
        elements: vec![ElementDiff {
            key: key.clone(),
            action: Action::Update(update),
        }],
        unchanged: 0,
    };
    first_change(&since.entries())
}

/// How much of the change below an element [`Error::Stale`] shows.
const BELOW_SHOWN: usize = 256;

/// The first entry below depth 0 that changes something, after its ancestors from depth 1
/// (`site[name=a] > device[name=b] > + port[name=c]`), cut after [`BELOW_SHOWN`] bytes.
fn first_change(entries: &[crate::render::Entry]) -> Option<String> {
    let mut ancestors: Vec<&crate::render::Entry> = Vec::new();
    for entry in entries {
        ancestors.truncate(entry.depth.saturating_sub(1));
        if entry.depth == 0 {
            continue;
        }
        if entry.kind != crate::render::EntryKind::Unchanged {
            let mut shown = String::new();
            for ancestor in &ancestors {
                shown.push_str(&crate::error::Element(ancestor.model, &ancestor.key).to_string());
                shown.push_str(" > ");
            }
            shown.push_str(entry.to_string().trim_start());
            return Some(crate::render::cut(shown, BELOW_SHOWN));
        }
        ancestors.push(entry);
    }
    None
}

/// The first changed attribute of an update, or else its first changed children field.
fn first_difference<M: DiffModel>(update: &ModelUpdate<M>) -> &'static str {
    let mut first = None;
    M::for_each_change(&update.fields, &mut |field, _, _| {
        first = first.or(Some(crate::model::ModelField::name(field)));
    });
    if first.is_none() {
        let mut children = FirstChanged(None);
        M::visit_child_diffs(&update.children, &mut children);
        first = children.0;
    }
    first.unwrap_or_default()
}

/// Whether any child diff changes anything (see [`Diff::changes_anything`]).
struct ChildrenChangeAnything(bool);

impl DiffVisitor for ChildrenChangeAnything {
    fn visit<C: DiffModel>(&mut self, _field: &'static str, diff: &Diff<C>) {
        self.0 = self.0 || diff.changes_anything();
    }
}

/// The name of the first children field whose diff holds an element.
struct FirstChanged(Option<&'static str>);

impl DiffVisitor for FirstChanged {
    fn visit<C: DiffModel>(&mut self, field: &'static str, diff: &Diff<C>) {
        if self.0.is_none() && !diff.is_empty() {
            self.0 = Some(field);
        }
    }
}

/// Checks a created model: every collection in it has distinct keys (a `Vec` of children
/// could hold two with one key, and the applied state could never be diffed again), map
/// children sit under their own keys, and it is within [`crate::MAX_DEPTH`].
// Not inlined: one copy per model type, called from each place that needs it.
#[inline(never)]
pub(crate) fn check_create<M: DiffModel>(created: &M) -> Result<(), Error> {
    check_subtree(created)?;
    compare_outlined(created, created).map(drop)
}

/// An update whose field moved on.
pub(crate) fn stale<M: DiffModel>(key: &M::Key, field: &'static str) -> Error {
    stale_as::<M>(Operation::Update, key, field)
}

/// An update or delete of an element that moved on.
pub(crate) fn stale_as<M: DiffModel>(
    operation: Operation,
    key: &M::Key,
    field: &'static str,
) -> Error {
    Error::stale(operation, M::NAME, key, field)
}

pub(crate) fn not_found<M: DiffModel>(operation: Operation, key: &M::Key) -> Error {
    Error::not_found(operation, M::NAME, key)
}

pub(crate) fn already_exists<M: DiffModel>(key: &M::Key) -> Error {
    Error::already_exists(M::NAME, key)
}

/// A root holds exactly one model: a diff for it is an update, or a delete plus a create.
fn invalid_root<M: DiffModel>(key: &M::Key) -> Error {
    Error::invalid_root(M::NAME, key)
}

impl<M: DiffModel> fmt::Display for Diff<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::render::write_plan(self, f)
    }
}
