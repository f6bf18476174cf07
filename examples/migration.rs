//! Schema migration: a v1 inventory (flat devices named by FQDN, model and serial in one
//! field) synced into the v2 schema of a SQLite database (sites → devices → interfaces, the
//! key split into site and name, the field split in two) through a converting adapter.
//! Running the migration again changes nothing; an edit to v1 migrates incrementally.
//!
//! `cargo run --example migration`

use std::process::ExitCode;

use statesync::sync::{HookError, SyncModel, SyncOptions};
use statesync::{DiffModel, Store};
use statesync_suite::cli::Command;
use statesync_suite::inventory::{Device, Interface, Inventory, Site, SiteKey};
use statesync_suite::sqlite::SqliteInventory;

const DIR: &str = "target/migration-demo";

/// The v1 root: every device, flat.
#[derive(DiffModel, Clone, Debug, PartialEq)]
struct V1Inventory {
    #[statesync(children)]
    devices: Store<V1Device>,
}

/// A v1 device: `sw1.nyc` style names, `model/serial` in one field, a port count.
#[derive(DiffModel, Clone, Debug, PartialEq)]
struct V1Device {
    #[statesync(id)]
    fqdn: String,
    hardware: String,
    ports: u32,
}

/// The converting adapter's mapping: v1 → v2.
fn migrate(v1: &V1Inventory) -> Result<Inventory, HookError> {
    let mut v2 = Inventory::default();
    for device in &v1.devices {
        let (name, site) = device.fqdn.split_once('.').ok_or("fqdn without a site")?;
        let (model, serial) = device
            .hardware
            .split_once('/')
            .ok_or("hardware without a serial")?;
        let mut site = v2
            .sites
            .get_or_insert_with(SiteKey { name: site.into() }, || Site {
                name: site.into(),
                region: "unassigned".into(),
                devices: Store::new(),
            })?;
        let interfaces = (0..device.ports).map(|port| Interface {
            device: name.into(),
            name: format!("et-0/0/{port}"),
            description: String::new(),
            enabled: true,
            mtu: 1500,
            mode: "access".into(),
            vlans: vec![1],
        });
        let site_name = site.name.clone();
        site.devices.insert(Device {
            site: site_name,
            name: name.into(),
            role: "leaf".into(),
            model: model.into(),
            serial: serial.into(),
            interfaces: Store::try_from_iter(interfaces)?,
        })?;
    }
    Ok(v2)
}

fn v1_device(fqdn: &str, hardware: &str, ports: u32) -> V1Device {
    V1Device {
        fqdn: fqdn.into(),
        hardware: hardware.into(),
        ports,
    }
}

fn run(v1: &V1Inventory, db: &mut SqliteInventory, label: &str) -> Result<usize, HookError> {
    let desired = migrate(v1)?;
    let mut current = db.load()?;
    let plan = current.diff_from(&desired)?;
    statesync_suite::say!("{label}: plan {}", plan.summary())?;
    for entry in plan
        .entries()
        .iter()
        .filter(|e| e.kind != statesync::EntryKind::Unchanged)
        .take(4)
    {
        statesync_suite::say!("    {entry}")?;
    }
    let report = current.sync_diff(&plan, db, SyncOptions::default());
    statesync_suite::say!("  report: {report}")?;
    if !report.is_success() {
        return Err("migration failed".into());
    }
    Ok(report.counts.changes())
}

fn migrate_demo() -> Result<(), HookError> {
    let dir = statesync_suite::fixtures::fresh_dir(DIR)?;
    let mut db = SqliteInventory::open(&dir.join("v2.sqlite"))?;

    let mut v1 = V1Inventory {
        devices: Store::try_from_iter([
            v1_device("sw1.nyc", "qfx5120/SN001", 4),
            v1_device("sw2.nyc", "qfx5120/SN002", 4),
            v1_device("sw3.ams", "mx204/SN003", 2),
        ])?,
    };
    let first = run(&v1, &mut db, "first migration")?;
    let again = run(&v1, &mut db, "migration re-run")?;

    if let Some(mut device) = v1.devices.get_mut(&V1DeviceKey {
        fqdn: "sw3.ams".into(),
    }) {
        device.hardware = "mx204/SN999".into();
        device.ports = 3;
    }
    let incremental = run(&v1, &mut db, "after a v1 edit")?;

    statesync_suite::say!(
        "v2 rows: {} sites, {} devices, {} interfaces",
        db.count("site")?,
        db.count("device")?,
        db.count("interface")?
    )?;
    if first == 0 || again != 0 || incremental != 2 {
        return Err("the migration is not idempotent".into());
    }
    Ok(())
}

const COMMAND: Command = Command {
    name: "migration",
    about: "A v1 inventory migrated into the v2 schema of a SQLite database through a converting adapter; a re-run changes nothing.",
    options: &[],
};

fn main() -> ExitCode {
    COMMAND.main(|_| migrate_demo())
}
