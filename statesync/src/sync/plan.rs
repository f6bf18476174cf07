//! [`Plan`]: what a sync will do, flags applied; and the delete limit, checked against it.
//!
//! Both come from a dry run of the engine on a copy of the target (hooks not called,
//! counted as successes), so a plan and the sync it describes follow one code path. The
//! dry run is only made when a flag can leave an element alone or the sync would refuse
//! an element (a diff built by hand, read from a peer, or made against another state);
//! otherwise the diff is the plan.

use std::fmt;

use crate::diff::{Action, Diff};
use crate::error::Error;
use crate::model::{DiffModel, DiffVisitor, ModelVisitor};
use crate::summary::Summary;

use super::flags::{ModelFlags, SyncOptions};
use super::report::{DeleteRefusal, Outcome, SyncReport};
use super::run::Run;

/// What a sync will do: the diff with the flags of a sync's options applied. Elements a
/// flag leaves alone are not in [`Plan::diff`] (but for the children a flag keeps under a
/// parent deleted first, `PARENT_FIRST_DELETION`: they leave memory with it, inside its
/// deleted model); [`Plan::summary`] counts them in `skip`.
/// Elements the sync will refuse (of a diff built by hand, read from a peer, or made
/// against another state) are not in it either: [`Plan::refused`] lists them.
/// Made by [`SyncModel::diff_from_with`](super::SyncModel::diff_from_with) and
/// [`SyncModel::plan`](super::SyncModel::plan).
///
/// ```
/// use statesync::sync::{InMemory, SyncFlags, SyncModel, SyncOptions};
/// use statesync::{DiffModel, Store};
///
/// #[derive(DiffModel, Clone, Debug, PartialEq)]
/// struct Zone {
///     #[statesync(children)]
///     records: Store<Record>,
/// }
///
/// #[derive(DiffModel, Clone, Debug, PartialEq)]
/// struct Record {
///     #[statesync(id)]
///     name: String,
///     ip: String,
/// }
///
/// let record = |name: &str, ip: &str| Record { name: name.into(), ip: ip.into() };
/// let mut target = Zone { records: Store::try_from_iter([record("a", "1"), record("old", "2")])? };
/// let source = Zone { records: Store::try_from_iter([record("a", "3"), record("new", "4")])? };
///
/// let options = || SyncOptions::new(SyncFlags::SKIP_UNMATCHED_DST);
/// let plan = target.diff_from_with(&source, &options())?;
/// let summary = plan.summary();
/// assert_eq!((summary.create, summary.update, summary.delete, summary.skip), (1, 1, 0, 1));
/// assert!(!plan.to_string().contains("old"), "the skipped delete is not in the plan");
///
/// let report = target.sync_from(&source, &mut InMemory, options())?;
/// assert_eq!(
///     (report.counts.created, report.counts.updated, report.counts.deleted, report.counts.skipped),
///     (summary.create, summary.update, summary.delete, summary.skip)
/// );
/// # Ok::<(), statesync::Error>(())
/// ```
#[derive(Clone)]
#[must_use = "a plan only says what a sync will do"]
pub struct Plan<M: DiffModel> {
    diff: Diff<M>,
    summary: Summary,
    refused: Vec<Outcome>,
}

impl<M: DiffModel> std::fmt::Debug for Plan<M>
where
    Diff<M>: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("diff", &self.diff)
            .field("summary", &self.summary)
            .field("refused", &self.refused)
            .finish()
    }
}

impl<M: DiffModel> PartialEq for Plan<M>
where
    Diff<M>: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        self.diff == other.diff && self.summary == other.summary && self.refused == other.refused
    }
}

impl<M: DiffModel> Plan<M> {
    /// The changes the sync will make.
    pub fn diff(&self) -> &Diff<M> {
        &self.diff
    }

    /// The changes the sync will make, owned (to apply or send elsewhere).
    pub fn into_diff(self) -> Diff<M> {
        self.diff
    }

    /// Creates, updates, deletes, unchanged elements and elements the sync leaves alone
    /// (`skip`, not counted as unchanged: those a flag leaves alone, and those under an
    /// element it refuses).
    pub fn summary(&self) -> Summary {
        self.summary
    }

