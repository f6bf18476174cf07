//! [`PgInventory`]: the inventory models (`statesync_suite::inventory`) in three tables
//! with foreign keys (site ← device ← interface), synced through typed hooks in one
//! transaction with bulk writes, and read back by a loader.
//!
//! A sync runs the blocking engine with hooks that only record ([`Changes`]): one row of
//! COPY text per created or updated element, one key per deleted one. The record is then
//! written in one transaction: deletes (children first) as one statement per table over
//! key arrays, updates as a COPY into a temporary table and one `UPDATE ... FROM`, creates
//! as one COPY per table (parents first). A million creates are three COPY streams, not a
//! million round trips. Why not the async engine: one connection runs one transaction, and
//! a transaction runs its statements one after another, so concurrent hooks would only
//! queue on it; the bulk statements are what makes a sync fast.
//!
//! All or nothing: if any statement fails (a refused row, a lost connection, a table that
//! changed since it was loaded), the transaction is rolled back, and
//! [`PgInventory::sync`] reloads the target so memory holds what the database holds.

mod changes;
mod load;
mod rows;
mod write;

use statesync::sync::{SyncModel, SyncOptions, SyncReport};
use statesync_suite::inventory::Inventory;
use tokio_postgres::{Client, GenericClient, IsolationLevel, Transaction};

pub use changes::{Changes, Table};
pub use write::BULK_CREATES;

use crate::{Error, Schema};
use rows::Row;

/// Where [`PgInventory::inject_failure`] makes a write fail, inside its transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailAt {
    /// After the deletes ran.
    AfterDeletes,
    /// After the deletes and updates ran.
    AfterUpdates,
    /// After every statement ran, before `COMMIT`.
    AfterCreates,
}

impl std::fmt::Display for FailAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FailAt::AfterDeletes => "after the deletes",
            FailAt::AfterUpdates => "after the updates",
            FailAt::AfterCreates => "after the creates, before commit",
        })
    }
}

/// The three tables' qualified names.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    pub(crate) site: String,
    pub(crate) device: String,
    pub(crate) interface: String,
}

impl Names {
    fn of<M: Row>(&self) -> &str {
        match M::TABLE {
            "site" => &self.site,
            "device" => &self.device,
            _ => &self.interface,
        }
    }
}

/// How writes run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) fail: Option<FailAt>,
    pub(crate) bulk_creates: usize,
}

/// What [`PgInventory::sync`] did.
#[derive(Debug)]
pub struct Synced {
    /// The engine's report (what the hooks recorded, element by element).
    pub report: SyncReport,
    /// Rows created, updated and deleted in the committed transaction.
    pub rows: (usize, usize, usize),
    /// Time spent writing and committing (the report's `elapsed` is the engine's).
    pub write: std::time::Duration,
}

/// The inventory's tables in one schema.
///
/// ```no_run
/// # async fn run() -> Result<(), statesync_postgres::Error> {
/// use statesync::sync::SyncOptions;
/// use statesync_postgres::{PgInventory, Schema, connect};
///
/// let mut client = connect("postgres://postgres@127.0.0.1:5432/test").await?;
/// let inventory = PgInventory::new(Schema::new("inventory")?);
/// inventory.create_tables(&client).await?;
/// let source = statesync_suite::dataset::generate(10_000, 1);
/// let mut target = inventory.load(&mut client).await?;
/// let synced = inventory.sync(&mut client, &mut target, &source, SyncOptions::default()).await?;
/// assert_eq!(synced.rows.0, synced.report.counts.created);
/// assert_eq!(inventory.load(&mut client).await?, source);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PgInventory {
    schema: Schema,
    names: Names,
    settings: Settings,
}

impl PgInventory {
    /// The tables `site`, `device` and `interface` of `schema`.
    pub fn new(schema: Schema) -> Self {
        let names = Names {
            site: schema.table("site"),
            device: schema.table("device"),
            interface: schema.table("interface"),
        };
        Self {
            schema,
            names,
            settings: Settings {
                fail: None,
                bulk_creates: BULK_CREATES,
            },
        }
    }

    /// The schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Makes every write fail at `at`, inside its transaction, to show (and test) that
    /// nothing of a failed sync stays.
    #[must_use]
    pub fn inject_failure(mut self, at: Option<FailAt>) -> Self {
        self.settings.fail = at;
        self
    }

    /// From how many created rows of one table on the write drops that table's foreign
    /// key for its COPY and adds it back after (one join instead of a check per row;
    /// the table is locked for the rest of the transaction). Default [`BULK_CREATES`].
    #[must_use]
    pub fn bulk_creates(mut self, rows: usize) -> Self {
        self.settings.bulk_creates = rows;
        self
    }

    /// Creates the schema and the tables where they do not exist.
    ///
    /// # Errors
    /// [`Error::Db`].
    pub async fn create_tables(&self, client: &impl GenericClient) -> Result<(), Error> {
        // `create_sql` takes the DDL lock, which the whole batch holds.
        let sql = format!(
            "{};\n{}",
            self.schema.create_sql(),
            rows::schema_sql(&self.names.site, &self.names.device, &self.names.interface)
        );
        client.batch_execute(&sql).await?;
        Ok(())
    }

