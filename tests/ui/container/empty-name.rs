use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(name = "")]
struct Device {
    value: u32,
}

fn main() {}
