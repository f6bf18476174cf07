//! The SQLite side of the inventory example: an adapter whose hooks run SQL, and a loader.
//!
//! One transaction per sync: the first hook opens it and `sync_complete` commits it, so a
//! crash mid-sync leaves the database as it was before the sync, and a million inserts cost
//! one commit instead of a million. A hook's failed statement (a constraint, a missing row)
//! changes nothing and leaves the transaction open, so what the engine reports as applied is
//! what the transaction commits (a sync stopped at a failure commits what it applied, as
//! memory holds it). A sync that applied nothing rolls back in `sync_finished`. When SQLite
//! itself rolls the transaction back (disk full, I/O error) or the commit fails, the hook
//! says so and the database is at its state before the sync: reload it.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use statesync::Store;
use statesync::sync::{Adapter, HookError, Hooks, Parents, SyncReport};

use crate::inventory::{
    Device, DeviceChanges, Interface, InterfaceChanges, Inventory, Site, SiteChanges,
};

const SCHEMA: &str = "
PRAGMA foreign_keys = ON;
CREATE TABLE IF NOT EXISTS site (
    name   TEXT PRIMARY KEY,
    region TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS device (
    site   TEXT NOT NULL REFERENCES site(name),
    name   TEXT NOT NULL UNIQUE,
    role   TEXT NOT NULL,
    model  TEXT NOT NULL,
    serial TEXT NOT NULL,
    PRIMARY KEY (site, name)
);
CREATE TABLE IF NOT EXISTS interface (
    device      TEXT NOT NULL REFERENCES device(name),
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    enabled     INTEGER NOT NULL,
    mtu         INTEGER NOT NULL,
    mode        TEXT NOT NULL,
    vlans       TEXT NOT NULL,
    PRIMARY KEY (device, name)
);
";

/// An adapter over a SQLite database holding an inventory. Device names are unique across
/// sites in the dataset (they embed the site name), which is what lets an interface refer
/// to its device by name alone.
pub struct SqliteInventory {
    conn: Connection,
    in_transaction: bool,
}

fn vlans_text(vlans: &[u16]) -> String {
    serde_json::to_string(vlans).unwrap_or_else(|_| String::from("[]"))
}

impl SqliteInventory {
    /// Opens (or creates) the database, with foreign keys on and the schema in place.
    ///
    /// # Errors
    /// The SQLite error.
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn,
            in_transaction: false,
        })
    }

    /// The connection, for queries.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Loads the whole inventory.
    ///
    /// # Errors
    /// The SQLite error, or a row that breaks a key (reported by the store).
    pub fn load(&self) -> Result<Inventory, HookError> {
        let mut inventory = Inventory::default();
        let mut sites = self
            .conn
            .prepare("SELECT name, region FROM site ORDER BY rowid")?;
        for row in sites.query_map([], |row| {
            Ok(Site {
                name: row.get(0)?,
                region: row.get(1)?,
                devices: Store::new(),
            })
        })? {
            inventory.sites.insert(row?)?;
        }
        let mut devices = self
            .conn
            .prepare("SELECT site, name, role, model, serial FROM device ORDER BY rowid")?;
        let mut device_site = std::collections::HashMap::new();
        for row in devices.query_map([], |row| {
            Ok(Device {
                site: row.get(0)?,
                name: row.get(1)?,
                role: row.get(2)?,
                model: row.get(3)?,
                serial: row.get(4)?,
                interfaces: Store::new(),
            })
        })? {
            let device = row?;
            device_site.insert(device.name.clone(), device.site.clone());
            let site = inventory
                .sites
                .get_mut(&crate::inventory::SiteKey {
                    name: device.site.clone(),
                })
                .ok_or("device row without its site")?;
            site.devices.insert(device)?;
        }
        let mut interfaces = self.conn.prepare(
            "SELECT device, name, description, enabled, mtu, mode, vlans FROM interface ORDER BY rowid",
        )?;
        for row in interfaces.query_map([], |row| {
            let vlans: String = row.get(6)?;
            Ok((
                Interface {
                    device: row.get(0)?,
                    name: row.get(1)?,
                    description: row.get(2)?,
                    enabled: row.get(3)?,
                    mtu: row.get(4)?,
                    mode: row.get(5)?,
                    vlans: Vec::new(),
                },
                vlans,
            ))
        })? {
            let (mut interface, vlans) = row?;
            interface.vlans = serde_json::from_str(&vlans)?;
            let site = device_site
                .get(&interface.device)
                .ok_or("interface row without its device")?;
            let device = inventory
                .sites
                .get_mut(&crate::inventory::SiteKey { name: site.clone() })
                .and_then(|site| {
                    site.devices.get_mut(&crate::inventory::DeviceKey {
                        site: site.name.clone(),
                        name: interface.device.clone(),
                    })
                })
                .ok_or("interface row without its device")?;
            device.interfaces.insert(interface)?;
        }
        Ok(inventory)
    }

    /// Counts rows of a table (`site`, `device` or `interface`).
    ///
    /// # Errors
    /// The SQLite error.
    pub fn count(&self, table: &str) -> rusqlite::Result<i64> {
        let sql = match table {
            "site" => "SELECT COUNT(*) FROM site",
            "device" => "SELECT COUNT(*) FROM device",
            _ => "SELECT COUNT(*) FROM interface",
        };
        self.conn.query_row(sql, [], |row| row.get(0))
    }

    /// Whether a site row exists.
    ///
    /// # Errors
    /// The SQLite error.
    pub fn has_site(&self, name: &str) -> rusqlite::Result<bool> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM site WHERE name = ?1", [name], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn execute(&mut self, sql: &str, params: impl rusqlite::Params) -> Result<(), HookError> {
        if !self.in_transaction {
            self.conn.execute_batch("BEGIN IMMEDIATE")?;
            self.in_transaction = true;
        }
        let changed = match self
            .conn
            .prepare_cached(sql)
            .and_then(|mut statement| statement.execute(params))
        {
            Ok(changed) => changed,
            Err(error) if self.conn.is_autocommit() => {
                self.in_transaction = false;
                return Err(format!(
                    "{error}; SQLite rolled the whole transaction back: reload the database"
                )
                .into());
            }
            Err(error) => return Err(error.into()),
        };
        if changed == 1 {
            Ok(())
        } else {
            Err(format!("expected to change one row, changed {changed}").into())
        }
    }
}

