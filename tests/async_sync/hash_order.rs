//! The children of a created or deleted element held in a `HashMap` are walked in key
//! order by both engines, so the same hook results leave the same memory and report.

use std::collections::HashMap;

use statesync::sync::{
    Adapter, AsyncAdapter, AsyncHooks, AsyncSyncModel, AsyncSyncOptions, HookError, Hooks, Parents,
    SyncModel, SyncOptions,
};
use statesync::{DiffModel, Store};

use super::runtime;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Hen {
    #[statesync(id)]
    id: u32,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Barn {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    hens: HashMap<HenKey, Hen>,
}

#[derive(DiffModel, Clone, Debug, PartialEq, Default)]
struct Farm {
    #[statesync(children)]
    barns: Store<Barn>,
}

/// Hooks whose every call on hen 7 fails (blocking and async alike).
struct HenSevenFails;

fn hen_seven(hen: &Hen) -> Result<(), HookError> {
    if hen.id == 7 {
        return Err("hen 7 refused".into());
    }
    Ok(())
}

impl Adapter for HenSevenFails {}
impl Hooks<Farm> for HenSevenFails {}
impl Hooks<Barn> for HenSevenFails {}
impl Hooks<Hen> for HenSevenFails {
    fn create(&mut self, hen: &Hen, _: &Parents) -> Result<(), HookError> {
        hen_seven(hen)
    }

    fn delete(&mut self, hen: &Hen, _: &Parents) -> Result<(), HookError> {
        hen_seven(hen)
    }
}

impl AsyncAdapter for HenSevenFails {}
impl AsyncHooks<Farm> for HenSevenFails {}
impl AsyncHooks<Barn> for HenSevenFails {}
impl AsyncHooks<Hen> for HenSevenFails {
    async fn create(&self, hen: &Hen, _: &Parents) -> Result<(), HookError> {
        hen_seven(hen)
    }

    async fn delete(&self, hen: &Hen, _: &Parents) -> Result<(), HookError> {
        hen_seven(hen)
    }
}

fn farm(hens: u32) -> Farm {
    let hens = (0..hens).map(|id| Hen { id }).map(|hen| (hen.key(), hen));
    let barn = Barn {
        name: "b".into(),
        hens: hens.collect(),
    };
    Farm {
        barns: Store::try_from_iter([barn]).unwrap(),
    }
}

/// Hen 7 fails and stops the sync (no `CONTINUE_ON_FAILURE`): the hens before it in key
/// order were deleted (or created), those after it never tried, in both engines. The
/// async engine read a `HashMap` in its hash order, so which hens it tried (and what
/// memory kept) changed from run to run.
#[test]
fn a_hash_maps_children_are_walked_in_key_order_by_both_engines() {
    for (before, after) in [(farm(20), Farm::default()), (Farm::default(), farm(20))] {
        let mut blocking = before.clone();
        let blocking_report = blocking
            .sync_from(&after, &mut HenSevenFails, SyncOptions::default())
            .unwrap();
        for in_flight in [1, 4] {
            let mut concurrent = before.clone();
            let options = AsyncSyncOptions::new(SyncOptions::default()).max_in_flight(in_flight);
            let report = runtime()
                .block_on(concurrent.sync_from_async(&after, &HenSevenFails, options))
                .unwrap();
            let hens = |farm: &Farm| {
                let mut ids: Vec<u32> = farm
                    .barns
                    .iter()
                    .flat_map(|barn| barn.hens.values().map(|hen| hen.id))
                    .collect();
                ids.sort_unstable();
                ids
            };
            if in_flight == 1 {
                // One call at a time: exactly the blocking engine's calls.
                assert_eq!(hens(&concurrent), hens(&blocking), "{in_flight} in flight");
                // (The async engine lists the calls it never started as stopped.)
                let done = |counts: statesync::sync::SyncCounts| {
                    (counts.created, counts.deleted, counts.failed)
                };
                assert_eq!(
                    done(report.counts),
                    done(blocking_report.counts),
                    "{in_flight} in flight"
                );
            } else {
                // Calls already started when hen 7 failed end too: at most 3 more, all
                // of them after hen 7 in key order.
                let extra: Vec<u32> = hens(&blocking)
                    .into_iter()
                    .filter(|id| !hens(&concurrent).contains(id))
                    .chain(
                        hens(&concurrent)
                            .into_iter()
                            .filter(|id| !hens(&blocking).contains(id)),
                    )
                    .collect();
                assert!(extra.iter().all(|id| *id > 7), "{extra:?}");
                assert!(extra.len() <= 3, "{extra:?}");
            }
        }
    }
}
