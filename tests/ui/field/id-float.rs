// A float id (alone, in a tuple, in an `Option`): not `Eq`, `Ord` or `Hash`. One error at
// the field's type each (there were three, one per missing trait, from the key's derives).
use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Point {
    #[statesync(id)]
    x: f64,
    label: String,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Reading {
    #[statesync(id)]
    sensor: u32,
    #[statesync(id)]
    at: (u32, f32),
    #[statesync(id)]
    offset: Option<f64>,
}

fn main() {}
