//! Plans built by hand or made against an older state, carried by both engines: each
//! change a plan names gets exactly one outcome, a key named twice is carried once, and
//! memory ends as the system does.

use std::sync::Mutex;

use statesync::sync::{
    AsyncSyncModel, AsyncSyncOptions, SkipReason, Status, SyncFlags, SyncModel, SyncOptions,
    SyncReport,
};
use statesync::{Action, Change, Diff, DiffModel, ElementDiff, ModelUpdate};
use statesync_suite::fixtures;
use statesync_suite::inventory::{
    Inventory, InventoryChildDiffs, Site, SiteChanges, SiteChildDiffs,
};

use super::fake::{Blocking, Fake};
use super::runtime;

#[derive(Clone, Copy, Debug)]
enum Engine {
    Blocking,
    Async,
}

const ENGINES: [Engine; 2] = [Engine::Blocking, Engine::Async];

/// Carries `plan` into `target` (held by `fake`) with `CONTINUE_ON_FAILURE`; the report and
/// the last progress the sync reported (done, total).
fn carry(
    engine: Engine,
    target: &mut Inventory,
    plan: &Diff<Inventory>,
    fake: &Fake,
) -> (SyncReport, Option<(usize, usize)>) {
    let last = Mutex::new(None);
    let sync = SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE).on_progress(|progress| {
        if progress.stage == "sync" {
            *last.lock().unwrap() = Some((progress.done, progress.total));
        }
    });
    let report = match engine {
        Engine::Blocking => target.sync_diff(plan, &mut Blocking(fake), sync),
        Engine::Async => {
            let options = AsyncSyncOptions::new(sync)
                .max_in_flight(4)
                .sleep(|duration| Box::pin(tokio::time::sleep(duration)));
            runtime().block_on(target.sync_diff_async(plan, fake, options))
        }
    };
    let last = last.into_inner().unwrap();
    (report, last)
}

/// The root update that carries `sites` (a plan of the inventory's sites).
fn root_plan(sites: Diff<Site>) -> Diff<Inventory> {
    let update = ElementDiff {
        key: Inventory::default().key(),
        action: Action::Update(ModelUpdate {
            fields: Default::default(),
            children: InventoryChildDiffs {
                sites,
                ..Default::default()
            },
        }),
    };
    Diff::from_elements(vec![update], 0).unwrap()
}

/// What the report counts: every outcome recorded.
fn recorded(report: &SyncReport) -> usize {
    let counts = &report.counts;
    counts.created + counts.updated + counts.deleted + counts.failed + counts.skipped
}

fn region_update(site: &str, old: &str, new: &str) -> ElementDiff<Site> {
    let fields = SiteChanges {
        region: Some(Change {
            old: old.into(),
            new: new.into(),
        }),
    };
    ElementDiff {
        key: fixtures::site(site, 0, 0).key(),
        action: Action::Update(ModelUpdate {
            fields,
            children: Default::default(),
        }),
    }
}

/// A plan naming one site twice (two updates, two creates) is carried once per key by
/// both engines: the repeat is refused before any hook (`DuplicateKey`, its subtree
/// skipped), memory holds what the system got, and the counts add up to the plan's.
#[test]
fn a_key_named_twice_is_carried_once() {
    for engine in ENGINES {
        let mut before = Inventory::default();
        before.sites.insert(fixtures::site("s0", 0, 0)).unwrap();
        let created = || ElementDiff {
            key: fixtures::site("s9", 1, 0).key(),
            action: Action::Create(fixtures::site("s9", 1, 0)),
        };
        let sites = Diff::from_elements(
            vec![
                region_update("s0", "emea", "apac"),
                region_update("s0", "emea", "amer"),
                created(),
                created(),
            ],
            0,
        )
        .unwrap();
        let plan = root_plan(sites);
        let fake = Fake::holding(1, &before);
        let mut target = before.clone();
        let (report, _) = carry(engine, &mut target, &plan, &fake);
        // s0 updated once, s9 and its device created once.
        assert_eq!(fake.lock().calls, 3, "{engine:?}: {report}");
        assert_eq!(report.counts.updated, 1, "{engine:?}: {report}");
        assert_eq!(report.counts.created, 2, "{engine:?}: {report}");
        assert_eq!(report.counts.failed, 2, "{engine:?}: {report}");
        assert_eq!(report.counts.skipped, 1, "{engine:?}: {report}");
        let repeats = report
            .outcomes
            .iter()
            .filter(|outcome| outcome.to_string().contains("appears more than once"))
            .count();
        assert_eq!(repeats, 2, "{engine:?}: {report}");
        assert_eq!(recorded(&report), plan.summary().changes(), "{engine:?}");
        assert_eq!(
            fake.differences(&target),
            Vec::<String>::new(),
            "{engine:?}"
        );
        assert!(fake.lock().violations.is_empty(), "{engine:?}");
        let s0 = target.sites.get(&fixtures::site("s0", 0, 0).key()).unwrap();
        assert_eq!(s0.region, "apac", "{engine:?}");
    }
}

