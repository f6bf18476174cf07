//! The laws checked on each fuzz input.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;
use statesync::{Diff, DiffModel, Store};

use super::inputs::Target;
use super::node::Node;
use super::{Outcome, Violation};
use crate::inventory::{Inventory, Site};
use crate::remote::{Request, Response, Server};

fn broken(what: impl std::fmt::Display) -> Violation {
    Violation(what.to_string())
}

/// Reads a diff for the target the first byte names (see [`Target`]) from the JSON in the
/// rest, applies it to that target's state, and checks the laws (see the module docs).
///
/// # Errors
/// The law the input broke.
pub fn check_diff_apply(bytes: &[u8]) -> Result<Outcome, Violation> {
    let Some((&selector, json)) = bytes.split_first() else {
        return Ok(Outcome::Unreadable);
    };
    match Target::from_byte(selector) {
        target @ (Target::SmallInventory | Target::GeneratedInventory) => {
            check_on(target.inventory(), json, inventory_index)
        }
        Target::Site => check_on(Target::site(), json, site_index),
        target @ (Target::Tree | Target::WideTree) => check_on(target.tree(), json, node_index),
    }
}

/// The laws for one model type: `index` checks every store of a state.
fn check_on<M>(
    base: &M,
    json: &[u8],
    index: fn(&M) -> Result<(), Violation>,
) -> Result<Outcome, Violation>
where
    M: DiffModel + Debug + PartialEq + Serialize + DeserializeOwned,
    Diff<M>: DeserializeOwned,
{
    let Ok(diff) = serde_json::from_slice::<Diff<M>>(json) else {
        return Ok(Outcome::Unreadable);
    };
    // Rendering, counting and inverting accept any diff that reads.
    let _ = (diff.to_string(), diff.summary(), diff.entries());
    let inverse = diff.invert();
    let mut state = base.clone();
    if let Err(error) = state.apply(&diff) {
        let _ = error.to_string();
        // Compared exactly: `Debug` lists every store in its order.
        if format!("{state:?}") != format!("{base:?}") {
            return Err(broken(format_args!(
                "apply failed ({error}) but changed its target"
            )));
        }
        return Ok(Outcome::Refused);
    }
    index(&state)?;
    round_trip(&state)?;
    let mut undone = state.clone();
    undone.apply(&inverse).map_err(|error| {
        broken(format_args!(
            "the inverse of an applied diff failed: {error}"
        ))
    })?;
    if undone != *base || !undone.diff(base).map_err(broken)?.is_empty() {
        return Err(broken("the inverse did not restore the original"));
    }
    let again = base.diff(&state).map_err(broken)?;
    let mut replayed = base.clone();
    replayed
        .apply(&again)
        .map_err(|error| broken(format_args!("before.diff(&after) did not apply: {error}")))?;
    if replayed != state {
        return Err(broken("before.diff(&after) did not reproduce after"));
    }
    Ok(Outcome::Accepted)
}

/// The state written as JSON reads back equal, and writes the same JSON again.
fn round_trip<M: DiffModel + Debug + PartialEq + Serialize + DeserializeOwned>(
    state: &M,
) -> Result<(), Violation> {
    let json = serde_json::to_string(state).map_err(broken)?;
    let back: M = serde_json::from_str(&json)
        .map_err(|error| broken(format_args!("the state did not read back: {error}")))?;
    if back != *state || serde_json::to_string(&back).map_err(broken)? != json {
        return Err(broken("the state did not round-trip through JSON"));
    }
    Ok(())
}

/// Every model of a store sits under its own key, lookups find it, nothing is aside.
fn store_index<M: DiffModel>(store: &Store<M>) -> Result<(), Violation> {
    for model in store {
        let key = model.key();
        let found = store.get(&key).is_some_and(|got| std::ptr::eq(got, model));
        if !model.has_key(&key) || !found {
            return Err(broken(format_args!(
                "{}[{key}] is filed under a key that is not its own",
                M::NAME
            )));
        }
    }
    if !store.collisions().is_empty() {
        return Err(broken("a store holds colliding renames"));
    }
    Ok(())
}

fn site_index(site: &Site) -> Result<(), Violation> {
    store_index(&site.devices)?;
    site.devices
        .iter()
        .try_for_each(|device| store_index(&device.interfaces))
}

fn inventory_index(inventory: &Inventory) -> Result<(), Violation> {
    store_index(&inventory.sites)?;
    inventory.sites.iter().try_for_each(site_index)
}

fn node_index(node: &Node) -> Result<(), Violation> {
    store_index(&node.children)?;
    node.children.iter().try_for_each(node_index)
}

/// Reads an inventory the way the inventory loader does (`json_file::load` reads a path;
/// this is its parse and checks on bytes): whatever reads has consistent stores, and a valid
/// one round-trips and is reproduced by a diff from another inventory.
///
/// # Errors
/// The law the input broke.
pub fn check_inventory_load(bytes: &[u8]) -> Result<Outcome, Violation> {
    let Ok(inventory) = serde_json::from_slice::<Inventory>(bytes) else {
        return Ok(Outcome::Unreadable);
    };
    inventory_index(&inventory)?;
    if crate::json_file::check_parents(&inventory).is_err() {
        return Ok(Outcome::Refused);
    }
    round_trip(&inventory)?;
    let base = Target::SmallInventory.inventory();
    let mut replayed = base.clone();
    replayed
        .apply(&base.diff(&inventory).map_err(broken)?)
        .map_err(broken)?;
    if replayed != inventory {
        return Err(broken("a diff to a loaded inventory did not reproduce it"));
    }
    Ok(Outcome::Accepted)
}

/// Sends one request to a demo server holding [`Target::SmallInventory`]: only an accepted
/// push may change its state, which keeps consistent stores.
///
/// # Errors
/// The law the input broke.
pub fn check_server_message(bytes: &[u8]) -> Result<Outcome, Violation> {
    let Ok(request) = serde_json::from_slice::<Request>(bytes) else {
        return Ok(Outcome::Unreadable);
    };
    let server = Server::new(Target::SmallInventory.inventory().clone()).map_err(broken)?;
    let before = server.snapshot();
    let response = server.handle(request);
    serde_json::to_string(&response).map_err(broken)?;
    let after = server.snapshot();
    inventory_index(&after.1)?;
    let accepted = matches!(response, Response::Accepted { .. });
    if !accepted && after != before {
        return Err(broken(
            "a request the server did not accept changed its state",
        ));
    }
    Ok(if accepted {
        Outcome::Accepted
    } else {
        Outcome::Refused
    })
}
