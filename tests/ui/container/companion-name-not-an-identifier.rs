use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(key_type = "Port Id")]
struct Port {
    #[statesync(id)]
    number: u32,
    speed: u32,
}

fn main() {}
