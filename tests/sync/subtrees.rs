//! Subtrees a diff creates or deletes, on models of a library: their keys are checked
//! before any hook runs, and a plan's delete of an element that changed since fails.

use statesync::sync::{
    AsyncSyncModel, AsyncSyncOptions, InMemory, ModelFlags, SyncFlags, SyncModel, SyncOptions,
    SyncReport,
};
use statesync::{Action, Diff, DiffModel, ElementDiff, Error, Store};

use crate::faulty::Faulty;

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Library {
    #[statesync(children)]
    shelves: Vec<Shelf>,
}

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
    title: String,
}

fn book(isbn: u32, title: &str) -> Book {
    Book {
        isbn,
        title: title.into(),
    }
}

fn shelf(name: &str, books: Vec<Book>) -> Shelf {
    Shelf {
        name: name.into(),
        books,
    }
}

/// A shelf holding two books with one isbn.
fn doubled() -> Shelf {
    shelf("a", vec![book(1, "x"), book(1, "y")])
}

#[test]
fn a_created_or_deleted_subtree_with_two_children_of_one_key_is_refused() {
    let empty = Library {
        shelves: Vec::new(),
    };
    let full = Library {
        shelves: vec![doubled()],
    };
    for (old, new) in [(&empty, &full), (&full, &empty)] {
        let error = old.diff(new).unwrap_err();
        assert!(
            matches!(&error, Error::DuplicateKey { model: "book", key, .. } if key == "isbn=1"),
            "{error}"
        );
    }
    let mut target = empty.clone();
    let mut system = Faulty::default();
    assert!(
        target
            .sync_from(&full, &mut system, SyncOptions::default())
            .is_err()
    );
    assert!(system.log.is_empty());
    assert_eq!(target, empty);
}

/// A diff made by hand (or read from elsewhere) that creates such a subtree: the create
/// fails in the report, no hook runs, memory is unchanged.
#[test]
fn a_plan_that_creates_such_a_subtree_fails_that_element() {
    let element = ElementDiff {
        key: ShelfKey { name: "a".into() },
        action: Action::Create(doubled()),
    };
    let plan = Diff::from_elements(vec![element], 0).unwrap();
    let mut store = Store::<Shelf>::new();
    let mut system = Faulty::default();
    let report = store.sync_diff(
        &plan,
        &mut system,
        SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE),
    );
    assert!(!report.is_success());
    assert_eq!(report.counts.failed, 1);
    assert!(system.log.is_empty(), "{:?}", system.log);
    assert!(store.is_empty());
}

/// Syncs `plan` into an empty store of shelves with each engine and `flags`: the outcome
/// lines of each.
fn outcome_lines(plan: &Diff<Shelf>, flags: SyncFlags) -> Vec<Vec<String>> {
    let mut reports = Vec::new();
    let mut blocking = Store::<Shelf>::new();
    reports.push(blocking.sync_diff(plan, &mut InMemory, SyncOptions::new(flags)));
    let mut concurrent = Store::<Shelf>::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    reports.push(runtime.block_on(concurrent.sync_diff_async(
        plan,
        &InMemory,
        AsyncSyncOptions::new(SyncOptions::new(flags)),
    )));
    assert!(blocking.is_empty() && concurrent.is_empty());
    reports
        .iter()
        .map(|report| report.outcomes.iter().map(ToString::to_string).collect())
        .collect()
}

/// A hand-edited plan whose elements name other keys than their models': every outcome,
/// the element's and its children's, is listed under the key the plan names (they were
/// listed under the model's key, which is in neither the plan nor the target): a create
/// refused for its key, and elements a flag skips. Both engines (found by an outside
/// tester, then by a review for the flags).
#[test]
fn outcomes_of_elements_carrying_another_key_are_listed_under_the_plans_key() {
    let element = |planned: &str, action| ElementDiff {
        key: ShelfKey {
            name: planned.into(),
        },
        action,
    };
    let carried = |name: &str| shelf(name, vec![book(1, "x"), book(2, "y")]);
    let refused = Diff::from_elements(
        vec![element("planned", Action::Create(carried("carried")))],
        0,
    )
    .unwrap();
    for lines in outcome_lines(&refused, SyncFlags::CONTINUE_ON_FAILURE) {
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(
            lines[0].starts_with("create shelf[name=planned]: failed"),
            "{lines:#?}"
        );
        for line in &lines[1..] {
            assert!(
                line.starts_with("create shelf[name=planned] > book[isbn="),
                "{lines:#?}"
            );
        }
    }
    let skipped = Diff::from_elements(
        vec![
            element("new-planned", Action::Create(carried("new-carried"))),
            element("old-planned", Action::Delete(carried("old-carried"))),
        ],
        0,
    )
    .unwrap();
    for lines in outcome_lines(&skipped, SyncFlags::SKIP_UNMATCHED_BOTH) {
        assert_eq!(lines.len(), 6, "{lines:#?}");
        for line in &lines {
            assert!(
                line.contains("shelf[name=new-planned]")
                    || line.contains("shelf[name=old-planned]"),
                "{lines:#?}"
            );
        }
    }
}

