// An `eq` function that takes other arguments is one error, underlined at the function named
// in the attribute (it was two: the record of changes and the model's description each
// called it).
use statesync::DiffModel;

fn close(a: &f64, b: &f64, tolerance: u8) -> bool {
    (a - b).abs() < f64::from(tolerance)
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Probe {
    #[statesync(id)]
    name: String,
    #[statesync(eq = "close")]
    value: f64,
}

fn main() {}
