//! [`Store`]: an insertion-ordered collection of models indexed by their typed key.

use std::fmt;
use std::mem::ManuallyDrop;

use crate::callback::Callback;
use crate::children::ChildCollection;
use crate::diff::{Diff, DiffBuilder};
use crate::error::{Error, Operation, Path};
use crate::index::{Keys, Positions, hash_of, hash_of_model, retain_flagged};
use crate::join::all_paired;
use crate::model::{DiffModel, Unobserved};

/// An insertion-ordered collection of models, indexed by their typed key (O(1) average
/// lookups, with a fast hasher seeded per process, since keys may come from the network).
///
/// ```
/// use statesync::{DiffModel, Store};
///
/// #[derive(DiffModel, Clone, Debug, PartialEq)]
/// struct Vlan {
///     #[statesync(id)]
///     id: u16,
///     name: String,
/// }
///
/// let mut vlans = Store::new();
/// vlans.insert(Vlan { id: 10, name: "users".into() })?;
/// assert!(vlans.insert(Vlan { id: 10, name: "again".into() }).is_err());
/// assert_eq!(vlans.get(&VlanKey { id: 10 }).map(|v| v.name.as_str()), Some("users"));
/// # Ok::<(), statesync::Error>(())
/// ```
///
/// A `Store` has a `Drop` of its own (its contents are dropped by one function per model
/// type, which keeps the crates that use it small to compile). So a store of models that
/// borrow data must go before that data does, as any collection with a `Drop` must: declare
/// the borrowed data first.
///
/// The index always agrees with the models: mutable access goes through a [`StoreMut`]
/// guard that files the model under its new key when its id fields changed (a rename keeps
/// the model's position). A rename onto a key another model holds is refused: the renamed
/// model is kept aside in [`Store::collisions`] (nothing is dropped), and until it is taken
/// back with [`Store::take_collisions`], diffing or applying to the store fails with
/// [`Error::SetAside`], as one of a `Vec` holding two models with one key fails with
/// [`Error::DuplicateKey`] (also once the key is free again: removing the model that held
/// it does not bring the renamed one back).
///
/// ```
/// use statesync::{DiffModel, Store};
///
/// #[derive(DiffModel, Clone, Debug, PartialEq)]
/// struct Vlan {
///     #[statesync(id)]
///     id: u16,
///     name: String,
/// }
///
/// let mut vlans = Store::try_from_iter([
///     Vlan { id: 10, name: "users".into() },
///     Vlan { id: 20, name: "voice".into() },
/// ])?;
/// vlans.track_changes();
/// if let Some(mut vlan) = vlans.get_mut(&VlanKey { id: 10 }) {
///     vlan.id = 11; // a rename: filed under its new key when the guard drops
/// }
/// assert!(vlans.get(&VlanKey { id: 10 }).is_none());
/// assert_eq!(vlans.get(&VlanKey { id: 11 }).map(|v| v.name.as_str()), Some("users"));
/// let mut touched: Vec<u16> = vlans.touched().into_iter().flatten().map(|k| k.id).collect();
/// touched.sort();
/// assert_eq!(touched, [10, 11]); // both the old and the new key
///
/// vlans.get_mut(&VlanKey { id: 20 }).expect("present").id = 11; // 11 is taken
/// assert_eq!(vlans.len(), 1);
/// assert!(vlans.diff(&Store::new()).is_err()); // two models with key 11
/// let aside = vlans.take_collisions();
/// assert_eq!(aside[0].name, "voice");
/// # Ok::<(), statesync::Error>(())
/// ```
// The index is the same code for every model type (`crate::index`): a hash index of the
// positions of the models' keys. The keys are not stored: a lookup hashes the key it is
// given and compares it with the id fields of the models its hash leads to.
pub struct Store<M: DiffModel> {
    /// Dropped by `Store`'s `Drop`: one function per model type, where drop glue for the
    /// collections inside would be copied into every codegen unit that drops a store.
    parts: ManuallyDrop<Parts<M>>,
}

/// What a [`Store`] holds.
#[derive(Clone)]
struct Parts<M: DiffModel> {
    /// The hash of each model's key, by position, and a table from hashes to positions.
    index: Positions,
    models: Vec<M>,
    /// Keys changed since tracking started ([`Store::track_changes`]); `None` when off.
    touched: Option<Keys<M::Key>>,
    /// Models renamed onto a key another model holds, kept aside until taken back.
    collisions: Vec<M>,
}

impl<M: DiffModel> Default for Parts<M> {
    fn default() -> Self {
        Self {
            index: Positions::default(),
            models: Vec::new(),
            touched: None,
            collisions: Vec::new(),
        }
    }
}

impl<M: DiffModel> Parts<M> {
    /// Files the models at the positions `renamed` (ascending) under their new keys: the
    /// positions of those whose key a model not renamed, or an earlier renamed one, holds
    /// (to set aside).
    fn file_renamed(&mut self, renamed: &[usize]) -> Vec<usize> {
        for &at in renamed {
            if let Some(model) = self.models.get(at) {
                touch_model(&mut self.touched, model);
                self.index.rehash(at, hash_of_model(model));
            }
        }
        let mut aside: Vec<usize> = Vec::new();
        for &at in renamed {
            let Some(model) = self.models.get(at) else {
                continue;
            };
            let models = &self.models;
            let holder = |other: usize| {
                other != at
                    && aside.binary_search(&other).is_err()
                    && (other < at || renamed.binary_search(&other).is_err())
                    && models.get(other).is_some_and(|o| o.same_key(model))
            };
            if self.index.find(hash_of_model(model), &holder).is_some() {
                aside.push(at);
            }
        }
        aside
    }

