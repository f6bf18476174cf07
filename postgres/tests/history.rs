//! `PgHistory` against a real server: compare-and-set commits, the merge-and-retry loop
//! under contention, and the version sequence it leaves.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{TestSchema, url};
use serde::{Deserialize, Serialize};
use statesync::merge::MergeOptions;
use statesync::{DiffModel, Store};
use statesync_postgres::{Checkout, CommitError, PgHistory, connect};

#[derive(DiffModel, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Counters {
    #[statesync(children)]
    counters: Store<Counter>,
}

#[derive(DiffModel, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Counter {
    #[statesync(id)]
    task: u32,
    value: u64,
}

fn counters(tasks: u32) -> Counters {
    Counters {
        counters: Store::try_from_iter((0..tasks).map(|task| Counter { task, value: 0 })).unwrap(),
    }
}

fn bump(state: &Counters, task: u32) -> Counters {
    let mut next = state.clone();
    next.counters.get_mut(&CounterKey { task }).unwrap().value += 1;
    next
}

#[tokio::test]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn of_two_commits_against_one_base_one_wins_and_the_other_is_stale() {
    let guard = TestSchema::new("hist_cas").await;
    let client = connect(&url()).await.unwrap();
    let history = PgHistory::<Counters>::new(&guard.schema, "counters");
    history.create_table(&client).await.unwrap();
    let base = history.init(&client, &counters(2)).await.unwrap();
    assert_eq!(base.version(), 0);

    let first = history
        .commit(&client, &base, &bump(base.state(), 0), "a")
        .await
        .unwrap();
    assert_eq!(first.version(), 1);
    let second = history
        .commit(&client, &base, &bump(base.state(), 1), "b")
        .await;
    assert!(
        matches!(second, Err(CommitError::Stale { base: 0, head: 1 })),
        "{second:?}"
    );
    // The same stale commit inside a transaction the caller holds: still `Stale`, and the
    // transaction goes on (a unique violation aborted it, and the head could not be read).
    let mut client = client;
    let tx = client.transaction().await.unwrap();
    let inside = history
        .commit(&tx, &base, &bump(base.state(), 1), "b")
        .await;
    assert!(
        matches!(inside, Err(CommitError::Stale { base: 0, head: 1 })),
        "{inside:?}"
    );
    assert_eq!(history.version(&tx).await.unwrap(), 1);
    tx.rollback().await.unwrap();
    // A base that is not a version: refused, no gap written.
    let diff = base.state().diff(&bump(base.state(), 1)).unwrap();
    let gap = history.commit_diff(&client, 7, &diff, "c").await;
    assert!(matches!(gap, Err(CommitError::NoSuchVersion(7))), "{gap:?}");
    // So is any base of a root that has no version (it was `BadRow`).
    let never = PgHistory::<Counters>::new(&guard.schema, "never_initialised");
    let none = never.commit_diff(&client, 0, &diff, "c").await;
    assert!(
        matches!(none, Err(CommitError::NoSuchVersion(0))),
        "{none:?}"
    );
    // A checkout of another root (at a version this root has too) is refused, by commit
    // and by pull: its state was never a version of this history.
    let other = PgHistory::<Counters>::new(&guard.schema, "other");
    let mut of_other = other.init(&client, &counters(3)).await.unwrap();
    let refused = history
        .commit(&client, &of_other, &bump(of_other.state(), 0), "c")
        .await;
    assert!(
        matches!(
            refused,
            Err(CommitError::Other(
                statesync_postgres::Error::OtherHistory { .. }
            ))
        ),
        "{refused:?}"
    );
    let refused = history.pull(&client, &mut of_other).await;
    assert!(
        matches!(refused, Err(statesync_postgres::Error::OtherHistory { .. })),
        "{refused:?}"
    );
    assert_eq!(of_other.version(), 0);
    // init again keeps the first initial state.
    let again = history.init(&client, &counters(5)).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(
        history.versions(&client).await.unwrap(),
        [(0, "initial".to_owned()), (1, "a".to_owned())]
    );

    // The loser merges and retries.
    let done = history
        .commit_merging(
            &client,
            base,
            bump(&counters(2), 1),
            "b",
            &MergeOptions::default(),
            3,
        )
        .await
        .unwrap();
    assert_eq!((done.checkout.version(), done.stale), (2, 1));
    assert!(done.conflicts.is_empty());
    let head = history.head(&client).await.unwrap();
    assert_eq!(head, done.checkout);
    assert_eq!(
        head.state()
            .counters
            .iter()
            .map(|c| c.value)
            .collect::<Vec<_>>(),
        [1, 1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn eight_tasks_commit_a_thousand_versions_without_gap_or_duplicate() {
    const TASKS: u32 = 8;
    const EACH: u64 = 125;
    let guard = TestSchema::new("hist_race").await;
    let setup = connect(&url()).await.unwrap();
    let history = PgHistory::<Counters>::new(&guard.schema, "counters");
    history.create_table(&setup).await.unwrap();
    history.init(&setup, &counters(TASKS)).await.unwrap();

    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let history = history.clone();
        tasks.push(tokio::spawn(async move {
            let client = connect(&url()).await.unwrap();
            let mut base = history.head(&client).await.unwrap();
            let (mut stale, mut versions) = (0, Vec::new());
            for _ in 0..EACH {
                let ours = bump(base.state(), task);
                let done = history
                    .commit_merging(
                        &client,
                        base,
                        ours,
                        &format!("task {task}"),
                        &MergeOptions::default(),
                        10_000,
                    )
                    .await
                    .unwrap();
                assert!(done.conflicts.is_empty());
                // What this task committed is what it holds: its own counter moved by one.
                assert_eq!(
                    done.checkout
                        .state()
                        .counters
                        .get(&CounterKey { task })
                        .unwrap()
                        .value,
                    versions.len() as u64 + 1
                );
                stale += done.stale;
                versions.push(done.checkout.version());
                base = done.checkout;
            }
            (stale, versions)
        }));
    }
    let mut stale = 0;
    let mut committed = Vec::new();
    for task in tasks {
        let (task_stale, versions) = task.await.unwrap();
        assert!(
            versions.windows(2).all(|w| w[0] < w[1]),
            "a task's versions go up"
        );
        stale += task_stale;
        committed.extend(versions);
    }
    committed.sort_unstable();
    let expected: Vec<i64> = (1..=i64::from(TASKS) * EACH as i64).collect();
    assert_eq!(
        committed, expected,
        "each version committed by exactly one task"
    );

    let stored: Vec<i64> = history
        .versions(&setup)
        .await
        .unwrap()
        .into_iter()
        .map(|(v, _)| v)
        .collect();
    assert_eq!(
        stored,
        (0..=i64::from(TASKS) * EACH as i64).collect::<Vec<_>>(),
        "no gap, no duplicate"
    );
    // Every stale refusal was followed by a retry that went through: 1,000 commits in all,
    // and with 8 writers some were refused.
    assert!(stale > 0, "8 concurrent writers and never a stale commit?");
    println!("1000 commits, {stale} stale refusals retried");

    // Replaying the diffs gives every counter its 125 bumps: no update was lost.
    let head = history.head(&setup).await.unwrap();
    assert_eq!(head.version(), 1000);
    assert!(
        head.state().counters.iter().all(|c| c.value == EACH),
        "{:?}",
        head.state()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn two_servers_in_front_of_one_database_take_pushes_in_their_serde_form() {
    let guard = TestSchema::new("hist_servers").await;
    // Two "servers", each with its own connection (in production, its own process).
    let servers = [
        connect(&url()).await.unwrap(),
        connect(&url()).await.unwrap(),
    ];
    let history = PgHistory::<Counters>::new(&guard.schema, "counters");
    history.create_table(&servers[0]).await.unwrap();
    let start = history.init(&servers[0], &counters(2)).await.unwrap();

    // Two clients hold version 0, each edits its own counter and pushes its diff as JSON
    // (with the version it was made against) to a different server.
    let push = |server: usize, base: &statesync_postgres::Checkout<Counters>, task: u32| {
        let diff = base.state().diff(&bump(base.state(), task)).unwrap();
        (
            server,
            base.version(),
            serde_json::to_string(&diff).unwrap(),
        )
    };
    let a = push(0, &start, 0);
    let b = push(1, &start, 1);
    let mut outcomes = Vec::new();
    for (server, base, json) in [a, b] {
        let diff: statesync::Diff<Counters> = serde_json::from_str(&json).unwrap();
        outcomes.push(
            history
                .commit_diff(&servers[server], base, &diff, "push")
                .await,
        );
    }
    assert_eq!(outcomes[0].as_ref().unwrap().version(), 1);
    assert!(
        matches!(outcomes[1], Err(CommitError::Stale { base: 0, head: 1 })),
        "{:?}",
        outcomes[1]
    );

    // The second client pulls through its server, merges and pushes again.
    let mut theirs = start.clone();
    history.pull(&servers[1], &mut theirs).await.unwrap();
    let merged = statesync::merge::merge(
        start.state(),
        &bump(start.state(), 1),
        theirs.state(),
        &MergeOptions::default(),
    )
    .unwrap();
    assert!(merged.conflicts.is_empty());
    let diff = theirs.state().diff(&merged.value).unwrap();
    let done = history
        .commit_diff(&servers[1], theirs.version(), &diff, "push")
        .await
        .unwrap();
    assert_eq!(done.version(), 2);
    // Both servers see the same head; a diff that does not apply is refused.
    for server in &servers {
        let head = history.head(server).await.unwrap();
        assert_eq!(head, done);
        assert_eq!(
            history.checkout(server, 1).await.unwrap(),
            *outcomes[0].as_ref().unwrap()
        );
    }
    let bogus = start.state().diff(&counters(3)).unwrap(); // creates counter 2 ...
    let twice = history.commit_diff(&servers[0], 2, &bogus, "x").await;
    assert!(twice.is_ok(), "{twice:?}");
    let again = history.commit_diff(&servers[0], 3, &bogus, "x").await; // ... which now exists
    assert!(
        matches!(
            again,
            Err(CommitError::Other(statesync_postgres::Error::Model(_)))
        ),
        "{again:?}"
    );
    assert_eq!(history.version(&servers[1]).await.unwrap(), 3);
}

#[derive(DiffModel, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Gauges {
    #[statesync(children)]
    gauges: Store<Gauge>,
}

#[derive(DiffModel, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Gauge {
    #[statesync(id)]
    name: String,
    reading: f64,
    limit: Option<f64>,
}

/// A state of one gauge, `g`.
fn gauge(reading: f64, limit: Option<f64>) -> Gauges {
    Gauges {
        gauges: Store::try_from_iter([Gauge {
            name: "g".into(),
            reading,
            limit,
        }])
        .unwrap(),
    }
}

/// JSON writes a NaN float as `null`: such a state is refused before anything is written,
/// so the history stays readable (found by an outside review: a NaN commit made every
/// later read fail).
#[tokio::test]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn a_state_json_cannot_hold_is_refused_and_the_history_stays_readable() {
    let guard = TestSchema::new("hist_nan").await;
    let client = connect(&url()).await.unwrap();
    let history = PgHistory::<Gauges>::new(&guard.schema, "gauges");
    history.create_table(&client).await.unwrap();
    let nan_initial = history.init(&client, &gauge(f64::NAN, None)).await;
    assert!(
        matches!(nan_initial, Err(statesync_postgres::Error::NotJson { .. })),
        "{nan_initial:?}"
    );
    let base = history.init(&client, &gauge(1.0, Some(2.0))).await.unwrap();
    for bad in [
        gauge(f64::NAN, Some(2.0)),
        gauge(1.0, Some(f64::NAN)),
        gauge(f64::INFINITY, None),
    ] {
        let refused = history.commit(&client, &base, &bad, "bad").await;
        assert!(
            matches!(
                refused,
                Err(CommitError::Other(
                    statesync_postgres::Error::NotJson { .. }
                ))
            ),
            "{refused:?}"
        );
    }
    assert_eq!(history.version(&client).await.unwrap(), 0);
    assert_eq!(history.head(&client).await.unwrap(), base);
    let next = history
        .commit(&client, &base, &gauge(3.0, None), "good")
        .await
        .unwrap();
    assert_eq!(history.head(&client).await.unwrap(), next);
}