/// A delete of an element the target holds, carrying a model with another key (a hostile
/// client's diff): refused before any hook, and the children it carries are skipped under
/// the key the diff names, in both engines (they were listed under the carried model's
/// key, which names nothing: an outside tester).
#[test]
fn a_delete_carrying_another_key_lists_its_children_under_the_diffs_key() {
    let planned = shelf("planned", vec![book(1, "x"), book(2, "y")]);
    let diff = Diff::from_elements(
        vec![ElementDiff {
            key: planned.key(),
            action: Action::Delete(shelf("carried", vec![book(1, "x"), book(2, "y")])),
        }],
        0,
    )
    .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut blocking = Store::try_from_iter([planned.clone()]).unwrap();
    let mut concurrent = blocking.clone();
    let options = || SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE);
    let reports = [
        blocking.sync_diff(&diff, &mut InMemory, options()),
        runtime.block_on(concurrent.sync_diff_async(
            &diff,
            &InMemory,
            AsyncSyncOptions::new(options()),
        )),
    ];
    for (report, store) in reports.iter().zip([&blocking, &concurrent]) {
        let lines: Vec<String> = report.outcomes.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(
            lines[0].starts_with("delete shelf[name=planned]: failed"),
            "{lines:#?}"
        );
        for line in &lines[1..] {
            assert!(
                line.starts_with("delete shelf[name=planned] > book[isbn=")
                    && line.ends_with("skipped: its parent failed"),
                "{lines:#?}"
            );
        }
        assert_eq!(store.get(&planned.key()), Some(&planned));
    }
}

/// A parent whose delete fails, with flags that make its delete take its children along or
/// go first: its children are not tried, and are counted as skipped under a failed parent
/// (the counts add up to the plan, and the last progress reaches its total).
#[test]
fn children_of_a_failed_parent_delete_are_skipped_in_the_report() {
    for flags in [
        ModelFlags::SKIP_CHILDREN_ON_DELETE,
        ModelFlags::PARENT_FIRST_DELETION,
    ] {
        let full = Library {
            shelves: vec![shelf("a", vec![book(1, "x"), book(2, "y")])],
        };
        let mut target = full.clone();
        let mut system = Faulty::default().failing("shelf[name=a]");
        system.system.insert("shelf[name=a]".into());
        let mut last = None;
        let options = SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE)
            .model_flags::<Shelf>(flags)
            .on_progress(|progress| last = Some((progress.done, progress.total)));
        let report = target
            .sync_from(
                &Library {
                    shelves: Vec::new(),
                },
                &mut system,
                options,
            )
            .unwrap();
        assert_eq!(
            (report.counts.failed, report.counts.skipped),
            (1, 2),
            "{flags:?}"
        );
        assert_eq!(last, Some((3, 3)), "{flags:?}");
        assert_eq!(target, full);
    }
}

/// A plan made earlier deletes a shelf; a book was put on it since. The delete fails as
/// stale (no hook runs, the book stays), in the blocking and the async engine.
#[test]
fn a_plan_does_not_delete_an_element_that_changed_since() {
    let before = Library {
        shelves: vec![shelf("a", vec![book(1, "x")])],
    };
    let plan = before
        .diff(&Library {
            shelves: Vec::new(),
        })
        .unwrap();
    let mut since = before.clone();
    since.shelves[0].books.push(book(2, "y"));
    let check = |target: &Library, report: &SyncReport| {
        assert_eq!((report.counts.failed, report.counts.skipped), (1, 1));
        assert_eq!(report.counts.deleted, 0);
        assert_eq!(target, &since);
        let failure = format!("{:?}", report.failures().next());
        assert!(
            failure.contains("Stale") && failure.contains("books"),
            "{failure}"
        );
    };
    let options = || SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE);
    let mut target = since.clone();
    let mut system = Faulty::default();
    let report = target.sync_diff(&plan, &mut system, options());
    check(&target, &report);
    assert!(system.log.is_empty(), "{:?}", system.log);

    let mut target = since.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let report = runtime.block_on(target.sync_diff_async(
        &plan,
        &InMemory,
        AsyncSyncOptions::new(options()),
    ));
    check(&target, &report);
}

