//! Every derive option, checked through behaviour.

use statesync::{Action, Diff, DiffModel, ElementDiff, ModelField, Store, Summary};

#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(name = "port")]
struct Port {
    #[statesync(id)]
    switch: String,
    #[statesync(id)]
    number: u16,
    #[statesync(rename = "admin-state")]
    enabled: bool,
    #[statesync(eq = close_enough)]
    load: f64,
    #[statesync(eq = "same_text")] // quoted, as serde writes `with`: the same
    label: String,
    #[statesync(skip)]
    cache: Vec<u8>,
    speed: Option<u32>,
    media: Media,
    location: Location,
}

#[derive(Clone, Debug, PartialEq)]
enum Media {
    Copper,
    Fiber { wavelength: u16 },
}

#[derive(Clone, Debug, PartialEq)]
struct Location {
    rack: String,
    unit: u8,
}

fn close_enough(a: &f64, b: &f64) -> bool {
    (a - b).abs() < 0.01
}

fn same_text(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

fn port() -> Port {
    Port {
        switch: "sw1".into(),
        number: 1,
        enabled: true,
        load: 0.5,
        label: "Uplink".into(),
        cache: vec![1, 2, 3],
        speed: Some(10_000),
        media: Media::Copper,
        location: Location {
            rack: "r1".into(),
            unit: 4,
        },
    }
}

#[test]
fn several_id_fields_form_the_key_in_order() {
    let key = port().key();
    assert_eq!(
        key,
        PortKey {
            switch: "sw1".into(),
            number: 1
        }
    );
    assert_eq!(key.to_string(), "switch=sw1, number=1");
    assert!(
        PortKey {
            switch: "a".into(),
            number: 9
        } < PortKey {
            switch: "b".into(),
            number: 1
        }
    );
}

#[test]
fn name_sets_the_model_name_and_defaults_to_snake_case() {
    assert_eq!(Port::NAME, "port");
    assert_eq!(<Node as DiffModel>::NAME, "node");
    assert_eq!(<SwitchRoot as DiffModel>::NAME, "switch_root");
}

#[test]
fn field_enum_lists_compared_attributes_with_display_names() {
    let names: Vec<&str> = PortField::ALL.iter().map(|field| field.name()).collect();
    assert_eq!(
        names,
        ["admin-state", "load", "label", "speed", "media", "location"]
    );
    assert_eq!(<PortField as ModelField>::ALL.len(), 6);
    assert_eq!(PortField::Enabled.name(), "admin-state");
}

#[test]
fn skip_fields_are_neither_compared_nor_applied() {
    let mut old = port();
    let mut new = port();
    new.cache = vec![9];
    assert!(old.diff(&new).unwrap().is_empty());
    new.speed = None;
    old.apply(&old.diff(&new).unwrap()).unwrap();
    assert_eq!(old.cache, vec![1, 2, 3]);
    assert_eq!(old.speed, None);
}

#[test]
fn eq_replaces_equality_for_one_field() {
    let old = port();
    let mut new = port();
    new.load = 0.505;
    new.label = "UPLINK".into();
    assert!(old.diff(&new).unwrap().is_empty());
    new.load = 0.6;
    let diff = old.diff(&new).unwrap();
    let entries = diff.entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].fields.len(), 1);
    assert_eq!(entries[0].fields[0].field, "load");
}

#[test]
fn option_enum_and_struct_attributes_are_compared_whole() {
    let mut old = port();
    let mut new = port();
    new.speed = None;
    new.media = Media::Fiber { wavelength: 1310 };
    new.location.unit = 5;
    let diff = old.diff(&new).unwrap();
    let [element] = diff.elements() else {
        panic!("one element expected: {diff}")
    };
    let Action::Update(update) = &element.action else {
        panic!("an update expected")
    };
    assert_eq!(update.fields.speed.as_ref().unwrap().new, None);
    assert_eq!(
        update.fields.media.as_ref().unwrap().new,
        Media::Fiber { wavelength: 1310 }
    );
    assert_eq!(update.fields.location.as_ref().unwrap().old.unit, 4);
    assert!(update.fields.enabled.is_none());
    old.apply(&diff).unwrap();
    assert_eq!(old, new);
}

