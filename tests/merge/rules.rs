//! The merge rules and every strategy.

use std::collections::BTreeSet;

use statesync::merge::{ConflictKind, MergeOptions, Preference, merge};
use statesync::{Diff, DiffModel, Store};
use statesync_suite::fixtures::{inventory, site};
use statesync_suite::inventory::{Device, DeviceKey, Inventory, Site, SiteKey};

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(version = "revision")]
struct Doc {
    #[statesync(id)]
    id: u8,
    #[statesync(merge = "max")]
    revision: u32,
    title: String,
    #[statesync(merge = "ours")]
    owner: String,
    #[statesync(merge = "theirs")]
    state: String,
    #[statesync(merge = "newest")]
    body: String,
    #[statesync(merge = "min")]
    priority: u8,
    #[statesync(merge = "union")]
    labels: BTreeSet<String>,
    #[statesync(merge_with = concat)]
    notes: String,
}

fn concat(_base: Option<&String>, ours: &String, theirs: &String) -> Option<String> {
    Some(format!("{ours}+{theirs}"))
}

fn doc() -> Doc {
    Doc {
        id: 1,
        revision: 1,
        title: "t".into(),
        owner: "o".into(),
        state: "s".into(),
        body: "b".into(),
        priority: 5,
        labels: ["x".to_string()].into(),
        notes: "n".into(),
    }
}

#[test]
fn one_sided_and_identical_changes_never_conflict() {
    let base = doc();
    let mut ours = doc();
    ours.title = "ours".into();
    let mut theirs = doc();
    theirs.priority = 1;
    theirs.title = "t".into();
    let merged = merge(&base, &ours, &theirs, &MergeOptions::default()).unwrap();
    assert!(merged.conflicts.is_empty());
    assert_eq!(merged.value.title, "ours");
    assert_eq!(merged.value.priority, 1);

    let mut both = doc();
    both.title = "same".into();
    let merged = merge(&base, &both, &both, &MergeOptions::default()).unwrap();
    assert!(merged.conflicts.is_empty());
    assert_eq!(merged.value, both);
}

/// A field that holds `NaN` on one side and in the base is unchanged on that side, as a
/// diff sees it: the other side's edit wins without a conflict.
#[test]
fn a_nan_kept_on_one_side_is_unchanged() {
    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Gauge {
        #[statesync(id)]
        id: u8,
        reading: f64,
    }
    let gauge = |reading| Gauge { id: 1, reading };
    let (base, theirs) = (gauge(f64::NAN), gauge(2.5));
    for (ours, theirs) in [(&base, &theirs), (&theirs, &base)] {
        let merged = merge(&base, ours, theirs, &MergeOptions::default()).unwrap();
        assert!(merged.conflicts.is_empty(), "{:?}", merged.conflicts);
        assert_eq!(merged.value.reading, 2.5);
    }
    let merged = merge(&base, &base, &base.clone(), &MergeOptions::default()).unwrap();
    assert!(merged.conflicts.is_empty(), "{:?}", merged.conflicts);
    assert!(merged.value.reading.is_nan());
}

/// A root whose key changed is a replacement: taken when the other side left the base
/// alone, merged against the base when both sides chose the same new key, a conflict
/// otherwise.
#[test]
fn a_root_replaced_on_one_side_is_taken_or_conflicts() {
    let base = doc();
    let mut replaced = doc();
    replaced.id = 2;
    replaced.title = "replaced".into();
    for (ours, theirs) in [(&base, &replaced), (&replaced, &base)] {
        let merged = merge(&base, ours, theirs, &MergeOptions::default()).unwrap();
        assert!(merged.conflicts.is_empty(), "{:?}", merged.conflicts);
        assert_eq!(merged.value, replaced);
    }

    let mut both = replaced.clone();
    both.priority = 1;
    let merged = merge(&base, &replaced, &both, &MergeOptions::default()).unwrap();
    assert!(merged.conflicts.is_empty(), "{:?}", merged.conflicts);
    assert_eq!((merged.value.id, merged.value.priority), (2, 1));
    // The same new key on both sides, and the rest changed on one side only: merged
    // against the base, so neither side's change is lost or a conflict.
    let mut renamed = doc();
    renamed.id = 2;
    let mut retitled = renamed.clone();
    retitled.title = "retitled".into();
    for (ours, theirs) in [(&renamed, &retitled), (&retitled, &renamed)] {
        let merged = merge(&base, ours, theirs, &MergeOptions::default()).unwrap();
        assert!(merged.conflicts.is_empty(), "{:?}", merged.conflicts);
        assert_eq!(merged.value, retitled);
    }

    let mut edited = doc();
    edited.title = "edited".into();
    let merged = merge(&base, &edited, &replaced, &MergeOptions::default()).unwrap();
    assert_eq!(merged.conflicts.len(), 1);
    let conflict = &merged.conflicts[0];
    assert_eq!(conflict.kind, ConflictKind::RootKey);
    assert_eq!(conflict.path, "doc[id=1]");
    assert_eq!(merged.value, edited);
    // The side that kept the key shows its edit (the models' renderings are cut).
    let changes = conflict.changes.as_deref().unwrap();
    assert!(changes.starts_with("~ doc[id=1] title: "), "{changes}");
    assert!(changes.ends_with(" -> \"edited\"\n"), "{changes}");

    // Renamed on both sides: no side edited the root in place, so no plan.
    let mut elsewhere = doc();
    elsewhere.id = 3;
    let merged = merge(&base, &replaced, &elsewhere, &MergeOptions::default()).unwrap();
    let [conflict] = merged.conflicts.as_slice() else {
        panic!("{:?}", merged.conflicts)
    };
    assert_eq!(
        (conflict.kind, conflict.changes.as_deref()),
        (ConflictKind::RootKey, None)
    );
}

