//! What only generated code calls. Not a public API: it may change in any release.

use std::fmt::{self, Debug, Display, Write as _};

use crate::children::ChildCollection;
use crate::diff::{Change, Diff};
use crate::error::Error;
use crate::model::{DiffModel, DiffObserver, ModelVisitor};
use crate::render::render_value;
#[cfg(feature = "sync")]
use crate::sync::{Run, SyncTree};

#[cfg(feature = "serde")]
pub use ::serde;

pub use crate::index::KeyHasher;

/// Implemented by the derive, without the `merge` feature, for a model with `merge_with`
/// fields: its function holds each field's function as the merge impl would take it, so the
/// function is checked and used in every build. Nothing calls it.
pub trait MergeWithChecked {
    /// Holds the `merge_with` functions; never called.
    fn merge_with_checked();
}

// The equalities below are function pointers, not closures: each closure is a type of its
// own, which would compile these functions once per attribute instead of once per
// attribute type.

/// A field's change under its equality (`==` or `#[statesync(eq = path)]`), cloning the
/// values only when they differ under [`same_value`]. Only the equality is inlined where
/// a diff is made (the common case: equal); the rest is one function per attribute type.
#[inline(always)]
pub fn diff_field_with<T: Clone + Debug>(
    old: &T,
    new: &T,
    eq: fn(&T, &T) -> bool,
) -> Option<Change<T>> {
    if eq(old, new) {
        None
    } else {
        change_unless_alike(old, new, eq)
    }
}

/// The change between two values `eq` finds different, unless they are the same under
/// [`same_value`] all the same.
#[inline(never)]
fn change_unless_alike<T: Clone + Debug>(
    old: &T,
    new: &T,
    eq: fn(&T, &T) -> bool,
) -> Option<Change<T>> {
    (!alike_unequal(old, new, eq)).then(|| Change {
        old: old.clone(),
        new: new.clone(),
    })
}

/// Whether two attribute values are the same under `eq`, where a value that is not equal
/// to itself (a float `NaN`, or anything holding one) is the same as another such value
/// when both render alike (`NaN` renders as `NaN` whatever its sign and payload; map and
/// set entries are sorted first, and `-0.0` reads as `0.0`, as `==` has it). Without this, a model holding `NaN` would differ from its
/// own clone, and no diff of it could ever be applied. Only `eq` is inlined.
#[inline(always)]
pub fn same_value<T: Debug>(a: &T, b: &T, eq: fn(&T, &T) -> bool) -> bool {
    eq(a, b) || alike_unequal(a, b, eq)
}

/// For two values `eq` finds different: whether neither equals itself and both render
/// alike (see [`same_value`]). One function per attribute type.
#[inline(never)]
fn alike_unequal<T: Debug>(a: &T, b: &T, eq: fn(&T, &T) -> bool) -> bool {
    !eq(a, a)
        && !eq(b, b)
        && crate::canonical::alike_but_zero_signs(&render_value(a), &render_value(b))
}

/// Whether two records of the change of an attribute with its own `eq` are the same: both
/// absent, or both with old values and new values equal under `eq` (what `==` on them
/// would say with `eq` as the type's `PartialEq`, which it need not have). The generated
/// `PartialEq` of a record of changes compares such attributes with this.
pub fn same_change<T>(
    a: &Option<Change<T>>,
    b: &Option<Change<T>>,
    eq: fn(&T, &T) -> bool,
) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => eq(&a.old, &b.old) && eq(&a.new, &b.new),
        _ => false,
    }
}

/// Sets a field to its new value when it changed.
#[inline]
pub fn apply_field<T: Clone>(slot: &mut T, change: &Option<Change<T>>) {
    if let Some(change) = change {
        slot.clone_from(&change.new);
    }
}

/// Diffs one children field, naming the parent in an error.
#[inline]
pub fn diff_children<P: DiffModel, C: ChildCollection>(
    parent: &P,
    field: &'static str,
    old: &C,
    new: &C,
    observer: &mut dyn DiffObserver,
) -> Result<Diff<C::Model>, Error> {
    old.diff_collection(new, observer)
        .map_err(|error| error.within(P::NAME, &parent.key(), field))
}

