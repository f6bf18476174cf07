// A shown name holding a bidirectional control or a zero-width character: one error each
// (they compiled, and plans printed them raw, reordering the line or making two names look
// alike; found by an outside tester).
use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(name = "valve\u{2066}")]
struct Valve {
    #[statesync(id)]
    k: u32,
    #[statesync(rename = "open\u{202e}")]
    open: u32,
    #[statesync(rename = "p\u{200b}")]
    pressure: u32,
}

fn main() {}
