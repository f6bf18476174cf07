//! A diff flattened into [`Entry`] lines (parents before children) and rendered as a
//! readable plan: `+` create, `-` delete, `~` update with `field: old -> new`.

use std::fmt::{self, Debug, Write as _};

use crate::depth::{SubtreeSink, walk_subtree};
use crate::diff::{Action, Diff};
use crate::model::{DiffModel, DiffVisitor, ModelField};

/// What an [`Entry`] does to its element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// The element is created (or is a descendant of a created element).
    Create,
    /// The element is deleted (or is a descendant of a deleted element).
    Delete,
    /// Attributes of the element change.
    Update,
    /// The element itself is unchanged; it is listed because its children change.
    Unchanged,
}

impl EntryKind {
    /// The marker that starts the element's line in a rendered plan.
    pub fn marker(self) -> char {
        match self {
            EntryKind::Create => '+',
            EntryKind::Delete => '-',
            EntryKind::Update => '~',
            EntryKind::Unchanged => ' ',
        }
    }
}

/// One changed attribute in an [`Entry`], its values rendered with `Debug`; the entries of
/// maps and sets (`HashMap`, `HashSet`, ...) are sorted, so a rendering is the same in
/// every run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    /// The field's display name.
    pub field: &'static str,
    /// The old value, rendered.
    pub old: String,
    /// The new value, rendered.
    pub new: String,
}

/// One element of a diff, flattened for display or logging, without its model's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Depth in the tree; the diffed collection is at depth 0.
    pub depth: usize,
    /// The model's name.
    pub model: &'static str,
    /// The model's key, rendered (`site=nyc, name=sw1`).
    pub key: String,
    /// The children field that holds the element, when its parent has another children
    /// field of the same model (a firewall's `ingress` and `egress` rules), so that the
    /// model and key alone do not say where it is; `None` otherwise. Rendered after the
    /// key: `+ rule[seq=10] (egress)`.
    pub field: Option<&'static str>,
    /// What happens to the element.
    pub kind: EntryKind,
    /// The changed attributes (updates only).
    pub fields: Vec<FieldChange>,
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:indent$}{} {}",
            "",
            self.kind.marker(),
            self.model,
            indent = 2 * self.depth
        )?;
        if !self.key.is_empty() {
            write!(f, "[{}]", self.key)?;
        }
        if let Some(field) = self.field {
            write!(f, " ({field})")?;
        }
        for (at, change) in self.fields.iter().enumerate() {
            let separator = if at == 0 { " " } else { ", " };
            write!(
                f,
                "{separator}{}: {} -> {}",
                change.field, change.old, change.new
            )?;
        }
        Ok(())
    }
}

/// Collects entries: elements in key order, each followed by its descendants.
struct Flatten {
    depth: usize,
    entries: Vec<Entry>,
    /// The children fields of the current parent that entries name (see [`Entry::field`]).
    named: Vec<&'static str>,
}

/// Lists a created or deleted model's descendants with the same kind, in key order.
struct SubtreeEntries<'a> {
    flatten: &'a mut Flatten,
    kind: EntryKind,
}

impl SubtreeSink for SubtreeEntries<'_> {
    fn key_order(&self) -> bool {
        true
    }

    fn model(&mut self, depth: usize, name: &'static str, key: &dyn fmt::Display) {
        let entry = Entry {
            depth: self.flatten.depth + depth,
            ..self.flatten.entry(name, key, self.kind, None)
        };
        self.flatten.entries.push(entry);
    }

    fn names_fields(&self) -> bool {
        true
    }

    fn named_field(&mut self, field: &'static str) {
        if let Some(entry) = self.flatten.entries.last_mut() {
            entry.field = Some(field);
        }
    }
}

// What does not depend on the model type is written once, out of line; the generic parts
// (one copy per model type) only fetch the name, the key and the changes.
impl Flatten {
    #[inline(never)]
    fn entry(
        &self,
        model: &'static str,
        key: &dyn fmt::Display,
        kind: EntryKind,
        field: Option<&'static str>,
    ) -> Entry {
        Entry {
            depth: self.depth,
            model,
            key: key.to_string(),
            field,
            kind,
            fields: Vec::new(),
        }
    }

