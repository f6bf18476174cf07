//! `AsyncAdapter::sync_finished` runs after every sync the engine ends itself, as
//! `Adapter::sync_finished` does in the blocking engine: also one a panicking hook or
//! `sync_complete` cut short, with the report so far, stopped, before the panic goes on.

use std::sync::Mutex;

use statesync::sync::{
    AsyncAdapter, AsyncHooks, AsyncSyncModel, AsyncSyncOptions, HookError, Parents, SyncOptions,
    SyncReport,
};
use statesync::{DiffModel, Store};

/// A queue of jobs (also `fatal`'s).
#[derive(DiffModel, Clone, Debug, PartialEq)]
pub(crate) struct Queue {
    #[statesync(children)]
    pub(crate) jobs: Store<Job>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
pub(crate) struct Job {
    #[statesync(id)]
    pub(crate) id: u32,
}

/// A broker whose create hook panics on one job, or whose `sync_complete` panics; it keeps
/// the reports `sync_finished` was given.
#[derive(Default)]
struct Broker {
    panic_on: Option<u32>,
    complete_panics: bool,
    finished: Mutex<Vec<SyncReport>>,
}

impl AsyncAdapter for Broker {
    async fn sync_complete(&self, _report: &SyncReport) -> Result<(), HookError> {
        assert!(!self.complete_panics, "sync_complete panics");
        Ok(())
    }

    async fn sync_finished(&self, report: &SyncReport) {
        self.finished.lock().unwrap().push(report.clone());
    }
}

impl AsyncHooks<Queue> for Broker {}

impl AsyncHooks<Job> for Broker {
    async fn create(&self, job: &Job, _: &Parents) -> Result<(), HookError> {
        assert_ne!(Some(job.id), self.panic_on, "the create hook panics");
        Ok(())
    }
}

fn sync(broker: &Broker) -> std::thread::Result<SyncReport> {
    sync_with(broker, SyncOptions::default())
}

fn sync_with(broker: &Broker, options: SyncOptions<'static>) -> std::thread::Result<SyncReport> {
    let source = Queue {
        jobs: Store::try_from_iter((0..6).map(|id| Job { id })).unwrap(),
    };
    let mut target = Queue { jobs: Store::new() };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime
            .block_on(target.sync_from_async(
                &source,
                broker,
                AsyncSyncOptions::new(options).max_in_flight(2),
            ))
            .unwrap()
    }))
}

#[test]
fn sync_finished_runs_after_a_panicking_hook_with_the_report_so_far() {
    let broker = Broker {
        panic_on: Some(3),
        ..Broker::default()
    };
    assert!(sync(&broker).is_err(), "the panic goes on");
    let finished = broker.finished.lock().unwrap();
    assert_eq!(finished.len(), 1, "{finished:?}");
    assert!(finished[0].stopped);
    assert!(finished[0].counts.created < 6, "{}", finished[0]);
    // The time so far, and no failure claimed: none failed, a panic stopped it (it read
    // `in 0ns (stopped at the first failure)`; found by an outside tester).
    assert!(
        finished[0].elapsed > std::time::Duration::ZERO,
        "{}",
        finished[0]
    );
    assert!(
        finished[0].to_string().ends_with(" (stopped)"),
        "{}",
        finished[0]
    );
}

#[test]
fn sync_finished_runs_after_a_panicking_sync_complete() {
    let broker = Broker {
        complete_panics: true,
        ..Broker::default()
    };
    assert!(sync(&broker).is_err(), "the panic goes on");
    let finished = broker.finished.lock().unwrap();
    assert_eq!(finished.len(), 1, "{finished:?}");
    assert_eq!(finished[0].counts.created, 6);
    assert!(
        finished[0].elapsed > std::time::Duration::ZERO,
        "{}",
        finished[0]
    );
}

#[test]
fn sync_finished_runs_once_after_a_sync_that_ends() {
    let broker = Broker::default();
    let report = sync(&broker).unwrap();
    assert!(report.is_success());
    // The report it gets is the one the sync returns, its time included.
    assert_eq!(
        *broker.finished.lock().unwrap(),
        std::slice::from_ref(&report)
    );
    assert!(report.elapsed > std::time::Duration::ZERO);
}

#[test]
fn sync_finished_runs_after_a_panicking_outcome_callback() {
    let broker = Broker::default();
    let options = SyncOptions::default().on_outcome(|_| panic!("the callback panics"));
    assert!(sync_with(&broker, options).is_err(), "the panic goes on");
    let finished = broker.finished.lock().unwrap();
    assert_eq!(finished.len(), 1, "{finished:?}");
    assert!(finished[0].stopped);
}
