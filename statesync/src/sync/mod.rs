//! The sync engine: carry a diff into a real system through an adapter's typed hooks, with
//! diffsync's flags, parents-first creation, children-first deletion and a report.
//!
//! ```
//! use statesync::sync::{Adapter, Hooks, SyncModel, SyncOptions};
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
//!     fn create(&mut self, user: &User) -> Result<(), statesync::sync::HookError> {
//!         self.0.push(format!("useradd -s {} {}", user.shell, user.name));
//!         Ok(())
//!     }
//!     fn update(&mut self, user: &User, _: &UserChanges) -> Result<(), statesync::sync::HookError> {
//!         self.0.push(format!("usermod -s {} {}", user.shell, user.name));
//!         Ok(())
//!     }
//!     fn delete(&mut self, user: &User) -> Result<(), statesync::sync::HookError> {
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

pub(crate) mod engine;
mod flags;
mod report;

use std::time::Instant;

pub use engine::Run;
pub use flags::{ModelFlags, Progress, SyncFlags, SyncOptions};
pub use report::{Outcome, SkipReason, Status, SyncCounts, SyncReport};

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
    /// happened: to release what the sync held (an open transaction, a lock).
    fn sync_finished(&mut self, report: &SyncReport) {
        let _ = report;
    }
}

/// The hooks of an adapter for one model type. Every method defaults to success, so an
/// empty `impl Hooks<M> for MyAdapter {}` means "in memory only" for `M`. A sync needs
/// hooks for every model type in the tree: a missing impl does not compile.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no hooks for `{M}`",
    label = "this adapter cannot sync `{M}` models",
    note = "implement `Hooks<{M}>` for `{Self}`; an empty `impl Hooks<{M}> for {Self} {{}}` keeps the in-memory default"
)]
pub trait Hooks<M: DiffModel>: Adapter {
    /// Creates `model` in the system (its children are created after, one by one).
    ///
    /// # Errors
    /// The system's error; the element and its subtree are then not created in memory.
    fn create(&mut self, model: &M) -> Result<(), HookError> {
        let _ = model;
        Ok(())
    }

    /// Updates the system: `model` is the model after the update, `changes` the changed
    /// attributes with old and new values.
    ///
    /// # Errors
    /// The system's error; the in-memory model keeps its old values.
    fn update(&mut self, model: &M, changes: &M::Changes) -> Result<(), HookError> {
        let _ = (model, changes);
        Ok(())
    }

    /// Deletes `model` from the system (its children were deleted before, unless a flag
    /// says otherwise).
    ///
    /// # Errors
    /// The system's error; the element stays in memory.
    fn delete(&mut self, model: &M) -> Result<(), HookError> {
        let _ = model;
        Ok(())
    }
}

/// The adapter that only changes the in-memory state.
#[derive(Debug, Clone, Copy, Default)]
pub struct InMemory;

impl Adapter for InMemory {}

impl<M: DiffModel> Hooks<M> for InMemory {}

/// A model whose tree can be synced through the hooks of `H`. `#[derive(DiffModel)]`
/// implements it whenever `H` has hooks for the model and all its descendants.
pub trait SyncTree<H: ?Sized>: DiffModel {
    /// Calls `H`'s create hook.
    #[doc(hidden)]
    fn hook_create(hooks: &mut H, model: &Self) -> Result<(), HookError>;
    /// Calls `H`'s update hook.
    #[doc(hidden)]
    fn hook_update(hooks: &mut H, model: &Self, changes: &Self::Changes) -> Result<(), HookError>;
    /// Calls `H`'s delete hook.
    #[doc(hidden)]
    fn hook_delete(hooks: &mut H, model: &Self) -> Result<(), HookError>;
    /// Syncs each child diff into this model's children.
    #[doc(hidden)]
    fn sync_child_diffs(&mut self, diffs: &Self::ChildDiffs, run: &mut Run<'_, '_, H>);
    /// Creates every child of a model just created, parents first; drops failed ones.
    #[doc(hidden)]
    fn create_children(&mut self, run: &mut Run<'_, '_, H>);
    /// Deletes every child, children first; `false` when one could not be deleted.
    #[doc(hidden)]
    fn delete_children(&mut self, run: &mut Run<'_, '_, H>) -> bool;
}

/// Diff and sync in diffsync's words, on any model: `target.diff_from(&source)` is what the
/// target must do to look like the source, `target.sync_from(&source, ...)` does it.
pub trait SyncModel: DiffModel {
    /// What `self` (the target) must do to look like `source`.
    ///
    /// # Errors
    /// [`Error::DuplicateKey`] from a `Vec` of children.
    fn diff_from(&self, source: &Self) -> Result<Diff<Self>, Error> {
        self.diff(source)
    }

    /// What `target` must do to look like `self` (the source).
    ///
    /// # Errors
    /// [`Error::DuplicateKey`] from a `Vec` of children.
    fn diff_to(&self, target: &Self) -> Result<Diff<Self>, Error> {
        target.diff(self)
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
        let list_unchanged = options.flags.contains(SyncFlags::LOG_UNCHANGED_RECORDS);
        let diff = if options.has_progress() {
            // A whole diff visits every element of the source once.
            let total = crate::summary::subtree_size(source);
            let mut observer = DiffProgress {
                options: &mut options,
                done: 0,
                total,
            };
            observer.options.report_progress("diff", 0, total);
            let diff = crate::diff::with_unchanged_keys(list_unchanged, || {
                self.diff_observed(source, &mut observer)
            })?;
            let done = observer.done;
            options.report_progress("diff", done, total.max(done));
            diff
        } else {
            crate::diff::with_unchanged_keys(list_unchanged, || self.diff(source))?
        };
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
        drive(Self::NAME, diff, hooks, options, |diff, run| {
            engine::sync_root(self, diff, run);
        })
    }
}

impl<M: DiffModel> SyncModel for M {}

impl<M: DiffModel> Store<M> {
    /// Carries a diff of this collection (from [`Store::diff`], [`Store::diff_keys`] or
    /// [`Store::diff_touched`]) into the store through `hooks`, element by element, like
    /// [`SyncModel::sync_diff`] does for a root model.
    pub fn sync_diff<H: Adapter + ?Sized>(
        &mut self,
        diff: &Diff<M>,
        hooks: &mut H,
        options: SyncOptions<'_>,
    ) -> SyncReport
    where
        M: SyncTree<H>,
    {
        drive(M::NAME, diff, hooks, options, |diff, run| {
            engine::sync_collection(self, diff, run);
        })
    }
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

/// Runs one sync: the span, the counts, the engine's `work`, `sync_complete`, the report.
fn drive<M: DiffModel, H: Adapter + ?Sized>(
    model: &'static str,
    diff: &Diff<M>,
    hooks: &mut H,
    options: SyncOptions<'_>,
    work: impl FnOnce(&Diff<M>, &mut Run<'_, '_, H>),
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
    let mut run = Run::new(hooks, options, summary.changes());
    run.report.counts.unchanged = summary.unchanged;
    work(diff, &mut run);
    let mut report = run.finish();
    if report.changed_anything()
        && let Err(error) = hooks.sync_complete(&report)
    {
        tracing::error!(%error, "sync_complete failed");
        report.complete_error = Some(error.to_string());
    }
    hooks.sync_finished(&report);
    report.elapsed = started.elapsed();
    tracing::info!(
        created = report.counts.created,
        updated = report.counts.updated,
        deleted = report.counts.deleted,
        failed = report.counts.failed,
        skipped = report.counts.skipped,
        "sync finished"
    );
    report
}
