//! The server: the authoritative state, the request handling, and the connections.

use std::collections::HashMap;
use std::io::BufReader;
use std::net::IpAddr;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use serde::Serialize;
use statesync::Diff;

use super::admission::Admission;
use super::budget::{Budget, Held};
use super::push::prepare;
use super::versions::{Changes, Versions};
use super::wire::{self, Frame};
use super::{Limits, MAX_MESSAGE, Request, Response};
use crate::inventory::Inventory;

/// A starting state too large for the server's messages (see [`Server::with_limits`]).
#[derive(Debug, thiserror::Error)]
#[error("the starting state is larger than a message of {limit} bytes, which no client could read")]
pub struct StateTooLarge {
    /// The largest message, in bytes.
    pub limit: usize,
}

/// The server: the authoritative state as a head and its recent versions, the limits it
/// enforces and what its connections hold.
#[derive(Clone)]
pub struct Server {
    versions: Arc<Mutex<Versions>>,
    limits: Arc<Limits>,
    admission: Arc<Admission>,
    budget: Arc<Budget>,
    /// Each peer address's share of the bytes in flight, while it has connections.
    peers: Arc<Mutex<HashMap<IpAddr, Weak<Budget>>>>,
}

impl Server {
    /// A server whose version 0 is `state`, with the default [`Limits`].
    ///
    /// # Errors
    /// [`StateTooLarge`] when a reply carrying `state` would not fit in a message.
    pub fn new(state: Inventory) -> Result<Self, StateTooLarge> {
        Self::with_limits(state, Limits::default())
    }

    /// A server whose version 0 is `state`, enforcing `limits`.
    ///
    /// # Errors
    /// [`StateTooLarge`] when a reply carrying `state` would not fit in a message of
    /// `limits.max_message` (or of the client's limit, if smaller): `hello` answers with
    /// the whole state, so no client could connect. A push that would make the state that
    /// large is refused for the same reason.
    pub fn with_limits(state: Inventory, limits: Limits) -> Result<Self, StateTooLarge> {
        let server = Self {
            versions: Arc::new(Mutex::new(Versions::new(state, limits.retained_versions))),
            admission: Arc::new(Admission::new(limits.max_connections, limits.max_per_peer)),
            // At least one whole message, whatever the limits say.
            budget: Arc::new(Budget::new(limits.max_in_flight.max(limits.max_message))),
            peers: Arc::default(),
            limits: Arc::new(limits),
        };
        let (_, head) = server.versions().head();
        let fits = server.fits_a_reply(&head).is_ok();
        drop(head);
        if fits {
            Ok(server)
        } else {
            Err(StateTooLarge {
                limit: server.message_limit(),
            })
        }
    }

    fn versions(&self) -> MutexGuard<'_, Versions> {
        self.versions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current version and state.
    pub fn snapshot(&self) -> (usize, Inventory) {
        let (version, head) = self.versions().head();
        (version, Inventory::clone(&head))
    }

    /// How many connections are being served.
    pub fn connections(&self) -> usize {
        self.admission.served()
    }

    /// How many bytes of requests and replies the connections hold now (at most
    /// [`Limits::max_in_flight`]).
    pub fn bytes_in_flight(&self) -> usize {
        self.budget.used()
    }

    /// Answers one raw message (one line, with or without its newline) with the reply line
    /// the server would send, without any socket: what the connections run, and what tests
    /// and fuzzers call. The same state and bytes always give the same reply; a reply
    /// other than `accepted` leaves the state unchanged.
    ///
    /// ```
    /// use statesync_suite::remote::Server;
    ///
    /// let server = Server::new(statesync_suite::fixtures::inventory())?;
    /// let reply = server.handle_message(b"{\"pull\":{\"base\":0}}\n");
    /// assert!(reply.starts_with(b"{\"changes\":{\"version\":0,"));
    /// let reply = server.handle_message(b"\xff\xfe not utf-8\n");
    /// assert!(reply.starts_with(b"{\"rejected\":"));
    /// # Ok::<(), statesync_suite::remote::StateTooLarge>(())
    /// ```
    pub fn handle_message(&self, message: &[u8]) -> Vec<u8> {
        let response = match serde_json::from_slice::<Request>(message) {
            Ok(request) => self.handle(request),
            Err(error) => rejected(format_args!("malformed message: {error}")),
        };
        wire::to_line(&response)
    }