/// A store holding a model set aside after a rename onto a key another holds: `apply`
/// refuses a diff of it (`SetAside`), and so does each engine, element by element
/// before any hook. `sync_diff` carried such a plan through the hooks and reported it
/// applied, leaving memory and the system apart.
#[test]
fn a_store_with_a_model_set_aside_is_refused_before_any_hook() {
    for engine in ENGINES {
        let mut before = Inventory::default();
        before.sites.insert(fixtures::site("s0", 0, 0)).unwrap();
        before.sites.insert(fixtures::site("s1", 0, 0)).unwrap();
        let plan =
            root_plan(Diff::from_elements(vec![region_update("s0", "emea", "apac")], 0).unwrap());
        let fake = Fake::holding(1, &before);
        let mut target = before.clone();
        // Renamed onto s0's key: s1 is set aside until taken back.
        target
            .sites
            .get_mut(&fixtures::site("s1", 0, 0).key())
            .unwrap()
            .name = "s0".into();
        assert_eq!(target.sites.collisions().len(), 1);
        let untouched = target.clone();
        assert!(matches!(
            target.clone().apply(&plan),
            Err(statesync::Error::SetAside { .. })
        ));
        let (report, _) = carry(engine, &mut target, &plan, &fake);
        assert_eq!(fake.lock().calls, 0, "{engine:?}: {report}");
        assert_eq!(report.counts.failed, 1, "{engine:?}: {report}");
        assert_eq!(report.counts.updated, 0, "{engine:?}: {report}");
        let Status::Failed(failure) = &report.outcomes[0].status else {
            panic!("{engine:?}: {report}");
        };
        assert!(
            matches!(
                failure.downcast_ref::<statesync::Error>(),
                Some(statesync::Error::SetAside { .. })
            ),
            "{engine:?}: {failure}"
        );
        assert_eq!(target, untouched, "{engine:?}");
        assert_eq!(target.sites.collisions().len(), 1, "{engine:?}");
    }
}

/// A plan made against an older state: the site it updates is gone (its child changes
/// cannot be reached), and the site it creates exists already (its device cannot go in).
/// Each change under them is reported skipped because its parent failed, so the counts and
/// the progress reach the plan's total, in both engines.
#[test]
fn every_change_of_a_stale_plan_has_one_outcome() {
    for engine in ENGINES {
        let mut before = Inventory::default();
        before.sites.insert(fixtures::site("s0", 1, 1)).unwrap();
        before.sites.insert(fixtures::site("s1", 0, 0)).unwrap();
        let mut source = before.clone();
        {
            let mut s0 = source
                .sites
                .get_mut(&fixtures::site("s0", 0, 0).key())
                .unwrap();
            s0.region = "apac".into();
            s0.devices
                .insert(fixtures::device("s0", "s0-new", 2))
                .unwrap();
            let mut device = s0.devices.iter().next().unwrap().clone();
            device.role = "spine".into();
            drop(s0.devices.upsert(device));
        }
        source.sites.insert(fixtures::site("s2", 1, 1)).unwrap();
        let plan = before.diff(&source).unwrap();
        // Since the plan: s0 went, and s2 (without devices) came.
        let mut target = before.clone();
        drop(target.sites.remove(&fixtures::site("s0", 0, 0).key()));
        target.sites.insert(fixtures::site("s2", 0, 0)).unwrap();
        let fake = Fake::holding(2, &target);

        let (report, progress) = carry(engine, &mut target, &plan, &fake);
        assert_eq!(fake.lock().calls, 0, "{engine:?}: {report}");
        assert_eq!(report.counts.failed, 2, "{engine:?}: {report}");
        let changes = plan.summary().changes();
        assert_eq!(recorded(&report), changes, "{engine:?}: {report}");
        assert_eq!(progress, Some((changes, changes)), "{engine:?}");
        let parent_failed = report
            .outcomes
            .iter()
            .filter(|outcome| outcome.status == Status::Skipped(SkipReason::ParentFailed))
            .count();
        assert_eq!(parent_failed, changes - 2, "{engine:?}: {report}");
        assert_eq!(
            fake.differences(&target),
            Vec::<String>::new(),
            "{engine:?}"
        );
    }
}

