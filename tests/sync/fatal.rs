//! A hook's `Fatal` error stops the sync under `CONTINUE_ON_FAILURE` too (a lost
//! connection: every later call would fail the same way).

use statesync::sync::{
    Adapter, Fatal, HookError, Hooks, Parents, SkipReason, Status, SyncFlags, SyncModel,
    SyncOptions,
};
use statesync::{DiffModel, Store};

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Rack {
    #[statesync(children)]
    hosts: Store<Host>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Host {
    #[statesync(id)]
    name: u32,
    #[statesync(children)]
    disks: Store<Disk>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Disk {
    #[statesync(id)]
    slot: u32,
}

/// A system whose connection is lost at the `lost_at`-th call: that call and every later
/// one fail, `Fatal` or plain as `fatal` says (wrapped in an error of the adapter's own
/// when `nested`).
struct Flaky {
    calls: usize,
    lost_at: usize,
    fatal: bool,
    nested: bool,
}

/// The adapter's own error, with the `Fatal` one as its source.
#[derive(Debug)]
struct WriteFailed(Fatal);

impl std::fmt::Display for WriteFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("write failed")
    }
}

impl std::error::Error for WriteFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl Flaky {
    fn call(&mut self) -> Result<(), HookError> {
        self.calls += 1;
        if self.calls < self.lost_at {
            return Ok(());
        }
        let lost = std::io::Error::other("connection reset");
        Err(match (self.fatal, self.nested) {
            (false, _) => lost.into(),
            (true, false) => Fatal::new(lost).into(),
            (true, true) => WriteFailed(Fatal::new(lost)).into(),
        })
    }
}

impl Adapter for Flaky {}
impl Hooks<Rack> for Flaky {}
impl Hooks<Host> for Flaky {
    fn create(&mut self, _: &Host, _: &Parents) -> Result<(), HookError> {
        self.call()
    }
}
impl Hooks<Disk> for Flaky {
    fn create(&mut self, _: &Disk, _: &Parents) -> Result<(), HookError> {
        self.call()
    }
}

fn rack() -> Rack {
    let host = |name| Host {
        name,
        disks: Store::try_from_iter((0..2).map(|slot| Disk { slot })).unwrap(),
    };
    Rack {
        hosts: Store::try_from_iter((0..4).map(host)).unwrap(),
    }
}

fn sync(fatal: bool, nested: bool) -> (Rack, statesync::sync::SyncReport, usize) {
    let mut held = Rack {
        hosts: Store::new(),
    };
    let mut system = Flaky {
        calls: 0,
        lost_at: 5,
        fatal,
        nested,
    };
    let options = SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE);
    let report = held.sync_from(&rack(), &mut system, options).unwrap();
    (held, report, system.calls)
}

#[test]
fn a_fatal_hook_error_stops_the_sync_under_continue_on_failure() {
    // Plain errors: the sync goes on past each, calling every hook it can.
    let (_, report, calls) = sync(false, false);
    assert!(!report.stopped);
    assert!(calls > 5, "{calls} calls");

    for nested in [false, true] {
        let (held, report, calls) = sync(true, nested);
        assert!(report.stopped, "{report}");
        assert_eq!(calls, 5, "no hook runs after the fatal one");
        assert_eq!((report.counts.created, report.counts.failed), (4, 1));
        let failures: Vec<&Status> = report.failures().map(|outcome| &outcome.status).collect();
        let [Status::Failed(failure)] = failures[..] else {
            panic!("{report:?}")
        };
        assert!(failure.is_fatal());
        assert!(report.to_string().ends_with(" (stopped)"), "{report}");
        if nested {
            assert!(failure.downcast_ref::<WriteFailed>().is_some());
        } else {
            // Unwrapped: the report holds the error the hook wrapped.
            assert!(failure.downcast_ref::<std::io::Error>().is_some());
            assert_eq!(failure.to_string(), "connection reset");
        }
        // Memory holds what the system took: the created elements, nothing after.
        let disks: usize = held.hosts.iter().map(|host| host.disks.len()).sum();
        assert_eq!(held.hosts.len() + disks, 4);
        let stopped = report
            .outcomes
            .iter()
            .filter(|outcome| matches!(outcome.status, Status::Skipped(SkipReason::Stopped)));
        assert_eq!(stopped.count(), report.counts.skipped);
    }
}
