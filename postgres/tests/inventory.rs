//! `PgInventory` against a real server: an initial sync into an empty schema, a re-run that
//! finds nothing, incremental changes, and failures that leave nothing behind.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{TestSchema, url};
use statesync::DiffModel;
use statesync::sync::SyncOptions;
use statesync_postgres::{Error, FailAt, PgInventory, connect};
use statesync_suite::dataset::{generate, mutate};
use statesync_suite::inventory::{Device, Inventory, SiteKey};

/// Runs `edit` on the first device of the first site.
fn edit_first_device(inventory: &mut Inventory, edit: impl FnOnce(&mut Device)) {
    let site = inventory.sites.iter().next().unwrap().key();
    let mut site = inventory.sites.get_mut(&site).unwrap();
    let device = site.devices.iter().next().unwrap().key();
    let mut device = site.devices.get_mut(&device).unwrap();
    edit(&mut device);
}

/// A schema holding `generate(interfaces, seed)`, synced there by the adapter; the loaded
/// state is returned with it.
async fn filled(
    test: &str,
    interfaces: usize,
    seed: u64,
) -> (TestSchema, PgInventory, tokio_postgres::Client, Inventory) {
    let (guard, pg, mut client) = setup(test).await;
    let source = generate(interfaces, seed);
    let mut target = pg.load(&mut client).await.unwrap();
    pg.sync(&mut client, &mut target, &source, SyncOptions::default())
        .await
        .unwrap();
    assert_eq!(target, source);
    (guard, pg, client, target)
}

async fn setup(test: &str) -> (TestSchema, PgInventory, tokio_postgres::Client) {
    let guard = TestSchema::new(test).await;
    let client = connect(&url()).await.unwrap();
    let inventory = PgInventory::new(guard.schema.clone());
    inventory.create_tables(&client).await.unwrap();
    (guard, inventory, client)
}

/// A text field with everything COPY's text format treats as syntax, and more.
const AWKWARD: &str = "tab\there, new\nline, back\\slash, cr\r, 'quote\" {brace,} \\N ünï";

#[tokio::test]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn an_initial_sync_fills_an_empty_schema_and_a_rerun_finds_nothing() {
    let (_guard, pg, mut client) = setup("inv_initial").await;
    let mut source = generate(2_000, 7);
    let first_site = source.sites.iter().next().unwrap().name.clone();
    let mut site = source.sites.get_mut(&SiteKey { name: first_site }).unwrap();
    site.region = AWKWARD.to_owned();
    drop(site);

    let mut target = pg.load(&mut client).await.unwrap();
    assert_eq!(target, Inventory::default());
    let synced = pg
        .sync(&mut client, &mut target, &source, SyncOptions::default())
        .await
        .unwrap();
    assert!(synced.report.is_success());
    let counts = synced.report.counts;
    assert_eq!(synced.rows, (counts.created, 0, 0));
    assert_eq!(counts.created, 2_000 + 42 + 5); // interfaces, devices, sites
    assert_eq!(pg.load(&mut client).await.unwrap(), source);

    // Again, from what the tables hold: nothing to do, nothing written.
    let mut reloaded = pg.load(&mut client).await.unwrap();
    let again = pg
        .sync(&mut client, &mut reloaded, &source, SyncOptions::default())
        .await
        .unwrap();
    assert!(!again.report.changed_anything());
    assert_eq!(again.rows, (0, 0, 0));
}

/// A sync dropped before its transaction commits (a timeout around it) leaves `target` as
/// the tables hold it. Before, memory already held the source, and the next sync found
/// nothing to write.
#[tokio::test]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn a_sync_dropped_before_its_commit_leaves_the_target_as_the_tables() {
    let (_guard, pg, mut client, mut target) = filled("inv_dropped", 500, 21).await;
    let source = mutate(&target, 22);
    let sync = pg.sync(&mut client, &mut target, &source, SyncOptions::default());
    let dropped = tokio::time::timeout(std::time::Duration::ZERO, sync).await;
    assert!(dropped.is_err(), "the sync was dropped before it finished");
    let held = pg.load(&mut client).await.unwrap();
    assert!(target == held, "memory holds what the tables hold");
    let synced = pg
        .sync(&mut client, &mut target, &source, SyncOptions::default())
        .await
        .unwrap();
    assert_ne!(synced.rows, (0, 0, 0), "the next sync writes the changes");
    assert!(pg.load(&mut client).await.unwrap() == source);
}

