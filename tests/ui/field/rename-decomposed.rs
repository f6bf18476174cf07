// A shown name written decomposed (`e` and a combining acute accent) reads like one written
// composed (`é`, as Rust writes every identifier): two fields could look alike in a plan
// (an outside auditor's case: `rename = "cafe\u{301}"` beside a field `café` compiled).
use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Menu {
    #[statesync(id)]
    k: u32,
    café: u32,
    #[statesync(rename = "cafe\u{301}")]
    coffee: u32,
}

fn main() {}
