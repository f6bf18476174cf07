//! One hook call of the async engine: made, retried while its error is transient (with
//! backoff and jitter), paced by the rate limit.

use std::hash::BuildHasher;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::channel::oneshot;
use futures::future::{BoxFuture, Shared};

use super::super::HookError;
use super::super::fatal::Fatal;
use super::bridge::Task;
use super::options::{Clock, IsTransient, RetryPolicy, Sleep, Transient};
use super::walk::CallResult;

/// What a call needs of the options.
pub(super) struct Tools {
    retry: RetryPolicy,
    sleep: Sleep,
    is_transient: Option<IsTransient>,
    /// Set once the sync has stopped: a call waiting for its slot or in backoff then does
    /// not call its hook (again).
    stopped: AtomicBool,
    /// Dropped at the stop, which ends the waits of the calls (see [`Tools::sleep`]).
    stop: Mutex<Option<oneshot::Sender<()>>>,
    /// Completes at the stop.
    stopping: Shared<oneshot::Receiver<()>>,
}

impl Tools {
    pub(super) fn new(retry: RetryPolicy, sleep: Sleep, is_transient: Option<IsTransient>) -> Self {
        let (stop, stopping) = oneshot::channel();
        Self {
            retry,
            sleep,
            is_transient,
            stopped: AtomicBool::new(false),
            stop: Mutex::new(Some(stop)),
            stopping: stopping.shared(),
        }
    }

    /// Tells the calls waiting that the sync has stopped: their waits end.
    pub(super) fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
        self.stop
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
    }

    /// Waits for `wait` to end, or for the sync to stop.
    async fn until_stopped(&self, wait: impl Future<Output = ()>) {
        futures::future::select(std::pin::pin!(wait), self.stopping.clone()).await;
    }

    /// Sleeps for `duration` on the options' timer, or until the sync stops.
    async fn sleep(&self, duration: Duration) {
        self.until_stopped((self.sleep)(duration)).await;
    }

    fn is_transient(&self, error: &(dyn std::error::Error + 'static)) -> bool {
        Transient::is_transient(error) || self.is_transient.as_ref().is_some_and(|f| f(error))
    }
}

/// One call: its hook, retried while its error is transient and attempts remain. Returns
/// the call's id and how it ended.
pub(super) async fn run<H: ?Sized>(
    id: u64,
    task: Box<dyn Task<H>>,
    hooks: &H,
    tools: &Tools,
    pacer: &Pacer,
) -> (u64, CallResult) {
    let mut attempts = 0;
    let mut failed: Option<HookError> = None;
    loop {
        pacer.wait(tools).await;
        if tools.stopped.load(Ordering::Relaxed) {
            // The sync stopped while this call waited (for its slot, or in backoff): it
            // ends with its last failure, or as never started.
            let error = failed.unwrap_or_else(|| Box::new(NotStarted));
            return (id, Err((error, attempts)));
        }
        attempts += 1;
        let error: HookError = match task.call(hooks).await {
            Ok(returned) => return (id, Ok((attempts, returned))),
            Err(error) => error,
        };
        // The report's `Failure` takes the `Transient` and `Fatal` wrappers off.
        if Fatal::is_fatal(&*error) || !tools.is_transient(&*error) {
            return (id, Err((error, attempts)));
        }
        // The system's word on when to come back holds for every call of the sync; a wait
        // beyond the policy's longest is not waited (nor are the other calls held back).
        let asked = Transient::wait_asked(&*error);
        if let Some(wait) = asked {
            if wait > tools.retry.max_backoff {
                tracing::warn!(
                    ?wait,
                    max_backoff = ?tools.retry.max_backoff,
                    "not retried: the system asked for a wait beyond the retry policy's longest"
                );
                return (id, Err((error, attempts)));
            }
            pacer.hold_back(wait, tools);
        }
        if attempts >= tools.retry.max_attempts {
            return (id, Err((error, attempts)));
        }
        tracing::debug!(attempts, ?asked, "retrying a transient error");
        // After a wait the system asked for, the backoff still spreads the retries.
        let backoff = jitter(tools.retry.backoff_after(attempts), id, attempts)
            .saturating_add(asked.unwrap_or_default());
        if !backoff.is_zero() {
            tools.sleep(backoff).await;
        }
        failed = Some(error);
    }
}

/// The end of a call the sync stopped before its hook was called: the element is skipped
/// (`SkipReason::Stopped`), not failed.
#[derive(Debug)]
pub(super) struct NotStarted;

impl std::fmt::Display for NotStarted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the sync stopped before the call started")
    }
}

impl std::error::Error for NotStarted {}

