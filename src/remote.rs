//! Client and server exchanging serialised diffs over TCP (std threads, JSON lines): the
//! wire format is the diff's serde form with the version it was made against. A diff made
//! against a stale version is refused; the client merges (three-way) and tries again. A
//! malformed, oversized, empty or inapplicable message, or one whose children name another
//! parent, is refused and changes nothing. The server caps its connections and drops idle
//! ones. (A demonstration server: `diff_since` replays the history under the lock, which a
//! production server would snapshot.)

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use statesync::merge::{Conflict, History, MergeOptions, Refused, merge};
use statesync::{Diff, DiffModel};

use crate::inventory::Inventory;

/// The largest message accepted, in bytes.
pub const MAX_MESSAGE: u64 = 16 * 1024 * 1024;

/// The most connections served at once; more are refused.
pub const MAX_CONNECTIONS: usize = 64;

/// How long a connection may stay silent before the server drops it.
pub const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

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
    /// The whole state.
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
        /// Why.
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

/// Reads one line of at most [`MAX_MESSAGE`] bytes; `Ok(None)` at end of stream.
fn read_message(reader: &mut impl BufRead) -> std::io::Result<Option<Result<String, String>>> {
    let mut line = String::new();
    let read = reader.by_ref().take(MAX_MESSAGE + 1).read_line(&mut line)?;
    if read == 0 {
        return Ok(None);
    }
    if read as u64 > MAX_MESSAGE {
        return Ok(Some(Err(format!(
            "message larger than {MAX_MESSAGE} bytes"
        ))));
    }
    Ok(Some(Ok(line)))
}

fn write_message(stream: &mut impl Write, message: &impl Serialize) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec(message)?;
    bytes.push(b'\n');
    stream.write_all(&bytes)?;
    stream.flush()
}

/// The server: the authoritative state, as a history of versions.
#[derive(Clone)]
pub struct Server {
    history: Arc<Mutex<History<Inventory>>>,
    connections: Arc<std::sync::atomic::AtomicUsize>,
}

impl Server {
    /// A server whose version 0 is `state`.
    pub fn new(state: Inventory) -> Self {
        Self {
            history: Arc::new(Mutex::new(History::new(state))),
            connections: Arc::default(),
        }
    }

    /// The current version and state.
    pub fn snapshot(&self) -> (usize, Inventory) {
        let history = self.history.lock().unwrap_or_else(PoisonError::into_inner);
        (history.version(), history.head().clone())
    }

    /// Answers one request.
    pub fn handle(&self, request: Request) -> Response {
        let mut history = self.history.lock().unwrap_or_else(PoisonError::into_inner);
        match request {
            Request::Hello => Response::State {
                version: history.version(),
                state: history.head().clone(),
            },
            Request::Pull { base } => match history.diff_since(base) {
                Ok(diff) => Response::Changes {
                    version: history.version(),
                    diff,
                },
                Err(error) => Response::Rejected {
                    error: error.to_string(),
                },
            },
            Request::Push { base, diff } if diff.is_empty() => Response::Rejected {
                error: format!("empty diff against version {base}: nothing to commit"),
            },
            Request::Push { base, diff } => {
                let head = history.version();
                if base != head {
                    return match history.diff_since(base) {
                        Ok(diff) => Response::Stale {
                            version: head,
                            diff,
                        },
                        Err(error) => Response::Rejected {
                            error: error.to_string(),
                        },
                    };
                }
                if let Err(error) = check_push(history.head(), &diff) {
                    return Response::Rejected { error };
                }
                match history.commit_diff(base, &diff, "push") {
                    Ok(version) => Response::Accepted { version },
                    Err(refused) => Response::Rejected {
                        error: refused.to_string(),
                    },
                }
            }
        }
    }

    /// Serves one connection until the client closes it or sends an oversized message.
    ///
    /// # Errors
    /// The connection's I/O error.
    pub fn serve(&self, stream: TcpStream) -> std::io::Result<()> {
        let mut writer = stream.try_clone()?;
        let mut reader = BufReader::new(stream);
        while let Some(message) = read_message(&mut reader)? {
            let response = match message {
                Ok(line) => match serde_json::from_str::<Request>(&line) {
                    Ok(request) => self.handle(request),
                    Err(error) => Response::Rejected {
                        error: format!("malformed message: {error}"),
                    },
                },
                Err(error) => {
                    // Drop the rest of the line (bounded), so the client can read the refusal
                    // before the connection closes.
                    reader.by_ref().take(4 * MAX_MESSAGE).skip_until(b'\n')?;
                    write_message(&mut writer, &Response::Rejected { error })?;
                    return Ok(());
                }
            };
            write_message(&mut writer, &response)?;
        }
        Ok(())
    }

