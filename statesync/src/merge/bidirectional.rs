//! Bidirectional sync of two replicas against a stored base.

use crate::error::Error;
use crate::sync::{Adapter, SyncModel, SyncOptions, SyncReport, SyncTree};

use super::context::{Conflict, Kept, MergeOptions};
use super::history::History;
use super::{MergeModel, agreement, merge_keeping};

/// What a bidirectional sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a failed hook or a conflict is only in the report"]
pub struct BidirectionalReport {
    /// Conflicts no strategy resolved: each side kept its own value.
    pub conflicts: Vec<Conflict>,
    /// The sync into side A.
    pub a: SyncReport,
    /// The sync into side B.
    pub b: SyncReport,
    /// Whether the merge became the new base (only when both syncs succeeded with nothing
    /// skipped; committed to the history when it differs from the old base). Otherwise the
    /// base moves only as far as both sides now agree.
    pub base_committed: bool,
}

/// Carries `diff` into one side. When the side's `sync_complete` fails (its transaction
/// rolled back, an all-or-nothing adapter's way to refuse a sync with a failure), the side
/// kept none of it: its memory goes back to what it held before, so memory, and the base
/// built from it, do not count changes the side never kept.
fn sync_side<M, H>(
    side: &mut M,
    diff: &crate::Diff<M>,
    hooks: &mut H,
    options: SyncOptions<'_>,
) -> SyncReport
where
    M: MergeModel + SyncTree<H>,
    H: Adapter + ?Sized,
{
    if diff.is_empty() {
        return side.sync_diff(diff, hooks, options);
    }
    let before = side.clone();
    let report = side.sync_diff(diff, hooks, options);
    if report.complete_error.is_some() {
        *side = before;
    }
    report
}

/// Whether a side took the whole of its sync: nothing failed, and nothing was left by a
/// flag its models declare (a skipped change did not reach the side, though the report is
/// a success).
fn reached(report: &SyncReport) -> bool {
    report.is_success() && report.counts.skipped == 0
}

/// Syncs two replicas both ways against the base at the head of `history`: each side's
/// changes since the base are merged (A is "ours", B "theirs"), each side gets the diff that
/// brings it to the merge through its own hooks, and the merge is committed as the new base
/// when both sides succeeded. Where a conflict is reported, each side keeps its own value
/// and the base keeps the old one, so the conflict comes up again until resolved.
///
/// It needs the `sync` feature as well as `merge` (it syncs through adapters).
///
/// When a side's sync failed in part, or a flag its models declare (`IGNORE`,
/// `SKIP_UNMATCHED_DST`, ...) left part of it, the base moves only as far as the two sides now
/// agree: a value or an element both hold alike goes into it, everything else keeps the
/// base's. So what one side did not get is still a change of the other side next time, and
/// what reached both sides is no longer one (a side that then undoes it is heard). A side
/// whose `Adapter::sync_complete` failed is taken to have kept nothing of its sync (a
/// transaction rolled back): its memory is put back as it was. A sync that changes nothing
/// commits nothing.
///
/// Where one side now holds the merged value and the other its own (its sync did not
/// reach it there), the base takes the other side's value, which the merge took in: next time the
/// merged value is carried to that side rather than merged with its value again (a
/// `merge_with` function given its own result would repeat that side's edit). An element
/// created on both sides whose own attributes conflict stays out of the base, so there a
/// `merge_with` function that is not idempotent still repeats the edit.
///
/// Each side is synced with the default [`SyncOptions`]; [`sync_bidirectional_with`]
/// takes them per side (a delete limit, flags, progress).
///
/// # Errors
/// Only a failed diff or merge (duplicate keys, a tree deeper than [`crate::MAX_DEPTH`]);
/// hook failures are in the reports.
pub fn sync_bidirectional<M, A, B>(
    history: &mut History<M>,
    (a, hooks_a): (&mut M, &mut A),
    (b, hooks_b): (&mut M, &mut B),
    options: &MergeOptions,
) -> Result<BidirectionalReport, Error>
where
    M: MergeModel + SyncTree<A> + SyncTree<B>,
    A: Adapter + ?Sized,
    B: Adapter + ?Sized,
{
    sync_bidirectional_with(
        history,
        (a, hooks_a, SyncOptions::default()),
        (b, hooks_b, SyncOptions::default()),
        options,
    )
}

/// [`sync_bidirectional`] with the sync options of each side: its flags, its delete limit,
/// its progress and outcome callbacks. A side whose sync the options left in part (a flag
/// skipped a change, the delete limit refused the sync) counts as a side the sync did not
/// wholly reach: the base moves only as far as both sides agree.
///
/// ```
/// use statesync::merge::{History, MergeOptions, sync_bidirectional_with};
/// use statesync::sync::{DeleteLimit, InMemory, SyncOptions};
/// use statesync::{DiffModel, Store};
///
/// #[derive(DiffModel, Clone, Debug, PartialEq)]
/// struct Book {
///     #[statesync(id)]
///     isbn: u32,
/// }
///
/// #[derive(DiffModel, Clone, Debug, PartialEq)]
/// struct Shelf {
///     #[statesync(children)]
///     books: Store<Book>,
/// }
///
/// let full = Shelf { books: Store::try_from_iter((0..10).map(|isbn| Book { isbn }))? };
/// let mut history = History::new(full.clone())?;
/// let (mut a, mut b) = (Shelf { books: Store::new() }, full); // side A lost every book
/// let guarded = || SyncOptions::default().delete_limit(DeleteLimit::at_most(3));
/// let report = sync_bidirectional_with(
///     &mut history,
///     (&mut a, &mut InMemory, guarded()),
///     (&mut b, &mut InMemory, guarded()),
///     &MergeOptions::default(),
/// )?;
/// assert!(report.b.refused.is_some(), "B keeps its 10 books");
/// assert_eq!(b.books.len(), 10);
/// assert!(!report.base_committed);
/// # Ok::<(), statesync::Error>(())
/// ```
///
/// # Errors
/// As [`sync_bidirectional`].
pub fn sync_bidirectional_with<M, A, B>(
    history: &mut History<M>,
    (a, hooks_a, options_a): (&mut M, &mut A, SyncOptions<'_>),
    (b, hooks_b, options_b): (&mut M, &mut B, SyncOptions<'_>),
    options: &MergeOptions,
) -> Result<BidirectionalReport, Error>
where
    M: MergeModel + SyncTree<A> + SyncTree<B>,
    A: Adapter + ?Sized,
    B: Adapter + ?Sized,
{
    let base = history.head().clone();
    let for_a = merge_keeping(&base, a, b, options, Kept::Ours)?;
    let for_b = merge_keeping(&base, a, b, options, Kept::Theirs)?;
    let new_base = merge_keeping(&base, a, b, options, Kept::Base)?;
    let diff_a = a.diff(&for_a.value)?;
    let diff_b = b.diff(&for_b.value)?;
    let report_a = sync_side(a, &diff_a, hooks_a, options_a);
    let report_b = sync_side(b, &diff_b, hooks_b, options_b);
    let base_committed = reached(&report_a) && reached(&report_b);
    let next = if base_committed {
        new_base.value
    } else {
        agreement(&base, a, b, &for_a.conflicts, &new_base.value)?
    };
    if !base.diff(&next)?.is_empty() {
        history.commit(&next, "bidirectional sync")?;
    }
    for conflict in &for_a.conflicts {
        tracing::warn!(%conflict, "conflict kept");
    }
    Ok(BidirectionalReport {
        conflicts: for_a.conflicts,
        a: report_a,
        b: report_b,
        base_committed,
    })
}
