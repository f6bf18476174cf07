//! Diffs serialise and come back equal; malformed or mismatched input is an error.

use statesync::{Diff, DiffModel};
use statesync_suite::inventory::{Device, Inventory, Site};

use statesync_suite::fixtures::{inventory, site};

fn sample() -> Diff<Inventory> {
    let old = inventory();
    let mut new = inventory();
    new.sites.remove(&site("ams", 0, 0).key());
    new.sites.insert(site("lon", 1, 1)).unwrap();
    new.sites.for_each_mut(|site| site.region = "x".into());
    old.diff(&new).unwrap()
}

#[test]
fn a_diff_roundtrips_through_json() {
    let diff = sample();
    let json = serde_json::to_string_pretty(&diff).unwrap();
    let back: Diff<Inventory> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, diff);
    assert_eq!(back.summary(), diff.summary());
    assert_eq!(back.to_string(), diff.to_string());
}

/// A format that is not self-describing (postcard, bincode) writes a struct as its fields
/// in order, with no names: a change left out would put every later field one place off.
/// Such formats get every change, `None` included; JSON leaves them out.
#[test]
fn a_diff_roundtrips_through_a_format_without_field_names() {
    let old = inventory();
    let mut new = inventory();
    // A later attribute of a device changes, the ones before it do not.
    new.sites.for_each_mut(|site| {
        site.devices
            .for_each_mut(|device| device.serial = format!("{}-2", device.serial));
    });
    let diff = old.diff(&new).unwrap();
    let bytes = postcard::to_allocvec(&diff).unwrap();
    let back: Diff<Inventory> = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(back, diff);
    assert_eq!(back.to_string(), diff.to_string());
    assert!(!serde_json::to_string(&diff).unwrap().contains("null"));
}

#[test]
fn a_diff_for_another_model_is_refused() {
    let json = serde_json::to_string(&sample()).unwrap();
    let error = serde_json::from_str::<Diff<Site>>(&json).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("expected a diff of `site` models, found one of `inventory`"),
        "{error}"
    );
}

#[test]
fn malformed_diffs_are_errors() {
    for bad in [
        "",
        "{",
        "[]",
        r#"{"model":"device","elements":[],"unchanged":-1}"#,
        // A key without one of its fields.
        r#"{"model":"device","elements":[{"key":{"site":"a"},"action":{"update":{"fields":{},"children":{"interfaces":{"model":"interface","elements":[],"unchanged":0}}}}}],"unchanged":0}"#,
        // A delete without its model.
        r#"{"model":"device","elements":[{"key":{"site":"a","name":"b"},"action":{"delete":null}}],"unchanged":0}"#,
        // An action that does not exist.
        r#"{"model":"device","elements":[{"key":{"site":"a","name":"b"},"action":{"explode":{}}}],"unchanged":0}"#,
        // A field the model does not have.
        r#"{"model":"device","elements":[{"key":{"site":"a","name":"b"},"action":{"update":{"fields":{"color":{"old":1,"new":2}},"children":{"interfaces":{"model":"interface","elements":[],"unchanged":0}}}}}],"unchanged":0}"#,
        // Child diffs without their record.
        r#"{"model":"device","elements":[{"key":{"site":"a","name":"b"},"action":{"update":{"fields":{}}}}],"unchanged":0}"#,
        // A child diff of another model.
        r#"{"model":"device","elements":[{"key":{"site":"a","name":"b"},"action":{"update":{"fields":{},"children":{"interfaces":{"model":"device","elements":[],"unchanged":0}}}}}],"unchanged":0}"#,
        r#"{"model":"device","elements":[],"unchanged":0,"extra":1}"#,
    ] {
        assert!(
            serde_json::from_str::<Diff<Device>>(bad).is_err(),
            "accepted: {bad}"
        );
    }
    // A child diff left out is an empty one (the form a diff that leaves those children
    // alone, without any to count, is written in).
    let without_child_diff = r#"{"model":"device","elements":[{"key":{"site":"a","name":"b"},"action":{"update":{"fields":{"role":{"old":"x","new":"y"}},"children":{}}}}],"unchanged":0}"#;
    let read = serde_json::from_str::<Diff<Device>>(without_child_diff).unwrap();
    let [element] = read.elements() else {
        panic!("{read:?}")
    };
    let statesync::Action::Update(update) = &element.action else {
        panic!("{read:?}")
    };
    assert!(update.children.interfaces.is_empty());
    assert_eq!(update.children.interfaces.unchanged_here(), 0);
    // The well-formed version of the inputs above is accepted.
    let good = r#"{"model":"device","elements":[{"key":{"site":"a","name":"b"},"action":{"update":{"fields":{"role":{"old":"x","new":"y"}},"children":{"interfaces":{"model":"interface","elements":[],"unchanged":0}}}}}],"unchanged":0}"#;
    assert_eq!(
        serde_json::from_str::<Diff<Device>>(good)
            .unwrap()
            .summary()
            .update,
        1
    );
}