/// Hooks whose update panics.
struct Panicky;

impl statesync::sync::Adapter for Panicky {}

impl<M: DiffModel> statesync::sync::Hooks<M> for Panicky {
    fn update(
        &mut self,
        _model: &M,
        _changes: &M::Changes,
        _parents: &statesync::sync::Parents,
    ) -> Result<(), statesync::sync::HookError> {
        panic!("the update hook panics");
    }
}

/// An update hook that panics leaves the old values in memory, as a failed one does.
#[test]
fn a_panicking_update_hook_leaves_the_old_values() {
    let before = Library {
        shelves: vec![shelf("a", vec![book(1, "x")])],
    };
    let source = Library {
        shelves: vec![shelf("a", vec![book(1, "y")])],
    };
    let mut target = before.clone();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        target.sync_from(&source, &mut Panicky, SyncOptions::default())
    }));
    assert!(panicked.is_err());
    assert_eq!(target, before);
}

/// Hooks that panic on one book's create or delete, and record what the system holds.
#[derive(Default)]
struct PanicOnBook {
    isbn: u32,
    system: std::collections::BTreeSet<String>,
}

impl statesync::sync::Adapter for PanicOnBook {}

impl statesync::sync::Hooks<Library> for PanicOnBook {}

impl statesync::sync::Hooks<Shelf> for PanicOnBook {
    fn create(
        &mut self,
        shelf: &Shelf,
        _parents: &statesync::sync::Parents,
    ) -> Result<(), statesync::sync::HookError> {
        self.system.insert(shelf.name.clone());
        Ok(())
    }

    fn delete(
        &mut self,
        shelf: &Shelf,
        _parents: &statesync::sync::Parents,
    ) -> Result<(), statesync::sync::HookError> {
        self.system.remove(&shelf.name);
        Ok(())
    }
}

impl statesync::sync::Hooks<Book> for PanicOnBook {
    fn create(
        &mut self,
        book: &Book,
        _parents: &statesync::sync::Parents,
    ) -> Result<(), statesync::sync::HookError> {
        assert_ne!(book.isbn, self.isbn, "the create hook panics");
        self.system.insert(book.isbn.to_string());
        Ok(())
    }

    fn delete(
        &mut self,
        book: &Book,
        _parents: &statesync::sync::Parents,
    ) -> Result<(), statesync::sync::HookError> {
        assert_ne!(book.isbn, self.isbn, "the delete hook panics");
        self.system.remove(&book.isbn.to_string());
        Ok(())
    }
}

/// A created shelf whose second book's create hook panics is in memory (the system has
/// it), with the book created before and without the two never created.
#[test]
fn a_panicking_child_create_hook_keeps_the_created_parent_in_memory() {
    let empty = Library {
        shelves: Vec::new(),
    };
    let source = Library {
        shelves: vec![shelf("a", vec![book(1, "x"), book(2, "y"), book(3, "z")])],
    };
    let mut target = empty.clone();
    let mut hooks = PanicOnBook {
        isbn: 2,
        ..PanicOnBook::default()
    };
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        target.sync_from(&source, &mut hooks, SyncOptions::default())
    }));
    assert!(panicked.is_err());
    assert_eq!(
        target,
        Library {
            shelves: vec![shelf("a", vec![book(1, "x")])],
        }
    );
    assert_eq!(hooks.system, ["1".to_owned(), "a".to_owned()].into());
}

/// A shelf deleted before its books (`PARENT_FIRST_DELETION`) whose book's delete hook
/// panics leaves memory, as it left the system.
#[test]
fn a_panicking_child_delete_hook_after_its_parent_was_deleted_removes_the_parent() {
    let before = Library {
        shelves: vec![
            shelf("a", vec![book(1, "x"), book(2, "y")]),
            shelf("b", vec![]),
        ],
    };
    let source = Library {
        shelves: vec![shelf("b", vec![])],
    };
    let mut target = before.clone();
    let mut hooks = PanicOnBook {
        isbn: 1,
        system: ["a", "b", "1", "2"].map(str::to_owned).into(),
    };
    let options = SyncOptions::default().model_flags::<Shelf>(ModelFlags::PARENT_FIRST_DELETION);
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        target.sync_from(&source, &mut hooks, options)
    }));
    assert!(panicked.is_err());
    assert_eq!(target, source);
    assert!(!hooks.system.contains("a"));
}