#[test]
fn every_strategy_resolves_its_field() {
    let base = doc();
    let mut ours = doc();
    let mut theirs = doc();
    for (side, tag) in [(&mut ours, "ours"), (&mut theirs, "theirs")] {
        side.owner = tag.into();
        side.state = tag.into();
        side.body = tag.into();
        side.notes = tag.into();
        side.labels.insert(tag.into());
    }
    ours.revision = 3;
    theirs.revision = 2;
    ours.priority = 7;
    theirs.priority = 2;
    theirs.labels.remove("x");
    let merged = merge(&base, &ours, &theirs, &MergeOptions::default()).unwrap();
    assert!(merged.conflicts.is_empty(), "{:?}", merged.conflicts);
    let value = merged.value;
    assert_eq!(value.owner, "ours");
    assert_eq!(value.state, "theirs");
    assert_eq!(value.body, "ours", "ours has the newer revision");
    assert_eq!(value.priority, 2);
    let labels: Vec<&str> = value.labels.iter().map(String::as_str).collect();
    assert_eq!(labels, ["ours", "theirs"], "x was removed by theirs");
    assert_eq!(value.notes, "ours+theirs");
    assert_eq!(value.revision, 3);
}

#[test]
fn newest_with_equal_versions_is_a_conflict_and_report_keeps_ours() {
    let base = doc();
    let mut ours = doc();
    let mut theirs = doc();
    ours.body = "ours".into();
    theirs.body = "theirs".into();
    ours.title = "ours".into();
    theirs.title = "theirs".into();
    let merged = merge(&base, &ours, &theirs, &MergeOptions::default()).unwrap();
    let paths: Vec<&str> = merged.conflicts.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, ["doc[id=1].title", "doc[id=1].body"]);
    assert_eq!(merged.value.title, "ours");
    let conflict = &merged.conflicts[0];
    assert_eq!(conflict.kind, ConflictKind::Field);
    assert_eq!(conflict.base.as_deref(), Some("\"t\""));
    assert_eq!(
        conflict.to_string(),
        r#"doc[id=1].title: base "t", ours "ours", theirs "theirs""#
    );
    assert_eq!(conflict.undecided, None, "`report` decides nothing");
    // A strategy that could not decide says why (the conflict looked like a reported one:
    // an outside tester).
    assert_eq!(
        merged.conflicts[1].to_string(),
        r#"doc[id=1].body: base "b", ours "ours", theirs "theirs" (`newest` could not decide: both sides hold the same version)"#
    );
}

/// `max` of two values that do not compare and a `merge_with` function that returns `None`
/// say so in their conflicts.
#[test]
fn a_strategy_that_cannot_decide_says_why() {
    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Reading {
        #[statesync(merge = "max")]
        peak: f64,
        #[statesync(merge_with = refuse)]
        label: String,
    }
    fn refuse(_: Option<&String>, _: &String, _: &String) -> Option<String> {
        None
    }
    let reading = |peak: f64, label: &str| Reading {
        peak,
        label: label.into(),
    };
    let merged = merge(
        &reading(1.0, "a"),
        &reading(f64::NAN, "b"),
        &reading(2.0, "c"),
        &MergeOptions::default(),
    )
    .unwrap();
    let undecided: Vec<Option<&str>> = merged
        .conflicts
        .iter()
        .map(|conflict| conflict.undecided.as_deref())
        .collect();
    assert_eq!(
        undecided,
        [
            Some("`max` could not decide: the values do not compare"),
            Some("the `merge_with` function returned `None`"),
        ]
    );
}

#[test]
fn per_call_overrides_win_over_declared_strategies() {
    let base = doc();
    let mut ours = doc();
    let mut theirs = doc();
    ours.title = "ours".into();
    theirs.title = "theirs".into();
    ours.owner = "ours".into();
    theirs.owner = "theirs".into();
    let options = MergeOptions::default()
        .prefer::<Doc>(Some(DocField::Title), Preference::Theirs)
        .prefer::<Doc>(Some(DocField::Owner), Preference::Theirs);
    let merged = merge(&base, &ours, &theirs, &options).unwrap();
    assert!(merged.conflicts.is_empty());
    assert_eq!(merged.value.title, "theirs");
    assert_eq!(merged.value.owner, "theirs");
    // `Report` per call keeps ours and lists the conflict, whatever the field declares.
    let options = MergeOptions::default()
        .prefer::<Doc>(Some(DocField::Title), Preference::Theirs)
        .prefer::<Doc>(Some(DocField::Owner), Preference::Report);
    let merged = merge(&base, &ours, &theirs, &options).unwrap();
    assert_eq!(merged.value.title, "theirs");
    assert_eq!(merged.value.owner, "ours");
    assert_eq!(merged.conflicts.len(), 1, "{:?}", merged.conflicts);
    assert!(
        merged.conflicts[0].path.ends_with("owner"),
        "{:?}",
        merged.conflicts
    );
}

fn device_key(site: &str, name: &str) -> DeviceKey {
    DeviceKey {
        site: site.into(),
        name: name.into(),
    }
}

fn ams(inventory: &mut Inventory) -> statesync::StoreMut<'_, Site> {
    inventory
        .sites
        .get_mut(&SiteKey { name: "ams".into() })
        .unwrap()
}

