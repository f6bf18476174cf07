//! The inventory example's adapters for real: JSON files in, a SQLite file out.

use std::path::Path;

use statesync::DiffModel;
use statesync::file::ReadError;
use statesync::sync::{
    Adapter, HookError, Hooks, Parents, SyncFlags, SyncModel, SyncOptions, SyncReport,
};
use statesync_suite::dataset::{generate, mutate};
use statesync_suite::inventory::{
    Device, DeviceChanges, Interface, InterfaceChanges, Inventory, Site, SiteChanges, SiteKey,
};
use statesync_suite::json_file::{self, Invariant, LoadError};
use statesync_suite::sqlite::{Ending, OpenError, SqliteInventory};

fn sync(
    db: &mut SqliteInventory,
    source: &Inventory,
    options: SyncOptions<'_>,
) -> (Inventory, SyncReport) {
    let mut target = db.load().unwrap();
    let report = target.sync_from(source, db, options).unwrap();
    (target, report)
}

/// Syncs `source` into the database, which must take all of it.
fn seed(db: &mut SqliteInventory, source: &Inventory) {
    let (_, report) = sync(db, source, SyncOptions::default());
    assert!(report.is_success(), "{report}");
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
    seed(&mut db, &base);
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
    let mut failing = FailingSql {
        db: db.all_or_nothing(false),
        fail: doomed,
    };
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
    let error = json_file::load(&wrong_parent).unwrap_err();
    assert!(matches!(
        error,
        LoadError::Invalid {
            source: Invariant::WrongParent { .. },
            ..
        }
    ));
    assert_eq!(
        error.to_string(),
        format!(
            "{}: device[site=s2, name=d1] sits under site[name=s1] but names s2 as its parent",
            wrong_parent.display()
        )
    );
    // Nothing is written when loading fails: the example loads before it opens the database.
    assert!(!dir.path().join("inv.sqlite").exists());
}

/// A document cut short names the place up to where it was read, not a `?` for the field
/// whose name was never read (an outside tester: "at ?: EOF while parsing", and
/// "at sites[0].devices[2].interfaces[29].?").
#[test]
fn a_file_cut_short_names_the_place_it_reached() {
    let dir = tempfile::tempdir().unwrap();
    let site = r#"{"name": "s1", "region": "emea", "devices": []}"#;
    for (name, text, place) in [
        ("open.json", "{", ""),
        (
            "site.json",
            &format!(r#"{{"sites": [{site}, {{"#),
            "at sites[1]: ",
        ),
    ] {
        let cut = write(dir.path(), name, text);
        let error = json_file::load(&cut).unwrap_err();
        let LoadError::Parse { path, .. } = &error else {
            panic!("{error}")
        };
        assert!(!path.contains('?'), "{error}");
        let message = error.to_string();
        let after_file = &message[cut.display().to_string().len() + 2..];
        assert!(after_file.starts_with(place), "{error}");
        assert!(after_file[place.len()..].starts_with("EOF"), "{error}");
    }
}

/// A UTF-8 byte-order mark in front of the document (some Windows tools write one) is
/// passed over: it was refused as "expected value at line 1 column 1" (an outside tester).
#[test]
fn a_source_with_a_byte_order_mark_loads() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.json");
    let inventory = generate(50, 3);
    json_file::save(&inventory, &plain).unwrap();
    let mut marked = b"\xEF\xBB\xBF".to_vec();
    marked.extend(std::fs::read(&plain).unwrap());
    let bom = dir.path().join("bom.json");
    std::fs::write(&bom, marked).unwrap();
    assert_eq!(json_file::load(&bom).unwrap(), inventory);
}

#[test]
fn the_demo_example_runs_twice_and_the_second_run_does_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.json");
    json_file::save(&generate(200, 1), &source).unwrap();
    let db = dir.path().join("inv.sqlite");
    let run = |extra: &[&str]| {
        let output = statesync_suite::fixtures::cargo()
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
    seed(&mut db, &base);
    let mut changed = base.clone();
    changed.sites.for_each_mut(|site| site.region = "x".into());
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

/// A database another connection holds the write lock of stops the sync at its first hook,
/// `CONTINUE_ON_FAILURE` or not: every hook waited the busy timeout (5 s) to fail the same
/// way (an outside tester: `--partial` took 226 s to fail 45 changes). The timeout is set to
/// zero here so the test does not wait.
#[test]
fn a_database_locked_by_another_connection_stops_the_sync_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inv.sqlite");
    let base = generate(100, 37);
    let mut db = SqliteInventory::open(&path).unwrap();
    seed(&mut db, &base);
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    db.connection()
        .busy_timeout(std::time::Duration::ZERO)
        .unwrap();
    let mut target = db.load().unwrap();
    let options = SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE);
    let mut db = db.all_or_nothing(false);
    let report = target
        .sync_from(&mutate(&base, 2), &mut db, options)
        .unwrap();
    assert!(report.stopped, "{report}");
    assert_eq!(report.counts.failed, 1, "{report}");
    assert!(report.failures().all(|outcome| matches!(
        &outcome.status,
        statesync::sync::Status::Failed(failure) if failure.is_fatal()
    )));
    assert_eq!(target, base, "memory is as the database holds it");
    holder.execute_batch("ROLLBACK").unwrap();
    assert_eq!(db.load().unwrap(), base);
}

