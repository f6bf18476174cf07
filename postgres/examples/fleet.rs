//! Partitioned sync workers over PostgreSQL (`statesync_postgres::Fleet`), end to end.
//!
//! `cargo run --release -p statesync-postgres --example fleet -- --workers 4` writes a
//! seeded inventory of 1,000,000 interfaces, regrouped into 200 sites (partitions), into a
//! source schema (whose triggers mark every site as changed), then starts 4 worker
//! processes (this binary again, with `--worker`) that claim partitions with leases and
//! sync each into an empty target schema in one transaction. Each worker prints a line per
//! partition and, at the end, its peak memory. Then a listener (in this process) is started
//! and 100 interfaces of the source are changed with plain SQL, once spread over the
//! whole inventory and once on two devices: the triggers notify the changed partitions and
//! the listener syncs those; the time from the source's commit to the target's is printed.
//! The schemas are dropped at the end (`--keep` keeps them). `DATABASE_URL` or the local
//! server. A demo with numbers to read, not a timed test.

use std::error::Error;
use std::io::{BufRead, BufReader};
use std::process::{Child, ExitCode, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use statesync::Store;
use statesync::sync::SyncOptions;
use statesync_postgres::fleet_process::{WORKER_OPTIONS, WorkerArgs, done_line};
use statesync_postgres::{Applied, Fleet, PgInventory, WorkerOptions, connect};
use statesync_suite::cli::{Args, Command, Opt, UsageError};
use statesync_suite::dataset::MAX_INTERFACES;
use statesync_suite::dataset::generate;
use statesync_suite::inventory::{Inventory, Site};
use tokio_postgres::Client;

mod common;

const OPTIONS: &[Opt] = &[
    Opt::value("--workers", &["N"], "worker processes, 1 to 32 (default 4)"),
    Opt::value(
        "--interfaces",
        &["N"],
        "interfaces in the source (default 1000000)",
    ),
    Opt::value(
        "--partitions",
        &["N"],
        "sites the devices are regrouped into (default 200; 0 keeps the dataset's sites of 480 interfaces)",
    ),
    Opt::value(
        "--changes",
        &["N"],
        "interfaces changed for the listener (default 100)",
    ),
    Opt::flag("--keep", "keep the schemas"),
    Opt::flag(
        "--worker",
        "run as a worker process (started by the example itself)",
    ),
    // The worker process's own options (WORKER_OPTIONS), for --worker.
    Opt::value("--source", &["SCHEMA"], "(--worker) the source schema"),
    Opt::value("--target", &["SCHEMA"], "(--worker) the target schema"),
    Opt::value("--name", &["NAME"], "(--worker) the worker's name"),
    Opt::value(
        "--lease-ms",
        &["MS"],
        "(--worker) lease duration (default 10000)",
    ),
    Opt::value(
        "--pause-ms",
        &["MS"],
        "(--worker) pause before each COMMIT (default 0)",
    ),
    Opt::value(
        "--batch",
        &["N"],
        "(--worker) partitions claimed and applied in one transaction (default 1)",
    ),
];

const COMMAND: Command = Command {
    name: "fleet",
    about: "Syncs an inventory from one PostgreSQL schema into another with worker processes \
            that claim site partitions with leases, then syncs source changes through \
            LISTEN/NOTIFY.",
    options: OPTIONS,
};

fn main() -> ExitCode {
    // Every option of the worker binary is one of this example's too (for `--worker`).
    debug_assert!(
        WORKER_OPTIONS
            .iter()
            .all(|worker| OPTIONS.iter().any(|option| option.name == worker.name))
    );
    COMMAND.main(|args| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        if args.flag("--worker") {
            let worker = WorkerArgs::parse(&args)?;
            let report = runtime.block_on(worker.run(&common::url()))?;
            statesync_suite::say!("{}", done_line(&worker.name, &report))?;
            return Ok(());
        }
        runtime.block_on(coordinate(args))
    })
}

/// The most worker processes the coordinator starts (each holds two connections).
const MAX_WORKERS: usize = 32;

