//! [`SyncReport`]: what a sync did to each element, the counts and the time it took.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::Operation;

use super::HookError;
use super::flags::DeleteLimit;

/// Why an element failed: the hook's own error value (or statesync's
/// [`Error`](crate::Error) when the engine refused the element before calling a hook),
/// kept whole so it can be downcast and its `source()` chain followed. Shared, so a report
/// clones cheaply.
///
/// Its `Display` is the error's own message; a report's outcomes show the whole chain
/// ([`Failure::chain`]), since a database driver's message is often only its kind ("db
/// error") with the server's words in its source. Two failures are equal when their chains
/// read the same.
///
/// ```
/// use statesync::sync::Failure;
///
/// let failure = Failure::new(Box::new(std::io::Error::other("disk full")));
/// assert_eq!(failure.to_string(), "disk full");
/// assert!(failure.downcast_ref::<std::io::Error>().is_some());
/// ```
#[derive(Clone)]
pub struct Failure {
    error: Arc<dyn StdError + Send + Sync + 'static>,
    /// Whether the hook's error was [`Fatal`](super::Fatal).
    fatal: bool,
    /// Whether the change was made although it failed (see [`Failure::change_made`]).
    made: bool,
}

impl Failure {
    /// Wraps a hook's error; the [`Fatal`](super::Fatal) and `Transient` wrappers around
    /// it are taken off (the error they wrap is kept, so it downcasts to its own type, and
    /// [`is_fatal`](Self::is_fatal) says whether one was fatal; `error()` then does not).
    pub fn new(error: HookError) -> Self {
        let fatal = super::Fatal::is_fatal(&*error);
        let (error, made) = match unwrapped(error).downcast::<super::returned::MadeAnyway>() {
            Ok(made) => (Box::new(made.0) as HookError, true),
            Err(error) => (error, false),
        };
        Self {
            fatal,
            made,
            error: Arc::from(error),
        }
    }

    /// Whether the change was made in the system although the outcome is a failure: its
    /// hook returned a model of another key
    /// ([`ReturnedAnotherKey`](super::ReturnedAnotherKey)), which the engine found. Such
    /// failures are counted in [`SyncCounts::failed_made`]; a hook that returns a
    /// `ReturnedAnotherKey` error of its own made nothing, as far as the engine knows.
    pub fn change_made(&self) -> bool {
        self.made
    }

    /// Whether the hook said the failure was [`Fatal`](super::Fatal) (a hook's fatal
    /// failure stopped the sync).
    pub fn is_fatal(&self) -> bool {
        self.fatal
    }

    /// The error itself.
    pub fn error(&self) -> &(dyn StdError + Send + Sync + 'static) {
        &*self.error
    }

    /// The error as type `E`, if it is one.
    pub fn downcast_ref<E: StdError + 'static>(&self) -> Option<&E> {
        self.error.downcast_ref::<E>()
    }

    /// The error's message followed by those of its `source()` chain, joined by `: `, on
    /// one line (line breaks within a message become spaces, each message trimmed). A
    /// source whose whole message its parent's already holds is left out (errors that
    /// print their source themselves, such as `Transient`'s `"{0} (transient)"`), as is an
    /// empty one; any other is shown, even when that repeats part of an earlier message.
    ///
    /// ```
    /// use statesync::sync::Failure;
    ///
    /// #[derive(Debug, thiserror::Error)]
    /// #[error("db error")]
    /// struct Db(#[source] std::io::Error);
    ///
    /// let failure = Failure::new(Box::new(Db(std::io::Error::other("duplicate key\nDETAIL: a"))));
    /// assert_eq!(failure.to_string(), "db error");
    /// assert_eq!(failure.chain().to_string(), "db error: duplicate key DETAIL: a");
    /// ```
    pub fn chain(&self) -> impl fmt::Display + '_ {
        Chain(&*self.error)
    }
}

/// [`Failure::chain`].
struct Chain<'a>(&'a (dyn StdError + 'static));

/// How many sources [`Failure::chain`] follows before it writes `...` (cycles end at the
/// first repeat, whatever their length), and [`in_chain`] looks at.
const MAX_SOURCES: usize = 256;

/// Whether `error`, or an error in its `source()` chain (its first [`MAX_SOURCES`]), is an
/// `E` (a `source()` that leads back into its own chain would otherwise be followed
/// forever).
pub(crate) fn in_chain<E: StdError + 'static>(error: &(dyn StdError + 'static)) -> bool {
    first_in_chain::<E>(error).is_some()
}

