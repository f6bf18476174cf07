//! Syncs the demo inventory into the REST inventory service with statesync's async engine.
//!
//! `cargo run --release --example rest_sync` starts the service (axum + SQLite) on a
//! loopback port the OS chooses, syncs a seeded inventory of about 2,000 interfaces into
//! it with a progress bar and prints the report; then syncs again from what the service
//! holds and shows there is nothing left to do. `--help` lists the options.
//!
//! With injected failures (`--failure-rate`, `--timeout-rate`) a round may leave changes
//! undone: each round starts again from what the service holds (`Client::load`), until a
//! round succeeds or `--max-rounds` is reached. The exit code is 1 if the sync did not
//! converge or the second run found something to do.

use std::error::Error;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use statesync::sync::{
    AsyncSyncModel, AsyncSyncOptions, RetryPolicy, SyncFlags, SyncOptions, SyncReport,
};
use statesync_rest::{Client, ClientConfig, Config, RestAdapter, Service};
use statesync_suite::cli::{Args, Command, Opt, UsageError};
use statesync_suite::dataset::{generate, interface_count};
use statesync_suite::inventory::Inventory;

const COMMAND: Command = Command {
    name: "rest_sync",
    about: "Starts the REST inventory service on a loopback port, syncs a seeded demo \
            inventory into it with statesync's async engine, then syncs again to show there \
            is nothing left to do.",
    options: &[
        Opt::value(
            "--interfaces",
            &["N"],
            "interfaces in the demo inventory (default 2000)",
        ),
        Opt::value(
            "--latency-ms",
            &["MS"],
            "latency the service adds to every request (default 5)",
        ),
        Opt::value(
            "--max-in-flight",
            &["N"],
            "requests the engine runs at once (default 64)",
        ),
        Opt::value(
            "--failure-rate",
            &["F"],
            "fraction of changes the service answers with a 500 without doing them (default 0)",
        ),
        Opt::value(
            "--timeout-rate",
            &["F"],
            "fraction of changes the service does, then stalls past the client's timeout \
             (default 0)",
        ),
        Opt::value(
            "--max-rounds",
            &["N"],
            "rounds of sync from the service's state before giving up (default 10)",
        ),
        Opt::value(
            "--seed",
            &["N"],
            "seed of the dataset and of the failures (default 1)",
        ),
    ],
};

/// The options, read once.
struct Options {
    interfaces: usize,
    latency: Duration,
    max_in_flight: usize,
    failure_rate: f64,
    timeout_rate: f64,
    max_rounds: usize,
    seed: u64,
}

impl Options {
    fn from_args(args: &Args) -> Result<Self, UsageError> {
        Self {
            interfaces: args.size_or(
                "--interfaces",
                2000,
                statesync_suite::dataset::MAX_INTERFACES,
            )?,
            latency: Duration::from_millis(args.parsed_or("--latency-ms", 5)?),
            max_in_flight: args.parsed_or("--max-in-flight", 64)?,
            failure_rate: args.parsed_or("--failure-rate", 0.0)?,
            timeout_rate: args.parsed_or("--timeout-rate", 0.0)?,
            max_rounds: args.parsed_or("--max-rounds", 10)?,
            seed: args.parsed_or("--seed", 1)?,
        }
        .checked()
    }

    /// Refuses what the service or the engine would refuse later: rates that are not
    /// fractions adding up to at most 1, no call in flight.
    fn checked(self) -> Result<Self, UsageError> {
        let fraction = |rate: f64| rate.is_finite() && (0.0..=1.0).contains(&rate);
        if !fraction(self.failure_rate)
            || !fraction(self.timeout_rate)
            || self.failure_rate + self.timeout_rate > 1.0
        {
            return Err(UsageError::new(
                "--failure-rate and --timeout-rate are fractions (0 to 1) adding up to at most 1",
            ));
        }
        if self.max_in_flight == 0 {
            return Err(UsageError::new("--max-in-flight must be at least 1"));
        }
        if self.max_rounds == 0 {
            return Err(UsageError::new("--max-rounds must be at least 1"));
        }
        Ok(self)
    }

    /// The client gives up on a request after this long: well past the service's latency.
    fn client_timeout(&self) -> Duration {
        self.latency * 4 + Duration::from_secs(1)
    }
}

/// Exit codes: 0 done, 1 a failed run, 2 bad usage (as `Command::main`).
fn main() -> ExitCode {
    let options = match COMMAND.parse_env().map(|args| Options::from_args(&args)) {
        Ok(Ok(options)) => options,
        Ok(Err(usage)) => {
            statesync_suite::cli::tell(format_args!("error: {usage}"));
            return ExitCode::from(2);
        }
        Err(code) => return code,
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            statesync_suite::cli::tell(format_args!("error: {error}"));
            ExitCode::FAILURE
        }
    }
}

