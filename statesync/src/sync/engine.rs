//! The sync algorithm: per collection, deletes (children first), then updates (attributes,
//! then child diffs), then creates (parents first). Every element's outcome is recorded,
//! and the in-memory target changes only where a hook succeeded.

use crate::children::ChildCollection;
use crate::diff::{Action, Diff, ElementDiff, ModelUpdate};
use crate::error::{Error, Operation, Path};
use crate::model::{DiffModel, ModelVisitor};

use super::flags::{ModelFlags, SyncFlags, SyncOptions};
use super::report::{Outcome, SkipReason, Status, SyncReport};
use super::{HookError, SyncTree};

/// How often (in elements) the progress callback is called.
const PROGRESS_EVERY: usize = 1024;

/// One sync in progress: the hooks, the options and the report so far. Generated code
/// passes it along; it has no public methods.
pub struct Run<'h, 'o, H: ?Sized> {
    hooks: &'h mut H,
    options: SyncOptions<'o>,
    pub(super) report: SyncReport,
    stopped: bool,
    total: usize,
}

impl<'h, 'o, H: ?Sized> Run<'h, 'o, H> {
    pub(super) fn new(hooks: &'h mut H, options: SyncOptions<'o>, total: usize) -> Self {
        Self {
            hooks,
            options,
            report: SyncReport::default(),
            stopped: false,
            total,
        }
    }

    pub(super) fn finish(mut self) -> SyncReport {
        let done = self.report.outcomes.len();
        self.options
            .report_progress("sync", done, self.total.max(done));
        self.report.stopped = self.stopped;
        self.report
    }

    fn flags_for<M: DiffModel>(&self) -> ModelFlags {
        self.options.flags_for::<M>()
    }

    /// The name of the "skip unmatched" flag in force for `M`, from the model's flags or the
    /// sync's.
    fn skips_unmatched<M: DiffModel>(
        &self,
        (model_flag, sync_flag, name): (ModelFlags, SyncFlags, &'static str),
    ) -> Option<&'static str> {
        (self.flags_for::<M>().contains(model_flag) || self.options.flags.contains(sync_flag))
            .then_some(name)
    }

    fn skips_unmatched_src<M: DiffModel>(&self) -> Option<&'static str> {
        self.skips_unmatched::<M>((
            ModelFlags::SKIP_UNMATCHED_SRC,
            SyncFlags::SKIP_UNMATCHED_SRC,
            "SKIP_UNMATCHED_SRC",
        ))
    }

    fn skips_unmatched_dst<M: DiffModel>(&self) -> Option<&'static str> {
        self.skips_unmatched::<M>((
            ModelFlags::SKIP_UNMATCHED_DST,
            SyncFlags::SKIP_UNMATCHED_DST,
            "SKIP_UNMATCHED_DST",
        ))
    }

    /// The flag that says to leave an element of `M` alone for `operation`, if any.
    fn skip_flag<M: DiffModel>(&self, operation: Operation) -> Option<&'static str> {
        if self.flags_for::<M>().contains(ModelFlags::IGNORE) {
            return Some("IGNORE");
        }
        match operation {
            Operation::Create => self.skips_unmatched_src::<M>(),
            Operation::Delete => self.skips_unmatched_dst::<M>(),
            Operation::Update => None,
        }
    }

    fn record<M: DiffModel>(&mut self, key: &M::Key, operation: Operation, status: Status) {
        let counts = &mut self.report.counts;
        match (&status, operation) {
            (Status::Applied, Operation::Create) => counts.created += 1,
            (Status::Applied, Operation::Update) => counts.updated += 1,
            (Status::Applied, Operation::Delete) => counts.deleted += 1,
            (Status::Failed(error), _) => {
                counts.failed += 1;
                tracing::warn!(model = M::NAME, %key, %operation, %error, "hook failed");
                if !self.options.flags.contains(SyncFlags::CONTINUE_ON_FAILURE) {
                    self.stopped = true;
                }
            }
            (Status::Skipped(_), _) => counts.skipped += 1,
            (Status::Unchanged, _) => {}
        }
        tracing::debug!(model = M::NAME, %key, %operation, status = ?status, "element");
        self.report.outcomes.push(Outcome {
            model: M::NAME,
            key: key.to_string(),
            operation,
            status,
        });
        let done = self.report.outcomes.len();
        if done.is_multiple_of(PROGRESS_EVERY) {
            self.options
                .report_progress("sync", done, self.total.max(done));
        }
    }

    fn record_not_found<M: DiffModel>(&mut self, key: &M::Key, operation: Operation) {
        self.record::<M>(key, operation, not_found::<M>(operation, key));
    }

    fn record_result<M: DiffModel>(
        &mut self,
        key: &M::Key,
        operation: Operation,
        result: Result<(), HookError>,
    ) -> bool {
        match result {
            Ok(()) => {
                self.record::<M>(key, operation, Status::Applied);
                true
            }
            Err(error) => {
                self.record::<M>(key, operation, Status::Failed(error.to_string()));
                false
            }
        }
    }

    /// Records `model` and its descendants with one status (skipped subtrees, children
    /// deleted along with their parent).
    fn record_subtree<M: DiffModel>(&mut self, model: &M, operation: Operation, status: Status) {
        self.record::<M>(&model.key(), operation, status.clone());
        model.visit_children(&mut SubtreeRecorder {
            run: self,
            operation,
            status,
        });
    }
}

