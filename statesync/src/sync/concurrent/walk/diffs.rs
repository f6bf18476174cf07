//! The walk of a diff collection: its deletes, updates (and their child diffs) and creates.

use crate::diff::{Action, Diff, ModelUpdate};
use crate::error::Operation;

use super::super::super::SyncTree;
use super::super::super::engine::{self, Slots, UpdateDecision};
use super::super::super::flags::{ModelFlags, SyncFlags};
use super::super::super::report::{SkipReason, Status};
use super::super::super::run::Run;
use super::creates::create_element;
use super::deletes::delete_element;
use super::{Cursor, Every, Kind, Place, Stage, Via, WalkState, Walker, Work, erase};

/// Walks a diff collection from where its cursor is, as the blocking engine's
/// `sync_elements` does: (unchanged elements listed), deletes, updates (each followed by its
/// child diffs, depth first), creates (collection by collection, after this collection's
/// deletes ended).
pub(super) fn walk<M, H, S>(
    walker: &mut Walker,
    slots: &mut S,
    diff: &Diff<M>,
    mut state: WalkState,
    run: &mut Run<'_, '_, H>,
) where
    M: SyncTree<H>,
    H: ?Sized,
    S: Slots<M>,
{
    run.phase = state.phase;
    let place = walker.nav.place.clone();
    let elements = diff.elements();
    // Asked once per walk of the collection (the walk comes back to it at each step, and a
    // `Vec` answers in a pass over it); again at each step only when it holds a key twice.
    let collision = match state.sound {
        Some(true) => None,
        _ if elements.is_empty() => None,
        _ => {
            let collision = slots.collision();
            state.sound = Some(collision.is_none());
            collision
        }
    };
    loop {
        match state.stage {
            Stage::Unchanged => {
                if state.phase.updates()
                    && run.options.flags.contains(SyncFlags::LOG_UNCHANGED_RECORDS)
                {
                    engine::record_unchanged(slots, diff, run);
                }
                state.stage = Stage::Deletes;
            }
            Stage::Deletes => {
                while state.phase.deletes()
                    && let Some(element) = elements.get(state.at)
                {
                    if let Action::Delete(model) = &element.action
                        && !engine::refused_before_hook(collision.as_ref(), elements, state.at, run)
                    {
                        if !walker.room(run.stopped) {
                            walker.push(place, Work::Walk(state));
                            return;
                        }
                        delete_element(walker, slots, &place, &element.key, model, state.id, run);
                    }
                    state.at += 1;
                }
                if state.phase.deletes() {
                    walker.deletes_issued(state.id, slots);
                }
                state.stage = Stage::Updates;
                state.at = 0;
            }
            Stage::Updates => {
                if state.phase.updates()
                    && let Some(wait) = walker.walks.get_mut(&state.id)
                {
                    // Deletes of this collection still run: its updates (and then its
                    // creates) wait for them, as in the blocking engine's order.
                    wait.parked = Some(Cursor {
                        place,
                        work: Work::Walk(state),
                    });
                    return;
                }
                while let Some(element) = elements.get(state.at) {
                    let Action::Update(update) = &element.action else {
                        state.at += 1;
                        continue;
                    };
                    if engine::refused_before_hook(collision.as_ref(), elements, state.at, run) {
                        state.at += 1;
                        continue;
                    }
                    if !walker.room(run.stopped) {
                        walker.push(place, Work::Walk(state));
                        return;
                    }
                    state.at += 1;
                    if update_element(walker, slots, &place, &element.key, update, run) {
                        let into = place.down(erase(&element.key), Via::Diff);
                        walker.push(into, Work::Every(Every::Walk(state.phase)));
                        walker.push(place, Work::Walk(state));
                        return;
                    }
                }
                state.stage = Stage::Creates;
                state.at = 0;
            }
            Stage::Creates => {
                if !state.phase.creates() {
                    return;
                }
                if let Some(wait) = walker.walks.get_mut(&state.id) {
                    // Deletes of this collection still run: its creates wait for them.
                    wait.parked = Some(Cursor {
                        place,
                        work: Work::Walk(state),
                    });
                    return;
                }
                while let Some(element) = elements.get(state.at) {
                    if let Action::Create(model) = &element.action
                        && !engine::refused_before_hook(collision.as_ref(), elements, state.at, run)
                    {
                        if !walker.room(run.stopped) {
                            walker.push(place, Work::Walk(state));
                            return;
                        }
                        create_element(walker, slots, &place, &element.key, model, run);
                    }
                    state.at += 1;
                }
                return;
            }
        }
    }
}

/// An update of the diff: decided as the blocking engine does; `true` when its child diffs
/// are to be walked next.
pub(super) fn update_element<M, H, S>(
    walker: &mut Walker,
    slots: &mut S,
    place: &Place,
    key: &M::Key,
    update: &ModelUpdate<M>,
    run: &mut Run<'_, '_, H>,
) -> bool
where
    M: SyncTree<H>,
    H: ?Sized,
    S: Slots<M>,
{
    // An `IGNORE`d element is decided as ever (its subtree listed under the flag, no
    // call), stop or not.
    let ignored = run.flags_of::<M>(key).contains(ModelFlags::IGNORE);
    if run.stopped && run.phase.updates() && !ignored {
        // After a stop nothing more is decided or called: what the update would have done
        // is skipped, at every depth (a stale or missing element is not a failure then).
        let stopped = Status::Skipped(SkipReason::Stopped);
        if update.has_field_changes() {
            run.record::<M>(key, Operation::Update, stopped.clone());
        }
        if slots.slot_mut(key).is_none() {
            run.record_child_diffs::<M>(key, &update.children, stopped);
            return false;
        }
        return run.enters::<M>(&update.children);
    }
    let decision = engine::decide_update(slots, key, update, run);
    if let UpdateDecision::Left = decision {
        return false;
    }
    if let UpdateDecision::Call = decision {
        if run.stopped {
            run.record::<M>(key, Operation::Update, Status::Skipped(SkipReason::Stopped));
        } else if let Some(current) = slots.slot_mut(key) {
            // The call owns a copy of the element with its subtree, made by its derived
            // `Clone`, which has no bound on its depth: a subtree deeper than `MAX_DEPTH`
            // fails the update instead (the blocking engine, which copies nothing, carries
            // it). Only a model that can nest itself can be that deep: no other pays the
            // walk that checks.
            if M::NESTS_ITSELF
                && let Err(error) = crate::depth::check_subtree(&*current)
            {
                run.record_error::<M>(key, Operation::Update, error);
                return run.enters::<M>(&update.children);
            }
            // The call's copy is the model as it will be, made with the new values in place;
            // the old ones are back once it is made: memory changes when the call succeeded.
            let restore = engine::Restore::updated(current, &update.fields);
            let _ = run.call(|hooks, parents| {
                M::hook_update(hooks, restore.model, &update.fields, parents)
            });
            drop(restore);
            walker.started(place, erase(key), Kind::Update);
        }
    }
    run.enters::<M>(&update.children)
}
