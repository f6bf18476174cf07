//! Rendering: snapshot of a three-level plan, and the flattened entries.

use statesync::{DiffModel, EntryKind};
use statesync_suite::inventory::SiteKey;

use statesync_suite::fixtures::{inventory, site};

#[test]
fn a_three_level_plan_renders_parents_before_children() {
    let old = inventory();
    let mut new = inventory();
    {
        let mut ams = new.sites.get_mut(&SiteKey { name: "ams".into() }).unwrap();
        ams.region = "eu-west".into();
        let first = ams.devices.keys().next().unwrap();
        let mut device = ams.devices.get_mut(&first).unwrap();
        device.serial = "NEW".into();
        device.interfaces.for_each_mut(|i| {
            i.mtu = 9216;
            i.vlans.push(20);
        });
    }
    new.sites.remove(&SiteKey { name: "nyc".into() });
    new.sites.insert(site("lon", 1, 2)).unwrap();
    let diff = old.diff(&new).unwrap();
    insta::assert_snapshot!(diff.to_string());
    let entries = diff.entries();
    assert_eq!(entries[0].kind, EntryKind::Unchanged);
    assert_eq!(entries[1].kind, EntryKind::Update);
    assert_eq!(entries[1].depth, 1);
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.kind == EntryKind::Delete)
            .count(),
        9
    );
}

mod hashed {
    use std::collections::{HashMap, HashSet};

    use statesync::DiffModel;

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Service {
        #[statesync(id)]
        name: String,
        env: HashMap<String, u32>,
        tags: HashSet<String>,
    }

    /// Each `HashMap` and `HashSet` built here gets a fresh `RandomState`, so each iterates
    /// in another order.
    fn service(extra: u32) -> Service {
        Service {
            name: "api".into(),
            env: (0..12).map(|n| (format!("VAR{n}"), n + extra)).collect(),
            tags: (0..12).map(|n| format!("t{n}-{extra}")).collect(),
        }
    }