/// After the first failure stops the sync, an update the async engine reaches is skipped
/// (`Stopped`), even when its element is gone: nothing is decided after a stop, so a stale
/// element is not one more failure.
#[test]
fn after_a_stop_a_missing_element_is_skipped_not_failed() {
    let mut before = Inventory::default();
    before.sites.insert(fixtures::site("s1", 0, 0)).unwrap();
    let device = fixtures::device("s1", "s1-new", 0);
    let mut fake = Fake::holding(3, &before);
    fake.fail.insert(super::fake::name(&device));
    let created = ElementDiff {
        key: device.key(),
        action: Action::Create(device),
    };
    let devices = SiteChildDiffs {
        devices: Diff::from_elements(vec![created], 0).unwrap(),
        ..Default::default()
    };
    let s1 = ElementDiff {
        key: fixtures::site("s1", 0, 0).key(),
        action: Action::Update(ModelUpdate {
            fields: SiteChanges::default(),
            children: devices,
        }),
    };
    let plan =
        root_plan(Diff::from_elements(vec![s1, region_update("s2", "emea", "apac")], 0).unwrap());
    let mut target = before.clone();
    let options = super::options(1);
    let report = runtime().block_on(target.sync_diff_async(&plan, &fake, options));
    assert_eq!(report.counts.failed, 1, "{report}");
    let s2 = report
        .outcomes
        .iter()
        .find(|outcome| outcome.key.contains("s2"))
        .expect("an outcome for s2");
    assert_eq!(s2.status, Status::Skipped(SkipReason::Stopped), "{report}");
    assert_eq!(target, before);
}

/// A dropped async sync undoes in memory what its abandoned calls would have done without
/// handing those made-up outcomes to `on_outcome` (nor to the progress callback).
#[test]
fn a_dropped_sync_tells_the_callbacks_nothing_it_did_not_do() {
    let source = {
        let mut source = Inventory::default();
        for s in 0..4 {
            source
                .sites
                .insert(fixtures::site(&format!("s{s}"), 3, 2))
                .unwrap();
        }
        source
    };
    let mut target = Inventory::default();
    let fake = Fake::new(4);
    let seen = Mutex::new(Vec::new());
    let sync = SyncOptions::default().on_outcome(|outcome| {
        seen.lock().unwrap().push(outcome.to_string());
    });
    let options = AsyncSyncOptions::new(sync)
        .max_in_flight(4)
        .sleep(|duration| Box::pin(tokio::time::sleep(duration)));
    runtime().block_on(async {
        let sync = target.sync_from_async(&source, &fake, options);
        let _ = tokio::time::timeout(std::time::Duration::from_millis(4), sync).await;
    });
    let seen = seen.into_inner().unwrap();
    assert!(!seen.is_empty());
    assert!(
        seen.iter().all(|line| line.ends_with(": applied")),
        "{seen:#?}"
    );
    assert_eq!(fake.differences(&target), Vec::<String>::new());
}

