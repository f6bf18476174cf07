//! statesync's async engine syncing the inventory into the REST service through
//! [`RestAdapter`]: the service's foreign keys check the order, injected failures and
//! timeouts check retries and convergence, and the service's counters check that the
//! engine never caused a duplicate, an orphan or a refused parent delete. After every
//! round, failed or not, memory, the report and the service agree element by element; a
//! sync dropped at a random point leaves memory as the calls that ended left the service.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use statesync::sync::{
    AsyncAdapter, AsyncHooks, AsyncSyncModel, AsyncSyncOptions, HookError, Outcome, Parents,
    RetryPolicy, Status, SyncFlags, SyncOptions, SyncReport,
};
use statesync::{DiffModel, Operation, Store};
use statesync_rest::{Client, ClientConfig, Config, Error, RestAdapter, RunningService, Service};
use statesync_suite::fixtures;
use statesync_suite::inventory::{Device, Interface, Inventory, Site};

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

/// A seeded inventory: some of 4 sites of up to 4 devices of up to 4 interfaces, with
/// attributes from small sets (two draws share elements and differ in some).
fn random_inventory(rng: &mut ChaCha8Rng) -> Inventory {
    let mut sites = Store::new();
    for s in 0..4 {
        if !rng.random_bool(0.75) {
            continue;
        }
        let mut site = fixtures::site(&format!("site{s}"), 4, 4);
        site.region = ["emea", "apac"][rng.random_range(0..2)].into();
        site.devices.retain(|_| rng.random_bool(0.75));
        site.devices.for_each_mut(|device| {
            device.role = ["leaf", "spine"][rng.random_range(0..2)].into();
            device.interfaces.retain(|_| rng.random_bool(0.75));
            device
                .interfaces
                .for_each_mut(|interface| interface.mtu = [1500, 9000][rng.random_range(0..2)]);
        });
        sites.insert(site).unwrap();
    }
    Inventory { sites }
}

fn options(max_in_flight: usize, attempts: u32) -> AsyncSyncOptions<'static> {
    AsyncSyncOptions::new(SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE))
        .max_in_flight(max_in_flight)
        .retry(
            RetryPolicy::attempts(attempts)
                .backoff(Duration::from_millis(1), Duration::from_millis(20)),
        )
        .sleep(|d| Box::pin(tokio::time::sleep(d)))
}

/// A service on a loopback port with 1 ms latency and these failures, a client for the
/// sync (whose timeout the stalls exceed) and one for reading the state back.
async fn service(
    seed: u64,
    failure_rate: f64,
    timeout_rate: f64,
) -> (RunningService, Client, Client) {
    let service = Service::start(Config {
        latency: Duration::from_millis(1),
        failure_rate,
        timeout_rate,
        stall: Duration::from_millis(150),
        seed,
        ..Config::default()
    })
    .await
    .unwrap();
    let timeout = |ms| ClientConfig {
        timeout: Duration::from_millis(ms),
        ..ClientConfig::default()
    };
    let client = Client::new(&service.url(), &timeout(100)).unwrap();
    let reader = Client::new(&service.url(), &timeout(10_000)).unwrap();
    (service, client, reader)
}

/// Every element of an inventory by its name in a report (`device[site=s, name=d]`), with
/// its attributes (its children apart).
fn elements(inventory: &Inventory) -> BTreeMap<String, String> {
    fn name<M: DiffModel>(model: &M) -> String {
        format!("{}[{}]", M::NAME, model.key())
    }
    let mut elements = BTreeMap::new();
    for site in inventory.sites.iter() {
        let alone = Site {
            devices: Store::new(),
            ..site.clone()
        };
        elements.insert(name(site), format!("{alone:?}"));
        for device in site.devices.iter() {
            let alone = Device {
                interfaces: Store::new(),
                ..device.clone()
            };
            elements.insert(name(device), format!("{alone:?}"));
            for interface in device.interfaces.iter() {
                elements.insert(name(interface), format!("{interface:?}"));
            }
        }
    }
    elements
}

