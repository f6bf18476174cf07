//! The `Store` API.

use statesync::{DiffModel, Error, Store};
use statesync_suite::inventory::{Interface, InterfaceKey};

use statesync_suite::fixtures::{device, interface};

fn key(name: &str) -> InterfaceKey {
    InterfaceKey {
        device: "sw1".into(),
        name: name.into(),
    }
}

fn names(store: &Store<Interface>) -> Vec<String> {
    store.iter().map(|i| i.name.clone()).collect()
}

#[test]
fn insert_refuses_a_duplicate_and_names_model_and_key() {
    let mut store = Store::new();
    store.insert(interface("sw1", "et-1")).unwrap();
    let mut again = interface("sw1", "et-1");
    again.mtu = 9000;
    let error = store.insert(again).unwrap_err();
    assert_eq!(
        error.to_string(),
        "duplicate key: interface[device=sw1, name=et-1] appears more than once"
    );
    assert_eq!(store.get(&key("et-1")).unwrap().mtu, 1500);
    assert_eq!(store.len(), 1);
}

#[test]
fn lookups_iteration_and_removal_keep_insertion_order() {
    let mut store = Store::new();
    for name in ["et-3", "et-1", "et-2"] {
        store.insert(interface("sw1", name)).unwrap();
    }
    assert_eq!(names(&store), ["et-3", "et-1", "et-2"]);
    assert!(store.contains(&key("et-1")));
    assert!(!store.contains(&key("et-9")));
    store.get_mut(&key("et-1")).unwrap().mtu = 9216;
    assert_eq!(store.get(&key("et-1")).unwrap().mtu, 9216);
    let removed = store.remove(&key("et-3")).unwrap();
    assert_eq!(removed.name, "et-3");
    assert_eq!(names(&store), ["et-1", "et-2"]);
    assert!(store.remove(&key("et-3")).is_none());
    assert_eq!(store.keys().next(), Some(key("et-1")));
    assert!(!store.is_empty());
}

#[test]
fn remove_returns_the_model_with_its_children() {
    let mut devices = Store::new();
    devices.insert(device("nyc", "sw1", 4)).unwrap();
    let removed = devices.remove(&device("nyc", "sw1", 0).key()).unwrap();
    assert_eq!(removed.interfaces.len(), 4);
    assert!(devices.is_empty());
}

