//! The sync algorithm. In the default order ([`SyncOrder::DeletesFirst`]) the diff tree is
//! walked twice: every delete (children first), then, collection by collection, updates
//! (attributes, then child diffs) and creates (parents first). [`SyncOrder::PerCollection`]
//! does a collection's deletes, updates and creates in one walk. Every element's outcome is
//! recorded, and the in-memory target changes only where a hook succeeded.

use crate::children::{ChildCollection, IndexedVec};
use crate::diff::{Action, Diff, ElementDiff, ModelUpdate};
use crate::error::{Error, Operation, Path};
use crate::fields::{ChildField, ChildFieldVisitor, clear_children};
use crate::model::DiffModel;

use super::SyncTree;
use super::flags::{ModelFlags, SyncFlags};
use super::report::{SkipReason, Status};
use super::returned;
use super::run::{Run, Under, has_children, not_found};

/// Where a collection's elements live: a children collection, or the root itself.
pub(super) trait Slots<M: DiffModel> {
    /// Whether a new element can go in (a root only after its old model was deleted).
    fn has_room(&self) -> bool {
        true
    }
    fn slot_mut(&mut self, key: &M::Key) -> Option<&mut M>;
    fn remove_slot(&mut self, key: &M::Key);
    /// Removes the elements with these keys, in one pass where the collection keeps an
    /// order.
    fn remove_slots(&mut self, keys: &[M::Key]) {
        for key in keys {
            self.remove_slot(key);
        }
    }
    fn insert_slot(&mut self, model: M);
    /// The key of the model that replaces the one held, when this is a root whose key the
    /// diff changes (a delete and a create): its delete waits on that create.
    fn replacement(&self) -> Option<&M::Key> {
        None
    }
    /// Why the model that replaces the one held cannot go in, when this is a root whose
    /// key the diff changes: the delete is refused with it, so the old root is not deleted
    /// for a replacement that was never possible.
    fn replacement_refusal(&self) -> Option<&Error> {
        None
    }
    /// Why no element of the collection's diff may go through a hook: a key held twice (a
    /// model set aside after a colliding rename, a `Vec` built with a repeat:
    /// [`ChildCollection::check_no_collisions`]). Asked once per walk of the collection.
    fn collision(&self) -> Option<Error> {
        None
    }
    /// Calls `f` with each element present.
    fn for_each_slot<'s>(&'s self, f: &mut dyn FnMut(&'s M));
    /// The keys of the elements present, in the order they are walked.
    fn slot_keys(&self) -> Vec<M::Key>;
    /// Up to `limit` keys of the elements present, from the one with key `from` on, and
    /// the key after them (see [`ChildCollection::child_keys_from`]): how the async engine
    /// reads a collection.
    #[cfg(feature = "async")]
    fn slot_keys_from(
        &self,
        from: Option<&M::Key>,
        limit: usize,
    ) -> crate::children::ChildKeys<M::Key> {
        crate::children::ChildKeys::scanning(from, limit, |each| self.for_each_slot(each))
    }
}

impl<C: ChildCollection> Slots<C::Model> for C {
    fn collision(&self) -> Option<Error> {
        self.check_no_collisions().err()
    }

    fn slot_mut(&mut self, key: &<C::Model as DiffModel>::Key) -> Option<&mut C::Model> {
        self.child_mut(key, crate::children::EngineOnly::new())
    }

    fn remove_slot(&mut self, key: &<C::Model as DiffModel>::Key) {
        drop(self.remove_child(key));
    }

    fn remove_slots(&mut self, keys: &[<C::Model as DiffModel>::Key]) {
        self.remove_children(keys);
    }

    fn insert_slot(&mut self, model: C::Model) {
        self.insert_child(model);
    }

    fn for_each_slot<'s>(&'s self, f: &mut dyn FnMut(&'s C::Model)) {
        self.for_each_child(f);
    }

    fn slot_keys(&self) -> Vec<<C::Model as DiffModel>::Key> {
        self.child_keys()
    }

    #[cfg(feature = "async")]
    fn slot_keys_from(
        &self,
        from: Option<&<C::Model as DiffModel>::Key>,
        limit: usize,
    ) -> crate::children::ChildKeys<<C::Model as DiffModel>::Key> {
        self.child_keys_from(from, limit)
    }
}

/// A `Vec` of children while the engine works on it (see [`Indexed`]).
impl<M: DiffModel> Slots<M> for IndexedVec<M> {
    fn slot_mut(&mut self, key: &M::Key) -> Option<&mut M> {
        self.get_mut(key)
    }

    fn remove_slot(&mut self, key: &M::Key) {
        drop(self.take(key));
    }

