//! [`Fleet`]: a sync split by site over worker processes, with leases, applied exactly
//! once.
//!
//! The source and the target are two [`PgInventory`] schemas. Triggers on the source's
//! tables bump a version per site (partition) in the same transaction as every change and
//! `NOTIFY` the site's name at commit. A partition needs a sync while the target's
//! `base_version` is below the source's version.
//!
//! A worker [claims](Fleet::claim) one such partition with `FOR UPDATE SKIP LOCKED`: the
//! lease (owner, expiry) is committed at once, so other workers skip it, and a
//! [heartbeat](Fleet::heartbeat) pushes the expiry on while the worker is alive. Then
//! [`Fleet::sync_partitions`] reads the source's partition and its version in one snapshot,
//! and in ONE transaction locks the partition's row, checks the lease is still its own
//! (a worker whose lease expired and was taken over is fenced off here), loads the
//! target's partition, writes the changes, moves `base_version` to the version it read,
//! releases the lease and logs the application under the key (partition, version). A
//! crash or a lost connection before `COMMIT` leaves nothing; a `COMMIT` is final: each
//! version of each partition is applied exactly once. A killed worker's lease expires and
//! another worker takes the partition; one frozen mid-transaction has its transaction
//! ended by the server after three leases idle. A worker holds one partition in memory at a time.
//!
//! The triggers also record, per version, the devices each statement touched (or the site
//! itself). When only devices changed between the target's base version and the source's,
//! the sync reads just those devices, with their interfaces, on both sides
//! ([`PgInventory::load_devices`]); otherwise the whole partition.

pub mod process;
mod tables;
mod worker;

use std::time::Duration;

use tokio_postgres::{Client, GenericClient};

use crate::{Error, PgInventory, Schema};

pub use worker::{Applied, WorkerOptions, WorkerReport};

/// A partition this worker holds the lease of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The partition (a site's name).
    pub partition: String,
    /// The worker holding it.
    pub worker: String,
    /// How many times the partition has been claimed, this claim included.
    pub claims: i32,
}

/// Why [`Fleet::sync_partitions`] applied nothing. Nothing of it was written.
#[derive(Debug, thiserror::Error)]
pub enum PartitionError {
    /// The lease expired and another worker took the partition (or finished it).
    #[error("partitions {0}: the leases are no longer ours")]
    LostLease(String),
    /// Anything else (a refused write, a lost connection): the transaction rolled back.
    #[error("partitions {partitions}: {source}")]
    Failed {
        /// The partitions, comma-separated.
        partitions: String,
        /// Why.
        source: Error,
    },
}

/// A source inventory, a target inventory, and the control tables that split syncing the
/// one into the other by site.
#[derive(Debug, Clone)]
pub struct Fleet {
    source: PgInventory,
    target: PgInventory,
    source_version: String,
    partition: String,
    applied: String,
    change: String,
    touch: String,
    channel: String,
}

impl Fleet {
    /// The fleet syncing `source` into `target`; its control tables live in the target's
    /// schema. One fleet per source (the triggers are named per source table). Workers
    /// write the target with per-row foreign-key checks whatever the size of a partition
    /// ([`PgInventory::bulk_creates`] is turned off): the bulk path locks whole tables,
    /// which concurrent workers would wait on, or deadlock over.
    pub fn new(source: PgInventory, target: PgInventory) -> Self {
        let target = target.bulk_creates(usize::MAX);
        let schema: &Schema = target.schema();
        Self {
            source_version: schema.table("partition_source"),
            partition: schema.table("partition"),
            applied: schema.table("partition_applied"),
            change: schema.table("partition_change"),
            touch: format!("\"{schema}\".statesync_touch"),
            channel: channel_of(schema.name()),
            source,
            target,
        }
    }

    /// The source inventory.
    pub fn source(&self) -> &PgInventory {
        &self.source
    }

    /// The target inventory.
    pub fn target(&self) -> &PgInventory {
        &self.target
    }

    /// The channel the source's triggers `NOTIFY` changed partitions on: `statesync_` and
    /// the target's schema name, cut to the 63 bytes PostgreSQL allows a channel name.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// Creates both inventories' tables, the control tables and the source's triggers
    /// (where missing), then enrols every site the source or the target holds, so that a
    /// fleet set up over existing data syncs all of it once.
    ///
    /// # Errors
    /// [`Error::Db`].
    pub async fn create_tables(&self, client: &impl GenericClient) -> Result<(), Error> {
        self.source.create_tables(client).await?;
        self.target.create_tables(client).await?;
        let source = self.source.schema();
        let names = [
            source.table("site"),
            source.table("device"),
            source.table("interface"),
        ];
        let sql = format!(
            "{}\n{}",
            tables::control_sql(
                &self.source_version,
                &self.partition,
                &self.applied,
                &self.change
            ),
            tables::trigger_sql(
                &tables::TriggerNames {
                    touch: &self.touch,
                    source_version: &self.source_version,
                    partition: &self.partition,
                    change: &self.change,
                    channel: &self.channel,
                },
                [&names[0], &names[1], &names[2]],
                &format!("\"{source}\".statesync"),
            )
        );
        client
            .batch_execute(&crate::schema::serialized(&sql))
            .await?;
        let enrol = format!(
            "SELECT {touch}(array_agg(name), array_fill(NULL::text, ARRAY[count(*)::int]))
               FROM (SELECT name FROM {} UNION SELECT name FROM {}) AS s HAVING count(*) > 0",
            names[0],
            self.target.schema().table("site"),
            touch = self.touch,
        );
        client.batch_execute(&enrol).await?;
        Ok(())
    }

