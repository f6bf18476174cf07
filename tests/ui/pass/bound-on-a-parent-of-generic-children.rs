//! `bound` on a parent whose children's key holds its parameter: the sync impl asks the
//! child's key to be `Send + Sync`, which it proves through the children field's
//! `ChildCollection` bound, kept beside `bound` (it was dropped with the inferred bounds:
//! two errors at the derive). Found by an outside tester.
use std::fmt::{Debug, Display};
use std::hash::Hash;

use statesync::{DiffModel, Store};

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Kid<T: Clone + Debug + Ord + Hash + Display> {
    #[statesync(id)]
    id: T,
    weight: u8,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(bound = "T: Clone + Debug + Ord + Hash + Display")]
struct Parent<T: Clone + Debug + Ord + Hash + Display> {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    kids: Store<Kid<T>>,
}

fn main() {
    let kid = |id: u32, weight: u8| Kid { id, weight };
    let old = Parent {
        name: "p".to_owned(),
        kids: Store::try_from_iter([kid(1, 1)]).unwrap_or_default(),
    };
    let new = Parent {
        name: "p".to_owned(),
        kids: Store::try_from_iter([kid(1, 2), kid(2, 1)]).unwrap_or_default(),
    };
    let mut state = old.clone();
    let applied = old.diff(&new).and_then(|diff| state.apply(&diff));
    assert!(applied.is_ok() && state == new);
}