/// The first `E` in `error`'s `source()` chain (its first [`MAX_SOURCES`]), `error` itself
/// included.
pub(crate) fn first_in_chain<'a, E: StdError + 'static>(
    error: &'a (dyn StdError + 'static),
) -> Option<&'a E> {
    std::iter::successors(Some(error), |&error| error.source())
        .take(MAX_SOURCES)
        .find_map(<dyn StdError>::downcast_ref::<E>)
}

/// A message on one line, trimmed: each run of line breaks (control characters, and
/// Unicode's line and paragraph separators) is one space, and a bidirectional control is
/// escaped (it would reorder the rest of the line), as keys and plans escape it.
fn one_line(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for word in message
        .split(crate::canonical::is_line_break)
        .map(str::trim)
        .filter(|word| !word.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        for c in word.chars() {
            if crate::canonical::is_bidi_control(c) {
                out.extend(c.escape_debug());
            } else {
                out.push(c);
            }
        }
    }
    out
}

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parent = one_line(&self.0.to_string());
        f.write_str(&parent)?;
        let mut written = !parent.is_empty();
        // The errors met, by address and message (an error and a zero-sized field of it
        // share an address): a `source()` that leads back to one of them (a cycle) ends
        // the chain.
        let address = |error: &(dyn StdError + 'static)| std::ptr::from_ref(error).cast::<()>();
        let mut seen = vec![(address(self.0), parent.clone())];
        let mut next = self.0.source();
        while let Some(source) = next {
            let message = one_line(&source.to_string());
            let met = (address(source), message);
            if seen.contains(&met) {
                break;
            }
            if seen.len() > MAX_SOURCES {
                // Deeper than any real chain: marked, not silently cut.
                return f.write_str(": ...");
            }
            let message = met.1.clone();
            seen.push(met);
            if !message.is_empty() {
                if !parent.contains(&message) {
                    if written {
                        f.write_str(": ")?;
                    }
                    f.write_str(&message)?;
                    written = true;
                }
                parent = message;
            }
            next = source.source();
        }
        Ok(())
    }
}

impl From<crate::Error> for Failure {
    fn from(error: crate::Error) -> Self {
        Self {
            error: Arc::new(error),
            fatal: false,
            made: false,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

/// The error's own `Debug`, marked `Fatal(...)` when it was.
impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.fatal {
            f.debug_tuple("Fatal").field(&self.error).finish()
        } else {
            fmt::Debug::fmt(&self.error, f)
        }
    }
}

/// `error` without the [`Fatal`](super::Fatal) and `Transient` wrappers around it.
fn unwrapped(mut error: HookError) -> HookError {
    loop {
        error = match error.downcast::<super::Fatal>() {
            Ok(fatal) => fatal.0,
            #[cfg(feature = "async")]
            Err(error) => match error.downcast::<super::Transient>() {
                Ok(transient) => transient.into_error(),
                Err(error) => return error,
            },
            #[cfg(not(feature = "async"))]
            Err(error) => return error,
        };
    }
}

/// Transparent: the message and the source are the wrapped error's.
impl StdError for Failure {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.error.source()
    }
}

impl PartialEq for Failure {
    fn eq(&self, other: &Self) -> bool {
        self.fatal == other.fatal
            && self.made == other.made
            && (Arc::ptr_eq(&self.error, &other.error)
                || self.chain().to_string() == other.chain().to_string())
    }
}

impl Eq for Failure {}

/// A sync refused before any hook ran because it would delete more than
/// [`SyncOptions::delete_limit`](super::SyncOptions::delete_limit) allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeleteRefusal {
    /// The elements the sync would have taken out of memory (with flags applied): its
    /// deletes, and the children a flag keeps under a parent deleted first, which leave
    /// with it.
    pub deletes: usize,
    /// The elements of the target, descendants included.
    pub elements: usize,
    /// The limit it broke.
    pub limit: DeleteLimit,
}

impl fmt::Display for DeleteRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "refused: the sync would delete {} of {} elements",
            self.deletes, self.elements
        )?;
        // The share only where the limit in percent is what it broke (beside a count it
        // read as a second limit), rounded down and said to be more when it is not whole:
        // 1 of 3 is "more than 33%", never a bare 33% shown over a limit of 33%.
        let hundredfold = self.deletes.saturating_mul(100);
        let over_share = self.limit.max_percent.is_some_and(|percent| {
            hundredfold > self.elements.saturating_mul(usize::from(percent))
        });
        if over_share {
            let percent = hundredfold.checked_div(self.elements).unwrap_or(100);
            let more = match hundredfold.checked_rem(self.elements) {
                Some(0) | None => "",
                Some(_) => "more than ",
            };
            write!(f, ", a share of {more}{percent}%")?;
        }
        write!(f, ", over the limit of {}", self.limit)
    }
}

