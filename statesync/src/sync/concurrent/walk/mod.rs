//! The walker: the blocking engine's walk of a sync, cut into steps that can wait for a
//! hook call without holding the walk's stack.
//!
//! Work is a queue (a stack, so the walk goes depth first) of cursors. A cursor names a
//! collection of the tree by the keys on the way down to it ([`Place`]) and what to do
//! there: walk a diff collection from a position, create the children of a created element
//! or delete those of an element being deleted from a key on, apply a finished call. A
//! step of the walk enters the tree from the root through the blocking engine's own typed
//! walk ([`SyncTree`]): the engine's collection functions hand each collection they reach
//! to [`collection`], which passes the ones off the cursor's way and acts at its end. Acting
//! starts at most as many hook calls as there is room for, records what needs no call, and
//! pushes the cursors of what comes next.
//!
//! The state is the cursors (a few per level of each open part of the tree), the calls in
//! flight, the deletes waiting for their children ([`Group`]), the keys read ahead and the
//! keys of deleted elements waiting to leave memory together (a batch of each per
//! collection, 1,024 keys or a chunk of reading ahead): bounded by `max_in_flight` times
//! the depth of the tree, whatever the size of the diff.
//!
//! Memory changes when a call ends: a created element goes in with its children, which are
//! taken out again if their own create fails, is skipped, or never runs (a dropped sync:
//! [`Walker::cleanup`]).

mod complete;
mod creates;
mod deletes;
mod diffs;
mod reading;

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::diff::{Action, Diff, ElementDiff};
use crate::model::DiffModel;

use super::super::engine::Slots;
use super::super::flags::SyncOrder;
use super::super::run::{Phase, Run};
use super::super::{HookError, SyncTree};
use reading::Ahead;

/// A key whose type is forgotten (the walker holds keys of every model type).
type AnyKey = Arc<dyn Any + Send + Sync>;

/// How many keys of a collection in memory a walk reads ahead, beyond four per call that
/// may be in flight.
const AHEAD: usize = 32;

/// How many keys of deleted elements of one collection may wait to leave memory together,
/// at least: each batch leaves in one pass over the collection, so d deletes from n
/// elements cost about n·d / batch. (Batches of a reading chunk, 36 keys at one call in
/// flight, made a diff deleting half of 100,000 `Store` elements take 0.4 s.)
const LEAVE_TOGETHER: usize = 1024;

/// How a step goes down into an element's children.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Via {
    /// Through the element's update in the diff: the children collections with their diffs.
    Diff,
    /// Through the element in memory only (created, or being deleted).
    Target,
}

/// One element on the way down: the children field it is in (its parent's collections are
/// counted in the order the derive walks them), its key, and how to enter it.
#[derive(Clone)]
struct Step {
    field: usize,
    key: AnyKey,
    via: Via,
}

/// A collection of the tree: the elements on the way down, and which children field of the
/// last one (the root's own "collection" is field 0 of no element).
#[derive(Clone, Default)]
struct Place {
    steps: Vec<Step>,
    field: usize,
}

impl Place {
    /// The way down to the element with `key` of this collection, entered `via`.
    fn down(&self, key: AnyKey, via: Via) -> Place {
        let mut steps = Vec::with_capacity(self.steps.len() + 1);
        steps.extend(self.steps.iter().cloned());
        steps.push(Step {
            field: self.field,
            key,
            via,
        });
        Place { steps, field: 0 }
    }

    /// The children field `field` of the element this place leads to.
    fn field(&self, field: usize) -> Place {
        Place {
            steps: self.steps.clone(),
            field,
        }
    }
}

/// Something to do at a place.
struct Cursor {
    place: Place,
    work: Work,
}

/// What a cursor does at its collection.
enum Work {
    /// Walks a diff collection.
    Walk(WalkState),
    /// Creates the children of a created element.
    Create { ahead: Ahead },
    /// Deletes the children of an element being deleted.
    Delete { group: u64, ahead: Ahead },
    /// At every children collection of the element the place leads to.
    Every(Every),
    /// The end of a delete group: the element's own delete, now that its children are done.
    Finish { key: AnyKey, group: u64 },
    /// Takes elements that left the system out of memory, in one pass (see
    /// [`Group::gone`], [`WalkWait::gone`]).
    Purge { keys: Vec<AnyKey> },
    /// Applies a call that ended.
    Complete {
        key: AnyKey,
        kind: Kind,
        result: CallResult,
    },
}