/// Checks one round: memory and the service agree on every element but those whose call
/// timed out (the change may have happened: the report says so); an element the report
/// says applied is, in memory and in the service, as the source has it (or gone).
fn check_round(
    seed: u64,
    report: &SyncReport,
    target: &Inventory,
    held: &Inventory,
    source: &Inventory,
) {
    let memory = elements(target);
    let service = elements(held);
    let wanted = elements(source);
    let unknown: BTreeSet<String> = report
        .failures()
        .filter(|outcome| match &outcome.status {
            Status::Failed(failure) => failure
                .downcast_ref::<Error>()
                .is_some_and(Error::outcome_unknown),
            _ => false,
        })
        .map(|outcome| format!("{}[{}]", outcome.model, outcome.key))
        .collect();
    for name in memory.keys().chain(service.keys()) {
        if memory.get(name) != service.get(name) {
            assert!(
                unknown.contains(name),
                "seed {seed}: {name}: memory {:?}, service {:?}\n{report}",
                memory.get(name),
                service.get(name)
            );
        }
    }
    for outcome in report
        .outcomes
        .iter()
        .filter(|o| o.status == Status::Applied)
    {
        let name = format!("{}[{}]", outcome.model, outcome.key);
        let expected = match outcome.operation {
            Operation::Create | Operation::Update => wanted.get(&name),
            Operation::Delete => None,
        };
        assert_eq!(memory.get(&name), expected, "seed {seed}: {outcome}");
        assert_eq!(service.get(&name), expected, "seed {seed}: {outcome}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_round_agrees_with_the_service_and_reruns_converge() {
    let mut stalls = 0;
    for seed in 0..50 {
        let (service, client, reader) = service(seed, 0.1, 0.03).await;
        let adapter = RestAdapter::new(client);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // Created, then changed (updates, deletes and creates), then emptied.
        let sources = [
            inventory("emea"),
            random_inventory(&mut rng),
            Inventory::default(),
        ];
        for source in sources {
            let mut converged = false;
            for _round in 0..10 {
                // Each round starts from what the service holds.
                let mut target = reader.load().await.unwrap();
                let report = target
                    .sync_from_async(&source, &adapter, options(16, 6))
                    .await
                    .unwrap();
                let held = reader.load().await.unwrap();
                check_round(seed, &report, &target, &held, &source);
                if report.is_success() {
                    assert_eq!(target, source, "seed {seed}");
                    assert_eq!(held, source, "seed {seed}");
                    converged = true;
                    break;
                }
            }
            assert!(converged, "seed {seed}: no convergence in 10 rounds");
        }
        let stats = service.stats();
        assert_eq!(stats.duplicates, 0, "seed {seed}: {stats:?}");
        assert_eq!(stats.missing_parents, 0, "seed {seed}: {stats:?}");
        assert_eq!(stats.has_children, 0, "seed {seed}: {stats:?}");
        assert!(stats.injected_failures > 0, "seed {seed}: {stats:?}");
        stalls += stats.injected_stalls;
        service.shutdown().await.unwrap();
    }
    // Timeouts happened: changes made that the client could not know of.
    assert!(stalls > 0);
}

/// The REST adapter, noting which elements' calls started and which ended.
struct Tracking {
    inner: RestAdapter,
    started: Mutex<BTreeSet<String>>,
    ended: Mutex<BTreeSet<String>>,
}

impl Tracking {
    async fn track<M: DiffModel>(
        &self,
        model: &M,
        call: impl Future<Output = Result<(), HookError>>,
    ) -> Result<(), HookError> {
        let name = format!("{}[{}]", M::NAME, model.key());
        self.started.lock().unwrap().insert(name.clone());
        let result = call.await;
        self.ended.lock().unwrap().insert(name);
        result
    }

    /// Elements whose call started and did not end.
    fn in_flight(&self) -> BTreeSet<String> {
        let ended = self.ended.lock().unwrap();
        let started = self.started.lock().unwrap();
        started.difference(&ended).cloned().collect()
    }
}

impl AsyncAdapter for Tracking {}
impl AsyncHooks<Inventory> for Tracking {}

/// Each model's hooks: the REST adapter's, tracked.
macro_rules! tracked {
    ($($model:ty),*) => {$(
        impl AsyncHooks<$model> for Tracking {
            async fn create(&self, model: &$model, parents: &Parents) -> Result<(), HookError> {
                self.track(model, self.inner.create(model, parents)).await
            }

            async fn update(
                &self,
                model: &$model,
                changes: &<$model as DiffModel>::Changes,
                parents: &Parents,
            ) -> Result<(), HookError> {
                self.track(model, self.inner.update(model, changes, parents)).await
            }

            async fn delete(&self, model: &$model, parents: &Parents) -> Result<(), HookError> {
                self.track(model, self.inner.delete(model, parents)).await
            }
        }
    )*};
}

tracked!(Site, Device, Interface);

/// The sync future dropped at a random point (with 10% of requests failing, no retries):
/// memory equals the service for every element but those whose call was in flight; the
/// next syncs converge, and the engine never caused a duplicate or an orphan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_sync_leaves_memory_as_the_service() {
    let mut dropped = 0;
    for seed in 0..50 {
        // Failures without stalls: every call that ended did what its result says.
        let (service, client, reader) = service(seed, 0.1, 0.0).await;
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xd20f);
        let adapter = RestAdapter::new(client);
        let before = random_inventory(&mut rng);
        let source = random_inventory(&mut rng);
        // The service starts out holding `before`.
        for _round in 0..10 {
            let mut target = reader.load().await.unwrap();
            let report = target
                .sync_from_async(&before, &adapter, options(16, 1))
                .await
                .unwrap();
            if report.is_success() {
                break;
            }
        }
        assert_eq!(reader.load().await.unwrap(), before, "seed {seed}");

        let tracking = Tracking {
            inner: adapter.clone(),
            started: Mutex::new(BTreeSet::new()),
            ended: Mutex::new(BTreeSet::new()),
        };
        let mut target = before.clone();
        let deadline = Duration::from_micros(rng.random_range(0..15_000));
        let sync = target.sync_from_async(&source, &tracking, options(1 + seed as usize % 8, 1));
        if tokio::time::timeout(deadline, sync).await.is_err() {
            dropped += 1;
        }
        let in_flight = tracking.in_flight();
        let held = elements(&reader.load().await.unwrap());
        let memory = elements(&target);
        for name in memory.keys().chain(held.keys()) {
            if !in_flight.contains(name) {
                assert_eq!(memory.get(name), held.get(name), "seed {seed}: {name}");
            }
        }

        let mut converged = false;
        for _round in 0..10 {
            let mut target = reader.load().await.unwrap();
            let report = target
                .sync_from_async(&source, &adapter, options(16, 1))
                .await
                .unwrap();
            if report.is_success() {
                assert_eq!(target, source, "seed {seed}");
                converged = true;
                break;
            }
        }
        assert!(converged, "seed {seed}: no convergence in 10 rounds");
        assert_eq!(reader.load().await.unwrap(), source, "seed {seed}");
        let stats = service.stats();
        assert_eq!(stats.duplicates, 0, "seed {seed}: {stats:?}");
        assert_eq!(stats.missing_parents, 0, "seed {seed}: {stats:?}");
        assert_eq!(stats.has_children, 0, "seed {seed}: {stats:?}");
        service.shutdown().await.unwrap();
    }
    // Most syncs were dropped before they ended (the others ended first).
    assert!(dropped >= 25, "{dropped} of 50 dropped");
}

