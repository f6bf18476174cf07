//! Two replicas of one inventory, a JSON file and a SQLite database, edited independently
//! and synced both ways against a stored base (a `History` file).
//!
//! `cargo run --example bidirectional`
//!
//! Both sides change the MTU of one interface: the `max` strategy of `Interface::mtu`
//! resolves it. Both change the role of one device: no strategy, so the conflict is
//! reported and each side keeps its own value. Everything else goes through both ways.

use std::process::ExitCode;

use rusqlite::params;
use statesync::DiffModel;
use statesync::merge::{History, MergeOptions, sync_bidirectional};
use statesync::sync::{HookError, InMemory, SyncModel, SyncOptions};
use statesync_suite::cli::Command;
use statesync_suite::dataset::generate;
use statesync_suite::fixtures::site;
use statesync_suite::inventory::{InterfaceKey, Inventory};
use statesync_suite::json_file;
use statesync_suite::sqlite::SqliteInventory;

const DIR: &str = "target/bidirectional-demo";

fn run() -> Result<(), HookError> {
    let dir = statesync_suite::fixtures::fresh_dir(DIR)?;
    let json_path = dir.join("replica.json");
    let db_path = dir.join("replica.sqlite");
    let history_path = dir.join("base.json");

    // Both replicas start equal; the base is that state.
    let start = generate(200, 7);
    json_file::save(&start, &json_path)?;
    let mut db = SqliteInventory::open(&db_path)?;
    let report = db
        .load()?
        .sync_from(&start, &mut db, SyncOptions::default())?;
    if !report.is_success() {
        return Err(format!("the database did not take the inventory: {report}").into());
    }
    History::new(start.clone())?.save(&history_path)?;
    statesync_suite::say!("two replicas of {} interfaces, and a base, in {DIR}", 200)?;

    // Edits on the JSON side.
    let mut edited = json_file::load(&json_path)?;
    let port = InterfaceKey {
        device: "site-0001-dev-001".into(),
        name: "et-0/0/0".into(),
    };
    {
        let site = edited.sites.keys().next().ok_or("no site")?;
        let mut site = edited.sites.get_mut(&site).ok_or("no site")?;
        let device = site.devices.keys().next().ok_or("no device")?;
        let mut device = site.devices.get_mut(&device).ok_or("no device")?;
        device.role = "edge".into();
        device.interfaces.get_mut(&port).ok_or("no port")?.mtu = 1400;
    }
    edited.sites.insert(site("lon", 1, 2))?;
    json_file::save(&edited, &json_path)?;
    statesync_suite::say!(
        "json side: role of site-0001-dev-001 -> edge, et-0/0/0 mtu -> 1400, new site lon"
    )?;

    // Edits on the SQLite side, straight in SQL as another tool would make them.
    db.connection().execute(
        "UPDATE device SET role = 'core' WHERE name = ?1",
        params!["site-0001-dev-001"],
    )?;
    db.connection().execute(
        "UPDATE interface SET mtu = 1450 WHERE device = ?1 AND name = ?2",
        params!["site-0001-dev-001", "et-0/0/0"],
    )?;
    db.connection().execute(
        "DELETE FROM interface WHERE device = ?1 AND name = ?2",
        params!["site-0001-dev-002", "et-0/0/5"],
    )?;
    statesync_suite::say!(
        "sqlite side: role of site-0001-dev-001 -> core, et-0/0/0 mtu -> 1450, et-0/0/5 of dev-002 deleted"
    )?;

    // Sync both ways against the stored base.
    let mut history = History::<Inventory>::load(&history_path)?;
    let mut json_side = json_file::load(&json_path)?;
    let mut db_side = db.load()?;
    let report = sync_bidirectional(
        &mut history,
        (&mut json_side, &mut InMemory),
        (&mut db_side, &mut db),
        &MergeOptions::default(),
    )?;
    json_file::save(&json_side, &json_path)?;
    history.save(&history_path)?;

    statesync_suite::say!("into json:   {}", report.a)?;
    statesync_suite::say!("into sqlite: {}", report.b)?;
    statesync_suite::say!("conflicts kept and reported: {}", report.conflicts.len())?;
    for conflict in &report.conflicts {
        statesync_suite::say!("  {conflict}")?;
    }
    let mtu = |side: &Inventory| {
        side.sites
            .iter()
            .flat_map(|site| site.devices.iter())
            .find_map(|device| device.interfaces.get(&port))
            .map(|port| port.mtu)
    };
    statesync_suite::say!(
        "et-0/0/0 mtu: json {:?}, sqlite {:?} (max wins)",
        mtu(&json_side),
        mtu(&db.load()?)
    )?;
    let left = json_side.diff(&db.load()?)?;
    statesync_suite::say!("what still differs (the kept conflict):\n{left}")?;
    statesync_suite::say!(
        "base committed: {}, versions: {:?}",
        report.base_committed,
        history.versions().collect::<Vec<_>>()
    )?;

    if !report.a.is_success() || !report.b.is_success() {
        return Err("a side did not take its sync (see its report above)".into());
    }
    if report.conflicts.len() != 1 || left.summary().update != 1 || mtu(&json_side) != Some(1450) {
        return Err("the demo did not end as expected".into());
    }
    Ok(())
}

const COMMAND: Command = Command {
    name: "bidirectional",
    about: "Two replicas of one inventory, a JSON file and a SQLite database, edited independently and synced both ways against a stored base.",
    options: &[],
};

fn main() -> ExitCode {
    COMMAND.main(|_| run())
}
