//! A server and clients over a real loopback TCP connection.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use statesync::DiffModel;
use statesync_suite::fixtures::{inventory, site};
use statesync_suite::inventory::{DeviceKey, Inventory, SiteKey};
use statesync_suite::remote::{Client, Limits, Response, Server};

fn start() -> (Server, SocketAddr) {
    start_with(inventory(), Limits::default())
}

fn start_with(state: Inventory, limits: Limits) -> (Server, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = Server::with_limits(state, limits).unwrap();
    let serving = server.clone();
    std::thread::spawn(move || serving.listen(listener));
    (server, address)
}

fn ams(state: &mut Inventory) -> statesync::StoreMut<'_, statesync_suite::inventory::Site> {
    state
        .sites
        .get_mut(&SiteKey { name: "ams".into() })
        .unwrap()
}

#[test]
fn full_then_incremental_sync_both_ways_with_a_stale_push_merged() {
    let (server, address) = start();
    let mut a = Client::connect(address).unwrap();
    let mut b = Client::connect(address).unwrap();
    assert_eq!(a.state, inventory());
    assert_eq!(a.version, 0);

    ams(&mut a.state).region = "eu-west".into();
    assert!(a.push().unwrap().is_empty());
    assert_eq!(a.version, 1);

    // b edits another field against version 0: stale, merged, pushed.
    b.state.sites.insert(site("lon", 1, 1)).unwrap();
    let key = DeviceKey {
        site: "ams".into(),
        name: "ams-d0".into(),
    };
    ams(&mut b.state).devices.get_mut(&key).unwrap().role = "spine".into();
    assert!(b.push().unwrap().is_empty());
    assert_eq!(b.version, 2);
    assert_eq!(
        ams(&mut b.state).region,
        "eu-west",
        "a's edit was merged in, not lost"
    );

    assert!(a.pull().unwrap().is_empty());
    let (version, state) = server.snapshot();
    assert_eq!(version, 2);
    assert!(a.state.diff(&state).unwrap().is_empty());
    assert!(b.state.diff(&state).unwrap().is_empty());
}

#[test]
fn a_conflicting_stale_push_keeps_the_clients_value_and_reports_it() {
    let (server, address) = start();
    let mut a = Client::connect(address).unwrap();
    let mut b = Client::connect(address).unwrap();
    ams(&mut a.state).region = "from-a".into();
    a.push().unwrap();
    ams(&mut b.state).region = "from-b".into();
    let conflicts = b.push().unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].path, "inventory.sites.site[name=ams].region");
    let (_, mut state) = server.snapshot();
    assert_eq!(
        ams(&mut state).region,
        "from-b",
        "b pushed its value knowingly, after merging"
    );
}

fn raw(address: SocketAddr, line: &[u8]) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.write_all(line).unwrap();
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer).unwrap();
    answer
}

#[test]
fn malformed_and_hostile_messages_are_refused_and_change_nothing() {
    let (server, address) = start();
    let before = server.snapshot();
    for line in [
        &b"not json\n"[..],
        b"{\"push\":{\"base\":0}}\n",
        b"{\"push\":{\"base\":0,\"diff\":{\"model\":\"site\",\"elements\":[],\"unchanged\":0}}}\n",
        b"{\"push\":{\"base\":0,\"diff\":{\"model\":\"inventory\",\"elements\":[],\"unchanged\":0}}}\n",
        b"{\"pull\":{\"base\":99}}\n",
        b"{\"explode\":{}}\n",
    ] {
        let answer = raw(address, line);
        assert!(answer.starts_with("{\"rejected\""), "{answer}");
    }
    // A well-formed diff that does not apply: a delete of a site that is not there.
    let mut other = inventory();
    other.sites.insert(site("zzz", 0, 0)).unwrap();
    let bogus = other.diff(&inventory()).unwrap();
    let message = format!(
        "{{\"push\":{{\"base\":0,\"diff\":{}}}}}\n",
        serde_json::to_string(&bogus).unwrap()
    );
    let answer = raw(address, message.as_bytes());
    assert!(answer.contains("invalid diff"), "{answer}");
    // An oversized message is refused and the connection closed.
    let mut huge = vec![b' '; (statesync_suite::remote::MAX_MESSAGE + 10) as usize];
    huge.push(b'\n');
    let answer = raw(address, &huge);
    assert!(answer.contains("larger than"), "{answer}");
    // A diff that applies but files a device under a site it does not name.
    let mut misfiled = inventory();
    let mut stray = statesync_suite::fixtures::device("nyc", "stray", 0);
    stray.site = "elsewhere".into();
    ams(&mut misfiled).devices.insert(stray).unwrap();
    let message = format!(
        "{{\"push\":{{\"base\":0,\"diff\":{}}}}}\n",
        serde_json::to_string(&inventory().diff(&misfiled).unwrap()).unwrap()
    );
    let answer = raw(address, message.as_bytes());
    assert!(answer.contains("names elsewhere as its parent"), "{answer}");
    assert_eq!(server.snapshot(), before);

    // The server still serves well-behaved clients.
    let client = Client::connect(address).unwrap();
    assert_eq!(client.state, before.1);
}

