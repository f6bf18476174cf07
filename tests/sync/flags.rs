//! The flags, with diffsync's meanings.

use statesync::sync::{
    AsyncSyncModel, DeleteLimit, ModelFlags, SkipReason, Status, SyncFlags, SyncModel, SyncOptions,
};
use statesync::{DiffModel, Store};
use statesync_suite::fixtures::{inventory, site};
use statesync_suite::inventory::{Inventory, Site, SiteKey};

use crate::faulty::{Faulty, elements};

fn source() -> Inventory {
    let mut new = inventory();
    new.sites.remove(&SiteKey { name: "nyc".into() });
    new.sites.insert(site("lon", 1, 1)).unwrap();
    new.sites
        .get_mut(&SiteKey { name: "ams".into() })
        .unwrap()
        .region = "x".into();
    new
}

fn sync(flags: SyncOptions<'_>) -> (Inventory, Faulty, statesync::sync::SyncReport) {
    let mut target = inventory();
    let mut system = Faulty::holding(&target);
    let report = target.sync_from(&source(), &mut system, flags).unwrap();
    (target, system, report)
}

#[test]
fn skip_unmatched_dst_deletes_nothing() {
    let (target, system, report) = sync(SyncOptions::new(SyncFlags::SKIP_UNMATCHED_DST));
    assert_eq!(report.counts.deleted, 0);
    assert_eq!(report.counts.skipped, 1 + 2 + 6);
    assert!(target.sites.contains(&SiteKey { name: "nyc".into() }));
    assert!(target.sites.contains(&SiteKey { name: "lon".into() }));
    assert_eq!(elements(&target), system.system);
}

#[test]
fn skip_unmatched_src_creates_nothing() {
    let (target, _, report) = sync(SyncOptions::new(SyncFlags::SKIP_UNMATCHED_SRC));
    assert_eq!(report.counts.created, 0);
    assert_eq!(report.counts.skipped, 3);
    assert!(!target.sites.contains(&SiteKey { name: "lon".into() }));
    assert!(!target.sites.contains(&SiteKey { name: "nyc".into() }));
}

#[test]
fn skip_unmatched_both_only_updates() {
    let (_, _, report) = sync(SyncOptions::new(SyncFlags::SKIP_UNMATCHED_BOTH));
    assert_eq!(
        (
            report.counts.created,
            report.counts.updated,
            report.counts.deleted
        ),
        (0, 1, 0)
    );
}

#[test]
fn ignore_leaves_a_model_type_alone() {
    let (target, _, report) = sync(SyncOptions::default().model_flags::<Site>(ModelFlags::IGNORE));
    assert_eq!(report.counts.changes(), 0);
    assert!(
        report
            .outcomes
            .iter()
            .all(|o| o.status == Status::Skipped(SkipReason::Flag("IGNORE")))
    );
    assert_eq!(target, inventory());
}

#[test]
fn skip_children_on_delete_calls_only_the_parents_hook() {
    let (target, system, report) =
        sync(SyncOptions::default().model_flags::<Site>(ModelFlags::SKIP_CHILDREN_ON_DELETE));
    let deletes: Vec<&String> = system
        .log
        .iter()
        .filter(|e| e.starts_with("delete"))
        .collect();
    assert_eq!(deletes, ["delete site[name=nyc]"]);
    assert_eq!(
        report.counts.deleted,
        1 + 2 + 6,
        "children leave with their parent"
    );
    assert!(!target.sites.contains(&SiteKey { name: "nyc".into() }));
}

#[test]
fn parent_first_deletion_is_diffsyncs_default_order() {
    let (_, system, _) =
        sync(SyncOptions::default().model_flags::<Site>(ModelFlags::PARENT_FIRST_DELETION));
    let first_delete = system.log.iter().find(|e| e.starts_with("delete")).unwrap();
    assert_eq!(first_delete, "delete site[name=nyc]");
}

