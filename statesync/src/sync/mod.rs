//! The sync engine: carry a diff into a real system through an adapter's typed hooks, with
//! diffsync's flags (per sync, per model type, per element), every delete before any
//! create, parents-first creation, children-first deletion, a delete limit and a report.
//!
//! ```
//! use statesync::sync::{Adapter, HookError, Hooks, Parents, SyncModel, SyncOptions};
//! use statesync::{DiffModel, Store};
//!
//! #[derive(DiffModel, Clone, Debug, PartialEq)]
//! struct Config {
//!     #[statesync(children)]
//!     users: Store<User>,
//! }
//!
//! #[derive(DiffModel, Clone, Debug, PartialEq)]
//! struct User {
//!     #[statesync(id)]
//!     name: String,
//!     shell: String,
//! }
//!
//! /// A "real system" that records the commands it was sent.
//! #[derive(Default)]
//! struct Shell(Vec<String>);
//!
//! impl Adapter for Shell {}
//! impl Hooks<Config> for Shell {} // the root: in-memory default
//! impl Hooks<User> for Shell {
//!     fn create(&mut self, user: &User, _: &Parents) -> Result<(), HookError> {
//!         self.0.push(format!("useradd -s {} {}", user.shell, user.name));
//!         Ok(())
//!     }
//!     fn update(&mut self, user: &User, _: &UserChanges, _: &Parents) -> Result<(), HookError> {
//!         self.0.push(format!("usermod -s {} {}", user.shell, user.name));
//!         Ok(())
//!     }
//!     fn delete(&mut self, user: &User, _: &Parents) -> Result<(), HookError> {
//!         self.0.push(format!("userdel {}", user.name));
//!         Ok(())
//!     }
//! }
//!
//! let user = |name: &str, shell: &str| User { name: name.into(), shell: shell.into() };
//! let mut target = Config { users: Store::try_from_iter([user("ann", "sh"), user("bob", "sh")])? };
//! let source = Config { users: Store::try_from_iter([user("ann", "zsh"), user("cat", "sh")])? };
//!
//! let mut shell = Shell::default();
//! let report = target.sync_from(&source, &mut shell, SyncOptions::default())?;
//! assert!(report.is_success());
//! assert_eq!(shell.0, ["userdel bob", "usermod -s zsh ann", "useradd -s sh cat"]);
//! assert!(target.diff_from(&source)?.is_empty()); // idempotent
//! # Ok::<(), statesync::Error>(())
//! ```

#[cfg(feature = "async")]
pub mod concurrent;
pub(crate) mod engine;
mod fatal;
mod flags;
mod parents;
mod plan;
mod report;
mod returned;
mod run;

use std::time::Instant;

pub use fatal::Fatal;
pub use flags::{DeleteLimit, ModelFlags, Progress, SyncFlags, SyncOptions, SyncOrder};
pub use parents::Parents;
use plan::Made;
pub use plan::Plan;
pub use report::{DeleteRefusal, Failure, Outcome, SkipReason, Status, SyncCounts, SyncReport};
pub use returned::ReturnedAnotherKey;
// One sync in progress: what generated code passes along.
#[doc(hidden)]
pub use run::Run;

#[cfg(feature = "async")]
pub use concurrent::{
    AsyncAdapter, AsyncBridge, AsyncHooks, AsyncSyncModel, AsyncSyncOptions, Clock, IsTransient,
    RetryPolicy, Sleep, Transient,
};

use crate::diff::Diff;
use crate::error::Error;
use crate::model::DiffModel;
use crate::store::Store;

/// The error a hook returns: anything that is an error.
pub type HookError = Box<dyn std::error::Error + Send + Sync>;

/// What carries changes into one external system. The per-model work is in [`Hooks`].
pub trait Adapter {
    /// Called once after a sync that changed something, for bulk flushing or commit.
    ///
    /// # Errors
    /// Whatever the system reports; it is recorded in [`SyncReport::complete_error`].
    fn sync_complete(&mut self, report: &SyncReport) -> Result<(), HookError> {
        let _ = report;
        Ok(())
    }

    /// Called once at the end of every sync, after `sync_complete` if that ran, whatever
    /// happened: to release what the sync held (an open transaction, a lock). After a panic
    /// in a hook or a callback it gets the report so far, stopped, before the panic goes on;
    /// memory then keeps what the hooks applied, so an adapter that rolls back here leaves
    /// the system behind memory, and the caller that catches the panic reloads the target.
    fn sync_finished(&mut self, report: &SyncReport) {
        let _ = report;
    }
}