struct SubtreeRecorder<'r, 'h, 'o, H: ?Sized> {
    run: &'r mut Run<'h, 'o, H>,
    operation: Operation,
    status: Status,
}

impl<H: ?Sized> ModelVisitor for SubtreeRecorder<'_, '_, '_, H> {
    fn visit<C: DiffModel>(&mut self, _field: &'static str, child: &C) {
        self.run
            .record::<C>(&child.key(), self.operation, self.status.clone());
        child.visit_children(self);
    }
}

/// Where a collection's elements live: a children collection, or the root itself.
trait Slots<M: DiffModel> {
    /// Whether a new element can go in (a root only after its old model was deleted).
    fn has_room(&self) -> bool {
        true
    }
    fn slot_mut(&mut self, key: &M::Key) -> Option<&mut M>;
    fn remove_slot(&mut self, key: &M::Key);
    fn insert_slot(&mut self, model: M);
}

impl<C: ChildCollection> Slots<C::Model> for C {
    fn slot_mut(&mut self, key: &<C::Model as DiffModel>::Key) -> Option<&mut C::Model> {
        self.child_mut(key)
    }

    fn remove_slot(&mut self, key: &<C::Model as DiffModel>::Key) {
        drop(self.remove_child(key));
    }

    fn insert_slot(&mut self, model: C::Model) {
        self.insert_child(model);
    }
}

/// The root: one model, replaced by a delete plus a create when its key changes.
struct RootSlot<'a, M> {
    root: &'a mut M,
    deleted: bool,
}

impl<M: DiffModel> Slots<M> for RootSlot<'_, M> {
    fn has_room(&self) -> bool {
        self.deleted
    }

    fn slot_mut(&mut self, key: &M::Key) -> Option<&mut M> {
        (!self.deleted && self.root.has_key(key)).then_some(&mut *self.root)
    }

    fn remove_slot(&mut self, _key: &M::Key) {
        self.deleted = true;
    }

    fn insert_slot(&mut self, model: M) {
        *self.root = model;
        self.deleted = false;
    }
}

pub(super) fn sync_root<M: SyncTree<H>, H: ?Sized>(
    root: &mut M,
    diff: &Diff<M>,
    run: &mut Run<'_, '_, H>,
) {
    let mut slot = RootSlot {
        root,
        deleted: false,
    };
    sync_elements(&mut slot, diff, run);
}

/// Syncs a child collection's diff (called by generated code).
pub(crate) fn sync_collection<C, H>(
    children: &mut C,
    diff: &Diff<C::Model>,
    run: &mut Run<'_, '_, H>,
) where
    C: ChildCollection,
    C::Model: SyncTree<H>,
    H: ?Sized,
{
    sync_elements(children, diff, run);
}

fn not_found<M: DiffModel>(operation: Operation, key: &M::Key) -> Status {
    Status::Failed(
        Error::NotFound {
            operation,
            model: M::NAME,
            key: key.to_string(),
            path: Path::root(),
        }
        .to_string(),
    )
}

