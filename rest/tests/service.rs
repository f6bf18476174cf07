//! The REST service through its typed client, on 127.0.0.1: CRUD, foreign keys, duplicate
//! refusals and their counters, injected failures and latency, and loading a synced state
//! back into models. Every request is bounded by the client's timeout.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::{Duration, Instant};

use statesync::{DiffModel, Store};
use statesync_rest::{
    Client, ClientConfig, Config, Error, ErrorKind, Resource, RunningService, Service, StartError,
    Stats,
};
use statesync_suite::dataset;
use statesync_suite::fixtures::{device, interface};
use statesync_suite::inventory::{Device, Interface, Inventory, Site};

fn site(name: &str) -> Site {
    Site {
        name: name.into(),
        region: "emea".into(),
        devices: Store::new(),
    }
}

/// A device without interfaces, an interface with default attributes.
fn bare_device(site: &str, name: &str) -> Device {
    device(site, name, 0)
}

async fn start(config: Config) -> (RunningService, Client) {
    start_with_timeout(config, Duration::from_secs(5)).await
}

async fn start_with_timeout(config: Config, timeout: Duration) -> (RunningService, Client) {
    let service = Service::start(config).await.unwrap();
    let config = ClientConfig {
        timeout,
        ..ClientConfig::default()
    };
    let client = Client::new(&service.url(), &config).unwrap();
    (service, client)
}

/// The service's counters, read both ways: the accessor and `GET /stats` agree.
async fn stats(service: &RunningService, client: &Client) -> Stats {
    let served = client.stats().await.unwrap();
    assert_eq!(served, service.stats());
    served
}

fn refusal(error: &Error) -> (Option<u16>, Option<ErrorKind>) {
    (error.status(), error.kind())
}

#[tokio::test]
async fn crud_round_trip() {
    let (service, client) = start(Config::default()).await;
    assert!(service.address().ip().is_loopback());

    let mut ams = site("ams");
    let mut leaf = bare_device("ams", "ams-leaf1");
    let mut port = interface("ams-leaf1", "et-0");
    client.create_site(&ams).await.unwrap();
    client.create_device(&leaf).await.unwrap();
    client.create_interface(&port).await.unwrap();

    let mut expected = Inventory::default();
    leaf.interfaces.insert(port.clone()).unwrap();
    ams.devices.insert(leaf.clone()).unwrap();
    expected.sites.insert(ams.clone()).unwrap();
    assert_eq!(client.load().await.unwrap(), expected);

    // Updates send the changed attributes only, and the others stay as they were.
    let mut moved = ams.clone();
    moved.region = "apac".into();
    client
        .update_site(&moved, &ams.diff_fields(&moved))
        .await
        .unwrap();
    let mut spine = leaf.clone();
    spine.role = "spine".into();
    spine.serial = "SN-new".into();
    client
        .update_device(&spine, &leaf.diff_fields(&spine))
        .await
        .unwrap();
    let mut trunk = port.clone();
    trunk.mode = "trunk".into();
    trunk.vlans = vec![10, 20, 30];
    trunk.enabled = false;
    trunk.mtu = 9216;
    client
        .update_interface(&trunk, &port.diff_fields(&trunk))
        .await
        .unwrap();
    port = trunk;
    spine.interfaces = Store::try_from_iter([port.clone()]).unwrap();
    moved.devices = Store::try_from_iter([spine.clone()]).unwrap();
    let expected = Inventory {
        sites: Store::try_from_iter([moved.clone()]).unwrap(),
    };
    assert_eq!(client.load().await.unwrap(), expected);

    client.delete_interface(&port.key()).await.unwrap();
    client.delete_device(&spine.key()).await.unwrap();
    client.delete_site(&moved.key()).await.unwrap();
    assert_eq!(client.load().await.unwrap(), Inventory::default());

    // Patching or deleting what is gone is a 404, permanent, and counted.
    let gone = client
        .update_site(&moved, &ams.diff_fields(&moved))
        .await
        .unwrap_err();
    assert_eq!(refusal(&gone), (Some(404), Some(ErrorKind::NotFound)));
    assert!(!gone.is_transient());
    let gone = client.delete_device(&spine.key()).await.unwrap_err();
    assert_eq!(refusal(&gone), (Some(404), Some(ErrorKind::NotFound)));

    let counted = stats(&service, &client).await;
    assert_eq!(counted.not_found, 2);
    assert_eq!(
        (
            counted.duplicates,
            counted.missing_parents,
            counted.has_children
        ),
        (0, 0, 0)
    );
    // 3 creates, 3 loads, 3 updates, 3 deletes, 2 refused: /stats is not counted.
    assert_eq!(counted.requests, 14);
    service.shutdown().await.unwrap();
}

