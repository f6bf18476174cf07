//! The JSON bodies of the service's endpoints, shared by the service and the client so the
//! two cannot drift apart. Every body refuses unknown fields: a misspelt field is a 400,
//! not silently dropped.

use serde::{Deserialize, Serialize};

/// A site row: the body of `POST /sites`, and an element of [`InventoryRows::sites`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteRow {
    /// The site's name (its key).
    pub name: String,
    /// The region it is in.
    pub region: String,
}

/// The body of `PATCH /sites/{name}`: the attributes to change; an absent one is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SitePatch {
    /// The new region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// The body of `POST /sites/{site}/devices`: a device without its site, which the path
/// names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    /// The device's name, unique across sites (interfaces refer to it by name alone).
    pub name: String,
    /// Its role.
    pub role: String,
    /// Its hardware model.
    pub model: String,
    /// Its serial number.
    pub serial: String,
}

/// A device row, as `GET /inventory` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceRow {
    /// The site it is in.
    pub site: String,
    /// The device's name.
    pub name: String,
    /// Its role.
    pub role: String,
    /// Its hardware model.
    pub model: String,
    /// Its serial number.
    pub serial: String,
}

/// The body of `PATCH /sites/{site}/devices/{name}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevicePatch {
    /// The new role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The new hardware model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The new serial number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
}

/// The body of `POST /devices/{device}/interfaces`: an interface without its device, which
/// the path names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewInterface {
    /// The interface's name, unique on its device.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Administrative state.
    pub enabled: bool,
    /// MTU in bytes.
    pub mtu: u32,
    /// `access` or `trunk`.
    pub mode: String,
    /// VLAN ids.
    pub vlans: Vec<u16>,
}

/// An interface row, as `GET /inventory` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterfaceRow {
    /// The device it is on.
    pub device: String,
    /// The interface's name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Administrative state.
    pub enabled: bool,
    /// MTU in bytes.
    pub mtu: u32,
    /// `access` or `trunk`.
    pub mode: String,
    /// VLAN ids.
    pub vlans: Vec<u16>,
}

/// The body of `PATCH /devices/{device}/interfaces/{name}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterfacePatch {
    /// The new description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The new administrative state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The new MTU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// The new mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// The new VLAN ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlans: Option<Vec<u16>>,
}

/// The body of `GET /inventory`: every row of every table, parents before children and
/// each table in insertion order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryRows {
    /// The sites.
    pub sites: Vec<SiteRow>,
    /// The devices.
    pub devices: Vec<DeviceRow>,
    /// The interfaces.
    pub interfaces: Vec<InterfaceRow>,
}

/// Why the service refused a request: the kind of refusal, machine-readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// A create of a key that exists (409).
    Duplicate,
    /// A create whose parent does not exist (409, the foreign key).
    MissingParent,
    /// A delete of an element that still has children (409, `ON DELETE RESTRICT`).
    HasChildren,
    /// A patch or delete of a key that does not exist (404).
    NotFound,
    /// A body that is not the endpoint's JSON (400).
    BadRequest,
    /// A failure injected by the service's configuration: nothing was done (500).
    Injected,
    /// The database failed (500).
    Internal,
}

/// The JSON body of every error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// The kind of refusal.
    pub error: ErrorKind,
    /// What happened, for people.
    pub message: String,
}

/// The body of `GET /stats`: what the service has counted since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stats {
    /// Requests to the inventory endpoints (not `/stats`), answered or not.
    pub requests: u64,
    /// Creates refused because the key existed.
    pub duplicates: u64,
    /// Creates refused because the parent did not exist.
    pub missing_parents: u64,
    /// Deletes refused because the element still had children.
    pub has_children: u64,
    /// Patches and deletes of keys that did not exist.
    pub not_found: u64,
    /// Requests answered 500 by injection, without doing anything.
    pub injected_failures: u64,
    /// Requests that were carried out and then stalled past the client's timeout by
    /// injection.
    pub injected_stalls: u64,
    /// The most requests to the inventory endpoints the service was serving at once.
    #[serde(default)]
    pub peak_in_flight: u64,
}
