//! Generic parameters with inline bounds that name other parameters, defaults, and an
//! ordered generic version field: the generated key and records hold only the parameters
//! they use, without those bounds and defaults.
use statesync::DiffModel;
use statesync::merge::{MergeOptions, merge};

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Row<'a, K: 'a + Clone + std::fmt::Debug + Ord + std::hash::Hash + std::fmt::Display> {
    #[statesync(id)]
    key: K,
    label: &'a str,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Pair<A, B = A> {
    #[statesync(id)]
    id: B,
    value: A,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(version = "revision")]
struct Doc<R> {
    #[statesync(id)]
    id: u8,
    #[statesync(merge = "newest")]
    body: String,
    revision: R,
}

fn main() {
    let label = String::from("a");
    let row = Row { key: 1u8, label: &label };
    assert!(row.diff(&row.clone()).unwrap().is_empty());
    let pair: Pair<String, u16> = Pair { id: 1, value: "x".into() };
    assert!(pair.diff(&pair.clone()).unwrap().is_empty());
    let doc = |body: &str, revision: u32| Doc { id: 1, body: body.into(), revision };
    let merged = merge(&doc("a", 1), &doc("b", 2), &doc("c", 3), &MergeOptions::default()).unwrap();
    assert_eq!(merged.value.body, "c");
}