#[tokio::test]
async fn names_are_percent_encoded_in_paths() {
    let (service, client) = start(Config::default()).await;
    let odd = site("a/b c?d#e%");
    let mut child = bare_device(&odd.name, "x/y");
    let port = interface("x/y", "et 0/1");
    client.create_site(&odd).await.unwrap();
    client.create_device(&child).await.unwrap();
    client.create_interface(&port).await.unwrap();
    child.interfaces.insert(port.clone()).unwrap();
    let loaded = client.load().await.unwrap();
    let loaded_site = loaded.sites.get(&odd.key()).unwrap();
    assert_eq!(loaded_site.devices.get(&child.key()), Some(&child));
    client.delete_interface(&port.key()).await.unwrap();
    client.delete_device(&child.key()).await.unwrap();
    client.delete_site(&odd.key()).await.unwrap();
    service.shutdown().await.unwrap();
}

#[tokio::test]
async fn foreign_keys_refuse_orphans_and_parents_with_children() {
    let (service, client) = start(Config::default()).await;

    let orphan = client
        .create_device(&bare_device("nowhere", "lost"))
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&orphan),
        (Some(409), Some(ErrorKind::MissingParent))
    );
    assert!(!orphan.is_transient());
    let orphan = client
        .create_interface(&interface("no-device", "et-0"))
        .await
        .unwrap_err();
    assert_eq!(
        refusal(&orphan),
        (Some(409), Some(ErrorKind::MissingParent))
    );
    assert_eq!(client.load().await.unwrap(), Inventory::default());
    assert_eq!(stats(&service, &client).await.missing_parents, 2);

    // RESTRICT, not CASCADE: a parent with children stays, and so do its children.
    client.create_site(&site("ams")).await.unwrap();
    client
        .create_device(&bare_device("ams", "ams-leaf1"))
        .await
        .unwrap();
    client
        .create_interface(&interface("ams-leaf1", "et-0"))
        .await
        .unwrap();
    let busy = client.delete_site(&site("ams").key()).await.unwrap_err();
    assert_eq!(
        refusal(&busy),
        (Some(409), Some(ErrorKind::HasChildren)),
        "{busy}"
    );
    let busy = client
        .delete_device(&bare_device("ams", "ams-leaf1").key())
        .await
        .unwrap_err();
    assert_eq!(refusal(&busy), (Some(409), Some(ErrorKind::HasChildren)));
    let rows = client.rows().await.unwrap();
    assert_eq!(
        (rows.sites.len(), rows.devices.len(), rows.interfaces.len()),
        (1, 1, 1)
    );

    let counted = stats(&service, &client).await;
    assert_eq!((counted.missing_parents, counted.has_children), (2, 2));
    assert_eq!(counted.duplicates, 0);
    service.shutdown().await.unwrap();
}

#[tokio::test]
async fn duplicate_creates_are_refused_and_counted() {
    let (service, client) = start(Config::default()).await;
    client.create_site(&site("ams")).await.unwrap();
    client.create_site(&site("nyc")).await.unwrap();
    let mut renamed = site("ams");
    renamed.region = "apac".into();
    let twice = client.create_site(&renamed).await.unwrap_err();
    assert_eq!(refusal(&twice), (Some(409), Some(ErrorKind::Duplicate)));
    assert!(!twice.is_transient() && !twice.outcome_unknown());

    client
        .create_device(&bare_device("ams", "leaf1"))
        .await
        .unwrap();
    // Device names are unique across sites: interfaces refer to a device by name alone.
    let elsewhere = client
        .create_device(&bare_device("nyc", "leaf1"))
        .await
        .unwrap_err();
    assert_eq!(refusal(&elsewhere), (Some(409), Some(ErrorKind::Duplicate)));
    client
        .create_interface(&interface("leaf1", "et-0"))
        .await
        .unwrap();
    let twice = client
        .create_interface(&interface("leaf1", "et-0"))
        .await
        .unwrap_err();
    assert_eq!(refusal(&twice), (Some(409), Some(ErrorKind::Duplicate)));

    // The first create won: the refused ones changed nothing.
    let loaded = client.load().await.unwrap();
    assert_eq!(loaded.sites.get(&site("ams").key()).unwrap().region, "emea");
    assert!(
        loaded
            .sites
            .get(&site("nyc").key())
            .unwrap()
            .devices
            .is_empty()
    );
    assert_eq!(stats(&service, &client).await.duplicates, 3);
    service.shutdown().await.unwrap();
}