/// The same stale delete on another shape: children in a `HashMap` two levels down, a
/// generic attribute, no serde; and merging a root whose key changed on one side.
#[test]
fn a_stale_delete_in_a_map_two_levels_down_and_a_replaced_generic_root() {
    use std::collections::HashMap;

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Org<T: Clone + std::fmt::Debug + PartialEq> {
        #[statesync(id)]
        id: u8,
        tag: T,
        #[statesync(children)]
        teams: HashMap<TeamKey, Team>,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Team {
        #[statesync(id)]
        name: String,
        #[statesync(children)]
        members: HashMap<MemberKey, Member>,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Member {
        #[statesync(id)]
        login: String,
        admin: bool,
    }

    let member = |login: &str, admin| Member {
        login: login.into(),
        admin,
    };
    let team = |name: &str, members: Vec<Member>| Team {
        name: name.into(),
        members: members.into_iter().map(|m| (m.key(), m)).collect(),
    };
    let org = |id, teams: Vec<Team>| Org {
        id,
        tag: 1.5f32,
        teams: teams.into_iter().map(|t| (t.key(), t)).collect(),
    };
    let before = org(1, vec![team("a", vec![member("x", false)])]);
    let plan = before.diff(&org(1, Vec::new())).unwrap();
    let mut since = before.clone();
    since.teams.values_mut().for_each(|t| {
        t.members.values_mut().for_each(|m| m.admin = true);
    });
    let mut target = since.clone();
    let mut system = Faulty::default();
    let report = target.sync_diff(
        &plan,
        &mut system,
        SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE),
    );
    assert_eq!((report.counts.failed, report.counts.deleted), (1, 0));
    assert!(system.log.is_empty(), "{:?}", system.log);
    assert_eq!(target, since);

    let replaced = org(2, Vec::new());
    let merged = statesync::merge::merge(
        &before,
        &replaced,
        &before,
        &statesync::merge::MergeOptions::default(),
    )
    .unwrap();
    assert!(merged.conflicts.is_empty(), "{:?}", merged.conflicts);
    assert_eq!(merged.value, replaced);
}

/// Children in a `HashMap` are created, deleted and reported in key order: a `HashMap`
/// iterates in another order in every process, and a sync's outcomes must not.
#[test]
fn hash_map_children_are_synced_in_key_order() {
    use std::collections::HashMap;

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Room {
        #[statesync(children)]
        racks: Vec<Rack>,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Rack {
        #[statesync(id)]
        name: String,
        #[statesync(children)]
        units: HashMap<UnitKey, Unit>,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Unit {
        #[statesync(id)]
        position: u32,
    }

    let rack = || Rack {
        name: "r1".into(),
        units: (0..30)
            .map(|position| (UnitKey { position }, Unit { position }))
            .collect(),
    };
    let empty = Room { racks: Vec::new() };
    let full = Room {
        racks: vec![rack()],
    };
    let positions = |report: &SyncReport| -> Vec<u32> {
        report
            .outcomes
            .iter()
            .filter(|outcome| outcome.model == "unit")
            .filter_map(|outcome| outcome.key.trim_start_matches("position=").parse().ok())
            .collect()
    };
    let in_order: Vec<u32> = (0..30).collect();
    let mut target = empty.clone();
    let created = target
        .sync_from(&full, &mut InMemory, SyncOptions::default())
        .unwrap();
    assert_eq!(positions(&created), in_order);
    let mut target = full.clone();
    let deleted = target
        .sync_from(&empty, &mut InMemory, SyncOptions::default())
        .unwrap();
    assert_eq!(positions(&deleted), in_order);
    let mut target = empty;
    let skipped = target
        .sync_from(
            &full,
            &mut Faulty::default().failing("rack[name=r1]"),
            SyncOptions::default(),
        )
        .unwrap();
    assert_eq!(positions(&skipped), in_order);
}

/// An `on_outcome` callback that panics while a created element's children are recorded
/// leaves memory as the system: the children whose hooks succeeded stay (the one whose
/// outcome panicked included), and those skipped or never tried leave.
#[test]
fn a_panicking_outcome_callback_leaves_memory_as_the_system() {
    let empty = Library {
        shelves: Vec::new(),
    };
    let full = Library {
        shelves: vec![shelf("a", vec![book(1, "x"), book(2, "y"), book(3, "z")])],
    };
    // (the outcome that panics, the hook that fails, what memory and the system hold after)
    let cases = [
        ("book[isbn=2]: applied", None, vec![1, 2]),
        ("book[isbn=2]: skipped", Some("book[isbn=1]"), vec![]),
    ];
    for (panics_at, failing, books) in cases {
        let mut target = empty.clone();
        let mut system = Faulty::default();
        if let Some(failing) = failing {
            system = system.failing(failing);
        }
        let options = SyncOptions::default().on_outcome(|outcome| {
            assert!(
                !outcome.to_string().contains(panics_at),
                "the callback panics"
            );
        });
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            target.sync_from(&full, &mut system, options)
        }));
        assert!(panicked.is_err(), "{panics_at}");
        let held: Vec<u32> = target.shelves[0].books.iter().map(|b| b.isbn).collect();
        assert_eq!(held, books, "{panics_at}");
        let mut expected: std::collections::BTreeSet<String> = books
            .iter()
            .map(|isbn| format!("book[isbn={isbn}]"))
            .collect();
        expected.insert("shelf[name=a]".into());
        assert_eq!(system.system, expected, "{panics_at}");
    }
}

