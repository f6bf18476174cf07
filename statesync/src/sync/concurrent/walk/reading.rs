//! Reading the keys of a collection in memory ahead, a chunk at a time.

use std::any::Any;
use std::collections::VecDeque;

use crate::model::DiffModel;

use super::super::super::engine::Slots;

/// Where a walk of a collection in memory is: a [`Reading`] of its model's key type, `None`
/// before it began.
pub(super) type Ahead = Option<Box<dyn Any + Send + Sync>>;

/// Reads a collection's keys in memory ahead, a chunk at a time, so that a walk of a wide
/// collection resumed after each call does not read it from its start each time. The keys
/// read and not handled yet belong to children not started, which nothing else removes.
pub(super) struct Reading<K> {
    pub(super) queue: VecDeque<K>,
    /// The first key not read yet; `None` at the end, once begun.
    resume: Option<K>,
    begun: bool,
}

impl<K: Clone + Send + Sync + 'static> Reading<K> {
    pub(super) fn from(ahead: Ahead) -> Self {
        match ahead.and_then(|ahead| ahead.downcast::<Self>().ok()) {
            Some(reading) => *reading,
            None => Self {
                queue: VecDeque::new(),
                resume: None,
                begun: false,
            },
        }
    }

    pub(super) fn keep(self) -> Ahead {
        Some(Box::new(self))
    }

    /// The next key to handle, reading up to `chunk` more when none is left.
    pub(super) fn peek<M: DiffModel<Key = K>, S: Slots<M>>(
        &mut self,
        slots: &S,
        chunk: usize,
    ) -> Option<K> {
        if self.queue.is_empty() && (!self.begun || self.resume.is_some()) {
            let (keys, after) = batch(slots, self.resume.as_ref(), chunk);
            self.begun = true;
            self.resume = after;
            self.queue = keys.into();
        }
        self.queue.front().cloned()
    }
}

/// Up to `limit` keys of the collection from `from` on (all from the first when `from` is
/// `None`), and the key after them if there is one.
pub(super) fn batch<M: DiffModel, S: Slots<M>>(
    slots: &S,
    from: Option<&M::Key>,
    limit: usize,
) -> (Vec<M::Key>, Option<M::Key>) {
    let mut on = from.is_none();
    let mut keys = Vec::new();
    let mut after = None;
    slots.for_each_slot(&mut |model| {
        if after.is_some() {
            return;
        }
        if !on {
            if from.is_some_and(|from| model.has_key(from)) {
                on = true;
            } else {
                return;
            }
        }
        if keys.len() < limit {
            keys.push(model.key());
        } else {
            after = Some(model.key());
        }
    });
    (keys, after)
}