/// Two processes syncing into one database take turns: each reads it under its sync's
/// write lock (`load_for_sync`), so the second plans on what the first committed and the
/// database ends as the second's source. Loaded before the lock, the second planned on the
/// state before the first, and its updates (matched by key) wrote over the first's edits,
/// both reporting success and the database matching neither source (an outside tester).
#[test]
fn two_syncs_into_one_database_take_turns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inv.sqlite");
    let base = generate(100, 41);
    seed(&mut SqliteInventory::open(&path).unwrap(), &base);
    let (first_source, second_source) = (mutate(&base, 1), mutate(&base, 2));
    let mut first = SqliteInventory::open(&path).unwrap();
    let mut first_target = first.load_for_sync().unwrap();
    let second = std::thread::spawn({
        let (path, source) = (path.clone(), second_source.clone());
        move || {
            let mut db = SqliteInventory::open(&path).unwrap();
            let mut target = db.load_for_sync().unwrap();
            let report = target
                .sync_from(&source, &mut db, SyncOptions::default())
                .unwrap();
            (report, db.ending().cloned())
        }
    });
    // The second is waiting for the lock by now (were it not, it would load after the
    // first's commit all the same).
    std::thread::sleep(std::time::Duration::from_millis(200));
    let report = first_target
        .sync_from(&first_source, &mut first, SyncOptions::default())
        .unwrap();
    assert!(report.is_success(), "{report}");
    assert_eq!(first.ending(), Some(&Ending::Committed));
    drop(first);
    let (report, ending) = second.join().unwrap();
    assert!(report.is_success(), "{report}");
    assert_eq!(ending, Some(Ending::Committed));
    let held = SqliteInventory::open(&path).unwrap().load().unwrap();
    assert_eq!(held, second_source);
}

/// A sync's load that cannot take the write lock says so, before anything is read.
#[test]
fn a_load_for_a_sync_says_when_another_holds_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inv.sqlite");
    seed(&mut SqliteInventory::open(&path).unwrap(), &generate(20, 5));
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut db = SqliteInventory::open(&path).unwrap();
    db.connection()
        .busy_timeout(std::time::Duration::ZERO)
        .unwrap();
    let error = db.load_for_sync().unwrap_err().to_string();
    assert!(
        error.starts_with("cannot take the database's write lock to read it for the sync"),
        "{error}"
    );
    holder.execute_batch("ROLLBACK").unwrap();
    assert!(db.load_for_sync().is_ok());
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
    let output = statesync_suite::fixtures::cargo()
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

/// The database is opened and checked before the demo source is generated: a bad `--db`
/// leaves the demo file as it was (it was rewritten first, then the run failed).
#[test]
fn the_example_checks_the_database_before_writing_the_demo_source() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_db = write(
        dir.path(),
        "notes.sqlite",
        "not a database, and longer than a header",
    );
    let output = statesync_suite::fixtures::example_in(dir.path(), "inventory")
        .args(["--generate", "5", "--db"])
        .arg(&not_a_db)
        .output()
        .unwrap();
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("notes.sqlite"), "{stderr}");
    assert!(
        !dir.path()
            .join("target/inventory-demo/source.json")
            .exists(),
        "the demo source was written: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    let notes = std::fs::read_to_string(&not_a_db).unwrap();
    assert_eq!(notes, "not a database, and longer than a header");
}

/// `--mutate` writes its copy of a `--source` file beside the demo files, never over the
/// file: a `--source` that names that very copy is refused (it was overwritten).
#[test]
fn the_example_never_mutates_the_source_file_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("target/inventory-demo");
    std::fs::create_dir_all(&demo).unwrap();
    let source = demo.join("source-mutated.json");
    json_file::save(&generate(20, 4), &source).unwrap();
    let before = std::fs::read(&source).unwrap();
    let output = statesync_suite::fixtures::example_in(dir.path(), "inventory")
        .args([
            "--source",
            "target/inventory-demo/source-mutated.json",
            "--mutate",
        ])
        .args(["--db", "inv.sqlite"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("copy it elsewhere"),
        "{output:?}"
    );
    assert_eq!(std::fs::read(&source).unwrap(), before);
    assert!(!dir.path().join("inv.sqlite").exists());
}

/// A closed standard output (`inventory | head -1`) ends the run with an error, exit code
/// 1, and a database the run created is removed: `println!` panicked (exit code 101), and
/// left an empty database file behind.
#[test]
fn the_example_ends_cleanly_when_its_output_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.json");
    json_file::save(&generate(20, 5), &source).unwrap();
    let db = dir.path().join("inv.sqlite");
    let mut child = statesync_suite::fixtures::example_in(dir.path(), "inventory")
        .arg("--source")
        .arg(&source)
        .arg("--db")
        .arg(&db)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("writing to standard output"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!db.exists(), "the database it created is removed");
}

/// A failed run removes the directories it made for a new database, as it removes the
/// file (it left `new/deeper/` behind).
#[test]
fn a_failed_run_removes_the_directories_it_made_for_the_database() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "bad.json", "{");
    std::fs::create_dir(dir.path().join("kept")).unwrap();
    for db in ["new/deeper/inv.sqlite", "kept/new/inv.sqlite"] {
        let output = statesync_suite::fixtures::example_in(dir.path(), "inventory")
            .args(["--source", "bad.json", "--db", db])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{output:?}");
    }
    assert!(!dir.path().join("new").exists());
    assert!(!dir.path().join("kept/new").exists());
    assert!(dir.path().join("kept").exists(), "what was there stays");
}

