use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(merge = "max")]
struct Port {
    #[statesync(id)]
    name: String,
    mtu: u32,
}

fn main() {}
