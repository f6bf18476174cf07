//! The service's SQLite database: the inventory's three tables with their foreign keys
//! enforced, and one function per endpoint. A refusal (duplicate, missing parent, children
//! left, unknown key) is told apart from a database failure by SQLite's extended error
//! code, so the constraints themselves decide, as they would in a real system.

use std::path::Path;

use rusqlite::{Connection, ErrorCode, ffi, params};

use crate::wire::{
    DevicePatch, DeviceRow, ErrorKind, InterfacePatch, InterfaceRow, InventoryRows, NewDevice,
    NewInterface, SitePatch, SiteRow,
};

/// The schema of `statesync_suite::sqlite`, with the foreign keys' delete rule spelt out:
/// `RESTRICT`, so deleting a parent that still has children is refused (a sync engine
/// deletes children first) rather than cascading behind the engine's back.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS site (
    name   TEXT PRIMARY KEY,
    region TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS device (
    site   TEXT NOT NULL REFERENCES site(name) ON DELETE RESTRICT,
    name   TEXT NOT NULL UNIQUE,
    role   TEXT NOT NULL,
    model  TEXT NOT NULL,
    serial TEXT NOT NULL,
    PRIMARY KEY (site, name)
);
CREATE TABLE IF NOT EXISTS interface (
    device      TEXT NOT NULL REFERENCES device(name) ON DELETE RESTRICT,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    enabled     INTEGER NOT NULL,
    mtu         INTEGER NOT NULL,
    mode        TEXT NOT NULL,
    vlans       TEXT NOT NULL,
    PRIMARY KEY (device, name)
);
";

/// Why a statement did not change the database.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DbError {
    /// A constraint or a missing key refused it: the client's fault.
    #[error("{message}")]
    Refused {
        /// The kind of refusal.
        kind: ErrorKind,
        /// What was refused.
        message: String,
    },
    /// SQLite failed: the service's fault.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// VLAN ids could not be written as, or read back from, their JSON column.
    #[error("the vlans column: {0}")]
    Vlans(#[from] serde_json::Error),
}

/// What a statement does, to tell what a foreign key failure means.
#[derive(Clone, Copy)]
enum Write {
    Insert,
    Update,
    Delete,
}

fn refused(kind: ErrorKind, message: String) -> DbError {
    DbError::Refused { kind, message }
}

/// The inventory database.
#[derive(Debug)]
pub(crate) struct Database {
    conn: Connection,
}