/// A push that changes nothing (an empty diff, or an update whose old and new values are
/// equal) is refused and writes no version: before, each was a new version that made
/// every honest writer stale, and was replayed by every checkout after.
#[tokio::test]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn a_push_that_changes_nothing_writes_no_version() {
    let guard = TestSchema::new("hist_noop").await;
    let client = connect(&url()).await.unwrap();
    let history = PgHistory::<Counters>::new(&guard.schema, "counters");
    history.create_table(&client).await.unwrap();
    let start = history.init(&client, &counters(2)).await.unwrap();
    let empty = history
        .commit_diff(&client, 0, &statesync::Diff::default(), "nothing")
        .await;
    assert!(matches!(empty, Err(CommitError::Unchanged)), "{empty:?}");
    // An update of counter 0 from 0 to 0.
    let bumped = start.state().diff(&bump(start.state(), 0)).unwrap();
    let no_op: statesync::Diff<Counters> = serde_json::from_str(
        &serde_json::to_string(&bumped)
            .unwrap()
            .replace("\"new\":1", "\"new\":0"),
    )
    .unwrap();
    let same = history.commit_diff(&client, 0, &no_op, "same").await;
    assert!(matches!(same, Err(CommitError::Unchanged)), "{same:?}");
    let unchanged = history
        .commit(&client, &start, start.state(), "again")
        .await;
    assert!(
        matches!(unchanged, Err(CommitError::Unchanged)),
        "{unchanged:?}"
    );
    assert_eq!(history.version(&client).await.unwrap(), 0);
    // A merging commit whose edit is already in: nothing to write, and that is no error;
    // against a base another commit moved past, the head comes back.
    let options = MergeOptions::default();
    let nothing_new = || {
        history.commit_merging(
            &client,
            start.clone(),
            start.state().clone(),
            "m",
            &options,
            3,
        )
    };
    assert_eq!(nothing_new().await.unwrap().checkout, start);
    let ahead = history
        .commit(&client, &start, &bump(start.state(), 1), "b")
        .await
        .unwrap();
    assert_eq!(nothing_new().await.unwrap().checkout, ahead);
}

