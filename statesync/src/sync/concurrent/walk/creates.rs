//! Creates: an element of the diff, then, once created, its children in memory.

use crate::error::Operation;

use super::super::super::SyncTree;
use super::super::super::engine::{self, Slots};
use super::super::super::report::Status;
use super::super::super::run::{Run, Under};
use super::reading::{Ahead, Next, Reading};
use super::{Kind, Place, Walker, Work, erase};

/// A create of the diff: flags, refusals, then its call.
pub(super) fn create_element<M, H, S>(
    walker: &mut Walker,
    slots: &mut S,
    place: &Place,
    key: &M::Key,
    model: &M,
    run: &mut Run<'_, '_, H>,
) where
    M: SyncTree<H>,
    H: ?Sized,
    S: Slots<M>,
{
    if let Some(reason) = run.skip_reason::<M>(key, Operation::Create) {
        run.record_subtree(key, model, Operation::Create, Status::Skipped(reason));
        return;
    }
    if let Some(reason) = engine::kept_root_reason(slots, key, run) {
        run.record_subtree(key, model, Operation::Create, Status::Skipped(reason));
        return;
    }
    if let Some(error) = engine::create_refusal(slots, key, model) {
        run.record_refused(key, Operation::Create, error, Under::Subtree(model));
        return;
    }
    let _ = run.call(|hooks, parents| M::hook_create(hooks, model, parents));
    walker.started(place, erase(key), Kind::Create { top: true });
}

/// Creates the children of a created element (in memory already, not created in the
/// system yet), from where its walk is; a child a flag skips, or that the stop leaves, goes
/// out of memory.
pub(super) fn create_children<M, H, S>(
    walker: &mut Walker,
    slots: &mut S,
    ahead: Ahead,
    run: &mut Run<'_, '_, H>,
) where
    M: SyncTree<H>,
    H: ?Sized,
    S: Slots<M>,
{
    let place = walker.nav.place.clone();
    let mut reading = Reading::<M::Key>::from(ahead);
    while let Next::Key(key) = walker.next_child(&mut reading, slots, run.stopped, |ahead| {
        Work::Create { ahead }
    }) {
        let Some(child) = slots.slot_mut(&key) else {
            continue;
        };
        let stepped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if let Some(reason) = run.skip_reason::<M>(&key, Operation::Create) {
                run.record_subtree(&key, &*child, Operation::Create, Status::Skipped(reason));
                return false;
            }
            let _ = run.call(|hooks, parents| M::hook_create(hooks, &*child, parents));
            true
        }));
        match stepped {
            Ok(true) => walker.started(&place, erase(&key), Kind::Create { top: false }),
            Ok(false) => slots.remove_slot(&key),
            Err(panic) => {
                // A callback (or the child's `Clone`) panicked before its call started: the
                // child is not in the system, nor are those still to read, which the
                // dropped engine takes out of memory from where this walk stopped.
                slots.remove_slot(&key);
                let ahead = std::mem::replace(&mut reading, Reading::from(None)).keep();
                walker.push(place.clone(), Work::Create { ahead });
                std::panic::resume_unwind(panic);
            }
        }
    }
}
