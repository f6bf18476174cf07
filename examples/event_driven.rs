//! Event-driven, incremental sync: typed change events arrive on a channel, the source is
//! edited through a `Store` that tracks the keys it touched, and each sync diffs only the
//! touched sites, so it costs what the events changed, not the size of the inventory.
//! A full diff of the same states is timed in the same run for comparison.
//!
//! `cargo run --release --example event_driven -- --interfaces 1000000 --events 100`

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Instant;

use statesync::DiffModel;
use statesync::sync::{HookError, InMemory, SyncOptions};
use statesync_suite::cli::{Args, Command, Opt};
use statesync_suite::dataset::generate;
use statesync_suite::inventory::{DeviceKey, Interface, InterfaceKey, Inventory, SiteKey};

/// A change to the inventory, as a monitoring system would report it.
enum Event {
    /// An interface's MTU changed.
    Mtu {
        device: String,
        name: String,
        mtu: u32,
    },
    /// An interface was administratively disabled.
    Disabled { device: String, name: String },
    /// A new interface appeared.
    Added(Interface),
    /// An interface disappeared.
    Removed { device: String, name: String },
}

const COMMAND: Command = Command {
    name: "event_driven",
    about: "Event-driven, incremental sync: change events edit the source, and each sync diffs \
            only the sites they touched.",
    options: &[
        Opt::value(
            "--interfaces",
            &["N"],
            "interfaces in the inventory (default 50000)",
        ),
        Opt::value("--events", &["N"], "events to handle (default 100)"),
    ],
};

/// A producer: `count` events spread over the inventory, sent on a channel.
fn produce(inventory: &Inventory, count: usize) -> mpsc::Receiver<Event> {
    let ports: Vec<(String, String)> = inventory
        .sites
        .iter()
        .flat_map(|site| site.devices.iter())
        .flat_map(|device| device.interfaces.iter())
        .map(|i| (i.device.clone(), i.name.clone()))
        .collect();
    let step = (ports.len() / count.max(1)).max(1);
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for (at, (device, name)) in ports.into_iter().step_by(step).take(count).enumerate() {
            let event = match at % 4 {
                0 => Event::Mtu {
                    device,
                    name,
                    mtu: 4470,
                },
                1 => Event::Disabled { device, name },
                2 => Event::Removed { device, name },
                _ => Event::Added(Interface {
                    name: format!("lo-{at}"),
                    description: "loopback".into(),
                    enabled: true,
                    mtu: 65535,
                    mode: "access".into(),
                    vlans: vec![],
                    device,
                }),
            };
            if sender.send(event).is_err() {
                return;
            }
        }
    });
    receiver
}

/// Applies one event to the source; the touched site is recorded by its `Store`.
fn handle(
    source: &mut Inventory,
    sites: &HashMap<String, String>,
    event: Event,
) -> Result<(), HookError> {
    let device = match &event {
        Event::Mtu { device, .. }
        | Event::Disabled { device, .. }
        | Event::Removed { device, .. } => device,
        Event::Added(interface) => &interface.device,
    };
    let site = sites.get(device).ok_or("unknown device")?.clone();
    let device_key = DeviceKey {
        site: site.clone(),
        name: device.clone(),
    };
    let mut site = source
        .sites
        .get_mut(&SiteKey { name: site })
        .ok_or("unknown device")?;
    let mut device = site.devices.get_mut(&device_key).ok_or("unknown device")?;
    let interfaces = &mut device.interfaces;
    match event {
        Event::Mtu { device, name, mtu } => {
            if let Some(mut port) = interfaces.get_mut(&InterfaceKey { device, name }) {
                port.mtu = mtu;
            }
        }
        Event::Disabled { device, name } => {
            if let Some(mut port) = interfaces.get_mut(&InterfaceKey { device, name }) {
                port.enabled = false;
            }
        }
        Event::Removed { device, name } => drop(interfaces.remove(&InterfaceKey { device, name })),
        Event::Added(interface) => drop(interfaces.upsert(interface)),
    }
    Ok(())
}

fn main() -> ExitCode {
    COMMAND.main(run)
}

fn run(args: Args) -> Result<(), HookError> {
    let interfaces = args.size_or(
        "--interfaces",
        50_000,
        statesync_suite::dataset::MAX_INTERFACES,
    )?;
    let events = args.parsed_or("--events", 100)?;
    let mut source = generate(interfaces, 1);
    let mut target = source.clone();
    let sites: HashMap<String, String> = source
        .sites
        .iter()
        .flat_map(|site| site.devices.iter())
        .map(|device| (device.name.clone(), device.site.clone()))
        .collect();
    statesync_suite::say!("inventory of {interfaces} interfaces, in sync; {events} events coming")?;

    source.sites.track_changes();
    let mut handled = 0;
    for event in produce(&source, events) {
        handle(&mut source, &sites, event)?;
        handled += 1;
    }
    let touched = source.sites.touched().map_or(0, Iterator::count);

    // The full diff of the same two states, for comparison (not applied).
    let started = Instant::now();
    let full = target.diff(&source)?;
    let full_ms = started.elapsed().as_secs_f64() * 1e3;

    // The incremental sync: diff the touched sites only, then sync them.
    let started = Instant::now();
    let diff = target.sites.diff_touched(&source.sites)?;
    let report = target
        .sites
        .sync_diff(&diff, &mut InMemory, SyncOptions::default());
    let incremental_ms = started.elapsed().as_secs_f64() * 1e3;
    if report.is_success() {
        source.sites.take_touched();
    }

    let changes = diff.summary().changes();
    statesync_suite::say!("handled {handled} events touching {touched} sites: {changes} changes")?;
    statesync_suite::say!("incremental diff + sync: {incremental_ms:.2} ms ({report})")?;
    statesync_suite::say!(
        "full diff of the same states: {full_ms:.2} ms ({} changes)",
        full.summary().changes()
    )?;
    let left = target.diff(&source)?.summary().changes();
    statesync_suite::say!("after the incremental sync, a full diff finds {left} changes")?;
    if left != 0 || changes != full.summary().changes() || !report.is_success() {
        return Err("the incremental sync missed something".into());
    }
    Ok(())
}
