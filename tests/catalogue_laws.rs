//! The laws of diff, apply, merge and sync on a model unlike the inventory, written as a
//! new user would: id fields that are not first and of unusual types (`char`, `i8`, a
//! `i128`), raw identifiers, a renamed and a skipped field, float attributes that
//! may be `NaN`, an enum attribute, two children fields of different collection kinds per
//! model, and map children read through `serde_map`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use indexmap::IndexMap;
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use statesync::merge::{MergeOptions, merge};
use statesync::sync::{InMemory, SyncModel, SyncOptions};
use statesync::{DiffModel, Store};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
enum Kind {
    Paper,
    Cloth,
    Digital { pages: u16 },
}

#[derive(DiffModel, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Catalogue {
    title: String,
    #[statesync(id)]
    code: u16,
    #[statesync(children)]
    #[serde(with = "statesync::serde_map")]
    shelves: BTreeMap<ShelfKey, Shelf>,
    #[statesync(children)]
    staff: Vec<Staff>,
    /// Not compared, not synced.
    #[statesync(skip)]
    #[serde(skip)]
    cache: u32,
}

#[derive(DiffModel, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Shelf {
    label: Option<String>,
    #[statesync(id)]
    floor: i8,
    #[statesync(id)]
    row: char,
    #[statesync(children)]
    books: Store<Book>,
    #[statesync(children)]
    #[serde(with = "statesync::serde_map")]
    notes: IndexMap<NoteKey, Note>,
}

#[derive(DiffModel, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Book {
    title: String,
    price: f64,
    #[statesync(id)]
    isbn: u64,
    authors: Vec<String>,
    dims: (u8, bool),
    #[statesync(rename = "kind")]
    r#type: Kind,
}

#[derive(DiffModel, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Staff {
    #[statesync(id)]
    r#ref: u8,
    #[statesync(id)]
    desk: char,
    #[statesync(merge = "max")]
    grade: u8,
}

#[derive(DiffModel, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Note {
    #[statesync(id)]
    id: i128,
    text: Box<str>,
}

/// A book's attributes, from small spaces so that two draws often agree.
type BookSpec = (u8, u8, u8);
/// A shelf: its label, books by isbn, notes by id.
type ShelfSpec = (u8, BTreeMap<u8, BookSpec>, BTreeMap<i8, u8>);
/// A catalogue: its title, shelves by (floor, row), staff by ref with a grade.
type Spec = (u8, BTreeMap<(i8, u8), ShelfSpec>, BTreeMap<u8, u8>);

fn spec() -> impl Strategy<Value = Spec> {
    let book = (0u8..3, 0u8..4, 0u8..3);
    let shelf = (
        0u8..3,
        prop::collection::btree_map(0u8..4, book, 0..4),
        prop::collection::btree_map(-2i8..2, 0u8..2, 0..3),
    );
    (
        0u8..4,
        prop::collection::btree_map((-1i8..1, 0u8..2), shelf, 0..3),
        prop::collection::btree_map(0u8..3, 0u8..3, 0..3),
    )
}

fn price(value: u8) -> f64 {
    match value {
        0 => 9.5,
        1 => f64::NAN,
        2 => -0.0,
        _ => f64::INFINITY,
    }
}

fn kind(value: u8) -> Kind {
    match value {
        0 => Kind::Paper,
        1 => Kind::Cloth,
        _ => Kind::Digital { pages: 300 },
    }
}

