//! A merge refuses a tree deeper than `MAX_DEPTH`, as a diff does, at any depth: before,
//! it returned a merged tree that `diff`, `apply` and `History` refuse, and at about
//! 20,000 levels it overflowed the stack and aborted the process.

use statesync::merge::{MergeOptions, merge};
use statesync::{DiffModel, Error, MAX_DEPTH};

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Person {
    #[statesync(id)]
    id: u64,
    name: String,
    #[statesync(children)]
    reports: Vec<Person>,
}

/// A chain of `levels` people (built without recursion), the top one named `top`.
fn chain(levels: u64, top: &str) -> Person {
    let mut person = Person {
        id: 0,
        name: "leaf".into(),
        reports: Vec::new(),
    };
    for id in 1..levels {
        person = Person {
            id,
            name: if id + 1 == levels { top } else { "boss" }.into(),
            reports: vec![person],
        };
    }
    person
}

/// Takes a chain apart level by level (a deep chain's own `Drop` recurses).
fn dismantle(mut person: Person) {
    while let Some(next) = person.reports.pop() {
        person = next;
    }
}

fn too_deep(result: Result<statesync::merge::Merged<Person>, Error>) -> bool {
    matches!(result, Err(Error::TooDeep { .. }))
}

#[test]
fn a_merge_of_a_tree_one_level_too_deep_is_refused() {
    let levels = MAX_DEPTH as u64;
    let (base, theirs) = (chain(levels, "a"), chain(levels, "b"));
    let merged = merge(&base, &base, &theirs, &MergeOptions::default()).unwrap();
    assert_eq!(merged.value, theirs);
    let (base, theirs) = (chain(levels + 1, "a"), chain(levels + 1, "b"));
    assert!(base.diff(&theirs).is_err());
    assert!(too_deep(merge(
        &base,
        &base,
        &theirs,
        &MergeOptions::default()
    )));
    assert!(too_deep(merge(
        &base,
        &theirs,
        &base,
        &MergeOptions::default()
    )));
}

/// A subtree only one side holds is taken whole, and checked whole.
#[test]
fn a_merge_taking_a_too_deep_subtree_from_one_side_is_refused() {
    let root = |reports| Person {
        id: 1_000,
        name: "root".into(),
        reports,
    };
    let base = root(Vec::new());
    let ours = root(vec![chain(MAX_DEPTH as u64, "deep")]);
    assert!(too_deep(merge(
        &base,
        &ours,
        &base,
        &MergeOptions::default()
    )));
    assert!(too_deep(merge(
        &base,
        &base,
        &ours,
        &MergeOptions::default()
    )));
    // Deleted on one side and edited on the other: the survivor is taken whole.
    let mut edited = ours.clone();
    edited.reports[0].name = "edited".into();
    let options =
        MergeOptions::default().prefer::<Person>(None, statesync::merge::Preference::Ours);
    assert!(too_deep(merge(&ours, &edited, &base, &options)));
}

/// Runs `work` on a thread with an 8 MiB stack (what the main thread of a program has).
fn on_8_mib_stack(work: impl FnOnce() -> bool + Send + 'static) -> bool {
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(work)
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn a_merge_of_a_very_deep_tree_does_not_overflow_the_stack() {
    let levels = 50_000;
    let merged = on_8_mib_stack(move || {
        let (base, theirs) = (chain(levels, "a"), chain(levels, "b"));
        let merged = too_deep(merge(&base, &base, &theirs, &MergeOptions::default()));
        dismantle(base);
        dismantle(theirs);
        merged
    });
    assert!(merged);
}

/// A conflict renders whole models (`Debug`, which recurses without bound): their depth
/// is checked first. A delete against an edit of a deep subtree, and a root replaced on
/// one side and edited on the other, overflowed the stack at 20,000 levels.
#[test]
fn a_conflict_over_a_very_deep_subtree_does_not_overflow_the_stack() {
    let levels = 50_000;
    let refused = on_8_mib_stack(move || {
        let root = |id, reports| Person {
            id,
            name: "root".into(),
            reports,
        };
        // Deleted on one side, edited on the other (its leaf renamed).
        let base = root(1_000_000, vec![chain(levels, "a")]);
        let edited = root(1_000_000, vec![chain(levels, "b")]);
        let deleted = root(1_000_000, Vec::new());
        let delete_update = too_deep(merge(&base, &edited, &deleted, &MergeOptions::default()));
        // A root replaced on one side and edited on the other.
        let replaced = root(2_000_000, Vec::new());
        let root_key = too_deep(merge(&base, &edited, &replaced, &MergeOptions::default()));
        for person in [base, edited, deleted, replaced] {
            dismantle(person);
        }
        delete_update && root_key
    });
    assert!(refused);
}

/// The error names the element too deep by its path from the root, as `diff`'s does: it
/// named it from the subtree checked (or by its key alone, where the level count found it).
#[test]
fn a_too_deep_merge_names_the_element_from_the_root() {
    let root = |name: &str, reports| Person {
        id: 1_000,
        name: name.into(),
        reports,
    };
    let base = root("root", Vec::new());
    let deep = root("root", vec![chain(MAX_DEPTH as u64, "deep")]);
    let expected = base.diff(&deep).unwrap_err().to_string();
    assert!(
        expected.starts_with("person[id=1000].reports.person[id=15].reports."),
        "{expected}"
    );
    let options = MergeOptions::default();
    // Taken whole from one side (its subtree checked).
    let taken = merge(&base, &deep, &base, &options).unwrap_err();
    assert_eq!(taken.to_string(), expected);
    // Merged level by level (the level count finds it).
    let mut edited = deep.clone();
    edited.name = "edited".into();
    let merged = merge(&deep, &deep, &edited, &options).unwrap_err();
    assert_eq!(merged.to_string(), expected);
    assert_eq!(merged.path(), taken.path());
}
