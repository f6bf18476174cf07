//! The laws of diff and apply, as properties over three-level inventories.

use std::collections::BTreeMap;

use proptest::prelude::*;
use statesync::{Diff, DiffModel, Store, Summary};
use statesync_suite::inventory::{Device, Interface, Inventory, Site};

/// Attributes of an interface, from a small space so that two draws often agree.
type IfaceAttrs = (bool, u32, u8);
/// A device: its role and interfaces by name.
type DeviceSpec = (u8, BTreeMap<u8, IfaceAttrs>);
/// A site: its region and devices by name.
type SiteSpec = (u8, BTreeMap<u8, DeviceSpec>);
/// A whole inventory: sites by name.
type Spec = BTreeMap<u8, SiteSpec>;

fn spec() -> impl Strategy<Value = Spec> {
    let iface = (
        any::<bool>(),
        prop_oneof![Just(1500u32), Just(9216)],
        0u8..3,
    );
    let device = (0u8..2, prop::collection::btree_map(0u8..4, iface, 0..4));
    let site = (0u8..2, prop::collection::btree_map(0u8..3, device, 0..3));
    prop::collection::btree_map(0u8..3, site, 0..3)
}

/// Builds the inventory; `reversed` inserts every collection in the opposite order.
fn build(spec: &Spec, reversed: bool) -> Inventory {
    fn ordered<K, V>(map: &BTreeMap<K, V>, reversed: bool) -> Vec<(&K, &V)> {
        let mut items: Vec<_> = map.iter().collect();
        if reversed {
            items.reverse();
        }
        items
    }
    let sites = ordered(spec, reversed)
        .into_iter()
        .map(|(site, (region, devices))| {
            let site_name = format!("s{site}");
            let devices = ordered(devices, reversed)
                .into_iter()
                .map(|(device, (role, ifaces))| {
                    let device_name = format!("{site_name}-d{device}");
                    let interfaces = ordered(ifaces, reversed).into_iter().map(
                        |(iface, (enabled, mtu, vlan))| Interface {
                            device: device_name.clone(),
                            name: format!("et-{iface}"),
                            description: String::new(),
                            enabled: *enabled,
                            mtu: *mtu,
                            mode: "trunk".into(),
                            vlans: (0..*vlan).map(u16::from).collect(),
                        },
                    );
                    Device {
                        site: site_name.clone(),
                        name: device_name.clone(),
                        role: format!("role{role}"),
                        model: "m".into(),
                        serial: "s".into(),
                        interfaces: Store::try_from_iter(interfaces).unwrap(),
                    }
                });
            Site {
                name: site_name.clone(),
                region: format!("r{region}"),
                devices: Store::try_from_iter(devices).unwrap(),
            }
        });
    Inventory {
        sites: Store::try_from_iter(sites).unwrap(),
    }
}

/// Every element by its full path, with its own attributes rendered.
fn flatten(spec: &Spec) -> BTreeMap<Vec<u8>, String> {
    let mut out = BTreeMap::new();
    out.insert(vec![], String::new());
    for (site, (region, devices)) in spec {
        out.insert(vec![*site], format!("{region}"));
        for (device, (role, ifaces)) in devices {
            out.insert(vec![*site, *device], format!("{role}"));
            for (iface, attrs) in ifaces {
                out.insert(vec![*site, *device, *iface], format!("{attrs:?}"));
            }
        }
    }
    out
}