/// Commits made in the caller's transaction that then rolled back gave checkouts of
/// versions the history never kept. Once another process committed those version numbers,
/// a commit against such a checkout stored a diff from a state the history never held, and
/// no process could read the history again. Now the commit is refused, and so is a pull,
/// also when the other process's last diff is the very diff the checkout's was (each
/// version's digest chains all before it).
#[tokio::test]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn a_checkout_whose_commit_rolled_back_is_refused() {
    let guard = TestSchema::new("hist_rolled_back").await;
    let mut client = connect(&url()).await.unwrap();
    let other = connect(&url()).await.unwrap();
    let history = PgHistory::<Counters>::new(&guard.schema, "counters");
    history.create_table(&client).await.unwrap();
    let start = history.init(&client, &counters(3)).await.unwrap();
    let tx = client.transaction().await.unwrap();
    let phantom_1 = history
        .commit(&tx, &start, &bump(start.state(), 0), "rolled back")
        .await
        .unwrap();
    let mut phantom_2 = history
        .commit(&tx, &phantom_1, &bump(phantom_1.state(), 2), "rolled back")
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let theirs_1 = history
        .commit(&other, &start, &bump(start.state(), 1), "kept")
        .await
        .unwrap();
    // The same diff as phantom 2's: counter 2 from 0 to 1.
    let theirs_2 = history
        .commit(&other, &theirs_1, &bump(theirs_1.state(), 2), "kept")
        .await
        .unwrap();
    assert_eq!((phantom_2.version(), theirs_2.version()), (2, 2));

    for phantom in [&phantom_1, &phantom_2] {
        let on_top = history
            .commit(&client, phantom, &bump(phantom.state(), 0), "on top")
            .await;
        assert!(
            matches!(on_top, Err(CommitError::NoSuchVersion(v)) if v == phantom.version()),
            "{on_top:?}"
        );
    }
    let pulled = history.pull(&client, &mut phantom_2).await;
    assert!(
        matches!(
            pulled,
            Err(statesync_postgres::Error::VersionGone { version: 2, .. })
        ),
        "{pulled:?}"
    );
    for ours in [bump(phantom_2.state(), 0), phantom_2.state().clone()] {
        let merging = history
            .commit_merging(
                &client,
                phantom_2.clone(),
                ours,
                "merging",
                &MergeOptions::default(),
                3,
            )
            .await;
        assert!(
            matches!(merging, Err(CommitError::NoSuchVersion(2))),
            "{merging:?}"
        );
    }
    // Nothing was written: the history reads back as the other process left it, and a
    // checkout of it commits.
    let head = history.head(&client).await.unwrap();
    assert_eq!(head, theirs_2);
    let next = history
        .commit(&client, &head, &bump(head.state(), 0), "after")
        .await
        .unwrap();
    assert_eq!(next.version(), 3);
    assert_eq!(history.head(&other).await.unwrap(), next);
}