    /// `field` if entries of the current parent name it.
    fn named(&self, field: &'static str) -> Option<&'static str> {
        self.named.contains(&field).then_some(field)
    }

    /// A created or deleted model, listed under its element's key (the key `apply` and the
    /// sync name, should the model hold another), and its descendants (within
    /// [`crate::MAX_DEPTH`], as every diff statesync makes or reads is).
    fn push_model<M: DiffModel>(
        &mut self,
        key: &M::Key,
        model: &M,
        kind: EntryKind,
        field: Option<&'static str>,
    ) {
        let entry = self.entry(M::NAME, key, kind, field);
        self.entries.push(entry);
        let _ = walk_subtree(
            model,
            &mut SubtreeEntries {
                flatten: self,
                kind,
            },
        );
    }
}

impl DiffVisitor for Flatten {
    fn visit<C: DiffModel>(&mut self, field: &'static str, diff: &Diff<C>) {
        let field = self.named(field);
        for element in diff.elements() {
            match &element.action {
                Action::Create(model) => {
                    self.push_model(&element.key, model, EntryKind::Create, field);
                }
                Action::Delete(model) => {
                    self.push_model(&element.key, model, EntryKind::Delete, field);
                }
                Action::Update(update) => {
                    let mut entry = self.entry(C::NAME, &element.key, EntryKind::Unchanged, field);
                    C::for_each_change(&update.fields, &mut |field, old, new| {
                        push_change(&mut entry, field.name(), old, new);
                    });
                    if !entry.fields.is_empty() {
                        entry.kind = EntryKind::Update;
                    }
                    self.entries.push(entry);
                    self.depth += 1;
                    let parents = std::mem::replace(
                        &mut self.named,
                        crate::any_model::fields_sharing_a_model::<C>(),
                    );
                    C::visit_child_diffs(&update.children, self);
                    self.named = parents;
                    self.depth -= 1;
                }
            }
        }
    }
}

/// Adds a changed attribute to an entry.
#[inline(never)]
fn push_change(entry: &mut Entry, field: &'static str, old: &dyn Debug, new: &dyn Debug) {
    let (old, new) = render_change(old, new);
    entry.fields.push(FieldChange { field, old, new });
}

/// The two values of a change, rendered: canonical (see [`render_value`]), unless that
/// makes them read the same, when they are rendered as they print (entries unsorted), so
/// a change of an order-sensitive value that prints like a map does not read `x -> x`.
pub(crate) fn render_change(old: &dyn Debug, new: &dyn Debug) -> (String, String) {
    let (sorted_old, sorted_new) = (render_value(old), render_value(new));
    if sorted_old != sorted_new {
        return (sorted_old, sorted_new);
    }
    let as_printed = |value: &dyn Debug| {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = write!(out, "{value:?}");
        crate::canonical::escaped(&out)
    };
    (as_printed(old), as_printed(new))
}

/// A value's `Debug` rendering, the same in every run: map and set entries are sorted (see
/// [`crate::canonical`]).
pub(crate) fn render_value(value: &dyn Debug) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write!(out, "{value:?}");
    crate::canonical::canonical(&out)
}

/// [`render_value`] cut after `limit` bytes (at a character boundary), marked ` …` where
/// it was cut: for whole models, whose rendering grows with their subtree. The whole text
/// is made canonical before it is cut, so the part kept is the same in every run (a
/// `HashMap`'s entries are sorted first); it is built once and not kept.
#[cfg(feature = "merge")]
pub(crate) fn render_bounded(value: &dyn Debug, limit: usize) -> String {
    cut(render_value(value), limit)
}

/// `text` cut after `limit` bytes (at a character boundary), marked ` …` where it was cut.
pub(crate) fn cut(mut text: String, limit: usize) -> String {
    if text.len() > limit {
        let mut end = limit;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str(" …");
    }
    text
}

impl<M: DiffModel> Diff<M> {
    /// Every changed element (and each unchanged parent of one), parents before children,
    /// siblings in key order: the same diff always gives the same entries.
    pub fn entries(&self) -> Vec<Entry> {
        let mut flatten = Flatten {
            depth: 0,
            entries: Vec::new(),
            named: Vec::new(),
        };
        flatten.visit("", self);
        flatten.entries
    }
}

/// What an empty diff renders as.
pub(crate) const NOTHING_TO_CHANGE: &str = "no changes";

/// Writes one line per entry, or [`NOTHING_TO_CHANGE`] on a line of its own.
pub(crate) fn write_plan<M: DiffModel>(diff: &Diff<M>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let entries = diff.entries();
    if entries.is_empty() {
        return writeln!(f, "{NOTHING_TO_CHANGE}");
    }
    for entry in entries {
        writeln!(f, "{entry}")?;
    }
    Ok(())
}
