//! A `sync_models` cycle beside a child that has children of its own, every model with
//! serde, compiles and reads its diffs back (an outside tester's case: a change of the
//! cycle's bounds, since taken back, refused it with errors about `Deserialize`).

use serde::{Deserialize, Serialize};
use statesync::{Diff, DiffModel, Store};

#[derive(DiffModel, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[statesync(sync_models = "Dir, File, Meta, Prop")]
struct Dir {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    files: Vec<File>,
    #[statesync(children)]
    metas: Store<Meta>,
}

#[derive(DiffModel, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[statesync(sync_models = "Dir, File, Meta, Prop")]
struct File {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    dirs: Vec<Dir>,
}

#[derive(DiffModel, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Meta {
    #[statesync(id)]
    key: String,
    #[statesync(children)]
    props: Store<Prop>,
}

#[derive(DiffModel, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Prop {
    #[statesync(id)]
    k: String,
}

fn main() {
    let a = Dir { name: "r".into(), files: vec![], metas: Store::new() };
    let mut b = a.clone();
    let props = Store::try_from_iter([Prop { k: "p".into() }]).unwrap();
    b.metas.insert(Meta { key: "m".into(), props }).unwrap();
    let diff = a.diff(&b).unwrap();
    let json = serde_json::to_string(&diff).unwrap();
    let back: Diff<Dir> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, diff);
}
