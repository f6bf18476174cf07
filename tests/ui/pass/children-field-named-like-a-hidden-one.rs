// A children field named `__serde` (the name the child diffs' hidden field had): compiles.
use statesync::{DiffModel, Store};

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Port {
    #[statesync(id)]
    name: String,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Switch {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    __serde: Store<Port>,
}

fn main() {
    let switch = Switch {
        name: "s".into(),
        __serde: Store::new(),
    };
    assert!(switch.diff(&switch.clone()).is_ok_and(|diff| diff.is_empty()));
}
