// A sync's report dropped unread: hook failures are only in the report (the `Err` is a
// failed diff), so `sync_from(..)?;` is warned of, as an unused `Result` is. So are an
// inverted diff dropped (`invert` does not change the diff in place) and a plan.
#![deny(unused_must_use)]
use statesync::sync::{InMemory, SyncModel, SyncOptions};
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

fn run(target: &mut Device, source: &Device) -> Result<(), statesync::Error> {
    target.sync_from(source, &mut InMemory, SyncOptions::default())?;
    target.diff(source)?.invert();
    target.diff_from_with(source, &SyncOptions::default())?;
    Ok(())
}

fn main() {
    let mut target = Device { name: "a".into(), ports: Store::new() };
    let source = target.clone();
    let _ = run(&mut target, &source);
}
