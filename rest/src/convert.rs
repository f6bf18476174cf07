//! Between the inventory models and the service's JSON bodies: a model becomes the body of
//! its create, a model's changes the body of its patch, and the rows of `GET /inventory`
//! become an [`Inventory`] again.

use std::collections::HashMap;

use statesync::{Change, Store};
use statesync_suite::inventory::{
    Device, DeviceChanges, DeviceKey, Interface, InterfaceChanges, Inventory, Site, SiteChanges,
    SiteKey,
};

use crate::wire::{
    DevicePatch, InterfacePatch, InventoryRows, NewDevice, NewInterface, SitePatch, SiteRow,
};

/// The new value of a changed attribute.
fn new_value<T: Clone>(change: Option<&Change<T>>) -> Option<T> {
    change.map(|change| change.new.clone())
}

impl From<&Site> for SiteRow {
    fn from(site: &Site) -> Self {
        Self {
            name: site.name.clone(),
            region: site.region.clone(),
        }
    }
}

impl From<&SiteChanges> for SitePatch {
    fn from(changes: &SiteChanges) -> Self {
        Self {
            region: new_value(changes.region.as_ref()),
        }
    }
}

impl From<&Device> for NewDevice {
    fn from(device: &Device) -> Self {
        Self {
            name: device.name.clone(),
            role: device.role.clone(),
            model: device.model.clone(),
            serial: device.serial.clone(),
        }
    }
}

impl From<&DeviceChanges> for DevicePatch {
    fn from(changes: &DeviceChanges) -> Self {
        Self {
            role: new_value(changes.role.as_ref()),
            model: new_value(changes.model.as_ref()),
            serial: new_value(changes.serial.as_ref()),
        }
    }
}

impl From<&Interface> for NewInterface {
    fn from(interface: &Interface) -> Self {
        Self {
            name: interface.name.clone(),
            description: interface.description.clone(),
            enabled: interface.enabled,
            mtu: interface.mtu,
            mode: interface.mode.clone(),
            vlans: interface.vlans.clone(),
        }
    }
}

impl From<&InterfaceChanges> for InterfacePatch {
    fn from(changes: &InterfaceChanges) -> Self {
        Self {
            description: new_value(changes.description.as_ref()),
            enabled: new_value(changes.enabled.as_ref()),
            mtu: new_value(changes.mtu.as_ref()),
            mode: new_value(changes.mode.as_ref()),
            vlans: new_value(changes.vlans.as_ref()),
        }
    }
}

/// Why rows do not form an inventory.
#[derive(Debug, thiserror::Error)]
pub enum RowsError {
    /// A row's key is listed twice.
    #[error(transparent)]
    Key(#[from] statesync::Error),
    /// A device of a site that is not listed.
    #[error("device {device} is in site {site}, which is not listed")]
    NoSite {
        /// The device.
        device: String,
        /// Its site.
        site: String,
    },
    /// An interface of a device that is not listed.
    #[error("interface {interface} is on device {device}, which is not listed")]
    NoDevice {
        /// The interface.
        interface: String,
        /// Its device.
        device: String,
    },
}

impl InventoryRows {
    /// Builds the models from the rows.
    ///
    /// # Errors
    /// [`RowsError`]: a key listed twice, or a child whose parent is not listed.
    pub fn into_inventory(self) -> Result<Inventory, RowsError> {
        let mut inventory = Inventory::default();
        for site in self.sites {
            inventory.sites.insert(Site {
                name: site.name,
                region: site.region,
                devices: Store::new(),
            })?;
        }
        // Device names are unique across sites: an interface row names its device alone.
        let mut device_site = HashMap::with_capacity(self.devices.len());
        for device in self.devices {
            let key = SiteKey {
                name: device.site.clone(),
            };
            let Some(mut site) = inventory.sites.get_mut(&key) else {
                return Err(RowsError::NoSite {
                    device: device.name,
                    site: device.site,
                });
            };
            device_site.insert(device.name.clone(), device.site.clone());
            site.devices.insert(Device {
                site: device.site,
                name: device.name,
                role: device.role,
                model: device.model,
                serial: device.serial,
                interfaces: Store::new(),
            })?;
        }
        for interface in self.interfaces {
            let keys = device_site.get(&interface.device).map(|site| {
                let device = DeviceKey {
                    site: site.clone(),
                    name: interface.device.clone(),
                };
                (SiteKey { name: site.clone() }, device)
            });
            let known = keys.as_ref().is_some_and(|(site, device)| {
                inventory
                    .sites
                    .get(site)
                    .is_some_and(|site| site.devices.get(device).is_some())
            });
            let (Some((site, device)), true) = (keys, known) else {
                return Err(RowsError::NoDevice {
                    interface: interface.name,
                    device: interface.device,
                });
            };
            let row = Interface {
                device: interface.device,
                name: interface.name,
                description: interface.description,
                enabled: interface.enabled,
                mtu: interface.mtu,
                mode: interface.mode,
                vlans: interface.vlans,
            };
            inventory
                .sites
                .modify(&site, |site| {
                    site.devices
                        .modify(&device, |device| device.interfaces.insert(row))
                })
                .flatten()
                .transpose()?;
        }
        Ok(inventory)
    }
}
