//! The SQLite side of the inventory example: an adapter whose hooks run SQL, and a loader.
//!
//! One transaction per sync: the first hook opens it and `sync_complete` commits it, so a
//! crash mid-sync leaves the database as it was before the sync, and a million inserts cost
//! one commit instead of a million. The schema is created inside that first transaction, so
//! a sync that does not commit leaves no tables behind, and [`SqliteInventory::open`]
//! refuses a database that holds tables other than the inventory's before writing anything.
//!
//! By default the adapter is all-or-nothing: a sync with a failed change is rolled back
//! whole. [`SqliteInventory::all_or_nothing`]`(false)` commits what succeeded instead (a
//! hook's failed statement changes nothing, so what the engine reports as applied is what
//! the transaction commits, as memory holds it). How the last sync's transaction ended, as
//! far as SQLite says, is [`SqliteInventory::ending`]: callers report that, not what they
//! hoped for.

use std::fmt;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, ffi, params};
use statesync::Store;
use statesync::sync::{Adapter, Fatal, HookError, Hooks, Parents, SyncReport};

use crate::inventory::{
    Device, DeviceChanges, Interface, InterfaceChanges, Inventory, ParentField, Site, SiteChanges,
};

/// How many of each table's first columns are its key (its primary key, in order).
const KEY_COLUMNS: [usize; 3] = [1, 2, 2];

/// The inventory's tables and their columns, in order, with their declared types (a column
/// of another type would store what is written to it under that type's affinity, and a
/// later load would refuse it).
const TABLES: [(&str, &[(&str, &str)]); 3] = [
    ("site", &[("name", "TEXT"), ("region", "TEXT")]),
    (
        "device",
        &[
            ("site", "TEXT"),
            ("name", "TEXT"),
            ("role", "TEXT"),
            ("model", "TEXT"),
            ("serial", "TEXT"),
        ],
    ),
    (
        "interface",
        &[
            ("device", "TEXT"),
            ("name", "TEXT"),
            ("description", "TEXT"),
            ("enabled", "INTEGER"),
            ("mtu", "INTEGER"),
            ("mode", "TEXT"),
            ("vlans", "TEXT"),
        ],
    ),
];

const SCHEMA: &str = "
CREATE TABLE site (
    name   TEXT PRIMARY KEY,
    region TEXT NOT NULL
);
CREATE TABLE device (
    site   TEXT NOT NULL REFERENCES site(name),
    name   TEXT NOT NULL UNIQUE,
    role   TEXT NOT NULL,
    model  TEXT NOT NULL,
    serial TEXT NOT NULL,
    PRIMARY KEY (site, name)
);
CREATE TABLE interface (
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

/// Why a database could not be opened. Nothing was written to it.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// SQLite could not open or read it (a missing file when read-only, not a database).
    #[error("{path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The name is one SQLite may take for a database in memory (empty, `:memory:`, a
    /// `file:` URI), which a sync would lose when it ends, or it names something other than
    /// a regular file (a FIFO, which would block the open forever, a device, a directory).
    #[error("{path:?} {reason}; refusing it as the database")]
    NotAFile {
        /// The name given.
        path: PathBuf,
        /// What it names instead (`is a directory`, `names a database in memory`, ...).
        reason: String,
    },
    /// A write to the database was interrupted (a crash, a killed sync) and left a hot
    /// journal, which must be rolled back before the database can be read: a read-only
    /// open cannot do that. Opening it once for writing ([`SqliteInventory::open`]) rolls
    /// it back.
    #[error(
        "{path}: a write to it was interrupted and left a journal to roll back, which a \
         read-only open cannot do; open it once for writing to recover it (the inventory \
         example: run it without --dry-run)"
    )]
    Interrupted {
        /// The database file.
        path: PathBuf,
    },
    /// The database holds tables (or other objects) that are not the inventory's.
    #[error("{path}: holds {found}, not the inventory's tables; refusing to use it")]
    NotOurs {
        /// The database file.
        path: PathBuf,
        /// What it holds instead, as `table users, index users_by_email`.
        found: String,
    },
}

