//! One partition's sync in one transaction, and the worker loop around it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use statesync::sync::SyncOptions;
use statesync_suite::inventory::Inventory;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Client, GenericClient, IsolationLevel};
use tokio_util::task::AbortOnDropHandle;

use super::{Fleet, Lease, PartitionError};
use crate::{Error, PgInventory, connect};

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// How long a claim lasts without a heartbeat (the heartbeat renews it every third of
    /// it). Default 10 s; from [`WorkerOptions::MIN_LEASE`] to [`WorkerOptions::MAX_LEASE`].
    pub lease: Duration,
    /// How long to wait before looking again when every pending partition is leased by
    /// another worker. Default 100 ms.
    pub poll: Duration,
    /// A partition claimed this many times without being applied is left alone (and
    /// listed by [`Fleet::stuck`]). Default 10; at least 1.
    pub max_claims: i32,
    /// Per partition, how many times to reconnect and retry after the connection was
    /// lost. Default 3.
    pub reconnects: usize,
    /// A pause inside the write transaction, before `COMMIT` (default none): to make a
    /// demo or a test catch workers mid-transaction. The server ends a write transaction
    /// idle for three leases (at least a second), so a pause that long fails every commit.
    pub pause_before_commit: Duration,
    /// Return when no partition needs a sync (default `true`); `false` keeps polling.
    pub stop_when_idle: bool,
    /// How many partitions to claim and apply in one transaction (default 1; at least 1).
    pub batch: i64,
}

impl WorkerOptions {
    /// The shortest lease a worker takes: its heartbeat renews it every third of it, and a
    /// shorter one would spin on renewals (a zero lease is born expired).
    pub const MIN_LEASE: Duration = Duration::from_millis(100);

    /// The longest lease a worker takes: a worker that dies holds its partitions that
    /// long, and PostgreSQL's timestamps end in the year 294276.
    pub const MAX_LEASE: Duration = Duration::from_secs(24 * 60 * 60);

    /// Refuses options a worker cannot run with.
    fn check(&self) -> Result<(), Error> {
        let refusal = if self.lease < Self::MIN_LEASE {
            format!(
                "a lease of {:?} is shorter than the {:?} a worker needs to renew it",
                self.lease,
                Self::MIN_LEASE
            )
        } else if self.lease > Self::MAX_LEASE {
            format!(
                "a lease of {:?} is longer than the {:?} a dead worker may hold partitions",
                self.lease,
                Self::MAX_LEASE
            )
        } else if self.batch < 1 {
            format!("a batch of {} partitions claims none", self.batch)
        } else if self.max_claims < 1 {
            format!(
                "max_claims {} leaves every partition alone before its first claim",
                self.max_claims
            )
        } else {
            return Ok(());
        };
        Err(Error::BadOptions(refusal))
    }
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
            batch: 1,
        }
    }
}

/// Partitions applied in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Each partition with the source version the target now holds for it.
    pub partitions: Vec<(String, i64)>,
    /// Rows created, updated and deleted, over those partitions.
    pub rows: (usize, usize, usize),
    /// How many of the partitions were read in part: only the devices the source's
    /// change records name (the others were read whole).
    pub partial: usize,
    /// From the source read to the commit.
    pub elapsed: Duration,
}

/// What a worker did.
#[derive(Debug, Clone, Default)]
#[must_use = "what the worker applied, and what it lost"]
pub struct WorkerReport {
    /// What it applied, transaction by transaction.
    pub applied: Vec<Applied>,
    /// Partitions whose lease it lost before applying them (another worker took over).
    pub lost_leases: usize,
    /// Times it connected again after a lost connection (while idle, or holding
    /// partitions, which it then retried).
    pub reconnects: usize,
    /// Claims it gave up on (their leases left to expire, to be retried).
    pub failures: usize,
}

