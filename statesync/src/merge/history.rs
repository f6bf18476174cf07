//! [`History`]: versions of a model, stored as diffs.

use crate::diff::Diff;
use crate::error::Error;
use crate::model::DiffModel;

/// One version: its number, its message and the diff from the version before.
#[derive(Clone)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(
        deny_unknown_fields,
        bound(
            serialize = "Diff<M>: serde::Serialize",
            deserialize = "Diff<M>: serde::Deserialize<'de>"
        )
    )
)]
pub struct Commit<M: DiffModel> {
    /// The version number (the initial state is version 0).
    pub version: usize,
    /// What the commit says.
    pub message: String,
    /// The change from the previous version.
    pub diff: Diff<M>,
}

impl<M: DiffModel> std::fmt::Debug for Commit<M>
where
    Diff<M>: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Commit")
            .field("version", &self.version)
            .field("message", &self.message)
            .field("diff", &self.diff)
            .finish()
    }
}

impl<M: DiffModel> PartialEq for Commit<M>
where
    Diff<M>: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version && self.message == other.message && self.diff == other.diff
    }
}

/// The versions of a model: the initial state and a diff per commit (no copies), plus the
/// current state. A bidirectional sync keeps its base here.
///
/// ```
/// use statesync::merge::History;
/// use statesync::DiffModel;
///
/// #[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
/// struct Limits { max_users: u32 }
///
/// let mut history = History::new(Limits { max_users: 10 })?;
/// history.commit(&Limits { max_users: 20 }, "more users")?;
/// history.commit(&Limits { max_users: 50 }, "even more")?;
/// assert_eq!(history.checkout(1)?.max_users, 20);
/// history.revert(2, "too many")?;
/// assert_eq!(history.head().max_users, 20);
/// let messages: Vec<&str> = history.versions().map(|(_, message)| message).collect();
/// assert_eq!(messages, ["initial", "more users", "even more", "too many"]);
/// # Ok::<(), statesync::Error>(())
/// ```
#[derive(Clone)]
pub struct History<M: DiffModel> {
    pub(super) initial: M,
    pub(super) commits: Vec<Commit<M>>,
    pub(super) head: M,
}

impl<M: DiffModel + std::fmt::Debug> std::fmt::Debug for History<M>
where
    Diff<M>: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History")
            .field("initial", &self.initial)
            .field("commits", &self.commits)
            .field("head", &self.head)
            .finish()
    }
}

impl<M: DiffModel + PartialEq> PartialEq for History<M>
where
    Diff<M>: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        self.initial == other.initial && self.commits == other.commits && self.head == other.head
    }
}

impl<M: DiffModel> History<M> {
    /// A history whose version 0 is `initial`.
    ///
    /// # Errors
    /// [`Error::TooDeep`] when `initial` nests deeper than [`crate::MAX_DEPTH`]: a history
    /// holds only what it can save and load again (and copying a deeper tree could
    /// overflow the stack). [`Error::DuplicateKey`] (or [`Error::KeyMismatch`]) when a
    /// collection in it repeats a key (a `Vec` of children) or files a child under another
    /// key (a map): no commit could ever be diffed against it.
    pub fn new(initial: M) -> Result<Self, Error> {
        crate::diff::check_create(&initial)?;
        Ok(Self {
            head: initial.clone(),
            initial,
            commits: Vec::new(),
        })
    }

    /// The current state (the newest version).
    pub fn head(&self) -> &M {
        &self.head
    }

    /// The newest version number.
    pub fn version(&self) -> usize {
        self.commits.len()
    }

    /// Every version with its message, oldest first.
    pub fn versions(&self) -> impl Iterator<Item = (usize, &str)> {
        std::iter::once((0, "initial")).chain(
            self.commits
                .iter()
                .map(|commit| (commit.version, commit.message.as_str())),
        )
    }

    /// The commits, oldest first.
    pub fn commits(&self) -> &[Commit<M>] {
        &self.commits
    }

