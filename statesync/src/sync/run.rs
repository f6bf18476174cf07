//! [`Run`]: one sync in progress (hooks, options, parents, report), the walks it makes over
//! the diff tree, and how it records each element's outcome.

use crate::diff::{Action, Diff, ElementDiff, ModelUpdate};
use crate::error::{Error, Operation};
use crate::model::{DiffModel, DiffVisitor, ModelVisitor};
use crate::summary::Summary;

use super::HookError;
use super::flags::{ModelFlags, SyncFlags, SyncOptions, SyncOrder};
use super::parents::Parents;
use super::report::{Failure, Outcome, SkipReason, Status, SyncReport};

/// How often (in elements) the progress callback is called.
const PROGRESS_EVERY: usize = 1024;

/// Which operations one walk of the diff tree carries out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Deletes, updates and creates, collection by collection.
    All,
    /// Deletes only (children before parents).
    Delete,
    /// Updates and creates, collection by collection (after every delete).
    UpdateCreate,
}

impl Phase {
    /// Whether child diffs hold work for this phase (a delete at any depth in the delete
    /// walk, any element in the others), so a walk skips subtrees with nothing to do.
    fn wants<M: DiffModel>(self, children: &M::ChildDiffs) -> bool {
        let mut finds = Finds {
            phase: self,
            found: false,
        };
        M::visit_child_diffs(children, &mut finds);
        finds.found
    }

    pub(super) fn deletes(self) -> bool {
        matches!(self, Phase::All | Phase::Delete)
    }

    pub(super) fn updates(self) -> bool {
        matches!(self, Phase::All | Phase::UpdateCreate)
    }

    pub(super) fn creates(self) -> bool {
        matches!(self, Phase::All | Phase::UpdateCreate)
    }
}

/// Looks for an element the phase acts on anywhere in a diff.
struct Finds {
    phase: Phase,
    found: bool,
}

impl DiffVisitor for Finds {
    fn visit<C: DiffModel>(&mut self, _field: &'static str, diff: &Diff<C>) {
        for element in diff.elements() {
            if self.found {
                return;
            }
            match (&element.action, self.phase) {
                (_, Phase::All | Phase::UpdateCreate) | (Action::Delete(_), Phase::Delete) => {
                    self.found = true;
                }
                (Action::Update(update), _) => C::visit_child_diffs(&update.children, self),
                _ => {}
            }
        }
    }
}

/// One sync in progress: the hooks, the options and the report so far. Generated code
/// passes it along; it has no public methods.
pub struct Run<'h, 'o, H: ?Sized> {
    pub(super) hooks: &'h mut H,
    pub(super) options: SyncOptions<'o>,
    pub(super) report: SyncReport,
    pub(super) stopped: bool,
    pub(super) total: usize,
    pub(super) phase: Phase,
    pub(super) parents: Parents,
    /// Whether the root was deleted (by an earlier walk, when it is replaced).
    pub(super) root_deleted: bool,
    /// For a root the diff replaces: why its new model cannot go in, if it cannot (checked
    /// once, at the first walk of the root).
    pub(super) replacement_refusal: Option<Option<Error>>,
    /// Whether the root diff was refused whole (a shape `apply` refuses) and its elements
    /// recorded: the walks after the first carry nothing of it.
    pub(super) root_refused: bool,
    /// A dry run: hooks are not called and count as successes.
    pub(super) dry: bool,
    /// Outcomes recorded so far (kept in the report or handed to the options' callback).
    pub(super) recorded: usize,
    /// Whether what is left after a stop is still recorded (as skipped): the async engine
    /// does, the blocking engine records nothing after a stop.
    pub(super) records_after_stop: bool,
    /// The address of the children collection whose creates a panicking hook cut short
    /// (0: none): the children fields after it in its parent were never reached.
    pub(super) cut_short: usize,
    /// The async engine's walker: when set, the engine's collection functions hand each
    /// collection to it instead of syncing it (see `concurrent::walk`).
    #[cfg(feature = "async")]
    pub(super) walker: Option<Box<super::concurrent::walk::Walker>>,
}