/// Plans made from one random state to another, carried into a third (so that many of
/// their elements are missing, present already or changed since) whose system refuses some
/// elements: both engines give the
/// same outcomes and leave memory alike and as their systems, and every change of the plan
/// has an outcome, in both orders.
#[test]
fn stale_plans_give_both_engines_the_same_outcomes() {
    use rand::SeedableRng;
    for seed in 0..200u64 {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let before = super::random_inventory(&mut rng);
        let source = super::random_inventory(&mut rng);
        let now = super::random_inventory(&mut rng);
        let plan = before.diff(&source).unwrap();
        let order = if seed % 2 == 0 {
            statesync::sync::SyncOrder::DeletesFirst
        } else {
            statesync::sync::SyncOrder::PerCollection
        };
        let options = || SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE).order(order);

        // And some elements the system refuses.
        let fail: std::collections::BTreeSet<String> = super::fake::all_names(&now)
            .into_iter()
            .chain(super::fake::all_names(&source))
            .filter(|_| rand::Rng::random_bool(&mut rng, 0.1))
            .collect();
        let mut blocking_fake = Fake::holding(seed, &now);
        blocking_fake.fail = fail.clone();
        let mut blocking_target = now.clone();
        let blocking = blocking_target.sync_diff(&plan, &mut Blocking(&blocking_fake), options());

        let mut async_fake = Fake::holding(seed, &now);
        async_fake.fail = fail;
        let mut async_target = now.clone();
        let chosen = AsyncSyncOptions::new(options())
            .max_in_flight(1 + (seed as usize % 5))
            .sleep(|duration| Box::pin(tokio::time::sleep(duration)));
        let report = runtime().block_on(async_target.sync_diff_async(&plan, &async_fake, chosen));

        assert_eq!(report.counts, blocking.counts, "seed {seed}");
        assert_eq!(
            super::lines(&report),
            super::lines(&blocking),
            "seed {seed}"
        );
        assert_eq!(async_target, blocking_target, "seed {seed}");
        // Every change has an outcome, and none has two (an element that is missing or
        // refused has one even when only its children change: its failure).
        let lines = super::lines(&report);
        assert!(
            recorded(&report) >= plan.summary().changes(),
            "seed {seed}: {report}"
        );
        let mut distinct = lines.clone();
        distinct.dedup();
        assert_eq!(distinct.len(), lines.len(), "seed {seed}: {report}");
        for (fake, target) in [
            (&blocking_fake, &blocking_target),
            (&async_fake, &async_target),
        ] {
            assert_eq!(
                fake.differences(target),
                Vec::<String>::new(),
                "seed {seed}"
            );
            assert!(fake.lock().violations.is_empty(), "seed {seed}");
        }
    }
}

/// A random sync for one seed: the states before and wanted, a fake system holding the
/// first, and the names of the elements of both (`None` when there are none).
struct Case {
    rng: rand_chacha::ChaCha8Rng,
    before: Inventory,
    source: Inventory,
    fake: Fake,
    names: Vec<String>,
}

fn random_case(seed: u64, salt: u64) -> Option<Case> {
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ salt);
    let before = super::random_inventory(&mut rng);
    let source = super::random_inventory(&mut rng);
    let fake = Fake::holding(seed, &before);
    let names: Vec<String> = super::fake::all_names(&before)
        .into_iter()
        .chain(super::fake::all_names(&source))
        .collect();
    (!names.is_empty()).then_some(Case {
        rng,
        before,
        source,
        fake,
        names,
    })
}

/// A hook whose future panics ends the sync like a dropped one: memory is left as the
/// calls that ended left the system, for a random element panicking in random diffs, and
/// the next sync converges.
#[test]
fn a_panicking_hook_leaves_memory_as_the_system() {
    use rand::Rng;
    for seed in 0..100u64 {
        let Some(Case {
            mut rng,
            before,
            source,
            mut fake,
            names,
        }) = random_case(seed, 0x9a1c)
        else {
            continue;
        };
        fake.panic_on = Some(names[rng.random_range(0..names.len())].clone());
        let mut target = before.clone();
        let options = AsyncSyncOptions::default()
            .max_in_flight(1 + (seed as usize % 5))
            .sleep(|duration| Box::pin(tokio::time::sleep(duration)));
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            runtime().block_on(target.sync_from_async(&source, &fake, options))
        }));
        assert_eq!(
            fake.differences(&target),
            Vec::<String>::new(),
            "seed {seed}"
        );
        assert!(fake.lock().violations.is_empty(), "seed {seed}");

        fake.panic_on = None;
        let again = runtime()
            .block_on(target.sync_from_async(&source, &fake, super::options(3)))
            .unwrap();
        assert!(again.is_success(), "seed {seed}: {again}");
        assert_eq!(target, source, "seed {seed}");
    }
}