/// What one create answered, for comparing runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Done,
    Failed,
    TimedOut,
}

async fn creates_under_faults(seed: u64, count: usize) -> (Vec<Outcome>, Stats, Inventory) {
    let config = Config {
        failure_rate: 0.2,
        timeout_rate: 0.1,
        stall: Duration::from_millis(600),
        seed,
        ..Config::default()
    };
    let (service, client) = start_with_timeout(config, Duration::from_millis(150)).await;
    let mut outcomes = Vec::with_capacity(count);
    for at in 0..count {
        let outcome = match client.create_site(&site(&format!("s{at:03}"))).await {
            Ok(()) => Outcome::Done,
            Err(error) if error.status() == Some(500) => {
                assert_eq!(error.kind(), Some(ErrorKind::Injected));
                assert!(error.is_transient() && !error.outcome_unknown());
                Outcome::Failed
            }
            Err(error) => {
                assert!(matches!(error, Error::Timeout { .. }), "{error}");
                assert!(error.is_transient() && error.outcome_unknown());
                Outcome::TimedOut
            }
        };
        outcomes.push(outcome);
    }
    let stats = stats(&service, &client).await;
    let loaded = client.load().await.unwrap();
    drop(service);
    (outcomes, stats, loaded)
}

#[tokio::test]
async fn injected_failures_follow_the_seed_and_the_rates() {
    const COUNT: usize = 300;
    let (outcomes, stats, loaded) = creates_under_faults(11, COUNT).await;
    let failed = outcomes.iter().filter(|o| **o == Outcome::Failed).count();
    let timed_out = outcomes.iter().filter(|o| **o == Outcome::TimedOut).count();
    assert_eq!(stats.injected_failures, failed as u64);
    assert_eq!(stats.injected_stalls, timed_out as u64);
    // Binomial(300, 0.2) has a standard deviation of 6.9 and Binomial(300, 0.1) of 5.2:
    // these bounds are about three of them wide.
    assert!((40..=80).contains(&failed), "{failed} failures of {COUNT}");
    assert!(
        (15..=45).contains(&timed_out),
        "{timed_out} timeouts of {COUNT}"
    );

    // A 500 did nothing; a timeout did the change.
    for (at, outcome) in outcomes.iter().enumerate() {
        let exists = loaded.sites.contains(&site(&format!("s{at:03}")).key());
        assert_eq!(exists, *outcome != Outcome::Failed, "s{at:03}: {outcome:?}");
    }

    // The same seed gives the same fates to the same sequence of requests.
    let (again, _, _) = creates_under_faults(11, 60).await;
    assert_eq!(again, outcomes[..60]);
    let (other, _, _) = creates_under_faults(12, 60).await;
    assert_ne!(other, outcomes[..60]);
}

#[tokio::test]
async fn a_timed_out_create_happened_and_its_retry_is_a_duplicate() {
    let config = Config {
        timeout_rate: 1.0,
        stall: Duration::from_millis(500),
        ..Config::default()
    };
    let (service, client) = start_with_timeout(config, Duration::from_millis(100)).await;
    let error = client.create_site(&site("ams")).await.unwrap_err();
    assert!(error.outcome_unknown() && error.is_transient(), "{error}");
    let retry = client.create_site(&site("ams")).await.unwrap_err();
    // The retry stalls too, after being refused; a client with a longer timeout sees why.
    assert!(retry.outcome_unknown());
    let patient = Client::new(
        &service.url(),
        &ClientConfig {
            timeout: Duration::from_secs(5),
            ..ClientConfig::default()
        },
    )
    .unwrap();
    let refused = patient.create_site(&site("ams")).await.unwrap_err();
    assert_eq!(refusal(&refused), (Some(409), Some(ErrorKind::Duplicate)));
    assert_eq!(service.stats().duplicates, 2);
    assert_eq!(service.stats().injected_stalls, 3);
    assert_eq!(patient.load().await.unwrap().sites.len(), 1);
}