fn run(options: &Options) -> Result<(), Box<dyn Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(demo(options))
}

async fn demo(options: &Options) -> Result<(), Box<dyn Error>> {
    let service = Service::start(Config {
        latency: options.latency,
        failure_rate: options.failure_rate,
        timeout_rate: options.timeout_rate,
        // Longer than the client's timeout: the client sees a timeout for a change made.
        stall: options.client_timeout() * 2,
        seed: options.seed,
        // Room for every call in flight, the client's idle connections and retries while
        // stalled calls hold theirs.
        max_connections: options
            .max_in_flight
            .saturating_mul(4)
            .clamp(1024, statesync_rest::service::MAX_CONNECTIONS),
        ..Config::default()
    })
    .await?;
    statesync_suite::say!(
        "service on {} (latency {:?}, failure rate {}, timeout rate {})",
        service.url(),
        options.latency,
        options.failure_rate,
        options.timeout_rate
    )?;
    let client = Client::new(
        &service.url(),
        &ClientConfig {
            timeout: options.client_timeout(),
            ..ClientConfig::default()
        },
    )?;
    let adapter = RestAdapter::new(client.clone());
    let source = generate(options.interfaces, options.seed);
    statesync_suite::say!(
        "source: {} sites, {} interfaces; max_in_flight {}",
        source.sites.len(),
        interface_count(&source),
        options.max_in_flight
    )?;

    let started = Instant::now();
    let rounds = converge(&client, &adapter, &source, options).await?;
    let Some(rounds) = rounds else {
        return Err(format!(
            "no convergence in {} rounds; the service holds what the succeeded hooks did",
            options.max_rounds
        )
        .into());
    };
    if client.load().await? != source {
        return Err("the sync reported success but the service differs from the source".into());
    }
    statesync_suite::say!(
        "converged in {rounds} round{} ({:.2?}); the service holds the source",
        if rounds == 1 { "" } else { "s" },
        started.elapsed()
    )?;

    // Again, from what the service holds: nothing to do.
    let mut target = client.load().await?;
    let again = sync_round(&mut target, &source, &adapter, options).await?;
    statesync_suite::say!("second run: {again}")?;
    if again.counts.changes() != 0 || !again.is_success() {
        return Err("the second run had something to do".into());
    }
    statesync_suite::say!("second run: nothing to do")?;

    let stats = service.stats();
    statesync_suite::say!(
        "service counters: {} injected failures, {} duplicates, {} missing parents, {} refused parent deletes",
        stats.injected_failures,
        stats.duplicates,
        stats.missing_parents,
        stats.has_children
    )?;
    service.shutdown().await?;
    Ok(())
}

/// Syncs rounds from the service's state until one succeeds; the number of rounds, or
/// `None` when `max_rounds` did not suffice.
async fn converge(
    client: &Client,
    adapter: &RestAdapter,
    source: &Inventory,
    options: &Options,
) -> Result<Option<usize>, Box<dyn Error>> {
    for round in 1..=options.max_rounds {
        let mut target = client.load().await?;
        let report = sync_round(&mut target, source, adapter, options).await?;
        statesync_suite::say!("round {round}: {report}")?;
        for failure in report.failures().take(3) {
            statesync_suite::say!("  {failure}")?;
        }
        if report.counts.failed > 3 {
            statesync_suite::say!("  ... and {} more failures", report.counts.failed - 3)?;
        }
        if report.is_success() {
            return Ok(Some(round));
        }
    }
    Ok(None)
}

/// One sync of `target` (what the service held) to `source`, with a progress bar fed by
/// the engine as each hook call ends.
async fn sync_round(
    target: &mut Inventory,
    source: &Inventory,
    adapter: &RestAdapter,
    options: &Options,
) -> Result<SyncReport, Box<dyn Error>> {
    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template(
        "{bar:40} {pos}/{len} changes {elapsed_precise} {per_sec}",
    )?);
    let sync = SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE).on_progress(|progress| {
        if progress.stage == "sync" {
            bar.set_length(progress.total as u64);
            bar.set_position(progress.done as u64);
        }
    });
    let async_options = AsyncSyncOptions::new(sync)
        .max_in_flight(options.max_in_flight)
        .retry(RetryPolicy::attempts(5))
        .sleep(|d| Box::pin(tokio::time::sleep(d)));
    let report = target
        .sync_from_async(source, adapter, async_options)
        .await?;
    bar.finish_and_clear();
    Ok(report)
}