impl WorkerReport {
    /// How many partitions it applied.
    pub fn partitions(&self) -> usize {
        self.applied.iter().map(|a| a.partitions.len()).sum()
    }
}

/// What of each partition a sync reads: whole partitions, and partitions of which only
/// some devices changed since the target's base version.
#[derive(Debug, Default)]
struct Scope {
    whole: Vec<String>,
    partial: Vec<String>,
    devices: Vec<String>,
}

impl Scope {
    /// Keeps the partitions named in `kept`.
    fn retain(&mut self, kept: &[String]) {
        self.whole.retain(|name| kept.contains(name));
        self.partial.retain(|name| kept.contains(name));
    }

    /// Reads the scope from `inventory`.
    async fn load(
        &self,
        inventory: &PgInventory,
        client: &impl GenericClient,
    ) -> Result<Inventory, Error> {
        let mut whole = if self.whole.is_empty() {
            Inventory::default()
        } else {
            inventory.load_sites(client, &self.whole).await?
        };
        if !self.partial.is_empty() {
            let partial = inventory
                .load_devices(client, &self.partial, &self.devices)
                .await?;
            for site in partial.sites {
                whole.sites.insert(site)?;
            }
        }
        Ok(whole)
    }
}

/// Per partition: its base and source versions, and the scope to read, from the
/// source's change records between them.
async fn plan(
    fleet: &Fleet,
    client: &impl GenericClient,
    names: &[String],
) -> Result<(HashMap<String, (i64, i64)>, Scope), tokio_postgres::Error> {
    let sql = format!(
        "SELECT p.name, p.base_version, s.version FROM {} AS p JOIN {} AS s ON s.name = p.name
          WHERE p.name = ANY($1)",
        fleet.partition, fleet.source_version
    );
    let mut versions = HashMap::new();
    for row in client.query(&sql, &[&names]).await? {
        versions.insert(
            row.try_get::<_, String>(0)?,
            (row.try_get(1)?, row.try_get(2)?),
        );
    }
    let sql = format!(
        "SELECT DISTINCT c.partition, c.device FROM {} AS c
           JOIN {} AS p ON p.name = c.partition JOIN {} AS s ON s.name = c.partition
          WHERE c.partition = ANY($1) AND c.version > p.base_version AND c.version <= s.version",
        fleet.change, fleet.partition, fleet.source_version
    );
    // `None`: the whole partition.
    let mut changed: HashMap<String, Option<Vec<String>>> = HashMap::new();
    for row in client.query(&sql, &[&names]).await? {
        let partition: String = row.try_get(0)?;
        let device: Option<String> = row.try_get(1)?;
        let entry = changed.entry(partition).or_insert_with(|| Some(Vec::new()));
        match (entry.as_mut(), device) {
            (Some(devices), Some(device)) => devices.push(device),
            _ => *entry = None,
        }
    }
    let mut scope = Scope::default();
    for name in names.iter().filter(|name| versions.contains_key(*name)) {
        match changed.remove(name) {
            Some(Some(devices)) if !devices.is_empty() => {
                scope.partial.push(name.clone());
                scope.devices.extend(devices);
            }
            _ => scope.whole.push(name.clone()),
        }
    }
    Ok((versions, scope))
}

/// How long a write transaction may sit idle, or run one statement, before the server ends
/// it: three leases (a live worker's heartbeat keeps its lease, and the work between two
/// statements of a partition, or one statement, takes far less for a partition of usual
/// size), at least one second.
fn idle_limit(lease: Duration) -> Duration {
    lease.saturating_mul(3).max(Duration::from_secs(1))
}

