//! State projection: a view of part of a model in another shape, kept in sync with the
//! original, with edits to the view carried back.
//!
//! ```
//! use statesync::projection::{Projection, carry_back, refresh};
//! use statesync::{DiffModel, Store};
//!
//! #[derive(DiffModel, Clone, Debug, PartialEq)]
//! struct Server {
//!     #[statesync(id)]
//!     name: String,
//!     cpus: u32,
//!     maintenance: bool,
//! }
//!
//! #[derive(DiffModel, Clone, Debug, PartialEq)]
//! struct Fleet {
//!     #[statesync(children)]
//!     servers: Store<Server>,
//! }
//!
//! /// What an on-call dashboard shows and edits: the maintenance switches only.
//! #[derive(DiffModel, Clone, Debug, PartialEq)]
//! struct Switches {
//!     #[statesync(children)]
//!     switches: Store<Switch>,
//! }
//!
//! #[derive(DiffModel, Clone, Debug, PartialEq)]
//! struct Switch {
//!     #[statesync(id)]
//!     server: String,
//!     on: bool,
//! }
//!
//! struct Dashboard;
//!
//! impl Projection<Fleet> for Dashboard {
//!     type View = Switches;
//!
//!     fn project(fleet: &Fleet) -> Result<Switches, statesync::Error> {
//!         let switches = fleet.servers.iter().map(|s| Switch { server: s.name.clone(), on: s.maintenance });
//!         Ok(Switches { switches: Store::try_from_iter(switches)? })
//!     }
//!
//!     fn write_back(view: &Switches, fleet: &mut Fleet) {
//!         for switch in &view.switches {
//!             if let Some(mut server) = fleet.servers.get_mut(&ServerKey { name: switch.server.clone() }) {
//!                 server.maintenance = switch.on;
//!             }
//!         }
//!     }
//! }
//!
//! let mut fleet = Fleet { servers: Store::try_from_iter([
//!     Server { name: "a".into(), cpus: 8, maintenance: false },
//! ])? };
//! let mut view = Dashboard::project(&fleet)?;
//!
//! fleet.servers.insert(Server { name: "b".into(), cpus: 4, maintenance: true })?;
//! let shown = refresh::<Dashboard, _>(&fleet, &mut view)?; // the view follows the original
//! assert_eq!(shown.summary().create, 1);
//!
//! let mut edited = view.clone();
//! edited.switches.modify(&SwitchKey { server: "a".into() }, |s| s.on = true);
//! let carried = carry_back::<Dashboard, _>(&mut fleet, &view, &edited)?; // edits flow back
//! assert_eq!(carried.summary().update, 1);
//! assert!(fleet.servers.get(&ServerKey { name: "a".into() }).is_some_and(|s| s.maintenance));
//! # Ok::<(), statesync::Error>(())
//! ```

use std::collections::{HashMap, HashSet};

use crate::diff::Diff;
use crate::error::{Error, Path};
use crate::model::DiffModel;
use crate::render::EntryKind;

/// A view of a source model in another shape.
pub trait Projection<S: DiffModel> {
    /// The view's model.
    type View: DiffModel;

    /// Builds the view from the source.
    ///
    /// # Errors
    /// What building the view refuses: two rows with one key (`Store::try_from_iter` or
    /// `Store::insert` refuses the second), rather than a view that silently lacks one.
    fn project(source: &S) -> Result<Self::View, Error>;

    /// Writes what the view shows back into the source (the inverse of `project` on the
    /// parts the view covers; the rest of the source is left alone).
    fn write_back(view: &Self::View, source: &mut S);
}

/// Brings `view` up to date with `source`; returns what changed in the view.
///
/// # Errors
/// [`Projection::project`]'s error; a diff or apply error (duplicate keys in a `Vec`).
pub fn refresh<P: Projection<S>, S: DiffModel>(
    source: &S,
    view: &mut P::View,
) -> Result<Diff<P::View>, Error> {
    let diff = view.diff(&P::project(source)?)?;
    view.apply(&diff)?;
    Ok(diff)
}

/// Carries the edits that turned `shown` (the view as last projected or refreshed) into
/// `edited` back into `source`; returns what changed in the source, which holds it now. To
/// carry it on to a real system, sync a target of that system from `source`
/// (`sync::SyncModel::sync_from`), or carry the diff with
/// `sync::SyncModel::sync_diff` into a target that still holds the source as it was
/// (not into `source` itself: its old values are gone, and every change would be
/// [`Error::Stale`]). Only what was edited is carried: a
/// field of the source that changed since `shown` and was not edited is left alone, and
/// one that changed since *and* was edited is an [`Error::Stale`] (refresh, edit again), as
/// is an edit of an element the source no longer shows ([`Error::NotFound`]): the view's
/// edits are first applied to the source's projection as it is now, which refuses both.
/// What is carried is what [`Projection::write_back`] writes, as the source's models
/// compare it: an edit `write_back` cannot express (a row deleted from a view whose
/// `write_back` never removes), or one the source's equality does not see (a name edited
/// only in case, into a field whose `eq` ignores case), is not carried; but an
/// element the edits create must be in the source's projection once written back (or an
/// element of its model in its place, for a `write_back` that normalizes keys), else the
/// call is refused ([`Error::NotCarried`]) rather than drop it: its place in the source
/// may have gone since the view was shown (a row of a parent deleted meanwhile).
///
/// # Errors
/// [`Error::Stale`], [`Error::NotFound`] or [`Error::NotCarried`] as above, naming the
/// view's element; [`Projection::project`]'s error; a diff or apply error (duplicate keys
/// in a `Vec`). `source` is left as it was.
pub fn carry_back<P: Projection<S>, S: DiffModel>(
    source: &mut S,
    shown: &P::View,
    edited: &P::View,
) -> Result<Diff<S>, Error> {
    let edits = shown.diff(edited)?;
    let mut expected = P::project(source)?;
    expected.apply(&edits)?;
    let mut before = source.clone();
    P::write_back(shown, &mut before);
    let mut after = source.clone();
    P::write_back(edited, &mut after);
    refuse_dropped_creates(&edits, &P::project(&after)?.diff(&expected)?)?;
    let diff = before.diff(&after)?;
    source.apply(&diff)?;
    Ok(diff)
}

