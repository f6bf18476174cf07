//! The core alone (`--no-default-features --features derive`): a model diffs, renders,
//! applies and inverts with no serde, sync or merge layer, and none of the impls the
//! derive emits for them is compiled. With the default features the same test runs on the full runtime.
#![cfg(feature = "derive")]

use statesync::{DiffModel, Store};

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Rack {
    #[statesync(id)]
    name: String,
    units: u8,
    #[statesync(children)]
    hosts: Store<Host>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Host {
    #[statesync(id)]
    name: String,
    up: bool,
}

#[test]
fn the_core_diffs_renders_applies_and_inverts() -> Result<(), statesync::Error> {
    let old = Rack {
        name: "r1".into(),
        units: 42,
        hosts: Store::try_from_iter([Host {
            name: "h1".into(),
            up: true,
        }])?,
    };
    let mut new = old.clone();
    new.units = 48;
    new.hosts.insert(Host {
        name: "h2".into(),
        up: false,
    })?;
    let diff = old.diff(&new)?;
    assert_eq!(
        diff.to_string(),
        "~ rack[name=r1] units: 42 -> 48\n  + host[name=h2]\n"
    );
    let mut state = old.clone();
    state.apply(&diff)?;
    assert_eq!(state, new);
    state.apply(&diff.invert())?;
    assert_eq!(state, old);
    Ok(())
}

/// A `merge_with` function in a build without `merge`: checked and used as with it (it was
/// dead code there, an error under `-D warnings`, and a missing one compiled; found by an
/// outside tester), under the merge impl's bounds (a `'static` borrow, `Any`, an ordered
/// generic field: refused by a first version of the check; found by a review), and with no
/// `allow(dead_code)` of its own, which `forbid` refuses.
#[forbid(dead_code)]
mod merge_with_without_the_merge_layer {
    use std::fmt::Debug;

    use statesync::DiffModel;

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    pub struct Labelled<'a> {
        #[statesync(id)]
        pub id: u32,
        #[statesync(merge_with = keep_static)]
        pub label: &'a str,
    }

    fn keep_static(
        _base: Option<&&'static str>,
        ours: &&'static str,
        _theirs: &&'static str,
    ) -> Option<&'static str> {
        Some(*ours)
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    pub struct Ranged<T: Clone + Debug + PartialEq> {
        #[statesync(id)]
        pub id: u32,
        #[statesync(merge_with = any_pick)]
        pub any: T,
        #[statesync(merge = "max")]
        pub high: T,
        #[statesync(merge_with = larger)]
        pub other: T,
    }

    fn any_pick<T: std::any::Any + Clone>(_base: Option<&T>, ours: &T, _theirs: &T) -> Option<T> {
        Some(ours.clone())
    }

    fn larger<T: PartialOrd + Clone>(_base: Option<&T>, ours: &T, theirs: &T) -> Option<T> {
        Some(if ours >= theirs { ours } else { theirs }.clone())
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    pub struct Account {
        #[statesync(id)]
        pub id: u32,
        #[statesync(merge_with = add_both)]
        pub balance: i64,
        #[statesync(merge_with = Self::keep_ours)]
        pub limit: u32,
    }

    impl Account {
        fn keep_ours(_base: Option<&u32>, ours: &u32, _theirs: &u32) -> Option<u32> {
            Some(*ours)
        }
    }

    fn add_both(base: Option<&i64>, ours: &i64, theirs: &i64) -> Option<i64> {
        Some(ours + theirs - base.copied().unwrap_or(0))
    }
}

#[test]
fn a_model_with_merge_with_diffs_in_every_build() -> Result<(), statesync::Error> {
    use merge_with_without_the_merge_layer::Account;
    let old = Account {
        id: 1,
        balance: 10,
        limit: 0,
    };
    let new = Account {
        balance: 20,
        ..old.clone()
    };
    assert_eq!(
        old.diff(&new)?.to_string(),
        "~ account[id=1] balance: 10 -> 20\n"
    );
    let label = String::from("a");
    let labelled = merge_with_without_the_merge_layer::Labelled {
        id: 1,
        label: &label,
    };
    assert!(labelled.diff(&labelled.clone())?.is_empty());
    let ranged = merge_with_without_the_merge_layer::Ranged {
        id: 1,
        any: 1,
        high: 2,
        other: 3,
    };
    assert!(ranged.diff(&ranged.clone())?.is_empty());
    Ok(())
}