/// Work at every children collection of an element.
enum Every {
    /// Walk their diffs (the element is an update).
    Walk(Phase),
    /// Create their elements (the element was just created).
    Create,
    /// Delete their elements (the element is being deleted).
    Delete(u64),
}

/// Where a diff collection's walk is.
#[derive(Clone, Copy)]
struct WalkState {
    id: u64,
    phase: Phase,
    stage: Stage,
    at: usize,
    /// Whether the collection holds each key once ([`Slots::collision`]), once asked: the
    /// walk comes back to the collection at each step, and a `Vec` answers in a pass.
    sound: Option<bool>,
}

/// The parts of a collection's walk, in the blocking engine's order.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Unchanged,
    Deletes,
    Updates,
    Creates,
}

/// What a call was for, to apply its result.
pub(super) enum Kind {
    Create { top: bool },
    Update,
    Delete { mode: DeleteMode, parent: Parent },
}

/// How an element is deleted.
#[derive(Clone, Copy)]
pub(super) enum DeleteMode {
    /// Its children were deleted first.
    Own,
    /// Its own hook first, then its children (`PARENT_FIRST_DELETION`).
    ParentFirst,
    /// Its own hook only (`SKIP_CHILDREN_ON_DELETE`).
    Alone,
}

/// Who waits for a delete (of an element with its subtree) to end.
#[derive(Clone, Copy)]
pub(super) enum Parent {
    /// The delete of the parent element.
    Group(u64),
    /// The walk of the collection (its creates wait for its deletes, collection by
    /// collection).
    Walk(u64),
}

/// How a call ended: its attempts, with the model a create or update hook returned
/// ([`AsyncHooks::create_returning`](super::AsyncHooks::create_returning)), or its error.
pub(super) type CallResult = Result<(u32, Returned), (HookError, u32)>;

/// The model a create or update hook returned, of the element's model type.
pub(super) type Returned = Option<Box<dyn std::any::Any + Send>>;

/// The delete of an element whose children go first (or, parent first, after it).
struct Group {
    parent: Parent,
    /// The element's collection and key.
    place: Place,
    key: AnyKey,
    /// Children (cursors, subtrees) not done yet.
    open: usize,
    /// Whether every child left so far.
    all_gone: bool,
    /// The element's own delete succeeded already (`PARENT_FIRST_DELETION`).
    parent_first: bool,
    /// Children whose delete succeeded, by children field: they leave memory together when
    /// the group's children are done, before the element's own delete, or a batch at a time
    /// (one at a time, a `Store` or an `IndexMap` would shift the rest for each, O(n²)).
    gone: BTreeMap<usize, Vec<AnyKey>>,
}

/// A collection walk's deletes not done yet, and the walk waiting for them to create.
#[derive(Default)]
struct WalkWait {
    open: usize,
    parked: Option<Cursor>,
    /// Elements whose delete succeeded: they leave memory together once the walk started
    /// all its deletes and they ended, before its updates and creates, or a batch at a time
    /// (one at a time, a `Store` or an `IndexMap` would shift the rest for each, O(n·d)).
    gone: Vec<AnyKey>,
    /// The collection (where the deletes ended).
    place: Option<Place>,
    /// Whether the walk has started all its deletes.
    issued: bool,
}

impl Group {
    /// The purges of the children that left the system, one per children field.
    fn purges(&mut self) -> Vec<Cursor> {
        let element = self.place.down(Arc::clone(&self.key), Via::Target);
        std::mem::take(&mut self.gone)
            .into_iter()
            .filter(|(_, keys)| !keys.is_empty())
            .map(|(field, keys)| Cursor {
                place: element.field(field),
                work: Work::Purge { keys },
            })
            .collect()
    }
}

impl WalkWait {
    /// The purge of the elements that left the system, if any.
    fn purge(&mut self) -> Option<Cursor> {
        let keys = std::mem::take(&mut self.gone);
        let place = self.place.take()?;
        (!keys.is_empty()).then_some(Cursor {
            place,
            work: Work::Purge { keys },
        })
    }
}