pub(super) async fn sync_partitions(
    fleet: &Fleet,
    client: &mut Client,
    held: &[Lease],
    options: &WorkerOptions,
) -> Result<Applied, PartitionError> {
    let names: Vec<String> = held.iter().map(|l| l.partition.clone()).collect();
    let failed = |source: Error| PartitionError::Failed {
        partitions: names.join(", "),
        source,
    };
    let db = |e: tokio_postgres::Error| failed(e.into());
    let started = Instant::now();
    let worker = held.first().map(|l| l.worker.clone()).unwrap_or_default();

    // The versions, what changed between them, and the source's side of it, from one
    // snapshot: the triggers bump a version and record the change in the transaction
    // that changes the rows.
    let (versions, mut scope, mut source) = {
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(db)?;
        let (versions, scope) = plan(fleet, &tx, &names).await.map_err(db)?;
        let source = scope.load(&fleet.source, &tx).await.map_err(failed)?;
        tx.commit().await.map_err(db)?;
        (versions, scope, source)
    };

    // Everything else in one transaction, under the partition rows' locks: the lease is
    // checked where nobody can take it any more, and the base must be the one planned
    // from.
    let tx = client.transaction().await.map_err(db)?;
    // A worker stopped mid-transaction (frozen, or its machine gone without closing the
    // connection) would hold the partition rows' locks, which claims skip, long after its
    // lease ran out: the server ends a transaction left idle for three leases, and a
    // statement that runs that long (one stopped inside a statement is not idle: a COPY
    // half sent, a read half taken).
    tx.batch_execute(&format!(
        "SET LOCAL idle_in_transaction_session_timeout = {limit}; \
         SET LOCAL statement_timeout = {limit}",
        limit = idle_limit(options.lease).as_millis()
    ))
    .await
    .map_err(db)?;
    let sql = format!(
        "SELECT name, owner, base_version FROM {} WHERE name = ANY($1) ORDER BY name FOR UPDATE",
        fleet.partition
    );
    let mut ours: Vec<(String, i64)> = Vec::new();
    for row in tx.query(&sql, &[&names]).await.map_err(db)? {
        let name: String = row.try_get(0).map_err(db)?;
        let owner: Option<String> = row.try_get(1).map_err(db)?;
        let base: i64 = row.try_get(2).map_err(db)?;
        if let Some(&(planned, version)) = versions.get(&name)
            && owner.as_deref() == Some(worker.as_str())
            && base == planned
            && base < version
        {
            ours.push((name, version));
        }
    }
    if ours.is_empty() {
        return Err(PartitionError::LostLease(names.join(", ")));
    }
    let kept: Vec<String> = ours.iter().map(|(name, _)| name.clone()).collect();
    if kept.len() < names.len() {
        scope.retain(&kept);
        source.sites.retain(|site| kept.contains(&site.name));
    }
    let mut target = scope.load(&fleet.target, &tx).await.map_err(failed)?;
    let (_, changes) =
        PgInventory::record(&mut target, &source, SyncOptions::default()).map_err(failed)?;
    fleet.target.write(&tx, &changes).await.map_err(failed)?;
    if !options.pause_before_commit.is_zero() {
        tokio::time::sleep(options.pause_before_commit).await;
    }
    let versions: Vec<i64> = ours.iter().map(|(_, version)| *version).collect();
    // The application is logged with the claims it took; the partition's claims then count
    // from zero again, so `max_claims` bounds claims without an application, not a busy
    // partition's successful syncs.
    let sql = format!(
        "INSERT INTO {} (partition, base_version, worker, claims)
         SELECT v.name, v.version, $3, p.claims
           FROM unnest($1::text[], $2::bigint[]) AS v (name, version)
           JOIN {} AS p ON p.name = v.name",
        fleet.applied, fleet.partition
    );
    tx.execute(&sql, &[&kept, &versions, &worker])
        .await
        .map_err(db)?;
    let sql = format!(
        "UPDATE {} AS p SET base_version = v.version, owner = NULL, expires_at = NULL,
                last_error = NULL, claims = 0
           FROM unnest($1::text[], $2::bigint[]) AS v (name, version)
          WHERE p.name = v.name",
        fleet.partition
    );
    tx.execute(&sql, &[&kept, &versions]).await.map_err(db)?;
    let sql = format!(
        "DELETE FROM {} AS c USING unnest($1::text[], $2::bigint[]) AS v (name, version)
          WHERE c.partition = v.name AND c.version <= v.version",
        fleet.change
    );
    tx.execute(&sql, &[&kept, &versions]).await.map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(Applied {
        partitions: ours,
        rows: changes.counts(),
        partial: scope.partial.len(),
        elapsed: started.elapsed(),
    })
}

