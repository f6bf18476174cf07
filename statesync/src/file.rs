//! Replacing a file so that a reader finds either the old contents or the new, never a
//! truncated mix, and a writer learns of every error; and reading one within a size limit.
//!
//! [`replace`] writes to a temporary file in the same directory, flushes it (the flush
//! error is returned, not dropped by `BufWriter`'s `Drop`), syncs it to disk, renames it
//! over the file and syncs the directory so the rename itself survives a crash. On any
//! error, or a panic of the writer, the temporary file is removed and the old file is left
//! as it was. A process killed while it writes (or a power cut) leaves the old file whole,
//! and its temporary file, `.NAME.PID.N.tmp` (NAME the file's name cut to 128 bytes),
//! beside it: nothing removes those later (another process may be writing one), so a
//! program that is often killed mid-write clears them itself. A temporary file that
//! replaces a file gets that file's permissions before anything is written to it (on Unix
//! it is created readable by its owner only), so a private file's new contents are never
//! readable by others.
//!
//! ```
//! # fn main() -> std::io::Result<()> {
//! # let dir = std::env::temp_dir().join(format!("statesync-file-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let path = dir.join("limits.json");
//! statesync::file::replace(&path, |out| out.write_all(br#"{"max_users": 10}"#))?;
//! assert_eq!(std::fs::read_to_string(&path)?, r#"{"max_users": 10}"#);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(())
//! # }
//! ```

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Replaces the file at `path` with what `contents` writes (through a buffer), atomically
/// and durably. The file's permissions are kept when it exists; a symbolic link at `path`
/// is replaced by the file, not followed.
///
/// # Errors
/// The first I/O error of creating, writing, flushing, syncing or renaming, naming the file
/// (its kind is the cause's, and `source()` leads to it); the file at `path` is then
/// unchanged. An error syncing the directory after the rename means the
/// new file is in place but may not survive a crash.
pub fn replace(
    path: &Path,
    contents: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    replace_through(path, |file| file, contents)
}

/// [`replace`], with the temporary file seen through `wrap`: a compressor, a hash, a byte
/// counter, or in tests a writer that fails. `wrap` gets a handle of the temporary file;
/// whatever it returns is flushed and dropped before the file is synced.
///
/// ```
/// use std::io::Write;
///
/// /// Counts the bytes that reach the file.
/// struct Counting<'a, W> { inner: W, bytes: &'a mut usize }
///
/// impl<W: Write> Write for Counting<'_, W> {
///     fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
///         let written = self.inner.write(buf)?;
///         *self.bytes += written;
///         Ok(written)
///     }
///     fn flush(&mut self) -> std::io::Result<()> {
///         self.inner.flush()
///     }
/// }
///
/// # fn main() -> std::io::Result<()> {
/// # let dir = std::env::temp_dir().join(format!("statesync-through-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let mut bytes = 0;
/// statesync::file::replace_through(
///     &dir.join("note.txt"),
///     |file| Counting { inner: file, bytes: &mut bytes },
///     |out| out.write_all(b"hello"),
/// )?;
/// assert_eq!(bytes, 5);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// As [`replace`].
pub fn replace_through<W: Write>(
    path: &Path,
    wrap: impl FnOnce(File) -> W,
    contents: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    replace_unnamed(path, wrap, contents).map_err(|source| {
        io::Error::new(
            source.kind(),
            NamedError {
                file: path.to_owned(),
                source,
            },
        )
    })
}

/// An I/O error of [`replace`], naming the file it was to replace (the error's kind is the
/// one it wraps, and `source()` leads to it).
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", shown(file))]
struct NamedError {
    file: PathBuf,
    source: io::Error,
}

/// A path as errors name it: the empty path, which names no file, said in words.
pub(crate) fn shown(path: &Path) -> String {
    if path.as_os_str().is_empty() {
        "the empty path".to_owned()
    } else {
        path.display().to_string()
    }
}