/// A call started and not yet applied.
pub(super) struct Started {
    place: Place,
    key: AnyKey,
    kind: Kind,
}

/// The step in progress: where it goes, and what it does there.
#[derive(Default)]
struct Nav {
    place: Place,
    work: Option<Work>,
    every: Option<Every>,
    level: usize,
    counter: usize,
    /// Whether the step is over (it acted, or went down its way and came back).
    done: bool,
    /// Calls it may still start.
    free: usize,
    /// The delete group whose children collections it opens.
    expanding: Option<u64>,
}

/// The walk of one async sync (see the module docs).
pub(in crate::sync) struct Walker {
    frontier: Vec<Cursor>,
    /// Cursors pushed by the step in progress, first to run first.
    pushes: Vec<Cursor>,
    groups: HashMap<u64, Group>,
    walks: HashMap<u64, WalkWait>,
    next_id: u64,
    in_flight: HashMap<u64, Started>,
    /// Calls the step in progress started, in the order the hooks were called.
    pub(super) started: Vec<u64>,
    nav: Nav,
    order: SyncOrder,
    /// Deletes first: whether the walk of updates and creates has begun.
    second_walk: bool,
    /// Whether every call ended and was applied: nothing to clean up.
    pub(super) finished: bool,
    /// How many keys a walk of a collection in memory reads ahead.
    chunk: usize,
}