async fn coordinate(args: Args) -> Result<(), Box<dyn Error>> {
    let workers = args.size_or("--workers", 4, MAX_WORKERS)?;
    let interfaces = args.size_or("--interfaces", 1_000_000, MAX_INTERFACES)?;
    let partitions: usize = args.parsed_or("--partitions", 200)?;
    let changes = args.size_or("--changes", 100, MAX_INTERFACES)?;
    if workers == 0 || interfaces == 0 {
        return Err(UsageError::new("--workers and --interfaces must be at least 1").into());
    }
    let url = common::url();
    let mut client = connect(&url).await?;
    let fleet = Fleet::new(
        PgInventory::new(common::fresh_schema(&client, "fleet_src").await?),
        PgInventory::new(common::fresh_schema(&client, "fleet_dst").await?),
    );
    let sizes = (workers, interfaces, partitions, changes);
    let run = run_fleet(&fleet, &url, &mut client, sizes).await;
    // The schemas go on failure too (a failed run left them behind); `--keep` keeps them.
    if !args.flag("--keep") {
        common::drop_schema(&client, fleet.source().schema()).await?;
        common::drop_schema(&client, fleet.target().schema()).await?;
    }
    run
}

/// The coordinator's run in its fresh schemas: the source written, the workers' sync
/// verified, then the listener's.
async fn run_fleet(
    fleet: &Fleet,
    url: &str,
    client: &mut Client,
    (workers, interfaces, partitions, changes): (usize, usize, usize, usize),
) -> Result<(), Box<dyn Error>> {
    fleet.create_tables(client).await?;

    let started = Instant::now();
    let source = regroup(generate(interfaces, 1), partitions);
    let mut empty = Inventory::default();
    fleet
        .source()
        .sync(client, &mut empty, &source, SyncOptions::default())
        .await?;
    drop(empty);
    statesync_suite::say!(
        "source: {interfaces} interfaces in {} partitions written in {:.1} s",
        source.sites.len(),
        started.elapsed().as_secs_f64()
    )?;

    let started = Instant::now();
    let children = (0..workers)
        .map(|w| spawn_worker(fleet, &format!("w{w}")))
        .collect::<Result<Vec<_>, _>>()?;
    let outcomes = relay(children);
    let elapsed = started.elapsed();
    for outcome in &outcomes {
        if !outcome {
            return Err("a worker failed".into());
        }
    }
    let applied = fleet.applied(client).await?.len();
    statesync_suite::say!(
        "{workers} workers: {applied} partitions applied in {:.1} s",
        elapsed.as_secs_f64()
    )?;
    verify(fleet, client, &source).await?;
    listen_demo(fleet, url, client, changes).await
}

/// The dataset's devices regrouped into `partitions` sites (each device moves into site
/// `i % partitions` by its site's position), keeping names; `0` keeps the sites.
fn regroup(inventory: Inventory, partitions: usize) -> Inventory {
    if partitions == 0 || partitions >= inventory.sites.len() {
        return inventory;
    }
    let mut groups: Vec<Site> = Vec::with_capacity(partitions);
    for (at, site) in inventory.sites.into_iter().enumerate() {
        if groups.len() < partitions {
            groups.push(Site {
                name: site.name.clone(),
                region: site.region.clone(),
                devices: Store::new(),
            });
        }
        if let Some(group) = groups.get_mut(at % partitions) {
            for mut device in site.devices {
                device.site = group.name.clone();
                group.devices.upsert(device);
            }
        }
    }
    let mut regrouped = Inventory::default();
    for group in groups {
        regrouped.sites.upsert(group);
    }
    regrouped
}

fn spawn_worker(fleet: &Fleet, name: &str) -> std::io::Result<Child> {
    std::process::Command::new(std::env::current_exe()?)
        .args(["--worker", "--name", name])
        .args(["--source", fleet.source().schema().name()])
        .args(["--target", fleet.target().schema().name()])
        .stdout(Stdio::piped())
        .spawn()
}

/// Prints the workers' lines as they come; whether each exited successfully.
fn relay(children: Vec<Child>) -> Vec<bool> {
    let mut handles = Vec::new();
    for mut child in children {
        let stdout = child.stdout.take();
        handles.push(std::thread::spawn(move || {
            if let Some(stdout) = stdout {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    // Our own output closed: stop relaying (the worker's pipe closes too).
                    if statesync_suite::say!("{line}").is_err() {
                        break;
                    }
                }
            }
            child.wait().is_ok_and(|status| status.success())
        }));
    }
    handles
        .into_iter()
        .map(|h| h.join().unwrap_or(false))
        .collect()
}