/// `max_in_flight` is what the service sees: with 1, never two requests at once; with 32,
/// the siblings' requests overlap (counted by the service, not timed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_sees_up_to_max_in_flight_requests_at_once() {
    let source = inventory("emea");
    for (max_in_flight, least, most) in [(1, 1, 1), (32, 16, 32)] {
        let service = Service::start(Config {
            latency: Duration::from_millis(10),
            ..Config::default()
        })
        .await
        .unwrap();
        let client = Client::new(&service.url(), &ClientConfig::default()).unwrap();
        let adapter = RestAdapter::new(client.clone());
        let mut target = client.load().await.unwrap();
        let report = target
            .sync_from_async(&source, &adapter, options(max_in_flight, 6))
            .await
            .unwrap();
        assert!(report.is_success(), "{report}");
        assert_eq!(client.load().await.unwrap(), source);
        // 3 sites, then 12 devices, then 48 interfaces: siblings run together.
        let peak = service.stats().peak_in_flight;
        assert!(
            (least..=most).contains(&peak),
            "max_in_flight {max_in_flight}: the service saw {peak} requests at once"
        );
        service.shutdown().await.unwrap();
    }
}

/// An update whose first attempt stalls (made, then timed out) and whose retry then fails
/// with an injected `500` (nothing done by that attempt) is reported as possibly made: the
/// report never says "nothing was done" of a change the service holds. Writes fail or stall
/// half the time each, so some seeds draw exactly that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_update_that_may_have_been_made_says_so() {
    let mut stalled_then_failed = 0;
    for seed in 0..24 {
        let (service, client, reader) = service(seed, 0.5, 0.5).await;
        let mut site = fixtures::site("s", 0, 0);
        // Made directly, until it is there (writes fail half the time).
        while !reader.load().await.unwrap().sites.contains(&site.key()) {
            let _ = reader.create_site(&site).await;
        }
        let mut target = reader.load().await.unwrap();
        site.region = "apac".into();
        let mut source = target.clone();
        drop(source.sites.upsert(site));
        let adapter = RestAdapter::new(client);
        let report = target
            .sync_from_async(&source, &adapter, options(1, 2))
            .await
            .unwrap();
        let held = reader.load().await.unwrap();
        check_round(seed, &report, &target, &held, &source);
        let stats = service.stats();
        if stats.injected_stalls > 0 && stats.injected_failures > 0 && report.counts.failed > 0 {
            stalled_then_failed += 1;
        }
        service.shutdown().await.unwrap();
    }
    assert!(
        stalled_then_failed > 0,
        "no seed drew a stall then a failure"
    );
}

