//! Every kind of child collection is matched by key, never by position.

use std::collections::{BTreeMap, HashMap};

use indexmap::IndexMap;
use statesync::{DiffModel, Error, Summary};

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Leaf {
    #[statesync(id)]
    id: u32,
    value: String,
}

fn leaf(id: u32, value: &str) -> Leaf {
    Leaf {
        id,
        value: value.into(),
    }
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Holder {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    in_vec: Vec<Leaf>,
    #[statesync(children)]
    in_btree: BTreeMap<LeafKey, Leaf>,
    #[statesync(children)]
    in_hash: HashMap<LeafKey, Leaf>,
    #[statesync(children)]
    in_index: IndexMap<LeafKey, Leaf>,
}

fn holder(leaves: &[Leaf]) -> Holder {
    let keyed = || leaves.iter().map(|leaf| (leaf.key(), leaf.clone()));
    Holder {
        name: "h".into(),
        in_vec: leaves.to_vec(),
        in_btree: keyed().collect(),
        in_hash: keyed().collect(),
        in_index: keyed().collect(),
    }
}

#[test]
fn reordered_children_give_an_empty_diff() {
    let old = holder(&[leaf(1, "a"), leaf(2, "b"), leaf(3, "c")]);
    let new = holder(&[leaf(3, "c"), leaf(1, "a"), leaf(2, "b")]);
    let diff = old.diff(&new).unwrap();
    assert!(diff.is_empty(), "{diff}");
    assert_eq!(diff.summary().unchanged, 1 + 4 * 3);
}

#[test]
fn every_collection_kind_diffs_and_applies_by_key() {
    let mut old = holder(&[leaf(1, "a"), leaf(2, "b"), leaf(3, "c")]);
    let new = holder(&[leaf(4, "d"), leaf(2, "B"), leaf(1, "a")]);
    let diff = old.diff(&new).unwrap();
    // Per collection: create 4, update 2, delete 3, 1 unchanged; the holder is unchanged.
    assert_eq!(
        diff.summary(),
        Summary {
            create: 4,
            update: 4,
            delete: 4,
            unchanged: 1 + 4,
            skip: 0,
        }
    );
    old.apply(&diff).unwrap();
    assert!(old.diff(&new).unwrap().is_empty());
    let mut ids: Vec<u32> = old.in_vec.iter().map(|leaf| leaf.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2, 4]);
    assert_eq!(old.in_btree, new.in_btree);
    assert_eq!(old.in_hash, new.in_hash);
    assert_eq!(old.in_index, new.in_index);
}

#[test]
fn vec_keeps_the_order_of_survivors_and_appends_creates() {
    let mut old = holder(&[leaf(1, "a"), leaf(2, "b"), leaf(3, "c")]);
    let new = holder(&[leaf(3, "c"), leaf(1, "a"), leaf(9, "z")]);
    old.apply(&old.diff(&new).unwrap()).unwrap();
    let ids: Vec<u32> = old.in_vec.iter().map(|leaf| leaf.id).collect();
    assert_eq!(ids, [1, 3, 9]);
}

#[test]
fn duplicate_keys_in_a_vec_are_an_error_naming_parent_and_key() {
    let old = holder(&[leaf(1, "a")]);
    let mut new = holder(&[leaf(1, "a")]);
    new.in_vec.push(leaf(1, "again"));
    let error = old.diff(&new).unwrap_err();
    assert!(matches!(error, Error::DuplicateKey { model: "leaf", .. }));
    assert_eq!(
        error.to_string(),
        "duplicate key: holder[name=h].in_vec.leaf[id=1] appears more than once"
    );
    // The path alone reads as documented, without the dot the message puts after it.
    let path = error.path().map(ToString::to_string);
    assert_eq!(path.as_deref(), Some("holder[name=h].in_vec"));
    assert_eq!(statesync::Path::root().to_string(), "");
}

#[test]
fn a_map_entry_filed_under_another_key_is_an_error() {
    let old = holder(&[leaf(1, "a")]);
    let mut new = holder(&[leaf(1, "a")]);
    new.in_btree.insert(LeafKey { id: 5 }, leaf(6, "x"));
    let error = old.diff(&new).unwrap_err();
    assert_eq!(
        error,
        Error::KeyMismatch {
            model: "leaf",
            expected: "id=5".into(),
            found: "id=6".into(),
            path: error.path().cloned().unwrap_or_default(),
        }
    );
    assert_eq!(
        error.to_string(),
        "key mismatch: holder[name=h].in_btree.leaf[id=5] was given a model whose key is leaf[id=6]"
    );
}