/// Checks one children field's diff, naming the parent in an error.
#[inline]
pub fn check_children<P: DiffModel, C: ChildCollection>(
    parent: &P,
    field: &'static str,
    current: &C,
    diff: &Diff<C::Model>,
) -> Result<(), Error> {
    current
        .check_diff(diff)
        .map_err(|error| error.within(P::NAME, &parent.key(), field))
}

/// Calls the visitor with each child of one children field: in the collection's order, or
/// in key order when the visitor asks (a walk whose output must be the same in every run,
/// a `HashMap`'s order changing from run to run).
#[inline]
pub fn visit_children<C: ChildCollection, V: ModelVisitor>(
    field: &'static str,
    children: &C,
    visitor: &mut V,
) {
    if visitor.key_order() {
        for (_, child) in &in_key_order(children) {
            visitor.visit(field, *child);
        }
    } else {
        children.for_each_child(&mut |child| visitor.visit(field, child));
    }
}

/// The children of a collection in key order (one copy per collection type, whichever
/// visitor asks).
pub(crate) fn in_key_order<C: ChildCollection>(
    children: &C,
) -> Vec<(<C::Model as DiffModel>::Key, &C::Model)> {
    let mut sorted = Vec::new();
    children.for_each_child(&mut |child| sorted.push((child.key(), child)));
    crate::order::sort_by_key_ref(&mut sorted, |(key, _)| key);
    sorted
}

/// [`MergeCx::children`](crate::merge::MergeCx::children) as a function pointer: what the
/// `merge_children` a derive emits calls for each children field. That function is
/// `#[inline]` (so that a model never merged costs no machine code), and rustc prepares the
/// optimised MIR of such a function in every crate that declares the model: with a direct
/// call of the merge of each child type there, that cost 0.2 s of the 3.4 s release build
/// of 50 declared models (`#[inline(never)]` on the callee did not help), and a call
/// through a pointer takes it away (see the performance log).
#[cfg(feature = "merge")]
pub fn merge_children_of<C>() -> MergeChildren<C>
where
    C: ChildCollection<Model: crate::merge::MergeModel>,
{
    |cx, field, (base, ours, theirs, intended)| cx.children(field, base, ours, theirs, intended)
}

/// The type of [`merge_children_of`]'s pointer. The collections are the base's, ours,
/// theirs and the intended merge's (see `MergeModel::merge_children`).
#[cfg(feature = "merge")]
pub type MergeChildren<C> =
    fn(&mut crate::merge::MergeCx<'_>, &'static str, (Option<&C>, &C, &C, Option<&C>)) -> C;

/// Syncs one children field's diff through the hooks.
#[cfg(feature = "sync")]
#[inline]
pub fn sync_children<C, H>(
    field: &'static str,
    children: &mut C,
    diff: &Diff<C::Model>,
    run: &mut Run<'_, '_, H>,
) where
    C: ChildCollection,
    C::Model: SyncTree<H>,
    H: ?Sized,
{
    run.enter_field(field);
    crate::sync::engine::sync_collection(children, diff, run);
}