fn device_json(site: &str, name: &str) -> String {
    format!(
        r#"{{"site": "{site}", "name": "{name}", "role": "leaf", "model": "m", "serial": "x", "interfaces": []}}"#
    )
}

#[test]
fn a_device_name_reused_in_another_site_is_refused_at_load_naming_both_devices() {
    let dir = tempfile::tempdir().unwrap();
    let source = write(
        dir.path(),
        "reused.json",
        &format!(
            r#"{{"sites": [
                {{"name": "s1", "region": "emea", "devices": [{}]}},
                {{"name": "s2", "region": "emea", "devices": [{}, {}]}}
            ]}}"#,
            device_json("s1", "sw1"),
            device_json("s2", "sw2"),
            device_json("s2", "sw1"),
        ),
    );
    let error = json_file::load(&source).unwrap_err();
    assert!(
        matches!(
            &error,
            LoadError::Invalid {
                source: Invariant::DuplicateDeviceName { name, .. },
                ..
            } if name == "sw1"
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "{}: device[site=s2, name=sw1] reuses the name sw1 of device[site=s1, name=sw1]: \
             device names must be unique across sites",
            source.display()
        )
    );
}

#[test]
fn an_unknown_field_is_refused_naming_the_field_and_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let device = device_json("s1", "d1").replace(r#""role""#, r#""colour": "red", "role""#);
    let source = write(
        dir.path(),
        "unknown.json",
        &format!(
            r#"{{"sites": [{{"name": "s0", "region": "emea", "devices": []}},
                {{"name": "s1", "region": "emea", "devices": [{device}]}}]}}"#
        ),
    );
    let error = json_file::load(&source).unwrap_err();
    let LoadError::Parse { path, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(path, "sites[1].devices[0].colour");
    let message = error.to_string();
    assert!(message.contains("unknown field `colour`"), "{message}");
    assert!(
        message.contains("at sites[1].devices[0].colour"),
        "{message}"
    );
    assert!(message.contains("line 2"), "{message}");

    let top = write(dir.path(), "top.json", r#"{"sites": [], "extra": 1}"#);
    let message = json_file::load(&top).unwrap_err().to_string();
    assert!(message.contains("unknown field `extra`"), "{message}");
}

#[cfg(unix)]
#[test]
fn a_fifo_or_a_device_is_refused_without_reading() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("source.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // Opening a FIFO for reading blocks until a writer comes: the load must not open it.
    let (sender, receiver) = std::sync::mpsc::channel();
    let path = fifo.clone();
    std::thread::spawn(move || {
        let _ = sender.send(
            json_file::load(&path)
                .map(|_| ())
                .map_err(|e| e.to_string()),
        );
    });
    let message = receiver
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the load blocked on a FIFO")
        .unwrap_err();
    assert!(
        message.contains("is a FIFO, not a regular file"),
        "{message}"
    );

    let error = json_file::load(Path::new("/dev/zero")).unwrap_err();
    assert!(
        matches!(
            error,
            LoadError::Read(ReadError::NotAFile {
                kind: "a character device",
                ..
            })
        ),
        "{error:?}"
    );
    let error = json_file::load(dir.path()).unwrap_err();
    assert!(matches!(
        error,
        LoadError::Read(ReadError::NotAFile {
            kind: "a directory",
            ..
        })
    ));
}

#[test]
fn a_file_over_the_size_limit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("big.json");
    json_file::save(&generate(100, 1), &source).unwrap();
    let size = std::fs::metadata(&source).unwrap().len();
    let error = json_file::load_capped(&source, size - 1).unwrap_err();
    assert!(
        matches!(error, LoadError::Read(ReadError::TooLarge { max_bytes, .. }) if max_bytes == size - 1),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("larger than the limit"),
        "{error}"
    );
    assert_eq!(
        json_file::load_capped(&source, size).unwrap(),
        generate(100, 1)
    );
}

#[test]
fn a_failed_save_leaves_the_old_file_and_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inventory.json");
    let old = generate(48, 1);
    json_file::save(&old, &path).unwrap();
    let new = mutate(&old, 2);
    json_file::save(&new, &path).unwrap();
    assert_eq!(json_file::load(&path).unwrap(), new);

    // A save that cannot finish (the rename hits a non-empty directory).
    let blocked = dir.path().join("blocked.json");
    std::fs::create_dir_all(blocked.join("inside")).unwrap();
    assert!(json_file::save(&new, &blocked).is_err());
    let history = statesync::merge::History::new(old.clone()).unwrap();
    assert!(history.save(&blocked).is_err());
    assert!(blocked.join("inside").is_dir());

    history.save(&dir.path().join("history.json")).unwrap();
    let loaded =
        statesync::merge::History::<Inventory>::load(&dir.path().join("history.json")).unwrap();
    assert_eq!(loaded.head(), &old);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["blocked.json", "history.json", "inventory.json"]);
}

