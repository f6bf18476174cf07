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

/// Bytes taken from one or more [`Budget`]s at once (all connections', and the peer's);
/// given back when dropped.
#[derive(Debug)]
pub(crate) struct Held {
    budgets: Vec<Arc<Budget>>,
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
    #[cfg(test)]
    pub(crate) fn hold(self: &Arc<Self>) -> Held {
        Held::of(&[self])
    }

    /// The bytes taken now.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::SeqCst)
    }

    /// Takes `bytes` if they fit.
    fn take(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                used.checked_add(bytes).filter(|&total| total <= self.limit)
            })
            .is_ok()
    }

    fn give_back(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::SeqCst);
    }
}

impl Held {
    /// Nothing taken yet, of each of `budgets`.
    pub(crate) fn of(budgets: &[&Arc<Budget>]) -> Self {
        Self {
            budgets: budgets.iter().map(|budget| Arc::clone(budget)).collect(),
            bytes: 0,
        }
    }

    /// Takes `bytes` more of every budget; false (and nothing taken) when they do not fit
    /// in one of them.
    pub(crate) fn grow(&mut self, bytes: usize) -> bool {
        for (at, budget) in self.budgets.iter().enumerate() {
            if !budget.take(bytes) {
                for taken in self.budgets.iter().take(at) {
                    taken.give_back(bytes);
                }
                return false;
            }
        }
        self.bytes += bytes;
        true
    }

    /// Gives everything back.
    pub(crate) fn release(&mut self) {
        for budget in &self.budgets {
            budget.give_back(self.bytes);
        }
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

    #[test]
    fn a_hold_of_two_budgets_takes_of_both_or_of_neither() {
        let all = Arc::new(Budget::new(10));
        let peer = Arc::new(Budget::new(4));
        let mut held = Held::of(&[&all, &peer]);
        assert!(held.grow(3));
        assert!(!held.grow(2), "3 + 2 > 4 of the peer's");
        assert_eq!((all.used(), peer.used()), (3, 3));
        let mut other = all.hold();
        assert!(other.grow(7));
        assert!(!held.grow(1), "10 of all taken");
        assert_eq!((all.used(), peer.used()), (10, 3));
        drop(held);
        assert_eq!((all.used(), peer.used()), (7, 0));
    }
}
