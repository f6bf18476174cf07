//! An adapter that records every hook called, for both engines.

use statesync::sync::{
    Adapter, AsyncAdapter, AsyncBridge, AsyncHooks, AsyncSyncModel, AsyncSyncOptions, HookError,
    Hooks, Parents, Status, SyncFlags, SyncModel, SyncOptions, SyncReport, SyncTree,
};
use statesync::{Diff, DiffModel, Error};

/// Records every hook called. A create of a model whose key reads `refused` in it fails
/// (the system refuses it), after it is recorded.
#[derive(Default)]
pub struct Calls(std::sync::Mutex<Vec<String>>);

impl Calls {
    fn note<M: DiffModel>(&self, what: &str, model: &M) -> Result<(), HookError> {
        let key = model.key().to_string();
        if let Ok(mut calls) = self.0.lock() {
            calls.push(format!("{what} {key}"));
        }
        if what == "create" && key.contains("refused") {
            return Err(HookError::from("the system refuses it"));
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

/// Syncs `diff` into `target` with each engine (continuing on failure): the states, the
/// reports, and the hooks each called.
pub fn sync_both<M>(target: &M, diff: &Diff<M>) -> Vec<(M, SyncReport, Vec<String>)>
where
    M: SyncTree<Calls> + SyncTree<AsyncBridge<Calls>> + Send + Sync,
    Diff<M>: Send + Sync,
{
    sync_both_with(target, diff, || {
        SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE)
    })
}

/// [`sync_both`] with the options `options` makes.
pub fn sync_both_with<M>(
    target: &M,
    diff: &Diff<M>,
    options: impl Fn() -> SyncOptions<'static>,
) -> Vec<(M, SyncReport, Vec<String>)>
where
    M: SyncTree<Calls> + SyncTree<AsyncBridge<Calls>> + Send + Sync,
    Diff<M>: Send + Sync,
{
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
pub fn failure(report: &SyncReport) -> Option<Error> {
    let outcome = report.failures().next()?;
    let Status::Failed(failure) = &outcome.status else {
        return None;
    };
    failure.error().downcast_ref::<Error>().cloned()
}
