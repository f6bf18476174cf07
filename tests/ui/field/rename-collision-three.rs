// Three fields shown under one name: one error (there was one per extra field).
use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Port {
    #[statesync(id)]
    name: String,
    #[statesync(rename = "speed")]
    a: u32,
    #[statesync(rename = "speed")]
    b: u32,
    #[statesync(rename = "speed")]
    c: u32,
}

fn main() {}
