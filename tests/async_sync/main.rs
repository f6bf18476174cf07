//! The async, concurrent sync engine against a fake remote system with random delays,
//! failures and order checks; compared with the blocking engine on random diffs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod delete_panic;
mod fake;
mod fatal;
mod finished;
mod hash_order;
mod plans;
mod retry_after;
mod wide;

/// The README's async example, compiled and run as the README writes it (the README shows
/// it `ignore`d: statesync's doctests build without the `async` feature, and the hidden
/// lines that switched it on did not compile when copied: a newcomer).
mod readme_example {
    include!("readme_example.rs");

    #[test]
    fn runs() {
        main().unwrap();
    }

    #[test]
    fn is_the_readmes() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        let example = include_str!("readme_example.rs");
        assert!(
            readme.contains(&format!("```rust,ignore\n{example}```\n")),
            "the README's async example is not tests/async_sync/readme_example.rs"
        );
    }
}

use std::sync::Arc;
use std::time::Duration;

use fake::{Blocking, Fake};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use statesync::sync::{
    AsyncSyncModel, AsyncSyncOptions, DeleteLimit, InMemory, ModelFlags, RetryPolicy, SkipReason,
    Status, SyncFlags, SyncModel, SyncOptions, SyncOrder, SyncReport,
};
use statesync::{DiffModel, Store};
use statesync_suite::fixtures;
use statesync_suite::inventory::{Device, Interface, Inventory, Site, SiteKey};

/// A random inventory: up to 4 sites of up to 3 devices of up to 3 interfaces, with
/// attributes drawn from small sets (so two draws share elements and differ in some).
fn random_inventory(rng: &mut ChaCha8Rng) -> Inventory {
    let mut sites = Store::new();
    for s in 0..4 {
        if !rng.random_bool(0.7) {
            continue;
        }
        let mut site = fixtures::site(&format!("s{s}"), 0, 0);
        site.region = ["emea", "apac"][rng.random_range(0..2)].into();
        for d in 0..3 {
            if !rng.random_bool(0.7) {
                continue;
            }
            let mut device = fixtures::device(&site.name, &format!("s{s}-d{d}"), 0);
            device.role = ["leaf", "spine"][rng.random_range(0..2)].into();
            for p in 0..3 {
                if rng.random_bool(0.7) {
                    let mut interface = fixtures::interface(&device.name, &format!("et-{p}"));
                    interface.mtu = [1500, 9000][rng.random_range(0..2)];
                    device.interfaces.insert(interface).unwrap();
                }
            }
            site.devices.insert(device).unwrap();
        }
        sites.insert(site).unwrap();
    }
    Inventory { sites }
}

/// A larger inventory: 4 sites of 5 devices of 4 interfaces (104 elements).
fn big_inventory() -> Inventory {
    let mut sites = Store::new();
    for s in 0..4 {
        sites
            .insert(fixtures::site(&format!("s{s}"), 5, 4))
            .unwrap();
    }
    Inventory { sites }
}

fn options(max_in_flight: usize) -> AsyncSyncOptions<'static> {
    AsyncSyncOptions::default()
        .max_in_flight(max_in_flight)
        .sleep(|duration| Box::pin(tokio::time::sleep(duration)))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap()
}

/// The outcomes without the attempts (the blocking engine makes one per hook), sorted: the
/// async engine records them in completion order.
fn lines(report: &SyncReport) -> Vec<String> {
    let mut lines: Vec<String> = report.outcomes.iter().map(ToString::to_string).collect();
    lines.sort();
    lines
}

#[test]
fn parents_first_children_first_and_concurrent() {
    runtime().block_on(async {
        let source = big_inventory();
        let mut target = Inventory::default();
        let fake = Fake::new(1);
        let report = target
            .sync_from_async(&source, &fake, options(8))
            .await
            .unwrap();
        assert!(report.is_success(), "{report}");
        assert_eq!(report.counts.created, 104);
        assert_eq!(target, source);
        let (violations, max) = {
            let state = fake.lock();
            (state.violations.clone(), state.max_in_flight)
        };
        assert!(violations.is_empty(), "{violations:?}");
        assert!(max > 1 && max <= 8, "max in flight {max}");
        assert!(fake.differences(&target).is_empty());

        // Everything deleted: children before parents, concurrently.
        let empty = Inventory::default();
        fake.lock().max_in_flight = 0;
        let report = target
            .sync_from_async(&empty, &fake, options(5))
            .await
            .unwrap();
        assert!(report.is_success(), "{report}");
        assert_eq!(report.counts.deleted, 104);
        let state = fake.lock();
        assert!(state.violations.is_empty(), "{:?}", state.violations);
        assert!(state.max_in_flight > 1 && state.max_in_flight <= 5);
        assert!(state.system.is_empty());
        assert_eq!(target, empty);
    });
}

