use statesync::DiffModel;

// A closure (whose own commas read as option separators) and a qualified path are one
// error each, not three; a typo after the qualified path is still found (also after the
// arrows of function types inside it).
#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Reading {
    #[statesync(id)]
    name: String,
    #[statesync(eq = |a: &f64, b: &f64| a == b)]
    value: f64,
    #[statesync(eq = <std::collections::HashMap<u8, u8> as Default>::default, renmae = "x")]
    other: f64,
    #[statesync(eq = <W<fn() -> u8, fn() -> u8> as Tr>::f, renmae = "y")]
    third: f64,
}

fn main() {}