    /// Removes the source's triggers and their functions (the source's tables are then
    /// written without telling the fleet). Do this before dropping the target's schema:
    /// the triggers call the target's function by its name, a dependency PostgreSQL does
    /// not record, so a target dropped alone leaves every write to the source failing
    /// (`schema ... does not exist`). [`Fleet::create_tables`] puts them back, and enrols
    /// every site again.
    ///
    /// ```no_run
    /// # async fn run(fleet: &statesync_postgres::Fleet, client: &tokio_postgres::Client)
    /// # -> Result<(), statesync_postgres::Error> {
    /// fleet.drop_triggers(client).await?;
    /// let target = fleet.target().schema();
    /// client.batch_execute(&format!("DROP SCHEMA \"{target}\" CASCADE")).await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`Error::Db`].
    pub async fn drop_triggers(&self, client: &impl GenericClient) -> Result<(), Error> {
        let source = self.source.schema();
        let mut sql = String::new();
        for table in ["site", "device", "interface"] {
            let name = source.table(table);
            for trigger in [
                "statesync_insert",
                "statesync_update",
                "statesync_delete",
                "statesync_truncate",
            ] {
                sql.push_str(&format!("DROP TRIGGER IF EXISTS {trigger} ON {name};\n"));
            }
            sql.push_str(&format!(
                "DROP FUNCTION IF EXISTS \"{source}\".statesync_touch_{table}();\n"
            ));
        }
        sql.push_str(&format!(
            "DROP FUNCTION IF EXISTS \"{source}\".statesync_touch_all();\n"
        ));
        client
            .batch_execute(&crate::schema::serialized(&sql))
            .await?;
        Ok(())
    }

