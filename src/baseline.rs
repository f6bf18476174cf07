//! The hand-written baseline the benchmarks compare against: a hash join by key per
//! level plus field-by-field `==`, written the way one would without statesync.

use std::collections::HashMap;

use crate::inventory::{Device, Interface, Inventory, Site};

type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Keys of the changed elements, by level.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Sites only in the new state.
    pub created_sites: Vec<String>,
    /// Sites only in the old state.
    pub deleted_sites: Vec<String>,
    /// Sites whose region changed.
    pub updated_sites: Vec<String>,
    /// Devices only in the new state, by (site, name).
    pub created_devices: Vec<(String, String)>,
    /// Devices only in the old state.
    pub deleted_devices: Vec<(String, String)>,
    /// Devices with a changed attribute.
    pub updated_devices: Vec<(String, String)>,
    /// Interfaces only in the new state, by (device, name).
    pub created_interfaces: Vec<(String, String)>,
    /// Interfaces only in the old state.
    pub deleted_interfaces: Vec<(String, String)>,
    /// Interfaces with a changed attribute.
    pub updated_interfaces: Vec<(String, String)>,
}

fn index<'a, K: std::hash::Hash + Eq, V>(
    items: impl Iterator<Item = &'a V>,
    key: impl Fn(&'a V) -> K,
) -> Map<K, &'a V>
where
    V: 'a,
{
    let mut map = Map::default();
    for item in items {
        map.insert(key(item), item);
    }
    map
}

fn interface_differs(a: &Interface, b: &Interface) -> bool {
    a.description != b.description
        || a.enabled != b.enabled
        || a.mtu != b.mtu
        || a.mode != b.mode
        || a.vlans != b.vlans
}

fn device_differs(a: &Device, b: &Device) -> bool {
    a.role != b.role || a.model != b.model || a.serial != b.serial
}

fn site_differs(a: &Site, b: &Site) -> bool {
    a.region != b.region
}

/// Joins two keyed collections: calls `matched` for keys on both sides and records the
/// keys only on one side.
fn join<'a, K, V: 'a>(
    old: impl Iterator<Item = &'a V>,
    new: impl Iterator<Item = &'a V>,
    key: impl Fn(&'a V) -> K,
    mut matched: impl FnMut(&K, &'a V, &'a V),
    deleted: &mut Vec<K::Owned>,
    created: &mut Vec<K::Owned>,
) where
    K: std::hash::Hash + Eq + ToOwned,
{
    let new_by_key = index(new, &key);
    let old_by_key = index(old, &key);
    for (key, a) in &old_by_key {
        match new_by_key.get(key) {
            Some(b) => matched(key, a, b),
            None => deleted.push(key.to_owned()),
        }
    }
    for key in new_by_key.keys() {
        if !old_by_key.contains_key(key) {
            created.push(key.to_owned());
        }
    }
}

type Pair = (String, String);

fn owned((a, b): &(&str, &str)) -> Pair {
    ((*a).to_owned(), (*b).to_owned())
}

fn diff_devices(old: &Device, new: &Device, out: &mut Changes) {
    let (mut deleted, mut created) = (Vec::new(), Vec::new());
    join(
        old.interfaces.iter(),
        new.interfaces.iter(),
        |i| (i.device.as_str(), i.name.as_str()),
        |key, a, b| {
            if interface_differs(a, b) {
                out.updated_interfaces.push(owned(key));
            }
        },
        &mut deleted,
        &mut created,
    );
    out.deleted_interfaces.extend(deleted.iter().map(owned));
    out.created_interfaces.extend(created.iter().map(owned));
}

fn diff_sites(old: &Site, new: &Site, out: &mut Changes) {
    let (mut deleted, mut created) = (Vec::new(), Vec::new());
    join(
        old.devices.iter(),
        new.devices.iter(),
        |d| (d.site.as_str(), d.name.as_str()),
        |key, a, b| {
            if device_differs(a, b) {
                out.updated_devices.push(owned(key));
            }
            diff_devices(a, b, out);
        },
        &mut deleted,
        &mut created,
    );
    out.deleted_devices.extend(deleted.iter().map(owned));
    out.created_devices.extend(created.iter().map(owned));
}

/// The changes from `old` to `new`, by hand.
pub fn diff(old: &Inventory, new: &Inventory) -> Changes {
    let mut out = Changes::default();
    let (mut deleted, mut created) = (Vec::new(), Vec::new());
    join(
        old.sites.iter(),
        new.sites.iter(),
        |s| s.name.as_str(),
        |key, a, b| {
            if site_differs(a, b) {
                out.updated_sites.push((*key).to_owned());
            }
            diff_sites(a, b, &mut out);
        },
        &mut deleted,
        &mut created,
    );
    out.deleted_sites = deleted
        .into_iter()
        .map(|key: &str| key.to_owned())
        .collect();
    out.created_sites = created
        .into_iter()
        .map(|key: &str| key.to_owned())
        .collect();
    out
}
