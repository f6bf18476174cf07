//! In the async engine too, a hook's `Fatal` error stops the sync under
//! `CONTINUE_ON_FAILURE`: no call starts after it (those in flight end).

use std::sync::atomic::{AtomicUsize, Ordering};

use statesync::Store;
use statesync::sync::{
    AsyncAdapter, AsyncBridge, AsyncHooks, AsyncSyncModel, AsyncSyncOptions, Fatal, HookError,
    Parents, RetryPolicy, SkipReason, Status, SyncFlags, SyncOptions, SyncReport, SyncTree,
    Transient,
};

use crate::finished::{Job, Queue};

/// A broker whose connection is lost at the third call: it and every later call fail.
#[derive(Default)]
struct Broker {
    calls: AtomicUsize,
}

impl AsyncAdapter for Broker {}
impl AsyncHooks<Queue> for Broker {}
impl AsyncHooks<Job> for Broker {
    async fn create(&self, _: &Job, _: &Parents) -> Result<(), HookError> {
        if self.calls.fetch_add(1, Ordering::SeqCst) + 1 < 3 {
            return Ok(());
        }
        Err(Fatal::new(std::io::Error::other("connection reset")).into())
    }
}

/// Syncs `jobs` jobs into an empty queue through `hooks`: the queue after, and the report.
pub(crate) fn sync_jobs<H>(
    jobs: u32,
    hooks: &H,
    options: AsyncSyncOptions<'_>,
) -> (Queue, SyncReport)
where
    H: AsyncAdapter,
    Queue: SyncTree<AsyncBridge<H>>,
{
    let source = Queue {
        jobs: Store::try_from_iter((0..jobs).map(|id| Job { id })).unwrap(),
    };
    let mut target = Queue { jobs: Store::new() };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let report = runtime
        .block_on(target.sync_from_async(&source, hooks, options))
        .unwrap();
    (target, report)
}

fn sync(max_in_flight: usize) -> (Queue, SyncReport, usize) {
    let broker = Broker::default();
    let options = AsyncSyncOptions::new(SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE))
        .max_in_flight(max_in_flight);
    let (target, report) = sync_jobs(8, &broker, options);
    (target, report, broker.calls.load(Ordering::SeqCst))
}

#[test]
fn a_fatal_hook_error_stops_the_async_sync_under_continue_on_failure() {
    let (target, report, calls) = sync(1);
    assert!(report.stopped, "{report}");
    assert_eq!(calls, 3, "no call starts after the fatal one");
    assert_eq!((report.counts.created, report.counts.failed), (2, 1));
    assert_eq!(target.jobs.len(), 2);
    let skipped = report
        .outcomes
        .iter()
        .filter(|outcome| matches!(outcome.status, Status::Skipped(SkipReason::Stopped)));
    assert_eq!(skipped.count(), 5, "{report:?}");
    let failure = report
        .outcomes
        .iter()
        .find_map(|outcome| match &outcome.status {
            Status::Failed(failure) => Some(failure),
            _ => None,
        });
    assert!(failure.is_some_and(statesync::sync::Failure::is_fatal));

    // With calls in flight, those end; none starts after.
    let (target, report, calls) = sync(3);
    assert!(report.stopped, "{report}");
    assert!(calls < 8, "{calls} calls");
    assert_eq!(target.jobs.len(), report.counts.created);
}

/// A broker whose every call fails with a fatal error that is also transient, wrapped
/// either way round.
#[derive(Default)]
struct Gone {
    calls: AtomicUsize,
    transient_outside: bool,
}

impl AsyncAdapter for Gone {}
impl AsyncHooks<Queue> for Gone {}
impl AsyncHooks<Job> for Gone {
    async fn create(&self, _: &Job, _: &Parents) -> Result<(), HookError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let reset = std::io::Error::other("connection reset");
        Err(if self.transient_outside {
            Transient::new(Fatal::new(reset)).into()
        } else {
            Fatal::new(Transient::new(reset)).into()
        })
    }
}

/// A fatal error is not retried, even one that is also `Transient` (it was, as often as the
/// policy allowed, when `Transient` was inside it), and the report holds the error both
/// wrap (it held the `Transient`).
#[test]
fn a_fatal_error_is_not_retried_and_its_wrappers_come_off() {
    for transient_outside in [false, true] {
        let gone = Gone {
            transient_outside,
            ..Gone::default()
        };
        let options = AsyncSyncOptions::new(SyncOptions::default()).retry(RetryPolicy::attempts(4));
        let (_, report) = sync_jobs(1, &gone, options);
        assert_eq!(gone.calls.load(Ordering::SeqCst), 1, "{transient_outside}");
        let [outcome] = &report.outcomes[..] else {
            panic!("{report:?}")
        };
        let Status::Failed(failure) = &outcome.status else {
            panic!("{report:?}")
        };
        assert!(failure.is_fatal());
        assert!(
            failure.downcast_ref::<std::io::Error>().is_some(),
            "{failure:?}"
        );
        assert_eq!(failure.to_string(), "connection reset");
    }
}

/// A system that refuses every create: with `retries`, job 0's error is fatal (once the
/// others have failed and are waiting in backoff) and the others' transient.
struct Refusing {
    calls: AtomicUsize,
    retries: bool,
}

impl AsyncAdapter for Refusing {}
impl AsyncHooks<Queue> for Refusing {}
impl AsyncHooks<Job> for Refusing {
    async fn create(&self, job: &Job, _: &Parents) -> Result<(), HookError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let refused = std::io::Error::other("refused");
        if !self.retries {
            return Err(refused.into());
        }
        if job.id == 0 {
            for _ in 0..16 {
                tokio::task::yield_now().await;
            }
            return Err(Fatal::new(refused).into());
        }
        Err(Transient::new(refused).into())
    }
}

/// Calls waiting for their rate-limit slot when the first failure stops the sync do not
/// call their hooks: they are skipped as stopped. Before, each still called the system
/// when its slot came, after the stop, and counted as made.
#[test]
fn a_stop_ends_the_calls_waiting_for_their_rate_limit_slot() {
    let refusing = Refusing {
        calls: AtomicUsize::new(0),
        retries: false,
    };
    let options = AsyncSyncOptions::default()
        .max_in_flight(10)
        .rate_limit(50.0);
    let (target, report) = sync_jobs(20, &refusing, options);
    assert_eq!(refusing.calls.load(Ordering::SeqCst), 1, "{report}");
    assert_eq!((report.counts.failed, report.counts.skipped), (1, 19));
    assert!(report.outcomes.iter().all(|outcome| matches!(
        outcome.status,
        Status::Failed(_) | Status::Skipped(SkipReason::Stopped)
    )));
    assert!(target.jobs.is_empty());
}

/// Calls in backoff when a fatal error stops the sync are not retried: each ends with the
/// failure it had. Before, they were retried after the stop, as often as the policy
/// allowed.
#[test]
fn a_stop_ends_the_calls_waiting_in_backoff() {
    let refusing = Refusing {
        calls: AtomicUsize::new(0),
        retries: true,
    };
    // A backoff far longer than job 0's yields take, however loaded the machine.
    let retry = RetryPolicy::attempts(4).backoff(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(1),
    );
    let options = AsyncSyncOptions::default().max_in_flight(8).retry(retry);
    let (_, report) = sync_jobs(8, &refusing, options);
    assert_eq!(refusing.calls.load(Ordering::SeqCst), 8, "{report}");
    assert_eq!(report.counts.failed, 8);
    assert!(report.outcomes.iter().all(|outcome| outcome.attempts == 1));
}