/// A connection to the server (on 127.0.0.1) from the loopback address `local`, so that
/// tests can play several peers; `receive_buffer` shrinks the socket's receive buffer.
fn connect_from(local: [u8; 4], address: SocketAddr, receive_buffer: Option<usize>) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    if let Some(size) = receive_buffer {
        socket.set_recv_buffer_size(size).unwrap();
    }
    socket.bind(&SocketAddr::from((local, 0)).into()).unwrap();
    socket.connect(&address.into()).unwrap();
    socket.into()
}

/// Waits (at most `limit`) until `done` holds; returns whether it did.
fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    done()
}

fn read_reply(reader: &mut impl BufRead) -> Response {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|error| panic!("{error}: {line}"))
}

fn rejection(response: &Response) -> &str {
    match response {
        Response::Rejected { error } => error,
        other => panic!("not a refusal: {other:?}"),
    }
}

#[test]
fn slow_clients_from_one_address_do_not_lock_out_a_legitimate_client() {
    let limits = Limits {
        max_connections: 6,
        max_per_peer: 3,
        message_deadline: Duration::from_secs(3),
        ..Limits::default()
    };
    let (server, address) = start_with(inventory(), limits);
    // Ten slowloris clients on 127.0.0.1, each sending a byte every 100 ms: never silent
    // long enough for a per-read timeout, for up to 6 s if nobody cuts them.
    let slow: Vec<_> = (0..10)
        .map(|_| {
            std::thread::spawn(move || {
                let start = Instant::now();
                let Ok(mut stream) = TcpStream::connect(address) else {
                    return start.elapsed();
                };
                for _ in 0..60 {
                    if stream.write_all(b" ").is_err() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                start.elapsed()
            })
        })
        .collect();
    assert!(wait_until(Duration::from_secs(2), || server.connections() == 3));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.connections(), 3, "three per address, not ten");

    // Meanwhile a client from another address is served, while the slow ones still hold
    // their places.
    let mut legit = Client::over(connect_from([127, 0, 0, 2], address, None)).unwrap();
    ams(&mut legit.state).region = "served".into();
    legit.push().unwrap();
    assert_eq!(server.snapshot().0, 1);
    // A fourth connection from the slow clients' address is refused while they hold it.
    assert!(Client::connect(address).is_err());
    assert_eq!(
        server.connections(),
        4,
        "three slow clients and the legitimate one"
    );

    // Each slow client is cut once its message misses the deadline (3 s), long before it
    // would stop by itself (6 s).
    for handle in slow {
        let lasted = handle.join().unwrap();
        assert!(lasted < Duration::from_millis(5000), "cut late: {lasted:?}");
    }
    assert!(wait_until(Duration::from_secs(2), || server.connections() == 1));
    let again = Client::connect(address).unwrap();
    assert_eq!(again.version, 1, "the address is served again");
}

