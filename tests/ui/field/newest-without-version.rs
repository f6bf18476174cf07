use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Port {
    #[statesync(id)]
    name: String,
    #[statesync(merge = "newest")]
    mtu: u32,
}

fn main() {}
