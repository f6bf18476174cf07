//! Small builders for the inventory models, for tests and examples.

use crate::inventory::{Device, Interface, Inventory, Site};
use statesync::Store;

/// An interface with default attributes.
pub fn interface(device: &str, name: &str) -> Interface {
    Interface {
        device: device.into(),
        name: name.into(),
        description: format!("{name} on {device}"),
        enabled: true,
        mtu: 1500,
        mode: "access".into(),
        vlans: vec![10],
    }
}

/// A device with `ports` interfaces `et-0`, `et-1`, ...
pub fn device(site: &str, name: &str, ports: usize) -> Device {
    let mut interfaces = Store::new();
    for port in 0..ports {
        interfaces
            .insert(interface(name, &format!("et-{port}")))
            .unwrap();
    }
    Device {
        site: site.into(),
        name: name.into(),
        role: "leaf".into(),
        model: "qfx".into(),
        serial: format!("SN-{name}"),
        interfaces,
    }
}

/// A site with `devices` devices of `ports` interfaces each.
pub fn site(name: &str, devices: usize, ports: usize) -> Site {
    let mut store = Store::new();
    for at in 0..devices {
        store
            .insert(device(name, &format!("{name}-d{at}"), ports))
            .unwrap();
    }
    Site {
        name: name.into(),
        region: "emea".into(),
        devices: store,
    }
}

/// Two sites of two devices of three interfaces: 2 + 4 + 12 = 18 elements, plus the root.
pub fn inventory() -> Inventory {
    let mut sites = Store::new();
    sites.insert(site("ams", 2, 3)).unwrap();
    sites.insert(site("nyc", 2, 3)).unwrap();
    Inventory { sites }
}

/// An empty directory for an example's files (emptied first if an earlier run left one).
///
/// # Errors
/// The I/O error.
pub fn fresh_dir(path: &str) -> std::io::Result<std::path::PathBuf> {
    let dir = std::path::PathBuf::from(path);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// A `cargo` command run from the workspace root, for tests that run the examples
/// (`cargo().args(["run", "--example", "inventory"])`): the examples write their demo files
/// under the root's `target/`, whichever package the test belongs to.
pub fn cargo() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO"));
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    command
}

/// `cargo run --quiet --example NAME --` run from `dir`, so that the example writes its demo
/// files (`target/...`, relative to where it runs) under `dir`; arguments for the example
/// follow.
pub fn example_in(dir: &std::path::Path, name: &str) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO"));
    command.current_dir(dir).args([
        "run",
        "--quiet",
        "--manifest-path",
        concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
        "--example",
        name,
        "--",
    ]);
    command
}
