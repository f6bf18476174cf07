//! Deletes: an element of the diff with its subtree, children first (or as the flags say),
//! each parent's own delete once its children are done.

use crate::error::Operation;

use super::super::super::SyncTree;
use super::super::super::engine::{self, Slots};
use super::super::super::flags::ModelFlags;
use super::super::super::report::{SkipReason, Status};
use super::super::super::run::{Run, Under, has_children, not_found};
use super::reading::{Ahead, Next, Reading};
use super::{DeleteMode, Kind, Parent, Place, Walker, Work, erase};

/// A delete of the diff: flags, presence, then the delete of the element with its subtree.
pub(super) fn delete_element<M, H, S>(
    walker: &mut Walker,
    slots: &mut S,
    place: &Place,
    key: &M::Key,
    model: &M,
    walk: u64,
    run: &mut Run<'_, '_, H>,
) where
    M: SyncTree<H>,
    H: ?Sized,
    S: Slots<M>,
{
    // A flag first: what it leaves alone is listed under it after a stop too.
    if let Some(flag) = engine::delete_skip_flag(slots, key, run) {
        run.record_subtree(
            key,
            model,
            Operation::Delete,
            Status::Skipped(SkipReason::Flag(flag)),
        );
        return;
    }
    if run.stopped {
        run.record_subtree(
            key,
            model,
            Operation::Delete,
            Status::Skipped(SkipReason::Stopped),
        );
        return;
    }
    if engine::refused_for_replacement(slots, key, model, run) {
        return;
    }
    let Some(current) = slots.slot_mut(key) else {
        let error = not_found::<M>(Operation::Delete, key);
        run.record_refused(key, Operation::Delete, error, Under::Subtree(model));
        return;
    };
    if !engine::delete_is_current(current, key, model, run) {
        return;
    }
    walker.walks.entry(walk).or_default().open += 1;
    delete_subtree(walker, place, key, current, Parent::Walk(walk), run);
}

/// Starts the delete of an element with its subtree, as the flags say; `parent` hears how
/// it ended (now, or when its calls end).
pub(super) fn delete_subtree<M, H>(
    walker: &mut Walker,
    place: &Place,
    key: &M::Key,
    model: &M,
    parent: Parent,
    run: &mut Run<'_, '_, H>,
) where
    M: SyncTree<H>,
    H: ?Sized,
{
    if run.stopped {
        run.record_subtree(
            key,
            model,
            Operation::Delete,
            Status::Skipped(SkipReason::Stopped),
        );
        walker.report(parent, false);
        return;
    }
    let flags = run.flags_of::<M>(key);
    let mode = if flags.contains(ModelFlags::SKIP_CHILDREN_ON_DELETE) {
        DeleteMode::Alone
    } else if flags.contains(ModelFlags::PARENT_FIRST_DELETION) {
        DeleteMode::ParentFirst
    } else if has_children(model) {
        walker.delete_children_of(parent, place, erase(key), false);
        return;
    } else {
        DeleteMode::Own
    };
    let _ = run.call(|hooks, parents| M::hook_delete(hooks, model, parents));
    walker.started(place, erase(key), Kind::Delete { mode, parent });
}

/// Deletes the children of an element being deleted, from where its walk is.
pub(super) fn delete_children<M, H, S>(
    walker: &mut Walker,
    slots: &mut S,
    group: u64,
    ahead: Ahead,
    run: &mut Run<'_, '_, H>,
) where
    M: SyncTree<H>,
    H: ?Sized,
    S: Slots<M>,
{
    let place = walker.nav.place.clone();
    let mut reading = Reading::<M::Key>::from(ahead);
    let next = loop {
        let key = match walker.next_child(&mut reading, slots, run.stopped, |ahead| Work::Delete {
            group,
            ahead,
        }) {
            Next::Key(key) => key,
            next => break next,
        };
        let Some(child) = slots.slot_mut(&key) else {
            continue;
        };
        if let Some(reason) = run.skip_reason::<M>(&key, Operation::Delete) {
            // A child a flag keeps keeps its parent (`ChildFailed`); one a stop leaves says
            // nothing of it: the parent is `Stopped` (see `finish`).
            if reason != SkipReason::Stopped
                && let Some(entry) = walker.groups.get_mut(&group)
            {
                entry.all_gone = false;
            }
            run.record_subtree(&key, &*child, Operation::Delete, Status::Skipped(reason));
            continue;
        }
        if let Some(entry) = walker.groups.get_mut(&group) {
            entry.open += 1;
        }
        delete_subtree(walker, &place, &key, &*child, Parent::Group(group), run);
    };
    if let Next::End = next {
        walker.release(group);
    }
}

/// The end of a delete group: the element's own delete after its children (or, when they
/// could not all go, its skip), or its leaving memory after a parent-first delete.
pub(super) fn finish<M, H, S>(
    walker: &mut Walker,
    slots: &mut S,
    key: &M::Key,
    group: u64,
    run: &mut Run<'_, '_, H>,
) where
    M: SyncTree<H>,
    H: ?Sized,
    S: Slots<M>,
{
    let Some(entry) = walker.groups.remove(&group) else {
        return;
    };
    let parent = entry.parent;
    if entry.parent_first {
        walker.leave(slots, parent, key);
        walker.report(parent, true);
        return;
    }
    let Some(model) = slots.slot_mut(key) else {
        walker.report(parent, false);
        return;
    };
    let skipped = if !entry.all_gone {
        Some(SkipReason::ChildFailed)
    } else if run.stopped {
        Some(SkipReason::Stopped)
    } else {
        None
    };
    if let Some(reason) = skipped {
        run.record::<M>(key, Operation::Delete, Status::Skipped(reason));
        walker.report(parent, false);
        return;
    }
    if !walker.room(run.stopped) {
        // No room for its call yet: wait for one.
        walker.groups.insert(group, entry);
        walker.push(
            walker.nav.place.clone(),
            Work::Finish {
                key: erase(key),
                group,
            },
        );
        return;
    }
    let _ = run.call(|hooks, parents| M::hook_delete(hooks, &*model, parents));
    let place = walker.nav.place.clone();
    walker.started(
        &place,
        erase(key),
        Kind::Delete {
            mode: DeleteMode::Own,
            parent,
        },
    );
}