#[tokio::test]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn changes_are_carried_in_one_transaction_and_counted() {
    let (_guard, pg, mut client, mut target) = filled("inv_changes", 3_000, 11).await;
    let source = target.clone();

    let mut changed = mutate(&source, 12);
    // An update with awkward text, and an interface moved to an empty VLAN list.
    edit_first_device(&mut changed, |device| {
        let key = device.interfaces.iter().next().unwrap().key();
        let mut interface = device.interfaces.get_mut(&key).unwrap();
        interface.description = AWKWARD.to_owned();
        interface.vlans.clear();
    });

    let before = target.diff(&changed).unwrap().summary();
    let synced = pg
        .sync(&mut client, &mut target, &changed, SyncOptions::default())
        .await
        .unwrap();
    let counts = synced.report.counts;
    assert!(synced.report.is_success());
    assert_eq!(
        synced.rows,
        (counts.created, counts.updated, counts.deleted)
    );
    assert_eq!(
        (before.create, before.delete),
        (counts.created, counts.deleted)
    );
    assert!(
        counts.created > 0 && counts.updated > 0 && counts.deleted > 0,
        "{counts:?}"
    );
    assert_eq!(target, changed);
    assert_eq!(pg.load(&mut client).await.unwrap(), changed);
    // Loading only some sites gives those sites whole.
    let names: Vec<String> = changed
        .sites
        .iter()
        .take(2)
        .map(|s| s.name.clone())
        .collect();
    let part = pg.load_sites(&client, &names).await.unwrap();
    assert_eq!(part.sites.len(), 2);
    for site in &part.sites {
        assert_eq!(Some(site), changed.sites.get(&site.key()));
    }

    // Back to the source: a device of a removed site comes back, with its interfaces.
    pg.sync(&mut client, &mut target, &source, SyncOptions::default())
        .await
        .unwrap();
    assert_eq!(pg.load(&mut client).await.unwrap(), source);
}

#[tokio::test]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn a_failure_anywhere_in_the_write_rolls_the_whole_sync_back() {
    let (_guard, pg, mut client, target) = filled("inv_fail", 1_000, 3).await;
    let source = target.clone();
    let changed = mutate(&source, 4);

    for at in [
        FailAt::AfterDeletes,
        FailAt::AfterUpdates,
        FailAt::AfterCreates,
    ] {
        let failing = pg.clone().inject_failure(Some(at));
        let mut memory = target.clone();
        let error = failing
            .sync(&mut client, &mut memory, &changed, SyncOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::NotCommitted { cause, target_reloaded: true } if matches!(**cause, Error::Injected(a) if a == at)),
            "{error}"
        );
        assert_eq!(pg.load(&mut client).await.unwrap(), source, "{at}");
        assert_eq!(memory, source, "memory reloaded {at}");
    }

    // A row PostgreSQL itself refuses (a device name another site's device holds: device
    // names are unique across sites, which no hook sees), after deletes and updates went
    // through in the same transaction: nothing stays. (A NUL byte served here until the
    // hooks refused it first.)
    let mut bad = changed.clone();
    let sites: Vec<SiteKey> = bad.sites.iter().map(DiffModel::key).take(2).collect();
    let [first, second] = <[SiteKey; 2]>::try_from(sites).unwrap();
    let mut twin = bad
        .sites
        .get(&first)
        .unwrap()
        .devices
        .iter()
        .next()
        .unwrap()
        .clone();
    twin.site = second.name.clone();
    twin.interfaces = statesync::Store::new();
    let mut second_site = bad.sites.get_mut(&second).unwrap();
    second_site.devices.insert(twin).unwrap();
    drop(second_site);
    let mut memory = target.clone();
    let error = pg
        .sync(&mut client, &mut memory, &bad, SyncOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::NotCommitted { cause, .. } if matches!(**cause, Error::Db(_))),
        "{error}"
    );
    assert_eq!(pg.load(&mut client).await.unwrap(), source);
    assert_eq!(memory, source);

    // A target that no longer matches the tables (another writer deleted an interface
    // since it was loaded): the write notices and rolls back instead of half-applying.
    let gone = changed
        .sites
        .iter()
        .flat_map(|s| s.devices.iter())
        .next()
        .unwrap();
    let stale_target = pg.load(&mut client).await.unwrap();
    let sql = format!(
        "DELETE FROM {} WHERE device = $1",
        pg.schema().table("interface")
    );
    client.execute(&sql, &[&gone.name]).await.unwrap();
    let after_delete = pg.load(&mut client).await.unwrap();
    let mut memory = stale_target;
    let error = pg
        .sync(
            &mut client,
            &mut memory,
            &Inventory::default(),
            SyncOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::NotCommitted { cause, .. } if matches!(**cause, Error::BadRow(_))),
        "{error}"
    );
    assert_eq!(pg.load(&mut client).await.unwrap(), after_delete);
}

