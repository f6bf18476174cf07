//! A typed async client of the service, over reqwest: one method per endpoint, taking the
//! inventory models themselves, so each method is the body of a sync hook (`create`,
//! `update`, `delete` of one model). Every URL is built from the model's own key, which
//! holds its parents' keys (a device names its site, an interface its device).

use std::time::Duration;

use reqwest::{Method, Response, Url};
use serde::Serialize;
use statesync_suite::inventory::{
    Device, DeviceChanges, DeviceKey, Interface, InterfaceChanges, InterfaceKey, Inventory, Site,
    SiteChanges, SiteKey,
};

use crate::convert::RowsError;
use crate::wire::{
    DevicePatch, ErrorBody, ErrorKind, InterfacePatch, InventoryRows, NewDevice, NewInterface,
    SitePatch, SiteRow, Stats,
};

/// How the client behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The longest one request may take, from sending it to reading the whole answer.
    pub timeout: Duration,
    /// The largest answer body read ([`Error::TooLarge`] beyond it); an error answer's
    /// body is cut at [`ERROR_BODY_LIMIT`] bytes instead. This bounds the bytes read, not
    /// the memory: the rows parsed from `GET /inventory` take about ten times their
    /// JSON's size.
    pub max_body_bytes: usize,
}

/// How much of an error answer's body is kept as its message.
pub const ERROR_BODY_LIMIT: usize = 64 * 1024;

impl Default for ClientConfig {
    /// A 10-second timeout; answers up to 1 GiB.
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            max_body_bytes: 1 << 30,
        }
    }
}

/// Why a call failed. [`Error::is_transient`] tells whether trying again may succeed;
/// [`Error::outcome_unknown`] whether the change may have happened anyway.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The base URL cannot take paths (`mailto:...`) or does not parse.
    #[error("invalid base URL {url:?}: {reason}")]
    BaseUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("building the HTTP client: {0}")]
    Build(#[source] reqwest::Error),
    /// No answer within the timeout: a change (any request but a `GET`) may or may not
    /// have happened.
    #[error(
        "{request}: no answer within {timeout:?}{}",
        maybe_made(changes(request))
    )]
    Timeout {
        /// The request, as `POST /sites`.
        request: String,
        /// The client's timeout.
        timeout: Duration,
    },
    /// The service could not be reached: the request was not sent.
    #[error("{request}: cannot connect: {source}")]
    Connect {
        /// The request.
        request: String,
        /// reqwest's error.
        source: reqwest::Error,
    },
    /// The connection failed after the request was sent: the outcome is unknown.
    #[error(
        "{request}: the connection failed{}: {source}",
        maybe_made(changes(request))
    )]
    Transport {
        /// The request.
        request: String,
        /// reqwest's error.
        source: reqwest::Error,
    },
    /// The service (or a gateway in front of it) answered with an error status.
    #[error(
        "{request}: {status}: {message}{}",
        maybe_made(changes(request) && gateway_error(*status, *kind))
    )]
    Status {
        /// The request.
        request: String,
        /// The HTTP status.
        status: u16,
        /// The service's kind of refusal, when the body says it.
        kind: Option<ErrorKind>,
        /// The service's message (or the body as text).
        message: String,
        /// How long the answer asks the client to wait before trying again (its
        /// `Retry-After`, in seconds or as a date), when it says.
        retry_after: Option<Duration>,
    },
    /// A successful answer whose body is not what the endpoint returns.
    #[error("{request}: unexpected answer body: {source}")]
    Decode {
        /// The request.
        request: String,
        /// What the body is not.
        source: serde_json::Error,
    },
    /// An answer body larger than [`ClientConfig::max_body_bytes`]: not read further.
    #[error("{request}: the answer is larger than {limit} bytes; not read further")]
    TooLarge {
        /// The request.
        request: String,
        /// The limit.
        limit: usize,
    },
    /// `GET /inventory` returned rows that do not form an inventory.
    #[error("the service's rows do not form an inventory: {0}")]
    Rows(#[from] RowsError),
    /// A retried change failed, but an earlier attempt's outcome is unknown (it timed out,
    /// lost its connection after sending, or was answered a `5xx` by a gateway): the
    /// change may have been made all the same.
    #[error("{last} (an earlier attempt's outcome is unknown: the change may have been made)")]
    EarlierAttemptUnknown {
        /// The last attempt's error.
        last: Box<Error>,
    },
}