impl Walker {
    /// A walker at the start of a sync in `order`.
    pub(super) fn new(order: SyncOrder, max_in_flight: usize) -> Self {
        let phase = match order {
            SyncOrder::DeletesFirst => Phase::Delete,
            SyncOrder::PerCollection => Phase::All,
        };
        let mut walker = Self {
            frontier: Vec::new(),
            pushes: Vec::new(),
            groups: HashMap::new(),
            walks: HashMap::new(),
            next_id: 0,
            in_flight: HashMap::new(),
            started: Vec::new(),
            nav: Nav::default(),
            order,
            second_walk: false,
            finished: false,
            chunk: max_in_flight.saturating_mul(4).saturating_add(AHEAD),
        };
        walker.push_root_walk(phase);
        walker
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn push_root_walk(&mut self, phase: Phase) {
        let state = self.walk_state(phase);
        self.frontier.push(Cursor {
            place: Place::default(),
            work: Work::Walk(state),
        });
    }

    fn walk_state(&mut self, phase: Phase) -> WalkState {
        WalkState {
            id: self.id(),
            phase,
            stage: Stage::Unchanged,
            at: 0,
            sound: None,
        }
    }

    /// When nothing runs and nothing waits: starts the walk of updates and creates after
    /// the deletes (deletes first); `false` when the sync is over.
    pub(super) fn next_walk(&mut self) -> bool {
        if self.order == SyncOrder::DeletesFirst && !self.second_walk {
            self.second_walk = true;
            self.push_root_walk(Phase::UpdateCreate);
            return true;
        }
        false
    }

    /// Sets up the next step, with room for `free` calls; `false` when there is none. The
    /// caller then enters the tree from its root with the walker in the run, and calls
    /// [`Walker::end`].
    pub(super) fn begin(&mut self, free: usize) -> bool {
        let Some(cursor) = self.frontier.pop() else {
            return false;
        };
        let mut nav = Nav {
            place: cursor.place,
            free,
            ..Nav::default()
        };
        match cursor.work {
            Work::Every(every) => {
                if let Every::Delete(group) = every {
                    nav.expanding = Some(group);
                }
                nav.every = Some(every);
            }
            work => nav.work = Some(work),
        }
        self.nav = nav;
        true
    }

    /// Ends a step: queues what it pushed (its first push runs first).
    pub(super) fn end(&mut self) {
        let nav = std::mem::take(&mut self.nav);
        if let Some(work) = nav.work {
            // The place is gone (it cannot be, short of a bug): end what waited on it.
            self.lost(work);
        }
        if let Some(group) = nav.expanding {
            self.release(group);
        }
        let pushes = std::mem::take(&mut self.pushes);
        self.frontier.extend(pushes.into_iter().rev());
    }

    /// Queues the application of a call that ended.
    pub(super) fn ended(&mut self, id: u64, result: CallResult) {
        if let Some(started) = self.in_flight.remove(&id) {
            self.frontier.push(Cursor {
                place: started.place,
                work: Work::Complete {
                    key: started.key,
                    kind: started.kind,
                    result,
                },
            });
        }
    }

    /// Turns what is left of a dropped sync into a drain: the calls in flight end without
    /// a result (a create in flight takes its element, if in memory, out again), and walks
    /// of the diff are dropped. Stepping until no work is left, with the run stopped (no
    /// call starts), then takes out of memory the children of created elements that were
    /// never created, and lets elements deleted parent first leave memory.
    pub(super) fn cleanup(&mut self) {
        let mut in_flight: Vec<(u64, Started)> = self.in_flight.drain().collect();
        in_flight.sort_by_key(|(id, _)| *id);
        for (_, started) in in_flight {
            self.frontier.push(Cursor {
                place: started.place,
                work: Work::Complete {
                    key: started.key,
                    kind: started.kind,
                    result: Err((Box::new(Dropped), 0)),
                },
            });
        }
        self.frontier
            .retain(|cursor| !matches!(cursor.work, Work::Walk(_) | Work::Every(Every::Walk(_))));
        // Elements that left the system still leave memory (also those of a group a
        // panicking callback kept from ending).
        let purges: Vec<Cursor> = self
            .walks
            .values_mut()
            .filter_map(WalkWait::purge)
            .collect();
        self.frontier.extend(purges);
        self.walks.clear();
        let purges: Vec<Cursor> = self.groups.values_mut().flat_map(Group::purges).collect();
        self.frontier.extend(purges);
        self.second_walk = true;
    }

    /// A step that did not find its place: what waited on it ends.
    fn lost(&mut self, work: Work) {
        match work {
            Work::Delete { group, .. } => self.release(group),
            Work::Finish { group, .. } => {
                if let Some(group) = self.groups.remove(&group) {
                    self.report(group.parent, false);
                }
            }
            Work::Complete {
                kind: Kind::Delete { parent, .. },
                ..
            } => self.report(parent, false),
            _ => {}
        }
    }

    fn room(&self, run_stopped: bool) -> bool {
        run_stopped || self.nav.free > 0
    }

    fn push(&mut self, place: Place, work: Work) {
        self.pushes.push(Cursor { place, work });
    }

    /// Opens the delete group of the element with `key` of the collection at `place` and
    /// queues the walks of its children collections: before its own delete, or after it
    /// succeeded (`parent_first`). `parent` hears how the element's delete ended. Takes one
    /// of the step's room.
    fn delete_children_of(
        &mut self,
        parent: Parent,
        place: &Place,
        key: AnyKey,
        parent_first: bool,
    ) {
        let group = self.id();
        let down = place.down(Arc::clone(&key), Via::Target);
        self.groups.insert(
            group,
            Group {
                parent,
                place: place.clone(),
                key,
                // The cursor that opens its children collections.
                open: 1,
                all_gone: true,
                parent_first,
                gone: BTreeMap::new(),
            },
        );
        self.push(down, Work::Every(Every::Delete(group)));
        // A group is state until its element's delete ends: it takes room as a call does,
        // so a step over many such deletes opens no more groups than there is room for.
        self.nav.free = self.nav.free.saturating_sub(1);
    }

    /// One child (or cursor) of a delete group done.
    fn release(&mut self, group: u64) {
        let Some(entry) = self.groups.get_mut(&group) else {
            return;
        };
        entry.open = entry.open.saturating_sub(1);
        if entry.open == 0 {
            let (place, key) = (entry.place.clone(), Arc::clone(&entry.key));
            // The purges run first (a step's first push runs first).
            for purge in entry.purges() {
                self.push(purge.place, purge.work);
            }
            self.push(place, Work::Finish { key, group });
        }
    }

    /// The element with `key` of the step's collection (`slots`) left the system: it leaves
    /// memory with the rest of its delete group ([`Group::gone`]) or its collection's
    /// deletes ([`WalkWait::gone`]), in one pass; with the ones held so far, now, when they
    /// are a batch ([`LEAVE_TOGETHER`], or a chunk of reading ahead when larger), so what
    /// waits stays bounded.
    fn leave<M: DiffModel + 'static, S: Slots<M>>(
        &mut self,
        slots: &mut S,
        parent: Parent,
        key: &M::Key,
    ) where
        M::Key: Send + Sync,
    {
        let batch = self.chunk.max(LEAVE_TOGETHER);
        let now: Vec<AnyKey> = match parent {
            Parent::Group(group) => {
                let field = self.nav.place.field;
                let Some(entry) = self.groups.get_mut(&group) else {
                    return slots.remove_slot(key);
                };
                let keys = entry.gone.entry(field).or_default();
                keys.push(erase(key));
                if keys.len() < batch {
                    return;
                }
                std::mem::take(keys)
            }
            Parent::Walk(walk) => {
                let Some(wait) = self.walks.get_mut(&walk) else {
                    return slots.remove_slot(key);
                };
                if wait.place.is_none() {
                    wait.place = Some(self.nav.place.clone());
                }
                wait.gone.push(erase(key));
                if wait.gone.len() < batch {
                    return;
                }
                std::mem::take(&mut wait.gone)
            }
        };
        purge(slots, now);
    }

