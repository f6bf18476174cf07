// An id that is not `Send + Sync` (an `Rc<str>`): the model diffs, applies and renders; only
// a sync of it would ask for `Send + Sync` keys (it did not compile at all). So does a parent
// of such children, in a `Store` and in a `Vec` (its sync impl asked it of the child's key
// where the parent was declared; found by an outside tester).
use std::rc::Rc;

use statesync::{DiffModel, Store};

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Shelf {
    #[statesync(children)]
    shared: Store<Shared>,
    #[statesync(children)]
    listed: Vec<Shared>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Shared {
    #[statesync(id)]
    id: Rc<str>,
    value: u32,
}

fn main() {
    let old = Shared {
        id: Rc::from("a"),
        value: 1,
    };
    let new = Shared {
        value: 2,
        ..old.clone()
    };
    let diff = old.diff(&new).unwrap_or_default();
    let mut copy = old.clone();
    copy.apply(&diff).ok();
    assert_eq!(copy, new);
    assert_eq!(diff.to_string(), "~ shared[id=a] value: 1 -> 2\n");

    let shelf = Shelf {
        shared: Store::try_from_iter([old.clone()]).unwrap_or_default(),
        listed: vec![old],
    };
    let changed = Shelf {
        shared: Store::try_from_iter([new.clone()]).unwrap_or_default(),
        listed: vec![new],
    };
    let diff = shelf.diff(&changed).unwrap_or_default();
    let mut copy = shelf.clone();
    copy.apply(&diff).ok();
    assert_eq!(copy, changed);
}
