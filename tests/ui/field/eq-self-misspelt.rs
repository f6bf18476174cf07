// A misspelt `eq = Self::...` is one error, at the name, with rustc's suggestion (the
// record of changes, outside the model's impl, names the model's type for `Self`: an error
// there was shown a second time, at `Self`; found by an outside tester).
use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Book {
    #[statesync(id)]
    isbn: String,
    #[statesync(eq = Self::same_shelff)]
    shelf: String,
}

impl Book {
    fn same_shelf(a: &str, b: &str) -> bool {
        a == b
    }
}

fn main() {}
