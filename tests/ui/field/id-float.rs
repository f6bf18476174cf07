// An `f64` id: not `Eq`, `Ord` or `Hash`. Each missing trait is reported at the field's type.
use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Point {
    #[statesync(id)]
    x: f64,
    label: String,
}

fn main() {}