#[test]
fn update_and_upsert_replace() {
    let mut store = Store::new();
    store.insert(interface("sw1", "et-1")).unwrap();
    let mut changed = interface("sw1", "et-1");
    changed.mtu = 9000;
    let old = store.update(changed.clone()).unwrap();
    assert_eq!(old.mtu, 1500);
    assert!(matches!(
        store.update(interface("sw1", "et-2")),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(store.upsert(interface("sw1", "et-2")), None);
    assert_eq!(store.upsert(interface("sw1", "et-1")), Some(changed));
    assert_eq!(names(&store), ["et-1", "et-2"]);
}

#[test]
fn get_or_insert_with_inserts_once_and_checks_the_key() {
    let mut store = Store::new();
    let mut made = store
        .get_or_insert_with(key("et-1"), || interface("sw1", "et-1"))
        .unwrap();
    assert!(made.inserted());
    made.mtu = 42;
    drop(made);
    let again = store
        .get_or_insert_with(key("et-1"), || unreachable!("present"))
        .unwrap();
    assert!(!again.inserted());
    assert_eq!(again.mtu, 42);
    drop(again);
    assert!(!store.get_mut(&key("et-1")).unwrap().inserted());
    let error = store
        .get_or_insert_with(key("et-5"), || interface("sw1", "et-6"))
        .unwrap_err();
    assert!(matches!(error, Error::KeyMismatch { .. }));
    assert_eq!(store.len(), 1);
}

#[test]
fn update_or_insert_updates_attributes_and_keeps_children() {
    let mut devices = Store::new();
    devices.insert(device("nyc", "sw1", 3)).unwrap();
    let mut replacement = device("nyc", "sw1", 0);
    replacement.role = "spine".into();
    let updated = devices.update_or_insert(replacement);
    assert!(!updated.inserted());
    assert_eq!(updated.role, "spine");
    assert_eq!(updated.interfaces.len(), 3);
    drop(updated);
    assert!(devices.update_or_insert(device("nyc", "sw2", 1)).inserted());
    assert_eq!(devices.len(), 2);
}

#[test]
fn try_from_iter_reports_duplicates() {
    let ok = Store::try_from_iter([interface("sw1", "a"), interface("sw1", "b")]).unwrap();
    assert_eq!(ok.len(), 2);
    let error = Store::try_from_iter([interface("sw1", "a"), interface("sw1", "a")]).unwrap_err();
    assert!(matches!(
        error,
        Error::DuplicateKey {
            model: "interface",
            ..
        }
    ));
    let error = Store::try_from(vec![interface("sw1", "x"), interface("sw1", "x")]).unwrap_err();
    assert!(error.to_string().contains("name=x"));
}

#[test]
fn equality_ignores_order() {
    let a = Store::try_from_iter([interface("sw1", "a"), interface("sw1", "b")]).unwrap();
    let b = Store::try_from_iter([interface("sw1", "b"), interface("sw1", "a")]).unwrap();
    assert_eq!(a, b);
    assert!(a.diff(&b).unwrap().is_empty());
}

#[test]
fn serde_is_a_json_array_and_duplicates_are_rejected() {
    let store = Store::try_from_iter([interface("sw1", "a"), interface("sw1", "b")]).unwrap();
    let json = serde_json::to_string(&store).unwrap();
    assert!(json.starts_with("[{\"device\":\"sw1\",\"name\":\"a\""));
    let back: Store<Interface> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, store);
    let twice = format!(
        "[{0},{0}]",
        serde_json::to_string(&interface("sw1", "a")).unwrap()
    );
    let error = serde_json::from_str::<Store<Interface>>(&twice).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("duplicate key: interface[device=sw1, name=a]"),
        "{error}"
    );
}

mod renames {
    use std::collections::BTreeSet;

    use proptest::prelude::*;
    use statesync::{DiffModel, Error, Store};

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Item {
        #[statesync(id)]
        id: u8,
        value: u8,
    }

    fn item(id: u8, value: u8) -> Item {
        Item { id, value }
    }

    fn ids(store: &Store<Item>) -> Vec<u8> {
        store.iter().map(|item| item.id).collect()
    }

    fn store() -> Store<Item> {
        Store::try_from_iter([item(1, 10), item(2, 20), item(3, 30)]).unwrap()
    }

    #[test]
    fn a_rename_through_get_mut_refiles_the_model_in_place() {
        let mut store = store();
        let old = store.clone();
        store.track_changes();
        store.get_mut(&ItemKey { id: 2 }).unwrap().id = 7;
        assert_eq!(ids(&store), [1, 7, 3]);
        assert!(store.get(&ItemKey { id: 2 }).is_none());
        assert_eq!(store.get(&ItemKey { id: 7 }).unwrap().value, 20);
        let touched: BTreeSet<u8> = store.touched().unwrap().map(|key| key.id).collect();
        assert_eq!(touched, BTreeSet::from([2, 7]));
        let diff = old.diff_touched(&store).unwrap();
        assert_eq!(diff.to_string(), "- item[id=2]\n+ item[id=7]\n");
        assert_eq!(diff.elements(), old.diff(&store).unwrap().elements());
    }