#[test]
fn a_large_bad_request_gets_a_small_reply() {
    let (server, address) = start();
    let huge = "A".repeat(4 * 1024 * 1024);
    // An unknown request name, quoted by the parser.
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .write_all(format!("{{\"{huge}\":null}}\n").as_bytes())
        .unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.len() < 1024, "{} bytes", line.len());
    assert!(
        line.contains("unknown variant `AAAA") && line.contains("(cut)"),
        "{line}"
    );
    // A key the diff names but the state lacks, quoted by statesync.
    let message = format!(
        concat!(
            r#"{{"push":{{"base":0,"diff":{{"model":"inventory","elements":[{{"key":{{}},"#,
            r#""action":{{"update":{{"fields":{{}},"children":{{"sites":{{"model":"site","#,
            r#""elements":[{{"key":{{"name":"{}"}},"action":{{"update":{{"fields":"#,
            r#"{{"region":{{"old":"a","new":"b"}}}},"children":{{"devices":{{"model":"#,
            r#""device","elements":[],"unchanged":0}}}}}}}}}}],"unchanged":0}}}}}}}}}}],"#,
            r#""unchanged":0}}}}}}"#
        ),
        huge
    );
    let reply = server.handle_message(message.as_bytes());
    let reply = String::from_utf8(reply).unwrap();
    assert!(reply.len() < 1024, "{} bytes", reply.len());
    assert!(
        reply.contains("no such element") || reply.contains("(cut)"),
        "{reply}"
    );
    assert!(reply.contains("site[name=AAAA"), "{reply}");
    assert_eq!(server.snapshot().0, 0);
}

#[test]
fn bytes_in_flight_are_bounded_over_all_connections() {
    let limits = Limits {
        max_message: 64 * 1024,
        max_in_flight: 100 * 1024,
        message_deadline: Duration::from_secs(5),
        ..Limits::default()
    };
    let (server, address) = start_with(inventory(), limits);
    let padding = vec![b' '; 60 * 1024];
    let pull = b"{\"pull\":{\"base\":0}}\n";

    // A holds 60 KiB of a message not yet complete.
    let mut a = TcpStream::connect(address).unwrap();
    a.write_all(&padding).unwrap();
    assert!(wait_until(Duration::from_secs(5), || {
        server.bytes_in_flight() >= 60 * 1024
    }));
    // B's 60 KiB do not fit beside it: refused, not stored, and B is served on.
    let mut b = TcpStream::connect(address).unwrap();
    let mut b_reader = BufReader::new(b.try_clone().unwrap());
    b.write_all(&padding).unwrap();
    b.write_all(pull).unwrap();
    let refused = read_reply(&mut b_reader);
    assert!(rejection(&refused).contains("busy"), "{refused:?}");
    assert!(server.bytes_in_flight() <= 100 * 1024);

    // A completes its message and is answered; then its bytes are given back.
    a.write_all(pull).unwrap();
    let answer = read_reply(&mut BufReader::new(a.try_clone().unwrap()));
    assert!(
        matches!(answer, Response::Changes { version: 0, .. }),
        "{answer:?}"
    );
    assert!(wait_until(Duration::from_secs(5), || server
        .bytes_in_flight()
        == 0));
    b.write_all(&padding).unwrap();
    b.write_all(pull).unwrap();
    let answer = read_reply(&mut b_reader);
    assert!(
        matches!(answer, Response::Changes { version: 0, .. }),
        "{answer:?}"
    );
}

#[test]
fn a_slow_reader_does_not_pin_its_reply_past_the_deadline() {
    let limits = Limits {
        message_deadline: Duration::from_secs(1),
        ..Limits::default()
    };
    // A state of several MB: more than the socket buffers take.
    let (server, address) = start_with(statesync_suite::dataset::generate(60_000, 7), limits);
    let mut stream = connect_from([127, 0, 0, 1], address, Some(4096));
    stream.write_all(b"\"hello\"\n").unwrap();
    // The reply is being written once its bytes are counted (building it may take a while
    // on a loaded machine: the deadline runs from here).
    assert!(wait_until(Duration::from_secs(30), || server
        .bytes_in_flight()
        > 0));
    let start = Instant::now();
    // The client never reads: the reply is dropped at the deadline, not held.
    assert!(wait_until(Duration::from_secs(10), || {
        server.bytes_in_flight() == 0 && server.connections() == 0
    }));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let mut received = Vec::new();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = stream.read_to_end(&mut received);
    assert!(
        !received.ends_with(b"\n"),
        "the reply was cut, not completed"
    );
}