/// A commit racing the removal of its history (a `DELETE` of its rows in a transaction not
/// yet committed) waits for it, then finds its base gone and writes nothing. It wrote a
/// version without predecessors, returned `Ok`, and the root could not be read again.
#[tokio::test]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn a_commit_racing_the_removal_of_its_history_writes_nothing() {
    let guard = TestSchema::new("hist_removed").await;
    let mut admin = connect(&url()).await.unwrap();
    let client = connect(&url()).await.unwrap();
    let history = PgHistory::<Counters>::new(&guard.schema, "counters");
    history.create_table(&client).await.unwrap();
    let start = history.init(&client, &counters(1)).await.unwrap();
    let table = guard.schema.table("statesync_history");
    let removal = admin.transaction().await.unwrap();
    removal
        .execute(&format!("DELETE FROM {table} WHERE root = 'counters'"), &[])
        .await
        .unwrap();
    let racing = tokio::spawn(async move {
        history
            .commit(&client, &start, &bump(start.state(), 0), "racing")
            .await
            .map(|checkout| checkout.version())
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    removal.commit().await.unwrap();
    let raced = racing.await.unwrap();
    assert!(
        matches!(raced, Err(CommitError::NoSuchVersion(0))),
        "{raced:?}"
    );
    let history = PgHistory::<Counters>::new(&guard.schema, "counters");
    assert!(history.versions(&admin).await.unwrap().is_empty());
}

/// `commit_diff` and `head` beside a `remove` and an `init` again, over and over: only the
/// errors they document. Before, a remove between their two reads leaked an untyped
/// `BadRow` from `commit_diff` (its base read by `version`, then gone for `checkout`) and
/// `VersionGone` from `head` (version 0 of the old history, the later ones of the new),
/// in about one call of a hundred (an outside tester's count).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn reads_beside_a_remove_give_only_the_errors_they_document() {
    use statesync_postgres::Error;
    let guard = TestSchema::new("hist_remove_race").await;
    let mut admin = connect(&url()).await.unwrap();
    let client = connect(&url()).await.unwrap();
    let history = PgHistory::<Counters>::new(&guard.schema, "counters");
    history.create_table(&client).await.unwrap();
    let start = history.init(&client, &counters(2)).await.unwrap();
    let diff = start.state().diff(&bump(start.state(), 0)).unwrap();
    let remover = {
        let history = history.clone();
        tokio::spawn(async move {
            for _ in 0..400 {
                history.remove(&mut admin).await.unwrap();
                history.init(&admin, &counters(2)).await.unwrap();
            }
        })
    };
    let (mut calls, mut undocumented) = (0, Vec::new());
    while !remover.is_finished() {
        calls += 1;
        match history.commit_diff(&client, 0, &diff, "push").await {
            Ok(_) | Err(CommitError::NoSuchVersion(0) | CommitError::Stale { .. }) => {}
            Err(other) => undocumented.push(format!("commit_diff: {other:?}")),
        }
        match history.head(&client).await {
            // No version 0 (removed, not yet initialised again).
            Ok(_) | Err(Error::BadRow(_)) => {}
            Err(other) => undocumented.push(format!("head: {other:?}")),
        }
    }
    remover.await.unwrap();
    assert!(calls > 10, "{calls}");
    assert!(
        undocumented.is_empty(),
        "{} of {calls}, the first: {:?}",
        undocumented.len(),
        undocumented.first()
    );
}

/// Asserts that a commit on `base` is stale against the head `head`.
async fn assert_late_commit_stale(
    history: &PgHistory<Counters>,
    client: &tokio_postgres::Client,
    base: &Checkout<Counters>,
    head: i64,
) {
    let refused = history
        .commit(client, base, &bump(base.state(), 1), "late")
        .await;
    let stale = matches!(
        refused,
        Err(statesync_postgres::CommitError::Stale { base: at, head: now })
            if at == base.version() && now == head
    );
    assert!(stale, "{refused:?}");
}

