use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(flags = "IGNORE | SKIP_EVERYTHING")]
struct Port {
    #[statesync(id)]
    name: String,
}

fn main() {}