/// An `on_outcome` callback that panics on the outcome of an update or a delete whose hook
/// succeeded leaves memory as the system: the update's new values stay, the deleted
/// element (with its children) leaves, in each delete order.
#[test]
fn a_panicking_outcome_after_a_successful_update_or_delete_leaves_memory_as_the_system() {
    let held = Library {
        shelves: vec![
            shelf("a", vec![book(1, "x"), book(2, "y")]),
            shelf("b", vec![book(3, "z")]),
        ],
    };
    let mut wanted = held.clone();
    wanted.shelves[0].books[0].title = "x2".into();
    wanted.shelves.remove(1);
    // (the operation and element whose outcome panics, the delete order's flags)
    let cases = [
        ("update", "book[isbn=1]", ModelFlags::empty()),
        ("delete", "shelf[name=b]", ModelFlags::empty()),
        (
            "delete",
            "book[isbn=3]",
            ModelFlags::SKIP_CHILDREN_ON_DELETE,
        ),
        (
            "delete",
            "shelf[name=b]",
            ModelFlags::SKIP_CHILDREN_ON_DELETE,
        ),
        ("delete", "shelf[name=b]", ModelFlags::PARENT_FIRST_DELETION),
    ];
    for (operation, element, flags) in cases {
        let panics_at = format!("{operation} {element}");
        let mut target = held.clone();
        let mut system = Faulty {
            system: ["shelf[name=a]", "shelf[name=b]"]
                .into_iter()
                .chain(["book[isbn=1]", "book[isbn=2]", "book[isbn=3]"])
                .map(String::from)
                .collect(),
            ..Faulty::default()
        };
        let options = SyncOptions::default()
            .model_flags::<Shelf>(flags)
            .on_outcome(|outcome| {
                let text = outcome.to_string();
                assert!(
                    !(text.starts_with(operation)
                        && text.ends_with(&format!("{element}: applied"))),
                    "the callback panics"
                );
            });
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            target.sync_from(&wanted, &mut system, options)
        }));
        assert!(panicked.is_err(), "{panics_at}");
        if operation == "update" {
            assert_eq!(target.shelves[0].books[0].title, "x2", "{panics_at}");
        } else {
            let shelves: Vec<&str> = target.shelves.iter().map(|s| s.name.as_str()).collect();
            assert_eq!(shelves, ["a"], "{panics_at} {flags:?}");
            assert!(!system.system.contains("shelf[name=b]"), "{panics_at}");
        }
    }
}

/// An adapter that panics in one hook (or in `sync_complete`) and counts `sync_finished`
/// calls.
#[derive(Default)]
struct Panicking {
    finished: Vec<SyncReport>,
    in_complete: bool,
}

impl statesync::sync::Adapter for Panicking {
    fn sync_complete(&mut self, _report: &SyncReport) -> Result<(), statesync::sync::HookError> {
        assert!(!self.in_complete, "the commit panicked");
        Ok(())
    }

    fn sync_finished(&mut self, report: &SyncReport) {
        self.finished.push(report.clone());
    }
}

impl statesync::sync::Hooks<Library> for Panicking {}
impl statesync::sync::Hooks<Shelf> for Panicking {}

impl statesync::sync::Hooks<Book> for Panicking {
    fn update(
        &mut self,
        _model: &Book,
        _changes: &BookChanges,
        _parents: &statesync::sync::Parents,
    ) -> Result<(), statesync::sync::HookError> {
        panic!("the system's client panicked")
    }
}

