//! statesync's async engine syncing the inventory into the REST service through
//! [`RestAdapter`]: the service's foreign keys check the order, injected failures and
//! timeouts check retries and convergence, and the service's counters check that the
//! engine never caused a duplicate, an orphan or a refused parent delete.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::Duration;

use statesync::Store;
use statesync::sync::{AsyncSyncModel, AsyncSyncOptions, RetryPolicy, SyncFlags, SyncOptions};
use statesync_rest::{Client, ClientConfig, Config, RestAdapter, Service};
use statesync_suite::fixtures;
use statesync_suite::inventory::Inventory;

/// 3 sites of 4 devices of 4 interfaces: 63 elements.
fn inventory(region: &str) -> Inventory {
    let mut sites = Store::new();
    for s in 0..3 {
        let mut site = fixtures::site(&format!("site{s}"), 4, 4);
        site.region = region.into();
        sites.insert(site).unwrap();
    }
    Inventory { sites }
}

fn options(max_in_flight: usize) -> AsyncSyncOptions<'static> {
    AsyncSyncOptions::new(SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE))
        .max_in_flight(max_in_flight)
        .retry(
            RetryPolicy::attempts(6).backoff(Duration::from_millis(2), Duration::from_millis(50)),
        )
        .sleep(|d| Box::pin(tokio::time::sleep(d)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_into_the_service_through_failures_and_converges() {
    for seed in 0..50 {
        let service = Service::start(Config {
            latency: Duration::from_millis(2),
            failure_rate: 0.1,
            timeout_rate: 0.03,
            stall: Duration::from_millis(400),
            seed,
            database: None,
        })
        .await
        .unwrap();
        let client = Client::new(
            &service.url(),
            &ClientConfig {
                timeout: Duration::from_millis(200),
            },
        )
        .unwrap();
        let adapter = RestAdapter::new(client.clone());
        let mut converged = false;
        // Each source in turn: created, then changed (updates), then emptied (deletes).
        for source in [inventory("emea"), inventory("apac"), Inventory::default()] {
            for _round in 0..10 {
                // Each round starts from what the service holds.
                let mut target = client.load().await.unwrap();
                let report = target
                    .sync_from_async(&source, &adapter, options(16))
                    .await
                    .unwrap();
                if report.is_success() {
                    // Memory is the service's state once every hook succeeded.
                    assert_eq!(target, source, "seed {seed}");
                    assert_eq!(client.load().await.unwrap(), source, "seed {seed}");
                    converged = true;
                    break;
                }
                converged = false;
            }
            assert!(converged, "seed {seed}: no convergence in 10 rounds");
        }
        let stats = service.stats();
        assert_eq!(stats.duplicates, 0, "seed {seed}: {stats:?}");
        assert_eq!(stats.missing_parents, 0, "seed {seed}: {stats:?}");
        assert_eq!(stats.has_children, 0, "seed {seed}: {stats:?}");
        assert!(stats.injected_failures > 0, "seed {seed}: {stats:?}");
        service.shutdown().await.unwrap();
    }
}

/// With latency, many requests at once are much faster than one at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_pays_off_against_latency() {
    let service = Service::start(Config {
        latency: Duration::from_millis(10),
        ..Config::default()
    })
    .await
    .unwrap();
    let client = Client::new(&service.url(), &ClientConfig::default()).unwrap();
    let adapter = RestAdapter::new(client.clone());
    let mut elapsed = Vec::new();
    let source = inventory("emea");
    for max_in_flight in [1, 32] {
        let mut target = client.load().await.unwrap();
        let started = std::time::Instant::now();
        let report = target
            .sync_from_async(&source, &adapter, options(max_in_flight))
            .await
            .unwrap();
        assert!(report.is_success(), "{report}");
        elapsed.push(started.elapsed());
        let emptied = target
            .sync_from_async(&Inventory::default(), &adapter, options(32))
            .await
            .unwrap();
        assert!(emptied.is_success(), "{emptied}");
    }
    // 63 creates one at a time, then 32 at a time (3 sites, then 12 devices, then 48
    // interfaces: at least 3 round trips).
    println!("max_in_flight 1: {:?}, 32: {:?}", elapsed[0], elapsed[1]);
    assert!(elapsed[1] * 4 < elapsed[0], "{elapsed:?}");
    service.shutdown().await.unwrap();
}
