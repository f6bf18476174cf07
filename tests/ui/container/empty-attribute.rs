use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync()]
struct Device {
    #[statesync(id)]
    name: String,
}

fn main() {}