    #[test]
    fn a_rename_onto_a_taken_key_keeps_both_and_refuses_to_diff() {
        let mut store = store();
        store.get_mut(&ItemKey { id: 1 }).unwrap().id = 3;
        assert_eq!(ids(&store), [2, 3]);
        assert_eq!(store.get(&ItemKey { id: 3 }).unwrap().value, 30);
        assert_eq!(store.collisions(), [item(3, 10)]);
        let error = store.diff(&Store::new()).unwrap_err();
        assert!(
            matches!(&error, Error::SetAside { model: "item", key, .. } if key == "id=3"),
            "{error}"
        );
        assert!(Store::new().diff(&store).is_err());
        // With the holder of its key gone, the model set aside is still refused, and the
        // error says why (it said the key appeared twice, which it no longer did).
        let mut freed = store.clone();
        assert!(freed.remove(&ItemKey { id: 3 }).is_some());
        assert_eq!(
            freed.diff(&Store::new()).unwrap_err().to_string(),
            "item[id=3] is set aside in its store: it was renamed onto a key another model \
             held (or filing it under its new key panicked); take it back with \
             `Store::take_collisions` to diff, apply or sync the store"
        );
        assert!(store.apply(&statesync::Diff::default()).is_err());
        assert_eq!(format!("{store:?}").matches("value: 10").count(), 1);
        assert_eq!(store.take_collisions(), [item(3, 10)]);
        assert!(store.diff(&Store::new()).is_ok());
    }

    #[test]
    fn for_each_mut_and_modify_refile_renamed_models() {
        let mut store = store();
        store.for_each_mut(|item| item.id += 10);
        assert_eq!(ids(&store), [11, 12, 13]);
        assert_eq!(
            store.modify(&ItemKey { id: 12 }, |item| item.id = 2),
            Some(())
        );
        assert_eq!(ids(&store), [11, 2, 13]);
        store.for_each_mut(|item| item.id = 5);
        assert_eq!(ids(&store), [5]);
        assert_eq!(store.collisions().len(), 2);
    }

    /// A renumbering whose keys end distinct is a set of renames, in any direction; a
    /// renamed model lands in the collisions only when its key is held in the end.
    #[test]
    fn for_each_mut_refiles_after_every_model_is_changed() {
        let mut store = store();
        store.for_each_mut(|item| item.id += 1);
        assert_eq!(ids(&store), [2, 3, 4]);
        assert!(store.collisions().is_empty());
        store.for_each_mut(|item| item.id -= 1);
        assert_eq!(ids(&store), [1, 2, 3]);
        assert!(store.diff(&store.clone()).unwrap().is_empty());
        store.for_each_mut(|item| item.id = 4 - item.id);
        assert_eq!(ids(&store), [3, 2, 1]);
        assert_eq!(
            store.get(&ItemKey { id: 3 }).map(|item| item.value),
            Some(10)
        );
        // 1 -> 2 where 2 stays: the renamed model is kept aside, the other keeps its key.
        store.for_each_mut(|item| {
            if item.id == 1 {
                item.id = 2;
            }
        });
        assert_eq!(ids(&store), [3, 2]);
        assert_eq!(store.collisions().len(), 1);
        assert_eq!(
            store.get(&ItemKey { id: 2 }).map(|item| item.value),
            Some(20)
        );
    }

    #[test]
    fn retain_keeps_order_and_tracks_what_it_removes() {
        let mut store = store();
        store.track_changes();
        store.retain(|item| item.value != 20);
        assert_eq!(ids(&store), [1, 3]);
        let touched: Vec<u8> = store.touched().unwrap().map(|key| key.id).collect();
        assert_eq!(touched, [2]);
    }

    #[derive(Debug, Clone)]
    enum Edit {
        Insert(u8, u8),
        Upsert(u8, u8),
        Update(u8, u8),
        Remove(u8),
        Retain(u8),
        SetValue(u8, u8),
        Rename(u8, u8),
        ShiftAll(u8),
        GetOrInsert(u8, u8),
        UpdateOrInsert(u8, u8),
        TakeCollisions,
    }

