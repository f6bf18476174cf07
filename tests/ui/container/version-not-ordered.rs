use statesync::DiffModel;

#[derive(Clone, Debug, PartialEq)]
struct Stamp(u64);

// The version field must be ordered: the error is at the option.
#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(version = "stamp")]
struct Device {
    #[statesync(id)]
    name: String,
    stamp: Stamp,
}

fn main() {}