/// A source whose sync fails partway: a new device reuses the name of a device in another
/// site (what `json_file::load` refuses, built here in memory), so its insert breaks
/// `UNIQUE(device.name)` after other changes were applied.
fn source_with_a_reused_device_name(base: &Inventory) -> Inventory {
    let mut source = mutate(base, 5);
    let mut sites = source.sites.iter();
    let taken = sites
        .next()
        .unwrap()
        .devices
        .iter()
        .next()
        .unwrap()
        .name
        .clone();
    let other = sites.last().unwrap().name.clone();
    let key = statesync_suite::inventory::SiteKey {
        name: other.clone(),
    };
    source
        .sites
        .modify(&key, |site| {
            site.devices
                .insert(statesync_suite::fixtures::device(&other, &taken, 2))
        })
        .unwrap()
        .unwrap();
    source
}

fn all_or_nothing_run(db: SqliteInventory, path: &Path) -> (SyncReport, Option<Ending>) {
    let base = generate(300, 41);
    let mut db = db;
    seed(&mut db, &base);
    let source = source_with_a_reused_device_name(&base);
    let mut target = db.load().unwrap();
    let report = target
        .sync_from(
            &source,
            &mut db,
            SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE),
        )
        .unwrap();
    assert_eq!(report.counts.failed, 1, "{report}");
    assert!(report.counts.changes() > 10, "{report}");
    let ending = db.ending().cloned();
    drop(db);
    let stored = SqliteInventory::open(path).unwrap().load().unwrap();
    if ending == Some(Ending::Committed) {
        assert_eq!(stored, target, "what was applied is committed");
    } else {
        assert_eq!(stored, base, "nothing of the failed sync is committed");
    }
    (report, ending)
}

#[test]
fn by_default_a_sync_with_a_failed_change_commits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inv.sqlite");
    let (report, ending) = all_or_nothing_run(SqliteInventory::open(&path).unwrap(), &path);
    let Some(Ending::RolledBack { reason }) = &ending else {
        panic!("{ending:?}");
    };
    assert!(reason.contains("all-or-nothing"), "{reason}");
    let error = report.complete_error.as_ref().unwrap().to_string();
    assert!(
        error.contains("the database is as it was before the sync"),
        "{error}"
    );
    assert!(!report.is_success());
}

#[test]
fn without_all_or_nothing_what_succeeded_is_committed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inv.sqlite");
    let db = SqliteInventory::open(&path).unwrap().all_or_nothing(false);
    let (report, ending) = all_or_nothing_run(db, &path);
    assert_eq!(ending, Some(Ending::Committed));
    assert!(report.complete_error.is_none(), "{report}");
}

fn tables(path: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut statement = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap();
    statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<Vec<String>, _>>()
        .unwrap()
}

/// The names SQLite takes for a database in memory, or reads as a URI, are refused: a sync
/// into one reported a commit that nothing kept.
#[test]
fn a_database_in_memory_is_refused() {
    for name in [
        "",
        ":memory:",
        "file:inventory?mode=memory",
        "file::memory:",
    ] {
        let error = SqliteInventory::open(Path::new(name)).err().unwrap();
        assert!(matches!(error, OpenError::NotAFile { .. }), "{error:?}");
        let error = SqliteInventory::open_read_only(Path::new(name))
            .err()
            .unwrap();
        assert!(matches!(error, OpenError::NotAFile { .. }), "{error:?}");
    }
}

/// A FIFO, a device or a directory as the database is refused before SQLite opens it: a
/// read-only open of a FIFO (`inventory --dry-run --db fifo`) blocked forever.
#[cfg(unix)]
#[test]
fn a_database_that_is_no_regular_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.sqlite");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    for (path, found) in [
        (fifo.as_path(), "a FIFO"),
        (Path::new("/dev/null"), "a character device"),
        (dir.path(), "a directory"),
    ] {
        let error = SqliteInventory::open_read_only(path).err().unwrap();
        assert!(matches!(error, OpenError::NotAFile { .. }), "{error:?}");
        // What it is, not one message for every case (an outside tester).
        assert!(
            error.to_string().ends_with(&format!(
                " is {found}, not a regular file; refusing it as the database"
            )),
            "{error}"
        );
        let error = SqliteInventory::open(path).err().unwrap();
        assert!(matches!(error, OpenError::NotAFile { .. }), "{error:?}");
    }
}

