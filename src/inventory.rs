//! The inventory models in the shape of `shared/data-schema.md`. Their serde form refuses
//! unknown fields: a misspelt field in a source file is an error, not silently dropped.

use serde::{Deserialize, Serialize};
use statesync::{DiffModel, Store};

/// The root: every site.
#[derive(DiffModel, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// The sites, by name.
    #[statesync(children)]
    pub sites: Store<Site>,
}

/// A site, keyed by name.
#[derive(DiffModel, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// The site's name.
    #[statesync(id)]
    pub name: String,
    /// The region it is in.
    pub region: String,
    /// Its devices.
    #[statesync(children)]
    pub devices: Store<Device>,
}

/// A device, keyed by site and name.
#[derive(DiffModel, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    /// The site it is in.
    #[statesync(id)]
    pub site: String,
    /// The device's name.
    #[statesync(id)]
    pub name: String,
    /// Its role (leaf, spine, ...).
    pub role: String,
    /// Its hardware model.
    pub model: String,
    /// Its serial number.
    pub serial: String,
    /// Its interfaces.
    #[statesync(children)]
    pub interfaces: Store<Interface>,
}

/// An interface, keyed by device and name.
#[derive(DiffModel, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interface {
    /// The device it is on.
    #[statesync(id)]
    pub device: String,
    /// The interface's name.
    #[statesync(id)]
    pub name: String,
    /// Free text.
    pub description: String,
    /// Administrative state.
    pub enabled: bool,
    /// MTU in bytes; when both sides change it, the larger wins.
    #[statesync(merge = "max")]
    pub mtu: u32,
    /// `access` or `trunk`.
    pub mode: String,
    /// VLAN ids, compared as a whole; when both sides change them, they merge as sets.
    #[statesync(merge = "union")]
    pub vlans: Vec<u16>,
}
