//! A server and clients over a real loopback TCP connection.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

use statesync::DiffModel;
use statesync_suite::fixtures::{inventory, site};
use statesync_suite::inventory::{DeviceKey, Inventory, SiteKey};
use statesync_suite::remote::{Client, Server};

fn start() -> (Server, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let server = Server::new(inventory());
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
    assert_eq!(conflicts[0].path, "inventory.sites[name=ams].region");
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
