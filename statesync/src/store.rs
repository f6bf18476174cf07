//! [`Store`]: an insertion-ordered collection of models indexed by their typed key.

use std::fmt;
use std::marker::PhantomData;

use indexmap::IndexMap;
use indexmap::map::Entry;
use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::children::ChildCollection;
use std::collections::HashSet;

use crate::diff::{Diff, DiffBuilder};
use crate::error::{Error, Operation, Path};
use crate::model::{DiffModel, Unobserved};

type Hasher = foldhash::fast::RandomState;

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
/// Changing a model's id fields through [`Store::get_mut`] would leave it filed under its
/// old key; remove it and insert it again instead.
#[derive(Clone)]
pub struct Store<M: DiffModel> {
    map: IndexMap<M::Key, M, Hasher>,
    /// Keys changed since tracking started ([`Store::track_changes`]); `None` when off.
    touched: Option<HashSet<M::Key, Hasher>>,
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
            map: IndexMap::with_hasher(Hasher::default()),
            touched: None,
        }
    }

    /// An empty store with room for `capacity` models.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            map: IndexMap::with_capacity_and_hasher(capacity, Hasher::default()),
            touched: None,
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

    /// How many models the store holds.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The model with this key.
    pub fn get(&self, key: &M::Key) -> Option<&M> {
        self.map.get(key)
    }

    /// The model with this key, to change its attributes or children in place.
    pub fn get_mut(&mut self, key: &M::Key) -> Option<&mut M> {
        self.touch(key);
        self.map.get_mut(key)
    }

    /// Whether a model with this key is present.
    pub fn contains(&self, key: &M::Key) -> bool {
        self.map.contains_key(key)
    }

    /// Adds a model at the end.
    ///
    /// # Errors
    /// [`Error::DuplicateKey`] when a model with the same key is present; the store is
    /// left unchanged.
    pub fn insert(&mut self, model: M) -> Result<(), Error> {
        let key = model.key();
        if !self.map.contains_key(&key) {
            self.touch(&key);
        }
        match self.map.entry(key) {
            Entry::Occupied(entry) => Err(Error::DuplicateKey {
                model: M::NAME,
                key: entry.key().to_string(),
                path: Path::root(),
            }),
            Entry::Vacant(entry) => {
                entry.insert(model);
                Ok(())
            }
        }
    }

    /// Adds a model, or replaces the one with the same key (keeping its position).
    /// Returns the replaced model.
    pub fn upsert(&mut self, model: M) -> Option<M> {
        let key = model.key();
        self.touch(&key);
        self.map.insert(key, model)
    }

    /// Replaces the model with the same key and returns the old one.
    ///
    /// # Errors
    /// [`Error::NotFound`] when no model has this key; the store is left unchanged.
    pub fn update(&mut self, model: M) -> Result<M, Error> {
        let key = model.key();
        self.touch(&key);
        match self.map.get_mut(&key) {
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
        self.map.shift_remove(key)
    }

    /// The model with this key, inserting `make()` first when it is absent.
    ///
    /// # Errors
    /// [`Error::KeyMismatch`] when `make` builds a model with another key; nothing is
    /// inserted.
    pub fn get_or_insert_with(
        &mut self,
        key: M::Key,
        make: impl FnOnce() -> M,
    ) -> Result<&mut M, Error> {
        self.touch(&key);
        match self.map.entry(key) {
            Entry::Occupied(entry) => Ok(entry.into_mut()),
            Entry::Vacant(entry) => {
                let model = make();
                if !model.has_key(entry.key()) {
                    return Err(Error::KeyMismatch {
                        model: M::NAME,
                        expected: entry.key().to_string(),
                        found: model.key().to_string(),
                    });
                }
                Ok(entry.insert(model))
            }
        }
    }

    /// Inserts `model`, or, when a model with its key is present, sets that model's compared
    /// attributes to `model`'s, keeping its children and skipped fields (diffsync's
    /// `update_or_instantiate`).
    pub fn update_or_insert(&mut self, model: M) -> &mut M {
        let key = model.key();
        self.touch(&key);
        match self.map.entry(key) {
            Entry::Occupied(entry) => {
                let current = entry.into_mut();
                let changes = current.diff_fields(&model);
                current.apply_fields(&changes);
                current
            }
            Entry::Vacant(entry) => entry.insert(model),
        }
    }

    /// The models in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &M> + DoubleEndedIterator {
        self.map.values()
    }

    /// The models in order, to change attributes or children in place. With tracking on,
    /// every key counts as touched.
    pub fn iter_mut(&mut self) -> impl ExactSizeIterator<Item = &mut M> + DoubleEndedIterator {
        if let Some(touched) = &mut self.touched {
            touched.extend(self.map.keys().cloned());
        }
        self.map.values_mut()
    }

    /// The keys in order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &M::Key> + DoubleEndedIterator {
        self.map.keys()
    }

    /// Keys with their models, in order.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = (&M::Key, &M)> + DoubleEndedIterator {
        self.map.iter()
    }

    /// The key and model at a position in insertion order.
    pub(crate) fn get_index(&self, index: usize) -> Option<(&M::Key, &M)> {
        self.map.get_index(index)
    }

    /// The position and model of a key.
    pub(crate) fn get_full(&self, key: &M::Key) -> Option<(usize, &M)> {
        self.map
            .get_full(key)
            .map(|(index, _, model)| (index, model))
    }

    /// Keeps the models whose key passes `keep`, in order (one pass).
    pub(crate) fn retain_keys(&mut self, mut keep: impl FnMut(&M::Key) -> bool) {
        let touched = &mut self.touched;
        self.map.retain(|key, _| {
            let kept = keep(key);
            if !kept && let Some(touched) = touched {
                touched.insert(key.clone());
            }
            kept
        });
    }

    fn touch(&mut self, key: &M::Key) {
        if let Some(touched) = &mut self.touched
            && !touched.contains(key)
        {
            touched.insert(key.clone());
        }
    }

    /// Starts recording which keys change: every key passed to a mutating method
    /// (`get_mut`, `insert`, `upsert`, `update`, `remove`, ...) from now on. An event handler
    /// that edits the store through these methods makes [`Store::diff_touched`] cost what the
    /// events touched, not the size of the store. Clears what was recorded before.
    pub fn track_changes(&mut self) {
        self.touched = Some(HashSet::default());
    }

    /// Stops recording changes and forgets what was recorded.
    pub fn stop_tracking(&mut self) {
        self.touched = None;
    }

    /// The keys touched since tracking started, or `None` when tracking is off.
    pub fn touched(&self) -> Option<impl Iterator<Item = &M::Key>> {
        self.touched.as_ref().map(|touched| touched.iter())
    }

    /// Returns the keys touched so far and starts a fresh record (tracking stays on). Call
    /// it after a sync that succeeded: keys whose sync failed must stay touched (put them
    /// back with [`Store::touch_keys`]) or later incremental syncs will not see them.
    pub fn take_touched(&mut self) -> Vec<M::Key> {
        self.touched
            .as_mut()
            .map(|touched| touched.drain().collect())
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
    /// [`Error::DuplicateKey`] from a `Vec` of children inside.
    pub fn diff_keys<'k>(
        &self,
        new: &Self,
        keys: impl IntoIterator<Item = &'k M::Key>,
    ) -> Result<Diff<M>, Error>
    where
        M::Key: 'k,
    {
        let mut observer = Unobserved;
        let mut diff = DiffBuilder::new(&mut observer);
        let mut seen: HashSet<&M::Key, Hasher> = HashSet::default();
        for key in keys {
            if !seen.insert(key) {
                continue;
            }
            match (self.get(key), new.get(key)) {
                (Some(old), Some(new)) => diff.compared(key, old, new)?,
                (Some(old), None) => diff.deleted(key, old),
                (None, Some(new)) => diff.created(key, new),
                (None, None) => {}
            }
        }
        Ok(diff.finish())
    }

    /// The diff to `new` over the keys `new` recorded as touched ([`Store::track_changes`]),
    /// or the full diff when `new` does not track changes. Valid when `new` started tracking
    /// as a copy of `self` (or of a state `self` was synced to).
    ///
    /// # Errors
    /// [`Error::DuplicateKey`] from a `Vec` of children inside.
    pub fn diff_touched(&self, new: &Self) -> Result<Diff<M>, Error> {
        match &new.touched {
            Some(touched) => self.diff_keys(new, touched.iter()),
            None => self.diff(new),
        }
    }

    /// The diff that turns this store into `new`, matching models by key.
    ///
    /// # Errors
    /// [`Error::DuplicateKey`] from a `Vec` of children inside.
    pub fn diff(&self, new: &Self) -> Result<Diff<M>, Error> {
        self.diff_collection(new, &mut Unobserved)
    }

    /// Checks the whole diff, then applies it; on error the store is unchanged.
    ///
    /// # Errors
    /// [`Error::NotFound`] / [`Error::AlreadyExists`] naming the element at fault.
    pub fn apply(&mut self, diff: &Diff<M>) -> Result<(), Error> {
        self.check_diff(diff)?;
        self.apply_checked(diff);
        Ok(())
    }
}