/// A history of counters at versions 0, 1 and 2, and a checkout of version 0.
async fn versions_0_to_2(
    test: &str,
) -> (
    TestSchema,
    tokio_postgres::Client,
    PgHistory<Counters>,
    Checkout<Counters>,
) {
    let guard = TestSchema::new(test).await;
    let client = connect(&url()).await.unwrap();
    let history = PgHistory::<Counters>::new(&guard.schema, "counters");
    history.create_table(&client).await.unwrap();
    let start = history.init(&client, &counters(2)).await.unwrap();
    let first = history
        .commit(&client, &start, &bump(start.state(), 0), "a")
        .await
        .unwrap();
    history
        .commit(&client, &first, &bump(first.state(), 1), "b")
        .await
        .unwrap();
    (guard, client, history, start)
}

/// A diff edited in place, its chain digest kept, is refused where it is read (head,
/// checkout, pull): it was applied as if it were what was committed, and a checkout made
/// before the edit still committed on top of it.
#[tokio::test]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn a_diff_edited_in_place_is_refused_where_it_is_read() {
    let (guard, client, history, mut start) = versions_0_to_2("hist_edited").await;
    let table = guard.schema.table("statesync_history");
    client
        .execute(
            &format!(
                "UPDATE {table} SET diff = (SELECT diff FROM {table} WHERE version = 2)
                  WHERE version = 1"
            ),
            &[],
        )
        .await
        .unwrap();
    let edited = |result: Result<(), statesync_postgres::Error>| {
        matches!(result, Err(statesync_postgres::Error::BadRow(message))
            if message.contains("version 1") && message.contains("chain digest"))
    };
    assert!(edited(history.head(&client).await.map(drop)));
    assert!(edited(history.checkout(&client, 2).await.map(drop)));
    assert!(edited(history.pull(&client, &mut start).await.map(drop)));
}

/// A version removed by hand from the middle is named as the gap it leaves (head,
/// checkout, pull), not as its successor's content being edited: the successor's chain
/// digest no longer follows either, and was checked first. A commit on a base before the
/// gap is stale and fills nothing.
#[tokio::test]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn a_version_removed_from_the_middle_is_named_as_a_gap() {
    let (guard, client, history, mut start) = versions_0_to_2("hist_gap").await;
    let table = guard.schema.table("statesync_history");
    client
        .execute(&format!("DELETE FROM {table} WHERE version = 1"), &[])
        .await
        .unwrap();
    let gap = |result: Result<(), statesync_postgres::Error>| match result {
        Err(statesync_postgres::Error::BadRow(message)) => {
            assert!(message.contains("version 2 follows 0"), "{message}");
        }
        other => panic!("{other:?}"),
    };
    gap(history.head(&client).await.map(drop));
    gap(history.checkout(&client, 2).await.map(drop));
    // A commit on a base the head is past is stale, gap or not: it filled the gap, and the
    // history then read as if version 2 had been edited (an outside tester).
    assert_late_commit_stale(&history, &client, &start, 2).await;
    gap(history.head(&client).await.map(drop));
    gap(history.pull(&client, &mut start).await.map(drop));
}

/// A pull that fails on a version's row leaves the checkout at the version before, its
/// state, version and digest together: with a chain digest made NULL by hand (its
/// constraint dropped first), the checkout took the new state and version with the old
/// digest, and a commit from it said `NoSuchVersion` of a version that exists (an outside
/// tester).
#[tokio::test]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn a_pull_that_fails_on_a_row_leaves_the_checkout_whole() {
    let (guard, client, history, mut start) = versions_0_to_2("hist_null_chain").await;
    let table = guard.schema.table("statesync_history");
    client
        .batch_execute(&format!(
            "ALTER TABLE {table} ALTER COLUMN chain DROP NOT NULL;
             UPDATE {table} SET chain = NULL WHERE version = 2"
        ))
        .await
        .unwrap();
    assert!(history.pull(&client, &mut start).await.is_err());
    assert_eq!(start.version(), 1);
    let first = history.checkout(&client, 1).await.unwrap();
    assert_eq!(start.state(), first.state());
    assert_late_commit_stale(&history, &client, &start, 2).await;
}

/// A model with a JSON blob attribute, which a client may fill as deep as it likes.
#[derive(DiffModel, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Desk {
    #[statesync(children)]
    tickets: Store<Ticket>,
}

#[derive(DiffModel, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Ticket {
    #[statesync(id)]
    id: u32,
    title: String,
    custom: serde_json::Value,
}

fn desk(title: &str, custom: serde_json::Value) -> Desk {
    Desk {
        tickets: Store::try_from_iter([Ticket {
            id: 1,
            title: title.into(),
            custom,
        }])
        .unwrap(),
    }
}

/// `{"k": {"k": ... "leaf"}}`, `levels` deep.
fn nested(levels: usize) -> serde_json::Value {
    (0..levels).fold(
        serde_json::Value::from("leaf"),
        |inner, _| serde_json::json!({ "k": inner }),
    )
}

