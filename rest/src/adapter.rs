//! [`RestAdapter`]: the async hooks that sync the inventory models into the service.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use statesync::sync::{AsyncAdapter, AsyncHooks, HookError, Parents, SyncReport, Transient};
use statesync_suite::inventory::{Inventory, ParentField};

use crate::client::{Client, Error};
use crate::resource::Resource;

/// Syncs the inventory models into the service through its [`Client`], one request per
/// element, with statesync's async engine (many requests at once, parents first, children
/// deleted first).
///
/// Which errors are retried: the service's own `5xx`, a `429 Too Many Requests` or a
/// failed connection (nothing happened) always, after the wait the answer's `Retry-After`
/// asks for when it does (the engine holds back every call for it, and does not retry
/// when it is longer than the retry policy's `max_backoff`); a timeout, a connection lost after sending, or a gateway's `5xx`
/// (the change may have happened: [`Error::outcome_unknown`]) only for an update, which is
/// idempotent. A create or delete whose outcome is unknown is not sent
/// again, so the engine never causes a duplicate (`409`); it fails in the report, memory
/// keeps the element as it was, and the next sync, from [`Client::load`], finds what the
/// service holds and converges. An update whose attempt's outcome was unknown (a timeout,
/// a connection lost after sending, a gateway's `5xx`) and whose retries then fail is
/// reported with [`Error::EarlierAttemptUnknown`]: it may have been made.
///
/// ```no_run
/// use statesync::sync::{AsyncSyncModel, AsyncSyncOptions, RetryPolicy};
/// use statesync_rest::{Client, ClientConfig, RestAdapter};
/// use statesync_suite::fixtures;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::new("http://127.0.0.1:8080", &ClientConfig::default())?;
/// let mut target = client.load().await?; // what the service holds
/// let options = AsyncSyncOptions::default()
///     .max_in_flight(64)
///     .retry(RetryPolicy::attempts(5))
///     .sleep(|d| Box::pin(tokio::time::sleep(d)));
/// let report = target
///     .sync_from_async(&fixtures::inventory(), &RestAdapter::new(client), options)
///     .await?;
/// println!("{report}");
/// # Ok(())
/// # }
/// ```
///
/// The adapter remembers the updates whose outcome is unknown until
/// [`AsyncAdapter::sync_finished`]: run one sync at a time through it. A clone starts with
/// a record of its own (and shares the client's connections), so concurrent syncs each
/// take a clone. A sync whose future is dropped never finishes: its record stays for the
/// next sync through the adapter, which may then call a failure of the same element
/// possibly made.
#[derive(Debug)]
pub struct RestAdapter {
    client: Client,
    /// The elements (`site[name=ams]`) whose update's outcome is unknown in this sync (an
    /// attempt timed out, lost its connection after sending or got a gateway's `5xx`): a
    /// later attempt that fails still says the change may have been made, so that the
    /// report never says "nothing was done" of a change that was.
    uncertain: Arc<Mutex<HashSet<String>>>,
}

impl RestAdapter {
    /// An adapter that sends its requests through `client`.
    pub fn new(client: Client) -> Self {
        Self {
            client,
            uncertain: Arc::default(),
        }
    }

    fn uncertain(&self) -> MutexGuard<'_, HashSet<String>> {
        self.uncertain
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// A clone shares the client and starts with an empty record of uncertain updates: a
/// record shared between two syncs would be cleared by the first to finish.
impl Clone for RestAdapter {
    fn clone(&self) -> Self {
        Self::new(self.client.clone())
    }
}

/// The client's error as a hook error: [`Transient`] when sending it again is safe, with
/// the wait the answer asked for (`Retry-After`), if any.
fn hook_error(error: Error, idempotent: bool) -> HookError {
    if error.is_transient() && (idempotent || !error.outcome_unknown()) {
        let wait = error.retry_after();
        let transient = Transient::new(error);
        match wait {
            Some(wait) => transient.after(wait).into(),
            None => transient.into(),
        }
    } else {
        error.into()
    }
}

impl AsyncAdapter for RestAdapter {
    /// Forgets the updates whose outcome was unknown: the next sync starts from what the
    /// service holds.
    fn sync_finished(&self, _report: &SyncReport) -> impl Future<Output = ()> + Send {
        self.uncertain().clear();
        std::future::ready(())
    }
}

/// The root has no row of its own.
impl AsyncHooks<Inventory> for RestAdapter {}

/// A create or update of a model under another parent than it names is refused before any
/// request ([`ParentField`]): it would go to the parent it names.
impl<M> AsyncHooks<M> for RestAdapter
where
    M: Resource + ParentField + Send + Sync,
    M::Changes: Sync,
{
    async fn create(&self, model: &M, parents: &Parents) -> Result<(), HookError> {
        model.check_parent(parents)?;
        model
            .create(&self.client)
            .await
            .map_err(|error| hook_error(error, false))
    }

    async fn update(
        &self,
        model: &M,
        changes: &M::Changes,
        parents: &Parents,
    ) -> Result<(), HookError> {
        model.check_parent(parents)?;
        let element = format!("{}[{}]", M::NAME, model.key());
        match model.update(changes, &self.client).await {
            Ok(()) => {
                self.uncertain().remove(&element);
                Ok(())
            }
            Err(error) if error.outcome_unknown() => {
                self.uncertain().insert(element);
                Err(hook_error(error, true))
            }
            Err(error) if self.uncertain().contains(&element) => {
                let error = Error::EarlierAttemptUnknown {
                    last: Box::new(error),
                };
                Err(hook_error(error, true))
            }
            Err(error) => Err(hook_error(error, true)),
        }
    }

    async fn delete(&self, model: &M, _parents: &Parents) -> Result<(), HookError> {
        model
            .delete(&self.client)
            .await
            .map_err(|error| hook_error(error, false))
    }
}
