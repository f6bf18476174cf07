//! One partition's sync in one transaction, and the worker loop around it.

use std::time::{Duration, Instant};

use statesync::sync::SyncOptions;
use tokio_postgres::{Client, IsolationLevel};

use super::{Fleet, Lease, PartitionError};
use crate::{Error, PgInventory, connect};

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// How long a claim lasts without a heartbeat (the heartbeat renews it every third of
    /// it). Default 10 s.
    pub lease: Duration,
    /// How long to wait before looking again when every pending partition is leased by
    /// another worker. Default 100 ms.
    pub poll: Duration,
    /// A partition claimed this many times without being applied is left alone (and
    /// listed by [`Fleet::stuck`]). Default 10.
    pub max_claims: i32,
    /// Per partition, how many times to reconnect and retry after the connection was
    /// lost. Default 3.
    pub reconnects: usize,
    /// A pause inside the write transaction, before `COMMIT` (default none): to make a
    /// demo or a test catch workers mid-transaction.
    pub pause_before_commit: Duration,
    /// Return when no partition needs a sync (default `true`); `false` keeps polling.
    pub stop_when_idle: bool,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(10),
            poll: Duration::from_millis(100),
            max_claims: 10,
            reconnects: 3,
            pause_before_commit: Duration::ZERO,
            stop_when_idle: true,
        }
    }
}

/// One partition applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The partition.
    pub partition: String,
    /// The source version the target now holds for it.
    pub version: i64,
    /// Rows created, updated and deleted.
    pub rows: (usize, usize, usize),
    /// From the source read to the commit.
    pub elapsed: Duration,
}

/// What a worker did.
#[derive(Debug, Clone, Default)]
pub struct WorkerReport {
    /// The partitions it applied, in order.
    pub applied: Vec<Applied>,
    /// Partitions whose lease it lost before applying them (another worker took over).
    pub lost_leases: usize,
    /// Times it reconnected after a lost connection and retried.
    pub reconnects: usize,
    /// Partitions it gave up on (left to expire and be retried).
    pub failures: usize,
}

pub(super) async fn sync_partition(
    fleet: &Fleet,
    client: &mut Client,
    held: &Lease,
    options: &WorkerOptions,
) -> Result<Applied, PartitionError> {
    let failed = |source: Error| PartitionError::Failed {
        partition: held.partition.clone(),
        source,
    };
    let started = Instant::now();
    let sites = [held.partition.clone()];

    // The source's partition and its version, from one snapshot: the triggers bump the
    // version in the transaction that changes the rows.
    let (version, source) = {
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(|e| failed(e.into()))?;
        let sql = format!(
            "SELECT version FROM {} WHERE name = $1",
            fleet.source_version
        );
        let version: i64 = tx
            .query_one(&sql, &[&held.partition])
            .await
            .and_then(|row| row.try_get(0))
            .map_err(|e| failed(e.into()))?;
        let source = fleet.source.load_sites(&tx, &sites).await.map_err(failed)?;
        tx.commit().await.map_err(|e| failed(e.into()))?;
        (version, source)
    };

    // Everything else in one transaction, under the partition row's lock.
    let tx = client.transaction().await.map_err(|e| failed(e.into()))?;
    let sql = format!(
        "SELECT owner, base_version FROM {} WHERE name = $1 FOR UPDATE",
        fleet.partition
    );
    let row = tx
        .query_opt(&sql, &[&held.partition])
        .await
        .map_err(|e| failed(e.into()))?;
    let ours = match &row {
        Some(row) => {
            let owner: Option<String> = row.try_get(0).map_err(|e| failed(e.into()))?;
            let base: i64 = row.try_get(1).map_err(|e| failed(e.into()))?;
            owner.as_deref() == Some(held.worker.as_str()) && base < version
        }
        None => false,
    };
    if !ours {
        return Err(PartitionError::LostLease(held.partition.clone()));
    }
    let mut target = fleet.target.load_sites(&tx, &sites).await.map_err(failed)?;
    let (_, changes) =
        PgInventory::record(&mut target, &source, SyncOptions::default()).map_err(failed)?;
    fleet.target.write(&tx, &changes).await.map_err(failed)?;
    if !options.pause_before_commit.is_zero() {
        tokio::time::sleep(options.pause_before_commit).await;
    }
    let rows = changes.counts();
    let sql = format!(
        "UPDATE {} SET base_version = $2, owner = NULL, expires_at = NULL, last_error = NULL
          WHERE name = $1",
        fleet.partition
    );
    tx.execute(&sql, &[&held.partition, &version])
        .await
        .map_err(|e| failed(e.into()))?;
    let sql = format!(
        "INSERT INTO {} (partition, base_version, worker, created, updated, deleted)
         VALUES ($1, $2, $3, $4, $5, $6)",
        fleet.applied
    );
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    tx.execute(
        &sql,
        &[
            &held.partition,
            &version,
            &held.worker,
            &count(rows.0),
            &count(rows.1),
            &count(rows.2),
        ],
    )
    .await
    .map_err(|e| failed(e.into()))?;
    tx.commit().await.map_err(|e| failed(e.into()))?;
    Ok(Applied {
        partition: held.partition.clone(),
        version,
        rows,
        elapsed: started.elapsed(),
    })
}