    /// Records `state` as a new version and returns its number; a state that changes
    /// nothing records no version, and the head's number is returned.
    ///
    /// # Errors
    /// As [`DiffModel::diff`] of the head and `state` (a `Vec` with two children of one
    /// key, say).
    pub fn commit(&mut self, state: &M, message: &str) -> Result<usize, Error> {
        let diff = self.head.diff(state)?;
        if diff.is_empty() {
            return Ok(self.version());
        }
        self.head.apply(&diff)?;
        self.commits.push(Commit {
            version: self.commits.len() + 1,
            message: message.to_owned(),
            diff,
        });
        Ok(self.commits.len())
    }

    /// The state at `version`, rebuilt from the initial state and the diffs.
    ///
    /// # Errors
    /// [`Error::NoVersion`] when there is no such version.
    pub fn checkout(&self, version: usize) -> Result<M, Error> {
        if version > self.commits.len() {
            return Err(self.no_version("check out", version));
        }
        let mut state = self.initial.clone();
        for commit in self.commits.iter().take(version) {
            state.apply(&commit.diff)?;
        }
        Ok(state)
    }

    /// Undoes the change of commit `version` on top of the current state, as a new commit.
    ///
    /// # Errors
    /// [`Error::NoVersion`] when there is no such commit (version 0 is the initial state);
    /// [`Error::RevertConflict`] when later commits changed what it changed (nothing is
    /// committed then).
    pub fn revert(&mut self, version: usize, message: &str) -> Result<usize, Error> {
        let commit = version
            .checked_sub(1)
            .and_then(|at| self.commits.get(at))
            .ok_or_else(|| self.no_version("revert", version))?;
        let mut state = self.head.clone();
        state
            .apply(&commit.diff.invert())
            .map_err(|conflict| Error::RevertConflict {
                version,
                conflict: Box::new(conflict),
            })?;
        self.commit(&state, message)
    }
}

/// Why [`History::commit_diff`] refused a diff.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The diff was made against an older version: merge first.
    #[error("stale diff: made against version {base}, the head is version {head}")]
    Stale {
        /// The version the diff was made against.
        base: usize,
        /// The current version.
        head: usize,
    },
    /// The diff does not apply to the head (it names missing or existing elements).
    #[error("invalid diff: {0}")]
    Invalid(Error),
    /// The diff changes nothing (empty, or its new values are the head's): no version is
    /// recorded, so a replica pushing nothing makes no other one stale.
    #[error("the diff changes nothing")]
    Unchanged,
}

impl<M: DiffModel> History<M> {
    /// Why `action` cannot have `version`.
    fn no_version(&self, action: &'static str, version: usize) -> Error {
        Error::NoVersion {
            action,
            version,
            head: self.version(),
        }
    }

    /// The diff from `version` to the head, for a replica that holds `version`.
    ///
    /// # Errors
    /// [`Error::NoVersion`] when there is no such version.
    pub fn diff_since(&self, version: usize) -> Result<Diff<M>, Error> {
        self.checkout(version)?.diff(&self.head)
    }

    /// Commits a diff a replica made against version `base`: refused when `base` is not the
    /// head (the replica must merge first), when it does not apply, or when it changes
    /// nothing; the head is then unchanged. Returns the new version.
    ///
    /// # Errors
    /// [`Refused::Stale`], [`Refused::Invalid`] or [`Refused::Unchanged`].
    pub fn commit_diff(
        &mut self,
        base: usize,
        diff: &Diff<M>,
        message: &str,
    ) -> Result<usize, Refused> {
        let head = self.version();
        if base != head {
            return Err(Refused::Stale { base, head });
        }
        let mut next = self.head.clone();
        next.apply(diff).map_err(Refused::Invalid)?;
        let committed = self.commit(&next, message).map_err(Refused::Invalid)?;
        if committed == head {
            return Err(Refused::Unchanged);
        }
        Ok(committed)
    }
}
