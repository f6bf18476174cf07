use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Device {
    #[statesync(id)]
    name: String,
    #[statesync(name = "role")]
    role: String,
}

fn main() {}