/// The counting rule, computed the slow and obvious way.
fn naive_summary(a: &Spec, b: &Spec) -> Summary {
    let (a, b) = (flatten(a), flatten(b));
    let mut summary = Summary::default();
    for (path, attrs) in &a {
        match b.get(path) {
            None => summary.delete += 1,
            Some(other) if other != attrs => summary.update += 1,
            Some(_) => summary.unchanged += 1,
        }
    }
    summary.create = b.keys().filter(|path| !a.contains_key(*path)).count();
    summary
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn apply_of_diff_gives_the_new_state(a in spec(), b in spec()) {
        let (mut old, new) = (build(&a, false), build(&b, false));
        let diff = old.diff(&new).unwrap();
        old.apply(&diff).unwrap();
        prop_assert_eq!(&old, &new);
        prop_assert!(old.diff(&new).unwrap().is_empty());
    }

    /// Whatever state a diff is applied to (the one it was made from, or another), when
    /// apply accepts it, the inverse restores that state exactly; when apply refuses it,
    /// the state is untouched. A delete of an element edited since is thus refused.
    #[test]
    fn apply_then_the_inverse_restores_the_original(a in spec(), b in spec(), c in spec()) {
        let d = build(&a, false).diff(&build(&b, false)).unwrap();
        let made_from = build(&a, false);
        for original in [made_from, build(&c, false)] {
            let mut state = original.clone();
            match state.apply(&d) {
                Ok(()) => {
                    state.apply(&d.invert()).unwrap();
                    prop_assert_eq!(&state, &original);
                    prop_assert!(state.diff(&original).unwrap().is_empty());
                }
                Err(_) => prop_assert_eq!(format!("{state:?}"), format!("{original:?}")),
            }
        }
    }

    #[test]
    fn diff_with_itself_is_empty(a in spec()) {
        let state = build(&a, false);
        let diff = state.diff(&state).unwrap();
        prop_assert!(diff.is_empty());
        prop_assert_eq!(diff.summary().changes(), 0);
    }

    #[test]
    fn insertion_order_does_not_change_the_diff(a in spec(), b in spec()) {
        let straight = build(&a, false).diff(&build(&b, false)).unwrap();
        let shuffled = build(&a, true).diff(&build(&b, true)).unwrap();
        prop_assert_eq!(&straight, &shuffled);
        prop_assert_eq!(straight.to_string(), shuffled.to_string());
    }

    #[test]
    fn serde_roundtrip_gives_an_equal_diff(a in spec(), b in spec()) {
        let diff = build(&a, false).diff(&build(&b, false)).unwrap();
        let json = serde_json::to_string(&diff).unwrap();
        let back: Diff<Inventory> = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, &diff);
        prop_assert_eq!(serde_json::to_string(&back).unwrap(), json);
    }

    #[test]
    fn summary_matches_a_naive_count(a in spec(), b in spec()) {
        let diff = build(&a, false).diff(&build(&b, false)).unwrap();
        prop_assert_eq!(diff.summary(), naive_summary(&a, &b));
    }

    /// Built twice, the stores get other hash seeds: the diff, its order and its
    /// rendering must not depend on them.
    #[test]
    fn the_same_inputs_give_the_same_diff_and_rendering(a in spec(), b in spec()) {
        let first = build(&a, false).diff(&build(&b, false)).unwrap();
        let second = build(&a, false).diff(&build(&b, false)).unwrap();
        prop_assert_eq!(&first, &second);
        prop_assert_eq!(first.to_string(), second.to_string());
        prop_assert_eq!(first.entries(), second.entries());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Editing through a tracking store and diffing the touched keys gives the full diff.
    #[test]
    fn a_tracked_diff_equals_the_full_diff(a in spec(), b in spec()) {
        let old = build(&a, false);
        let target = build(&b, false);
        let mut new = old.clone();
        new.sites.track_changes();
        let keep: Vec<_> = target.sites.keys().collect();
        for key in old.sites.keys() {
            if !keep.contains(&key) {
                new.sites.remove(&key);
            }
        }
        for site in target.sites.iter() {
            new.sites.upsert(site.clone());
        }
        let touched = old.sites.diff_touched(&new.sites).unwrap();
        let full = old.sites.diff(&new.sites).unwrap();
        prop_assert_eq!(touched.summary().changes(), full.summary().changes());
        prop_assert_eq!(touched.entries(), full.entries());
        let mut synced = old.sites.clone();
        let report = synced.sync_diff(&touched, &mut statesync::sync::InMemory, statesync::sync::SyncOptions::default());
        prop_assert!(report.is_success());
        prop_assert_eq!(&synced, &new.sites);
    }

    /// A scoped sync changes the covered keys to the source and nothing else.
    #[test]
    fn a_scoped_sync_stays_in_scope(a in spec(), b in spec(), covered in prop::collection::btree_set(0u8..3, 0..3)) {
        let mut target = build(&a, false).sites;
        let before = target.clone();
        let source = build(&b, false).sites;
        let covers: Vec<_> = covered.iter().map(|n| statesync_suite::inventory::SiteKey { name: format!("s{n}") }).collect();
        let loaded = Store::try_from_iter(source.iter().filter(|s| covers.contains(&s.key())).cloned()).unwrap();
        let scoped = statesync::scope::Scoped::new(loaded, covers.clone());
        let report = scoped.sync_into(&mut target, &mut statesync::sync::InMemory, statesync::sync::SyncOptions::default()).unwrap();
        prop_assert!(report.is_success());
        for key in before.keys().chain(source.keys()) {
            if covers.contains(&key) {
                prop_assert_eq!(target.get(&key), source.get(&key));
            } else {
                prop_assert_eq!(target.get(&key), before.get(&key));
            }
        }
    }
}
