// A model flag named twice: one error on the list (it was accepted silently; found by an
// outside tester).
use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(flags = "IGNORE | IGNORE")]
struct Probe {
    #[statesync(id)]
    name: String,
}

fn main() {}
