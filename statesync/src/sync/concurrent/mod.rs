//! The async, concurrent sync engine (feature `async`): hooks that return futures, run up
//! to `max_in_flight` at once as a dependency graph, with retries and a rate limit.
//!
//! It keeps every guarantee of the blocking engine: a parent is created before any of its
//! children and children are deleted before their parent (or as the flags say); by
//! default ([`SyncOrder::DeletesFirst`](super::SyncOrder)) every delete ends before any
//! update or create starts; a failed create skips its subtree, a failed delete its
//! ancestors; without `CONTINUE_ON_FAILURE` the first failure stops new work (calls in
//! flight finish and are recorded; calls not started are reported as skipped with
//! [`SkipReason::Stopped`](super::SkipReason)); the in-memory target changes only where a
//! hook succeeded. Siblings and independent subtrees run concurrently.
//!
//! **How.** The blocking engine itself lists the hook calls of the sync (on a copy of the
//! target, every hook taken as a success) with what each needs first; those calls run
//! concurrently; then the blocking engine runs again on the target, each hook call answered
//! with the result its async call had. Memory and report are thus exactly the blocking
//! engine's for the same hook results (with `CONTINUE_ON_FAILURE`), in the blocking
//! engine's order (not completion order), and each [`Outcome`](super::Outcome) says how
//! many attempts its hook took.
//!
//! **Cancellation.** The sync future holds the target mutably, so nothing can see memory
//! while it runs; when it ends, or is dropped (a timeout, Ctrl-C), memory is brought to
//! what the hooks that completed did: calls still in flight are abandoned, and a later
//! sync finds and redoes what they (and calls never started) left undone.
//!
//! **Executor.** Any: the engine uses only the `futures` crate. A timer for backoff and
//! the rate limit comes from the options ([`AsyncSyncOptions::sleep`]).
//!
//! ```
//! use std::sync::Mutex;
//! use statesync::sync::{
//!     AsyncAdapter, AsyncHooks, AsyncSyncModel, AsyncSyncOptions, HookError, Parents, RetryPolicy,
//!     Transient,
//! };
//! use statesync::{DiffModel, Store};
//! # // Serde for three levels (a derive limit being lifted elsewhere).
//! # use serde::{Deserialize, Serialize};
//!
//! #[derive(DiffModel, Clone, Debug, PartialEq, Serialize, Deserialize)]
//! struct Inventory {
//!     #[statesync(children)]
//!     sites: Store<Site>,
//! }
//!
//! #[derive(DiffModel, Clone, Debug, PartialEq, Serialize, Deserialize)]
//! struct Site {
//!     #[statesync(id)]
//!     name: String,
//!     #[statesync(children)]
//!     devices: Store<Device>,
//! }
//!
//! #[derive(DiffModel, Clone, Debug, PartialEq, Serialize, Deserialize)]
//! struct Device {
//!     #[statesync(id)]
//!     name: String,
//!     model: String,
//! }
//!
//! /// A remote API: hooks take `&self`, so the state is behind a lock (a real client,
//! /// reqwest's say, is shareable already).
//! #[derive(Default)]
//! struct Api {
//!     calls: Mutex<Vec<String>>,
//! }
//!
//! impl AsyncAdapter for Api {}
//! impl AsyncHooks<Inventory> for Api {}
//! impl AsyncHooks<Site> for Api {
//!     async fn create(&self, site: &Site, _: &Parents) -> Result<(), HookError> {
//!         tokio::time::sleep(std::time::Duration::from_millis(5)).await; // the network
//!         self.calls.lock().unwrap().push(format!("POST /sites/{}", site.name));
//!         Ok(())
//!     }
//! }
//! impl AsyncHooks<Device> for Api {
//!     async fn create(&self, device: &Device, parents: &Parents) -> Result<(), HookError> {
//!         let site = parents.key::<Site>().ok_or("a device needs a site")?;
//!         tokio::time::sleep(std::time::Duration::from_millis(5)).await;
//!         if device.name == "flaky" && !self.calls.lock().unwrap().contains(&"retry".into()) {
//!             self.calls.lock().unwrap().push("retry".into());
//!             return Err(Transient::new("503 Service Unavailable").into());
//!         }
//!         self.calls.lock().unwrap().push(format!("POST /sites/{}/devices/{}", site.name, device.name));
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), statesync::Error> {
//! let device = |name: &str| Device { name: name.into(), model: "x1".into() };
//! let site = |name: &str| Site {
//!     name: name.into(),
//!     devices: Store::try_from_iter([device("sw1"), device("flaky")]).unwrap(),
//! };
//! let mut target = Inventory { sites: Store::new() };
//! let source = Inventory { sites: Store::try_from_iter([site("nyc"), site("sfo")])? };
//!
//! let api = Api::default();
//! let options = AsyncSyncOptions::default()
//!     .max_in_flight(8)
//!     .retry(RetryPolicy::attempts(3))
//!     .sleep(|duration| Box::pin(tokio::time::sleep(duration)));
//! let report = target.sync_from_async(&source, &api, options).await?;
//! assert!(report.is_success(), "{report}");
//! assert_eq!(report.counts.created, 6);
//! assert_eq!(report.outcomes.iter().map(|o| o.attempts).max(), Some(2)); // one retry
//! let calls = api.calls.lock().unwrap();
//! let at = |call: &str| calls.iter().position(|c| c == call).unwrap();
//! assert!(at("POST /sites/nyc") < at("POST /sites/nyc/devices/sw1")); // parents first
//! assert_eq!(target, source);
//! # Ok(())
//! # }
//! ```

mod bridge;
mod options;
mod schedule;

use std::future::Future;
use std::time::Instant;

pub use bridge::AsyncBridge;
pub use options::{AsyncSyncOptions, IsTransient, RetryPolicy, Sleep, Transient};

use super::flags::{SyncFlags, SyncOptions, SyncOrder};
use super::parents::Parents;
use super::report::{SkipReason, Status, SyncCounts, SyncReport};
use super::run::Run;
use super::{HookError, SyncTree, engine, plan};
use crate::diff::Diff;
use crate::error::Error;
use crate::model::DiffModel;
use bridge::{Job, Mode};
use schedule::Schedule;

/// What carries changes into one external system, asynchronously; the per-model work is
/// in [`AsyncHooks`]. Hooks take `&self` so many run at once: keep state behind a lock or
/// in a client that is shareable already. The futures are `Send`, for multi-threaded
/// runtimes.
pub trait AsyncAdapter: Sync {
    /// Called once after a sync that changed something, for bulk flushing or commit.
    ///
    /// # Errors
    /// Whatever the system reports; it is recorded in [`SyncReport::complete_error`].
    fn sync_complete(
        &self,
        report: &SyncReport,
    ) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = report;
        std::future::ready(Ok(()))
    }

    /// Called once at the end of every sync, after `sync_complete` if that ran.
    fn sync_finished(&self, report: &SyncReport) -> impl Future<Output = ()> + Send {
        let _ = report;
        std::future::ready(())
    }
}

