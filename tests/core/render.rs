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
        let first = ams.devices.keys().next().unwrap();
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

mod hashed {
    use std::collections::{HashMap, HashSet};

    use statesync::DiffModel;

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Service {
        #[statesync(id)]
        name: String,
        env: HashMap<String, u32>,
        tags: HashSet<String>,
    }

    /// Each `HashMap` and `HashSet` built here gets a fresh `RandomState`, so each iterates
    /// in another order.
    fn service(extra: u32) -> Service {
        Service {
            name: "api".into(),
            env: (0..12).map(|n| (format!("VAR{n}"), n + extra)).collect(),
            tags: (0..12).map(|n| format!("t{n}-{extra}")).collect(),
        }
    }

    #[test]
    fn hash_map_and_set_attributes_render_the_same_whatever_the_hash_seed() {
        let renderings: Vec<String> = (0..20)
            .map(|_| service(0).diff(&service(1)).unwrap().to_string())
            .collect();
        let raw: HashSet<String> = (0..20).map(|_| format!("{:?}", service(0).env)).collect();
        assert!(
            raw.len() > 1,
            "the seeds did not change the iteration order"
        );
        assert!(
            renderings.iter().all(|r| r == &renderings[0]),
            "{renderings:#?}"
        );
        assert!(
            renderings[0].starts_with(
                "~ service[name=api] env: {\"VAR0\": 0, \"VAR1\": 1, \"VAR2\": 2, \"VAR3\": 3,"
            ),
            "{}",
            renderings[0]
        );
        assert!(renderings[0].contains("tags: {\"t0-0\", \"t1-0\", \"t2-0\","));
        let entries = service(0).diff(&service(1)).unwrap().entries();
        assert_eq!(entries, service(0).diff(&service(1)).unwrap().entries());
    }
}