/// The diff of a push, as JSON with one site's update replaced by `site_update`.
fn push_with_site_update(site_update: &str) -> String {
    format!(
        concat!(
            r#"{{"push":{{"base":0,"diff":{{"model":"inventory","elements":[{{"key":{{}},"#,
            r#""action":{{"update":{{"fields":{{}},"children":{{"sites":{{"model":"site","#,
            r#""elements":[{}],"unchanged":1}}}}}}}}}}],"unchanged":0}}}}}}"#
        ),
        site_update
    )
}

#[test]
fn pushes_that_change_nothing_are_refused() {
    let server = Server::new(inventory()).unwrap();
    let devices_untouched = r#"{"devices":{"model":"device","elements":[],"unchanged":6}}"#;
    let no_field_change = format!(
        r#"{{"key":{{"name":"ams"}},"action":{{"update":{{"fields":{{}},"children":{devices_untouched}}}}}}}"#
    );
    let old_equals_new = format!(
        r#"{{"key":{{"name":"ams"}},"action":{{"update":{{"fields":{{"region":{{"old":"emea","new":"emea"}}}},"children":{devices_untouched}}}}}}}"#
    );
    let real_change = format!(
        r#"{{"key":{{"name":"nyc"}},"action":{{"update":{{"fields":{{"region":{{"old":"emea","new":"us"}}}},"children":{devices_untouched}}}}}}}"#
    );
    let cases = [
        (
            "an update with no field change",
            push_with_site_update(&no_field_change),
        ),
        (
            "a change with old == new",
            push_with_site_update(&old_equals_new),
        ),
        ("an empty child diff", push_with_site_update("")),
        (
            "a real change beside a no-op",
            push_with_site_update(&format!("{no_field_change},{real_change}")),
        ),
    ];
    for (what, message) in &cases {
        let reply = String::from_utf8(server.handle_message(message.as_bytes())).unwrap();
        assert!(reply.contains("changes nothing"), "{what}: {reply}");
        assert_eq!(server.snapshot(), (0, inventory()), "{what}");
    }
    // The real change alone is committed.
    let reply = server.handle_message(push_with_site_update(&real_change).as_bytes());
    assert_eq!(reply, b"{\"accepted\":{\"version\":1}}\n");
}

#[test]
fn a_client_older_than_the_retained_versions_gets_the_whole_state_and_merges_it() {
    let limits = Limits {
        retained_versions: 2,
        ..Limits::default()
    };
    let (server, address) = start_with(inventory(), limits);
    let mut a = Client::connect(address).unwrap();
    let mut b = Client::connect(address).unwrap();
    for region in ["one", "two", "three"] {
        ams(&mut a.state).region = region.into();
        a.push().unwrap();
    }
    assert_eq!(a.version, 3);
    let pull =
        |base: usize| server.handle_message(format!("{{\"pull\":{{\"base\":{base}}}}}").as_bytes());
    assert!(pull(1).starts_with(b"{\"changes\":{\"version\":3,"));
    assert!(pull(0).starts_with(b"{\"state\":{\"version\":3,"));
    assert!(String::from_utf8(pull(9)).unwrap().contains("no version 9"));

    // b, at version 0 with a local edit, pushes: the whole state comes back instead of a
    // diff, b merges it keeping its edit, and pushes again.
    b.state.sites.insert(site("lon", 1, 1)).unwrap();
    assert!(b.push().unwrap().is_empty());
    assert_eq!(b.version, 4);
    assert_eq!(ams(&mut b.state).region, "three");
    assert!(b.state.sites.contains(&SiteKey { name: "lon".into() }));
    assert_eq!(server.snapshot(), (4, b.state.clone()));
    // a, at version 3, pulls a diff; a client at version 0 with an edit pulls the state.
    assert!(a.pull().unwrap().is_empty());
    assert_eq!((a.version, &a.state), (4, &b.state));
    let mut c = Client::connect(address).unwrap();
    c.version = 0;
    c.base = inventory();
    c.state = inventory();
    c.state.sites.insert(site("par", 1, 1)).unwrap();
    assert!(c.pull().unwrap().is_empty());
    assert_eq!(c.version, 4);
    assert!(c.state.sites.contains(&SiteKey { name: "par".into() }));
    assert!(c.state.sites.contains(&SiteKey { name: "lon".into() }));
}