/// Refuses the names SQLite may take for a database kept in memory and lost when closed
/// (an empty name, `:memory:`, or a URI: the bundled SQLite reads a name that starts with
/// `file:` as one, whatever the open flags say, and `file:x?mode=memory` is in memory): a
/// sync into one would report a commit that nothing kept. (A file whose name starts with
/// `file:` is reached as `./file:...`.)
fn refuse_in_memory(path: &Path) -> Result<(), OpenError> {
    let name = path.as_os_str();
    // Something other than a regular file that is there (a FIFO, a device, a directory):
    // opening a FIFO blocks until a writer comes, forever.
    let found = std::fs::metadata(path)
        .ok()
        .and_then(|found| statesync::file::not_regular(&found));
    let reason = if name.is_empty() || name == ":memory:" {
        "names a database in memory, which nothing keeps after the sync".to_owned()
    } else if name.as_encoded_bytes().starts_with(b"file:") {
        "starts with `file:`, which SQLite reads as a URI (a file of that name is ./file:...)"
            .to_owned()
    } else if let Some(found) = found {
        format!("is {found}, not a regular file")
    } else {
        return Ok(());
    };
    Err(OpenError::NotAFile {
        path: path.to_owned(),
        reason,
    })
}

/// How a sync's transaction ended, as SQLite reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The sync ran no statement: nothing was written.
    NothingWritten,
    /// `COMMIT` succeeded: the database holds what the report says was applied.
    Committed,
    /// The adapter rolled the transaction back and SQLite confirmed it: the database is as
    /// it was before the sync.
    RolledBack {
        /// Why (a failed change under all-or-nothing, a failed `COMMIT`, nothing applied).
        reason: String,
    },
    /// Not committed, but SQLite ended the transaction itself (disk full, I/O error) or
    /// refused the rollback, so whether the rollback finished on disk is not known; SQLite
    /// finishes it from the journal the next time the database is opened.
    Abandoned {
        /// SQLite's error.
        error: String,
    },
}

impl Ending {
    /// Whether the sync's changes are in the database.
    pub fn committed(&self) -> bool {
        matches!(self, Ending::Committed)
    }
}

impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ending::NothingWritten => f.write_str("nothing was written"),
            Ending::Committed => f.write_str("committed"),
            Ending::RolledBack { reason } => write!(
                f,
                "rolled back ({reason}): the database is as it was before the sync"
            ),
            Ending::Abandoned { error } => write!(
                f,
                "not committed ({error}); SQLite ended the transaction itself, and restores \
                 the database to its state before the sync from the journal, if one was left, \
                 when it is next opened"
            ),
        }
    }
}

/// Where the adapter's transaction is.
#[derive(Debug, Default)]
enum Transaction {
    /// None open.
    #[default]
    Idle,
    /// Open: the next hooks run inside it.
    Open,
    /// SQLite ended it after an error: later hooks of the sync are refused.
    Abandoned(String),
}

/// An adapter over a SQLite database holding an inventory. Device names are unique across
/// sites in the dataset (they embed the site name), which is what lets an interface refer
/// to its device by name alone.
pub struct SqliteInventory {
    conn: Connection,
    /// Whether the inventory's tables exist (committed, or in the open transaction).
    schema: bool,
    all_or_nothing: bool,
    transaction: Transaction,
    /// Whether this sync ran a statement of a hook.
    touched: bool,
    ending: Option<Ending>,
}

fn vlans_text(vlans: &[u16]) -> String {
    serde_json::to_string(vlans).unwrap_or_else(|_| String::from("[]"))
}

impl SqliteInventory {
    /// Opens (or creates) the database for syncing. An empty or new database gets the
    /// inventory's tables with the first sync's transaction; a database that holds other
    /// tables is refused before anything is written.
    ///
    /// # Errors
    /// [`OpenError`].
    pub fn open(path: &Path) -> Result<Self, OpenError> {
        refuse_in_memory(path)?;
        let conn = Connection::open(path).map_err(|source| sqlite_error(path, source))?;
        Self::checked(conn, path)
    }

