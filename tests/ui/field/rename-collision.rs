use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Port {
    #[statesync(id)]
    name: String,
    #[statesync(rename = "speed")]
    rate: u32,
    speed: u32,
}

fn main() {}