    /// Reads the whole inventory, in one read-only snapshot.
    ///
    /// # Errors
    /// [`Error::Db`]; a row that does not fit the models ([`Error::BadRow`],
    /// [`Error::Model`]).
    pub async fn load(&self, client: &mut Client) -> Result<Inventory, Error> {
        let tx = snapshot(client).await?;
        let inventory = load::load(&tx, &self.names, load::Sites::All).await?;
        tx.commit().await?;
        Ok(inventory)
    }

    /// Reads the given sites only (a partition), inside the caller's transaction.
    ///
    /// # Errors
    /// As [`PgInventory::load`].
    pub async fn load_sites(
        &self,
        client: &impl GenericClient,
        sites: &[String],
    ) -> Result<Inventory, Error> {
        load::load(client, &self.names, load::Sites::Only(sites)).await
    }

    /// Runs the engine from `target` to `source` with recording hooks: `target` becomes
    /// `source` in memory, and the returned [`Changes`] say what the tables need.
    ///
    /// # Errors
    /// A failed diff.
    pub fn record(
        target: &mut Inventory,
        source: &Inventory,
        options: SyncOptions<'_>,
    ) -> Result<(SyncReport, Changes), Error> {
        let mut changes = Changes::default();
        let report = target.sync_from(source, &mut changes, options)?;
        Ok((report, changes))
    }

    /// Writes `changes` inside the caller's transaction (which commits, or not).
    ///
    /// # Errors
    /// [`Error::Db`], [`Error::BadRow`] (a table that changed since it was loaded), or
    /// [`Error::Injected`]; the transaction must then be rolled back (dropping it does).
    pub async fn write(&self, tx: &Transaction<'_>, changes: &Changes) -> Result<(), Error> {
        write::write(tx, &self.names, changes, &self.settings).await
    }

    /// Reads the given sites with only the named devices of each (and their interfaces),
    /// inside the caller's transaction: the part of a partition that changed. A device
    /// named here that is not in one of `sites` is not read.
    ///
    /// # Errors
    /// As [`PgInventory::load`].
    pub async fn load_devices(
        &self,
        client: &impl GenericClient,
        sites: &[String],
        devices: &[String],
    ) -> Result<Inventory, Error> {
        load::load(client, &self.names, load::Sites::Devices(sites, devices)).await
    }

    /// Makes the tables hold `source`, given `target`, what they hold now (from
    /// [`PgInventory::load`] or the previous sync): records the changes with the engine,
    /// then writes them in one transaction. Nothing is written when nothing changed or the
    /// options' delete limit refused the sync (see the report).
    ///
    /// When something changed, the changes are recorded on a copy of `target`, which
    /// replaces it once they are committed: a sync dropped before (a timeout around the
    /// call) leaves `target` as the tables hold it. (Dropped while the commit itself was on
    /// its way, the tables may hold either state: load them again.)
    ///
    /// # Errors
    /// A failed diff (nothing written); [`Error::NotCommitted`] when the write failed:
    /// the transaction was rolled back, and `target` was reloaded from the tables (if the
    /// reload failed too, the error says so, the connection may have been lost while
    /// committing, so the outcome is unknown, and `target` must be loaded again).
    pub async fn sync(
        &self,
        client: &mut Client,
        target: &mut Inventory,
        source: &Inventory,
        options: SyncOptions<'_>,
    ) -> Result<Synced, Error> {
        let mut options = options;
        let diff = statesync::sync::diff_with_progress(target, source, &mut options)?;
        let mut changes = Changes::default();
        if diff.is_empty() {
            // Nothing changes in memory: no copy to make.
            let report = target.sync_diff(&diff, &mut changes, options);
            return Ok(Synced {
                report,
                rows: (0, 0, 0),
                write: std::time::Duration::ZERO,
            });
        }
        let mut synced = target.clone();
        let report = synced.sync_diff(&diff, &mut changes, options);
        let started = std::time::Instant::now();
        let rows = changes.counts();
        if changes.is_empty() {
            *target = synced;
            return Ok(Synced {
                report,
                rows,
                write: started.elapsed(),
            });
        }
        if let Err(cause) = self.commit(client, &changes).await {
            let reloaded = match self.load(client).await {
                Ok(inventory) => {
                    *target = inventory;
                    true
                }
                Err(_) => false,
            };
            return Err(Error::NotCommitted {
                cause: Box::new(cause),
                target_reloaded: reloaded,
            });
        }
        *target = synced;
        Ok(Synced {
            report,
            rows,
            write: started.elapsed(),
        })
    }

    async fn commit(&self, client: &mut Client, changes: &Changes) -> Result<(), Error> {
        let tx = client.transaction().await?;
        self.write(&tx, changes).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A read-only transaction that sees one snapshot for all its statements.
async fn snapshot(client: &mut Client) -> Result<Transaction<'_>, Error> {
    Ok(client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?)
}