    fn edit() -> impl Strategy<Value = Edit> {
        let id = 0u8..6;
        let value = 0u8..4;
        prop_oneof![
            (id.clone(), value.clone()).prop_map(|(i, v)| Edit::Insert(i, v)),
            (id.clone(), value.clone()).prop_map(|(i, v)| Edit::Upsert(i, v)),
            (id.clone(), value.clone()).prop_map(|(i, v)| Edit::Update(i, v)),
            id.clone().prop_map(Edit::Remove),
            value.clone().prop_map(Edit::Retain),
            (id.clone(), value.clone()).prop_map(|(i, v)| Edit::SetValue(i, v)),
            (id.clone(), id.clone()).prop_map(|(i, n)| Edit::Rename(i, n)),
            (0u8..3).prop_map(Edit::ShiftAll),
            (id.clone(), value.clone()).prop_map(|(i, v)| Edit::GetOrInsert(i, v)),
            (id, value).prop_map(|(i, v)| Edit::UpdateOrInsert(i, v)),
            Just(Edit::TakeCollisions),
        ]
    }

    fn run(store: &mut Store<Item>, edit: &Edit) {
        let key = |id: u8| ItemKey { id };
        match *edit {
            Edit::Insert(i, v) => drop(store.insert(item(i, v))),
            Edit::Upsert(i, v) => drop(store.upsert(item(i, v))),
            Edit::Update(i, v) => drop(store.update(item(i, v))),
            Edit::Remove(i) => drop(store.remove(&key(i))),
            Edit::Retain(v) => store.retain(|item| item.value != v),
            Edit::SetValue(i, v) => {
                if let Some(mut item) = store.get_mut(&key(i)) {
                    item.value = v;
                }
            }
            Edit::Rename(i, n) => {
                if let Some(mut item) = store.get_mut(&key(i)) {
                    item.id = n;
                }
            }
            Edit::ShiftAll(by) => store.for_each_mut(|item| item.id = (item.id + by) % 6),
            Edit::GetOrInsert(i, v) => {
                if let Ok(mut item) = store.get_or_insert_with(key(i), || item(i, v)) {
                    item.value = v;
                }
            }
            Edit::UpdateOrInsert(i, v) => drop(store.update_or_insert(item(i, v))),
            Edit::TakeCollisions => drop(store.take_collisions()),
        }
    }

    /// Every model with its value, indexed or kept aside.
    fn contents(store: &Store<Item>) -> Vec<(u8, u8)> {
        let mut all: Vec<(u8, u8)> = store
            .iter()
            .chain(store.collisions())
            .map(|item| (item.id, item.value))
            .collect();
        all.sort();
        all
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// After any sequence of public edits the index agrees with the models, renames
        /// lose nothing, and tracking saw every key whose model changed.
        #[test]
        fn the_index_agrees_and_tracking_sees_every_edit(edits in prop::collection::vec(edit(), 1..30)) {
            let mut store = Store::new();
            store.track_changes();
            for edit in &edits {
                let before = store.clone();
                drop(store.take_touched());
                run(&mut store, edit);
                for item in &store {
                    let found = store.get(&item.key());
                    prop_assert!(found.is_some_and(|found| std::ptr::eq(found, item)), "{:?} after {:?}", store, edit);
                }
                let touched: BTreeSet<u8> = store.take_touched().into_iter().map(|key| key.id).collect();
                for id in 0..6 {
                    let key = ItemKey { id };
                    if before.get(&key) != store.get(&key) {
                        prop_assert!(touched.contains(&id), "{:?} changed by {:?} untracked", key, edit);
                    }
                }
                if matches!(edit, Edit::SetValue(..) | Edit::Rename(..) | Edit::ShiftAll(..)) {
                    let mut moved = contents(&before);
                    if let Edit::SetValue(i, v) = *edit {
                        for entry in &mut moved {
                            if entry.0 == i && before.get(&ItemKey { id: i }).is_some() && entry.1 == before.get(&ItemKey { id: i }).map_or(0, |item| item.value) {
                                entry.1 = v;
                                break;
                            }
                        }
                        moved.sort();
                        prop_assert_eq!(contents(&store), moved);
                    } else {
                        let values = |all: Vec<(u8, u8)>| { let mut v: Vec<u8> = all.into_iter().map(|(_, v)| v).collect(); v.sort(); v };
                        prop_assert_eq!(values(contents(&store)), values(moved), "a rename lost a model");
                    }
                }
                if store.collisions().is_empty() {
                    let tracked = before.diff_keys(&store, touched.iter().map(|&id| ItemKey { id }).collect::<Vec<_>>().iter());
                    if before.collisions().is_empty() {
                        let (tracked, full) = (tracked.unwrap(), before.diff(&store).unwrap());
                        prop_assert_eq!(tracked.elements(), full.elements());
                    }
                }
            }
        }
    }
}

