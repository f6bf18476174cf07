//! Syncs an inventory (sites → devices → interfaces) from a JSON file into a SQLite
//! database through the adapter's SQL hooks.
//!
//! `cargo run --release --example inventory` writes a seeded demo dataset, syncs it into a
//! local SQLite file and prints the plan and the report; a second run finds nothing to do.
//! `--help` lists the options.
//!
//! The sync is all-or-nothing unless `--partial` is given: one failed change and nothing
//! is committed. `--dry-run` writes nothing at all. The last line says what the database
//! holds, from how its transaction really ended. A sync that would delete more than half of
//! the database is refused unless `--force` is given.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use statesync::Diff;
use statesync::file::ReadError;
use statesync::sync::{DeleteLimit, HookError, SyncFlags, SyncModel, SyncOptions, SyncReport};
use statesync_suite::cli::{self, Args, Command, Opt, OutputError, UsageError};
use statesync_suite::dataset::{generate, mutate};
use statesync_suite::inventory::Inventory;
use statesync_suite::json_file::{self, LoadError};
use statesync_suite::sqlite::{Ending, SqliteInventory};

const DEMO_DIR: &str = "target/inventory-demo";
const PLAN_LINES: usize = 15;

const COMMAND: Command = Command {
    name: "inventory",
    about: "Syncs an inventory from a JSON file into a SQLite database. Without --source, a \
            seeded demo dataset is written to target/inventory-demo/source.json first.",
    options: &[
        Opt::value(
            "--source",
            &["FILE"],
            "the inventory to sync from (default: the demo dataset)",
        ),
        Opt::value(
            "--db",
            &["FILE"],
            "the database (default: target/inventory-demo/inventory.sqlite)",
        ),
        Opt::flag(
            "--dry-run",
            "print the plan only; write nothing, not even the demo dataset",
        ),
        Opt::flag(
            "--partial",
            "commit the changes that succeeded even when others failed (default: all or nothing)",
        ),
        Opt::value(
            "--generate",
            &["N"],
            "interfaces in the demo dataset (default 10000)",
        ),
        Opt::flag(
            "--mutate",
            "apply the dataset's mutation pass to the source first, to show an incremental sync",
        ),
        Opt::flag(
            "--force",
            "sync even when it deletes more than half of the database (refused otherwise)",
        ),
        Opt::value(
            "--max-source-bytes",
            &["BYTES"],
            "refuse a larger source file (default 1 GiB)",
        ),
    ],
};

/// The options, read once.
struct Options {
    source: Option<PathBuf>,
    db: PathBuf,
    dry_run: bool,
    partial: bool,
    generate: usize,
    mutate: bool,
    force: bool,
    max_source_bytes: u64,
}

impl Options {
    fn read(args: &Args) -> Result<Self, HookError> {
        // Options that would be ignored are refused instead.
        let ignored = match (
            args.flag("--source"),
            args.flag("--generate"),
            args.flag("--max-source-bytes"),
        ) {
            (true, true, _) => {
                Some("--generate makes the demo source; it has no use with --source")
            }
            (false, _, true) => Some("--max-source-bytes limits the file --source names; give one"),
            _ => None,
        };
        if let Some(why) = ignored {
            return Err(UsageError::new(format!("{why}; try --help")).into());
        }
        Ok(Self {
            source: args.path("--source"),
            db: args
                .path("--db")
                .unwrap_or_else(|| Path::new(DEMO_DIR).join("inventory.sqlite")),
            dry_run: args.flag("--dry-run"),
            partial: args.flag("--partial"),
            generate: args.size_or(
                "--generate",
                10_000,
                statesync_suite::dataset::MAX_INTERFACES,
            )?,
            mutate: args.flag("--mutate"),
            force: args.flag("--force"),
            max_source_bytes: args.parsed_or("--max-source-bytes", json_file::DEFAULT_MAX_BYTES)?,
        })
    }