#[test]
fn log_unchanged_records_lists_every_unchanged_element() {
    let (_, _, report) = sync(SyncOptions::new(SyncFlags::LOG_UNCHANGED_RECORDS));
    let unchanged = report
        .outcomes
        .iter()
        .filter(|o| o.status == Status::Unchanged)
        .count();
    // The root (unchanged itself, its children changed), and ams's two devices with three
    // interfaces each: every element counted unchanged is listed.
    assert_eq!(unchanged, 1 + 2 + 6);
    assert_eq!(report.counts.unchanged, unchanged);
}

/// Flags declared in the derive.
#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(flags = "SKIP_UNMATCHED_DST")]
struct Keeper {
    #[statesync(id)]
    name: String,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Shelf {
    #[statesync(children)]
    keepers: Store<Keeper>,
}

#[test]
fn flags_declared_in_the_derive_apply() {
    assert_eq!(
        <Keeper as statesync::sync::SyncModel>::FLAGS,
        ModelFlags::SKIP_UNMATCHED_DST
    );
    let keeper = |name: &str| Keeper { name: name.into() };
    let mut target = Shelf {
        keepers: Store::try_from_iter([keeper("a")]).unwrap(),
    };
    let source = Shelf {
        keepers: Store::try_from_iter([keeper("b")]).unwrap(),
    };
    // The plan applies them too: the delete is skipped, not planned.
    let plan = target
        .diff_from_with(&source, &SyncOptions::default())
        .unwrap();
    assert_eq!((plan.summary().delete, plan.summary().skip), (0, 1));
    let report = target
        .sync_from(
            &source,
            &mut statesync::sync::InMemory,
            SyncOptions::default(),
        )
        .unwrap();
    assert_eq!(report.counts.created, 1);
    assert_eq!(report.counts.skipped, 1);
    assert_eq!(target.keepers.len(), 2);
}

/// One element's flags set exactly, in place of its type's: a keeper (declared
/// `SKIP_UNMATCHED_DST`) may be deleted while the others stay (diffsync's `model_flags` set
/// on one object; `instance_flags` only adds to the declared flags, an outside tester
/// found).
#[test]
fn an_elements_exact_flags_replace_those_its_derive_declares() {
    let keeper = |name: &str| Keeper { name: name.into() };
    let mut target = Shelf {
        keepers: Store::try_from_iter([keeper("a"), keeper("b")]).unwrap(),
    };
    let source = Shelf {
        keepers: Store::new(),
    };
    let options = || {
        SyncOptions::default()
            .instance_flags_exactly::<Keeper>(KeeperKey { name: "a".into() }, ModelFlags::empty())
    };
    let plan = target.diff_from_with(&source, &options()).unwrap();
    assert_eq!((plan.summary().delete, plan.summary().skip), (1, 1));
    let report = target
        .sync_from(&source, &mut statesync::sync::InMemory, options())
        .unwrap();
    assert_eq!((report.counts.deleted, report.counts.skipped), (1, 1));
    assert_eq!(
        target.keepers.keys().collect::<Vec<_>>(),
        [KeeperKey { name: "b".into() }]
    );
    // Added flags after the exact ones add to them.
    let ignored =
        options().instance_flags::<Keeper>(KeeperKey { name: "a".into() }, ModelFlags::IGNORE);
    assert_eq!(
        ignored.flags_for_instance::<Keeper>(&KeeperKey { name: "a".into() }),
        ModelFlags::IGNORE
    );
}

/// `IGNORE` leaves an element alone whether or not memory holds it: a plan made against
/// another state that updates an element memory lacks is skipped, as its delete is, not
/// failed (a failure stopped the sync).
#[test]
fn an_ignored_update_of_a_missing_element_is_skipped_not_failed() {
    let mut elsewhere = inventory();
    elsewhere.sites.insert(site("lon", 1, 1)).unwrap();
    let mut edited = elsewhere.clone();
    edited
        .sites
        .get_mut(&SiteKey { name: "lon".into() })
        .unwrap()
        .region = "apac".into();
    let plan = elsewhere.diff(&edited).unwrap();
    let mut target = inventory();
    let mut system = Faulty::holding(&target);
    let report = target.sync_diff(
        &plan,
        &mut system,
        SyncOptions::default().model_flags::<Site>(ModelFlags::IGNORE),
    );
    assert!(report.is_success(), "{report}");
    assert_eq!(report.counts.skipped, 1, "{report}");
    assert_eq!(target, inventory());
}

/// A root whose key changes is a delete and a create; when a flag skips the delete, the
/// create cannot go in either (a root holds one model): it is skipped with the same flag,
/// not failed (which stopped the sync, while the plan showed nothing wrong).
#[test]
fn a_renamed_root_whose_delete_a_flag_skips_is_left_alone() {
    let mut target = site("ams", 1, 1);
    let source = site("lon", 1, 1);
    let options = SyncOptions::new(SyncFlags::SKIP_UNMATCHED_DST);
    let plan = target.diff_from_with(&source, &options).unwrap();
    let report = target
        .sync_from(
            &source,
            &mut statesync::sync::InMemory,
            SyncOptions::new(SyncFlags::SKIP_UNMATCHED_DST),
        )
        .unwrap();
    assert!(report.is_success(), "{report}");
    assert_eq!(report.counts.created, 0, "{report}");
    assert_eq!(target, site("ams", 1, 1));
    assert_eq!(
        plan.summary().create,
        0,
        "the plan agrees: {}",
        plan.summary()
    );
}

/// A user's root with children, for the renamed-root cases below.
#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Tenant {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    hosts: Store<Host>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Host {
    #[statesync(id)]
    name: String,
    ip: String,
}