    /// Accepts connections on `listener`, one thread each, at most [`MAX_CONNECTIONS`] at
    /// once; a connection silent for [`IDLE_TIMEOUT`] is dropped.
    pub fn listen(&self, listener: TcpListener) {
        use std::sync::atomic::Ordering;
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else {
                // Out of descriptors or similar: wait instead of spinning.
                std::thread::sleep(std::time::Duration::from_millis(50));
                continue;
            };
            if self.connections.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
                self.connections.fetch_sub(1, Ordering::SeqCst);
                let _ = write_message(
                    &mut stream,
                    &Response::Rejected {
                        error: "too many connections".into(),
                    },
                );
                continue;
            }
            let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
            let _ = stream.set_write_timeout(Some(IDLE_TIMEOUT));
            let server = self.clone();
            let spawned = std::thread::Builder::new().spawn(move || {
                let _ = server.serve(stream);
                server.connections.fetch_sub(1, Ordering::SeqCst);
            });
            if spawned.is_err() {
                self.connections.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

/// A push must apply to the head and keep every child under the parent it names.
fn check_push(head: &Inventory, diff: &Diff<Inventory>) -> Result<(), String> {
    let mut next = head.clone();
    next.apply(diff)
        .map_err(|error| Refused::Invalid(error).to_string())?;
    crate::json_file::check_parents(&next).map_err(|error| format!("invalid diff: {error}"))
}

/// A client: a local copy that it edits, the base version it last agreed on with the
/// server, and the connection.
pub struct Client {
    broken: bool,
    writer: TcpStream,
    reader: BufReader<TcpStream>,
    /// The version of `base`.
    pub version: usize,
    /// The last state agreed with the server.
    pub base: Inventory,
    /// The local state, with edits not yet pushed.
    pub state: Inventory,
}

impl Client {
    /// Connects and fetches the whole state.
    ///
    /// # Errors
    /// [`RemoteError`].
    pub fn connect(address: std::net::SocketAddr) -> Result<Self, RemoteError> {
        let stream = TcpStream::connect(address)?;
        let mut client = Self {
            broken: false,
            writer: stream.try_clone()?,
            reader: BufReader::new(stream),
            version: 0,
            base: Inventory::default(),
            state: Inventory::default(),
        };
        match client.ask(&Request::Hello)? {
            Response::State { version, state } => {
                client.version = version;
                client.base = state.clone();
                client.state = state;
                Ok(client)
            }
            other => Err(RemoteError::Unexpected(format!("{other:?}"))),
        }
    }

    /// Sends a request and reads its answer. After any failure the connection is out of
    /// step (a partial line may be left), so it refuses further use: reconnect.
    fn ask(&mut self, request: &Request) -> Result<Response, RemoteError> {
        if self.broken {
            return Err(RemoteError::Unexpected(
                "connection broken: reconnect".into(),
            ));
        }
        self.broken = true;
        write_message(&mut self.writer, request)?;
        let response = match read_message(&mut self.reader)? {
            Some(Ok(line)) => serde_json::from_str(&line)?,
            Some(Err(error)) => return Err(RemoteError::Unexpected(error)),
            None => return Err(RemoteError::Unexpected("connection closed".into())),
        };
        self.broken = false;
        Ok(response)
    }

    /// Folds the server's changes since our base into our local state (three-way), and
    /// returns the conflicts (kept as ours).
    fn absorb(
        &mut self,
        version: usize,
        diff: &Diff<Inventory>,
    ) -> Result<Vec<Conflict>, RemoteError> {
        let mut server_state = self.base.clone();
        server_state.apply(diff)?;
        let merged = merge(
            &self.base,
            &self.state,
            &server_state,
            &MergeOptions::default(),
        );
        self.base = server_state;
        self.state = merged.value;
        self.version = version;
        Ok(merged.conflicts)
    }

    /// Pushes local edits. A stale base is merged with the server's changes and pushed
    /// again; returns the conflicts met on the way.
    ///
    /// # Errors
    /// [`RemoteError`]; [`RemoteError::Refused`] when the server refuses the diff.
    pub fn push(&mut self) -> Result<Vec<Conflict>, RemoteError> {
        let mut conflicts = Vec::new();
        for _ in 0..8 {
            let diff = self.base.diff(&self.state)?;
            if diff.is_empty() {
                return Ok(conflicts);
            }
            match self.ask(&Request::Push {
                base: self.version,
                diff,
            })? {
                Response::Accepted { version } => {
                    self.base = self.state.clone();
                    self.version = version;
                    return Ok(conflicts);
                }
                Response::Stale { version, diff } => conflicts.extend(self.absorb(version, &diff)?),
                Response::Rejected { error } => return Err(RemoteError::Refused(error)),
                other => return Err(RemoteError::Unexpected(format!("{other:?}"))),
            }
        }
        Err(RemoteError::Unexpected("the server kept moving".into()))
    }

    /// Pulls the server's changes into the local state.
    ///
    /// # Errors
    /// [`RemoteError`].
    pub fn pull(&mut self) -> Result<Vec<Conflict>, RemoteError> {
        match self.ask(&Request::Pull { base: self.version })? {
            Response::Changes { version, diff } => self.absorb(version, &diff),
            Response::Rejected { error } => Err(RemoteError::Refused(error)),
            other => Err(RemoteError::Unexpected(format!("{other:?}"))),
        }
    }
}
