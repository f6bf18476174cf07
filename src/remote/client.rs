//! The client: a local copy it edits, the version it last agreed on with the server, and
//! the connection.

use std::io::BufReader;
use std::net::TcpStream;

use statesync::merge::{Conflict, MergeOptions, merge};
use statesync::{Diff, DiffModel};

use super::wire::{read_line, write_message};
use super::{MAX_MESSAGE, RemoteError, Request, Response};
use crate::inventory::Inventory;

/// How long a client waits to connect, and for each read or write of a request, unless
/// the stream it is given has its own timeouts.
pub const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Sets [`TIMEOUT`] as the stream's read and write timeouts where it has none.
fn with_timeouts(stream: &TcpStream) -> std::io::Result<()> {
    if stream.read_timeout()?.is_none() {
        stream.set_read_timeout(Some(TIMEOUT))?;
    }
    if stream.write_timeout()?.is_none() {
        stream.set_write_timeout(Some(TIMEOUT))?;
    }
    Ok(())
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
        Self::over(TcpStream::connect_timeout(&address, TIMEOUT)?)
    }

    /// Fetches the whole state over a stream already connected to the server (one bound
    /// to a chosen local address, say). A stream without read and write timeouts gets
    /// [`TIMEOUT`] for each, so a server that stalls fails a request instead of hanging it;
    /// timeouts already set are kept.
    ///
    /// # Errors
    /// [`RemoteError`].
    pub fn over(stream: TcpStream) -> Result<Self, RemoteError> {
        with_timeouts(&stream)?;
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
            Response::Rejected { error } => Err(RemoteError::Refused(error)),
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
        let Some(line) = read_line(&mut self.reader, MAX_MESSAGE)? else {
            return Err(RemoteError::Unexpected("connection closed".into()));
        };
        let response = serde_json::from_slice(&line)?;
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
        self.absorb_state(version, server_state)
    }

    /// Folds the server's whole state into our local state (three-way against our base,
    /// so our edits are kept), and returns the conflicts (kept as ours).
    fn absorb_state(
        &mut self,
        version: usize,
        server_state: Inventory,
    ) -> Result<Vec<Conflict>, RemoteError> {
        let merged = merge(
            &self.base,
            &self.state,
            &server_state,
            &MergeOptions::default(),
        )?;
        self.base = server_state;
        self.state = merged.value;
        self.version = version;
        Ok(merged.conflicts)
    }

    /// Pushes local edits. A stale base is merged with the server's changes (or its whole
    /// state, when the base is older than the versions it retains) and pushed again;
    /// returns the conflicts met on the way.
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
                Response::State { version, state } => {
                    conflicts.extend(self.absorb_state(version, state)?);
                }
                Response::Rejected { error } => return Err(RemoteError::Refused(error)),
                other => return Err(RemoteError::Unexpected(format!("{other:?}"))),
            }
        }
        Err(RemoteError::Unexpected("the server kept moving".into()))
    }

    /// Pulls the server's changes into the local state (its whole state when our base is
    /// older than the versions it retains).
    ///
    /// # Errors
    /// [`RemoteError`].
    pub fn pull(&mut self) -> Result<Vec<Conflict>, RemoteError> {
        match self.ask(&Request::Pull { base: self.version })? {
            Response::Changes { version, diff } => self.absorb(version, &diff),
            Response::State { version, state } => self.absorb_state(version, state),
            Response::Rejected { error } => Err(RemoteError::Refused(error)),
            other => Err(RemoteError::Unexpected(format!("{other:?}"))),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    use super::{Client, TIMEOUT, with_timeouts};

    #[test]
    fn a_stream_gets_the_default_timeouts_and_keeps_its_own() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let plain = TcpStream::connect(address).unwrap();
        with_timeouts(&plain).unwrap();
        assert_eq!(plain.read_timeout().unwrap(), Some(TIMEOUT));
        assert_eq!(plain.write_timeout().unwrap(), Some(TIMEOUT));
        let own = TcpStream::connect(address).unwrap();
        own.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        with_timeouts(&own).unwrap();
        // The kernel rounds a timeout to its clock: near 50 ms, not the default.
        let kept = own.read_timeout().unwrap().unwrap_or_default();
        assert!(kept < Duration::from_secs(1), "{kept:?}");
    }

    /// A server that accepts and never answers: the client fails instead of hanging.
    #[test]
    fn a_stalled_server_fails_the_request() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let _accepted = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        assert!(Client::over(stream).is_err());
    }
}