#[tokio::test]
async fn latency_delays_every_request_but_not_each_other() {
    const LATENCY: Duration = Duration::from_millis(100);
    let (service, client) = start(Config {
        latency: LATENCY,
        ..Config::default()
    })
    .await;
    let started = Instant::now();
    client.create_site(&site("ams")).await.unwrap();
    assert!(started.elapsed() >= LATENCY);
    let started = Instant::now();
    client.load().await.unwrap();
    assert!(started.elapsed() >= LATENCY, "reads are delayed too");

    // Sixteen requests at once wait for the latency side by side, not one after another.
    let started = Instant::now();
    let mut calls = tokio::task::JoinSet::new();
    for at in 0..16 {
        let client = client.clone();
        calls.spawn(async move { client.create_site(&site(&format!("c{at}"))).await });
    }
    while let Some(call) = calls.join_next().await {
        call.unwrap().unwrap();
    }
    let elapsed = started.elapsed();
    assert!(elapsed >= LATENCY);
    assert!(
        elapsed < LATENCY * 8,
        "16 concurrent requests took {elapsed:?}"
    );
    assert_eq!(client.load().await.unwrap().sites.len(), 17);
    service.shutdown().await.unwrap();
}

/// Pushes `inventory` into an empty service: each level's creates run concurrently, after
/// their parents' level.
async fn push(client: &Client, inventory: &Inventory) {
    let sites: Vec<&Site> = inventory.sites.iter().collect();
    let devices: Vec<&Device> = sites.iter().flat_map(|site| &site.devices).collect();
    let interfaces: Vec<&Interface> = devices.iter().flat_map(|d| &d.interfaces).collect();
    for_each_concurrently(&sites, |site| client.create_site(site)).await;
    for_each_concurrently(&devices, |device| client.create_device(device)).await;
    for_each_concurrently(&interfaces, |interface| client.create_interface(interface)).await;
}