/// [`replace_through`] without the file's name on its errors.
fn replace_unnamed<W: Write>(
    path: &Path,
    wrap: impl FnOnce(File) -> W,
    contents: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let dir = parent_dir(path);
    let old = std::fs::metadata(path).ok().map(|old| old.permissions());
    let (temp_path, temp) = create_temp(&dir, path, old.is_some())?;
    // Removes the temporary file on any error, and when `contents` panics.
    let temp_path = Discarded {
        path: temp_path,
        armed: true,
    };
    // On Unix, before any byte is written: a file only its owner may read is never
    // readable by others, not even while its replacement is being written. Elsewhere after
    // the writing (a file made read-only there could not be removed after a failed write).
    #[cfg(unix)]
    if let Some(permissions) = &old {
        temp.set_permissions(permissions.clone())?;
    }
    write_and_sync(&temp, wrap, contents)?;
    #[cfg(not(unix))]
    if let Some(permissions) = old {
        temp.set_permissions(permissions)?;
    }
    std::fs::rename(&temp_path.path, path)?;
    temp_path.keep();
    sync_dir(&dir)
}

/// A temporary file that is removed when dropped, unless kept.
struct Discarded {
    path: PathBuf,
    armed: bool,
}

impl Discarded {
    /// The file was renamed into place: nothing to remove.
    fn keep(mut self) {
        self.armed = false;
    }
}

