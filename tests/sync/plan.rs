//! Plans with flags applied, per-element flags, unchanged listings and the delete limit.

use statesync::sync::{
    DeleteLimit, InMemory, ModelFlags, Plan, SkipReason, Status, SyncFlags, SyncModel, SyncOptions,
    SyncReport,
};
use statesync::{DiffModel, Store, Summary};
use statesync_suite::fixtures::{inventory, site};
use statesync_suite::inventory::{Device, DeviceKey, Interface, Inventory, Site, SiteKey};

use crate::faulty::Faulty;

/// `nyc` gone, `lon` new, `ams` and one of its devices changed.
fn source() -> Inventory {
    let mut new = inventory();
    new.sites.remove(&SiteKey { name: "nyc".into() });
    new.sites.insert(site("lon", 1, 1)).unwrap();
    new.sites.modify(&SiteKey { name: "ams".into() }, |ams| {
        ams.region = "x".into();
        ams.devices
            .get_mut(&DeviceKey {
                site: "ams".into(),
                name: "ams-d1".into(),
            })
            .unwrap()
            .role = "spine".into();
    });
    new
}

pub(crate) fn counts(report: &SyncReport) -> Summary {
    Summary {
        create: report.counts.created,
        update: report.counts.updated,
        delete: report.counts.deleted,
        unchanged: report.counts.unchanged,
        skip: report.counts.skipped,
    }
}

/// The plan and the sync with the same options agree, in counts and in the state reached.
fn plan_then_sync(options: impl Fn() -> SyncOptions<'static>) -> (Plan<Inventory>, SyncReport) {
    let target = inventory();
    let plan = target.diff_from_with(&source(), &options()).unwrap();
    let mut synced = target.clone();
    let mut system = Faulty::holding(&synced);
    let report = synced.sync_from(&source(), &mut system, options()).unwrap();
    assert!(report.is_success(), "{report}");
    assert_eq!(plan.summary(), counts(&report), "{plan}");
    assert_eq!(plan.diff().summary().create, plan.summary().create);
    assert_eq!(plan.diff().summary().delete, plan.summary().delete);
    // Applying the plan reaches the state the sync reached.
    let mut applied = target.clone();
    applied.apply(plan.diff()).unwrap();
    assert_eq!(applied.diff(&synced).unwrap().summary().changes(), 0);
    (plan, report)
}

#[test]
fn a_plan_without_flags_is_the_diff() {
    let (plan, _) = plan_then_sync(SyncOptions::default);
    assert_eq!(plan.diff(), &inventory().diff_from(&source()).unwrap());
    assert_eq!(plan.summary().skip, 0);
}

#[test]
fn a_plan_leaves_out_the_deletes_the_sync_skips() {
    let (plan, report) = plan_then_sync(|| SyncOptions::new(SyncFlags::SKIP_UNMATCHED_DST));
    let printed = plan.to_string();
    assert!(!printed.contains("nyc"), "{printed}");
    assert!(printed.contains("+ site[name=lon]"), "{printed}");
    assert!(
        printed.contains("9 elements left alone by flags"),
        "{printed}"
    );
    assert_eq!(plan.summary().delete, 0);
    assert_eq!(plan.summary().skip, 1 + 2 + 6);
    assert_eq!(report.counts.skipped, 1 + 2 + 6);
}

#[test]
fn a_plan_applies_model_and_instance_flags() {
    let _ = plan_then_sync(|| SyncOptions::default().model_flags::<Site>(ModelFlags::IGNORE));
    let _ = plan_then_sync(|| SyncOptions::new(SyncFlags::SKIP_UNMATCHED_SRC));
    let (plan, _) = plan_then_sync(|| {
        SyncOptions::default().instance_flags::<Device>(
            DeviceKey {
                site: "ams".into(),
                name: "ams-d1".into(),
            },
            ModelFlags::IGNORE,
        )
    });
    assert_eq!(plan.summary().update, 1, "only ams itself: {plan}");
    assert_eq!(plan.summary().skip, 1);
    // A created subtree loses the children a flag skips.
    let (plan, _) = plan_then_sync(|| {
        SyncOptions::default().model_flags::<Interface>(ModelFlags::SKIP_UNMATCHED_SRC)
    });
    assert_eq!(plan.summary().create, 2, "lon and its device: {plan}");
}