/// Why an element was not attempted. (Non-exhaustive: a later release may tell more
/// reasons apart.)
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// Its parent was not carried (a failed or refused create, a failed or stale delete
    /// that was to take it along, a missing element, a key the plan names twice), so it
    /// was not tried. (A failed update's child diffs are carried all the same.)
    ParentFailed,
    /// One of its children was not deleted (its hook failed, or a flag such as `IGNORE`
    /// keeps it), so the parent stays: deleting it would take the child along.
    ChildFailed,
    /// A flag said to leave it (the flag's name).
    Flag(&'static str),
    /// The sync stopped at an earlier failure.
    Stopped,
    /// The new model of a root the diff replaces (a delete and a create): the old root
    /// was not deleted (its delete failed or was refused, or a child of it stays), and a
    /// root holds one model. (When a flag on the root model itself keeps the old root, or
    /// leaves the new one out, the reason is that flag.)
    RootKept,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::ParentFailed => f.write_str("its parent failed"),
            SkipReason::ChildFailed => f.write_str("a child was not deleted"),
            SkipReason::Flag(flag) => write!(f, "flag {flag}"),
            SkipReason::Stopped => f.write_str("the sync stopped at an earlier failure"),
            SkipReason::RootKept => f.write_str("the root it replaces was not deleted"),
        }
    }
}

/// What happened to one element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The hook succeeded and the in-memory target was changed.
    Applied,
    /// The hook failed (its error); the in-memory target is as it was.
    Failed(Failure),
    /// Not attempted.
    Skipped(SkipReason),
    /// Nothing to do (listed with `LOG_UNCHANGED_RECORDS`).
    Unchanged,
}

/// One element of a sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The model's name.
    pub model: &'static str,
    /// The model's key, rendered.
    pub key: String,
    /// The children field that holds the element, when its parent has another children
    /// field of the same model (a firewall's `ingress` and `egress` rules), so that the
    /// parents, model and key alone do not say where it is; `None` otherwise, as in a plan
    /// ([`crate::Entry::field`]). Printed after the key: `rule[seq=10] (egress)`.
    pub field: Option<&'static str>,
    /// The element's ancestors as [`Parents`](super::Parents) prints them, each followed by
    /// ` > ` (`site[name=nyc] > `); empty at the top of the tree. Shared by the outcomes of
    /// one parent.
    pub parents: Arc<str>,
    /// What the plan asked for (`Update` for unchanged elements).
    pub operation: Operation,
    /// What happened.
    pub status: Status,
    /// How many times the hook was called: 1 when it ran (the blocking engine calls each
    /// hook once), more when the async engine retried a transient error, 0 when no hook
    /// ran (skipped, unchanged, or refused before the hook).
    pub attempts: u32,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let element = crate::error::Element(self.model, &self.key);
        write!(f, "{} {}{element}", self.operation, self.parents)?;
        if let Some(field) = self.field {
            write!(f, " ({field})")?;
        }
        f.write_str(": ")?;
        match &self.status {
            Status::Applied => f.write_str("applied"),
            Status::Failed(error) => write!(f, "failed: {}", error.chain()),
            Status::Skipped(reason) => write!(f, "skipped: {reason}"),
            Status::Unchanged => f.write_str("unchanged"),
        }
    }
}

/// Counts of a sync's outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncCounts {
    /// Elements created.
    pub created: usize,
    /// Elements updated.
    pub updated: usize,
    /// Elements deleted.
    pub deleted: usize,
    /// Elements whose hook failed.
    pub failed: usize,
    /// Of `failed`, the changes made all the same: their hook returned a model of another
    /// key ([`ReturnedAnotherKey`](super::ReturnedAnotherKey)), and memory keeps them.
    pub failed_made: usize,
    /// Elements not attempted (skipped by a flag, under a failed parent, after a stop).
    pub skipped: usize,
    /// Elements unchanged, from the plan's summary.
    pub unchanged: usize,
}

impl SyncCounts {
    /// Elements created, updated or deleted.
    pub fn changes(&self) -> usize {
        self.created + self.updated + self.deleted
    }
}

