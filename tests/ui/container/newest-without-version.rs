use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(merge = "newest")]
struct Port {
    #[statesync(id)]
    name: String,
    mtu: u32,
}

fn main() {}