/// An `on_outcome` callback that panics on the outcome of a call that succeeded ends the
/// sync like a panicking hook: memory is left as the system (the element created, updated
/// or deleted), for a random element in random diffs.
#[test]
fn a_panicking_outcome_callback_leaves_memory_as_the_system() {
    use rand::Rng;
    for seed in 0..100u64 {
        let Some(Case {
            mut rng,
            before,
            source,
            mut fake,
            names,
        }) = random_case(seed, 0x0c7b)
        else {
            continue;
        };
        let name = names[rng.random_range(0..names.len())].clone();
        // A third of the seeds: the element's call fails, and the callback panics on that;
        // another third: it fails and stops the sync, and the callback panics on the first
        // element reported skipped.
        let doomed = match seed % 3 {
            0 => format!("{name}: applied"),
            1 => {
                fake.fail.insert(name.clone());
                format!("{name}: failed")
            }
            _ => {
                fake.fail.insert(name.clone());
                String::new()
            }
        };
        let mut target = before.clone();
        let sync = statesync::sync::SyncOptions::default().on_outcome(|outcome| {
            let text = outcome.to_string();
            let (_, element) = text.split_at(text.find(' ').map_or(0, |at| at + 1));
            let element = element.rsplit(" > ").next().unwrap_or(element);
            let hit = if doomed.is_empty() {
                element.contains(": skipped")
            } else {
                element.starts_with(&doomed)
            };
            assert!(!hit, "the callback panics");
        });
        let options = AsyncSyncOptions::new(sync)
            .max_in_flight(1 + (seed as usize % 5))
            .sleep(|duration| Box::pin(tokio::time::sleep(duration)));
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            runtime().block_on(target.sync_from_async(&source, &fake, options))
        }));
        assert_eq!(
            fake.differences(&target),
            Vec::<String>::new(),
            "seed {seed}: {doomed}"
        );
    }
}

/// After a stop, the async engine reports what is left as skipped, a repeated key too, so
/// its counts reach the plan's total.
#[test]
fn after_a_stop_a_repeated_key_is_skipped_too() {
    let mut before = Inventory::default();
    before.sites.insert(fixtures::site("s0", 0, 0)).unwrap();
    before.sites.insert(fixtures::site("s5", 0, 0)).unwrap();
    let doomed = fixtures::site("s0", 0, 0);
    let mut fake = Fake::holding(5, &before);
    fake.fail.insert(super::fake::name(&doomed));
    let deleted = ElementDiff {
        key: doomed.key(),
        action: Action::Delete(doomed),
    };
    let plan = root_plan(
        Diff::from_elements(
            vec![
                deleted,
                region_update("s5", "emea", "apac"),
                region_update("s5", "emea", "amer"),
            ],
            0,
        )
        .unwrap(),
    );
    let mut target = before.clone();
    let options = super::options(1);
    let report = runtime().block_on(target.sync_diff_async(&plan, &fake, options));
    assert_eq!(report.counts.failed, 1, "{report}");
    assert_eq!(report.counts.skipped, 2, "{report}");
    assert_eq!(recorded(&report), plan.summary().changes(), "{report}");
    assert_eq!(target, before);
}

/// Under `SyncOrder::PerCollection` a collection's updates wait for its deletes, as in the
/// blocking engine: a site's update never starts while another site's delete runs.
#[test]
fn per_collection_updates_wait_for_the_collections_deletes() {
    for seed in 0..20u64 {
        let mut before = Inventory::default();
        for name in ["s0", "s1", "s2", "s3"] {
            before.sites.insert(fixtures::site(name, 0, 0)).unwrap();
        }
        let mut source = before.clone();
        for name in ["s0", "s1"] {
            drop(source.sites.remove(&fixtures::site(name, 0, 0).key()));
        }
        for name in ["s2", "s3"] {
            source
                .sites
                .get_mut(&fixtures::site(name, 0, 0).key())
                .unwrap()
                .region = "apac".into();
        }
        let fake = Fake::holding(seed, &before);
        let mut target = before.clone();
        let options = AsyncSyncOptions::new(
            SyncOptions::default().order(statesync::sync::SyncOrder::PerCollection),
        )
        .max_in_flight(4)
        .sleep(|duration| Box::pin(tokio::time::sleep(duration)));
        let report = runtime()
            .block_on(target.sync_from_async(&source, &fake, options))
            .unwrap();
        assert!(report.is_success(), "seed {seed}: {report}");
        assert!(fake.deletes_came_first(), "seed {seed}");
        assert_eq!(target, source, "seed {seed}");
    }
}