    /// The elements the sync will refuse before any hook, each failed with its error, in
    /// the order the sync meets them (what lies under each is skipped): a create of an
    /// element the target holds, an update or delete of one it lacks or that changed since
    /// the diff, a key named twice. Only a diff built by hand, read from a peer, or made
    /// against another state has any. Without `CONTINUE_ON_FAILURE` the sync stops at the
    /// first, and so does the plan: what the sync would have done after it is in neither
    /// the plan's diff nor its counts (the blocking engine's report does not list it; the
    /// async engine's lists it as skipped, `SkipReason::Stopped`).
    ///
    /// ```
    /// use statesync::sync::{SyncModel, SyncOptions};
    /// use statesync::{DiffModel, Store};
    ///
    /// #[derive(DiffModel, Clone, Debug, PartialEq)]
    /// struct Zone {
    ///     #[statesync(children)]
    ///     records: Store<Record>,
    /// }
    ///
    /// #[derive(DiffModel, Clone, Debug, PartialEq)]
    /// struct Record {
    ///     #[statesync(id)]
    ///     name: String,
    /// }
    ///
    /// let zone = Zone { records: Store::try_from_iter([Record { name: "a".into() }])? };
    /// // A diff that creates `a`, carried again into a zone that holds it.
    /// let diff = Zone { records: Store::new() }.diff(&zone)?;
    /// let plan = zone.plan(&diff, &SyncOptions::default())?;
    /// assert!(plan.is_empty());
    /// assert_eq!(plan.refused().len(), 1);
    /// assert!(plan.to_string().contains("cannot create record[name=a]: it already exists"));
    /// # Ok::<(), statesync::Error>(())
    /// ```
    pub fn refused(&self) -> &[Outcome] {
        &self.refused
    }

    /// Whether the sync will change nothing (it may still refuse elements:
    /// [`Plan::refused`]).
    pub fn is_empty(&self) -> bool {
        self.diff.is_empty()
    }
}

/// The diff as a plan, then the elements the sync will refuse and how many elements it
/// leaves alone, if any.
impl<M: DiffModel> fmt::Display for Plan<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.diff, f)?;
        let count = |n: usize| {
            if n == 1 {
                "1 element".to_owned()
            } else {
                format!("{n} elements")
            }
        };
        if !self.refused.is_empty() {
            writeln!(f, "refused ({}):", count(self.refused.len()))?;
            for outcome in &self.refused {
                writeln!(f, "  {outcome}")?;
            }
        }
        match (self.summary.skip, self.refused.is_empty()) {
            (0, _) => Ok(()),
            (skip, true) => writeln!(f, "({} left alone by flags)", count(skip)),
            (skip, false) => writeln!(
                f,
                "({} left alone, by flags or because of a refused element)",
                count(skip)
            ),
        }
    }
}

/// The flags that can leave an element alone (and so make a plan differ from its diff).
const SKIPPING: ModelFlags = ModelFlags::IGNORE
    .union(ModelFlags::SKIP_UNMATCHED_SRC)
    .union(ModelFlags::SKIP_UNMATCHED_DST);

/// Looks for a model type that declares a skipping flag in its derive, anywhere in a diff.
#[derive(Default)]
struct FlagScan(bool);

impl DiffVisitor for FlagScan {
    fn visit<C: DiffModel>(&mut self, _field: &'static str, diff: &Diff<C>) {
        if self.0 || diff.is_empty() {
            return;
        }
        if <C as super::SyncModel>::FLAGS.intersects(SKIPPING) {
            self.0 = true;
            return;
        }
        for element in diff.elements() {
            match &element.action {
                Action::Create(model) | Action::Delete(model) => model.visit_children(self),
                Action::Update(update) => C::visit_child_diffs(&update.children, self),
            }
        }
    }
}

impl ModelVisitor for FlagScan {
    fn visit<C: DiffModel>(&mut self, _field: &'static str, child: &C) {
        if self.0 {
            return;
        }
        if <C as super::SyncModel>::FLAGS.intersects(SKIPPING) {
            self.0 = true;
            return;
        }
        child.visit_children(self);
    }
}

/// Whether a flag of the options or of a derive may leave an element of `diff` alone.
fn flags_may_skip<M: DiffModel>(diff: &Diff<M>, options: &SyncOptions<'_>) -> bool {
    if options.may_skip() {
        return true;
    }
    let mut scan = FlagScan::default();
    DiffVisitor::visit(&mut scan, "", diff);
    scan.0
}

