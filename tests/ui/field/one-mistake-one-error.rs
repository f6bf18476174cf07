use statesync::DiffModel;

// One error per mistake: three clashing roles on one field, and one missing version
// field that two `newest` strategies need.
#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Device {
    #[statesync(id)]
    name: String,
    #[statesync(id, children, skip)]
    ports: Vec<String>,
    #[statesync(merge = "newest")]
    role: String,
    #[statesync(merge = "newest")]
    model: String,
}

fn main() {}