/// The hooks of an adapter for one model type. Every method defaults to success, so an
/// empty `impl Hooks<M> for MyAdapter {}` means "in memory only" for `M`. A sync needs
/// hooks for every model type in the tree: a missing impl does not compile.
///
/// Each hook gets the element's [`Parents`]: the keys of its ancestors, so a hook for a
/// child knows where it sits (`parents.key::<Deployment>()`). A hook's error is kept whole
/// in the report ([`Failure`]): it can be downcast and its `source()` chain followed.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no hooks for `{M}`",
    label = "this adapter cannot sync `{M}` models",
    note = "implement `Hooks<{M}>` for `{Self}`; an empty `impl Hooks<{M}> for {Self} {{}}` keeps the in-memory default"
)]
pub trait Hooks<M: DiffModel>: Adapter {
    /// Creates `model` in the system (its children are created after, one by one, each
    /// through its own hook). `model` holds its whole subtree as the source has it, none
    /// of it created yet: write its attributes here, and its children in their hooks.
    /// The engines call [`Hooks::create_returning`], whose default calls this one.
    ///
    /// # Errors
    /// The system's error; the element and its subtree are then not created in memory.
    fn create(&mut self, model: &M, parents: &Parents) -> Result<(), HookError> {
        let _ = (model, parents);
        Ok(())
    }

    /// Creates `model` in the system, as [`Hooks::create`] does, and returns the model
    /// memory keeps when it is not `model`: what the system made of it (an id it assigned,
    /// in a `skip` field, as diffsync's `create` returns the object with its `pk`). The
    /// engine calls this hook, whose default calls [`Hooks::create`] and returns `None`.
    ///
    /// The returned model's attributes go into memory (a compared attribute the system
    /// changed is then an update for the next sync from the source to carry); its
    /// children fields are not read, as the element's children are created after it from
    /// `model`'s (return it with empty children fields rather than a copy of them). It
    /// must keep `model`'s key: one of another key is not kept, and the create is
    /// reported failed with [`ReturnedAnotherKey`]; memory keeps `model` without its
    /// children (the system has it), which are skipped and created by the next sync.
    /// A child's hook gets its parents' keys, not their models: an id the system gave a
    /// parent, which a child's row needs, is the adapter's to remember (a map from key to
    /// id, filled at load and by the parent's create).
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use statesync::DiffModel;
    /// use statesync::sync::{Adapter, HookError, Hooks, InMemory, Parents, SyncModel, SyncOptions};
    ///
    /// #[derive(DiffModel, Clone, Debug, PartialEq)]
    /// struct Team {
    ///     #[statesync(children)]
    ///     users: Vec<User>,
    /// }
    ///
    /// #[derive(DiffModel, Clone, Debug, PartialEq)]
    /// struct User {
    ///     #[statesync(id)]
    ///     login: String,
    ///     /// The id the system assigns; not compared.
    ///     #[statesync(skip)]
    ///     pk: Option<u64>,
    /// }
    ///
    /// #[derive(Default)]
    /// struct Api {
    ///     rows: HashMap<u64, String>,
    /// }
    ///
    /// impl Adapter for Api {}
    /// impl Hooks<Team> for Api {}
    /// impl Hooks<User> for Api {
    ///     fn create_returning(&mut self, user: &User, _: &Parents) -> Result<Option<User>, HookError> {
    ///         let pk = self.rows.len() as u64 + 1;
    ///         self.rows.insert(pk, user.login.clone());
    ///         Ok(Some(User { pk: Some(pk), ..user.clone() }))
    ///     }
    /// }
    ///
    /// let source = Team { users: vec![User { login: "ann".into(), pk: None }] };
    /// let mut target = Team { users: Vec::new() };
    /// let report = target.sync_from(&source, &mut Api::default(), SyncOptions::default())?;
    /// assert!(report.is_success());
    /// assert_eq!(target.users[0].pk, Some(1));
    /// assert!(target.diff(&source)?.is_empty()); // `pk` is not compared
    /// # Ok::<(), statesync::Error>(())
    /// ```
    ///
    /// # Errors
    /// The system's error; the element and its subtree are then not created in memory.
    fn create_returning(&mut self, model: &M, parents: &Parents) -> Result<Option<M>, HookError> {
        self.create(model, parents).map(|()| None)
    }

