use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Device {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    ports: String,
}

fn main() {}
