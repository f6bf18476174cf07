//! Flags that change what a sync does, with the meanings Python diffsync gives them.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::model::DiffModel;

use super::report::Outcome;

bitflags::bitflags! {
    /// Flags for a whole sync.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct SyncFlags: u8 {
        /// Keep going after a hook fails (unless its error is [`Fatal`](super::Fatal));
        /// without it the first failure stops the sync.
        const CONTINUE_ON_FAILURE = 1;
        /// Do not create elements that are only in the source.
        const SKIP_UNMATCHED_SRC = 1 << 1;
        /// Do not delete elements that are only in the target.
        const SKIP_UNMATCHED_DST = 1 << 2;
        /// Neither create nor delete: only update elements present on both sides.
        const SKIP_UNMATCHED_BOTH = Self::SKIP_UNMATCHED_SRC.bits() | Self::SKIP_UNMATCHED_DST.bits();
        /// List every unchanged element in the report (and log them at debug level): each
        /// element of the target the diff does not change, a parent whose children changed
        /// included, whether the diff was made by the sync or earlier.
        const LOG_UNCHANGED_RECORDS = 1 << 3;
    }
}

bitflags::bitflags! {
    /// Flags for one model type, declared in the derive (`#[statesync(flags = "...")]`) or
    /// set per call for a model type ([`SyncOptions::model_flags`]) or for one element
    /// ([`SyncOptions::instance_flags`]).
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

/// The order in which a sync runs its creates, updates and deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SyncOrder {
    /// Every delete of the whole tree (children before parents), then, collection by
    /// collection, updates and creates (parents before children). An element moved from
    /// one parent to another is deleted before it is created again, so a system with a
    /// unique constraint across parents accepts the move. The default.
    #[default]
    DeletesFirst,
    /// Collection by collection: each collection's deletes, updates (with their children's
    /// own collections) and creates before the next collection. A move to a parent synced
    /// earlier creates the element before deleting it. The async engine keeps only part of
    /// this order: a collection's updates and creates wait for its deletes, while the next
    /// collections run alongside them.
    PerCollection,
}

/// A limit on how much a sync may delete: a sync whose plan deletes more is refused as a
/// whole before any hook runs, and [`SyncReport::refused`](super::SyncReport::refused) says
/// what it would have deleted.
///
/// ```
/// use statesync::sync::DeleteLimit;
///
/// let limit = DeleteLimit::percent(50).and_at_most(1_000);
/// assert!(limit.allows(10, 40)); // 25% and under 1,000
/// assert!(!limit.allows(30, 40)); // 75%
/// assert!(!DeleteLimit::at_most(0).allows(1, 1_000_000));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DeleteLimit {
    /// The most elements a sync may delete.
    pub max: Option<usize>,
    /// The largest share of the target's elements, in percent, a sync may delete.
    pub max_percent: Option<u8>,
}

impl DeleteLimit {
    /// At most `max` deletes.
    pub fn at_most(max: usize) -> Self {
        Self {
            max: Some(max),
            max_percent: None,
        }
    }

    /// At most `percent` % of the target's elements (counted with their descendants); 100
    /// or more allows deleting every element.
    pub fn percent(percent: u8) -> Self {
        Self {
            max: None,
            max_percent: Some(percent),
        }
    }

    /// This limit and at most `max` deletes.
    #[must_use]
    pub fn and_at_most(mut self, max: usize) -> Self {
        self.max = Some(max);
        self
    }

    /// Whether `deletes` of a target of `elements` elements stay within the limit.
    pub fn allows(&self, deletes: usize, elements: usize) -> bool {
        let within_count = self.max.is_none_or(|max| deletes <= max);
        // deletes / elements <= percent / 100, in integers.
        let within_share = self.max_percent.is_none_or(|percent| {
            deletes.saturating_mul(100) <= elements.saturating_mul(usize::from(percent))
        });
        within_count && within_share
    }
}

