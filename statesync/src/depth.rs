//! The depth of tree statesync supports, [`MAX_DEPTH`], and the counter that enforces it.
//!
//! Diffing, checking, applying and deserialising walk a tree recursively. Each walk counts
//! the levels it is inside (per thread, across the generated code between the levels) and
//! returns [`Error::TooDeep`] one level beyond the limit, instead of overflowing the stack.

use std::cell::Cell;
use std::fmt::Display;

use crate::any_model::{AnyModel, KeyOf};
#[cfg(feature = "serde")]
use crate::callback::CallbackMut;
use crate::diff::{Action, Diff};
use crate::error::Error;
use crate::model::{DiffModel, DiffVisitor};

/// The deepest tree statesync handles: a root and its descendants down to 16 levels (the
/// root is level 1). Deeper trees are refused with [`Error::TooDeep`] by `diff`, `apply`
/// and the check before it; deserialising a [`Diff`](crate::Diff) nested deeper fails with
/// the format's own error ("diff nested deeper than the 16 levels statesync supports"; a
/// created or deleted model too deep is named).
///
/// Why 16: a diff nests 6 JSON containers per level of update (diff, elements, element,
/// action, update, children), and `serde_json` reads at most 127 nested containers. Sixteen
/// levels take 96, which leaves room for a `merge::History` around the
/// diffs and for attribute values that are containers themselves (at the 16th level, 27
/// nested containers; `History::save` refuses a version nested deeper, naming it, so
/// whatever it writes, `History::load` reads). It is also within the stack of a spawned
/// thread (2 MiB) in a debug build, for models of up to a few KiB held inline: each level
/// of a walk in memory takes about 8 KiB plus 5 times the size of the model and of its
/// record of changes there. Reading with serde runs each level of a diff or a `Store` on
/// a new stack segment when the thread's is short, whatever the models' size (outside a
/// diff's created and deleted models, a `Vec` of children that serde reads by itself
/// aside).
///
/// ```
/// use statesync::{DiffModel, Error, MAX_DEPTH};
///
/// #[derive(DiffModel, Clone, Debug, PartialEq)]
/// struct Dir {
///     #[statesync(id)]
///     name: String,
///     #[statesync(children)]
///     entries: Vec<Dir>,
/// }
///
/// fn chain(levels: usize) -> Dir {
///     let mut dir = Dir { name: "leaf".into(), entries: Vec::new() };
///     for _ in 1..levels {
///         dir = Dir { name: "dir".into(), entries: vec![dir] };
///     }
///     dir
/// }
///
/// let empty = Dir { name: "dir".into(), entries: Vec::new() };
/// assert!(empty.diff(&chain(MAX_DEPTH)).is_ok());
/// assert!(matches!(empty.diff(&chain(MAX_DEPTH + 1)), Err(Error::TooDeep { .. })));
/// ```
pub const MAX_DEPTH: usize = 16;