/// A partition's error as recorded: a statement cancelled by the statement timeout is the
/// write's time limit (three leases), which a partition too large for its lease meets
/// every time; a connection the server closed may be its idle limit (or anything else that
/// ends a connection: a restart, the network), and is said to be possibly that.
fn explained(error: &Error, lease: Duration) -> String {
    let limit = idle_limit(lease).as_millis();
    let Error::Db(db) = error else {
        return error.to_string();
    };
    let statement_timeout = db
        .as_db_error()
        .is_some_and(|db| db.message().contains("statement timeout"));
    if statement_timeout {
        format!(
            "{error} (a write's statement may run for {limit} ms, three leases and at least \
             a second: a partition this large needs a longer lease)"
        )
    } else if db.is_closed() {
        format!(
            "{error} (possibly the server's limit on a write transaction left idle for \
             {limit} ms, three leases and at least a second: if so, a partition this large \
             needs a longer lease)"
        )
    } else {
        error.to_string()
    }
}

/// Renews the leases every third of their duration on the worker's heartbeat connection,
/// until none is ours any more or the handle is dropped: also when the worker's future is
/// dropped mid-sync (a `timeout`, a `select!`), so that a dead worker's lease ends.
fn spawn_heartbeat(
    fleet: &Fleet,
    beat: &Arc<Client>,
    held: &[Lease],
    lease: Duration,
) -> AbortOnDropHandle<()> {
    let (fleet, beat, held) = (fleet.clone(), Arc::clone(beat), held.to_vec());
    AbortOnDropHandle::new(tokio::spawn(async move {
        loop {
            tokio::time::sleep(lease / 3).await;
            if !matches!(fleet.heartbeat(&*beat, &held, lease).await, Ok(n) if n > 0) {
                return;
            }
        }
    }))
}

/// Opens a connection that `LISTEN`s on `channel`, and the stream of notification
/// payloads it receives (ending when the connection does).
/// [`connect_listening`] after the listening connection closed: up to
/// [`WorkerOptions::reconnects`] more tries, waiting [`WorkerOptions::poll`] and then twice
/// as long each time (a server that restarts refuses connections for a while).
async fn listen_again(
    url: &str,
    channel: &str,
    options: &WorkerOptions,
) -> Result<(Client, mpsc::UnboundedReceiver<String>), Error> {
    let mut wait = options.poll;
    let mut tries = 0;
    loop {
        match connect_listening(url, channel).await {
            Ok(listening) => return Ok(listening),
            Err(error) if tries >= options.reconnects => return Err(error),
            Err(_) => {
                tokio::time::sleep(wait).await;
                wait = wait.saturating_mul(2);
                tries += 1;
            }
        }
    }
}

async fn connect_listening(
    url: &str,
    channel: &str,
) -> Result<(Client, mpsc::UnboundedReceiver<String>), Error> {
    let (client, mut connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let (sender, receiver) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(Ok(message)) = messages.next().await {
            if let AsyncMessage::Notification(note) = message
                && sender.send(note.payload().to_owned()).is_err()
            {
                return;
            }
        }
    });
    client
        .batch_execute(&format!("LISTEN \"{channel}\""))
        .await?;
    Ok((client, receiver))
}

/// A worker's connection, and what it needs to reconnect.
struct Session<'a, F> {
    url: &'a str,
    worker: &'a str,
    options: &'a WorkerOptions,
    client: Client,
    /// A second connection for heartbeats, which run while `client` is in a transaction.
    beat: Arc<Client>,
    report: WorkerReport,
    on_applied: F,
}

