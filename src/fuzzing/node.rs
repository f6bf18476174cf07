//! A self-recursive model for the fuzz checks: a tree of nodes keyed by name.

use serde::{Deserialize, Serialize};
use statesync::{DiffModel, Store};

/// A node of a tree: its children are nodes too.
#[derive(DiffModel, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// The node's name, unique among its siblings.
    #[statesync(id)]
    pub name: String,
    /// An attribute.
    pub weight: i32,
    /// A container attribute.
    pub tags: Vec<String>,
    /// The children.
    #[statesync(children)]
    pub children: Store<Node>,
}

impl Node {
    /// A node without children.
    pub fn leaf(name: &str, weight: i32) -> Self {
        Self {
            name: name.into(),
            weight,
            tags: Vec::new(),
            children: Store::new(),
        }
    }
}