/// Runs `call` on every element, 16 at a time, and expects every call to succeed.
async fn for_each_concurrently<'a, T, F, Fut>(elements: &'a [&'a T], call: F)
where
    F: Fn(&'a T) -> Fut,
    Fut: std::future::Future<Output = Result<(), Error>>,
{
    for chunk in elements.chunks(16) {
        let calls = chunk.iter().map(|element| call(element));
        for result in join_all(calls).await {
            result.unwrap();
        }
    }
}

/// Polls every future to completion on the current task.
async fn join_all<Fut: std::future::Future>(
    futures: impl Iterator<Item = Fut>,
) -> Vec<Fut::Output> {
    let mut pinned: Vec<_> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<Fut::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|context| {
        let mut pending = false;
        for (future, output) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(context) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

/// Brings the service from `old` to `new` by hand, children deleted before parents and
/// parents created before children: what a sync engine does, element by element, through
/// the generic [`Resource`] calls.
async fn apply(client: &Client, old: &Inventory, new: &Inventory) {
    for site in &old.sites {
        let kept = new.sites.get(&site.key());
        for device in &site.devices {
            let kept = kept.and_then(|s| s.devices.get(&device.key()));
            for interface in &device.interfaces {
                if kept.is_none_or(|d| !d.interfaces.contains(&interface.key())) {
                    interface.delete(client).await.unwrap();
                }
            }
            if kept.is_none() {
                device.delete(client).await.unwrap();
            }
        }
        if kept.is_none() {
            site.delete(client).await.unwrap();
        }
    }
    for site in &new.sites {
        let before = old.sites.get(&site.key());
        match before {
            None => site.create(client).await.unwrap(),
            Some(before) if before.region != site.region => site
                .update(&before.diff_fields(site), client)
                .await
                .unwrap(),
            Some(_) => {}
        }
        for device in &site.devices {
            let before = before.and_then(|s| s.devices.get(&device.key()));
            match before {
                None => device.create(client).await.unwrap(),
                Some(before) => device
                    .update(&before.diff_fields(device), client)
                    .await
                    .unwrap(),
            }
            for interface in &device.interfaces {
                match before.and_then(|d| d.interfaces.get(&interface.key())) {
                    None => interface.create(client).await.unwrap(),
                    Some(before) if before != interface => interface
                        .update(&before.diff_fields(interface), client)
                        .await
                        .unwrap(),
                    Some(_) => {}
                }
            }
        }
    }
}

#[tokio::test]
async fn load_of_a_synced_state_equals_the_models() {
    let (service, client) = start(Config::default()).await;
    let first = dataset::generate(960, 5);
    push(&client, &first).await;
    assert_eq!(client.load().await.unwrap(), first);

    let second = dataset::mutate(&first, 6);
    assert_ne!(second, first);
    apply(&client, &first, &second).await;
    assert_eq!(client.load().await.unwrap(), second);

    let counted = stats(&service, &client).await;
    assert_eq!(
        (
            counted.duplicates,
            counted.missing_parents,
            counted.has_children,
            counted.not_found
        ),
        (0, 0, 0, 0)
    );
    service.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_bodies_are_400_with_a_json_error() {
    let (service, client) = start(Config::default()).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let answer = http
        .post(format!("{}/sites", service.url()))
        .header("content-type", "application/json")
        .body(r#"{"name": "ams", "regoin": "emea"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 400);
    let body: statesync_rest::ErrorBody = answer.json().await.unwrap();
    assert_eq!(body.error, ErrorKind::BadRequest);
    assert!(body.message.contains("regoin"), "{}", body.message);
    assert_eq!(client.load().await.unwrap(), Inventory::default());
    service.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_service_is_a_transient_connect_error() {
    let (service, client) = start(Config::default()).await;
    service.shutdown().await.unwrap();
    let error = client.create_site(&site("ams")).await.unwrap_err();
    assert!(matches!(error, Error::Connect { .. }), "{error}");
    assert!(error.is_transient() && !error.outcome_unknown());
}

/// A server that answers every request with `head` and then `body` forever (`endless`)
/// or once, then closes: a hostile or broken service.
fn hostile_server(head: &'static str, body: &'static [u8], endless: bool) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = Vec::new();
            let mut byte = [0_u8; 1];
            while !request.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                request.push(byte[0]);
            }
            let _ = stream.write_all(head.as_bytes());
            while stream.write_all(body).is_ok() && endless {}
        }
    });
    url
}

/// The client reads at most `max_body_bytes` of an answer (it read an endless body until
/// its timeout, gigabytes of it) and a cut-off error body; a reply cut short is a
/// transient transport failure (it was a permanent bad body); a `GET` that timed out made
/// no change.
#[tokio::test]
async fn the_client_bounds_what_it_reads_and_names_broken_replies() {
    let config = |timeout_ms| ClientConfig {
        timeout: Duration::from_millis(timeout_ms),
        max_body_bytes: 1 << 20,
    };
    let body: &'static [u8] = Box::leak(vec![b'['; 4096].into_boxed_slice());
    let endless_ok = hostile_server(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n",
        body,
        true,
    );
    let client = Client::new(&endless_ok, &config(30_000)).unwrap();
    let started = Instant::now();
    let error = client.load().await.unwrap_err();
    assert!(matches!(error, Error::TooLarge { .. }), "{error}");
    assert!(!error.is_transient(), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );

    // An error body, endless or announced longer than what is kept: its first 64 KiB.
    for head in [
        "HTTP/1.1 500 Oops\r\n\r\n",
        "HTTP/1.1 500 Oops\r\ncontent-length: 1048576\r\n\r\n",
    ] {
        let endless_err = hostile_server(head, body, true);
        let client = Client::new(&endless_err, &config(30_000)).unwrap();
        let error = client.create_site(&site("ams")).await.unwrap_err();
        let cut = matches!(
            &error,
            Error::Status { status: 500, message, .. }
                if message.len() == statesync_rest::ERROR_BODY_LIMIT
        );
        assert!(cut, "{head:?}: {error}");
    }

    // A redirect is an answer, not followed: a `303` turned a create into a `GET` that
    // succeeded, and the create was reported made.
    let redirect = hostile_server(
        "HTTP/1.1 303 See Other\r\nlocation: /elsewhere\r\ncontent-length: 0\r\n\r\n",
        b"",
        false,
    );
    let client = Client::new(&redirect, &config(5_000)).unwrap();
    let error = client.create_site(&site("ams")).await.unwrap_err();
    assert_eq!(error.status(), Some(303), "{error}");
    assert!(!error.is_transient(), "{error}");

    let cut_short = hostile_server(
        "HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n",
        b"{\"sites\":",
        false,
    );
    let client = Client::new(&cut_short, &config(5_000)).unwrap();
    let error = client.load().await.unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error}");
    assert!(error.is_transient() && !error.outcome_unknown(), "{error}");

    // Accepts and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().take(1).collect();
        std::thread::sleep(Duration::from_secs(5));
        drop(held);
    });
    let client = Client::new(&silent, &config(200)).unwrap();
    let error = client.load().await.unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error}");
    assert!(error.is_transient() && !error.outcome_unknown(), "{error}");
    assert!(!error.to_string().contains("change"), "{error}");
}