#[test]
fn a_changed_identifier_is_a_delete_plus_a_create() {
    let mut old = port();
    let mut new = port();
    new.number = 2;
    let diff = old.diff(&new).unwrap();
    assert_eq!(
        diff.summary(),
        Summary {
            create: 1,
            delete: 1,
            ..Summary::default()
        }
    );
    old.apply(&diff).unwrap();
    assert_eq!(old, new);
}

/// A singleton root (no id) over a self-recursive tree.
#[derive(DiffModel, Clone, Debug, PartialEq)]
struct SwitchRoot {
    motd: String,
    #[statesync(children)]
    nodes: Vec<Node>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Node {
    #[statesync(id)]
    name: String,
    weight: u32,
    #[statesync(children)]
    children: Vec<Node>,
}

fn node(name: &str, weight: u32, children: Vec<Node>) -> Node {
    Node {
        name: name.into(),
        weight,
        children,
    }
}

#[test]
fn singleton_keys_are_unit_and_recursive_models_diff_at_every_depth() {
    let root = SwitchRoot {
        motd: "hi".into(),
        nodes: vec![node("a", 1, vec![node("b", 2, vec![node("c", 3, vec![])])])],
    };
    assert_eq!(root.key(), SwitchRootKey {});
    assert_eq!(root.key().to_string(), "");
    let mut old = root.clone();
    let mut new = root;
    new.nodes[0].children[0].children[0].weight = 4;
    let diff = old.diff(&new).unwrap();
    assert_eq!(
        diff.to_string(),
        "  switch_root\n    node[name=a]\n      node[name=b]\n      ~ node[name=c] weight: 3 -> 4\n"
    );
    old.apply(&diff).unwrap();
    assert_eq!(old, new);
}

/// A singleton root has one key, so its root diff can only be an update: a delete and a
/// create are refused with that said, not the shapes a keyed root can take (a tester read
/// "one delete and one create under two different keys" for a model without keys).
#[test]
fn a_singleton_root_diff_of_another_shape_says_it_must_be_an_update() {
    let mut root = SwitchRoot {
        motd: "hi".into(),
        nodes: vec![],
    };
    let replaced = SwitchRoot {
        motd: "bye".into(),
        nodes: vec![],
    };
    let element = |action| ElementDiff {
        key: SwitchRootKey {},
        action,
    };
    let diff = Diff::from_elements(
        vec![
            element(Action::Delete(root.clone())),
            element(Action::Create(replaced)),
        ],
        0,
    )
    .unwrap();
    let before = root.clone();
    let error = root.apply(&diff).unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot apply to the root switch_root: a root diff of a model without id fields must \
         be one update"
    );
    assert_eq!(root, before);
}

/// Generic models: the key and changes carry the parameters they use. A `Store` of a
/// generic model needs the parameter's bounds on the struct itself.
#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Tagged<K, V: Clone + std::fmt::Debug + PartialEq> {
    #[statesync(id)]
    id: K,
    value: V,
    #[statesync(children)]
    items: Store<Item<V>>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Item<V> {
    #[statesync(id)]
    n: u8,
    value: V,
}

#[test]
fn generic_models_diff_and_apply() {
    let mut items = Store::new();
    items.insert(Item { n: 1, value: 1.5 }).unwrap();
    let mut old = Tagged {
        id: 7u64,
        value: 0.5f32 as f64,
        items,
    };
    let mut new = old.clone();
    new.value = 2.0;
    new.items.upsert(Item { n: 1, value: 3.0 });
    let key: TaggedKey<u64> = old.key();
    assert_eq!(key.id, 7);
    let diff = old.diff(&new).unwrap();
    assert_eq!(diff.summary().update, 2);
    old.apply(&diff).unwrap();
    assert_eq!(old, new);
}

/// A model borrowing its data.
#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Borrowed<'a> {
    #[statesync(id)]
    name: &'a str,
    note: std::borrow::Cow<'a, str>,
}

#[test]
fn models_with_lifetimes_diff_and_apply() {
    let text = String::from("spare");
    let mut old = Borrowed {
        name: &text,
        note: "a".into(),
    };
    let new = Borrowed {
        name: &text,
        note: "b".into(),
    };
    let key: BorrowedKey<'_> = old.key();
    assert_eq!(key.name, "spare");
    let diff = old.diff(&new).unwrap();
    old.apply(&diff).unwrap();
    assert_eq!(old.note, "b");
}