#[test]
fn a_non_utf8_line_is_refused_and_the_pipelined_requests_after_it_are_served() {
    let (_server, address) = start();
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .write_all(b"\xff\xfe{\"pull\":\n\"hello\"\n{\"pull\":{\"base\":0}}\n")
        .unwrap();
    let mut reader = BufReader::new(stream);
    let refused = read_reply(&mut reader);
    assert!(
        rejection(&refused).starts_with("malformed message"),
        "{refused:?}"
    );
    assert!(matches!(
        read_reply(&mut reader),
        Response::State { version: 0, .. }
    ));
    assert!(matches!(
        read_reply(&mut reader),
        Response::Changes { version: 0, .. }
    ));
}

/// A random edit of `state`: a region, a new site, a removed site, a device's role, a
/// removed interface.
fn edited(state: &Inventory, rng: &mut impl rand::Rng) -> Inventory {
    let mut next = state.clone();
    let names: Vec<String> = next.sites.keys().map(|key| key.name.clone()).collect();
    let picked = names
        .get(rng.random_range(0..names.len().max(1)))
        .map(|name| SiteKey { name: name.clone() });
    match (rng.random_range(0..5), picked) {
        (0, Some(key)) => {
            next.sites.get_mut(&key).unwrap().region = format!("r{}", rng.random_range(0..4));
        }
        (1, Some(key)) => {
            next.sites.remove(&key);
        }
        (2, Some(key)) => {
            let role = format!("role{}", rng.random_range(0..3));
            let mut site = next.sites.get_mut(&key).unwrap();
            let first = site.devices.keys().next();
            if let Some(first) = first {
                site.devices.modify(&first, |device| device.role = role);
            }
        }
        (3, Some(key)) => {
            let mut site = next.sites.get_mut(&key).unwrap();
            let first = site.devices.keys().next();
            if let Some(first) = first {
                site.devices.modify(&first, |device| {
                    let interface = device.interfaces.keys().next();
                    if let Some(interface) = interface {
                        device.interfaces.remove(&interface);
                    }
                });
            }
        }
        _ => {
            let name = format!("s{}", rng.random_range(0..1000));
            next.sites.upsert(site(&name, rng.random_range(0..3), 1));
        }
    }
    next
}

/// One byte-level mutation of `message`: a flip, an insertion (non-UTF-8 bytes among
/// them), a deletion, a duplication or a truncation.
fn mutated(message: &[u8], rng: &mut impl rand::Rng) -> Vec<u8> {
    let mut bytes = message.to_vec();
    for _ in 0..rng.random_range(1..4) {
        let at = rng.random_range(0..=bytes.len());
        match rng.random_range(0..5) {
            0 if at < bytes.len() => bytes[at] ^= 1 << rng.random_range(0..8),
            1 => {
                let noise = [
                    b'"', b'{', b'}', b'[', b']', b',', b':', b'9', 0xff, 0xc3, b'\n',
                ];
                bytes.insert(at, noise[rng.random_range(0..noise.len())]);
            }
            2 => {
                let end = (at + rng.random_range(1..16)).min(bytes.len());
                bytes.drain(at..end);
            }
            3 => {
                let end = (at + rng.random_range(1..32)).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy);
            }
            _ => bytes.truncate(at),
        }
    }
    bytes
}

fn next_message(
    rng: &mut impl rand::Rng,
    states: &[Inventory],
    corpus: &mut Vec<Vec<u8>>,
) -> Vec<u8> {
    use statesync_suite::remote::Request;
    let head = states.len() - 1;
    let valid = match rng.random_range(0..20) {
        0..=5 => {
            let base = if rng.random_bool(0.7) {
                head
            } else {
                rng.random_range(0..=head)
            };
            let diff = states[base].diff(&edited(&states[base], rng)).unwrap();
            Request::Push { base, diff }
        }
        6 => Request::Pull {
            base: rng.random_range(0..head + 3),
        },
        7 => Request::Hello,
        8 => return (0..rng.random_range(0..64)).map(|_| rng.random()).collect(),
        _ => {
            let seed = &corpus[rng.random_range(0..corpus.len())];
            return mutated(seed, rng);
        }
    };
    let line = serde_json::to_vec(&valid).unwrap();
    if corpus.len() < 64 {
        corpus.push(line.clone());
    } else {
        let at = rng.random_range(0..corpus.len());
        corpus[at] = line.clone();
    }
    line
}