impl fmt::Display for DeleteLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.max, self.max_percent) {
            (Some(max), Some(percent)) => write!(f, "at most {max} deletes and {percent}%"),
            (Some(max), None) => write!(f, "at most {max} deletes"),
            (None, Some(percent)) => write!(f, "at most {percent}% of the target"),
            (None, None) => f.write_str("no limit"),
        }
    }
}

/// The flags set per call for one model type: for the type, and for some of its elements.
#[derive(Clone)]
struct TypeFlags {
    name: &'static str,
    flags: ModelFlags,
    /// A `HashMap<M::Key, OwnFlags>` of the model type this entry is for.
    instances: Option<Arc<dyn Any + Send + Sync>>,
}

/// The flags set per call for one element: added to its type's, or in their place.
#[derive(Clone, Copy, Default)]
struct OwnFlags {
    flags: ModelFlags,
    /// Whether `flags` are all the element's (its type's and its derive's left out).
    exact: bool,
}

impl fmt::Debug for TypeFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypeFlags")
            .field("name", &self.name)
            .field("flags", &self.flags)
            .field("instances", &self.instances.is_some())
            .finish()
    }
}

/// Options of a sync: flags for the sync, for model types and for single elements, the
/// order, a limit on deletes and a progress callback.
///
/// Flags for a model type or an element are kept by the model's type (its `TypeId`), so
/// two model types that share a name never share flags.
///
/// ```
/// use statesync::sync::{ModelFlags, SyncFlags, SyncOptions};
/// use statesync::{DiffModel, Store};
///
/// #[derive(DiffModel, Clone, Debug, PartialEq)]
/// struct Device {
///     #[statesync(id)]
///     name: String,
/// }
///
/// let options = SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE)
///     // Never delete a device that is only in the target...
///     .model_flags::<Device>(ModelFlags::SKIP_UNMATCHED_DST)
///     // ...and leave the core router alone altogether.
///     .instance_flags::<Device>(DeviceKey { name: "core1".into() }, ModelFlags::IGNORE);
/// let core1 = DeviceKey { name: "core1".into() };
/// let edge1 = DeviceKey { name: "edge1".into() };
/// assert_eq!(
///     options.flags_for_instance::<Device>(&core1),
///     ModelFlags::SKIP_UNMATCHED_DST | ModelFlags::IGNORE
/// );
/// assert_eq!(options.flags_for_instance::<Device>(&edge1), ModelFlags::SKIP_UNMATCHED_DST);
/// ```
#[derive(Default)]
pub struct SyncOptions<'a> {
    /// Flags for the whole sync.
    pub flags: SyncFlags,
    /// The order of deletes, updates and creates.
    pub order: SyncOrder,
    /// A limit on deletes; `None` (the default) lets a sync delete anything.
    pub delete_limit: Option<DeleteLimit>,
    model_flags: HashMap<TypeId, TypeFlags>,
    progress: Option<Box<dyn FnMut(Progress) + Send + 'a>>,
    on_outcome: Option<Box<dyn FnMut(Outcome) + Send + 'a>>,
}