/// What a [`Gateway`] answers a write (any request but a `GET`) with.
#[derive(Clone, Copy)]
enum Writes {
    /// Each is passed on, then answered `504 Gateway Time-out` (a proxy that gave up
    /// waiting): the service made the change, the client cannot know.
    TimeOut,
    /// The first as `TimeOut`; each later one is not passed on and is answered `503`
    /// ("nothing was done") once the test releases it.
    TimeOutThenRefuse,
    /// Each is passed on, then answered `503 Service Unavailable` in the gateway's own
    /// words (a gateway whose upstream reset before its answer): the service made the
    /// change.
    UnavailableAfter,
    /// The first is not passed on and is answered `429 Too Many Requests` with a
    /// `Retry-After` of one second (in seconds, or as a date when `true`); the others are
    /// passed on, and those that come within the second are counted.
    TooManyFirst(bool),
}

/// A gateway in front of the service: reads pass through, writes as [`Writes`] says.
struct Gateway {
    upstream: String,
    writes: Writes,
    seen: std::sync::atomic::AtomicUsize,
    /// Notified when a write waits for `release` (`TimeOutThenRefuse`).
    waiting: tokio::sync::Notify,
    release: tokio::sync::Notify,
    /// When the `429`'s second is over (`TooManyFirst`).
    closed_until: Mutex<Option<std::time::Instant>>,
    /// The writes that came before it was (`TooManyFirst`).
    early: std::sync::atomic::AtomicUsize,
}