/// Two stores are equal when they hold equal models under the same keys, in any order.
impl<M: DiffModel> PartialEq for Store<M> {
    fn eq(&self, other: &Self) -> bool {
        self.map == other.map
    }
}

impl<M: DiffModel + Eq> Eq for Store<M> {}

impl<M: DiffModel> fmt::Debug for Store<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.map.values()).finish()
    }
}

impl<'a, M: DiffModel> IntoIterator for &'a Store<M> {
    type Item = &'a M;
    type IntoIter = indexmap::map::Values<'a, M::Key, M>;

    fn into_iter(self) -> Self::IntoIter {
        self.map.values()
    }
}

impl<M: DiffModel> IntoIterator for Store<M> {
    type Item = M;
    type IntoIter = indexmap::map::IntoValues<M::Key, M>;

    fn into_iter(self) -> Self::IntoIter {
        self.map.into_values()
    }
}

impl<M: DiffModel> TryFrom<Vec<M>> for Store<M> {
    type Error = Error;

    fn try_from(models: Vec<M>) -> Result<Self, Error> {
        Self::try_from_iter(models)
    }
}

/// Serialised as a sequence of models, in order.
impl<M: DiffModel + Serialize> Serialize for Store<M> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.map.values())
    }
}

/// Deserialised from a sequence of models; a duplicate key is an error naming the model
/// and the key.
impl<'de, M: DiffModel + Deserialize<'de>> Deserialize<'de> for Store<M> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(StoreVisitor(PhantomData))
    }
}

struct StoreVisitor<M>(PhantomData<M>);

impl<'de, M: DiffModel + Deserialize<'de>> Visitor<'de> for StoreVisitor<M> {
    type Value = Store<M>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a sequence of `{}` models with distinct keys", M::NAME)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Store<M>, A::Error> {
        let mut store = Store::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(model) = seq.next_element::<M>()? {
            store.insert(model).map_err(serde::de::Error::custom)?;
        }
        Ok(store)
    }
}
