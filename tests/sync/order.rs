//! The order of a sync: every delete before any create, so moves between parents work in a
//! system with a unique constraint across parents.

use std::collections::BTreeSet;

use statesync::sync::{
    Adapter, HookError, Hooks, InMemory, Parents, SyncModel, SyncOptions, SyncOrder,
};
use statesync::{DiffModel, Store};
use statesync_suite::fixtures::{device, inventory};
use statesync_suite::inventory::{Device, DeviceKey, Interface, Inventory, Site, SiteKey};
use statesync_suite::sqlite::SqliteInventory;

/// A system where a device name is unique across all sites (as `device.name UNIQUE` is in
/// the SQLite schema), and an interface name unique per device name.
#[derive(Default)]
struct GloballyUnique {
    devices: BTreeSet<String>,
    interfaces: BTreeSet<(String, String)>,
    log: Vec<String>,
}

impl GloballyUnique {
    fn holding(state: &Inventory) -> Self {
        let mut system = Self::default();
        for site in &state.sites {
            for device in &site.devices {
                system.devices.insert(device.name.clone());
                for interface in &device.interfaces {
                    system
                        .interfaces
                        .insert((device.name.clone(), interface.name.clone()));
                }
            }
        }
        system
    }
}

impl Adapter for GloballyUnique {}
impl Hooks<Inventory> for GloballyUnique {}
impl Hooks<Site> for GloballyUnique {}

impl Hooks<Device> for GloballyUnique {
    fn create(&mut self, device: &Device, parents: &Parents) -> Result<(), HookError> {
        self.log.push(format!("create {parents} > {}", device.name));
        if !self.devices.insert(device.name.clone()) {
            return Err(format!("UNIQUE constraint failed: device.name {}", device.name).into());
        }
        Ok(())
    }

    fn delete(&mut self, device: &Device, parents: &Parents) -> Result<(), HookError> {
        self.log.push(format!("delete {parents} > {}", device.name));
        self.devices.remove(&device.name);
        Ok(())
    }
}

impl Hooks<Interface> for GloballyUnique {
    fn create(&mut self, interface: &Interface, _: &Parents) -> Result<(), HookError> {
        let key = (interface.device.clone(), interface.name.clone());
        if !self.interfaces.insert(key) {
            return Err("UNIQUE constraint failed: interface".into());
        }
        Ok(())
    }

    fn delete(&mut self, interface: &Interface, _: &Parents) -> Result<(), HookError> {
        self.interfaces
            .remove(&(interface.device.clone(), interface.name.clone()));
        Ok(())
    }
}

/// `nyc-d0` moves from `nyc` to `ams`, a site that sorts (and syncs) earlier.
fn moved() -> Inventory {
    let mut new = inventory();
    new.sites.modify(&SiteKey { name: "nyc".into() }, |nyc| {
        nyc.devices.remove(&DeviceKey {
            site: "nyc".into(),
            name: "nyc-d0".into(),
        })
    });
    new.sites
        .modify(&SiteKey { name: "ams".into() }, |ams| {
            ams.devices.insert(device("ams", "nyc-d0", 3))
        })
        .unwrap()
        .unwrap();
    new
}

#[test]
fn a_move_to_an_earlier_parent_syncs_by_default() {
    let mut target = inventory();
    let mut system = GloballyUnique::holding(&target);
    let report = target
        .sync_from(&moved(), &mut system, SyncOptions::default())
        .unwrap();
    assert!(report.is_success(), "{report}");
    assert_eq!(
        system.log,
        [
            "delete site[name=nyc] > nyc-d0",
            "create site[name=ams] > nyc-d0"
        ]
    );
    assert_eq!(target, moved());
    assert_eq!(system.devices, GloballyUnique::holding(&moved()).devices);
}

#[test]
fn collection_by_collection_the_same_move_fails() {
    let mut target = inventory();
    let mut system = GloballyUnique::holding(&target);
    let report = target
        .sync_from(
            &moved(),
            &mut system,
            SyncOptions::default().order(SyncOrder::PerCollection),
        )
        .unwrap();
    assert!(!report.is_success());
    let failure = report.failures().next().unwrap().to_string();
    assert!(failure.contains("UNIQUE constraint failed"), "{failure}");
}

