//! A server and two clients exchange serialised diffs over a loopback TCP connection:
//! a full sync first, then incremental diffs both ways. A push made against a stale version
//! is refused; the client merges the server's changes three-way and pushes again. A
//! malformed message, a non-UTF-8 line or a push that changes nothing is refused and
//! changes nothing; the connection goes on with the next line.
//!
//! `cargo run --example client_server`

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;

use statesync::DiffModel;
use statesync_suite::cli::Command;
use statesync_suite::fixtures::{inventory, site};
use statesync_suite::inventory::SiteKey;
use statesync_suite::remote::{Client, Server};

const COMMAND: Command = Command {
    name: "client_server",
    about: "A server and two clients exchange diffs over loopback TCP: pushes, stale pushes merged three-way, hostile lines refused.",
    options: &[],
};

fn main() -> ExitCode {
    COMMAND.main(|_| run())
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let server = Server::new(inventory())?;
    let serving = server.clone();
    std::thread::spawn(move || serving.listen(listener));
    statesync_suite::say!("server on {address}, version {}", server.snapshot().0)?;

    let mut alice = Client::connect(address)?;
    let mut bob = Client::connect(address)?;
    statesync_suite::say!(
        "alice and bob have the full state ({} sites) at version {}",
        alice.state.sites.len(),
        alice.version
    )?;

    let ams = SiteKey { name: "ams".into() };
    if let Some(mut site) = alice.state.sites.get_mut(&ams) {
        site.region = "eu-west".into();
    }
    alice.push()?;
    statesync_suite::say!(
        "alice pushed a region change: now version {}",
        alice.version
    )?;

    bob.state.sites.insert(site("lon", 1, 2))?;
    if let Some(mut site) = bob.state.sites.get_mut(&ams) {
        site.region = "emea-2".into();
    }
    let conflicts = bob.push()?;
    statesync_suite::say!(
        "bob pushed against version 0: refused as stale, merged, pushed again as version {}",
        bob.version
    )?;
    for conflict in &conflicts {
        statesync_suite::say!("  conflict, bob's value kept: {conflict}")?;
    }

    alice.pull()?;
    let (version, state) = server.snapshot();
    statesync_suite::say!(
        "alice pulled version {version}; alice = server: {}, bob = server: {}",
        alice.state.diff(&state)?.is_empty(),
        bob.state.diff(&state)?.is_empty()
    )?;

    // Three hostile lines sent at once, then a well-formed pull: each gets its answer.
    let mut hostile = TcpStream::connect(address)?;
    hostile.write_all(b"{\"push\":{\"base\":2,\"diff\":\"rm -rf\"}}\n")?;
    hostile.write_all(b"\xff\xfe not UTF-8\n")?;
    let no_op = r#"{"push":{"base":2,"diff":{"model":"inventory","elements":[{"key":{},"action":{"update":{"fields":{},"children":{"sites":{"model":"site","elements":[],"unchanged":3}}}}}],"unchanged":0}}}"#;
    hostile.write_all(format!("{no_op}\n{{\"pull\":{{\"base\":2}}}}\n").as_bytes())?;
    let mut replies = BufReader::new(hostile);
    for what in [
        "a hostile message",
        "a non-UTF-8 line",
        "a push that changes nothing",
    ] {
        let mut answer = String::new();
        replies.read_line(&mut answer)?;
        statesync_suite::say!("{what}: {}", answer.trim())?;
    }
    let mut answer = String::new();
    replies.read_line(&mut answer)?;
    statesync_suite::say!("and the pull after them: {}", answer.trim())?;
    statesync_suite::say!("server still at version {}", server.snapshot().0)?;

    if server.snapshot().0 != version
        || !answer.starts_with("{\"changes\"")
        || conflicts.len() != 1
        || !alice.state.diff(&state)?.is_empty()
    {
        return Err("the exchange did not end in agreement".into());
    }
    Ok(())
}