/// Builds the catalogue; `reversed` inserts every collection in the opposite order.
fn build((title, shelves, staff): &Spec, reversed: bool) -> Catalogue {
    fn ordered<K, V>(map: &BTreeMap<K, V>, reversed: bool) -> Vec<(&K, &V)> {
        let mut items: Vec<_> = map.iter().collect();
        if reversed {
            items.reverse();
        }
        items
    }
    let shelves =
        ordered(shelves, reversed)
            .into_iter()
            .map(|(&(floor, row), (label, books, notes))| {
                let row = char::from(b'a' + row);
                let books =
                    ordered(books, reversed)
                        .into_iter()
                        .map(|(&isbn, &(title, cost, form))| Book {
                            title: format!("t{title}"),
                            price: price(cost),
                            isbn: 9_780_000_000_000 + u64::from(isbn),
                            authors: (0..title).map(|at| format!("a{at}")).collect(),
                            dims: (form, cost % 2 == 0),
                            r#type: kind(form),
                        });
                let notes = ordered(notes, reversed).into_iter().map(|(&id, &text)| {
                    let id = i128::from(id) * i128::from(u64::MAX);
                    (
                        NoteKey { id },
                        Note {
                            id,
                            text: format!("n{text}").into(),
                        },
                    )
                });
                let shelf = Shelf {
                    label: (*label > 0).then(|| format!("l{label}")),
                    floor,
                    row,
                    books: Store::try_from_iter(books).unwrap(),
                    notes: notes.collect(),
                };
                (ShelfKey { floor, row }, shelf)
            });
    Catalogue {
        title: format!("c{}", title % 2),
        // Two root keys: a root replaced by one with another key is a case of every law.
        code: 7 + u16::from(*title / 2),
        shelves: shelves.collect(),
        staff: ordered(staff, reversed)
            .into_iter()
            .map(|(&r, &grade)| Staff {
                r#ref: r,
                desk: char::from(b'x' + r),
                grade,
            })
            .collect(),
        cache: u32::from(*title),
    }
}

/// The spec with every price finite.
fn finite(mut spec: Spec) -> Spec {
    for (_, books, _) in spec.1.values_mut() {
        for (_, cost, _) in books.values_mut() {
            *cost = *cost % 2 * 2;
        }
    }
    spec
}