    /// Claims up to `limit` partitions that need a sync and are free (no owner, or an
    /// expired lease), for `lease` from now; none when there is none. Partitions claimed
    /// `max_claims` times without being applied are left alone (see [`Fleet::stuck`]).
    ///
    /// # Errors
    /// [`Error::Db`].
    pub async fn claim(
        &self,
        client: &impl GenericClient,
        worker: &str,
        lease: Duration,
        max_claims: i32,
        limit: i64,
    ) -> Result<Vec<Lease>, Error> {
        let sql = format!(
            "UPDATE {p} AS p
                SET owner = $1, expires_at = clock_timestamp() + make_interval(secs => $2),
                    claims = p.claims + 1
              WHERE p.name IN (
                    SELECT q.name FROM {p} AS q JOIN {s} AS s ON s.name = q.name
                     WHERE q.base_version < s.version
                       AND (q.owner IS NULL OR q.expires_at < clock_timestamp())
                       AND q.claims < $3
                     ORDER BY q.name
                     LIMIT $4
                       FOR UPDATE OF q SKIP LOCKED)
          RETURNING p.name, p.claims",
            p = self.partition,
            s = self.source_version
        );
        let rows = client
            .query(&sql, &[&worker, &lease.as_secs_f64(), &max_claims, &limit])
            .await?;
        let mut leases = rows
            .iter()
            .map(|row| {
                Ok(Lease {
                    partition: row.try_get(0)?,
                    worker: worker.to_owned(),
                    claims: row.try_get(1)?,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        leases.sort_by(|a, b| a.partition.cmp(&b.partition));
        Ok(leases)
    }

    /// Pushes the leases' expiry to `lease` from now; returns how many are still ours.
    ///
    /// # Errors
    /// [`Error::Db`].
    pub async fn heartbeat(
        &self,
        client: &impl GenericClient,
        held: &[Lease],
        lease: Duration,
    ) -> Result<u64, Error> {
        let sql = format!(
            "UPDATE {} SET expires_at = clock_timestamp() + make_interval(secs => $3)
              WHERE name = ANY($1) AND owner = $2",
            self.partition
        );
        let (names, worker) = lease_names(held);
        Ok(client
            .execute(&sql, &[&names, &worker, &lease.as_secs_f64()])
            .await?)
    }

    /// Records `error` on partitions whose sync failed; the lease is left to expire, so
    /// the partition is retried (by any worker) after it.
    ///
    /// # Errors
    /// [`Error::Db`].
    pub async fn record_failure(
        &self,
        client: &impl GenericClient,
        held: &[Lease],
        error: &str,
    ) -> Result<(), Error> {
        let sql = format!(
            "UPDATE {} SET last_error = $3 WHERE name = ANY($1) AND owner = $2",
            self.partition
        );
        let (names, worker) = lease_names(held);
        client.execute(&sql, &[&names, &worker, &error]).await?;
        Ok(())
    }

    /// How many partitions need a sync (claimable, leased or failed alike), not counting
    /// those claimed `max_claims` times.
    ///
    /// # Errors
    /// [`Error::Db`].
    pub async fn pending(
        &self,
        client: &impl GenericClient,
        max_claims: i32,
    ) -> Result<i64, Error> {
        let sql = format!(
            "SELECT count(*) FROM {p} AS p JOIN {s} AS s ON s.name = p.name
              WHERE p.base_version < s.version AND p.claims < $1",
            p = self.partition,
            s = self.source_version
        );
        Ok(client.query_one(&sql, &[&max_claims]).await?.try_get(0)?)
    }

    /// Partitions still behind the source after `max_claims` claims, with their last
    /// error.
    ///
    /// # Errors
    /// [`Error::Db`].
    pub async fn stuck(
        &self,
        client: &impl GenericClient,
        max_claims: i32,
    ) -> Result<Vec<(String, Option<String>)>, Error> {
        let sql = format!(
            "SELECT p.name, p.last_error FROM {p} AS p JOIN {s} AS s ON s.name = p.name
              WHERE p.base_version < s.version AND p.claims >= $1 ORDER BY p.name",
            p = self.partition,
            s = self.source_version
        );
        let rows = client.query(&sql, &[&max_claims]).await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect()
    }

    /// Every application so far: partition, version, worker, oldest first.
    ///
    /// # Errors
    /// [`Error::Db`].
    pub async fn applied(
        &self,
        client: &impl GenericClient,
    ) -> Result<Vec<(String, i64, String)>, Error> {
        let sql = format!(
            "SELECT partition, base_version, worker FROM {} ORDER BY applied_at, partition",
            self.applied
        );
        let rows = client.query(&sql, &[]).await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
            .collect()
    }

    /// Makes every partition needing a sync claimable at once again, its claims counted
    /// from zero (after a fix, say).
    ///
    /// # Errors
    /// [`Error::Db`].
    pub async fn reset_claims(&self, client: &impl GenericClient) -> Result<(), Error> {
        let sql = format!(
            "UPDATE {} SET owner = NULL, expires_at = NULL, claims = 0",
            self.partition
        );
        client.execute(&sql, &[]).await?;
        Ok(())
    }

    /// Syncs leased partitions in one transaction, each exactly once (see the module
    /// docs); partitions whose lease was taken over meanwhile are left out. Returns what
    /// was applied.
    ///
    /// # Errors
    /// [`PartitionError::LostLease`] when no lease is ours any more;
    /// [`PartitionError::Failed`] otherwise. Nothing was written either way.
    pub async fn sync_partitions(
        &self,
        client: &mut Client,
        held: &[Lease],
        options: &WorkerOptions,
    ) -> Result<Applied, PartitionError> {
        worker::sync_partitions(self, client, held, options).await
    }
}

/// The partitions' names and the worker holding them.
fn lease_names(held: &[Lease]) -> (Vec<String>, String) {
    let names = held.iter().map(|l| l.partition.clone()).collect();
    let worker = held.first().map(|l| l.worker.clone()).unwrap_or_default();
    (names, worker)
}

/// The longest channel name PostgreSQL takes (`NAMEDATALEN` - 1); `pg_notify` refuses a
/// longer one, and with it every write to the source.
const MAX_CHANNEL: usize = 63;

/// `statesync_` and the schema name, cut at a character boundary to [`MAX_CHANNEL`] bytes.
/// Two fleets whose target schemas share their first 53 bytes share the channel: each then
/// also hears the other's partitions, which it finds in sync and leaves alone.
fn channel_of(schema: &str) -> String {
    let mut channel = String::from("statesync_");
    for c in schema.chars() {
        if channel.len() + c.len_utf8() > MAX_CHANNEL {
            break;
        }
        channel.push(c);
    }
    channel
}

#[cfg(test)]
mod tests {
    use super::channel_of;

    #[test]
    fn a_channel_name_fits_what_postgres_takes() {
        assert_eq!(channel_of("inv"), "statesync_inv");
        let long = "é".repeat(40);
        let channel = channel_of(&long);
        assert!(channel.len() <= 63 && channel.len() >= 62, "{channel}");
        assert!(long.starts_with(channel.trim_start_matches("statesync_")));
    }
}
