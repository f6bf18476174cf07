//! Children in a map: an entry filed under another key than its model's is refused by
//! both engines before any hook, and memory is left as it was.

use std::collections::BTreeMap;

use statesync::sync::{
    Adapter, AsyncAdapter, AsyncHooks, AsyncSyncModel, AsyncSyncOptions, HookError, Hooks, Parents,
    Status, SyncFlags, SyncModel, SyncOptions, SyncReport,
};
use statesync::{DiffModel, Error};

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Rack {
    #[statesync(id)]
    slot: u32,
    label: String,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Room {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    racks: BTreeMap<RackKey, Rack>,
}

fn rack(slot: u32, label: &str) -> Rack {
    Rack {
        slot,
        label: label.into(),
    }
}

fn room(racks: &[Rack]) -> Room {
    Room {
        name: "r".into(),
        racks: racks
            .iter()
            .map(|rack| (rack.key(), rack.clone()))
            .collect(),
    }
}

/// A room whose entry for slot 1 holds rack 6.
fn misfiled() -> Room {
    let mut room = room(&[]);
    room.racks.insert(RackKey { slot: 1 }, rack(6, "a"));
    room
}

/// Records every hook called.
#[derive(Default)]
struct Calls(std::sync::Mutex<Vec<String>>);

impl Calls {
    fn note<M: DiffModel>(&self, what: &str, model: &M) -> Result<(), HookError> {
        if let Ok(mut calls) = self.0.lock() {
            calls.push(format!("{what} {}", model.key()));
        }
        Ok(())
    }

    fn taken(&self) -> Vec<String> {
        self.0.lock().map(|calls| calls.clone()).unwrap_or_default()
    }
}

impl Adapter for Calls {}
impl<M: DiffModel> Hooks<M> for Calls {
    fn create(&mut self, model: &M, _: &Parents) -> Result<(), HookError> {
        self.note("create", model)
    }
    fn update(&mut self, model: &M, _: &M::Changes, _: &Parents) -> Result<(), HookError> {
        self.note("update", model)
    }
    fn delete(&mut self, model: &M, _: &Parents) -> Result<(), HookError> {
        self.note("delete", model)
    }
}

impl AsyncAdapter for Calls {}
impl<M: DiffModel + Send + Sync> AsyncHooks<M> for Calls
where
    M::Changes: Sync,
{
    async fn create(&self, model: &M, _: &Parents) -> Result<(), HookError> {
        self.note("create", model)
    }
    async fn update(&self, model: &M, _: &M::Changes, _: &Parents) -> Result<(), HookError> {
        self.note("update", model)
    }
    async fn delete(&self, model: &M, _: &Parents) -> Result<(), HookError> {
        self.note("delete", model)
    }
}

/// Syncs `diff` into `target` with each engine: the reports, and the hooks each called.
fn sync_both(target: &Room, diff: &statesync::Diff<Room>) -> Vec<(Room, SyncReport, Vec<String>)> {
    let options = || SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE);
    let mut blocking = target.clone();
    let mut calls = Calls::default();
    let report = blocking.sync_diff(diff, &mut calls, options());
    let blocking = (blocking, report, calls.taken());
    let mut concurrent = target.clone();
    let calls = Calls::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let report = runtime.block_on(concurrent.sync_diff_async(
        diff,
        &calls,
        AsyncSyncOptions::new(options()),
    ));
    vec![blocking, (concurrent, report, calls.taken())]
}

/// The error of the report's first failure.
fn failure(report: &SyncReport) -> Option<Error> {
    let outcome = report.failures().next()?;
    let Status::Failed(failure) = &outcome.status else {
        return None;
    };
    failure.error().downcast_ref::<Error>().cloned()
}

/// Before, the create went through and the map held rack 6 twice (under 1 and under 6).
#[test]
fn a_create_into_a_map_holding_a_model_under_another_key_is_refused() {
    let diff = room(&[]).diff(&room(&[rack(6, "a")])).unwrap();
    for (state, report, calls) in sync_both(&misfiled(), &diff) {
        assert!(calls.is_empty(), "{calls:?}");
        assert!(
            matches!(failure(&report), Some(Error::KeyMismatch { .. })),
            "{report:?}"
        );
        assert_eq!(state, misfiled());
    }
}

/// Before, the update hook ran on rack 6 for the update of rack 1.
#[test]
fn an_update_of_a_map_entry_holding_another_key_is_refused() {
    let diff = room(&[rack(1, "a")]).diff(&room(&[rack(1, "b")])).unwrap();
    for (state, report, calls) in sync_both(&misfiled(), &diff) {
        assert!(calls.is_empty(), "{calls:?}");
        assert!(
            matches!(failure(&report), Some(Error::KeyMismatch { .. })),
            "{report:?}"
        );
        assert_eq!(state, misfiled());
    }
}

#[test]
fn a_delete_of_a_map_entry_holding_another_key_is_refused() {
    let diff = room(&[rack(1, "a")]).diff(&room(&[])).unwrap();
    for (state, report, calls) in sync_both(&misfiled(), &diff) {
        assert!(calls.is_empty(), "{calls:?}");
        assert!(
            matches!(failure(&report), Some(Error::KeyMismatch { .. })),
            "{report:?}"
        );
        assert_eq!(state, misfiled());
    }
}
