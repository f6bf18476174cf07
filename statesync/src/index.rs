//! The hash index behind [`Store`](crate::Store) and the keyed joins, compiled once for
//! every key type: [`Positions`] maps hashes to positions in a list the caller keeps, and
//! takes key equality as a [`Callback`] over positions. What is compiled per key type is
//! hashing a key ([`hash_of`]) and comparing two keys.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::OnceLock;

use hashbrown::HashTable;

use crate::callback::Callback;
use crate::model::DiffModel;

/// The hasher keys are hashed with. A model hashes its id fields into it
/// ([`DiffModel::hash_key`]) to get its key's hash without building the key.
pub type KeyHasher = foldhash::fast::FoldHasher<'static>;

/// A hasher for one key. One seed per process, random (keys may come from the network), so
/// that a hash computed for one index can be looked up in another.
fn key_hasher() -> KeyHasher {
    static STATE: OnceLock<foldhash::fast::RandomState> = OnceLock::new();
    STATE.get_or_init(Default::default).build_hasher()
}

/// The hash of a key.
pub(crate) fn hash_of<K: Hash + ?Sized>(key: &K) -> u64 {
    let mut hasher = key_hasher();
    key.hash(&mut hasher);
    hasher.finish()
}

/// The hash of a model's key ([`hash_of`] its key), from its id fields.
pub(crate) fn hash_of_model<M: DiffModel>(model: &M) -> u64 {
    let mut hasher = key_hasher();
    model.hash_key(&mut hasher);
    hasher.finish()
}

/// Equality of the looked-up key with the key at a position.
pub(crate) type SameAt<'a> = &'a dyn Callback<usize, bool>;

/// A hash index of the positions `0..len` of a list of keys the caller keeps in step: the
/// hash of the key at each position, and a table from hashes to positions.
#[derive(Clone, Default)]
pub(crate) struct Positions {
    table: HashTable<usize>,
    /// `hashes[at]`: the hash of the key at position `at`.
    hashes: Vec<u64>,
}

impl Positions {
    /// An empty index with room for `capacity` positions.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            table: HashTable::with_capacity(capacity),
            hashes: Vec::with_capacity(capacity),
        }
    }

    /// How many positions are indexed.
    pub(crate) fn len(&self) -> usize {
        self.hashes.len()
    }

    /// The hash of the key at a position.
    pub(crate) fn hash_at(&self, at: usize) -> Option<u64> {
        self.hashes.get(at).copied()
    }

    /// The position of the key with this hash for which `same` holds.
    pub(crate) fn find(&self, hash: u64, same: SameAt<'_>) -> Option<usize> {
        let hashes = &self.hashes;
        self.table
            .find(hash, |&at| hashes.get(at) == Some(&hash) && same.run(at))
            .copied()
    }

    /// The position of the key with this hash for which `same` holds, or, when there is
    /// none, a new position at the end for it (`Err`): the caller appends the key.
    pub(crate) fn find_or_push(&mut self, hash: u64, same: SameAt<'_>) -> Result<usize, usize> {
        if let Some(at) = self.find(hash, same) {
            return Ok(at);
        }
        Err(self.push(hash))
    }

    /// Indexes a new position at the end for a key with this hash, which the caller knows is
    /// absent; returns the position.
    pub(crate) fn push(&mut self, hash: u64) -> usize {
        let at = self.hashes.len();
        let hashes = &self.hashes;
        self.table
            .insert_unique(hash, at, |&at| hashes.get(at).copied().unwrap_or_default());
        self.hashes.push(hash);
        at
    }

    /// Files the position `at` under a new hash (its key was replaced).
    pub(crate) fn rehash(&mut self, at: usize, hash: u64) {
        self.unlink(at);
        let hashes = &self.hashes;
        self.table
            .insert_unique(hash, at, |&at| hashes.get(at).copied().unwrap_or_default());
        if let Some(slot) = self.hashes.get_mut(at) {
            *slot = hash;
        }
    }

    /// Removes the table entry of position `at` (its hash stays).
    fn unlink(&mut self, at: usize) {
        let Some(hash) = self.hash_at(at) else {
            return;
        };
        if let Ok(entry) = self.table.find_entry(hash, |&found| found == at) {
            entry.remove();
        }
    }

    /// Removes position `at`, shifting the positions after it down by one.
    pub(crate) fn shift_remove(&mut self, at: usize) {
        if at >= self.hashes.len() {
            return;
        }
        self.unlink(at);
        let after = self.hashes.len() - at - 1;
        if after > self.table.len() / 2 {
            // Most positions move: one pass over the table.
            for found in self.table.iter_mut() {
                if *found > at {
                    *found -= 1;
                }
            }
        } else {
            let hashes = &self.hashes;
            for moved in at + 1..hashes.len() {
                let hash = hashes.get(moved).copied().unwrap_or_default();
                if let Some(found) = self.table.find_mut(hash, |&found| found == moved) {
                    *found = moved - 1;
                }
            }
        }
        self.hashes.remove(at);
    }

    /// Keeps the positions for which `keep[at]` is true (renumbered in order), removes the
    /// others. `keep` has one flag per position.
    pub(crate) fn retain(&mut self, keep: &[bool]) {
        let mut flags = keep.iter();
        self.hashes
            .retain(|_| flags.next().copied().unwrap_or(true));
        self.table.clear();
        let hashes = &self.hashes;
        for (at, &hash) in hashes.iter().enumerate() {
            self.table
                .insert_unique(hash, at, |&at| hashes.get(at).copied().unwrap_or_default());
        }
    }

    /// Removes every position, keeping the memory.
    pub(crate) fn clear(&mut self) {
        self.table.clear();
        self.hashes.clear();
    }
}

