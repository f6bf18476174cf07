use statesync::DiffModel;

// An attribute's variant is its camel-cased name, or else its identifier, or else its
// camel-cased name and `Field`: `A` finds all three taken (by `_a` and `a_field`).
#[derive(DiffModel, Clone, Debug, PartialEq)]
#[allow(non_snake_case)]
struct Port {
    #[statesync(id)]
    name: String,
    a_field: u32,
    _a: u32,
    A: u32,
}

fn main() {}
