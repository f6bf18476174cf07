//! A call that ended: its outcome recorded, memory changed where it succeeded, and what
//! waited for it started.

use crate::diff::{Action, Diff};
use crate::error::Operation;
use crate::fields::clear_children;

use super::super::super::SyncTree;
use super::super::super::engine::Slots;
use super::super::super::report::{Failure, SkipReason, Status};
use super::super::super::returned;
use super::super::super::run::{Run, has_children};
use super::super::calls::NotStarted;
use super::{CallResult, DeleteMode, Every, Kind, Via, Walker, Work, erase, find};

/// Applies a call that ended: records it, changes memory where it succeeded, and starts
/// what waited for it.
#[allow(clippy::too_many_arguments)]
pub(super) fn complete<M, H, S>(
    walker: &mut Walker,
    slots: &mut S,
    diff: Option<&Diff<M>>,
    key: &M::Key,
    kind: Kind,
    result: CallResult,
    run: &mut Run<'_, '_, H>,
) where
    M: SyncTree<H>,
    H: ?Sized,
    S: Slots<M>,
{
    let operation = match kind {
        Kind::Create { .. } => Operation::Create,
        Kind::Update => Operation::Update,
        Kind::Delete { .. } => Operation::Delete,
    };
    // The status, and what memory follows.
    let (attempts, status, ended) = match result {
        Ok((attempts, returned)) => {
            let returned = returned
                .and_then(|model| model.downcast::<M>().ok())
                .map(|model| *model);
            match returned::kept(key, returned) {
                Ok(returned) => (attempts, Status::Applied, Ended::Applied(returned)),
                Err(another) => (
                    attempts,
                    Status::Failed(Failure::new(another)),
                    Ended::MadeAsDiffed,
                ),
            }
        }
        // Stopped while it waited for its slot: skipped, as a call never started is.
        Err((error, attempts)) if error.is::<NotStarted>() => (
            attempts,
            Status::Skipped(SkipReason::Stopped),
            Ended::NotMade(SkipReason::Stopped),
        ),
        Err((error, attempts)) => (
            attempts,
            Status::Failed(Failure::new(error)),
            Ended::NotMade(SkipReason::ParentFailed),
        ),
    };
    // The outcome is told first; a callback that panics on it is let go on only once memory
    // holds what the call did to the system (as in the blocking engine).
    let told = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run.record_attempts::<M>(key, operation, status, attempts);
    }));
    follow(walker, slots, diff, key, kind, ended, run);
    if let Err(panic) = told {
        std::panic::resume_unwind(panic);
    }
}

/// How a call ended, for memory to follow.
enum Ended<M> {
    /// Made, with the model its hook returned, if any.
    Applied(Option<M>),
    /// Made, but its hook returned a model of another key: memory follows the diff, and a
    /// created element's children are skipped (see [`returned::ReturnedAnotherKey`]).
    MadeAsDiffed,
    /// Not made: why what lies under it is skipped.
    NotMade(SkipReason),
}

