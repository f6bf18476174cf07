//! The JSON history file (feature `history`): [`History::save`] and [`History::load`].

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::history::{Commit, History};
use crate::diff::{Diff, ElementDiff};
use crate::error::Error;
use crate::model::DiffModel;
use crate::render::{Entry, EntryKind};

/// What of `version` does not read back from JSON, as the first entry of the diff from
/// what was read back to what it is says: the element and the fields, not their values
/// (a field serde skips is often a secret).
fn lost(version: usize, entry: &Entry) -> String {
    let element = format!("{}[{}]", entry.model, entry.key);
    let what = match entry.kind {
        EntryKind::Update => {
            let fields: Vec<String> = entry
                .fields
                .iter()
                .map(|change| format!("`{}`", change.field))
                .collect();
            format!("{element} reads back with other {}", fields.join(", "))
        }
        EntryKind::Create => format!("{element} does not read back"),
        EntryKind::Delete | EntryKind::Unchanged => format!("{element} reads back from nothing"),
    };
    format!("version {version} ({what}; values not shown)")
}

/// What makes a version read back otherwise than it is.
const LOSSY: &str = "a NaN or infinite float is written as null, an `Option<Option<T>>`'s \
                     `Some(None)` as `None`, and a field's serde attributes, \
                     `skip_serializing` or `with = ...`, may drop or round it";

/// The persistent form: the initial state and the commits.
#[derive(Deserialize)]
#[serde(
    expecting = "a history: an object of `initial` and `commits`",
    deny_unknown_fields,
    bound(deserialize = "M: Deserialize<'de>, Diff<M>: Deserialize<'de>")
)]
struct Stored<M: DiffModel> {
    initial: M,
    commits: Vec<Commit<M>>,
}

/// [`Stored`] borrowed from a history, so saving copies nothing.
#[derive(Serialize)]
#[serde(bound(serialize = "M: Serialize, Diff<M>: Serialize"))]
struct StoredRef<'a, M: DiffModel> {
    initial: &'a M,
    commits: &'a [Commit<M>],
}