/// A random duration between half of `backoff` and all of it.
fn jitter(backoff: Duration, index: u64, attempt: u32) -> Duration {
    let random = std::collections::hash_map::RandomState::new().hash_one((index, attempt));
    let half = backoff / 2;
    let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    half + Duration::from_nanos(random.checked_rem(nanos.saturating_add(1)).unwrap_or(0))
}

/// The longest interval between two calls a rate limit sets (about 136 years): a smaller
/// rate (`1e-20` calls per second) is as good as never, and must not overflow an `Instant`.
const MAX_INTERVAL: Duration = Duration::from_secs(u32::MAX as u64);

/// The rate limit: each call takes the next free slot, `1 / rate` seconds after the last;
/// and the waits a system asks for ([`Transient::after`]), which hold back every call.
pub(super) struct Pacer {
    interval: Option<Duration>,
    /// The clock the slots are placed on (see [`AsyncSyncOptions::clock`]).
    ///
    /// [`AsyncSyncOptions::clock`]: super::AsyncSyncOptions::clock
    clock: Clock,
    /// The rate limit's next free slot.
    next: Mutex<Option<Instant>>,
    /// The waits systems asked for and that still run: a timer of the options' each (so
    /// that they follow the executor's clock, paused in tests), shared by the calls held
    /// back. A list, not one timer joined to the next: a storm of refusals would nest
    /// them as deep as it is long, and polling or dropping them recurse as deep.
    held: Mutex<Vec<Shared<BoxFuture<'static, ()>>>>,
}

impl Pacer {
    pub(super) fn new(rate: Option<f64>, clock: Clock) -> Self {
        let interval = rate
            .filter(|rate| rate.is_finite() && *rate > 0.0)
            .map(|rate| {
                Duration::try_from_secs_f64(1.0 / rate)
                    .map_or(MAX_INTERVAL, |interval| interval.min(MAX_INTERVAL))
            });
        Self {
            interval,
            clock,
            next: Mutex::new(None),
            held: Mutex::new(Vec::new()),
        }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Vec<Shared<BoxFuture<'static, ()>>>> {
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits for this call's slot, and for the waits systems asked for: those asked before
    /// and those asked while it waited for its slot, after which it takes a new slot (the
    /// calls held back would otherwise all start when the wait ends). Ends early when the
    /// sync stops.
    async fn wait(&self, tools: &Tools) {
        self.wait_held(tools).await;
        let Some(interval) = self.interval else {
            return;
        };
        loop {
            let now = (self.clock)();
            let slot = {
                let mut next = self
                    .next
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let slot = next.map_or(now, |next| next.max(now));
                *next = Some(slot.checked_add(interval).unwrap_or(slot));
                slot
            };
            if slot > now {
                tools.sleep(slot - now).await;
            }
            if !self.wait_held(tools).await {
                return;
            }
        }
    }

    /// Waits until no wait a system asked for is running (one may begin while another
    /// runs), or the sync stops: whether it waited (not when the sync stopped: the call
    /// then takes no new slot).
    async fn wait_held(&self, tools: &Tools) -> bool {
        let mut waited = false;
        loop {
            if tools.stopped.load(Ordering::Relaxed) {
                return false;
            }
            let running = {
                let mut held = self.held();
                retain_running(&mut held);
                held.first().cloned()
            };
            let Some(running) = running else {
                return waited;
            };
            tools.until_stopped(running).await;
            waited = true;
        }
    }

    /// Starts no call before `wait` from now, on the options' timer, started here (a timer
    /// that starts when first polled would otherwise start when a call first waits on it).
    fn hold_back(&self, wait: Duration, tools: &Tools) {
        let timer = (tools.sleep)(wait).shared();
        if timer.clone().now_or_never().is_some() {
            return;
        }
        let mut held = self.held();
        retain_running(&mut held);
        held.push(timer);
    }
}

/// Drops the timers that have run out, polling each (one that ran out unpolled would
/// otherwise stay, and a call would count waiting for it as a wait).
fn retain_running(held: &mut Vec<Shared<BoxFuture<'static, ()>>>) {
    held.retain(|timer| timer.clone().now_or_never().is_none());
}

#[cfg(test)]
mod tests {
    use super::{MAX_INTERVAL, Pacer};
    use std::time::{Duration, Instant};

    #[test]
    fn any_rate_makes_a_pacer_without_panicking() {
        // 1e-20 calls per second is an interval beyond what a Duration holds.
        assert_eq!(
            Pacer::new(Some(1e-20), Box::new(Instant::now)).interval,
            Some(MAX_INTERVAL)
        );
        assert_eq!(
            Pacer::new(Some(4.0), Box::new(Instant::now)).interval,
            Some(Duration::from_millis(250))
        );
        for no_limit in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(
                Pacer::new(Some(no_limit), Box::new(Instant::now)).interval,
                None,
                "{no_limit}"
            );
        }
    }
}
