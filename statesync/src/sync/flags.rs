//! Flags that change what a sync does, with the meanings Python diffsync gives them.

use std::collections::HashMap;

use crate::model::DiffModel;

bitflags::bitflags! {
    /// Flags for a whole sync.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct SyncFlags: u8 {
        /// Keep going after a hook fails; without it the first failure stops the sync.
        const CONTINUE_ON_FAILURE = 1;
        /// Do not create elements that are only in the source.
        const SKIP_UNMATCHED_SRC = 1 << 1;
        /// Do not delete elements that are only in the target.
        const SKIP_UNMATCHED_DST = 1 << 2;
        /// Neither create nor delete: only update elements present on both sides.
        const SKIP_UNMATCHED_BOTH = Self::SKIP_UNMATCHED_SRC.bits() | Self::SKIP_UNMATCHED_DST.bits();
        /// List unchanged elements in the report (and log them at debug level).
        const LOG_UNCHANGED_RECORDS = 1 << 3;
    }
}

bitflags::bitflags! {
    /// Flags for one model type, declared in the derive (`#[statesync(flags = "...")]`) or
    /// set per call with [`SyncOptions::model_flags`].
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct ModelFlags: u8 {
        /// Leave elements of this model (and their subtrees) alone.
        const IGNORE = 1;
        /// On delete, call only the parent's delete hook: the system removes the children
        /// itself (for example `ON DELETE CASCADE`); they leave memory with the parent.
        const SKIP_CHILDREN_ON_DELETE = 1 << 1;
        /// Do not create elements of this model that are only in the source.
        const SKIP_UNMATCHED_SRC = 1 << 2;
        /// Do not delete elements of this model that are only in the target.
        const SKIP_UNMATCHED_DST = 1 << 3;
        /// Delete children before their parent. This is statesync's default already (it
        /// is the order foreign keys need); the flag is kept for diffsync users.
        const NATURAL_DELETION_ORDER = 1 << 4;
        /// Delete the parent before its children (diffsync's default order). Once the
        /// parent's hook succeeded its children leave memory with it, even those whose own
        /// delete hook then fails (the failures are in the report).
        const PARENT_FIRST_DELETION = 1 << 5;
    }
}

/// What one stage of a long run has done so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// `"diff"` or `"sync"`.
    pub stage: &'static str,
    /// Elements done.
    pub done: usize,
    /// Elements in all.
    pub total: usize,
}

/// Options of a sync: flags, per-model flags and a progress callback.
#[derive(Default)]
pub struct SyncOptions<'a> {
    /// Flags for the whole sync.
    pub flags: SyncFlags,
    model_flags: HashMap<&'static str, ModelFlags>,
    progress: Option<Box<dyn FnMut(Progress) + 'a>>,
}

impl std::fmt::Debug for SyncOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncOptions")
            .field("flags", &self.flags)
            .field("model_flags", &self.model_flags)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

impl<'a> SyncOptions<'a> {
    /// Options with these flags.
    pub fn new(flags: SyncFlags) -> Self {
        Self {
            flags,
            ..Self::default()
        }
    }

    /// Adds flags for model `M`, on top of those its derive declares. Flags are kept by
    /// model name, so two model types of one sync must not share a name.
    pub fn model_flags<M: DiffModel>(mut self, flags: ModelFlags) -> Self {
        *self.model_flags.entry(M::NAME).or_default() |= flags;
        self
    }

    /// Calls `progress` as elements are diffed and synced.
    pub fn on_progress(mut self, progress: impl FnMut(Progress) + 'a) -> Self {
        self.progress = Some(Box::new(progress));
        self
    }

    /// The flags in force for model `M`: its derive's and this call's.
    pub fn flags_for<M: DiffModel>(&self) -> ModelFlags {
        M::FLAGS | self.model_flags.get(M::NAME).copied().unwrap_or_default()
    }

    pub(crate) fn has_progress(&self) -> bool {
        self.progress.is_some()
    }

    pub(crate) fn report_progress(&mut self, stage: &'static str, done: usize, total: usize) {
        if let Some(progress) = &mut self.progress {
            progress(Progress { stage, done, total });
        }
    }
}