impl Drop for SqliteInventory {
    /// A transaction still open here was never completed: roll it back.
    fn drop(&mut self) {
        if self.in_transaction {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

impl Adapter for SqliteInventory {
    fn sync_complete(&mut self, _report: &SyncReport) -> Result<(), HookError> {
        if self.in_transaction {
            self.in_transaction = false;
            if let Err(error) = self.conn.execute_batch("COMMIT") {
                let _ = self.conn.execute_batch("ROLLBACK");
                return Err(format!(
                    "commit failed ({error}); the database is as before the sync: reload it"
                )
                .into());
            }
        }
        Ok(())
    }

    fn sync_finished(&mut self, _report: &SyncReport) {
        if self.in_transaction {
            self.in_transaction = false;
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// The root has no row.
impl Hooks<Inventory> for SqliteInventory {}

impl Hooks<Site> for SqliteInventory {
    fn create(&mut self, site: &Site, _parents: &Parents) -> Result<(), HookError> {
        self.execute(
            "INSERT INTO site (name, region) VALUES (?1, ?2)",
            params![site.name, site.region],
        )
    }

    fn update(
        &mut self,
        site: &Site,
        _changes: &SiteChanges,
        _parents: &Parents,
    ) -> Result<(), HookError> {
        self.execute(
            "UPDATE site SET region = ?2 WHERE name = ?1",
            params![site.name, site.region],
        )
    }

    fn delete(&mut self, site: &Site, _parents: &Parents) -> Result<(), HookError> {
        self.execute("DELETE FROM site WHERE name = ?1", params![site.name])
    }
}

impl Hooks<Device> for SqliteInventory {
    fn create(&mut self, device: &Device, _parents: &Parents) -> Result<(), HookError> {
        self.execute(
            "INSERT INTO device (site, name, role, model, serial) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                device.site,
                device.name,
                device.role,
                device.model,
                device.serial
            ],
        )
    }

    fn update(
        &mut self,
        device: &Device,
        _changes: &DeviceChanges,
        _parents: &Parents,
    ) -> Result<(), HookError> {
        self.execute(
            "UPDATE device SET role = ?3, model = ?4, serial = ?5 WHERE site = ?1 AND name = ?2",
            params![
                device.site,
                device.name,
                device.role,
                device.model,
                device.serial
            ],
        )
    }

    fn delete(&mut self, device: &Device, _parents: &Parents) -> Result<(), HookError> {
        self.execute(
            "DELETE FROM device WHERE site = ?1 AND name = ?2",
            params![device.site, device.name],
        )
    }
}

impl Hooks<Interface> for SqliteInventory {
    fn create(&mut self, i: &Interface, _parents: &Parents) -> Result<(), HookError> {
        self.execute(
            "INSERT INTO interface (device, name, description, enabled, mtu, mode, vlans)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                i.device,
                i.name,
                i.description,
                i.enabled,
                i.mtu,
                i.mode,
                vlans_text(&i.vlans)
            ],
        )
    }

    fn update(
        &mut self,
        i: &Interface,
        _changes: &InterfaceChanges,
        _parents: &Parents,
    ) -> Result<(), HookError> {
        self.execute(
            "UPDATE interface SET description = ?3, enabled = ?4, mtu = ?5, mode = ?6, vlans = ?7
             WHERE device = ?1 AND name = ?2",
            params![
                i.device,
                i.name,
                i.description,
                i.enabled,
                i.mtu,
                i.mode,
                vlans_text(&i.vlans)
            ],
        )
    }

    fn delete(&mut self, i: &Interface, _parents: &Parents) -> Result<(), HookError> {
        self.execute(
            "DELETE FROM interface WHERE device = ?1 AND name = ?2",
            params![i.device, i.name],
        )
    }
}