/// A store hashes a model's id fields where a lookup hashes the key: the two must agree for
/// every kind of id field, or lookups miss (the index is built from models, looked up by
/// keys).
mod mixed_ids {
    use statesync::{DiffModel, Store};

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Mixed {
        #[statesync(id)]
        rank: u8,
        #[statesync(id)]
        name: String,
        #[statesync(id)]
        zone: i64,
        #[statesync(id)]
        span: u16,
        #[statesync(id)]
        flag: bool,
        #[statesync(id)]
        mark: char,
        note: String,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Borrowed<'a> {
        #[statesync(id)]
        name: &'a str,
        size: u32,
    }

    fn mixed(n: u16) -> Mixed {
        Mixed {
            rank: (n % 7) as u8,
            name: format!("m{}", n / 3),
            zone: i64::from(n) - 50,
            span: n,
            flag: n.is_multiple_of(3),
            mark: if n.is_multiple_of(2) { 'é' } else { 'x' },
            note: String::new(),
        }
    }

    #[test]
    fn lookups_by_key_find_models_with_any_id_types() {
        let store = Store::try_from_iter((0..200).map(mixed)).unwrap();
        for n in 0..200 {
            let model = mixed(n);
            assert_eq!(store.get(&model.key()), Some(&model));
        }
        assert!(!store.contains(&mixed(200).key()));
        // A `Vec` of children is indexed the same way: a duplicate is found.
        let twice = vec![mixed(1), mixed(2), mixed(1)];
        assert!(Store::try_from_iter(twice.clone()).is_err());
        assert!(
            statesync::ChildCollection::diff_collection(
                &twice,
                &Vec::new(),
                &mut statesync::Unobserved
            )
            .is_err()
        );
    }

    #[test]
    fn lookups_by_key_find_borrowing_models() {
        let names: Vec<String> = (0..50).map(|n| format!("b{n}")).collect();
        let store =
            Store::try_from_iter(names.iter().map(|name| Borrowed { name, size: 1 })).unwrap();
        for name in &names {
            assert_eq!(
                store.get(&BorrowedKey { name }).map(|b| b.name),
                Some(name.as_str())
            );
        }
        drop(store);
    }
}

/// A shape the inventory does not have: a generic model keyed by its type parameter, with
/// `Vec` and map children, three levels deep, without serde; renamed through `for_each_mut`.
mod generic_tree {
    use std::collections::BTreeMap;

