//! The REST inventory service: axum in front of a SQLite database, with latency and
//! failures injected per request by a layer in front of the inventory endpoints.
//!
//! The failure model, per mutating request (`POST`, `PATCH`, `DELETE`), drawn from a
//! generator seeded by [`Config::seed`]:
//! - with probability [`Config::failure_rate`], the answer is `500` with an
//!   [`ErrorKind::Injected`] body and **nothing is done**;
//! - with probability [`Config::timeout_rate`], the request **is carried out** and the answer
//!   is then held back for [`Config::stall`], longer than a client's timeout: the client
//!   sees a timeout although the change happened, as with a real system that commits and
//!   then stalls, and must cope with the unknown outcome (a retried create gets a `409`
//!   duplicate, a retried delete a `404`);
//! - otherwise the request is served.
//!
//! Reads (`GET /inventory`, `GET /stats`) never fail by injection, so tests can always
//! compare the service's state; [`Config::latency`] delays every inventory request, reads
//! included (not `/stats`).

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use tokio::net::TcpListener;

use crate::limit::LimitedListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::db::{Database, DbError};
use crate::faults::{Fate, Faults};
use crate::wire::{
    DevicePatch, ErrorBody, ErrorKind, InterfacePatch, InventoryRows, NewDevice, NewInterface,
    SitePatch, SiteRow, Stats,
};

/// How the service behaves. `Config::default()` is a fast, reliable, in-memory service.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Added to every inventory request before it is handled.
    pub latency: Duration,
    /// The fraction of mutating requests answered `500` without being carried out.
    pub failure_rate: f64,
    /// The fraction of mutating requests carried out and then stalled for [`Config::stall`].
    pub timeout_rate: f64,
    /// How long a stalled request is held back; make it longer than the client's timeout.
    pub stall: Duration,
    /// The seed of the failure draw.
    pub seed: u64,
    /// The database file; `None` for a fresh in-memory database.
    pub database: Option<PathBuf>,
    /// Connections served at a time (default 1,024; from 1 to [`MAX_CONNECTIONS`]); more
    /// wait in the kernel's backlog until one closes. Idle keep-alive connections count
    /// (a client's pool keeps them for a while), and each may hold a whole `GET
    /// /inventory` answer that its client does not read; there is no timeout for idle
    /// or slow clients.
    pub max_connections: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            latency: Duration::ZERO,
            failure_rate: 0.0,
            timeout_rate: 0.0,
            stall: Duration::from_secs(10),
            seed: 0,
            database: None,
            max_connections: 1024,
        }
    }
}

impl Config {
    fn check(&self) -> Result<(), StartError> {
        let rate = |rate: f64| rate.is_finite() && (0.0..=1.0).contains(&rate);
        if !rate(self.failure_rate)
            || !rate(self.timeout_rate)
            || self.failure_rate + self.timeout_rate > 1.0
        {
            return Err(StartError::Rates {
                failure_rate: self.failure_rate,
                timeout_rate: self.timeout_rate,
            });
        }
        if self.max_connections == 0 || self.max_connections > MAX_CONNECTIONS {
            return Err(StartError::Connections(self.max_connections));
        }
        Ok(())
    }
}

