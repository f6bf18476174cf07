//! Three-level hierarchies: diff, counts, apply, and apply refusing a diff made for another
//! state while leaving the target as it was.

use statesync::{DiffModel, Error, Operation, Summary};
use statesync_suite::inventory::{Device, DeviceKey, InterfaceKey, Inventory, SiteKey};

use statesync_suite::fixtures::{device, inventory, site};

fn site_key(name: &str) -> SiteKey {
    SiteKey { name: name.into() }
}

fn device_key(site: &str, name: &str) -> DeviceKey {
    DeviceKey {
        site: site.into(),
        name: name.into(),
    }
}

/// Changes at every level: one site attribute, one device attribute, one interface
/// attribute; a site created (1 device, 2 ports) and one deleted (2 devices, 3 ports each).
fn changed() -> Inventory {
    let mut new = inventory();
    {
        let mut ams = new.sites.get_mut(&site_key("ams")).unwrap();
        ams.region = "eu-west".into();
        let mut d0 = ams.devices.get_mut(&device_key("ams", "ams-d0")).unwrap();
        d0.role = "spine".into();
        d0.interfaces
            .get_mut(&InterfaceKey {
                device: "ams-d0".into(),
                name: "et-1".into(),
            })
            .unwrap()
            .enabled = false;
    }
    new.sites.remove(&site_key("nyc"));
    new.sites.insert(site("lon", 1, 2)).unwrap();
    new
}

#[test]
fn counts_follow_the_dataset_counting_rule() {
    let diff = inventory().diff(&changed()).unwrap();
    assert_eq!(
        diff.summary(),
        Summary {
            create: 1 + 1 + 2,
            update: 3,
            delete: 1 + 2 + 6,
            // root, ams-d1 and its 3 ports, ams-d0's 2 other ports
            unchanged: 1 + 4 + 2,
            skip: 0,
        }
    );
}

#[test]
fn apply_makes_three_levels_equal() {
    let mut old = inventory();
    let new = changed();
    let diff = old.diff(&new).unwrap();
    old.apply(&diff).unwrap();
    assert_eq!(old, new);
    assert!(old.diff(&new).unwrap().is_empty());
}

#[test]
fn diff_of_equal_states_is_empty_and_counts_everything_unchanged() {
    let diff = inventory().diff(&inventory()).unwrap();
    assert!(diff.is_empty());
    assert_eq!(diff.summary().unchanged, 19);
    assert_eq!(diff.to_string(), "no changes\n");
    assert!(diff.entries().is_empty());
}

#[test]
fn applying_twice_fails_and_leaves_the_target_unchanged() {
    let mut target = inventory();
    let diff = target.diff(&changed()).unwrap();
    target.apply(&diff).unwrap();
    let before = target.clone();
    let error = target.apply(&diff).unwrap_err();
    // Elements are checked in key order: the update of `ams` comes first, and its region no
    // longer holds the old value the diff changes.
    assert!(matches!(
        error,
        Error::Stale {
            model: "site",
            field: "region",
            ..
        }
    ));
    assert_eq!(
        error.to_string(),
        "cannot update inventory.sites.site[name=ams]: field `region` no longer holds the value the diff changes"
    );
    assert_eq!(target, before);
}

#[test]
fn a_missing_nested_element_is_named_with_its_path() {
    let mut target = inventory();
    let diff = target.diff(&changed()).unwrap();
    target
        .sites
        .get_mut(&site_key("ams"))
        .unwrap()
        .devices
        .remove(&device_key("ams", "ams-d0"));
    let before = target.clone();
    let error = target.apply(&diff).unwrap_err();
    assert!(matches!(
        error,
        Error::NotFound {
            operation: Operation::Update,
            model: "device",
            ..
        }
    ));
    assert_eq!(
        error.to_string(),
        "cannot update inventory.sites.site[name=ams].devices.device[site=ams, name=ams-d0]: no such element"
    );
    assert_eq!(target, before, "a failed apply changes nothing");
}

