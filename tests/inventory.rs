//! The inventory example's adapters for real: JSON files in, a SQLite file out.

use std::path::Path;

use statesync::DiffModel;
use statesync::sync::{
    Adapter, HookError, Hooks, Parents, SyncFlags, SyncModel, SyncOptions, SyncReport,
};
use statesync_suite::dataset::{generate, mutate};
use statesync_suite::inventory::{
    Device, DeviceChanges, Interface, InterfaceChanges, Inventory, Site, SiteChanges,
};
use statesync_suite::json_file::{self, LoadError};
use statesync_suite::sqlite::SqliteInventory;

fn sync(
    db: &mut SqliteInventory,
    source: &Inventory,
    options: SyncOptions<'_>,
) -> (Inventory, SyncReport) {
    let mut target = db.load().unwrap();
    let report = target.sync_from(source, db, options).unwrap();
    (target, report)
}

#[test]
fn a_dataset_round_trips_through_sqlite_and_a_second_sync_does_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inv.sqlite");
    let source = generate(600, 11);
    let mut db = SqliteInventory::open(&path).unwrap();
    let (target, report) = sync(&mut db, &source, SyncOptions::default());
    assert!(report.is_success(), "{report}");
    assert_eq!(report.counts.created, 2 + 13 + 600);
    assert_eq!(target, source);
    drop(db);

    let mut db = SqliteInventory::open(&path).unwrap();
    assert_eq!(db.count("interface").unwrap(), 600);
    assert_eq!(
        db.load().unwrap(),
        source,
        "what was committed is what memory holds"
    );
    let (_, again) = sync(&mut db, &source, SyncOptions::default());
    assert!(!again.changed_anything());

    let changed = mutate(&source, 3);
    let (target, incremental) = sync(&mut db, &changed, SyncOptions::default());
    assert!(incremental.is_success(), "{incremental}");
    assert!(incremental.counts.changes() > 0);
    assert_eq!(target, changed);
    assert_eq!(db.load().unwrap(), changed);
}

/// The SQLite adapter with injected failures for chosen elements.
struct FailingSql {
    db: SqliteInventory,
    fail: Vec<String>,
}

impl FailingSql {
    fn check<M: DiffModel>(&self, model: &M) -> Result<(), HookError> {
        let name = format!("{}[{}]", M::NAME, model.key());
        if self.fail.contains(&name) {
            Err(format!("injected failure on {name}").into())
        } else {
            Ok(())
        }
    }
}

impl Adapter for FailingSql {
    fn sync_complete(&mut self, report: &SyncReport) -> Result<(), HookError> {
        self.db.sync_complete(report)
    }

    fn sync_finished(&mut self, report: &SyncReport) {
        self.db.sync_finished(report);
    }
}

impl Hooks<Inventory> for FailingSql {}

macro_rules! failing_hooks {
    ($model:ty, $changes:ty) => {
        impl Hooks<$model> for FailingSql {
            fn create(&mut self, model: &$model, parents: &Parents) -> Result<(), HookError> {
                self.check(model)?;
                Hooks::<$model>::create(&mut self.db, model, parents)
            }
            fn update(
                &mut self,
                model: &$model,
                changes: &$changes,
                parents: &Parents,
            ) -> Result<(), HookError> {
                self.check(model)?;
                Hooks::<$model>::update(&mut self.db, model, changes, parents)
            }
            fn delete(&mut self, model: &$model, parents: &Parents) -> Result<(), HookError> {
                self.check(model)?;
                Hooks::<$model>::delete(&mut self.db, model, parents)
            }
        }
    };
}

failing_hooks!(Site, SiteChanges);
failing_hooks!(Device, DeviceChanges);
failing_hooks!(Interface, InterfaceChanges);

fn failing_run(flags: SyncFlags) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inv.sqlite");
    let base = generate(300, 21);
    let mut db = SqliteInventory::open(&path).unwrap();
    sync(&mut db, &base, SyncOptions::default());
    let changed = mutate(&base, 22);
    let plan = base.diff(&changed).unwrap();
    // Fail the first changed device and the first changed interface of the plan.
    let doomed: Vec<String> = plan
        .entries()
        .iter()
        .filter(|e| e.model != "inventory" && e.kind != statesync::EntryKind::Unchanged)
        .take(2)
        .map(|e| format!("{}[{}]", e.model, e.key))
        .collect();
    let mut failing = FailingSql { db, fail: doomed };
    let mut target = failing.db.load().unwrap();
    let report = target
        .sync_from(&changed, &mut failing, SyncOptions::new(flags))
        .unwrap();
    assert!(report.counts.failed >= 1, "{report}");
    assert_eq!(
        report.stopped,
        !flags.contains(SyncFlags::CONTINUE_ON_FAILURE)
    );
    // The report, memory and the database agree: reload what was committed.
    drop(failing);
    let mut db = SqliteInventory::open(&path).unwrap();
    let stored = db.load().unwrap();
    assert_eq!(stored, target, "memory matches the database after {report}");
    let remaining = stored.diff(&changed).unwrap().summary();
    assert!(remaining.changes() > 0);
    // Nothing is lost: with the fault gone, a re-run converges.
    let (target, rerun) = sync(&mut db, &changed, SyncOptions::default());
    assert!(rerun.is_success(), "{rerun}");
    assert_eq!(target, changed);
    assert_eq!(db.load().unwrap(), changed);
}

#[test]
fn failures_with_continue_on_failure_leave_memory_and_database_equal() {
    failing_run(SyncFlags::CONTINUE_ON_FAILURE);
}

