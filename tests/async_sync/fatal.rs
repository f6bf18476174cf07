//! In the async engine too, a hook's `Fatal` error stops the sync under
//! `CONTINUE_ON_FAILURE`: no call starts after it (those in flight end).

use std::sync::atomic::{AtomicUsize, Ordering};

use statesync::Store;
use statesync::sync::{
    AsyncAdapter, AsyncHooks, AsyncSyncModel, AsyncSyncOptions, Fatal, HookError, Parents,
    SkipReason, Status, SyncFlags, SyncOptions, SyncReport,
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

fn sync(max_in_flight: usize) -> (Queue, SyncReport, usize) {
    let source = Queue {
        jobs: Store::try_from_iter((0..8).map(|id| Job { id })).unwrap(),
    };
    let mut target = Queue { jobs: Store::new() };
    let broker = Broker::default();
    let options = AsyncSyncOptions::new(SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE))
        .max_in_flight(max_in_flight);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let report = runtime
        .block_on(target.sync_from_async(&source, &broker, options))
        .unwrap();
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