/// What a read of the table would refuse is refused before it is written: a state nested
/// deeper than serde_json reads, and a NUL character (which jsonb refuses), in the state,
/// a key or the message. Before, the deep commit returned `Ok` and every later read of
/// the history failed with a database error naming no version; a deep `init` wrote its
/// version 0 and then failed; a NUL was a bare database error.
#[tokio::test]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn what_a_read_would_refuse_is_refused_before_it_is_written() {
    use statesync_postgres::Error;
    let guard = TestSchema::new("hist_unreadable").await;
    let client = connect(&url()).await.unwrap();
    let history = PgHistory::<Desk>::new(&guard.schema, "desk");
    history.create_table(&client).await.unwrap();
    let not_json = |result: Result<(), Error>, reason: &str| matches!(&result, Err(Error::NotJson { reason: found, .. }) if found.contains(reason));
    assert!(not_json(
        history
            .init(&client, &desk("t", nested(200)))
            .await
            .map(drop),
        "deeper"
    ));
    assert!(history.versions(&client).await.unwrap().is_empty());
    let base = history
        .init(&client, &desk("t", serde_json::Value::Null))
        .await
        .unwrap();
    let refused = |result: Result<_, CommitError>, reason: &str| match result {
        Err(CommitError::Other(error)) => not_json(Err(error), reason),
        _ => false,
    };
    let commit = |next: Desk, message: &'static str| {
        let (history, client, base) = (&history, &client, &base);
        async move { history.commit(client, base, &next, message).await.map(drop) }
    };
    assert!(refused(
        commit(desk("t", nested(200)), "deep").await,
        "deeper"
    ));
    assert!(refused(
        commit(desk("a\0b", serde_json::Value::Null), "nul").await,
        "NUL"
    ));
    assert!(refused(
        commit(desk("t", serde_json::json!({ "a\u{0}b": 1 })), "nul key").await,
        "NUL"
    ));
    // The error names where the value is: the ticket, by its key, and the field (it named
    // only the version, whatever the size of the diff).
    match commit(desk("a\0b", serde_json::Value::Null), "nul").await {
        Err(CommitError::Other(Error::NotJson { what, .. })) => assert!(
            what.ends_with(r#"version 0, at elements[0] {}.action.update.children.tickets.elements[0] {"id":1}.action.update.fields.title.new"#),
            "{what}"
        ),
        other => panic!("expected NotJson, got {other:?}"),
    }
    assert!(refused(
        commit(desk("t2", serde_json::Value::Null), "a\0b").await,
        "NUL"
    ));
    // A negative zero, which jsonb reads back as 0.0 (`-0.0 == 0.0`: it was stored as
    // 0.0 without a word, and other processes read 0.0 where the committer held -0.0).
    assert!(refused(
        commit(desk("t", serde_json::json!([1.5, -0.0])), "negative zero").await,
        "negative zero"
    ));
    assert!(not_json(
        history
            .init(&client, &desk("t", serde_json::json!(-0.0)))
            .await
            .map(drop),
        "negative zero"
    ));
    // An escaped backslash followed by `u0000` is no NUL.
    let fine = desk("\\u0000", nested(20));
    let next = history.commit(&client, &base, &fine, "fine").await.unwrap();
    assert_eq!(history.version(&client).await.unwrap(), 1);
    assert_eq!(history.head(&client).await.unwrap(), next);
}

/// A root name PostgreSQL's `text` cannot hold (a NUL) is `NotJson` naming the history, in
/// every call that sends it; it was a bare database error.
#[tokio::test]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn a_root_name_with_a_nul_is_refused_by_name() {
    use statesync_postgres::Error;
    let guard = TestSchema::new("hist_nul_root").await;
    let client = connect(&url()).await.unwrap();
    let history = PgHistory::<Desk>::new(&guard.schema, "desk\0a");
    history.create_table(&client).await.unwrap();
    let names_it = |error: Error| matches!(&error, Error::NotJson { what, reason } if what.contains("root name") && reason.contains("NUL"));
    let init = history
        .init(&client, &desk("t", serde_json::Value::Null))
        .await;
    assert!(init.is_err_and(names_it));
    assert!(history.head(&client).await.is_err_and(names_it));
    assert!(history.versions(&client).await.is_err_and(names_it));
    assert!(history.checkout(&client, 0).await.is_err_and(names_it));
    // Nothing was written under any name.
    let fine = PgHistory::<Desk>::new(&guard.schema, "desk");
    assert!(fine.versions(&client).await.unwrap().is_empty());
}