/// The async hooks of an adapter for one model type: [`Hooks`](super::Hooks) with `async
/// fn`s that take `&self`. Every method defaults to success, so an empty
/// `impl AsyncHooks<M> for MyAdapter {}` means "in memory only" for `M`. A sync needs
/// hooks for every model type in the tree: a missing impl does not compile.
///
/// Return [`Transient`] errors for failures worth retrying (see [`RetryPolicy`]).
///
/// A model of the tree without async hooks does not compile ("`Api` has no async hooks
/// for `Port`"):
///
/// ```compile_fail,E0277
/// use statesync::sync::{AsyncAdapter, AsyncHooks, AsyncSyncModel, AsyncSyncOptions};
/// use statesync::{DiffModel, Store};
///
/// #[derive(DiffModel, Clone, Debug, PartialEq)]
/// struct Device {
///     #[statesync(id)]
///     name: String,
///     #[statesync(children)]
///     ports: Store<Port>,
/// }
///
/// #[derive(DiffModel, Clone, Debug, PartialEq)]
/// struct Port {
///     #[statesync(id)]
///     name: String,
/// }
///
/// struct Api;
/// impl AsyncAdapter for Api {}
/// impl AsyncHooks<Device> for Api {}
///
/// async fn sync(target: &mut Device, source: &Device) {
///     let _ = target.sync_from_async(source, &Api, AsyncSyncOptions::default()).await;
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no async hooks for `{M}`",
    label = "this adapter cannot sync `{M}` models",
    note = "implement `AsyncHooks<{M}>` for `{Self}`; an empty `impl AsyncHooks<{M}> for {Self} {{}}` keeps the in-memory default"
)]
pub trait AsyncHooks<M: DiffModel>: AsyncAdapter {
    /// Creates `model` in the system (its children are created after it succeeded).
    ///
    /// # Errors
    /// The system's error; the element and its subtree are then not created in memory.
    fn create(
        &self,
        model: &M,
        parents: &Parents,
    ) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = (model, parents);
        std::future::ready(Ok(()))
    }

    /// Updates the system: `model` is the model after the update, `changes` the changed
    /// attributes with old and new values.
    ///
    /// # Errors
    /// The system's error; the in-memory model keeps its old values.
    fn update(
        &self,
        model: &M,
        changes: &M::Changes,
        parents: &Parents,
    ) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = (model, changes, parents);
        std::future::ready(Ok(()))
    }

    /// Deletes `model` from the system (its children were deleted before, unless a flag
    /// says otherwise).
    ///
    /// # Errors
    /// The system's error; the element stays in memory.
    fn delete(
        &self,
        model: &M,
        parents: &Parents,
    ) -> impl Future<Output = Result<(), HookError>> + Send {
        let _ = (model, parents);
        std::future::ready(Ok(()))
    }
}

