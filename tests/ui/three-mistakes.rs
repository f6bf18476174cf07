use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(nmae = "device")]
struct Device {
    #[statesync(id, skip)]
    name: String,
    #[statesync(renmae = "x")]
    role: String,
}

fn main() {}