/// What a sync did: per element the outcome, the counts, whether it stopped early, and the
/// time it took.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use = "a failed hook is only in the report: check `is_success` or `failures`"]
pub struct SyncReport {
    /// One outcome per element the sync visited, in that order (parents are created before
    /// children, children deleted before parents); the async engine records them as calls
    /// end, which keeps both orders. After a stop (see `stopped`) the blocking engine does
    /// not visit the rest of the plan (children of an element created just before the stop
    /// are listed as skipped); the async engine lists every element it had not started as
    /// skipped. Empty when [`SyncOptions::on_outcome`](super::SyncOptions::on_outcome) took
    /// the outcomes.
    pub outcomes: Vec<Outcome>,
    /// The counts.
    pub counts: SyncCounts,
    /// Whether a failure stopped the sync (without `CONTINUE_ON_FAILURE`, or a
    /// [`Fatal`](super::Fatal) one); in the report an
    /// adapter's `sync_finished` gets before a panic goes on, also whether a panicking hook
    /// or callback did.
    pub stopped: bool,
    /// The error of the adapter's `sync_complete` hook, if it failed.
    pub complete_error: Option<Failure>,
    /// Set when the sync was refused as a whole (nothing was done): it would have deleted
    /// more than the options' delete limit allows.
    pub refused: Option<DeleteRefusal>,
    /// Wall time of the sync (without the diff), up to the adapter's `sync_finished`, which
    /// gets it too (`sync_complete` gets the time before it).
    pub elapsed: Duration,
}

impl SyncReport {
    /// The report of a sync the delete limit refused before any hook ran (both engines),
    /// logged at warn.
    pub(crate) fn refusal(refusal: DeleteRefusal, unchanged: usize, elapsed: Duration) -> Self {
        tracing::warn!(
            deletes = refusal.deletes,
            elements = refusal.elements,
            "sync refused: too many deletes"
        );
        Self {
            refused: Some(refusal),
            counts: SyncCounts {
                unchanged,
                ..SyncCounts::default()
            },
            elapsed,
            ..Self::default()
        }
    }

    /// Whether every planned change was applied and `sync_complete` succeeded.
    pub fn is_success(&self) -> bool {
        self.counts.failed == 0
            && !self.stopped
            && self.complete_error.is_none()
            && self.refused.is_none()
    }

    /// Whether anything was applied: a change counts also when it failed only because its
    /// hook returned a model of another key ([`SyncCounts::failed_made`]: the system has
    /// it, and so does memory).
    pub fn changed_anything(&self) -> bool {
        self.counts.changes() + self.counts.failed_made > 0
    }

    /// The outcomes that are failures.
    pub fn failures(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes
            .iter()
            .filter(|outcome| matches!(outcome.status, Status::Failed(_)))
    }

    /// Records what the adapter's `sync_complete` returned (logged when it failed).
    pub(crate) fn record_complete(&mut self, result: Result<(), HookError>) {
        if let Err(error) = result {
            let failure = Failure::new(error);
            let error: &(dyn StdError + 'static) = failure.error();
            tracing::error!(error, "sync_complete failed");
            self.complete_error = Some(failure);
        }
    }

    /// Logs the counts of a finished sync.
    pub(crate) fn log_finished(&self, message: &'static str) {
        tracing::info!(
            created = self.counts.created,
            updated = self.counts.updated,
            deleted = self.counts.deleted,
            failed = self.counts.failed,
            skipped = self.counts.skipped,
            "{message}"
        );
    }
}

impl fmt::Display for SyncReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(refusal) = &self.refused {
            return write!(f, "{refusal}");
        }
        let c = &self.counts;
        write!(
            f,
            "created: {}, updated: {}, deleted: {}, failed: {}",
            c.created, c.updated, c.deleted, c.failed
        )?;
        if c.failed_made > 0 {
            // Failed, yet the system has the change (a hook returned another key).
            write!(f, " ({} made)", c.failed_made)?;
        }
        write!(
            f,
            ", skipped: {}, unchanged: {} in {:.3?}",
            c.skipped, c.unchanged, self.elapsed
        )?;
        if self.stopped {
            // A failure, or a panicking hook or callback (see `stopped`): the counts say
            // which failed.
            f.write_str(" (stopped)")?;
        }
        if let Some(error) = &self.complete_error {
            write!(f, " (sync_complete failed: {})", error.chain())?;
        }
        Ok(())
    }
}