#[test]
fn delete_of_a_missing_element_fails_before_anything_changes() {
    let mut target = inventory();
    let diff = target.diff(&changed()).unwrap();
    target.sites.remove(&site_key("nyc"));
    let before = target.clone();
    let error = target.apply(&diff).unwrap_err();
    assert!(matches!(
        error,
        Error::NotFound {
            operation: Operation::Delete,
            model: "site",
            ..
        }
    ));
    assert_eq!(target, before);
}

#[test]
fn store_diff_and_apply_work_without_a_root() {
    let mut old = inventory().sites;
    let new = changed().sites;
    let diff = old.diff(&new).unwrap();
    assert_eq!(diff.summary().unchanged, 6);
    old.apply(&diff).unwrap();
    assert_eq!(old, new);
}

#[test]
fn a_root_diff_for_another_root_is_refused() {
    let mut a = device("nyc", "sw1", 1);
    let mut b = a.clone();
    b.role = "spine".into();
    let diff = a.diff(&b).unwrap();
    let mut other = device("nyc", "sw9", 1);
    assert!(matches!(other.apply(&diff), Err(Error::NotFound { .. })));
    a.apply(&diff).unwrap();
    assert_eq!(a, b);
}

#[test]
fn a_diff_naming_one_key_twice_is_refused() {
    let mut target = inventory();
    let diff = target.diff(&changed()).unwrap();
    let json = serde_json::to_value(&diff).unwrap();
    let sites = &json["elements"][0]["action"]["update"]["children"]["sites"]["elements"];
    let mut doubled = json.clone();
    doubled["elements"][0]["action"]["update"]["children"]["sites"]["elements"] =
        serde_json::Value::Array(vec![sites[0].clone(), sites[0].clone()]);
    let doubled: statesync::Diff<Inventory> = serde_json::from_value(doubled).unwrap();
    let before = target.clone();
    let error = target.apply(&doubled).unwrap_err();
    assert!(
        matches!(error, Error::DuplicateKey { model: "site", .. }),
        "{error}"
    );
    assert_eq!(target, before);
}

