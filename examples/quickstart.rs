//! Diffs two small inventories, prints the plan and the counts, applies the diff and shows
//! that nothing is left to do.

use statesync::{DiffModel, Store};
use statesync_suite::inventory::{Device, Interface, Inventory, Site};

fn interface(device: &str, name: &str, mtu: u32) -> Interface {
    Interface {
        device: device.into(),
        name: name.into(),
        description: String::new(),
        enabled: true,
        mtu,
        mode: "access".into(),
        vlans: vec![10, 20],
    }
}

fn device(site: &str, name: &str, role: &str, ports: u32) -> Result<Device, statesync::Error> {
    Ok(Device {
        site: site.into(),
        name: name.into(),
        role: role.into(),
        model: "qfx5120".into(),
        serial: format!("SN-{name}"),
        interfaces: Store::try_from_iter(
            (0..ports).map(|port| interface(name, &format!("et-0/0/{port}"), 1500)),
        )?,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut current = Inventory::default();
    let mut site = Site {
        name: "nyc".into(),
        region: "amer".into(),
        devices: Store::new(),
    };
    site.devices.insert(device("nyc", "sw1", "leaf", 3)?)?;
    site.devices.insert(device("nyc", "sw2", "leaf", 3)?)?;
    current.sites.insert(site)?;

    let mut desired = current.clone();
    let nyc = desired
        .sites
        .get_mut(&statesync_suite::inventory::SiteKey { name: "nyc".into() })
        .ok_or("nyc is missing")?;
    nyc.region = "us-east".into();
    let sw1 = nyc
        .devices
        .get_mut(&statesync_suite::inventory::DeviceKey {
            site: "nyc".into(),
            name: "sw1".into(),
        })
        .ok_or("sw1 is missing")?;
    sw1.role = "spine".into();
    sw1.interfaces.upsert(interface("sw1", "et-0/0/0", 9216));
    nyc.devices.remove(&statesync_suite::inventory::DeviceKey {
        site: "nyc".into(),
        name: "sw2".into(),
    });
    nyc.devices.insert(device("nyc", "sw3", "border", 2)?)?;

    let diff = current.diff(&desired)?;
    println!("plan:\n{diff}");
    println!("summary: {}", diff.summary());
    current.apply(&diff)?;
    let again = current.diff(&desired)?;
    println!("after apply: {}", again.summary());
    assert!(again.is_empty());
    Ok(())
}
