//! The dataset-driven benchmark: load two inventory files, diff the target from the source,
//! sync the target in memory, diff again, and print one JSON line of timings and counts.
//!
//! `cargo run --release --example inventory_bench -- --source A.json --target B.json`
//!
//! `--write-dataset N DIR` first writes a seeded pair to `DIR/source.json` (after the
//! mutation pass) and `DIR/target.json` (before it), with N interfaces.

use std::path::PathBuf;

/// Loading a million interfaces is mostly allocation (and the page faults behind it);
/// mimalloc handles that faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;
use std::time::Instant;

use statesync::sync::{InMemory, SyncModel, SyncOptions};
use statesync_suite::cli::{self, Args, Command, Opt, UsageError};
use statesync_suite::dataset::{generate, mutate};
use statesync_suite::json_file;
use statesync_suite::measure::peak_rss_mb;

const COMMAND: Command = Command {
    name: "inventory_bench",
    about: "Loads two inventory files, diffs the target from the source, syncs the target in \
            memory, diffs again, and prints one JSON line of timings and counts.",
    options: &[
        Opt::value("--source", &["FILE"], "the source inventory"),
        Opt::value("--target", &["FILE"], "the target inventory"),
        Opt::value(
            "--write-dataset",
            &["N", "DIR"],
            "first write a seeded pair of N interfaces to DIR/source.json and DIR/target.json",
        ),
    ],
};

fn main() -> ExitCode {
    COMMAND.main(run)
}

fn run(args: Args) -> Result<(), statesync::sync::HookError> {
    let (source, target) = match args.values("--write-dataset") {
        Some([count, dir]) => {
            let count: usize = cli::parse_operand("--write-dataset N", count)?;
            let count = cli::at_most(
                "--write-dataset N",
                count,
                statesync_suite::dataset::MAX_INTERFACES,
            )?;
            let dir = PathBuf::from(dir);
            cli::at_path(&dir, std::fs::create_dir_all(&dir))?;
            let old = generate(count, 1);
            json_file::save(&mutate(&old, 2), &dir.join("source.json"))?;
            json_file::save(&old, &dir.join("target.json"))?;
            statesync_suite::cli::tell(format_args!(
                "wrote {0}/source.json and {0}/target.json",
                dir.display()
            ));
            (
                args.path("--source").unwrap_or(dir.join("source.json")),
                args.path("--target").unwrap_or(dir.join("target.json")),
            )
        }
        _ => match (args.path("--source"), args.path("--target")) {
            (Some(source), Some(target)) => (source, target),
            _ => {
                let usage = "give --source and --target, or --write-dataset; try --help";
                return Err(UsageError::new(usage).into());
            }
        },
    };

    let started = Instant::now();
    let (source, target) = std::thread::scope(|scope| {
        let source = scope.spawn(|| json_file::load(&source));
        let target = json_file::load(&target);
        (source.join(), target)
    });
    let source = source.map_err(|_| "loading the source panicked")??;
    let mut target = target?;
    let load_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let diff = target.diff_from(&source)?;
    let diff_s = started.elapsed().as_secs_f64();
    let summary = diff.summary();

    let started = Instant::now();
    let report = target.sync_diff(&diff, &mut InMemory, SyncOptions::default());
    let sync_s = started.elapsed().as_secs_f64();
    if !report.is_success() {
        return Err(format!("sync failed: {report}").into());
    }
    let after = target.diff_from(&source)?.summary().changes();

    // The root (`inventory`) is a container, not an element of the dataset: it is not
    // counted, as in diffsync where the adapter is the root.
    statesync_suite::say!(
        "{{\"load_s\":{load_s:.3},\"diff_s\":{diff_s:.3},\"sync_s\":{sync_s:.3},\"create\":{},\"update\":{},\"delete\":{},\"unchanged\":{},\"after_sync_changes\":{after},\"peak_rss_mb\":{:.0}}}",
        summary.create,
        summary.update,
        summary.delete,
        summary.unchanged.saturating_sub(1),
        peak_rss_mb().unwrap_or(f64::NAN),
    )?;
    Ok(())
}