#[test]
fn one_in_flight_is_sequential() {
    runtime().block_on(async {
        let source = fixtures::inventory();
        let mut target = Inventory::default();
        let fake = Fake::new(2);
        let report = target
            .sync_from_async(&source, &fake, options(1))
            .await
            .unwrap();
        assert!(report.is_success());
        assert_eq!(fake.lock().max_in_flight, 1);
    });
}

/// Random diffs, random permanent failures, CONTINUE_ON_FAILURE: the async report is the
/// blocking engine's (the same outcomes, in completion order), memory too, and the system agrees
/// with memory; a sync without failures then converges.
#[test]
fn same_report_as_the_blocking_engine_on_random_diffs() {
    for seed in 0..50u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let before = random_inventory(&mut rng);
        let source = random_inventory(&mut rng);
        let mut fail = std::collections::BTreeSet::new();
        for element in fake::all_names(&before)
            .into_iter()
            .chain(fake::all_names(&source))
        {
            if rng.random_bool(0.15) {
                fail.insert(element);
            }
        }
        let flags = SyncFlags::CONTINUE_ON_FAILURE;
        // By seed: sites deleted before their devices, collection by collection, unchanged
        // elements listed, an ignored site and interfaces never created, devices deleted
        // without their interfaces' own deletes.
        let variant = seed % 6;
        // Variants where the system removes children with their parent (memory does not
        // keep them either, the fake does).
        let cascades = variant == 1 || variant == 5;
        let sync_options = || {
            let options = SyncOptions::new(flags);
            match variant {
                1 => options.model_flags::<Site>(ModelFlags::PARENT_FIRST_DELETION),
                2 => options.order(SyncOrder::PerCollection),
                3 => SyncOptions::new(flags | SyncFlags::LOG_UNCHANGED_RECORDS),
                4 => options
                    .instance_flags::<Site>(SiteKey { name: "s1".into() }, ModelFlags::IGNORE)
                    .model_flags::<Interface>(ModelFlags::SKIP_UNMATCHED_SRC),
                5 => options.model_flags::<Device>(ModelFlags::SKIP_CHILDREN_ON_DELETE),
                _ => options,
            }
        };

        let blocking_fake = Fake::holding(seed, &before);
        let mut blocking_fake = blocking_fake;
        blocking_fake.fail = fail.clone();
        blocking_fake.strict_deletes = !cascades;
        let mut blocking_target = before.clone();
        let blocking = blocking_target
            .sync_from(&source, &mut Blocking(&blocking_fake), sync_options())
            .unwrap();

        let mut async_fake = Fake::holding(seed, &before);
        async_fake.fail = fail.clone();
        async_fake.transient = 0.2;
        async_fake.strict_deletes = !cascades;
        let mut target = before.clone();
        let report = runtime().block_on(async {
            let chosen = AsyncSyncOptions::new(sync_options())
                .max_in_flight(1 + (seed as usize % 7))
                .retry(
                    RetryPolicy::attempts(12)
                        .backoff(Duration::from_millis(1), Duration::from_millis(20)),
                )
                .sleep(|duration| Box::pin(tokio::time::sleep(duration)));
            target
                .sync_from_async(&source, &async_fake, chosen)
                .await
                .unwrap()
        });
        assert_eq!(report.counts, blocking.counts, "seed {seed}");
        assert_eq!(lines(&report), lines(&blocking), "seed {seed}");
        assert_eq!(target, blocking_target, "seed {seed}");
        assert!(async_fake.lock().violations.is_empty(), "seed {seed}");
        assert!(
            variant == 2 || async_fake.deletes_came_first(),
            "seed {seed}"
        );
        assert!(blocking_fake.lock().violations.is_empty(), "seed {seed}");
        // Both systems end alike; memory matches them, except that deleting a parent first
        // drops from memory the children whose own delete then failed (as documented).
        let held = |fake: &Fake| fake.lock().system.keys().cloned().collect::<Vec<_>>();
        assert_eq!(held(&async_fake), held(&blocking_fake), "seed {seed}");
        if !cascades {
            assert_eq!(
                async_fake.differences(&target),
                Vec::<String>::new(),
                "seed {seed}"
            );
        }
        // Every call the system saw is an attempt of one outcome (retries included).
        let attempts: u32 = report.outcomes.iter().map(|o| o.attempts).sum();
        assert_eq!(attempts as usize, async_fake.lock().calls, "seed {seed}");

        // Re-run without failures: converges.
        async_fake.fail.clear();
        async_fake.transient = 0.0;
        let again = runtime()
            .block_on(target.sync_from_async(&source, &async_fake, options(4)))
            .unwrap();
        assert!(again.is_success(), "seed {seed}: {again}");
        assert_eq!(target, source, "seed {seed}");
        if !cascades {
            assert!(async_fake.differences(&target).is_empty(), "seed {seed}");
        }
    }
}