#[test]
fn a_deserialised_diff_with_a_duplicate_create_is_refused_by_apply() {
    let mut target = inventory();
    let mut new = inventory();
    new.sites.insert(site("lon", 0, 0)).unwrap();
    let diff = target.diff(&new).unwrap();
    let json = serde_json::to_value(&diff).unwrap();
    let elements = &json["elements"][0]["action"]["update"]["children"]["sites"]["elements"];
    let mut doubled = json.clone();
    doubled["elements"][0]["action"]["update"]["children"]["sites"]["elements"] =
        serde_json::Value::Array(vec![elements[0].clone(), elements[0].clone()]);
    let doubled: Diff<Inventory> = serde_json::from_value(doubled).unwrap();
    let before = target.clone();
    assert!(target.apply(&doubled).is_err());
    assert_eq!(target, before);
}

/// A generic model with generic children, serde all the way down.
#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Shelf<T: Clone + std::fmt::Debug + PartialEq> {
    #[statesync(id)]
    label: String,
    #[statesync(children)]
    boxes: statesync::Store<Crate<T>>,
}

#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Crate<T> {
    #[statesync(id)]
    n: u32,
    content: T,
}

/// A change without its old or its new value is refused whatever the attribute's type: for
/// an `Option` attribute a missing value read as `None`, and apply cleared the field.
#[test]
fn a_change_without_a_value_is_refused_for_an_option_attribute_too() {
    let old = Crate {
        n: 1,
        content: Some(300_u32),
    };
    let new = Crate {
        n: 1,
        content: Some(301_u32),
    };
    let text = serde_json::to_string(&old.diff(&new).unwrap()).unwrap();
    let whole = r#"{"old":300,"new":301}"#;
    assert!(text.contains(whole), "{text}");
    for partial in [r#"{"old":300}"#, r#"{"new":301}"#] {
        let bad = text.replace(whole, partial);
        let read = serde_json::from_str::<Diff<Crate<Option<u32>>>>(&bad);
        let error = read.expect_err(&bad).to_string();
        assert!(error.contains("missing field"), "{error}");
    }
}

/// A model whose fields are not serde: it still derives, its diffs just do not serialise.
#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Opaque {
    #[statesync(id)]
    id: u8,
    handle: std::rc::Rc<u8>,
}

#[test]
fn generic_models_with_children_roundtrip() {
    let mut old = Shelf {
        label: "a".into(),
        boxes: statesync::Store::new(),
    };
    old.boxes
        .insert(Crate {
            n: 1,
            content: vec![1u8],
        })
        .unwrap();
    let mut new = old.clone();
    new.boxes.upsert(Crate {
        n: 1,
        content: vec![2u8],
    });
    new.boxes
        .insert(Crate {
            n: 2,
            content: vec![],
        })
        .unwrap();
    let diff = old.diff(&new).unwrap();
    let json = serde_json::to_string(&diff).unwrap();
    let back: Diff<Shelf<Vec<u8>>> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, diff);
    let opaque = Opaque {
        id: 1,
        handle: std::rc::Rc::new(1),
    };
    assert!(opaque.diff(&opaque.clone()).unwrap().is_empty());
}