    use statesync::{DiffModel, Store};

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Leaf {
        #[statesync(id)]
        id: u32,
        value: f64,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Branch {
        #[statesync(id)]
        name: String,
        #[statesync(children)]
        leaves: Vec<Leaf>,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Root<T: Clone + std::fmt::Debug + std::fmt::Display + Ord + std::hash::Hash> {
        #[statesync(id)]
        id: T,
        #[statesync(children)]
        branches: BTreeMap<BranchKey, Branch>,
    }

    fn root(id: u64, leaves: u32) -> Root<u64> {
        let branch = Branch {
            name: "b".into(),
            leaves: (0..leaves)
                .map(|id| Leaf {
                    id,
                    value: f64::from(id),
                })
                .collect(),
        };
        Root {
            id,
            branches: BTreeMap::from([(branch.key(), branch)]),
        }
    }

    #[test]
    fn a_store_of_generic_roots_diffs_applies_and_refiles_renames() {
        let mut old = Store::try_from_iter((0..20).map(|id| root(id, 2))).unwrap();
        let new = Store::try_from_iter((5..25).map(|id| root(id, 3))).unwrap();
        let diff = old.diff(&new).unwrap();
        let summary = diff.summary();
        // Five new roots of five elements, a third leaf in each of the fifteen kept roots;
        // five old roots of four elements.
        assert_eq!((summary.create, summary.delete), (5 * 5 + 15, 5 * 4));
        old.apply(&diff).unwrap();
        assert_eq!(old, new);
        assert_eq!(
            old.keys().map(|key| key.id).collect::<Vec<_>>(),
            (5..25).collect::<Vec<_>>()
        );
        old.for_each_mut(|root| root.id += 100);
        for id in 105..125 {
            assert!(old.contains(&RootKey { id }));
        }
        assert!(!old.contains(&RootKey { id: 5 }));
        assert_eq!(old.diff(&new).unwrap().summary().create, new.len() * 5);
    }
}

/// A panic in `for_each_mut`'s closure leaves every model filed under its own key, and a
/// store taken apart by value keeps the models a colliding rename set aside.
#[test]
fn a_panic_in_for_each_mut_leaves_the_index_right_and_into_iter_drops_nothing() {
    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Item {
        #[statesync(id)]
        id: u8,
        value: u8,
    }
    let item = |id| Item { id, value: id };
    let mut store = Store::try_from_iter([item(1), item(2), item(3)]).unwrap();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store.for_each_mut(|item| {
            item.id += 10;
            assert!(item.id < 12, "panics while changing the second");
        });
    }));
    assert!(panicked.is_err());
    for (key, model) in store.entries() {
        assert_eq!(store.get(&key), Some(model));
    }
    let ids: Vec<u8> = store.iter().map(|item| item.id).collect();
    assert_eq!(ids, [11, 12, 3]);
    assert!(store.insert(item(11)).is_err());

    if let Some(mut renamed) = store.get_mut(&ItemKey { id: 3 }) {
        renamed.id = 11;
    }
    assert_eq!(store.collisions().len(), 1);
    assert_eq!(store.into_iter().count(), 3);
}

/// An id whose `Clone` panics for one value, as user code may.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Touchy(u32);

impl Clone for Touchy {
    fn clone(&self) -> Self {
        assert_ne!(self.0, 13, "unlucky");
        Touchy(self.0)
    }
}

impl std::fmt::Display for Touchy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Ticket {
    #[statesync(id)]
    id: Touchy,
}

/// A panic in user code inside `insert` (the id's `Clone`, when tracking records the key)
/// leaves the store as it was. Before, the index kept a position for the model that never
/// went in, and every model inserted after it was filed one position off: not found by its
/// key, and insertable twice.
#[test]
fn a_panic_inside_insert_leaves_the_index_whole() {
    let mut store = Store::try_from_iter([Ticket { id: Touchy(1) }]).unwrap();
    store.track_changes();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store.insert(Ticket { id: Touchy(13) })
    }));
    assert!(panicked.is_err());
    store.insert(Ticket { id: Touchy(14) }).unwrap();
    assert_eq!(
        store.get(&TicketKey { id: Touchy(14) }).map(|t| t.id.0),
        Some(14)
    );
    assert!(
        store.insert(Ticket { id: Touchy(14) }).is_err(),
        "a duplicate"
    );
    assert_eq!(store.len(), 2);
}

