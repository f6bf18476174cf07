//! The core alone (`--no-default-features --features derive`): a model diffs, renders,
//! applies and inverts with no serde, sync or merge layer, and the derive emits none of
//! their impls. With the default features the same test runs on the full runtime.
#![cfg(feature = "derive")]

use statesync::{DiffModel, Store};

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Rack {
    #[statesync(id)]
    name: String,
    units: u8,
    #[statesync(children)]
    hosts: Store<Host>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Host {
    #[statesync(id)]
    name: String,
    up: bool,
}

#[test]
fn the_core_diffs_renders_applies_and_inverts() -> Result<(), statesync::Error> {
    let old = Rack {
        name: "r1".into(),
        units: 42,
        hosts: Store::try_from_iter([Host {
            name: "h1".into(),
            up: true,
        }])?,
    };
    let mut new = old.clone();
    new.units = 48;
    new.hosts.insert(Host {
        name: "h2".into(),
        up: false,
    })?;
    let diff = old.diff(&new)?;
    assert_eq!(
        diff.to_string(),
        "~ rack[name=r1] units: 42 -> 48\n  + host[name=h2]\n"
    );
    let mut state = old.clone();
    state.apply(&diff)?;
    assert_eq!(state, new);
    state.apply(&diff.invert())?;
    assert_eq!(state, old);
    Ok(())
}