/// The service holds at most `max_connections` open (it held as many as clients made,
/// each able to keep a whole answer it did not read): one more waits until one closes.
#[tokio::test]
async fn connections_past_the_limit_wait_for_one_to_close() {
    let (service, client) = start_with_timeout(
        Config {
            max_connections: 2,
            ..Config::default()
        },
        Duration::from_millis(300),
    )
    .await;
    let idle: Vec<std::net::TcpStream> = (0..2)
        .map(|_| std::net::TcpStream::connect(service.address()).unwrap())
        .collect();
    // Let the service accept both before asking.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let waited = client.stats().await.unwrap_err();
    assert!(matches!(waited, Error::Timeout { .. }), "{waited}");
    drop(idle);
    client.stats().await.unwrap();
    for max_connections in [0, statesync_rest::service::MAX_CONNECTIONS + 1] {
        let refused = Service::start(Config {
            max_connections,
            ..Config::default()
        })
        .await;
        assert!(refused.is_err(), "{max_connections}");
    }
}

#[tokio::test]
async fn rates_must_be_fractions() {
    for (failure_rate, timeout_rate) in [(1.5, 0.0), (0.0, -0.1), (0.6, 0.6), (f64::NAN, 0.0)] {
        let config = Config {
            failure_rate,
            timeout_rate,
            ..Config::default()
        };
        let refused = Service::start(config).await.unwrap_err();
        assert!(matches!(refused, StartError::Rates { .. }), "{refused}");
    }
    assert!(Client::new("mailto:someone", &ClientConfig::default()).is_err());
}

