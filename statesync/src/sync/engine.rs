//! The sync algorithm. In the default order ([`SyncOrder::DeletesFirst`]) the diff tree is
//! walked twice: every delete (children first), then, collection by collection, updates
//! (attributes, then child diffs) and creates (parents first). [`SyncOrder::PerCollection`]
//! does a collection's deletes, updates and creates in one walk. Every element's outcome is recorded, and the in-memory
//! target changes only where a hook succeeded.

use crate::children::ChildCollection;
use crate::diff::{Action, Diff, ElementDiff, ModelUpdate};
use crate::error::{Error, Operation, Path};
use crate::model::{DiffModel, DiffVisitor, ModelVisitor};

use super::flags::{ModelFlags, SyncFlags, SyncOptions, SyncOrder};
use super::parents::Parents;
use super::report::{Failure, Outcome, SkipReason, Status, SyncReport};
use super::{HookError, SyncTree};

/// How often (in elements) the progress callback is called.
const PROGRESS_EVERY: usize = 1024;

/// Which operations one walk of the diff tree carries out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
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

    fn deletes(self) -> bool {
        matches!(self, Phase::All | Phase::Delete)
    }

    fn updates(self) -> bool {
        matches!(self, Phase::All | Phase::UpdateCreate)
    }

    fn creates(self) -> bool {
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
    hooks: &'h mut H,
    options: SyncOptions<'o>,
    pub(super) report: SyncReport,
    stopped: bool,
    total: usize,
    phase: Phase,
    parents: Parents,
    /// Whether the root was deleted (by an earlier walk, when it is replaced).
    root_deleted: bool,
    /// A dry run: hooks are not called and count as successes.
    dry: bool,
}

impl<'h, 'o, H: ?Sized> Run<'h, 'o, H> {
    pub(super) fn new(hooks: &'h mut H, options: SyncOptions<'o>, total: usize) -> Self {
        Self {
            hooks,
            options,
            report: SyncReport::default(),
            stopped: false,
            total,
            phase: Phase::All,
            parents: Parents::default(),
            root_deleted: false,
            dry: false,
        }
    }

    /// A run that calls no hook: what the sync would do if every hook succeeded.
    pub(super) fn dry(hooks: &'h mut H, options: SyncOptions<'o>) -> Self {
        let mut run = Self::new(hooks, options, 0);
        run.dry = true;
        run
    }

    /// Calls a hook with the current parents (unless this is a dry run).
    fn call(
        &mut self,
        hook: impl FnOnce(&mut H, &Parents) -> Result<(), HookError>,
    ) -> Result<(), HookError> {
        if self.dry {
            Ok(())
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
        let done = self.report.outcomes.len();
        self.options
            .report_progress("sync", done, self.total.max(done));
        self.report.stopped = self.stopped;
        self.report
    }

    fn flags_of<M: DiffModel + 'static>(&self, key: &M::Key) -> ModelFlags {
        self.options.flags_for_instance::<M>(key)
    }

    /// The flag that says to leave the element of `M` with `key` alone for `operation`, if
    /// any: `IGNORE`, or a "skip unmatched" flag of the element, its model or the sync.
    fn skip_flag<M: DiffModel + 'static>(
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