    /// Updates the system: `model` is the model after the update, `changes` the changed
    /// attributes with old and new values. Only its attributes are final: its children are
    /// as the sync has left them so far (with `SyncOrder::DeletesFirst`, children deleted,
    /// none yet updated or created), so a hook that writes the model with its children
    /// writes a mix; write the attributes, and the children in their own hooks.
    ///
    /// The engines call [`Hooks::update_returning`], whose default calls this one.
    ///
    /// # Errors
    /// The system's error; the in-memory model keeps its old values.
    fn update(
        &mut self,
        model: &M,
        changes: &M::Changes,
        parents: &Parents,
    ) -> Result<(), HookError> {
        let _ = (model, changes, parents);
        Ok(())
    }

    /// Updates the system, as [`Hooks::update`] does, and returns the model memory keeps
    /// when it is not `model`: what the system made of it (a version or an entity tag it
    /// set on the write, in a `skip` field, for the next update to send back). The engines
    /// call this hook, whose default calls [`Hooks::update`] and returns `None`. As for
    /// [`Hooks::create_returning`], the returned model's attributes go into memory, its
    /// children fields are not read, and one of another key is not kept: the update is
    /// reported failed with [`ReturnedAnotherKey`] and memory keeps `model`'s new values
    /// (the system has them).
    ///
    /// # Errors
    /// The system's error; the in-memory model keeps its old values.
    fn update_returning(
        &mut self,
        model: &M,
        changes: &M::Changes,
        parents: &Parents,
    ) -> Result<Option<M>, HookError> {
        self.update(model, changes, parents).map(|()| None)
    }

    /// Deletes `model` from the system (its children were deleted before, unless a flag
    /// says otherwise). `model` holds the children it still has in memory: none once they
    /// were deleted before it, all of them under `SKIP_CHILDREN_ON_DELETE` (they go with
    /// it) or `PARENT_FIRST_DELETION` (their hooks come after).
    ///
    /// # Errors
    /// The system's error; the element stays in memory.
    fn delete(&mut self, model: &M, parents: &Parents) -> Result<(), HookError> {
        let _ = (model, parents);
        Ok(())
    }
}

/// The adapter that only changes the in-memory state.
#[derive(Debug, Clone, Copy, Default)]
pub struct InMemory;

impl Adapter for InMemory {}

impl<M: DiffModel> Hooks<M> for InMemory {}

/// A model whose tree can be synced through the hooks of `H`. `#[derive(DiffModel)]`
/// implements it whenever `H` has hooks for the model and all its descendants, and the
/// model is `'static` (the engine tells model types and keys apart by `TypeId`) with a
/// `Send + Sync` key (hooks get the keys of their ancestors in [`Parents`], which async
/// hooks hold across threads).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be synced through `{H}`",
    label = "no sync for this model tree",
    note = "`#[derive(DiffModel)]` implements it when every model of the tree derives `DiffModel`, is `'static` with a `Send + Sync` key, and `{H}` has `Hooks` for each"
)]
pub trait SyncTree<H: ?Sized>: DiffModel<Key: Send + Sync> + 'static {
    /// Calls the hook of `H` for `Self` that `call` names (generated: the one place that
    /// knows `H` has hooks for `Self`; see [`HookCall::run`]).
    #[doc(hidden)]
    fn hook(hooks: &mut H, call: HookCall<'_, Self>) -> Result<(), HookError>;

    /// Calls `H`'s create hook: the model memory keeps, when the hook returned one.
    #[doc(hidden)]
    fn hook_create(
        hooks: &mut H,
        model: &Self,
        parents: &Parents,
    ) -> Result<Option<Self>, HookError> {
        let mut returned = None;
        Self::hook(
            hooks,
            HookCall::Create {
                model,
                parents,
                returned: &mut returned,
            },
        )?;
        Ok(returned)
    }

    /// Calls `H`'s update hook.
    #[doc(hidden)]
    fn hook_update(
        hooks: &mut H,
        model: &Self,
        changes: &Self::Changes,
        parents: &Parents,
    ) -> Result<Option<Self>, HookError> {
        let mut returned = None;
        Self::hook(
            hooks,
            HookCall::Update {
                model,
                changes,
                parents,
                returned: &mut returned,
            },
        )?;
        Ok(returned)
    }

    /// Calls `H`'s delete hook.
    #[doc(hidden)]
    fn hook_delete(hooks: &mut H, model: &Self, parents: &Parents) -> Result<(), HookError> {
        Self::hook(hooks, HookCall::Delete { model, parents })
    }

    /// Syncs each child diff into this model's children (generated for models with
    /// children; a model without has none to sync).
    #[doc(hidden)]
    fn sync_child_diffs(&mut self, diffs: &Self::ChildDiffs, run: &mut Run<'_, '_, H>) {
        let _ = (diffs, run);
    }

    /// Creates every child of a model just created, parents first; drops failed ones.
    #[doc(hidden)]
    fn create_children(&mut self, run: &mut Run<'_, '_, H>) {
        let _ = run;
    }

    /// Deletes every child, children first; `false` when one could not be deleted.
    #[doc(hidden)]
    fn delete_children(&mut self, run: &mut Run<'_, '_, H>) -> bool {
        let _ = run;
        true
    }
}

