// A map of children keyed by the generated key under a name that reads like a plain id:
// the key renamed `Uuid` with `key_type`, or an alias of it. Both compile (an earlier
// check refused a bare `Uuid` as a plain id).
use std::collections::BTreeMap;

use statesync::DiffModel;

mod renamed {
    use std::collections::BTreeMap;

    use statesync::DiffModel;

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    #[statesync(key_type = "Uuid")]
    pub struct Disk {
        #[statesync(id)]
        pub serial: u64,
        pub size: u32,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    pub struct Host {
        #[statesync(id)]
        pub name: String,
        #[statesync(children)]
        pub disks: BTreeMap<Uuid, Disk>,
    }
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Port {
    #[statesync(id)]
    number: u16,
}

type Uuid = PortKey;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Switch {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    ports: BTreeMap<Uuid, Port>,
}

fn main() {
    let host = renamed::Host {
        name: "h".into(),
        disks: BTreeMap::new(),
    };
    assert!(host.diff(&host.clone()).unwrap().is_empty());
    let switch = Switch {
        name: "s".into(),
        ports: BTreeMap::new(),
    };
    assert!(switch.diff(&switch.clone()).unwrap().is_empty());
}
