//! Collections of child models, matched by key: [`ChildCollection`] and its implementations
//! for [`Store`], `Vec`, `BTreeMap`, `HashMap` and `IndexMap`.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use indexmap::IndexMap;

use crate::diff::{
    Action, Diff, DiffBuilder, already_exists, check_create, check_delete, check_update, not_found,
};
use crate::error::{Error, Operation};
use crate::index::{Keys, Positions, hash_of_model};
use crate::join::{Paired, join};
use crate::model::{DiffModel, DiffObserver};
use crate::store::{Store, position_of};

/// What only statesync's sync engines hold: [`ChildCollection::child_mut`] takes one, so
/// that any collection can implement the method and only the engines can call it (its
/// field is private: nothing outside statesync can make one).
///
/// ```compile_fail,E0423
/// use statesync::{ChildCollection, DiffModel, EngineOnly, Store};
///
/// #[derive(DiffModel, Clone, Debug, PartialEq)]
/// struct Book {
///     #[statesync(id)]
///     isbn: u64,
/// }
///
/// let mut books = Store::try_from_iter([Book { isbn: 1 }])?;
/// // A model's id fields changed in place would leave it under neither key: refused.
/// books.child_mut(&BookKey { isbn: 1 }, EngineOnly(()));
/// # Ok::<(), statesync::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct EngineOnly(());

impl EngineOnly {
    /// The token, for the engines.
    pub(crate) const fn new() -> Self {
        Self(())
    }
}

/// A collection of child models that can be diffed and patched by key. Implemented for
/// [`Store<T>`], `Vec<T>`, and maps keyed by the child's key (`BTreeMap<T::Key, T>`,
/// `HashMap<T::Key, T>`, `IndexMap<T::Key, T>`). Order never matters: children are matched
/// by key.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a collection of `DiffModel`s",
    label = "`#[statesync(children)]` needs a collection of models here",
    note = "supported: `Store<T>`, `Vec<T>`, `BTreeMap<T::Key, T>`, `HashMap<T::Key, T>`, `IndexMap<T::Key, T>` where `T: DiffModel`"
)]
pub trait ChildCollection: Default {
    /// The child model type.
    type Model: DiffModel;

    /// Whether [`ChildCollection::child`] scans the collection (a `Vec`), which may also
    /// hold a key twice: work that looks up many keys then builds an index first, keeping
    /// the first of a repeated key. A collection of your own that can repeat a key should
    /// say so here.
    const SCANS: bool = false;

    /// Whether the collection's order changes from one run to the next (a `HashMap`): work
    /// whose output must not then goes by key order.
    const UNORDERED: bool = false;

    /// The child with this key.
    fn child(&self, key: &<Self::Model as DiffModel>::Key) -> Option<&Self::Model>;

    /// The diff that turns `self` into `new`.
    ///
    /// # Errors
    /// [`Error::DuplicateKey`] when either side holds two children with one key.
    fn diff_collection(
        &self,
        new: &Self,
        observer: &mut dyn DiffObserver,
    ) -> Result<Diff<Self::Model>, Error>;

    /// Checks that `diff` can be applied, changing nothing.
    ///
    /// # Errors
    /// [`Error::NotFound`] / [`Error::AlreadyExists`] naming the element at fault.
    fn check_diff(&self, diff: &Diff<Self::Model>) -> Result<(), Error>;

    /// Applies a diff that [`ChildCollection::check_diff`] accepted. Without that check, an
    /// element that does not apply (an update of a missing child, say) is passed over,
    /// with no error: use [`DiffModel::apply`] on the parent, which checks first.
    fn apply_checked(&mut self, diff: &Diff<Self::Model>);

    /// Checks that every child is filed under its own key. A map can hold a model under
    /// another key (one built by hand, or whose id fields were changed in place without
    /// moving it): a diff refuses such a map, and so does `apply` when it creates into it
    /// (the new model's key could then be held twice). The default, for a
    /// collection that files each child by the child's own key, finds nothing.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use statesync::{ChildCollection, DiffModel, Error};
    ///
    /// #[derive(DiffModel, Clone, Debug, PartialEq)]
    /// struct Host {
    ///     #[statesync(id)]
    ///     name: String,
    /// }
    ///
    /// let mut hosts = BTreeMap::new();
    /// hosts.insert(HostKey { name: "a".into() }, Host { name: "b".into() });
    /// assert!(matches!(hosts.check_filing(), Err(Error::KeyMismatch { .. })));
    /// ```
    ///
    /// # Errors
    /// [`Error::KeyMismatch`] naming the first child filed under another key.
    fn check_filing(&self) -> Result<(), Error> {
        Ok(())
    }