#[test]
fn a_plan_of_a_diff_made_earlier_applies_the_options() {
    let target = inventory();
    let diff = target.diff_from(&source()).unwrap();
    let plan = target
        .plan(&diff, &SyncOptions::new(SyncFlags::SKIP_UNMATCHED_BOTH))
        .unwrap();
    assert_eq!(
        (
            plan.summary().create,
            plan.summary().update,
            plan.summary().delete
        ),
        (0, 2, 0)
    );
    assert_eq!(target, inventory(), "planning changes nothing");
}

/// A plan of a diff the sync refuses parts of (made against another state, or a root
/// diff of a shape `apply` refuses) is what the sync does, flags or not. Before, without a
/// skipping flag, the plan was the diff itself: it planned a stale update and a lone root
/// delete the sync refuses (found by an outside tester).
#[test]
fn a_plan_of_a_diff_the_sync_refuses_is_what_the_sync_does() {
    use statesync::{Action, Diff, ElementDiff};
    let target = inventory();
    let mut elsewhere = inventory();
    elsewhere
        .sites
        .modify(&SiteKey { name: "ams".into() }, |ams| {
            ams.region = "elsewhere".into();
        });
    let stale = elsewhere.diff(&source()).unwrap();
    let lone_delete = Diff::from_elements(
        vec![ElementDiff {
            key: target.key(),
            action: Action::Delete(target.clone()),
        }],
        0,
    )
    .unwrap();
    for diff in [stale, lone_delete] {
        for options in [SyncOptions::default, || {
            SyncOptions::default().model_flags::<Interface>(ModelFlags::NATURAL_DELETION_ORDER)
        }] {
            let plan = target.plan(&diff, &options()).unwrap();
            let report = target.clone().sync_diff(&diff, &mut InMemory, options());
            let summary = plan.summary();
            assert_eq!(
                (summary.create, summary.update, summary.delete),
                (
                    report.counts.created,
                    report.counts.updated,
                    report.counts.deleted
                ),
                "{plan}\n{report}"
            );
            assert!(report.counts.failed > 0, "{report}");
        }
    }
}

/// A diff given to `plan` that the sync takes whole (made earlier, against this state) is
/// the plan, without a dry run's changes.
#[test]
fn a_plan_of_a_given_diff_the_sync_takes_whole_is_the_diff() {
    let target = inventory();
    let diff = target.diff_from(&source()).unwrap();
    let plan = target.plan(&diff, &SyncOptions::default()).unwrap();
    assert_eq!(plan.diff(), &diff);
    assert_eq!(plan.summary(), diff.summary());
}

#[test]
fn instance_flags_flag_one_element_only() {
    let mut target = inventory();
    let keep = DeviceKey {
        site: "nyc".into(),
        name: "nyc-d0".into(),
    };
    let report = target
        .sync_from(
            &source(),
            &mut InMemory,
            SyncOptions::default()
                .instance_flags::<Device>(keep.clone(), ModelFlags::SKIP_UNMATCHED_DST),
        )
        .unwrap();
    let nyc = target.sites.get(&SiteKey { name: "nyc".into() }).unwrap();
    // nyc-d0 stays, so nyc stays; nyc-d1 and its interfaces are gone.
    assert_eq!(nyc.devices.len(), 1);
    assert!(nyc.devices.contains(&keep));
    assert_eq!(report.counts.deleted, 1 + 3);
    let statuses: Vec<(&str, &Status)> = report
        .outcomes
        .iter()
        .filter(|o| o.status != Status::Applied)
        .map(|o| (o.key.as_str(), &o.status))
        .collect();
    assert_eq!(
        statuses[0],
        (
            "site=nyc, name=nyc-d0",
            &Status::Skipped(SkipReason::Flag("SKIP_UNMATCHED_DST"))
        )
    );
    assert_eq!(
        statuses.last().unwrap(),
        &("name=nyc", &Status::Skipped(SkipReason::ChildFailed))
    );
}

mod first {
    use statesync::DiffModel;

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    #[statesync(name = "item")]
    pub struct Item {
        #[statesync(id)]
        pub name: String,
    }
}

