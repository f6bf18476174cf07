//! Tracing: failures are logged at warn, and nothing below the subscriber's level.
//! (Its own binary, so the global subscriber is set before any event.)

use std::sync::{Arc, Mutex};

use statesync::DiffModel;
use statesync::sync::{Adapter, HookError, Hooks, SyncFlags, SyncModel, SyncOptions};
use statesync_suite::fixtures::{inventory, site};

struct Failing;

impl Adapter for Failing {}

impl<M: DiffModel> Hooks<M> for Failing {
    fn create(&mut self, _model: &M) -> Result<(), HookError> {
        Err("injected failure".into())
    }
}

#[test]
fn tracing_reports_failures_at_warn() {
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
        .with_max_level(tracing::Level::WARN)
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
    target
        .sync_from(
            &source,
            &mut system,
            SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE),
        )
        .unwrap();
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("WARN"), "{text}");
    assert!(text.contains("hook failed"), "{text}");
    assert!(
        text.contains(r#"model="site" key=name=lon operation=create error=injected failure"#),
        "{text}"
    );
    assert!(
        !text.contains("DEBUG"),
        "debug events stay off at warn level"
    );
}
