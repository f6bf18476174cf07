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
//! **How.** The engine walks the diff step by step with the blocking engine's own typed
//! walk and decisions (flags, refusals, records): each step goes from the root down to one
//! collection by the keys on the way, starts the calls there is room for and leaves a
//! cursor where it stopped. A call's result is applied to the target as soon as it ends
//! (a created element goes into memory then, an updated one takes its new values, a deleted
//! one leaves), and what waited for it (a created element's children, a parent's delete
//! after its children) gets its own cursor. The engine keeps only those cursors, the calls
//! in flight and the deletes waiting on children: its working memory grows with
//! `max_in_flight` and the depth of the tree, not with the size of the diff or the target
//! (see the README's numbers). Each call holds a copy of its element (as the blocking
//! engine shows it to its hook, children included) until it ends.
//!
//! **Report.** The outcomes are those of the blocking engine for the same hook results,
//! recorded in completion order: an element when its call ends, an element decided without
//! a call (a flag, a refusal, unchanged) when the walk reaches it. After a stop, every
//! element the walk had not started is listed as skipped
//! ([`SkipReason::Stopped`](super::SkipReason)). Each [`Outcome`](super::Outcome) says how
//! many attempts its hook took. To sync a huge diff without keeping one outcome per
//! element, hand them to [`SyncOptions::on_outcome`](super::SyncOptions::on_outcome).
//!
//! **Cancellation.** The sync future holds the target mutably, so nothing can see memory
//! while it runs; when it is dropped (a timeout, Ctrl-C), memory is left as the hooks that
//! completed made the system: calls still in flight are abandoned, the children of created
//! elements that were never created leave memory again, and a later sync finds and redoes
//! what was left undone. An abandoned call may still land in the system (a request
//! already sent, a statement the database received), and memory does not hold its
//! change: after a drop, reload the target from the system, or write hooks that tolerate a
//! repeat (a create as an upsert, the delete of a missing row as done).
//!
//! **Executor.** Any: the engine uses only the `futures` crate (and `futures-timer`). A
//! timer for backoff and the rate limit comes from the options
//! ([`AsyncSyncOptions::sleep`]), or else is `futures-timer`'s, on a thread of its own.
//!
//! ```
//! use std::sync::Mutex;
//! use statesync::sync::{
//!     AsyncAdapter, AsyncHooks, AsyncSyncModel, AsyncSyncOptions, HookError, Parents, RetryPolicy,
//!     Transient,
//! };
//! use statesync::{DiffModel, Store};
//!
//! #[derive(DiffModel, Clone, Debug, PartialEq)]
//! struct Inventory {
//!     #[statesync(children)]
//!     sites: Store<Site>,
//! }
//!
//! #[derive(DiffModel, Clone, Debug, PartialEq)]
//! struct Site {
//!     #[statesync(id)]
//!     name: String,
//!     #[statesync(children)]
//!     devices: Store<Device>,
//! }
//!
//! #[derive(DiffModel, Clone, Debug, PartialEq)]
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
mod calls;
mod engine;
mod options;
pub(in crate::sync) mod walk;

use std::future::Future;

pub use bridge::AsyncBridge;
pub use options::{AsyncSyncOptions, Clock, IsTransient, RetryPolicy, Sleep, Transient};

