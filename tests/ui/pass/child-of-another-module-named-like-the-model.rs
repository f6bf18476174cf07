//! A model whose children are another module's model of the same name (`v1::Device` under
//! `Device`, as a migration keeps both): not a recursive model, so its sync and merge impls
//! ask the usual bounds of the child (it was taken for recursion by its last name).
use statesync::DiffModel;
use statesync::sync::{InMemory, SyncModel, SyncOptions};

mod v1 {
    #[derive(statesync::DiffModel, Clone, Debug, PartialEq)]
    pub struct Device {
        #[statesync(id)]
        pub name: String,
        pub fqdn: String,
    }
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
pub struct Device {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    legacy: Vec<v1::Device>,
}

/// The other way round: a model in a module whose children are the parent module's model
/// of the same name (`super::Device`).
mod v2 {
    #[derive(statesync::DiffModel, Clone, Debug, PartialEq)]
    pub struct Device {
        #[statesync(id)]
        pub name: String,
        #[statesync(children)]
        pub older: Vec<super::Device>,
    }
}

/// The same reached from the crate root (`crate::v1::Device`): another model too.
mod v3 {
    #[derive(statesync::DiffModel, Clone, Debug, PartialEq)]
    pub struct Device {
        #[statesync(id)]
        pub name: String,
        #[statesync(children)]
        pub legacy: Vec<crate::v1::Device>,
    }
}

fn main() {
    let mut target = v3::Device { name: "d".into(), legacy: Vec::new() };
    let mut source = target.clone();
    source.legacy.push(v1::Device { name: "a".into(), fqdn: "a.example".into() });
    let report = target
        .sync_from(&source, &mut InMemory, SyncOptions::default())
        .expect("synced");
    assert!(report.is_success());
    assert_eq!(target, source);

    let newer = v2::Device { name: "n".into(), older: Vec::new() };
    let mut target = newer.clone();
    let mut source = newer.clone();
    source.older.push(Device { name: "o".into(), legacy: Vec::new() });
    let report = target
        .sync_from(&source, &mut InMemory, SyncOptions::default())
        .expect("synced");
    assert!(report.is_success());
    assert_eq!(target, source);

    let old = Device { name: "d".into(), legacy: Vec::new() };
    let mut new = old.clone();
    new.legacy.push(v1::Device { name: "a".into(), fqdn: "a.example".into() });
    let mut target = old.clone();
    let report = target
        .sync_from(&new, &mut InMemory, SyncOptions::default())
        .expect("synced");
    assert_eq!(report.counts.created, 1);
    assert_eq!(target, new);
    let merged = statesync::merge::merge(&old, &new, &old, &Default::default()).unwrap();
    assert_eq!(merged.value, new);
}
