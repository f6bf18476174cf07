//! Reading the keys of a collection in memory ahead, a chunk at a time.

use std::any::Any;
use std::collections::VecDeque;

use crate::model::DiffModel;

use super::super::super::engine::Slots;
use super::{Walker, Work};

/// Where a walk of a collection in memory is: a [`Reading`] of its model's key type, `None`
/// before it began.
pub(super) type Ahead = Option<Box<dyn Any + Send + Sync>>;

/// Reads a collection's keys in memory ahead, a chunk at a time, so that a walk of a wide
/// collection resumed after each call does not read it from its start each time. The keys
/// read and not handled yet belong to children not started, which nothing else removes.
pub(super) struct Reading<K> {
    queue: VecDeque<K>,
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
    fn peek<M: DiffModel<Key = K>, S: Slots<M>>(&mut self, slots: &S, chunk: usize) -> Option<K> {
        if self.queue.is_empty() && (!self.begun || self.resume.is_some()) {
            let read = slots.slot_keys_from(self.resume.as_ref(), chunk);
            self.begun = true;
            self.resume = read.after;
            self.queue = read.keys.into();
        }
        self.queue.front().cloned()
    }
}

/// What a walk of a collection in memory does next.
pub(super) enum Next<K> {
    /// Handles the child with this key.
    Key(K),
    /// Waits for room for a call: the walk is queued again.
    Parked,
    /// Nothing: every child was handled.
    End,
}

impl Walker {
    /// The next child of a walk of a collection in memory to handle; when there is no room
    /// for another call, queues the walk again at the step's place (`resume` makes its work
    /// from where the reading is).
    pub(super) fn next_child<M: DiffModel<Key: Send + Sync> + 'static, S: Slots<M>>(
        &mut self,
        reading: &mut Reading<M::Key>,
        slots: &S,
        stopped: bool,
        resume: impl FnOnce(Ahead) -> Work,
    ) -> Next<M::Key> {
        let Some(key) = reading.peek(slots, self.chunk) else {
            return Next::End;
        };
        if !self.room(stopped) {
            let ahead = std::mem::replace(reading, Reading::from(None)).keep();
            let place = self.nav.place.clone();
            self.push(place, resume(ahead));
            return Next::Parked;
        }
        reading.queue.pop_front();
        Next::Key(key)
    }
}
