// A `bound` that ties a parameter to a lifetime only the key uses (`T: 'a + ...`): the
// record of changes holds `T` and not `'a`, and keeps `T`'s other bounds (the whole
// predicate was left out, so `T` was not `PartialEq` there: "can't compare `T` with `T`";
// found by an outside tester). The same bound inline on the parameter, too.
use statesync::DiffModel;

fn same<T: PartialEq>(a: &T, b: &T) -> bool {
    a == b
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(bound = "T: 'a + Clone + std::fmt::Debug + PartialEq")]
struct Tagged<'a, T> {
    #[statesync(id)]
    id: &'a str,
    #[statesync(eq = same)]
    value: T,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Inline<'a, T: 'a + Clone + std::fmt::Debug + PartialEq> {
    #[statesync(id)]
    id: &'a str,
    #[statesync(eq = same)]
    value: T,
}

fn main() {
    let id = String::from("a");
    let old = Tagged { id: &id, value: 1 };
    let new = Tagged { id: &id, value: 2 };
    assert_eq!(old.diff(&new).unwrap().summary().update, 1);
    let old = Inline { id: &id, value: 1 };
    let new = Inline { id: &id, value: 2 };
    assert_eq!(old.diff(&new).unwrap().summary().update, 1);
}