/// Renews `held` every third of the lease on a connection of its own, until the lease
/// is no longer ours or the task is aborted.
fn spawn_heartbeat(
    fleet: &Fleet,
    url: &str,
    held: &Lease,
    lease: Duration,
) -> tokio::task::JoinHandle<()> {
    let (fleet, url, held) = (fleet.clone(), url.to_owned(), held.clone());
    tokio::spawn(async move {
        let Ok(client) = connect(&url).await else {
            return;
        };
        loop {
            tokio::time::sleep(lease / 3).await;
            if !matches!(fleet.heartbeat(&client, &held, lease).await, Ok(true)) {
                return;
            }
        }
    })
}

impl Fleet {
    /// A worker: claims partitions one at a time and syncs each (heartbeat running),
    /// until none needs a sync (with [`WorkerOptions::stop_when_idle`]). After a lost
    /// connection it reconnects and retries the partition it holds; after another failure
    /// it records the error and lets the lease expire, so the partition is retried later.
    /// `on_applied` sees each applied partition (to print a line, say).
    ///
    /// # Errors
    /// [`Error::Db`] when the server cannot be reached (to claim, or to reconnect).
    pub async fn run_worker(
        &self,
        url: &str,
        worker: &str,
        options: &WorkerOptions,
        mut on_applied: impl FnMut(&Applied),
    ) -> Result<WorkerReport, Error> {
        let mut report = WorkerReport::default();
        let mut client = connect(url).await?;
        loop {
            let claimed = self
                .claim(&client, worker, options.lease, options.max_claims)
                .await?;
            let Some(held) = claimed else {
                if options.stop_when_idle && self.pending(&client, options.max_claims).await? == 0 {
                    return Ok(report);
                }
                tokio::time::sleep(options.poll).await;
                continue;
            };
            let heartbeat = spawn_heartbeat(self, url, &held, options.lease);
            let mut reconnects = 0;
            loop {
                match self.sync_partition(&mut client, &held, options).await {
                    Ok(applied) => {
                        on_applied(&applied);
                        report.applied.push(applied);
                    }
                    Err(PartitionError::LostLease(_)) => report.lost_leases += 1,
                    Err(PartitionError::Failed { source, .. }) => {
                        // A terminated backend answers with an error before the client
                        // sees the socket close: probe the connection.
                        let lost = client.is_closed() || client.batch_execute("").await.is_err();
                        if lost && reconnects < options.reconnects {
                            reconnects += 1;
                            report.reconnects += 1;
                            client = connect(url).await?;
                            continue;
                        }
                        report.failures += 1;
                        if lost {
                            client = connect(url).await?;
                        }
                        self.record_failure(&client, &held, &source.to_string())
                            .await?;
                    }
                }
                break;
            }
            heartbeat.abort();
        }
    }
}