    /// Moves the models at the positions `aside` (ascending) to the collisions, out of the
    /// index. Calls no code of the models'.
    fn set_aside(&mut self, aside: &[usize]) {
        if aside.is_empty() {
            return;
        }
        let keep: Vec<bool> = (0..self.models.len())
            .map(|at| aside.binary_search(&at).is_err())
            .collect();
        self.index.retain(&keep);
        let models = std::mem::take(&mut self.models);
        for (model, kept) in models.into_iter().zip(&keep) {
            if *kept {
                self.models.push(model);
            } else {
                self.collisions.push(model);
            }
        }
    }
}

/// Sets models aside when dropped: at the end of [`Store::refile`], those it found
/// taken; while unwinding from a panic of a model's `Hash` or `PartialEq` there, every
/// candidate.
struct SetAside<'p, M: DiffModel> {
    parts: &'p mut Parts<M>,
    candidates: &'p [usize],
    /// The positions found taken, once `refile` got that far.
    taken: Option<Vec<usize>>,
}

impl<M: DiffModel> Drop for SetAside<'_, M> {
    fn drop(&mut self) {
        let aside = self.taken.as_deref().unwrap_or(self.candidates);
        self.parts.set_aside(aside);
    }
}

/// Runs `refile` in a drop (a guard's, or `for_each_mut`'s): while the thread is already
/// unwinding, a panic of the models' own code in it is caught, since one escaping a drop
/// then aborts the process (what `refile` did not finish, its guard set aside).
fn refile_in_drop(refile: impl FnOnce()) {
    if std::thread::panicking() {
        // The panic under way goes on; this one is reported by the panic hook only.
        drop(std::panic::catch_unwind(std::panic::AssertUnwindSafe(
            refile,
        )));
    } else {
        refile();
    }
}

impl<M: DiffModel> Drop for Store<M> {
    // Not inlined: the one place a store's contents are dropped. The models are dropped
    // where they are, not moved onto the stack first: a tree of stores is dropped a level
    // per call, and a frame holding the parts made it overflow at half the depth a tree of
    // `Vec`s reaches in a debug build, a third in release.
    #[inline(never)]
    fn drop(&mut self) {
        let parts = FreedOnDrop(&mut self.parts);
        parts.0.models.clear();
        parts.0.collisions.clear();
    }
}

/// Frees what a store holds when dropped, after its models (in [`Store`]'s `Drop`): also
/// when a model's own `Drop` panics there, so that the rest is not leaked. It holds only a
/// pointer, so the frame a tree of stores stacks once per level stays small; the freeing
/// itself is a call of its own, not inlined into that frame.
struct FreedOnDrop<'a, M: DiffModel>(&'a mut Parts<M>);

impl<M: DiffModel> Drop for FreedOnDrop<'_, M> {
    #[inline(never)]
    fn drop(&mut self) {
        drop(std::mem::take(self.0));
    }
}

impl<M: DiffModel> Clone for Store<M> {
    // Not inlined: one copy per model type, not one inside every clone of a parent model.
    #[inline(never)]
    fn clone(&self) -> Self {
        Self {
            parts: self.parts.clone(),
        }
    }
}

