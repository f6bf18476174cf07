//! Rendering: snapshot of a three-level plan, and the flattened entries.

use statesync::{DiffModel, EntryKind};
use statesync_suite::inventory::SiteKey;

use statesync_suite::fixtures::{inventory, site};

#[test]
fn a_three_level_plan_renders_parents_before_children() {
    let old = inventory();
    let mut new = inventory();
    {
        let mut ams = new.sites.get_mut(&SiteKey { name: "ams".into() }).unwrap();
        ams.region = "eu-west".into();
        let first = ams.devices.keys().next().unwrap().clone();
        let mut device = ams.devices.get_mut(&first).unwrap();
        device.serial = "NEW".into();
        device.interfaces.for_each_mut(|i| {
            i.mtu = 9216;
            i.vlans.push(20);
        });
    }
    new.sites.remove(&SiteKey { name: "nyc".into() });
    new.sites.insert(site("lon", 1, 2)).unwrap();
    let diff = old.diff(&new).unwrap();
    insta::assert_snapshot!(diff.to_string());
    let entries = diff.entries();
    assert_eq!(entries[0].kind, EntryKind::Unchanged);
    assert_eq!(entries[1].kind, EntryKind::Update);
    assert_eq!(entries[1].depth, 1);
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.kind == EntryKind::Delete)
            .count(),
        9
    );
}