    fn insert_slot(&mut self, model: M) {
        self.add(model.key(), model);
    }

    fn for_each_slot<'s>(&'s self, f: &mut dyn FnMut(&'s M)) {
        self.iter().for_each(f);
    }

    fn slot_keys(&self) -> Vec<M::Key> {
        self.iter().map(DiffModel::key).collect()
    }
}

/// The children of a collection that scans for a key (a `Vec`), taken out into a position
/// index while the engine works on them, and put back in order when dropped, also while
/// unwinding from a panic: each lookup by key is then a hash, not a scan (a sync of 50,000
/// changes in one `Vec` took 1.5 s, quadratic; now as long as in a `Store`).
struct Indexed<'c, C: ChildCollection> {
    children: &'c mut C,
    slots: IndexedVec<C::Model>,
}

impl<'c, C: ChildCollection> Indexed<'c, C> {
    /// The children indexed, or `None` (the collection left as it was) when it holds a
    /// key twice: the engine then works on the collection itself, whose lookups find the
    /// first of them.
    fn new(children: &'c mut C) -> Option<Self> {
        let slots = IndexedVec::new(children.take_children());
        if slots.repeats_a_key() {
            *children = C::from_children(slots.into_vec());
            return None;
        }
        Some(Self { children, slots })
    }
}

impl<C: ChildCollection> Drop for Indexed<'_, C> {
    fn drop(&mut self) {
        let slots = std::mem::take(&mut self.slots);
        *self.children = C::from_children(slots.into_vec());
    }
}

/// The elements of a collection whose deletes succeeded, taken out of memory together when
/// dropped: after the collection's deletes, and while unwinding from a panic among them
/// (one pass, where removing each at once would shift a `Store`'s models every time).
struct Removals<'s, M: DiffModel, S: Slots<M>> {
    slots: &'s mut S,
    gone: Vec<M::Key>,
}

impl<M: DiffModel, S: Slots<M>> Drop for Removals<'_, M, S> {
    fn drop(&mut self) {
        if !self.gone.is_empty() {
            self.slots.remove_slots(&self.gone);
        }
    }
}

/// Whether the blocking engine walks this collection through an index ([`Indexed`]): it
/// scans for keys, it will look up more than a few of them (`lookups`; below that, the
/// scans cost less than the index), and the async engine's walker (which finds its place
/// anew at each step) is not running. `lookups` is counted only for a collection that
/// scans: counting a `Store`'s or a map's children would walk them on every visit.
fn through_index<C: ChildCollection, H: ?Sized>(
    run: &Run<'_, '_, H>,
    lookups: impl FnOnce() -> usize,
) -> bool {
    #[cfg(feature = "async")]
    if run.walker.is_some() {
        return false;
    }
    let _ = run;
    C::SCANS && lookups() > SCANS_BEFORE_INDEX
}

/// How many lookups by key in a collection that scans cost less than indexing it.
const SCANS_BEFORE_INDEX: usize = 8;

/// The root: one model, replaced by a delete plus a create when its key changes.
struct RootSlot<'a, M: DiffModel> {
    root: &'a mut M,
    deleted: bool,
    /// The key of the created model, when the diff replaces the root.
    replacement: Option<&'a M::Key>,
    /// Why the created model cannot go in, if it cannot.
    refusal: Option<Error>,
}

impl<M: DiffModel> Slots<M> for RootSlot<'_, M> {
    fn has_room(&self) -> bool {
        self.deleted
    }

    fn slot_mut(&mut self, key: &M::Key) -> Option<&mut M> {
        (!self.deleted && self.root.has_key(key)).then_some(&mut *self.root)
    }

    fn remove_slot(&mut self, _key: &M::Key) {
        // Memory keeps the root (it cannot be empty) until its replacement goes in; its
        // subtree left the system with it (deleted first, or taken along by its delete).
        crate::fields::clear_children(self.root);
        self.deleted = true;
    }

    fn insert_slot(&mut self, model: M) {
        *self.root = model;
        self.deleted = false;
    }

    fn replacement(&self) -> Option<&M::Key> {
        self.replacement
    }

    fn replacement_refusal(&self) -> Option<&Error> {
        self.refusal.as_ref()
    }

    fn for_each_slot<'s>(&'s self, f: &mut dyn FnMut(&'s M)) {
        if !self.deleted {
            f(self.root);
        }
    }

    fn slot_keys(&self) -> Vec<M::Key> {
        if self.deleted {
            Vec::new()
        } else {
            vec![self.root.key()]
        }
    }
}

