use statesync::sync::{Adapter, Hooks, SyncModel, SyncOptions};
use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(sync_models = "Folder, File")]
struct Folder {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    files: Vec<File>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(sync_models = "Folder, File")]
struct File {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    attachments: Vec<Folder>,
}

struct Disk;

impl Adapter for Disk {}
impl Hooks<Folder> for Disk {}
// No `impl Hooks<File> for Disk`: the sync below must not compile.

fn main() {
    let mut target = Folder { name: "a".into(), files: vec![] };
    let source = target.clone();
    let _ = target.sync_from(&source, &mut Disk, SyncOptions::default());
}
