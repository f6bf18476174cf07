use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Device(String, u32);

fn main() {}