/// The same for the record of touched keys: a panic in the id's `Clone` while a key is
/// recorded (a `get_mut` with tracking on) leaves the record whole, so a key touched twice
/// after it is recorded once.
#[test]
fn a_panic_while_a_key_is_recorded_leaves_the_record_whole() {
    let mut store =
        Store::try_from_iter([Ticket { id: Touchy(13) }, Ticket { id: Touchy(14) }]).unwrap();
    store.track_changes();
    let unlucky = TicketKey { id: Touchy(13) };
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store.get_mut(&unlucky).is_some()
    }));
    assert!(panicked.is_err());
    for _ in 0..2 {
        assert!(store.get_mut(&TicketKey { id: Touchy(14) }).is_some());
    }
    let touched: Vec<u32> = store
        .touched()
        .into_iter()
        .flatten()
        .map(|k| k.id.0)
        .collect();
    assert_eq!(touched, [14]);
}

/// Whether the next hash of a `Shy` id panics.
static SHY_PANICS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// An id whose `Hash` panics once when armed, as user code may.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Shy(u32);

impl std::hash::Hash for Shy {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let armed = SHY_PANICS.swap(false, std::sync::atomic::Ordering::SeqCst);
        assert!(!armed, "the hash of {} panics", self.0);
        self.0.hash(state);
    }
}

impl std::fmt::Display for Shy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Badge {
    #[statesync(id)]
    id: Shy,
}

/// A panic in the id's `Hash` while a renamed model is filed under its new key (when a
/// `get_mut` guard drops, or at the end of `for_each_mut`) sets the model aside. Before, it
/// stayed under its old key's hash: found under neither key, so its new key could be
/// inserted a second time and a diff ignored one of the two.
#[test]
fn a_panic_while_a_renamed_model_is_filed_sets_it_aside() {
    let badges = |ids: &[u32]| Store::try_from_iter(ids.iter().map(|&id| Badge { id: Shy(id) }));
    let key = |id| BadgeKey { id: Shy(id) };
    let rename = |store: &mut Store<Badge>, through_guard: bool| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if through_guard {
                if let Some(mut badge) = store.get_mut(&key(1)) {
                    badge.id = Shy(50);
                    SHY_PANICS.store(true, std::sync::atomic::Ordering::SeqCst);
                }
            } else {
                store.for_each_mut(|badge| {
                    if badge.id == Shy(1) {
                        badge.id = Shy(50);
                        SHY_PANICS.store(true, std::sync::atomic::Ordering::SeqCst);
                    }
                });
            }
        }))
    };
    for through_guard in [true, false] {
        let mut store = badges(&[1, 2]).unwrap();
        assert!(rename(&mut store, through_guard).is_err());
        let aside: Vec<u32> = store.collisions().iter().map(|b| b.id.0).collect();
        assert_eq!(aside, [50], "through a guard: {through_guard}");
        assert!(store.get(&key(1)).is_none() && store.get(&key(50)).is_none());
        for (key, model) in store.entries() {
            assert_eq!(store.get(&key), Some(model));
        }
        store.insert(Badge { id: Shy(50) }).unwrap();
        let error = store.diff(&badges(&[2, 50]).unwrap()).unwrap_err();
        assert!(matches!(error, Error::SetAside { .. }), "{error}");
    }
}

/// How a `Prickly` id's `PartialEq` panics: 0 never, 1 at its next call, 2 at every call.
static PRICKLY_PANICS: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// An id whose `PartialEq` panics when armed, as user code may (`Hash` agrees with it).
#[derive(Clone, Debug, Eq, PartialOrd, Ord, Hash)]
#[allow(clippy::derived_hash_with_manual_eq)]
struct Prickly(u32);

impl PartialEq for Prickly {
    fn eq(&self, other: &Self) -> bool {
        use std::sync::atomic::Ordering::SeqCst;
        let mode = PRICKLY_PANICS.load(SeqCst);
        if mode == 1 {
            PRICKLY_PANICS.store(0, SeqCst);
        }
        assert!(mode == 0, "the comparison of {} panics", self.0);
        self.0 == other.0
    }
}

impl std::fmt::Display for Prickly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Pin {
    #[statesync(id)]
    id: Prickly,
}