/// A model borrowing under two lifetimes, in its key and its attributes (rustc could not
/// choose between the records' serde bounds that differ only in lifetimes: E0283, and the
/// model did not compile with the `serde` feature on). Its diff serializes, and reads back
/// with one lifetime for both (from one borrowed input).
#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct TwoBorrows<'a, 'b> {
    #[statesync(id)]
    shelf: &'a str,
    #[statesync(id)]
    slot: &'b str,
    title: &'a str,
    note: std::borrow::Cow<'b, str>,
    subtitle: &'b str,
}

#[test]
fn models_borrowing_under_two_lifetimes_diff_serialize_and_apply() {
    let shelf = String::from("a");
    let old = TwoBorrows {
        shelf: &shelf,
        slot: "1",
        title: "Dune",
        note: "".into(),
        subtitle: "",
    };
    let new = TwoBorrows {
        title: "Dune Messiah",
        note: "second".into(),
        subtitle: "book 2",
        ..old.clone()
    };
    let diff = old.diff(&new).unwrap();
    let json = serde_json::to_string(&diff).unwrap();
    let read: statesync::Diff<TwoBorrows<'_, '_>> = serde_json::from_str(&json).unwrap();
    assert_eq!(read, diff);
    let mut applied = old.clone();
    applied.apply(&read).unwrap();
    assert_eq!(applied, new);
    assert_eq!(
        old.key(),
        TwoBorrowsKey {
            shelf: "a",
            slot: "1"
        }
    );
}

/// A label that serializes only as `'static`.
#[derive(Clone, Debug, PartialEq)]
struct Label<'a>(&'a str);

impl serde::Serialize for Label<'static> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

/// A pair whose serde ties its lifetimes (`T: 'a`).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
struct Tied<'a, T: 'a> {
    first: &'a str,
    second: T,
}

/// Borrowing field types alone in their shape keep their serde bounds as written: a
/// `'static`-only impl and lifetimes tied by the type's own bounds serialize (an outside
/// review found that making every lifetime higher-ranked broke both).
#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize)]
struct Labelled<'a, 'b> {
    #[statesync(id)]
    id: u32,
    label: Label<'static>,
    tied: Tied<'a, &'b str>,
}