impl<'h, 'o, H: ?Sized> Run<'h, 'o, H> {
    /// A run of a diff with `summary`. Its progress total is the outcomes a run that does
    /// not stop records: every change, and every unchanged element too when
    /// `LOG_UNCHANGED_RECORDS` lists them.
    pub(super) fn new(hooks: &'h mut H, options: SyncOptions<'o>, summary: &Summary) -> Self {
        let mut total = summary.changes();
        if options.flags.contains(SyncFlags::LOG_UNCHANGED_RECORDS) {
            total = total.saturating_add(summary.unchanged);
        }
        let mut report = SyncReport::default();
        report.counts.unchanged = summary.unchanged;
        Self {
            hooks,
            options,
            report,
            stopped: false,
            total,
            phase: Phase::All,
            parents: Parents::default(),
            root_deleted: false,
            replacement_refusal: None,
            root_refused: false,
            records_after_stop: false,
            cut_short: 0,
            dry: false,
            recorded: 0,
            #[cfg(feature = "async")]
            walker: None,
        }
    }

    /// A run that calls no hook: what the sync would do if every hook succeeded.
    pub(super) fn dry(hooks: &'h mut H, options: SyncOptions<'o>, summary: &Summary) -> Self {
        let mut run = Self::new(hooks, options, summary);
        run.dry = true;
        run
    }

    /// Calls a hook with the current parents (unless this is a dry run).
    pub(super) fn call<T: Default>(
        &mut self,
        hook: impl FnOnce(&mut H, &Parents) -> Result<T, HookError>,
    ) -> Result<T, HookError> {
        if self.dry {
            Ok(T::default())
        } else {
            hook(&mut *self.hooks, &self.parents)
        }
    }

    /// Runs `walk` once per phase of the options' order.
    pub(super) fn walk(&mut self, mut walk: impl FnMut(&mut Self)) {
        let phases: &[Phase] = match self.options.order {
            SyncOrder::DeletesFirst => &[Phase::Delete, Phase::UpdateCreate],
            SyncOrder::PerCollection => &[Phase::All],
        };
        for &phase in phases {
            self.phase = phase;
            walk(self);
        }
    }

    pub(super) fn finish(mut self) -> SyncReport {
        self.take_report()
    }

    /// The report so far of a walk a panic cut short, marked stopped, without calling
    /// any callback again (the one that panicked among them).
    pub(super) fn abandon(mut self) -> SyncReport {
        self.report.stopped = true;
        std::mem::take(&mut self.report)
    }

    /// The report so far, with the last progress call.
    pub(super) fn take_report(&mut self) -> SyncReport {
        // A run that did not stop is done: its total is what it recorded (fewer than
        // counted when unchanged elements under an `IGNORE`d parent went unlisted).
        if self.stopped {
            self.report_progress();
        } else {
            self.options
                .report_progress("sync", self.recorded, self.recorded);
        }
        self.report.stopped = self.stopped;
        std::mem::take(&mut self.report)
    }

    /// Calls the progress callback with the elements recorded so far.
    pub(super) fn report_progress(&mut self) {
        let done = self.recorded;
        self.options
            .report_progress("sync", done, self.total.max(done));
    }

