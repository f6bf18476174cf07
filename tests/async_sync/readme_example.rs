use std::sync::Mutex;
use statesync::sync::{
    AsyncAdapter, AsyncHooks, AsyncSyncModel, AsyncSyncOptions, HookError, Parents, RetryPolicy,
};
use statesync::{DiffModel, Store};

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Zone {
    #[statesync(children)]
    records: Store<Record>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Record {
    #[statesync(id)]
    name: String,
    ip: String,
}

/// A DNS API; hooks take `&self`, many run at once.
#[derive(Default)]
struct Dns(Mutex<Vec<String>>);

impl AsyncAdapter for Dns {}
impl AsyncHooks<Zone> for Dns {}
impl AsyncHooks<Record> for Dns {
    async fn create(&self, record: &Record, _: &Parents) -> Result<(), HookError> {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await; // the network
        self.0.lock().unwrap().push(format!("PUT {} {}", record.name, record.ip));
        Ok(())
    }
    // `update` and `delete`, not written here (this sync only creates), would succeed
    // without calling the system: a real adapter writes them too.
}

#[tokio::main]
async fn main() -> Result<(), statesync::Error> {
    let record = |i: usize| Record { name: format!("host{i}"), ip: format!("10.0.0.{i}") };
    let source = Zone { records: Store::try_from_iter((0..100).map(record))? };
    let mut target = Zone { records: Store::new() };
    let dns = Dns::default();
    let options = AsyncSyncOptions::default()
        .max_in_flight(50)
        .retry(RetryPolicy::attempts(3))
        .sleep(|d| Box::pin(tokio::time::sleep(d)));
    let started = std::time::Instant::now();
    let report = target.sync_from_async(&source, &dns, options).await?;
    assert!(report.is_success());
    assert_eq!(report.counts.created, 100);
    assert!(started.elapsed() < std::time::Duration::from_millis(1500)); // not 100 x 20 ms
    assert_eq!(target, source);
    Ok(())
}
