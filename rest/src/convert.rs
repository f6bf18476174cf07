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
    /// A device name listed in two sites: device names are unique across sites (an
    /// interface row names its device alone), so its interfaces could not be placed.
    #[error("device {device} is listed in site {first} and in site {second}")]
    DeviceInTwoSites {
        /// The device.
        device: String,
        /// The site it was listed in first.
        first: String,
        /// The other site.
        second: String,
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
    /// [`RowsError`]: a key listed twice, a device name listed in two sites, or a child
    /// whose parent is not listed.
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
            if let Some(first) = device_site.insert(device.name.clone(), device.site.clone())
                && first != device.site
            {
                return Err(RowsError::DeviceInTwoSites {
                    device: device.name,
                    first,
                    second: device.site,
                });
            }
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::RowsError;
    use crate::wire::{DeviceRow, InterfaceRow, InventoryRows, SiteRow};

    fn rows(device_sites: &[&str]) -> InventoryRows {
        InventoryRows {
            sites: ["a", "b"]
                .map(|name| SiteRow {
                    name: name.into(),
                    region: "eu".into(),
                })
                .into(),
            devices: device_sites
                .iter()
                .map(|site| DeviceRow {
                    site: (*site).into(),
                    name: "d".into(),
                    role: "leaf".into(),
                    model: "m".into(),
                    serial: "s".into(),
                })
                .collect(),
            interfaces: vec![InterfaceRow {
                device: "d".into(),
                name: "i1".into(),
                description: String::new(),
                enabled: true,
                mtu: 1500,
                mode: "access".into(),
                vlans: vec![],
            }],
        }
    }

    /// Before, the rows were taken, the interfaces filed under the device of the site read
    /// last (found by an outside tester, from a broken peer's answer).
    #[test]
    fn a_device_name_in_two_sites_is_refused() {
        let refused = rows(&["a", "b"]).into_inventory();
        assert!(
            matches!(&refused, Err(RowsError::DeviceInTwoSites { device, first, second })
                if device == "d" && first == "a" && second == "b"),
            "{refused:?}"
        );
        assert!(matches!(
            rows(&["a", "a"]).into_inventory(),
            Err(RowsError::Key(statesync::Error::DuplicateKey { .. }))
        ));
        let inventory = rows(&["b"]).into_inventory().unwrap();
        let site = inventory
            .sites
            .iter()
            .find(|site| site.name == "b")
            .unwrap();
        let device = site.devices.iter().next().unwrap();
        assert_eq!(device.interfaces.len(), 1);
    }
}
