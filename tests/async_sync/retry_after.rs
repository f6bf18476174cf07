//! A system that says when to come back (`429` with `Retry-After`): the engine waits that
//! long before the retry, holds back every other call as long, and does not retry when the
//! wait is beyond its policy.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use statesync::Store;
use statesync::sync::{
    AsyncAdapter, AsyncHooks, AsyncSyncModel, AsyncSyncOptions, Fatal, HookError, Parents,
    RetryPolicy, Status, Transient,
};

use crate::fatal::sync_jobs;
use crate::finished::{Job, Queue};

/// A system that refuses the first call, saying `Retry-After: wait`, and counts the calls
/// made before that wait was over.
struct RateLimited {
    wait: Duration,
    /// When the refusal's window closes.
    closed_until: Mutex<Option<Instant>>,
    early: AtomicUsize,
    calls: AtomicUsize,
}

impl RateLimited {
    fn new(wait: Duration) -> Self {
        Self {
            wait,
            closed_until: Mutex::new(None),
            early: AtomicUsize::new(0),
            calls: AtomicUsize::new(0),
        }
    }
}

impl AsyncAdapter for RateLimited {}
impl AsyncHooks<Queue> for RateLimited {}
impl AsyncHooks<Job> for RateLimited {
    async fn create(&self, _: &Job, _: &Parents) -> Result<(), HookError> {
        let first = self.calls.fetch_add(1, Ordering::SeqCst) == 0;
        let now = Instant::now();
        let mut closed_until = self.closed_until.lock().unwrap();
        if first {
            *closed_until = Some(now + self.wait);
            return Err(Transient::new("429 Too Many Requests")
                .after(self.wait)
                .into());
        }
        if closed_until.is_some_and(|until| now < until) {
            self.early.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

/// Only the calls started beside the refused one (three, of four at once) come before the
/// wait the system named is over; every later one, the retry included, waits for it
/// (without the hold-back, the eleven other jobs all went in the window).
#[test]
fn a_wait_the_system_asks_for_holds_back_every_call() {
    let system = RateLimited::new(Duration::from_millis(300));
    let options = AsyncSyncOptions::default()
        .max_in_flight(4)
        .retry(RetryPolicy::attempts(3).backoff(Duration::from_millis(1), Duration::from_secs(5)));
    let started = Instant::now();
    let (target, report) = sync_jobs(12, &system, options);
    assert_eq!(report.counts.created, 12, "{report}");
    assert_eq!(target.jobs.len(), 12);
    let early = system.early.load(Ordering::SeqCst);
    assert!(early <= 3, "{early} calls in the window");
    assert!(started.elapsed() >= Duration::from_millis(300));
    let retried: Vec<_> = report.outcomes.iter().map(|o| o.attempts).collect();
    assert_eq!(
        retried.iter().filter(|&&a| a == 2).count(),
        1,
        "{retried:?}"
    );
}

/// A wait longer than the policy's longest backoff is not waited: the call fails at once
/// with the system's error (on tokio's paused clock, so that a regression fails rather
/// than waits an hour).
#[tokio::test(start_paused = true)]
async fn a_wait_beyond_the_policy_ends_the_call() {
    let system = RateLimited::new(Duration::from_secs(3600));
    let options = AsyncSyncOptions::default()
        .retry(RetryPolicy::attempts(3).backoff(Duration::from_millis(1), Duration::from_secs(1)))
        .sleep(|d| Box::pin(tokio::time::sleep(d)));
    let source = Queue {
        jobs: Store::try_from_iter([Job { id: 0 }]).unwrap(),
    };
    let mut target = Queue { jobs: Store::new() };
    let report = target
        .sync_from_async(&source, &system, options)
        .await
        .unwrap();
    assert_eq!(
        (report.counts.failed, system.calls.load(Ordering::SeqCst)),
        (1, 1)
    );
    let failed = report.outcomes.iter().find_map(|o| match &o.status {
        Status::Failed(failure) => Some(failure.to_string()),
        _ => None,
    });
    assert_eq!(failed.as_deref(), Some("429 Too Many Requests"));
}

/// Calls waiting for their slot under a rate limit when the system asks for a wait wait
/// for it too (they started in the window, each at its slot: an outside tester).
#[test]
fn calls_waiting_for_their_slot_wait_for_the_system_too() {
    let system = RateLimited::new(Duration::from_millis(400));
    let options = AsyncSyncOptions::default()
        .max_in_flight(8)
        .rate_limit(20.0)
        .retry(RetryPolicy::attempts(3).backoff(Duration::from_millis(1), Duration::from_secs(5)));
    let (target, report) = sync_jobs(8, &system, options);
    assert_eq!(
        (report.counts.created, target.jobs.len()),
        (8, 8),
        "{report}"
    );
    assert_eq!(system.early.load(Ordering::SeqCst), 0);
}

/// Under tokio's paused clock (the timer the docs suggest for tests), the retry comes
/// when the system said, not twice as late (the wait was measured on the real clock and
/// slept on the paused one, then again).
#[tokio::test(start_paused = true)]
async fn a_wait_follows_the_options_timer() {
    let system = RateLimited::new(Duration::from_secs(10));
    let source = Queue {
        jobs: Store::try_from_iter((0..4).map(|id| Job { id })).unwrap(),
    };
    let mut target = Queue { jobs: Store::new() };
    let options = AsyncSyncOptions::default()
        .max_in_flight(1)
        .retry(RetryPolicy::attempts(2).backoff(Duration::from_millis(1), Duration::from_secs(60)))
        .sleep(|d| Box::pin(tokio::time::sleep(d)));
    let started = tokio::time::Instant::now();
    let report = target
        .sync_from_async(&source, &system, options)
        .await
        .unwrap();
    assert_eq!(report.counts.created, 4, "{report}");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(10) && took < Duration::from_secs(11),
        "{took:?}"
    );
}

/// A system under a storm: each job's first call is refused with a short wait.
struct Storm {
    refused: Mutex<std::collections::HashSet<u32>>,
}

impl AsyncAdapter for Storm {}
impl AsyncHooks<Queue> for Storm {}
impl AsyncHooks<Job> for Storm {
    async fn create(&self, job: &Job, _: &Parents) -> Result<(), HookError> {
        if self.refused.lock().unwrap().insert(job.id) {
            yield_times(1).await;
            return Err(too_many_requests(Duration::from_millis(20)));
        }
        Ok(())
    }
}

/// Thousands of calls refused during one wait each ask for their own: the waits are kept
/// side by side (each joined the one before, nested as deep as the storm was long, and
/// polling them overflowed the stack of a 2 MiB thread at 1,000: a reviewer).
#[test]
fn a_storm_of_refusals_holds_back_without_nesting() {
    let worker = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let storm = Storm {
                refused: Mutex::default(),
            };
            let options = AsyncSyncOptions::default().max_in_flight(3_000).retry(
                RetryPolicy::attempts(2).backoff(Duration::from_millis(1), Duration::from_secs(5)),
            );
            sync_jobs(3_000, &storm, options).1.counts.created
        })
        .unwrap();
    assert_eq!(worker.join().unwrap(), 3_000);
}

