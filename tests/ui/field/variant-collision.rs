use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[allow(non_snake_case)]
struct Port {
    #[statesync(id)]
    name: String,
    speed_1: u32,
    speed1: u32,
}

fn main() {}