impl Gateway {
    /// Starts one on a loopback port; its URL.
    async fn start(upstream: String, writes: Writes) -> (std::sync::Arc<Self>, String) {
        let gateway = std::sync::Arc::new(Self {
            upstream,
            writes,
            seen: std::sync::atomic::AtomicUsize::new(0),
            waiting: tokio::sync::Notify::new(),
            release: tokio::sync::Notify::new(),
            closed_until: Mutex::new(None),
            early: std::sync::atomic::AtomicUsize::new(0),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .fallback(Self::pass)
            .with_state(std::sync::Arc::clone(&gateway));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (gateway, format!("http://{address}"))
    }

    async fn pass(
        axum::extract::State(gateway): axum::extract::State<std::sync::Arc<Self>>,
        request: axum::extract::Request,
    ) -> axum::response::Response {
        use axum::http::{Method, StatusCode, header::CONTENT_TYPE};
        use axum::response::IntoResponse;

        let (parts, body) = request.into_parts();
        let write = parts.method != Method::GET;
        let seen = gateway
            .seen
            .fetch_add(usize::from(write), std::sync::atomic::Ordering::SeqCst);
        if write && seen > 0 && matches!(gateway.writes, Writes::TimeOutThenRefuse) {
            gateway.waiting.notify_one();
            gateway.release.notified().await;
            let refusal = r#"{"error":"injected","message":"overloaded: nothing was done"}"#;
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                [(CONTENT_TYPE, "application/json")],
                refusal,
            )
                .into_response();
        }
        if write && let Writes::TooManyFirst(as_date) = gateway.writes {
            let now = std::time::Instant::now();
            if seen == 0 {
                *gateway.closed_until.lock().unwrap() = Some(now + Duration::from_secs(1));
                let wait = if as_date {
                    // A date is to the second: two seconds ahead waits one to two.
                    let at = std::time::SystemTime::now() + Duration::from_secs(2);
                    httpdate::fmt_http_date(at)
                } else {
                    "1".into()
                };
                let headers = [(axum::http::header::RETRY_AFTER, wait)];
                return (StatusCode::TOO_MANY_REQUESTS, headers, "slow down").into_response();
            }
            if gateway
                .closed_until
                .lock()
                .unwrap()
                .is_some_and(|until| now < until)
            {
                gateway
                    .early
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        let mut out = reqwest::Client::new()
            .request(
                parts.method.clone(),
                format!("{}{}", gateway.upstream, parts.uri.path()),
            )
            .body(body.to_vec());
        if let Some(kind) = parts.headers.get(CONTENT_TYPE) {
            out = out.header(CONTENT_TYPE, kind.as_bytes());
        }
        let answer = out.send().await.unwrap();
        if write && matches!(gateway.writes, Writes::UnavailableAfter) {
            return (StatusCode::SERVICE_UNAVAILABLE, "503 Service Unavailable").into_response();
        }
        if write && !matches!(gateway.writes, Writes::TooManyFirst(_)) {
            return (StatusCode::GATEWAY_TIMEOUT, "504 Gateway Time-out").into_response();
        }
        let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
        let body = axum::body::Body::from(answer.bytes().await.unwrap());
        (status, [(CONTENT_TYPE, "application/json")], body).into_response()
    }
}

/// The region the service holds for a site.
async fn region_of(reader: &Client, site: &statesync_suite::inventory::SiteKey) -> String {
    let held = reader.load().await.unwrap();
    held.sites.get(site).unwrap().region.clone()
}

/// The client's error of a failed outcome.
fn client_error(outcome: &Outcome) -> &Error {
    match &outcome.status {
        Status::Failed(failure) => failure.downcast_ref::<Error>(),
        _ => None,
    }
    .expect("a failure of the client")
}

/// Behind a gateway, a `502`, `504`, or any `5xx` not in the service's own words, says
/// nothing of what the service did: a create or delete so answered is not sent again (a
/// resend would be a `409` duplicate or a `404`), and its failure says the change may have
/// been made; an update is retried, and still says so when every attempt fails. (A
/// gateway's `503` after passing the request on was resent as "nothing was done": 68
/// duplicates in an outside tester's runs.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_timeout_is_an_unknown_outcome_and_no_create_is_sent_twice() {
    for (writes, status) in [(Writes::TimeOut, 504), (Writes::UnavailableAfter, 503)] {
        behind_a_gateway_no_create_is_sent_twice(writes, status).await;
    }
}

async fn behind_a_gateway_no_create_is_sent_twice(writes: Writes, status: u16) {
    let service = Service::start(Config::default()).await.unwrap();
    let (_gateway, url) = Gateway::start(service.url(), writes).await;
    let client = Client::new(&url, &ClientConfig::default()).unwrap();
    let reader = Client::new(&service.url(), &ClientConfig::default()).unwrap();
    let mut target = reader.load().await.unwrap();
    let source = inventory("eu");
    let adapter = RestAdapter::new(client);
    let report = target
        .sync_from_async(&source, &adapter, options(1, 3))
        .await
        .unwrap();
    let stats = service.stats();
    assert_eq!((stats.duplicates, stats.not_found), (0, 0), "{stats:?}");
    // Every site was created once and failed in the report (the gateway's 504); its
    // children were never started.
    assert_eq!(reader.load().await.unwrap().sites.len(), source.sites.len());
    assert_eq!(report.counts.failed, source.sites.len(), "{report}");
    for failure in report.failures() {
        let error = client_error(failure);
        assert!(
            error.outcome_unknown() && error.status() == Some(status),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .ends_with("; the change may or may not have been made"),
            "{error}"
        );
    }

    // An update: retried (idempotent), and the last 504 still says it may have been made.
    let mut target = reader.load().await.unwrap();
    let mut source = target.clone();
    let site = source.sites.iter().next().unwrap().key();
    source
        .sites
        .modify(&site, |site| site.region = "apac".into())
        .unwrap();
    let report = target
        .sync_from_async(&source, &adapter, options(1, 3))
        .await
        .unwrap();
    assert!(client_error(report.failures().next().unwrap()).outcome_unknown());
    assert_eq!(region_of(&reader, &site).await, "apac");
    service.shutdown().await.unwrap();
}

/// A `429 Too Many Requests` is retried, also for a create (nothing was done), after the
/// wait its `Retry-After` asks for, in seconds or as a date; no write but those already
/// under way goes to the service before it is over. (A `429` was permanent before: the
/// create failed in the report.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_retried_after_the_wait_it_asks_for() {
    for as_date in [false, true] {
        let service = Service::start(Config::default()).await.unwrap();
        let (gateway, url) = Gateway::start(service.url(), Writes::TooManyFirst(as_date)).await;
        let client = Client::new(&url, &ClientConfig::default()).unwrap();
        let reader = Client::new(&service.url(), &ClientConfig::default()).unwrap();
        let refused = client.create_site(&fixtures::site("first", 0, 0)).await;
        let error = refused.expect_err("the gateway's first write is refused");
        assert!(error.is_transient() && !error.outcome_unknown(), "{error}");
        let wait = error.retry_after().expect("a Retry-After");
        assert!(wait <= Duration::from_secs(2), "{wait:?}");
        assert!(as_date || wait == Duration::from_secs(1), "{wait:?}");

        // Refused again: the gateway's second is restarted by a first write of its own.
        gateway.seen.store(0, std::sync::atomic::Ordering::SeqCst);
        let source = inventory("eu");
        let mut target = reader.load().await.unwrap();
        let started = std::time::Instant::now();
        let retry =
            RetryPolicy::attempts(3).backoff(Duration::from_millis(1), Duration::from_secs(5));
        let report = target
            .sync_from_async(
                &source,
                &RestAdapter::new(client),
                options(4, 3).retry(retry),
            )
            .await
            .unwrap();
        assert_eq!(report.counts.failed, 0, "{report}");
        assert_eq!(reader.load().await.unwrap(), source);
        assert!(started.elapsed() >= Duration::from_millis(900));
        let early = gateway.early.load(std::sync::atomic::Ordering::SeqCst);
        assert!(early <= 3, "{early} writes in the second the 429 asked for");
        service.shutdown().await.unwrap();
    }
}

/// Two syncs through clones of one adapter: the one that finishes first does not make
/// the other forget an update whose outcome is unknown (a clone has its own record), so
/// the other's update, timed out and then refused, is still reported as possibly made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clone_of_the_adapter_keeps_its_own_record_of_unknown_outcomes() {
    let service = Service::start(Config::default()).await.unwrap();
    let reader = Client::new(&service.url(), &ClientConfig::default()).unwrap();
    let site = fixtures::site("ams", 0, 0);
    reader.create_site(&site).await.unwrap();
    let (gateway, url) = Gateway::start(service.url(), Writes::TimeOutThenRefuse).await;
    let adapter = RestAdapter::new(Client::new(&url, &ClientConfig::default()).unwrap());
    let other = adapter.clone();
    let mut target = reader.load().await.unwrap();
    let mut source = target.clone();
    source
        .sites
        .modify(&site.key(), |site| site.region = "apac".into())
        .unwrap();
    let updating = target.sync_from_async(&source, &adapter, options(1, 2));
    let meanwhile = async {
        // The update's second attempt is at the gateway: another sync runs to its end.
        gateway.waiting.notified().await;
        let mut empty = Inventory::default();
        let _ = empty
            .sync_from_async(&Inventory::default(), &other, options(1, 1))
            .await
            .unwrap();
        gateway.release.notify_one();
    };
    let (report, ()) = tokio::join!(updating, meanwhile);
    let report = report.unwrap();
    let error = client_error(report.failures().next().unwrap());
    assert!(
        matches!(error, Error::EarlierAttemptUnknown { .. }),
        "{error}"
    );
    assert_eq!(region_of(&reader, &site.key()).await, "apac");
    service.shutdown().await.unwrap();
}