impl Drop for Discarded {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes through `wrap`, flushes with the error returned, and syncs the temporary file.
fn write_and_sync<W: Write>(
    temp: &File,
    wrap: impl FnOnce(File) -> W,
    contents: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let mut buffered = BufWriter::new(wrap(temp.try_clone()?));
    contents(&mut buffered)?;
    let mut inner = buffered
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?;
    inner.flush()?;
    drop(inner);
    temp.sync_all()
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// How many bytes of a file's name its temporary file's name holds at most.
const NAME_IN_TEMP: usize = 128;

/// A new file beside `path`, named after it, that no other writer uses. When it replaces
/// a file (`private`), only its owner may read or write it until it gets that file's
/// permissions (on Unix); a new file gets the default permissions.
fn create_temp(dir: &Path, path: &Path, private: bool) -> io::Result<(PathBuf, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    // The start of the name, for whoever finds the file: a whole name may already take
    // the 255 bytes file systems allow, leaving no room for the suffix.
    let shown = name.to_string_lossy();
    let mut end = shown.len().min(NAME_IN_TEMP);
    while !shown.is_char_boundary(end) {
        end -= 1;
    }
    let shown = shown.get(..end).unwrap_or_default();
    loop {
        let temp_name = format!(
            ".{shown}.{}.{}.tmp",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let temp_path = dir.join(temp_name);
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if private {
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        match options.open(&temp_path) {
            Ok(file) => return Ok((temp_path, file)),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(error) => return Err(error),
        }
    }
}

/// Makes a rename in `dir` durable. Only Unix can open and sync a directory.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Why [`read_capped`] read nothing. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("{}: {source}", shown(file))]
    Io {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The path is not a regular file (a FIFO would block, a device never end): refused
    /// before reading.
    #[error("{}: is {kind}, not a regular file; refusing to read it", shown(file))]
    NotAFile {
        /// The file.
        file: PathBuf,
        /// What it is instead (`a FIFO`, `a character device`, ...).
        kind: &'static str,
    },
    /// The file is larger than the limit: refused before (or while) reading.
    #[error(
        "{}: larger than the limit of {max_bytes} bytes; raise the limit to read it",
        shown(file)
    )]
    TooLarge {
        /// The file.
        file: PathBuf,
        /// The limit.
        max_bytes: u64,
    },
}

impl From<ReadError> for io::Error {
    fn from(error: ReadError) -> Self {
        let kind = match &error {
            ReadError::Io { source, .. } => source.kind(),
            ReadError::NotAFile { .. } => io::ErrorKind::InvalidInput,
            ReadError::TooLarge { .. } => io::ErrorKind::FileTooLarge,
        };
        io::Error::new(kind, error)
    }
}

/// Reads the regular file at `path`, of at most `max_bytes`: anything else (a directory, a
/// FIFO, a device, a socket) is refused before reading, and so is a file larger than the
/// limit, checked again on what was opened (the path may be replaced in between) and
/// while reading (the file may grow). On Unix the file is opened without blocking, so a
/// FIFO put there after the check does not hang the open.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("statesync-read-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("state.json");
/// std::fs::write(&path, b"{}").unwrap();
/// assert_eq!(statesync::file::read_capped(&path, 2).unwrap(), b"{}");
/// assert!(matches!(
///     statesync::file::read_capped(&path, 1),
///     Err(statesync::file::ReadError::TooLarge { max_bytes: 1, .. })
/// ));
/// # #[cfg(unix)]
/// assert!(matches!(
///     statesync::file::read_capped(std::path::Path::new("/dev/zero"), 1 << 20),
///     Err(statesync::file::ReadError::NotAFile { .. })
/// ));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
///
/// # Errors
/// [`ReadError`], naming the file.
pub fn read_capped(path: &Path, max_bytes: u64) -> Result<Vec<u8>, ReadError> {
    let io = |source| ReadError::Io {
        file: path.to_owned(),
        source,
    };
    let too_large = || ReadError::TooLarge {
        file: path.to_owned(),
        max_bytes,
    };
    let regular = |metadata: &Metadata| match not_regular(metadata) {
        Some(kind) => Err(ReadError::NotAFile {
            file: path.to_owned(),
            kind,
        }),
        None if metadata.len() > max_bytes => Err(too_large()),
        None => Ok(()),
    };
    regular(&std::fs::metadata(path).map_err(io)?)?;
    let handle = open_without_blocking(path).map_err(io)?;
    let metadata = handle.metadata().map_err(io)?;
    regular(&metadata)?;
    let mut bytes = Vec::new();
    // Reserved as the file says, but never beyond the limit (checked above) nor past
    // what the allocator grants: a failed reservation only means growing as it reads.
    let _ = bytes.try_reserve_exact(usize::try_from(metadata.len()).unwrap_or(0));
    handle
        .take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if u64::try_from(bytes.len()).map_or(true, |read| read > max_bytes) {
        return Err(too_large());
    }
    Ok(bytes)
}

/// What a path is when it is not a regular file (`a directory`, `a FIFO`, ...), as
/// [`ReadError::NotAFile`] names it; `None` for a regular file.
///
/// ```
/// let here = std::fs::metadata(".")?;
/// assert_eq!(statesync::file::not_regular(&here), Some("a directory"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn not_regular(metadata: &Metadata) -> Option<&'static str> {
    let kind = metadata.file_type();
    if kind.is_file() {
        return None;
    }
    if kind.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return Some("a FIFO");
        }
        if kind.is_char_device() {
            return Some("a character device");
        }
        if kind.is_block_device() {
            return Some("a block device");
        }
        if kind.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a regular file")
}