/// One call of a model's hooks, as [`SyncTree::hook`] takes it.
#[doc(hidden)]
pub enum HookCall<'a, M: DiffModel> {
    /// [`Hooks::create_returning`], and where the model it returns goes.
    Create {
        model: &'a M,
        parents: &'a Parents,
        returned: &'a mut Option<M>,
    },
    /// [`Hooks::update_returning`], and where the model it returns goes.
    Update {
        model: &'a M,
        changes: &'a M::Changes,
        parents: &'a Parents,
        returned: &'a mut Option<M>,
    },
    /// [`Hooks::delete`].
    Delete { model: &'a M, parents: &'a Parents },
}

impl<M: DiffModel> HookCall<'_, M> {
    /// Calls the hook of `hooks` this call names.
    ///
    /// # Errors
    /// The hook's.
    pub fn run<H: Hooks<M> + ?Sized>(self, hooks: &mut H) -> Result<(), HookError> {
        match self {
            HookCall::Create {
                model,
                parents,
                returned,
            } => {
                *returned = hooks.create_returning(model, parents)?;
                Ok(())
            }
            HookCall::Update {
                model,
                changes,
                parents,
                returned,
            } => {
                *returned = hooks.update_returning(model, changes, parents)?;
                Ok(())
            }
            HookCall::Delete { model, parents } => hooks.delete(model, parents),
        }
    }
}

/// The plan of a sync of `diff` into the root `target`: a dry run through in-memory hooks
/// when one is needed (see [`plan::plan`]).
fn plan_in_memory<M: SyncTree<InMemory>>(
    target: &M,
    diff: &Diff<M>,
    made: Made,
    options: &SyncOptions<'_>,
) -> Result<Plan<M>, Error> {
    plan::plan(
        target,
        diff,
        made,
        options,
        &mut InMemory,
        |target, diff, run| {
            engine::sync_root(target, diff, run);
        },
    )
}

/// Diff and sync in diffsync's words, on any model: `target.diff_from(&source)` is what the
/// target must do to look like the source, `target.sync_from(&source, ...)` does it.
pub trait SyncModel: DiffModel {
    /// The sync flags declared in the derive (`#[statesync(flags = "IGNORE | ...")]`).
    const FLAGS: ModelFlags = ModelFlags::from_bits_truncate(Self::DECLARED_FLAGS);

    /// What `self` (the target) must do to look like `source`.
    ///
    /// # Errors
    /// As [`DiffModel::diff`].
    fn diff_from(&self, source: &Self) -> Result<Diff<Self>, Error> {
        self.diff(source)
    }

    /// What `target` must do to look like `self` (the source).
    ///
    /// # Errors
    /// As [`DiffModel::diff`].
    fn diff_to(&self, target: &Self) -> Result<Diff<Self>, Error> {
        target.diff(self)
    }