/// A store's diff synced with `Store::sync_diff_async`: the blocking `Store::sync_diff`'s
/// outcomes, counts and memory for the same failures, on random diffs.
#[test]
fn store_sync_diff_async_is_store_sync_diff() {
    for seed in 0..20u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x570e);
        let before = random_inventory(&mut rng);
        let source = random_inventory(&mut rng);
        let diff = before.sites.diff(&source.sites).unwrap();
        let mut fail = std::collections::BTreeSet::new();
        for element in fake::all_names(&before)
            .into_iter()
            .chain(fake::all_names(&source))
        {
            if rng.random_bool(0.15) {
                fail.insert(element);
            }
        }
        let options = || SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE);

        let mut blocking_fake = Fake::holding(seed, &before);
        blocking_fake.fail = fail.clone();
        let mut blocking_sites = before.sites.clone();
        let blocking = blocking_sites.sync_diff(&diff, &mut Blocking(&blocking_fake), options());

        let mut async_fake = Fake::holding(seed, &before);
        async_fake.fail = fail;
        let mut sites = before.sites.clone();
        let chosen = AsyncSyncOptions::new(options())
            .max_in_flight(1 + (seed as usize % 7))
            .sleep(|duration| Box::pin(tokio::time::sleep(duration)));
        let report = runtime().block_on(sites.sync_diff_async(&diff, &async_fake, chosen));

        assert_eq!(report.counts, blocking.counts, "seed {seed}");
        assert_eq!(lines(&report), lines(&blocking), "seed {seed}");
        assert_eq!(sites, blocking_sites, "seed {seed}");
        assert!(async_fake.lock().violations.is_empty(), "seed {seed}");
        let after = Inventory { sites };
        assert_eq!(
            async_fake.differences(&after),
            Vec::<String>::new(),
            "seed {seed}"
        );
    }
}

/// Progress is reported as each call ends: the count of elements done rises one call at a
/// time to the total. Before it, `sync_from_async` reports the diff's stage as `sync_from`
/// does (it reported none: found by an outside review).
#[test]
fn progress_as_each_call_ends() {
    runtime().block_on(async {
        let source = big_inventory();
        let mut target = Inventory::default();
        let fake = Fake::new(9);
        let seen = std::sync::Mutex::new(Vec::new());
        let diffed = std::sync::Mutex::new(Vec::new());
        let sync = SyncOptions::default().on_progress(|progress| {
            let done_total = (progress.done, progress.total);
            match progress.stage {
                "diff" => diffed.lock().unwrap().push(done_total),
                stage => {
                    assert_eq!(stage, "sync");
                    assert!(!diffed.lock().unwrap().is_empty(), "the diff comes first");
                    seen.lock().unwrap().push(done_total);
                }
            }
        });
        let options = AsyncSyncOptions::new(sync)
            .max_in_flight(8)
            .sleep(|duration| Box::pin(tokio::time::sleep(duration)));
        let report = target
            .sync_from_async(&source, &fake, options)
            .await
            .unwrap();
        assert!(report.is_success(), "{report}");
        let seen = seen.into_inner().unwrap();
        assert!(seen.len() >= 104, "{} progress calls", seen.len());
        assert!(seen.windows(2).all(|pair| pair[0].0 <= pair[1].0));
        assert_eq!(seen.last(), Some(&(104, 104)));
        // The source's elements, the root included.
        let diffed = diffed.into_inner().unwrap();
        assert_eq!(diffed.first(), Some(&(0, 105)));
        assert_eq!(diffed.last(), Some(&(105, 105)));
    });
}

