use statesync::{DiffModel, Store};

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Port {
    #[statesync(id)]
    name: String,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Device {
    #[statesync(id, children)]
    ports: Store<Port>,
}

fn main() {}