    pub(super) fn flags_of<M: DiffModel + 'static>(&self, key: &M::Key) -> ModelFlags {
        self.options.flags_for_instance::<M>(key)
    }

    /// The flag that says to leave the element of `M` with `key` alone for `operation`, if
    /// any: `IGNORE`, or a "skip unmatched" flag of the element, its model or the sync.
    pub(super) fn skip_flag<M: DiffModel + 'static>(
        &self,
        key: &M::Key,
        operation: Operation,
    ) -> Option<&'static str> {
        let flags = self.flags_of::<M>(key);
        if flags.contains(ModelFlags::IGNORE) {
            return Some("IGNORE");
        }
        let (model_flag, sync_flag, name) = match operation {
            Operation::Create => (
                ModelFlags::SKIP_UNMATCHED_SRC,
                SyncFlags::SKIP_UNMATCHED_SRC,
                "SKIP_UNMATCHED_SRC",
            ),
            Operation::Delete => (
                ModelFlags::SKIP_UNMATCHED_DST,
                SyncFlags::SKIP_UNMATCHED_DST,
                "SKIP_UNMATCHED_DST",
            ),
            Operation::Update => return None,
        };
        (flags.contains(model_flag) || self.options.flags.contains(sync_flag)).then_some(name)
    }

    /// Why the element of `M` with `key` is left alone for `operation`, if it is: a flag
    /// says so (whether the sync stopped or not, as a plan lists it), or the sync stopped.
    pub(super) fn skip_reason<M: DiffModel + 'static>(
        &self,
        key: &M::Key,
        operation: Operation,
    ) -> Option<SkipReason> {
        match self.skip_flag::<M>(key, operation) {
            Some(flag) => Some(SkipReason::Flag(flag)),
            None => self.stopped.then_some(SkipReason::Stopped),
        }
    }

    pub(super) fn record<M: DiffModel>(
        &mut self,
        key: &M::Key,
        operation: Operation,
        status: Status,
    ) {
        self.record_attempts::<M>(key, operation, status, 0);
    }

    /// Records an outcome, with how many times its hook was called.
    pub(super) fn record_attempts<M: DiffModel>(
        &mut self,
        key: &M::Key,
        operation: Operation,
        status: Status,
        attempts: u32,
    ) {
        let parents = self.parents.prefix();
        let counts = &mut self.report.counts;
        match (&status, operation) {
            (Status::Applied, Operation::Create) => counts.created += 1,
            (Status::Applied, Operation::Update) => counts.updated += 1,
            (Status::Applied, Operation::Delete) => counts.deleted += 1,
            (Status::Failed(failure), _) => {
                counts.failed += 1;
                if failure.change_made() {
                    counts.failed_made += 1;
                }
                let error: &(dyn std::error::Error + 'static) = failure.error();
                tracing::warn!(
                    model = M::NAME,
                    %key,
                    %operation,
                    error,
                    parents = &*parents,
                    "hook failed"
                );
                if failure.is_fatal()
                    || !self.options.flags.contains(SyncFlags::CONTINUE_ON_FAILURE)
                {
                    self.stopped = true;
                }
            }
            (Status::Skipped(_), _) => counts.skipped += 1,
            (Status::Unchanged, _) => {}
        }
        tracing::debug!(
            model = M::NAME,
            %key,
            %operation,
            status = ?status,
            parents = &*parents,
            "element"
        );
        let outcome = Outcome {
            model: M::NAME,
            key: key.to_string(),
            field: self.parents.named_field(),
            parents,
            operation,
            status,
            attempts,
        };
        if let Some(outcome) = self.options.hand_over(outcome) {
            self.report.outcomes.push(outcome);
        }
        self.recorded += 1;
        let done = self.recorded;
        if done.is_multiple_of(PROGRESS_EVERY) {
            self.options
                .report_progress("sync", done, self.total.max(done));
        }
    }

    pub(super) fn record_error<M: DiffModel>(
        &mut self,
        key: &M::Key,
        operation: Operation,
        error: Error,
    ) {
        self.record::<M>(key, operation, Status::Failed(error.into()));
    }

    pub(super) fn record_result<M: DiffModel>(
        &mut self,
        key: &M::Key,
        operation: Operation,
        result: Result<(), HookError>,
    ) -> bool {
        // Every result comes from one hook call (or from a dry run's stand-in for it).
        match result {
            Ok(()) => {
                self.record_attempts::<M>(key, operation, Status::Applied, 1);
                true
            }
            Err(error) => {
                let status = Status::Failed(Failure::new(error));
                self.record_attempts::<M>(key, operation, status, 1);
                false
            }
        }
    }

    /// Records `model` and its descendants with one status (skipped subtrees, children
    /// deleted along with their parent, unchanged subtrees).
    pub(super) fn record_subtree<M: DiffModel>(
        &mut self,
        key: &M::Key,
        model: &M,
        operation: Operation,
        status: Status,
    ) {
        self.record::<M>(key, operation, status.clone());
        self.record_descendants_under(key, model, operation, status);
    }

    /// Records an element refused before its hook (`error`), and every change under it as
    /// skipped because its parent failed, so that each change a plan names has one outcome
    /// (the report's counts and the progress add up to the plan's).
    pub(super) fn record_refused<M: DiffModel>(
        &mut self,
        key: &M::Key,
        operation: Operation,
        error: Error,
        under: Under<'_, M>,
    ) {
        self.record_error::<M>(key, operation, error);
        let skipped = Status::Skipped(SkipReason::ParentFailed);
        match under {
            Under::Subtree(model) => {
                self.record_descendants_under(key, model, operation, skipped);
            }
            Under::Update(update) => {
                // A refused update's subtree is not walked (the element may not even be
                // there): what the diff counts unchanged in it (the element itself, when
                // only its children changed) is no longer counted, as
                // `LOG_UNCHANGED_RECORDS` does not list it.
                let mut under = Summary::default();
                M::visit_child_diffs(&update.children, &mut under);
                let unchanged = under
                    .unchanged
                    .saturating_add(usize::from(!update.has_field_changes()));
                let counts = &mut self.report.counts;
                counts.unchanged = counts.unchanged.saturating_sub(unchanged);
                self.record_child_diffs::<M>(key, &update.children, skipped);
            }
        }
    }

    /// [`Run::record_refused`] for an element of a diff.
    pub(super) fn record_refused_element<M: DiffModel>(
        &mut self,
        element: &ElementDiff<M>,
        error: Error,
    ) {
        let (operation, under) = match &element.action {
            Action::Create(model) => (Operation::Create, Under::Subtree(model)),
            Action::Delete(model) => (Operation::Delete, Under::Subtree(model)),
            Action::Update(update) => (Operation::Update, Under::Update(update)),
        };
        self.record_refused(&element.key, operation, error, under);
    }

    /// Records an element of a diff, and every change under it, with one status (a skip).
    pub(super) fn record_skipped_element<M: DiffModel>(
        &mut self,
        element: &ElementDiff<M>,
        status: Status,
    ) {
        if let Some((operation, model)) = subtree_of(&element.action) {
            self.record_subtree(&element.key, model, operation, status);
        } else if let Action::Update(update) = &element.action {
            if update.has_field_changes() {
                self.record::<M>(&element.key, Operation::Update, status.clone());
            }
            self.record_child_diffs::<M>(&element.key, &update.children, status);
        }
    }

    /// Records every change in the child diffs of the element with `key` with one status:
    /// creates and deletes with their subtrees, and updates of attributes, at every depth.
    pub(super) fn record_child_diffs<M: DiffModel>(
        &mut self,
        key: &M::Key,
        children: &M::ChildDiffs,
        status: Status,
    ) {
        self.parents.push_untyped::<M>(key);
        M::visit_child_diffs(children, &mut DiffRecorder { run: self, status });
        self.parents.pop();
    }

    /// Records the descendants of `model` (not the model) with one status.
    pub(super) fn record_descendants<M: DiffModel>(
        &mut self,
        model: &M,
        operation: Operation,
        status: Status,
    ) {
        self.record_descendants_under(&model.key(), model, operation, status);
    }

    /// [`Run::record_descendants`] under the element with `key`: the key a plan names for
    /// the element, which a hand-built plan may give another model than its own.
    pub(super) fn record_descendants_under<M: DiffModel>(
        &mut self,
        key: &M::Key,
        model: &M,
        operation: Operation,
        status: Status,
    ) {
        self.parents.push_untyped::<M>(key);
        model.visit_children(&mut SubtreeRecorder {
            run: self,
            operation,
            status,
        });
        self.parents.pop();
    }

    /// The children field of the innermost parent that the walk enters next (see
    /// [`Parents::field`]).
    pub(crate) fn enter_field(&mut self, field: &'static str) {
        self.parents.enter_field(field);
    }

    /// Runs `work` with the element of `M` with `key` as the innermost parent.
    pub(super) fn within<M: DiffModel<Key: Send + Sync> + 'static, T>(
        &mut self,
        key: &M::Key,
        work: impl FnOnce(&mut Self) -> T,
    ) -> T {
        self.parents.push::<M>(key);
        let out = work(self);
        self.parents.pop();
        out
    }

    /// Runs `work` on the children of a model created or deleted with its parent, with the
    /// model as the innermost parent; a model without children (`has_children` false) is
    /// not entered, so its key is not copied.
    pub(super) fn within_model<M: DiffModel<Key: Send + Sync> + 'static, T>(
        &mut self,
        has_children: bool,
        key: &M::Key,
        work: impl FnOnce(&mut Self) -> T,
    ) -> T {
        if has_children {
            self.within::<M, T>(key, work)
        } else {
            // Not entered: the children fields `work` walks (all empty) are the element's,
            // not the parent's, whose field stays as it was.
            let field = self.parents.field();
            let out = work(self);
            if let Some(field) = field {
                self.parents.enter_field(field);
            }
            out
        }
    }

    /// Whether this walk must enter an updated element's child diffs: when they hold work
    /// for its phase (any element, or in the delete walk a delete at any depth), or
    /// unchanged children are listed.
    pub(super) fn enters<M: DiffModel>(&self, children: &M::ChildDiffs) -> bool {
        let listing = self.phase.updates()
            && self
                .options
                .flags
                .contains(SyncFlags::LOG_UNCHANGED_RECORDS);
        listing || self.phase.wants::<M>(children)
    }
}