/// Records when each call started.
struct Clocked {
    starts: Mutex<Vec<Instant>>,
}

impl AsyncAdapter for Clocked {}
impl AsyncHooks<Queue> for Clocked {}
impl AsyncHooks<Job> for Clocked {
    async fn create(&self, job: &Job, _: &Parents) -> Result<(), HookError> {
        let first = {
            let mut starts = self.starts.lock().unwrap();
            starts.push(Instant::now());
            starts.len() == 1
        };
        if first && job.id == 0 {
            // The others have taken their slots by now.
            yield_times(1).await;
            return Err(too_many_requests(Duration::from_millis(350)));
        }
        Ok(())
    }
}

/// Under a rate limit, the calls whose slots passed while they were held back take new
/// slots: they do not all start when the wait ends (five started in one millisecond
/// under a limit of ten a second: a reviewer).
#[test]
fn calls_held_back_keep_the_rate_limit() {
    let clocked = Clocked {
        starts: Mutex::default(),
    };
    let options = AsyncSyncOptions::default()
        .max_in_flight(8)
        .rate_limit(10.0)
        .retry(RetryPolicy::attempts(2).backoff(Duration::from_millis(1), Duration::from_secs(5)));
    let (_, report) = sync_jobs(8, &clocked, options);
    assert_eq!(report.counts.created, 8, "{report}");
    let mut starts = clocked.starts.lock().unwrap().clone();
    starts.sort();
    let gaps: Vec<Duration> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().all(|gap| *gap >= Duration::from_millis(30)),
        "{gaps:?}"
    );
}

/// Records the order calls start in; job 0 is refused with a short wait, never retried.
struct Ordered {
    order: Mutex<Vec<u32>>,
}

impl AsyncAdapter for Ordered {}
impl AsyncHooks<Queue> for Ordered {}
impl AsyncHooks<Job> for Ordered {
    async fn create(&self, job: &Job, _: &Parents) -> Result<(), HookError> {
        self.order.lock().unwrap().push(job.id);
        if job.id == 0 {
            yield_times(1).await;
            return Err(too_many_requests(Duration::from_millis(20)));
        }
        Ok(())
    }
}

/// A wait that ran out before a call's slot, with no call waiting on it, does not send
/// the call to the back of the queue (it counted as a wait, and job 1 started after job 3:
/// a reviewer).
#[test]
fn a_wait_over_before_a_calls_slot_keeps_its_place() {
    let ordered = Ordered {
        order: Mutex::default(),
    };
    let flags = statesync::sync::SyncOptions::new(statesync::sync::SyncFlags::CONTINUE_ON_FAILURE);
    let options = AsyncSyncOptions::new(flags)
        .max_in_flight(4)
        .rate_limit(10.0)
        .retry(RetryPolicy::attempts(1));
    let (_, report) = sync_jobs(4, &ordered, options);
    assert_eq!(report.counts.created, 3, "{report}");
    assert_eq!(*ordered.order.lock().unwrap(), [0, 1, 2, 3]);
}

