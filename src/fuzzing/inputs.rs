//! The states the fuzz checks apply diffs to ([`Target`]), and a seeded generator of inputs
//! ([`Inputs`]): valid diffs made between edited copies of those states, serialised, then
//! mutated (in their JSON structure and as bytes), so most inputs read and reach `apply`.

use std::sync::OnceLock;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use statesync::{Diff, DiffModel};

use super::node::Node;
use crate::inventory::{Inventory, Site};

/// The state a diff input is applied to, named by its first byte (modulo 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `fixtures::inventory()`: 2 sites, 4 devices, 12 interfaces.
    SmallInventory,
    /// A generated inventory of 60 interfaces (`dataset::generate(60, 9)`).
    GeneratedInventory,
    /// `fixtures::site("ams", 2, 3)`, as a root.
    Site,
    /// A tree of [`Node`]s, 4 levels of 2 children.
    Tree,
    /// A tree of [`Node`]s, 2 levels of 6 children.
    WideTree,
}

impl Target {
    const ALL: [Target; 5] = [
        Target::SmallInventory,
        Target::GeneratedInventory,
        Target::Site,
        Target::Tree,
        Target::WideTree,
    ];

    /// The target a selector byte names.
    pub fn from_byte(byte: u8) -> Self {
        match byte % 5 {
            0 => Target::SmallInventory,
            1 => Target::GeneratedInventory,
            2 => Target::Site,
            3 => Target::Tree,
            _ => Target::WideTree,
        }
    }

    /// The selector byte of this target.
    pub fn byte(self) -> u8 {
        match self {
            Target::SmallInventory => 0,
            Target::GeneratedInventory => 1,
            Target::Site => 2,
            Target::Tree => 3,
            Target::WideTree => 4,
        }
    }

    /// The inventory state (the small one unless this is [`Target::GeneratedInventory`]),
    /// built once.
    pub fn inventory(self) -> &'static Inventory {
        static SMALL: OnceLock<Inventory> = OnceLock::new();
        static GENERATED: OnceLock<Inventory> = OnceLock::new();
        match self {
            Target::GeneratedInventory => GENERATED.get_or_init(|| crate::dataset::generate(60, 9)),
            _ => SMALL.get_or_init(crate::fixtures::inventory),
        }
    }

    /// The site state, built once.
    pub fn site() -> &'static Site {
        static SITE: OnceLock<Site> = OnceLock::new();
        SITE.get_or_init(|| crate::fixtures::site("ams", 2, 3))
    }

    /// The tree state (the wide one for [`Target::WideTree`]), built once.
    pub fn tree(self) -> &'static Node {
        static DEEP: OnceLock<Node> = OnceLock::new();
        static WIDE: OnceLock<Node> = OnceLock::new();
        match self {
            Target::WideTree => WIDE.get_or_init(|| tree("root", 2, 6)),
            _ => DEEP.get_or_init(|| tree("root", 4, 2)),
        }
    }
}

/// A full tree: `levels` levels below and including the root, `width` children each.
fn tree(name: &str, levels: usize, width: usize) -> Node {
    let mut node = Node::leaf(name, levels as i32);
    if levels > 1 {
        for at in 0..width {
            node.children
                .upsert(tree(&format!("{name}.{at}"), levels - 1, width));
        }
    }
    node
}

/// A seeded, endless source of inputs for the fuzz checks: the same seed gives the same
/// inputs.
pub struct Inputs {
    rng: ChaCha8Rng,
}

impl Inputs {
    /// Inputs from a seed.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// An input for [`super::check_diff_apply`]: a selector byte and a diff's JSON.
    pub fn diff_apply(&mut self) -> Vec<u8> {
        let target = pick(&mut self.rng, &Target::ALL)
            .copied()
            .unwrap_or(Target::SmallInventory);
        let json = match target {
            Target::SmallInventory | Target::GeneratedInventory => {
                self.diff_json(target.inventory(), |rng, state| {
                    *state = crate::dataset::mutate(state, rng.random());
                })
            }
            Target::Site => self.diff_json(Target::site(), edit_site),
            Target::Tree | Target::WideTree => self.diff_json(target.tree(), edit_tree),
        };
        let mut bytes = vec![target.byte()];
        bytes.extend(self.mutated(json));
        bytes
    }

