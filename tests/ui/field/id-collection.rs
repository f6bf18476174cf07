// A collection as an id (a `Store` of models, a `Vec`, a set): no key can be made of it.
// One error at the field's type each (a `Store<Book>` id had seven: `Eq`, `PartialOrd`,
// `Ord`, `Hash` twice, `Display`; found by an outside tester).
use std::collections::BTreeSet;

use statesync::{DiffModel, Store};

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Shelf {
    #[statesync(id)]
    books: Store<Book>,
    label: String,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Tagged {
    #[statesync(id)]
    tags: BTreeSet<String>,
    #[statesync(id)]
    parts: std::vec::Vec<u8>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Book {
    #[statesync(id)]
    isbn: String,
}

fn main() {}