impl<M: DiffModel> Default for Store<M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: DiffModel> Store<M> {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            parts: ManuallyDrop::new(Parts::default()),
        }
    }

    /// An empty store with room for `capacity` models.
    // Not inlined: one copy per model type.
    #[inline(never)]
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            parts: ManuallyDrop::new(Parts {
                index: Positions::with_capacity(capacity),
                models: Vec::with_capacity(capacity),
                touched: None,
                collisions: Vec::new(),
            }),
        }
    }

    /// Builds a store from models, refusing the first duplicate key.
    ///
    /// # Errors
    /// [`Error::DuplicateKey`] naming the model and the key.
    pub fn try_from_iter(models: impl IntoIterator<Item = M>) -> Result<Self, Error> {
        let models = models.into_iter();
        let mut store = Self::with_capacity(models.size_hint().0);
        for model in models {
            store.insert(model)?;
        }
        Ok(store)
    }

    /// How many models the store holds under their keys (not counting
    /// [`Store::collisions`]).
    pub fn len(&self) -> usize {
        self.parts.models.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.parts.models.is_empty()
    }

    /// The model with this key.
    pub fn get(&self, key: &M::Key) -> Option<&M> {
        self.parts.models.get(self.position(key)?)
    }

    /// The position of the model with this key.
    fn position(&self, key: &M::Key) -> Option<usize> {
        position_of(&self.parts.index, &self.parts.models, key)
    }

    /// The model with this key, to change in place, behind a guard that keeps the index
    /// right: when the guard drops and the model's id fields changed, the model is filed
    /// under its new key at the same position (both keys count as touched), or, when another
    /// model holds that key, kept aside in [`Store::collisions`] (as it is when the id's
    /// `Hash` or `PartialEq` panics while it is filed).
    ///
    /// Bind it with `mut` to assign through it: `if let Some(mut m) = store.get_mut(&k)`.
    /// A guard leaked with [`std::mem::forget`] never files its model: a model renamed
    /// through it stays under its old key (safe, as a leaked `Vec::drain` is, but the index
    /// no longer agrees with the model).
    pub fn get_mut(&mut self, key: &M::Key) -> Option<StoreMut<'_, M>> {
        let index = self.position(key)?;
        self.touch(key);
        Some(StoreMut {
            store: self,
            index,
            key: key.clone(),
            inserted: false,
        })
    }

    /// Calls `f` with the model with this key, to change it in place, and files it under its
    /// new key afterwards as [`Store::get_mut`] does; `None` when no model has the key. Handy
    /// to reach down a tree in one expression:
    ///
    /// ```
    /// # use statesync::{DiffModel, Store};
    /// # #[derive(DiffModel, Clone, Debug, PartialEq)]
    /// # struct Site { #[statesync(id)] name: String, #[statesync(children)] racks: Store<Rack> }
    /// # #[derive(DiffModel, Clone, Debug, PartialEq)]
    /// # struct Rack { #[statesync(id)] name: String, units: u8 }
    /// # let rack = Rack { name: "r1".into(), units: 42 };
    /// # let mut sites = Store::try_from_iter([Site { name: "ams".into(), racks: Store::try_from_iter([rack])? }])?;
    /// let done = sites.modify(&SiteKey { name: "ams".into() }, |site| {
    ///     site.racks.modify(&RackKey { name: "r1".into() }, |rack| rack.units = 48)
    /// });
    /// assert_eq!(done, Some(Some(())));
    /// # Ok::<(), statesync::Error>(())
    /// ```
    pub fn modify<R>(&mut self, key: &M::Key, f: impl FnOnce(&mut M) -> R) -> Option<R> {
        let mut model = self.get_mut(key)?;
        Some(f(&mut model))
    }

    /// Mutable access without the guard, for code that never changes id fields (apply).
    // Not inlined: one copy per model type for the applies that call it.
    #[inline(never)]
    pub(crate) fn get_mut_unguarded(&mut self, key: &M::Key) -> Option<&mut M> {
        self.touch(key);
        let at = self.position(key)?;
        self.parts.models.get_mut(at)
    }

    /// Calls `f` with each model in order, to change it in place; models whose id fields `f`
    /// changed are filed under their new keys once every model has been through `f`, so a
    /// renumbering that ends with distinct keys (`id += 1`) is a set of renames, whatever
    /// the order. A renamed model whose new key another model holds in the end is kept
    /// aside in [`Store::collisions`] (a model `f` did not rename keeps its key; of renamed
    /// models with one key, the first in order stays). With tracking on, every key counts
    /// as touched. Builds each model's key (to see whether `f` changed it).
    pub fn for_each_mut(&mut self, mut f: impl FnMut(&mut M)) {
        let mut refile = Refile {
            store: self,
            renamed: Vec::new(),
            changing: None,
        };
        let parts = &mut *refile.store.parts;
        for (at, model) in parts.models.iter_mut().enumerate() {
            let key = model.key();
            touch(&mut parts.touched, &key);
            // Should `f` panic, the model it was changing is filed again if it was renamed.
            let key = &refile.changing.insert((at, key)).1;
            f(model);
            if !model.has_key(key) {
                refile.renamed.push(at);
            }
        }
        refile.changing = None;
    }

    /// Files the models at the positions `candidates` (ascending) that `renamed` says were
    /// renamed under their new keys, in place; those whose key a model not renamed, or an
    /// earlier renamed one, holds go to the collisions. A [`StoreMut`] guard refiles
    /// `&[at]`, renamed when the model no longer has its key. Should a model's `Hash` or
    /// `PartialEq` panic on the way (in `renamed` too), every candidate goes to the
    /// collisions: none stays filed under the hash of a key it no longer has (where no
    /// lookup would find it, and an insert of its key would file a second model).
    fn refile(&mut self, candidates: &[usize], renamed: impl Fn(usize, &M) -> bool) {
        let mut refiling = SetAside {
            parts: &mut *self.parts,
            candidates,
            taken: None,
        };
        let renamed: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&at| {
                refiling
                    .parts
                    .models
                    .get(at)
                    .is_some_and(|model| renamed(at, model))
            })
            .collect();
        refiling.taken = Some(refiling.parts.file_renamed(&renamed));
    }

    /// [`Store::refile`] of models known to be renamed (no comparison, no list to build).
    fn refile_renamed(&mut self, renamed: &[usize]) {
        let mut refiling = SetAside {
            parts: &mut *self.parts,
            candidates: renamed,
            taken: None,
        };
        refiling.taken = Some(refiling.parts.file_renamed(renamed));
    }

    /// Models renamed (through [`Store::get_mut`] or [`Store::for_each_mut`]) onto a key
    /// another model holds: kept aside, not in the index, in the order they collided.
    pub fn collisions(&self) -> &[M] {
        &self.parts.collisions
    }

    /// Takes the models kept aside by colliding renames; diffs and applies work again.
    pub fn take_collisions(&mut self) -> Vec<M> {
        std::mem::take(&mut self.parts.collisions)
    }

    /// Refuses a store with a colliding rename pending: it holds two models with one key.
    // Not inlined: one copy per model type for the diffs and checks that call it.
    #[inline(never)]
    pub(crate) fn check_collisions(&self) -> Result<(), Error> {
        match self.parts.collisions.first() {
            Some(model) => Err(Error::set_aside(M::NAME, &model.key())),
            None => Ok(()),
        }
    }

    /// Keeps the models for which `keep` is true, in order; the others are removed (and
    /// count as touched).
    pub fn retain(&mut self, keep: impl FnMut(&M) -> bool) {
        let flags: Vec<bool> = self.parts.models.iter().map(keep).collect();
        self.retain_flagged(&flags);
    }

    /// Keeps the models at the positions `keep` flags, in order; the others are removed (and
    /// count as touched).
    pub(crate) fn retain_flagged(&mut self, keep: &[bool]) {
        if !keep.contains(&false) {
            return;
        }
        let parts = &mut *self.parts;
        if parts.touched.is_some() {
            for (at, model) in parts.models.iter().enumerate() {
                if keep.get(at) == Some(&false) {
                    touch(&mut parts.touched, &model.key());
                }
            }
        }
        parts.index.retain(keep);
        retain_flagged(&mut parts.models, keep);
    }

    /// Removes the models with these keys in one pass (keys absent are passed over), each
    /// key recorded as touched when tracking.
    pub(crate) fn remove_keys(&mut self, keys: &[M::Key]) {
        let (index, models) = self.indexed();
        let mut keep = vec![true; models.len()];
        for key in keys {
            if let Some(flag) = position_of(index, models, key).and_then(|at| keep.get_mut(at)) {
                *flag = false;
            }
        }
        self.retain_flagged(&keep);
    }

    /// Removes the model at a position, shifting the models after it.
    fn shift_remove_index(&mut self, index: usize) -> Option<M> {
        if index >= self.parts.models.len() {
            return None;
        }
        self.parts.index.shift_remove(index);
        Some(self.parts.models.remove(index))
    }

    /// Whether a model with this key is present.
    pub fn contains(&self, key: &M::Key) -> bool {
        self.position(key).is_some()
    }

    /// Adds a model at the end.
    ///
    /// # Errors
    /// [`Error::DuplicateKey`] when a model with the same key is present; the store's
    /// models are left unchanged (with [tracking](Self::track_changes) on, the key is
    /// recorded as touched all the same).
    pub fn insert(&mut self, model: M) -> Result<(), Error> {
        // Recorded first (a refused insert records a key that did not change, which costs
        // a diff of one element): the user code it runs (the id's `Clone` and `Hash`) may
        // panic, and must not find the index holding a position no model fills.
        self.touch_model(&model);
        match self.index_new(&model) {
            Ok(_) => {
                self.parts.models.push(model);
                Ok(())
            }
            Err(_) => Err(Error::duplicate_key(M::NAME, &model.key())),
        }
    }

    /// Indexes a new position at the end for `model`'s key (`Ok`), which the caller fills
    /// by pushing the model; or, when a model has that key, leaves the index unchanged and
    /// returns that model's position (`Err`). Builds no key.
    fn index_new(&mut self, model: &M) -> Result<usize, usize> {
        let parts = &mut *self.parts;
        let models = &parts.models;
        let same = |at: usize| models.get(at).is_some_and(|held| held.same_key(model));
        match parts.index.find_or_push(hash_of_model(model), &same) {
            Ok(present) => Err(present),
            Err(added) => Ok(added),
        }
    }

    /// Adds a model, or replaces the one with the same key (keeping its position).
    /// Returns the replaced model.
    pub fn upsert(&mut self, model: M) -> Option<M> {
        self.touch_model(&model);
        match self.index_new(&model) {
            Ok(_) => {
                self.parts.models.push(model);
                None
            }
            Err(index) => Some(std::mem::replace(self.parts.models.get_mut(index)?, model)),
        }
    }

    /// Replaces the model with the same key and returns the old one.
    ///
    /// # Errors
    /// [`Error::NotFound`] when no model has this key; the store's models are left
    /// unchanged (with [tracking](Self::track_changes) on, the key is recorded as touched
    /// all the same).
    pub fn update(&mut self, model: M) -> Result<M, Error> {
        let key = model.key();
        self.touch(&key);
        match self
            .position(&key)
            .and_then(|at| self.parts.models.get_mut(at))
        {
            Some(slot) => Ok(std::mem::replace(slot, model)),
            None => Err(Error::NotFound {
                operation: Operation::Update,
                model: M::NAME,
                key: key.to_string(),
                path: Path::root(),
            }),
        }
    }

    /// Removes the model with this key, with its children, keeping the order of the rest.
    /// O(n): it shifts the models after it.
    pub fn remove(&mut self, key: &M::Key) -> Option<M> {
        self.touch(key);
        self.shift_remove_index(self.position(key)?)
    }

    /// The model with this key, inserting `make()` first when it is absent, behind the
    /// guard [`Store::get_mut`] returns; [`StoreMut::inserted`] says which happened
    /// (diffsync's `get_or_instantiate` answers `(model, created)`).
    ///
    /// ```
    /// use statesync::{DiffModel, Store};
    ///
    /// #[derive(DiffModel, Clone, Debug, PartialEq)]
    /// struct Vlan {
    ///     #[statesync(id)]
    ///     vid: u16,
    ///     name: String,
    /// }
    ///
    /// let mut vlans = Store::new();
    /// let make = || Vlan { vid: 10, name: "users".into() };
    /// assert!(vlans.get_or_insert_with(VlanKey { vid: 10 }, make)?.inserted());
    /// let found = vlans.get_or_insert_with(VlanKey { vid: 10 }, make)?;
    /// assert!(!found.inserted());
    /// assert_eq!(found.name, "users");
    /// # Ok::<(), statesync::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::KeyMismatch`] when `make` builds a model with another key; nothing is
    /// inserted.
    pub fn get_or_insert_with(
        &mut self,
        key: M::Key,
        make: impl FnOnce() -> M,
    ) -> Result<StoreMut<'_, M>, Error> {
        self.touch(&key);
        let (index, inserted) = match self.position(&key) {
            Some(index) => (index, false),
            None => {
                let model = make();
                if !model.has_key(&key) {
                    return Err(Error::key_mismatch(M::NAME, &key, &model.key()));
                }
                (self.push_absent(&key, model), true)
            }
        };
        Ok(StoreMut {
            store: self,
            index,
            key,
            inserted,
        })
    }

    /// Inserts `model`, or, when a model with its key is present, sets that model's compared
    /// attributes to `model`'s, keeping its children and skipped fields (diffsync's
    /// `update_or_instantiate`). Returns the guard [`Store::get_mut`] returns, whose
    /// [`StoreMut::inserted`] says which happened.
    pub fn update_or_insert(&mut self, model: M) -> StoreMut<'_, M> {
        let key = model.key();
        self.touch(&key);
        let found = self
            .position(&key)
            .and_then(|index| Some((index, self.parts.models.get_mut(index)?)));
        let (index, inserted) = match found {
            Some((index, current)) => {
                let changes = current.diff_fields(&model);
                current.apply_fields(&changes);
                (index, false)
            }
            None => (self.push_absent(&key, model), true),
        };
        StoreMut {
            store: self,
            index,
            key,
            inserted,
        }
    }

    /// Adds a model whose key `key` is absent at the end; returns its position.
    fn push_absent(&mut self, key: &M::Key, model: M) -> usize {
        let index = self.parts.index.push(hash_of(key));
        self.parts.models.push(model);
        index
    }

    /// The models in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &M> + DoubleEndedIterator {
        self.parts.models.iter()
    }

    /// The keys in order, each built from its model's id fields (a store keeps no copy of
    /// its keys).
    pub fn keys(&self) -> impl ExactSizeIterator<Item = M::Key> + DoubleEndedIterator + '_ {
        self.parts.models.iter().map(DiffModel::key)
    }

    /// Keys with their models, in order (the keys built as [`Store::keys`] builds them).
    pub fn entries(&self) -> impl ExactSizeIterator<Item = (M::Key, &M)> + DoubleEndedIterator {
        self.parts.models.iter().map(|model| (model.key(), model))
    }

    /// The index of the models' keys, and the models at its positions.
    pub(crate) fn indexed(&self) -> (&Positions, &[M]) {
        (&self.parts.index, &self.parts.models)
    }

    fn touch(&mut self, key: &M::Key) {
        touch(&mut self.parts.touched, key);
    }

    /// Records a model's key as touched (built only when tracking is on).
    fn touch_model(&mut self, model: &M) {
        touch_model(&mut self.parts.touched, model);
    }

    /// Starts recording which keys change: every key passed to a mutating method
    /// (`get_mut`, `insert`, `upsert`, `update`, `remove`, ...) from now on. An event handler
    /// that edits the store through these methods makes [`Store::diff_touched`] cost what the
    /// events touched, not the size of the store. Clears what was recorded before.
    /// A clone keeps the record; serde does not carry it (a `Store` read back tracks
    /// nothing until this is called, and [`Store::diff_touched`] then diffs it whole).
    pub fn track_changes(&mut self) {
        self.parts.touched = Some(Keys::default());
    }

    /// Stops recording changes and forgets what was recorded.
    pub fn stop_tracking(&mut self) {
        self.parts.touched = None;
    }

    /// The keys touched since tracking started, or `None` when tracking is off.
    pub fn touched(&self) -> Option<impl Iterator<Item = &M::Key>> {
        self.parts
            .touched
            .as_ref()
            .map(|touched| touched.as_slice().iter())
    }

    /// Returns the keys touched so far and starts a fresh record (tracking stays on). Call
    /// it after a sync that succeeded: keys whose sync failed must stay touched (put them
    /// back with [`Store::touch_keys`]) or later incremental syncs will not see them.
    pub fn take_touched(&mut self) -> Vec<M::Key> {
        self.parts
            .touched
            .as_mut()
            .map(Keys::take)
            .unwrap_or_default()
    }

    /// Marks keys as touched (when tracking is on), for example those whose sync failed.
    pub fn touch_keys<'k>(&mut self, keys: impl IntoIterator<Item = &'k M::Key>)
    where
        M::Key: 'k,
    {
        for key in keys {
            self.touch(key);
        }
    }

    /// The diff that turns this store into `new` for the given keys only: each key present
    /// on both sides is compared (its whole subtree), present only in `new` is a create,
    /// only here a delete. Keys outside the list are neither compared nor deleted, so the
    /// cost is that of the listed elements (a scoped or incremental sync).
    ///
    /// # Errors
    /// [`Error::SetAside`] when either store holds a model set aside after a colliding
    /// rename; [`Error::DuplicateKey`] from a `Vec` of children inside.
    pub fn diff_keys<'k>(
        &self,
        new: &Self,
        keys: impl IntoIterator<Item = &'k M::Key>,
    ) -> Result<Diff<M>, Error>
    where
        M::Key: 'k,
    {
        self.check_collisions()?;
        new.check_collisions()?;
        let mut observer = Unobserved;
        let mut diff = DiffBuilder::new(&mut observer);
        let mut seen = SeenPairs::default();
        for key in keys {
            let hash = hash_of(key);
            let (at_old, at_new) = (self.hashed(hash, key), new.hashed(hash, key));
            if !seen.first_time(at_old, at_new) {
                continue;
            }
            let old_model = at_old.and_then(|at| self.parts.models.get(at));
            match (old_model, at_new.and_then(|at| new.parts.models.get(at))) {
                (Some(old), Some(new)) => diff.compared(old, new)?,
                (Some(old), None) => diff.deleted(old)?,
                (None, Some(new)) => diff.created(new)?,
                (None, None) => {}
            }
        }
        Ok(diff.finish())
    }

    /// The position of the model with this key, whose [`hash_of`] is `hash`.
    fn hashed(&self, hash: u64, key: &M::Key) -> Option<usize> {
        position_hashed(&self.parts.index, &self.parts.models, hash, key)
    }

    /// The diff to `new` over the keys `new` recorded as touched ([`Store::track_changes`]),
    /// or the full diff when `new` does not track changes. Valid when `new` started tracking
    /// as a copy of `self` (or of a state `self` was synced to).
    ///
    /// # Errors
    /// [`Error::SetAside`] when either store holds a model set aside after a colliding
    /// rename; [`Error::DuplicateKey`] from a `Vec` of children inside.
    pub fn diff_touched(&self, new: &Self) -> Result<Diff<M>, Error> {
        match &new.parts.touched {
            Some(touched) => self.diff_keys(new, touched.as_slice()),
            None => self.diff(new),
        }
    }

    /// The diff that turns this store into `new`, matching models by key.
    ///
    /// # Errors
    /// [`Error::SetAside`] when either store holds a model set aside after a colliding
    /// rename; [`Error::DuplicateKey`] from a `Vec` of children inside.
    pub fn diff(&self, new: &Self) -> Result<Diff<M>, Error> {
        self.diff_collection(new, &mut Unobserved)
    }

    /// Checks the whole diff, then applies it; on error the store is unchanged.
    ///
    /// # Errors
    /// As [`DiffModel::apply`]: [`Error::NotFound`] / [`Error::AlreadyExists`] naming the
    /// element at fault, [`Error::Stale`] when an updated field or a deleted element
    /// changed since the diff was made, [`Error::SetAside`] while the store holds a model
    /// set aside, [`Error::DuplicateKey`] or [`Error::KeyMismatch`] for a diff or a
    /// created model that is not consistent, [`Error::TooDeep`].
    pub fn apply(&mut self, diff: &Diff<M>) -> Result<(), Error> {
        self.check_diff(diff)?;
        self.apply_checked(diff);
        Ok(())
    }
}