/// A stored value that does not read back (too deep, a number out of range) is
/// `Error::Json` naming the version, and a stored diff that does not apply `Error::Replay`
/// naming it, with statesync's own error (it was a `BadRow` holding only a message; before
/// that, errors naming no version: `Db`, `Model`).
#[tokio::test]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn a_stored_value_that_does_not_read_back_names_its_version() {
    use statesync_postgres::Error;
    let guard = TestSchema::new("hist_unread").await;
    let client = connect(&url()).await.unwrap();
    let history = PgHistory::<Counters>::new(&guard.schema, "counters");
    history.create_table(&client).await.unwrap();
    let start = history.init(&client, &counters(2)).await.unwrap();
    let first = history
        .commit(&client, &start, &bump(start.state(), 0), "a")
        .await
        .unwrap();
    history
        .commit(&client, &first, &bump(first.state(), 1), "b")
        .await
        .unwrap();
    let table = guard.schema.table("statesync_history");
    // Version 2's diff replaced, its chain recomputed so that only its content is wrong.
    let replace = |diff: String| {
        let (client, table) = (&client, &table);
        async move {
            client
                .execute(
                    &format!(
                        "UPDATE {table} AS v SET diff = $1::text::jsonb,
                            chain = encode(sha256(convert_to(p.chain || $1::text::jsonb::text,
                                    'UTF8')), 'hex')
                          FROM {table} AS p WHERE v.version = 2 AND p.version = 1"
                    ),
                    &[&diff],
                )
                .await
                .unwrap();
        }
    };
    let deep = format!("{}1{}", "[".repeat(300), "]".repeat(300));
    let first_diff: String = client
        .query_one(
            &format!("SELECT diff::text FROM {table} WHERE version = 1"),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    for (diff, json) in [
        (deep, true),
        ("1e400".to_owned(), true),
        (first_diff, false),
    ] {
        replace(diff).await;
        let named = |result: Result<(), Error>| match result {
            Err(Error::Json { what, .. }) if json => what.contains("version 2"),
            Err(Error::Replay { what, source }) if !json => {
                what.contains("version 2") && matches!(source, statesync::Error::Stale { .. })
            }
            _ => false,
        };
        assert!(named(history.head(&client).await.map(drop)));
        assert!(named(history.checkout(&client, 2).await.map(drop)));
    }
}

/// Processes that start together and create the same schema and table at once all
/// succeed: `IF NOT EXISTS` alone raced (a unique violation in the catalogue for all but
/// one of eight).
#[tokio::test]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn processes_that_create_one_table_at_once_all_succeed() {
    // The guard drops the schema at the end; the racers create it again.
    let guard = TestSchema::new("hist_race").await;
    let schema = guard.schema.clone();
    connect(&url())
        .await
        .unwrap()
        .batch_execute(&format!("DROP SCHEMA \"{}\"", schema.name()))
        .await
        .unwrap();
    let racers = (0..8).map(|_| {
        let schema = schema.clone();
        tokio::spawn(async move {
            let client = connect(&url()).await?;
            client.batch_execute(&schema.create_sql()).await?;
            let history = PgHistory::<Counters>::new(&schema, "counters");
            history.create_table(&client).await?;
            history.init(&client, &counters(1)).await.map(drop)
        })
    });
    for racer in futures_util::future::join_all(racers).await {
        racer.unwrap().unwrap();
    }
}

/// `commit_merging` with `attempts = 0` commits once rather than give up untried.
#[tokio::test]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn commit_merging_tries_at_least_once() {
    let guard = TestSchema::new("hist_zero").await;
    let client = connect(&url()).await.unwrap();
    let history = PgHistory::<Counters>::new(&guard.schema, "counters");
    history.create_table(&client).await.unwrap();
    let start = history.init(&client, &counters(1)).await.unwrap();
    let next = bump(start.state(), 0);
    let committed = history
        .commit_merging(&client, start, next, "once", &MergeOptions::default(), 0)
        .await
        .unwrap();
    assert_eq!(committed.checkout.version(), 1);
}

/// Floats read back exactly from the text PostgreSQL prints for `jsonb` (every digit
/// written out: 309 for `f64::MAX`). Before, `f64::MAX` was committed and then unreadable
/// ("number out of range"), and 1.2345678901234567e200 read back as another number.
#[tokio::test]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn floats_read_back_exactly_from_jsonb() {
    let guard = TestSchema::new("hist_floats").await;
    let client = connect(&url()).await.unwrap();
    let history = PgHistory::<Gauges>::new(&guard.schema, "gauges");
    history.create_table(&client).await.unwrap();
    let mut at = history.init(&client, &gauge(0.1, None)).await.unwrap();
    for (reading, limit) in [
        (f64::MAX, Some(f64::MIN_POSITIVE)),
        (1.234_567_890_123_456_7e200, Some(-f64::MAX)),
        (5e-324, Some(0.3)),
    ] {
        at = history
            .commit(&client, &at, &gauge(reading, limit), "float")
            .await
            .unwrap();
        let head = history.head(&client).await.unwrap();
        assert_eq!(head.state(), &gauge(reading, limit));
    }
}

/// A whole float from 1e16 up, in a `serde_json::Value`, is printed by `jsonb` as an
/// integer and reads back as one: refused before it is written, as every value a read
/// would not give back. Before, the commit returned `Ok` and every reader held another
/// value than the writer (found by an outside tester).
#[tokio::test]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn a_number_jsonb_prints_otherwise_is_refused_before_it_is_written() {
    use statesync_postgres::Error;
    let guard = TestSchema::new("hist_number").await;
    let client = connect(&url()).await.unwrap();
    let history = PgHistory::<Desk>::new(&guard.schema, "desk");
    history.create_table(&client).await.unwrap();
    let number = |result: Result<(), Error>| matches!(&result, Err(Error::NotJson { reason, .. }) if reason.contains("jsonb prints"));
    assert!(number(
        history
            .init(&client, &desk("t", serde_json::json!(1e16)))
            .await
            .map(drop)
    ));
    let base = history
        .init(
            &client,
            &desk("t", serde_json::json!([1e15, 2.5e-7, "1e16", true])),
        )
        .await
        .unwrap();
    assert_eq!(history.head(&client).await.unwrap(), base);
    for value in [serde_json::json!(1e16), serde_json::json!({ "a": [1e19] })] {
        let refused = history.commit(&client, &base, &desk("t", value), "n").await;
        let Err(CommitError::Other(error)) = refused else {
            panic!("not refused: {refused:?}");
        };
        assert!(number(Err(error)));
    }
    // A float too large for an integer reads back as the same float.
    let fine = history
        .commit(
            &client,
            &base,
            &desk("t", serde_json::json!(1.5e300)),
            "fine",
        )
        .await
        .unwrap();
    assert_eq!(history.head(&client).await.unwrap(), fine);
}

