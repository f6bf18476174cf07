// Valid models that the checks of a map keyed by the model's own key and of a collection id
// leave alone (an outside tester found the first three refused): a recursive map whose
// element is a `macro_rules!` fragment, is parenthesised, or whose model has a raw name;
// an id of the user's own type named `Store`.
// The parentheses are the case (rustc would warn of them in a passing build).
#![allow(unused_parens)]
use std::collections::BTreeMap;
use std::fmt;

use statesync::DiffModel;

macro_rules! tree {
    ($name:ident, $key:ident, $elem:ty) => {
        #[derive(DiffModel, Clone, Debug, PartialEq)]
        struct $name {
            #[statesync(id)]
            name: String,
            #[statesync(children)]
            kids: BTreeMap<$key, $elem>,
        }
    };
}

tree!(Node, NodeKey, Node);

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Folder {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    folders: BTreeMap<FolderKey, (Folder)>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct r#Kind {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    kinds: BTreeMap<KindKey, Kind>,
}

/// A user's own `Store`, a valid id type.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Store<T>(T);

impl<T: fmt::Display> fmt::Display for Store<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "store-{}", self.0)
    }
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Shop {
    #[statesync(id)]
    store: Store<u32>,
    name: String,
}

fn main() {
    let node = Node {
        name: "root".into(),
        kids: BTreeMap::new(),
    };
    assert!(node.diff(&node.clone()).unwrap().is_empty());
    let folder = Folder {
        name: "root".into(),
        folders: BTreeMap::new(),
    };
    assert!(folder.diff(&folder.clone()).unwrap().is_empty());
    let kind = Kind {
        name: "t".into(),
        kinds: BTreeMap::new(),
    };
    assert!(kind.diff(&kind.clone()).unwrap().is_empty());
    let shop = Shop {
        store: Store(7),
        name: "x".into(),
    };
    let renamed = Shop {
        name: "y".into(),
        ..shop.clone()
    };
    assert_eq!(
        shop.diff(&renamed).unwrap().to_string(),
        "~ shop[store=store-7] name: \"x\" -> \"y\"\n"
    );
}
