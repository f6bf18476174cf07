//! The laws of the three-way merge and of bidirectional sync, as properties.

use std::collections::BTreeMap;

use proptest::prelude::*;
use statesync::merge::{ConflictKind, History, MergeOptions, merge, sync_bidirectional};
use statesync::sync::InMemory;
use statesync::{DiffModel, Store};

/// Items whose plain field reports conflicts, with one field under a symmetric strategy.
#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Bag {
    #[statesync(children)]
    items: Store<Item>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Item {
    #[statesync(id)]
    k: u8,
    plain: u8,
    #[statesync(merge = "max")]
    level: u8,
    #[statesync(merge = "union")]
    tags: Vec<u8>,
}

/// The same shape, with only symmetric strategies.
#[derive(DiffModel, Clone, Debug, PartialEq)]
struct SymBag {
    #[statesync(children)]
    items: Store<SymItem>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct SymItem {
    #[statesync(id)]
    k: u8,
    #[statesync(merge = "min")]
    plain: u8,
    #[statesync(merge = "max")]
    level: u8,
    #[statesync(merge = "union")]
    tags: Vec<u8>,
}

type Spec = BTreeMap<u8, (u8, u8, Vec<u8>)>;

fn spec() -> impl Strategy<Value = Spec> {
    prop::collection::btree_map(
        0u8..5,
        (0u8..3, 0u8..3, prop::collection::vec(0u8..4, 0..3)),
        0..5,
    )
}

fn bag(spec: &Spec) -> Bag {
    let items = spec.iter().map(|(k, (plain, level, tags))| Item {
        k: *k,
        plain: *plain,
        level: *level,
        tags: {
            let mut tags = tags.clone();
            tags.sort_unstable();
            tags.dedup();
            tags
        },
    });
    Bag {
        items: Store::try_from_iter(items).unwrap(),
    }
}

fn sym(spec: &Spec) -> SymBag {
    let items = bag(spec).items.into_iter().map(|item| SymItem {
        k: item.k,
        plain: item.plain,
        level: item.level,
        tags: item.tags,
    });
    SymBag {
        items: Store::try_from_iter(items).unwrap(),
    }
}

fn same<M: DiffModel>(a: &M, b: &M) -> bool {
    a.diff(b).unwrap().is_empty()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn merging_with_an_unchanged_side_gives_the_other_side(b in spec(), t in spec()) {
        let (base, theirs) = (bag(&b), bag(&t));
        let merged = merge(&base, &base, &theirs, &MergeOptions::default()).unwrap();
        prop_assert!(merged.conflicts.is_empty());
        prop_assert!(same(&merged.value, &theirs));
        let merged = merge(&base, &theirs, &base, &MergeOptions::default()).unwrap();
        prop_assert!(merged.conflicts.is_empty());
        prop_assert!(same(&merged.value, &theirs));
    }

    #[test]
    fn the_same_change_on_both_sides_is_never_a_conflict(b in spec(), x in spec()) {
        let (base, both) = (bag(&b), bag(&x));
        let merged = merge(&base, &both, &both, &MergeOptions::default()).unwrap();
        prop_assert!(merged.conflicts.is_empty());
        prop_assert!(same(&merged.value, &both));
    }

    #[test]
    fn symmetric_strategies_do_not_depend_on_argument_order(b in spec(), o in spec(), t in spec()) {
        let (base, ours, theirs) = (sym(&b), sym(&o), sym(&t));
        let forward = merge(&base, &ours, &theirs, &MergeOptions::default()).unwrap();
        let backward = merge(&base, &theirs, &ours, &MergeOptions::default()).unwrap();
        // Only an element deleted on one side and changed on the other has no symmetric
        // rule (the model strategy is `report`, which keeps "ours").
        prop_assume!(forward.conflicts.iter().all(|c| c.kind != ConflictKind::DeleteUpdate));
        prop_assert!(forward.conflicts.is_empty());
        prop_assert!(same(&forward.value, &backward.value));
    }

    #[test]
    fn no_edit_that_did_not_conflict_is_lost(b in spec(), o in spec(), t in spec()) {
        let (base, ours, theirs) = (bag(&b), bag(&o), bag(&t));
        let merged = merge(&base, &ours, &theirs, &MergeOptions::default()).unwrap();
        let conflicted = |k: u8| merged.conflicts.iter().any(|c| c.path.contains(&format!("[k={k}]")));
        for (k, (plain, level, _)) in &o {
            let key = ItemKey { k: *k };
            let in_theirs = t.get(k);
            match (b.get(k), in_theirs) {
                // Created only by ours: kept as is.
                (None, None) => prop_assert_eq!(merged.value.items.get(&key), ours.items.get(&key)),
                // Changed only by ours (theirs untouched): our values win.
                (Some(base_item), Some(their_item)) if base_item == their_item && !conflicted(*k) => {
                    let item = merged.value.items.get(&key).unwrap();
                    prop_assert_eq!((item.plain, item.level), (*plain, *level));
                }
                _ => {}
            }
        }
        for (k, base_item) in &b {
            // Deleted by theirs, untouched by ours: gone.
            if o.get(k) == Some(base_item) && !t.contains_key(k) {
                let key = ItemKey { k: *k };
                prop_assert!(!merged.value.items.contains(&key));
            }
        }
    }

    #[test]
    fn after_a_bidirectional_sync_both_sides_agree_except_on_conflicts(b in spec(), x in spec(), y in spec()) {
        let mut history = History::new(bag(&b)).unwrap();
        let (mut a, mut other) = (bag(&x), bag(&y));
        let report = sync_bidirectional(
            &mut history,
            (&mut a, &mut InMemory),
            (&mut other, &mut InMemory),
            &MergeOptions::default(),
        ).unwrap();
        prop_assert!(report.base_committed);
        let differing = a.diff(&other).unwrap().entries();
        for entry in differing.iter().filter(|e| e.model == "item") {
            let k = entry.key.trim_start_matches("k=");
            prop_assert!(
                report.conflicts.iter().any(|c| c.path.contains(&format!("[k={k}]"))),
                "{} differs without a conflict", entry
            );
        }
        if report.conflicts.is_empty() {
            prop_assert!(same(&a, &other));
            prop_assert!(same(history.head(), &a));
        }
    }
}
