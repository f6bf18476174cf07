//! A callback that panics while a deleted element's children are being deleted: the
//! children whose delete succeeded still leave memory (an outside reviewer's case).

use statesync::sync::{
    AsyncAdapter, AsyncHooks, AsyncSyncModel, AsyncSyncOptions, HookError, Parents, SyncOptions,
    SyncOrder,
};
use statesync::{DiffModel, Store};

use super::runtime;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Kid {
    #[statesync(id)]
    id: u32,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Mom {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    kids: Store<Kid>,
}

#[derive(DiffModel, Clone, Debug, PartialEq, Default)]
struct Town {
    #[statesync(children)]
    moms: Store<Mom>,
}

/// Deletes every kid but kid 3, and notes which.
#[derive(Default)]
struct KidThreeFails {
    deleted: std::sync::Mutex<Vec<u32>>,
}

impl AsyncAdapter for KidThreeFails {}
impl AsyncHooks<Town> for KidThreeFails {}
impl AsyncHooks<Mom> for KidThreeFails {}
impl AsyncHooks<Kid> for KidThreeFails {
    async fn delete(&self, kid: &Kid, _: &Parents) -> Result<(), HookError> {
        if kid.id == 3 {
            return Err("kid 3 refused".into());
        }
        self.deleted.lock().unwrap().push(kid.id);
        Ok(())
    }
}

/// Kid 3's failure stops the sync, and the outcome callback panics on the first kid the
/// stop skips: the kids deleted before (0 to 2) leave memory all the same. They waited to
/// leave with their group, which the panic kept from ending, and stayed.
#[test]
fn kids_deleted_before_a_panicking_callback_leave_memory() {
    for order in [SyncOrder::DeletesFirst, SyncOrder::PerCollection] {
        for in_flight in [1, 2] {
            let hooks = KidThreeFails::default();
            let kids = Store::try_from_iter((0..8).map(|id| Kid { id })).unwrap();
            let mom = Mom {
                name: "m".into(),
                kids,
            };
            let mut target = Town {
                moms: Store::try_from_iter([mom]).unwrap(),
            };
            let sync = SyncOptions::default().order(order).on_outcome(|outcome| {
                let text = outcome.to_string();
                assert!(!text.contains("skipped"), "the callback panics on {text}");
            });
            let options = AsyncSyncOptions::new(sync).max_in_flight(in_flight);
            let sync = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                runtime().block_on(target.sync_from_async(&Town::default(), &hooks, options))
            }));
            assert!(sync.is_err(), "the callback panicked");
            let deleted = hooks.deleted.into_inner().unwrap();
            assert_eq!(deleted, [0, 1, 2], "{order:?}, {in_flight} in flight");
            let in_memory: Vec<u32> = target
                .moms
                .iter()
                .flat_map(|mom| mom.kids.iter().map(|kid| kid.id))
                .collect();
            assert_eq!(
                in_memory,
                [3, 4, 5, 6, 7],
                "{order:?}, {in_flight} in flight"
            );
        }
    }
}