impl Database {
    /// Opens the database file, or a fresh in-memory database for `None`, with foreign
    /// keys enforced and the tables created if they do not exist.
    pub(crate) fn open(path: Option<&Path>) -> rusqlite::Result<Self> {
        let conn = match path {
            Some(path) => Connection::open(path)?,
            None => Connection::open_in_memory()?,
        };
        conn.execute_batch("PRAGMA foreign_keys = ON;")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self { conn })
    }

    /// Runs one write of one row and classifies its failure.
    fn write(
        &self,
        write: Write,
        what: &str,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<(), DbError> {
        let result = self
            .conn
            .prepare_cached(sql)
            .and_then(|mut statement| statement.execute(params));
        match result {
            Ok(0) => Err(refused(
                ErrorKind::NotFound,
                format!("{what} does not exist"),
            )),
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(error, _))
                if error.code == ErrorCode::ConstraintViolation =>
            {
                Err(constraint(write, what, error.extended_code))
            }
            Err(error) => Err(error.into()),
        }
    }

    pub(crate) fn create_site(&self, site: &SiteRow) -> Result<(), DbError> {
        self.write(
            Write::Insert,
            &format!("site {}", site.name),
            "INSERT INTO site (name, region) VALUES (?1, ?2)",
            params![site.name, site.region],
        )
    }

    pub(crate) fn update_site(&self, name: &str, patch: &SitePatch) -> Result<(), DbError> {
        self.write(
            Write::Update,
            &format!("site {name}"),
            "UPDATE site SET region = COALESCE(?2, region) WHERE name = ?1",
            params![name, patch.region],
        )
    }

    pub(crate) fn delete_site(&self, name: &str) -> Result<(), DbError> {
        self.write(
            Write::Delete,
            &format!("site {name}"),
            "DELETE FROM site WHERE name = ?1",
            params![name],
        )
    }

    pub(crate) fn create_device(&self, site: &str, device: &NewDevice) -> Result<(), DbError> {
        self.write(
            Write::Insert,
            // Not "of site": device names are unique across sites, so the device that
            // exists already may be in another site.
            &format!("device {} (for site {site})", device.name),
            "INSERT INTO device (site, name, role, model, serial) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![site, device.name, device.role, device.model, device.serial],
        )
    }

    pub(crate) fn update_device(
        &self,
        site: &str,
        name: &str,
        patch: &DevicePatch,
    ) -> Result<(), DbError> {
        self.write(
            Write::Update,
            &format!("device {name} of site {site}"),
            "UPDATE device SET role = COALESCE(?3, role), model = COALESCE(?4, model),
             serial = COALESCE(?5, serial) WHERE site = ?1 AND name = ?2",
            params![site, name, patch.role, patch.model, patch.serial],
        )
    }

    pub(crate) fn delete_device(&self, site: &str, name: &str) -> Result<(), DbError> {
        self.write(
            Write::Delete,
            &format!("device {name} of site {site}"),
            "DELETE FROM device WHERE site = ?1 AND name = ?2",
            params![site, name],
        )
    }

    pub(crate) fn create_interface(
        &self,
        device: &str,
        interface: &NewInterface,
    ) -> Result<(), DbError> {
        self.write(
            Write::Insert,
            &format!("interface {} of device {device}", interface.name),
            "INSERT INTO interface (device, name, description, enabled, mtu, mode, vlans)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                device,
                interface.name,
                interface.description,
                interface.enabled,
                interface.mtu,
                interface.mode,
                serde_json::to_string(&interface.vlans)?
            ],
        )
    }

    pub(crate) fn update_interface(
        &self,
        device: &str,
        name: &str,
        patch: &InterfacePatch,
    ) -> Result<(), DbError> {
        let vlans = patch
            .vlans
            .as_ref()
            .map(serde_json::to_string)
            .transpose()?;
        self.write(
            Write::Update,
            &format!("interface {name} of device {device}"),
            "UPDATE interface SET description = COALESCE(?3, description),
             enabled = COALESCE(?4, enabled), mtu = COALESCE(?5, mtu),
             mode = COALESCE(?6, mode), vlans = COALESCE(?7, vlans)
             WHERE device = ?1 AND name = ?2",
            params![
                device,
                name,
                patch.description,
                patch.enabled,
                patch.mtu,
                patch.mode,
                vlans
            ],
        )
    }

    pub(crate) fn delete_interface(&self, device: &str, name: &str) -> Result<(), DbError> {
        self.write(
            Write::Delete,
            &format!("interface {name} of device {device}"),
            "DELETE FROM interface WHERE device = ?1 AND name = ?2",
            params![device, name],
        )
    }

    /// Every row, parents' tables first, each in insertion order.
    pub(crate) fn rows(&self) -> Result<InventoryRows, DbError> {
        let sites = self
            .conn
            .prepare_cached("SELECT name, region FROM site ORDER BY rowid")?
            .query_map([], |row| {
                Ok(SiteRow {
                    name: row.get(0)?,
                    region: row.get(1)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let devices = self
            .conn
            .prepare_cached("SELECT site, name, role, model, serial FROM device ORDER BY rowid")?
            .query_map([], |row| {
                Ok(DeviceRow {
                    site: row.get(0)?,
                    name: row.get(1)?,
                    role: row.get(2)?,
                    model: row.get(3)?,
                    serial: row.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut interfaces = Vec::new();
        let mut statement = self.conn.prepare_cached(
            "SELECT device, name, description, enabled, mtu, mode, vlans FROM interface
             ORDER BY rowid",
        )?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let vlans: String = row.get(6)?;
            interfaces.push(InterfaceRow {
                device: row.get(0)?,
                name: row.get(1)?,
                description: row.get(2)?,
                enabled: row.get(3)?,
                mtu: row.get(4)?,
                mode: row.get(5)?,
                vlans: serde_json::from_str(&vlans)?,
            });
        }
        Ok(InventoryRows {
            sites,
            devices,
            interfaces,
        })
    }
}

/// What a constraint failure means for the client.
fn constraint(write: Write, what: &str, code: i32) -> DbError {
    match (code, write) {
        (ffi::SQLITE_CONSTRAINT_PRIMARYKEY | ffi::SQLITE_CONSTRAINT_UNIQUE, _) => {
            refused(ErrorKind::Duplicate, format!("{what} exists already"))
        }
        // SQLite runs `ON DELETE RESTRICT` as a trigger, and reports it as one.
        (ffi::SQLITE_CONSTRAINT_FOREIGNKEY | ffi::SQLITE_CONSTRAINT_TRIGGER, Write::Delete) => {
            refused(
                ErrorKind::HasChildren,
                format!("{what} still has children; delete them first"),
            )
        }
        (ffi::SQLITE_CONSTRAINT_FOREIGNKEY, Write::Insert | Write::Update) => refused(
            ErrorKind::MissingParent,
            format!("the parent of {what} does not exist"),
        ),
        _ => refused(
            ErrorKind::BadRequest,
            format!("{what} breaks a constraint (extended code {code})"),
        ),
    }
}