    /// The walk `walk` of the step's collection (`slots`) has started all its deletes: if
    /// none runs, those that left the system leave memory now; else when the last ends.
    fn deletes_issued<M: DiffModel<Key: Send + Sync> + 'static, S: Slots<M>>(
        &mut self,
        walk: u64,
        slots: &mut S,
    ) {
        let Some(wait) = self.walks.get_mut(&walk) else {
            return;
        };
        if wait.open > 0 {
            wait.issued = true;
            return;
        }
        let gone = std::mem::take(&mut wait.gone);
        purge(slots, gone);
        self.walks.remove(&walk);
    }

    /// A delete (of an element with its subtree) ended: gone from the system or not.
    fn report(&mut self, parent: Parent, gone: bool) {
        match parent {
            Parent::Group(group) => {
                if !gone && let Some(entry) = self.groups.get_mut(&group) {
                    entry.all_gone = false;
                }
                self.release(group);
            }
            Parent::Walk(walk) => {
                let Some(wait) = self.walks.get_mut(&walk) else {
                    return;
                };
                wait.open = wait.open.saturating_sub(1);
                // While the walk still starts deletes, those that left wait for the rest
                // (it purges them itself when it has started them all and none runs).
                if wait.open == 0 && wait.issued {
                    let purge = wait.purge();
                    let parked = wait.parked.take();
                    self.walks.remove(&walk);
                    // The purge runs first (a step's first push runs first).
                    for cursor in purge.into_iter().chain(parked) {
                        self.push(cursor.place, cursor.work);
                    }
                }
            }
        }
    }

    /// Work at the children collection `field` of the element the step went to.
    fn every(&mut self, field: usize) {
        let place = self.nav.place.field(field);
        match self.nav.every {
            Some(Every::Walk(phase)) => {
                let state = self.walk_state(phase);
                self.push(place, Work::Walk(state));
            }
            Some(Every::Create) => self.push(place, Work::Create { ahead: None }),
            Some(Every::Delete(group)) => {
                if let Some(entry) = self.groups.get_mut(&group) {
                    entry.open += 1;
                }
                self.push(place, Work::Delete { group, ahead: None });
            }
            None => {}
        }
    }

    /// Records a call the step starts: the hook was just called through the run, and the
    /// async bridge holds what it needs.
    fn started(&mut self, place: &Place, key: AnyKey, kind: Kind) {
        let id = self.id();
        self.started.push(id);
        self.in_flight.insert(
            id,
            Started {
                place: place.clone(),
                key,
                kind,
            },
        );
        self.nav.free = self.nav.free.saturating_sub(1);
    }
}

/// The error of a call a dropped sync abandoned (never in a report).
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the sync was dropped before the call ended")
    }
}

impl std::error::Error for Dropped {}

fn erase<K: Clone + Send + Sync + 'static>(key: &K) -> AnyKey {
    Arc::new(key.clone())
}

