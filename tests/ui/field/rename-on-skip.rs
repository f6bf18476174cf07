use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Device {
    #[statesync(id)]
    name: String,
    #[statesync(skip, rename = "cache")]
    cached: u64,
}

fn main() {}