/// The generated records (key, changes, child diffs) are written by the runtime, not by
/// serde's derive: the form is pinned here, field by field, and so are the errors.
#[test]
fn records_have_the_form_of_serde_structs() {
    let old = statesync_suite::fixtures::device("nyc", "sw1", 1);
    let mut new = old.clone();
    new.role = "spine".into();
    let diff = old.diff(&new).unwrap();
    let json = serde_json::to_value(&diff).unwrap();
    let element = &json["elements"][0];
    assert_eq!(
        element["key"],
        serde_json::json!({"site": "nyc", "name": "sw1"})
    );
    assert_eq!(
        element["action"]["update"]["fields"],
        serde_json::json!({"role": {"old": old.role, "new": "spine"}}),
        "unchanged attributes are left out"
    );
    assert_eq!(
        element["action"]["update"]["children"],
        serde_json::json!({"interfaces": {"model": "interface", "elements": [], "unchanged": 1}})
    );

    let fields = |fields: &str| {
        format!(
            r#"{{"model":"device","elements":[{{"key":{{"site":"a","name":"b"}},"action":{{"update":{{"fields":{fields},"children":{{"interfaces":{{"model":"interface","elements":[],"unchanged":0}}}}}}}}}}],"unchanged":0}}"#
        )
    };
    let error = |json: &str| {
        serde_json::from_str::<Diff<Device>>(json)
            .unwrap_err()
            .to_string()
    };
    assert!(
        error(&fields(r#"{"colour":{"old":1,"new":2}}"#))
            .starts_with("unknown field `colour`, expected one of `role`, `model`, `serial`"),
        "{}",
        error(&fields(r#"{"colour":{"old":1,"new":2}}"#))
    );
    let twice = fields(r#"{"role":{"old":"a","new":"b"},"role":{"old":"a","new":"c"}}"#);
    assert!(
        error(&twice).starts_with("duplicate field `role`"),
        "{}",
        error(&twice)
    );
    let bad_value = fields(r#"{"role":{"old":1,"new":"b"}}"#);
    assert!(
        error(&bad_value).starts_with("invalid type: integer `1`, expected a string"),
        "{}",
        error(&bad_value)
    );
    let read: Diff<Device> =
        serde_json::from_str(&fields(r#"{"role":{"old":"a","new":"b"}}"#)).unwrap();
    assert_eq!(read.elements().len(), 1);
}

/// A model as wide as a table: 130 attributes, more than a record's serde could take when it
/// walked the fields one macro step each (the compiler's recursion limit is 128).
macro_rules! wide_model {
    ($($field:ident),* $(,)?) => {
        #[derive(
            statesync::DiffModel, Clone, Debug, PartialEq, Default, serde::Serialize, serde::Deserialize,
        )]
        struct Wide {
            #[statesync(id)]
            id: u32,
            $($field: u32,)*
        }
    };
}

wide_model!(
    f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18, f19, f20,
    f21, f22, f23, f24, f25, f26, f27, f28, f29, f30, f31, f32, f33, f34, f35, f36, f37, f38, f39,
    f40, f41, f42, f43, f44, f45, f46, f47, f48, f49, f50, f51, f52, f53, f54, f55, f56, f57, f58,
    f59, f60, f61, f62, f63, f64, f65, f66, f67, f68, f69, f70, f71, f72, f73, f74, f75, f76, f77,
    f78, f79, f80, f81, f82, f83, f84, f85, f86, f87, f88, f89, f90, f91, f92, f93, f94, f95, f96,
    f97, f98, f99, f100, f101, f102, f103, f104, f105, f106, f107, f108, f109, f110, f111, f112,
    f113, f114, f115, f116, f117, f118, f119, f120, f121, f122, f123, f124, f125, f126, f127, f128,
    f129,
);

#[test]
fn a_wide_model_roundtrips_through_json() {
    let old = Wide::default();
    let mut new = old.clone();
    new.f0 = 1;
    new.f129 = 2;
    let diff = old.diff(&new).unwrap();
    let json = serde_json::to_string(&diff).unwrap();
    assert!(json.contains(r#""f129":{"old":0,"new":2}"#), "{json}");
    let back: Diff<Wide> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, diff);
}

/// Counts comparisons of [`Counted`] ids.
static COMPARED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// An id that counts how often it is compared.
#[derive(Debug, Clone, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
struct Counted(u32);

impl PartialEq for Counted {
    fn eq(&self, other: &Self) -> bool {
        COMPARED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.0 == other.0
    }
}

impl std::hash::Hash for Counted {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl std::fmt::Display for Counted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Rack {
    #[statesync(children)]
    #[serde(with = "statesync::serde_map")]
    units: Vec<Unit>,
}

#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Unit {
    #[statesync(id)]
    slot: Counted,
}

/// `serde_map` on a `Vec` reads n children in about n key comparisons, not n²/2 (a `Vec`
/// finds a key by scanning: 5,000 children read from an untrusted file made 25 million),
/// and still refuses a repeated key.
#[test]
fn serde_map_reads_a_vec_in_linear_comparisons() {
    let units = (0..5_000).map(|slot| Unit {
        slot: Counted(slot),
    });
    let rack = Rack {
        units: units.collect(),
    };
    let json = serde_json::to_string(&rack).unwrap();
    COMPARED.store(0, std::sync::atomic::Ordering::Relaxed);
    let back: Rack = serde_json::from_str(&json).unwrap();
    let compared = COMPARED.load(std::sync::atomic::Ordering::Relaxed);
    assert!(compared < 50_000, "{compared} comparisons");
    assert_eq!(back.units.len(), 5_000);
    assert!(
        back.units
            .iter()
            .zip(&rack.units)
            .all(|(a, b)| a.slot.0 == b.slot.0)
    );
    let twice = r#"{"units":[{"slot":1},{"slot":2},{"slot":1}]}"#;
    let error = serde_json::from_str::<Rack>(twice).unwrap_err();
    assert!(
        error.to_string().starts_with("duplicate key: unit[slot=1]"),
        "{error}"
    );
}

/// A generated record reads fields named by their index, as serde's own derive does (CBOR
/// in packed mode names fields so); an index beyond the fields is an error.
#[test]
fn generated_records_read_fields_named_by_index() {
    use serde::Deserialize;
    use serde::de::value::{Error, MapDeserializer};
    use statesync_suite::inventory::DeviceKey;
    let by_index = MapDeserializer::<_, Error>::new([(0_u64, "nyc"), (1, "sw1")].into_iter());
    let key = DeviceKey::deserialize(by_index).unwrap();
    assert_eq!((key.site.as_str(), key.name.as_str()), ("nyc", "sw1"));
    let beyond = MapDeserializer::<_, Error>::new([(0_u64, "nyc"), (2, "sw1")].into_iter());
    assert!(DeviceKey::deserialize(beyond).is_err());
    // A diff's own fields too.
    let fields = [
        (0_u64, serde_json::json!("inventory")),
        (1, serde_json::json!([])),
        (2, serde_json::json!(3)),
    ];
    let diff = Diff::<Inventory>::deserialize(MapDeserializer::<_, serde_json::Error>::new(
        fields.into_iter(),
    ))
    .unwrap();
    assert_eq!((diff.is_empty(), diff.unchanged_here()), (true, 3));
}

/// A model borrowing from its input.
#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Tome<'a> {
    #[statesync(id)]
    isbn: &'a str,
    title: &'a str,
}

/// A model whose children borrow.
#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Bookcase<'a> {
    #[statesync(id)]
    name: &'a str,
    #[serde(borrow)]
    #[statesync(children)]
    books: statesync::Store<Tome<'a>>,
}

/// A diff of a parent whose children borrow reads back, borrowing from the JSON (an outside
/// tester's case did not compile: the child diffs were read as `DeserializeOwned`).
#[test]
fn a_diff_of_borrowing_children_reads_back() {
    let book = |isbn, title| Tome { isbn, title };
    let shelf = |books: Vec<Tome<'static>>| Bookcase {
        name: "s",
        books: statesync::Store::try_from_iter(books).unwrap(),
    };
    let (before, after) = (
        || shelf(vec![book("1", "a"), book("2", "b")]),
        || shelf(vec![book("1", "A"), book("3", "c")]),
    );
    // Made first, dropped last: the models below borrow from it once compared with `back`.
    let json = serde_json::to_string(&before().diff(&after()).unwrap()).unwrap();
    let (old, new) = (before(), after());
    let back: Diff<Bookcase<'_>> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, old.diff(&new).unwrap());
    let mut applied: Bookcase<'_> = old.clone();
    applied.apply(&back).unwrap();
    assert_eq!(applied, new);
}

/// A map of children written without `serde_map`: `serde_json` refuses its struct keys, and
/// the error names the key and the attribute to add (it was serde_json's bare `key must be
/// a string`; an outside tester).
#[test]
fn a_map_of_children_without_serde_map_says_what_it_needs() {
    #[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize)]
    struct Folder {
        #[statesync(id)]
        name: String,
        #[statesync(children)]
        files: std::collections::BTreeMap<FileKey, File>,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize)]
    struct File {
        #[statesync(id)]
        name: String,
        size: u64,
    }

    let file = File {
        name: "a.txt".into(),
        size: 3,
    };
    let folder = Folder {
        name: "docs".into(),
        files: [(file.key(), file)].into(),
    };
    let error = serde_json::to_string(&folder).unwrap_err().to_string();
    assert_eq!(
        error,
        "key must be a string: the key `FileKey` is a struct; if it keys a map of children, \
         write the field with `#[serde(with = \"statesync::serde_map\")]`"
    );
    let empty = Folder {
        name: "empty".into(),
        files: std::collections::BTreeMap::new(),
    };
    let created = empty.diff(&folder).unwrap();
    let error = serde_json::to_string(&created).unwrap_err().to_string();
    assert!(error.contains("statesync::serde_map"), "{error}");

    // Any other error is the serializer's own: an I/O error stays one (a reviewer).
    struct Full;
    impl std::io::Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let key = FileKey {
        name: "a.txt".into(),
    };
    let error = serde_json::to_writer(Full, &key).unwrap_err();
    assert!(error.is_io(), "{error}");
    assert_eq!(error.to_string(), "disk full");
}