impl<M: DiffModel + Serialize + DeserializeOwned> History<M>
where
    ElementDiff<M>: Serialize + DeserializeOwned,
{
    /// Writes the history to a JSON file through [`crate::file::replace`]: the old file
    /// stays as it was unless the whole new one was written, flushed and synced. The file
    /// is not locked: two processes that each load it, commit and save keep only the
    /// commits of the last to save. Keep one writer per file.
    ///
    /// Before the file is touched, what would be written is read back and replayed,
    /// version by version: a state JSON cannot hold (a NaN or infinite float, which JSON
    /// writes as `null`) is refused, so whatever `save` writes, [`History::load`] reads
    /// back as it was. This costs a parse and a replay of the history (100,000 interfaces
    /// and 10 versions: 0.69-0.81 s against 0.08-0.17 s without the check; `load` takes
    /// 0.27-0.38 s).
    ///
    /// # Errors
    /// The I/O error, [`FileTooLarge`](std::io::ErrorKind::FileTooLarge)
    /// for a history larger than [`History::load`] reads ([`History::MAX_FILE_BYTES`]), or
    /// [`InvalidData`](std::io::ErrorKind::InvalidData) naming the file and the first
    /// version that `serde_json` cannot write or that does not read back as it is (with the
    /// writer's or the parser's reason: a value read as another type, or nesting deeper
    /// than the 127 containers `serde_json` reads; or, for a version that reads back
    /// otherwise, its first element and fields that differ); the file at `path` is then
    /// unchanged.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let stored = StoredRef {
            initial: &self.initial,
            commits: &self.commits,
        };
        let json = serde_json::to_vec(&stored).map_err(|error| {
            let what = self.first_unwritable().map_or_else(
                || "the history".to_owned(),
                |version| format!("version {version}"),
            );
            invalid(
                path,
                format!("{what} cannot be written as JSON ({error}); nothing was written"),
            )
        })?;
        if u64::try_from(json.len()).map_or(true, |len| len > Self::MAX_FILE_BYTES) {
            let error = format!(
                "{} bytes, more than `load` reads ({} bytes); nothing was written",
                json.len(),
                Self::MAX_FILE_BYTES
            );
            return Err(std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                format!("{}: {error}", crate::file::shown(path)),
            ));
        }
        self.reads_back(&json)
            .map_err(|what| invalid(path, format!("{what}; nothing was written")))?;
        crate::file::replace(path, |out| out.write_all(&json))
    }

    /// Whether `json` (this history, serialised) reads back as it is, version by version;
    /// else which version does not, and why: the parser's error, or (where it reads back
    /// otherwise) what of it, as [`lost`] says.
    fn reads_back(&self, json: &[u8]) -> Result<(), String> {
        let lossy = |what: String| format!("{what} does not survive JSON ({LOSSY})");
        let differs = |version: usize| lossy(format!("version {version}"));
        let shows = |version: usize, diff: &Diff<M>| {
            let entries = diff.entries();
            let first = entries
                .iter()
                .find(|entry| entry.kind != EntryKind::Unchanged);
            lossy(first.map_or_else(
                || format!("version {version}"),
                |entry| lost(version, entry),
            ))
        };
        // One parse of the whole, as `load` reads it.
        let stored: Stored<M> =
            serde_json::from_slice(json).map_err(|error| self.unreadable(&error))?;
        let mut ours = self.initial.clone();
        let mut back = stored.initial;
        let difference = back.diff(&ours).map_err(|_| differs(0))?;
        if !difference.is_empty() {
            return Err(shows(0, &difference));
        }
        for (commit, read) in self.commits.iter().zip(&stored.commits) {
            let version = commit.version;
            ours.apply(&commit.diff).map_err(|_| differs(version))?;
            // The refusal names the element and the field (`Stale`), not their values.
            back.apply(&read.diff)
                .map_err(|error| lossy(format!("version {version} ({error})")))?;
            let difference = back.diff(&ours).map_err(|_| differs(version))?;
            if !difference.is_empty() {
                return Err(shows(version, &difference));
            }
        }
        Ok(())
    }

    /// Why the history's JSON does not parse, naming the version where the parser stopped:
    /// a value that reads back as another type (a NaN written as `null`, a field serde
    /// skips), or nesting deeper than `serde_json` reads (127 containers, counted from the
    /// file's top, so a version that reads back alone may not inside the file).
    fn unreadable(&self, error: &serde_json::Error) -> String {
        let version = (error.line() == 1)
            .then(|| self.version_at(error.column().saturating_sub(1)))
            .flatten();
        let what = version.map_or_else(|| "the history".to_owned(), |v| format!("version {v}"));
        // serde_json names no error code; its message is the only sign of its nesting limit
        // (the one syntax error JSON it wrote itself can meet).
        let hint = if error.classify() == serde_json::error::Category::Data {
            format!(" ({LOSSY})")
        } else if error.to_string().starts_with("recursion limit exceeded") {
            " (`serde_json` reads at most 127 nested containers, counted from the top of the \
             file: a deeply nested attribute value takes that room)"
                .to_owned()
        } else {
            String::new()
        };
        format!("{what} does not read back from JSON: {error}{hint}")
    }

    /// The version (0 for the initial state) whose JSON holds byte `at` of the history's
    /// JSON as `save` writes it: `{"initial":`, the initial state, `,"commits":[`, the
    /// commits separated by commas, `]}` (compact JSON writes a value alike wherever it
    /// sits).
    fn version_at(&self, at: usize) -> Option<usize> {
        let mut end = br#"{"initial":"#.len() + serde_json::to_vec(&self.initial).ok()?.len();
        if at < end {
            return Some(0);
        }
        end += br#","commits":["#.len();
        for commit in &self.commits {
            end += serde_json::to_vec(commit).ok()?.len();
            if at < end {
                return Some(commit.version);
            }
            end += 1;
        }
        None
    }

    /// The first version (0 for the initial state) that `serde_json` cannot write (a map
    /// whose keys are not strings, say).
    fn first_unwritable(&self) -> Option<usize> {
        fn writes<T: Serialize>(value: &T) -> bool {
            serde_json::to_writer(std::io::sink(), value).is_ok()
        }
        if !writes(&self.initial) {
            return Some(0);
        }
        self.commits
            .iter()
            .find(|commit| !writes(*commit))
            .map(|commit| commit.version)
    }

    /// Reads a history written by [`History::save`], of at most [`History::MAX_FILE_BYTES`],
    /// replaying it to rebuild the head.
    ///
    /// # Errors
    /// The I/O error, a path that is not a regular file (a FIFO, a device: refused before
    /// reading), a file over the limit (`ErrorKind::FileTooLarge`), malformed JSON (a
    /// value the model's serde refuses names its version, counted by position: `version 3:
    /// unknown variant`), commits not numbered 1, 2, 3... in order, or a version that does
    /// not replay (its `InvalidData` error holds a [`ReplayError`] naming the version);
    /// each names the file.
    pub fn load(path: &Path) -> std::io::Result<Self> {
        Self::load_capped(path, Self::MAX_FILE_BYTES)
    }

    /// The size limit of [`History::load`]: 1 GiB.
    pub const MAX_FILE_BYTES: u64 = 1 << 30;

    /// [`History::load`] with a size limit of `max_bytes`.
    ///
    /// # Errors
    /// As [`History::load`].
    pub fn load_capped(path: &Path, max_bytes: u64) -> std::io::Result<Self> {
        let bytes = crate::file::read_capped(path, max_bytes)?;
        let stored: Stored<M> =
            serde_json::from_slice(&bytes).map_err(|error| match version_refused::<M>(&bytes) {
                Some(0) => invalid(path, format_args!("version 0 (the initial state): {error}")),
                Some(version) => invalid(path, format_args!("version {version}: {error}")),
                None => invalid(path, error),
            })?;
        let mut history = Self::new(stored.initial).map_err(|error| replay(path, 0, error))?;
        for commit in stored.commits {
            let expected = history.commits.len() + 1;
            if commit.version != expected {
                let found = commit.version;
                let error = format!("commit numbered {found} where {expected} belongs");
                return Err(invalid(path, error));
            }
            // `commit` records no version that changes nothing (an empty diff, or one whose
            // changes keep their old values).
            if !commit.diff.changes_anything() {
                let error = format!("commit {expected} changes nothing");
                return Err(invalid(path, error));
            }
            history
                .head
                .apply(&commit.diff)
                .map_err(|error| replay(path, expected, error))?;
            history.commits.push(commit);
        }
        Ok(history)
    }
}