/// A collection the engine reached while the walker is in the run: passed by, entered on
/// the way to the step's place, or acted on there.
pub(in crate::sync) fn collection<M, H, S>(
    slots: &mut S,
    diff: Option<&Diff<M>>,
    run: &mut Run<'_, '_, H>,
) where
    M: SyncTree<H>,
    H: ?Sized,
    S: Slots<M>,
{
    let Some(mut walker) = run.walker.take() else {
        return;
    };
    if walker.nav.done {
        run.walker = Some(walker);
        return;
    }
    let index = walker.nav.counter;
    walker.nav.counter += 1;
    let level = walker.nav.level;
    if level == walker.nav.place.steps.len() {
        // A callback (or a model's `Clone`) that panics while the step acts: the walker
        // goes back to the run before the panic goes on, so that the engine's cleanup
        // still knows what was started and what is left (the children of an element just
        // created, to take out of memory again).
        let acted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if walker.nav.every.is_some() {
                walker.every(index);
            } else if index == walker.nav.place.field {
                walker.nav.done = true;
                if let Some(work) = walker.nav.work.take() {
                    act(&mut walker, slots, diff, work, run);
                }
            }
        }));
        run.walker = Some(walker);
        if let Err(panic) = acted {
            std::panic::resume_unwind(panic);
        }
        return;
    }
    let way = walker
        .nav
        .place
        .steps
        .get(level)
        .filter(|step| step.field == index)
        .and_then(|step| Some((step.key.downcast_ref::<M::Key>()?.clone(), step.via)));
    let Some((key, via)) = way else {
        run.walker = Some(walker);
        return;
    };
    walker.nav.level += 1;
    walker.nav.counter = 0;
    let update = match (via, diff) {
        (Via::Diff, Some(diff)) => find(diff, &key).and_then(|element| match &element.action {
            Action::Update(update) => Some(update),
            _ => None,
        }),
        _ => None,
    };
    let model = slots.slot_mut(&key);
    run.walker = Some(walker);
    match (model, via, update) {
        (Some(model), Via::Diff, Some(update)) => {
            run.within::<M, _>(&key, |run| model.sync_child_diffs(&update.children, run));
        }
        (Some(model), Via::Target, _) => {
            run.within::<M, _>(&key, |run| model.create_children(run));
        }
        _ => {}
    }
    // The way down was this one: the rest of the tree is off it.
    if let Some(walker) = &mut run.walker {
        walker.nav.done = true;
    }
}

/// The element of a diff with this key (elements are sorted by key).
fn find<'d, M: DiffModel>(diff: &'d Diff<M>, key: &M::Key) -> Option<&'d ElementDiff<M>> {
    // The first of elements with this key: the one the walk acts on (it refuses repeats).
    let elements = diff.elements();
    let at = elements.partition_point(|element| element.key < *key);
    elements.get(at).filter(|element| element.key == *key)
}

/// Takes the elements with these keys out of the collection, in one pass.
fn purge<M: DiffModel<Key: Send + Sync> + 'static, S: Slots<M>>(slots: &mut S, keys: Vec<AnyKey>) {
    // Each key is held once (by the list): taken out of its `Arc`, not cloned.
    let keys: Vec<M::Key> = keys
        .into_iter()
        .filter_map(|key| key.downcast::<M::Key>().ok())
        .map(|key| Arc::try_unwrap(key).unwrap_or_else(|shared| (*shared).clone()))
        .collect();
    slots.remove_slots(&keys);
}

/// Acts at the step's place.
fn act<M, H, S>(
    walker: &mut Walker,
    slots: &mut S,
    diff: Option<&Diff<M>>,
    work: Work,
    run: &mut Run<'_, '_, H>,
) where
    M: SyncTree<H>,
    H: ?Sized,
    S: Slots<M>,
{
    match work {
        Work::Walk(state) => match diff {
            Some(diff) => diffs::walk(walker, slots, diff, state, run),
            None => walker.lost(Work::Walk(state)),
        },
        Work::Create { ahead } => creates::create_children(walker, slots, ahead, run),
        Work::Delete { group, ahead } => {
            deletes::delete_children(walker, slots, group, ahead, run);
        }
        Work::Finish { key, group } => match key.downcast_ref::<M::Key>() {
            Some(key) => deletes::finish(walker, slots, key, group, run),
            None => walker.lost(Work::Finish { key, group }),
        },
        Work::Complete { key, kind, result } => match key.downcast_ref::<M::Key>() {
            Some(typed) => complete::complete(walker, slots, diff, typed, kind, result, run),
            None => walker.lost(Work::Complete { key, kind, result }),
        },
        Work::Purge { keys } => purge(slots, keys),
        Work::Every(_) => {}
    }
}