fn tenant(name: &str, hosts: &[&str]) -> Tenant {
    let hosts = hosts.iter().map(|host| Host {
        name: (*host).into(),
        ip: format!("10.0.0.{}", host.len()),
    });
    Tenant {
        name: name.into(),
        hosts: Store::try_from_iter(hosts).unwrap(),
    }
}

/// Syncs `source` into `target` through a system that holds `target`, root included; the
/// report, the plan made first, and what the system holds after.
fn sync_tenant(
    target: &mut Tenant,
    source: &Tenant,
    options: impl Fn() -> SyncOptions<'static>,
) -> (
    statesync::sync::SyncReport,
    statesync::sync::Plan<Tenant>,
    std::collections::BTreeSet<String>,
) {
    let plan = target.diff_from_with(source, &options()).unwrap();
    let mut system = Faulty::holding(&*target);
    system.system.insert(crate::faulty::name(&*target));
    let mut by_async = target.clone();
    let report = target.sync_from(source, &mut system, options()).unwrap();
    let async_report = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(by_async.sync_from_async(
            source,
            &statesync::sync::InMemory,
            statesync::sync::AsyncSyncOptions::new(options()),
        ))
        .unwrap();
    assert_eq!(
        by_async, *target,
        "the async engine leaves what the blocking one does"
    );
    assert_eq!(async_report.counts, report.counts, "{async_report}");
    (report, plan, system.system)
}

/// Everything the system holds of a tenant, root included.
fn held(tenant: &Tenant) -> std::collections::BTreeSet<String> {
    let mut all = elements(tenant);
    all.insert(crate::faulty::name(tenant));
    all
}

/// A root renamed under `SKIP_UNMATCHED_SRC`: the new root is not created, so the old one
/// is not deleted either (a root cannot be empty). Before, its subtree and then the root
/// were deleted from the system while memory kept the root.
#[test]
fn a_renamed_root_whose_create_a_flag_skips_is_not_deleted() {
    let mut target = tenant("a", &["h1", "h22"]);
    let source = tenant("b", &["h333"]);
    let (report, plan, system) = sync_tenant(&mut target, &source, || {
        SyncOptions::new(SyncFlags::SKIP_UNMATCHED_SRC)
    });
    assert!(report.is_success(), "{report}");
    assert_eq!(report.counts.deleted, 0, "{report}");
    assert_eq!(target, tenant("a", &["h1", "h22"]));
    assert_eq!(system, held(&target), "memory is what the system holds");
    assert!(
        report
            .outcomes
            .iter()
            .all(|o| o.status == Status::Skipped(SkipReason::Flag("SKIP_UNMATCHED_SRC"))),
        "{report}"
    );
    assert_eq!(
        plan.summary().delete,
        0,
        "the plan agrees: {}",
        plan.summary()
    );
    assert!(plan.is_empty(), "{plan}");
}