mod second {
    use statesync::DiffModel;

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    #[statesync(name = "item")]
    pub struct Item {
        #[statesync(id)]
        pub id: u32,
    }
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Both {
    #[statesync(children)]
    firsts: Store<first::Item>,
    #[statesync(children)]
    seconds: Store<second::Item>,
}

#[test]
fn flags_are_kept_by_model_type_not_by_name() {
    let options = SyncOptions::default().model_flags::<first::Item>(ModelFlags::IGNORE);
    assert_eq!(options.flags_for::<first::Item>(), ModelFlags::IGNORE);
    assert_eq!(options.flags_for::<second::Item>(), ModelFlags::empty());
    let mut target = Both {
        firsts: Store::new(),
        seconds: Store::new(),
    };
    let source = Both {
        firsts: Store::try_from_iter([first::Item { name: "a".into() }]).unwrap(),
        seconds: Store::try_from_iter([second::Item { id: 1 }]).unwrap(),
    };
    let report = target.sync_from(&source, &mut InMemory, options).unwrap();
    assert_eq!((report.counts.created, report.counts.skipped), (1, 1));
    assert!(target.firsts.is_empty());
    assert_eq!(target.seconds.len(), 1);
}

fn unchanged_listed(report: &SyncReport) -> Vec<String> {
    report
        .outcomes
        .iter()
        .filter(|o| o.status == Status::Unchanged)
        .map(|o| format!("{}{}[{}]", o.parents, o.model, o.key))
        .collect()
}

#[test]
fn a_diff_made_earlier_lists_its_unchanged_elements_too() {
    let options = || SyncOptions::new(SyncFlags::LOG_UNCHANGED_RECORDS);
    let mut by_sync_from = inventory();
    let from = by_sync_from
        .sync_from(&source(), &mut InMemory, options())
        .unwrap();
    let mut by_sync_diff = inventory();
    let diff = by_sync_diff.diff_from(&source()).unwrap();
    let later = by_sync_diff.sync_diff(&diff, &mut InMemory, options());
    let listed = unchanged_listed(&later);
    assert_eq!(listed, unchanged_listed(&from));
    assert_eq!(listed.len(), later.counts.unchanged);
    // The root and ams are unchanged themselves though their children changed.
    assert!(listed.contains(&"inventory[]".to_owned()), "{listed:?}");
    // A root without id fields is written as plans write it, by its name alone.
    let root = later.outcomes.iter().find(|o| o.model == "inventory");
    assert_eq!(
        root.map(ToString::to_string).as_deref(),
        Some("update inventory: unchanged")
    );
    assert!(
        listed.contains(&"site[name=ams] > device[site=ams, name=ams-d0]".to_owned()),
        "{listed:?}"
    );
    assert!(
        listed.contains(
            &"site[name=ams] > device[site=ams, name=ams-d1] > interface[device=ams-d1, name=et-0]"
                .to_owned()
        ),
        "{listed:?}"
    );
    // Without the flag nothing is listed, and a diff is the same whatever the flag.
    let quiet = inventory()
        .sync_from(&source(), &mut InMemory, SyncOptions::default())
        .unwrap();
    assert!(unchanged_listed(&quiet).is_empty());
}

#[test]
fn a_parent_whose_children_changed_is_listed_unchanged() {
    let mut source = inventory();
    source
        .sites
        .get_mut(&SiteKey { name: "ams".into() })
        .unwrap()
        .devices
        .get_mut(&DeviceKey {
            site: "ams".into(),
            name: "ams-d0".into(),
        })
        .unwrap()
        .role = "spine".into();
    let report = inventory()
        .sync_from(
            &source,
            &mut InMemory,
            SyncOptions::new(SyncFlags::LOG_UNCHANGED_RECORDS),
        )
        .unwrap();
    let listed = unchanged_listed(&report);
    assert!(listed.contains(&"site[name=ams]".to_owned()), "{listed:?}");
    assert_eq!(listed.len(), report.counts.unchanged);
    assert_eq!(report.counts.unchanged, 1 + 18 - 1);
}

#[test]
fn the_delete_limit_refuses_a_sync_that_empties_the_target() {
    let mut target = inventory();
    let mut system = Faulty::holding(&target);
    let report = target
        .sync_from(
            &Inventory::default(),
            &mut system,
            SyncOptions::default().delete_limit(DeleteLimit::percent(50)),
        )
        .unwrap();
    let refusal = report.refused.unwrap();
    assert_eq!((refusal.deletes, refusal.elements), (18, 19));
    assert_eq!(refusal.limit, DeleteLimit::percent(50));
    assert!(!report.is_success());
    assert!(report.outcomes.is_empty());
    assert!(system.log.is_empty(), "no hook ran");
    assert_eq!(target, inventory());
    assert_eq!(
        report.to_string(),
        "refused: the sync would delete 18 of 19 elements, a share of more than 94%, over the limit of at most 50% of the target"
    );
}

/// The share a refusal shows is rounded down and said to be more when it is not whole: 1
/// of 3 read "(33%), over the limit of at most 33%". It is shown only beside a limit in
/// percent: beside a count, "7 of 18 elements (more than 38%), over the limit of at most 2
/// deletes" read as if 38% were a limit (an outside tester).
#[test]
fn a_refusal_never_shows_a_share_within_its_limit() {
    let refusal = |deletes, elements, limit| {
        statesync::sync::DeleteRefusal {
            deletes,
            elements,
            limit,
        }
        .to_string()
    };
    let percent = DeleteLimit::percent(33);
    assert_eq!(
        refusal(1, 3, percent),
        "refused: the sync would delete 1 of 3 elements, a share of more than 33%, over the limit of at most 33% of the target"
    );
    assert!(
        refusal(34, 100, percent)
            .ends_with("a share of 34%, over the limit of at most 33% of the target"),
        "{}",
        refusal(34, 100, percent)
    );
    assert_eq!(
        refusal(7, 18, DeleteLimit::at_most(2)),
        "refused: the sync would delete 7 of 18 elements, over the limit of at most 2 deletes"
    );
    assert_eq!(
        refusal(7, 18, DeleteLimit::percent(30).and_at_most(2)),
        "refused: the sync would delete 7 of 18 elements, a share of more than 38%, over the limit of at most 2 deletes and 30%"
    );
    // Over the count only: no share beside the percent it keeps within (a reviewer).
    assert_eq!(
        refusal(30, 100, DeleteLimit::percent(30).and_at_most(2)),
        "refused: the sync would delete 30 of 100 elements, over the limit of at most 2 deletes and 30%"
    );
}

#[test]
fn the_delete_limit_counts_only_the_deletes_the_plan_keeps() {
    // 9 of 19 deletes by count: over a limit of 5, but a flag keeps them all.
    let limit = DeleteLimit::at_most(5);
    let mut target = inventory();
    let refused = target
        .clone()
        .sync_from(
            &source(),
            &mut InMemory,
            SyncOptions::default().delete_limit(limit),
        )
        .unwrap();
    assert_eq!(refused.refused.map(|r| r.deletes), Some(9));
    let report = target
        .sync_from(
            &source(),
            &mut InMemory,
            SyncOptions::new(SyncFlags::SKIP_UNMATCHED_DST).delete_limit(limit),
        )
        .unwrap();
    assert!(report.refused.is_none());
    assert!(report.is_success(), "{report}");
    // Within the limit: the sync runs.
    let mut target = inventory();
    let report = target
        .sync_from(
            &source(),
            &mut InMemory,
            SyncOptions::default().delete_limit(DeleteLimit::percent(50).and_at_most(9)),
        )
        .unwrap();
    assert!(report.is_success(), "{report}");
    assert_eq!(target, source());
}

#[test]
fn a_store_sync_has_the_same_limit() {
    let mut devices: Store<Device> = site("ams", 4, 0).devices;
    let diff = devices.diff(&Store::new()).unwrap();
    let report = devices.sync_diff(
        &diff,
        &mut InMemory,
        SyncOptions::default().delete_limit(DeleteLimit::at_most(3)),
    );
    assert_eq!(
        report.refused.map(|r| (r.deletes, r.elements)),
        Some((4, 4))
    );
    assert_eq!(devices.len(), 4);
}

mod property {
    use proptest::prelude::*;
    use statesync::DiffModel;
    use statesync::sync::{InMemory, ModelFlags, SyncFlags, SyncModel, SyncOptions, SyncOrder};
    use statesync_suite::dataset::{generate, mutate};
    use statesync_suite::inventory::{Device, Interface, Site};