/// Keeps the items for which `keep[at]` is true, in order. A loop of swaps and one
/// truncation: small next to `Vec::retain`, for one copy per item type.
// Not inlined: one copy per item type, not one more inside each caller.
#[inline(never)]
pub(crate) fn retain_flagged<T>(items: &mut Vec<T>, keep: &[bool]) {
    let mut kept = 0;
    for at in 0..items.len() {
        // Items past the flags are kept.
        if keep.get(at).copied().unwrap_or(true) {
            if kept != at {
                items.swap(kept, at);
            }
            kept += 1;
        }
    }
    items.truncate(kept);
}

/// Keys in insertion order with a hash index: the typed face of [`Positions`]. A key's
/// position is its place in [`Keys::as_slice`].
pub(crate) struct Keys<K> {
    keys: Vec<K>,
    positions: Positions,
}

impl<K: Clone> Clone for Keys<K> {
    // Not inlined: one copy per key type, not one in each clone of a store.
    #[inline(never)]
    fn clone(&self) -> Self {
        Self {
            keys: self.keys.clone(),
            positions: self.positions.clone(),
        }
    }
}

impl<K> Default for Keys<K> {
    fn default() -> Self {
        Self {
            keys: Vec::new(),
            positions: Positions::default(),
        }
    }
}

impl<K: Hash + Eq> Keys<K> {
    /// No keys, with room for `capacity`.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            keys: Vec::with_capacity(capacity),
            positions: Positions::with_capacity(capacity),
        }
    }

    /// The keys in order.
    pub(crate) fn as_slice(&self) -> &[K] {
        &self.keys
    }

    /// The position of a key.
    pub(crate) fn position(&self, key: &K) -> Option<usize> {
        self.hashed(hash_of(key), key)
    }

    /// The position of a key whose [`hash_of`] is `hash`.
    pub(crate) fn hashed(&self, hash: u64, key: &K) -> Option<usize> {
        self.positions
            .find(hash, &|at: usize| self.keys.get(at) == Some(key))
    }

    /// Adds a key at the end and returns its position, or, when it is present, returns its
    /// position as `Err` and leaves the keys unchanged.
    pub(crate) fn insert(&mut self, key: K) -> Result<usize, usize> {
        let added = self.index_new(&key)?;
        self.keys.push(key);
        Ok(added)
    }

    /// Adds a copy of a key at the end when it is absent (hashing it once, copying it only
    /// then). The copy is made before the index takes a position for it: a `Clone` that
    /// panics leaves no position without its key.
    pub(crate) fn insert_cloned(&mut self, key: &K)
    where
        K: Clone,
    {
        let hash = hash_of(key);
        if self.hashed(hash, key).is_none() {
            let copy = key.clone();
            self.positions.push(hash);
            self.keys.push(copy);
        }
    }

    /// The position of a key as `Err` when it is present; otherwise indexes a new position
    /// at the end for it, which the caller fills by pushing the key.
    fn index_new(&mut self, key: &K) -> Result<usize, usize> {
        let keys = &self.keys;
        match self
            .positions
            .find_or_push(hash_of(key), &|at| keys.get(at) == Some(key))
        {
            Ok(present) => Err(present),
            Err(added) => Ok(added),
        }
    }

    /// Takes the keys out, leaving none (the index keeps its memory).
    pub(crate) fn take(&mut self) -> Vec<K> {
        self.positions.clear();
        std::mem::take(&mut self.keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_order_and_refuse_duplicates() {
        let mut keys = Keys::default();
        for key in 0..100 {
            assert_eq!(keys.insert(key), Ok(key as usize));
        }
        assert_eq!(keys.insert(7), Err(7));
        keys.insert_cloned(&7);
        keys.insert_cloned(&100);
        let expected: Vec<i32> = (0..=100).collect();
        assert_eq!(keys.as_slice(), expected.as_slice());
        for (at, key) in expected.iter().enumerate() {
            assert_eq!(keys.position(key), Some(at));
        }
        assert_eq!(keys.position(&-1), None);
        assert_eq!(keys.take(), expected);
        assert_eq!(keys.position(&0), None);
    }

    #[test]
    fn retain_flagged_keeps_flagged_items_in_order() {
        let mut items: Vec<String> = (0..10).map(|n| n.to_string()).collect();
        retain_flagged(&mut items, &[true, false, false, true, true, false, true]);
        assert_eq!(items, ["0", "3", "4", "6", "7", "8", "9"]);
    }
}