#[test]
fn borrowed_types_alone_in_their_shape_keep_their_serde_bounds() {
    let old = Labelled {
        id: 1,
        label: Label("a"),
        tied: Tied {
            first: "x",
            second: "y",
        },
    };
    let new = Labelled {
        label: Label("b"),
        tied: Tied {
            first: "x",
            second: "z",
        },
        ..old.clone()
    };
    let json = serde_json::to_string(&old.diff(&new).unwrap()).unwrap();
    assert!(json.contains(r#""label":{"old":"a","new":"b"}"#), "{json}");
}

/// `bound` replaces the inferred bounds (`tests/ui/container/bound-is-applied.rs` shows the
/// replacement is enforced).
#[derive(DiffModel, Clone, Debug, PartialEq)]
#[statesync(bound = "T: Clone + std::fmt::Debug + PartialEq + Default")]
struct Bounded<T> {
    value: T,
}

#[test]
fn bound_replaces_inferred_bounds() {
    let old = Bounded { value: 1 };
    let new = Bounded {
        value: i32::default(),
    };
    assert_eq!(old.diff(&new).unwrap().summary().update, 1);
}

/// Mutually recursive models: a folder holds files, a file holds attached folders. Syncing
/// them needs `sync_models`: hooks for every model of the cycle. (Here with serde, which
/// the diffs read and write below; see the `sync_models` docs for a cycle without.)
#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[statesync(sync_models = "Folder, File, Tag")]
struct Folder {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    files: Vec<File>,
}

#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[statesync(sync_models = "Folder, File, Tag")]
struct File {
    #[statesync(id)]
    name: String,
    size: u64,
    #[statesync(children)]
    attachments: Vec<Folder>,
    #[statesync(children)]
    tags: Vec<Tag>,
}

/// A child of a cycle member: listed in `sync_models` too, as every model type reachable
/// from the cycle must be.
#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Tag {
    #[statesync(id)]
    label: String,
}

#[test]
fn mutually_recursive_models_diff_apply_and_sync() {
    use statesync::sync::{InMemory, SyncModel, SyncOptions};
    let leaf = |name: &str, size| File {
        name: name.into(),
        size,
        attachments: vec![],
        tags: vec![],
    };
    let mut old = Folder {
        name: "root".into(),
        files: vec![File {
            name: "a".into(),
            size: 1,
            attachments: vec![Folder {
                name: "inner".into(),
                files: vec![leaf("x", 1)],
            }],
            tags: vec![],
        }],
    };
    let mut new = old.clone();
    new.files[0].attachments[0].files[0].size = 2;
    new.files[0].tags.push(Tag {
        label: "red".into(),
    });
    let diff = old.diff(&new).unwrap();
    assert_eq!((diff.summary().update, diff.summary().create), (1, 1));
    let mut copy = old.clone();
    copy.apply(&diff).unwrap();
    assert_eq!(copy, new);
    let report = old
        .sync_from(&new, &mut InMemory, SyncOptions::default())
        .unwrap();
    assert!(report.is_success());
    assert_eq!(old, new);
}

/// A generic cycle: the parameter goes round it (`Dir<T>` holds `File<T>`, which holds
/// `Dir<T>`). Its bounds stay on `T`, never on the models of the cycle, which would chase
/// each other (rustc refused the models with an `E0275` overflow).
mod generic_cycle {
    use statesync::DiffModel;

    #[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    #[statesync(sync_models = "Dir<T>, File<T>")]
    pub struct Dir<T> {
        #[statesync(id)]
        pub name: String,
        pub meta: T,
        #[statesync(children)]
        pub files: Vec<File<T>>,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    #[statesync(sync_models = "Dir<T>, File<T>")]
    pub struct File<T> {
        #[statesync(id)]
        pub name: String,
        pub meta: T,
        #[statesync(children)]
        pub attached: Vec<Dir<T>>,
    }
}

#[test]
fn generic_mutually_recursive_models_diff_serde_and_sync() {
    use generic_cycle::{Dir, File};
    use statesync::sync::{InMemory, SyncModel, SyncOptions};
    let file = |name: &str, meta| File {
        name: name.into(),
        meta,
        attached: vec![],
    };
    let mut old = Dir {
        name: "root".into(),
        meta: 1_u8,
        files: vec![File {
            name: "a".into(),
            meta: 1,
            attached: vec![Dir {
                name: "inner".into(),
                meta: 1,
                files: vec![file("x", 1)],
            }],
        }],
    };
    let mut new = old.clone();
    new.files[0].attached[0].files[0].meta = 2;
    new.files.push(file("b", 3));
    let diff = old.diff(&new).unwrap();
    assert_eq!(
        diff.to_string(),
        "  dir[name=root]\n    file[name=a]\n      dir[name=inner]\n      ~ file[name=x] meta: 1 -> 2\n  + file[name=b]\n"
    );
    let json = serde_json::to_string(&diff).unwrap();
    let read: statesync::Diff<Dir<u8>> = serde_json::from_str(&json).unwrap();
    assert_eq!(read, diff);
    let report = old
        .sync_from(&new, &mut InMemory, SyncOptions::default())
        .unwrap();
    assert!(report.is_success());
    assert_eq!(old, new);
}

/// Models that derive only `Clone` beside `DiffModel`: diff, render and apply need no
/// `Debug` or `PartialEq` of the model (a diff is `Debug`/`PartialEq` when its models are).
mod clone_only {
    use statesync::{DiffModel, Store};

    #[derive(DiffModel, Clone)]
    pub struct Rack {
        #[statesync(id)]
        pub name: String,
        pub units: u8,
        #[statesync(children)]
        pub hosts: Store<Host>,
    }

    #[derive(DiffModel, Clone)]
    pub struct Host {
        #[statesync(id)]
        pub name: String,
        pub up: bool,
    }
}

#[test]
fn models_need_only_clone_beside_the_derive() -> Result<(), statesync::Error> {
    use clone_only::{Host, Rack};
    let old = Rack {
        name: "r1".into(),
        units: 42,
        hosts: statesync::Store::try_from_iter([Host {
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
    let mut applied = old.clone();
    applied.apply(&diff)?;
    assert!(applied.diff(&new)?.is_empty());
    Ok(())
}
