//! The server's versions: the head as a shared snapshot and the diffs of the last few
//! versions. Everything done under the lock is a handful of pointer copies; replaying and
//! diffing happen outside it, on the snapshot.

use std::collections::VecDeque;
use std::sync::Arc;

use statesync::{Diff, DiffModel};

use crate::inventory::Inventory;

/// The head and the diffs that led to it, at most `retained` of them.
#[derive(Debug)]
pub(crate) struct Versions {
    version: usize,
    head: Arc<Inventory>,
    /// The diff of each of the last versions, oldest first; the last is `version`'s.
    recent: VecDeque<Arc<Diff<Inventory>>>,
    retained: usize,
}

/// How to answer "what changed since `base`", taken under the lock and run outside it.
#[derive(Debug)]
pub(crate) enum Since {
    /// Replay these diffs backwards from the head to rebuild `base`, then diff.
    Replay {
        version: usize,
        head: Arc<Inventory>,
        diffs: Vec<Arc<Diff<Inventory>>>,
    },
    /// `base` is older than the retained versions: the whole state.
    Whole {
        version: usize,
        head: Arc<Inventory>,
    },
}

/// What [`Since::run`] gives.
#[derive(Debug)]
pub(crate) enum Changes {
    /// From the base to `version`.
    Diff(usize, Diff<Inventory>),
    /// The whole state at `version`.
    Whole(usize, Arc<Inventory>),
}

impl Versions {
    pub(crate) fn new(state: Inventory, retained: usize) -> Self {
        Self {
            version: 0,
            head: Arc::new(state),
            recent: VecDeque::new(),
            retained,
        }
    }

    /// The newest version and its state.
    pub(crate) fn head(&self) -> (usize, Arc<Inventory>) {
        (self.version, Arc::clone(&self.head))
    }

    /// How to tell a client at `base` what changed since.
    ///
    /// # Errors
    /// When `base` is newer than the head.
    pub(crate) fn since(&self, base: usize) -> Result<Since, String> {
        let behind = self
            .version
            .checked_sub(base)
            .ok_or_else(|| format!("no version {base}: the newest is version {}", self.version))?;
        if behind > self.recent.len() {
            return Ok(Since::Whole {
                version: self.version,
                head: Arc::clone(&self.head),
            });
        }
        Ok(Since::Replay {
            version: self.version,
            head: Arc::clone(&self.head),
            diffs: self
                .recent
                .iter()
                .skip(self.recent.len() - behind)
                .cloned()
                .collect(),
        })
    }

    /// Makes `next` (reached from version `base` by `diff`) the head, unless the head has
    /// moved since `base`; returns the new version.
    pub(crate) fn commit(
        &mut self,
        base: usize,
        next: Inventory,
        diff: Diff<Inventory>,
    ) -> Option<usize> {
        if base != self.version {
            return None;
        }
        self.version += 1;
        self.head = Arc::new(next);
        self.recent.push_back(Arc::new(diff));
        while self.recent.len() > self.retained {
            self.recent.pop_front();
        }
        Some(self.version)
    }
}

impl Since {
    /// Rebuilds the base from the head by undoing the diffs newest first, and diffs it
    /// with the head.
    ///
    /// # Errors
    /// When a diff does not undo (the stored diffs are the server's own: a bug).
    pub(crate) fn run(self) -> Result<Changes, statesync::Error> {
        match self {
            Since::Whole { version, head } => Ok(Changes::Whole(version, head)),
            Since::Replay { version, diffs, .. } if diffs.is_empty() => {
                Ok(Changes::Diff(version, Diff::default()))
            }
            Since::Replay {
                version,
                head,
                diffs,
            } => {
                let mut base = Inventory::clone(&head);
                for diff in diffs.iter().rev() {
                    base.apply(&diff.invert())?;
                }
                Ok(Changes::Diff(version, base.diff(&head)?))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{inventory, site};

    fn commit(versions: &mut Versions, name: &str) -> Inventory {
        let (version, head) = versions.head();
        let mut next = Inventory::clone(&head);
        next.sites.upsert(site(name, 1, 1));
        let diff = head.diff(&next).unwrap();
        assert_eq!(
            versions.commit(version, next.clone(), diff),
            Some(version + 1)
        );
        next
    }

    #[test]
    fn a_retained_base_gets_a_diff_an_older_one_the_whole_state() {
        let mut versions = Versions::new(inventory(), 2);
        let one = commit(&mut versions, "one");
        commit(&mut versions, "two");
        let three = commit(&mut versions, "three");
        let Changes::Diff(3, diff) = versions.since(1).unwrap().run().unwrap() else {
            panic!("version 1 is retained")
        };
        let mut rebuilt = one;
        assert!(rebuilt.apply(&diff).is_ok());
        assert_eq!(rebuilt, three);
        assert!(matches!(
            versions.since(0).map(Since::run),
            Ok(Ok(Changes::Whole(3, _)))
        ));
        assert!(matches!(
            versions.since(3).map(Since::run),
            Ok(Ok(Changes::Diff(3, ref diff))) if diff.is_empty()
        ));
        assert!(versions.since(4).is_err());
        assert_eq!(
            versions.commit(2, inventory(), Diff::default()),
            None,
            "moved"
        );
    }
}