/// Two stores are equal when they hold equal models under the same keys, in any order (and
/// equal [`Store::collisions`]).
impl<M: DiffModel + PartialEq> PartialEq for Store<M> {
    fn eq(&self, other: &Self) -> bool {
        let (this, other) = (&*self.parts, &*other.parts);
        if this.models.len() != other.models.len()
            || this.collisions.len() != other.collisions.len()
        {
            return false;
        }
        // One call site of the models' equality for both lists (a slice comparison of the
        // collisions would be another copy of it).
        let same: &dyn Callback<(Option<&M>, Option<&M>), bool> = &|(a, b)| a == b;
        let collided = |at| same.run((this.collisions.get(at), other.collisions.get(at)));
        (0..this.collisions.len()).all(collided)
            && all_paired(
                &this.index,
                &other.index,
                &|(at, found): (usize, usize)| match (this.models.get(at), other.models.get(found))
                {
                    (Some(a), Some(b)) => a.same_key(b),
                    _ => false,
                },
                &mut |(at, found): (usize, usize)| {
                    same.run((this.models.get(at), other.models.get(found)))
                },
            )
    }
}

impl<M: DiffModel + Eq> Eq for Store<M> {}

impl<M: DiffModel + fmt::Debug> fmt::Debug for Store<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(&self.parts.models)
            .entries(&self.parts.collisions)
            .finish()
    }
}

