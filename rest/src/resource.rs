//! The client's calls per model type, behind one trait, so an async adapter can write one
//! generic hook for sites, devices and interfaces alike.

use std::future::Future;

use statesync::DiffModel;
use statesync_suite::inventory::{Device, Interface, Site};

use crate::client::{Client, Error};

/// A model the service stores: its create, update and delete through a [`Client`]. Each
/// model holds its parents' keys (a device names its site, an interface its device), so
/// the calls need nothing else. The futures are `Send`, for multi-threaded runtimes.
///
/// ```
/// use statesync_rest::{Client, Error, Resource};
///
/// /// One hook body for every model type.
/// async fn create<M: Resource>(client: &Client, model: &M) -> Result<(), Error> {
///     model.create(client).await
/// }
/// ```
pub trait Resource: DiffModel {
    /// Creates the model (without its children).
    fn create(&self, client: &Client) -> impl Future<Output = Result<(), Error>> + Send;

    /// Changes the attributes `changes` names to their values in `self`.
    fn update(
        &self,
        changes: &Self::Changes,
        client: &Client,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// Deletes the model (its children must be gone).
    fn delete(&self, client: &Client) -> impl Future<Output = Result<(), Error>> + Send;
}

impl Resource for Site {
    fn create(&self, client: &Client) -> impl Future<Output = Result<(), Error>> + Send {
        client.create_site(self)
    }

    fn update(
        &self,
        changes: &Self::Changes,
        client: &Client,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        client.update_site(self, changes)
    }

    async fn delete(&self, client: &Client) -> Result<(), Error> {
        client.delete_site(&self.key()).await
    }
}

impl Resource for Device {
    fn create(&self, client: &Client) -> impl Future<Output = Result<(), Error>> + Send {
        client.create_device(self)
    }

    fn update(
        &self,
        changes: &Self::Changes,
        client: &Client,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        client.update_device(self, changes)
    }

    async fn delete(&self, client: &Client) -> Result<(), Error> {
        client.delete_device(&self.key()).await
    }
}

impl Resource for Interface {
    fn create(&self, client: &Client) -> impl Future<Output = Result<(), Error>> + Send {
        client.create_interface(self)
    }

    fn update(
        &self,
        changes: &Self::Changes,
        client: &Client,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        client.update_interface(self, changes)
    }

    async fn delete(&self, client: &Client) -> Result<(), Error> {
        client.delete_interface(&self.key()).await
    }
}