/// The adapter that only changes the in-memory state: [`InMemory`](super::InMemory) has
/// async hooks for every model too.
impl AsyncAdapter for super::InMemory {}

impl<M: DiffModel> AsyncHooks<M> for super::InMemory {}

/// Sync in diffsync's words, asynchronously and concurrently, on any model whose tree `H`
/// has async hooks for (see the [module docs](crate::sync::concurrent)).
pub trait AsyncSyncModel: DiffModel + Send + Sync {
    /// Makes `self` (the target) look like `source`, through `hooks`.
    ///
    /// # Errors
    /// Only a failed diff; hook failures are in the report.
    fn sync_from_async<'a, H>(
        &'a mut self,
        source: &'a Self,
        hooks: &'a H,
        options: AsyncSyncOptions<'a>,
    ) -> impl Future<Output = Result<SyncReport, Error>> + Send + 'a
    where
        H: AsyncAdapter + ?Sized,
        Self: SyncTree<AsyncBridge<H>>,
        Diff<Self>: Send + Sync,
    {
        async move {
            let diff = self.diff(source)?;
            Ok(self.sync_diff_async(&diff, hooks, options).await)
        }
    }

    /// Makes `target` look like `self` (the source), through `hooks`.
    ///
    /// # Errors
    /// Only a failed diff; hook failures are in the report.
    fn sync_to_async<'a, H>(
        &'a self,
        target: &'a mut Self,
        hooks: &'a H,
        options: AsyncSyncOptions<'a>,
    ) -> impl Future<Output = Result<SyncReport, Error>> + Send + 'a
    where
        H: AsyncAdapter + ?Sized,
        Self: SyncTree<AsyncBridge<H>>,
        Diff<Self>: Send + Sync,
    {
        target.sync_from_async(self, hooks, options)
    }

    /// Carries a diff computed earlier into `self` through `hooks`, concurrently.
    fn sync_diff_async<'a, H>(
        &'a mut self,
        diff: &'a Diff<Self>,
        hooks: &'a H,
        options: AsyncSyncOptions<'a>,
    ) -> impl Future<Output = SyncReport> + Send + 'a
    where
        H: AsyncAdapter + ?Sized,
        Self: SyncTree<AsyncBridge<H>>,
        Diff<Self>: Send + Sync,
    {
        sync_diff(self, diff, hooks, options)
    }
}

impl<M: DiffModel + Send + Sync> AsyncSyncModel for M {}

