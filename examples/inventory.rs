//! Syncs an inventory (sites → devices → interfaces) from a JSON file into a SQLite
//! database through the adapter's SQL hooks.
//!
//! `cargo run --release --example inventory` writes a seeded demo dataset, syncs it into a
//! local SQLite file and prints the plan and the report; a second run finds nothing to do.
//!
//! Options: `--source FILE` (default: the demo dataset), `--db FILE`, `--dry-run`,
//! `--generate N` (interfaces in the demo dataset, default 10000), `--mutate` (apply the
//! dataset's mutation pass to the source first, to show an incremental sync), `--force`
//! (sync even when it deletes more than half of the database, which is refused otherwise).

use std::path::PathBuf;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use statesync::sync::{DeleteLimit, SyncModel, SyncOptions};
use statesync_suite::dataset::{generate, mutate};
use statesync_suite::json_file;
use statesync_suite::sqlite::SqliteInventory;

const DEMO_DIR: &str = "target/inventory-demo";
const PLAN_LINES: usize = 15;

struct Args {
    source: Option<PathBuf>,
    db: PathBuf,
    dry_run: bool,
    generate: usize,
    mutate: bool,
    force: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        source: None,
        db: PathBuf::from(DEMO_DIR).join("inventory.sqlite"),
        dry_run: false,
        generate: 10_000,
        mutate: false,
        force: false,
    };
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        let mut value = || given.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--source" => args.source = Some(PathBuf::from(value()?)),
            "--db" => args.db = PathBuf::from(value()?),
            "--dry-run" => args.dry_run = true,
            "--mutate" => args.mutate = true,
            "--force" => args.force = true,
            "--generate" => {
                args.generate = value()?
                    .parse()
                    .map_err(|error| format!("--generate: {error}"))?;
            }
            "--help" | "-h" => {
                return Err(
                    "usage: inventory [--source FILE] [--db FILE] [--dry-run] [--generate N] [--mutate] [--force]"
                        .into(),
                );
            }
            other => return Err(format!("unknown argument {other}; try --help")),
        }
    }
    Ok(args)
}

fn run(args: Args) -> Result<(), statesync::sync::HookError> {
    let source_path = match &args.source {
        Some(path) => path.clone(),
        None => {
            std::fs::create_dir_all(DEMO_DIR)?;
            let path = PathBuf::from(DEMO_DIR).join("source.json");
            json_file::save(&generate(args.generate, 1), &path)?;
            println!(
                "wrote a demo dataset of {} interfaces to {}",
                args.generate,
                path.display()
            );
            path
        }
    };
    let source_path = if args.mutate {
        // The demo file is ours to rewrite; a file the user named is not.
        let mutated_path = match &args.source {
            Some(_) => {
                std::fs::create_dir_all(DEMO_DIR)?;
                PathBuf::from(DEMO_DIR).join("source-mutated.json")
            }
            None => source_path.clone(),
        };
        let mutated = mutate(&json_file::load(&source_path)?, 2);
        json_file::save(&mutated, &mutated_path)?;
        println!(
            "applied the mutation pass to {} (written to {})",
            source_path.display(),
            mutated_path.display()
        );
        mutated_path
    } else {
        source_path
    };
    let source = json_file::load(&source_path)?;
    if let Some(dir) = args.db.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut db = SqliteInventory::open(&args.db)?;
    let mut target = db.load()?;

    let plan = target.diff_from(&source)?;
    let summary = plan.summary();
    println!("plan for {}: {summary}", args.db.display());
    let entries = plan.entries();
    for entry in entries.iter().take(PLAN_LINES) {
        println!("  {entry}");
    }
    if entries.len() > PLAN_LINES {
        println!("  … and {} more", entries.len() - PLAN_LINES);
    }
    if plan.is_empty() {
        println!("nothing to do: {} is in sync", args.db.display());
        return Ok(());
    }
    if args.dry_run {
        println!("dry run: nothing written");
        return Ok(());
    }

    let bar = ProgressBar::new(summary.changes() as u64);
    bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")?);
    let mut options = SyncOptions::default().on_progress(|progress| {
        if progress.stage == "sync" {
            bar.set_length(progress.total as u64);
            bar.set_position(progress.done as u64);
        }
    });
    if !args.force {
        options = options.delete_limit(DeleteLimit::percent(50));
    }
    let report = target.sync_diff(&plan, &mut db, options);
    bar.finish_and_clear();
    println!("report: {report}");
    for failure in report.failures().take(10) {
        println!("  {failure}");
    }
    if report.refused.is_some() {
        return Err("nothing was written; run again with --force to delete anyway".into());
    }
    if !report.is_success() {
        return Err(
            "the sync did not complete; the database holds what the report says was applied".into(),
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    match parse_args().map_err(Into::into).and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
