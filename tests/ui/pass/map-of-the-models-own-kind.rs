// A map of children of the model's own kind, keyed by the model's own key (named bare, or
// through `Self`): the check that refuses a map keyed by the model's own key for another
// kind of child leaves these alone.
use std::collections::BTreeMap;

use statesync::DiffModel;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Folder {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    folders: BTreeMap<FolderKey, Folder>,
    #[statesync(children)]
    more: BTreeMap<FolderKey, Self>,
}

fn main() {
    let folder = Folder {
        name: "root".into(),
        folders: BTreeMap::new(),
        more: BTreeMap::new(),
    };
    assert!(folder.diff(&folder.clone()).unwrap().is_empty());
}
