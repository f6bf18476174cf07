use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Port {
    #[statesync(id)]
    name: String,
    mtu: u32 = 1500,
}

fn main() {}
