use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Port {
    #[statesync(id, merge = "max")]
    name: String,
}

fn main() {}