#[test]
fn failures_without_continue_on_failure_leave_memory_and_database_equal() {
    failing_run(SyncFlags::empty());
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn bad_input_files_name_the_file_the_element_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let malformed = write(dir.path(), "malformed.json", r#"{"sites": [{"name": "a""#);
    let error = json_file::load(&malformed).unwrap_err();
    assert!(matches!(error, LoadError::Parse { .. }));
    assert!(
        error
            .to_string()
            .starts_with(&malformed.display().to_string())
    );

    let site = r#"{"name": "s1", "region": "emea", "devices": []}"#;
    let duplicate = write(
        dir.path(),
        "dup.json",
        &format!(r#"{{"sites": [{site}, {site}]}}"#),
    );
    let error = json_file::load(&duplicate).unwrap_err().to_string();
    assert!(error.contains("dup.json"), "{error}");
    assert!(error.contains("duplicate key: site[name=s1]"), "{error}");

    let wrong_parent = write(
        dir.path(),
        "parent.json",
        r#"{"sites": [{"name": "s1", "region": "emea", "devices": [
            {"site": "s2", "name": "d1", "role": "leaf", "model": "m", "serial": "x", "interfaces": []}
        ]}]}"#,
    );
    let error = json_file::load(&wrong_parent).unwrap_err().to_string();
    assert_eq!(
        error,
        format!(
            "{}: device[site=s2, name=d1] sits under site[name=s1] but names s2 as its parent",
            wrong_parent.display()
        )
    );
    // Nothing is written when loading fails: the example loads before it opens the database.
    assert!(!dir.path().join("inv.sqlite").exists());
}

#[test]
fn the_demo_example_runs_twice_and_the_second_run_does_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.json");
    json_file::save(&generate(200, 1), &source).unwrap();
    let db = dir.path().join("inv.sqlite");
    let run = |extra: &[&str]| {
        let output = std::process::Command::new(env!("CARGO"))
            .args(["run", "--quiet", "--example", "inventory", "--", "--source"])
            .arg(&source)
            .arg("--db")
            .arg(&db)
            .args(extra)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let dry = run(&["--dry-run"]);
    assert!(dry.contains("dry run: nothing written"), "{dry}");
    let first = run(&[]);
    assert!(first.contains("report: created: 206"), "{first}");
    let second = run(&[]);
    assert!(second.contains("nothing to do"), "{second}");
    let mutated = run(&["--mutate"]);
    assert!(mutated.contains("applied the mutation pass"), "{mutated}");
    assert!(mutated.contains("report:"), "{mutated}");
}

#[test]
fn a_sync_that_applies_nothing_releases_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inv.sqlite");
    let base = generate(100, 31);
    let mut db = SqliteInventory::open(&path).unwrap();
    sync(&mut db, &base, SyncOptions::default());
    let mut changed = base.clone();
    changed
        .sites
        .iter_mut()
        .for_each(|site| site.region = "x".into());
    let first_site = format!("site[name={}]", base.sites.iter().next().unwrap().name);
    let mut failing = FailingSql {
        db,
        fail: vec![first_site],
    };
    let mut target = failing.db.load().unwrap();
    let report = target
        .sync_from(&changed, &mut failing, SyncOptions::default())
        .unwrap();
    assert!(report.stopped && !report.changed_anything());
    // Another connection can write: no transaction was left open.
    let other = SqliteInventory::open(&path).unwrap();
    other
        .connection()
        .execute("UPDATE site SET region = 'other' WHERE 1 = 0", [])
        .unwrap();
    assert!(failing.db.connection().is_autocommit());
}

#[test]
fn the_example_refuses_a_bad_file_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let site = r#"{"name": "s1", "region": "emea", "devices": []}"#;
    let source = write(
        dir.path(),
        "dup.json",
        &format!(r#"{{"sites": [{site}, {site}]}}"#),
    );
    let db = dir.path().join("inv.sqlite");
    let output = std::process::Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--example", "inventory", "--", "--source"])
        .arg(&source)
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("dup.json"), "{stderr}");
    assert!(stderr.contains("duplicate key: site[name=s1]"), "{stderr}");
    assert!(!db.exists(), "nothing is written");
}

#[test]
fn the_example_refuses_to_empty_the_database_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.json");
    json_file::save(&generate(100, 5), &full).unwrap();
    let empty = write(dir.path(), "empty.json", r#"{"sites": []}"#);
    let db = dir.path().join("inv.sqlite");
    let run = |source: &Path, extra: &[&str]| {
        std::process::Command::new(env!("CARGO"))
            .args(["run", "--quiet", "--example", "inventory", "--", "--source"])
            .arg(source)
            .arg("--db")
            .arg(&db)
            .args(extra)
            .output()
            .unwrap()
    };
    assert!(run(&full, &[]).status.success());
    let refused = run(&empty, &[]);
    assert!(!refused.status.success());
    let stdout = String::from_utf8_lossy(&refused.stdout);
    assert!(
        stdout.contains("report: refused: the sync would delete"),
        "{stdout}"
    );
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--force"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let kept = SqliteInventory::open(&db).unwrap().load().unwrap();
    assert_eq!(kept.sites.len(), generate(100, 5).sites.len());
    let forced = run(&empty, &["--force"]);
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    assert!(
        SqliteInventory::open(&db)
            .unwrap()
            .load()
            .unwrap()
            .sites
            .is_empty()
    );
}
