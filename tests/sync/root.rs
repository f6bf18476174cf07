//! A root replaced by one with another key (a delete and a create) whose new model cannot
//! go in is refused whole, before any hook: before, the old root and its subtree were
//! deleted through the hooks, then the create failed, and memory kept a root the system no
//! longer had.

use statesync::{Action, Diff, DiffModel, ElementDiff, Error};

use crate::calls::{failure, sync_both, sync_both_with};

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Shelf {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    books: Vec<Book>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Book {
    #[statesync(id)]
    isbn: u32,
}

fn shelf(name: &str, isbns: &[u32]) -> Shelf {
    Shelf {
        name: name.into(),
        books: isbns.iter().map(|&isbn| Book { isbn }).collect(),
    }
}

/// The diff from `old` to `new` with the create's model swapped for `created`.
fn replacing_with(old: &Shelf, new: &Shelf, created: Shelf) -> Diff<Shelf> {
    let diff = old.diff(new).unwrap();
    let elements = diff
        .elements()
        .iter()
        .cloned()
        .map(|element| match element.action {
            Action::Create(_) => ElementDiff {
                action: Action::Create(created.clone()),
                ..element
            },
            _ => element,
        })
        .collect();
    Diff::from_elements(elements, 0).unwrap()
}

#[test]
fn a_root_replacement_whose_new_model_has_another_key_is_refused_whole() {
    let old = shelf("a", &[1, 2]);
    let diff = replacing_with(&old, &shelf("b", &[3]), shelf("c", &[3]));
    for (state, report, calls) in sync_both(&old, &diff) {
        assert!(calls.is_empty(), "{calls:?}");
        assert_eq!(state, old);
        assert!(
            matches!(failure(&report), Some(Error::KeyMismatch { .. })),
            "{report:?}"
        );
        assert_eq!(report.counts.failed, 2, "{report}");
    }
}

#[test]
fn a_root_replacement_whose_new_subtree_repeats_a_key_is_refused_whole() {
    let old = shelf("a", &[1, 2]);
    let diff = replacing_with(&old, &shelf("b", &[3]), shelf("b", &[3, 3]));
    for (state, report, calls) in sync_both(&old, &diff) {
        assert!(calls.is_empty(), "{calls:?}");
        assert_eq!(state, old);
        assert!(
            matches!(failure(&report), Some(Error::DuplicateKey { .. })),
            "{report:?}"
        );
    }
}

/// Root diffs of a shape `apply` refuses (a lone delete or create, an update beside a
/// delete, a delete and a create of one key, three elements), hand-built or read from a
/// peer, are refused whole by both engines, before any hook. Before, a lone delete ran the
/// delete hooks of the whole tree, reported success, and memory kept the root.
#[test]
fn root_diffs_of_a_shape_apply_refuses_are_refused_whole_before_any_hook() {
    let old = shelf("a", &[1, 2]);
    let element = |action| ElementDiff {
        key: old.key(),
        action,
    };
    let other = shelf("b", &[3]);
    let update = old
        .diff(&shelf("a", &[1]))
        .unwrap()
        .elements()
        .first()
        .cloned()
        .unwrap();
    // The message names the diff's first element as such, not as the root (claims3: "the
    // root library[city=b]" read as if the root's key were `b`).
    let foreign = Diff::from_elements(
        vec![ElementDiff {
            key: other.key(),
            action: Action::Create(other.clone()),
        }],
        0,
    )
    .unwrap();
    assert_eq!(
        old.clone().apply(&foreign).unwrap_err().to_string(),
        "cannot apply to the root shelf: a root diff must be one update, or one delete and \
         one create under two different keys (this one begins with shelf[name=b])"
    );
    let shapes = [
        vec![element(Action::Delete(old.clone()))],
        vec![element(Action::Create(old.clone()))],
        vec![
            element(Action::Delete(old.clone())),
            element(Action::Create(old.clone())),
        ],
        vec![
            update.clone(),
            ElementDiff {
                key: other.key(),
                action: Action::Delete(other.clone()),
            },
        ],
        vec![
            element(Action::Delete(old.clone())),
            ElementDiff {
                key: other.key(),
                action: Action::Create(other.clone()),
            },
            ElementDiff {
                key: shelf("c", &[]).key(),
                action: Action::Create(shelf("c", &[])),
            },
        ],
    ];
    for elements in shapes {
        let diff = Diff::from_elements(elements, 0).unwrap();
        let mut applied = old.clone();
        assert!(matches!(
            applied.apply(&diff),
            Err(Error::InvalidRootDiff { .. })
        ));
        for (state, report, calls) in sync_both(&old, &diff) {
            assert!(calls.is_empty(), "{calls:?}");
            assert_eq!(state, old);
            assert!(
                matches!(failure(&report), Some(Error::InvalidRootDiff { .. })),
                "{report}"
            );
            assert_eq!(report.counts.failed, diff.elements().len(), "{report}");
            assert!(!report.is_success());
        }
    }
}

/// A root diff refused whole is what the delete limit and the listing of unchanged
/// elements see too: the limit counts no delete of it (it refused the sync for the deletes
/// a lone root delete would never make), and no element is listed unchanged beside its
/// refusal (each was listed twice).
#[test]
fn a_refused_root_diff_counts_no_delete_and_lists_nothing_unchanged() {
    use statesync::sync::{DeleteLimit, Status, SyncFlags, SyncOptions};
    let old = shelf("a", &[1, 2, 3]);
    let lone_delete = Diff::from_elements(
        vec![ElementDiff {
            key: old.key(),
            action: Action::Delete(old.clone()),
        }],
        0,
    )
    .unwrap();
    let limited =
        || SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE).delete_limit(DeleteLimit::at_most(1));
    for (state, report, calls) in sync_both_with(&old, &lone_delete, limited) {
        assert!(calls.is_empty(), "{calls:?}");
        assert_eq!(state, old);
        assert!(report.refused.is_none(), "{report}");
        assert!(
            matches!(failure(&report), Some(Error::InvalidRootDiff { .. })),
            "{report}"
        );
    }
    let listing =
        || SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE | SyncFlags::LOG_UNCHANGED_RECORDS);
    for (_, report, calls) in sync_both_with(&old, &lone_delete, listing) {
        assert!(calls.is_empty(), "{calls:?}");
        assert_eq!(report.outcomes.len(), 4, "{report}");
        assert!(
            report
                .outcomes
                .iter()
                .all(|outcome| !matches!(outcome.status, Status::Unchanged)),
            "{report}"
        );
    }
}