pub(super) fn sync_root<M: SyncTree<H>, H: ?Sized>(
    root: &mut M,
    diff: &Diff<M>,
    run: &mut Run<'_, '_, H>,
) {
    // A root diff of a shape `apply` refuses (a lone delete or create, two updates, three
    // elements, a delete and a create of one key: hand-built or read from a peer) is
    // refused whole, before any hook: the walks carry an empty diff instead.
    if let Err(error) = crate::diff::check_root_shape(diff.elements()) {
        if !run.root_refused {
            run.root_refused = true;
            for element in diff.elements() {
                run.record_refused_element(element, error.clone());
            }
        }
        let mut slot = RootSlot {
            root,
            deleted: run.root_deleted,
            replacement: None,
            refusal: None,
        };
        sync_elements(&mut slot, &Diff::default(), run);
        return;
    }
    // A root diff that deletes and creates replaces the root by the created model.
    let elements = diff.elements();
    let created = elements
        .iter()
        .any(|element| matches!(element.action, Action::Delete(_)))
        .then(|| {
            elements.iter().find_map(|element| match &element.action {
                Action::Create(model) => Some((&element.key, model)),
                _ => None,
            })
        })
        .flatten();
    let refusal = match (&run.replacement_refusal, created) {
        (Some(checked), _) => checked.clone(),
        (None, Some((key, model))) => {
            let refusal = replacement_refusal(key, model);
            run.replacement_refusal = Some(refusal.clone());
            refusal
        }
        (None, None) => None,
    };
    let mut slot = RootSlot {
        root,
        deleted: run.root_deleted,
        replacement: created.map(|(key, _)| key),
        refusal,
    };
    sync_elements(&mut slot, diff, run);
    run.root_deleted = slot.deleted;
}

/// Why the model that replaces a root cannot go in: it has another key than its element,
/// or its subtree is not one a diff can carry (see `apply`).
fn replacement_refusal<M: DiffModel>(key: &M::Key, model: &M) -> Option<Error> {
    if model.has_key(key) {
        crate::diff::check_create(model).err()
    } else {
        Some(Error::key_mismatch(M::NAME, key, &model.key()))
    }
}

/// A delete refused because the root's replacement is ([`Slots::replacement_refusal`]):
/// `true` when it was, and recorded.
pub(super) fn refused_for_replacement<M: DiffModel, H: ?Sized, S: Slots<M>>(
    slots: &S,
    key: &M::Key,
    payload: &M,
    run: &mut Run<'_, '_, H>,
) -> bool {
    let Some(error) = slots.replacement_refusal() else {
        return false;
    };
    run.record_refused(
        key,
        Operation::Delete,
        error.clone(),
        Under::Subtree(payload),
    );
    true
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
    if through_index::<C, H>(run, || diff.elements().len())
        && let Some(mut indexed) = Indexed::new(children)
    {
        sync_elements(&mut indexed.slots, diff, run);
        return;
    }
    sync_elements(children, diff, run);
}

fn sync_elements<M, H, S>(slots: &mut S, diff: &Diff<M>, run: &mut Run<'_, '_, H>)
where
    M: SyncTree<H>,
    H: ?Sized,
    S: Slots<M>,
{
    #[cfg(feature = "async")]
    if run.walker.is_some() {
        super::concurrent::walk::collection(slots, Some(diff), run);
        return;
    }
    if run.stopped {
        return;
    }
    if run.phase.updates() && run.options.flags.contains(SyncFlags::LOG_UNCHANGED_RECORDS) {
        record_unchanged(slots, diff, run);
    }
    let elements = diff.elements();
    let collision = if elements.is_empty() {
        None
    } else {
        slots.collision()
    };
    if run.phase.deletes() {
        let mut removals = Removals {
            slots: &mut *slots,
            gone: Vec::new(),
        };
        for (at, element) in elements.iter().enumerate() {
            if let Action::Delete(_) = &element.action
                && !refused_before_hook(collision.as_ref(), elements, at, run)
            {
                delete_element(removals.slots, element, run, &mut removals.gone);
            }
        }
    }
    for (at, element) in elements.iter().enumerate() {
        if let Action::Update(update) = &element.action {
            if run.stopped {
                return;
            }
            if !refused_before_hook(collision.as_ref(), elements, at, run) {
                update_element(slots, &element.key, update, run);
            }
        }
    }
    if run.phase.creates() {
        for (at, element) in elements.iter().enumerate() {
            if let Action::Create(model) = &element.action
                && !refused_before_hook(collision.as_ref(), elements, at, run)
            {
                create_element(slots, &element.key, model, run);
            }
        }
    }
}