    /// Writes a demo file, unless this is a dry run.
    fn save(&self, inventory: &Inventory, path: &Path, what: &str) -> Result<(), HookError> {
        if self.dry_run {
            statesync_suite::say!(
                "{what} (dry run: kept in memory, not written to {})",
                path.display()
            )?;
            return Ok(());
        }
        // The database is open by now (created if new): a demo file written over it would
        // unlink the file the sync then commits into.
        if same_file(&self.db, path) {
            return Err(UsageError::new(format!(
                "--db {} is where this run writes its demo dataset; name another file",
                self.db.display()
            ))
            .into());
        }
        cli::at_path(Path::new(DEMO_DIR), std::fs::create_dir_all(DEMO_DIR))?;
        json_file::save(inventory, path)?;
        statesync_suite::say!("{what}, written to {}", path.display())?;
        Ok(())
    }
}

/// The source: the user's file or the demo dataset, mutated if asked.
fn load_source(options: &Options) -> Result<Inventory, HookError> {
    let source = match &options.source {
        Some(path) => json_file::load_capped(path, options.max_source_bytes).map_err(
            |error| -> HookError {
                match error {
                    LoadError::Read(ReadError::TooLarge { .. }) => {
                        format!("{error} (--max-source-bytes)").into()
                    }
                    error => error.into(),
                }
            },
        )?,
        None => {
            let demo = generate(options.generate, 1);
            let what = format!("a demo dataset of {} interfaces", options.generate);
            options.save(&demo, &Path::new(DEMO_DIR).join("source.json"), &what)?;
            demo
        }
    };
    if !options.mutate {
        return Ok(source);
    }
    // The demo file is ours to rewrite; a file the user named is not.
    let name = match options.source {
        Some(_) => "source-mutated.json",
        None => "source.json",
    };
    let path = Path::new(DEMO_DIR).join(name);
    if let Some(source) = &options.source
        && same_file(source, &path)
    {
        return Err(UsageError::new(format!(
            "--source {} is where --mutate writes its mutated copy; copy it elsewhere first",
            source.display()
        ))
        .into());
    }
    let mutated = mutate(&source, 2);
    options.save(&mutated, &path, "applied the mutation pass to the source")?;
    Ok(mutated)
}

/// Whether two paths name one existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    matches!(
        (std::fs::canonicalize(a), std::fs::canonicalize(b)),
        (Ok(a), Ok(b)) if a == b
    )
}

/// Prints the plan; `false` when there is nothing to do.
fn print_plan(db: &Path, plan: &Diff<Inventory>) -> Result<bool, OutputError> {
    statesync_suite::say!("plan for {}: {}", db.display(), plan.summary())?;
    let entries = plan.entries();
    for entry in entries.iter().take(PLAN_LINES) {
        statesync_suite::say!("  {entry}")?;
    }
    if entries.len() > PLAN_LINES {
        statesync_suite::say!("  … and {} more", entries.len() - PLAN_LINES)?;
    }
    if plan.is_empty() && !db.exists() {
        // A dry run against a database not made yet, from an empty source.
        statesync_suite::say!(
            "nothing to do: the source is empty, and so would {} be",
            db.display()
        )?;
    } else if plan.is_empty() {
        statesync_suite::say!("nothing to do: {} is in sync", db.display())?;
    }
    Ok(!plan.is_empty())
}

/// The database as it is, read without writing to it (or creating it).
fn read_target(options: &Options) -> Result<Inventory, HookError> {
    if options.db.exists() {
        return SqliteInventory::open_read_only(&options.db)?.load();
    }
    statesync_suite::say!(
        "{} does not exist yet: planning against an empty inventory",
        options.db.display()
    )?;
    Ok(Inventory::default())
}