impl Error {
    /// Whether trying again may succeed: a timeout, a connection failure, a `5xx` or a
    /// `429 Too Many Requests`. Any other `4xx` (a `409` duplicate or missing parent, a
    /// `404`, a `400`), a bad body or a bad URL is permanent.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Timeout { .. } | Error::Connect { .. } | Error::Transport { .. } => true,
            Error::Status { status, .. } => *status >= 500 || *status == 429,
            Error::BaseUrl { .. }
            | Error::Build(_)
            | Error::Decode { .. }
            | Error::TooLarge { .. }
            | Error::Rows(_) => false,
            Error::EarlierAttemptUnknown { last } => last.is_transient(),
        }
    }

    /// Whether the change may have been made although the call failed: a timeout, a
    /// connection lost after sending a change (a `GET` changes nothing), a `502` or `504`,
    /// or any other `5xx` whose body is not the service's own error (a gateway between the
    /// client and the service, which may have carried the change out before the gateway
    /// gave up on it or lost its answer; the service's own `500` says nothing was done).
    /// A retry must then expect a `409` duplicate (create) or a `404` (delete) for a change
    /// that did happen.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            Error::Timeout { request, .. } | Error::Transport { request, .. } => changes(request),
            Error::Status {
                request,
                status,
                kind,
                ..
            } => changes(request) && gateway_error(*status, *kind),
            Error::EarlierAttemptUnknown { .. } => true,
            _ => false,
        }
    }

    /// The service's kind of refusal, when it answered with one.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            Error::Status { kind, .. } => *kind,
            _ => None,
        }
    }

    /// The HTTP status, when the service answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// How long the answer asked to wait before trying again (`Retry-After`), if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Status { retry_after, .. } => *retry_after,
            Error::EarlierAttemptUnknown { last } => last.retry_after(),
            _ => None,
        }
    }
}

/// A client of one service. Cheap to clone: clones share their connection pool.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    timeout: Duration,
    max_body_bytes: usize,
}

impl Client {
    /// A client of the service at `base_url` (as [`crate::RunningService::url`] gives it).
    /// It never uses a proxy: the service is local.
    ///
    /// # Errors
    /// [`Error::BaseUrl`], [`Error::Build`].
    pub fn new(base_url: &str, config: &ClientConfig) -> Result<Self, Error> {
        let bad = |reason: String| Error::BaseUrl {
            url: base_url.to_owned(),
            reason,
        };
        let base = Url::parse(base_url).map_err(|error| bad(error.to_string()))?;
        if base.cannot_be_a_base() {
            return Err(bad("it cannot take a path".into()));
        }
        // No redirects: a `303` would turn a create into a `GET` that succeeds.
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(Error::Build)?;
        Ok(Self {
            http,
            base,
            timeout: config.timeout,
            max_body_bytes: config.max_body_bytes,
        })
    }

    /// Creates a site (without its devices).
    ///
    /// # Errors
    /// [`Error`]; a site of that name is a `409` [`ErrorKind::Duplicate`].
    pub async fn create_site(&self, site: &Site) -> Result<(), Error> {
        self.send(Method::POST, &["sites"], Some(&SiteRow::from(site)))
            .await
            .map(drop)
    }

    /// Changes the attributes of `site` that `changes` names to their new values.
    ///
    /// # Errors
    /// [`Error`]; an unknown site is a `404`.
    pub async fn update_site(&self, site: &Site, changes: &SiteChanges) -> Result<(), Error> {
        let patch = SitePatch::from(changes);
        self.send(Method::PATCH, &["sites", &site.name], Some(&patch))
            .await
            .map(drop)
    }

    /// Deletes a site.
    ///
    /// # Errors
    /// [`Error`]; a site with devices is a `409` [`ErrorKind::HasChildren`], an unknown
    /// one a `404`.
    pub async fn delete_site(&self, key: &SiteKey) -> Result<(), Error> {
        self.send(Method::DELETE, &["sites", &key.name], None::<&()>)
            .await
            .map(drop)
    }

