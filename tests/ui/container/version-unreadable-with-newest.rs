// An unreadable `version` beside `merge = "newest"`: one error, at the value (it also said
// `newest` needs a version, which was given).
use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(version = "rev-1", merge = "newest")]
struct Doc {
    #[statesync(id)]
    id: u32,
    rev: u64,
}

fn main() {}
