//! Order, idempotence, failures, plans made earlier, progress and tracing.

use std::sync::{Arc, Mutex};

use statesync::Operation;
use statesync::sync::{InMemory, SkipReason, Status, SyncFlags, SyncModel, SyncOptions};
use statesync_suite::fixtures::{inventory, site};
use statesync_suite::inventory::{DeviceKey, Inventory, SiteKey};

use crate::faulty::{Faulty, elements};

/// The source: `ams` changed (region, one device role), `nyc` gone, `lon` new.
fn source() -> Inventory {
    let mut new = inventory();
    {
        let mut ams = new.sites.get_mut(&SiteKey { name: "ams".into() }).unwrap();
        ams.region = "eu-west".into();
        ams.devices
            .get_mut(&DeviceKey {
                site: "ams".into(),
                name: "ams-d0".into(),
            })
            .unwrap()
            .role = "spine".into();
    }
    new.sites.remove(&SiteKey { name: "nyc".into() });
    new.sites.insert(site("lon", 1, 2)).unwrap();
    new
}

fn continue_on_failure() -> SyncOptions<'static> {
    SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE)
}

#[test]
fn parents_are_created_first_and_deleted_last() {
    let mut target = inventory();
    let mut system = Faulty::holding(&target);
    let report = target
        .sync_from(&source(), &mut system, SyncOptions::default())
        .unwrap();
    assert!(report.is_success(), "{report}");
    let position = |entry: &str| system.log.iter().position(|e| e == entry).unwrap();
    assert!(position("create site[name=lon]") < position("create device[site=lon, name=lon-d0]"));
    assert!(
        position("create device[site=lon, name=lon-d0]")
            < position("create interface[device=lon-d0, name=et-0]")
    );
    assert!(
        position("delete interface[device=nyc-d0, name=et-2]")
            < position("delete device[site=nyc, name=nyc-d0]")
    );
    assert!(position("delete device[site=nyc, name=nyc-d1]") < position("delete site[name=nyc]"));
    assert_eq!(report.counts.created, 1 + 1 + 2);
    assert_eq!(report.counts.deleted, 1 + 2 + 6);
    assert_eq!(report.counts.updated, 2);
    assert_eq!(system.system, elements(&source()));
    assert_eq!(system.completes, 1);
}

#[test]
fn a_second_sync_finds_nothing_to_do() {
    let mut target = inventory();
    let mut system = Faulty::holding(&target);
    let first = target
        .sync_from(&source(), &mut system, SyncOptions::default())
        .unwrap();
    assert!(first.is_success(), "{first}");
    assert!(target.diff_from(&source()).unwrap().is_empty());
    assert!(source().diff_to(&target).unwrap().is_empty());
    let calls = system.log.len();
    let again = target
        .sync_from(&source(), &mut system, SyncOptions::default())
        .unwrap();
    assert!(!again.changed_anything());
    assert_eq!(system.log.len(), calls);
    assert_eq!(
        system.completes, 1,
        "sync_complete only runs when something changed"
    );
}

#[test]
fn a_failed_create_skips_its_subtree_and_memory_matches_the_system() {
    let mut target = inventory();
    let mut system = Faulty::holding(&target).failing("device[site=lon, name=lon-d0]");
    let report = target
        .sync_from(&source(), &mut system, continue_on_failure())
        .unwrap();
    assert!(!report.is_success());
    assert_eq!(report.counts.failed, 1);
    let failed: Vec<String> = report.failures().map(|o| o.to_string()).collect();
    assert_eq!(
        failed,
        [
            "create site[name=lon] > device[site=lon, name=lon-d0]: failed: injected failure on device[site=lon, name=lon-d0]"
        ]
    );
    let skipped: Vec<&str> = report
        .outcomes
        .iter()
        .filter(|o| o.status == Status::Skipped(SkipReason::ParentFailed))
        .map(|o| o.key.as_str())
        .collect();
    assert_eq!(
        skipped,
        ["device=lon-d0, name=et-0", "device=lon-d0, name=et-1"]
    );
    // Everything else went through, and memory holds exactly what the system holds.
    assert_eq!(elements(&target), system.system);
    assert_eq!(target.diff_from(&source()).unwrap().summary().create, 3);

    // Once the fault is gone, a re-run converges.
    system.fail.clear();
    let rerun = target
        .sync_from(&source(), &mut system, SyncOptions::default())
        .unwrap();
    assert!(rerun.is_success(), "{rerun}");
    assert_eq!(rerun.counts.created, 3);
    assert!(target.diff_from(&source()).unwrap().is_empty());
    assert_eq!(elements(&target), system.system);
}

#[test]
fn without_continue_on_failure_the_first_failure_stops_the_sync() {
    let mut target = inventory();
    let mut system = Faulty::holding(&target).failing("interface[device=nyc-d0, name=et-1]");
    let report = target
        .sync_from(&source(), &mut system, SyncOptions::default())
        .unwrap();
    assert!(report.stopped);
    assert_eq!(report.counts.failed, 1);
    // The failure came after et-0 was deleted: that is in the report, memory and system.
    assert_eq!(report.counts.deleted, 1);
    assert_eq!(report.outcomes.len(), 2);
    assert_eq!(report.outcomes[0].status, Status::Applied);
    assert_eq!(elements(&target), system.system);
    system.fail.clear();
    let rerun = target
        .sync_from(&source(), &mut system, SyncOptions::default())
        .unwrap();
    assert!(rerun.is_success());
    assert_eq!(elements(&target), elements(&source()));
    assert_eq!(system.system, elements(&source()));
}

