use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Device {
    #[statesync(id = true, rename = "host")]
    name: String,
}

fn main() {}
