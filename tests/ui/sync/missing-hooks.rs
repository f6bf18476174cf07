use statesync::sync::{Adapter, Hooks, SyncModel, SyncOptions};
use statesync::{DiffModel, Store};

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Device {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    ports: Store<Port>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Port {
    #[statesync(id)]
    name: String,
}

struct Database;

impl Adapter for Database {}
impl Hooks<Device> for Database {}
// No `impl Hooks<Port> for Database`: the sync below must not compile.

fn main() {
    let mut target = Device { name: "a".into(), ports: Store::new() };
    let source = target.clone();
    let _ = target.sync_from(&source, &mut Database, SyncOptions::default());
}
