//! [`Fatal`]: the error a hook wraps around a failure that ends the sync.

use std::error::Error as StdError;
use std::fmt;

use super::HookError;
use super::report::in_chain;

/// A hook error that stops the sync, `CONTINUE_ON_FAILURE` or not:
/// `Err(Fatal::new(error).into())`, for a failure every later call would meet too (the
/// connection to the system is gone). The element fails with the wrapped error (the
/// report's [`Failure`](super::Failure) downcasts to the error's own type and says
/// [`is_fatal`](super::Failure::is_fatal)), and the sync stops as it does at a failure
/// without the flag (what the report then lists: [`SyncReport::outcomes`]); the async
/// engine lets the calls in flight end, and does not retry a fatal error, even one that
/// is also `Transient`.
///
/// [`SyncReport::outcomes`]: super::SyncReport::outcomes
///
/// ```
/// use statesync::sync::{
///     Adapter, Fatal, HookError, Hooks, Parents, Status, SyncFlags, SyncModel, SyncOptions,
/// };
/// use statesync::{DiffModel, Store};
///
/// #[derive(DiffModel, Clone, Debug, PartialEq)]
/// struct Queue {
///     #[statesync(children)]
///     jobs: Store<Job>,
/// }
///
/// #[derive(DiffModel, Clone, Debug, PartialEq)]
/// struct Job {
///     #[statesync(id)]
///     id: u32,
/// }
///
/// /// A broker whose connection drops before the third job.
/// struct Broker(Vec<u32>);
///
/// impl Adapter for Broker {}
/// impl Hooks<Queue> for Broker {}
/// impl Hooks<Job> for Broker {
///     fn create(&mut self, job: &Job, _: &Parents) -> Result<(), HookError> {
///         if self.0.len() == 2 {
///             return Err(Fatal::new(std::io::Error::other("connection reset")).into());
///         }
///         self.0.push(job.id);
///         Ok(())
///     }
/// }
///
/// let wanted = Queue { jobs: Store::try_from_iter((0..5).map(|id| Job { id }))? };
/// let mut held = Queue { jobs: Store::new() };
/// let options = SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE);
/// let report = held.sync_from(&wanted, &mut Broker(Vec::new()), options)?;
/// assert!(report.stopped);
/// assert_eq!((report.counts.created, report.counts.failed), (2, 1));
/// let failed = report.failures().map(|outcome| &outcome.status);
/// let [Status::Failed(failure)] = failed.collect::<Vec<_>>()[..] else { unreachable!() };
/// assert!(failure.is_fatal() && failure.downcast_ref::<std::io::Error>().is_some());
/// assert_eq!(held.jobs.len(), 2);
/// # Ok::<(), statesync::Error>(())
/// ```
#[derive(Debug)]
pub struct Fatal(pub HookError);

impl Fatal {
    /// Wraps an error.
    pub fn new(error: impl Into<HookError>) -> Self {
        Self(error.into())
    }

    /// Whether `error` is a [`Fatal`] (or has one in its `source()` chain).
    pub fn is_fatal(error: &(dyn StdError + 'static)) -> bool {
        in_chain::<Fatal>(error)
    }
}

impl fmt::Display for Fatal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (fatal)", self.0)
    }
}

impl StdError for Fatal {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.0)
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as StdError;
    use std::fmt;

    use super::{Fatal, in_chain};

    /// An error whose source is itself.
    #[derive(Debug)]
    struct Cycle;

    impl fmt::Display for Cycle {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("cycle")
        }
    }

    impl StdError for Cycle {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(self)
        }
    }

    #[test]
    fn a_source_chain_is_searched_and_a_cycle_ends() {
        let fatal = Fatal::new(Cycle);
        assert!(Fatal::is_fatal(&fatal));
        assert!(in_chain::<Cycle>(&fatal));
        assert!(!Fatal::is_fatal(&Cycle), "a cycle without one ends");
        // `Transient::is_transient` walks the same way (it followed a cycle forever).
        #[cfg(feature = "async")]
        assert!(!crate::sync::Transient::is_transient(&Cycle));
        assert_eq!(fatal.to_string(), "cycle (fatal)");
    }
}
