use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(skip)]
struct Device {
    #[statesync(id)]
    name: String,
}

fn main() {}