    /// An input for [`super::check_inventory_load`]: an inventory's JSON, mutated.
    pub fn inventory_file(&mut self) -> Vec<u8> {
        let mut inventory = Target::SmallInventory.inventory().clone();
        if self.rng.random_bool(0.5) {
            inventory = crate::dataset::mutate(&inventory, self.rng.random());
        }
        let json = serde_json::to_value(&inventory).unwrap_or(Value::Null);
        self.mutated(json)
    }

    /// An input for [`super::check_server_message`]: a request, often a push of a diff
    /// made against the server's state.
    pub fn server_message(&mut self) -> Vec<u8> {
        let request = match self.rng.random_range(0..4) {
            0 => serde_json::json!("hello"),
            1 => serde_json::json!({ "pull": { "base": self.rng.random_range(0..3) } }),
            _ => {
                let diff = self.diff_json(Target::SmallInventory.inventory(), |rng, state| {
                    *state = crate::dataset::mutate(state, rng.random());
                });
                serde_json::json!({ "push": { "base": self.rng.random_range(0..2), "diff": diff } })
            }
        };
        self.mutated(request)
    }

    /// The JSON of a diff between `base` and edited copies of it: usually the diff that
    /// turns `base` into an edit (it applies), sometimes one made for another state.
    fn diff_json<M: DiffModel>(&mut self, base: &M, edit: impl Fn(&mut ChaCha8Rng, &mut M)) -> Value
    where
        Diff<M>: serde::Serialize,
    {
        let mut edited = base.clone();
        edit(&mut self.rng, &mut edited);
        let diff = match self.rng.random_range(0..10) {
            0..6 => base.diff(&edited),
            6..8 => edited.diff(base),
            _ => {
                let mut other = base.clone();
                edit(&mut self.rng, &mut other);
                other.diff(&edited)
            }
        };
        diff.ok()
            .and_then(|diff| serde_json::to_value(diff).ok())
            .unwrap_or(Value::Null)
    }

    /// The JSON's bytes after up to three mutations (none in a quarter of the inputs).
    fn mutated(&mut self, mut json: Value) -> Vec<u8> {
        let rounds = self.rng.random_range(0..4);
        let mut bytes_mutations = 0;
        for _ in 0..rounds {
            if self.rng.random_bool(0.8) {
                mutate_json(&mut self.rng, &mut json);
            } else {
                bytes_mutations += 1;
            }
        }
        let mut bytes = serde_json::to_vec(&json).unwrap_or_default();
        for _ in 0..bytes_mutations {
            mutate_bytes(&mut self.rng, &mut bytes);
        }
        bytes
    }
}

/// Small edits of a site: its region, a device's role, an interface's MTU, a device
/// removed or added.
fn edit_site(rng: &mut ChaCha8Rng, site: &mut Site) {
    for _ in 0..rng.random_range(1..4) {
        let devices: Vec<_> = site.devices.keys().collect();
        let picked = pick(rng, &devices).cloned();
        match (rng.random_range(0..5), picked) {
            (0, _) => site.region = format!("r{}", rng.random_range(0..3)),
            (1, Some(key)) => {
                site.devices
                    .modify(&key, |device| device.role = "spine".into());
            }
            (2, Some(key)) => {
                site.devices.modify(&key, |device| {
                    device.interfaces.for_each_mut(|port| port.mtu = 9216);
                });
            }
            (3, Some(key)) => drop(site.devices.remove(&key)),
            _ => {
                let name = format!("{}-n{}", site.name, rng.random_range(0..3));
                drop(
                    site.devices
                        .upsert(crate::fixtures::device(&site.name, &name, 2)),
                );
            }
        }
    }
}

/// Small edits anywhere in a tree: weights, tags, children added, removed or renamed.
fn edit_tree(rng: &mut ChaCha8Rng, node: &mut Node) {
    match rng.random_range(0..6) {
        0 => node.weight = rng.random_range(-3..3),
        1 => node.tags.push(format!("t{}", rng.random_range(0..3))),
        2 => {
            let name = format!("{}.x{}", node.name, rng.random_range(0..3));
            drop(node.children.upsert(tree(&name, rng.random_range(1..3), 2)));
        }
        3 => {
            let first = node.children.keys().next();
            if let Some(key) = first {
                node.children.remove(&key);
            }
        }
        4 => {
            let last = node.children.keys().last();
            if let Some(key) = last {
                let renamed = format!("{}.r{}", node.name, rng.random_range(0..3));
                node.children.modify(&key, |child| child.name = renamed);
                drop(node.children.take_collisions());
            }
        }
        _ => {
            let keys: Vec<_> = node.children.keys().collect();
            if let Some(key) = pick(rng, &keys) {
                node.children.modify(key, |child| edit_tree(rng, child));
            }
        }
    }
}

