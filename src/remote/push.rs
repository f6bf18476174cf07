//! What a push must be to be committed: it applies to the head, leaves a state that keeps
//! the inventory's invariants (every child under the parent it names, device names unique
//! across sites), and changes something with every part of it.

use statesync::{Diff, DiffModel, Entry, EntryKind};

use crate::inventory::Inventory;

/// Checks a push against the head; returns the next state and the diff to record (the
/// server's own diff from the head to it).
///
/// # Errors
/// Why the push is refused.
pub(crate) fn prepare(
    head: &Inventory,
    pushed: &Diff<Inventory>,
) -> Result<(Inventory, Diff<Inventory>), String> {
    if pushed.is_empty() {
        return Err("empty diff: nothing to commit".into());
    }
    let entries = pushed.entries();
    if let Some(why) = first_no_op(&entries) {
        return Err(format!("the diff changes nothing at {why}: refused"));
    }
    let mut next = head.clone();
    next.apply(pushed)
        .map_err(|error| format!("invalid diff: {error}"))?;
    // The invariants a loaded file is held to (every child under the parent it names, a
    // device name in one site only): the state handed out is one every adapter accepts.
    crate::json_file::check(&next).map_err(|error| format!("invalid diff: {error}"))?;
    let recorded = head
        .diff(&next)
        .map_err(|error| format!("invalid diff: {error}"))?;
    if recorded.is_empty() {
        return Err("the diff changes nothing: refused".into());
    }
    if recorded.entries() != entries {
        return Err(
            "the diff is not the change it makes (a part changes nothing, or a delete \
             carries another element than the one it removes): refused"
                .into(),
        );
    }
    Ok((next, recorded))
}

/// The first part of a diff that changes nothing: an update with no field change and no
/// changed child, or a field whose old and new values are equal.
fn first_no_op(entries: &[Entry]) -> Option<String> {
    let mut rest = entries.iter().peekable();
    while let Some(entry) = rest.next() {
        if let Some(field) = entries_field_unchanged(entry) {
            return Some(format!("{}.{field} (old and new are equal)", place(entry)));
        }
        let has_children = rest.peek().is_some_and(|next| next.depth > entry.depth);
        if entry.kind == EntryKind::Unchanged && !has_children {
            return Some(format!(
                "{} (an update with no field change and no child change)",
                place(entry)
            ));
        }
    }
    None
}

fn entries_field_unchanged(entry: &Entry) -> Option<&'static str> {
    entry
        .fields
        .iter()
        .find(|change| change.old == change.new)
        .map(|change| change.field)
}

fn place(entry: &Entry) -> String {
    if entry.key.is_empty() {
        return entry.model.to_owned();
    }
    super::wire::error_text(&format_args!("{}[{}]", entry.model, entry.key))
}
