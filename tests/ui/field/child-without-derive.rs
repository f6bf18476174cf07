// A child model that does not derive `DiffModel`: every error names the child and says to
// derive it (the errors come from each generated impl that needs it; each says why).
use statesync::{DiffModel, Store};

#[derive(Clone, Debug, PartialEq)]
struct Port {
    name: String,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Switch {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    ports: Store<Port>,
}

fn main() {}