    /// Whether the collection holds one key once: no model set aside after a rename onto
    /// a key another model holds ([`Store::collisions`](crate::Store::collisions)), no key
    /// twice in a `Vec` (maps cannot). `apply` and both sync engines refuse a diff of the
    /// collection until it does.
    ///
    /// # Errors
    /// [`Error::DuplicateKey`] naming the key held twice; for a `Store`,
    /// [`Error::SetAside`] naming the first model set aside.
    fn check_no_collisions(&self) -> Result<(), Error> {
        Ok(())
    }

    /// Calls `f` with each child, in the collection's order.
    fn for_each_child<'a>(&'a self, f: &mut dyn FnMut(&'a Self::Model));

    /// The keys of the children, in the collection's order (in key order for a collection
    /// whose order changes from run to run, [`ChildCollection::UNORDERED`]).
    fn child_keys(&self) -> Vec<<Self::Model as DiffModel>::Key>;

    /// The child with this key, to change in place: what the sync engines use, and only
    /// they can call (it takes an [`EngineOnly`], which only statesync makes). A caller
    /// could change the child's id fields there, and a `Store` files a model by the key its
    /// id fields make: it would then find the model under neither key. Change a model
    /// through [`Store::get_mut`], whose guard files it again.
    fn child_mut(
        &mut self,
        key: &<Self::Model as DiffModel>::Key,
        engine: EngineOnly,
    ) -> Option<&mut Self::Model>;

    /// Removes the child with this key.
    fn remove_child(&mut self, key: &<Self::Model as DiffModel>::Key) -> Option<Self::Model>;

    /// Adds a child, replacing one with the same key ([`Store::insert`] refuses it instead).
    fn insert_child(&mut self, child: Self::Model);

    /// A collection of these children, in this order (where the collection keeps one). A
    /// `Vec` takes them as they are; the default inserts each. A merge gives distinct keys
    /// (it refuses a side whose collection repeats one).
    fn from_children(children: Vec<Self::Model>) -> Self {
        let mut collection = Self::default();
        for child in children {
            collection.insert_child(child);
        }
        collection
    }

    /// Removes the children with these keys, in one pass where the collection keeps an
    /// order (a `Store`, an `IndexMap`: removing one at a time shifts the rest each time).
    #[doc(hidden)]
    fn remove_children(&mut self, keys: &[<Self::Model as DiffModel>::Key]) {
        for key in keys {
            drop(self.remove_child(key));
        }
    }

    /// The children, in the collection's order, taken out of it (it is left empty): for
    /// work on a collection that [`ChildCollection::SCANS`], done on an index and put back
    /// with [`ChildCollection::from_children`]. A `Vec` hands its children over; the
    /// default clones each first (a panicking `Clone` leaves the collection as it was).
    #[doc(hidden)]
    fn take_children(&mut self) -> Vec<Self::Model> {
        let mut children = Vec::new();
        self.for_each_child(&mut |child| children.push(child.clone()));
        *self = Self::default();
        children
    }

    /// Up to `limit` keys of the children in the collection's order from the child with
    /// key `from` on (from the first when `from` is `None`), and the key after them if
    /// there is one: how the async engine reads a wide collection a chunk at a time. The
    /// default reads from the start each time; a `Store`, a `BTreeMap` and an `IndexMap`
    /// start at `from` (so reading n children in chunks is linear, not quadratic).
    #[doc(hidden)]
    fn child_keys_from(
        &self,
        from: Option<&<Self::Model as DiffModel>::Key>,
        limit: usize,
    ) -> ChildKeys<<Self::Model as DiffModel>::Key> {
        ChildKeys::scanning(from, limit, |each| self.for_each_child(each))
    }

    /// How many children the collection holds.
    #[doc(hidden)]
    fn child_count(&self) -> usize {
        let mut count = 0;
        self.for_each_child(&mut |_| count += 1);
        count
    }
}

/// Keys read a chunk at a time ([`ChildCollection::child_keys_from`]): up to a limit, and
/// the key after them.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildKeys<K> {
    /// The keys read, in order.
    pub keys: Vec<K>,
    /// The key after them, where the next chunk starts; `None` at the end.
    pub after: Option<K>,
    limit: usize,
}

