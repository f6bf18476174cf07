//! Carries recorded [`Changes`] into the tables inside a transaction the caller holds:
//! deletes (children first) and updates through temporary tables filled by COPY, creates
//! by COPY (parents first). A row is deleted or updated only while it holds what was
//! loaded, and every statement checks how many rows it touched, so a table that changed
//! since it was loaded (a row deleted, or edited by another writer) fails the write instead
//! of half-applying it or overwriting the edit.

use bytes::Bytes;
use futures_util::{SinkExt, pin_mut};
use tokio_postgres::Transaction;

use super::changes::{Changes, Table};
use super::rows::Row;
use super::{FailAt, Names, Settings};
use crate::Error;
use statesync_suite::inventory::{Device, Interface, Site};

/// COPY sends the rows in pieces of this size.
const CHUNK: usize = 1 << 20;

/// From this many created rows on (by default), a table's foreign key is dropped for the COPY and added
/// again after it, inside the transaction: PostgreSQL then checks it with one join instead
/// of a trigger per row (half the time of a million-row COPY), as `pg_restore` does. It
/// locks the table for the rest of the transaction (`ACCESS EXCLUSIVE`), which a bulk load
/// can afford; smaller syncs keep the per-row check and the lighter locks.
/// The default of [`crate::PgInventory::bulk_creates`].
pub const BULK_CREATES: usize = 50_000;

pub(crate) async fn write(
    tx: &Transaction<'_>,
    names: &Names,
    changes: &Changes,
    settings: &Settings,
) -> Result<(), Error> {
    let fail = settings.fail;
    delete::<Interface>(tx, names, &changes.interfaces).await?;
    delete::<Device>(tx, names, &changes.devices).await?;
    delete::<Site>(tx, names, &changes.sites).await?;
    injected(fail, FailAt::AfterDeletes)?;
    update::<Site>(tx, names, &changes.sites).await?;
    update::<Device>(tx, names, &changes.devices).await?;
    update::<Interface>(tx, names, &changes.interfaces).await?;
    injected(fail, FailAt::AfterUpdates)?;
    let bulk = settings.bulk_creates;
    create::<Site>(tx, names, &changes.sites, bulk).await?;
    create::<Device>(tx, names, &changes.devices, bulk).await?;
    create::<Interface>(tx, names, &changes.interfaces, bulk).await?;
    injected(fail, FailAt::AfterCreates)
}

fn injected(fail: Option<FailAt>, here: FailAt) -> Result<(), Error> {
    if fail == Some(here) {
        Err(Error::Injected(here))
    } else {
        Ok(())
    }
}

fn touched<M: Row>(what: &str, expected: usize, touched: u64) -> Result<(), Error> {
    if usize::try_from(touched).ok() == Some(expected) {
        Ok(())
    } else {
        Err(Error::BadRow(format!(
            "{what} {expected} {} rows, {touched} matched: the table changed since it was loaded",
            M::TABLE
        )))
    }
}

async fn delete<M: Row>(tx: &Transaction<'_>, names: &Names, table: &Table) -> Result<(), Error> {
    let count = table.deleted();
    if count == 0 {
        return Ok(());
    }
    let name = names.of::<M>();
    let loaded = format!("statesync_delete_{}", M::TABLE);
    tx.batch_execute(&format!(
        "CREATE TEMPORARY TABLE {loaded} (LIKE {name}) ON COMMIT DROP"
    ))
    .await?;
    copy(tx, &format!("COPY {loaded} FROM STDIN"), &table.deletes).await?;
    tx.batch_execute(&format!("ANALYZE {loaded}")).await?;
    let sql = format!(
        "DELETE FROM {name} AS t USING {loaded} AS o WHERE {} AND {}",
        same_key::<M>("t", "o"),
        same_row::<M>("t", "o")
    );
    let deleted = tx.execute(&sql, &[]).await?;
    // Gone before the caller's transaction writes again (another inventory, or this one).
    tx.batch_execute(&format!("DROP TABLE {loaded}")).await?;
    touched::<M>("deleting", count, deleted)
}

