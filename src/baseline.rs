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

fn diff_devices(old: &Device, new: &Device, out: &mut Changes) {
    let new_by_key = index(new.interfaces.iter(), |i| {
        (i.device.as_str(), i.name.as_str())
    });
    let old_by_key = index(old.interfaces.iter(), |i| {
        (i.device.as_str(), i.name.as_str())
    });
    for (key, a) in &old_by_key {
        match new_by_key.get(key) {
            Some(b) if interface_differs(a, b) => {
                out.updated_interfaces
                    .push((key.0.to_owned(), key.1.to_owned()));
            }
            Some(_) => {}
            None => out
                .deleted_interfaces
                .push((key.0.to_owned(), key.1.to_owned())),
        }
    }
    for key in new_by_key.keys() {
        if !old_by_key.contains_key(key) {
            out.created_interfaces
                .push((key.0.to_owned(), key.1.to_owned()));
        }
    }
}

fn diff_sites(old: &Site, new: &Site, out: &mut Changes) {
    let new_by_key = index(new.devices.iter(), |d| (d.site.as_str(), d.name.as_str()));
    let old_by_key = index(old.devices.iter(), |d| (d.site.as_str(), d.name.as_str()));
    for (key, a) in &old_by_key {
        match new_by_key.get(key) {
            Some(b) => {
                if device_differs(a, b) {
                    out.updated_devices
                        .push((key.0.to_owned(), key.1.to_owned()));
                }
                diff_devices(a, b, out);
            }
            None => out
                .deleted_devices
                .push((key.0.to_owned(), key.1.to_owned())),
        }
    }
    for key in new_by_key.keys() {
        if !old_by_key.contains_key(key) {
            out.created_devices
                .push((key.0.to_owned(), key.1.to_owned()));
        }
    }
}

/// The changes from `old` to `new`, by hand.
pub fn diff(old: &Inventory, new: &Inventory) -> Changes {
    let mut out = Changes::default();
    let new_by_key = index(new.sites.iter(), |s| s.name.as_str());
    let old_by_key = index(old.sites.iter(), |s| s.name.as_str());
    for (key, a) in &old_by_key {
        match new_by_key.get(key) {
            Some(b) => {
                if site_differs(a, b) {
                    out.updated_sites.push((*key).to_owned());
                }
                diff_sites(a, b, &mut out);
            }
            None => out.deleted_sites.push((*key).to_owned()),
        }
    }
    for key in new_by_key.keys() {
        if !old_by_key.contains_key(key) {
            out.created_sites.push((*key).to_owned());
        }
    }
    out
}
