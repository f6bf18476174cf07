use statesync::DiffModel;

fn pick(_: Option<&u32>, a: &u32, _: &u32) -> Option<u32> {
    Some(*a)
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Port {
    #[statesync(id)]
    name: String,
    #[statesync(merge = "max", merge_with = pick)]
    mtu: u32,
}

fn main() {}