/// With `LOG_UNCHANGED_RECORDS` the unchanged elements are outcomes too, and in the total
/// from the first progress call: the total stays put in both engines (the blocking engine
/// reported 1,024 of 1,024 first; the async engine 1 of 1, then 3 of 3, as they found the
/// unchanged ones).
#[test]
fn progress_counts_logged_unchanged_records_from_the_start() {
    // Over 1,024 elements, so that the blocking engine reports before its end too.
    let mut sites = Store::new();
    for s in 0..4 {
        sites
            .insert(fixtures::site(&format!("s{s}"), 20, 15))
            .unwrap();
    }
    let source = Inventory { sites };
    let mut target = source.clone();
    let first = target.sites.iter().next().map(DiffModel::key).unwrap();
    drop(target.sites.remove(&first));
    target.sites.insert(fixtures::site("gone", 1, 1)).unwrap();
    fn progress_of(calls: &std::sync::Mutex<Vec<(usize, usize)>>) -> SyncOptions<'_> {
        SyncOptions::new(SyncFlags::LOG_UNCHANGED_RECORDS).on_progress(move |progress| {
            if progress.stage == "sync" {
                calls.lock().unwrap().push((progress.done, progress.total));
            }
        })
    }
    let check = |calls: Vec<(usize, usize)>, report: &SyncReport| {
        let outcomes = report.outcomes.len();
        assert!(outcomes > report.counts.changes(), "{report}");
        assert!(!calls.is_empty());
        assert!(
            calls.iter().all(|&(_, total)| total == outcomes),
            "{calls:?} of {outcomes} outcomes"
        );
        assert_eq!(calls.last(), Some(&(outcomes, outcomes)));
    };
    let blocking_calls = std::sync::Mutex::new(Vec::new());
    let report = target
        .clone()
        .sync_from(&source, &mut InMemory, progress_of(&blocking_calls))
        .unwrap();
    check(blocking_calls.into_inner().unwrap(), &report);
    runtime().block_on(async {
        let calls = std::sync::Mutex::new(Vec::new());
        let options = AsyncSyncOptions::new(progress_of(&calls)).max_in_flight(4);
        let report = target
            .clone()
            .sync_from_async(&source, &InMemory, options)
            .await
            .unwrap();
        check(calls.into_inner().unwrap(), &report);
    });
}

/// `SyncOptions::on_outcome` gets every outcome of an async sync, and the report keeps
/// none, only the counts.
#[test]
fn outcomes_handed_over_instead_of_kept() {
    runtime().block_on(async {
        let source = big_inventory();
        let mut target = Inventory::default();
        let fake = Fake::new(8);
        let seen = std::sync::Mutex::new(Vec::new());
        let sync = SyncOptions::default().on_outcome(|outcome| {
            seen.lock().unwrap().push(outcome.to_string());
        });
        let options = AsyncSyncOptions::new(sync)
            .max_in_flight(8)
            .sleep(|duration| Box::pin(tokio::time::sleep(duration)));
        let report = target
            .sync_from_async(&source, &fake, options)
            .await
            .unwrap();
        assert!(report.is_success(), "{report}");
        assert!(report.outcomes.is_empty());
        assert_eq!(report.counts.created, 104);
        let seen = seen.into_inner().unwrap();
        assert_eq!(seen.len(), 104);
        assert!(seen.iter().all(|line| line.ends_with(": applied")));
        assert_eq!(target, source);
    });
}

