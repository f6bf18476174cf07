use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(name = "device", name = "switch")]
struct Device {
    #[statesync(id)]
    name: String,
}

fn main() {}