/// The async engine: the delete limit, the jobs, their run, their results applied.
async fn sync_diff<M, H>(
    target: &mut M,
    diff: &Diff<M>,
    hooks: &H,
    mut options: AsyncSyncOptions<'_>,
) -> SyncReport
where
    M: SyncTree<AsyncBridge<H>> + Send + Sync,
    H: AsyncAdapter + ?Sized,
    Diff<M>: Send + Sync,
{
    let started = Instant::now();
    let summary = diff.summary();
    tracing::info!(
        model = M::NAME,
        create = summary.create,
        update = summary.update,
        delete = summary.delete,
        max_in_flight = options.max_in_flight,
        "async sync started"
    );
    let deletes_first = options.sync.order == SyncOrder::DeletesFirst;
    if let Some(refusal) = plan::check_delete_limit(
        &*target,
        diff,
        &mut AsyncBridge::<H>::collector(deletes_first),
        &options.sync,
        &crate::summary::subtree_size,
        &mut |target, diff, run| engine::sync_root(target, diff, run),
    ) {
        let report = SyncReport {
            refused: Some(refusal),
            counts: SyncCounts {
                unchanged: summary.unchanged,
                ..SyncCounts::default()
            },
            elapsed: started.elapsed(),
            ..SyncReport::default()
        };
        hooks.sync_finished(&report).await;
        return report;
    }
    let (jobs, misfit) = collect::<M, H>(target, diff, &options.sync);
    let mut applier = Applier {
        schedule: Schedule::new(&jobs),
        jobs,
        target,
        diff,
        options: Some(options.sync.for_replay()),
        unchanged: summary.unchanged,
    };
    // A diff that does not fit the target (an update of a missing key) fails without a
    // hook: without CONTINUE_ON_FAILURE that stops the sync before anything starts.
    if misfit && !options.sync.flags.contains(SyncFlags::CONTINUE_ON_FAILURE) {
        applier.schedule.stopped = true;
    }
    applier
        .schedule
        .run(&applier.jobs, hooks, &mut options)
        .await;
    tracing::debug!(
        jobs = applier.jobs.len(),
        max_in_flight = applier.schedule.max_in_flight_seen,
        "hooks done"
    );
    let mut report = applier.apply();
    if report.changed_anything() {
        report.record_complete(hooks.sync_complete(&report).await);
    }
    hooks.sync_finished(&report).await;
    report.elapsed = started.elapsed();
    report.log_finished("async sync finished");
    report
}

/// The hook calls of a sync of `diff` into `target`, each with the calls it needs first;
/// and whether the diff does not fit the target somewhere (a failure without a hook).
fn collect<M, H>(target: &M, diff: &Diff<M>, options: &SyncOptions<'_>) -> (Vec<Job<H>>, bool)
where
    M: SyncTree<AsyncBridge<H>>,
    H: ?Sized,
{
    let mut copy = target.clone();
    let mut bridge = AsyncBridge::collector(options.order == SyncOrder::DeletesFirst);
    let mut run = Run::new(&mut bridge, options.for_replay(), 0);
    run.walk(|run| engine::sync_root(&mut copy, diff, run));
    let misfit = run.finish().counts.failed > 0;
    match bridge.mode {
        Mode::Collect(collector) => (collector.jobs, misfit),
        Mode::Replay(_) => (Vec::new(), misfit),
    }
}

/// Applies the jobs' results to the target, once: when the sync ends, or when its future
/// is dropped.
struct Applier<'t, M, H>
where
    M: SyncTree<AsyncBridge<H>>,
    H: ?Sized,
{
    schedule: Schedule,
    jobs: Vec<Job<H>>,
    target: &'t mut M,
    diff: &'t Diff<M>,
    /// Taken by the one replay.
    options: Option<SyncOptions<'static>>,
    unchanged: usize,
}

impl<M, H> Applier<'_, M, H>
where
    M: SyncTree<AsyncBridge<H>>,
    H: ?Sized,
{
    /// Replays the sync on the target with each hook answered by its job's result; the
    /// report of that replay, with attempts, and calls never made reported as skipped.
    fn apply(&mut self) -> SyncReport {
        let Some(options) = self.options.take() else {
            return SyncReport::default();
        };
        let jobs = std::mem::take(&mut self.jobs);
        let results = std::mem::take(&mut self.schedule.results);
        let total = self.diff.summary().changes();
        let mut bridge = AsyncBridge::replayer(jobs, results);
        let mut run = Run::new(&mut bridge, options, total);
        run.report.counts.unchanged = self.unchanged;
        let (target, diff) = (&mut *self.target, self.diff);
        run.walk(|run| engine::sync_root(target, diff, run));
        let mut report = run.finish();
        report.stopped = self.schedule.stopped;
        if let Mode::Replay(replayer) = &bridge.mode {
            let called = report
                .outcomes
                .iter_mut()
                .filter(|outcome| outcome.attempts == 1);
            for (outcome, &(attempts, not_run)) in called.zip(&replayer.answers) {
                outcome.attempts = attempts;
                if not_run && matches!(outcome.status, Status::Failed(_)) {
                    outcome.status = Status::Skipped(SkipReason::Stopped);
                    report.counts.failed = report.counts.failed.saturating_sub(1);
                    report.counts.skipped += 1;
                }
            }
        }
        report
    }
}

impl<M, H> Drop for Applier<'_, M, H>
where
    M: SyncTree<AsyncBridge<H>>,
    H: ?Sized,
{
    /// A dropped sync future still leaves memory as the completed hooks made the system.
    fn drop(&mut self) {
        if self.options.is_some() {
            drop(self.apply());
        }
    }
}