/// Whether the element at `at` is refused before its hook: its collection holds a key
/// twice, `collision` (`apply` refuses a diff of it whole, and so does `sync_from`, which
/// cannot diff it), or it names the key of the element before it, which only a plan built
/// by hand or read from a file can do (`apply` refuses such a diff whole; here the first is
/// carried, a repeat refused). A refused element fails with `Error::DuplicateKey` (with
/// `Error::SetAside` for a `Store` holding a model set aside), its
/// subtree skipped, recorded by the walk that would act on it. Both engines refuse
/// elements this way.
pub(super) fn refused_before_hook<M: DiffModel, H: ?Sized>(
    collision: Option<&Error>,
    elements: &[ElementDiff<M>],
    at: usize,
    run: &mut Run<'_, '_, H>,
) -> bool {
    let Some(element) = elements.get(at) else {
        return false;
    };
    let error = match collision {
        Some(error) => error.clone(),
        None => {
            let before = at.checked_sub(1).and_then(|before| elements.get(before));
            match before {
                Some(before) if before.key == element.key => {
                    Error::duplicate_key(M::NAME, &element.key)
                }
                _ => return false,
            }
        }
    };
    let acts = match element.action {
        Action::Delete(_) => run.phase.deletes(),
        Action::Update(_) | Action::Create(_) => run.phase.updates(),
    };
    if acts && !run.stopped {
        run.record_refused_element(element, error);
    } else if acts && run.records_after_stop {
        run.record_skipped_element(element, Status::Skipped(SkipReason::Stopped));
    }
    true
}

/// Lists the elements of a collection the diff does not name (each with its subtree, all
/// unchanged), in key order.
pub(super) fn record_unchanged<M, H, S>(slots: &S, diff: &Diff<M>, run: &mut Run<'_, '_, H>)
where
    M: DiffModel,
    H: ?Sized,
    S: Slots<M>,
{
    // A root diff refused whole: its elements and what lies under them are recorded as
    // refused and skipped, not listed again as unchanged.
    if run.root_refused {
        return;
    }
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
    crate::order::sort_by_key_ref(&mut unchanged, |(key, _)| key);
    for (key, model) in unchanged {
        run.record_subtree(&key, model, Operation::Update, Status::Unchanged);
    }
}

/// What an update of one element comes to before any hook: nothing more to do (recorded
/// if there was something to say), or a hook call.
pub(super) enum UpdateDecision {
    /// The element is not there, or a flag leaves it alone: not entered either.
    Left,
    /// Decided without a hook (no attribute changed, a stale diff, or not the update walk).
    Decided,
    /// The update hook must run.
    Call,
}

/// Decides the update of the element with `key`, recording what needs no hook: not found
/// or `IGNORE` (its child diffs are then not walked), unchanged, a stale diff. The blocking
/// and the async engines both decide through it.
pub(super) fn decide_update<M, H, S>(
    slots: &mut S,
    key: &M::Key,
    update: &ModelUpdate<M>,
    run: &mut Run<'_, '_, H>,
) -> UpdateDecision
where
    M: SyncTree<H>,
    H: ?Sized,
    S: Slots<M>,
{
    // `IGNORE` first: an ignored element is left alone whether memory holds it or not, as
    // its create and delete are.
    if run.flags_of::<M>(key).contains(ModelFlags::IGNORE) {
        if run.phase.updates() {
            let ignored = Status::Skipped(SkipReason::Flag("IGNORE"));
            if update.has_field_changes() {
                run.record::<M>(key, Operation::Update, ignored.clone());
            } else if run.options.flags.contains(SyncFlags::LOG_UNCHANGED_RECORDS) {
                run.record::<M>(key, Operation::Update, Status::Unchanged);
            }
            run.record_child_diffs::<M>(key, &update.children, ignored);
        }
        return UpdateDecision::Left;
    }
    let Some(current) = slots.slot_mut(key) else {
        refuse_update(key, update, not_found::<M>(Operation::Update, key), run);
        return UpdateDecision::Left;
    };
    // A map entry holding a model of another key.
    if !current.has_key(key) {
        let error = Error::key_mismatch(M::NAME, key, &current.key());
        refuse_update(key, update, error, run);
        return UpdateDecision::Left;
    }
    if !run.phase.updates() {
        return UpdateDecision::Decided;
    }
    if !update.has_field_changes() {
        if run.options.flags.contains(SyncFlags::LOG_UNCHANGED_RECORDS) {
            run.record::<M>(key, Operation::Update, Status::Unchanged);
        }
        UpdateDecision::Decided
    } else if let Err(field) = current.check_fields(&update.fields) {
        run.record_error::<M>(key, Operation::Update, crate::diff::stale::<M>(key, field));
        UpdateDecision::Decided
    } else {
        UpdateDecision::Call
    }
}