impl<K> ChildKeys<K> {
    /// Nothing read yet, up to `limit` keys.
    pub fn new(limit: usize) -> Self {
        Self {
            keys: Vec::new(),
            after: None,
            limit,
        }
    }

    /// The keys of the models `walk` hands over, from the one with key `from` on: a walk of
    /// the whole collection each time (for collections with no place to start from), so
    /// at least [`SCANNED_CHUNK`] of them.
    pub(crate) fn scanning<'m, M: DiffModel<Key = K> + 'm>(
        from: Option<&K>,
        limit: usize,
        walk: impl FnOnce(&mut dyn FnMut(&'m M)),
    ) -> Self {
        let mut keys = Self::new(limit.max(SCANNED_CHUNK));
        let mut on = from.is_none();
        walk(&mut |model| {
            on = on || from.is_some_and(|from| model.has_key(from));
            if on {
                keys.push_with(|| model.key());
            }
        });
        keys
    }

    /// Takes one more key (built only when it is kept): into the chunk while there is room,
    /// then as the key after it. Whether more are wanted.
    pub fn push_with(&mut self, key: impl FnOnce() -> K) -> bool {
        if self.after.is_some() {
            return false;
        }
        if self.keys.len() < self.limit {
            self.keys.push(key());
        } else {
            self.after = Some(key());
        }
        self.after.is_none()
    }
}

/// A model with id fields, so that several of them can share a collection: what a
/// `#[statesync(children)]` field requires of its models. `#[derive(DiffModel)]` implements
/// it for every model with at least one `#[statesync(id)]` field; a model without one is a
/// singleton (a root), and a children field of such models does not compile.
///
/// ```compile_fail
/// use statesync::{DiffModel, Store};
///
/// #[derive(DiffModel, Clone, Debug, PartialEq)]
/// struct Port {
///     speed: u32, // forgot `#[statesync(id)]` on a name
/// }
///
/// #[derive(DiffModel, Clone, Debug, PartialEq)]
/// struct Switch {
///     #[statesync(id)]
///     name: String,
///     #[statesync(children)]
///     ports: Store<Port>, // error: `Port` is not a model with id fields
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a model with id fields, so it cannot be a child matched by key",
    label = "the models of this `children` field need keys",
    note = "derive `DiffModel` on `{Self}` and mark the fields that identify one with \
            `#[statesync(id)]`"
)]
pub trait Keyed {}

/// Read access by key, the one thing the shared diff and check algorithms need.
trait Lookup<M: DiffModel> {
    fn find(&self, key: &M::Key) -> Option<&M>;
}

impl<M: DiffModel> Lookup<M> for Store<M> {
    fn find(&self, key: &M::Key) -> Option<&M> {
        self.get(key)
    }
}

impl<M: DiffModel> Lookup<M> for BTreeMap<M::Key, M> {
    fn find(&self, key: &M::Key) -> Option<&M> {
        self.get(key)
    }
}

impl<M: DiffModel, S: BuildHasher> Lookup<M> for HashMap<M::Key, M, S> {
    fn find(&self, key: &M::Key) -> Option<&M> {
        self.get(key)
    }
}

impl<M: DiffModel, S: BuildHasher> Lookup<M> for IndexMap<M::Key, M, S> {
    fn find(&self, key: &M::Key) -> Option<&M> {
        self.get(key)
    }
}

/// A borrowed `Vec` of children with an index of their keys, refusing duplicate keys.
struct VecIndex<'a, M: DiffModel> {
    index: Positions,
    items: &'a [M],
}

impl<'a, M: DiffModel> VecIndex<'a, M> {
    // Not inlined: one copy per model type.
    #[inline(never)]
    fn build(items: &'a [M]) -> Result<Self, Error> {
        let mut index = Positions::with_capacity(items.len());
        for item in items {
            let same = |at: usize| items.get(at).is_some_and(|other| other.same_key(item));
            if index.find_or_push(hash_of_model(item), &same).is_ok() {
                return Err(Error::duplicate_key(M::NAME, &item.key()));
            }
        }
        Ok(Self { index, items })
    }
}

impl<M: DiffModel> Lookup<M> for VecIndex<'_, M> {
    fn find(&self, key: &M::Key) -> Option<&M> {
        self.items.get(position_of(&self.index, self.items, key)?)
    }
}

/// The index of the models' keys, and the models at its positions: a [`Store`], or a `Vec`
/// with its [`VecIndex`].
type Indexed<'a, M> = (&'a Positions, &'a [M]);

