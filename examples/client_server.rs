//! A server and two clients exchange serialised diffs over a loopback TCP connection:
//! a full sync first, then incremental diffs both ways. A push made against a stale version
//! is refused; the client merges the server's changes three-way and pushes again. A
//! malformed message is refused and changes nothing.
//!
//! `cargo run --example client_server`

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};

use statesync::DiffModel;
use statesync_suite::fixtures::{inventory, site};
use statesync_suite::inventory::SiteKey;
use statesync_suite::remote::{Client, Server};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let server = Server::new(inventory());
    let serving = server.clone();
    std::thread::spawn(move || serving.listen(listener));
    println!("server on {address}, version {}", server.snapshot().0);

    let mut alice = Client::connect(address)?;
    let mut bob = Client::connect(address)?;
    println!(
        "alice and bob have the full state ({} sites) at version {}",
        alice.state.sites.len(),
        alice.version
    );

    let ams = SiteKey { name: "ams".into() };
    if let Some(mut site) = alice.state.sites.get_mut(&ams) {
        site.region = "eu-west".into();
    }
    alice.push()?;
    println!(
        "alice pushed a region change: now version {}",
        alice.version
    );

    bob.state.sites.insert(site("lon", 1, 2))?;
    if let Some(mut site) = bob.state.sites.get_mut(&ams) {
        site.region = "emea-2".into();
    }
    let conflicts = bob.push()?;
    println!(
        "bob pushed against version 0: refused as stale, merged, pushed again as version {}",
        bob.version
    );
    for conflict in &conflicts {
        println!("  conflict, bob's value kept: {conflict}");
    }

    alice.pull()?;
    let (version, state) = server.snapshot();
    println!(
        "alice pulled version {version}; alice = server: {}, bob = server: {}",
        alice.state.diff(&state)?.is_empty(),
        bob.state.diff(&state)?.is_empty()
    );

    let mut hostile = TcpStream::connect(address)?;
    hostile.write_all(b"{\"push\":{\"base\":2,\"diff\":\"rm -rf\"}}\n")?;
    let mut answer = String::new();
    BufReader::new(hostile).read_line(&mut answer)?;
    println!("a hostile message: {}", answer.trim());
    println!("server still at version {}", server.snapshot().0);

    if server.snapshot().0 != version
        || conflicts.len() != 1
        || !alice.state.diff(&state)?.is_empty()
    {
        return Err("the exchange did not end in agreement".into());
    }
    Ok(())
}
