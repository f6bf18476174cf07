// `version` takes the field's Rust name; given its rename, the error says which name to
// write (it said only that the rename "is not one"; an outside tester).
use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(version = "rev")]
struct Page {
    #[statesync(id)]
    path: String,
    #[statesync(rename = "rev")]
    revision: u64,
}

fn main() {}