/// A root renamed while a flag keeps one of its children: the old root stays (a child
/// stays), so the new one is skipped, not refused as "already exists" (a failure that
/// stopped the sync, while the plan showed nothing to fail).
#[test]
fn a_renamed_root_kept_by_a_flagged_child_skips_the_create() {
    let mut target = tenant("a", &["h1", "h22"]);
    let source = tenant("b", &["h333"]);
    let options = || SyncOptions::default().model_flags::<Host>(ModelFlags::SKIP_UNMATCHED_DST);
    let (report, plan, system) = sync_tenant(&mut target, &source, options);
    assert!(report.is_success(), "{report}");
    assert_eq!(report.counts.changes(), 0, "{report}");
    assert_eq!(target, tenant("a", &["h1", "h22"]));
    assert_eq!(system, held(&target));
    let create = report
        .outcomes
        .iter()
        .find(|o| o.operation == statesync::Operation::Create && o.key == "name=b")
        .expect("the create is reported");
    assert_eq!(create.status, Status::Skipped(SkipReason::RootKept));
    assert_eq!(
        (plan.summary().create, plan.summary().skip),
        (0, report.counts.skipped),
        "the plan agrees: {}",
        plan.summary()
    );
}

/// With `LOG_UNCHANGED_RECORDS`, an `IGNORE`d element whose own attributes did not change
/// is listed as unchanged also when its children changed (they are listed as skipped).
/// Before, it was in no outcome at all.
#[test]
fn an_ignored_parent_with_only_child_changes_is_listed_unchanged() {
    let ams = SiteKey { name: "ams".into() };
    let mut source = inventory();
    let mut site = source.sites.get_mut(&ams).unwrap();
    let device = site.devices.keys().next().unwrap();
    site.devices.get_mut(&device).unwrap().role = "moved".into();
    drop(site);
    let mut target = inventory();
    let options = SyncOptions::new(SyncFlags::LOG_UNCHANGED_RECORDS)
        .instance_flags::<Site>(ams, ModelFlags::IGNORE);
    let report = target
        .sync_from(&source, &mut statesync::sync::InMemory, options)
        .unwrap();
    let listed: Vec<_> = report
        .outcomes
        .iter()
        .filter(|o| o.model == "site" && o.key == "name=ams")
        .map(|o| o.status.clone())
        .collect();
    assert_eq!(listed, [Status::Unchanged], "{report}");
    assert_eq!(report.counts.skipped, 1, "{report}");
    assert_eq!(target, inventory());
}

