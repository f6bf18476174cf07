//! A model with children of its own type (`Store<Folder>`, `Vec<Self>`) beside a children
//! field whose model has no serde compiles, as any tree without serde does, also when that
//! child has children of its own (an outside tester's case: the recursion's serde bounds
//! asked the sibling for serde at once).

use statesync::{DiffModel, Store};

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Leaf {
    #[statesync(id)]
    id: u32,
    #[statesync(children)]
    grains: Store<Grain>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Grain {
    #[statesync(id)]
    id: u32,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Folder {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    sub: Store<Folder>,
    #[statesync(children)]
    leaves: Store<Leaf>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Outline {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    sub: Vec<Self>,
    #[statesync(children)]
    leaves: Vec<Leaf>,
}

fn main() {
    let a = Folder { name: "r".into(), sub: Store::new(), leaves: Store::new() };
    let mut b = a.clone();
    b.leaves.insert(Leaf { id: 1, grains: Store::new() }).unwrap();
    assert_eq!(a.diff(&b).unwrap().summary().create, 1);
    let outline = Outline { name: "o".into(), sub: vec![], leaves: vec![Leaf { id: 2, grains: Store::new() }] };
    assert!(outline.diff(&outline.clone()).unwrap().is_empty());
}
