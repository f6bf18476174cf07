use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Device;

fn main() {}