/// The seeded, deterministic counterpart of the fuzz target of the server's messages:
/// thousands of valid, mutated and random messages to `Server::handle_message`. Each gets
/// one reply line; a reply other than `accepted` leaves the state exactly as it was and is
/// given again for the same bytes; an accepted push changes something and keeps every
/// child under its parent; changes and whole states sent back rebuild the head.
#[test]
fn random_and_mutated_messages_never_panic_and_change_nothing_unless_accepted() {
    use rand::SeedableRng;
    use statesync_suite::remote::{MAX_ERROR_TEXT, Request};

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let limits = Limits {
        retained_versions: 4,
        ..Limits::default()
    };
    let server = Server::with_limits(inventory(), limits).unwrap();
    let mut states = vec![inventory()];
    let mut corpus = vec![b"\"hello\"".to_vec()];
    let (mut accepted, mut refused, mut answered) = (0, 0, 0);
    for _ in 0..3000 {
        let message = next_message(&mut rng, &states, &mut corpus);
        let before = server.snapshot();
        let reply = server.handle_message(&message);
        assert_eq!(reply.last(), Some(&b'\n'));
        let response: Response = serde_json::from_slice(&reply).unwrap();
        if let Response::Accepted { version } = response {
            let after = server.snapshot();
            assert_eq!((version, after.0), (before.0 + 1, before.0 + 1));
            assert!(!before.1.diff(&after.1).unwrap().is_empty());
            statesync_suite::json_file::check_parents(&after.1).unwrap();
            let round_trip: Inventory =
                serde_json::from_str(&serde_json::to_string(&after.1).unwrap()).unwrap();
            assert_eq!(round_trip, after.1);
            states.push(after.1);
            accepted += 1;
            continue;
        }
        assert_eq!(
            server.snapshot(),
            before,
            "{}",
            String::from_utf8_lossy(&message)
        );
        assert_eq!(server.handle_message(&message), reply, "deterministic");
        let base = match serde_json::from_slice::<Request>(&message) {
            Ok(Request::Pull { base } | Request::Push { base, .. }) => Some(base),
            _ => None,
        };
        match response {
            Response::Rejected { error } => {
                assert!(error.len() <= MAX_ERROR_TEXT + 16, "{error}");
                refused += 1;
            }
            Response::Changes { version, diff } | Response::Stale { version, diff } => {
                let mut rebuilt = states[base.unwrap()].clone();
                rebuilt.apply(&diff).unwrap();
                assert_eq!((version, &rebuilt), (before.0, &before.1));
                answered += 1;
            }
            Response::State { version, state } => {
                assert_eq!((version, &state), (before.0, &before.1));
                answered += 1;
            }
            Response::Accepted { .. } => unreachable!(),
        }
    }
    assert!(
        accepted > 100 && refused > 1000 && answered > 100,
        "{accepted} {refused} {answered}"
    );
}

#[test]
fn concurrent_pushes_to_one_version_commit_one_and_answer_the_others_stale() {
    let server = Server::new(inventory()).unwrap();
    let pushes: Vec<_> = (0..4)
        .map(|at| {
            let server = server.clone();
            std::thread::spawn(move || {
                let mut next = inventory();
                next.sites.insert(site(&format!("new{at}"), 1, 1)).unwrap();
                let diff = inventory().diff(&next).unwrap();
                let message = format!(
                    "{{\"push\":{{\"base\":0,\"diff\":{}}}}}",
                    serde_json::to_string(&diff).unwrap()
                );
                serde_json::from_slice::<Response>(&server.handle_message(message.as_bytes()))
                    .unwrap()
            })
        })
        .collect();
    let answers: Vec<Response> = pushes.into_iter().map(|h| h.join().unwrap()).collect();
    let accepted = answers
        .iter()
        .filter(|answer| matches!(answer, Response::Accepted { version: 1 }))
        .count();
    assert_eq!(accepted, 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|answer| matches!(answer, Response::Accepted { .. } | Response::Stale { .. })),
        "{answers:?}"
    );
    assert_eq!(server.snapshot().0, 1);
}