async fn verify(
    fleet: &Fleet,
    client: &mut Client,
    source: &Inventory,
) -> Result<(), Box<dyn Error>> {
    let target = fleet.target().load(client).await?;
    let equal = &target == source;
    statesync_suite::say!("target == source: {equal}")?;
    if equal {
        Ok(())
    } else {
        Err("the target differs from the source".into())
    }
}

/// Starts a listener, changes `changes` interfaces of the source twice (spread, then on
/// two devices) and times each from the source's commit to the target's.
async fn listen_demo(
    fleet: &Fleet,
    url: &str,
    client: &mut Client,
    changes: usize,
) -> Result<(), Box<dyn Error>> {
    let (applied_tx, mut applied_rx) = tokio::sync::mpsc::unbounded_channel::<(Instant, Applied)>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let listener = tokio::spawn({
        let (fleet, url) = (fleet.clone(), url.to_owned());
        async move {
            let options = WorkerOptions {
                batch: 1024,
                ..WorkerOptions::default()
            };
            let stop = async {
                let _ = stop_rx.await;
            };
            fleet
                .listen(
                    &url,
                    "listener",
                    &options,
                    move |applied| {
                        let _ = applied_tx.send((Instant::now(), applied.clone()));
                    },
                    stop,
                )
                .await
        }
    });
    // Let the listener connect and find nothing to do.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let keys = interface_keys(fleet, client).await?;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let spread: Vec<&(String, String, String)> = (0..changes)
        .filter_map(|_| keys.get(rng.random_range(0..keys.len().max(1))))
        .collect();
    let clustered: Vec<&(String, String, String)> = keys.iter().take(changes).collect();
    for (label, picked) in [("spread", spread), ("on few devices", clustered)] {
        let mut sites: Vec<&str> = picked.iter().map(|(site, _, _)| site.as_str()).collect();
        sites.sort_unstable();
        sites.dedup();
        let devices: Vec<String> = picked.iter().map(|(_, d, _)| d.clone()).collect();
        let names: Vec<String> = picked.iter().map(|(_, _, n)| n.clone()).collect();
        let tx = client.transaction().await?;
        let sql = format!(
            "UPDATE {} AS i SET description = 'changed by the demo', mtu = i.mtu + 1
               FROM unnest($1::text[], $2::text[]) AS k (device, name)
              WHERE i.device = k.device AND i.name = k.name",
            fleet.source().schema().table("interface")
        );
        let updated = tx.execute(&sql, &[&devices, &names]).await?;
        let committed = Instant::now();
        tx.commit().await?;
        let mut synced = Vec::new();
        let mut last = committed;
        while synced.len() < sites.len() {
            let Ok(Some((at, applied))) =
                tokio::time::timeout(Duration::from_secs(60), applied_rx.recv()).await
            else {
                return Err("the listener did not sync the changes within 60 s".into());
            };
            synced.extend(applied.partitions.into_iter().map(|(name, _)| name));
            last = at;
        }
        statesync_suite::say!(
            "listener: {updated} interfaces changed ({label}) in {} partitions, synced end to end in {} ms",
            sites.len(),
            last.duration_since(committed).as_millis()
        )?;
    }
    let _ = stop_tx.send(());
    let _ = listener.await??;
    let now = fleet.source().load(client).await?;
    verify(fleet, client, &now).await
}

/// Every interface of the source as (site, device, name), in key order.
async fn interface_keys(
    fleet: &Fleet,
    client: &Client,
) -> Result<Vec<(String, String, String)>, Box<dyn Error>> {
    let sql = format!(
        "SELECT d.site, i.device, i.name FROM {} AS i JOIN {} AS d ON d.name = i.device
          ORDER BY i.device, i.name",
        fleet.source().schema().table("interface"),
        fleet.source().schema().table("device")
    );
    Ok(client
        .query(&sql, &[])
        .await?
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect())
}
