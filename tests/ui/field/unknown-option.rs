use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Device {
    #[statesync(id)]
    name: String,
    #[statesync(childs)]
    ports: Vec<u8>,
}

fn main() {}
