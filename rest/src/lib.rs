#![warn(missing_docs)]
//! A small REST inventory service and a typed async client for it: the network target that
//! statesync's examples and tests sync the inventory models into.
//!
//! The [service] is axum in front of SQLite, with the tables of the inventory
//! (site, device, interface) and their foreign keys enforced: a child cannot be created
//! without its parent, and a parent cannot be deleted while it has children (`ON DELETE
//! RESTRICT`, not `CASCADE`: a sync engine deletes children first). It counts the
//! refusals it makes ([`Stats`]), so a test can assert that a sync never caused one; it
//! delays requests and injects failures on demand ([`Config`]), and starts on a loopback
//! port chosen by the OS.
//!
//! | endpoint | body | answers |
//! | --- | --- | --- |
//! | `POST /sites` | [`SiteRow`] | `201`; `409` duplicate |
//! | `PATCH /sites/{site}` | [`SitePatch`] | `204`; `404` |
//! | `DELETE /sites/{site}` | | `204`; `404`; `409` has children |
//! | `POST /sites/{site}/devices` | [`NewDevice`] | `201`; `409` duplicate or missing parent |
//! | `PATCH /sites/{site}/devices/{name}` | [`DevicePatch`] | `204`; `404` |
//! | `DELETE /sites/{site}/devices/{name}` | | `204`; `404`; `409` has children |
//! | `POST /devices/{device}/interfaces` | [`NewInterface`] | `201`; `409` duplicate or missing parent |
//! | `PATCH /devices/{device}/interfaces/{name}` | [`InterfacePatch`] | `204`; `404` |
//! | `DELETE /devices/{device}/interfaces/{name}` | | `204`; `404` |
//! | `GET /inventory` | | `200` [`InventoryRows`] |
//! | `GET /stats` | | `200` [`Stats`] |
//!
//! The keys follow the models': a site by name, a device by site and name (device names are
//! unique across sites), an interface by device name and name. Every error answer the
//! service makes has an [`ErrorBody`] (hyper itself answers a request it cannot parse,
//! such as one with oversized headers, without one). Bad JSON is a `400`, a body over 2 MB
//! a `413`; injected failures are `500`s (see [`service`] for the failure model: a
//! timed-out request **was** carried out). The demo serves at most
//! [`service::Config::max_connections`] connections at a time (1,024; more wait until one
//! closes) and sets no timeout for idle or slow clients, which can thus hold every place:
//! put it behind a proxy that does before exposing it.
//!
//! The [`Client`] has one method per endpoint, taking the models, and an [`Error`] that
//! says whether it [is transient](Error::is_transient) and whether [the change may have
//! happened](Error::outcome_unknown); [`Client::load`] reads the whole state back as an
//! [`Inventory`](statesync_suite::inventory::Inventory). [`Resource`] gives the same calls
//! per model type behind one trait, for an async adapter's generic hooks.
//!
//! ```
//! use statesync::Store;
//! use statesync_rest::{Client, ClientConfig, Config, Service};
//! use statesync_suite::inventory::Site;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! runtime.block_on(async {
//!     let service = Service::start(Config::default()).await?;
//!     let client = Client::new(&service.url(), &ClientConfig::default())?;
//!     let site = Site { name: "ams1".into(), region: "eu".into(), devices: Store::new() };
//!     client.create_site(&site).await?;
//!
//!     // A second create of the same key is refused, and counted.
//!     let again = client.create_site(&site).await.unwrap_err();
//!     assert_eq!(again.status(), Some(409));
//!     assert!(!again.is_transient());
//!     assert_eq!(service.stats().duplicates, 1);
//!
//!     let inventory = client.load().await?;
//!     assert_eq!(inventory.sites.iter().collect::<Vec<_>>(), [&site]);
//!     service.shutdown().await?;
//!     Ok(())
//! })
//! # }
//! ```

mod adapter;
mod client;
mod convert;
mod db;
mod faults;
mod limit;
mod resource;
pub mod service;
pub mod wire;

pub use adapter::RestAdapter;
pub use client::{Client, ClientConfig, ERROR_BODY_LIMIT, Error};
pub use convert::RowsError;
pub use resource::Resource;
pub use service::{Config, RunningService, Service, StartError};
pub use wire::{
    DevicePatch, DeviceRow, ErrorBody, ErrorKind, InterfacePatch, InterfaceRow, InventoryRows,
    NewDevice, NewInterface, SitePatch, SiteRow, Stats,
};
