//! Runs the jobs of a sync as a dependency graph: each job when the jobs it needs have
//! succeeded (and, deletes first, after every delete), at most `max_in_flight` at once,
//! retrying transient errors with backoff, paced by the rate limit.

use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;

use super::super::HookError;
use super::bridge::{Job, JobResult};
use super::options::{AsyncSyncOptions, IsTransient, RetryPolicy, Sleep, Transient};
use crate::sync::SyncFlags;

/// Where a job stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Waiting for this many jobs it needs.
    Waiting(usize),
    Running,
    Done,
}

/// The graph being run: per job its stage, its dependents, its result.
pub(super) struct Schedule {
    stages: Vec<Stage>,
    dependents: Vec<Vec<usize>>,
    pub(super) results: Vec<JobResult>,
    ready: VecDeque<usize>,
    /// Jobs ready but held until every delete is done (deletes first).
    held: Vec<usize>,
    early_left: usize,
    pub(super) stopped: bool,
    pub(super) done: usize,
    pub(super) max_in_flight_seen: usize,
}

impl Schedule {
    pub(super) fn new<H: ?Sized>(jobs: &[Job<H>]) -> Self {
        let mut dependents = vec![Vec::new(); jobs.len()];
        let mut stages = Vec::with_capacity(jobs.len());
        for (index, job) in jobs.iter().enumerate() {
            for &need in &job.needs {
                if let Some(list) = dependents.get_mut(need) {
                    list.push(index);
                }
            }
            stages.push(Stage::Waiting(job.needs.len()));
        }
        let mut schedule = Self {
            stages,
            dependents,
            results: jobs.iter().map(|_| JobResult::NotRun).collect(),
            ready: VecDeque::new(),
            held: Vec::new(),
            early_left: jobs.iter().filter(|job| job.early).count(),
            stopped: false,
            done: 0,
            max_in_flight_seen: 0,
        };
        for (index, job) in jobs.iter().enumerate() {
            if job.needs.is_empty() {
                schedule.make_ready(index, job.early);
            }
        }
        schedule
    }

    fn make_ready(&mut self, index: usize, early: bool) {
        if early || self.early_left == 0 {
            self.ready.push_back(index);
        } else {
            self.held.push(index);
        }
    }

    /// Records a finished job (or a skipped one) and releases what waited for it.
    fn finish<H: ?Sized>(&mut self, jobs: &[Job<H>], index: usize, result: JobResult) {
        let mut pending = vec![(index, result)];
        while let Some((index, result)) = pending.pop() {
            if let Some(stage) = self.stages.get_mut(index) {
                *stage = Stage::Done;
            }
            self.done += 1;
            let early = jobs.get(index).is_some_and(|job| job.early);
            if early {
                self.early_left = self.early_left.saturating_sub(1);
                if self.early_left == 0 {
                    self.ready.extend(self.held.drain(..));
                }
            }
            let succeeded = matches!(result, JobResult::Succeeded { .. });
            if let Some(slot) = self.results.get_mut(index) {
                *slot = result;
            }
            let dependents = self.dependents.get(index).cloned().unwrap_or_default();
            for dependent in dependents {
                let Some(stage) = self.stages.get_mut(dependent) else {
                    continue;
                };
                match (*stage, succeeded) {
                    // What it needs failed or was skipped: skip it (and its own dependents).
                    (Stage::Waiting(_), false) => pending.push((dependent, JobResult::NotRun)),
                    (Stage::Waiting(1), true) => {
                        *stage = Stage::Waiting(0);
                        let early = jobs.get(dependent).is_some_and(|job| job.early);
                        self.make_ready(dependent, early);
                    }
                    (Stage::Waiting(left), true) => *stage = Stage::Waiting(left - 1),
                    _ => {}
                }
            }
        }
    }