/// A keyed root replaced (its key changed): the old root and its subtree are deleted, then
/// the new one created, in both orders, as the blocking engine does.
#[test]
fn root_replaced() {
    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Cluster {
        #[statesync(id)]
        name: String,
        #[statesync(children)]
        nodes: Store<Node>,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Node {
        #[statesync(id)]
        name: String,
        size: u32,
    }

    let cluster = |name: &str, nodes: &[&str]| Cluster {
        name: name.into(),
        nodes: Store::try_from_iter(nodes.iter().map(|node| Node {
            name: (*node).into(),
            size: 1,
        }))
        .unwrap(),
    };
    let before = cluster("a", &["n1", "n2"]);
    let source = cluster("b", &["n1", "n3", "n4"]);
    for order in [SyncOrder::DeletesFirst, SyncOrder::PerCollection] {
        let mut blocking_target = before.clone();
        let blocking = blocking_target
            .sync_from(&source, &mut InMemory, SyncOptions::default().order(order))
            .unwrap();
        let mut target = before.clone();
        let options = AsyncSyncOptions::new(SyncOptions::default().order(order)).max_in_flight(4);
        let report = runtime()
            .block_on(target.sync_from_async(&source, &InMemory, options))
            .unwrap();
        assert!(report.is_success(), "{order:?}: {report}");
        assert_eq!(lines(&report), lines(&blocking), "{order:?}");
        assert_eq!((report.counts.deleted, report.counts.created), (3, 4));
        assert_eq!(target, source, "{order:?}");
        assert_eq!(blocking_target, source, "{order:?}");
    }
}

/// Without CONTINUE_ON_FAILURE the first failure stops new work; calls in flight finish
/// and are recorded, calls never started are skipped (stopped); memory matches the
/// system; the next sync converges.
#[test]
fn first_failure_stops_new_work() {
    runtime().block_on(async {
        let source = big_inventory();
        let mut target = Inventory::default();
        let mut fake = Fake::new(3);
        fake.fail.insert("device[site=s0, name=s0-d2]".into());
        let report = target
            .sync_from_async(&source, &fake, options(6))
            .await
            .unwrap();
        assert!(report.stopped);
        assert_eq!(report.counts.failed, 1, "{report}");
        let stopped = report
            .outcomes
            .iter()
            .filter(|o| o.status == Status::Skipped(SkipReason::Stopped))
            .count();
        assert!(stopped > 0);
        assert!(report.counts.created < 104);
        assert!(fake.differences(&target).is_empty());
        assert!(fake.lock().violations.is_empty());

        fake.fail.clear();
        let again = target
            .sync_from_async(&source, &fake, options(6))
            .await
            .unwrap();
        assert!(again.is_success(), "{again}");
        assert_eq!(target, source);
        assert!(fake.differences(&target).is_empty());
    });
}

/// Transient errors are retried up to the limit, and the attempts reported.
#[test]
fn transient_errors_are_retried_then_reported() {
    runtime().block_on(async {
        let source = fixtures::inventory();
        let mut fake = Fake::new(4);
        fake.transient = 1.0; // every call times out
        let mut target = Inventory::default();
        let retrying = options(4).retry(RetryPolicy::attempts(3));
        let report = target
            .sync_from_async(&source, &fake, retrying)
            .await
            .unwrap();
        let failure = report.failures().next().expect("a failure");
        assert_eq!(failure.attempts, 3);
        // The error is the hook's own, not the Transient wrapper.
        assert!(failure.to_string().contains("timeout on"), "{failure}");
        assert_eq!(target, Inventory::default());
        assert!(fake.differences(&target).is_empty());

        fake.transient = 0.0;
        let report = target
            .sync_from_async(&source, &fake, options(4).retry(RetryPolicy::attempts(3)))
            .await
            .unwrap();
        assert!(report.is_success());
        assert!(report.outcomes.iter().all(|o| o.attempts <= 1));
    });
}

/// The rate limit spaces calls out (in the runtime's paused, virtual time).
#[test]
fn rate_limit_paces_calls() {
    runtime().block_on(async {
        let source = fixtures::inventory(); // 18 elements
        let mut target = Inventory::default();
        let mut fake = Fake::new(5);
        fake.max_delay = Duration::ZERO;
        let started = tokio::time::Instant::now();
        let report = target
            .sync_from_async(&source, &fake, options(16).rate_limit(100.0))
            .await
            .unwrap();
        assert!(report.is_success());
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(170), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(400), "{elapsed:?}");
    });
}

/// Without a timer in the options, the rate limit still paces calls, in real time, on
/// `futures-timer`'s thread. Before, it paced nothing: 18 calls at once.
#[test]
fn rate_limit_paces_calls_without_a_timer_in_the_options() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        let source = fixtures::inventory(); // 18 elements
        let mut target = Inventory::default();
        let mut fake = Fake::new(5);
        fake.max_delay = Duration::ZERO;
        let started = std::time::Instant::now();
        let options = AsyncSyncOptions::default()
            .max_in_flight(16)
            .rate_limit(200.0);
        let report = target
            .sync_from_async(&source, &fake, options)
            .await
            .unwrap();
        assert!(report.is_success());
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(80), "{elapsed:?}");
    });
}