#[test]
fn every_delete_comes_before_every_create_and_parents_keep_their_order() {
    // Sites come and go too: parents are still created before and deleted after their
    // children.
    let mut source = moved();
    source.sites.remove(&SiteKey { name: "ams".into() });
    source
        .sites
        .insert(statesync_suite::fixtures::site("aaa", 1, 1))
        .unwrap();
    let mut target = inventory();
    let report = target
        .sync_from(&source, &mut InMemory, SyncOptions::default())
        .unwrap();
    assert!(report.is_success(), "{report}");
    let operations: Vec<String> = report
        .outcomes
        .iter()
        .map(|o| format!("{} {}", o.operation, o.model))
        .collect();
    let last_delete = operations
        .iter()
        .rposition(|o| o.starts_with("delete"))
        .unwrap();
    let first_create = operations
        .iter()
        .position(|o| o.starts_with("create"))
        .unwrap();
    assert!(last_delete < first_create, "{operations:?}");
    let position = |entry: &str| operations.iter().position(|o| o == entry).unwrap();
    assert!(position("create site") < position("create device"));
    // The deleted site's children were deleted before it.
    let site_deleted = report
        .outcomes
        .iter()
        .position(|o| o.model == "site" && o.key == "name=ams")
        .unwrap();
    let children = report
        .outcomes
        .iter()
        .enumerate()
        .filter(|(_, o)| o.parents.starts_with("site[name=ams] > "))
        .map(|(at, _)| at)
        .collect::<Vec<_>>();
    assert_eq!(children.len(), 2 + 6);
    assert!(children.iter().all(|&at| at < site_deleted));
    assert_eq!(target, source);
}

#[test]
fn the_sqlite_adapter_accepts_a_move_to_an_earlier_site() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = SqliteInventory::open(&dir.path().join("inventory.db")).unwrap();
    let mut target = Inventory::default();
    let first = target
        .sync_from(&inventory(), &mut db, SyncOptions::default())
        .unwrap();
    assert!(first.is_success(), "{first}");

    let mut per_collection = target.clone();
    let refused = per_collection
        .sync_from(
            &moved(),
            &mut db,
            SyncOptions::default().order(SyncOrder::PerCollection),
        )
        .unwrap();
    assert!(!refused.is_success());
    assert!(
        refused.failures().any(|o| o
            .to_string()
            .contains("UNIQUE constraint failed: device.name")),
        "{:?}",
        refused.outcomes
    );
    assert_eq!(
        db.load().unwrap(),
        target,
        "the failed sync left nothing behind"
    );

    let report = target
        .sync_from(&moved(), &mut db, SyncOptions::default())
        .unwrap();
    assert!(report.is_success(), "{report}");
    assert_eq!(target, moved());
    assert!(db.load().unwrap().diff(&moved()).unwrap().is_empty());
}

/// A two-level model where the child's name is unique across parents, moved both ways.
/// (Serde only for three levels, which the derive needs for now.)
#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Shelves {
    #[statesync(children)]
    shelves: Store<Shelf>,
}

#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Shelf {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    books: Store<Book>,
}

#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Book {
    #[statesync(id)]
    title: String,
}

#[derive(Default)]
struct Library(BTreeSet<String>);

impl Adapter for Library {}
impl Hooks<Shelves> for Library {}
impl Hooks<Shelf> for Library {}
impl Hooks<Book> for Library {
    fn create(&mut self, book: &Book, _: &Parents) -> Result<(), HookError> {
        if self.0.insert(book.title.clone()) {
            Ok(())
        } else {
            Err(format!("{} is already on a shelf", book.title).into())
        }
    }

    fn delete(&mut self, book: &Book, _: &Parents) -> Result<(), HookError> {
        self.0.remove(&book.title);
        Ok(())
    }
}

fn shelves(layout: &[(&str, &[&str])]) -> Shelves {
    let shelf = |name: &str, books: &[&str]| Shelf {
        name: name.into(),
        books: Store::try_from_iter(books.iter().map(|title| Book {
            title: (*title).into(),
        }))
        .unwrap(),
    };
    Shelves {
        shelves: Store::try_from_iter(layout.iter().map(|(name, books)| shelf(name, books)))
            .unwrap(),
    }
}

#[test]
fn swaps_between_parents_converge_in_one_sync() {
    let before = shelves(&[("a", &["x", "y"]), ("b", &["z"])]);
    let after = shelves(&[("a", &["z"]), ("b", &["x", "y"])]);
    let mut target = before.clone();
    let mut library = Library(["x", "y", "z"].map(String::from).into());
    let report = target
        .sync_from(&after, &mut library, SyncOptions::default())
        .unwrap();
    assert!(report.is_success(), "{report}");
    assert_eq!(target, after);
    assert_eq!(library.0.len(), 3);
}
