//! The one error type of statesync: every failure names the element it is about.

use std::fmt;

/// Where an element sits in a hierarchy: the chain of ancestors from the root down,
/// rendered as `site[name=nyc].devices.device[site=nyc, name=sw1].interfaces`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Path {
    segments: Vec<String>,
}

impl Path {
    /// The empty path: the element is a root.
    pub fn root() -> Self {
        Self::default()
    }

    /// The segments from the root down, each `model[key].field`.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    fn push_front(&mut self, segment: String) {
        self.segments.insert(0, segment);
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (at, segment) in self.segments.iter().enumerate() {
            if at > 0 {
                f.write_str(".")?;
            }
            f.write_str(segment)?;
        }
        Ok(())
    }
}

/// A path in front of the element an error names: the path and a dot, or nothing for a
/// root's collection (`site[name=nyc].devices.` + `device[name=sw1]`).
struct Prefix<'a>(&'a Path);

impl fmt::Display for Prefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.segments.is_empty() {
            Ok(())
        } else {
            write!(f, "{}.", self.0)
        }
    }
}

/// What was being done when an element was found missing or present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Creating an element.
    Create,
    /// Updating an element.
    Update,
    /// Deleting an element.
    Delete,
}

impl Operation {
    /// How a stale element is described: an update changes a value, a delete removes it.
    fn stale_wording(self) -> &'static str {
        match self {
            Operation::Update | Operation::Create => "changes",
            Operation::Delete => "deletes",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Delete => "delete",
        })
    }
}

