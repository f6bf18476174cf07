//! A recursive model (`Store<Self>`, `Vec<Self>`, a cycle of `sync_models`) beside a
//! children field whose model has no serde compiles, as any tree without serde does (an
//! outside tester's case: the cycle's serde bounds asked the sibling for serde at once),
//! also when that child has children of its own (beside a model that holds itself).

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
struct Label {
    #[statesync(id)]
    text: String,
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

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(sync_models = "Shelf, Box_, Label")]
struct Shelf {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    boxes: Store<Box_>,
    #[statesync(children)]
    labels: Store<Label>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(sync_models = "Shelf, Box_, Label")]
struct Box_ {
    #[statesync(id)]
    id: u8,
    #[statesync(children)]
    shelves: Store<Shelf>,
}

fn main() {
    let a = Folder { name: "r".into(), sub: Store::new(), leaves: Store::new() };
    let mut b = a.clone();
    b.leaves.insert(Leaf { id: 1, grains: Store::new() }).unwrap();
    assert_eq!(a.diff(&b).unwrap().summary().create, 1);
    let outline = Outline { name: "o".into(), sub: vec![], leaves: vec![Leaf { id: 2, grains: Store::new() }] };
    assert!(outline.diff(&outline.clone()).unwrap().is_empty());
    let shelf = Shelf { name: "s".into(), boxes: Store::new(), labels: Store::new() };
    assert!(shelf.diff(&shelf.clone()).unwrap().is_empty());
}