#[test]
fn a_database_of_another_application_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.sqlite");
    let app = rusqlite::Connection::open(&path).unwrap();
    app.execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
        .unwrap();
    drop(app);
    let before = std::fs::read(&path).unwrap();
    let error = SqliteInventory::open(&path).err().unwrap();
    assert!(matches!(error, OpenError::NotOurs { .. }), "{error:?}");
    assert!(error.to_string().contains("table users"), "{error}");
    assert!(SqliteInventory::open_read_only(&path).is_err());
    assert_eq!(std::fs::read(&path).unwrap(), before, "not a byte changed");

    // A table of our name with other columns is not ours either.
    let path = dir.path().join("site.sqlite");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE site (id INTEGER)")
        .unwrap();
    let error = SqliteInventory::open(&path).err().unwrap().to_string();
    assert!(
        error.contains("table site with columns (id) instead of (name, region)"),
        "{error}"
    );
    assert_eq!(tables(&path), ["site"]);

    // The right columns without the keys are not ours either: a keyed update could change
    // two rows, and interfaces would go to whichever device of their name came last.
    let interface = "device TEXT, name TEXT, description TEXT, enabled INTEGER, mtu INTEGER, \
                     mode TEXT, vlans TEXT";
    let device = "site TEXT, name TEXT, role TEXT, model TEXT, serial TEXT";
    let no_keys = format!(
        "CREATE TABLE site (name TEXT, region TEXT); CREATE TABLE device ({device}); \
         CREATE TABLE interface ({interface});"
    );
    let unique_name = format!(
        "CREATE TABLE site (name TEXT PRIMARY KEY, region TEXT); \
         CREATE TABLE device ({device}, PRIMARY KEY (site, name)); \
         CREATE TABLE interface ({interface}, PRIMARY KEY (device, name));"
    );
    // The right columns of other types: the first sync wrote text into `enabled` and `mtu`,
    // and every load after refused it (an outside tester).
    let mistyped = format!(
        "CREATE TABLE site (name TEXT PRIMARY KEY, region TEXT); \
         CREATE TABLE device ({device}, PRIMARY KEY (site, name), UNIQUE (name)); \
         CREATE TABLE interface ({}, PRIMARY KEY (device, name));",
        interface.replace("INTEGER", "TEXT")
    );
    // Tables the adapter does not write with (an outside tester): without rowids (a load
    // failed with "no such column: rowid", naming no table), a conflict clause that lets a
    // create overwrite a row, a key compared without case.
    let ours = |site: &str| {
        format!(
            "CREATE TABLE site ({site}); \
             CREATE TABLE device ({device}, PRIMARY KEY (site, name), UNIQUE (name)); \
             CREATE TABLE interface ({interface}, PRIMARY KEY (device, name));"
        )
    };
    let without_rowid = ours("name TEXT PRIMARY KEY, region TEXT").replacen(
        "(name TEXT PRIMARY KEY, region TEXT)",
        "(name TEXT PRIMARY KEY, region TEXT) WITHOUT ROWID",
        1,
    );
    let replacing = ours("name TEXT PRIMARY KEY ON\n /* */ CONFLICT REPLACE, region TEXT");
    // A column compared without case under a key index that is `BINARY` (a reviewer).
    let nocase = ours("name TEXT COLLATE NOCASE, region TEXT, PRIMARY KEY (name COLLATE BINARY)");
    // A quoted collation name, last in its table (it passed: a reviewer).
    let quoted_nocase = ours("name TEXT, region TEXT, PRIMARY KEY (name COLLATE \"NOCASE\")");
    for (file, sql, expected) in [
        (
            "without-rowid.sqlite",
            without_rowid,
            "table site WITHOUT ROWID",
        ),
        (
            "replacing.sqlite",
            replacing,
            "table site with a conflict clause (ON CONFLICT)",
        ),
        (
            "nocase.sqlite",
            nocase,
            "table site with a collation other than BINARY (COLLATE NOCASE)",
        ),
        (
            "quoted-nocase.sqlite",
            quoted_nocase,
            "table site with a collation other than BINARY (COLLATE NOCASE)",
        ),
        (
            "no-keys.sqlite",
            no_keys,
            "table site without the primary key (name)",
        ),
        (
            "no-unique.sqlite",
            unique_name,
            "table device without UNIQUE (name)",
        ),
        (
            "mistyped.sqlite",
            mistyped,
            "table interface with enabled TEXT instead of INTEGER, mtu TEXT instead of INTEGER",
        ),
    ] {
        let path = dir.path().join(file);
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch(&sql)
            .unwrap();
        let error = SqliteInventory::open(&path).err().unwrap().to_string();
        assert!(error.contains(expected), "{error}");
    }

    // Words in a comment or a default value are not the table's clauses.
    let path = dir.path().join("commented.sqlite");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(&ours(
            "name TEXT COLLATE \"BINARY\" PRIMARY KEY, -- no ON CONFLICT here\n \
             region TEXT DEFAULT 'on conflict'",
        ))
        .unwrap();
    assert!(SqliteInventory::open(&path).is_ok());

    // A file that is not a database is refused too, and left alone.
    let path = write(dir.path(), "notes.txt", "not a database, just text\n");
    assert!(SqliteInventory::open(&path).is_err());
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "not a database, just text\n"
    );
}

#[test]
fn a_sync_that_does_not_commit_leaves_no_tables() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.sqlite");
    let db = SqliteInventory::open(&path).unwrap();
    assert_eq!(db.load().unwrap(), Inventory::default());
    assert_eq!(db.count("site").unwrap(), 0);
    // The first device fails: everything else is rolled back, the tables with it.
    let source = generate(100, 51);
    let first_device = source
        .sites
        .iter()
        .next()
        .unwrap()
        .devices
        .iter()
        .next()
        .unwrap();
    let mut failing = FailingSql {
        db,
        fail: vec![format!("device[{}]", first_device.key())],
    };
    let mut target = Inventory::default();
    let report = target
        .sync_from(&source, &mut failing, SyncOptions::default())
        .unwrap();
    assert!(
        report.counts.created > 0 && report.counts.failed == 1,
        "{report}"
    );
    assert!(matches!(
        failing.db.ending(),
        Some(Ending::RolledBack { .. })
    ));
    assert_eq!(failing.db.load().unwrap(), Inventory::default());
    drop(failing);
    assert!(tables(&path).is_empty());

    // The same adapter commits a good sync afterwards, creating the tables then.
    let mut db = SqliteInventory::open(&path).unwrap();
    let (_, report) = sync(&mut db, &source, SyncOptions::default());
    assert!(report.is_success(), "{report}");
    assert_eq!(db.ending(), Some(&Ending::Committed));
    assert_eq!(tables(&path), ["device", "interface", "site"]);
}