/// A lab of racks of servers with disks, for the flags of a parent deleted with its
/// children.
#[derive(DiffModel, Clone, Debug, PartialEq, Default)]
struct Lab {
    #[statesync(children)]
    racks: Store<Rack>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Rack {
    #[statesync(id)]
    row: u8,
    #[statesync(children)]
    servers: Vec<Server>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Server {
    #[statesync(id)]
    serial: String,
    #[statesync(children)]
    disks: Store<Disk>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Disk {
    #[statesync(id)]
    slot: u8,
}

/// A rack of two servers, `b` holding a disk, and the lab holding it.
fn lab() -> Lab {
    let server = |serial: &str, disks: &[u8]| Server {
        serial: serial.into(),
        disks: Store::try_from_iter(disks.iter().map(|&slot| Disk { slot })).unwrap(),
    };
    let rack = Rack {
        row: 1,
        servers: vec![server("b", &[0]), server("a", &[])],
    };
    Lab {
        racks: Store::try_from_iter([rack]).unwrap(),
    }
}

/// A child a flag keeps (`IGNORE`) under a parent deleted alone (`SKIP_CHILDREN_ON_DELETE`:
/// the system removes the children itself) is deleted with its siblings, no hook of theirs
/// called, and reported deleted, so a delete limit counts it; under a parent deleted first
/// (`PARENT_FIRST_DELETION`) its hook is not called and it is reported skipped by its flag,
/// its subtree with it, while it leaves memory with the parent. The plan counts what the
/// report does under both, and both engines agree (an outside tester's port of diffsync's
/// flags found the README saying the first was skipped too).
#[test]
fn a_child_a_flag_keeps_under_a_parent_deleted_first_or_alone() {
    let alone = [
        "delete rack[row=1]: applied",
        "delete rack[row=1] > server[serial=a]: applied",
        "delete rack[row=1] > server[serial=b]: applied",
        "delete rack[row=1] > server[serial=b] > disk[slot=0]: applied",
    ];
    let first = [
        "delete rack[row=1]: applied",
        "delete rack[row=1] > server[serial=b]: skipped: flag IGNORE",
        "delete rack[row=1] > server[serial=b] > disk[slot=0]: skipped: flag IGNORE",
        "delete rack[row=1] > server[serial=a]: applied",
    ];
    for (parent_flag, expected) in [
        (ModelFlags::SKIP_CHILDREN_ON_DELETE, alone),
        (ModelFlags::PARENT_FIRST_DELETION, first),
    ] {
        let options = || {
            SyncOptions::default()
                .model_flags::<Rack>(parent_flag)
                .instance_flags::<Server>(ServerKey { serial: "b".into() }, ModelFlags::IGNORE)
        };
        let mut target = lab();
        let plan = target.diff_from_with(&Lab::default(), &options()).unwrap();
        let mut by_async = target.clone();
        let report = target
            .sync_from(&Lab::default(), &mut statesync::sync::InMemory, options())
            .unwrap();
        let statuses: Vec<String> = report.outcomes.iter().map(ToString::to_string).collect();
        assert_eq!(statuses, expected, "{parent_flag:?}: {report}");
        assert_eq!(target, Lab::default(), "the rack leaves with its servers");
        let summary = plan.summary();
        assert_eq!(
            (summary.delete, summary.skip),
            (report.counts.deleted, report.counts.skipped),
            "{parent_flag:?}: the plan agrees: {plan}"
        );
        let async_report = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(by_async.sync_from_async(
                &Lab::default(),
                &statesync::sync::InMemory,
                statesync::sync::AsyncSyncOptions::new(options()),
            ))
            .unwrap();
        assert_eq!(by_async, target, "{parent_flag:?}");
        assert_eq!(async_report.counts, report.counts, "{async_report}");
    }
}

/// A delete limit counts what leaves memory: under a parent deleted first, the children a
/// flag keeps leave with it (reported skipped), so a limit of three refuses a sync that
/// would take four elements out (the plan's two deletes were counted, and it ran: a
/// reviewer). Both engines.
#[test]
fn a_delete_limit_counts_the_kept_children_of_a_parent_deleted_first() {
    let options = || {
        SyncOptions::default()
            .model_flags::<Rack>(ModelFlags::PARENT_FIRST_DELETION)
            .instance_flags::<Server>(ServerKey { serial: "b".into() }, ModelFlags::IGNORE)
            .delete_limit(DeleteLimit::at_most(3))
    };
    let mut target = lab();
    let report = target
        .sync_from(&Lab::default(), &mut statesync::sync::InMemory, options())
        .unwrap();
    let refusal = report.refused.expect("refused");
    assert_eq!((refusal.deletes, refusal.elements), (4, 5));
    assert_eq!(target, lab());
    let async_report = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(target.sync_from_async(
            &Lab::default(),
            &statesync::sync::InMemory,
            statesync::sync::AsyncSyncOptions::new(options()),
        ))
        .unwrap();
    assert_eq!(async_report.refused, Some(refusal));
    assert_eq!(target, lab());
    // Deleted alone, the same four are reported deleted and counted so.
    let alone = SyncOptions::default()
        .model_flags::<Rack>(ModelFlags::SKIP_CHILDREN_ON_DELETE)
        .delete_limit(DeleteLimit::at_most(3));
    let report = target
        .sync_from(&Lab::default(), &mut statesync::sync::InMemory, alone)
        .unwrap();
    assert_eq!(report.refused.map(|r| r.deletes), Some(4));
}