/// An error from building, diffing or applying state. Each variant names the model and the
/// key of the element at fault; those found inside a hierarchy also carry its [`Path`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two models with the same key in one collection.
    #[error(
        "duplicate key: {}{} appears more than once",
        Prefix(path),
        Element(model, key)
    )]
    DuplicateKey {
        /// Model name of the duplicated element.
        model: &'static str,
        /// The duplicated key, rendered.
        key: String,
        /// Where the collection sits.
        path: Path,
    },
    /// A model of a [`Store`](crate::Store) renamed onto a key another model held (or
    /// whose id's `Hash` or `PartialEq` panicked while it was filed under its new key),
    /// kept aside ([`Store::collisions`](crate::Store::collisions)): the store is refused (by
    /// diff, apply, sync and merge) until it is taken back with
    /// [`Store::take_collisions`](crate::Store::take_collisions), even once its key is free.
    #[error(
        "{}{} is set aside in its store: it was renamed onto a key another model held (or \
         filing it under its new key panicked); take it back with `Store::take_collisions` \
         to diff, apply or sync the store",
        Prefix(path),
        Element(model, key)
    )]
    SetAside {
        /// Model name of the model set aside.
        model: &'static str,
        /// Its key, rendered.
        key: String,
        /// Where the store sits.
        path: Path,
    },
    /// An update or delete of an element that is not there.
    #[error(
        "cannot {operation} {}{}: no such element",
        Prefix(path),
        Element(model, key)
    )]
    NotFound {
        /// What the diff asked for.
        operation: Operation,
        /// Model name of the element.
        model: &'static str,
        /// The key that was not found, rendered.
        key: String,
        /// Where the collection sits.
        path: Path,
    },
    /// An element an edit of a view creates that
    /// [`Projection::write_back`](crate::projection::Projection::write_back) had no place
    /// for in the source (its parent there went away since the view was shown, say): the
    /// source's projection lacks it after the write-back, so carrying it back would drop
    /// it.
    #[error(
        "cannot carry back the create of {}{}: writing the view back did not put it into \
         the source (its place there may have gone since the view was shown: refresh the \
         view and edit again)",
        Prefix(path),
        Element(model, key)
    )]
    NotCarried {
        /// Model name of the view's element.
        model: &'static str,
        /// Its key, rendered.
        key: String,
        /// Where the collection sits (the view's root: the error names the element by its
        /// model and key).
        path: Path,
    },
    /// An update whose old value of a field is not the element's current value: the diff
    /// was made for another state (or the element changed since). For a delete: the
    /// element no longer equals the model the diff deletes (the field is the first
    /// attribute, or children field, that differs; for a children field, `below` names the
    /// first change made since in the subtree), so the diff would lose an edit made since.
    #[error(
        "cannot {operation} {}{}: field `{field}` no longer holds the value the diff {}{}",
        Prefix(path),
        Element(model, key),
        .operation.stale_wording(),
        Below(below.as_deref().map(String::as_str))
    )]
    Stale {
        /// What the diff asked for: an update or a delete.
        operation: Operation,
        /// Model name of the element.
        model: &'static str,
        /// The element's key, rendered.
        key: String,
        /// The field whose value differs from the diff's old value.
        field: &'static str,
        /// For a delete refused for its children: the first change made since below the
        /// element, as a plan shows it, after its ancestors under the element
        /// (`dir[name=l2] > ~ dir[name=l3] size: 1 -> 2`), cut after 256 bytes. (Boxed: an
        /// `Error` stays 96 bytes, the size of every `Result` that may hold one.)
        #[allow(clippy::box_collection)]
        below: Option<Box<String>>,
        /// Where the collection sits.
        path: Path,
    },
    /// A create of an element that is already there.
    #[error(
        "cannot create {}{}: it already exists",
        Prefix(path),
        Element(model, key)
    )]
    AlreadyExists {
        /// Model name of the element.
        model: &'static str,
        /// The key that already exists, rendered.
        key: String,
        /// Where the collection sits.
        path: Path,
    },
    /// A root diff that is neither empty, nor an update of the root, nor its replacement (a
    /// delete and a create under two different keys): a root holds exactly one model.
    #[error("cannot apply to the root {model}: {}", RootShapes(model, key))]
    InvalidRootDiff {
        /// Model name of the root.
        model: &'static str,
        /// Key of the first element of the diff, rendered (not the root's: the diff need
        /// not name it).
        key: String,
    },
    /// An element deeper than the tree depth statesync supports ([`crate::MAX_DEPTH`]):
    /// diffing, checking or applying it would recurse too deep.
    #[error(
        "{}{} is deeper than the {limit} levels statesync supports",
        Prefix(path),
        Element(model, key)
    )]
    TooDeep {
        /// Model name of the element one level too deep.
        model: &'static str,
        /// Its key, rendered.
        key: String,
        /// The supported depth, [`crate::MAX_DEPTH`].
        limit: usize,
        /// Where the collection holding it sits.
        path: Path,
    },
    /// A version a [`History`](crate::merge::History) cannot give: `checkout` of a version
    /// past its head, `revert` of one that is no commit (past the head, or 0, the initial
    /// state). With the `merge` feature.
    #[cfg(feature = "merge")]
    #[error("cannot {action} version {version}: {}", version_range(action, *.head))]
    NoVersion {
        /// What was asked: `"check out"` or `"revert"`.
        action: &'static str,
        /// The version asked for.
        version: usize,
        /// The history's head version.
        head: usize,
    },
    /// A [`History::revert`](crate::merge::History::revert) whose undo no longer applies:
    /// a later commit changed what the reverted one changed (`conflict` says where).
    /// Nothing is committed. With the `merge` feature.
    #[cfg(feature = "merge")]
    #[error("cannot revert version {version}: a later commit changed what it changed ({conflict})")]
    RevertConflict {
        /// The version whose revert was asked.
        version: usize,
        /// Why its undo does not apply to the head.
        conflict: Box<Error>,
    },
    /// A model handed in under a key that is not its own.
    #[error(
        "key mismatch: {}{model}[{expected}] was given a model whose key is {model}[{found}]",
        Prefix(path)
    )]
    KeyMismatch {
        /// Model name.
        model: &'static str,
        /// The key asked for.
        expected: String,
        /// The key of the model given.
        found: String,
        /// Where the collection sits.
        path: Path,
    },
}

impl Error {
    // The constructors below are not generic and are marked cold: every model's diff,
    // check and apply code calls them on its error paths, and formatting a key is compiled
    // here once instead of once per model type.

