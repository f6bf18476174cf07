// An id field of a type without a key's traits: one error per trait it lacks, each at the
// field's type (it was six, `Hash` twice, some at the derive).
use statesync::DiffModel;

#[derive(Clone, Debug, PartialEq)]
struct Point {
    x: i32,
    y: i32,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Host {
    #[statesync(id)]
    at: Point,
    role: String,
}

fn main() {}
