// A model of the wrong shape (an enum) used as a child and diffed: the shape error alone,
// not a cascade at each use (there were 49 errors).
use statesync::{DiffModel, Store};

#[derive(DiffModel, Clone, Debug, PartialEq)]
enum Port {
    A,
    B,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Switch {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    ports: Store<Port>,
    #[statesync(children)]
    spares: Vec<Port>,
}

fn main() {
    let a = Switch {
        name: "s".into(),
        ports: Store::new(),
        spares: vec![Port::A, Port::B],
    };
    let _ = a.diff(&a.clone());
}