    fn record<M: DiffModel>(&mut self, key: &M::Key, operation: Operation, status: Status) {
        let parents = self.parents.prefix();
        let counts = &mut self.report.counts;
        match (&status, operation) {
            (Status::Applied, Operation::Create) => counts.created += 1,
            (Status::Applied, Operation::Update) => counts.updated += 1,
            (Status::Applied, Operation::Delete) => counts.deleted += 1,
            (Status::Failed(failure), _) => {
                counts.failed += 1;
                let error: &(dyn std::error::Error + 'static) = failure.error();
                tracing::warn!(
                    model = M::NAME,
                    %key,
                    %operation,
                    error,
                    parents = &*parents,
                    "hook failed"
                );
                if !self.options.flags.contains(SyncFlags::CONTINUE_ON_FAILURE) {
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
        self.report.outcomes.push(Outcome {
            model: M::NAME,
            key: key.to_string(),
            parents,
            operation,
            status,
        });
        let done = self.report.outcomes.len();
        if done % PROGRESS_EVERY == 0 {
            self.options
                .report_progress("sync", done, self.total.max(done));
        }
    }

    fn record_error<M: DiffModel>(&mut self, key: &M::Key, operation: Operation, error: Error) {
        self.record::<M>(key, operation, Status::Failed(error.into()));
    }

    fn record_not_found<M: DiffModel>(&mut self, key: &M::Key, operation: Operation) {
        self.record_error::<M>(key, operation, not_found::<M>(operation, key));
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
                self.record::<M>(key, operation, Status::Failed(Failure::new(error)));
                false
            }
        }
    }

    /// Records `model` and its descendants with one status (skipped subtrees, children
    /// deleted along with their parent, unchanged subtrees).
    fn record_subtree<M: DiffModel>(&mut self, model: &M, operation: Operation, status: Status) {
        self.record::<M>(&model.key(), operation, status.clone());
        self.record_descendants(model, operation, status);
    }

    /// Records the descendants of `model` (not the model) with one status.
    fn record_descendants<M: DiffModel>(
        &mut self,
        model: &M,
        operation: Operation,
        status: Status,
    ) {
        self.parents.push_untyped::<M>(&model.key());
        model.visit_children(&mut SubtreeRecorder {
            run: self,
            operation,
            status,
        });
        self.parents.pop();
    }

    /// Runs `work` with the element of `M` with `key` as the innermost parent.
    fn within<M: DiffModel + 'static, T>(
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
    fn within_model<M: DiffModel + 'static, T>(
        &mut self,
        has_children: bool,
        key: &M::Key,
        work: impl FnOnce(&mut Self) -> T,
    ) -> T {
        if has_children {
            self.within::<M, T>(key, work)
        } else {
            work(self)
        }
    }

    /// Whether this walk must enter an updated element's child diffs: when they hold work
    /// for its phase (any element, or in the delete walk a delete at any depth), or
    /// unchanged children are listed.
    fn enters<M: DiffModel>(&self, children: &M::ChildDiffs) -> bool {
        let listing = self.phase.updates()
            && self
                .options
                .flags
                .contains(SyncFlags::LOG_UNCHANGED_RECORDS);
        listing || self.phase.wants::<M>(children)
    }
}

/// Whether a model has any child.
fn has_children<M: DiffModel>(model: &M) -> bool {
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
    fn visit<C: DiffModel>(&mut self, _field: &'static str, child: &C) {
        let key = child.key();
        self.run
            .record::<C>(&key, self.operation, self.status.clone());
        self.run.parents.push_untyped::<C>(&key);
        child.visit_children(self);
        self.run.parents.pop();
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
    /// Calls `f` with each element present.
    fn for_each_slot<'s>(&'s self, f: &mut dyn FnMut(&'s M));
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

    fn for_each_slot<'s>(&'s self, f: &mut dyn FnMut(&'s C::Model)) {
        self.for_each_child(f);
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

    fn for_each_slot<'s>(&'s self, f: &mut dyn FnMut(&'s M)) {
        if !self.deleted {
            f(self.root);
        }
    }
}

pub(super) fn sync_root<M: SyncTree<H>, H: ?Sized>(
    root: &mut M,
    diff: &Diff<M>,
    run: &mut Run<'_, '_, H>,
) {
    let mut slot = RootSlot {
        root,
        deleted: run.root_deleted,
    };
    sync_elements(&mut slot, diff, run);
    run.root_deleted = slot.deleted;
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

pub(crate) fn not_found<M: DiffModel>(operation: Operation, key: &M::Key) -> Error {
    Error::NotFound {
        operation,
        model: M::NAME,
        key: key.to_string(),
        path: Path::root(),
    }
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
    if run.phase.updates() && run.options.flags.contains(SyncFlags::LOG_UNCHANGED_RECORDS) {
        record_unchanged(slots, diff, run);
    }
    if run.phase.deletes() {
        for element in diff.elements() {
            if let Action::Delete(_) = &element.action {
                delete_element(slots, element, run);
            }
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
    if run.phase.creates() {
        for element in diff.elements() {
            if let Action::Create(model) = &element.action {
                create_element(slots, &element.key, model, run);
            }
        }
    }
}

/// Lists the elements of a collection the diff does not name (each with its subtree, all
/// unchanged), in key order.
fn record_unchanged<M, H, S>(slots: &S, diff: &Diff<M>, run: &mut Run<'_, '_, H>)
where
    M: DiffModel,
    H: ?Sized,
    S: Slots<M>,
{
    let elements = diff.elements();
    let mut unchanged = Vec::new();
    slots.for_each_slot(&mut |model| {
        let key = model.key();
        if elements
            .binary_search_by(|element| element.key.cmp(&key))
            .is_err()
        {
            unchanged.push((key, model));
        }
    });
    unchanged.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, model) in unchanged {
        run.record_subtree(model, Operation::Update, Status::Unchanged);
    }
}

/// Updates one element: its attributes through the update hook (checked against the diff's
/// old values first, restored on failure), then its child diffs. In the delete walk only
/// its child diffs are walked.
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
        if run.phase.updates() {
            run.record_not_found::<M>(key, Operation::Update);
        }
        return;
    };
    if run.flags_of::<M>(key).contains(ModelFlags::IGNORE) {
        if run.phase.updates() {
            run.record::<M>(
                key,
                Operation::Update,
                Status::Skipped(SkipReason::Flag("IGNORE")),
            );
        }
        return;
    }
    if run.phase.updates() {
        if !update.has_field_changes() {
            if run.options.flags.contains(SyncFlags::LOG_UNCHANGED_RECORDS) {
                run.record::<M>(key, Operation::Update, Status::Unchanged);
            }
        } else if let Err(field) = current.check_fields(&update.fields) {
            run.record_error::<M>(key, Operation::Update, crate::diff::stale::<M>(key, field));
        } else {
            let undo = current.snapshot_fields(&update.fields);
            current.apply_fields(&update.fields);
            let result =
                run.call(|hooks, parents| M::hook_update(hooks, current, &update.fields, parents));
            if !run.record_result::<M>(key, Operation::Update, result) {
                current.apply_fields(&undo);
            }
        }
    }
    if run.enters::<M>(&update.children) {
        run.within::<M, _>(key, |run| current.sync_child_diffs(&update.children, run));
    }
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
    if let Some(flag) = run.skip_flag::<M>(&element.key, Operation::Delete) {
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
    let key = model.key();
    let flags = run.flags_of::<M>(&key);
    if flags.contains(ModelFlags::SKIP_CHILDREN_ON_DELETE) {
        let result = run.call(|hooks, parents| M::hook_delete(hooks, model, parents));
        let deleted = run.record_result::<M>(&key, Operation::Delete, result);
        if deleted {
            run.record_descendants(&*model, Operation::Delete, Status::Applied);
        }
        return deleted;
    }
    if flags.contains(ModelFlags::PARENT_FIRST_DELETION) {
        let result = run.call(|hooks, parents| M::hook_delete(hooks, model, parents));
        if !run.record_result::<M>(&key, Operation::Delete, result) {
            return false;
        }
        // The parent is gone from the system; its children go from memory with it even
        // when their own delete hooks fail (the failures are in the report).
        run.within_model::<M, _>(has_children(&*model), &key, |run| {
            model.delete_children(run)
        });
        return true;
    }
    if !run.within_model::<M, _>(has_children(&*model), &key, |run| {
        model.delete_children(run)
    }) {
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
    let result = run.call(|hooks, parents| M::hook_delete(hooks, model, parents));
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
    if let Some(flag) = run.skip_flag::<M>(key, Operation::Create) {
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
        run.record_error::<M>(key, Operation::Create, error);
        return;
    }
    let result = run.call(|hooks, parents| M::hook_create(hooks, model, parents));
    if run.record_result::<M>(key, Operation::Create, result) {
        let mut created = model.clone();
        run.within_model::<M, _>(has_children(model), key, |run| created.create_children(run));
        slots.insert_slot(created);
    } else {
        run.record_descendants(
            model,
            Operation::Create,
            Status::Skipped(SkipReason::ParentFailed),
        );
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
        let skipped = if run.stopped {
            // Its parent was created, it was not: say so, and leave it out of memory.
            Some(SkipReason::Stopped)
        } else {
            run.skip_flag::<C::Model>(&key, Operation::Create)
                .map(SkipReason::Flag)
        };
        if let Some(reason) = skipped {
            run.record_subtree(&*child, Operation::Create, Status::Skipped(reason));
            dropped.push(key);
            continue;
        }
        let result = run
            .call(|hooks, parents| <C::Model as SyncTree<H>>::hook_create(hooks, child, parents));
        if run.record_result::<C::Model>(&key, Operation::Create, result) {
            run.within_model::<C::Model, _>(has_children(&*child), &key, |run| {
                child.create_children(run)
            });
        } else {
            run.record_descendants(
                &*child,
                Operation::Create,
                Status::Skipped(SkipReason::ParentFailed),
            );
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
        if let Some(flag) = run.skip_flag::<C::Model>(&key, Operation::Delete) {
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
