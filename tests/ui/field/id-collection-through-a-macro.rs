// A collection id passed as a `macro_rules!` fragment (`$id:ty`, an invisible group around
// the type) is judged as one written out: one error (there were seven; found by a review).
use statesync::{DiffModel, Store};

macro_rules! keyed_by {
    ($name:ident, $id:ty) => {
        #[derive(DiffModel, Clone, Debug, PartialEq)]
        struct $name {
            #[statesync(id)]
            books: $id,
            label: String,
        }
    };
}

keyed_by!(Shelf, Vec<Book>);

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Book {
    #[statesync(id)]
    isbn: String,
}

fn main() {
    let _ = Store::<Book>::new();
}