    /// Answers one request. The lock on the state is held only to read the head or to
    /// install a new one: checking a push and diffing happen outside it.
    pub fn handle(&self, request: Request) -> Response {
        match request {
            Request::Hello => {
                let (version, head) = self.versions().head();
                Response::State {
                    version,
                    state: Inventory::clone(&head),
                }
            }
            Request::Pull { base } => {
                self.since(base, |version, diff| Response::Changes { version, diff })
            }
            Request::Push { base, diff } => self.push(base, &diff),
        }
    }

    /// What changed since `base`, as `as_diff` says, or the whole state for a base older
    /// than the retained versions, or when the diff would not fit in a message (a diff
    /// can outgrow both states: a delete carries the subtree it removes, so replacing
    /// every site makes a diff twice the state). The whole state always fits: a push that
    /// would make it too large is refused.
    fn since(&self, base: usize, as_diff: fn(usize, Diff<Inventory>) -> Response) -> Response {
        let plan = match self.versions().since(base) {
            Ok(plan) => plan,
            Err(error) => return rejected(error),
        };
        match plan.run() {
            Ok(Changes::Diff(version, diff))
                if self.fits_in_reply(&diff, |diff| as_diff(version, diff)) =>
            {
                as_diff(version, diff)
            }
            Ok(Changes::Diff(..)) => {
                let (version, state) = self.versions().head();
                Response::State {
                    version,
                    state: Inventory::clone(&state),
                }
            }
            Ok(Changes::Whole(version, state)) => Response::State {
                version,
                state: Inventory::clone(&state),
            },
            Err(error) => rejected(format_args!("internal error: {error}")),
        }
    }

    fn push(&self, base: usize, diff: &Diff<Inventory>) -> Response {
        let stale =
            |server: &Self| server.since(base, |version, diff| Response::Stale { version, diff });
        let (head_version, head) = self.versions().head();
        if base != head_version {
            return stale(self);
        }
        let (next, recorded) = match prepare(&head, diff) {
            Ok(prepared) => prepared,
            Err(error) => return rejected(error),
        };
        drop(head);
        if let Err(why) = self.fits_a_reply(&next) {
            return rejected(why);
        }
        // The guard must be gone before `stale` takes the lock again.
        let committed = self.versions().commit(base, next, recorded);
        match committed {
            Some(version) => Response::Accepted { version },
            // Another push was committed while this one was checked.
            None => stale(self),
        }
    }

    /// Refuses a state that the whole-state reply (what `Hello` gets, a client older than
    /// the retained versions, and one whose diff is too large) could not carry within a
    /// message, of the server's limit or the client's: committed, it would lock every new
    /// client out.
    fn fits_a_reply(&self, state: &Inventory) -> Result<(), String> {
        if self.fits_in_reply(state, |state| Response::State {
            version: usize::MAX,
            state,
        }) {
            Ok(())
        } else {
            Err(format!(
                "the state would be larger than a message of {} bytes, which a new client \
                 could not read: refused",
                self.message_limit()
            ))
        }
    }

    /// The largest reply line: the server's limit, or the client's if smaller.
    fn message_limit(&self) -> usize {
        self.limits
            .max_message
            .min(usize::try_from(MAX_MESSAGE).unwrap_or(usize::MAX))
    }

    /// Whether `value`, in the reply `wrap` makes of it, fits within a message: the reply
    /// around an empty value is measured, and the value's JSON is written against the
    /// room left (stopping as soon as it is over).
    fn fits_in_reply<T: Serialize + Default>(
        &self,
        value: &T,
        wrap: impl FnOnce(T) -> Response,
    ) -> bool {
        let envelope = wire::to_line(&wrap(T::default()))
            .len()
            .saturating_sub(serde_json::to_vec(&T::default()).map_or(0, |empty| empty.len()));
        wire::json_within(value, self.message_limit().saturating_sub(envelope))
    }

