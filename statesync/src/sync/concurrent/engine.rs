//! The async engine's run: the delete limit, then the walker's steps, each call run as it
//! starts (at most `max_in_flight` at once) and its result applied as it ends; dropped
//! before the end, it brings memory to what the calls that ended did.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};

use super::super::report::SyncReport;
use super::super::run::Run;
use super::super::{SyncTree, plan};
use super::bridge::{AsyncBridge, Task};
use super::calls::{self, Pacer, Tools};
use super::walk::{self, Walker};
use super::{AsyncAdapter, AsyncSyncOptions};
use crate::diff::Diff;
use crate::model::DiffModel;

/// The async engine: the delete limit, then the walk, each call run as it starts, its
/// result applied as it ends.
pub(super) async fn sync_diff<T, M, H>(
    target: &mut T,
    diff: &Diff<M>,
    hooks: &H,
    options: AsyncSyncOptions<'_>,
    size: impl Fn(&T) -> (usize, bool),
    enter: Enter<T, M, H>,
) -> SyncReport
where
    T: Clone + Send,
    M: SyncTree<AsyncBridge<H>> + Send + Sync,
    H: AsyncAdapter + ?Sized,
    Diff<M>: Send + Sync,
{
    let started = Instant::now();
    let summary = diff.summary();
    let AsyncSyncOptions {
        sync,
        max_in_flight,
        retry,
        rate_limit,
        sleep,
        clock,
        is_transient,
    } = options;
    let max_in_flight = max_in_flight.max(1);
    tracing::info!(
        model = M::NAME,
        create = summary.create,
        update = summary.update,
        delete = summary.delete,
        max_in_flight,
        "async sync started"
    );
    let mut bridge = AsyncBridge::<H>::new();
    if let Some(refusal) = plan::check_delete_limit(
        &*target,
        diff,
        &mut bridge,
        &sync,
        &size,
        &mut |target, diff, run| enter(target, diff, run),
    ) {
        let report = SyncReport::refusal(refusal, summary.unchanged, started.elapsed());
        hooks.sync_finished(&report).await;
        return report;
    }
    let order = sync.order;
    let mut run = Run::new(&mut bridge, sync, &summary);
    run.walker = Some(Box::new(Walker::new(order, max_in_flight)));
    run.records_after_stop = true;
    let mut engine = Engine {
        target,
        diff,
        run,
        enter,
    };
    let tools = Tools::new(
        retry,
        sleep.unwrap_or_else(super::options::thread_timer),
        is_transient,
    );
    let pacer = Pacer::new(rate_limit, clock.unwrap_or_else(|| Box::new(Instant::now)));
    let walked = AssertUnwindSafe(async {
        let mut in_flight = FuturesUnordered::new();
        let mut most_in_flight = 0;
        let mut applied = false;
        loop {
            // Steps while there is room for calls (after a stop, steps start none: they
            // record what is left as skipped).
            loop {
                let room = max_in_flight.saturating_sub(in_flight.len());
                if room == 0 && !engine.run.stopped {
                    break;
                }
                let Some(calls) = engine.step(room) else {
                    break;
                };
                for (id, task) in calls {
                    in_flight.push(calls::run(id, task, hooks, &tools, &pacer));
                }
                most_in_flight = most_in_flight.max(in_flight.len());
            }
            if engine.run.stopped {
                // Calls waiting for their slot or in backoff do not call their hooks now.
                tools.stop();
            }
            if std::mem::take(&mut applied) {
                // Progress as each call ends.
                engine.run.report_progress();
            }
            if in_flight.is_empty() && !engine.next_walk() {
                break;
            }
            if let Some((id, result)) = in_flight.next().await {
                // Applied by the next step, before anything else.
                engine.ended(id, result);
                applied = true;
            }
        }
        tracing::debug!(max_in_flight = most_in_flight, "hooks done");
        engine.finish()
    })
    .catch_unwind()
    .await;
    let mut report = match walked {
        Ok(report) => report,
        Err(panic) => {
            // A hook or a callback panicked: as in the blocking engine, memory is brought
            // to what the calls that ended did (the engine's drop abandons those in
            // flight), and the adapter still releases what the sync held, told what was
            // done so far, before the panic goes on.
            let mut report = std::mem::take(&mut engine.run.report);
            report.stopped = true;
            report.elapsed = started.elapsed();
            drop(engine);
            hooks.sync_finished(&report).await;
            std::panic::resume_unwind(panic);
        }
    };
    drop(engine);
    report.elapsed = started.elapsed();
    if report.changed_anything() {
        match AssertUnwindSafe(hooks.sync_complete(&report))
            .catch_unwind()
            .await
        {
            Ok(result) => report.record_complete(result),
            Err(panic) => {
                report.stopped = true;
                report.elapsed = started.elapsed();
                hooks.sync_finished(&report).await;
                std::panic::resume_unwind(panic);
            }
        }
        report.elapsed = started.elapsed();
    }
    hooks.sync_finished(&report).await;
    report.log_finished("async sync finished");
    report
}