/// Creates the children of a just-created model through the hooks.
#[cfg(feature = "sync")]
#[inline]
pub fn create_children<C, H>(field: &'static str, children: &mut C, run: &mut Run<'_, '_, H>)
where
    C: ChildCollection,
    C::Model: SyncTree<H>,
    H: ?Sized,
{
    run.enter_field(field);
    crate::sync::engine::create_collection(children, run);
}

/// Deletes the children of a model about to be deleted; `false` when one stays.
#[cfg(feature = "sync")]
#[inline]
pub fn delete_children<C, H>(
    field: &'static str,
    children: &mut C,
    run: &mut Run<'_, '_, H>,
) -> bool
where
    C: ChildCollection,
    C::Model: SyncTree<H>,
    H: ?Sized,
{
    run.enter_field(field);
    crate::sync::engine::delete_collection(children, run)
}

/// Records a field's current value where `change` touches it.
#[inline]
pub fn snapshot_field<T: Clone>(current: &T, change: &Option<Change<T>>) -> Option<Change<T>> {
    change.as_ref().map(|_| Change {
        old: current.clone(),
        new: current.clone(),
    })
}

/// Whether a field still holds the change's old value (under [`same_value`]). Checked
/// before an apply, not on the hot path of a diff: one copy per attribute type, not inlined
/// into each attribute of each model.
#[inline(never)]
pub fn field_unmoved<T: Debug>(
    current: &T,
    change: &Option<Change<T>>,
    eq: fn(&T, &T) -> bool,
) -> bool {
    change
        .as_ref()
        .is_none_or(|change| same_value(current, &change.old, eq))
}

/// Swaps old and new of one field's change.
#[inline]
pub fn invert_field<T: Clone>(change: &Option<Change<T>>) -> Option<Change<T>> {
    change.as_ref().map(|change| Change {
        old: change.new.clone(),
        new: change.old.clone(),
    })
}

/// The larger of two values; `None` when they do not compare.
#[inline]
pub fn merge_max<T: PartialOrd + Clone>(ours: &T, theirs: &T) -> Option<T> {
    match ours.partial_cmp(theirs)? {
        std::cmp::Ordering::Less => Some(theirs.clone()),
        _ => Some(ours.clone()),
    }
}

/// The larger of two values by their `order` (ours against theirs, as `partial_cmp` gives
/// it); `None` when they do not compare. For the version field, whose order the generated
/// code takes where the `version` option is spelt (so that a version that is not ordered is
/// one error there).
#[inline]
pub fn merge_by_order<T: Clone>(
    ours: &T,
    theirs: &T,
    order: Option<std::cmp::Ordering>,
) -> Option<T> {
    match order? {
        std::cmp::Ordering::Less => Some(theirs.clone()),
        _ => Some(ours.clone()),
    }
}

/// The smaller of two values; `None` when they do not compare.
#[inline]
pub fn merge_min<T: PartialOrd + Clone>(ours: &T, theirs: &T) -> Option<T> {
    match ours.partial_cmp(theirs)? {
        std::cmp::Ordering::Greater => Some(theirs.clone()),
        _ => Some(ours.clone()),
    }
}

/// A key field as the `&dyn Display` [`write_key`] takes: a coercion, where a cast
/// (`as &dyn Display`) would trip a user's `trivial_casts` lint.
#[inline]
pub fn id_field_display<T: Display>(value: &T) -> &dyn Display {
    value
}

/// Writes a key as `name=value, name=value`. A value that would make the text ambiguous
/// (empty, or holding `,` `=` `[` `]` `"` `\`, a control character such as a newline, a
/// character that prints as nothing or moves the text such as U+200B or U+202E, or space
/// at either end) is written quoted and escaped as `Debug` escapes a string
/// (`name="a, b"`), so two keys never read alike and a key never adds a line to a plan.
/// Each value is formatted twice (a scan, then the text), allocating nothing.
pub fn write_key(f: &mut fmt::Formatter<'_>, parts: &[(&str, &dyn Display)]) -> fmt::Result {
    for (at, (name, value)) in parts.iter().enumerate() {
        if at > 0 {
            f.write_str(", ")?;
        }
        f.write_str(name)?;
        f.write_str("=")?;
        let mut scan = Scan::default();
        write!(scan, "{value}")?;
        if scan.needs_quotes() {
            f.write_str("\"")?;
            write!(Escaped(f), "{value}")?;
            f.write_str("\"")?;
        } else {
            write!(f, "{value}")?;
        }
    }
    Ok(())
}

/// Reads a key value as it is written, to tell whether it must be quoted.
#[derive(Default)]
struct Scan {
    started: bool,
    /// Whether the last character written was whitespace.
    spaced_end: bool,
    ambiguous: bool,
}

impl Scan {
    fn needs_quotes(&self) -> bool {
        !self.started || self.spaced_end || self.ambiguous
    }
}

impl fmt::Write for Scan {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let (Some(first), Some(last)) = (text.chars().next(), text.chars().next_back()) else {
            return Ok(());
        };
        self.ambiguous |= !self.started && first.is_whitespace();
        self.started = true;
        self.spaced_end = last.is_whitespace();
        // The marks are ASCII; only text with other characters is read char by char, for
        // what `Escaped` would escape beyond ASCII: control characters, and those that
        // print as nothing or move the text (U+200B, U+202E, U+2028, a soft hyphen).
        self.ambiguous |= text.bytes().any(|byte| {
            matches!(byte, b',' | b'=' | b'[' | b']' | b'"' | b'\\') || byte.is_ascii_control()
        }) || (!text.is_ascii()
            && text
                .chars()
                .any(|c| c.escape_debug().len() > 1 || is_blank_printable(c)));
        Ok(())
    }
}

