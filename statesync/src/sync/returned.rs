//! The models that create and update hooks return ([`Hooks::create_returning`],
//! [`Hooks::update_returning`]): what memory keeps of them.
//!
//! [`Hooks::create_returning`]: super::Hooks::create_returning
//! [`Hooks::update_returning`]: super::Hooks::update_returning

use crate::error::Error;
use crate::model::DiffModel;

use super::HookError;

/// A create or update hook returned a model of another key than its element's: the change
/// was made in the system, but memory does not keep the returned model. It keeps the
/// diff's instead: an update's new values, a created element without its children (they
/// are skipped, as under a failed parent; the next sync creates them). The outcome is a
/// failure holding this error, so the broken promise shows in the report. The kept model
/// has the diff's `skip` fields, not what the system assigned (an id, an entity tag): a
/// later update or delete of it that needs them fails until the target is reloaded from
/// the system.
#[derive(Debug, thiserror::Error)]
#[error(
    "the change was made, but the hook returned a model of another key, which memory does not keep"
)]
pub struct ReturnedAnotherKey(#[source] pub Error);

/// A [`ReturnedAnotherKey`] the engine found, so the change was made: only the engine
/// makes one ([`Failure::new`](super::Failure::new) takes it off and marks the failure
/// [`change_made`](super::Failure::change_made)), so a hook whose own error is a
/// `ReturnedAnotherKey` is not counted as a change made (an outside reviewer).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub(crate) struct MadeAnyway(pub(crate) ReturnedAnotherKey);

/// The model a hook returned, if any, when it has the element's key.
///
/// # Errors
/// [`ReturnedAnotherKey`] when it has another, as a hook error that makes the failure
/// [`change_made`](super::Failure::change_made).
pub(crate) fn kept<M: DiffModel>(
    key: &M::Key,
    returned: Option<M>,
) -> Result<Option<M>, HookError> {
    match returned {
        Some(model) if !model.has_key(key) => Err(Box::new(MadeAnyway(ReturnedAnotherKey(
            Error::key_mismatch(M::NAME, key, &model.key()),
        )))),
        returned => Ok(returned),
    }
}

/// Puts the model a hook returned in the place of `model`, with `model`'s children (the
/// returned model's children fields are not read).
pub(crate) fn keep<M: DiffModel>(model: &mut M, mut returned: M) {
    crate::fields::swap_children(&mut returned, model);
    *model = returned;
}