/// A device built in memory under another site than it names is refused before any
/// request (it would be created under the site it names while memory keeps it under the
/// other); the rest of the sync goes through, and memory is the service.
#[tokio::test]
async fn a_device_under_another_site_than_it_names_is_refused() {
    let (service, client, reader) = service(1, 0.0, 0.0).await;
    let adapter = RestAdapter::new(client);
    let mut source = inventory("emea");
    let mut site0 = source
        .sites
        .get_mut(&statesync_suite::inventory::SiteKey {
            name: "site0".into(),
        })
        .unwrap();
    let mut stray = site0.devices.iter().next().unwrap().clone();
    stray.site = "site1".into();
    stray.name = "stray".into();
    stray.interfaces = Store::new();
    site0.devices.insert(stray).unwrap();
    drop(site0);
    let mut target = Inventory::default();
    let report = target
        .sync_from_async(&source, &adapter, options(4, 1))
        .await
        .unwrap();
    assert_eq!(report.counts.failed, 1, "{report}");
    let outcomes = format!("{:?}", report.outcomes);
    assert!(
        outcomes.contains("sits under site0 but its site names site1"),
        "{outcomes}"
    );
    let held = reader.load().await.unwrap();
    assert_eq!(held, target);
    assert!(
        held.sites
            .iter()
            .all(|site| site.devices.iter().all(|device| device.name != "stray"))
    );
    service.shutdown().await.unwrap();
}