    /// Runs every job it can; returns when nothing runs and nothing more can start.
    pub(super) async fn run<H: ?Sized + Sync>(
        &mut self,
        jobs: &[Job<H>],
        hooks: &H,
        options: &mut AsyncSyncOptions<'_>,
    ) {
        let max_in_flight = options.max_in_flight.max(1);
        let continue_on_failure = options.sync.flags.contains(SyncFlags::CONTINUE_ON_FAILURE);
        let pacer = Pacer::new(options.rate_limit);
        let tools = Tools {
            retry: options.retry,
            sleep: options.sleep.as_ref(),
            is_transient: options.is_transient.as_ref(),
        };
        let total = jobs.len();
        let mut in_flight = FuturesUnordered::new();
        loop {
            while !self.stopped && in_flight.len() < max_in_flight {
                let Some(index) = self.ready.pop_front() else {
                    break;
                };
                let (Some(job), Some(stage)) = (jobs.get(index), self.stages.get_mut(index)) else {
                    continue;
                };
                *stage = Stage::Running;
                in_flight.push(run_job(index, job, hooks, &tools, &pacer));
                self.max_in_flight_seen = self.max_in_flight_seen.max(in_flight.len());
            }
            let Some((index, result)) = in_flight.next().await else {
                break;
            };
            if matches!(result, JobResult::Failed { .. }) && !continue_on_failure {
                self.stopped = true;
            }
            self.finish(jobs, index, result);
            options.sync.report_progress("sync", self.done, total);
        }
    }
}

/// What a job needs of the options (borrowed apart from the progress callback).
struct Tools<'o> {
    retry: RetryPolicy,
    sleep: Option<&'o Sleep>,
    is_transient: Option<&'o IsTransient>,
}

impl Tools<'_> {
    fn is_transient(&self, error: &(dyn std::error::Error + 'static)) -> bool {
        Transient::is_transient(error) || self.is_transient.is_some_and(|f| f(error))
    }
}

/// One job: its hook, retried while its error is transient and attempts remain.
async fn run_job<H: ?Sized>(
    index: usize,
    job: &Job<H>,
    hooks: &H,
    options: &Tools<'_>,
    pacer: &Pacer,
) -> (usize, JobResult) {
    let mut attempts = 0;
    loop {
        pacer.wait(options.sleep).await;
        attempts += 1;
        let error: HookError = match job.task.call(hooks).await {
            Ok(()) => return (index, JobResult::Succeeded { attempts }),
            Err(error) => error,
        };
        if attempts >= options.retry.max_attempts || !options.is_transient(&*error) {
            let error = match error.downcast::<Transient>() {
                Ok(transient) => transient.0,
                Err(error) => error,
            };
            let error = Some(error);
            return (index, JobResult::Failed { error, attempts });
        }
        tracing::debug!(model = job.model, operation = %job.operation, attempts, "retrying a transient error");
        if let Some(sleep) = options.sleep {
            sleep(jitter(
                options.retry.backoff_after(attempts),
                index,
                attempts,
            ))
            .await;
        }
    }
}

/// A random duration between half of `backoff` and all of it.
fn jitter(backoff: Duration, index: usize, attempt: u32) -> Duration {
    let random = std::collections::hash_map::RandomState::new().hash_one((index, attempt));
    let half = backoff / 2;
    let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    half + Duration::from_nanos(random.checked_rem(nanos.saturating_add(1)).unwrap_or(0))
}

/// The rate limit: each call takes the next free slot, `1 / rate` seconds after the last.
struct Pacer {
    interval: Option<Duration>,
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    fn new(rate: Option<f64>) -> Self {
        let interval = rate
            .filter(|rate| rate.is_finite() && *rate > 0.0)
            .map(|rate| Duration::from_secs_f64(1.0 / rate));
        Self {
            interval,
            next: Mutex::new(None),
        }
    }

    /// Waits for this call's slot.
    async fn wait(&self, sleep: Option<&Sleep>) {
        let (Some(interval), Some(sleep)) = (self.interval, sleep) else {
            return;
        };
        let now = Instant::now();
        let slot = {
            let mut next = self
                .next
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let slot = next.map_or(now, |next| next.max(now));
            *next = Some(slot + interval);
            slot
        };
        if slot > now {
            sleep(slot - now).await;
        }
    }
}