    /// Opens an existing database read-only, to load or plan: nothing is ever written (a
    /// sync through it fails at its first hook).
    ///
    /// # Errors
    /// [`OpenError`]; a missing file is [`OpenError::Sqlite`].
    pub fn open_read_only(path: &Path) -> Result<Self, OpenError> {
        refuse_in_memory(path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|source| sqlite_error(path, source))?;
        Self::checked(conn, path)
    }

    fn checked(conn: Connection, path: &Path) -> Result<Self, OpenError> {
        conn.execute_batch("PRAGMA foreign_keys = ON")
            .map_err(|source| sqlite_error(path, source))?;
        let schema = match find_schema(&conn).map_err(|source| sqlite_error(path, source))? {
            Schema::Empty => false,
            Schema::Ours => true,
            Schema::Foreign(found) => {
                return Err(OpenError::NotOurs {
                    path: path.to_owned(),
                    found,
                });
            }
        };
        Ok(Self {
            conn,
            schema,
            all_or_nothing: true,
            transaction: Transaction::Idle,
            touched: false,
            ending: None,
        })
    }

    /// All-or-nothing (`true`, the default): a sync with a failed change is rolled back in
    /// `sync_complete`, which then fails. `false`: what succeeded is committed.
    #[must_use]
    pub fn all_or_nothing(mut self, on: bool) -> Self {
        self.all_or_nothing = on;
        self
    }

    /// How the last sync's transaction ended; `None` before the first sync.
    pub fn ending(&self) -> Option<&Ending> {
        self.ending.as_ref()
    }