/// The diff of two indexed collections: the join ([`join`], the same code for every model
/// type) pairs the positions of equal keys; pairs are compared, the rest are deletes (old
/// only) or creates (new only).
// Not inlined: one copy per model type, called from each place that needs it.
#[inline(never)]
fn diff_indexed<M: DiffModel>(
    old: Indexed<'_, M>,
    new: Indexed<'_, M>,
    observer: &mut dyn DiffObserver,
) -> Result<Diff<M>, Error> {
    let mut diff = DiffBuilder::new(observer);
    let (old_models, new_models) = (old.1, new.1);
    join(
        old.0,
        new.0,
        &|(at_old, at_new): (usize, usize)| match (old_models.get(at_old), new_models.get(at_new)) {
            (Some(old), Some(new)) => old.same_key(new),
            _ => false,
        },
        &mut |paired: Paired| match paired {
            Paired::Both {
                old: at_old,
                new: at_new,
            } => match (old_models.get(at_old), new_models.get(at_new)) {
                (Some(old), Some(new)) => diff.compared(old, new),
                _ => Ok(()),
            },
            Paired::Old(at) => old_models.get(at).map_or(Ok(()), |old| diff.deleted(old)),
            Paired::New(at) => new_models.get(at).map_or(Ok(()), |new| diff.created(new)),
        },
    )?;
    Ok(diff.finish())
}

/// The diff of two maps keyed by the child's key: each old child is compared with the new
/// child of its key or deleted; the pass over the new side, which looks every new key up
/// in the old side, is skipped when every new child was matched.
// Not inlined: one copy per model and map type.
#[inline(never)]
fn diff_maps<'a, M: DiffModel + 'a>(
    old: impl Iterator<Item = (&'a M::Key, &'a M)>,
    old_lookup: &dyn Lookup<M>,
    new: impl ExactSizeIterator<Item = (&'a M::Key, &'a M)>,
    new_lookup: &dyn Lookup<M>,
    observer: &mut dyn DiffObserver,
) -> Result<Diff<M>, Error> {
    let mut diff = DiffBuilder::new(observer);
    let mut matched = 0;
    for (key, old_model) in old {
        match new_lookup.find(key) {
            Some(new_model) => {
                matched += 1;
                diff.compared(old_model, new_model)?;
            }
            None => diff.deleted(old_model)?,
        }
    }
    if matched < new.len() {
        for (key, new_model) in new {
            if old_lookup.find(key).is_none() {
                diff.created(new_model)?;
            }
        }
    }
    Ok(diff.finish())
}

/// The shared check: no key appears twice, every update and delete names a present key,
/// every create an absent one (with a model of that key), updated fields still hold the
/// diff's old values, and nested updates check out too.
// Not inlined: one copy per model type, called from each place that needs it.
#[inline(never)]
fn check_keyed<M: DiffModel>(lookup: &dyn Lookup<M>, diff: &Diff<M>) -> Result<(), Error> {
    // A diff's elements are in key order, so a key named twice is named twice in a row.
    let mut previous: Option<&M::Key> = None;
    for element in diff.elements() {
        let key = &element.key;
        if previous.replace(key) == Some(key) {
            return Err(Error::duplicate_key(M::NAME, &key));
        }
        let current = lookup.find(key);
        // A map can hold a model under another key than its own (read from a format with
        // struct map keys): refused, as `diff` refuses it.
        if let Some(current) = current
            && !current.has_key(key)
        {
            return Err(Error::key_mismatch(M::NAME, key, &current.key()));
        }
        match (&element.action, current) {
            (Action::Create(model), None) => {
                if !model.has_key(key) {
                    return Err(Error::key_mismatch(M::NAME, key, &model.key()));
                }
                check_create(model)?;
            }
            (Action::Create(_), Some(_)) => return Err(already_exists::<M>(key)),
            (Action::Delete(payload), Some(current)) => check_delete(current, key, payload)?,
            (Action::Update(update), Some(current)) => check_update(current, key, update)?,
            (Action::Delete(_), None) => return Err(not_found::<M>(Operation::Delete, key)),
            (Action::Update(_), None) => return Err(not_found::<M>(Operation::Update, key)),
        }
    }
    Ok(())
}

/// Checks that each map entry holds a model of the entry's key.
fn check_filed<'a, M: DiffModel + 'a>(
    mut entries: impl Iterator<Item = (&'a M::Key, &'a M)>,
) -> Result<(), Error> {
    match entries.find(|(key, model)| !model.has_key(key)) {
        Some((key, model)) => Err(Error::key_mismatch(M::NAME, key, &model.key())),
        None => Ok(()),
    }
}