/// An update refused before any hook, with its subtree (reported in the update walk).
fn refuse_update<M: DiffModel, H: ?Sized>(
    key: &M::Key,
    update: &ModelUpdate<M>,
    error: Error,
    run: &mut Run<'_, '_, H>,
) {
    if run.phase.updates() {
        run.record_refused::<M>(key, Operation::Update, error, Under::Update(update));
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
    let decision = decide_update(slots, key, update, run);
    let Some(current) = slots.slot_mut(key) else {
        return;
    };
    match decision {
        UpdateDecision::Left => return,
        UpdateDecision::Decided => {}
        UpdateDecision::Call => {
            // The hook sees the new values; they stay only when it succeeds (a failed or
            // panicking hook leaves the old ones).
            let mut restore = Restore::updated(&mut *current, &update.fields);
            let result = run.call(|hooks, parents| {
                M::hook_update(hooks, restore.model, &update.fields, parents)
            });
            // Kept before the outcome is told: the system holds the new values (or the
            // model the hook returned) even when an outcome callback panics.
            let result = result.and_then(|returned| {
                restore.undo = None;
                match returned::kept(key, returned) {
                    Ok(Some(returned)) => returned::keep(restore.model, returned),
                    Ok(None) => {}
                    Err(another) => return Err(another),
                }
                Ok(())
            });
            run.record_result::<M>(key, Operation::Update, result);
        }
    }
    if run.enters::<M>(&update.children) {
        run.within::<M, _>(key, |run| current.sync_child_diffs(&update.children, run));
    }
}

/// Puts a model's old attribute values back when dropped armed (`undo` is `Some`): after a
/// failed update hook, and while unwinding from a panicking one.
pub(super) struct Restore<'m, M: DiffModel> {
    pub(super) model: &'m mut M,
    pub(super) undo: Option<M::Changes>,
}

impl<'m, M: DiffModel> Restore<'m, M> {
    /// `model` with `changes` applied, armed to put its old values back.
    pub(super) fn updated(model: &'m mut M, changes: &M::Changes) -> Self {
        let undo = model.snapshot_fields(changes);
        model.apply_fields(changes);
        Self {
            model,
            undo: Some(undo),
        }
    }
}

impl<M: DiffModel> Drop for Restore<'_, M> {
    fn drop(&mut self) {
        if let Some(undo) = self.undo.take() {
            self.model.apply_fields(&undo);
        }
    }
}

fn skip_element<M: DiffModel, H: ?Sized>(
    element: &ElementDiff<M>,
    run: &mut Run<'_, '_, H>,
    reason: SkipReason,
) {
    let status = Status::Skipped(reason);
    match super::run::subtree_of(&element.action) {
        Some((operation, model)) => run.record_subtree(&element.key, model, operation, status),
        None => run.record::<M>(&element.key, Operation::Update, status),
    }
}

/// Deletes one element through its hooks; its key goes to `gone` when it left the system
/// (the caller takes it out of memory).
fn delete_element<M, H, S>(
    slots: &mut S,
    element: &ElementDiff<M>,
    run: &mut Run<'_, '_, H>,
    gone: &mut Vec<M::Key>,
) where
    M: SyncTree<H>,
    H: ?Sized,
    S: Slots<M>,
{
    if run.stopped {
        return;
    }
    if let Some(flag) = delete_skip_flag(slots, &element.key, run) {
        skip_element(element, run, SkipReason::Flag(flag));
        return;
    }
    if let Action::Delete(payload) = &element.action
        && refused_for_replacement(slots, &element.key, payload, run)
    {
        return;
    }
    let Some(current) = slots.slot_mut(&element.key) else {
        let error = not_found::<M>(Operation::Delete, &element.key);
        run.record_refused_element(element, error);
        return;
    };
    if let Action::Delete(payload) = &element.action
        && !delete_is_current(current, &element.key, payload, run)
    {
        return;
    }
    let (deleted, panic) = delete_subtree(current, run);
    if deleted {
        gone.push(element.key.clone());
    }
    if let Some(panic) = panic {
        std::panic::resume_unwind(panic);
    }
}

/// A panic caught under an element whose own hook succeeded, to go on with once memory
/// holds what the system does.
type Panic = Box<dyn std::any::Any + Send>;