#[tokio::test]
async fn a_database_file_keeps_the_state_across_restarts() {
    let dir = std::env::temp_dir().join(format!("statesync-rest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("inventory.db");
    let _ = std::fs::remove_file(&path);
    let config = Config {
        database: Some(path.clone()),
        ..Config::default()
    };
    let (service, client) = start(config.clone()).await;
    push(&client, &statesync_suite::fixtures::inventory()).await;
    service.shutdown().await.unwrap();
    let (service, client) = start(config).await;
    assert_eq!(
        client.load().await.unwrap(),
        statesync_suite::fixtures::inventory()
    );
    service.shutdown().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A generic hook body, spawned on a multi-threaded runtime: the futures are `Send`.
fn spawn_create<M: Resource + Clone + Send + Sync + 'static>(
    client: &Client,
    model: &M,
) -> tokio::task::JoinHandle<Result<(), Error>> {
    let (client, model) = (client.clone(), model.clone());
    tokio::spawn(async move { model.create(&client).await })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_calls_run_on_a_multi_threaded_runtime() {
    let (service, client) = start(Config::default()).await;
    spawn_create(&client, &site("ams")).await.unwrap().unwrap();
    spawn_create(&client, &bare_device("ams", "leaf1"))
        .await
        .unwrap()
        .unwrap();
    spawn_create(&client, &interface("leaf1", "et-0"))
        .await
        .unwrap()
        .unwrap();
    let rows = client.rows().await.unwrap();
    assert_eq!(
        (rows.sites.len(), rows.devices.len(), rows.interfaces.len()),
        (1, 1, 1)
    );
    service.shutdown().await.unwrap();
}

#[tokio::test]
async fn names_no_url_can_carry_are_refused() {
    let (service, client) = start(Config::default()).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    // A name that a URL path drops (`.`), folds (`..`) or cannot hold (empty, or with a
    // tab, CR or LF, which URL parsers drop: `a\tb` would reach `ab`), or one too long for
    // a URL: refused, and nothing is stored.
    let long = "x".repeat(statesync_rest::service::MAX_NAME + 1);
    for name in [
        "",
        ".",
        "..",
        "a\tb",
        "a\nb",
        "a\rb",
        "a\u{7}b",
        long.as_str(),
    ] {
        let body = serde_json::json!({ "name": name, "region": "emea" });
        let answer = http
            .post(format!("{}/sites", service.url()))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 400, "{name:.10}");
        let body: statesync_rest::ErrorBody = answer.json().await.unwrap();
        assert_eq!(body.error, ErrorKind::BadRequest);
    }
    // A path segment that is not UTF-8 is a 400 with a JSON body too (axum's own answer
    // was plain text).
    for request in [
        http.patch(format!("{}/sites/%FF", service.url()))
            .json(&serde_json::json!({ "region": "x" })),
        http.delete(format!("{}/sites/ams/devices/%C3", service.url())),
    ] {
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status().as_u16(), 400);
        let body: statesync_rest::ErrorBody = answer.json().await.unwrap();
        assert_eq!(body.error, ErrorKind::BadRequest);
        assert!(body.message.contains("UTF-8"), "{}", body.message);
    }
    assert_eq!(client.load().await.unwrap(), Inventory::default());
    service.shutdown().await.unwrap();
}

/// A body beyond the server's limit is a 413 with a JSON `ErrorBody` (it was a 400, as if
/// the JSON were malformed), and nothing is stored.
#[tokio::test]
async fn a_body_too_large_is_a_413_with_a_json_body() {
    let (service, client) = start(Config::default()).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let body = serde_json::json!({ "name": "ams", "region": "x".repeat(3 << 20) });
    let answer = http
        .post(format!("{}/sites", service.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 413);
    let body: statesync_rest::ErrorBody = answer.json().await.unwrap();
    assert_eq!(body.error, ErrorKind::BadRequest);
    assert_eq!(client.load().await.unwrap(), Inventory::default());
    service.shutdown().await.unwrap();
}

/// A request declaring a body beyond the limit is a 413 at once, before any of the body
/// comes (it waited for 2 MB of it; found by an outside tester): here the client sends the
/// head alone and waits for the answer.
#[tokio::test]
async fn a_body_declared_too_large_is_a_413_before_it_comes() {
    use std::io::{Read, Write};
    let (service, client) = start(Config::default()).await;
    let address = service.url().trim_start_matches("http://").to_owned();
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let head = format!(
            "POST /sites HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
             Content-Length: 3000000000\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).unwrap();
        let mut answer = vec![0; 512];
        // Times out (an error) when no answer comes before the body.
        let read = stream
            .read(&mut answer)
            .expect("answered before the body came");
        String::from_utf8_lossy(answer.get(..read).unwrap_or_default()).into_owned()
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("beyond the limit"), "{answer}");
    assert_eq!(client.load().await.unwrap(), Inventory::default());
    service.shutdown().await.unwrap();
}

#[tokio::test]
async fn only_writes_draw_faults_and_every_error_has_a_json_body() {
    let config = Config {
        failure_rate: 1.0,
        ..Config::default()
    };
    let (service, _client) = start(config).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = service.url();
    let head = http.head(format!("{url}/inventory")).send().await.unwrap();
    assert_eq!(head.status().as_u16(), 200);
    let answers = [
        (http.put(format!("{url}/sites")), 405),
        (http.get(format!("{url}/nowhere")), 404),
    ];
    for (request, status) in answers {
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status().as_u16(), status);
        let body: statesync_rest::ErrorBody = answer.json().await.unwrap();
        assert!(!body.message.is_empty());
    }
    let stats = http
        .get(format!("{url}/stats"))
        .send()
        .await
        .unwrap()
        .json::<Stats>()
        .await
        .unwrap();
    assert_eq!(stats.injected_failures, 0);
    service.shutdown().await.unwrap();
}
