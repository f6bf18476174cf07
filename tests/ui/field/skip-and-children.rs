use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Device {
    #[statesync(id)]
    name: String,
    #[statesync(children, skip)]
    ports: Vec<Device>,
}

fn main() {}
