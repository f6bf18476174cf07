//! Merge strategies and the set-union merge of collections.

use std::collections::{BTreeSet, HashSet};
use std::hash::{BuildHasher, Hash};

/// How a field changed differently on both sides is resolved (and, at model level, an
/// element deleted on one side and changed on the other).
///
/// Declared in the derive per field (`#[statesync(merge = "max")]`) or per model
/// (`#[statesync(merge = "theirs")]`, the default for its fields and for delete/update
/// conflicts); `Ours`, `Theirs`, `Newest` and `Report` can also be set per call with
/// [`MergeOptions::prefer`](super::MergeOptions::prefer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Strategy {
    /// Our (source) side wins.
    Ours,
    /// Their (target) side wins.
    Theirs,
    /// The side whose model has the newer version field wins (`#[statesync(version =
    /// "field")]`); equal versions are a conflict.
    Newest,
    /// The larger value (`PartialOrd`; incomparable values are a conflict). Under the
    /// type's own order: for an `Option`, `None` is the smallest, so a value wins over a
    /// cleared one.
    Max,
    /// The smaller value, as [`Strategy::Max`] compares: for an `Option`, a side that
    /// cleared the value (`None`) wins.
    Min,
    /// Set union, three-way: what either side added is in, what either side removed is out.
    Union,
    /// A function `fn(Option<&T>, &T, &T) -> Option<T>` (`#[statesync(merge_with = path)]`);
    /// `None` is a conflict.
    Custom,
    /// Keep the current value and list the conflict.
    Report,
}

/// The strategies a merge can take per call, through
/// [`MergeOptions::prefer`](super::MergeOptions::prefer): those that need no code generated
/// for the field (`Max`, `Min`, `Union` and `Custom` are declared in the derive).
///
/// ```
/// use statesync::merge::{Preference, Strategy};
///
/// assert_eq!(Strategy::from(Preference::Theirs), Strategy::Theirs);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Preference {
    /// Our (source) side wins.
    Ours,
    /// Their (target) side wins.
    Theirs,
    /// The side whose model has the newer version field wins.
    Newest,
    /// Keep the current value and list the conflict.
    Report,
}

impl From<Preference> for Strategy {
    fn from(preference: Preference) -> Self {
        match preference {
            Preference::Ours => Strategy::Ours,
            Preference::Theirs => Strategy::Theirs,
            Preference::Newest => Strategy::Newest,
            Preference::Report => Strategy::Report,
        }
    }
}

impl Strategy {
    /// Whether swapping ours and theirs cannot change the value the strategy resolves a
    /// field to: `Newest`, `Max` and `Min` compare the two sides, `Union` joins them.
    /// Where they cannot decide (equal versions, values `PartialOrd` cannot order such as
    /// a NaN) the field is a conflict that keeps ours, and that does depend on the order.
    /// So does a field whose two values compare equal without being the same (`-0.0` and
    /// `0.0`, two strings an `eq` finds equal): no strategy is asked, and ours is kept.
    ///
    /// ```
    /// use statesync::merge::Strategy;
    ///
    /// assert!(Strategy::Max.is_symmetric());
    /// assert!(!Strategy::Ours.is_symmetric());
    /// ```
    pub fn is_symmetric(self) -> bool {
        matches!(
            self,
            Strategy::Newest | Strategy::Max | Strategy::Min | Strategy::Union
        )
    }
}

/// Collections that merge as sets, for [`Strategy::Union`].
pub trait MergeUnion: Sized {
    /// What either side added is in, what either side removed from the base is out.
    fn merge_union(base: Option<&Self>, ours: &Self, theirs: &Self) -> Self;
}

impl<T: Ord + Clone> MergeUnion for BTreeSet<T> {
    fn merge_union(base: Option<&Self>, ours: &Self, theirs: &Self) -> Self {
        ours.union(theirs)
            .filter(|item| match base {
                Some(base) => {
                    !base.contains(item) || (ours.contains(item) && theirs.contains(item))
                }
                None => true,
            })
            .cloned()
            .collect()
    }
}

/// A `Vec` merges as a sorted set: duplicates collapse.
impl<T: Ord + Clone> MergeUnion for Vec<T> {
    fn merge_union(base: Option<&Self>, ours: &Self, theirs: &Self) -> Self {
        let set = |items: &Self| items.iter().cloned().collect::<BTreeSet<T>>();
        let base = base.map(set);
        BTreeSet::merge_union(base.as_ref(), &set(ours), &set(theirs))
            .into_iter()
            .collect()
    }
}

impl<T: Hash + Eq + Clone, S: BuildHasher + Default> MergeUnion for HashSet<T, S> {
    fn merge_union(base: Option<&Self>, ours: &Self, theirs: &Self) -> Self {
        ours.union(theirs)
            .filter(|item| match base {
                Some(base) => {
                    !base.contains(*item) || (ours.contains(*item) && theirs.contains(*item))
                }
                None => true,
            })
            .cloned()
            .collect()
    }
}