    fn model_flags(bits: u8) -> ModelFlags {
        [
            ModelFlags::IGNORE,
            ModelFlags::SKIP_UNMATCHED_SRC,
            ModelFlags::SKIP_UNMATCHED_DST,
            ModelFlags::SKIP_CHILDREN_ON_DELETE,
            ModelFlags::PARENT_FIRST_DELETION,
        ]
        .into_iter()
        .enumerate()
        .filter(|(at, _)| bits & (1 << at) != 0)
        .fold(ModelFlags::empty(), |all, (_, flag)| all | flag)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// For any change and any flags, the plan counts what the sync does and reaches
        /// the state the sync reaches.
        #[test]
        fn a_plan_is_what_the_sync_does(
            seed in 0u64..1_000,
            sync_bits in 0u8..8,
            site in 0u8..32,
            device in 0u8..32,
            interface in 0u8..32,
            first_device in any::<bool>(),
            per_collection in any::<bool>(),
        ) {
            let target = generate(300, seed);
            let source = mutate(&target, seed.wrapping_add(1));
            let options = || {
                let mut flags = SyncFlags::CONTINUE_ON_FAILURE;
                if sync_bits & 1 != 0 { flags |= SyncFlags::SKIP_UNMATCHED_SRC; }
                if sync_bits & 2 != 0 { flags |= SyncFlags::SKIP_UNMATCHED_DST; }
                let mut options = SyncOptions::new(flags)
                    .model_flags::<Site>(model_flags(site))
                    .model_flags::<Device>(model_flags(device))
                    .model_flags::<Interface>(model_flags(interface));
                if first_device
                    && let Some(device) = target.sites.iter().flat_map(|s| s.devices.iter()).next()
                {
                    options = options.instance_flags::<Device>(device.key(), ModelFlags::IGNORE);
                }
                if per_collection { options = options.order(SyncOrder::PerCollection); }
                options
            };
            let plan = target.diff_from_with(&source, &options()).unwrap();
            let mut synced = target.clone();
            let report = synced.sync_from(&source, &mut InMemory, options()).unwrap();
            prop_assert!(report.is_success(), "{}", report);
            prop_assert_eq!(plan.summary(), super::counts(&report));
            let mut applied = target.clone();
            applied.apply(plan.diff()).unwrap();
            prop_assert!(applied.diff(&synced).unwrap().is_empty());
        }
    }
}

/// A plan of a diff the sync refuses part of lists the refusals: before, a create of a
/// site the target holds planned as "no changes (N elements left alone by flags)", with no
/// flag set, and the sync then failed.
#[test]
fn a_plan_lists_the_elements_the_sync_will_refuse() {
    let target = inventory();
    let mut without_ams = inventory();
    without_ams.sites.remove(&SiteKey { name: "ams".into() });
    // Creates `ams`, which the target holds.
    let diff = without_ams.diff(&inventory()).unwrap();
    for flags in [SyncFlags::empty(), SyncFlags::CONTINUE_ON_FAILURE] {
        let options = || SyncOptions::new(flags);
        let plan = target.plan(&diff, &options()).unwrap();
        assert!(plan.is_empty());
        let refused: Vec<String> = plan.refused().iter().map(ToString::to_string).collect();
        assert_eq!(
            refused,
            ["create site[name=ams]: failed: cannot create site[name=ams]: it already exists"]
        );
        let shown = plan.to_string();
        assert!(
            shown.contains("refused (1 element):\n  create site[name=ams]"),
            "{shown}"
        );
        assert!(shown.contains("because of a refused element"), "{shown}");
        let mut synced = target.clone();
        let report = synced.sync_diff(&diff, &mut InMemory, options());
        let failed: Vec<String> = report.failures().map(ToString::to_string).collect();
        assert_eq!(failed, refused);
        assert_eq!(plan.summary(), counts(&report));
    }
    // A diff made from the target is refused nothing.
    let plan = target
        .diff_from_with(&source(), &SyncOptions::default())
        .unwrap();
    assert!(plan.refused().is_empty());
}

/// The unchanged elements under a refused update (here of a site the target lacks) are not
/// walked: they are not counted as unchanged either, so the count is what
/// `LOG_UNCHANGED_RECORDS` lists, and the plan says the same.
#[test]
fn unchanged_elements_under_a_refused_update_are_not_counted() {
    let mut target = inventory();
    target.sites.remove(&SiteKey { name: "ams".into() });
    let mut new = inventory();
    new.sites.modify(&SiteKey { name: "ams".into() }, |ams| {
        ams.devices.modify(
            &DeviceKey {
                site: "ams".into(),
                name: "ams-d1".into(),
            },
            |device| device.role = "spine".into(),
        );
    });
    let diff = inventory().diff(&new).unwrap();
    let options =
        || SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE | SyncFlags::LOG_UNCHANGED_RECORDS);
    let plan = target.plan(&diff, &options()).unwrap();
    for (_, report, _) in crate::calls::sync_both_with(&target, &diff, options) {
        assert_eq!(
            (report.counts.failed, report.counts.skipped),
            (1, 1),
            "{report}"
        );
        let listed = unchanged_listed(&report);
        assert_eq!(report.counts.unchanged, listed.len(), "{listed:?}");
        assert!(
            !listed.iter().any(|element| element.contains("ams")),
            "{listed:?}"
        );
        assert_eq!(plan.summary(), counts(&report));
    }
}
