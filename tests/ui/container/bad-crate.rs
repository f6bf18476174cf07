use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(crate = "not a path")]
struct Device {
    value: u32,
}

fn main() {}
