//! Versions stored as diffs, and their persistent form.

use statesync::merge::History;
use statesync_suite::fixtures::{inventory, site};
use statesync_suite::inventory::{Inventory, SiteKey};

fn versions() -> (History<Inventory>, Vec<Inventory>) {
    let mut states = vec![inventory()];
    let mut history = History::new(inventory()).unwrap();
    let mut next = inventory();
    next.sites.insert(site("lon", 1, 1)).unwrap();
    states.push(next.clone());
    history.commit(&next, "add lon").unwrap();
    next.sites.remove(&SiteKey { name: "nyc".into() });
    states.push(next.clone());
    history.commit(&next, "drop nyc").unwrap();
    (history, states)
}

#[test]
fn checkout_rebuilds_every_version() {
    let (history, states) = versions();
    assert_eq!(history.version(), 2);
    for (version, state) in states.iter().enumerate() {
        assert_eq!(&history.checkout(version).unwrap(), state);
    }
    assert!(history.checkout(3).is_err());
    let listed: Vec<(usize, &str)> = history.versions().collect();
    assert_eq!(listed, [(0, "initial"), (1, "add lon"), (2, "drop nyc")]);
}

#[test]
fn revert_undoes_one_commit_on_top_of_the_rest() {
    let (mut history, _) = versions();
    history.revert(1, "no lon after all").unwrap();
    let head = history.head();
    assert!(!head.sites.contains(&SiteKey { name: "lon".into() }));
    assert!(
        !head.sites.contains(&SiteKey { name: "nyc".into() }),
        "commit 2 stays"
    );
    assert_eq!(history.version(), 3);
    // Reverting the same commit again no longer applies: an error, nothing committed.
    assert!(history.revert(1, "again").is_err());
    assert_eq!(history.version(), 3);
    assert!(history.revert(9, "no such commit").is_err());
}

#[test]
fn a_history_survives_a_restart() {
    let (history, states) = versions();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.json");
    history.save(&path).unwrap();
    let loaded = History::<Inventory>::load(&path).unwrap();
    assert_eq!(loaded, history);
    assert_eq!(loaded.head(), states.last().unwrap());
    std::fs::write(&path, b"{\"initial\": 3}").unwrap();
    assert!(History::<Inventory>::load(&path).is_err());
}
