//! The JSON history file (feature `history`): [`History::save`] and [`History::load`].

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::history::{Commit, History};
use crate::diff::{Diff, ElementDiff};
use crate::model::DiffModel;

/// The persistent form: the initial state and the commits.
#[derive(Deserialize)]
#[serde(bound(deserialize = "M: Deserialize<'de>, Diff<M>: Deserialize<'de>"))]
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
    /// stays as it was unless the whole new one was written, flushed and synced.
    ///
    /// # Errors
    /// The I/O or serialisation error, or [`InvalidData`](std::io::ErrorKind::InvalidData)
    /// for an initial state deeper than [`MAX_DEPTH`](crate::MAX_DEPTH) (which
    /// [`History::load`] could not read); the file at `path` is then unchanged.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        // The initial state was checked by `new`, commits when made: all of it loads again.
        let stored = StoredRef {
            initial: &self.initial,
            commits: &self.commits,
        };
        crate::file::replace(path, |out| {
            serde_json::to_writer(out, &stored).map_err(std::io::Error::from)
        })
    }

    /// Reads a history written by [`History::save`], replaying it to rebuild the head.
    ///
    /// # Errors
    /// The I/O error, malformed JSON, or commits that do not replay.
    pub fn load(path: &Path) -> std::io::Result<Self> {
        let stored: Stored<M> = serde_json::from_slice(&std::fs::read(path)?)?;
        let mut history = Self::new(stored.initial)
            .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error))?;
        for commit in stored.commits {
            history
                .head
                .apply(&commit.diff)
                .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error))?;
            history.commits.push(commit);
        }
        Ok(history)
    }
}