#[tokio::test]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn bulk_creates_check_the_foreign_keys_once_and_still_refuse_an_orphan() {
    let (_guard, pg, mut client) = setup("inv_bulk").await;
    let pg = pg.bulk_creates(1); // every create takes the bulk path
    let source = generate(1_000, 5);
    let mut target = pg.load(&mut client).await.unwrap();
    pg.sync(&mut client, &mut target, &source, SyncOptions::default())
        .await
        .unwrap();
    assert_eq!(pg.load(&mut client).await.unwrap(), source);
    // The constraint is back.
    let sql = "SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace \
               WHERE n.nspname = $1 AND c.contype = 'f'";
    let row = client.query_one(sql, &[&pg.schema().name()]).await.unwrap();
    assert_eq!(row.get::<_, i64>(0), 2);

    // Another writer removes a device (and its interfaces) after our load; our sync then
    // creates interfaces under it: the re-added foreign key refuses them, all rolls back.
    let mut stale = pg.load(&mut client).await.unwrap();
    let device = source
        .sites
        .iter()
        .flat_map(|s| s.devices.iter())
        .next()
        .unwrap();
    for (table, column) in [("interface", "device"), ("device", "name")] {
        let sql = format!(
            "DELETE FROM {} WHERE {column} = $1",
            pg.schema().table(table)
        );
        client.execute(&sql, &[&device.name]).await.unwrap();
    }
    let before = pg.load(&mut client).await.unwrap();
    let mut more = source.clone();
    edit_first_device(&mut more, |device| {
        let mut extra = device.interfaces.iter().next().unwrap().clone();
        extra.name = "ae-99".into();
        device.interfaces.insert(extra).unwrap();
    });
    let error = pg
        .sync(&mut client, &mut stale, &more, SyncOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::NotCommitted { cause, .. } if matches!(**cause, Error::Db(_))),
        "{error}"
    );
    assert!(error.to_string().contains("foreign key"), "{error}");
    assert_eq!(pg.load(&mut client).await.unwrap(), before);
}

/// Two writers load the same tables. One changes a device's role and syncs; the other,
/// from its older copy, changes the same device's model (or deletes the device): its sync
/// fails instead of writing back the old role (found by an outside review: the update
/// matched rows by key alone and overwrote every column).
#[tokio::test]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn a_concurrent_edit_is_not_overwritten() {
    let (_guard, pg, mut client, loaded) = filled("inv_lost_update", 960, 13).await;
    let mut first = loaded.clone();
    let mut ours = loaded.clone();
    edit_first_device(&mut ours, |device| device.role.push_str("-edited"));
    pg.sync(&mut client, &mut first, &ours, SyncOptions::default())
        .await
        .unwrap();

    let mut stale_update = loaded.clone();
    edit_first_device(&mut stale_update, |device| device.model.push_str("-edited"));
    let mut stale_delete = loaded.clone();
    let site = stale_delete.sites.iter().next().unwrap().key();
    let device = stale_delete
        .sites
        .get(&site)
        .unwrap()
        .devices
        .iter()
        .next()
        .unwrap()
        .key();
    stale_delete
        .sites
        .modify(&site, |site| site.devices.remove(&device));
    for theirs in [stale_update, stale_delete] {
        let mut second = loaded.clone();
        let error = pg
            .sync(&mut client, &mut second, &theirs, SyncOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::NotCommitted { cause, .. } if matches!(**cause, Error::BadRow(_))),
            "{error}"
        );
        assert_eq!(pg.load(&mut client).await.unwrap(), ours);
    }
}

