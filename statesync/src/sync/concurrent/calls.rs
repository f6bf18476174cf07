//! One hook call of the async engine: made, retried while its error is transient (with
//! backoff and jitter), paced by the rate limit.

use std::hash::BuildHasher;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::super::HookError;
use super::super::fatal::Fatal;
use super::bridge::Task;
use super::options::{IsTransient, RetryPolicy, Sleep, Transient};
use super::walk::CallResult;

/// What a call needs of the options.
pub(super) struct Tools {
    pub(super) retry: RetryPolicy,
    pub(super) sleep: Sleep,
    pub(super) is_transient: Option<IsTransient>,
    /// Set once the sync has stopped: a call waiting for its slot or in backoff then does
    /// not call its hook (again).
    pub(super) stopped: AtomicBool,
}

impl Tools {
    /// Tells the calls waiting that the sync has stopped.
    pub(super) fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
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
        pacer.wait(&tools.sleep).await;
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
        // beyond the policy's longest is not waited.
        let asked = Transient::wait_asked(&*error);
        if let Some(wait) = asked {
            if wait > tools.retry.max_backoff {
                return (id, Err((error, attempts)));
            }
            pacer.hold_back(wait);
        }
        if attempts >= tools.retry.max_attempts {
            return (id, Err((error, attempts)));
        }
        tracing::debug!(attempts, ?asked, "retrying a transient error");
        let backoff = jitter(tools.retry.backoff_after(attempts), id, attempts)
            .max(asked.unwrap_or_default());
        if !backoff.is_zero() {
            (tools.sleep)(backoff).await;
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
    /// The earliest start of the next call.
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    pub(super) fn new(rate: Option<f64>) -> Self {
        let interval = rate
            .filter(|rate| rate.is_finite() && *rate > 0.0)
            .map(|rate| {
                Duration::try_from_secs_f64(1.0 / rate)
                    .map_or(MAX_INTERVAL, |interval| interval.min(MAX_INTERVAL))
            });
        Self {
            interval,
            next: Mutex::new(None),
        }
    }

    fn next(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.next
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits for this call's slot.
    async fn wait(&self, sleep: &Sleep) {
        let now = Instant::now();
        let slot = {
            let mut next = self.next();
            let slot = next.map_or(now, |next| next.max(now));
            if let Some(interval) = self.interval {
                *next = Some(slot.checked_add(interval).unwrap_or(slot));
            }
            slot
        };
        if slot > now {
            sleep(slot - now).await;
        }
    }

    /// Starts no call before `wait` from now.
    fn hold_back(&self, wait: Duration) {
        if let Some(until) = Instant::now().checked_add(wait) {
            let mut next = self.next();
            *next = Some(next.map_or(until, |next| next.max(until)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_INTERVAL, Pacer};
    use std::time::Duration;

    #[test]
    fn any_rate_makes_a_pacer_without_panicking() {
        // 1e-20 calls per second is an interval beyond what a Duration holds.
        assert_eq!(Pacer::new(Some(1e-20)).interval, Some(MAX_INTERVAL));
        assert_eq!(
            Pacer::new(Some(4.0)).interval,
            Some(Duration::from_millis(250))
        );
        for no_limit in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(Pacer::new(Some(no_limit)).interval, None, "{no_limit}");
        }
    }
}
