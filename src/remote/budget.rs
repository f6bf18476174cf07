//! The bytes of requests and replies in flight over all connections, capped, so that many
//! large messages at once cannot exhaust memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The shared cap and what is taken of it.
#[derive(Debug)]
pub(crate) struct Budget {
    limit: usize,
    used: AtomicUsize,
}

/// Bytes taken from a [`Budget`]; given back when dropped.
#[derive(Debug)]
pub(crate) struct Held {
    budget: Arc<Budget>,
    bytes: usize,
}

impl Budget {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit,
            used: AtomicUsize::new(0),
        }
    }

    /// Nothing taken yet.
    pub(crate) fn hold(self: &Arc<Self>) -> Held {
        Held {
            budget: Arc::clone(self),
            bytes: 0,
        }
    }

    /// The bytes taken now.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::SeqCst)
    }
}

impl Held {
    /// Takes `bytes` more; false (and nothing taken) when they do not fit.
    pub(crate) fn grow(&mut self, bytes: usize) -> bool {
        let limit = self.budget.limit;
        let taken = self
            .budget
            .used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                used.checked_add(bytes).filter(|&total| total <= limit)
            });
        if taken.is_ok() {
            self.bytes += bytes;
        }
        taken.is_ok()
    }

    /// Gives everything back.
    pub(crate) fn release(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::SeqCst);
        self.bytes = 0;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_never_exceed_the_limit_and_are_given_back() {
        let budget = Arc::new(Budget::new(10));
        let mut a = budget.hold();
        let mut b = budget.hold();
        assert!(a.grow(6));
        assert!(!b.grow(5), "6 + 5 > 10");
        assert!(b.grow(4));
        assert_eq!(budget.used(), 10);
        drop(a);
        assert_eq!(budget.used(), 4);
        b.release();
        assert_eq!(budget.used(), 0);
    }
}