/// Whether a diff creates an element.
fn creates<M: DiffModel>(diff: &Diff<M>) -> bool {
    diff.elements()
        .iter()
        .any(|element| matches!(element.action, Action::Create(_)))
}

/// Write access by key, the three operations the shared apply algorithm needs.
trait Patch<M: DiffModel> {
    /// Removes the elements `diff` deletes (there is at least one).
    fn remove_deleted(&mut self, diff: &Diff<M>);
    fn find_mut(&mut self, key: &M::Key) -> Option<&mut M>;
    fn add(&mut self, key: &M::Key, model: M);
}

/// The keys a diff deletes.
fn deleted_keys<M: DiffModel>(diff: &Diff<M>) -> impl Iterator<Item = &M::Key> {
    diff.elements()
        .iter()
        .filter(|element| matches!(element.action, Action::Delete(_)))
        .map(|element| &element.key)
}

/// Whether a checked diff (elements in key order, no key twice) deletes `key`.
fn deletes<M: DiffModel>(diff: &Diff<M>, key: &M::Key) -> bool {
    diff.elements()
        .binary_search_by(|element| element.key.cmp(key))
        .ok()
        .and_then(|at| diff.elements().get(at))
        .is_some_and(|element| matches!(element.action, Action::Delete(_)))
}

/// Applies a checked diff: deletes in one pass, then updates in place, then creates.
// Not inlined: one copy per model type, called from each place that needs it.
#[inline(never)]
fn apply_keyed<M: DiffModel>(target: &mut impl Patch<M>, diff: &Diff<M>) {
    if deleted_keys(diff).next().is_some() {
        target.remove_deleted(diff);
    }
    for element in diff.elements() {
        match &element.action {
            Action::Delete(_) => {}
            Action::Update(update) => {
                if let Some(model) = target.find_mut(&element.key) {
                    model.apply_fields(&update.fields);
                    model.apply_children(&update.children);
                }
            }
            Action::Create(model) => target.add(&element.key, crate::diff::clone_model(model)),
        }
    }
}

impl<M: DiffModel> Patch<M> for Store<M> {
    fn remove_deleted(&mut self, diff: &Diff<M>) {
        let (index, models) = self.indexed();
        let mut keep = vec![true; models.len()];
        for key in deleted_keys(diff) {
            if let Some(flag) = position_of(index, models, key).and_then(|at| keep.get_mut(at)) {
                *flag = false;
            }
        }
        self.retain_flagged(&keep);
    }

    fn find_mut(&mut self, key: &M::Key) -> Option<&mut M> {
        self.get_mut_unguarded(key)
    }

    fn add(&mut self, _key: &M::Key, model: M) {
        drop(self.upsert(model));
    }
}

impl<M: DiffModel> ChildCollection for Store<M> {
    type Model = M;

    fn child(&self, key: &M::Key) -> Option<&M> {
        self.get(key)
    }

    fn diff_collection(
        &self,
        new: &Self,
        observer: &mut dyn DiffObserver,
    ) -> Result<Diff<M>, Error> {
        self.check_collisions()?;
        new.check_collisions()?;
        if self.is_empty() && new.is_empty() {
            // Nothing to join (a children field left empty, as many are).
            return Ok(Diff::default());
        }
        diff_indexed(self.indexed(), new.indexed(), observer)
    }

    fn check_diff(&self, diff: &Diff<M>) -> Result<(), Error> {
        self.check_collisions()?;
        check_keyed(self, diff)
    }

    fn check_no_collisions(&self) -> Result<(), Error> {
        self.check_collisions()
    }

    fn apply_checked(&mut self, diff: &Diff<M>) {
        apply_keyed(self, diff);
    }

    fn for_each_child<'a>(&'a self, f: &mut dyn FnMut(&'a M)) {
        self.iter().for_each(f);
    }

    fn child_keys(&self) -> Vec<M::Key> {
        self.keys().collect()
    }

    fn child_mut(&mut self, key: &M::Key, _engine: EngineOnly) -> Option<&mut M> {
        self.get_mut_unguarded(key)
    }

    fn remove_child(&mut self, key: &M::Key) -> Option<M> {
        self.remove(key)
    }

    fn remove_children(&mut self, keys: &[M::Key]) {
        self.remove_keys(keys);
    }

    fn insert_child(&mut self, child: M) {
        drop(self.upsert(child));
    }