/// Plans against the database without writing to it.
fn dry_run(options: &Options, target: &Inventory, source: &Inventory) -> Result<(), HookError> {
    let plan = target.diff_from(source)?;
    if print_plan(&options.db, &plan)? {
        statesync_suite::say!("dry run: nothing written")?;
    }
    // What the sync's delete limit would say of this plan (the sync refuses before any
    // hook runs).
    let elements = 1 + target
        .sites
        .iter()
        .map(|site| {
            1 + site
                .devices
                .iter()
                .map(|d| 1 + d.interfaces.len())
                .sum::<usize>()
        })
        .sum::<usize>();
    let deletes = plan.summary().delete;
    if !options.force && !DeleteLimit::percent(50).allows(deletes, elements) {
        statesync_suite::say!(
            "the sync would be refused: {deletes} deletes of {elements} elements is more than \
             half (--force allows it)"
        )?;
    }
    Ok(())
}

/// The sync's options: a progress bar, and a guard against emptying the database.
fn sync_options<'a>(options: &Options, bar: &'a ProgressBar) -> SyncOptions<'a> {
    // `--partial` commits what succeeded: every change is tried, past a failure.
    let flags = if options.partial {
        SyncFlags::CONTINUE_ON_FAILURE
    } else {
        SyncFlags::empty()
    };
    let sync = SyncOptions::new(flags).on_progress(move |progress| {
        if progress.stage == "sync" {
            bar.set_length(progress.total as u64);
            bar.set_position(progress.done as u64);
        }
    });
    if options.force {
        sync
    } else {
        sync.delete_limit(DeleteLimit::percent(50))
    }
}

/// The database opened for the sync, and what it holds.
struct Opened {
    db: SqliteInventory,
    target: Inventory,
    created: Created,
}

impl Opened {
    fn open(options: &Options) -> Result<Self, HookError> {
        let created = Created {
            file: !options.db.exists(),
            dir: options.db.parent().and_then(first_missing),
        };
        if let Some(dir) = options.db.parent() {
            cli::at_path(dir, std::fs::create_dir_all(dir))?;
        }
        let opened = SqliteInventory::open(&options.db).map_err(HookError::from);
        // Read under the sync's write lock: another run's sync commits before this one
        // plans, or after it commits, never in between.
        let loaded = opened.and_then(|db| {
            let mut db = db.all_or_nothing(!options.partial);
            let target = db.load_for_sync()?;
            Ok((db, target))
        });
        match loaded {
            Ok((db, target)) => Ok(Self {
                db,
                target,
                created,
            }),
            Err(error) => {
                created.clean_up(&options.db, &Ending::NothingWritten)?;
                Err(error)
            }
        }
    }

    /// Closes the database without a sync; what this run created for it is removed.
    fn close_unused(self, path: &Path) -> std::io::Result<()> {
        drop(self.db);
        self.created.clean_up(path, &Ending::NothingWritten)
    }
}

/// What this run created for the database: the file, and the directories above it.
struct Created {
    /// Whether the file was not there before this run.
    file: bool,
    /// The topmost directory this run made for it.
    dir: Option<PathBuf>,
}

impl Created {
    /// Removes a database file this run created and did not commit to, and the directories
    /// it made for it (those left empty), so a failed run leaves nothing behind.
    fn clean_up(&self, db: &Path, ending: &Ending) -> std::io::Result<()> {
        if !self.file || !remove_if_left_empty(db, ending)? {
            return Ok(());
        }
        if let (Some(top), Some(parent)) = (&self.dir, db.parent()) {
            for dir in parent.ancestors() {
                if std::fs::remove_dir(dir).is_err() || dir == top {
                    break;
                }
            }
        }
        Ok(())
    }
}

/// The topmost of `dir` and its ancestors that does not exist.
fn first_missing(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .take_while(|ancestor| !ancestor.as_os_str().is_empty() && !ancestor.exists())
        .last()
        .map(Path::to_owned)
}

