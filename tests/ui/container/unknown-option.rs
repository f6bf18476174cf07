use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(model = "device")]
struct Device {
    #[statesync(id)]
    name: String,
}

fn main() {}
