// A map of children keyed by another model's key (a copy-paste slip): one error, at the
// field (it was 39, among them "`__H` has no hooks for `Port`").
use std::collections::BTreeMap;

use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Vlan {
    #[statesync(id)]
    id: u16,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Port {
    #[statesync(id)]
    name: String,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Device {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    ports: BTreeMap<VlanKey, Port>,
}

fn main() {}