impl<'a, F: FnMut(&Applied)> Session<'a, F> {
    /// Connects the worker's two connections.
    async fn open(
        url: &'a str,
        worker: &'a str,
        options: &'a WorkerOptions,
        on_applied: F,
    ) -> Result<Self, Error> {
        options.check()?;
        Ok(Self {
            url,
            worker,
            options,
            client: connect(url).await?,
            beat: Arc::new(connect(url).await?),
            report: WorkerReport::default(),
            on_applied,
        })
    }

    /// Whether the worker's connection was lost (a terminated backend answers with an
    /// error before the client sees the socket close, so it is probed); if so, connects
    /// again.
    ///
    /// # Errors
    /// [`Error::Db`] when the server cannot be reached.
    async fn reconnect_if_lost(&mut self) -> Result<bool, Error> {
        let lost = self.client.is_closed() || self.client.batch_execute("").await.is_err();
        if lost {
            self.client = connect(self.url).await?;
            self.report.reconnects += 1;
        }
        Ok(lost)
    }

    /// How many partitions need a sync; asked again on a new connection when the worker's
    /// was lost while idle.
    async fn pending(&mut self, fleet: &Fleet) -> Result<i64, Error> {
        match fleet.pending(&self.client, self.options.max_claims).await {
            Err(error) if !self.reconnect_if_lost().await? => Err(error),
            Err(_) => fleet.pending(&self.client, self.options.max_claims).await,
            Ok(pending) => Ok(pending),
        }
    }

    /// Claims and syncs partitions until none is claimable.
    async fn drain(&mut self, fleet: &Fleet) -> Result<(), Error> {
        let options = self.options;
        let mut reconnected = false;
        loop {
            let claimed = fleet
                .claim(
                    &self.client,
                    self.worker,
                    options.lease,
                    options.max_claims,
                    options.batch,
                )
                .await;
            let held = match claimed {
                Ok(held) => held,
                // The connection was lost while idle: claim again on a new one, once.
                Err(error) => {
                    if reconnected || !self.reconnect_if_lost().await? {
                        return Err(error);
                    }
                    reconnected = true;
                    continue;
                }
            };
            reconnected = false;
            if held.is_empty() {
                return Ok(());
            }
            if self.beat.is_closed() {
                self.beat = Arc::new(connect(self.url).await?);
            }
            let heartbeat = spawn_heartbeat(fleet, &self.beat, &held, options.lease);
            let done = self.apply(fleet, &held).await;
            drop(heartbeat);
            done?;
        }
    }

    /// Syncs the claimed partitions; reconnects and retries after a lost connection.
    /// Applies the partitions held in one transaction. When that fails for more than one,
    /// each is tried alone: one failing partition must not keep the others from being
    /// applied (nor give them its error, and its claims, until they are stuck too).
    async fn apply(&mut self, fleet: &Fleet, held: &[Lease]) -> Result<(), Error> {
        let Some(error) = self.apply_together(fleet, held).await? else {
            return Ok(());
        };
        if held.len() == 1 {
            return self.failed(fleet, held, &error).await;
        }
        for lease in held {
            let alone = std::slice::from_ref(lease);
            if let Some(error) = self.apply_together(fleet, alone).await? {
                self.failed(fleet, alone, &error).await?;
            }
        }
        Ok(())
    }

