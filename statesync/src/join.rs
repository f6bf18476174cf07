//! The keyed join of two indexed lists, compiled once for every model type: it pairs the
//! positions of equal keys, and leaves what the pairs mean (compare, delete, create) to a
//! callback. Keys are compared through a [`Callback`] over positions.

use crate::callback::{Callback, CallbackMut};
use crate::error::Error;
use crate::index::Positions;

/// One step of a join: a key on both sides, only in the old list, or only in the new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Paired {
    /// The key at `old` in the old list is at `new` in the new one.
    Both { old: usize, new: usize },
    /// The key at this position of the old list is not in the new one.
    Old(usize),
    /// The key at this position of the new list is not in the old one.
    New(usize),
}

/// Joins two indexed lists, both hashed with [`hash_of`](crate::index::hash_of): the old
/// list in order, each key paired with its place in the new list or alone, then the keys
/// only in the new list, in order. `same(old, new)` compares the keys at two positions.
///
/// The new side is searched first where the last match suggests (lists loaded from
/// similar sources are mostly aligned, and comparing two keys is cheaper than a lookup); the pass over the new side is skipped when every new key was matched.
///
/// # Errors
/// The first error `emit` returns.
pub(crate) fn join(
    old: &Positions,
    new: &Positions,
    same: &dyn Callback<(usize, usize), bool>,
    emit: &mut dyn CallbackMut<Paired, Result<(), Error>>,
) -> Result<(), Error> {
    let mut matched = 0;
    let mut guess = Guess::default();
    for at in 0..old.len() {
        match guess.find(at, (old, new, false), same) {
            Some(found) => {
                matched += 1;
                emit.run_mut(Paired::Both {
                    old: at,
                    new: found,
                })?;
            }
            None => emit.run_mut(Paired::Old(at))?,
        }
    }
    if matched < new.len() {
        let mut guess = Guess::default();
        for at in 0..new.len() {
            if guess.find(at, (new, old, true), same).is_none() {
                emit.run_mut(Paired::New(at))?;
            }
        }
    }
    Ok(())
}

/// Whether every key of the old list is in the new one with `both(old, new)` true for their
/// positions, stopping at the first that is not. `same(old, new)` compares the keys at two
/// positions. With lists of equal length and distinct keys: whether they pair one to one.
pub(crate) fn all_paired(
    old: &Positions,
    new: &Positions,
    same: &dyn Callback<(usize, usize), bool>,
    both: &mut dyn CallbackMut<(usize, usize), bool>,
) -> bool {
    let mut guess = Guess::default();
    (0..old.len()).all(|at| {
        guess
            .find(at, (old, new, false), same)
            .is_some_and(|found| both.run_mut((at, found)))
    })
}

/// Where the key at a position of one list is in the other: first where the last match
/// suggests, then through the index.
#[derive(Default)]
struct Guess {
    /// The distance between the last match in the other list and its position here.
    shift: isize,
}

impl Guess {
    /// The position in `other` of the key at `at` in `this`. `same(old, new)` compares the
    /// keys at two positions of the old and the new list; `this` is the new list when
    /// `back` is true.
    fn find(
        &mut self,
        at: usize,
        (this, other, back): (&Positions, &Positions, bool),
        same: &dyn Callback<(usize, usize), bool>,
    ) -> Option<usize> {
        let same = |at: usize, found: usize| {
            if back {
                same.run((found, at))
            } else {
                same.run((at, found))
            }
        };
        let hash = this.hash_at(at)?;
        let guess = at
            .checked_add_signed(self.shift)
            .filter(|&guess| guess < other.len() && same(at, guess));
        guess.or_else(|| {
            let found = other.find(hash, &|found: usize| same(at, found))?;
            self.shift = found as isize - at as isize;
            Some(found)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::hash_of;

    /// Distinct keys with their index.
    struct Keys(Vec<&'static str>, Positions);

    impl Keys {
        fn positions(&self) -> &Positions {
            &self.1
        }

        fn get(&self, at: usize) -> Option<&&'static str> {
            self.0.get(at)
        }
    }

    fn keys(list: &[&'static str]) -> Keys {
        let mut positions = Positions::default();
        for key in list {
            positions.push(hash_of(key));
        }
        Keys(list.to_vec(), positions)
    }

    #[test]
    fn pairs_equal_keys_and_leaves_the_rest() {
        let old = keys(&["a", "b", "c", "d"]);
        let new = keys(&["x", "a", "c", "d", "y"]);
        let mut pairs = Vec::new();
        let result = join(
            old.positions(),
            new.positions(),
            &|(a, b): (usize, usize)| old.get(a) == new.get(b),
            &mut |pair: Paired| {
                pairs.push(pair);
                Ok(())
            },
        );
        assert!(result.is_ok());
        assert_eq!(
            pairs,
            [
                Paired::Both { old: 0, new: 1 },
                Paired::Old(1),
                Paired::Both { old: 2, new: 2 },
                Paired::Both { old: 3, new: 3 },
                Paired::New(0),
                Paired::New(4),
            ]
        );
    }

    #[test]
    fn all_paired_needs_every_old_key_with_its_pair() {
        let old = keys(&["a", "b", "c"]);
        let new = keys(&["c", "a", "b"]);
        let same = |(a, b): (usize, usize)| old.get(a) == new.get(b);
        let mut pairs = Vec::new();
        let all = all_paired(old.positions(), new.positions(), &same, &mut |(a, b)| {
            pairs.push((a, b));
            true
        });
        assert!(all);
        assert_eq!(pairs, [(0, 1), (1, 2), (2, 0)]);
        let refused = |(at, _): (usize, usize)| at != 1;
        assert!(!all_paired(old.positions(), new.positions(), &same, &mut {
            refused
        }));
        let fewer = keys(&["a", "c"]);
        let same = |(a, b): (usize, usize)| old.get(a) == fewer.get(b);
        assert!(!all_paired(
            old.positions(),
            fewer.positions(),
            &same,
            &mut |_: (usize, usize)| true
        ));
    }
}