/// Equal in every compared field (`PartialEq` is not: a `NaN` price differs from itself).
fn same<M: DiffModel>(a: &M, b: &M) -> bool {
    a.diff(b).unwrap().is_empty()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn apply_of_diff_gives_the_new_state_and_the_inverse_restores(a in spec(), b in spec()) {
        let (old, new) = (build(&a, false), build(&b, true));
        let diff = old.diff(&new).unwrap();
        let mut state = old.clone();
        state.apply(&diff).unwrap();
        prop_assert!(same(&state, &new), "{}", state.diff(&new).unwrap());
        state.apply(&diff.invert()).unwrap();
        prop_assert!(same(&state, &old), "{}", state.diff(&old).unwrap());
    }

    #[test]
    fn a_model_diffs_empty_with_itself_in_any_insertion_order(a in spec()) {
        let (model, reversed) = (build(&a, false), build(&a, true));
        prop_assert!(same(&model, &model));
        prop_assert!(same(&model, &reversed));
        prop_assert!(same(&reversed, &model));
    }

    #[test]
    fn the_diff_and_its_rendering_do_not_depend_on_insertion_order(a in spec(), b in spec()) {
        let forward = build(&a, false).diff(&build(&b, false)).unwrap();
        let backward = build(&a, true).diff(&build(&b, true)).unwrap();
        prop_assert_eq!(forward.to_string(), backward.to_string());
        prop_assert_eq!(forward.summary(), backward.summary());
    }

    /// JSON has no `NaN` or infinity (`serde_json` writes `null` and cannot read it back as
    /// an `f64`), so the prices here are finite.
    #[test]
    fn a_diff_read_back_from_json_applies_alike(a in spec(), b in spec()) {
        let (old, new) = (build(&finite(a), false), build(&finite(b), false));
        let diff = old.diff(&new).unwrap();
        let json = serde_json::to_string(&diff).unwrap();
        let back: statesync::Diff<Catalogue> = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back.to_string(), diff.to_string());
        let mut state = old.clone();
        state.apply(&back).unwrap();
        prop_assert!(same(&state, &new));
        let model: Catalogue = serde_json::from_str(&serde_json::to_string(&new).unwrap()).unwrap();
        prop_assert!(same(&model, &new));
    }

    /// A diff applied to a state it was not made for either applies (where every element
    /// it touches is as the diff expects) or fails and leaves the state as it was.
    #[test]
    fn a_failed_apply_leaves_the_state_unchanged(a in spec(), b in spec(), c in spec()) {
        let (old, new, other) = (build(&a, false), build(&b, false), build(&c, true));
        let diff = old.diff(&new).unwrap();
        let mut state = other.clone();
        match state.apply(&diff) {
            Ok(()) => {
                // What the diff touched now holds the new values: applying the inverse
                // gives back `other`.
                state.apply(&diff.invert()).unwrap();
                prop_assert!(same(&state, &other));
            }
            Err(error) => {
                prop_assert!(same(&state, &other), "{error}: {}", state.diff(&other).unwrap());
                prop_assert_eq!(state.cache, other.cache);
            }
        }
    }

    #[test]
    fn merging_with_an_unchanged_side_gives_the_other_side(a in spec(), b in spec()) {
        let (base, theirs) = (build(&a, false), build(&b, true));
        for (ours, theirs) in [(&base, &theirs), (&theirs, &base)] {
            let merged = merge(&base, ours, theirs, &MergeOptions::default()).unwrap();
            prop_assert!(merged.conflicts.is_empty(), "{:?}", merged.conflicts);
            prop_assert!(same(&merged.value, &build(&b, false)));
        }
    }

    /// A three-way merge of random states does not depend on the order the children were
    /// inserted in (the value, and the conflicts found: their order follows the
    /// collections' own), and a side merged with itself is itself, without a conflict.
    #[test]
    fn merging_does_not_depend_on_insertion_order(a in spec(), b in spec(), c in spec()) {
        let merged = |reversed: bool| {
            merge(&build(&a, reversed), &build(&b, !reversed), &build(&c, reversed), &MergeOptions::default()).unwrap()
        };
        // Where and what (a whole model's rendering shows its `Vec` children in their own
        // order, which the insertion order changes).
        let sorted = |conflicts: Vec<statesync::merge::Conflict>| {
            let mut found: Vec<(String, statesync::merge::ConflictKind)> =
                conflicts.into_iter().map(|c| (c.path, c.kind)).collect();
            found.sort_by(|x, y| x.0.cmp(&y.0));
            found
        };
        let (one, other) = (merged(false), merged(true));
        prop_assert!(same(&one.value, &other.value));
        prop_assert_eq!(sorted(one.conflicts), sorted(other.conflicts));
        let both = build(&b, false);
        let itself = merge(&build(&a, false), &both, &build(&b, true), &MergeOptions::default()).unwrap();
        prop_assert!(itself.conflicts.is_empty(), "{:?}", itself.conflicts);
        prop_assert!(same(&itself.value, &both));
    }

    #[test]
    fn syncing_in_memory_makes_the_target_equal_the_source(a in spec(), b in spec()) {
        let (mut target, source) = (build(&a, true), build(&b, false));
        let report = target.sync_from(&source, &mut InMemory, SyncOptions::default()).unwrap();
        prop_assert!(report.is_success());
        prop_assert!(same(&target, &source), "{}", target.diff(&source).unwrap());
        let again = target.sync_from(&source, &mut InMemory, SyncOptions::default()).unwrap();
        prop_assert!(again.is_success());
        prop_assert_eq!(again.counts.changes(), 0);
    }
}

/// An edit of a tracking store of books.
#[derive(Clone, Debug)]
enum Edit {
    /// Insert or replace the book with this isbn, at this price.
    Upsert(u8, u8),
    Remove(u8),
    /// Change the price in place (`modify`).
    Reprice(u8, u8),
    /// Change the isbn in place (`get_mut`): a rename, or a collision when it is taken.
    Rename(u8, u8),
    /// Move every even isbn up by one (`for_each_mut`).
    ShiftEven,
    /// Take the models a colliding rename kept aside.
    TakeCollisions,
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0u8..5, 0u8..4).prop_map(|(isbn, cost)| Edit::Upsert(isbn, cost)),
        (0u8..5).prop_map(Edit::Remove),
        (0u8..5, 0u8..4).prop_map(|(isbn, cost)| Edit::Reprice(isbn, cost)),
        (0u8..5, 0u8..5).prop_map(|(from, to)| Edit::Rename(from, to)),
        Just(Edit::ShiftEven),
        Just(Edit::TakeCollisions),
    ]
}