/// The sync future dropped at a random point: memory equals the system for every
/// element whose hook completed, and the next sync converges.
#[test]
fn dropped_sync_leaves_memory_as_completed_hooks_left_the_system() {
    for seed in 0..50u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let before = random_inventory(&mut rng);
        let source = random_inventory(&mut rng);
        let mut fake = Fake::holding(seed, &before);
        fake.transient = 0.1;
        let mut target = before.clone();
        let deadline = Duration::from_micros(rng.random_range(0..8_000));
        runtime().block_on(async {
            let chosen = options(1 + (seed as usize % 5)).retry(RetryPolicy::attempts(3));
            let sync = target.sync_from_async(&source, &fake, chosen);
            let _ = tokio::time::timeout(deadline, sync).await;
        });
        assert_eq!(
            fake.differences(&target),
            Vec::<String>::new(),
            "seed {seed}"
        );
        assert!(fake.lock().violations.is_empty(), "seed {seed}");

        fake.transient = 0.0;
        let again = runtime()
            .block_on(target.sync_from_async(&source, &fake, options(4)))
            .unwrap();
        assert!(again.is_success(), "seed {seed}: {again}");
        assert_eq!(target, source, "seed {seed}");
        assert!(fake.differences(&target).is_empty(), "seed {seed}");
    }
}

/// The sync future is `Send`: it runs in a task of a multi-threaded runtime.
#[test]
fn runs_in_a_spawned_task() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let source = fixtures::inventory();
    let fake = Arc::new(Fake::new(6));
    let task = {
        let fake = Arc::clone(&fake);
        let source = source.clone();
        runtime.spawn(async move {
            let mut target = Inventory::default();
            let report = target
                .sync_from_async(&source, &*fake, options(4))
                .await
                .unwrap();
            (target, report)
        })
    };
    let (target, report) = runtime.block_on(task).unwrap();
    assert!(report.is_success());
    assert_eq!(target, source);
}

/// Flags and the delete limit mean what they mean for the blocking engine.
#[test]
fn flags_and_delete_limit() {
    runtime().block_on(async {
        let before = fixtures::inventory();
        let mut target = before.clone();
        let fake = Fake::holding(7, &before);
        let empty = Inventory::default();
        let limited =
            AsyncSyncOptions::new(SyncOptions::default().delete_limit(DeleteLimit::percent(50)));
        let report = target
            .sync_from_async(&empty, &fake, limited)
            .await
            .unwrap();
        assert!(report.refused.is_some());
        assert_eq!(target, before);
        assert_eq!(fake.lock().calls, 0);

        let skip = AsyncSyncOptions::new(SyncOptions::new(SyncFlags::SKIP_UNMATCHED_DST));
        let report = target.sync_from_async(&empty, &fake, skip).await.unwrap();
        assert_eq!(report.counts.deleted, 0);
        assert_eq!(report.counts.skipped, 18);
        assert_eq!(target, before);

        // InMemory has async hooks too.
        let report = target
            .sync_from_async(&empty, &InMemory, AsyncSyncOptions::default())
            .await
            .unwrap();
        assert_eq!(report.counts.deleted, 18);
        assert_eq!(target, empty);
        assert!(target.diff(&empty).unwrap().is_empty());
    });
}

/// Without CONTINUE_ON_FAILURE on random diffs with random failures: memory matches the
/// system, every call is an attempt of the report, and the next sync converges.
#[test]
fn stopped_syncs_on_random_diffs_leave_memory_as_the_system() {
    for seed in 0..50u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
        let before = random_inventory(&mut rng);
        let source = random_inventory(&mut rng);
        let mut fake = Fake::holding(seed, &before);
        for element in fake::all_names(&before)
            .into_iter()
            .chain(fake::all_names(&source))
        {
            if rng.random_bool(0.1) {
                fake.fail.insert(element);
            }
        }
        fake.transient = 0.1;
        let mut target = before.clone();
        let report = runtime()
            .block_on(target.sync_from_async(
                &source,
                &fake,
                options(1 + (seed as usize % 6)).retry(RetryPolicy::attempts(2)),
            ))
            .unwrap();
        assert_eq!(report.stopped, report.counts.failed > 0, "seed {seed}");
        let attempts: u32 = report.outcomes.iter().map(|o| o.attempts).sum();
        assert_eq!(attempts as usize, fake.lock().calls, "seed {seed}");
        assert_eq!(
            fake.differences(&target),
            Vec::<String>::new(),
            "seed {seed}"
        );
        assert!(fake.lock().violations.is_empty(), "seed {seed}");

        fake.fail.clear();
        fake.transient = 0.0;
        let again = runtime()
            .block_on(target.sync_from_async(&source, &fake, options(3)))
            .unwrap();
        assert!(again.is_success(), "seed {seed}: {again}");
        assert_eq!(target, source, "seed {seed}");
    }
}

