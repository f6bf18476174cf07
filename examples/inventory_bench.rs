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
use statesync_suite::dataset::{generate, mutate};
use statesync_suite::json_file;

/// Peak resident memory of this process, from `/proc/self/status` (Linux), in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn run() -> Result<(), statesync::sync::HookError> {
    let mut source = None;
    let mut target = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--source" => source = args.next().map(PathBuf::from),
            "--target" => target = args.next().map(PathBuf::from),
            "--write-dataset" => {
                let count: usize = args.next().ok_or("--write-dataset N DIR")?.parse()?;
                let dir = PathBuf::from(args.next().ok_or("--write-dataset N DIR")?);
                std::fs::create_dir_all(&dir)?;
                let old = generate(count, 1);
                json_file::save(&mutate(&old, 2), &dir.join("source.json"))?;
                json_file::save(&old, &dir.join("target.json"))?;
                eprintln!("wrote {0}/source.json and {0}/target.json", dir.display());
                source = Some(dir.join("source.json"));
                target = Some(dir.join("target.json"));
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let (Some(source), Some(target)) = (source, target) else {
        return Err("usage: inventory_bench --source A.json --target B.json".into());
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
    println!(
        "{{\"load_s\":{load_s:.3},\"diff_s\":{diff_s:.3},\"sync_s\":{sync_s:.3},\"create\":{},\"update\":{},\"delete\":{},\"unchanged\":{},\"after_sync_changes\":{after},\"peak_rss_mb\":{:.0}}}",
        summary.create,
        summary.update,
        summary.delete,
        summary.unchanged.saturating_sub(1),
        peak_rss_mb().unwrap_or(f64::NAN),
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