#[test]
fn children_merge_by_key() {
    let base = inventory();
    let mut ours = inventory();
    let mut theirs = inventory();
    // Created on one side each.
    ours.sites.insert(site("lon", 1, 1)).unwrap();
    theirs.sites.insert(site("par", 1, 1)).unwrap();
    // Deleted on one side, untouched on the other.
    ams(&mut theirs)
        .devices
        .remove(&device_key("ams", "ams-d1"));
    // Changed on different fields of one device.
    ams(&mut ours)
        .devices
        .get_mut(&device_key("ams", "ams-d0"))
        .unwrap()
        .role = "spine".into();
    ams(&mut theirs)
        .devices
        .get_mut(&device_key("ams", "ams-d0"))
        .unwrap()
        .serial = "NEW".into();
    let merged = merge(&base, &ours, &theirs, &MergeOptions::default()).unwrap();
    assert!(merged.conflicts.is_empty(), "{:?}", merged.conflicts);
    let value = merged.value;
    assert!(value.sites.contains(&SiteKey { name: "lon".into() }));
    assert!(value.sites.contains(&SiteKey { name: "par".into() }));
    let merged_ams = value.sites.get(&SiteKey { name: "ams".into() }).unwrap();
    assert!(!merged_ams.devices.contains(&device_key("ams", "ams-d1")));
    let d0 = merged_ams
        .devices
        .get(&device_key("ams", "ams-d0"))
        .unwrap();
    assert_eq!((d0.role.as_str(), d0.serial.as_str()), ("spine", "NEW"));
}

#[test]
fn deleted_on_one_side_and_changed_on_the_other_is_a_conflict_by_default() {
    let base = inventory();
    let mut ours = inventory();
    let mut theirs = inventory();
    ams(&mut ours).devices.remove(&device_key("ams", "ams-d0"));
    ams(&mut theirs)
        .devices
        .get_mut(&device_key("ams", "ams-d0"))
        .unwrap()
        .role = "spine".into();
    let merged = merge(&base, &ours, &theirs, &MergeOptions::default()).unwrap();
    assert_eq!(merged.conflicts.len(), 1);
    let conflict = &merged.conflicts[0];
    assert_eq!(conflict.kind, ConflictKind::DeleteUpdate);
    assert_eq!(
        conflict.path,
        "inventory.sites.site[name=ams].devices.device[site=ams, name=ams-d0]"
    );
    assert!(conflict.ours.is_none());
    assert!(conflict.theirs.as_deref().unwrap().contains("spine"));
    // Report keeps ours: deleted.
    assert!(
        !ams(&mut merged.value.clone())
            .devices
            .contains(&device_key("ams", "ams-d0"))
    );

    // The model's strategy, set per call, decides instead.
    let options = MergeOptions::default().prefer::<Device>(None, Preference::Theirs);
    let merged = merge(&base, &ours, &theirs, &options).unwrap();
    assert!(merged.conflicts.is_empty());
    let mut value = merged.value;
    assert_eq!(
        ams(&mut value)
            .devices
            .get(&device_key("ams", "ams-d0"))
            .unwrap()
            .role,
        "spine"
    );
}

#[test]
fn created_on_both_sides_merges_against_an_empty_base() {
    let base = inventory();
    let mut ours = inventory();
    let mut theirs = inventory();
    let mut lon = site("lon", 0, 0);
    ours.sites.insert(lon.clone()).unwrap();
    lon.region = "uk".into();
    theirs.sites.insert(lon).unwrap();
    let merged = merge(&base, &ours, &theirs, &MergeOptions::default()).unwrap();
    assert_eq!(merged.conflicts.len(), 1);
    assert_eq!(
        merged.conflicts[0].path,
        "inventory.sites.site[name=lon].region"
    );
    assert_eq!(merged.conflicts[0].base, None);
}

#[test]
fn invert_undoes_and_compose_chains() {
    let a = inventory();
    let mut b = inventory();
    ams(&mut b).region = "eu".into();
    b.sites.insert(site("lon", 1, 2)).unwrap();
    let mut c = b.clone();
    c.sites.remove(&SiteKey { name: "nyc".into() });
    ams(&mut c)
        .devices
        .get_mut(&device_key("ams", "ams-d1"))
        .unwrap()
        .model = "x".into();

    let ab = a.diff(&b).unwrap();
    let mut state = a.clone();
    state.apply(&ab).unwrap();
    state.apply(&ab.invert()).unwrap();
    assert_eq!(state, a);
    assert_eq!(ab.invert().invert(), ab);

    let bc = b.diff(&c).unwrap();
    let ac: Diff<Inventory> = Diff::compose(&a, &ab, &bc).unwrap();
    assert_eq!(ac, a.diff(&c).unwrap());
    assert!(
        Diff::compose(&c, &ab, &bc).is_err(),
        "ab does not apply to c"
    );
}

/// A projection of the site regions, to check what `carry_back` carries.
struct Regions;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct RegionView {
    #[statesync(children)]
    rows: Store<RegionRow>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct RegionRow {
    #[statesync(id)]
    site: String,
    region: String,
}

impl statesync::projection::Projection<Inventory> for Regions {
    type View = RegionView;

    fn project(inventory: &Inventory) -> Result<RegionView, statesync::Error> {
        let rows = inventory.sites.iter().map(|s| RegionRow {
            site: s.name.clone(),
            region: s.region.clone(),
        });
        Ok(RegionView {
            rows: Store::try_from_iter(rows)?,
        })
    }

