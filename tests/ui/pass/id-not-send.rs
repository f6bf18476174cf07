// An id that is not `Send + Sync` (an `Rc<str>`): the model diffs, applies and renders; only
// a sync of it would ask for `Send + Sync` keys (it did not compile at all).
use std::rc::Rc;

use statesync::DiffModel;

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
}