impl<'a, M: DiffModel> IntoIterator for &'a Store<M> {
    type Item = &'a M;
    type IntoIter = std::slice::Iter<'a, M>;

    fn into_iter(self) -> Self::IntoIter {
        self.parts.models.iter()
    }
}

/// The models in order, then the models kept aside by colliding renames
/// ([`Store::collisions`]): nothing is dropped.
impl<M: DiffModel> IntoIterator for Store<M> {
    type Item = M;
    type IntoIter = std::vec::IntoIter<M>;

    fn into_iter(mut self) -> Self::IntoIter {
        let mut models = std::mem::take(&mut self.parts.models);
        models.append(&mut self.parts.collisions);
        models.into_iter()
    }
}

impl<M: DiffModel> TryFrom<Vec<M>> for Store<M> {
    type Error = Error;

    fn try_from(models: Vec<M>) -> Result<Self, Error> {
        Self::try_from_iter(models)
    }
}

#[cfg(feature = "serde")]
mod serde_impl {
    use std::fmt;
    use std::marker::PhantomData;

    use serde::de::{SeqAccess, Visitor};
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Store;
    use crate::model::DiffModel;

    /// Serialised as a sequence of models, in order, followed by any [`Store::collisions`] (so
    /// nothing is lost). Reading them back is refused as a duplicate key while a model of the
    /// store holds their key; a model set aside whose key was freed since (the holder
    /// removed) comes back as an ordinary model, last. A store of models nested more than
    /// one level deeper than [`MAX_DEPTH`](crate::MAX_DEPTH) is an error, not a stack
    /// overflow (one level more is written, as a create's payload inside a diff reaches it;
    /// `diff` and `History` refuse it).
    impl<M: DiffModel + Serialize> Serialize for Store<M> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let (models, collisions) = (&self.parts.models, &self.parts.collisions);
            let _level =
                crate::depth::enter_write::<M, S::Error>(models.first().or(collisions.first()))?;
            let mut seq = serializer.serialize_seq(Some(models.len() + collisions.len()))?;
            serialize_elements(&mut seq, &[models.as_slice(), collisions.as_slice()])?;
            seq.end()
        }
    }

    /// Serialises the models of the lists in order.
    // Not inlined: one loop, compiled once per model and serializer (a loop over the two
    // lists in place was unrolled).
    #[inline(never)]
    fn serialize_elements<S: SerializeSeq, M: Serialize>(
        seq: &mut S,
        lists: &[&[M]],
    ) -> Result<(), S::Error> {
        for list in lists {
            for model in *list {
                seq.serialize_element(model)?;
            }
        }
        Ok(())
    }

    /// Deserialised from a sequence of models; a duplicate key is an error naming the model
    /// and the key, and stores nested more than one level deeper than
    /// [`MAX_DEPTH`](crate::MAX_DEPTH) are an error, not a stack overflow, in any format
    /// (one level more is read, as a create's payload inside a diff reaches it; `diff` and
    /// `History` refuse it).
    impl<'de, M: DiffModel + Deserialize<'de>> Deserialize<'de> for Store<M> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            crate::depth::read_level::<M, _, _>(|| {
                deserializer.deserialize_seq(StoreVisitor(PhantomData))
            })
        }
    }

    struct StoreVisitor<M>(PhantomData<M>);

    /// How many models to make room for before reading a sequence that says it holds
    /// `hint`: at most 4,096, and at most 1 MiB of models and their index (as serde's own
    /// `Vec` reserves at most 1 MiB), so a length that untrusted bytes claim reserves no
    /// more than that for each store they nest (4,096 models of 4 KiB each did, under a
    /// format's size limit).
    pub(super) fn cautious_capacity<M>(hint: Option<usize>) -> usize {
        const MAX_RESERVED: usize = 1 << 20;
        /// What the index takes per model: a hash, and a slot of the table with its
        /// control byte, at the table's lowest load.
        const INDEX_BYTES: usize = 32;
        let per_model = std::mem::size_of::<M>().saturating_add(INDEX_BYTES);
        hint.unwrap_or(0).min(4096).min(MAX_RESERVED / per_model)
    }

    /// What [`StoreVisitor`] expects; not generic, so one copy serves every model type.
    fn expecting_models(f: &mut fmt::Formatter<'_>, model: &str) -> fmt::Result {
        write!(f, "a sequence of `{model}` models with distinct keys")
    }

    impl<'de, M: DiffModel + Deserialize<'de>> Visitor<'de> for StoreVisitor<M> {
        type Value = Store<M>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            expecting_models(f, M::NAME)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Store<M>, A::Error> {
            let _level = crate::depth::enter_read::<A::Error>(M::NAME)?;
            let mut store = Store::with_capacity(cautious_capacity::<M>(seq.size_hint()));
            while let Some(model) = seq.next_element::<M>()? {
                store.insert(model).map_err(serde::de::Error::custom)?;
            }
            Ok(store)
        }
    }
}

