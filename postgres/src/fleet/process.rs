//! The body of a worker process, shared by the `fleet` example (which runs its own binary
//! again with `--worker`) and the `statesync-fleet-worker` binary (which the tests kill).

use std::time::Duration;

use statesync_suite::cli::{Args, Command, Opt, UsageError};

use super::{Applied, Fleet, WorkerOptions, WorkerReport};
use crate::{Error, PgInventory, Schema};

/// The options of a worker process's command line.
pub const WORKER_OPTIONS: &[Opt] = &[
    Opt::value("--source", &["SCHEMA"], "the source inventory's schema"),
    Opt::value("--target", &["SCHEMA"], "the target inventory's schema"),
    Opt::value(
        "--name",
        &["NAME"],
        "the worker's name, as recorded in its leases",
    ),
    Opt::value("--lease-ms", &["MS"], "lease duration (default 10000)"),
    Opt::value(
        "--pause-ms",
        &["MS"],
        "pause before each COMMIT (default 0)",
    ),
    Opt::value(
        "--batch",
        &["N"],
        "partitions claimed and applied in one transaction (default 1)",
    ),
];

/// The worker binary's command line.
pub const WORKER_COMMAND: Command = Command {
    name: "statesync-fleet-worker",
    about: "A fleet worker: claims partitions of the source → target sync, applies each in \
            one transaction, prints a line per partition, and exits when none is left. \
            The server is DATABASE_URL.",
    options: WORKER_OPTIONS,
};

/// A worker process's settings, read from its arguments.
#[derive(Debug, Clone)]
pub struct WorkerArgs {
    /// The fleet.
    pub fleet: Fleet,
    /// The worker's name.
    pub name: String,
    /// How it runs.
    pub options: WorkerOptions,
}

impl WorkerArgs {
    /// Reads `--source`, `--target`, `--name`, `--lease-ms`, `--pause-ms` and `--batch`.
    ///
    /// # Errors
    /// A missing or malformed option, said in words: a [`UsageError`], so that the
    /// program exits 2 on it.
    pub fn parse(args: &Args) -> Result<Self, UsageError> {
        let text = |name: &str| {
            args.value(name)
                .and_then(|v| v.to_str())
                .map(str::to_owned)
                .ok_or_else(|| UsageError::new(format!("{name} is required")))
        };
        let schema = |name: &str| {
            Schema::new(&text(name)?).map_err(|e| UsageError::new(format!("{name}: {e}")))
        };
        let fleet = Fleet::new(
            PgInventory::new(schema("--source")?),
            PgInventory::new(schema("--target")?),
        );
        let options = WorkerOptions {
            lease: Duration::from_millis(args.parsed_or("--lease-ms", 10_000)?),
            pause_before_commit: Duration::from_millis(args.parsed_or("--pause-ms", 0)?),
            batch: args.parsed_or("--batch", 1)?,
            ..WorkerOptions::default()
        };
        Ok(Self {
            fleet,
            name: text("--name")?,
            options,
        })
    }

    /// Runs the worker to the end, printing a line per applied partition
    /// ([`applied_line`]).
    ///
    /// # Errors
    /// As [`Fleet::run_worker`].
    pub async fn run(&self, url: &str) -> Result<WorkerReport, Error> {
        self.fleet
            .run_worker(url, &self.name, &self.options, |applied| {
                // The line is for whoever watches; a closed output stops no sync.
                let _ = statesync_suite::say!("{}", applied_line(&self.name, applied));
            })
            .await
    }
}

/// `applied site-0001 v1 by w1: +5291 ~0 -0 rows in 84 ms` (partitions applied together
/// are listed together).
pub fn applied_line(worker: &str, applied: &Applied) -> String {
    let (created, updated, deleted) = applied.rows;
    let partitions: Vec<String> = applied
        .partitions
        .iter()
        .map(|(name, version)| format!("{name} v{version}"))
        .collect();
    let partial = match applied.partial {
        0 => String::new(),
        n if n == partitions.len() => " (changed devices only)".to_owned(),
        n => format!(" ({n} by changed devices only)"),
    };
    format!(
        "applied {} by {worker}: +{created} ~{updated} -{deleted} rows{partial} in {} ms",
        partitions.join(", "),
        applied.elapsed.as_millis()
    )
}

/// The last line of a worker process: `done w1: 52 applied, 0 lost leases, 0 reconnects,
/// 0 failures, peak 31 MB`.
pub fn done_line(worker: &str, report: &WorkerReport) -> String {
    format!(
        "done {worker}: {} partitions applied, {} lost leases, {} reconnects, {} failures, peak {} MB",
        report.partitions(),
        report.lost_leases,
        report.reconnects,
        report.failures,
        statesync_suite::measure::peak_rss_mb().map_or(f64::NAN, f64::round)
    )
}