/// The other order: a commit under way (in a transaction still open) when the history is
/// removed. `remove` waits for it and removes its version too; a `DELETE` of one's own
/// left that version behind, without its predecessors, and every writer then failed on it
/// (found by an outside tester).
#[tokio::test]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn removing_a_history_waits_for_the_commit_under_way_and_leaves_no_version() {
    let guard = TestSchema::new("hist_remove").await;
    let mut writer = connect(&url()).await.unwrap();
    let mut admin = connect(&url()).await.unwrap();
    let history = PgHistory::<Counters>::new(&guard.schema, "counters");
    history.create_table(&writer).await.unwrap();
    let start = history.init(&writer, &counters(1)).await.unwrap();
    let one = history
        .commit(&writer, &start, &bump(start.state(), 0), "one")
        .await
        .unwrap();
    let tx = writer.transaction().await.unwrap();
    let two = history
        .commit(&tx, &one, &bump(one.state(), 0), "two")
        .await
        .unwrap();
    assert_eq!(two.version(), 2);
    let removing = {
        let history = history.clone();
        tokio::spawn(async move { history.remove(&mut admin).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!removing.is_finished(), "the removal waits for the commit");
    tx.commit().await.unwrap();
    assert_eq!(removing.await.unwrap().unwrap(), 3);
    assert!(history.versions(&writer).await.unwrap().is_empty());
    // A commit after the removal finds nothing to build on; `init` starts again.
    let late = history
        .commit(&writer, &two, &bump(two.state(), 0), "late")
        .await;
    assert!(
        matches!(late, Err(CommitError::NoSuchVersion(2))),
        "{late:?}"
    );
    let again = history.init(&writer, &counters(1)).await.unwrap();
    assert_eq!(again.version(), 0);
}

/// Writers committing while the history is removed and started again, over and over:
/// every commit either goes through or is refused as the history's (`Stale`,
/// `NoSuchVersion`, `Contended`), never a database error, and no version is ever left
/// without its version 0. A commit locked its base before version 0, and deadlocked with
/// a removal holding version 0 and waiting on that base (found by a review).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn commits_racing_removals_never_deadlock_nor_leave_an_orphan() {
    let guard = TestSchema::new("hist_remove_race").await;
    let setup = connect(&url()).await.unwrap();
    let history = PgHistory::<Counters>::new(&guard.schema, "counters");
    history.create_table(&setup).await.unwrap();
    history.init(&setup, &counters(3)).await.unwrap();
    let writers: Vec<_> = (0..3)
        .map(|task| {
            let history = history.clone();
            tokio::spawn(async move {
                let client = connect(&url()).await.unwrap();
                for _ in 0..40 {
                    let Ok(base) = history.head(&client).await else {
                        continue;
                    };
                    let next = bump(base.state(), task);
                    let options = MergeOptions::default();
                    match history
                        .commit_merging(&client, base, next, "bump", &options, 3)
                        .await
                    {
                        Ok(_)
                        | Err(
                            CommitError::NoSuchVersion(_)
                            | CommitError::Contended(_)
                            | CommitError::Stale { .. },
                        ) => {}
                        Err(other) => panic!("{other}"),
                    }
                }
            })
        })
        .collect();
    let mut remover = connect(&url()).await.unwrap();
    for _ in 0..15 {
        history.remove(&mut remover).await.unwrap();
        history.init(&remover, &counters(3)).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let versions = history.versions(&setup).await.unwrap();
    assert_eq!(versions.first().map(|(version, _)| *version), Some(0));
    let numbers: Vec<i64> = versions.iter().map(|(version, _)| *version).collect();
    let expected: Vec<i64> = (0..).take(numbers.len()).collect();
    assert_eq!(numbers, expected, "no gap, no orphan");
}

/// `commit_merging` of nothing new on a removed history is `NoSuchVersion`, as on its
/// other paths (it was a `BadRow` from reading the head of a history with no version).
#[tokio::test]
#[cfg_attr(not(has_database), ignore = "needs DATABASE_URL (a PostgreSQL server)")]
async fn merging_nothing_into_a_removed_history_is_no_such_version() {
    let guard = TestSchema::new("hist_removed_noop").await;
    let mut client = connect(&url()).await.unwrap();
    let history = PgHistory::<Counters>::new(&guard.schema, "counters");
    history.create_table(&client).await.unwrap();
    let base = history.init(&client, &counters(1)).await.unwrap();
    history.remove(&mut client).await.unwrap();
    let same = base.state().clone();
    let merged = history
        .commit_merging(&client, base, same, "noop", &MergeOptions::default(), 3)
        .await;
    assert!(
        matches!(merged, Err(CommitError::NoSuchVersion(0))),
        "{merged:?}"
    );
}