/// One structural mutation of a JSON document: a value replaced by a nearby one or by a
/// piece of the document, an element dropped, doubled or swapped, an action turned into
/// another, a field removed.
fn mutate_json(rng: &mut ChaCha8Rng, json: &mut Value) {
    let count = count_nodes(json);
    let donor = nth(json, rng.random_range(0..count)).cloned();
    let Some(node) = nth_mut(json, rng.random_range(0..count)) else {
        return;
    };
    match node {
        Value::String(text) => match rng.random_range(0..3) {
            0 => text.push('x'),
            1 => text.clear(),
            _ => *text = format!("n{}", rng.random_range(0..4)),
        },
        Value::Number(number) => {
            let value = number.as_i64().unwrap_or(0);
            *node = Value::from(match rng.random_range(0..4) {
                0 => value + 1,
                1 => value - 1,
                2 => 0,
                _ => i64::from(u32::MAX) + 1,
            });
        }
        Value::Bool(flag) => *flag = !*flag,
        Value::Array(items) if !items.is_empty() => {
            let at = rng.random_range(0..items.len());
            match rng.random_range(0..3) {
                0 => drop(items.remove(at)),
                1 => {
                    if let Some(copy) = items.get(at).cloned() {
                        items.push(copy);
                    }
                }
                _ => {
                    let other = rng.random_range(0..items.len());
                    items.swap(at, other);
                }
            }
        }
        Value::Object(fields) if !fields.is_empty() => {
            let keys: Vec<String> = fields.keys().cloned().collect();
            let Some(key) = pick(rng, &keys).cloned() else {
                return;
            };
            let actions = ["create", "delete", "update"];
            if actions.contains(&key.as_str()) {
                let renamed = pick(rng, &actions).copied().unwrap_or("update");
                if let Some(value) = fields.remove(&key) {
                    fields.insert(renamed.into(), value);
                }
            } else if rng.random_bool(0.5) {
                fields.remove(&key);
            } else if let Some(donor) = donor {
                fields.insert(key, donor);
            }
        }
        _ => {
            if let Some(donor) = donor {
                *node = donor;
            }
        }
    }
}

/// One byte-level mutation: a byte changed, inserted or the tail cut.
fn mutate_bytes(rng: &mut ChaCha8Rng, bytes: &mut Vec<u8>) {
    if bytes.is_empty() {
        bytes.push(rng.random());
        return;
    }
    let at = rng.random_range(0..bytes.len());
    match rng.random_range(0..3) {
        0 => {
            if let Some(byte) = bytes.get_mut(at) {
                *byte = rng.random();
            }
        }
        1 => {
            let byte = pick(rng, b"{}[],:\"0").copied().unwrap_or(b'0');
            bytes.insert(at, byte);
        }
        _ => bytes.truncate(at),
    }
}

/// A random item, or `None` from an empty slice.
fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> Option<&'a T> {
    if items.is_empty() {
        return None;
    }
    items.get(rng.random_range(0..items.len()))
}

fn count_nodes(json: &Value) -> usize {
    1 + match json {
        Value::Array(items) => items.iter().map(count_nodes).sum(),
        Value::Object(fields) => fields.values().map(count_nodes).sum(),
        _ => 0,
    }
}

/// The `n`th node in preorder.
fn nth(json: &Value, n: usize) -> Option<&Value> {
    fn walk<'a>(json: &'a Value, n: &mut usize) -> Option<&'a Value> {
        if *n == 0 {
            return Some(json);
        }
        *n -= 1;
        let children: Box<dyn Iterator<Item = &Value>> = match json {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(fields) => Box::new(fields.values()),
            _ => Box::new(std::iter::empty()),
        };
        children.into_iter().find_map(|child| walk(child, n))
    }
    walk(json, &mut { n })
}

/// The `n`th node in preorder, to change.
fn nth_mut(json: &mut Value, n: usize) -> Option<&mut Value> {
    fn walk<'a>(json: &'a mut Value, n: &mut usize) -> Option<&'a mut Value> {
        if *n == 0 {
            return Some(json);
        }
        *n -= 1;
        match json {
            Value::Array(items) => items.iter_mut().find_map(|child| walk(child, n)),
            Value::Object(fields) => fields.values_mut().find_map(|child| walk(child, n)),
            _ => None,
        }
    }
    walk(json, &mut { n })
}
