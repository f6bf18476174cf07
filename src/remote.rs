//! Client and server exchanging serialised diffs over TCP (std threads, JSON lines): the
//! wire format is the diff's serde form with the version it was made against. A diff made
//! against a stale version is refused; the client merges (three-way) and tries again.
//!
//! The server is built to face hostile clients (see [`Limits`]):
//! - a malformed, oversized, non-UTF-8, empty or inapplicable message, one whose children
//!   name another parent, or one with a part that changes nothing, is refused with a short
//!   error (quoted input is truncated) and changes nothing; the connection goes on with the
//!   next line;
//! - a whole message must arrive within a deadline (not a per-read timeout), and so must a
//!   whole reply be read; connections are capped in all and per peer address, and the bytes
//!   of requests and replies in flight are capped over all connections;
//! - the state is kept as a snapshot of the head plus the diffs of the last few versions:
//!   pulls replay them outside the lock, and a client older than that window gets the full
//!   state, which it merges three-way like any other change.
//!
//! [`Server::handle_message`] answers one raw message without sockets (for tests and
//! fuzzing).

mod admission;
mod budget;
mod client;
mod push;
mod server;
mod versions;
mod wire;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use statesync::Diff;

use crate::inventory::Inventory;

pub use client::{Client, TIMEOUT as CLIENT_TIMEOUT};
pub use server::{Server, StateTooLarge};

/// The largest message accepted by default, in bytes.
pub const MAX_MESSAGE: u64 = 16 * 1024 * 1024;

/// The most connections served at once by default; more are refused.
pub const MAX_CONNECTIONS: usize = 64;

/// How long, by default, a connection may stay silent between messages.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The longest error text a refusal carries, in bytes; longer ones (quoting a client's
/// input) are cut.
pub const MAX_ERROR_TEXT: usize = 512;

/// What the server enforces. [`Limits::default`] gives the documented defaults.
///
/// ```
/// use statesync_suite::remote::{Limits, Server};
/// use std::time::Duration;
///
/// let limits = Limits {
///     max_per_peer: 2,
///     message_deadline: Duration::from_secs(2),
///     ..Limits::default()
/// };
/// let server = Server::with_limits(statesync_suite::fixtures::inventory(), limits)?;
/// assert_eq!(server.snapshot().0, 0);
/// # Ok::<(), statesync_suite::remote::StateTooLarge>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The largest message, newline included ([`MAX_MESSAGE`]).
    pub max_message: usize,
    /// The most connections served at once, from all peers ([`MAX_CONNECTIONS`]).
    pub max_connections: usize,
    /// The most connections served at once from one peer address (8).
    pub max_per_peer: usize,
    /// The most bytes of requests being read and replies being written, over all
    /// connections (64 MiB). A request that does not fit is refused as "busy" (its rest is
    /// skipped, not stored); so is a reply (short refusals are not counted).
    pub max_in_flight: usize,
    /// The most of those bytes the connections from one peer address may hold together
    /// (24 MiB: a whole message and half of another; never less than `max_message`), so
    /// that one address cannot keep every other client's requests refused as "busy".
    pub max_in_flight_per_peer: usize,
    /// How long the server waits for the first byte of a message ([`IDLE_TIMEOUT`]).
    pub idle_timeout: Duration,
    /// How long a whole message may take from its first byte to its newline, and a whole
    /// reply to be taken by the client (10 s); then the connection is closed.
    pub message_deadline: Duration,
    /// How many versions back a pull or a stale push still gets a diff (64); a client
    /// older than that gets the whole state.
    pub retained_versions: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message: usize::try_from(MAX_MESSAGE).unwrap_or(usize::MAX),
            max_connections: MAX_CONNECTIONS,
            max_per_peer: 8,
            max_in_flight: 64 * 1024 * 1024,
            max_in_flight_per_peer: 24 * 1024 * 1024,
            idle_timeout: IDLE_TIMEOUT,
            message_deadline: Duration::from_secs(10),
            retained_versions: 64,
        }
    }
}

/// What a client asks.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// The whole state and its version (the initial full sync).
    Hello,
    /// A diff made against version `base`.
    Push {
        /// The version the diff was made against.
        base: usize,
        /// The change.
        diff: Diff<Inventory>,
    },
    /// The changes since version `base`.
    Pull {
        /// The version the client holds.
        base: usize,
    },
}

/// What the server answers.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Response {
    /// The whole state: the answer to a hello, and to a pull or a stale push whose base is
    /// older than the versions the server retains.
    State {
        /// Its version.
        version: usize,
        /// The state.
        state: Inventory,
    },
    /// The push was committed as `version`.
    Accepted {
        /// The new version.
        version: usize,
    },
    /// The push was made against an old version; here is what changed since.
    Stale {
        /// The current version.
        version: usize,
        /// From the client's base to the current version.
        diff: Diff<Inventory>,
    },
    /// What changed since the client's base.
    Changes {
        /// The current version.
        version: usize,
        /// From the client's base to the current version.
        diff: Diff<Inventory>,
    },
    /// The message was refused; nothing changed.
    Rejected {
        /// Why (at most [`MAX_ERROR_TEXT`] bytes).
        error: String,
    },
}

/// An error of the client side.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The connection failed.
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    /// A message could not be (de)serialised.
    #[error("message: {0}")]
    Json(#[from] serde_json::Error),
    /// A diff did not apply or a state broke a key.
    #[error("state: {0}")]
    State(#[from] statesync::Error),
    /// The server refused the request.
    #[error("refused by the server: {0}")]
    Refused(String),
    /// The server answered something unexpected.
    #[error("unexpected answer: {0}")]
    Unexpected(String),
}
