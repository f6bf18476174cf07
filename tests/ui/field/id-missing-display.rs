use statesync::DiffModel;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Serial(u64);

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Device {
    #[statesync(id)]
    serial: Serial,
}

fn main() {}