/// Runs the engine on a copy of `target` without calling hooks: the state and report of a
/// sync whose hooks all succeed.
fn dry_run<T: Clone, M: DiffModel, H: ?Sized>(
    target: &T,
    diff: &Diff<M>,
    hooks: &mut H,
    options: &SyncOptions<'_>,
    work: &mut impl FnMut(&mut T, &Diff<M>, &mut Run<'_, '_, H>),
) -> (T, SyncReport) {
    let mut after = target.clone();
    let mut run = Run::dry(hooks, options.for_plan(), &diff.summary());
    run.walk(|run| work(&mut after, diff, run));
    (after, run.finish())
}

/// Where the diff of a plan comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Made {
    /// Just made from the target: the sync refuses none of it.
    Here,
    /// Given (built by hand, read from a peer, made against another state): the sync may
    /// refuse elements of it.
    Elsewhere,
}

/// The plan of a sync of `diff` into the root `target`.
pub(super) fn plan<M: DiffModel, H: ?Sized>(
    target: &M,
    diff: &Diff<M>,
    made: Made,
    options: &SyncOptions<'_>,
    hooks: &mut H,
    mut work: impl FnMut(&mut M, &Diff<M>, &mut Run<'_, '_, H>),
) -> Result<Plan<M>, Error> {
    // The diff is the plan when no flag leaves an element alone and the sync refuses
    // none of it (it checks each element as `apply` does). Otherwise a dry run tells.
    let refuses_none = made == Made::Here || diff.check_root(target).is_ok();
    if refuses_none && !flags_may_skip(diff, options) {
        return Ok(Plan {
            diff: diff.clone(),
            summary: diff.summary(),
            refused: Vec::new(),
        });
    }
    // The diff from a tree deeper than `MAX_DEPTH` is refused: refused before the copy,
    // whose derived `Clone` has no bound on its depth.
    crate::depth::check_subtree(target)?;
    let (after, report) = dry_run(target, diff, hooks, options, &mut work);
    let counts = report.counts;
    Ok(Plan {
        diff: target.diff(&after)?,
        summary: Summary {
            create: counts.created,
            update: counts.updated,
            delete: counts.deleted,
            unchanged: counts.unchanged,
            skip: counts.skipped,
        },
        // Hooks do not run in a dry run: every failure is a refusal.
        refused: report.failures().cloned().collect(),
    })
}

/// The refusal of a sync that would delete more than the options' limit allows, if it
/// would. The deletes are the elements the plan takes out of memory (flags applied,
/// refused elements left out): those it reports deleted, and the children a flag keeps
/// under a parent deleted first (`PARENT_FIRST_DELETION`), which it reports skipped but
/// which leave with their parent (a limit of 3 let a sync that removed 4 run). `size`
/// counts the target's elements, and says whether it is within `MAX_DEPTH`.
pub(super) fn check_delete_limit<T: Clone, M: DiffModel, H: ?Sized>(
    target: &T,
    diff: &Diff<M>,
    hooks: &mut H,
    options: &SyncOptions<'_>,
    size: &impl Fn(&T) -> (usize, bool),
    work: &mut impl FnMut(&mut T, &Diff<M>, &mut Run<'_, '_, H>),
) -> Option<DeleteRefusal> {
    let limit = options.delete_limit?;
    let (elements, within_depth) = size(target);
    // Flags and refusals only ever leave deletes out, so a diff within the limit is a plan
    // within it. Beyond it, a dry run counts the deletes the sync would make (a diff given
    // by hand or by a peer may hold deletes the sync refuses); of a target deeper than
    // `MAX_DEPTH`, whose copy's derived `Clone` has no bound on its depth, the diff's are
    // counted as they are.
    let planned = diff.summary().delete;
    if limit.allows(planned, elements) {
        return None;
    }
    let deletes = if within_depth {
        let (after, report) = dry_run(target, diff, hooks, options, work);
        elements
            .saturating_add(report.counts.created)
            .saturating_sub(size(&after).0)
    } else {
        planned
    };
    (!limit.allows(deletes, elements)).then_some(DeleteRefusal {
        deletes,
        elements,
        limit,
    })
}