/// Whether the element to delete still equals the model the diff deletes (children
/// included, as `apply` checks): otherwise its delete fails as stale, its descendants are
/// skipped, and no hook runs, so a plan made earlier never deletes an edit made since.
pub(super) fn delete_is_current<M: DiffModel, H: ?Sized>(
    current: &M,
    key: &M::Key,
    payload: &M,
    run: &mut Run<'_, '_, H>,
) -> bool {
    match crate::diff::check_delete(current, key, payload) {
        Ok(()) => true,
        Err(error) => {
            run.record_error::<M>(key, Operation::Delete, error);
            let skipped = Status::Skipped(SkipReason::ParentFailed);
            run.record_descendants_under(key, payload, Operation::Delete, skipped);
            false
        }
    }
}

/// Deletes a model and its descendants through the hooks; `true` when the model is gone
/// from the system (and must leave memory), with the panic of a child's hook after the
/// model's own delete succeeded (`PARENT_FIRST_DELETION`): the caller takes the model out
/// of memory, then lets the panic go on.
fn delete_subtree<M: SyncTree<H>, H: ?Sized>(
    model: &mut M,
    run: &mut Run<'_, '_, H>,
) -> (bool, Option<Panic>) {
    let key = model.key();
    let flags = run.flags_of::<M>(&key);
    // Children the parent's delete takes along (or that go after it) are not tried when it
    // fails: skipped under a failed parent.
    let parent_failed = Status::Skipped(SkipReason::ParentFailed);
    // Once a delete hook succeeded, what follows (outcome callbacks, the children's
    // deletes) runs under `catch_unwind`: the model leaves memory before a panic goes on.
    if flags.contains(ModelFlags::SKIP_CHILDREN_ON_DELETE) {
        let result = run.call(|hooks, parents| M::hook_delete(hooks, model, parents));
        let deleted = result.is_ok();
        let status = if deleted {
            Status::Applied
        } else {
            parent_failed
        };
        let told = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run.record_result::<M>(&key, Operation::Delete, result);
            run.record_descendants(&*model, Operation::Delete, status);
        }));
        return (deleted, told.err());
    }
    if flags.contains(ModelFlags::PARENT_FIRST_DELETION) {
        let result = run.call(|hooks, parents| M::hook_delete(hooks, model, parents));
        if result.is_err() {
            run.record_result::<M>(&key, Operation::Delete, result);
            run.record_descendants(&*model, Operation::Delete, parent_failed);
            return (false, None);
        }
        // The parent is gone from the system; its children go from memory with it even
        // when their own delete hooks fail (the failures are in the report), or panic.
        let rest = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run.record_result::<M>(&key, Operation::Delete, result);
            run.within_model::<M, _>(has_children(&*model), &key, |run| {
                model.delete_children(run)
            })
        }));
        return (true, rest.err());
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
        return (false, None);
    }
    if run.stopped {
        return (false, None);
    }
    let result = run.call(|hooks, parents| M::hook_delete(hooks, model, parents));
    let deleted = result.is_ok();
    let told = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run.record_result::<M>(&key, Operation::Delete, result);
    }));
    (deleted, told.err())
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
            key,
            model,
            Operation::Create,
            Status::Skipped(SkipReason::Flag(flag)),
        );
        return;
    }
    if let Some(reason) = kept_root_reason(slots, key, run) {
        run.record_subtree(key, model, Operation::Create, Status::Skipped(reason));
        return;
    }
    if let Some(error) = create_refusal(slots, key, model) {
        run.record_refused(key, Operation::Create, error, Under::Subtree(model));
        return;
    }
    let returned = match run.call(|hooks, parents| M::hook_create(hooks, model, parents)) {
        Ok(returned) => returned,
        Err(error) => {
            record_failed_create(key, model, Err(error), run);
            return;
        }
    };
    let mut created = model.clone();
    match returned::kept(key, returned) {
        Ok(Some(returned)) => returned::keep(&mut created, returned),
        Ok(None) => {}
        Err(another) => {
            // In the system, without its children: in memory so, before the outcome.
            clear_children(&mut created);
            slots.insert_slot(created);
            record_failed_create(key, model, Err(another), run);
            return;
        }
    }
    run.cut_short = 0;
    let rest = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run.record_result::<M>(key, Operation::Create, Ok(()));
        run.within_model::<M, _>(has_children(model), key, |run| created.create_children(run));
    }));
    // The element is in the system: it goes into memory, also when a hook or a callback
    // panicked under it, with the children created before (`create_collection` leaves out
    // the rest of its collection; the collections after it are emptied here).
    if rest.is_err() {
        empty_fields_after(&mut created, run.cut_short);
    }
    slots.insert_slot(created);
    if let Err(panic) = rest {
        std::panic::resume_unwind(panic);
    }
}