/// Opens for reading; on Unix without blocking (a regular file reads the same either way).
fn open_without_blocking(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_path_is_named_in_words() {
        let error = replace(Path::new(""), |out| out.write_all(b"x"));
        let text = error.map_err(|error| error.to_string());
        assert_eq!(text, Err("the empty path: no file name".to_owned()));
    }

    /// A disk that fills up: accepts `room` bytes, then fails every write and flush.
    struct FullDisk<W> {
        inner: W,
        room: usize,
    }

    impl<W: Write> Write for FullDisk<W> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if buf.len() > self.room {
                return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
            }
            self.room -= buf.len();
            self.inner.write(buf)
        }

        fn flush(&mut self) -> io::Result<()> {
            self.inner.flush()
        }
    }

    fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "statesync-file-{name}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// A name a file system takes (255 bytes) leaves no room for the temporary file's
    /// suffix: the temporary name holds only the start of it.
    #[test]
    fn a_file_with_a_name_of_the_longest_length_is_written() {
        let dir = dir("long");
        for name in ["é".repeat(127) + "x", "a".repeat(255)] {
            assert_eq!(name.len(), 255);
            let path = dir.join(&name);
            replace(&path, |out| out.write_all(b"first")).unwrap();
            replace(&path, |out| out.write_all(b"second")).unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), b"second");
        }
        assert_eq!(entries(&dir).len(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_write_that_fails_only_at_the_final_flush_is_an_error_and_keeps_the_old_file() {
        let dir = dir("flush");
        let path = dir.join("state.json");
        std::fs::write(&path, b"the good old contents").unwrap();
        // Small enough to sit in the buffer until the final flush, where the disk is full.
        let result = replace_through(
            &path,
            |file| FullDisk {
                inner: file,
                room: 0,
            },
            |out| out.write_all(b"new contents"),
        );
        assert_eq!(result.unwrap_err().kind(), io::ErrorKind::StorageFull);
        assert_eq!(std::fs::read(&path).unwrap(), b"the good old contents");
        assert_eq!(entries(&dir), ["state.json"], "no temporary file left");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_write_that_fails_midway_is_an_error_and_keeps_the_old_file() {
        let dir = dir("midway");
        let path = dir.join("state.json");
        std::fs::write(&path, b"old").unwrap();
        let big = vec![b'x'; 100_000];
        let result = replace_through(
            &path,
            |file| FullDisk {
                inner: file,
                room: 20_000,
            },
            |out| out.write_all(&big),
        );
        assert!(result.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(entries(&dir), ["state.json"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_error_of_the_writer_is_returned_and_keeps_the_old_file() {
        let dir = dir("contents");
        let path = dir.join("state.json");
        std::fs::write(&path, b"old").unwrap();
        let result = replace(&path, |out| {
            out.write_all(b"half")?;
            Err(io::Error::other("serialisation failed"))
        });
        // Named by the file, and the writer's own error behind it.
        let error = result.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::Other);
        assert_eq!(
            error.to_string(),
            format!("{}: serialisation failed", path.display())
        );
        let cause = std::error::Error::source(error.get_ref().unwrap()).unwrap();
        assert_eq!(cause.to_string(), "serialisation failed");
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(entries(&dir), ["state.json"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_failed_rename_keeps_what_was_there() {
        let dir = dir("rename");
        // A non-empty directory cannot be replaced by a file.
        let path = dir.join("taken");
        std::fs::create_dir_all(path.join("inside")).unwrap();
        assert!(replace(&path, |out| out.write_all(b"x")).is_err());
        assert!(path.join("inside").is_dir());
        assert_eq!(entries(&dir), ["taken"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// The temporary file beside `path`, while `contents` writes it.
    fn temp_beside(dir: &Path) -> PathBuf {
        let names = entries(dir);
        let temp = names.iter().find(|name| name.starts_with('.')).unwrap();
        dir.join(temp)
    }

    #[cfg(unix)]
    #[test]
    fn a_private_file_stays_private_while_its_replacement_is_written() {
        use std::os::unix::fs::PermissionsExt;
        let dir = dir("private");
        let path = dir.join("history.json");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut mode_while_written = 0;
        replace(&path, |out| {
            out.write_all(b"secret")?;
            mode_while_written = std::fs::metadata(temp_beside(&dir))?.permissions().mode();
            Ok(())
        })
        .unwrap();
        assert_eq!(mode_while_written & 0o777, 0o600);
        assert_eq!(std::fs::read(&path).unwrap(), b"secret");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_panic_while_writing_leaves_no_temporary_file() {
        let dir = dir("panic");
        let path = dir.join("state.json");
        std::fs::write(&path, b"old").unwrap();
        let panicked = std::panic::catch_unwind(|| {
            replace(&path, |out| {
                out.write_all(b"half")?;
                panic!("a serialiser that panics");
            })
        });
        assert!(panicked.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(entries(&dir), ["state.json"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_replaced_file_has_the_new_contents_and_keeps_its_permissions() {
        let dir = dir("ok");
        let path = dir.join("state.json");
        std::fs::write(&path, b"old").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        replace(&path, |out| out.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(entries(&dir), ["state.json"]);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
