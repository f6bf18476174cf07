use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(child_diffs_type = "PortDiffs")]
struct Port {
    #[statesync(id)]
    number: u32,
    speed: u32,
}

fn main() {}