    /// What a sync from `source` with `options` will do: the diff with the options' flags
    /// (and the flags the derives declare) applied, so an element a flag leaves alone is
    /// not in the plan but counted in its [`Summary::skip`](crate::Summary::skip). The plan
    /// is what [`SyncModel::sync_from`] does when every hook succeeds.
    ///
    /// # Errors
    /// Only a failed diff.
    fn diff_from_with(&self, source: &Self, options: &SyncOptions<'_>) -> Result<Plan<Self>, Error>
    where
        Self: SyncTree<InMemory>,
    {
        let diff = self.diff(source)?;
        plan_in_memory(self, &diff, Made::Here, options)
    }

    /// What [`SyncModel::sync_diff`] of `diff` with `options` will do (see
    /// [`SyncModel::diff_from_with`]), with the elements it will refuse
    /// ([`Plan::refused`]).
    ///
    /// # Errors
    /// Only a failed diff. The plan of a given diff that the sync would refuse in part is
    /// the diff of the target and a dry run's result, so a target that cannot be diffed (a
    /// `Store` holding a model set aside after a colliding rename, a `Vec` holding a key
    /// twice, anywhere the dry run goes) fails with that diff's error, where the sync would
    /// carry what lies outside that collection and refuse what lies in it.
    fn plan(&self, diff: &Diff<Self>, options: &SyncOptions<'_>) -> Result<Plan<Self>, Error>
    where
        Self: SyncTree<InMemory>,
    {
        plan_in_memory(self, diff, Made::Elsewhere, options)
    }

    /// Makes `self` (the target) look like `source`, through `hooks`.
    ///
    /// # Errors
    /// Only a failed diff; hook failures are in the report.
    fn sync_from<H: Adapter + ?Sized>(
        &mut self,
        source: &Self,
        hooks: &mut H,
        mut options: SyncOptions<'_>,
    ) -> Result<SyncReport, Error>
    where
        Self: SyncTree<H>,
    {
        let diff = diff_with_progress(self, source, &mut options)?;
        Ok(self.sync_diff(&diff, hooks, options))
    }

    /// Makes `target` look like `self` (the source), through `hooks`.
    ///
    /// # Errors
    /// Only a failed diff; hook failures are in the report.
    fn sync_to<H: Adapter + ?Sized>(
        &self,
        target: &mut Self,
        hooks: &mut H,
        options: SyncOptions<'_>,
    ) -> Result<SyncReport, Error>
    where
        Self: SyncTree<H>,
    {
        target.sync_from(self, hooks, options)
    }

    /// Carries a diff computed earlier (plan, review, then apply) into `self` through
    /// `hooks`, element by element. An element the diff was not made for (an update of a
    /// missing key, say) fails in the report; nothing panics.
    fn sync_diff<H: Adapter + ?Sized>(
        &mut self,
        diff: &Diff<Self>,
        hooks: &mut H,
        options: SyncOptions<'_>,
    ) -> SyncReport
    where
        Self: SyncTree<H>,
    {
        drive(
            Self::NAME,
            self,
            diff,
            hooks,
            options,
            |model: &Self| crate::summary::subtree_count(model),
            |target, diff, run| engine::sync_root(target, diff, run),
        )
    }
}

impl<M: DiffModel> SyncModel for M {}

impl<M: DiffModel> Store<M> {
    /// Carries a diff of this collection (from [`Store::diff`], [`Store::diff_keys`] or
    /// [`Store::diff_touched`]) into the store through `hooks`, element by element, like
    /// [`SyncModel::sync_diff`] does for a root model.
    ///
    /// The store's elements are the top of what this sync sees: their hooks get empty
    /// [`Parents`], and their descendants' parents start at them, also for a store nested
    /// in a model (`parents.key::<Site>()` is `None` for the devices of a site's store
    /// synced this way). A hook that needs what sits above the store takes it from its
    /// adapter.
    pub fn sync_diff<H: Adapter + ?Sized>(
        &mut self,
        diff: &Diff<M>,
        hooks: &mut H,
        options: SyncOptions<'_>,
    ) -> SyncReport
    where
        M: SyncTree<H>,
    {
        drive(
            M::NAME,
            self,
            diff,
            hooks,
            options,
            store_size,
            |store, diff, run| engine::sync_collection(store, diff, run),
        )
    }
}

/// The elements of a store, descendants included, and whether each is within
/// [`MAX_DEPTH`](crate::MAX_DEPTH) (counted whole).
pub(super) fn store_size<M: DiffModel>(store: &Store<M>) -> (usize, bool) {
    store
        .iter()
        .map(|model| crate::summary::subtree_count(model))
        .fold((0, true), |(size, whole), (more, fits)| {
            (size.saturating_add(more), whole && fits)
        })
}

/// `target.diff(source)`, reporting the `"diff"` stage to `options`' progress callback
/// when there is one: the diff `sync_from` makes, for a caller that looks at the diff
/// before it syncs (then [`SyncModel::sync_diff`] with the same options does what
/// `sync_from` does).
///
/// ```
/// use statesync::sync::{InMemory, SyncModel, SyncOptions, diff_with_progress};
/// use statesync::{DiffModel, Store};
///
/// #[derive(DiffModel, Clone, Debug, PartialEq)]
/// struct Zone {
///     #[statesync(children)]
///     records: Store<Record>,
/// }
///
/// #[derive(DiffModel, Clone, Debug, PartialEq)]
/// struct Record {
///     #[statesync(id)]
///     name: String,
/// }
///
/// let mut target = Zone { records: Store::new() };
/// let source = Zone { records: Store::try_from_iter([Record { name: "a".into() }])? };
/// let mut stages = Vec::new();
/// let mut options = SyncOptions::default().on_progress(|p| stages.push(p.stage));
/// let diff = diff_with_progress(&target, &source, &mut options)?;
/// assert_eq!(diff.summary().create, 1); // looked at before the sync
/// let report = target.sync_diff(&diff, &mut InMemory, options);
/// assert_eq!(report.counts.created, 1);
/// assert_eq!(target, source);
/// assert_eq!(stages.first(), Some(&"diff"));
/// # Ok::<(), statesync::Error>(())
/// ```
///
/// # Errors
/// As [`DiffModel::diff`].
pub fn diff_with_progress<M: DiffModel>(
    target: &M,
    source: &M,
    options: &mut SyncOptions<'_>,
) -> Result<Diff<M>, Error> {
    if !options.has_progress() {
        return target.diff(source);
    }
    // A whole diff visits every element of the source once.
    let total = crate::summary::subtree_size(source);
    let mut observer = DiffProgress {
        options,
        done: 0,
        total,
    };
    observer.options.report_progress("diff", 0, total);
    let diff = target.diff_observed(source, &mut observer)?;
    let done = observer.done;
    options.report_progress("diff", done, total.max(done));
    Ok(diff)
}

/// Reports diff progress every [`DIFF_PROGRESS_EVERY`] elements.
struct DiffProgress<'a, 'o> {
    options: &'a mut SyncOptions<'o>,
    done: usize,
    total: usize,
}

/// How often (in elements) a diff reports progress.
const DIFF_PROGRESS_EVERY: usize = 4096;

impl crate::model::DiffObserver for DiffProgress<'_, '_> {
    fn visited(&mut self, count: usize) {
        let before = self.done / DIFF_PROGRESS_EVERY;
        self.done = self.done.saturating_add(count);
        if self.done / DIFF_PROGRESS_EVERY != before {
            let total = self.total.max(self.done);
            self.options.report_progress("diff", self.done, total);
        }
    }

    fn counts_subtrees(&self) -> bool {
        true
    }
}

/// Runs one sync: the span, the counts, the delete limit, the engine's `work` (once per
/// phase), `sync_complete`, the report.
fn drive<T: Clone, M: DiffModel, H: Adapter + ?Sized>(
    model: &'static str,
    target: &mut T,
    diff: &Diff<M>,
    hooks: &mut H,
    options: SyncOptions<'_>,
    size: impl Fn(&T) -> (usize, bool),
    mut work: impl FnMut(&mut T, &Diff<M>, &mut Run<'_, '_, H>),
) -> SyncReport {
    let started = Instant::now();
    let span = tracing::info_span!("statesync::sync", model);
    let _entered = span.enter();
    let summary = diff.summary();
    tracing::info!(
        create = summary.create,
        update = summary.update,
        delete = summary.delete,
        "sync started"
    );
    if let Some(refusal) = plan::check_delete_limit(target, diff, hooks, &options, &size, &mut work)
    {
        let report = SyncReport::refusal(refusal, summary.unchanged, started.elapsed());
        hooks.sync_finished(&report);
        return report;
    }
    let mut run = Run::new(hooks, options, &summary);
    let walked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run.walk(|run| work(target, diff, run));
    }));
    // The last progress call, then the report.
    let finished = walked.and_then(|()| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run.take_report()))
    });
    let mut report = match finished {
        Ok(report) => report,
        Err(panic) => {
            // A hook or a callback panicked: the adapter still releases what the sync
            // held, told what was done so far, before the panic goes on.
            let mut report = run.abandon();
            report.elapsed = started.elapsed();
            hooks.sync_finished(&report);
            std::panic::resume_unwind(panic);
        }
    };
    drop(run);
    report.elapsed = started.elapsed();
    if report.changed_anything() {
        let completed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            hooks.sync_complete(&report)
        }));
        match completed {
            Ok(result) => report.record_complete(result),
            Err(panic) => {
                report.stopped = true;
                report.elapsed = started.elapsed();
                hooks.sync_finished(&report);
                std::panic::resume_unwind(panic);
            }
        }
        report.elapsed = started.elapsed();
    }
    hooks.sync_finished(&report);
    report.log_finished("sync finished");
    report
}