fn sync_elements<M, H, S>(slots: &mut S, diff: &Diff<M>, run: &mut Run<'_, '_, H>)
where
    M: SyncTree<H>,
    H: ?Sized,
    S: Slots<M>,
{
    if run.stopped {
        return;
    }
    if run.flags_for::<M>().contains(ModelFlags::IGNORE) {
        for element in diff.elements() {
            skip_element(element, run, SkipReason::Flag("IGNORE"));
        }
        return;
    }
    if run.options.flags.contains(SyncFlags::LOG_UNCHANGED_RECORDS) {
        for key in diff.unchanged_keys() {
            if let Some(model) = slots.slot_mut(key) {
                run.record_subtree(&*model, Operation::Update, Status::Unchanged);
            }
        }
    }
    for element in diff.elements() {
        if let Action::Delete(_) = &element.action {
            delete_element(slots, element, run);
        }
    }
    for element in diff.elements() {
        if let Action::Update(update) = &element.action {
            if run.stopped {
                return;
            }
            update_element(slots, &element.key, update, run);
        }
    }
    for element in diff.elements() {
        if let Action::Create(model) = &element.action {
            create_element(slots, &element.key, model, run);
        }
    }
}

/// Updates one element: its attributes through the update hook (checked against the diff's
/// old values first, restored on failure), then its child diffs.
fn update_element<M, H, S>(
    slots: &mut S,
    key: &M::Key,
    update: &ModelUpdate<M>,
    run: &mut Run<'_, '_, H>,
) where
    M: SyncTree<H>,
    H: ?Sized,
    S: Slots<M>,
{
    let Some(current) = slots.slot_mut(key) else {
        run.record_not_found::<M>(key, Operation::Update);
        return;
    };
    if update.has_field_changes() {
        if let Err(field) = current.check_fields(&update.fields) {
            let error = crate::diff::stale::<M>(key, field);
            run.record::<M>(key, Operation::Update, Status::Failed(error.to_string()));
        } else {
            let undo = current.snapshot_fields(&update.fields);
            current.apply_fields(&update.fields);
            let result = M::hook_update(run.hooks, current, &update.fields);
            if !run.record_result::<M>(key, Operation::Update, result) {
                current.apply_fields(&undo);
            }
        }
    }
    current.sync_child_diffs(&update.children, run);
}

fn skip_element<M: DiffModel, H: ?Sized>(
    element: &ElementDiff<M>,
    run: &mut Run<'_, '_, H>,
    reason: SkipReason,
) {
    match &element.action {
        Action::Create(model) => {
            run.record_subtree(model, Operation::Create, Status::Skipped(reason))
        }
        Action::Delete(model) => {
            run.record_subtree(model, Operation::Delete, Status::Skipped(reason))
        }
        Action::Update(_) => {
            run.record::<M>(&element.key, Operation::Update, Status::Skipped(reason))
        }
    }
}

fn delete_element<M, H, S>(slots: &mut S, element: &ElementDiff<M>, run: &mut Run<'_, '_, H>)
where
    M: SyncTree<H>,
    H: ?Sized,
    S: Slots<M>,
{
    if run.stopped {
        return;
    }
    if let Some(flag) = run.skips_unmatched_dst::<M>() {
        skip_element(element, run, SkipReason::Flag(flag));
        return;
    }
    let Some(current) = slots.slot_mut(&element.key) else {
        run.record_not_found::<M>(&element.key, Operation::Delete);
        return;
    };
    if delete_subtree(current, run) {
        slots.remove_slot(&element.key);
    }
}

/// Deletes a model and its descendants through the hooks; `true` when the model is gone
/// from the system (and must leave memory).
fn delete_subtree<M: SyncTree<H>, H: ?Sized>(model: &mut M, run: &mut Run<'_, '_, H>) -> bool {
    let flags = run.flags_for::<M>();
    let key = model.key();
    if flags.contains(ModelFlags::SKIP_CHILDREN_ON_DELETE) {
        let result = M::hook_delete(run.hooks, model);
        let deleted = run.record_result::<M>(&key, Operation::Delete, result);
        if deleted {
            model.visit_children(&mut SubtreeRecorder {
                run,
                operation: Operation::Delete,
                status: Status::Applied,
            });
        }
        return deleted;
    }
    if flags.contains(ModelFlags::PARENT_FIRST_DELETION) {
        let result = M::hook_delete(run.hooks, model);
        if !run.record_result::<M>(&key, Operation::Delete, result) {
            return false;
        }
        // The parent is gone from the system; its children go from memory with it even
        // when their own delete hooks fail (the failures are in the report).
        model.delete_children(run);
        return true;
    }
    if !model.delete_children(run) {
        if !run.stopped {
            run.record::<M>(
                &key,
                Operation::Delete,
                Status::Skipped(SkipReason::ChildFailed),
            );
        }
        return false;
    }
    if run.stopped {
        return false;
    }
    let result = M::hook_delete(run.hooks, model);
    run.record_result::<M>(&key, Operation::Delete, result)
}

