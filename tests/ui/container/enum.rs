use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
enum Device {
    Switch { name: String },
    Router { name: String },
}

fn main() {}