    fn write_back(view: &RegionView, inventory: &mut Inventory) {
        for row in &view.rows {
            if let Some(mut site) = inventory.sites.get_mut(&SiteKey {
                name: row.site.clone(),
            }) {
                site.region = row.region.clone();
            }
        }
    }
}

#[test]
fn carry_back_carries_only_the_edits() {
    use statesync::projection::{Projection, carry_back};
    let mut source = inventory();
    let shown = Regions::project(&source).unwrap();
    // The source moves on in one row; the view edits another.
    ams(&mut source).region = "moved".into();
    let mut edited = shown.clone();
    edited
        .rows
        .get_mut(&RegionRowKey { site: "nyc".into() })
        .unwrap()
        .region = "edited".into();
    let carried = carry_back::<Regions, _>(&mut source, &shown, &edited).unwrap();
    assert_eq!(carried.summary().update, 1);
    assert_eq!(
        ams(&mut source).region,
        "moved",
        "a change the view did not make stays"
    );
    // Editing a row whose source moved since it was shown is refused.
    let mut edited = shown.clone();
    edited
        .rows
        .get_mut(&RegionRowKey { site: "ams".into() })
        .unwrap()
        .region = "mine".into();
    let error = carry_back::<Regions, _>(&mut source, &shown, &edited).unwrap_err();
    assert!(
        matches!(
            error,
            statesync::Error::Stale {
                field: "region",
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(ams(&mut source).region, "moved");
}

/// An edit of a row whose source element is gone since the view was shown is refused,
/// not dropped (`write_back` finds nothing to write it into, so the diff was empty).
#[test]
fn carry_back_refuses_an_edit_of_an_element_gone_since() {
    use statesync::projection::{Projection, carry_back};
    let mut source = inventory();
    let shown = Regions::project(&source).unwrap();
    let _gone = source.sites.remove(&SiteKey { name: "ams".into() });
    let before = source.clone();
    let mut edited = shown.clone();
    edited
        .rows
        .get_mut(&RegionRowKey { site: "ams".into() })
        .unwrap()
        .region = "mine".into();
    let error = carry_back::<Regions, _>(&mut source, &shown, &edited).unwrap_err();
    assert!(
        matches!(
            error,
            statesync::Error::NotFound {
                model: "region_row",
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(source, before);
}

/// A projection of the devices as flat rows, whose `write_back` also adds the devices a
/// view adds (under their site): to check what `carry_back` does with a created row.
struct DeviceRows;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct DeviceSheet {
    #[statesync(children)]
    rows: Store<DeviceRow>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct DeviceRow {
    #[statesync(id)]
    site: String,
    #[statesync(id)]
    name: String,
    model: String,
}

impl statesync::projection::Projection<Inventory> for DeviceRows {
    type View = DeviceSheet;

    fn project(inventory: &Inventory) -> Result<DeviceSheet, statesync::Error> {
        let rows = inventory.sites.iter().flat_map(|site| {
            site.devices.iter().map(|device| DeviceRow {
                site: site.name.clone(),
                name: device.name.clone(),
                model: device.model.clone(),
            })
        });
        Ok(DeviceSheet {
            rows: Store::try_from_iter(rows)?,
        })
    }

    fn write_back(view: &DeviceSheet, inventory: &mut Inventory) {
        for row in &view.rows {
            let site = SiteKey {
                name: row.site.clone(),
            };
            // Device names are lowercase in the inventory: a row's name is written so.
            let name = row.name.to_lowercase();
            inventory.sites.modify(&site, |site| {
                let key = device_key(&row.site, &name);
                let added = || statesync_suite::fixtures::device(&row.site, &name, 0);
                if let Ok(mut device) = site.devices.get_or_insert_with(key, added) {
                    device.model = row.model.clone();
                }
            });
        }
    }
}

/// A row the view adds under a site the source deleted since the view was shown has no
/// place in the source: `carry_back` refuses it (`NotCarried`), the source unchanged. It
/// returned `Ok` with an empty diff, the row dropped (an outside tester's case); the same
/// edit with the site there is carried.
#[test]
fn carry_back_refuses_a_created_row_it_could_not_write_back() {
    use statesync::projection::{Projection, carry_back};
    let source = inventory();
    let shown = DeviceRows::project(&source).unwrap();
    let mut edited = shown.clone();
    let row = DeviceRow {
        site: "ams".into(),
        name: "ams-new".into(),
        model: "m1".into(),
    };
    edited.rows.insert(row).unwrap();
    let mut present = source.clone();
    let carried = carry_back::<DeviceRows, _>(&mut present, &shown, &edited).unwrap();
    assert_eq!(carried.summary().create, 1, "{carried}");
    // A row whose name `write_back` writes otherwise (lowercased) is carried under it.
    let mut upper = shown.clone();
    let row = DeviceRow {
        site: "ams".into(),
        name: "AMS-Upper".into(),
        model: "m1".into(),
    };
    upper.rows.insert(row).unwrap();
    let mut normalized = source.clone();
    let carried = carry_back::<DeviceRows, _>(&mut normalized, &shown, &upper).unwrap();
    assert_eq!(carried.summary().create, 1, "{carried}");
    assert!(carried.to_string().contains("ams-upper"), "{carried}");
    let mut gone = source.clone();
    let _ams = gone.sites.remove(&SiteKey { name: "ams".into() });
    let before = gone.clone();
    let error = carry_back::<DeviceRows, _>(&mut gone, &shown, &edited).unwrap_err();
    assert!(
        matches!(
            &error,
            statesync::Error::NotCarried { model: "device_row", key, .. } if key.contains("ams-new")
        ),
        "{error}"
    );
    assert_eq!(gone, before);
}

/// Two model types that share a name (`item`) in one merge: an override of one does not
/// reach the other (overrides were kept by name, and collided).
mod shared_name {
    use statesync::DiffModel;

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    #[statesync(name = "item")]
    pub struct Outer {
        #[statesync(id)]
        pub id: u8,
        pub label: String,
        #[statesync(children)]
        pub inner: Vec<Inner>,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    #[statesync(name = "item")]
    pub struct Inner {
        #[statesync(id)]
        pub id: u8,
        pub label: String,
    }
}

#[test]
fn overrides_are_kept_by_model_type_not_by_name() {
    use shared_name::{Inner, Outer, OuterField};
    let base = Outer {
        id: 1,
        label: "base".into(),
        inner: vec![Inner {
            id: 2,
            label: "base".into(),
        }],
    };
    let side = |label: &str| Outer {
        id: 1,
        label: label.into(),
        inner: vec![Inner {
            id: 2,
            label: label.into(),
        }],
    };
    let options =
        MergeOptions::default().prefer::<Outer>(Some(OuterField::Label), Preference::Theirs);
    let merged = merge(&base, &side("ours"), &side("theirs"), &options).unwrap();
    assert_eq!(merged.value.label, "theirs");
    // The inner model's `label` has no override: a conflict, ours kept.
    assert_eq!(merged.value.inner[0].label, "ours");
    assert_eq!(merged.conflicts.len(), 1, "{:?}", merged.conflicts);
    assert_eq!(
        merged.conflicts[0].path,
        "item[id=1].inner.item[id=2].label"
    );
}

/// A version field without a strategy of its own merges by `max`: the newest side's values
/// come with its version, and two bumps are no conflict.
#[test]
fn the_version_field_merges_by_max_unless_it_says_otherwise() {
    #[derive(DiffModel, Clone, Debug, PartialEq)]
    #[statesync(version = "rev")]
    struct Note {
        #[statesync(id)]
        id: u8,
        rev: u64,
        #[statesync(merge = "newest")]
        body: String,
    }
    let note = |rev, body: &str| Note {
        id: 1,
        rev,
        body: body.into(),
    };
    let base = note(1, "base");
    let (older, newer) = (note(2, "older"), note(3, "newer"));
    for (ours, theirs) in [(&older, &newer), (&newer, &older)] {
        let merged = merge(&base, ours, theirs, &MergeOptions::default()).unwrap();
        assert!(merged.conflicts.is_empty(), "{:?}", merged.conflicts);
        assert_eq!(merged.value, newer);
    }
    // Bumped alike with different bodies: which is newest is unknown, a conflict.
    let merged = merge(
        &base,
        &note(2, "a"),
        &note(2, "b"),
        &MergeOptions::default(),
    )
    .unwrap();
    let paths: Vec<&str> = merged.conflicts.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, ["note[id=1].body"]);
}

/// A side that kept the base's children in the base's order takes the other side's order:
/// an insert in the middle or a reorder made on one side only is kept, so
/// `merge(base, base, x).unwrap() == x` and `merge(base, x, base).unwrap() == x` hold with `==` on a `Vec`
/// (and for the order of an `IndexMap`). When both sides changed the order, ours' comes
/// first, as before.
#[test]
fn one_sided_order_changes_are_kept() {
    use indexmap::IndexMap;

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Step {
        #[statesync(id)]
        id: u8,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Plan {
        #[statesync(id)]
        name: String,
        #[statesync(children)]
        steps: Vec<Step>,
        #[statesync(children)]
        named: IndexMap<StepKey, Step>,
    }

    let plan = |ids: &[u8]| Plan {
        name: "p".into(),
        steps: ids.iter().map(|&id| Step { id }).collect(),
        named: ids
            .iter()
            .map(|&id| (StepKey { id }, Step { id }))
            .collect(),
    };
    let order = |plan: &Plan| -> (Vec<u8>, Vec<u8>) {
        (
            plan.steps.iter().map(|s| s.id).collect(),
            plan.named.values().map(|s| s.id).collect(),
        )
    };
    let base = plan(&[1, 2, 3]);
    let options = MergeOptions::default();
    for changed in [plan(&[1, 9, 2, 3]), plan(&[3, 1, 2, 4]), plan(&[2, 3])] {
        let merged = merge(&base, &base, &changed, &options).unwrap();
        assert!(merged.conflicts.is_empty(), "{:?}", merged.conflicts);
        assert_eq!(merged.value, changed);
        assert_eq!(order(&merged.value), order(&changed));
        let merged = merge(&base, &changed, &base, &options).unwrap();
        assert_eq!(merged.value, changed);
        assert_eq!(order(&merged.value), order(&changed));
    }
    // Both reordered: ours' order, then what only theirs holds.
    let merged = merge(&base, &plan(&[3, 2, 1]), &plan(&[2, 1, 3, 4]), &options).unwrap();
    assert_eq!(order(&merged.value), (vec![3, 2, 1, 4], vec![3, 2, 1, 4]));
    // Theirs deleted an element and reordered: the base's order (ours'), less the deleted
    // one, so an element a merge keeps against a delete would stay in place.
    let merged = merge(&base, &plan(&[1, 2, 3]), &plan(&[3, 1]), &options).unwrap();
    assert_eq!(order(&merged.value), (vec![1, 3], vec![1, 3]));
}

/// Conflicts come out in key order whatever order the children are held in: a `HashMap`
/// iterates in another order in every process, a `Vec` in its own. The merged `Vec` keeps
/// ours' order, then theirs' new children.
#[test]
fn conflicts_among_children_come_out_in_key_order() {
    use std::collections::HashMap;

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Part {
        #[statesync(id)]
        id: u32,
        text: String,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Book {
        #[statesync(children)]
        by_id: HashMap<PartKey, Part>,
        #[statesync(children)]
        in_order: Vec<Part>,
    }

    let part = |id, text: &str| Part {
        id,
        text: text.into(),
    };
    let book = |text: &str, ids: &[u32]| Book {
        by_id: ids
            .iter()
            .map(|&id| (PartKey { id }, part(id, text)))
            .collect(),
        in_order: ids.iter().map(|&id| part(id, text)).collect(),
    };
    let ids: Vec<u32> = (0..40).rev().collect();
    let base = book("base", &ids);
    let ours = book("ours", &ids);
    let mut theirs = book("theirs", &ids);
    theirs.in_order.push(part(99, "new"));
    let merged = merge(&base, &ours, &theirs, &MergeOptions::default()).unwrap();
    let paths: Vec<&str> = merged.conflicts.iter().map(|c| c.path.as_str()).collect();
    let expected: Vec<String> = ["by_id", "in_order"]
        .iter()
        .flat_map(|field| (0..40).map(move |id| format!("book.{field}.part[id={id}].text")))
        .collect();
    assert_eq!(paths, expected);
    let order: Vec<u32> = merged.value.in_order.iter().map(|p| p.id).collect();
    let mut expected_order = ids.clone();
    expected_order.push(99);
    assert_eq!(order, expected_order);
}

/// A conflict about a whole element (deleted on one side, changed on the other) shows the
/// start of its rendering, not its whole subtree: a site of 300 devices is not rendered
/// three times in full.
#[test]
fn a_conflict_about_a_large_element_shows_its_start() {
    let mut base = Inventory::default();
    base.sites.insert(site("ams", 300, 2)).unwrap();
    let deleted = Inventory::default();
    let mut changed = base.clone();
    changed
        .sites
        .get_mut(&SiteKey { name: "ams".into() })
        .unwrap()
        .region = "eu-west".into();
    let merged = merge(&base, &deleted, &changed, &MergeOptions::default()).unwrap();
    assert_eq!(merged.conflicts.len(), 1);
    let conflict = &merged.conflicts[0];
    assert_eq!(conflict.kind, ConflictKind::DeleteUpdate);
    for shown in [&conflict.base, &conflict.theirs] {
        let shown = shown.as_deref().unwrap();
        assert!(shown.len() <= 1024 + " …".len(), "{}", shown.len());
        assert!(shown.starts_with("Site {"), "{shown}");
        assert!(shown.ends_with(" …"), "{shown}");
    }
    assert_eq!(conflict.ours, None);
}

/// A model with a version field that merges nothing by `newest` merges its version like any
/// field: two bumps conflict, and each side keeps its own.
#[test]
fn without_newest_the_version_field_is_a_field_like_any() {
    #[derive(DiffModel, Clone, Debug, PartialEq)]
    #[statesync(version = "rev")]
    struct Entry {
        #[statesync(id)]
        id: u8,
        rev: u64,
        role: String,
    }
    let entry = |rev, role: &str| Entry {
        id: 1,
        rev,
        role: role.into(),
    };
    let merged = merge(
        &entry(1, "x"),
        &entry(2, "a"),
        &entry(3, "b"),
        &MergeOptions::default(),
    )
    .unwrap();
    let paths: Vec<&str> = merged.conflicts.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, ["entry[id=1].rev", "entry[id=1].role"]);
    assert_eq!(merged.value, entry(2, "a"));
}

/// Per call, `newest` on one field (or on the model) brings the newer side's version with
/// it, as a declared `newest` does: two bumps are no conflict, and the merged version is the
/// newer one. A per-call preference on the version itself still wins.
#[test]
fn a_per_call_newest_brings_the_version_along() {
    #[derive(DiffModel, Clone, Debug, PartialEq)]
    #[statesync(version = "rev")]
    struct Note {
        #[statesync(id)]
        id: u8,
        rev: u64,
        body: String,
        owner: String,
    }
    let note = |rev, body: &str| Note {
        id: 1,
        rev,
        body: body.into(),
        owner: "o".into(),
    };
    let (base, ours, theirs) = (note(1, "b"), note(2, "ours"), note(3, "theirs"));
    for options in [
        MergeOptions::default().prefer::<Note>(Some(NoteField::Body), Preference::Newest),
        MergeOptions::default().prefer::<Note>(None, Preference::Newest),
    ] {
        let merged = merge(&base, &ours, &theirs, &options).unwrap();
        assert!(merged.conflicts.is_empty(), "{:?}", merged.conflicts);
        assert_eq!(merged.value, note(3, "theirs"));
        let merged = merge(&base, &theirs, &ours, &options).unwrap();
        assert!(merged.conflicts.is_empty(), "{:?}", merged.conflicts);
        assert_eq!(merged.value, note(3, "theirs"));
    }
    let options = MergeOptions::default()
        .prefer::<Note>(Some(NoteField::Body), Preference::Newest)
        .prefer::<Note>(Some(NoteField::Rev), Preference::Ours);
    assert_eq!(
        merge(&base, &ours, &theirs, &options).unwrap().value,
        note(2, "theirs")
    );
    // Without a newest preference the version is a field like any (the test above).
    let options = MergeOptions::default().prefer::<Note>(Some(NoteField::Body), Preference::Theirs);
    let paths: Vec<String> = merge(&base, &ours, &theirs, &options)
        .unwrap()
        .conflicts
        .into_iter()
        .map(|c| c.path)
        .collect();
    assert_eq!(paths, ["note[id=1].rev"]);
}

/// A conflict about a large element shows the same text in every run, though the element
/// holds a `HashMap` (which iterates in another order in every map).
#[test]
fn a_cut_conflict_is_the_same_in_every_run() {
    use std::collections::HashMap;

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Tagged {
        #[statesync(id)]
        name: String,
        tags: HashMap<String, String>,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Registry {
        #[statesync(children)]
        entries: Vec<Tagged>,
    }

    let tagged = |value: &str| Tagged {
        name: "t".into(),
        tags: (0..100)
            .map(|at| (format!("key-{at:03}"), value.to_owned()))
            .collect(),
    };
    let conflict = || {
        let base = Registry {
            entries: vec![tagged("old-value-of-some-length")],
        };
        let deleted = Registry {
            entries: Vec::new(),
        };
        let changed = Registry {
            entries: vec![tagged("new-value-of-some-length")],
        };
        let merged = merge(&base, &deleted, &changed, &MergeOptions::default()).unwrap();
        merged.conflicts.into_iter().next().unwrap()
    };
    let first = conflict();
    assert!(first.base.as_deref().unwrap().ends_with(" …"));
    for _ in 0..5 {
        assert_eq!(conflict(), first);
    }
}

/// An element deleted on one side whose other side only deleted some of its subtree is
/// deleted, without a conflict: both sides wanted those children gone. It was a
/// delete-versus-update conflict.
#[test]
fn a_delete_against_deletes_in_its_subtree_is_no_conflict() {
    let mut base = inventory();
    base.sites.insert(site("lon", 2, 1)).unwrap();
    let lon = SiteKey { name: "lon".into() };
    let mut ours = base.clone();
    drop(ours.sites.remove(&lon));
    let mut theirs = base.clone();
    let d0 = DeviceKey {
        site: "lon".into(),
        name: "lon-d0".into(),
    };
    drop(theirs.sites.get_mut(&lon).unwrap().devices.remove(&d0));
    for (ours, theirs) in [(&ours, &theirs), (&theirs, &ours)] {
        let merged = merge(&base, ours, theirs, &MergeOptions::default()).unwrap();
        assert!(merged.conflicts.is_empty(), "{:?}", merged.conflicts);
        assert!(!merged.value.sites.contains(&lon));
    }
    // An edit in the subtree is still a conflict.
    theirs.sites.get_mut(&lon).unwrap().region = "uk".into();
    let merged = merge(&base, &ours, &theirs, &MergeOptions::default()).unwrap();
    assert_eq!(merged.conflicts.len(), 1);
}

/// A map holding a child under another key than its own (its id changed in place) is
/// refused on either side, as `diff` refuses it: merged, ours' was filed under its new key
/// and theirs' change was lost, so `merge(b, x, b)` and `merge(b, b, x)` disagreed.
#[test]
fn a_child_filed_under_another_key_is_refused_on_either_side() {
    use std::collections::BTreeMap;

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Slot {
        #[statesync(id)]
        hour: u8,
        booked: bool,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Room {
        #[statesync(id)]
        name: String,
        #[statesync(children)]
        slots: BTreeMap<SlotKey, Slot>,
    }

    let slot = |hour| Slot {
        hour,
        booked: false,
    };
    let base = Room {
        name: "r".into(),
        slots: BTreeMap::from([(SlotKey { hour: 1 }, slot(1))]),
    };
    let mut misfiled = base.clone();
    if let Some(held) = misfiled.slots.get_mut(&SlotKey { hour: 1 }) {
        held.hour = 2;
    }
    let expected = base.diff(&misfiled).unwrap_err();
    assert!(matches!(expected, statesync::Error::KeyMismatch { .. }));
    let options = MergeOptions::default();
    for (ours, theirs) in [(&misfiled, &base), (&base, &misfiled)] {
        let refused = merge(&base, ours, theirs, &options).unwrap_err();
        assert_eq!(refused, expected);
    }
    assert_eq!(
        merge(&misfiled, &base, &base, &options)
            .unwrap_err()
            .to_string(),
        misfiled.diff(&base).unwrap_err().to_string()
    );
}

/// What `diff` refuses is refused wherever the merge meets it, also in a subtree it takes
/// whole (a child only one side created, one kept against a delete, a root replaced), where
/// only the depth was checked: `merge` returned a value `diff` then refused.
#[test]
fn a_subtree_taken_whole_is_checked_as_diff_checks_it() {
    use statesync::merge::{Kept, merge_keeping};

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Member {
        #[statesync(id)]
        handle: String,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Team {
        #[statesync(id)]
        code: String,
        size: u32,
        #[statesync(children)]
        members: Vec<Member>,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Org {
        #[statesync(id)]
        name: String,
        #[statesync(children)]
        teams: Vec<Team>,
    }

    let team = |code: &str, members: &[&str]| Team {
        code: code.into(),
        size: 1,
        members: members
            .iter()
            .map(|handle| Member {
                handle: (*handle).into(),
            })
            .collect(),
    };
    let org = |name: &str, teams: Vec<Team>| Org {
        name: name.into(),
        teams,
    };
    let options = MergeOptions::default();
    let base = org("o", vec![team("t1", &["a"])]);
    // A team only one side created, holding one member twice.
    let created = org("o", vec![team("t1", &["a"]), team("t2", &["b", "b"])]);
    let expected = base.diff(&created).unwrap_err();
    assert!(matches!(expected, statesync::Error::DuplicateKey { .. }));
    assert_eq!(
        merge(&base, &base, &created, &options).unwrap_err(),
        expected
    );
    assert_eq!(
        merge(&base, &created, &base, &options).unwrap_err(),
        expected
    );
    // Deleted by ours, edited by theirs (kept): the survivor holds a member twice.
    let mut edited = org("o", vec![team("t1", &["a", "a"])]);
    edited.teams[0].size = 2;
    let kept = merge_keeping(
        &base,
        &org("o", Vec::new()),
        &edited,
        &options,
        Kept::Theirs,
    );
    assert_eq!(kept.unwrap_err(), base.diff(&edited).unwrap_err());
    // A root replaced by theirs while ours holds a member twice: refused, not a conflict.
    let doubled = org("o", vec![team("t1", &["a", "a"])]);
    let replaced = org("p", Vec::new());
    assert_eq!(
        merge(&base, &doubled, &replaced, &options).unwrap_err(),
        base.diff(&doubled).unwrap_err()
    );
    // Where both sides hold the collection: a key twice is refused too (the first was taken).
    assert_eq!(
        merge(&base, &doubled, &base, &options).unwrap_err(),
        base.diff(&doubled).unwrap_err()
    );
}

/// A projection keyed by region: two sites of one region make two rows with one key.
struct ByRegion;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct RegionsView {
    #[statesync(children)]
    regions: Store<RegionName>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct RegionName {
    #[statesync(id)]
    region: String,
}

impl statesync::projection::Projection<Inventory> for ByRegion {
    type View = RegionsView;

    fn project(inventory: &Inventory) -> Result<RegionsView, statesync::Error> {
        let rows = inventory.sites.iter().map(|s| RegionName {
            region: s.region.clone(),
        });
        Ok(RegionsView {
            regions: Store::try_from_iter(rows)?,
        })
    }

    fn write_back(_: &RegionsView, _: &mut Inventory) {}
}

/// A projection whose rows collide is an error of `refresh` (and of `carry_back`), naming
/// the key, not a view that silently lacks a row: `project` returns the store's refusal.
#[test]
fn a_projection_whose_rows_collide_is_refused() {
    use statesync::projection::{Projection, carry_back, refresh};
    let mut source = Inventory {
        sites: Store::try_from_iter([site("ams", 0, 0)]).unwrap(),
    };
    let mut view = ByRegion::project(&source).unwrap();
    let shown = view.clone();
    let region = source.sites.iter().next().unwrap().region.clone();
    source
        .sites
        .insert(Site {
            region: region.clone(),
            ..site("zzz", 0, 0)
        })
        .unwrap();
    for error in [
        refresh::<ByRegion, _>(&source, &mut view).unwrap_err(),
        carry_back::<ByRegion, _>(&mut source, &shown, &shown).unwrap_err(),
    ] {
        assert!(
            matches!(&error, statesync::Error::DuplicateKey { key, .. } if key.contains(&region)),
            "{error}"
        );
    }
    assert_eq!(view, shown);
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Event {
    #[statesync(id)]
    title: String,
    #[statesync(children)]
    attendees: Store<Attendee>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Attendee {
    #[statesync(id)]
    name: String,
    rsvp: String,
}

/// A delete against an edit the models' cut renderings do not reach: the conflict shows
/// the edit itself (an outside tester found base and ours byte for byte equal, the
/// changed attendee past the first 1,024 bytes).
#[test]
fn a_conflict_of_a_delete_with_an_edit_shows_the_edit() {
    let attendees = (0..30).map(|at| Attendee {
        name: format!("attendee-{at:02}"),
        rsvp: "yes".into(),
    });
    let event = Event {
        title: "offsite".into(),
        attendees: Store::try_from_iter(attendees).unwrap(),
    };
    let calendar = |events: Vec<Event>| Calendar {
        events: Store::try_from_iter(events).unwrap(),
    };
    let base = calendar(vec![event.clone()]);
    let mut edited = event;
    edited
        .attendees
        .get_mut(&AttendeeKey {
            name: "attendee-29".into(),
        })
        .unwrap()
        .rsvp = "no".into();
    let ours = calendar(vec![edited]);
    let theirs = calendar(vec![]);
    let merged = merge(&base, &ours, &theirs, &MergeOptions::default()).unwrap();
    let [conflict] = merged.conflicts.as_slice() else {
        panic!("{:?}", merged.conflicts)
    };
    assert_eq!(conflict.kind, ConflictKind::DeleteUpdate);
    assert_eq!(conflict.base, conflict.ours, "both cut before the edit");
    assert_eq!(
        conflict.changes.as_deref(),
        Some("  event[title=offsite]\n  ~ attendee[name=attendee-29] rsvp: \"yes\" -> \"no\"\n")
    );
    // A conflict is data: it reads back from JSON as it was (a tester could not keep one).
    let json = serde_json::to_string(conflict).unwrap();
    let back: statesync::merge::Conflict = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, conflict);
    assert!(json.contains(r#""kind":"DeleteUpdate""#), "{json}");
    assert!(
        conflict.to_string().ends_with(
            "; changed since the base:\n  event[title=offsite]\n  ~ attendee[name=attendee-29] rsvp: \"yes\" -> \"no\""
        ),
        "{conflict}"
    );
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Calendar {
    #[statesync(children)]
    events: Store<Event>,
}

/// The other kinds of conflict carry no plan of changes.
#[test]
fn a_conflict_of_a_field_carries_no_plan() {
    let base = Attendee {
        name: "a".into(),
        rsvp: "yes".into(),
    };
    let mut ours = base.clone();
    ours.rsvp = "no".into();
    let mut theirs = base.clone();
    theirs.rsvp = "maybe".into();
    let merged = merge(&base, &ours, &theirs, &MergeOptions::default()).unwrap();
    let [conflict] = merged.conflicts.as_slice() else {
        panic!("{:?}", merged.conflicts)
    };
    assert_eq!(conflict.changes, None);
    assert_eq!(
        conflict.to_string(),
        "attendee[name=a].rsvp: base \"yes\", ours \"no\", theirs \"maybe\""
    );
}