/// A create whose hook failed: its failure, and its subtree skipped (never created).
fn record_failed_create<M: DiffModel, H: ?Sized>(
    key: &M::Key,
    model: &M,
    result: Result<(), super::HookError>,
    run: &mut Run<'_, '_, H>,
) {
    run.record_result::<M>(key, Operation::Create, result);
    run.record_descendants(
        model,
        Operation::Create,
        Status::Skipped(SkipReason::ParentFailed),
    );
}

/// The flag that leaves the delete of the element with `key` alone, if any: its own, or,
/// for a root the diff replaces (a delete and a create), the flag that leaves the create
/// alone. A root holds one model, so it is deleted only when its replacement can go in;
/// otherwise memory would keep the old root the system no longer has.
pub(super) fn delete_skip_flag<M: DiffModel + 'static, H: ?Sized, S: Slots<M>>(
    slots: &S,
    key: &M::Key,
    run: &Run<'_, '_, H>,
) -> Option<&'static str> {
    run.skip_flag::<M>(key, Operation::Delete).or_else(|| {
        let replacement = slots.replacement()?;
        run.skip_flag::<M>(replacement, Operation::Create)
    })
}

/// For a root renamed (a delete and a create) whose old model stays: why the create is
/// skipped. The new model cannot go beside the old (a root holds one model): the create
/// is skipped, under the flag that kept the old root or as [`SkipReason::RootKept`] (its
/// delete failed or was refused, or a child of it stays), rather than failing as if the
/// new key were taken.
pub(super) fn kept_root_reason<M: DiffModel + 'static, H: ?Sized, S: Slots<M>>(
    slots: &S,
    key: &M::Key,
    run: &Run<'_, '_, H>,
) -> Option<SkipReason> {
    // A replacement that could never go in is refused with its delete (`create_refusal`).
    if slots.has_room() || slots.replacement_refusal().is_some() {
        return None;
    }
    let kept = slots.slot_keys().into_iter().find(|kept| kept != key)?;
    Some(
        run.skip_flag::<M>(&kept, Operation::Delete)
            .map_or(SkipReason::RootKept, SkipReason::Flag),
    )
}

/// Why a create of `model` under `key` cannot go in, if it cannot: the model has another
/// key, the slot is taken, or its subtree is not one a diff can carry (two children with
/// one key, a map entry under another key: see `apply`).
pub(super) fn create_refusal<M: DiffModel, S: Slots<M>>(
    slots: &mut S,
    key: &M::Key,
    model: &M,
) -> Option<Error> {
    if let Some(error) = slots.replacement_refusal() {
        Some(error.clone())
    } else if !model.has_key(key) {
        Some(Error::KeyMismatch {
            model: M::NAME,
            expected: key.to_string(),
            found: model.key().to_string(),
            path: Path::root(),
        })
    } else if slots.slot_mut(key).is_some() || !slots.has_room() {
        Some(Error::AlreadyExists {
            model: M::NAME,
            key: key.to_string(),
            path: Path::root(),
        })
    } else {
        crate::diff::check_create(model).err()
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
    #[cfg(feature = "async")]
    if run.walker.is_some() {
        super::concurrent::walk::collection(children, None, run);
        return;
    }
    let address = address_of(children);
    if through_index::<C, H>(run, || children.child_count())
        && let Some(mut indexed) = Indexed::new(children)
    {
        create_elements(&mut indexed.slots, address, run);
        return;
    }
    create_elements(children, address, run);
}

/// [`create_collection`] on the collection's slots; `address` is the collection's, for a
/// panic to name it.
fn create_elements<M, H, S>(children: &mut S, address: usize, run: &mut Run<'_, '_, H>)
where
    M: SyncTree<H>,
    H: ?Sized,
    S: Slots<M>,
{
    let keys = children.slot_keys();
    // `created[at]`: whether the hook of the child with `keys[at]` succeeded (the system
    // has it); `reached`: the child being created when a panic came.
    let mut created = vec![false; keys.len()];
    let mut reached = None;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for (at, key) in keys.iter().enumerate() {
            let Some(child) = children.slot_mut(key) else {
                continue;
            };
            reached = Some(at);
            // Its parent was created, it was not (a stop, a flag): say so, and leave it out
            // of memory.
            if let Some(reason) = run.skip_reason::<M>(key, Operation::Create) {
                run.record_subtree(key, &*child, Operation::Create, Status::Skipped(reason));
                continue;
            }
            let returned = match run.call(|hooks, parents| M::hook_create(hooks, child, parents)) {
                Ok(returned) => returned,
                Err(error) => {
                    record_failed_create(key, &*child, Err(error), run);
                    continue;
                }
            };
            match returned::kept(key, returned) {
                Ok(Some(returned)) => returned::keep(child, returned),
                Ok(None) => {}
                Err(another) => {
                    // In the system, without its children: it stays in memory so.
                    if let Some(slot) = created.get_mut(at) {
                        *slot = true;
                    }
                    record_failed_create(key, &*child, Err(another), run);
                    clear_children(child);
                    continue;
                }
            }
            if let Some(slot) = created.get_mut(at) {
                *slot = true;
            }
            run.cut_short = 0;
            run.record_result::<M>(key, Operation::Create, Ok(()));
            run.within_model::<M, _>(has_children(&*child), key, |run| child.create_children(run));
        }
    }));
    if outcome.is_err() {
        // A hook or a callback panicked under the child being created: of its collections,
        // those never reached are not in the system.
        let cut_short = run.cut_short;
        if let Some(child) = reached
            .filter(|&at| created.get(at) == Some(&true))
            .and_then(|at| keys.get(at))
            .and_then(|key| children.slot_mut(key))
        {
            empty_fields_after(child, cut_short);
        }
    }
    // Only the children whose hook succeeded stay: not those that failed, were skipped, or
    // (after a panic) were never tried.
    let not_created: Vec<M::Key> = keys
        .into_iter()
        .zip(&created)
        .filter(|(_, created)| !**created)
        .map(|(key, _)| key)
        .collect();
    if !not_created.is_empty() {
        children.remove_slots(&not_created);
    }
    if let Err(panic) = outcome {
        run.cut_short = address;
        std::panic::resume_unwind(panic);
    }
}