fn create_element<M, H, S>(slots: &mut S, key: &M::Key, model: &M, run: &mut Run<'_, '_, H>)
where
    M: SyncTree<H>,
    H: ?Sized,
    S: Slots<M>,
{
    if run.stopped {
        return;
    }
    if let Some(flag) = run.skips_unmatched_src::<M>() {
        run.record_subtree(
            model,
            Operation::Create,
            Status::Skipped(SkipReason::Flag(flag)),
        );
        return;
    }
    let refused = if !model.has_key(key) {
        Some(Error::KeyMismatch {
            model: M::NAME,
            expected: key.to_string(),
            found: model.key().to_string(),
        })
    } else if slots.slot_mut(key).is_some() || !slots.has_room() {
        Some(Error::AlreadyExists {
            model: M::NAME,
            key: key.to_string(),
            path: Path::root(),
        })
    } else {
        None
    };
    if let Some(error) = refused {
        run.record::<M>(key, Operation::Create, Status::Failed(error.to_string()));
        return;
    }
    let result = M::hook_create(run.hooks, model);
    if run.record_result::<M>(key, Operation::Create, result) {
        let mut created = model.clone();
        created.create_children(run);
        slots.insert_slot(created);
    } else {
        model.visit_children(&mut SubtreeRecorder {
            run,
            operation: Operation::Create,
            status: Status::Skipped(SkipReason::ParentFailed),
        });
    }
}

/// Creates the children of a model just created (called by generated code): each child's
/// hook, then its own children; a child whose hook failed (or that a flag skips) leaves
/// memory, with its subtree reported as skipped.
pub(crate) fn create_collection<C, H>(children: &mut C, run: &mut Run<'_, '_, H>)
where
    C: ChildCollection,
    C::Model: SyncTree<H>,
    H: ?Sized,
{
    let mut dropped = Vec::new();
    for key in children.child_keys() {
        let Some(child) = children.child_mut(&key) else {
            continue;
        };
        if run.stopped {
            // Its parent was created, it was not: say so, and leave it out of memory.
            run.record_subtree(
                &*child,
                Operation::Create,
                Status::Skipped(SkipReason::Stopped),
            );
            dropped.push(key);
            continue;
        }
        if let Some(flag) = run.skip_flag::<C::Model>(Operation::Create) {
            run.record_subtree(
                &*child,
                Operation::Create,
                Status::Skipped(SkipReason::Flag(flag)),
            );
            dropped.push(key);
            continue;
        }
        let result = <C::Model as SyncTree<H>>::hook_create(run.hooks, child);
        if run.record_result::<C::Model>(&key, Operation::Create, result) {
            child.create_children(run);
        } else {
            child.visit_children(&mut SubtreeRecorder {
                run,
                operation: Operation::Create,
                status: Status::Skipped(SkipReason::ParentFailed),
            });
            dropped.push(key);
        }
    }
    for key in dropped {
        drop(children.remove_child(&key));
    }
}

/// Deletes every child of a model about to be deleted (called by generated code);
/// `false` when one stays.
pub(crate) fn delete_collection<C, H>(children: &mut C, run: &mut Run<'_, '_, H>) -> bool
where
    C: ChildCollection,
    C::Model: SyncTree<H>,
    H: ?Sized,
{
    let mut all_gone = true;
    for key in children.child_keys() {
        if run.stopped {
            return false;
        }
        let Some(child) = children.child_mut(&key) else {
            continue;
        };
        if let Some(flag) = run.skip_flag::<C::Model>(Operation::Delete) {
            run.record_subtree(
                &*child,
                Operation::Delete,
                Status::Skipped(SkipReason::Flag(flag)),
            );
            all_gone = false;
            continue;
        }
        if delete_subtree(child, run) {
            drop(children.remove_child(&key));
        } else {
            all_gone = false;
        }
    }
    all_gone
}