/// Refuses the edits when an element they create is one `missed` creates (what the
/// source's projection, written back, lacks of the edited view: [`Error::NotCarried`]),
/// unless an element of the same model appeared in its place unasked (under the same
/// parent; one the edits did not delete, which `missed` deletes): a `write_back` that
/// normalizes keys (lowercases a name) carries the create under another key. Elements are
/// told apart by their place in the view (models and keys from the root down). Of several
/// that may stand in for one created element, one whose subtree has the created one's
/// shape is taken: its created children are then looked for under it.
fn refuse_dropped_creates<V: DiffModel>(edits: &Diff<V>, missed: &Diff<V>) -> Result<(), Error> {
    let created: HashSet<Placed> = placed(edits, EntryKind::Create).into_iter().collect();
    let deleted: HashSet<Placed> = placed(edits, EntryKind::Delete).into_iter().collect();
    let appeared: Vec<Placed> = placed(missed, EntryKind::Delete)
        .into_iter()
        .filter(|element| !deleted.contains(element))
        .collect();
    let missing: Vec<Placed> = placed(missed, EntryKind::Create)
        .into_iter()
        .filter(|element| created.contains(element))
        .collect();
    // The elements that appeared and stand in for no created one yet (positions in
    // `appeared`), by model and parent.
    let mut free: HashMap<(&str, &[String]), Vec<usize>> = HashMap::new();
    for (at, (place, (model, _))) in appeared.iter().enumerate() {
        free.entry((*model, parent_of(place))).or_default().push(at);
    }
    // Where a created element was carried under another key, the place of the element
    // that stands in for it. (Parents come before their children.)
    let mut carried_as: HashMap<&[String], &[String]> = HashMap::new();
    for (at, (place, (model, key))) in missing.iter().enumerate() {
        let parent = parent_of(place);
        let parent = carried_as.get(parent).copied().unwrap_or(parent);
        let Some(candidates) = free
            .get_mut(&(*model, parent))
            .filter(|candidates| !candidates.is_empty())
        else {
            return Err(Error::NotCarried {
                model,
                key: key.clone(),
                path: Path::root(),
            });
        };
        let chosen = if candidates.len() == 1 {
            0
        } else {
            let wanted = shape(&missing, at);
            candidates
                .iter()
                .position(|&other| shape(&appeared, other) == wanted)
                .unwrap_or(0)
        };
        let stand_in = candidates.swap_remove(chosen);
        if let Some((stand_in, _)) = appeared.get(stand_in) {
            carried_as.insert(place, stand_in);
        }
    }
    Ok(())
}

/// An element's place in a view, with its model and key (see [`placed`]).
type Placed = (Vec<String>, (&'static str, String));

/// The place of an element's parent (the root's: empty).
fn parent_of(place: &[String]) -> &[String] {
    place.split_last().map_or(&[], |(_, parent)| parent)
}

/// The shape of the subtree of `elements[at]`: each descendant's depth below it and model,
/// sorted. Its descendants follow it (`placed` lists a subtree after its element).
fn shape(elements: &[Placed], at: usize) -> Vec<(usize, &'static str)> {
    let Some((place, _)) = elements.get(at) else {
        return Vec::new();
    };
    let mut shape: Vec<(usize, &'static str)> = elements
        .iter()
        .skip(at + 1)
        .take_while(|(other, _)| other.len() > place.len() && other.starts_with(place))
        .map(|(other, (model, _))| (other.len() - place.len(), *model))
        .collect();
    shape.sort_unstable();
    shape
}

/// The place (`model[key]` from the root down, and the element's model and key) of each
/// element `diff` lists as `kind`.
fn placed<V: DiffModel>(diff: &Diff<V>, kind: EntryKind) -> Vec<Placed> {
    let mut above: Vec<String> = Vec::new();
    let mut found = Vec::new();
    for entry in diff.entries() {
        above.truncate(entry.depth);
        let at = if entry.key.is_empty() {
            entry.model.to_owned()
        } else {
            format!("{}[{}]", entry.model, entry.key)
        };
        above.push(at);
        if entry.kind == kind {
            found.push((above.clone(), (entry.model, entry.key)));
        }
    }
    found
}