/// A collection's address, to know it again among its parent's children fields.
fn address_of<C>(collection: &C) -> usize {
    std::ptr::from_ref(collection).addr()
}

/// Empties the children fields of `model` that come after the collection at `cut_short`
/// (every children field when it is 0: none was reached): the creates a panic cut short
/// never reached them, so their children are not in the system.
fn empty_fields_after<M: DiffModel>(model: &mut M, cut_short: usize) {
    struct EmptyAfter<'m, M> {
        model: &'m mut M,
        cut_short: usize,
        passed: bool,
    }

    impl<M: DiffModel> ChildFieldVisitor<M> for EmptyAfter<'_, M> {
        fn children<C: ChildCollection>(&mut self, field: &ChildField<M, C>) {
            let collection = (field.get_mut)(self.model);
            if self.passed {
                *collection = C::default();
            } else if address_of(collection) == self.cut_short {
                self.passed = true;
            }
        }
    }

    M::visit_child_fields(&mut EmptyAfter {
        model,
        cut_short,
        passed: cut_short == 0,
    });
}

/// Deletes every child of a model about to be deleted (called by generated code);
/// `false` when one stays.
pub(crate) fn delete_collection<C, H>(children: &mut C, run: &mut Run<'_, '_, H>) -> bool
where
    C: ChildCollection,
    C::Model: SyncTree<H>,
    H: ?Sized,
{
    #[cfg(feature = "async")]
    if run.walker.is_some() {
        super::concurrent::walk::collection(children, None, run);
        return true;
    }
    if through_index::<C, H>(run, || children.child_count())
        && let Some(mut indexed) = Indexed::new(children)
    {
        return delete_elements(&mut indexed.slots, run, false);
    }
    delete_elements(children, run, !C::SCANS)
}

/// [`delete_collection`] on the collection's slots.
/// `defer`: whether the deleted children leave together at the end (a collection that
/// shifts on removal) or each at once (one that scans, which may repeat a key: the next
/// copy is then found, not the one just deleted).
fn delete_elements<M, H, S>(children: &mut S, run: &mut Run<'_, '_, H>, defer: bool) -> bool
where
    M: SyncTree<H>,
    H: ?Sized,
    S: Slots<M>,
{
    let mut all_gone = true;
    let keys = children.slot_keys();
    let mut removals = Removals {
        slots: children,
        gone: Vec::new(),
    };
    for key in keys {
        if run.stopped {
            return false;
        }
        let Some(child) = removals.slots.slot_mut(&key) else {
            continue;
        };
        if let Some(flag) = run.skip_flag::<M>(&key, Operation::Delete) {
            run.record_subtree(
                &key,
                &*child,
                Operation::Delete,
                Status::Skipped(SkipReason::Flag(flag)),
            );
            all_gone = false;
            continue;
        }
        let (gone, panic) = delete_subtree(child, run);
        if gone && defer {
            removals.gone.push(key);
        } else if gone {
            removals.slots.remove_slot(&key);
        } else {
            all_gone = false;
        }
        if let Some(panic) = panic {
            std::panic::resume_unwind(panic);
        }
    }
    all_gone
}
