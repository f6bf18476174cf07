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
