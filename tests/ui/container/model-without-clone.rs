// A model that is not `Clone` (the likeliest first mistake) is one error, at the model,
// with rustc's help to derive it: it was five, one per layer's impl and one per method
// signature naming `Self::Key` (an outside tester).
use statesync::{DiffModel, Store};

#[derive(DiffModel, Debug, PartialEq)]
pub struct Shelf {
    #[statesync(id)]
    name: String,
    capacity: u32,
    #[statesync(children)]
    books: Store<Book>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
pub struct Book {
    #[statesync(id)]
    isbn: String,
}

fn main() {}