/// A call a step started: its id, and what it runs.
type Started<H> = (u64, Box<dyn Task<H>>);

/// How the engine enters the target from its top: the root's walk, or a store's.
pub(super) type Enter<T, M, H> = fn(&mut T, &Diff<M>, &mut Run<'_, '_, AsyncBridge<H>>);

/// One async sync in progress: the target, the diff, the run with its walker. Dropped
/// before it finished (the sync future dropped), it brings memory to what the calls that
/// ended did.
struct Engine<'t, 'h, 'o, T, M: DiffModel, H: ?Sized> {
    target: &'t mut T,
    diff: &'t Diff<M>,
    run: Run<'h, 'o, AsyncBridge<H>>,
    enter: Enter<T, M, H>,
}

impl<T, M: DiffModel, H: ?Sized> Engine<'_, '_, '_, T, M, H> {
    fn walker(&mut self) -> Option<&mut Walker> {
        self.run.walker.as_deref_mut()
    }

    /// Takes one step with room for `room` calls: the calls it started (`None`: no step).
    fn step(&mut self, room: usize) -> Option<Vec<Started<H>>> {
        if !self.walker()?.begin(room) {
            return None;
        }
        (self.enter)(self.target, self.diff, &mut self.run);
        let walker = self.walker()?;
        walker.end();
        let ids = std::mem::take(&mut walker.started);
        let tasks = std::mem::take(&mut self.run.hooks.calls);
        Some(ids.into_iter().zip(tasks).collect())
    }

    fn ended(&mut self, id: u64, result: walk::CallResult) {
        if let Some(walker) = self.walker() {
            walker.ended(id, result);
        }
    }

    fn next_walk(&mut self) -> bool {
        self.walker().is_some_and(Walker::next_walk)
    }

    /// The report of a sync whose calls all ended.
    fn finish(&mut self) -> SyncReport {
        if let Some(walker) = self.walker() {
            walker.finished = true;
        }
        self.run.take_report()
    }
}

impl<T, M: DiffModel, H: ?Sized> Drop for Engine<'_, '_, '_, T, M, H> {
    /// A dropped sync future leaves memory as the calls that ended left the system: calls
    /// in flight are abandoned (a request they already sent may still land), and what they
    /// (and calls never started) would have done is undone, starting nothing.
    fn drop(&mut self) {
        let Some(walker) = self.walker() else {
            return;
        };
        if walker.finished {
            return;
        }
        // A step a panic cut short (a callback, a model's `Clone`) queues what it pushed
        // (the children of an element it created, to take out of memory again).
        walker.end();
        walker.cleanup();
        // The calls abandoned, and what they and the calls never started would have done,
        // are undone in memory without telling the callbacks: nothing of it happened.
        self.run.options.silence();
        self.run.stopped = true;
        while self.step(0).is_some() {}
    }
}
