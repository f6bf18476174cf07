//! Reads the tables back into an [`Inventory`]: all of it, or some sites.

use std::collections::HashMap;

use futures_util::{TryStreamExt, pin_mut};
use statesync::Store;
use statesync_suite::inventory::{Device, Interface, Inventory, Site};
use tokio_postgres::GenericClient;
use tokio_postgres::types::ToSql;

use super::Names;
use crate::Error;

/// What to read.
pub(crate) enum Sites<'a> {
    /// Everything.
    All,
    /// These sites, whole.
    Only(&'a [String]),
    /// These sites, each with only those of its devices that are named here.
    Devices(&'a [String], &'a [String]),
}

impl<'a> Sites<'a> {
    /// The `WHERE` of the site query, and its parameters.
    fn sites(&self) -> (&'static str, Vec<&(dyn ToSql + Sync)>) {
        match self {
            Sites::All => ("", Vec::new()),
            Sites::Only(sites) | Sites::Devices(sites, _) => (
                " WHERE name = ANY($1::text[])",
                vec![sites as &(dyn ToSql + Sync)],
            ),
        }
    }

    /// The `WHERE` of the device query, and its parameters.
    fn devices(&self) -> (&'static str, Vec<&(dyn ToSql + Sync)>) {
        match self {
            Sites::All => ("", Vec::new()),
            Sites::Only(sites) => (
                " WHERE site = ANY($1::text[])",
                vec![sites as &(dyn ToSql + Sync)],
            ),
            Sites::Devices(sites, devices) => (
                " WHERE site = ANY($1::text[]) AND name = ANY($2::text[])",
                vec![sites as &(dyn ToSql + Sync), devices as &(dyn ToSql + Sync)],
            ),
        }
    }
}

pub(crate) async fn load(
    client: &impl GenericClient,
    names: &Names,
    sites: Sites<'_>,
) -> Result<Inventory, Error> {
    let mut devices = load_devices(client, names, &sites).await?;
    // For some sites, the interfaces of their devices by name: an index scan of the
    // interface key's first column, whatever the planner knows of the tables.
    let device_names: Vec<&str> = devices.keys().map(String::as_str).collect();
    let (filter, interface_params): (&str, Vec<&(dyn ToSql + Sync)>) = match sites {
        Sites::All => ("", Vec::new()),
        Sites::Only(_) | Sites::Devices(..) => {
            (" WHERE device = ANY($1::text[])", vec![&device_names])
        }
    };
    let sql = format!(
        "SELECT device, name, description, enabled, mtu, mode, vlans FROM {}{filter} \
         ORDER BY device, name",
        names.interface
    );
    let rows = client
        .query_raw(&sql, interface_params.iter().copied())
        .await?;
    pin_mut!(rows);
    while let Some(row) = rows.try_next().await? {
        let interface = interface(&row)?;
        let (_, device) = devices.get_mut(&interface.device).ok_or_else(|| {
            Error::BadRow(format!(
                "interface[device={}, name={}]: no such device",
                interface.device, interface.name
            ))
        })?;
        device.interfaces.insert(interface)?;
    }

    let (filter, params) = sites.sites();
    let sql = format!(
        "SELECT name, region FROM {}{filter} ORDER BY name",
        names.site
    );
    let mut inventory = Inventory::default();
    for row in client.query(&sql, &params).await? {
        let name: String = cell(&row, 0, &|| "site".to_owned())?;
        let region = cell(&row, 1, &|| format!("site[name={name}]"))?;
        inventory.sites.insert(Site {
            name,
            region,
            devices: Store::new(),
        })?;
    }
    let mut ordered: Vec<(usize, Device)> = devices.into_values().collect();
    ordered.sort_unstable_by_key(|(at, _)| *at);
    for (_, device) in ordered {
        let mut site = inventory
            .sites
            .get_mut(&statesync_suite::inventory::SiteKey {
                name: device.site.clone(),
            })
            .ok_or_else(|| {
                Error::BadRow(format!(
                    "device[site={}, name={}]: no such site",
                    device.site, device.name
                ))
            })?;
        site.devices.insert(device)?;
    }
    Ok(inventory)
}

/// The devices by name, with their place in key order.
async fn load_devices(
    client: &impl GenericClient,
    names: &Names,
    sites: &Sites<'_>,
) -> Result<HashMap<String, (usize, Device)>, Error> {
    let (filter, params) = sites.devices();
    let sql = format!(
        "SELECT site, name, role, model, serial FROM {}{filter} ORDER BY site, name",
        names.device
    );
    let mut devices = HashMap::new();
    for (at, row) in client.query(&sql, &params).await?.iter().enumerate() {
        let site: String = cell(row, 0, &|| "device".to_owned())?;
        let name: String = cell(row, 1, &|| format!("device[site={site}]"))?;
        let element = || format!("device[site={site}, name={name}]");
        let device = Device {
            role: cell(row, 2, &element)?,
            model: cell(row, 3, &element)?,
            serial: cell(row, 4, &element)?,
            site,
            name,
            interfaces: Store::new(),
        };
        devices.insert(device.name.clone(), (at, device));
    }
    Ok(devices)
}

fn interface(row: &tokio_postgres::Row) -> Result<Interface, Error> {
    let device: String = cell(row, 0, &|| "interface".to_owned())?;
    let name: String = cell(row, 1, &|| format!("interface[device={device}]"))?;
    let element = || format!("interface[device={device}, name={name}]");
    let bad = |what: String| Error::BadRow(format!("{}: {what}", element()));
    let mtu: i64 = cell(row, 4, &element)?;
    let mtu = u32::try_from(mtu).map_err(|_| bad(format!("mtu {mtu} is not a u32")))?;
    let vlans: Vec<Option<i32>> = cell(row, 6, &element)?;
    let vlans = vlans
        .iter()
        .map(|&vlan| match vlan {
            Some(vlan) => u16::try_from(vlan).map_err(|_| bad(format!("vlan {vlan} is not a u16"))),
            None => Err(bad("a vlan is NULL".to_owned())),
        })
        .collect::<Result<Vec<u16>, Error>>()?;
    Ok(Interface {
        description: cell(row, 2, &element)?,
        enabled: cell(row, 3, &element)?,
        mode: cell(row, 5, &element)?,
        mtu,
        vlans,
        device,
        name,
    })
}

/// Column `at` of `row`, or [`Error::BadRow`] naming the element (`element()`) and the
/// column when it does not read as `T` (a `NULL`, another type).
fn cell<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a tokio_postgres::Row,
    at: usize,
    element: &dyn Fn() -> String,
) -> Result<T, Error> {
    row.try_get(at).map_err(|error| {
        let column = row.columns().get(at).map_or("?", |column| column.name());
        // The driver's own text names the column by number only; its source says why.
        let reason = std::error::Error::source(&error)
            .map_or_else(|| error.to_string(), ToString::to_string);
        Error::BadRow(format!("{}: column {column}: {reason}", element()))
    })
}