/// The history form with each version's JSON unread, to tell which version a file that
/// does not read refuses.
#[derive(Deserialize)]
struct Unread<'a> {
    #[serde(borrow)]
    initial: &'a serde_json::value::RawValue,
    #[serde(borrow)]
    commits: Vec<&'a serde_json::value::RawValue>,
}

/// The first version of a history file that does not read as a version of `M` (0 for the
/// initial state), when the file has the form of a history: what [`History::load`] names
/// beside serde's error. Read again, version by version, only once the file was refused.
fn version_refused<M>(bytes: &[u8]) -> Option<usize>
where
    M: DiffModel + DeserializeOwned,
    ElementDiff<M>: DeserializeOwned,
{
    let unread: Unread<'_> = serde_json::from_slice(bytes).ok()?;
    if serde_json::from_str::<M>(unread.initial.get()).is_err() {
        return Some(0);
    }
    let refused = |commit: &&serde_json::value::RawValue| {
        serde_json::from_str::<Commit<M>>(commit.get()).is_err()
    };
    unread.commits.iter().position(refused).map(|at| at + 1)
}

/// A version of a history file that does not replay: the initial state a
/// [`History`] refuses (version 0), or a commit that does not apply to the version before
/// it (edited by hand, say). [`History::load`] returns it inside an
/// [`InvalidData`](std::io::ErrorKind::InvalidData) error, with statesync's own [`Error`]
/// beside the version:
///
/// ```
/// # use statesync::DiffModel;
/// # use statesync::merge::{History, ReplayError};
/// #[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
/// struct Service {
///     owner: String,
/// }
///
/// let dir = std::env::temp_dir().join(format!("statesync-replay-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("history.json");
/// let mut history = History::new(Service { owner: "a".into() })?;
/// history.commit(&Service { owner: "b".into() }, "hand over")?;
/// history.save(&path)?;
/// let text = std::fs::read_to_string(&path)?.replace(r#""old":"a""#, r#""old":"x""#);
/// std::fs::write(&path, text)?;
///
/// let error = History::<Service>::load(&path).unwrap_err();
/// let replay = error.get_ref().and_then(|inner| inner.downcast_ref::<ReplayError>());
/// assert_eq!(replay.map(|replay| replay.version), Some(1));
/// assert!(matches!(replay.map(|replay| &replay.error), Some(statesync::Error::Stale { .. })));
/// assert!(error.to_string().contains("commit 1 does not apply to version 0"));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplayError {
    /// The file.
    pub path: std::path::PathBuf,
    /// The version that does not replay: 0 for the initial state.
    pub version: usize,
    /// Why.
    pub error: Error,
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = crate::file::shown(&self.path);
        match self.version {
            0 => write!(f, "{path}: the initial state is refused: {}", self.error),
            version => write!(
                f,
                "{path}: commit {version} does not apply to version {}: {}",
                version - 1,
                self.error
            ),
        }
    }
}

impl std::error::Error for ReplayError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// A [`ReplayError`] as the [`InvalidData`](std::io::ErrorKind::InvalidData) error
/// [`History::load`] returns.
fn replay(path: &Path, version: usize, error: Error) -> std::io::Error {
    let replay = ReplayError {
        path: path.to_path_buf(),
        version,
        error,
    };
    std::io::Error::new(std::io::ErrorKind::InvalidData, replay)
}

/// An [`InvalidData`](std::io::ErrorKind::InvalidData) error naming the file.
fn invalid(path: &Path, error: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("{}: {error}", crate::file::shown(path)),
    )
}
