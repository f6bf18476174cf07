//! State projection: a flat "port board" view of the inventory (ports and whether they are
//! enabled) kept in sync with it. The board follows the inventory, and an operator's edit on
//! the board is carried back into the inventory and on into its SQLite database.
//!
//! `cargo run --example projection`

use std::process::ExitCode;

use statesync::projection::{Projection, carry_back, refresh};
use statesync::sync::{HookError, SyncModel, SyncOptions};
use statesync::{DiffModel, Store};
use statesync_suite::cli::Command;
use statesync_suite::fixtures::{interface, inventory};
use statesync_suite::inventory::{DeviceKey, InterfaceKey, Inventory, SiteKey};
use statesync_suite::sqlite::SqliteInventory;

/// The board: one row per port.
#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Board {
    #[statesync(children)]
    ports: Store<Port>,
}

/// A row: which device, which port, and the switch the operator flips.
#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Port {
    #[statesync(id)]
    site: String,
    #[statesync(id)]
    device: String,
    #[statesync(id)]
    port: String,
    enabled: bool,
}

struct PortBoard;

impl Projection<Inventory> for PortBoard {
    type View = Board;

    fn project(inventory: &Inventory) -> Result<Board, statesync::Error> {
        let mut ports = Store::new();
        for site in &inventory.sites {
            for device in &site.devices {
                for i in &device.interfaces {
                    ports.insert(Port {
                        site: site.name.clone(),
                        device: device.name.clone(),
                        port: i.name.clone(),
                        enabled: i.enabled,
                    })?;
                }
            }
        }
        Ok(Board { ports })
    }

    fn write_back(board: &Board, inventory: &mut Inventory) {
        for row in &board.ports {
            let site = SiteKey {
                name: row.site.clone(),
            };
            let device = DeviceKey {
                site: row.site.clone(),
                name: row.device.clone(),
            };
            let port = InterfaceKey {
                device: row.device.clone(),
                name: row.port.clone(),
            };
            inventory.sites.modify(&site, |site| {
                site.devices.modify(&device, |device| {
                    device
                        .interfaces
                        .modify(&port, |port| port.enabled = row.enabled)
                })
            });
        }
    }
}

fn run() -> Result<(), HookError> {
    let dir = statesync_suite::fixtures::fresh_dir("target/projection-demo")?;
    let mut db = SqliteInventory::open(&dir.join("inventory.sqlite"))?;
    let mut inventory = db.load()?;
    let report = inventory.sync_from(&self::inventory(), &mut db, SyncOptions::default())?;
    if !report.is_success() {
        return Err(format!("the database did not take the inventory: {report}").into());
    }
    let mut board = PortBoard::project(&inventory)?;
    statesync_suite::say!(
        "board of {} ports projected from the inventory",
        board.ports.len()
    )?;

    // The operator disables a port on the board: carried back, then into the database.
    let row = PortKey {
        site: "ams".into(),
        device: "ams-d0".into(),
        port: "et-1".into(),
    };
    let mut edited = board.clone();
    if let Some(mut port) = edited.ports.get_mut(&row) {
        port.enabled = false;
    }
    let carried = carry_back::<PortBoard, _>(&mut inventory, &board, &edited)?;
    board = edited;
    statesync_suite::say!("carried back into the inventory:\n{carried}")?;
    let report = db
        .load()?
        .sync_from(&inventory, &mut db, SyncOptions::default())?;
    statesync_suite::say!("and into the database: {report}")?;

    // The inventory grows a port: the board follows.
    {
        let mut ams = inventory
            .sites
            .get_mut(&SiteKey { name: "ams".into() })
            .ok_or("no ams")?;
        let mut d1 = ams
            .devices
            .get_mut(&DeviceKey {
                site: "ams".into(),
                name: "ams-d1".into(),
            })
            .ok_or("no d1")?;
        d1.interfaces.insert(interface("ams-d1", "et-9"))?;
    }
    let shown = refresh::<PortBoard, _>(&inventory, &mut board)?;
    statesync_suite::say!("the board follows the inventory:\n{shown}")?;

    let stored = db.load()?;
    let disabled = stored
        .sites
        .get(&SiteKey { name: "ams".into() })
        .and_then(|s| {
            s.devices.get(&DeviceKey {
                site: "ams".into(),
                name: "ams-d0".into(),
            })
        })
        .and_then(|d| {
            d.interfaces.get(&InterfaceKey {
                device: "ams-d0".into(),
                name: "et-1".into(),
            })
        })
        .is_some_and(|i| !i.enabled);
    if !disabled || shown.summary().create != 1 || PortBoard::project(&inventory)? != board {
        return Err("the projection and the inventory disagree".into());
    }
    Ok(())
}

const COMMAND: Command = Command {
    name: "projection",
    about: "A flat port board kept in sync with the inventory; an edit on the board is carried back into the inventory and its database.",
    options: &[],
};

fn main() -> ExitCode {
    COMMAND.main(|_| run())
}
