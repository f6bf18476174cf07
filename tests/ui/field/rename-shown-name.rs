use statesync::DiffModel;

// A shown name is written as is in plans, keys and paths.
#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Device {
    #[statesync(id, rename = "site=a")]
    site: String,
    #[statesync(id, rename = "")]
    name: String,
    #[statesync(rename = "admin state")]
    state: bool,
}

fn main() {}
