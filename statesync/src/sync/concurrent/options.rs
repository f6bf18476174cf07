//! [`AsyncSyncOptions`]: a sync's options plus concurrency, retries and pacing; and
//! [`Transient`], the error a hook wraps around a failure worth retrying.

use std::error::Error as StdError;
use std::fmt;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use super::super::HookError;
use super::super::flags::SyncOptions;

/// A timer: a future that completes after the duration. The engine runs on any executor,
/// so it takes the executor's (`|d| Box::pin(tokio::time::sleep(d))` with tokio), or else
/// waits on `futures-timer`'s.
pub type Sleep = Box<dyn Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync>;

/// The timer used when the options give none: `futures-timer`'s, on a thread of its own.
pub(super) fn thread_timer() -> Sleep {
    Box::new(|duration| Box::pin(futures_timer::Delay::new(duration)))
}

/// A clock: the instant now (see [`AsyncSyncOptions::clock`]).
pub type Clock = Box<dyn Fn() -> Instant + Send + Sync>;

/// Decides whether a hook's error is worth retrying (see [`AsyncSyncOptions::transient_if`]).
pub type IsTransient = Box<dyn Fn(&(dyn StdError + 'static)) -> bool + Send + Sync>;

/// A hook error worth retrying (a timeout, a 503): `Err(Transient::new(error).into())`.
/// The engine retries the hook as [`RetryPolicy`] says; when the attempts run out, the
/// report keeps the wrapped error (so it downcasts to the error's own type).
///
/// A system that says when to come back (HTTP's `429 Too Many Requests` or `503` with
/// `Retry-After`) is answered with [`Transient::after`]: the engine then waits that long
/// before the retry, plus its backoff (so that retries do not all come back at once), and
/// holds back every other call of the sync for as long (the system speaks of the client,
/// not of one request): those waiting to start, and those waiting for their rate-limit
/// slot. The waits run on the options' timer, and a stop of the sync ends them. A wait
/// longer than the policy's [`RetryPolicy::max_backoff`] is not waited, nor are the other
/// calls held back: the call ends with its error, which the report keeps, and a warning
/// is logged (raise `max_backoff` to wait for such systems; with the default 5 s, a
/// `503` asking for 30 s fails at once).
///
/// ```
/// use std::time::Duration;
/// use statesync::sync::{HookError, Transient};
///
/// let error: HookError = Transient::new("429 Too Many Requests")
///     .after(Duration::from_secs(2))
///     .into();
/// assert!(Transient::is_transient(&*error));
/// assert_eq!(Transient::wait_asked(&*error), Some(Duration::from_secs(2)));
/// ```
#[derive(Debug)]
pub struct Transient {
    error: HookError,
    retry_after: Option<Duration>,
}

impl Transient {
    /// Wraps an error.
    pub fn new(error: impl Into<HookError>) -> Self {
        Self {
            error: error.into(),
            retry_after: None,
        }
    }

    /// The same error, with the system's word on how long to wait before trying again.
    #[must_use]
    pub fn after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    /// The wrapped error.
    pub fn error(&self) -> &HookError {
        &self.error
    }

    /// The wrapped error, unwrapped.
    pub fn into_error(self) -> HookError {
        self.error
    }

    /// Whether `error` is a [`Transient`] (or has one in its `source()` chain).
    pub fn is_transient(error: &(dyn StdError + 'static)) -> bool {
        super::super::report::in_chain::<Transient>(error)
    }

    /// The wait the first [`Transient`] in `error`'s chain asks for ([`Transient::after`]).
    pub fn wait_asked(error: &(dyn StdError + 'static)) -> Option<Duration> {
        super::super::report::first_in_chain::<Transient>(error)?.retry_after
    }
}

impl fmt::Display for Transient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (transient)", self.error)
    }
}

impl StdError for Transient {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.error)
    }
}