fn book(isbn: u8, cost: u8) -> Book {
    Book {
        title: format!("t{isbn}"),
        price: price(cost),
        isbn: u64::from(isbn),
        authors: Vec::new(),
        dims: (1, true),
        r#type: Kind::Paper,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever a tracking store went through (renames and collisions included), the diff
    /// over the touched keys is the full diff, or both are the same error.
    #[test]
    fn a_tracked_diff_equals_the_full_diff(
        start in prop::collection::btree_map(0u8..5, 0u8..4, 0..5),
        edits in prop::collection::vec(edit(), 0..8),
    ) {
        let old = Store::try_from_iter(start.iter().map(|(&isbn, &cost)| book(isbn, cost))).unwrap();
        let mut new = old.clone();
        new.track_changes();
        for edit in edits {
            let key = |isbn: u8| BookKey { isbn: u64::from(isbn) };
            match edit {
                Edit::Upsert(isbn, cost) => drop(new.upsert(book(isbn, cost))),
                Edit::Remove(isbn) => drop(new.remove(&key(isbn))),
                Edit::Reprice(isbn, cost) => drop(new.modify(&key(isbn), |b| b.price = price(cost))),
                Edit::Rename(from, to) => {
                    if let Some(mut book) = new.get_mut(&key(from)) {
                        book.isbn = u64::from(to);
                    }
                }
                Edit::ShiftEven => new.for_each_mut(|b| b.isbn += u64::from(b.isbn % 2 == 0)),
                Edit::TakeCollisions => drop(new.take_collisions()),
            }
        }
        let full = old.diff(&new);
        let touched = old.diff_touched(&new);
        match (&full, &touched) {
            (Ok(full), Ok(touched)) => {
                prop_assert_eq!(full.entries(), touched.entries());
                let mut state = old.clone();
                state.apply(touched).unwrap();
                prop_assert!(state.diff(&new).unwrap().is_empty());
            }
            (Err(full), Err(touched)) => {
                prop_assert_eq!(full.to_string(), touched.to_string());
                prop_assert!(!new.collisions().is_empty());
            }
            _ => prop_assert!(false, "full {full:?}, touched {touched:?}"),
        }
        // Every model is under its own key, once.
        for (key, model) in new.entries() {
            prop_assert!(model.has_key(&key));
            prop_assert_eq!(new.get(&key).map(|b| b.isbn), Some(model.isbn));
        }
    }
}

/// A simulated system: the elements it holds by path (`catalogue[code=7] > shelf[...]`),
/// hooks that fail for chosen elements, and what went wrong in the calls.
#[derive(Default)]
struct System {
    held: std::collections::BTreeSet<String>,
    fail: std::collections::BTreeSet<String>,
    /// The element whose hook panics (doing nothing to the system).
    panic_on: Option<String>,
    violations: Vec<String>,
}

fn path_of<M: DiffModel>(parents: &statesync::sync::Parents, model: &M) -> String {
    let parents = parents.to_string();
    let own = format!("{}[{}]", M::NAME, model.key());
    if parents.is_empty() {
        own
    } else {
        format!("{parents} > {own}")
    }
}

impl System {
    fn call(&mut self, operation: &str, path: String) -> Result<(), statesync::sync::HookError> {
        if self.panic_on.as_ref() == Some(&path) {
            panic!("the hook of {path} panics");
        }
        if self.fail.contains(&path) {
            return Err(format!("{operation} {path} fails").into());
        }
        let consistent = match operation {
            "create" => self.held.insert(path.clone()),
            "delete" => self.held.remove(&path),
            _ => self.held.contains(&path),
        };
        if !consistent {
            self.violations.push(format!("{operation} {path}"));
        }
        Ok(())
    }
}

impl statesync::sync::Adapter for System {}

impl<M: DiffModel> statesync::sync::Hooks<M> for System {
    fn create(
        &mut self,
        model: &M,
        parents: &statesync::sync::Parents,
    ) -> Result<(), statesync::sync::HookError> {
        self.call("create", path_of(parents, model))
    }

    fn update(
        &mut self,
        model: &M,
        _: &M::Changes,
        parents: &statesync::sync::Parents,
    ) -> Result<(), statesync::sync::HookError> {
        self.call("update", path_of(parents, model))
    }

    fn delete(
        &mut self,
        model: &M,
        parents: &statesync::sync::Parents,
    ) -> Result<(), statesync::sync::HookError> {
        self.call("delete", path_of(parents, model))
    }
}

/// Every element of a catalogue by path, the root included.
fn elements(catalogue: &Catalogue) -> std::collections::BTreeSet<String> {
    struct Collect(Vec<String>, std::collections::BTreeSet<String>);
    impl statesync::ModelVisitor for Collect {
        fn visit<C: DiffModel>(&mut self, _field: &'static str, child: &C) {
            let prefix = self.0.last().cloned().unwrap_or_default();
            let path = format!("{prefix} > {}[{}]", C::NAME, child.key());
            self.1.insert(path.clone());
            self.0.push(path);
            child.visit_children(self);
            self.0.pop();
        }
    }
    let root = format!("catalogue[{}]", catalogue.key());
    let mut collect = Collect(vec![root.clone()], std::collections::BTreeSet::from([root]));
    catalogue.visit_children(&mut collect);
    collect.1
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// With hooks failing for random elements, memory ends holding exactly what the system
    /// holds, and no hook is asked for what the system cannot do (a create of what it
    /// has, an update or delete of what it has not). The root keeps its key here: a
    /// replaced root whose create fails is a known gap (README, "Not done yet").
    #[test]
    fn after_a_sync_with_failures_memory_is_what_the_system_holds(
        a in spec(),
        b in spec(),
        failing in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        per_collection in any::<bool>(),
    ) {
        let fixed = |spec: &Spec| Catalogue { code: 7, ..build(spec, false) };
        let (mut target, source) = (fixed(&a), fixed(&b));
        let mut system = System { held: elements(&target), ..System::default() };
        let all: Vec<String> = elements(&target).into_iter().chain(elements(&source)).collect();
        for index in failing {
            system.fail.insert(index.get(&all).clone());
        }
        let mut options = SyncOptions::new(statesync::sync::SyncFlags::CONTINUE_ON_FAILURE);
        if per_collection {
            options = options.order(statesync::sync::SyncOrder::PerCollection);
        }
        let report = target.sync_from(&source, &mut system, options).unwrap();
        prop_assert!(system.violations.is_empty(), "{:?}", system.violations);
        prop_assert_eq!(&elements(&target), &system.held, "{}", report);
        if system.fail.is_empty() {
            prop_assert!(same(&target, &source));
        }
    }

    /// With the hook of one random element panicking (the caller catches the panic), memory
    /// still ends holding what the system holds: a created parent stays with the children
    /// created before, deleted children leave, an update keeps its old values.
    #[test]
    fn after_a_panicking_hook_memory_is_what_the_system_holds(
        a in spec(),
        b in spec(),
        panicking in any::<prop::sample::Index>(),
        per_collection in any::<bool>(),
    ) {
        let fixed = |spec: &Spec| Catalogue { code: 7, ..build(spec, false) };
        let (mut target, source) = (fixed(&a), fixed(&b));
        let mut system = System { held: elements(&target), ..System::default() };
        let all: Vec<String> = elements(&target).into_iter().chain(elements(&source)).collect();
        system.panic_on = Some(panicking.get(&all).clone());
        let mut options = SyncOptions::new(statesync::sync::SyncFlags::CONTINUE_ON_FAILURE);
        if per_collection {
            options = options.order(statesync::sync::SyncOrder::PerCollection);
        }
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            target.sync_from(&source, &mut system, options)
        }));
        prop_assert!(system.violations.is_empty(), "{:?}", system.violations);
        prop_assert_eq!(&elements(&target), &system.held, "panicked: {}", result.is_err());
    }
}

