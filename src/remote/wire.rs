//! The wire: JSON lines read against a deadline per whole message and a shared byte
//! budget, replies written against a deadline, and error texts of bounded length.

use std::fmt::{self, Display, Write as _};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::budget::{Budget, Held};
use super::{Limits, MAX_ERROR_TEXT};

/// What reading one line gave.
#[derive(Debug)]
pub(crate) enum Frame {
    /// A whole line, with the budget its bytes hold.
    Message(Vec<u8>, Held),
    /// A line refused without being stored (its bytes were skipped): why. The connection
    /// goes on.
    Refused(String),
    /// The connection ends, with a last word for the client when there is one.
    End(Option<String>),
}

/// Reads one line. The wait for its first byte is bounded by the idle timeout; the whole
/// line, once started, by the message deadline (however slowly its bytes trickle in). A
/// line longer than the limit, or that does not fit in one of the budgets (all
/// connections', the peer's), is skipped, not stored.
///
/// # Errors
/// The connection's I/O error.
pub(crate) fn read_frame(
    reader: &mut BufReader<TcpStream>,
    limits: &Limits,
    budgets: &[&Arc<Budget>],
) -> io::Result<Frame> {
    // A zero timeout is refused by the OS: wait at least a millisecond.
    let idle = limits.idle_timeout.max(Duration::from_millis(1));
    reader.get_ref().set_read_timeout(Some(idle))?;
    let mut started: Option<Instant> = None;
    let mut line = Vec::new();
    let mut held = Held::of(budgets);
    let mut refused: Option<String> = None;
    loop {
        if let Some(start) = started {
            let Some(left) = time_left(start, limits.message_deadline) else {
                return Ok(Frame::End(Some(late(limits.message_deadline))));
            };
            reader.get_ref().set_read_timeout(Some(left))?;
        }
        let chunk = match reader.fill_buf() {
            Ok(chunk) => chunk,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) if is_timeout(&error) => {
                return Ok(Frame::End(started.map(|_| late(limits.message_deadline))));
            }
            Err(error) => return Err(error),
        };
        if chunk.is_empty() {
            // End of stream: a last line without its newline is still answered.
            return Ok(match (started, refused) {
                (None, _) => Frame::End(None),
                (Some(_), Some(why)) => Frame::Refused(why),
                (Some(_), None) => Frame::Message(line, held),
            });
        }
        started.get_or_insert_with(Instant::now);
        let (take, complete) = match chunk.iter().position(|&byte| byte == b'\n') {
            Some(at) => (at + 1, true),
            None => (chunk.len(), false),
        };
        if refused.is_none() {
            if line.len().saturating_add(take) > limits.max_message {
                refused = Some(format!("message larger than {} bytes", limits.max_message));
            } else if !held.grow(take) {
                refused = Some("server busy: too many bytes in flight, try again".into());
            } else {
                line.extend_from_slice(chunk.get(..take).unwrap_or_default());
            }
            if refused.is_some() {
                line = Vec::new();
                held.release();
            }
        }
        reader.consume(take);
        if complete {
            return Ok(match refused {
                Some(why) => Frame::Refused(why),
                None => Frame::Message(line, held),
            });
        }
    }
}

fn late(deadline: Duration) -> String {
    format!(
        "message not complete within {} ms: connection closed",
        deadline.as_millis()
    )
}

fn time_left(start: Instant, deadline: Duration) -> Option<Duration> {
    deadline
        .checked_sub(start.elapsed())
        .filter(|left| !left.is_zero())
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Writes `bytes` whole within `deadline`, however slowly the client reads: a client that
/// does not take its reply in time is cut off (and the reply's memory freed).
///
/// # Errors
/// The I/O error, [`io::ErrorKind::TimedOut`] past the deadline.
pub(crate) fn write_within(
    stream: &mut TcpStream,
    bytes: &[u8],
    deadline: Duration,
) -> io::Result<()> {
    const CHUNK: usize = 64 * 1024;
    let start = Instant::now();
    let mut rest = bytes;
    while !rest.is_empty() {
        let left = time_left(start, deadline)
            .ok_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "reply not taken in time"))?;
        stream.set_write_timeout(Some(left))?;
        let part = rest.get(..CHUNK.min(rest.len())).unwrap_or_default();
        match stream.write(part) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => rest = rest.get(written..).unwrap_or_default(),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    stream.flush()
}

