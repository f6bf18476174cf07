use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(version = "name")]
struct Port {
    #[statesync(id)]
    name: String,
    mtu: u32,
}

fn main() {}