/// An apply that reaches a map entry filed under another key than its model's (a state
/// read from a format with struct map keys can hold one) is refused, as `diff` refuses
/// the state, and changes nothing. Before, the entry was updated and the next diff failed.
#[test]
fn an_apply_to_a_map_entry_filed_under_another_key_is_refused() {
    let old = holder(&[leaf(1, "a")]);
    let new = holder(&[leaf(1, "b")]);
    let diff = old.diff(&new).unwrap();
    let mut state = old.clone();
    state.in_btree.clear();
    state.in_btree.insert(LeafKey { id: 1 }, leaf(6, "a"));
    let before = state.clone();
    let error = state.apply(&diff).unwrap_err();
    assert!(matches!(error, Error::KeyMismatch { .. }), "{error}");
    assert!(error.to_string().contains("in_btree"), "{error}");
    assert_eq!(state, before);
}

/// A create into a map that holds a model under another key than its own, where that
/// model has the created key, is refused and changes nothing. Before, the create went in
/// and the map held the model's key twice (under 1 and under 6).
#[test]
fn a_create_into_a_map_holding_a_model_under_another_key_is_refused() {
    let old = holder(&[]);
    let new = holder(&[leaf(6, "x")]);
    let diff = old.diff(&new).unwrap();
    for collection in ["in_btree", "in_hash", "in_index"] {
        let mut state = old.clone();
        match collection {
            "in_btree" => drop(state.in_btree.insert(LeafKey { id: 1 }, leaf(6, "a"))),
            "in_hash" => drop(state.in_hash.insert(LeafKey { id: 1 }, leaf(6, "a"))),
            _ => drop(state.in_index.insert(LeafKey { id: 1 }, leaf(6, "a"))),
        }
        let before = state.clone();
        let error = state.apply(&diff).unwrap_err();
        assert!(matches!(error, Error::KeyMismatch { .. }), "{error}");
        assert!(error.to_string().contains(collection), "{error}");
        assert_eq!(state, before);
    }
}

/// A create nested in an update, whose model has another key than its element, is
/// refused naming where it sits.
#[test]
fn a_nested_create_under_another_key_names_its_parent() {
    let old = holder(&[]);
    let new = holder(&[leaf(6, "x")]);
    let diff = old.diff(&new).unwrap();
    // The create of leaf 6 in `in_btree`, filed under key 5.
    let mut element = diff.elements()[0].clone();
    let statesync::Action::Update(update) = &mut element.action else {
        panic!("an update: {diff}")
    };
    let created = update.children.in_btree.elements()[0].clone();
    update.children.in_btree = statesync::Diff::from_elements(
        vec![statesync::ElementDiff {
            key: LeafKey { id: 5 },
            ..created
        }],
        0,
    )
    .unwrap();
    let forged = statesync::Diff::from_elements(vec![element], 0).unwrap();
    let mut state = old.clone();
    let error = state.apply(&forged).unwrap_err();
    assert!(matches!(error, Error::KeyMismatch { .. }), "{error}");
    assert!(error.to_string().contains("holder[name=h]."), "{error}");
    assert_eq!(state, old);
}

/// A create carrying a `Vec` of children with two of one key would leave a state that can
/// never be diffed again: apply refuses it, naming the element.
#[test]
fn a_create_whose_vec_children_repeat_a_key_is_refused() {
    #[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Shelf {
        #[statesync(id)]
        name: String,
        #[statesync(children)]
        books: Vec<Book>,
    }
    #[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Book {
        #[statesync(id)]
        isbn: u32,
    }
    #[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Library {
        #[statesync(children)]
        shelves: Vec<Shelf>,
    }
    let empty = Library {
        shelves: Vec::new(),
    };
    let new = Library {
        shelves: vec![Shelf {
            name: "a".into(),
            books: vec![Book { isbn: 1 }, Book { isbn: 2 }],
        }],
    };
    let diff = empty.diff(&new).unwrap();
    let json = serde_json::to_string(&diff)
        .unwrap()
        .replace("\"isbn\":2", "\"isbn\":1");
    let forged: statesync::Diff<Library> = serde_json::from_str(&json).unwrap();
    let mut target = empty.clone();
    let error = target.apply(&forged).unwrap_err();
    assert_eq!(
        error.to_string(),
        "duplicate key: library.shelves.shelf[name=a].books.book[isbn=1] appears more than once"
    );
    assert!(matches!(error, Error::DuplicateKey { model: "book", .. }));
    assert_eq!(target, empty);
}

/// Deleting from an `IndexMap` keeps the order of what stays (one pass, not a shift per
/// deleted entry).
#[test]
fn deletes_from_an_index_map_keep_the_order_of_the_rest() {
    let ids = [7, 3, 9, 1, 5, 8, 2];
    let old = holder(&ids.map(|id| leaf(id, "v")));
    let kept = [7, 9, 5, 2];
    let new = holder(&kept.map(|id| leaf(id, "v")));
    let mut state = old.clone();
    state.apply(&old.diff(&new).unwrap()).unwrap();
    let order: Vec<u32> = state.in_index.values().map(|leaf| leaf.id).collect();
    assert_eq!(order, kept);
}