#[test]
fn opening_read_only_writes_nothing_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.sqlite");
    assert!(SqliteInventory::open_read_only(&missing).is_err());
    assert!(!missing.exists());
    let path = dir.path().join("inv.sqlite");
    let base = generate(100, 61);
    let mut db = SqliteInventory::open(&path).unwrap();
    seed(&mut db, &base);
    drop(db);
    let before = std::fs::read(&path).unwrap();
    let mut read_only = SqliteInventory::open_read_only(&path).unwrap();
    let mut target = read_only.load().unwrap();
    assert_eq!(target, base);
    let report = target
        .sync_from(&mutate(&base, 62), &mut read_only, SyncOptions::default())
        .unwrap();
    assert!(
        report.counts.failed == 1 && !report.changed_anything(),
        "{report}"
    );
    drop(read_only);
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

/// A crash in the middle of a sync leaves a hot journal. A read-only open (`--dry-run`)
/// cannot roll it back, and said only "attempt to write a readonly database"; it now says
/// what happened and how to recover.
#[test]
fn a_read_only_open_after_an_interrupted_write_says_how_to_recover() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inv.sqlite");
    let base = generate(300, 81);
    let mut db = SqliteInventory::open(&path).unwrap();
    seed(&mut db, &base);
    // A write in progress whose pages spill to the file (the cache holds one page): copies
    // of the database and its journal taken now are what a crash leaves.
    db.connection()
        .execute_batch(
            "PRAGMA cache_size = 1; BEGIN; \
             UPDATE interface SET description = 'changed ' || description;",
        )
        .unwrap();
    let crashed = dir.path().join("crashed.sqlite");
    std::fs::copy(&path, &crashed).unwrap();
    std::fs::copy(
        dir.path().join("inv.sqlite-journal"),
        dir.path().join("crashed.sqlite-journal"),
    )
    .unwrap();
    let error = SqliteInventory::open_read_only(&crashed).err().unwrap();
    assert!(matches!(error, OpenError::Interrupted { .. }), "{error:?}");
    assert!(
        error.to_string().contains("open it once for writing"),
        "{error}"
    );
    // Opened for writing, the interrupted write is rolled back: what was committed is there.
    let recovered = SqliteInventory::open(&crashed).unwrap();
    assert_eq!(recovered.load().unwrap(), base);
    drop(recovered);
    assert!(SqliteInventory::open_read_only(&crashed).is_ok());
}

#[test]
fn a_failed_commit_is_reported_as_not_committed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inv.sqlite");
    let base = generate(100, 71);
    let mut db = SqliteInventory::open(&path).unwrap();
    seed(&mut db, &base);
    // Another connection reading keeps COMMIT from taking its exclusive lock.
    let reader = rusqlite::Connection::open(&path).unwrap();
    reader
        .execute_batch("BEGIN; SELECT COUNT(*) FROM site;")
        .unwrap();
    db.connection()
        .busy_timeout(std::time::Duration::ZERO)
        .unwrap();
    let changed = mutate(&base, 72);
    let mut target = db.load().unwrap();
    let report = target
        .sync_from(&changed, &mut db, SyncOptions::default())
        .unwrap();
    assert!(
        report.changed_anything() && report.counts.failed == 0,
        "{report}"
    );
    let error = report.complete_error.as_ref().unwrap().to_string();
    assert!(error.contains("COMMIT failed"), "{error}");
    assert!(!db.ending().unwrap().committed());
    assert!(
        matches!(db.ending(), Some(Ending::RolledBack { .. })),
        "{:?}",
        db.ending()
    );
    reader.execute_batch("COMMIT").unwrap();
    assert_eq!(db.load().unwrap(), base, "nothing was committed");
}

#[test]
fn a_full_database_is_reported_as_not_committed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inv.sqlite");
    let base = generate(100, 81);
    let mut db = SqliteInventory::open(&path).unwrap();
    seed(&mut db, &base);
    let pages: i64 = db
        .connection()
        .query_row("PRAGMA page_count", [], |row| row.get(0))
        .unwrap();
    db.connection()
        .execute_batch(&format!("PRAGMA max_page_count = {}", pages + 2))
        .unwrap();
    let mut target = db.load().unwrap();
    let report = target
        .sync_from(
            &generate(3_000, 82),
            &mut db,
            SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE),
        )
        .unwrap();
    assert!(report.counts.failed > 0, "{report}");
    let failure = report.failures().next().unwrap().to_string();
    assert!(failure.contains("full"), "{failure}");
    let ending = db.ending().unwrap().clone();
    assert!(!ending.committed(), "{ending}");
    if let Ending::Abandoned { .. } = ending {
        assert!(!ending.to_string().contains("rolled back ("), "{ending}");
    }
    assert_eq!(db.load().unwrap(), base, "nothing was committed: {ending}");
}

