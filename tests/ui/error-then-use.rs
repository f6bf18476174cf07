//! After a derive error, the model still implements `DiffModel` (a stand-in), so its uses
//! add no errors of their own: one mistake, one error.
use statesync::{DiffModel, Store};

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Port {
    #[statesync(id)]
    name: String,
    #[statesync(renmae = "x")]
    speed: u32,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Switch {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    ports: Store<Port>,
}

fn main() {
    let port = Port { name: "p1".into(), speed: 1 };
    let _ = port.diff(&port.clone());
    let switch = Switch { name: "s".into(), ports: Store::new() };
    let _ = switch.diff(&switch.clone());
}
