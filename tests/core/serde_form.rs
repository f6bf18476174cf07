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
        // Child diffs without the children field.
        r#"{"model":"device","elements":[{"key":{"site":"a","name":"b"},"action":{"update":{"fields":{},"children":{}}}}],"unchanged":0}"#,
        r#"{"model":"device","elements":[],"unchanged":0,"extra":1}"#,
    ] {
        assert!(
            serde_json::from_str::<Diff<Device>>(bad).is_err(),
            "accepted: {bad}"
        );
    }
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