/// The position of the model with this key in `models`, indexed by `index`. Not inlined:
/// one copy per model type, for every lookup by key.
#[inline(never)]
pub(crate) fn position_of<M: DiffModel>(
    index: &Positions,
    models: &[M],
    key: &M::Key,
) -> Option<usize> {
    position_hashed(index, models, hash_of(key), key)
}

/// [`position_of`] for a key whose [`hash_of`] is `hash`.
fn position_hashed<M: DiffModel>(
    index: &Positions,
    models: &[M],
    hash: u64,
    key: &M::Key,
) -> Option<usize> {
    index.find(hash, &|at: usize| {
        models.get(at).is_some_and(|model| model.has_key(key))
    })
}

/// Records a key as touched, when tracking is on.
fn touch<K: Clone + std::hash::Hash + Eq>(touched: &mut Option<Keys<K>>, key: &K) {
    if let Some(touched) = touched {
        touched.insert_cloned(key);
    }
}

/// Files the models at the positions `renamed` under their keys when dropped: at the end
/// of [`Store::for_each_mut`], and while unwinding from a panic in its `f`, so the index
/// always agrees with the models.
struct Refile<'s, M: DiffModel> {
    store: &'s mut Store<M>,
    renamed: Vec<usize>,
    /// The position and the key before `f` of the model `f` is changing.
    changing: Option<(usize, M::Key)>,
}

