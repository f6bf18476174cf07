//! Models without serde compile at any depth (issue 8.1: three levels did not).

use statesync::{DiffModel, Store};

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Top {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    children: Store<Mid>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Mid {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    children: Store<Leaf>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Leaf {
    #[statesync(id)]
    name: String,
    value: u32,
}

fn main() {
    let top = Top { name: "t".into(), children: Store::new() };
    assert!(top.diff(&top.clone()).unwrap().is_empty());
}