/// How the async engine retries a hook whose error is transient: up to `max_attempts`
/// calls in all, waiting between them an exponential backoff (`initial_backoff`, doubled
/// each time, at most `max_backoff`) with jitter (a random half of it), so many failed
/// calls do not come back at once. A wait the system asks for ([`Transient::after`]), up
/// to `max_backoff`, is waited before the backoff.
///
/// ```
/// use std::time::Duration;
/// use statesync::sync::RetryPolicy;
///
/// let retry = RetryPolicy::attempts(5).backoff(Duration::from_millis(10), Duration::from_secs(1));
/// assert_eq!(retry.max_attempts, 5);
/// assert_eq!(RetryPolicy::default().max_attempts, 1); // no retries unless asked
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Calls of one hook in all (1: never retry; 0 counts as 1, a hook is always called).
    pub max_attempts: u32,
    /// The wait before the first retry.
    pub initial_backoff: Duration,
    /// The longest backoff between two attempts, and the longest wait a system may ask
    /// for ([`Transient::after`]): a retry after such a wait comes after the wait plus its
    /// backoff, so up to twice this after the attempt before.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 1,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// Up to `max_attempts` calls per hook (0 counts as 1), with the default backoff (50 ms
    /// to 5 s).
    pub fn attempts(max_attempts: u32) -> Self {
        Self {
            max_attempts,
            ..Self::default()
        }
    }

    /// Sets the first and the longest wait.
    #[must_use]
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }

    /// The wait before attempt `attempt + 1` (after `attempt` failed calls), before jitter.
    pub(super) fn backoff_after(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// Options of an async sync: the blocking engine's [`SyncOptions`] (flags, order, delete
/// limit, progress), how many hooks run at once, retries of transient errors, a rate limit,
/// and the timer those need.
///
/// ```
/// use std::time::Duration;
/// use statesync::sync::{AsyncSyncOptions, RetryPolicy, SyncFlags, SyncOptions};
///
/// let options = AsyncSyncOptions::new(SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE))
///     .max_in_flight(64)
///     .retry(RetryPolicy::attempts(4))
///     .rate_limit(500.0)
///     .sleep(|duration| Box::pin(tokio::time::sleep(duration)));
/// assert_eq!(options.max_in_flight, 64);
/// ```
pub struct AsyncSyncOptions<'a> {
    /// The blocking engine's options: their meaning is the same here.
    pub sync: SyncOptions<'a>,
    /// The most hooks running at once (at least 1). Default 10, as Terraform's. It also
    /// bounds what the engine holds while it runs (the calls in flight and a few cursors
    /// per level of the tree), whatever the size of the diff.
    pub max_in_flight: usize,
    /// Retries of transient errors.
    pub retry: RetryPolicy,
    /// At most this many hook calls (retries included) started per second.
    pub rate_limit: Option<f64>,
    pub(super) sleep: Option<Sleep>,
    pub(super) clock: Option<Clock>,
    pub(super) is_transient: Option<IsTransient>,
}

impl Default for AsyncSyncOptions<'_> {
    fn default() -> Self {
        Self::new(SyncOptions::default())
    }
}

impl fmt::Debug for AsyncSyncOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncSyncOptions")
            .field("sync", &self.sync)
            .field("max_in_flight", &self.max_in_flight)
            .field("retry", &self.retry)
            .field("rate_limit", &self.rate_limit)
            .field("sleep", &self.sleep.is_some())
            .field("clock", &self.clock.is_some())
            .field("is_transient", &self.is_transient.is_some())
            .finish()
    }
}

impl<'a> AsyncSyncOptions<'a> {
    /// These sync options, 10 hooks at once, no retries, no rate limit, the timer of
    /// `futures-timer` (see [`AsyncSyncOptions::sleep`]).
    pub fn new(sync: SyncOptions<'a>) -> Self {
        Self {
            sync,
            max_in_flight: 10,
            retry: RetryPolicy::default(),
            rate_limit: None,
            sleep: None,
            clock: None,
            is_transient: None,
        }
    }

    /// Runs at most `max_in_flight` hooks at once (0 counts as 1).
    #[must_use]
    pub fn max_in_flight(mut self, max_in_flight: usize) -> Self {
        self.max_in_flight = max_in_flight;
        self
    }

    /// Retries transient errors as `retry` says.
    #[must_use]
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Starts at most `calls_per_second` hook calls per second, waiting on the options'
    /// timer ([`AsyncSyncOptions::sleep`]). A rate that is not a positive, finite number
    /// (`0.0`, a NaN, an infinity) sets no limit; the slowest rate waits about 136 years
    /// between calls (`1e-20` does not overflow).
    #[must_use]
    pub fn rate_limit(mut self, calls_per_second: f64) -> Self {
        self.rate_limit = Some(calls_per_second);
        self
    }

    /// The timer for backoff and the rate limit: the executor's own
    /// (`|d| Box::pin(tokio::time::sleep(d))`, which follows tokio's paused time in tests;
    /// the rate limit also reads a clock, see [`AsyncSyncOptions::clock`]).
    /// Without one, the engine waits on `futures-timer`'s, which runs on a thread of its own
    /// (started at its first wait), so backoff and the rate limit hold on any executor.
    #[must_use]
    pub fn sleep(
        mut self,
        sleep: impl Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync + 'static,
    ) -> Self {
        self.sleep = Some(Box::new(sleep));
        self
    }

    /// The clock the rate limit places its slots on, the timer's
    /// ([`AsyncSyncOptions::sleep`]) time: by default the real one (`Instant::now`). Under
    /// tokio's paused time, `|| tokio::time::Instant::now().into_std()` with tokio's timer,
    /// or the slots, placed on the real clock, come out later and later (calls at 0, 1, 3,
    /// 6 and 10 virtual seconds under a limit of one a second).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// use statesync::sync::AsyncSyncOptions;
    ///
    /// let options = AsyncSyncOptions::default()
    ///     .rate_limit(1.0)
    ///     .sleep(|d| Box::pin(tokio::time::sleep(d)))
    ///     .clock(|| tokio::time::Instant::now().into_std());
    /// # let _ = options;
    /// # }
    /// ```
    #[must_use]
    pub fn clock(mut self, now: impl Fn() -> Instant + Send + Sync + 'static) -> Self {
        self.clock = Some(Box::new(now));
        self
    }

    /// Which errors are transient, beside [`Transient`] ones (a client's timeout type,
    /// say): `.transient_if(|e| e.is::<MyTimeout>())`.
    #[must_use]
    pub fn transient_if(
        mut self,
        is_transient: impl Fn(&(dyn StdError + 'static)) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.is_transient = Some(Box::new(is_transient));
        self
    }
}