/// Changes memory where the call was made (with the model its hook returned, if any), and
/// starts what waited for it; where it was not, skips what lies under it.
fn follow<M, H, S>(
    walker: &mut Walker,
    slots: &mut S,
    diff: Option<&Diff<M>>,
    key: &M::Key,
    kind: Kind,
    ended: Ended<M>,
    run: &mut Run<'_, '_, H>,
) where
    M: SyncTree<H>,
    H: ?Sized,
    S: Slots<M>,
{
    let place = walker.nav.place.clone();
    let as_diffed = matches!(ended, Ended::MadeAsDiffed);
    let (applied, returned, under) = match ended {
        Ended::Applied(returned) => (true, returned, SkipReason::ParentFailed),
        Ended::MadeAsDiffed => (true, None, SkipReason::ParentFailed),
        Ended::NotMade(reason) => (false, None, reason),
    };
    match kind {
        Kind::Create { top: true } => {
            let Some(Action::Create(model)) = diff
                .and_then(|diff| find(diff, key))
                .map(|element| &element.action)
            else {
                return;
            };
            if applied && as_diffed {
                // In the system, without its children: in memory so, before the outcome.
                let mut created = model.clone();
                clear_children(&mut created);
                slots.insert_slot(created);
                let reason = Status::Skipped(under.clone());
                run.record_descendants(model, Operation::Create, reason);
            } else if applied {
                let mut created = model.clone();
                if let Some(returned) = returned {
                    returned::keep(&mut created, returned);
                }
                slots.insert_slot(created);
                if has_children(model) {
                    walker.push(
                        place.down(erase(key), Via::Target),
                        Work::Every(Every::Create),
                    );
                }
            } else {
                let reason = Status::Skipped(under.clone());
                run.record_descendants(model, Operation::Create, reason);
            }
        }
        Kind::Create { top: false } => {
            let Some(model) = slots.slot_mut(key) else {
                return;
            };
            if applied && as_diffed {
                // In the system, without its children: it stays in memory so.
                let reason = Status::Skipped(under.clone());
                let told = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run.record_descendants(&*model, Operation::Create, reason);
                }));
                clear_children(&mut *model);
                if let Err(panic) = told {
                    std::panic::resume_unwind(panic);
                }
            } else if applied {
                if let Some(returned) = returned {
                    returned::keep(&mut *model, returned);
                }
                if has_children(&*model) {
                    walker.push(
                        place.down(erase(key), Via::Target),
                        Work::Every(Every::Create),
                    );
                }
            } else {
                // Out of memory (it is not in the system) before a panicking callback goes on.
                let reason = Status::Skipped(under.clone());
                let told = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run.record_descendants(&*model, Operation::Create, reason);
                }));
                slots.remove_slot(key);
                if let Err(panic) = told {
                    std::panic::resume_unwind(panic);
                }
            }
        }
        Kind::Update => {
            if applied
                && let Some(Action::Update(update)) = diff
                    .and_then(|diff| find(diff, key))
                    .map(|element| &element.action)
                && let Some(current) = slots.slot_mut(key)
            {
                match returned {
                    Some(returned) => returned::keep(current, returned),
                    None => current.apply_fields(&update.fields),
                }
            }
        }
        Kind::Delete { mode, parent } => {
            if !applied {
                // Children the parent's delete was to take along (or go first) were not
                // tried: skipped under a failed parent, as in the blocking engine.
                let told = match (mode, slots.slot_mut(key)) {
                    (DeleteMode::Alone | DeleteMode::ParentFirst, Some(model)) => {
                        let reason = Status::Skipped(under.clone());
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            run.record_descendants(&*model, Operation::Delete, reason);
                        }))
                    }
                    _ => Ok(()),
                };
                // The parent hears of the failure before a panicking callback goes on (of a
                // call the stop kept from starting, as of a child the stop left: gone as far
                // as it is concerned, so the parent is skipped as stopped, not for a failed
                // child).
                walker.report(parent, under == SkipReason::Stopped);
                if let Err(panic) = told {
                    std::panic::resume_unwind(panic);
                }
                return;
            }
            let Some(model) = slots.slot_mut(key) else {
                walker.report(parent, true);
                return;
            };
            match mode {
                DeleteMode::Alone => {
                    let told = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        run.record_descendants(&*model, Operation::Delete, Status::Applied);
                    }));
                    if let Err(panic) = told {
                        slots.remove_slot(key);
                        walker.report(parent, true);
                        std::panic::resume_unwind(panic);
                    }
                }
                DeleteMode::ParentFirst if has_children(&*model) => {
                    // Gone from the system; it leaves memory once its children were tried.
                    walker.delete_children_of(parent, &place, erase(key), true);
                    return;
                }
                DeleteMode::ParentFirst | DeleteMode::Own => {}
            }
            walker.leave(slots, parent, key);
            walker.report(parent, true);
        }
    }
}