/// Rows of the tables updated: each row matched by key in the new rows (`u`) and the rows
/// as loaded (`o`), and updated only while it still holds what was loaded, so an edit made
/// by another writer since is not overwritten (the write fails instead).
async fn update<M: Row>(tx: &Transaction<'_>, names: &Names, table: &Table) -> Result<(), Error> {
    if table.updated == 0 {
        return Ok(());
    }
    let name = names.of::<M>();
    let temp = format!("statesync_update_{}", M::TABLE);
    let loaded = format!("statesync_loaded_{}", M::TABLE);
    tx.batch_execute(&format!(
        "CREATE TEMPORARY TABLE {temp} (LIKE {name}) ON COMMIT DROP;
         CREATE TEMPORARY TABLE {loaded} (LIKE {name}) ON COMMIT DROP"
    ))
    .await?;
    copy(tx, &format!("COPY {temp} FROM STDIN"), &table.updates).await?;
    copy(
        tx,
        &format!("COPY {loaded} FROM STDIN"),
        &table.updates_before,
    )
    .await?;
    // Temporary tables get no statistics of their own: without them the planner joins the
    // two by nested loops (minutes for 80,000 rows) instead of hashing.
    tx.batch_execute(&format!("ANALYZE {temp}; ANALYZE {loaded}"))
        .await?;
    let rest = M::COLUMNS.get(M::KEY..).unwrap_or_default();
    let set: Vec<String> = rest.iter().map(|c| format!("{c} = u.{c}")).collect();
    let sql = format!(
        "UPDATE {name} AS t SET {} FROM {temp} AS u JOIN {loaded} AS o ON {}
          WHERE {} AND {}",
        set.join(", "),
        same_key::<M>("o", "u"),
        same_key::<M>("t", "u"),
        same_row::<M>("t", "o")
    );
    let updated = tx.execute(&sql, &[]).await?;
    tx.batch_execute(&format!("DROP TABLE {temp}, {loaded}"))
        .await?;
    touched::<M>("updating", table.updated, updated)
}

/// `a.k = b.k AND ...` over the key's columns.
fn same_key<M: Row>(a: &str, b: &str) -> String {
    let key = M::COLUMNS.get(..M::KEY).unwrap_or_default();
    let matched: Vec<String> = key.iter().map(|c| format!("{a}.{c} = {b}.{c}")).collect();
    matched.join(" AND ")
}

/// `(a.c, ...) IS NOT DISTINCT FROM (b.c, ...)` over every column. An array column is
/// compared as `c[:]`, its elements from index 1: PostgreSQL keeps an array's lower bound
/// (`UPDATE ... SET vlans[0] = 5` makes `[0:5]={5,...}`) and `=` tells arrays apart by it,
/// while a load reads the elements alone, so a row whose array starts elsewhere would
/// never match what was loaded from it.
fn same_row<M: Row>(a: &str, b: &str) -> String {
    let columns = |at: &str| {
        let named: Vec<String> = M::COLUMNS
            .iter()
            .map(|c| {
                let slice = if M::ARRAYS.contains(c) { "[:]" } else { "" };
                format!("{at}.{c}{slice}")
            })
            .collect();
        named.join(", ")
    };
    format!(
        "ROW({}) IS NOT DISTINCT FROM ROW({})",
        columns(a),
        columns(b)
    )
}

async fn create<M: Row>(
    tx: &Transaction<'_>,
    names: &Names,
    table: &Table,
    bulk_creates: usize,
) -> Result<(), Error> {
    if table.created == 0 {
        return Ok(());
    }
    let sql = format!(
        "COPY {} ({}) FROM STDIN",
        names.of::<M>(),
        M::COLUMNS.join(", ")
    );
    let bulk = M::PARENT.filter(|_| table.created >= bulk_creates);
    if let Some([constraint, ..]) = bulk {
        let name = names.of::<M>();
        tx.batch_execute(&format!("ALTER TABLE {name} DROP CONSTRAINT {constraint}"))
            .await?;
    }
    let created = copy(tx, &sql, &table.creates).await?;
    if let Some([constraint, column, parent, parent_column]) = bulk {
        let parent = match parent {
            "site" => &names.site,
            _ => &names.device,
        };
        tx.batch_execute(&format!(
            "ALTER TABLE {} ADD CONSTRAINT {constraint} FOREIGN KEY ({column}) \
             REFERENCES {parent} ({parent_column})",
            names.of::<M>()
        ))
        .await?;
        // Fresh statistics for the planner, counting this transaction's rows: without
        // them a bulk-loaded table looks empty until autovacuum gets to it.
        tx.batch_execute(&format!("ANALYZE {}", names.of::<M>()))
            .await?;
    }
    touched::<M>("creating", table.created, created)
}

/// Runs `COPY ... FROM STDIN` with `data` (COPY text); returns the rows copied.
async fn copy(tx: &Transaction<'_>, sql: &str, data: &str) -> Result<u64, Error> {
    let sink = tx.copy_in(sql).await?;
    pin_mut!(sink);
    for chunk in data.as_bytes().chunks(CHUNK) {
        sink.send(Bytes::copy_from_slice(chunk)).await?;
    }
    Ok(sink.finish().await?)
}