/// An array another program wrote starting at another index than 1 (`SET vlans[0] = 5`
/// makes `[0:5]={5,...}`) reads back as its elements; a sync then updates and deletes its
/// row as any other (the comparison with the loaded row ignored the lower bound).
#[tokio::test]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn an_array_starting_at_another_index_is_updated_and_deleted() {
    let (_guard, pg, mut client, _) = filled("inv_array_bounds", 40, 21).await;
    let schema = pg.schema().name().to_owned();
    let mut first = None;
    edit_first_device(&mut pg.load(&mut client).await.unwrap(), |device| {
        first = device.interfaces.iter().next().map(DiffModel::key);
    });
    let first = first.unwrap();
    let sql = format!("UPDATE {schema}.interface SET vlans[0] = 5 WHERE device = $1 AND name = $2");
    client
        .execute(&sql, &[&first.device, &first.name])
        .await
        .unwrap();
    let bounds = format!(
        "SELECT array_lower(vlans, 1) FROM {schema}.interface WHERE device = $1 AND name = $2"
    );
    let lower: i32 = client
        .query_one(&bounds, &[&first.device, &first.name])
        .await
        .unwrap()
        .get(0);
    assert_eq!(lower, 0);

    let mut target = pg.load(&mut client).await.unwrap();
    let mut source = target.clone();
    edit_first_device(&mut source, |device| {
        device.interfaces.get_mut(&first).unwrap().description = "edited".into();
    });
    pg.sync(&mut client, &mut target, &source, SyncOptions::default())
        .await
        .unwrap();
    assert_eq!(pg.load(&mut client).await.unwrap(), source);

    // The array at index 0 again (whatever the update wrote), then a delete.
    client
        .execute(&sql, &[&first.device, &first.name])
        .await
        .unwrap();
    let mut target = pg.load(&mut client).await.unwrap();
    let mut source = target.clone();
    edit_first_device(&mut source, |device| {
        device.interfaces.remove(&first).unwrap();
    });
    pg.sync(&mut client, &mut target, &source, SyncOptions::default())
        .await
        .unwrap();
    assert_eq!(pg.load(&mut client).await.unwrap(), source);
}

/// `write` runs inside the caller's transaction: two writes in one transaction (two
/// inventories, or one inventory twice), each with updates and deletes, both go in.
#[tokio::test]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn two_writes_in_one_transaction_both_go_in() {
    let (_a, first, mut client, mut first_state) = filled("inv_two_writes_a", 300, 3).await;
    let (_b, second, _, mut second_state) = filled("inv_two_writes_b", 300, 4).await;
    let first_source = mutate(&first_state, 5);
    let second_source = mutate(&second_state, 6);
    let (_, first_changes) =
        PgInventory::record(&mut first_state, &first_source, SyncOptions::default()).unwrap();
    let (_, second_changes) =
        PgInventory::record(&mut second_state, &second_source, SyncOptions::default()).unwrap();
    let (_, updated, deleted) = first_changes.counts();
    assert!(updated > 0 && deleted > 0, "{:?}", first_changes.counts());
    let tx = client.transaction().await.unwrap();
    first.write(&tx, &first_changes).await.unwrap();
    second.write(&tx, &second_changes).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(first.load(&mut client).await.unwrap(), first_source);
    assert_eq!(second.load(&mut client).await.unwrap(), second_source);
}