    #[test]
    fn hash_map_and_set_attributes_render_the_same_whatever_the_hash_seed() {
        let renderings: Vec<String> = (0..20)
            .map(|_| service(0).diff(&service(1)).unwrap().to_string())
            .collect();
        let raw: HashSet<String> = (0..20).map(|_| format!("{:?}", service(0).env)).collect();
        assert!(
            raw.len() > 1,
            "the seeds did not change the iteration order"
        );
        assert!(
            renderings.iter().all(|r| r == &renderings[0]),
            "{renderings:#?}"
        );
        assert!(
            renderings[0].starts_with(
                "~ service[name=api] env: {\"VAR0\": 0, \"VAR1\": 1, \"VAR2\": 2, \"VAR3\": 3,"
            ),
            "{}",
            renderings[0]
        );
        assert!(renderings[0].contains("tags: {\"t0-0\", \"t1-0\", \"t2-0\","));
        let entries = service(0).diff(&service(1)).unwrap().entries();
        assert_eq!(entries, service(0).diff(&service(1)).unwrap().entries());
    }
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Dev {
    #[statesync(id)]
    site: String,
    #[statesync(id)]
    name: String,
    role: String,
}

fn dev(site: &str, name: &str) -> Dev {
    Dev {
        site: site.into(),
        name: name.into(),
        role: "r".into(),
    }
}

/// Key values that would make two keys read alike, or add a line to a plan, are written
/// quoted and escaped; plain ones as they are.
#[test]
fn ambiguous_key_values_are_quoted() {
    let (a, b) = (dev("a, name=b", "c"), dev("a", "b, name=c"));
    assert_eq!(a.key().to_string(), r#"site="a, name=b", name=c"#);
    assert_ne!(a.key().to_string(), b.key().to_string());
    let forged = dev("x", "y]\n- dev[site=prod, name=core1");
    let store = statesync::Store::try_from_iter([forged]).unwrap();
    let plan = statesync::Store::new().diff(&store).unwrap().to_string();
    assert_eq!(plan.lines().count(), 1, "{plan}");
    assert_eq!(dev("", " p").key().to_string(), r#"site="", name=" p""#);
    assert_eq!(
        dev("ams", "sw-1/2 a").key().to_string(),
        "site=ams, name=sw-1/2 a"
    );
    assert_eq!(
        dev("zürich", "a\u{85}b").key().to_string(),
        r#"site=zürich, name="a\u{85}b""#
    );
    // Characters that print as nothing, or turn the text around, or break the line: two
    // keys that differ by one must not read alike, nor a key add a line.
    for (name, written) in [
        ("sw\u{200b}1", r#"name="sw\u{200b}1""#),
        ("sw\u{202e}1", r#"name="sw\u{202e}1""#),
        ("sw\u{2028}1", r#"name="sw\u{2028}1""#),
        ("sw\u{feff}1", r#"name="sw\u{feff}1""#),
        ("sw\u{ad}1", r#"name="sw\u{ad}1""#),
        // Drawn blank, though Rust's `escape_debug` counts them printable (an outside
        // tester: they were written as they are, unquoted).
        ("sw\u{115f}1", r#"name="sw\u{115f}1""#),
        ("sw\u{3164}1", r#"name="sw\u{3164}1""#),
        ("sw\u{2800}1", r#"name="sw\u{2800}1""#),
        ("sw\u{13441}1", r#"name="sw\u{13441}1""#),
        ("sw\u{1d159}1", r#"name="sw\u{1d159}1""#),
    ] {
        let shown = dev("a", name).key().to_string();
        assert_eq!(shown, format!("site=a, {written}"));
        assert_ne!(shown, dev("a", "sw1").key().to_string());
    }
}

/// A create whose model holds another key than its element is listed under the element's
/// key, the one `apply` refuses it by.
#[test]
fn a_create_is_listed_under_its_element_key() {
    let key = DevKey {
        site: "a".into(),
        name: "1".into(),
    };
    let element = statesync::ElementDiff {
        key: key.clone(),
        action: statesync::Action::Create(dev("a", "2")),
    };
    let diff = statesync::Diff::from_elements(vec![element], 0).unwrap();
    assert_eq!(diff.entries()[0].key, "site=a, name=1");
    let error = statesync::Store::<Dev>::new().apply(&diff).unwrap_err();
    assert!(error.to_string().contains("name=1"), "{error}");
}

/// A value whose own `Debug` writes raw text (a newline, a run of brackets).
#[derive(Clone, PartialEq)]
struct Raw(String);

impl std::fmt::Debug for Raw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Host {
    #[statesync(id)]
    name: String,
    note: Raw,
}

/// A value rendered by a hand-written `Debug` cannot add a line to a plan (its control
/// characters are escaped), nor overflow the stack with nesting (groups deeper than the
/// canonical form looks into are copied as they are).
#[test]
fn a_raw_debug_value_cannot_forge_a_line_or_overflow_the_stack() {
    let host = |note: &str| Host {
        name: "h".into(),
        note: Raw(note.into()),
    };
    let plan = host("x")
        .diff(&host("y\n- host[name=prod]\r"))
        .unwrap()
        .to_string();
    assert_eq!(plan, "~ host[name=h] note: x -> y\\n- host[name=prod]\\r\n");
    let plan = host("x").diff(&host("\"a\nb\"")).unwrap().to_string();
    assert_eq!(plan.lines().count(), 1, "{plan}");
    let deep = "{".repeat(1_000_000);
    let plan = host("x").diff(&host(&deep)).unwrap().to_string();
    assert!(
        plan.ends_with(&format!("note: x -> {deep}\n")),
        "{}",
        plan.len()
    );
    let nested = format!("{}{}", "[{b, a}".repeat(100_000), "]".repeat(100_000));
    let plan = host("x").diff(&host(&nested)).unwrap().to_string();
    assert!(
        plan.contains("note: x -> [{a, b}[{a, b}"),
        "{}",
        &plan[..100]
    );
}

/// An order-sensitive value that prints like a map: its `Debug` sorts into the same text
/// on both sides of a change. Such a change renders as the values print, so it never
/// reads `x -> x` (it did, in plans, entries and merge conflicts).
#[test]
fn a_change_that_sorts_into_the_same_text_renders_as_printed() {
    /// Pairs in order, printed as a map.
    #[derive(Clone, PartialEq)]
    struct Ordered(Vec<(&'static str, u32)>);

    impl std::fmt::Debug for Ordered {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_map()
                .entries(self.0.iter().map(|(k, v)| (k, v)))
                .finish()
        }
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Chain {
        #[statesync(id)]
        name: String,
        links: Ordered,
    }

    let old = Chain {
        name: "c".into(),
        links: Ordered(vec![("b", 1), ("a", 2)]),
    };
    let new = Chain {
        links: Ordered(vec![("a", 2), ("b", 1)]),
        ..old.clone()
    };
    let plan = old.diff(&new).unwrap().to_string();
    assert_eq!(
        plan,
        "~ chain[name=c] links: {\"b\": 1, \"a\": 2} -> {\"a\": 2, \"b\": 1}\n"
    );
    // Both sides changed the base, to values that sort alike.
    let base = Chain {
        links: Ordered(vec![("a", 2)]),
        ..old.clone()
    };
    let conflicts = statesync::merge::merge(&base, &old, &new, &Default::default())
        .unwrap()
        .conflicts;
    assert_eq!(conflicts[0].ours.as_deref(), Some("{\"b\": 1, \"a\": 2}"));
    assert_eq!(conflicts[0].theirs.as_deref(), Some("{\"a\": 2, \"b\": 1}"));
    // Values that differ once sorted keep the canonical form.
    let sorted = Chain {
        links: Ordered(vec![("b", 1), ("a", 3)]),
        ..old.clone()
    };
    let plan = old.diff(&sorted).unwrap().to_string();
    assert!(
        plan.contains("{\"a\": 2, \"b\": 1} -> {\"a\": 3, \"b\": 1}"),
        "{plan}"
    );
}