    /// The connection, for queries.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Loads the whole inventory (empty when the database has no tables yet), outside any
    /// transaction: to plan a sync through this adapter, use
    /// [`SqliteInventory::load_for_sync`], or another process's sync that commits between
    /// this load and that sync's first write is written over.
    ///
    /// # Errors
    /// The SQLite error, a row that breaks a key (reported by the store), or a row that
    /// cannot be read (a value of the wrong type, out of range, VLANs that are not a JSON
    /// list of numbers, a parent that is not there), named by its key.
    pub fn load(&self) -> Result<Inventory, HookError> {
        let mut inventory = Inventory::default();
        if !self.schema {
            return Ok(inventory);
        }
        let mut sites = self
            .conn
            .prepare("SELECT name, region, rowid FROM site ORDER BY rowid")?;
        for row in sites.query_map([], |row| {
            Ok((row.get::<_, i64>(2)?, row.get::<_, String>(0), row.get(1)))
        })? {
            let (rowid, name, region) = row?;
            let name = key_text("site", rowid, name)?;
            let named =
                |error: &dyn fmt::Display| row_error("site", format_args!("name={name}"), error);
            let site = Site {
                region: region.map_err(|error| named(&column_error("site", &error)))?,
                name: name.clone(),
                devices: Store::new(),
            };
            inventory.sites.insert(site)?;
        }
        let mut devices = self
            .conn
            .prepare("SELECT site, name, role, model, serial, rowid FROM device ORDER BY rowid")?;
        let mut device_site = std::collections::HashMap::new();
        for row in devices.query_map([], |row| {
            let rest = (|| -> rusqlite::Result<(String, String, String)> {
                Ok((row.get(2)?, row.get(3)?, row.get(4)?))
            })();
            let rowid = row.get::<_, i64>(5)?;
            Ok((
                rowid,
                row.get::<_, String>(0),
                row.get::<_, String>(1),
                rest,
            ))
        })? {
            let (rowid, site_name, name, rest) = row?;
            let (site_name, name) = (
                key_text("device", rowid, site_name)?,
                key_text("device", rowid, name)?,
            );
            let named = |error: &dyn fmt::Display| {
                row_error(
                    "device",
                    format_args!("site={site_name}, name={name}"),
                    error,
                )
            };
            let (role, model, serial) =
                rest.map_err(|error| named(&column_error("device", &error)))?;
            device_site.insert(name.clone(), site_name.clone());
            let mut site = inventory
                .sites
                .get_mut(&crate::inventory::SiteKey {
                    name: site_name.clone(),
                })
                .ok_or_else(|| named(&format_args!("no site {site_name}")))?;
            site.devices.insert(Device {
                site: site_name.clone(),
                name: name.clone(),
                role,
                model,
                serial,
                interfaces: Store::new(),
            })?;
        }
        // The text this adapter writes for a row's VLANs (`vlans_text`), one buffer per load.
        let mut canonical = Vec::new();
        let mut interfaces = self.conn.prepare(
            "SELECT device, name, description, enabled, mtu, mode, vlans, rowid FROM interface \
             ORDER BY rowid",
        )?;
        for row in interfaces.query_map([], |row| {
            let rest = (|| -> rusqlite::Result<(String, i64, u32, String, String)> {
                Ok((
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                    row.get(6)?,
                ))
            })();
            let rowid = row.get::<_, i64>(7)?;
            Ok((
                rowid,
                row.get::<_, String>(0),
                row.get::<_, String>(1),
                rest,
            ))
        })? {
            let (rowid, device, name, rest) = row?;
            let (device, name) = (
                key_text("interface", rowid, device)?,
                key_text("interface", rowid, name)?,
            );
            let named = |error: &dyn fmt::Display| {
                row_error(
                    "interface",
                    format_args!("device={device}, name={name}"),
                    error,
                )
            };
            let (description, enabled, mtu, mode, vlans) =
                rest.map_err(|error| named(&column_error("interface", &error)))?;
            // Stored as 0 or 1; any other number is not a value this adapter wrote (rusqlite
            // would read it as `true`, and a sync would never see the drift).
            let enabled = match enabled {
                0 => false,
                1 => true,
                other => return Err(named(&format_args!("enabled {other}: not 0 or 1"))),
            };
            let stored = vlans;
            let vlans: Vec<u16> = serde_json::from_str(&stored)
                .map_err(|error| named(&format_args!("vlans {}: {error}", Excerpt(&stored))))?;
            // Only as this adapter writes them (`[1,2]`): other text that reads as the same
            // list (` [ 1 ] `) was written by something else.
            canonical.clear();
            if serde_json::to_writer(&mut canonical, &vlans).is_err()
                || canonical != stored.as_bytes()
            {
                return Err(named(&format_args!(
                    "vlans {}: not as this adapter writes them ({})",
                    Excerpt(&stored),
                    String::from_utf8_lossy(&canonical),
                )));
            }
            let no_device = || named(&format_args!("no device {device}"));
            let site = device_site.get(&device).ok_or_else(no_device)?;
            let mut site = inventory
                .sites
                .get_mut(&crate::inventory::SiteKey { name: site.clone() })
                .ok_or_else(no_device)?;
            let key = crate::inventory::DeviceKey {
                site: site.name.clone(),
                name: device.clone(),
            };
            let mut holder = site.devices.get_mut(&key).ok_or_else(no_device)?;
            holder.interfaces.insert(Interface {
                device: device.clone(),
                name: name.clone(),
                description,
                enabled,
                mtu,
                mode,
                vlans,
            })?;
        }
        Ok(inventory)
    }