/// A delete made against an older state must not remove an element edited since: that
/// would lose the edit (and `revert` could not bring it back).
#[test]
fn a_delete_of_an_element_changed_since_is_stale() {
    let old = inventory();
    let diff = old.diff(&changed()).unwrap(); // deletes `nyc`
    let mut target = inventory();
    target.sites.get_mut(&site_key("nyc")).unwrap().region = "moved".into();
    let before = target.clone();
    let error = target.apply(&diff).unwrap_err();
    assert!(
        matches!(
            error,
            Error::Stale {
                operation: Operation::Delete,
                model: "site",
                field: "region",
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        "cannot delete inventory.sites.site[name=nyc]: field `region` no longer holds the value the diff deletes"
    );
    assert_eq!(target, before);
}

/// Applies the diff from [`inventory`] to [`changed`] (which deletes site `nyc`) to an
/// inventory whose `nyc` devices `edit` changed first: the error, and whether the target
/// was left as it was.
fn apply_after_editing_nyc(edit: impl FnOnce(&mut statesync::Store<Device>)) -> (Error, bool) {
    let diff = inventory().diff(&changed()).unwrap();
    let mut target = inventory();
    edit(&mut target.sites.get_mut(&site_key("nyc")).unwrap().devices);
    let before = target.clone();
    let error = target.apply(&diff).unwrap_err();
    (error, target == before)
}

#[test]
fn a_delete_whose_children_changed_since_is_stale_naming_the_children_field() {
    let (error, unchanged) = apply_after_editing_nyc(|devices| {
        devices.insert(device("nyc", "nyc-new", 1)).unwrap();
    });
    assert!(
        matches!(
            error,
            Error::Stale {
                operation: Operation::Delete,
                field: "devices",
                ..
            }
        ),
        "{error}"
    );
    // The error names what changed below, not only the children field (a user searched a
    // subtree 8 levels deep for it: an outside tester).
    assert!(
        error.to_string().ends_with(
            "field `devices` no longer holds the value the diff deletes (first change below it \
             since: + device[site=nyc, name=nyc-new])"
        ),
        "{error}"
    );
    assert!(unchanged);
}

/// A change two levels below a deleted element is named with the elements between.
#[test]
fn a_delete_whose_grandchild_changed_since_names_it() {
    let (error, unchanged) = apply_after_editing_nyc(|devices| {
        let port = InterfaceKey {
            device: "nyc-d1".into(),
            name: "et-2".into(),
        };
        let mut nyc_d1 = devices.get_mut(&device_key("nyc", "nyc-d1")).unwrap();
        nyc_d1.interfaces.get_mut(&port).unwrap().mtu = 9000;
    });
    assert!(unchanged);
    assert_eq!(
        error.to_string(),
        "cannot delete inventory.sites.site[name=nyc]: field `devices` no longer holds the value \
         the diff deletes (first change below it since: device[site=nyc, name=nyc-d1] > ~ \
         interface[device=nyc-d1, name=et-2] mtu: 1500 -> 9000)"
    );
    assert!(matches!(error, Error::Stale { below: Some(_), .. }));
}

#[test]
fn a_root_replacement_checks_the_deleted_root() {
    let a = device("nyc", "sw1", 1);
    let b = device("nyc", "sw2", 1);
    let diff = a.diff(&b).unwrap();
    let mut edited = a.clone();
    edited.role = "edited".into();
    let error = edited.apply(&diff).unwrap_err();
    assert!(matches!(
        error,
        Error::Stale {
            operation: Operation::Delete,
            field: "role",
            ..
        }
    ));
    assert_eq!(edited.name, "sw1");
}

/// Whether [`Brittle`]'s `Clone` panics for "glass".
static FRAGILE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A child whose `Clone` panics for one name once [`FRAGILE`] is set, as user code may.
#[derive(DiffModel, Debug, PartialEq)]
struct Brittle {
    #[statesync(id)]
    name: String,
}

impl Clone for Brittle {
    fn clone(&self) -> Self {
        let fragile = FRAGILE.load(std::sync::atomic::Ordering::Relaxed);
        assert!(!fragile || self.name != "glass", "cracked");
        Brittle {
            name: self.name.clone(),
        }
    }
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Cabinet {
    #[statesync(children)]
    items: Vec<Brittle>,
}

/// A panic in user code while a `Vec` of children is patched (the `Clone` of a created
/// model) leaves the children it had, as a `Store` or a map does. Before, the whole `Vec`
/// was taken out for the patch and the panic left it empty.
#[test]
fn a_panic_while_a_vec_is_patched_keeps_its_children() {
    let brittle = |name: &str| Brittle { name: name.into() };
    let old = Cabinet {
        items: vec![brittle("cup"), brittle("plate")],
    };
    let mut state = Cabinet {
        items: vec![brittle("cup"), brittle("plate")],
    };
    let new = Cabinet {
        items: vec![brittle("cup"), brittle("plate"), brittle("glass")],
    };
    let diff = old.diff(&new).unwrap();
    FRAGILE.store(true, std::sync::atomic::Ordering::Relaxed);
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| state.apply(&diff)));
    assert!(panicked.is_err());
    assert_eq!(state.items, [brittle("cup"), brittle("plate")]);
}

/// A model without id fields is named by its name alone in an error, as plans and
/// reports name it (it read `settings[]`).
#[test]
fn an_error_about_a_keyless_model_names_it_without_brackets() {
    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Settings {
        motd: String,
    }

    let old = Settings { motd: "a".into() };
    let diff = old.diff(&Settings { motd: "b".into() }).unwrap();
    let mut moved = Settings { motd: "c".into() };
    assert_eq!(
        moved.apply(&diff).unwrap_err().to_string(),
        "cannot update settings: field `motd` no longer holds the value the diff changes"
    );
}