impl<M: DiffModel> Drop for Refile<'_, M> {
    fn drop(&mut self) {
        let changing = self.changing.take();
        let mut candidates = std::mem::take(&mut self.renamed);
        // The model `f` was changing (or whose key was being compared or built) when a
        // panic came: renamed if it no longer has its key.
        if let Some((at, _)) = &changing
            && candidates.last() != Some(at)
        {
            candidates.push(*at);
        }
        if candidates.is_empty() {
            return;
        }
        let store = &mut *self.store;
        refile_in_drop(|| {
            store.refile(&candidates, |at, model| match &changing {
                Some((changing, key)) if *changing == at => !model.has_key(key),
                _ => true,
            });
        });
    }
}

/// Records a model's key as touched (built only when tracking is on).
fn touch_model<M: DiffModel>(touched: &mut Option<Keys<M::Key>>, model: &M) {
    if touched.is_some() {
        touch(touched, &model.key());
    }
}

/// The keys [`Store::diff_keys`] has seen, by their positions in the two stores (a key in
/// neither has nothing to diff): one set for every model type.
#[derive(Default)]
struct SeenPairs(
    std::collections::HashSet<(Option<usize>, Option<usize>), foldhash::fast::RandomState>,
);

impl SeenPairs {
    /// Whether the key at these positions is seen for the first time.
    fn first_time(&mut self, old: Option<usize>, new: Option<usize>) -> bool {
        (old, new) == (None, None) || self.0.insert((old, new))
    }
}