    /// Counts rows of a table (`site`, `device` or `interface`); 0 before the first sync.
    ///
    /// # Errors
    /// The SQLite error.
    pub fn count(&self, table: &str) -> rusqlite::Result<i64> {
        if !self.schema {
            return Ok(0);
        }
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
        if !self.schema {
            return Ok(false);
        }
        Ok(self
            .conn
            .query_row("SELECT 1 FROM site WHERE name = ?1", [name], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Opens the sync's transaction, taking the database's write lock, and loads the
    /// inventory inside it: the sync that follows through this adapter (which commits in
    /// `sync_complete`) is planned on what the database holds until it commits, so two
    /// processes syncing into one database take turns. Loaded before the lock, a second
    /// process's plan missed what the first committed meanwhile, and its updates (which
    /// match rows by key) wrote over the first one's edits, both runs reporting success (an
    /// outside tester). If no sync follows, dropping the adapter rolls the transaction back.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), statesync::sync::HookError> {
    /// use statesync::sync::{SyncModel, SyncOptions};
    /// use statesync_suite::sqlite::SqliteInventory;
    ///
    /// # let source = statesync_suite::inventory::Inventory::default();
    /// let mut db = SqliteInventory::open("inventory.sqlite".as_ref())?;
    /// let mut target = db.load_for_sync()?;
    /// let report = target.sync_from(&source, &mut db, SyncOptions::default())?;
    /// assert!(report.is_success(), "{report}"); // committed, or nothing to do
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`SqliteInventory::load`]; another connection holding the write lock past the busy
    /// timeout (5 s), or a read-only database, fails it before anything is read.
    pub fn load_for_sync(&mut self) -> Result<Inventory, HookError> {
        if matches!(self.transaction, Transaction::Idle) {
            self.begin().map_err(|error| {
                format!(
                    "cannot take the database's write lock to read it for the sync (another \
                     sync holding it past the busy timeout, or a read-only file): {error}"
                )
            })?;
        }
        self.load()
    }

    /// Opens the sync's transaction, with the tables in it if they do not exist yet (another
    /// process may have made them since this adapter was opened: they are looked for again
    /// under the lock).
    ///
    /// # Errors
    /// A transaction that cannot open (another connection holds the database's write lock
    /// past the busy timeout, a read-only database) stops the sync ([`Fatal`]): every later
    /// hook would wait the timeout and fail the same way (`--partial` waited 5 s per change).
    fn begin(&mut self) -> Result<(), HookError> {
        if let Err(error) = self.conn.execute_batch("BEGIN IMMEDIATE") {
            return Err(Fatal::new(error).into());
        }
        self.transaction = Transaction::Open;
        self.ending = None;
        self.schema = matches!(find_schema(&self.conn), Ok(Schema::Ours));
        if !self.schema {
            if let Err(error) = self.conn.execute_batch(SCHEMA) {
                self.end_without_commit(format!("creating the tables failed: {error}"));
                return Err(error.into());
            }
            self.schema = true;
        }
        Ok(())
    }

    fn execute(&mut self, sql: &str, params: impl rusqlite::Params) -> Result<(), HookError> {
        self.touched = true;
        match &self.transaction {
            Transaction::Abandoned(error) => {
                return Err(format!(
                    "not attempted: SQLite ended this sync's transaction after {error}"
                )
                .into());
            }
            Transaction::Idle => self.begin()?,
            Transaction::Open => {}
        }
        let changed = match self
            .conn
            .prepare_cached(sql)
            .and_then(|mut statement| statement.execute(params))
        {
            Ok(changed) => changed,
            Err(error) if self.conn.is_autocommit() => {
                self.transaction = Transaction::Abandoned(error.to_string());
                return Err(format!(
                    "{error}; SQLite ended the transaction: nothing of this sync will be committed"
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

    /// Ends the open (or abandoned) transaction without committing and records how.
    fn end_without_commit(&mut self, reason: String) -> Ending {
        let ending = match std::mem::take(&mut self.transaction) {
            Transaction::Idle => Ending::NothingWritten,
            Transaction::Abandoned(error) => Ending::Abandoned { error },
            Transaction::Open if self.conn.is_autocommit() => Ending::Abandoned { error: reason },
            Transaction::Open => match self.conn.execute_batch("ROLLBACK") {
                Ok(()) => Ending::RolledBack { reason },
                Err(error) => Ending::Abandoned {
                    error: format!("{reason}; ROLLBACK failed: {error}"),
                },
            },
        };
        // The tables may have been created in the transaction that just ended.
        self.schema = matches!(find_schema(&self.conn), Ok(Schema::Ours));
        self.ending = Some(ending.clone());
        ending
    }

    /// Commits the open transaction and records how that ended.
    fn commit(&mut self) -> Result<(), HookError> {
        match self.conn.execute_batch("COMMIT") {
            Ok(()) => {
                self.transaction = Transaction::Idle;
                self.ending = Some(Ending::Committed);
                Ok(())
            }
            Err(error) => Err(self
                .end_without_commit(format!("COMMIT failed: {error}"))
                .to_string()
                .into()),
        }
    }
}

fn sqlite_error(path: &Path, source: rusqlite::Error) -> OpenError {
    let path = path.to_owned();
    let hot_journal = matches!(
        source.sqlite_error(),
        Some(error) if matches!(
            error.extended_code,
            ffi::SQLITE_READONLY_ROLLBACK | ffi::SQLITE_READONLY_RECOVERY
        )
    );
    if hot_journal {
        return OpenError::Interrupted { path };
    }
    OpenError::Sqlite { path, source }
}

/// What a database holds.
enum Schema {
    /// No tables.
    Empty,
    /// Exactly the inventory's tables and columns.
    Ours,
    /// Anything else, described.
    Foreign(String),
}

fn find_schema(conn: &Connection) -> rusqlite::Result<Schema> {
    let mut statement = conn.prepare(
        "SELECT type, name FROM sqlite_master WHERE substr(name, 1, 7) != 'sqlite_' ORDER BY name",
    )?;
    let objects = statement
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if objects.is_empty() {
        return Ok(Schema::Empty);
    }
    let foreign: Vec<String> = objects
        .iter()
        .filter(|(kind, name)| kind != "table" || !TABLES.iter().any(|(table, _)| table == name))
        .map(|(kind, name)| format!("{kind} {name}"))
        .collect();
    if !foreign.is_empty() {
        return Ok(Schema::Foreign(foreign.join(", ")));
    }
    let mut wrong = Vec::new();
    for ((table, expected), keys) in TABLES.into_iter().zip(KEY_COLUMNS) {
        let columns = conn
            .prepare(&format!("PRAGMA table_info({table})"))?
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, i64>(5)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let names: Vec<&str> = columns.iter().map(|(name, ..)| name.as_str()).collect();
        let expected_names: Vec<&str> = expected.iter().map(|(name, _)| *name).collect();
        let mistyped: Vec<String> = columns
            .iter()
            .zip(expected)
            .filter(|((_, declared, _), (_, wanted))| !declared.eq_ignore_ascii_case(wanted))
            .map(|((name, declared, _), (_, wanted))| {
                let declared = if declared.is_empty() {
                    "no type"
                } else {
                    declared
                };
                format!("{name} {declared} instead of {wanted}")
            })
            .collect();
        // Its key, in order, is the primary key: else a keyed update or delete could
        // change several rows, and a key could be stored twice.
        let primary: Vec<i64> = columns.iter().map(|(.., at)| *at).collect();
        let expected_primary: Vec<i64> = (1..=expected.len())
            .map(|at| if at <= keys { at as i64 } else { 0 })
            .collect();
        if columns.is_empty() {
            wrong.push(format!("no table {table}"));
        } else if names != expected_names {
            wrong.push(format!(
                "table {table} with columns ({}) instead of ({})",
                names.join(", "),
                expected_names.join(", ")
            ));
        } else if !mistyped.is_empty() {
            wrong.push(format!("table {table} with {}", mistyped.join(", ")));
        } else if primary != expected_primary {
            let key = expected_names.get(..keys).unwrap_or_default().join(", ");
            wrong.push(format!("table {table} without the primary key ({key})"));
        }
    }
    // Interfaces name their device alone: device names must be unique.
    let unique_device_names: i64 = conn.query_row(
        "SELECT count(*) FROM pragma_index_list('device') AS list WHERE list.\"unique\" = 1 \
         AND (SELECT group_concat(name) FROM pragma_index_info(list.name)) = 'name'",
        [],
        |row| row.get(0),
    )?;
    if wrong.is_empty() && unique_device_names == 0 {
        wrong.push("table device without UNIQUE (name)".to_owned());
    }
    if wrong.is_empty() {
        wrong = unusual_tables(conn)?;
    }
    if wrong.is_empty() {
        Ok(Schema::Ours)
    } else {
        Ok(Schema::Foreign(wrong.join(", ")))
    }
}

/// What the inventory's tables have beside their columns and keys that the adapter does
/// not write with (an outside tester's hand-made tables passed the check): no rowid
/// (`WITHOUT ROWID`: loads read rows by rowid), a conflict clause (`ON CONFLICT REPLACE`
/// would let a create overwrite a row another writer added), a collation other than
/// `BINARY` on a column or a key (`COLLATE NOCASE` on a key would make two keys one row,
/// and an update by key change both). Read from the table's SQL as SQLite keeps it, by
/// words ([`sql_words`]: comments left out, quoted text one marked word, so neither a
/// comment nor a default value that says `on conflict` counts, any spacing does, and a
/// quoted collation name is read), and from SQLite's own reading of the keys' collations.
fn unusual_tables(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut unusual = Vec::new();
    for (table, _) in TABLES {
        let (sql, without_rowid): (String, bool) = conn.query_row(
            "SELECT sql, wr FROM sqlite_master JOIN pragma_table_list ON pragma_table_list.name = sqlite_master.name \
             WHERE sqlite_master.type = 'table' AND sqlite_master.name = ?1 AND pragma_table_list.schema = 'main'",
            [table],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        let words = sql_words(&sql);
        let pairs = || words.iter().zip(words.iter().skip(1));
        if without_rowid {
            unusual.push(format!("table {table} WITHOUT ROWID"));
        }
        if pairs().any(|(a, b)| a == "ON" && b == "CONFLICT") {
            unusual.push(format!(
                "table {table} with a conflict clause (ON CONFLICT)"
            ));
        }
        let mut collations: Vec<String> = pairs()
            .filter(|(a, _)| *a == "COLLATE")
            .map(|(_, b)| b.trim_start_matches(QUOTED).to_owned())
            .filter(|name| name != "BINARY")
            .collect();
        // And as SQLite itself reads the keys' collations, should the words miss one.
        let keyed: Vec<String> = conn
            .prepare(
                "SELECT DISTINCT upper(info.coll) FROM pragma_index_list(?1) AS list, \
                 pragma_index_xinfo(list.name) AS info \
                 WHERE info.key = 1 AND upper(info.coll) != 'BINARY'",
            )?
            .query_map([table], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for name in keyed {
            if !collations.contains(&name) {
                collations.push(name);
            }
        }
        if !collations.is_empty() {
            unusual.push(format!(
                "table {table} with a collation other than BINARY (COLLATE {})",
                collations.join(", ")
            ));
        }
    }
    Ok(unusual)
}

/// What starts a word that was quoted (see [`sql_words`]): never a keyword.
const QUOTED: char = '"';

/// The words of an SQL statement, uppercased: names and keywords, and quoted text
/// (strings, quoted names) each as one word marked [`QUOTED`] in place of its quotes, with
/// comments left out and punctuation between words.
fn sql_words(sql: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c.to_ascii_uppercase());
            continue;
        }
        if !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        match c {
            '-' if chars.peek() == Some(&'-') => {
                chars.find(|&c| c == '\n');
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                chars.find(|&c| std::mem::replace(&mut last, c) == '*' && c == '/');
            }
            // Quoted text is one word, its quotes left out, so that words written in it
            // are not read as clauses (`DEFAULT 'on conflict'`) while a quoted name still
            // counts (`COLLATE "NOCASE"`: a reviewer). A doubled quote inside is two
            // quoted stretches back to back.
            '\'' | '"' | '`' | '[' => {
                let end = if c == '[' { ']' } else { c };
                let quoted: String = chars.by_ref().take_while(|&other| other != end).collect();
                words.push(format!("{QUOTED}{}", quoted.to_ascii_uppercase()));
            }
            _ => {}
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

impl Drop for SqliteInventory {
    /// A transaction still open here was never completed: roll it back.
    fn drop(&mut self) {
        if matches!(self.transaction, Transaction::Open) {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// A stored value as an error shows it: quoted, and when longer than 64 characters only
/// those, then its length (`"[[[[…[["… (100000 bytes)`), so that an error stays short
/// whatever the database holds.
struct Excerpt<'a>(&'a str);

impl fmt::Display for Excerpt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 64;
        match self.0.char_indices().nth(SHOWN) {
            None => write!(f, "{:?}", self.0),
            Some((cut, _)) => {
                let shown = self.0.get(..cut).unwrap_or_default();
                write!(f, "{shown:?}… ({} bytes)", self.0.len())
            }
        }
    }
}

/// An error reading one row of `table`, naming it by its key:
/// `interface row (device=sw1, name=et-0): vlans "oops": expected value ...`.
fn row_error(table: &str, key: fmt::Arguments<'_>, error: &dyn fmt::Display) -> HookError {
    format!("{table} row ({key}): {error}").into()
}

/// A column of `table` that could not be read, named: rusqlite names a column of the wrong
/// type, but an integer out of range only by its index (`Integer -1 out of range at index
/// 4`), which the reader of the error cannot map to `mtu` (an outside tester).
fn column_error(table: &str, error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::IntegralValueOutOfRange(at, value) => {
            let column = TABLES
                .iter()
                .find(|(name, _)| *name == table)
                .and_then(|(_, columns)| columns.get(*at))
                .map_or("?", |(column, _)| *column);
            format!("{column}: {value} is out of range")
        }
        other => other.to_string(),
    }
}

/// A key column as read: its text, or an error naming the table and the row by its rowid
/// (a `NULL` or a value that is not text has no key to name it by).
fn key_text(table: &str, rowid: i64, read: rusqlite::Result<String>) -> Result<String, HookError> {
    read.map_err(|error| row_error(table, format_args!("rowid={rowid}"), &error))
}

impl Adapter for SqliteInventory {
    fn sync_complete(&mut self, report: &SyncReport) -> Result<(), HookError> {
        match self.transaction {
            Transaction::Idle => Ok(()),
            Transaction::Abandoned(_) => {
                Err(self.end_without_commit(String::new()).to_string().into())
            }
            Transaction::Open if self.all_or_nothing && !report.is_success() => {
                let reason = format!(
                    "{} change(s) failed and the adapter is all-or-nothing",
                    report.counts.failed
                );
                Err(self.end_without_commit(reason).to_string().into())
            }
            Transaction::Open => self.commit(),
        }
    }

    fn sync_finished(&mut self, report: &SyncReport) {
        if !matches!(self.transaction, Transaction::Idle) {
            // Reached with a transaction still open only when `sync_complete` did not run:
            // nothing was applied, or a hook or callback panicked.
            let reason = if report.changed_anything() {
                "the sync was cut short (a hook or callback panicked): reload the target, memory \
                 keeps what the hooks applied"
            } else {
                "nothing was applied"
            };
            self.end_without_commit(reason.into());
        }
        if !self.touched {
            self.ending = Some(Ending::NothingWritten);
        }
        self.touched = false;
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
    fn create(&mut self, device: &Device, parents: &Parents) -> Result<(), HookError> {
        device.check_parent(parents)?;
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
        parents: &Parents,
    ) -> Result<(), HookError> {
        device.check_parent(parents)?;
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
    fn create(&mut self, i: &Interface, parents: &Parents) -> Result<(), HookError> {
        i.check_parent(parents)?;
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
        parents: &Parents,
    ) -> Result<(), HookError> {
        i.check_parent(parents)?;
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

#[cfg(test)]
mod tests {
    use super::sql_words;

    #[test]
    fn sql_words_skip_comments_and_mark_quoted_text() {
        assert_eq!(
            sql_words("name TEXT PRIMARY KEY ON\n  /* x */ CONFLICT -- on conflict\nREPLACE"),
            [
                "NAME", "TEXT", "PRIMARY", "KEY", "ON", "CONFLICT", "REPLACE"
            ]
        );
        assert_eq!(
            sql_words("a TEXT DEFAULT 'on conflict', \"on\" [conflict] `x`"),
            [
                "A",
                "TEXT",
                "DEFAULT",
                "\"ON CONFLICT",
                "\"ON",
                "\"CONFLICT",
                "\"X"
            ]
        );
        assert_eq!(
            sql_words("name COLLATE 'nocase')"),
            ["NAME", "COLLATE", "\"NOCASE"]
        );
        assert_eq!(sql_words("ON/**/CONFLICT"), ["ON", "CONFLICT"]);
    }
}