    fn child_keys_from(&self, from: Option<&M::Key>, limit: usize) -> ChildKeys<M::Key> {
        let (index, models) = self.indexed();
        let start = from.map_or(Some(0), |from| position_of(index, models, from));
        let mut keys = ChildKeys::new(limit);
        if let Some(rest) = start.and_then(|start| models.get(start..)) {
            for model in rest {
                if !keys.push_with(|| model.key()) {
                    break;
                }
            }
        }
        keys
    }
}

impl<M: DiffModel> ChildCollection for Vec<M> {
    type Model = M;

    const SCANS: bool = true;

    /// Linear in the length of the `Vec`: use a `Store` for large collections.
    fn child(&self, key: &M::Key) -> Option<&M> {
        self.iter().find(|child| child.has_key(key))
    }

    fn diff_collection(
        &self,
        new: &Self,
        observer: &mut dyn DiffObserver,
    ) -> Result<Diff<M>, Error> {
        if self.is_empty() && new.is_empty() {
            // Nothing to index (a children field left empty, as many are).
            return Ok(Diff::default());
        }
        let old = VecIndex::build(self)?;
        let new = VecIndex::build(new)?;
        diff_indexed((&old.index, old.items), (&new.index, new.items), observer)
    }

    fn check_diff(&self, diff: &Diff<M>) -> Result<(), Error> {
        check_keyed(&VecIndex::build(self)?, diff)
    }

    /// A `Vec` that holds one key twice (built by hand): linear in its length.
    fn check_no_collisions(&self) -> Result<(), Error> {
        VecIndex::build(self).map(drop)
    }

    fn apply_checked(&mut self, diff: &Diff<M>) {
        // The keys are built while the `Vec` still holds its children, and a panic in what
        // follows (a created model's `Clone`) puts back what the patch holds: user code
        // that panics does not empty the `Vec`.
        let keys = self.iter().map(DiffModel::key).collect();
        let children = std::mem::take(self);
        let mut patch = PutBack {
            vec: self,
            indexed: IndexedVec::with_keys(children, keys),
        };
        apply_keyed(&mut patch.indexed, diff);
    }

    fn for_each_child<'a>(&'a self, f: &mut dyn FnMut(&'a M)) {
        self.iter().for_each(f);
    }

    fn child_keys(&self) -> Vec<M::Key> {
        self.iter().map(DiffModel::key).collect()
    }

    /// Linear in the length of the `Vec`: use a `Store` for large collections.
    fn child_mut(&mut self, key: &M::Key, _engine: EngineOnly) -> Option<&mut M> {
        self.iter_mut().find(|child| child.has_key(key))
    }

    fn remove_child(&mut self, key: &M::Key) -> Option<M> {
        let at = self.iter().position(|child| child.has_key(key))?;
        Some(self.remove(at))
    }

    fn insert_child(&mut self, child: M) {
        match self.child_mut(&child.key(), EngineOnly::new()) {
            Some(slot) => *slot = child,
            None => self.push(child),
        }
    }

    fn from_children(children: Vec<M>) -> Self {
        children
    }

    fn take_children(&mut self) -> Vec<M> {
        std::mem::take(self)
    }

    fn child_count(&self) -> usize {
        self.len()
    }
}

/// A `Vec` of children with a position index, patched by key; deletions leave holes that
/// [`IndexedVec::into_vec`] closes, keeping the order of the survivors. (Apply patches a
/// `Vec` of children through one; so does the sync engine.)
pub(crate) struct IndexedVec<M: DiffModel> {
    slots: Vec<Option<M>>,
    keys: Keys<M::Key>,
    /// `slot_of[at]`: the slot of the key at position `at` of `keys` (the last of equal
    /// keys, which a checked diff never meets).
    slot_of: Vec<usize>,
}

impl<M: DiffModel> Default for IndexedVec<M> {
    fn default() -> Self {
        Self::with_keys(Vec::new(), Vec::new())
    }
}

/// Puts the children a patch holds back into their `Vec` when dropped: when the patch is
/// done, and while unwinding from a panic in it.
struct PutBack<'v, M: DiffModel> {
    vec: &'v mut Vec<M>,
    indexed: IndexedVec<M>,
}

impl<M: DiffModel> Drop for PutBack<'_, M> {
    fn drop(&mut self) {
        *self.vec = std::mem::take(&mut self.indexed).into_vec();
    }
}

