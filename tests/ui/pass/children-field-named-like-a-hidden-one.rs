// Children fields named `__serde` and `__statesync_via` (the names the child diffs' hidden
// field had): compile.
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
    #[statesync(children)]
    __statesync_via: Store<Port>,
    #[statesync(children)]
    r#__statesync_via_: Store<Port>,
}

fn main() {
    let switch = Switch {
        name: "s".into(),
        __serde: Store::new(),
        __statesync_via: Store::new(),
        __statesync_via_: Store::new(),
    };
    assert!(switch.diff(&switch.clone()).is_ok_and(|diff| diff.is_empty()));
}