/// Mutable access to one model of a [`Store`] (from [`Store::get_mut`]): dereferences to the
/// model, and when dropped files it under its key again if its id fields changed (or, when
/// another model holds the new key, keeps it aside in [`Store::collisions`]).
pub struct StoreMut<'a, M: DiffModel> {
    store: &'a mut Store<M>,
    /// The model's position; the store is borrowed, so it stays valid.
    index: usize,
    /// The key the model is filed under.
    key: M::Key,
    /// Whether the call that made the guard inserted the model.
    inserted: bool,
}

impl<M: DiffModel> StoreMut<'_, M> {
    /// Whether the call that returned this guard inserted the model
    /// ([`Store::get_or_insert_with`], [`Store::update_or_insert`]), rather than finding it
    /// there; `false` from [`Store::get_mut`].
    pub fn inserted(&self) -> bool {
        self.inserted
    }
}

impl<M: DiffModel> std::ops::Deref for StoreMut<'_, M> {
    type Target = M;

    // The guard borrows the store mutably from a valid index to its drop, so the index
    // cannot go out of bounds.
    #[allow(clippy::indexing_slicing)]
    fn deref(&self) -> &M {
        &self.store.parts.models[self.index]
    }
}

impl<M: DiffModel> std::ops::DerefMut for StoreMut<'_, M> {
    // As in `deref`.
    #[allow(clippy::indexing_slicing)]
    fn deref_mut(&mut self) -> &mut M {
        &mut self.store.parts.models[self.index]
    }
}

impl<M: DiffModel> Drop for StoreMut<'_, M> {
    fn drop(&mut self) {
        // Its old key was touched when the guard was made.
        let (store, at, key) = (&mut *self.store, [self.index], &self.key);
        if std::thread::panicking() {
            refile_in_drop(|| store.refile(&at, |_, model| !model.has_key(key)));
            return;
        }
        // The common case, inline: the model kept its key. Should the id's `PartialEq`
        // panic in the comparison, the guard sets the model aside.
        let comparing = SetAside {
            parts: &mut *store.parts,
            candidates: &at,
            taken: None,
        };
        let renamed = comparing
            .parts
            .models
            .get(self.index)
            .is_some_and(|m| !m.has_key(key));
        // Compared: nothing to set aside (the guard holds only borrows, so nothing leaks).
        std::mem::forget(comparing);
        if renamed {
            store.refile_renamed(&at);
        }
    }
}

impl<M: DiffModel + fmt::Debug> fmt::Debug for StoreMut<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        M::fmt(self, f)
    }
}
