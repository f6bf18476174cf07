//! A created or deleted element with many children: the walk reads its children a chunk at
//! a time, each chunk from where the last one ended.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use indexmap::IndexMap;
use statesync::sync::{AsyncSyncModel, InMemory};
use statesync::{DiffModel, Store};

use super::{options, runtime};

/// Comparisons of [`Slot`] ids (equality and order).
static COMPARED: AtomicUsize = AtomicUsize::new(0);

/// Held by each test that compares [`Slot`]s, so that a count sees only its own test's.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// An id that counts how often it is compared.
#[derive(Debug, Clone, Eq)]
pub struct Slot(u32);

impl std::hash::Hash for Slot {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl PartialEq for Slot {
    fn eq(&self, other: &Self) -> bool {
        COMPARED.fetch_add(1, Ordering::Relaxed);
        self.0 == other.0
    }
}

impl PartialOrd for Slot {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Slot {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        COMPARED.fetch_add(1, Ordering::Relaxed);
        self.0.cmp(&other.0)
    }
}

impl std::fmt::Display for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Card {
    #[statesync(id)]
    slot: Slot,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Chassis {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    in_store: Store<Card>,
    #[statesync(children)]
    in_btree: BTreeMap<CardKey, Card>,
    #[statesync(children)]
    in_index: IndexMap<CardKey, Card>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Rack {
    #[statesync(children)]
    chassis: Store<Chassis>,
}

const CARDS: u32 = 5_000;

fn rack(with_chassis: bool) -> Rack {
    let cards = || (0..CARDS).map(|slot| Card { slot: Slot(slot) });
    let keyed = || cards().map(|card| (card.key(), card));
    let chassis = Chassis {
        name: "c".into(),
        in_store: Store::try_from_iter(cards()).unwrap(),
        in_btree: keyed().collect(),
        in_index: keyed().collect(),
    };
    Rack {
        chassis: Store::try_from_iter(with_chassis.then_some(chassis)).unwrap(),
    }
}

/// Creating, then deleting, an element with 3 × 5,000 children in a `Store`, a `BTreeMap`
/// and an `IndexMap` compares keys a bounded number of times per child (about 30). Reading
/// each chunk of children from the collection's start made it quadratic: about 100 per child
/// here (one call in flight, chunks of 36), and 1.4·10¹⁰ steps for a million children.
#[test]
fn a_wide_created_or_deleted_element_is_read_in_linear_steps() {
    let _alone = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    runtime().block_on(async {
        for (from, to) in [(false, true), (true, false)] {
            let mut target = rack(from);
            let source = rack(to);
            COMPARED.store(0, Ordering::Relaxed);
            let report = target
                .sync_from_async(&source, &InMemory, options(1))
                .await
                .unwrap();
            let compared = COMPARED.load(Ordering::Relaxed);
            assert!(report.is_success(), "{report}");
            assert_eq!(target, source);
            let per_child = compared / (3 * CARDS as usize);
            println!("{compared} comparisons, {per_child} per child");
            assert!(
                per_child < 50,
                "{compared} comparisons, {per_child} per child"
            );
        }
    });
}

/// Hooks that refuse the delete of the cards in slots `fail` (in every collection), and
/// note how many children each chassis holds when its own delete is called.
#[derive(Default)]
struct Refusing {
    fail: Vec<u32>,
    chassis_children_at_delete: std::sync::Mutex<Vec<usize>>,
}

impl statesync::sync::AsyncAdapter for Refusing {}

impl statesync::sync::AsyncHooks<Rack> for Refusing {}

impl statesync::sync::AsyncHooks<Chassis> for Refusing {
    async fn delete(
        &self,
        chassis: &Chassis,
        _: &statesync::sync::Parents,
    ) -> Result<(), statesync::sync::HookError> {
        let held = chassis.in_store.len() + chassis.in_btree.len() + chassis.in_index.len();
        self.chassis_children_at_delete.lock().unwrap().push(held);
        Ok(())
    }
}

impl statesync::sync::AsyncHooks<Card> for Refusing {
    async fn delete(
        &self,
        card: &Card,
        _: &statesync::sync::Parents,
    ) -> Result<(), statesync::sync::HookError> {
        if self.fail.contains(&card.slot.0) {
            return Err("refused".into());
        }
        Ok(())
    }
}

/// The children of a deleted element leave memory together once all are done (one at a
/// time, each shifted a `Store` or an `IndexMap`): still, the parent's delete hook sees
/// none of them, and when some could not be deleted the parent keeps exactly those.
#[test]
fn the_children_of_a_delete_leave_memory_before_their_parents_hook() {
    let _alone = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let source = rack(false);
    for (fail, in_flight) in [(vec![], 1), (vec![], 16), (vec![7, 4_999], 4)] {
        let hooks = Refusing {
            fail: fail.clone(),
            ..Refusing::default()
        };
        let mut target = rack(true);
        let sync =
            statesync::sync::SyncOptions::new(statesync::sync::SyncFlags::CONTINUE_ON_FAILURE);
        let options = statesync::sync::AsyncSyncOptions::new(sync).max_in_flight(in_flight);
        let report = runtime().block_on(target.sync_from_async(&source, &hooks, options));
        let report = report.unwrap();
        let at_delete = hooks.chassis_children_at_delete.into_inner().unwrap();
        if fail.is_empty() {
            assert!(report.is_success(), "{report}");
            assert_eq!(target, source);
            assert_eq!(at_delete, [0]);
        } else {
            // The chassis stays (`ChildFailed`) with the cards whose delete failed.
            assert!(at_delete.is_empty(), "{at_delete:?}");
            let chassis = target.chassis.iter().next().expect("the chassis stays");
            let slots =
                |cards: Vec<&Card>| cards.iter().map(|card| card.slot.0).collect::<Vec<_>>();
            assert_eq!(slots(chassis.in_store.iter().collect()), fail);
            assert_eq!(slots(chassis.in_btree.values().collect()), fail);
            assert_eq!(slots(chassis.in_index.values().collect()), fail);
            assert_eq!(report.counts.deleted, 3 * (CARDS as usize - fail.len()));
        }
    }
}

/// The elements a diff deletes from a collection leave memory together once the walk
/// started every delete and they ended, before its creates (in either order): a card
/// whose delete failed stays where it was, those deleted are gone, the new ones come
/// after the old.
#[test]
fn a_collections_deletes_leave_memory_together_before_its_creates() {
    let _alone = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let chassis = |slots: &mut dyn Iterator<Item = u32>| {
        let cards: Vec<Card> = slots.map(|slot| Card { slot: Slot(slot) }).collect();
        let keyed = || cards.iter().map(|card| (card.key(), card.clone()));
        Chassis {
            name: "c".into(),
            in_store: Store::try_from_iter(cards.iter().cloned()).unwrap(),
            in_btree: keyed().collect(),
            in_index: keyed().collect(),
        }
    };
    let before = Rack {
        chassis: Store::try_from_iter([chassis(&mut (0..3_000))]).unwrap(),
    };
    // Keeps the multiples of 3, deletes the rest (more than leave together at once),
    // creates 3,000..3,010.
    let after = Rack {
        chassis: Store::try_from_iter([chassis(
            &mut (0..3_010).filter(|n| *n >= 3_000 || n % 3 == 0),
        )])
        .unwrap(),
    };
    let failing = vec![1, 100, 2_999];
    for order in [
        statesync::sync::SyncOrder::DeletesFirst,
        statesync::sync::SyncOrder::PerCollection,
    ] {
        for in_flight in [1, 8] {
            let hooks = Refusing {
                fail: failing.clone(),
                ..Refusing::default()
            };
            let mut target = before.clone();
            let sync =
                statesync::sync::SyncOptions::new(statesync::sync::SyncFlags::CONTINUE_ON_FAILURE)
                    .order(order);
            let options = statesync::sync::AsyncSyncOptions::new(sync).max_in_flight(in_flight);
            let report = runtime()
                .block_on(target.sync_from_async(&after, &hooks, options))
                .unwrap();
            let kept: Vec<u32> = (0..3_010)
                .filter(|n| *n >= 3_000 || n % 3 == 0 || failing.contains(n))
                .collect();
            let chassis = target.chassis.iter().next().unwrap();
            let mut in_store: Vec<u32> = chassis.in_store.iter().map(|c| c.slot.0).collect();
            let in_btree: Vec<u32> = chassis.in_btree.values().map(|c| c.slot.0).collect();
            let in_index: Vec<u32> = chassis.in_index.values().map(|c| c.slot.0).collect();
            // A `Store` and an `IndexMap` keep their order: the old cards, then the new.
            assert_eq!(in_index, in_store, "{order:?}, {in_flight} in flight");
            in_store.sort_unstable();
            assert_eq!(in_store, kept, "{order:?}, {in_flight} in flight");
            assert_eq!(in_btree, kept, "{order:?}, {in_flight} in flight");
            assert_eq!(report.counts.deleted, 3 * (2_000 - failing.len()));
            assert_eq!(report.counts.created, 3 * 10);
            assert_eq!(report.counts.failed, 3 * failing.len());
        }
    }
}
