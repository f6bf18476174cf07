// A collection as an id (statesync's `Store` named with its crate, a `Vec`, a set): no key
// can be made of it. One error at the field's type each (a `Store<Book>` id had seven:
// `Eq`, `PartialOrd`, `Ord`, `Hash` twice, `Display`; found by an outside tester). A bare
// `Store` is not judged: it may be a type of the user's, a valid id
// (`ui/pass/own-key-maps-and-ids-the-checks-leave-alone.rs`).
use std::collections::BTreeSet;

use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Shelf {
    #[statesync(id)]
    books: statesync::Store<Book>,
    #[statesync(id)]
    copies: Vec<Book>,
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