/// The engine's own cost, hooks aside: the async engine at one call at a time against the
/// blocking engine, in memory, on 1 site of 100 devices of 100 interfaces created, and on 1
/// site of 50,000 devices created and deleted. Prints the times (run with `--release
/// --ignored --nocapture`).
#[test]
#[ignore = "a measurement, run by hand in release mode"]
fn overhead_against_the_blocking_engine() {
    let mut source = Inventory::default();
    source
        .sites
        .insert(fixtures::site("big", 100, 100))
        .unwrap();
    let time = |f: &mut dyn FnMut()| {
        let started = std::time::Instant::now();
        f();
        started.elapsed()
    };
    let mut target = Inventory::default();
    let blocking = time(&mut || {
        let report = target
            .sync_from(&source, &mut InMemory, SyncOptions::default())
            .unwrap();
        assert_eq!(report.counts.created, 10_101);
    });
    let runtime = runtime();
    let concurrently = |source: &Inventory, max_in_flight: usize| {
        let mut target = Inventory::default();
        time(&mut || {
            let report = runtime
                .block_on(target.sync_from_async(source, &InMemory, options(max_in_flight)))
                .unwrap();
            let creates = Inventory::default().diff(source).unwrap().summary().create;
            assert_eq!(report.counts.created, creates);
        })
    };
    let (one, many) = (concurrently(&source, 1), concurrently(&source, 64));
    println!(
        "10,101 creates in memory: blocking {blocking:?}, async 1 in flight {one:?}, 64 in flight {many:?}"
    );
    // A created element with many children: the async engine reads them ahead, rather
    // than from the start of the collection after each call.
    let mut source = Inventory::default();
    source
        .sites
        .insert(fixtures::site("wide", 50_000, 0))
        .unwrap();
    let mut target = Inventory::default();
    let blocking = time(&mut || {
        let report = target
            .sync_from(&source, &mut InMemory, SyncOptions::default())
            .unwrap();
        assert_eq!(report.counts.created, 50_001);
    });
    let wide = concurrently(&source, 64);
    println!(
        "1 site of 50,000 devices created in memory: blocking {blocking:?}, async 64 in flight {wide:?}"
    );
    // Half its devices deleted by the diff of their collection, then the site deleted:
    // what leaves a `Store` leaves it together, not one shift each.
    let mut half = source.clone();
    half.sites
        .for_each_mut(|site| site.devices.retain(|device| device.name.len() % 2 == 0));
    let deleted = target.diff(&half).unwrap().summary().delete;
    let mut halving = target.clone();
    let blocking = time(&mut || {
        let report = halving
            .sync_from(&half, &mut InMemory, SyncOptions::default())
            .unwrap();
        assert_eq!(report.counts.deleted, deleted);
    });
    let mut halving = target.clone();
    let wide = time(&mut || {
        let report = runtime
            .block_on(halving.sync_from_async(&half, &InMemory, options(64)))
            .unwrap();
        assert_eq!(report.counts.deleted, deleted);
    });
    assert_eq!(halving, half);
    println!(
        "{deleted} of its devices deleted in memory: blocking {blocking:?}, async 64 in flight {wide:?}"
    );
    let empty = Inventory::default();
    let mut deleting = target.clone();
    let blocking = time(&mut || {
        let report = deleting
            .sync_from(&empty, &mut InMemory, SyncOptions::default())
            .unwrap();
        assert_eq!(report.counts.deleted, 50_001);
    });
    let mut deleting = target;
    let wide = time(&mut || {
        let report = runtime
            .block_on(deleting.sync_from_async(&empty, &InMemory, options(64)))
            .unwrap();
        assert_eq!(report.counts.deleted, 50_001);
    });
    println!(
        "1 site of 50,000 devices deleted in memory: blocking {blocking:?}, async 64 in flight {wide:?}"
    );
}
