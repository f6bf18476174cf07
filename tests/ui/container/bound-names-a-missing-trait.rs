// A trait misspelt in `bound` is underlined in the bound's string, not at the derive
// (found by an outside tester: the bound was parsed with the derive's span).
use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(bound = "T: Clone + std::fmt::Debug + PartialEq + Hashh")]
struct Book<T> {
    #[statesync(id)]
    isbn: String,
    extra: T,
}

fn main() {}