thread_local! {
    /// How many levels the walks on this thread are inside.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// One level of a walk; leaving it (dropping) steps back up.
#[must_use = "the level is left when this is dropped"]
pub(crate) struct Level(());

impl Level {
    /// Enters a level, or `None` beyond [`MAX_DEPTH`].
    pub(crate) fn try_enter() -> Option<Self> {
        Self::try_enter_within(MAX_DEPTH).map(|(level, _)| level)
    }

    /// Enters a level, or `None` beyond `limit`; with whether it is the last level allowed.
    pub(crate) fn try_enter_within(limit: usize) -> Option<(Self, bool)> {
        DEPTH.with(|depth| {
            let next = depth.get().saturating_add(1);
            (next <= limit).then(|| {
                depth.set(next);
                (Level(()), next == limit)
            })
        })
    }

    /// Enters the level of a model, or the error that names it (the key is built only
    /// then). No closure: one small copy per model type.
    pub(crate) fn enter_model<M: DiffModel>(model: &M) -> Result<Self, Error> {
        match Self::try_enter() {
            Some(level) => Ok(level),
            None => Err(too_deep_at(model)),
        }
    }

    /// [`Level::enter_model`] for a walk that goes down to the model's children; for a
    /// model without children fields, only the check (nothing below it counts the level,
    /// so the hot path of diffing leaves touches the counter once, not three times).
    pub(crate) fn enter_or_check<M: DiffModel>(model: &M) -> Result<Option<Self>, Error> {
        if has_children::<M>() {
            return Self::enter_model(model).map(Some);
        }
        if DEPTH.with(Cell::get) < MAX_DEPTH {
            Ok(None)
        } else {
            Err(too_deep_at(model))
        }
    }

    /// Enters the level of the element with this key, or the error that names it.
    /// Not generic: compiled once.
    pub(crate) fn enter_key(model: &'static str, key: &dyn Display) -> Result<Self, Error> {
        Self::try_enter().ok_or_else(|| Error::too_deep(model, key))
    }
}

impl Drop for Level {
    fn drop(&mut self) {
        DEPTH.with(|depth| depth.set(depth.get().saturating_sub(1)));
    }
}

/// Enters one level of writing (serialising) a collection whose first model is `first`.
/// Beyond [`MAX_DEPTH`] a collection that holds models is the error (so a tree of any
/// depth is written without overflowing the stack, and nothing is written that reading
/// would refuse); an empty one ends the recursion anyway and is written.
///
/// # Errors
/// The serializer's custom error, the text of [`Error::TooDeep`] naming `first`.
#[cfg(feature = "serde")]
pub(crate) fn enter_write<M: DiffModel, E: serde::ser::Error>(
    first: Option<&M>,
) -> Result<Option<Level>, E> {
    match (Level::try_enter(), first) {
        (Some(level), _) => Ok(Some(level)),
        (None, None) => Ok(None),
        (None, Some(model)) => Err(E::custom(too_deep_at(model))),
    }
}

/// Runs `read`, the reading of one level of a tree of `M` with serde (a [`Diff`] of `M`, a
/// [`Store`](crate::Store) of `M`, a `serde_map` field of `M`s), where the stack left holds what such a level may take:
/// on a new segment, allocated for it, when the thread's stack is short. A level takes
/// stack in proportion to the size of `M` and of its record of changes (serde's visitors
/// hold their values on the stack, several copies of them in a debug build): about 40
/// times the two in a debug build, measured. So a diff of large models at the deepest
/// level supported reads on any thread, rather than overflowing its stack and aborting.
/// What serde reads by itself, below a level, is not covered here: a `Vec` of children
/// inside a model is read by serde's own impls (unless read through
/// [`serde_map`](crate::serde_map)); in a diff's created and deleted models that can nest
/// themselves (`DiffModel::NESTS_ITSELF`) the levels of what they hold are bounded and
/// given stack by `crate::bounded`.
#[cfg(feature = "serde")]
pub(crate) fn read_level<M: DiffModel, T, E: serde::de::Error>(
    read: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    on_stack(level_stack::<M>(), read)
}

/// The stack a level of a tree of `M` read with serde may take (see [`read_level`]).
#[cfg(feature = "serde")]
pub(crate) fn level_stack<M: DiffModel>() -> usize {
    let level = std::mem::size_of::<M>().saturating_add(std::mem::size_of::<M::Changes>());
    READ_STACK_BASE.saturating_add(level.saturating_mul(READ_STACK_PER_BYTE))
}

/// Runs `read` where the stack left holds `needs` bytes (on a new segment when it does not).
#[cfg(feature = "serde")]
pub(crate) fn on_stack<T, E: serde::de::Error>(
    needs: usize,
    read: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    let (mut read, mut read_out) = (Some(read), None);
    with_stack(needs, &mut |()| read_out = read.take().map(|read| read()));
    read_out.unwrap_or_else(|| Err(E::custom("a level of the tree was not read")))
}

/// Runs `run` where the stack left holds `needs` bytes (on a new segment when it does
/// not). Not generic: `stacker`'s functions are compiled once, not per model type and
/// format (they took 2.7% of the compile-cost crate's LLVM IR).
#[cfg(feature = "serde")]
fn with_stack(needs: usize, run: &mut dyn CallbackMut<(), ()>) {
    stacker::maybe_grow(needs, needs.saturating_mul(8).max(1 << 20), || {
        run.run_mut(());
    });
}

/// The stack a level of a tree read with serde may take beyond its models' size (measured:
/// about 8 KiB in a debug build for a model of a few fields).
#[cfg(feature = "serde")]
const READ_STACK_BASE: usize = 64 << 10;

/// The stack a level read with serde may take per byte of its model and record of changes
/// (measured: about 40 in a debug build, 9 in a release build).
#[cfg(feature = "serde")]
const READ_STACK_PER_BYTE: usize = 64;

/// Enters one level of reading a collection of `model` models (a `Store`, a `serde_map`
/// field), so that models nested without bound are refused as they are read, in any
/// format: one without a nesting limit of its own would otherwise recurse until the stack
/// overflows, before the depth of what was read could be checked. One level more than
/// [`MAX_DEPTH`] is allowed, as writing allows it for an empty collection (the children of
/// the deepest models, which a create's payload reaches from inside its diff); what lies
/// deeper is the error, and the depth of what was read is checked where it matters (a
/// diff's payloads, a `History`).
///
/// # Errors
/// The deserializer's custom error, naming the models.
#[cfg(feature = "serde")]
pub(crate) fn enter_read<E: serde::de::Error>(model: &str) -> Result<Level, E> {
    Level::try_enter_within(MAX_DEPTH + 1)
        .map(|(level, _)| level)
        .ok_or_else(|| {
            E::custom(format_args!(
                "`{model}` models nested deeper than the {MAX_DEPTH} levels statesync supports"
            ))
        })
}

/// Whether models of type `M` have children fields: their record of child diffs holds a
/// [`Diff`] per field, while a model without has the empty `NoChildDiffs`. Known when
/// compiling, so the branches on it cost nothing.
pub(crate) const fn has_children<M: DiffModel>() -> bool {
    size_of::<M::ChildDiffs>() != 0
}

/// Checks that a model's subtree, entered at the current level, stays within
/// [`MAX_DEPTH`]; the walk itself never goes deeper than the limit.
///
/// # Errors
/// [`Error::TooDeep`] naming the first element too deep, with its path below `model`.
pub(crate) fn check_subtree(model: &dyn AnyModel) -> Result<(), Error> {
    walk_subtree(model, &mut ())
}

/// What a walk of a subtree ([`walk_subtree`]) tells: each model below the walked one,
/// parents before children. The walks that need no more than this (checking the depth,
/// counting, rendering) share one walk, compiled once.
pub(crate) trait SubtreeSink {
    /// Whether children come in key order (for output that must not depend on insertion
    /// order) rather than in their collection's order. Off by default: sorting costs.
    fn key_order(&self) -> bool {
        false
    }

    /// A model `depth` levels below the walked one (1 for its children).
    fn model(&mut self, depth: usize, name: &'static str, key: &dyn Display) {
        let _ = (depth, name, key);
    }

    /// Whether [`SubtreeSink::named_field`] is wanted (finding it costs a look at every
    /// parent's children fields). Off by default.
    fn names_fields(&self) -> bool {
        false
    }

    /// The children field that holds the model told of last, when its parent has another
    /// children field of that model (only if [`SubtreeSink::names_fields`]).
    fn named_field(&mut self, field: &'static str) {
        let _ = field;
    }
}

/// The sink that only checks the depth.
impl SubtreeSink for () {}

/// Walks a model's subtree within [`MAX_DEPTH`] (the model at the current level), telling
/// `sink` about every model below it. Not generic: the models are reached through
/// [`AnyModel`].
///
/// # Errors
/// [`Error::TooDeep`] naming the first element too deep, with its path below `model`.
pub(crate) fn walk_subtree(model: &dyn AnyModel, sink: &mut dyn SubtreeSink) -> Result<(), Error> {
    let _level = Level::try_enter().ok_or_else(|| too_deep(model))?;
    let mut walk = SubtreeWalk {
        key_order: sink.key_order(),
        sink,
        depth: 1,
        error: None,
    };
    walk.children_of(model);
    match walk.error {
        Some((error, field)) => Err(error.within(model.name(), &KeyOf(model), field)),
        None => Ok(()),
    }
}

/// The error for a model one level beyond [`MAX_DEPTH`], naming it.
fn too_deep(model: &dyn AnyModel) -> Error {
    Error::too_deep(model.name(), &KeyOf(model))
}

/// [`too_deep`] for a model of a known type: its name and key, and nothing else of it.
/// Made `&dyn AnyModel`, a model would bring in every method of that vtable (the walks of
/// its children, in key order), compiled for its type wherever a depth is checked, though
/// the walks run only where a subtree is walked.
#[cold]
#[inline(never)]
fn too_deep_at<M: DiffModel>(model: &M) -> Error {
    Error::too_deep(M::NAME, &model.key())
}

/// Walks children one level further each time; stops at the first too deep.
struct SubtreeWalk<'s> {
    sink: &'s mut dyn SubtreeSink,
    key_order: bool,
    depth: usize,
    /// The error, and the children field under which it was found.
    error: Option<(Error, &'static str)>,
}

impl SubtreeWalk<'_> {
    /// Tells the sink about each child of `model`, then walks the child's own subtree.
    fn children_of(&mut self, model: &dyn AnyModel) {
        let named = if self.sink.names_fields() {
            model.fields_sharing_a_model()
        } else {
            Vec::new()
        };
        model.each_child(self.key_order, &mut |field, child| {
            self.child(field, child, named.contains(&field));
        });
    }

    fn child(&mut self, field: &'static str, child: &dyn AnyModel, named: bool) {
        if self.error.is_some() {
            return;
        }
        let Some(_level) = Level::try_enter() else {
            self.error = Some((too_deep(child), field));
            return;
        };
        self.sink.model(self.depth, child.name(), &KeyOf(child));
        if named {
            self.sink.named_field(field);
        }
        self.depth += 1;
        self.children_of(child);
        self.depth -= 1;
        if let Some((error, below)) = self.error.take() {
            self.error = Some((error.within(child.name(), &KeyOf(child), below), field));
        }
    }
}

/// Checks that a diff, with the models it creates and deletes, stays within
/// [`MAX_DEPTH`] levels below the current one.
///
/// # Errors
/// [`Error::TooDeep`] naming the first element too deep, with its path.
pub(crate) fn check_diff<M: DiffModel>(diff: &Diff<M>) -> Result<(), Error> {
    for element in diff.elements() {
        match &element.action {
            Action::Create(model) | Action::Delete(model) => check_subtree(model)?,
            Action::Update(update) => {
                let _level = Level::enter_key(M::NAME, &element.key)?;
                let mut children = ChildDiffsCheck::default();
                M::visit_child_diffs(&update.children, &mut children);
                if let Some((error, field)) = children.error {
                    return Err(error.within(M::NAME, &element.key, field));
                }
            }
        }
    }
    Ok(())
}

/// Checks each child diff of an update; keeps the first error and its children field.
#[derive(Default)]
struct ChildDiffsCheck {
    error: Option<(Error, &'static str)>,
}

impl DiffVisitor for ChildDiffsCheck {
    fn visit<C: DiffModel>(&mut self, field: &'static str, diff: &Diff<C>) {
        if self.error.is_none()
            && let Err(error) = check_diff(diff)
        {
            self.error = Some((error, field));
        }
    }
}