fn sync(options: &Options, opened: Opened, source: &Inventory) -> Result<(), HookError> {
    // Nothing to do, or a failure before the sync: the database is closed unused.
    let planned = opened
        .target
        .diff_from(source)
        .map_err(HookError::from)
        .and_then(|plan| match print_plan(&options.db, &plan)? {
            true => Ok(Some(plan)),
            false => Ok(None),
        });
    let plan = match planned {
        Ok(Some(plan)) => plan,
        Ok(None) => return Ok(opened.close_unused(&options.db)?),
        Err(error) => {
            opened.close_unused(&options.db)?;
            return Err(error);
        }
    };
    let Opened {
        mut db,
        mut target,
        created,
    } = opened;
    let bar = ProgressBar::new(plan.summary().changes() as u64);
    bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")?);
    let report = target.sync_diff(&plan, &mut db, sync_options(options, &bar));
    bar.finish_and_clear();
    // The database is closed (and a file this run created and left empty removed) before
    // anything is printed: a closed output must not skip it.
    let ending = db.ending().cloned().unwrap_or(Ending::NothingWritten);
    drop(db);
    created.clean_up(&options.db, &ending)?;
    statesync_suite::say!("report: {report}")?;
    for failure in report.failures().take(10) {
        statesync_suite::say!("  {failure}")?;
    }
    conclude(options, &report, &ending, plan.summary().changes())
}

/// Removes an empty database file, only when SQLite confirmed the rollback (no journal to
/// replay); whether it did.
fn remove_if_left_empty(db: &Path, ending: &Ending) -> std::io::Result<bool> {
    let certain = matches!(ending, Ending::RolledBack { .. } | Ending::NothingWritten);
    // A file the failed open never made is not there to remove.
    let Ok(found) = std::fs::metadata(db) else {
        return Ok(true);
    };
    if certain && found.len() == 0 {
        cli::at_path(db, std::fs::remove_file(db))?;
        return Ok(true);
    }
    Ok(false)
}

/// The last line: what the database holds, from how the transaction ended.
/// What a sync left out of the system: the failures, the changes skipped with them and,
/// after a stop, those of the `planned` changes it never tried (the engine lists nothing
/// after a stop).
fn left_out(report: &SyncReport, planned: usize) -> String {
    let counts = &report.counts;
    let mut left = format!(
        "{} failed, {} skipped with them",
        counts.failed, counts.skipped
    );
    if report.stopped {
        let tried = counts.changes() + counts.failed + counts.skipped;
        let untried = planned.saturating_sub(tried);
        left.push_str(&format!(", {untried} not tried after the stop"));
    }
    left
}

fn conclude(
    options: &Options,
    report: &SyncReport,
    ending: &Ending,
    planned: usize,
) -> Result<(), HookError> {
    let db = options.db.display();
    if let Some(refusal) = &report.refused {
        return Err(format!(
            "{refusal}; nothing was written to {db}: run again with --force to delete anyway"
        )
        .into());
    }
    match ending {
        Ending::Committed if report.is_success() => {
            statesync_suite::say!("committed: {db} now matches the source")?;
            Ok(())
        }
        Ending::Committed => Err(format!(
            "committed what was applied ({} changes); not in {db}: {}: fix them and run again",
            report.counts.changes(),
            left_out(report, planned)
        )
        .into()),
        Ending::NothingWritten => {
            Err(format!("nothing was written to {db}: every change failed or was skipped").into())
        }
        Ending::RolledBack { .. } | Ending::Abandoned { .. } => {
            let counts = left_out(report, planned);
            let hint = if report.counts.failed > 0 && !options.partial {
                "; --partial commits what succeeded"
            } else {
                ""
            };
            Err(format!("{db}: {ending} ({counts}){hint}").into())
        }
    }
}

fn run(args: Args) -> Result<(), HookError> {
    let options = Options::read(&args)?;
    // The database is opened and read first: a bad --db fails before the demo source is
    // generated and written.
    if options.dry_run {
        let target = read_target(&options)?;
        let source = load_source(&options)?;
        return dry_run(&options, &target, &source);
    }
    let opened = Opened::open(&options)?;
    match load_source(&options) {
        Ok(source) => sync(&options, opened, &source),
        Err(error) => {
            opened.close_unused(&options.db)?;
            Err(error)
        }
    }
}

fn main() -> ExitCode {
    COMMAND.main(run)
}