impl<M: DiffModel> IndexedVec<M> {
    #[cfg(feature = "sync")]
    pub(crate) fn new(items: Vec<M>) -> Self {
        let keys = items.iter().map(DiffModel::key).collect();
        Self::with_keys(items, keys)
    }

    /// The children `items`, filed under `keys` (their keys, in order).
    fn with_keys(items: Vec<M>, keys: Vec<M::Key>) -> Self {
        let mut indexed = Self {
            slots: Vec::with_capacity(items.len()),
            keys: Keys::with_capacity(items.len()),
            slot_of: Vec::with_capacity(items.len()),
        };
        for (item, key) in items.into_iter().zip(keys) {
            indexed.add(key, item);
        }
        indexed
    }

    /// The slot of the child with this key.
    fn slot(&self, key: &M::Key) -> Option<usize> {
        self.keys
            .position(key)
            .and_then(|at| self.slot_of.get(at).copied())
    }

    /// Whether two children were added under one key.
    #[cfg(feature = "sync")]
    pub(crate) fn repeats_a_key(&self) -> bool {
        self.keys.as_slice().len() < self.slots.len()
    }

    /// The child with this key, to change in place.
    pub(crate) fn get_mut(&mut self, key: &M::Key) -> Option<&mut M> {
        let at = self.slot(key)?;
        self.slots.get_mut(at)?.as_mut()
    }

    /// Takes the child with this key out (its slot becomes a hole).
    #[cfg(feature = "sync")]
    pub(crate) fn take(&mut self, key: &M::Key) -> Option<M> {
        let at = self.slot(key)?;
        self.slots.get_mut(at)?.take()
    }

    /// The children present, in order.
    #[cfg(feature = "sync")]
    pub(crate) fn iter(&self) -> impl Iterator<Item = &M> {
        self.slots.iter().flatten()
    }

    /// Adds a child at the end, filed under `key`.
    pub(crate) fn add(&mut self, key: M::Key, model: M) {
        let slot = self.slots.len();
        self.slots.push(Some(model));
        match self.keys.insert(key) {
            Ok(_) => self.slot_of.push(slot),
            Err(at) => {
                if let Some(held) = self.slot_of.get_mut(at) {
                    *held = slot;
                }
            }
        }
    }

    pub(crate) fn into_vec(self) -> Vec<M> {
        self.slots.into_iter().flatten().collect()
    }
}

impl<M: DiffModel> Patch<M> for IndexedVec<M> {
    fn remove_deleted(&mut self, diff: &Diff<M>) {
        for key in deleted_keys(diff) {
            if let Some(slot) = self.slot(key).and_then(|at| self.slots.get_mut(at)) {
                *slot = None;
            }
        }
    }

    fn find_mut(&mut self, key: &M::Key) -> Option<&mut M> {
        self.get_mut(key)
    }

    fn add(&mut self, key: &M::Key, model: M) {
        IndexedVec::add(self, key.clone(), model);
    }
}