/// A message as one JSON line.
pub(crate) fn to_line(message: &impl Serialize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(message)
        .unwrap_or_else(|_| br#"{"rejected":{"error":"reply not serialisable"}}"#.to_vec());
    bytes.push(b'\n');
    bytes
}

/// Whether `value` written as JSON takes at most `limit` bytes; stops writing as soon as
/// it does not (nothing is kept).
pub(crate) fn json_within(value: &impl Serialize, limit: usize) -> bool {
    /// Counts bytes down from the limit, failing past it.
    struct Within(usize);

    impl Write for Within {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0 = self
                .0
                .checked_sub(bytes.len())
                .ok_or_else(|| io::Error::other("over the limit"))?;
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    serde_json::to_writer(Within(limit), value).is_ok()
}

/// Writes one message (the client's side: no deadline).
pub(crate) fn write_message(stream: &mut impl Write, message: &impl Serialize) -> io::Result<()> {
    stream.write_all(&to_line(message))?;
    stream.flush()
}

/// Reads one line of at most `limit` bytes (the client's side); `Ok(None)` at end of
/// stream.
///
/// # Errors
/// The I/O error; [`io::ErrorKind::InvalidData`] for a longer line.
pub(crate) fn read_line(reader: &mut impl BufRead, limit: u64) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let read = reader
        .by_ref()
        .take(limit.saturating_add(1))
        .read_until(b'\n', &mut line)?;
    if read == 0 {
        return Ok(None);
    }
    if u64::try_from(read).unwrap_or(u64::MAX) > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("message larger than {limit} bytes"),
        ));
    }
    Ok(Some(line))
}

/// `error` rendered, cut to [`MAX_ERROR_TEXT`] bytes: an error quoting a client's input
/// (an unknown variant, a key) must not grow the reply with the input. Formatting stops as
/// soon as the text is full.
pub(crate) fn error_text(error: &dyn Display) -> String {
    let mut text = Bounded {
        text: String::new(),
        cut: false,
    };
    // A full `Bounded` stops the formatting with an error; the text so far is kept.
    let _ = write!(text, "{error}");
    if text.cut {
        // The mark takes the place of the text's last bytes: the whole stays within bounds.
        let mut end = MAX_ERROR_TEXT
            .saturating_sub(CUT.len())
            .min(text.text.len());
        while !text.text.is_char_boundary(end) {
            end -= 1;
        }
        text.text.truncate(end);
        text.text.push_str(CUT);
    }
    text.text
}

/// What ends an error text that was cut.
const CUT: &str = "… (cut)";

struct Bounded {
    text: String,
    cut: bool,
}

impl fmt::Write for Bounded {
    fn write_str(&mut self, part: &str) -> fmt::Result {
        let room = MAX_ERROR_TEXT.saturating_sub(self.text.len());
        if part.len() <= room {
            self.text.push_str(part);
            return Ok(());
        }
        let mut end = room;
        while !part.is_char_boundary(end) {
            end -= 1;
        }
        self.text.push_str(part.get(..end).unwrap_or_default());
        self.cut = true;
        Err(fmt::Error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_texts_are_cut_at_a_char_boundary() {
        let long = "é".repeat(MAX_ERROR_TEXT);
        let text = error_text(&format_args!("unknown variant `{long}`"));
        assert!(text.len() <= MAX_ERROR_TEXT, "{}", text.len());
        assert!(
            text.len() > MAX_ERROR_TEXT - CUT.len() - 2,
            "{}",
            text.len()
        );
        assert!(text.starts_with("unknown variant `éé"));
        assert!(text.ends_with("… (cut)"));
        assert_eq!(error_text(&"short"), "short");
    }
}
