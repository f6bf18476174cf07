// A `flags` option that names no flag, or leaves one out around a `|`, says so (it said
// "unknown model flag ``"; an outside tester).
use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(flags = "")]
struct Port {
    #[statesync(id)]
    name: String,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(flags = "IGNORE |")]
struct Vlan {
    #[statesync(id)]
    id: u16,
}

fn main() {}