/// `sync_finished` runs whatever happened, a panicking hook included (to release a
/// transaction or a lock), with the report so far marked stopped; then the panic goes on.
#[test]
fn sync_finished_runs_when_a_hook_panics() {
    let held = Library {
        shelves: vec![shelf("a", vec![book(1, "x")])],
    };
    let mut wanted = held.clone();
    wanted.shelves[0].books[0].title = "x2".into();
    let mut target = held.clone();
    let mut adapter = Panicking::default();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        target.sync_from(&wanted, &mut adapter, SyncOptions::default())
    }));
    assert!(panicked.is_err());
    let [finished] = &adapter.finished[..] else {
        panic!("{:?}", adapter.finished)
    };
    assert!(finished.stopped);
    // The time so far, and no failure claimed: none failed, a panic stopped it (it read
    // `in 0ns (stopped at the first failure)`; found by an outside tester).
    assert!(finished.elapsed > std::time::Duration::ZERO, "{finished}");
    assert!(finished.to_string().ends_with(" (stopped)"), "{finished}");
    assert_eq!(target, held);
    // A panic in `sync_complete` (after the hooks: here a created shelf).
    let mut grown = held.clone();
    grown.shelves.push(shelf("b", Vec::new()));
    let mut adapter = Panicking {
        in_complete: true,
        ..Panicking::default()
    };
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        target.sync_from(&grown, &mut adapter, SyncOptions::default())
    }));
    assert!(panicked.is_err());
    let [finished] = &adapter.finished[..] else {
        panic!("{:?}", adapter.finished)
    };
    assert!(finished.stopped);
    assert!(finished.elapsed > std::time::Duration::ZERO, "{finished}");
    // A sync that ends: `sync_finished` gets the report the sync returns, its time too.
    let mut adapter = Panicking::default();
    let report = target
        .sync_from(&held, &mut adapter, SyncOptions::default())
        .unwrap();
    assert_eq!(adapter.finished, std::slice::from_ref(&report));
    assert!(report.elapsed > std::time::Duration::ZERO);
}

/// A generic model without serde whose children are `Vec`s long enough for the engine to
/// index them, two levels deep: deletes, updates and creates at both levels, some hooks
/// failing. Memory ends as the system (which refuses a second create or delete of one
/// element), and a re-run with the faults gone converges.
mod long_vecs {
    use statesync::DiffModel;
    use statesync::sync::{SyncFlags, SyncModel, SyncOptions};

    use crate::faulty::{Faulty, elements};

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Board<T: Clone + std::fmt::Debug + PartialEq + Send + Sync + 'static> {
        #[statesync(children)]
        lists: Vec<List<T>>,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct List<T: Clone + std::fmt::Debug + PartialEq + Send + Sync + 'static> {
        #[statesync(id)]
        name: String,
        note: T,
        #[statesync(children)]
        cards: Vec<Card>,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Card {
        #[statesync(id)]
        id: u32,
        text: String,
    }

    fn board(lists: impl Iterator<Item = u32>, edit: u32) -> Board<u32> {
        Board {
            lists: lists
                .map(|list| List {
                    name: format!("l{list}"),
                    note: if list % 4 == 0 { edit } else { 0 },
                    // Card ids unique over the board: the system names elements by key.
                    cards: (list * 100..list * 100 + 20)
                        .map(|id| Card {
                            id: id + 50 * edit * u32::from(id % 5 == 0),
                            text: if id % 3 == 0 {
                                format!("t{edit}")
                            } else {
                                "t".into()
                            },
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn long_vec_children_sync_as_the_system_does() {
        let held = board(0..20, 0);
        let wanted = board(5..25, 1);
        let mut target = held.clone();
        let mut system = Faulty::holding(&held)
            .failing("list[name=l8]")
            .failing("card[id=1002]")
            .failing("list[name=l22]");
        let report = target
            .sync_from(
                &wanted,
                &mut system,
                SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE),
            )
            .unwrap();
        assert!(report.counts.failed >= 3, "{report}");
        assert!(report.counts.changes() > 100, "{report}");
        assert_eq!(elements(&target), system.system);
        system.fail.clear();
        let again = target
            .sync_from(&wanted, &mut system, SyncOptions::default())
            .unwrap();
        assert!(again.is_success(), "{again}");
        assert!(target.diff(&wanted).unwrap().is_empty());
        assert_eq!(elements(&target), system.system);
    }
}
