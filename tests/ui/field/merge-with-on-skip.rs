use statesync::DiffModel;

fn pick(_: Option<&u32>, a: &u32, _: &u32) -> Option<u32> {
    Some(*a)
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Port {
    #[statesync(id)]
    name: String,
    #[statesync(skip, merge_with = pick)]
    cache: u32,
}

fn main() {}
