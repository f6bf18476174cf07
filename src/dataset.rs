//! A seeded generator of inventories in the shape of `shared/data-schema.md`, and its
//! mutation pass: the same arguments always give the same state.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use statesync::Store;

use crate::inventory::{Device, Interface, Inventory, Site};

/// Interfaces per device, as in the dataset's typical shape.
pub const INTERFACES_PER_DEVICE: usize = 48;
/// Devices per site, as in the dataset's typical shape.
pub const DEVICES_PER_SITE: usize = 10;

const REGIONS: &[&str] = &["emea", "amer", "apac"];
const ROLES: &[&str] = &["leaf", "spine", "border"];
const MODELS: &[&str] = &["qfx5120", "qfx5200", "mx204"];
const DESCRIPTIONS: &[&str] = &["uplink", "server", "storage", "peer-link", ""];

fn pick<'a>(rng: &mut ChaCha8Rng, from: &[&'a str]) -> &'a str {
    from.get(rng.random_range(0..from.len()))
        .copied()
        .unwrap_or_default()
}

fn interface(rng: &mut ChaCha8Rng, device: &str, name: String) -> Interface {
    let trunk = rng.random_bool(0.5);
    let vlans = if trunk {
        let count = rng.random_range(1..5);
        let mut vlans: Vec<u16> = (0..count).map(|_| rng.random_range(1..40) * 10).collect();
        vlans.sort_unstable();
        vlans.dedup();
        vlans
    } else {
        vec![rng.random_range(1..40) * 10]
    };
    Interface {
        device: device.to_owned(),
        name,
        description: pick(rng, DESCRIPTIONS).to_owned(),
        enabled: rng.random_bool(0.9),
        mtu: if rng.random_bool(0.5) { 9216 } else { 1500 },
        mode: if trunk { "trunk" } else { "access" }.to_owned(),
        vlans,
    }
}

fn interface_name(at: usize) -> String {
    format!("et-{}/0/{}", at / 64, at % 64)
}

fn device(rng: &mut ChaCha8Rng, site: &str, number: usize, interfaces: usize) -> Device {
    let name = format!("{site}-dev-{number:03}");
    let mut store = Store::with_capacity(interfaces);
    for at in 0..interfaces {
        store.upsert(interface(rng, &name, interface_name(at)));
    }
    Device {
        site: site.to_owned(),
        role: pick(rng, ROLES).to_owned(),
        model: pick(rng, MODELS).to_owned(),
        serial: format!("SN{}{number:03}", site.trim_start_matches("site-")),
        interfaces: store,
        name,
    }
}

fn site_name(number: usize) -> String {
    format!("site-{number:04}")
}

/// The most interfaces (or changes) the examples generate. A million interfaces are a
/// dataset file of about 130 MB and peak at about 800 MB in the benchmark (two inventories
/// and their diff), so five million stay within [`crate::json_file::DEFAULT_MAX_BYTES`] and
/// a machine's memory; a larger number asked on a command line is refused rather than left
/// to grow until the process is killed.
pub const MAX_INTERFACES: usize = 5_000_000;

/// An inventory of exactly `interfaces` interfaces: 48 per device, 10 devices per site.
pub fn generate(interfaces: usize, seed: u64) -> Inventory {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut sites = Store::new();
    let mut left = interfaces;
    let mut site_number = 1;
    while left > 0 {
        let name = site_name(site_number);
        let mut devices = Store::new();
        for number in 1..=DEVICES_PER_SITE {
            if left == 0 {
                break;
            }
            let count = left.min(INTERFACES_PER_DEVICE);
            left -= count;
            devices.upsert(device(&mut rng, &name, number, count));
        }
        sites.upsert(Site {
            region: pick(&mut rng, REGIONS).to_owned(),
            name,
            devices,
        });
        site_number += 1;
    }
    Inventory { sites }
}

/// Changes one or two attributes of an interface.
fn change_interface(rng: &mut ChaCha8Rng, interface: &mut Interface) {
    for _ in 0..rng.random_range(1..=2) {
        match rng.random_range(0..4) {
            0 => interface.enabled = !interface.enabled,
            1 => interface.mtu = if interface.mtu == 1500 { 9216 } else { 1500 },
            2 => interface.description = format!("changed-{}", rng.random_range(0..100)),
            _ => interface.vlans.push(999),
        }
    }
}

/// The mutation pass: about 5% of interfaces change in one or two attributes, about 2%
/// are added and 2% removed, a few devices and one site are removed and added.
pub fn mutate(inventory: &Inventory, seed: u64) -> Inventory {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut sites = Store::with_capacity(inventory.sites.len() + 1);
    let removed_site =
        (inventory.sites.len() > 2).then(|| rng.random_range(0..inventory.sites.len()));
    for (site_at, site) in inventory.sites.iter().enumerate() {
        if Some(site_at) == removed_site {
            continue;
        }
        let mut devices = Store::with_capacity(site.devices.len());
        for device in &site.devices {
            if rng.random_bool(0.005) {
                continue;
            }
            let mut interfaces = Store::with_capacity(device.interfaces.len() + 2);
            let mut added = 0;
            for interface in &device.interfaces {
                let roll: f64 = rng.random();
                if roll < 0.02 {
                    continue;
                }
                let mut kept = interface.clone();
                if roll < 0.07 {
                    change_interface(&mut rng, &mut kept);
                }
                interfaces.upsert(kept);
                if rng.random_bool(0.02) {
                    added += 1;
                    let name = format!("ae-{added}");
                    interfaces.upsert(self::interface(&mut rng, &device.name, name));
                }
            }
            devices.upsert(Device {
                interfaces,
                ..device.clone()
            });
        }
        if rng.random_bool(0.01) {
            let number = 100 + site.devices.len();
            devices.upsert(self::device(
                &mut rng,
                &site.name,
                number,
                INTERFACES_PER_DEVICE,
            ));
        }
        sites.upsert(Site {
            devices,
            ..site.clone()
        });
    }
    let name = site_name(9000 + inventory.sites.len());
    let mut devices = Store::new();
    devices.upsert(device(&mut rng, &name, 1, INTERFACES_PER_DEVICE));
    sites.upsert(Site {
        name,
        region: pick(&mut rng, REGIONS).to_owned(),
        devices,
    });
    Inventory { sites }
}

/// How many interfaces an inventory holds.
pub fn interface_count(inventory: &Inventory) -> usize {
    inventory
        .sites
        .iter()
        .flat_map(|site| site.devices.iter())
        .map(|device| device.interfaces.len())
        .sum()
}