    /// Serves one connection until the client closes it or breaks a deadline. Every line
    /// gets a reply (a refusal for a malformed, oversized or non-UTF-8 one) and the
    /// connection goes on with the next.
    ///
    /// # Errors
    /// The connection's I/O error (a reply not taken within the deadline among them).
    pub fn serve(&self, stream: TcpStream) -> std::io::Result<()> {
        let peer = self.peer_budget(stream.peer_addr().ok().map(|address| address.ip()));
        let budgets = [&self.budget, &peer];
        let mut writer = stream.try_clone()?;
        let mut reader = BufReader::new(stream);
        loop {
            let reply = match wire::read_frame(&mut reader, &self.limits, &budgets)? {
                Frame::Message(line, held) => {
                    let reply = self.handle_message(&line);
                    drop((line, held));
                    reply
                }
                Frame::Refused(why) => wire::to_line(&rejected(why)),
                Frame::End(last_word) => {
                    if let Some(why) = last_word {
                        let line = wire::to_line(&rejected(why));
                        wire::write_within(&mut writer, &line, self.limits.message_deadline)?;
                    }
                    return Ok(());
                }
            };
            self.send(&mut writer, reply, &budgets)?;
        }
    }

    /// The share of the bytes in flight of the connections from `peer`
    /// ([`Limits::max_in_flight_per_peer`]), one for all of them while any is served (a
    /// connection without a peer address gets one of its own).
    fn peer_budget(&self, peer: Option<IpAddr>) -> Arc<Budget> {
        // At least one whole message, whatever the limits say.
        let share = self
            .limits
            .max_in_flight_per_peer
            .max(self.limits.max_message);
        let fresh = || Arc::new(Budget::new(share));
        let Some(peer) = peer else {
            return fresh();
        };
        let mut peers = self.peers.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(shared) = peers.get(&peer).and_then(Weak::upgrade) {
            return shared;
        }
        // The shares of peers gone are dropped here, so the map holds the peers served.
        peers.retain(|_, share| share.strong_count() > 0);
        let share = fresh();
        peers.insert(peer, Arc::downgrade(&share));
        share
    }

    /// Writes a reply within the deadline, its bytes counted in flight; a reply that does
    /// not fit is replaced by a short refusal.
    fn send(
        &self,
        writer: &mut TcpStream,
        reply: Vec<u8>,
        budgets: &[&Arc<Budget>],
    ) -> std::io::Result<()> {
        let mut held = Held::of(budgets);
        let reply = if held.grow(reply.len()) {
            reply
        } else {
            drop(reply);
            wire::to_line(&rejected(
                "server busy: too many bytes in flight, try again",
            ))
        };
        wire::write_within(writer, &reply, self.limits.message_deadline)
    }

    /// Accepts connections on `listener`, one thread each, within [`Limits::max_connections`]
    /// in all and [`Limits::max_per_peer`] per peer address; others get a refusal and are
    /// closed.
    pub fn listen(&self, listener: TcpListener) {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else {
                // Out of descriptors or similar: wait instead of spinning.
                std::thread::sleep(std::time::Duration::from_millis(50));
                continue;
            };
            let ticket = match stream.peer_addr() {
                Ok(peer) => self.admission.admit(peer.ip()),
                Err(_) => Err("no peer address"),
            };
            let ticket = match ticket {
                Ok(ticket) => ticket,
                Err(why) => {
                    let line = wire::to_line(&rejected(why));
                    let _ = wire::write_within(&mut stream, &line, REFUSAL_WRITE);
                    continue;
                }
            };
            let server = self.clone();
            // A thread that cannot be spawned drops its connection and its ticket.
            let _ = std::thread::Builder::new().spawn(move || {
                let _ = server.serve(stream);
                drop(ticket);
            });
        }
    }
}

/// How long the accepting thread waits to hand a refused client its refusal.
const REFUSAL_WRITE: std::time::Duration = std::time::Duration::from_millis(100);

fn rejected(error: impl std::fmt::Display) -> Response {
    Response::Rejected {
        error: wire::error_text(&error),
    }
}