/// A timer that starts when first polled (an `async` block around tokio's sleep) times a
/// wait from when it was asked, not from when a call first waits on it (the retry came
/// at 20 s for a wait of 10: a reviewer).
#[tokio::test(start_paused = true)]
async fn a_wait_on_a_lazy_timer_starts_when_asked() {
    let system = RateLimited::new(Duration::from_secs(10));
    let source = Queue {
        jobs: Store::try_from_iter((0..2).map(|id| Job { id })).unwrap(),
    };
    let mut target = Queue { jobs: Store::new() };
    let options = AsyncSyncOptions::default()
        .max_in_flight(1)
        .retry(RetryPolicy::attempts(2).backoff(Duration::from_millis(1), Duration::from_secs(60)))
        .sleep(|d| Box::pin(async move { tokio::time::sleep(d).await }));
    let started = tokio::time::Instant::now();
    let report = target
        .sync_from_async(&source, &system, options)
        .await
        .unwrap();
    assert_eq!(report.counts.created, 2, "{report}");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(11), "{took:?}");
}

/// Records when calls start, on tokio's clock.
#[derive(Default)]
struct VirtualStarts(Mutex<Vec<tokio::time::Instant>>);

impl AsyncAdapter for VirtualStarts {}
impl AsyncHooks<Queue> for VirtualStarts {}
impl AsyncHooks<Job> for VirtualStarts {
    async fn create(&self, _: &Job, _: &Parents) -> Result<(), HookError> {
        self.0.lock().unwrap().push(tokio::time::Instant::now());
        Ok(())
    }
}

/// Under tokio's paused time, with tokio's timer and clock in the options, a rate limit of
/// one call a second starts calls a second apart (on the real clock the slots came out at
/// 0, 1, 3, 6 and 10 virtual seconds: an outside tester).
#[tokio::test(start_paused = true)]
async fn a_rate_limit_follows_the_options_clock() {
    let system = VirtualStarts::default();
    let source = Queue {
        jobs: Store::try_from_iter((0..5).map(|id| Job { id })).unwrap(),
    };
    let mut target = Queue { jobs: Store::new() };
    let options = AsyncSyncOptions::default()
        .max_in_flight(1)
        .rate_limit(1.0)
        .sleep(|d| Box::pin(tokio::time::sleep(d)))
        .clock(|| tokio::time::Instant::now().into_std());
    let started = tokio::time::Instant::now();
    let report = target
        .sync_from_async(&source, &system, options)
        .await
        .unwrap();
    assert_eq!(report.counts.created, 5, "{report}");
    let seconds: Vec<u64> = system
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|start| start.duration_since(started).as_secs())
        .collect();
    assert_eq!(seconds, [0, 1, 2, 3, 4]);
}

/// A `429` asking to come back after `wait`.
fn too_many_requests(wait: Duration) -> HookError {
    Transient::new("429").after(wait).into()
}

/// Yields to the executor `times` times.
async fn yield_times(times: usize) {
    let mut left = times;
    std::future::poll_fn(|cx| {
        if left == 0 {
            return std::task::Poll::Ready(());
        }
        left -= 1;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
    .await;
}

/// Asks for a long wait on job 0; fails job 1, started beside it, for good and fatally
/// once job 0 waits and job 3 (started when job 2 ends) is held back.
struct WaitThenGone;

impl AsyncAdapter for WaitThenGone {}
impl AsyncHooks<Queue> for WaitThenGone {}
impl AsyncHooks<Job> for WaitThenGone {
    async fn create(&self, job: &Job, _: &Parents) -> Result<(), HookError> {
        match job.id {
            0 => {
                yield_times(1).await;
                Err(too_many_requests(Duration::from_secs(4)))
            }
            1 => {
                yield_times(12).await;
                Err(Fatal::new(std::io::Error::other("connection reset")).into())
            }
            _ => {
                yield_times(3).await;
                Ok(())
            }
        }
    }
}

/// A stop ends the waits of the calls held back (job 3) or in backoff (job 0): the sync
/// returns when its calls in flight end, not when the wait a system asked for does.
#[test]
fn a_stop_ends_a_wait_the_system_asked_for() {
    let options = AsyncSyncOptions::default()
        .max_in_flight(3)
        .retry(RetryPolicy::attempts(3).backoff(Duration::from_millis(1), Duration::from_secs(10)));
    let started = Instant::now();
    let (_, report) = sync_jobs(4, &WaitThenGone, options);
    assert!(report.stopped, "{report}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // Jobs 0 and 1 failed, job 2 was created, job 3 never started.
    assert_eq!(
        (
            report.counts.failed,
            report.counts.created,
            report.counts.skipped
        ),
        (2, 1, 1),
        "{report}"
    );
}