    /// Creates a device (without its interfaces) in its site.
    ///
    /// # Errors
    /// [`Error`]; a missing site is a `409` [`ErrorKind::MissingParent`], a device of that
    /// name (in any site) a `409` [`ErrorKind::Duplicate`].
    pub async fn create_device(&self, device: &Device) -> Result<(), Error> {
        let body = NewDevice::from(device);
        self.send(
            Method::POST,
            &["sites", &device.site, "devices"],
            Some(&body),
        )
        .await
        .map(drop)
    }

    /// Changes the attributes of `device` that `changes` names.
    ///
    /// # Errors
    /// [`Error`]; an unknown device is a `404`.
    pub async fn update_device(
        &self,
        device: &Device,
        changes: &DeviceChanges,
    ) -> Result<(), Error> {
        let patch = DevicePatch::from(changes);
        let path = ["sites", &device.site, "devices", &device.name];
        self.send(Method::PATCH, &path, Some(&patch))
            .await
            .map(drop)
    }

    /// Deletes a device.
    ///
    /// # Errors
    /// [`Error`]; a device with interfaces is a `409` [`ErrorKind::HasChildren`].
    pub async fn delete_device(&self, key: &DeviceKey) -> Result<(), Error> {
        let path = ["sites", &key.site, "devices", &key.name];
        self.send(Method::DELETE, &path, None::<&()>)
            .await
            .map(drop)
    }

    /// Creates an interface on its device.
    ///
    /// # Errors
    /// [`Error`]; a missing device is a `409` [`ErrorKind::MissingParent`].
    pub async fn create_interface(&self, interface: &Interface) -> Result<(), Error> {
        let body = NewInterface::from(interface);
        let path = ["devices", &interface.device, "interfaces"];
        self.send(Method::POST, &path, Some(&body)).await.map(drop)
    }

    /// Changes the attributes of `interface` that `changes` names.
    ///
    /// # Errors
    /// [`Error`]; an unknown interface is a `404`.
    pub async fn update_interface(
        &self,
        interface: &Interface,
        changes: &InterfaceChanges,
    ) -> Result<(), Error> {
        let patch = InterfacePatch::from(changes);
        let path = ["devices", &interface.device, "interfaces", &interface.name];
        self.send(Method::PATCH, &path, Some(&patch))
            .await
            .map(drop)
    }

    /// Deletes an interface.
    ///
    /// # Errors
    /// [`Error`]; an unknown interface is a `404`.
    pub async fn delete_interface(&self, key: &InterfaceKey) -> Result<(), Error> {
        let path = ["devices", &key.device, "interfaces", &key.name];
        self.send(Method::DELETE, &path, None::<&()>)
            .await
            .map(drop)
    }

    /// The service's rows, as `GET /inventory` lists them.
    ///
    /// # Errors
    /// [`Error`].
    pub async fn rows(&self) -> Result<InventoryRows, Error> {
        self.get(&["inventory"]).await
    }

    /// The service's whole state as models.
    ///
    /// # Errors
    /// [`Error`]; rows that do not form an inventory are [`Error::Rows`].
    pub async fn load(&self) -> Result<Inventory, Error> {
        Ok(self.rows().await?.into_inventory()?)
    }

    /// The service's counters (`GET /stats`).
    ///
    /// # Errors
    /// [`Error`].
    pub async fn stats(&self) -> Result<Stats, Error> {
        self.get(&["stats"]).await
    }