/// A character drawn blank that Rust's `escape_debug` leaves as it is (it counts them
/// printable): the Hangul fillers, the Braille blank, the Egyptian hieroglyph blanks and
/// the musical null notehead. A key holding one is quoted and it is escaped, so
/// `a\u{115f}` does not read as `a`.
fn is_blank_printable(c: char) -> bool {
    matches!(
        c,
        '\u{115f}'
            | '\u{1160}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{ffa0}'
            | '\u{13441}'
            | '\u{13442}'
            | '\u{1d159}'
    )
}

/// Writes text escaped as a string's `Debug` escapes it (without the quotes).
struct Escaped<'f, 'a>(&'f mut fmt::Formatter<'a>);

impl fmt::Write for Escaped<'_, '_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for c in text.chars() {
            if c == '\'' {
                self.0.write_char(c)?;
            } else if is_blank_printable(c) {
                write!(self.0, "\\u{{{:x}}}", u32::from(c))?;
            } else {
                for escaped in c.escape_debug() {
                    self.0.write_char(escaped)?;
                }
            }
        }
        Ok(())
    }
}

/// What a probe of an attribute's type finds: a [`Store`](crate::Store), which holds child
/// models and is compared as an attribute only by mistake (its field lacks `children`).
pub struct StoreFound;

/// What a probe of an attribute's type finds: anything else.
pub struct NotAStore;

/// Finds a `Store` attribute: `(&PhantomData::<T>).__statesync_probe()` (a name no trait of
/// the user's in scope takes) takes this impl when `T` is a
/// `Store` (the receiver matches without a second reference), [`ProbeAny`]'s otherwise.
/// The derive asks only of a field whose type is written `Store<..>`: a user's own type
/// of that name passes.
pub trait ProbeStore {
    /// What the probe found.
    fn __statesync_probe(&self) -> StoreFound {
        StoreFound
    }
}

impl<M: DiffModel> ProbeStore for std::marker::PhantomData<crate::Store<M>> {}

/// See [`ProbeStore`].
pub trait ProbeAny {
    /// What the probe found.
    fn __statesync_probe(&self) -> NotAStore {
        NotAStore
    }
}

impl<T: ?Sized> ProbeAny for &std::marker::PhantomData<T> {}

/// An attribute's type that is not a `Store` (see [`ProbeStore`]).
#[diagnostic::on_unimplemented(
    message = "a `Store` of models is compared as one value here: mark the field \
               `#[statesync(children)]` to diff its models by key (or `skip` it)",
    label = "this `Store` lacks `#[statesync(children)]`",
    note = "a field with its own `eq` is compared as one value, if that is what you want"
)]
pub trait NotAStoreAttribute {}

impl NotAStoreAttribute for NotAStore {}

/// Refuses a `Store` found by the probe (see [`ProbeStore`]).
#[inline(always)]
pub fn attribute_not_a_store<T: NotAStoreAttribute>(_: T) {}