    #[cold]
    #[inline(never)]
    pub(crate) fn not_found(
        operation: Operation,
        model: &'static str,
        key: &dyn fmt::Display,
    ) -> Self {
        Error::NotFound {
            operation,
            model,
            key: key.to_string(),
            path: Path::root(),
        }
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn already_exists(model: &'static str, key: &dyn fmt::Display) -> Self {
        Error::AlreadyExists {
            model,
            key: key.to_string(),
            path: Path::root(),
        }
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn stale(
        operation: Operation,
        model: &'static str,
        key: &dyn fmt::Display,
        field: &'static str,
    ) -> Self {
        Error::Stale {
            operation,
            model,
            key: key.to_string(),
            field,
            below: None,
            path: Path::root(),
        }
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn duplicate_key(model: &'static str, key: &dyn fmt::Display) -> Self {
        Error::DuplicateKey {
            model,
            key: key.to_string(),
            path: Path::root(),
        }
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn set_aside(model: &'static str, key: &dyn fmt::Display) -> Self {
        Error::SetAside {
            model,
            key: key.to_string(),
            path: Path::root(),
        }
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn key_mismatch(
        model: &'static str,
        expected: &dyn fmt::Display,
        found: &dyn fmt::Display,
    ) -> Self {
        Error::KeyMismatch {
            model,
            expected: expected.to_string(),
            found: found.to_string(),
            path: Path::root(),
        }
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn invalid_root(model: &'static str, key: &dyn fmt::Display) -> Self {
        Error::InvalidRootDiff {
            model,
            key: key.to_string(),
        }
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn too_deep(model: &'static str, key: &dyn fmt::Display) -> Self {
        Error::TooDeep {
            model,
            key: key.to_string(),
            limit: crate::MAX_DEPTH,
            path: Path::root(),
        }
    }
}

/// [`Error::Stale`]'s `below`, after its message: ` (first change below it since: ...)`.
struct Below<'a>(Option<&'a str>);

impl fmt::Display for Below<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(below) => write!(f, " (first change below it since: {below})"),
            None => Ok(()),
        }
    }
}

/// What [`Error::NoVersion`] says a history holds for `action`.
#[cfg(feature = "merge")]
fn version_range(action: &str, head: usize) -> String {
    match (action, head) {
        ("revert", 0) => "the history has no commit (version 0 is the initial state)".to_owned(),
        ("revert", _) => {
            format!("the commits are versions 1 to {head} (version 0 is the initial state)")
        }
        _ => format!("the versions are 0 to {head}"),
    }
}

/// An element as errors, paths, reports and merge conflicts name it: `model[key]`, or the
/// model's name alone when its key is empty (a model without id fields, as plans write it;
/// an id value written empty is quoted, `name=""`).
pub(crate) struct Element<'a>(pub(crate) &'a str, pub(crate) &'a str);

impl fmt::Display for Element<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Element(model, key) = self;
        if key.is_empty() {
            f.write_str(model)
        } else {
            write!(f, "{model}[{key}]")
        }
    }
}

/// The shapes a root diff can take, for [`Error::InvalidRootDiff`]: a singleton (its key
/// renders empty) has one key, so only an update. The diff's first element is named as
/// such, not as the root (whose key the diff need not hold).
struct RootShapes<'a>(&'a str, &'a str);

impl fmt::Display for RootShapes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let RootShapes(model, key) = self;
        if key.is_empty() {
            f.write_str("a root diff of a model without id fields must be one update")
        } else {
            write!(
                f,
                "a root diff must be one update, or one delete and one create under two \
                 different keys (this one begins with {})",
                Element(model, key)
            )
        }
    }
}

impl Error {
    /// Adds an ancestor (`model[key].field`) in front of this error's path.
    pub fn within(mut self, model: &str, key: &dyn fmt::Display, field: &str) -> Self {
        let segment = format!("{}.{field}", Element(model, &key.to_string()));
        match &mut self {
            Error::DuplicateKey { path, .. }
            | Error::SetAside { path, .. }
            | Error::NotFound { path, .. }
            | Error::NotCarried { path, .. }
            | Error::Stale { path, .. }
            | Error::AlreadyExists { path, .. }
            | Error::TooDeep { path, .. }
            | Error::KeyMismatch { path, .. } => path.push_front(segment),
            Error::InvalidRootDiff { .. } => {}
            #[cfg(feature = "merge")]
            Error::NoVersion { .. } | Error::RevertConflict { .. } => {}
        }
        self
    }

    /// The path of the collection holding the element at fault (for a revert's conflict,
    /// the conflict's).
    pub fn path(&self) -> Option<&Path> {
        match self {
            Error::DuplicateKey { path, .. }
            | Error::SetAside { path, .. }
            | Error::NotFound { path, .. }
            | Error::NotCarried { path, .. }
            | Error::Stale { path, .. }
            | Error::AlreadyExists { path, .. }
            | Error::TooDeep { path, .. }
            | Error::KeyMismatch { path, .. } => Some(path),
            Error::InvalidRootDiff { .. } => None,
            #[cfg(feature = "merge")]
            Error::NoVersion { .. } => None,
            #[cfg(feature = "merge")]
            Error::RevertConflict { conflict, .. } => conflict.path(),
        }
    }
}

/// `Result` with statesync's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    /// Every `Result` that may hold an [`Error`](super::Error) is as large as it: a field
    /// added to a variant is boxed when it would grow it (`Stale::below`).
    #[test]
    fn an_error_stays_96_bytes() {
        assert!(std::mem::size_of::<super::Error>() <= 96);
    }
}
