//! Tracing: a span per sync with its counts, an event per element at debug, failures at warn.
//! (Its own binary, so the global subscriber is set before any event.)

use std::sync::{Arc, Mutex};

use statesync::DiffModel;
use statesync::sync::{Adapter, HookError, Hooks, Parents, SyncFlags, SyncModel, SyncOptions};
use statesync_suite::fixtures::{inventory, site};

struct Failing;

/// The system's error, with its cause as `source()`.
#[derive(Debug)]
struct Refused(std::io::Error);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("injected failure")
    }
}

impl std::error::Error for Refused {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl Adapter for Failing {}

/// Devices fail; everything else succeeds.
impl<M: DiffModel> Hooks<M> for Failing {
    fn create(&mut self, _model: &M, _parents: &Parents) -> Result<(), HookError> {
        if M::NAME == "device" {
            return Err(Box::new(Refused(std::io::Error::other("disk full"))));
        }
        Ok(())
    }
}

#[test]
fn tracing_reports_the_sync_its_elements_and_failures() {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // A global default, set before any event fires: tracing caches each callsite's interest
    // process-wide, so a scoped subscriber in a binary running other tests is unreliable.
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let mut target = inventory();
    let mut source = inventory();
    source.sites.insert(site("lon", 1, 1)).unwrap();
    let mut system = Failing;
    let report = target
        .sync_from(
            &source,
            &mut system,
            SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE),
        )
        .unwrap();
    assert_eq!(report.counts.failed, 1, "{report}");
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("WARN"), "{text}");
    assert!(text.contains("hook failed"), "{text}");
    // The hook's error is logged as an error value (its source chain too), with the
    // element's parents.
    assert!(
        text.contains(r#"model="device" key=site=lon, name=lon-d0 operation=create error=injected failure error.sources=[disk full] parents="site[name=lon] > ""#),
        "{text}"
    );
    // The sync's start and end at info, with counts.
    assert!(
        text.contains("sync started create=3 update=0 delete=0"),
        "{text}"
    );
    assert!(
        text.contains("sync finished created=1 updated=0 deleted=0 failed=1 skipped=1"),
        "{text}"
    );
    // Each element at debug: the site, the failed device and its skipped child.
    let elements = text
        .lines()
        .filter(|line| line.contains("DEBUG") && line.contains("element"))
        .count();
    assert_eq!(elements, 3, "{text}");
}