/// Rows that do not fit the models (written by another program: the table allows them)
/// are refused with an error that names the row, whatever column is at fault.
#[tokio::test]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn a_row_that_does_not_fit_the_models_is_named() {
    let (_guard, pg, mut client) = setup("inv_bad_rows").await;
    let schema = pg.schema().name().to_owned();
    let sql = format!(
        "INSERT INTO {schema}.site VALUES ('s1', 'eu'); \
         INSERT INTO {schema}.device VALUES ('s1', 'd1', 'leaf', 'qfx', 'SN1');"
    );
    client.batch_execute(&sql).await.unwrap();
    for (vlans, expected) in [
        ("ARRAY[70000]", "vlan 70000 is not a u16"),
        ("ARRAY[-1]", "vlan -1 is not a u16"),
        ("ARRAY[10, NULL]", "a vlan is NULL"),
        (
            "ARRAY[[1, 2], [3, 4]]",
            "column vlans: array contains too many dimensions",
        ),
    ] {
        let sql = format!(
            "DELETE FROM {schema}.interface; INSERT INTO {schema}.interface \
             VALUES ('d1', 'et-0', 'x', true, 1500, 'access', {vlans})"
        );
        client.batch_execute(&sql).await.unwrap();
        let error = pg.load(&mut client).await.unwrap_err();
        let text = error.to_string();
        assert!(matches!(error, Error::BadRow(_)), "{text}");
        assert!(
            text.contains("interface[device=d1, name=et-0]") && text.contains(expected),
            "{text}"
        );
    }
    // The failed load's rollback goes out with the next statement.
    client.batch_execute("SELECT 1").await.unwrap();
}

/// What a sync of `source` into an empty inventory records for the tables, trying every
/// change past a failure. Needs no server.
fn record_into_empty(
    source: &Inventory,
) -> (statesync::sync::SyncReport, statesync_postgres::Changes) {
    PgInventory::record(
        &mut Inventory::default(),
        source,
        SyncOptions::new(statesync::sync::SyncFlags::CONTINUE_ON_FAILURE),
    )
    .unwrap()
}

/// A source built in memory whose device names another site than it sits under is not
/// recorded for the tables (its row would go under the site it names while memory keeps it
/// under the other): the device fails, naming both sites. Needs no server.
#[test]
fn a_device_under_another_site_than_it_names_is_not_recorded() {
    let mut source = statesync_suite::fixtures::inventory();
    let mut ams = source
        .sites
        .get_mut(&SiteKey { name: "ams".into() })
        .unwrap();
    let mut stray = ams.devices.iter().next().unwrap().clone();
    stray.site = "nyc".into();
    stray.name = "stray".into();
    stray.interfaces = statesync::Store::new();
    ams.devices.insert(stray).unwrap();
    drop(ams);
    let (report, changes) = record_into_empty(&source);
    assert_eq!(report.counts.failed, 1, "{report}");
    let outcomes = format!("{:?}", report.outcomes);
    assert!(
        outcomes.contains("sits under ams but its site names nyc"),
        "{outcomes}"
    );
    let (created, _, _) = changes.counts();
    assert_eq!(created, report.counts.created);
}

/// A value PostgreSQL's `text` cannot store (a NUL character) fails its element's hook,
/// naming the column, and is not recorded: it failed the whole COPY with PostgreSQL's
/// `invalid byte sequence for encoding "UTF8": 0x00`, naming no element (an outside
/// tester). Needs no server.
#[test]
fn a_value_with_a_nul_character_fails_its_element_naming_the_column() {
    let mut source = statesync_suite::fixtures::inventory();
    edit_first_device(&mut source, |device| {
        let key = device.interfaces.iter().next().unwrap().key();
        device.interfaces.get_mut(&key).unwrap().description = "a\0b".into();
    });
    let (report, changes) = record_into_empty(&source);
    assert_eq!(report.counts.failed, 1, "{report}");
    let failure = report.failures().next().unwrap().to_string();
    assert!(
        failure.contains("interface[device=ams-d0, name=et-0]"),
        "{failure}"
    );
    assert!(
        failure.contains("`description` holds a NUL character"),
        "{failure}"
    );
    let (created, _, _) = changes.counts();
    assert_eq!(created, report.counts.created);
}
