//! After a derive error, the model still implements `DiffModel` (a stand-in) with its key
//! and field enum, so its uses add no errors of their own: one mistake, one error. (The
//! key and the field enum had no members, and every use of them was an error of its own.)
use statesync::{DiffModel, Store};

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Port {
    #[statesync(id)]
    name: String,
    speed: u32,
    #[statesync(renmae = "x")]
    label: String,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Switch {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    ports: Store<Port>,
}

fn main() {
    let port = Port { name: "p1".into(), speed: 1, label: "a".into() };
    let _ = port.diff(&port.clone());
    let switch = Switch { name: "s".into(), ports: Store::new() };
    let _ = switch.diff(&switch.clone());
    let key = PortKey { name: "p1".into() };
    let _ = (key, PortField::Speed.name(), SwitchKey { name: "s".into() });
}