    /// Applies the partitions in one transaction (reconnecting after a lost connection, up
    /// to [`WorkerOptions::reconnects`] times); the error when that failed.
    async fn apply_together(
        &mut self,
        fleet: &Fleet,
        held: &[Lease],
    ) -> Result<Option<String>, Error> {
        let mut reconnects = 0;
        loop {
            match fleet
                .sync_partitions(&mut self.client, held, self.options)
                .await
            {
                Ok(applied) => {
                    self.report.lost_leases += held.len() - applied.partitions.len();
                    (self.on_applied)(&applied);
                    self.report.applied.push(applied);
                }
                Err(PartitionError::LostLease(_)) => self.report.lost_leases += held.len(),
                Err(PartitionError::Failed { source, .. }) => {
                    if self.reconnect_if_lost().await? && reconnects < self.options.reconnects {
                        reconnects += 1;
                        continue;
                    }
                    return Ok(Some(explained(&source, self.options.lease)));
                }
            }
            return Ok(None);
        }
    }

    /// Counts a failure and records its error on the partitions.
    async fn failed(&mut self, fleet: &Fleet, held: &[Lease], error: &str) -> Result<(), Error> {
        self.report.failures += 1;
        fleet.record_failure(&self.client, held, error).await
    }
}

impl Fleet {
    /// A worker: claims up to [`WorkerOptions::batch`] partitions at a time and syncs
    /// them in one transaction (heartbeat running), until none needs a sync (with
    /// [`WorkerOptions::stop_when_idle`]; otherwise it polls on). After a lost connection
    /// it reconnects and retries what it holds; a batch that failed otherwise is tried
    /// again partition by partition, and a partition that fails alone has its error
    /// recorded and its lease left to expire, so it is retried later.
    /// `on_applied` sees each transaction's partitions (to print a line, say).
    ///
    /// A lease belongs to a worker name: give each worker process its own. Two processes
    /// under one name renew each other's leases and may work on one partition together
    /// (each partition version is still applied once: the second finds it done).
    ///
    /// # Errors
    /// [`Error::BadOptions`] for options out of their ranges (see [`WorkerOptions`]);
    /// [`Error::Db`] when the server cannot be reached (to claim, or to reconnect).
    pub async fn run_worker(
        &self,
        url: &str,
        worker: &str,
        options: &WorkerOptions,
        on_applied: impl FnMut(&Applied),
    ) -> Result<WorkerReport, Error> {
        let mut session = Session::open(url, worker, options, on_applied).await?;
        loop {
            session.drain(self).await?;
            if options.stop_when_idle && session.pending(self).await? == 0 {
                return Ok(session.report);
            }
            tokio::time::sleep(options.poll).await;
        }
    }

    /// A listener: `LISTEN`s on the fleet's channel, and whenever the source's triggers
    /// notify changed partitions, claims and syncs the partitions that need it (those,
    /// unless a worker was faster), as [`Fleet::run_worker`] does. It also looks once per
    /// lease duration without a notification, for partitions whose leases expired.
    /// Returns when `stop` completes.
    ///
    /// # Errors
    /// [`Error::BadOptions`] as [`Fleet::run_worker`]; [`Error::Db`] when the server cannot
    /// be reached (a listening connection that closed is opened again).
    pub async fn listen(
        &self,
        url: &str,
        worker: &str,
        options: &WorkerOptions,
        on_applied: impl FnMut(&Applied),
        stop: impl Future<Output = ()>,
    ) -> Result<WorkerReport, Error> {
        options.check()?;
        let (mut _listening, mut notes) = connect_listening(url, &self.channel).await?;
        let mut session = Session::open(url, worker, options, on_applied).await?;
        tokio::pin!(stop);
        loop {
            session.drain(self).await?;
            tokio::select! {
                note = notes.recv() => {
                    if note.is_none() {
                        // The listening connection closed (the server ended it, or
                        // restarted): listen again; what was notified meanwhile is found
                        // by the pass that follows.
                        (_listening, notes) = listen_again(url, &self.channel, options).await?;
                        continue;
                    }
                    // One pass covers every notification queued so far.
                    while notes.try_recv().is_ok() {}
                }
                () = tokio::time::sleep(options.lease) => {}
                () = &mut stop => return Ok(session.report),
            }
        }
    }
}
