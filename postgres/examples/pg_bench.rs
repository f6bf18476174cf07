//! The inventory adapter's numbers on a real server: an initial sync of N interfaces into
//! an empty schema, a load, a re-run (nothing to do), then M changes (creates, updates and
//! deletes of interfaces). One JSON line; the schema is dropped at the end.
//!
//! `cargo run --release -p statesync-postgres --example pg_bench` (1,000,000 interfaces,
//! 100,000 changes; `DATABASE_URL` or the local server). A benchmark to read, not a timed
//! test.

use std::error::Error;
use std::process::ExitCode;
use std::time::Instant;

use statesync::Store;
use statesync::sync::SyncOptions;
use statesync_postgres::{PgInventory, connect};
use statesync_suite::cli::{Args, Command, Opt};
use statesync_suite::dataset::MAX_INTERFACES;
use statesync_suite::dataset::generate;
use statesync_suite::inventory::{Device, Interface, Inventory, Site};

mod common;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const COMMAND: Command = Command {
    name: "pg_bench",
    about: "Times the PostgreSQL inventory adapter: initial sync into an empty schema, load, \
            re-run, then changes; prints one JSON line.",
    options: &[
        Opt::value(
            "--interfaces",
            &["N"],
            "interfaces in the source (default 1000000)",
        ),
        Opt::value(
            "--changes",
            &["M"],
            "interfaces changed, created or deleted afterwards (default 100000)",
        ),
        Opt::value(
            "--bulk-creates",
            &["ROWS"],
            "PgInventory::bulk_creates (default 50000; more than the rows measures the \
             per-row foreign-key checks)",
        ),
    ],
};

fn main() -> ExitCode {
    COMMAND.main(|args| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?
            .block_on(run(args))
    })
}

async fn run(args: Args) -> Result<(), Box<dyn Error>> {
    let interfaces = args.size_or("--interfaces", 1_000_000, MAX_INTERFACES)?;
    let changes = args.size_or("--changes", 100_000, MAX_INTERFACES)?;
    let mut client = connect(&common::url()).await?;
    let schema = common::fresh_schema(&client, "bench").await?;
    let bulk: usize = args.parsed_or("--bulk-creates", statesync_postgres::BULK_CREATES)?;
    let pg = PgInventory::new(schema.clone()).bulk_creates(bulk);
    pg.create_tables(&client).await?;
    let source = generate(interfaces, 1);

    let mut target = pg.load(&mut client).await?;
    let started = Instant::now();
    let initial = pg
        .sync(&mut client, &mut target, &source, SyncOptions::default())
        .await?;
    let initial_s = started.elapsed();

    let started = Instant::now();
    let mut loaded = pg.load(&mut client).await?;
    let load_s = started.elapsed();
    if loaded != source {
        return Err("the tables do not hold the source after the initial sync".into());
    }
    let started = Instant::now();
    let rerun = pg
        .sync(&mut client, &mut loaded, &source, SyncOptions::default())
        .await?;
    let rerun_s = started.elapsed();

    let changed = change(&source, changes);
    let started = Instant::now();
    let incremental = pg
        .sync(&mut client, &mut loaded, &changed, SyncOptions::default())
        .await?;
    let changes_s = started.elapsed();
    let verified = pg.load(&mut client).await? == changed;
    common::drop_schema(&client, &schema).await?;

    let (c, u, d) = incremental.rows;
    statesync_suite::say!(
        "{{\"interfaces\":{interfaces},\"initial_sync_s\":{},\"initial_write_s\":{},\"initial_engine_s\":{},\"initial_rows\":{},\
         \"load_s\":{},\"rerun_s\":{},\"rerun_rows\":{},\"changes\":{},\"changes_sync_s\":{},\
         \"changes_write_s\":{},\"verified\":{verified},\"peak_rss_mb\":{}}}",
        common::seconds(initial_s),
        common::seconds(initial.write),
        common::seconds(initial.report.elapsed),
        initial.rows.0,
        common::seconds(load_s),
        common::seconds(rerun_s),
        rerun.rows.0 + rerun.rows.1 + rerun.rows.2,
        c + u + d,
        common::seconds(changes_s),
        common::seconds(incremental.write),
        statesync_suite::measure::peak_rss_mb().map_or(f64::NAN, f64::round),
    )?;
    if !verified {
        return Err("the tables do not hold the changed source".into());
    }
    Ok(())
}

/// `source` with `changes` interfaces changed, spread evenly: a tenth deleted, a tenth
/// joined by a new interface on the same device, the rest updated (description and MTU).
fn change(source: &Inventory, changes: usize) -> Inventory {
    let total: usize = source
        .sites
        .iter()
        .flat_map(|site| site.devices.iter())
        .map(|device| device.interfaces.len())
        .sum();
    let step = (total / changes.max(1)).max(1);
    let (mut at, mut made) = (0, 0);
    let mut changed = Inventory::default();
    for site in &source.sites {
        let mut devices = Store::with_capacity(site.devices.len());
        for device in &site.devices {
            let mut interfaces = Store::with_capacity(device.interfaces.len() + 1);
            for interface in &device.interfaces {
                let pick = at % step == 0 && made < changes;
                at += 1;
                if !pick {
                    interfaces.upsert(interface.clone());
                    continue;
                }
                made += 1;
                match made % 10 {
                    0 => {}
                    1 => {
                        interfaces.upsert(interface.clone());
                        let _ = interfaces.upsert(Interface {
                            name: format!("ae-{made}"),
                            ..interface.clone()
                        });
                    }
                    _ => {
                        let _ = interfaces.upsert(Interface {
                            description: format!("changed-{made}"),
                            mtu: if interface.mtu == 1500 { 9216 } else { 1500 },
                            ..interface.clone()
                        });
                    }
                }
            }
            devices.upsert(Device {
                site: device.site.clone(),
                name: device.name.clone(),
                role: device.role.clone(),
                model: device.model.clone(),
                serial: device.serial.clone(),
                interfaces,
            });
        }
        changed.sites.upsert(Site {
            name: site.name.clone(),
            region: site.region.clone(),
            devices,
        });
    }
    changed
}
