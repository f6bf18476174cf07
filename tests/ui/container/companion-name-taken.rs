use statesync::DiffModel;

// The key type is given the name the field enum has by default.
#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(key_type = "PortField")]
struct Port {
    #[statesync(id)]
    number: u32,
    speed: u32,
}

// A generated type given the model's own name.
#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(changes_type = "Link")]
struct Link {
    #[statesync(id)]
    number: u32,
    speed: u32,
}

fn main() {}