    /// The URL of a path given as segments, each percent-encoded.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        // `new` checked that the base can take a path, so this always succeeds.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, segments: &[&str]) -> Result<T, Error> {
        let (request, response) = self.send(Method::GET, segments, None::<&()>).await?;
        let body = match read_body(response, self.max_body_bytes, true).await {
            Ok(body) => body,
            Err(Cut::Failed(source)) => return Err(self.failure(request, source)),
            Err(Cut::TooLarge(_)) => {
                return Err(Error::TooLarge {
                    request,
                    limit: self.max_body_bytes,
                });
            }
        };
        serde_json::from_slice(&body).map_err(|source| Error::Decode { request, source })
    }

    /// Sends one request; an answer other than `2xx` is an [`Error::Status`].
    async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&B>,
    ) -> Result<(String, Response), Error> {
        let url = self.url(segments);
        let request = format!("{method} {}", url.path());
        let mut builder = self.http.request(method, url);
        if let Some(body) = body {
            builder = builder.json(body);
        }
        let response = match builder.send().await {
            Ok(response) => response,
            Err(source) => return Err(self.failure(request, source)),
        };
        let status = response.status();
        if status.is_success() {
            return Ok((request, response));
        }
        let retry_after = retry_after(&response);
        let text = match read_body(response, ERROR_BODY_LIMIT, false).await {
            Ok(body) | Err(Cut::TooLarge(body)) => String::from_utf8_lossy(&body).into_owned(),
            Err(Cut::Failed(source)) => return Err(self.failure(request, source)),
        };
        let (kind, message) = match serde_json::from_str::<ErrorBody>(&text) {
            Ok(body) => (Some(body.error), body.message),
            Err(_) => (None, text),
        };
        Err(Error::Status {
            request,
            status: status.as_u16(),
            kind,
            message,
            retry_after,
        })
    }

    /// Classifies reqwest's error.
    fn failure(&self, request: String, source: reqwest::Error) -> Error {
        if source.is_timeout() {
            Error::Timeout {
                request,
                timeout: self.timeout,
            }
        } else if source.is_connect() {
            Error::Connect { request, source }
        } else {
            Error::Transport { request, source }
        }
    }
}

/// The wait an answer's `Retry-After` asks for: a number of seconds, or a date (no wait
/// if it has passed). A number of seconds too large for a `u64` is the longest wait
/// there is (HTTP puts no bound on it), which no retry policy waits. A header that is
/// neither is ignored.
fn retry_after(response: &Response) -> Option<Duration> {
    let value = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    wait_asked(value)
}

/// The wait a `Retry-After` value asks for (see [`retry_after`]).
fn wait_asked(value: &str) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(
            value
                .parse::<u64>()
                .map_or(Duration::MAX, Duration::from_secs),
        );
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(
        date.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// Reads an answer's body, at most `limit` bytes: what came before the limit with
/// [`Cut::TooLarge`] beyond it, or at once, reading nothing, when the answer announces a
/// longer body and `refuse_announced` (the rest is not wanted). Memory is reserved as the
/// body comes, never on the length the answer announces.
async fn read_body(
    mut response: Response,
    limit: usize,
    refuse_announced: bool,
) -> Result<Vec<u8>, Cut> {
    if refuse_announced
        && response
            .content_length()
            .is_some_and(|len| len > limit as u64)
    {
        return Err(Cut::TooLarge(Vec::new()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(Cut::Failed)? {
        let room = limit - body.len();
        if chunk.len() > room {
            body.extend_from_slice(chunk.get(..room).unwrap_or_default());
            return Err(Cut::TooLarge(body));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Why a body was not read whole.
enum Cut {
    /// The connection failed (or timed out) while reading.
    Failed(reqwest::Error),
    /// It is longer than the limit: what came before it.
    TooLarge(Vec<u8>),
}

/// Whether an error status is a gateway's that says nothing of what the service did: a
/// `502` or `504`, or another `5xx` without the service's own error body.
fn gateway_error(status: u16, kind: Option<ErrorKind>) -> bool {
    status >= 500 && (matches!(status, 502 | 504) || kind.is_none())
}

/// What an error's message adds for a change whose outcome is unknown.
fn maybe_made(unknown: bool) -> &'static str {
    if unknown {
        "; the change may or may not have been made"
    } else {
        ""
    }
}

/// Whether a request (`POST /sites`) may change the service: all but a `GET`.
fn changes(request: &str) -> bool {
    !request.starts_with("GET ")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::wait_asked;

    #[test]
    fn a_retry_after_is_seconds_or_a_date() {
        assert_eq!(wait_asked(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(
            wait_asked("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(wait_asked("1.5"), None);
        assert_eq!(wait_asked(""), None);
        assert_eq!(wait_asked("-3"), None);
    }

    /// Seconds beyond a `u64` ask for the longest wait, which no retry policy waits (they
    /// were ignored, and the call retried at once: an outside reviewer).
    #[test]
    fn seconds_too_many_to_count_are_the_longest_wait() {
        assert_eq!(wait_asked("99999999999999999999999"), Some(Duration::MAX));
    }
}