/// The simulated system behind async hooks (the calls take turns on it).
struct AsyncSystem(std::sync::Mutex<System>);

impl AsyncSystem {
    fn call(&self, operation: &str, path: String) -> Result<(), statesync::sync::HookError> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .call(operation, path)
    }
}

impl statesync::sync::AsyncAdapter for AsyncSystem {}

impl<M> statesync::sync::AsyncHooks<M> for AsyncSystem
where
    M: DiffModel + Send + Sync + 'static,
    M::Changes: Sync,
{
    async fn create(
        &self,
        model: &M,
        parents: &statesync::sync::Parents,
    ) -> Result<(), statesync::sync::HookError> {
        self.call("create", path_of(parents, model))
    }

    async fn update(
        &self,
        model: &M,
        _: &M::Changes,
        parents: &statesync::sync::Parents,
    ) -> Result<(), statesync::sync::HookError> {
        self.call("update", path_of(parents, model))
    }

    async fn delete(
        &self,
        model: &M,
        parents: &statesync::sync::Parents,
    ) -> Result<(), statesync::sync::HookError> {
        self.call("delete", path_of(parents, model))
    }
}

/// The outcomes of a report as sorted lines (the async engine records them as calls end).
fn outcome_lines(report: &statesync::sync::SyncReport) -> Vec<String> {
    let mut lines: Vec<String> = report.outcomes.iter().map(ToString::to_string).collect();
    lines.sort();
    lines
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// The async engine on this model (children in a `BTreeMap`, a `Vec`, a `Store` and
    /// an `IndexMap`, keys of odd types), with hooks failing for random elements: the same
    /// outcomes, counts and memory as the blocking engine, memory what the system holds.
    #[test]
    fn the_async_engine_agrees_with_the_blocking_one(
        a in spec(),
        b in spec(),
        failing in prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        per_collection in any::<bool>(),
        max_in_flight in 1usize..6,
    ) {
        use statesync::sync::AsyncSyncModel;
        let fixed = |spec: &Spec| Catalogue { code: 7, ..build(spec, false) };
        let (before, source) = (fixed(&a), fixed(&b));
        let all: Vec<String> = elements(&before).into_iter().chain(elements(&source)).collect();
        let system = || {
            let mut system = System { held: elements(&before), ..System::default() };
            for index in &failing {
                system.fail.insert(index.get(&all).clone());
            }
            system
        };
        let options = || {
            let options = SyncOptions::new(statesync::sync::SyncFlags::CONTINUE_ON_FAILURE);
            if per_collection {
                options.order(statesync::sync::SyncOrder::PerCollection)
            } else {
                options
            }
        };
        let mut blocking_system = system();
        let mut blocking = before.clone();
        let blocking_report = blocking.sync_from(&source, &mut blocking_system, options()).unwrap();

        let async_system = AsyncSystem(std::sync::Mutex::new(system()));
        let mut target = before.clone();
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let chosen = statesync::sync::AsyncSyncOptions::new(options()).max_in_flight(max_in_flight);
        let report = runtime
            .block_on(target.sync_from_async(&source, &async_system, chosen))
            .unwrap();
        let async_system = async_system.0.into_inner().unwrap();
        prop_assert_eq!(&report.counts, &blocking_report.counts);
        prop_assert_eq!(outcome_lines(&report), outcome_lines(&blocking_report));
        prop_assert!(same(&target, &blocking));
        prop_assert!(async_system.violations.is_empty(), "{:?}", async_system.violations);
        prop_assert_eq!(&elements(&target), &async_system.held);
    }
}
