//! Children in a map: an update or a delete of an entry filed under another key than its
//! model's is refused by both engines before any hook, and memory is left as it was. (A
//! create into such a map is not checked by the engines: it would take a look at every
//! entry per create. `apply` checks it, once per collection.)

use std::collections::BTreeMap;

use statesync::{DiffModel, Error};

use crate::calls::{failure, sync_both};

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Rack {
    #[statesync(id)]
    slot: u32,
    label: String,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Room {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    racks: BTreeMap<RackKey, Rack>,
}

fn rack(slot: u32, label: &str) -> Rack {
    Rack {
        slot,
        label: label.into(),
    }
}

fn room(racks: &[Rack]) -> Room {
    Room {
        name: "r".into(),
        racks: racks
            .iter()
            .map(|rack| (rack.key(), rack.clone()))
            .collect(),
    }
}

/// A room whose entry for slot 1 holds rack 6.
fn misfiled() -> Room {
    let mut room = room(&[]);
    room.racks.insert(RackKey { slot: 1 }, rack(6, "a"));
    room
}

/// Syncs `to`'s diff from `from` into the misfiled room with each engine: refused as a
/// key mismatch before any hook, memory as it was.
fn refused_into_misfiled(from: &Room, to: &Room) {
    let diff = from.diff(to).unwrap();
    for (state, report, calls) in sync_both(&misfiled(), &diff) {
        assert!(calls.is_empty(), "{calls:?}");
        assert!(
            matches!(failure(&report), Some(Error::KeyMismatch { .. })),
            "{report:?}"
        );
        assert_eq!(state, misfiled());
    }
}

/// Before, the update hook ran on rack 6 for the update of rack 1.
#[test]
fn an_update_of_a_map_entry_holding_another_key_is_refused() {
    refused_into_misfiled(&room(&[rack(1, "a")]), &room(&[rack(1, "b")]));
}

/// Before, the delete hook ran on rack 6 for the delete of rack 1.
#[test]
fn a_delete_of_a_map_entry_holding_another_key_is_refused() {
    refused_into_misfiled(&room(&[rack(1, "a")]), &room(&[]));
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Row {
    #[statesync(id)]
    seat: u32,
    label: String,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Hall {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    rows: Vec<Row>,
}

/// A `Vec` built by hand with one key twice: `apply` refuses a diff of it, and so does each
/// engine, every element before any hook. Both carried it and reported it applied, the
/// `Vec` then holding the repeat and the new row.
#[test]
fn a_vec_holding_a_key_twice_is_refused_before_any_hook() {
    let row = |seat: u32, label: &str| Row {
        seat,
        label: label.into(),
    };
    let clean = Hall {
        name: "h".into(),
        rows: vec![row(1, "a"), row(2, "b")],
    };
    let mut next = clean.clone();
    next.rows[0].label = "changed".into();
    next.rows.push(row(3, "c"));
    let diff = clean.diff(&next).unwrap();
    let mut repeated = clean.clone();
    repeated.rows.push(row(1, "again"));
    assert!(matches!(
        repeated.clone().apply(&diff),
        Err(Error::DuplicateKey { .. })
    ));
    for (state, report, calls) in sync_both(&repeated, &diff) {
        assert!(calls.is_empty(), "{calls:?}");
        assert_eq!(report.counts.failed, 2, "{report}");
        assert!(
            matches!(failure(&report), Some(Error::DuplicateKey { .. })),
            "{report:?}"
        );
        assert_eq!(state, repeated);
    }
}
