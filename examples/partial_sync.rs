//! Partial sync: sync one site of a source file into a SQLite database, then the rest
//! without their interfaces. Nothing outside the scope is deleted because it was not loaded.
//!
//! `cargo run --example partial_sync`

use std::process::ExitCode;

use statesync::DiffModel;
use statesync::sync::{HookError, ModelFlags, SyncModel, SyncOptions};
use statesync_suite::cli::Command;
use statesync_suite::dataset::{generate, mutate};
use statesync_suite::inventory::{Interface, SiteKey};
use statesync_suite::json_file;
use statesync_suite::sqlite::SqliteInventory;

const DIR: &str = "target/partial-sync-demo";

fn run() -> Result<(), HookError> {
    let dir = statesync_suite::fixtures::fresh_dir(DIR)?;
    let source_path = dir.join("source.json");

    // The database holds the inventory; then the source moves on everywhere.
    let start = generate(2_000, 3);
    let mut db = SqliteInventory::open(&dir.join("inventory.sqlite"))?;
    let report = db
        .load()?
        .sync_from(&start, &mut db, SyncOptions::default())?;
    if !report.is_success() {
        return Err(format!("the database did not take the inventory: {report}").into());
    }
    let source = mutate(&start, 4);
    json_file::save(&source, &source_path)?;
    let everywhere = db.load()?.diff(&source)?.summary();
    statesync_suite::say!(
        "{} sites in the database; the source changed everywhere: {everywhere}",
        start.sites.len()
    )?;

    // 1. One site: a scoped load says it covers site-0002, and only site-0002.
    let scoped = json_file::load_sites(&source_path, &["site-0002"])?;
    let mut target = db.load()?;
    let plan = scoped.plan_for(&target.sites)?;
    statesync_suite::say!("scoped to site-0002: {}", plan.summary())?;
    let report = scoped.sync_into(&mut target.sites, &mut db, SyncOptions::default())?;
    statesync_suite::say!("  report: {report}")?;
    if !report.is_success() {
        return Err(format!("the scoped sync failed: {report}").into());
    }
    let stored = db.load()?;
    let site = |name: &str| SiteKey { name: name.into() };
    let same = |name: &str| match (stored.sites.get(&site(name)), source.sites.get(&site(name))) {
        (Some(a), Some(b)) => a.diff(b).is_ok_and(|d| d.is_empty()),
        _ => false,
    };
    statesync_suite::say!("  site-0002 now matches the source: {}", same("site-0002"))?;
    statesync_suite::say!(
        "  site-0001 untouched (still differs from the source): {}",
        !same("site-0001")
    )?;

    // 2. Model types: sites and devices everywhere, interfaces left alone.
    let options = SyncOptions::default().model_flags::<Interface>(ModelFlags::IGNORE);
    let report = target.sync_from(&source, &mut db, options)?;
    statesync_suite::say!("sites and devices only: {report}")?;
    if !report.is_success() {
        return Err(format!("the sync of sites and devices failed: {report}").into());
    }
    let interfaces_left = db
        .load()?
        .diff(&source)?
        .entries()
        .iter()
        .filter(|e| e.model == "interface")
        .count();
    statesync_suite::say!("  interface changes left for later: {interfaces_left}")?;

    if !same("site-0002") || same("site-0001") || interfaces_left == 0 {
        return Err("the partial sync went outside its scope".into());
    }
    Ok(())
}

const COMMAND: Command = Command {
    name: "partial_sync",
    about: "Syncs one site of a source file into a SQLite database, then the rest without their interfaces.",
    options: &[],
};

fn main() -> ExitCode {
    COMMAND.main(|_| run())
}