use super::parents::Parents;
use super::report::SyncReport;
use super::{HookError, SyncTree};
use crate::diff::Diff;
use crate::error::Error;
use crate::model::DiffModel;
use crate::store::Store;
use engine::sync_diff;

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

    /// Called once at the end of every sync, after `sync_complete` if that ran, also of one
    /// a panicking hook, callback or `sync_complete` cut short (with the report so far,
    /// stopped, before the panic goes on); not when the sync's future is dropped before
    /// its end (a dropped future cannot wait for it).
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

    /// Creates `model` in the system, as [`AsyncHooks::create`] does, and returns the model
    /// memory keeps when it is not `model` (an id the system assigned): the engine calls
    /// this hook, whose default calls `create` and returns `None`. As
    /// [`Hooks::create_returning`](super::Hooks::create_returning): the returned model's
    /// attributes go into memory, its children fields are not read, and one of another key
    /// than `model` is not kept (the create is reported failed with
    /// [`ReturnedAnotherKey`](super::ReturnedAnotherKey), and memory keeps `model` without
    /// its children, which are skipped).
    ///
    /// # Errors
    /// The system's error; the element and its subtree are then not created in memory.
    fn create_returning(
        &self,
        model: &M,
        parents: &Parents,
    ) -> impl Future<Output = Result<Option<M>, HookError>> + Send {
        let create = self.create(model, parents);
        async move { create.await.map(|()| None) }
    }

    /// Updates the system: `model` is the model after the update, `changes` the changed
    /// attributes with old and new values. Only its attributes are final: its children are
    /// as the sync has left them so far (with `SyncOrder::DeletesFirst`, children deleted,
    /// none yet updated or created), so a hook that writes the model with its children
    /// writes a mix; write the attributes, and the children in their own hooks.
    ///
    /// The future must be `Send`. An `async fn` that keeps `changes` (or `model`) across an
    /// `.await` holds a reference to it, so in a blanket `impl<M: DiffModel> AsyncHooks<M>`
    /// bound `M::Changes: Sync` (and `M: Sync`), or copy what the call needs before its
    /// first `.await` (a generated record of changes is `Sync` when its attributes are).
    ///
    /// The engine calls [`AsyncHooks::update_returning`], whose default calls this one.
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

    /// Updates the system, as [`AsyncHooks::update`] does, and returns the model memory
    /// keeps when it is not `model` (a version the system set): the engine calls this
    /// hook, whose default calls `update` and returns `None`. As
    /// [`Hooks::update_returning`](super::Hooks::update_returning): the returned model's
    /// attributes go into memory, its children fields are not read, and one of another
    /// key than `model` is not kept (the update is reported failed, and memory keeps
    /// `model`'s new values).
    ///
    /// # Errors
    /// The system's error; the in-memory model keeps its old values.
    fn update_returning(
        &self,
        model: &M,
        changes: &M::Changes,
        parents: &Parents,
    ) -> impl Future<Output = Result<Option<M>, HookError>> + Send {
        let update = self.update(model, changes, parents);
        async move { update.await.map(|()| None) }
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
            let mut options = options;
            let diff = super::diff_with_progress(self, source, &mut options.sync)?;
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
        sync_diff(
            self,
            diff,
            hooks,
            options,
            |model: &Self| crate::summary::subtree_count(model),
            |target, diff, run| super::engine::sync_root(target, diff, run),
        )
    }
}

impl<M: DiffModel + Send + Sync> AsyncSyncModel for M {}

impl<M: DiffModel + Send + Sync> Store<M> {
    /// Carries a diff of this collection (from [`Store::diff`], [`Store::diff_keys`] or
    /// [`Store::diff_touched`]) into the store through async `hooks`, concurrently: the
    /// async counterpart of [`Store::sync_diff`], as
    /// [`AsyncSyncModel::sync_diff_async`] is for a root model.
    ///
    /// ```
    /// use statesync::sync::{AsyncAdapter, AsyncHooks, AsyncSyncOptions, HookError, Parents};
    /// use statesync::{DiffModel, Store};
    ///
    /// #[derive(DiffModel, Clone, Debug, PartialEq)]
    /// struct Vlan {
    ///     #[statesync(id)]
    ///     id: u16,
    ///     name: String,
    /// }
    ///
    /// /// A switch's API: counts the VLANs it was asked to create.
    /// #[derive(Default)]
    /// struct Switch(std::sync::atomic::AtomicUsize);
    ///
    /// impl AsyncAdapter for Switch {}
    /// impl AsyncHooks<Vlan> for Switch {
    ///     async fn create(&self, _: &Vlan, _: &Parents) -> Result<(), HookError> {
    ///         self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    ///         Ok(())
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), statesync::Error> {
    /// let vlan = |id: u16| Vlan { id, name: format!("v{id}") };
    /// let mut vlans = Store::try_from_iter([vlan(10)])?;
    /// let wanted = Store::try_from_iter([vlan(10), vlan(20), vlan(30)])?;
    /// let diff = vlans.diff(&wanted)?;
    /// let switch = Switch::default();
    /// let report = vlans.sync_diff_async(&diff, &switch, AsyncSyncOptions::default()).await;
    /// assert_eq!(report.counts.created, 2);
    /// assert_eq!(switch.0.into_inner(), 2);
    /// assert_eq!(vlans, wanted);
    /// # Ok(())
    /// # }
    /// ```
    pub fn sync_diff_async<'a, H>(
        &'a mut self,
        diff: &'a Diff<M>,
        hooks: &'a H,
        options: AsyncSyncOptions<'a>,
    ) -> impl Future<Output = SyncReport> + Send + 'a
    where
        H: AsyncAdapter + ?Sized,
        M: SyncTree<AsyncBridge<H>>,
        Diff<M>: Send + Sync,
    {
        sync_diff(
            self,
            diff,
            hooks,
            options,
            super::store_size,
            super::engine::sync_collection,
        )
    }
}