/// A panic in the id's `PartialEq` as a renamed model's key is compared (when a guard
/// drops, in `for_each_mut`), once or at every call, and also while a panic of `f` is
/// already unwinding, sets the model aside. Before, a panic at the comparison a guard
/// makes before filing left the model under its old key's hash (its new key could be
/// inserted twice), and a second panic while unwinding aborted the process.
#[test]
fn a_panic_while_a_renamed_models_key_is_compared_sets_it_aside() {
    use std::sync::atomic::Ordering::SeqCst;
    let key = |id| PinKey { id: Prickly(id) };
    for (mode, way) in [1, 2]
        .into_iter()
        .flat_map(|mode| (0..3).map(move |way| (mode, way)))
    {
        let mut store =
            Store::try_from_iter([Pin { id: Prickly(1) }, Pin { id: Prickly(2) }]).unwrap();
        let renamed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match way {
            0 => {
                if let Some(mut pin) = store.get_mut(&key(1)) {
                    pin.id = Prickly(50);
                    PRICKLY_PANICS.store(mode, SeqCst);
                }
            }
            1 => store.for_each_mut(|pin| {
                if pin.id.0 == 1 {
                    pin.id = Prickly(50);
                    PRICKLY_PANICS.store(mode, SeqCst);
                }
            }),
            _ => {
                store.modify(&key(1), |pin| {
                    pin.id = Prickly(50);
                    PRICKLY_PANICS.store(mode, SeqCst);
                    panic!("f panics after renaming");
                });
            }
        }));
        PRICKLY_PANICS.store(0, SeqCst);
        assert!(renamed.is_err(), "mode {mode}, way {way}");
        // Filed under its new key (when the comparison that panicked was not the last
        // one made), or else set aside: never under its old key's hash.
        let aside: Vec<u32> = store.collisions().iter().map(|pin| pin.id.0).collect();
        let filed: Vec<u32> = store.iter().map(|pin| pin.id.0).collect();
        assert!(store.get(&key(2)).is_some());
        if aside.is_empty() {
            assert_eq!(filed, [50, 2], "mode {mode}, way {way}");
            assert!(store.get(&key(50)).is_some());
            assert!(store.insert(Pin { id: Prickly(50) }).is_err());
        } else {
            assert_eq!(
                (aside, filed),
                (vec![50], vec![2]),
                "mode {mode}, way {way}"
            );
            store.insert(Pin { id: Prickly(50) }).unwrap();
            assert!(matches!(
                store.diff(&Store::new()),
                Err(Error::SetAside { .. })
            ));
        }
    }
}

/// How many `Loud` models were dropped.
static LOUD_DROPS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A model whose `Drop` counts, and panics for id 2.
#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Loud {
    #[statesync(id)]
    id: u32,
}

impl Drop for Loud {
    fn drop(&mut self) {
        LOUD_DROPS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if self.id == 2 && !std::thread::panicking() {
            panic!("the drop of model 2 panics");
        }
    }
}

/// A model's `Drop` that panics while its store is dropped leaks nothing else of the store:
/// the models after it and the one set aside are dropped too (the store frees its parts on
/// the way out; a version that freed them after dropping the models in place leaked them).
#[test]
fn a_panicking_drop_of_a_model_leaks_nothing_else_of_its_store() {
    let mut store = Store::try_from_iter([Loud { id: 1 }, Loud { id: 2 }, Loud { id: 3 }]).unwrap();
    store.insert(Loud { id: 4 }).unwrap();
    store.get_mut(&LoudKey { id: 4 }).unwrap().id = 3; // 3 is taken: set aside
    assert_eq!(store.collisions().len(), 1);
    LOUD_DROPS.store(0, std::sync::atomic::Ordering::SeqCst);
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(store)));
    assert!(dropped.is_err());
    assert_eq!(LOUD_DROPS.load(std::sync::atomic::Ordering::SeqCst), 4);
}