#[test]
fn a_long_pull_does_not_hold_up_other_requests() {
    let server = Server::new(statesync_suite::dataset::generate(30_000, 3)).unwrap();
    for seed in 0..4 {
        let (version, state) = server.snapshot();
        let diff = state
            .diff(&statesync_suite::dataset::mutate(&state, seed))
            .unwrap();
        let reply = server.handle(statesync_suite::remote::Request::Push {
            base: version,
            diff,
        });
        assert!(matches!(reply, Response::Accepted { .. }), "{reply:?}");
    }
    let long = {
        let server = server.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            let reply = server.handle_message(b"{\"pull\":{\"base\":0}}");
            assert!(reply.starts_with(b"{\"changes\":{\"version\":4,"));
            start.elapsed()
        })
    };
    // Short requests while the long pull replays four versions of 30,000 interfaces.
    let mut slowest = Duration::ZERO;
    while !long.is_finished() {
        let start = Instant::now();
        let reply = server.handle_message(b"{\"pull\":{\"base\":4}}");
        assert!(reply.starts_with(b"{\"changes\":{\"version\":4,"));
        slowest = slowest.max(start.elapsed());
        std::thread::sleep(Duration::from_millis(1));
    }
    let long = long.join().unwrap();
    assert!(
        slowest * 4 < long,
        "a short pull took {slowest:?} while the long one took {long:?}"
    );
}

/// A starting state whose `hello` reply would not fit in a message is refused when the
/// server is made (it served a reply no client could read, and every connect failed); one
/// that fits is served.
#[test]
fn a_starting_state_larger_than_a_message_is_refused() {
    let hello_size = Server::new(inventory())
        .unwrap()
        .handle_message(b"\"hello\"")
        .len();
    let limits = |max_message| Limits {
        max_message,
        ..Limits::default()
    };
    let Err(refused) = Server::with_limits(inventory(), limits(hello_size - 1)) else {
        panic!("a state larger than a message was taken");
    };
    assert_eq!(refused.limit, hello_size - 1);
    // The check leaves room for any version number (`usize::MAX` has 20 digits).
    let server = Server::with_limits(inventory(), limits(hello_size + 19)).unwrap();
    assert_eq!(server.handle_message(b"\"hello\"").len(), hello_size);
}

/// A push that would make the whole state larger than a message is refused: committed, it
/// would make every new client's `Hello` reply unreadable. The state stays servable.
#[test]
fn a_push_that_would_outgrow_a_message_is_refused() {
    use statesync_suite::remote::Request;
    let hello_size = Server::new(inventory())
        .unwrap()
        .handle_message(b"\"hello\"")
        .len();
    let limits = Limits {
        max_message: hello_size + 2_000,
        ..Limits::default()
    };
    let server = Server::with_limits(inventory(), limits.clone()).unwrap();
    let push = |grown: Inventory| {
        let (version, state) = server.snapshot();
        let diff = state.diff(&grown).unwrap();
        server.handle(Request::Push {
            base: version,
            diff,
        })
    };
    let mut big = inventory();
    big.sites.insert(site("big", 10, 10)).unwrap();
    let reply = push(big);
    assert!(
        rejection(&reply).contains("larger than a message"),
        "{reply:?}"
    );
    assert_eq!(server.snapshot(), (0, inventory()));
    let mut small = inventory();
    small.sites.insert(site("lon", 1, 1)).unwrap();
    assert!(matches!(push(small), Response::Accepted { version: 1 }));
    let hello = server.handle_message(b"\"hello\"");
    assert!(hello.len() <= limits.max_message, "{}", hello.len());
}

