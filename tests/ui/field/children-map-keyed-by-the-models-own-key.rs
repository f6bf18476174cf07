// A map of children keyed by the model's own key rather than the children's: one error at
// the type (there were 20, some about hooks and serde the program does not use; found by an
// outside tester). A map of the model's own kind keyed by its own key is right, and
// compiles (`ui/pass/map-of-the-models-own-kind.rs`).
use std::collections::BTreeMap;

use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Shelf {
    #[statesync(id)]
    code: String,
    #[statesync(children)]
    books: BTreeMap<ShelfKey, Book>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Book {
    #[statesync(id)]
    isbn: String,
    title: String,
}

fn main() {
    let shelf = Shelf {
        code: "a".into(),
        books: BTreeMap::new(),
    };
    let _ = shelf.diff(&shelf.clone());
}
