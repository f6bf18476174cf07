// An `eq` or `merge_with` function of the wrong return type is one error each, underlined
// at the function named in the attribute (it was at the field's type, naming neither; found
// by an outside tester).
use statesync::DiffModel;

fn same_title(a: &str, b: &str) -> std::cmp::Ordering {
    a.cmp(b)
}

fn pick(_base: Option<&String>, ours: &String, _theirs: &String) -> String {
    ours.clone()
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Book {
    #[statesync(id)]
    isbn: String,
    #[statesync(eq = same_title)]
    title: String,
    #[statesync(merge_with = pick)]
    note: String,
    #[statesync(eq = Self::same_shelf)]
    shelf: String,
}

impl Book {
    fn same_shelf(a: &str, b: &str) -> u8 {
        u8::from(a == b)
    }
}

fn main() {}