/// A valid replacement still goes through, with both engines.
#[test]
fn a_valid_root_replacement_goes_through() {
    let old = shelf("a", &[1, 2]);
    let new = shelf("b", &[3]);
    let diff = old.diff(&new).unwrap();
    for (state, report, calls) in sync_both(&old, &diff) {
        assert!(report.is_success(), "{report}");
        assert_eq!(state, new);
        assert_eq!(calls.len(), 5, "{calls:?}");
    }
}

/// A replaced root whose delete does not go through (here stale: edited since the diff)
/// keeps the old root, so the new one is skipped as `RootKept`: before, its create failed
/// as "it already exists", naming a key nothing held, and counted a second failure.
#[test]
fn a_replacement_whose_old_root_stays_skips_the_create() {
    use statesync::sync::{SkipReason, Status};

    let old = shelf("a", &[1, 2]);
    let diff = old.diff(&shelf("b", &[3])).unwrap();
    let edited = shelf("a", &[1, 2, 4]);
    for (state, report, calls) in sync_both(&edited, &diff) {
        assert!(calls.is_empty(), "{calls:?}");
        assert_eq!(state, edited);
        assert!(
            matches!(failure(&report), Some(Error::Stale { .. })),
            "{report}"
        );
        assert_eq!(report.counts.failed, 1, "{report}");
        let create = report
            .outcomes
            .iter()
            .find(|outcome| outcome.key == "name=b")
            .expect("the create is reported");
        assert_eq!(
            create.status,
            Status::Skipped(SkipReason::RootKept),
            "{report}"
        );
    }
}

/// A replaced root whose delete took its children along in the system
/// (`SKIP_CHILDREN_ON_DELETE`, or `PARENT_FIRST_DELETION`) and whose new model's create
/// then failed: memory keeps the old root (a root cannot be empty) without the children the
/// report lists as deleted, as it does when they are deleted one by one. It kept them all.
#[test]
fn a_replaced_root_kept_after_a_failed_create_keeps_no_deleted_children() {
    use statesync::sync::{ModelFlags, SyncFlags, SyncOptions};

    let old = shelf("a", &[1, 2]);
    let diff = old.diff(&shelf("refused", &[3])).unwrap();
    for flags in [
        ModelFlags::empty(),
        ModelFlags::SKIP_CHILDREN_ON_DELETE,
        ModelFlags::PARENT_FIRST_DELETION,
    ] {
        let options =
            || SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE).model_flags::<Shelf>(flags);
        for (state, report, calls) in sync_both_with(&old, &diff, options) {
            assert_eq!(state, shelf("a", &[]), "{flags:?}: {report}");
            assert_eq!(report.counts.deleted, 3, "{flags:?}: {report}");
            assert_eq!(report.counts.failed, 1, "{flags:?}: {report}");
            assert!(
                calls.contains(&"create name=refused".to_owned()),
                "{calls:?}"
            );
        }
    }
}