/// After a stop, a parent delete that never started is `Stopped` when the stop left its
/// children (none of them failed), and `ChildFailed` when one of its own children failed.
/// Before, both were `ChildFailed`.
#[test]
fn after_a_stop_a_parent_left_with_its_children_is_stopped() {
    let mut target = Inventory::default();
    for site in ["s1", "s2"] {
        target.sites.insert(fixtures::site(site, 40, 0)).unwrap();
    }
    let mut fake = Fake::holding(5, &target);
    let s1 = target.sites.iter().next().unwrap();
    let failing = s1.devices.iter().next().unwrap();
    fake.fail.insert(super::fake::name(failing));
    let report =
        runtime().block_on(target.sync_from_async(&Inventory::default(), &fake, super::options(8)));
    let report = report.unwrap();
    assert_eq!(report.counts.failed, 1, "{report}");
    let site = |name: &str| {
        let outcome = report
            .outcomes
            .iter()
            .find(|outcome| outcome.model == "site" && outcome.key.contains(name));
        outcome.map(|outcome| outcome.status.clone())
    };
    assert_eq!(
        site("s1"),
        Some(Status::Skipped(SkipReason::ChildFailed)),
        "{report}"
    );
    assert_eq!(
        site("s2"),
        Some(Status::Skipped(SkipReason::Stopped)),
        "{report}"
    );
}

/// After a stop, an element a flag leaves alone is listed under its flag, as the plan lists
/// it: its delete under an `IGNORE`d parent was left out of the report, and its create
/// was put down to the stop.
#[test]
fn after_a_stop_an_element_a_flag_leaves_alone_is_listed_under_its_flag() {
    use statesync::sync::{ModelFlags, SyncModel};

    let mut before = Inventory::default();
    before.sites.insert(fixtures::site("s0", 0, 0)).unwrap();
    // Under the ignored devices: a device deleted, one created, and one whose interface is
    // replaced (the device itself unchanged: the tester's shape, left out of the report).
    let mut s1 = fixtures::site("s1", 0, 0);
    s1.devices.insert(fixtures::device("s1", "old", 0)).unwrap();
    s1.devices
        .insert(fixtures::device("s1", "kept", 1))
        .unwrap();
    before.sites.insert(s1.clone()).unwrap();
    let mut after = Inventory::default();
    s1.devices.remove(&fixtures::device("s1", "old", 0).key());
    s1.devices.insert(fixtures::device("s1", "new", 0)).unwrap();
    s1.devices
        .modify(&fixtures::device("s1", "kept", 0).key(), |kept| {
            kept.interfaces =
                statesync::Store::try_from_iter([fixtures::interface("kept", "et-9")]).unwrap();
        });
    after.sites.insert(s1).unwrap();
    let options = || {
        SyncOptions::default().model_flags::<statesync_suite::inventory::Device>(ModelFlags::IGNORE)
    };
    let planned = before.diff_from_with(&after, &options()).unwrap();
    let flagged = |report: &SyncReport| -> Vec<String> {
        let mut lines: Vec<String> = report
            .outcomes
            .iter()
            .filter(|outcome| outcome.status == Status::Skipped(SkipReason::Flag("IGNORE")))
            .map(ToString::to_string)
            .collect();
        lines.sort();
        lines
    };
    let mut fake = Fake::holding(5, &before);
    fake.fail
        .insert(super::fake::name(&fixtures::site("s0", 0, 0)));
    let mut target = before.clone();
    let report = runtime().block_on(target.sync_from_async(
        &after,
        &fake,
        AsyncSyncOptions::new(options()).max_in_flight(1),
    ));
    let report = report.unwrap();
    assert_eq!(report.counts.failed, 1, "{report}");
    assert!(report.stopped, "{report}");
    assert_eq!(
        report.counts.skipped,
        planned.summary().skip,
        "{report}\n{planned}"
    );
    assert_eq!(flagged(&report).len(), 4, "{report}");
    assert_eq!(planned.summary().skip, 4, "{planned}");
}
