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
    assert_eq!(store.keys().next(), Some(&key("et-1")));
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
    store
        .get_or_insert_with(key("et-1"), || interface("sw1", "et-1"))
        .unwrap()
        .mtu = 42;
    let again = store
        .get_or_insert_with(key("et-1"), || unreachable!("present"))
        .unwrap()
        .mtu;
    assert_eq!(again, 42);
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
    assert_eq!(updated.role, "spine");
    assert_eq!(updated.interfaces.len(), 3);
    drop(updated);
    devices.update_or_insert(device("nyc", "sw2", 1));
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