/// Implements [`ChildCollection`] for a map keyed by the child's key.
macro_rules! map_children {
    ($map:ident, $remove:ident, $unordered:literal, $shifts:literal $(, $hasher:ident)?) => {
        impl<M: DiffModel $(, $hasher: BuildHasher)?> Patch<M> for $map<M::Key, M $(, $hasher)?> {
            fn remove_deleted(&mut self, diff: &Diff<M>) {
                if $shifts {
                    // One pass that keeps the order: removing one at a time shifts every
                    // later entry each time (quadratic for a diff deleting most of them).
                    self.retain(|key, _| !deletes(diff, key));
                } else {
                    for key in deleted_keys(diff) {
                        drop(self.$remove(key));
                    }
                }
            }

            fn find_mut(&mut self, key: &M::Key) -> Option<&mut M> {
                self.get_mut(key)
            }

            fn add(&mut self, key: &M::Key, model: M) {
                drop(self.insert(key.clone(), model));
            }
        }

        impl<M: DiffModel $(, $hasher: BuildHasher + Default)?> ChildCollection for $map<M::Key, M $(, $hasher)?> {
            type Model = M;

            const UNORDERED: bool = $unordered;

            fn child(&self, key: &M::Key) -> Option<&M> {
                self.get(key)
            }

            fn diff_collection(&self, new: &Self, observer: &mut dyn DiffObserver) -> Result<Diff<M>, Error> {
                if self.is_empty() && new.is_empty() {
                    // Nothing to join (a children field left empty, as many are).
                    return Ok(Diff::default());
                }
                check_filed(self.iter().chain(new.iter()))?;
                diff_maps(self.iter(), self, new.iter(), new, observer)
            }

            fn check_diff(&self, diff: &Diff<M>) -> Result<(), Error> {
                // An update or a delete finds its element's own key checked below; a
                // create could add a key that an entry filed elsewhere holds already,
                // which only a look at every entry shows.
                if creates(diff) {
                    self.check_filing()?;
                }
                check_keyed(self, diff)
            }

            fn check_filing(&self) -> Result<(), Error> {
                check_filed(self.iter())
            }

            fn apply_checked(&mut self, diff: &Diff<M>) {
                apply_keyed(self, diff);
            }

            fn for_each_child<'a>(&'a self, f: &mut dyn FnMut(&'a M)) {
                self.values().for_each(f);
            }

            fn child_keys(&self) -> Vec<M::Key> {
                let mut keys: Vec<M::Key> = self.keys().cloned().collect();
                if Self::UNORDERED {
                    keys.sort_unstable();
                }
                keys
            }

            fn child_mut(&mut self, key: &M::Key, _engine: EngineOnly) -> Option<&mut M> {
                self.get_mut(key)
            }

            fn remove_child(&mut self, key: &M::Key) -> Option<M> {
                self.$remove(key)
            }

            fn remove_children(&mut self, keys: &[M::Key]) {
                if $shifts {
                    let mut gone = Keys::with_capacity(keys.len());
                    for key in keys {
                        let _ = gone.insert(key);
                    }
                    self.retain(|key, _| gone.position(&key).is_none());
                } else {
                    for key in keys {
                        drop(self.$remove(key));
                    }
                }
            }

            fn insert_child(&mut self, child: M) {
                drop(self.insert(child.key(), child));
            }

            fn child_keys_from(&self, from: Option<&M::Key>, limit: usize) -> ChildKeys<M::Key> {
                map_keys_from!($map, self, from, limit)
            }
        }
    };
}

/// How many keys, at least, a chunk of a collection with no place to start from holds (a
/// `Vec`, a `HashMap`): each chunk is a pass over the collection, so n children read in
/// chunks of c cost n²/c. The engine's own chunk is 36 keys at one call in flight; the
/// keys a reading holds stay bounded at this size, as the batches of deletes are.
pub(crate) const SCANNED_CHUNK: usize = 1024;

/// [`ChildCollection::child_keys_from`] of a map: a `BTreeMap` and an `IndexMap` start at
/// `from`; a `HashMap` has no order to start in: it is read whole for each chunk (of at
/// least [`SCANNED_CHUNK`] keys), which takes its smallest keys from `from` on (key order,
/// as [`ChildCollection::child_keys`]).
macro_rules! map_keys_from {
    (BTreeMap, $map:ident, $from:ident, $limit:ident) => {{
        let mut keys = ChildKeys::new($limit);
        let rest = match $from {
            Some(from) => $map.range(from..),
            None => $map.range(..),
        };
        for (key, _) in rest {
            if !keys.push_with(|| key.clone()) {
                break;
            }
        }
        keys
    }};
    (IndexMap, $map:ident, $from:ident, $limit:ident) => {{
        let mut keys = ChildKeys::new($limit);
        let start = $from.map_or(Some(0), |from| $map.get_index_of(from));
        for index in start.into_iter().flat_map(|start| start..$map.len()) {
            let Some((key, _)) = $map.get_index(index) else {
                break;
            };
            if !keys.push_with(|| key.clone()) {
                break;
            }
        }
        keys
    }};
    (HashMap, $map:ident, $from:ident, $limit:ident) => {{
        // In key order, as the blocking engine walks it (`UNORDERED`): the `limit + 1`
        // smallest keys from `from` on, kept in a heap as the whole map is read.
        let limit = $limit.max(SCANNED_CHUNK);
        let wanted = limit.saturating_add(1);
        let mut smallest = std::collections::BinaryHeap::with_capacity(wanted.min($map.len()));
        for key in $map
            .keys()
            .filter(|key| $from.is_none_or(|from| *key >= from))
        {
            smallest.push(key);
            if smallest.len() > wanted {
                smallest.pop();
            }
        }
        let mut keys = ChildKeys::new(limit);
        for key in smallest.into_sorted_vec() {
            if !keys.push_with(|| key.clone()) {
                break;
            }
        }
        keys
    }};
}

map_children!(BTreeMap, remove, false, false);
map_children!(HashMap, remove, true, false, S);
map_children!(IndexMap, shift_remove, false, true, S);