impl fmt::Debug for SyncOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncOptions")
            .field("flags", &self.flags)
            .field("order", &self.order)
            .field("delete_limit", &self.delete_limit)
            .field(
                "model_flags",
                &self.model_flags.values().collect::<Vec<_>>(),
            )
            .field("progress", &self.progress.is_some())
            .field("on_outcome", &self.on_outcome.is_some())
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

    /// Adds flags for every element of model `M`, on top of those its derive declares.
    pub fn model_flags<M: DiffModel + 'static>(mut self, flags: ModelFlags) -> Self {
        self.entry::<M>().flags |= flags;
        self
    }

    /// Adds flags for the elements of model `M` whose key is `key` (diffsync's
    /// `model_flags` on one object), on top of those of the type. A key that is unique only
    /// within its parent flags the element of that key under every parent.
    pub fn instance_flags<M: DiffModel<Key: Send + Sync> + 'static>(
        mut self,
        key: M::Key,
        flags: ModelFlags,
    ) -> Self {
        if let Some(own) = self.instances_mut::<M>() {
            own.entry(key).or_default().flags |= flags;
        }
        self
    }

    /// Sets the flags of the elements of model `M` whose key is `key` to exactly `flags`,
    /// in place of those of the type (its derive's and [`SyncOptions::model_flags`]), as
    /// diffsync's `model_flags` set on one object replaces its class's: one element of a
    /// model declared `SKIP_UNMATCHED_DST` may then be deleted.
    /// [`SyncOptions::instance_flags`] for the same element afterwards adds to them.
    ///
    /// ```
    /// use statesync::sync::{ModelFlags, SyncOptions};
    /// use statesync::DiffModel;
    ///
    /// #[derive(DiffModel, Clone, Debug, PartialEq)]
    /// #[statesync(flags = "SKIP_UNMATCHED_DST")]
    /// struct Vlan {
    ///     #[statesync(id)]
    ///     id: u16,
    /// }
    ///
    /// let options = SyncOptions::default()
    ///     .instance_flags_exactly::<Vlan>(VlanKey { id: 99 }, ModelFlags::empty());
    /// assert_eq!(options.flags_for_instance::<Vlan>(&VlanKey { id: 99 }), ModelFlags::empty());
    /// assert_eq!(
    ///     options.flags_for_instance::<Vlan>(&VlanKey { id: 1 }),
    ///     ModelFlags::SKIP_UNMATCHED_DST
    /// );
    /// ```
    pub fn instance_flags_exactly<M: DiffModel<Key: Send + Sync> + 'static>(
        mut self,
        key: M::Key,
        flags: ModelFlags,
    ) -> Self {
        if let Some(own) = self.instances_mut::<M>() {
            own.insert(key, OwnFlags { flags, exact: true });
        }
        self
    }

    /// The flags set for single elements of `M`, to change.
    fn instances_mut<M: DiffModel<Key: Send + Sync> + 'static>(
        &mut self,
    ) -> Option<&mut HashMap<M::Key, OwnFlags>> {
        let entry = self.entry::<M>();
        let instances = entry.instances.get_or_insert_with(|| {
            let empty: Arc<dyn Any + Send + Sync> = Arc::new(HashMap::<M::Key, OwnFlags>::new());
            empty
        });
        if Arc::get_mut(instances).is_none() {
            // Shared with a dry run's options: copy before writing.
            let copy = instances
                .downcast_ref::<HashMap<M::Key, OwnFlags>>()
                .cloned()
                .unwrap_or_default();
            *instances = Arc::new(copy);
        }
        Arc::get_mut(instances).and_then(|any| any.downcast_mut::<HashMap<M::Key, OwnFlags>>())
    }

    /// Sets the order of deletes, updates and creates.
    pub fn order(mut self, order: SyncOrder) -> Self {
        self.order = order;
        self
    }

    /// Refuses a sync that would delete more than `limit` allows.
    pub fn delete_limit(mut self, limit: DeleteLimit) -> Self {
        self.delete_limit = Some(limit);
        self
    }

    /// Calls `progress` as elements are diffed and synced: every 4,096 elements diffed, and
    /// every 1,024 outcomes in the blocking engine (as each hook call ends in the async
    /// one), and at the end of each stage (for a call per element, see
    /// [`SyncOptions::on_outcome`]). The callback is `Send`, so options (and an async sync
    /// holding them) can move between threads.
    pub fn on_progress(mut self, progress: impl FnMut(Progress) + Send + 'a) -> Self {
        self.progress = Some(Box::new(progress));
        self
    }

    /// Hands each element's [`Outcome`] to `on_outcome` as it is recorded, instead of
    /// keeping it in [`SyncReport::outcomes`](super::SyncReport::outcomes): the report then
    /// holds the counts only, so a sync of a huge diff keeps no per-element state (write
    /// the outcomes to a log, or count what you need).
    ///
    /// ```
    /// use statesync::sync::{InMemory, Status, SyncModel, SyncOptions};
    /// use statesync::{DiffModel, Store};
    ///
    /// #[derive(DiffModel, Clone, Debug, PartialEq)]
    /// struct Zone {
    ///     #[statesync(children)]
    ///     records: Store<Record>,
    /// }
    ///
    /// #[derive(DiffModel, Clone, Debug, PartialEq)]
    /// struct Record {
    ///     #[statesync(id)]
    ///     name: String,
    /// }
    ///
    /// let records = (0..1000).map(|i| Record { name: format!("r{i}") });
    /// let source = Zone { records: Store::try_from_iter(records)? };
    /// let mut target = Zone { records: Store::new() };
    /// let mut applied = 0;
    /// let options = SyncOptions::default().on_outcome(|outcome| {
    ///     if outcome.status == Status::Applied {
    ///         applied += 1;
    ///     }
    /// });
    /// let report = target.sync_from(&source, &mut InMemory, options)?;
    /// assert!(report.outcomes.is_empty()); // handed over, not kept
    /// assert_eq!(report.counts.created, 1000);
    /// assert_eq!(applied, 1000);
    /// # Ok::<(), statesync::Error>(())
    /// ```
    pub fn on_outcome(mut self, on_outcome: impl FnMut(Outcome) + Send + 'a) -> Self {
        self.on_outcome = Some(Box::new(on_outcome));
        self
    }

    /// Gives an outcome to the `on_outcome` callback if there is one; else back, to keep.
    pub(crate) fn hand_over(&mut self, outcome: Outcome) -> Option<Outcome> {
        match &mut self.on_outcome {
            Some(on_outcome) => {
                on_outcome(outcome);
                None
            }
            None => Some(outcome),
        }
    }

    /// The flags in force for every element of model `M`: its derive's and this call's.
    pub fn flags_for<M: DiffModel + 'static>(&self) -> ModelFlags {
        <M as super::SyncModel>::FLAGS
            | self
                .model_flags
                .get(&TypeId::of::<M>())
                .map_or(ModelFlags::empty(), |entry| entry.flags)
    }

    /// The flags in force for the element of model `M` with key `key`: the type's and the
    /// element's own (or its own only: [`SyncOptions::instance_flags_exactly`]).
    pub fn flags_for_instance<M: DiffModel + 'static>(&self, key: &M::Key) -> ModelFlags {
        let Some(entry) = self.model_flags.get(&TypeId::of::<M>()) else {
            return <M as super::SyncModel>::FLAGS;
        };
        let own = entry
            .instances
            .as_ref()
            .and_then(|any| any.downcast_ref::<HashMap<M::Key, OwnFlags>>())
            .and_then(|instances| instances.get(key))
            .copied()
            .unwrap_or_default();
        if own.exact {
            return own.flags;
        }
        <M as super::SyncModel>::FLAGS | entry.flags | own.flags
    }

    fn entry<M: DiffModel + 'static>(&mut self) -> &mut TypeFlags {
        self.model_flags
            .entry(TypeId::of::<M>())
            .or_insert_with(|| TypeFlags {
                name: M::NAME,
                flags: ModelFlags::empty(),
                instances: None,
            })
    }

    /// Whether flags set on this call (not in derives) may leave an element alone.
    pub(crate) fn may_skip(&self) -> bool {
        self.flags.intersects(SyncFlags::SKIP_UNMATCHED_BOTH) || !self.model_flags.is_empty()
    }

    /// The same flags and order, without a progress callback, a delete limit or a
    /// listing of unchanged elements: for a dry run.
    pub(crate) fn for_plan(&self) -> SyncOptions<'static> {
        SyncOptions {
            flags: self.flags - SyncFlags::LOG_UNCHANGED_RECORDS,
            order: self.order,
            delete_limit: None,
            model_flags: self.model_flags.clone(),
            progress: None,
            on_outcome: None,
        }
    }

    /// Drops the progress and outcome callbacks, and the outcomes from now on: for what a
    /// dropped async sync undoes, which no caller hears of (its report is dropped with it,
    /// so it does not keep them either).
    #[cfg(feature = "async")]
    pub(crate) fn silence(&mut self) {
        self.progress = None;
        self.on_outcome = Some(Box::new(drop));
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