/// A push is held to the inventory's invariants as a loaded file is: a device name reused
/// in another site (the database's `device.name` is unique) is refused, and the state the
/// server hands out stays one `json_file::load` and the SQLite adapter accept.
#[test]
fn a_push_that_reuses_a_device_name_in_another_site_is_refused() {
    use statesync_suite::remote::Request;
    let server = Server::new(inventory()).unwrap();
    let mut reused = inventory();
    reused
        .sites
        .get_mut(&SiteKey { name: "nyc".into() })
        .unwrap()
        .devices
        .insert(statesync_suite::fixtures::device("nyc", "ams-d0", 1))
        .unwrap();
    let diff = inventory().diff(&reused).unwrap();
    let reply = server.handle(Request::Push { base: 0, diff });
    assert!(rejection(&reply).contains("ams-d0"), "{reply:?}");
    assert_eq!(server.snapshot(), (0, inventory()));
}

/// A diff can be larger than either state it joins (a delete carries the whole subtree it
/// removes): a pull or a stale push whose diff would not fit in a message is answered with
/// the whole state, which always fits, so no client is locked out of catching up.
#[test]
fn a_diff_larger_than_a_message_is_answered_with_the_whole_state() {
    use statesync_suite::remote::Request;
    let initial = {
        let mut state = Inventory::default();
        state.sites.insert(site("ams", 6, 6)).unwrap();
        state
    };
    let mut replaced = Inventory::default();
    replaced.sites.insert(site("lon", 6, 6)).unwrap();
    let state_size = Server::new(initial.clone())
        .unwrap()
        .handle_message(b"\"hello\"")
        .len();
    let limits = Limits {
        max_message: state_size + 2_000,
        ..Limits::default()
    };
    let server = Server::with_limits(initial.clone(), limits.clone()).unwrap();
    let diff = initial.diff(&replaced).unwrap();
    assert!(matches!(
        server.handle(Request::Push { base: 0, diff }),
        Response::Accepted { version: 1 }
    ));
    let pull = server.handle_message(b"{\"pull\":{\"base\":0}}");
    assert!(pull.len() <= limits.max_message, "{}", pull.len());
    match serde_json::from_slice::<Response>(&pull).unwrap() {
        Response::State { version, state } => assert_eq!((version, state), (1, replaced.clone())),
        other => panic!("not the whole state: {other:?}"),
    }
    // A stale push from version 0 gets the same.
    let mut edited = initial.clone();
    ams(&mut edited).region = "apac".into();
    let diff = initial.diff(&edited).unwrap();
    let reply = server.handle(Request::Push { base: 0, diff });
    let line = serde_json::to_vec(&reply).unwrap();
    assert!(line.len() <= limits.max_message, "{}", line.len());
    assert!(
        matches!(reply, Response::State { version: 1, .. }),
        "{reply:?}"
    );
    // A diff that fits is still sent as a diff.
    assert!(
        server
            .handle_message(b"{\"pull\":{\"base\":1}}")
            .starts_with(b"{\"changes\":")
    );
}

/// One address cannot take every byte in flight: its connections together hold at most
/// its share, and a client from another address is served while they hold it (four
/// connections of almost a whole message each used to fill the budget and keep every
/// other request refused as busy).
#[test]
fn one_address_holds_at_most_its_share_of_the_bytes_in_flight() {
    let limits = Limits {
        max_message: 32 * 1024,
        max_in_flight: 100 * 1024,
        max_in_flight_per_peer: 40 * 1024,
        message_deadline: Duration::from_secs(5),
        ..Limits::default()
    };
    let (server, address) = start_with(inventory(), limits);
    let padding = vec![b' '; 30 * 1024];
    let pull = b"{\"pull\":{\"base\":0}}\n";
    let hoarders: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut hoarder = connect_from([127, 0, 0, 1], address, None);
            hoarder.write_all(&padding).unwrap();
            hoarder
        })
        .collect();
    // Every hoarder's bytes have arrived once the server has read what fits of them.
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        server.bytes_in_flight() <= 40 * 1024,
        "{}",
        server.bytes_in_flight()
    );
    let mut other = connect_from([127, 0, 0, 2], address, None);
    other.write_all(&padding[..20 * 1024]).unwrap();
    other.write_all(pull).unwrap();
    let answer = read_reply(&mut BufReader::new(other.try_clone().unwrap()));
    assert!(
        matches!(answer, Response::Changes { version: 0, .. }),
        "{answer:?}"
    );
    drop(hoarders);
    assert!(wait_until(Duration::from_secs(5), || server
        .bytes_in_flight()
        == 0));
}