#[test]
fn a_failed_child_delete_keeps_the_parent() {
    let mut target = inventory();
    let mut system = Faulty::holding(&target).failing("interface[device=nyc-d1, name=et-0]");
    let report = target
        .sync_from(&source(), &mut system, continue_on_failure())
        .unwrap();
    let parent = report
        .outcomes
        .iter()
        .find(|o| o.key == "site=nyc, name=nyc-d1")
        .unwrap();
    assert_eq!(parent.status, Status::Skipped(SkipReason::ChildFailed));
    assert!(target.sites.contains(&SiteKey { name: "nyc".into() }));
    assert_eq!(elements(&target), system.system);
}

#[test]
fn a_failed_update_keeps_the_old_values_in_memory() {
    let mut target = inventory();
    let mut system = Faulty::holding(&target).failing("site[name=ams]");
    let report = target
        .sync_from(&source(), &mut system, continue_on_failure())
        .unwrap();
    assert_eq!(report.counts.failed, 1);
    let ams = target.sites.get(&SiteKey { name: "ams".into() }).unwrap();
    assert_eq!(ams.region, "emea");
    // Its children were still synced: the device role changed.
    let d0 = ams
        .devices
        .get(&DeviceKey {
            site: "ams".into(),
            name: "ams-d0".into(),
        })
        .unwrap();
    assert_eq!(d0.role, "spine");
}

#[test]
fn a_plan_made_earlier_is_applied_without_diffing_again() {
    let mut target = inventory();
    let plan = target.diff_from(&source()).unwrap();
    let printed = plan.to_string();
    assert!(printed.contains("+ site[name=lon]"));
    let report = target.sync_diff(&plan, &mut InMemory, SyncOptions::default());
    assert!(report.is_success());
    assert_eq!(target, source());

    // The same plan again is stale: every element fails or is refused, nothing panics.
    let stale = target.sync_diff(&plan, &mut InMemory, continue_on_failure());
    assert!(stale.counts.failed > 0);
    assert!(
        stale
            .failures()
            .any(|o| o.operation == Operation::Create && o.key == "name=lon")
    );
    assert_eq!(
        target,
        source(),
        "a stale plan changes nothing it should not"
    );
}

#[test]
fn sync_to_is_sync_from_the_other_way() {
    let mut target = inventory();
    let report = source()
        .sync_to(&mut target, &mut InMemory, SyncOptions::default())
        .unwrap();
    assert!(report.is_success());
    assert_eq!(target, source());
}

fn progress_of(
    mut target: Inventory,
    source: &Inventory,
) -> (Vec<statesync::sync::Progress>, usize) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let options = SyncOptions::default().on_progress(move |p| sink.lock().unwrap().push(p));
    let report = target.sync_from(source, &mut InMemory, options).unwrap();
    let seen = seen.lock().unwrap().clone();
    (seen, report.outcomes.len())
}

#[test]
fn progress_reports_each_stage_up_to_its_total() {
    use statesync_suite::dataset::{generate, interface_count, mutate};
    let old = generate(10_000, 1);
    let new = mutate(&old, 2);
    let elements = 1
        + new.sites.len()
        + new.sites.iter().map(|s| s.devices.len()).sum::<usize>()
        + interface_count(&new);
    // An incremental sync, and a first sync into an empty target (all creates).
    for target in [old, Inventory::default()] {
        let (seen, outcomes) = progress_of(target, &new);
        let diff: Vec<_> = seen.iter().filter(|p| p.stage == "diff").collect();
        assert_eq!(diff.first().map(|p| (p.done, p.total)), Some((0, elements)));
        assert!(
            diff.len() >= 4,
            "a 10k diff reports along the way: {diff:?}"
        );
        assert!(diff.windows(2).all(|w| w[0].done <= w[1].done));
        assert!(
            diff.iter()
                .all(|p| p.done <= elements && p.total == elements)
        );
        let last_diff = diff.last().unwrap();
        assert_eq!(
            last_diff.done, elements,
            "every element of the source counted once"
        );
        let last = seen.last().unwrap();
        assert_eq!(last.stage, "sync");
        assert_eq!((last.done, last.total), (outcomes, outcomes));
    }
}

#[test]
fn a_stale_update_fails_without_calling_the_hook() {
    let mut target = inventory();
    let plan = target.diff_from(&source()).unwrap();
    // The target moves on after the plan was made.
    target
        .sites
        .get_mut(&SiteKey { name: "ams".into() })
        .unwrap()
        .region = "moved".into();
    let mut system = Faulty::holding(&target);
    let report = target.sync_diff(&plan, &mut system, continue_on_failure());
    let failure = report.failures().next().unwrap().to_string();
    assert!(
        failure.contains("field `region` no longer holds"),
        "{failure}"
    );
    assert!(!system.log.iter().any(|e| e == "update site[name=ams]"));
    let ams = target.sites.get(&SiteKey { name: "ams".into() }).unwrap();
    assert_eq!(ams.region, "moved");
}

#[test]
fn replacing_the_root_keeps_the_old_one_when_its_delete_fails() {
    use statesync_suite::fixtures::device;
    let mut target = device("nyc", "sw1", 1);
    let source = device("nyc", "sw2", 1);
    let mut system = Faulty::default().failing("device[site=nyc, name=sw1]");
    system.system.insert(crate::faulty::name(&target));
    for interface in &target.interfaces {
        system.system.insert(crate::faulty::name(interface));
    }
    let report = target
        .sync_from(&source, &mut system, continue_on_failure())
        .unwrap();
    assert_eq!(
        target.name, "sw1",
        "the old root is still in the system, so in memory"
    );
    // The create is skipped, not failed as if its key were taken.
    assert_eq!(report.counts.failed, 1, "{report}");
    assert!(
        report
            .outcomes
            .iter()
            .any(|o| o.operation == Operation::Create
                && o.key == "site=nyc, name=sw2"
                && o.status == Status::Skipped(SkipReason::RootKept))
    );
}