/// Whether a model has any child.
pub(super) fn has_children<M: DiffModel>(model: &M) -> bool {
    struct Any(bool);
    impl ModelVisitor for Any {
        fn visit<C: DiffModel>(&mut self, _field: &'static str, _child: &C) {
            self.0 = true;
        }
    }
    let mut any = Any(false);
    model.visit_children(&mut any);
    any.0
}

struct SubtreeRecorder<'r, 'h, 'o, H: ?Sized> {
    run: &'r mut Run<'h, 'o, H>,
    operation: Operation,
    status: Status,
}

impl<H: ?Sized> ModelVisitor for SubtreeRecorder<'_, '_, '_, H> {
    // Outcomes come in key order, the same in every run (a `HashMap`'s order is not).
    const KEY_ORDER: bool = true;

    fn visit<C: DiffModel>(&mut self, field: &'static str, child: &C) {
        self.run.enter_field(field);
        let key = child.key();
        self.run
            .record::<C>(&key, self.operation, self.status.clone());
        self.run.parents.push_untyped::<C>(&key);
        child.visit_children(self);
        self.run.parents.pop();
    }
}

/// What lies under a refused element: the subtree of a created or deleted model, or the
/// child diffs of an update.
pub(super) enum Under<'a, M: DiffModel> {
    /// The model created or deleted, whose descendants are skipped with it.
    Subtree(&'a M),
    /// An update, whose child diffs' changes are skipped with it.
    Update(&'a ModelUpdate<M>),
}

/// Records the changes of child diffs with one status (see [`Run::record_child_diffs`]).
struct DiffRecorder<'r, 'h, 'o, H: ?Sized> {
    run: &'r mut Run<'h, 'o, H>,
    status: Status,
}

impl<H: ?Sized> DiffVisitor for DiffRecorder<'_, '_, '_, H> {
    fn visit<C: DiffModel>(&mut self, field: &'static str, diff: &Diff<C>) {
        self.run.enter_field(field);
        for element in diff.elements() {
            self.run
                .record_skipped_element(element, self.status.clone());
        }
    }
}

/// The error of an update or delete of an element that is not there.
pub(super) fn not_found<M: DiffModel>(operation: Operation, key: &M::Key) -> Error {
    Error::NotFound {
        operation,
        model: M::NAME,
        key: key.to_string(),
        path: crate::error::Path::root(),
    }
}

/// The operation and the model of a create or a delete (the whole subtree it carries);
/// `None` for an update.
pub(super) fn subtree_of<M: DiffModel>(action: &Action<M>) -> Option<(Operation, &M)> {
    match action {
        Action::Create(model) => Some((Operation::Create, model)),
        Action::Delete(model) => Some((Operation::Delete, model)),
        Action::Update(_) => None,
    }
}