/// Why the service did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The rates are not fractions, or add up to more than 1.
    #[error(
        "failure rate {failure_rate} and timeout rate {timeout_rate} must be between 0 and 1 \
         and add up to at most 1"
    )]
    Rates {
        /// The failure rate given.
        failure_rate: f64,
        /// The timeout rate given.
        timeout_rate: f64,
    },
    /// `max_connections` is 0 (no request could be served) or above [`MAX_CONNECTIONS`].
    #[error("max_connections {0} is not between 1 and {MAX_CONNECTIONS}")]
    Connections(usize),
    /// The database could not be opened or given its tables.
    #[error("opening the database: {0}")]
    Database(#[from] rusqlite::Error),
    /// The loopback port could not be bound.
    #[error("binding 127.0.0.1: {0}")]
    Bind(#[from] io::Error),
}

/// The most connections a service may be asked to serve at a time.
pub const MAX_CONNECTIONS: usize = 1 << 20;

/// The service; [`Service::start`] runs one.
#[derive(Debug)]
pub struct Service;

impl Service {
    /// Starts a service on `127.0.0.1`, on a port the OS chooses, in the current tokio
    /// runtime (which must have the time and I/O drivers enabled).
    ///
    /// # Errors
    /// [`StartError`].
    pub async fn start(config: Config) -> Result<RunningService, StartError> {
        config.check()?;
        let database = Database::open(config.database.as_deref())?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared {
            database: Arc::new(Mutex::new(database)),
            faults: Faults::new(config.seed, config.failure_rate, config.timeout_rate),
            latency: config.latency,
            stall: config.stall,
            counters: Counters::default(),
        });
        let app = router(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(LimitedListener::new(listener, config.max_connections), app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(RunningService {
            address,
            shared,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

/// A started service. Dropping it stops accepting connections at once; [`RunningService::
/// shutdown`] lets requests in flight finish first.
#[derive(Debug)]
pub struct RunningService {
    address: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl RunningService {
    /// How long [`RunningService::shutdown`] waits for requests in flight.
    pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Its base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// What it has counted so far (also served as `GET /stats`).
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }

    /// Stops accepting connections, waits up to [`RunningService::SHUTDOWN_GRACE`] for the
    /// requests in flight (a stalled request may take longer: it is then abandoned), and
    /// returns. Connections still open then are not closed: a request on one may still be
    /// served, and write to the database, after this returns (drop the runtime to end
    /// them).
    ///
    /// # Errors
    /// The server's I/O error.
    pub async fn shutdown(mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let Some(mut task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(Self::SHUTDOWN_GRACE, &mut task).await {
            Ok(Ok(served)) => served,
            Ok(Err(join)) => Err(io::Error::other(join)),
            Err(_elapsed) => {
                task.abort();
                Ok(())
            }
        }
    }
}

impl Drop for RunningService {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// What the handlers share.
#[derive(Debug)]
struct Shared {
    /// One connection; handlers use it on tokio's blocking threads, one at a time.
    database: Arc<Mutex<Database>>,
    faults: Faults,
    latency: Duration,
    stall: Duration,
    counters: Counters,
}

impl Shared {
    /// Runs `work` on the database on a blocking thread, counting its refusal if any.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Database) -> Result<T, DbError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let database = Arc::clone(&self.database);
        let outcome = tokio::task::spawn_blocking(move || {
            // A panic cannot leave the connection half-updated: SQLite rolls back the
            // statement it was running.
            work(&database.lock().unwrap_or_else(PoisonError::into_inner))
        })
        .await;
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                let error = ApiError::from(error);
                self.counters.count(error.body.error);
                Err(error)
            }
            Err(join) => Err(ApiError::new(ErrorKind::Internal, join.to_string())),
        }
    }
}

/// The counters behind [`Stats`].
#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    duplicates: AtomicU64,
    missing_parents: AtomicU64,
    has_children: AtomicU64,
    not_found: AtomicU64,
    injected_failures: AtomicU64,
    injected_stalls: AtomicU64,
    in_flight: AtomicU64,
    peak_in_flight: AtomicU64,
}

/// Counts a request as in flight from its creation to its drop (answered, or abandoned by
/// a client that hung up).
struct InFlight<'a>(&'a Counters);

impl<'a> InFlight<'a> {
    fn enter(counters: &'a Counters) -> Self {
        let now = counters.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        counters.peak_in_flight.fetch_max(now, Ordering::Relaxed);
        Self(counters)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Counters {
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn count(&self, kind: ErrorKind) {
        match kind {
            ErrorKind::Duplicate => Self::add(&self.duplicates),
            ErrorKind::MissingParent => Self::add(&self.missing_parents),
            ErrorKind::HasChildren => Self::add(&self.has_children),
            ErrorKind::NotFound => Self::add(&self.not_found),
            ErrorKind::Injected => Self::add(&self.injected_failures),
            ErrorKind::BadRequest | ErrorKind::Internal => {}
        }
    }

    fn snapshot(&self) -> Stats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Stats {
            requests: read(&self.requests),
            duplicates: read(&self.duplicates),
            missing_parents: read(&self.missing_parents),
            has_children: read(&self.has_children),
            not_found: read(&self.not_found),
            injected_failures: read(&self.injected_failures),
            injected_stalls: read(&self.injected_stalls),
            peak_in_flight: read(&self.peak_in_flight),
        }
    }
}

/// An error answer: a status and a JSON [`ErrorBody`].
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    fn new(error: ErrorKind, message: String) -> Self {
        let status = match error {
            ErrorKind::Duplicate | ErrorKind::MissingParent | ErrorKind::HasChildren => {
                StatusCode::CONFLICT
            }
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Injected | ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self {
            status,
            body: ErrorBody { error, message },
        }
    }
}

impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::Refused { kind, message } => Self::new(kind, message),
            other => Self::new(ErrorKind::Internal, other.to_string()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    /// A bad request (400), or a body beyond the limit (413, as axum says).
    fn from(rejection: JsonRejection) -> Self {
        let mut error = Self::new(ErrorKind::BadRequest, rejection.body_text());
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            error.status = StatusCode::PAYLOAD_TOO_LARGE;
        }
        error
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// The largest request body the service reads (axum's default, stated here): a larger one
/// is a `413`.
const BODY_LIMIT: usize = 2 << 20;

/// Refuses a request whose declared `Content-Length` is beyond [`BODY_LIMIT`] at once, with
/// a `413`, before its body is read: the limit alone refuses it only once 2 MB of it have
/// come, so a client declaring 3 GB and sending nothing held its connection until then.
async fn declared_size(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    match declared {
        Some(length) if length > BODY_LIMIT as u64 => {
            let mut error = ApiError::new(
                ErrorKind::BadRequest,
                format!("a body of {length} bytes is beyond the limit of {BODY_LIMIT} bytes"),
            );
            error.status = StatusCode::PAYLOAD_TOO_LARGE;
            error.into_response()
        }
        _ => next.run(request).await,
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/sites", post(create_site))
        .route("/sites/{site}", patch(update_site).delete(delete_site))
        .route("/sites/{site}/devices", post(create_device))
        .route(
            "/sites/{site}/devices/{name}",
            patch(update_device).delete(delete_device),
        )
        .route("/devices/{device}/interfaces", post(create_interface))
        .route(
            "/devices/{device}/interfaces/{name}",
            patch(update_interface).delete(delete_interface),
        )
        .route("/inventory", get(inventory))
        .route_layer(middleware::from_fn_with_state(Arc::clone(&shared), inject))
        .route("/stats", get(stats))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(no_route)
        .layer(middleware::from_fn(declared_size))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(shared)
}

/// A request to a path no route takes: 404, with an [`ErrorBody`] saying so.
async fn no_route(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        ErrorKind::NotFound,
        format!("no route for {method} {}", uri.path()),
    )
}

/// A method a route does not take: 405, with an [`ErrorBody`].
async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> ApiError {
    let mut error = ApiError::new(
        ErrorKind::BadRequest,
        format!("{method} is not allowed on {}", uri.path()),
    );
    error.status = StatusCode::METHOD_NOT_ALLOWED;
    error
}

/// The longest name an element may have, in bytes: its URL must stay well within what
/// clients send.
pub const MAX_NAME: usize = 1024;

/// Refuses a name no URL path can carry as one segment: empty, `.` or `..` (which URL
/// rules drop or fold), holding a control character (URL parsers drop a tab, CR or LF
/// from a path, so `a<TAB>b` would reach `ab`), or longer than [`MAX_NAME`].
fn check_name(what: &str, name: &str) -> Result<(), ApiError> {
    if name.is_empty()
        || name == "."
        || name == ".."
        || name.len() > MAX_NAME
        || name.chars().any(char::is_control)
    {
        return Err(ApiError::new(
            ErrorKind::BadRequest,
            format!(
                "a {what} name must not be empty, `.` or `..`, hold a control character, nor be \
                 longer than {MAX_NAME} bytes"
            ),
        ));
    }
    Ok(())
}

/// The latency and failure layer in front of the inventory endpoints.
async fn inject(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    Counters::add(&shared.counters.requests);
    let _in_flight = InFlight::enter(&shared.counters);
    tokio::time::sleep(shared.latency).await;
    // Only writes are drawn for: reads (`GET`, `HEAD`) and requests no route takes are
    // served as they are.
    let fate = if matches!(
        *request.method(),
        Method::POST | Method::PATCH | Method::DELETE
    ) {
        shared.faults.draw()
    } else {
        Fate::Serve
    };
    match fate {
        Fate::Serve => next.run(request).await,
        Fate::Fail => {
            shared.counters.count(ErrorKind::Injected);
            ApiError::new(
                ErrorKind::Injected,
                "injected failure: nothing was done".into(),
            )
            .into_response()
        }
        Fate::Stall => {
            // The change is made (and committed) before the stall, so a client that gives
            // up during it cannot undo it by hanging up.
            let response = next.run(request).await;
            Counters::add(&shared.counters.injected_stalls);
            tokio::time::sleep(shared.stall).await;
            response
        }
    }
}

type Body<T> = Result<Json<T>, JsonRejection>;

/// The keys a path names (`Path`), refused as a `400` with an [`ErrorBody`] when they do not
/// read (a segment that is not UTF-8, `%FF`), as bad JSON is: axum's own rejection is plain
/// text.
struct Keys<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for Keys<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(keys)) => Ok(Keys(keys)),
            Err(rejection) => Err(ApiError::new(ErrorKind::BadRequest, rejection.body_text())),
        }
    }
}
type Answer = Result<StatusCode, ApiError>;

async fn create_site(State(shared): State<Arc<Shared>>, body: Body<SiteRow>) -> Answer {
    let Json(site) = body?;
    check_name("site", &site.name)?;
    shared.run(move |db| db.create_site(&site)).await?;
    Ok(StatusCode::CREATED)
}

async fn update_site(
    State(shared): State<Arc<Shared>>,
    Keys(name): Keys<String>,
    body: Body<SitePatch>,
) -> Answer {
    let Json(patch) = body?;
    shared.run(move |db| db.update_site(&name, &patch)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_site(State(shared): State<Arc<Shared>>, Keys(name): Keys<String>) -> Answer {
    shared.run(move |db| db.delete_site(&name)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn create_device(
    State(shared): State<Arc<Shared>>,
    Keys(site): Keys<String>,
    body: Body<NewDevice>,
) -> Answer {
    let Json(device) = body?;
    check_name("device", &device.name)?;
    shared
        .run(move |db| db.create_device(&site, &device))
        .await?;
    Ok(StatusCode::CREATED)
}

async fn update_device(
    State(shared): State<Arc<Shared>>,
    Keys((site, name)): Keys<(String, String)>,
    body: Body<DevicePatch>,
) -> Answer {
    let Json(patch) = body?;
    shared
        .run(move |db| db.update_device(&site, &name, &patch))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_device(
    State(shared): State<Arc<Shared>>,
    Keys((site, name)): Keys<(String, String)>,
) -> Answer {
    shared.run(move |db| db.delete_device(&site, &name)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn create_interface(
    State(shared): State<Arc<Shared>>,
    Keys(device): Keys<String>,
    body: Body<NewInterface>,
) -> Answer {
    let Json(interface) = body?;
    check_name("interface", &interface.name)?;
    shared
        .run(move |db| db.create_interface(&device, &interface))
        .await?;
    Ok(StatusCode::CREATED)
}

async fn update_interface(
    State(shared): State<Arc<Shared>>,
    Keys((device, name)): Keys<(String, String)>,
    body: Body<InterfacePatch>,
) -> Answer {
    let Json(patch) = body?;
    shared
        .run(move |db| db.update_interface(&device, &name, &patch))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_interface(
    State(shared): State<Arc<Shared>>,
    Keys((device, name)): Keys<(String, String)>,
) -> Answer {
    shared
        .run(move |db| db.delete_interface(&device, &name))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn inventory(State(shared): State<Arc<Shared>>) -> Result<Json<InventoryRows>, ApiError> {
    Ok(Json(shared.run(|db| db.rows()).await?))
}

async fn stats(State(shared): State<Arc<Shared>>) -> Json<Stats> {
    Json(shared.counters.snapshot())
}
