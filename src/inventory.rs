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

/// The parent a model names in its own fields (`device.site`, `interface.device`), checked
/// against the one it sits under. The adapters write a row under the parent it names, so a
/// model built in memory under another parent (`json_file::load` refuses such a file) would
/// go there while memory keeps it where it sits: their create and update hooks refuse it.
///
/// ```
/// use statesync::sync::Parents;
/// use statesync_suite::inventory::{Device, ParentField};
///
/// let device = Device {
///     site: "ams".into(),
///     name: "ams-d0".into(),
///     role: "leaf".into(),
///     model: "qfx".into(),
///     serial: "1".into(),
///     interfaces: Default::default(),
/// };
/// // Outside any site (as a hook of a test may be called): nothing to check.
/// assert!(device.check_parent(&Parents::default()).is_ok());
/// ```
pub trait ParentField {
    /// An error naming both parents when the model names another parent than the one it
    /// sits under in `parents`.
    ///
    /// # Errors
    /// As said, as text.
    fn check_parent(&self, parents: &statesync::sync::Parents) -> Result<(), String>;
}

/// The error when `named` (the model's `field`) is not `parent`.
fn named_parent(field: &str, named: &str, parent: Option<&str>) -> Result<(), String> {
    match parent {
        Some(parent) if parent != named => {
            Err(format!("sits under {parent} but its {field} names {named}"))
        }
        _ => Ok(()),
    }
}

/// A site is the child of the root, which it names nowhere.
impl ParentField for Site {
    fn check_parent(&self, _parents: &statesync::sync::Parents) -> Result<(), String> {
        Ok(())
    }
}

impl ParentField for Device {
    fn check_parent(&self, parents: &statesync::sync::Parents) -> Result<(), String> {
        let site = parents.key::<Site>().map(|key| key.name.as_str());
        named_parent("site", &self.site, site)
    }
}

impl ParentField for Interface {
    fn check_parent(&self, parents: &statesync::sync::Parents) -> Result<(), String> {
        let device = parents.key::<Device>().map(|key| key.name.as_str());
        named_parent("device", &self.device, device)
    }
}