/// Runs the inventory example with `args`.
fn example(args: &[&std::ffi::OsStr]) -> std::process::Output {
    statesync_suite::fixtures::cargo()
        .args(["run", "--quiet", "--example", "inventory", "--"])
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_dry_run_on_a_missing_database_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.json");
    json_file::save(&generate(100, 1), &source).unwrap();
    let db = dir.path().join("sub").join("inv.sqlite");
    let output = example(&[
        "--source".as_ref(),
        source.as_os_str(),
        "--db".as_ref(),
        db.as_os_str(),
        "--dry-run".as_ref(),
        "--mutate".as_ref(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let out = text(&output.stdout);
    assert!(out.contains("does not exist yet"), "{out}");
    assert!(out.contains("dry run: nothing written"), "{out}");
    assert!(
        !dir.path().join("sub").exists(),
        "no directory, no database"
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, ["source.json"], "only the source");
}

#[test]
fn the_example_refuses_a_database_of_another_application() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.json");
    json_file::save(&generate(100, 1), &source).unwrap();
    let db = dir.path().join("app.sqlite");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TABLE users (id INTEGER PRIMARY KEY)")
        .unwrap();
    let before = std::fs::read(&db).unwrap();
    for dry in [true, false] {
        let mut args = vec![
            "--source".as_ref(),
            source.as_os_str(),
            "--db".as_ref(),
            db.as_os_str(),
        ];
        if dry {
            args.push("--dry-run".as_ref());
        }
        let output = example(&args);
        assert!(!output.status.success());
        let stderr = text(&output.stderr);
        assert!(stderr.contains("not the inventory's tables"), "{stderr}");
        assert_eq!(std::fs::read(&db).unwrap(), before, "not a byte changed");
        assert_eq!(tables(&db), ["users"]);
    }
}

#[cfg(unix)]
#[test]
fn the_example_refuses_a_fifo_and_a_source_over_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inv.sqlite");
    let fifo = dir.path().join("fifo.json");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let output = example(&[
        "--source".as_ref(),
        fifo.as_os_str(),
        "--db".as_ref(),
        db.as_os_str(),
    ]);
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("is a FIFO"), "{output:?}");

    let source = dir.path().join("source.json");
    json_file::save(&generate(100, 1), &source).unwrap();
    let output = example(&[
        "--source".as_ref(),
        source.as_os_str(),
        "--db".as_ref(),
        db.as_os_str(),
        "--max-source-bytes".as_ref(),
        "1000".as_ref(),
    ]);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("larger than the limit of 1000 bytes"),
        "{stderr}"
    );
    assert!(stderr.contains("--max-source-bytes"), "{stderr}");
    assert!(!db.exists());
}

#[test]
fn after_a_failed_commit_the_example_says_nothing_was_committed() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.json");
    let base = generate(100, 1);
    json_file::save(&base, &source).unwrap();
    let db = dir.path().join("inv.sqlite");
    let args = [
        "--source".as_ref(),
        source.as_os_str(),
        "--db".as_ref(),
        db.as_os_str(),
    ];
    let first = example(&args);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(text(&first.stdout).contains("committed: "), "{first:?}");
    json_file::save(&mutate(&base, 2), &source).unwrap();
    // A reader holds the database, so the example's COMMIT cannot take its lock.
    let reader = rusqlite::Connection::open(&db).unwrap();
    reader
        .execute_batch("BEGIN; SELECT COUNT(*) FROM site;")
        .unwrap();
    let output = example(&args);
    reader.execute_batch("COMMIT").unwrap();
    assert!(!output.status.success());
    let out = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert!(out.contains("report: "), "{out}");
    assert!(!out.contains("committed: "), "{out}");
    assert!(stderr.contains("COMMIT failed"), "{stderr}");
    assert!(
        stderr.contains("the database is as it was before the sync"),
        "{stderr}"
    );
    assert!(!stderr.contains("holds what the report says"), "{stderr}");
    assert_eq!(SqliteInventory::open(&db).unwrap().load().unwrap(), base);
}

#[test]
fn the_example_refuses_to_empty_the_database_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.json");
    json_file::save(&generate(100, 5), &full).unwrap();
    let empty = write(dir.path(), "empty.json", r#"{"sites": []}"#);
    let db = dir.path().join("inv.sqlite");
    let run = |source: &Path, extra: &[&str]| {
        statesync_suite::fixtures::cargo()
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

/// A row `load` cannot read is an error naming the row by its key: a value out of range,
/// VLANs that are not a JSON list, a device whose site is not there.
#[test]
fn a_row_that_cannot_be_loaded_is_named_by_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inv.sqlite");
    let mut db = SqliteInventory::open(&path).unwrap();
    let source = statesync_suite::fixtures::inventory();
    let (_, report) = sync(&mut db, &source, SyncOptions::default());
    assert!(report.is_success(), "{report}");
    drop(db);
    let corrupt = |sql: &str| {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(&format!("PRAGMA foreign_keys = OFF; {sql}"))
            .unwrap();
    };
    let load_error = || {
        SqliteInventory::open(&path)
            .unwrap()
            .load()
            .unwrap_err()
            .to_string()
    };

    corrupt("UPDATE interface SET vlans = 'oops' WHERE device = 'ams-d0' AND name = 'et-0'");
    let error = load_error();
    assert!(
        error.contains("interface row (device=ams-d0, name=et-0): vlans \"oops\""),
        "{error}"
    );
    // A list that reads back, written as this adapter never writes it (it loaded: an
    // outside tester).
    corrupt("UPDATE interface SET vlans = ' [ 5 ] ' WHERE device = 'ams-d0' AND name = 'et-0'");
    let error = load_error();
    assert!(
        error.contains("vlans \" [ 5 ] \": not as this adapter writes them ([5])"),
        "{error}"
    );
    // A long value is shown in part, the error's length bounded (an outside tester's
    // 100,000 `[` made an error of 100 KB).
    corrupt(
        "UPDATE interface SET vlans = printf('%.*c', 100000, '[') WHERE device = 'ams-d0' AND name = 'et-0'",
    );
    let error = load_error();
    assert!(error.contains("vlans \"[[[["), "{error}");
    assert!(error.contains("(100000 bytes)"), "{error}");
    assert!(error.len() < 400, "{} bytes: {error}", error.len());
    corrupt("UPDATE interface SET vlans = '[]', mtu = -1 WHERE device = 'ams-d0'");
    let error = load_error();
    assert!(
        error.contains("interface row (device=ams-d0, name=et-"),
        "{error}"
    );
    // The column is named (rusqlite says "out of range at index 4": an outside tester).
    assert!(error.ends_with("): mtu: -1 is out of range"), "{error}");
    // Neither 0 nor 1 in `enabled` (it loaded as `true`, and no sync saw the drift).
    corrupt(
        "UPDATE interface SET mtu = 1500; \
         UPDATE interface SET enabled = 2 WHERE device = 'ams-d0' AND name = 'et-0'",
    );
    let error = load_error();
    assert!(
        error.contains("interface row (device=ams-d0, name=et-0): enabled 2: not 0 or 1"),
        "{error}"
    );
    corrupt("UPDATE interface SET enabled = 1; DELETE FROM site WHERE name = 'nyc'");
    let error = load_error();
    assert!(
        error.contains("device row (site=nyc, name=nyc-d0): no site nyc"),
        "{error}"
    );
    // A key that is NULL (SQLite lets a text primary key be NULL) or not text has no key
    // to name the row by: it is named by its rowid.
    corrupt(
        "DELETE FROM device WHERE site = 'nyc'; UPDATE site SET name = NULL WHERE name = 'ams'",
    );
    let error = load_error();
    assert!(error.contains("site row (rowid="), "{error}");
    corrupt(
        "UPDATE site SET name = 'ams' WHERE name IS NULL; \
         UPDATE interface SET name = x'00ff' WHERE device = 'ams-d0' AND name = 'et-0'",
    );
    let error = load_error();
    assert!(error.contains("interface row (rowid="), "{error}");
}

/// A source built in memory whose device names another site than the one it sits under
/// (`json_file::load` refuses such a file; a program can still build one) is refused by
/// the adapter, naming the device, rather than written under the site it names while
/// memory keeps it under the other.
#[test]
fn a_model_under_another_parent_than_it_names_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = SqliteInventory::open(&dir.path().join("inv.sqlite"))
        .unwrap()
        .all_or_nothing(false);
    let mut source = statesync_suite::fixtures::inventory();
    let mut ams = source
        .sites
        .get_mut(&SiteKey { name: "ams".into() })
        .unwrap();
    let mut moved = ams.devices.iter().next().unwrap().clone();
    moved.site = "nyc".into();
    moved.name = "stray".into();
    for interface in moved.interfaces.iter().map(|i| i.key()).collect::<Vec<_>>() {
        moved.interfaces.remove(&interface);
    }
    ams.devices.insert(moved).unwrap();
    drop(ams);
    let (target, report) = sync(
        &mut db,
        &source,
        SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE),
    );
    assert_eq!(report.counts.failed, 1, "{report}");
    let failure = format!("{:?}", report.outcomes);
    assert!(
        failure.contains("stray") && failure.contains("sits under ams but its site names nyc"),
        "{failure}"
    );
    drop(db);
    let stored = SqliteInventory::open(&dir.path().join("inv.sqlite"))
        .unwrap()
        .load()
        .unwrap();
    assert!(
        stored
            .sites
            .iter()
            .all(|site| site.devices.iter().all(|d| d.name != "stray"))
    );
    assert_eq!(stored, target);
}

/// A callback that panics mid-sync: `sync_finished` rolls the open transaction back and
/// says so truly (it said "nothing was applied" after 50 applied changes); memory keeps
/// what the hooks applied, so the caller reloads, and a sync from the reloaded target
/// converges.
#[test]
fn a_panic_mid_sync_rolls_back_and_says_the_target_must_be_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inv.sqlite");
    let mut db = SqliteInventory::open(&path).unwrap();
    let mut memory = db.load().unwrap();
    let source = generate(200, 7);
    let mut seen = 0;
    let options = SyncOptions::default().on_outcome(move |_| {
        seen += 1;
        assert!(seen < 50, "the progress display crashed");
    });
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        memory.sync_from(&source, &mut db, options)
    }));
    assert!(panicked.is_err());
    let Some(Ending::RolledBack { reason }) = db.ending().cloned() else {
        panic!("{:?}", db.ending());
    };
    assert!(reason.contains("reload the target"), "{reason}");
    assert_eq!(db.count("interface").unwrap(), 0);
    let mut reloaded = db.load().unwrap();
    let report = reloaded
        .sync_from(&source, &mut db, SyncOptions::default())
        .unwrap();
    assert!(report.is_success(), "{report}");
    assert_eq!(db.load().unwrap(), source);
}
