//! A diff written by one version of a model and read by another: what reads across.

use statesync::{Diff, DiffModel, Store};

/// Version 1: an item with a price.
mod v1 {
    #[derive(
        statesync::DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize,
    )]
    pub struct Item {
        #[statesync(id)]
        pub sku: String,
        pub price: u32,
    }
}

/// Version 2: the item has gained a children field.
mod v2 {
    #[derive(
        statesync::DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize,
    )]
    pub struct Item {
        #[statesync(id)]
        pub sku: String,
        pub price: u32,
        #[statesync(children)]
        #[serde(default)]
        pub tags: statesync::Store<Tag>,
    }

    #[derive(
        statesync::DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize,
    )]
    pub struct Tag {
        #[statesync(id)]
        pub name: String,
    }
}

fn price_change_v1() -> Diff<v1::Item> {
    let old = v1::Item {
        sku: "p1".into(),
        price: 10,
    };
    let new = v1::Item {
        price: 12,
        ..old.clone()
    };
    old.diff(&new).unwrap()
}

fn item_v2(tags: &[&str]) -> v2::Item {
    let tags = tags.iter().map(|name| v2::Tag {
        name: (*name).into(),
    });
    v2::Item {
        sku: "p1".into(),
        price: 10,
        tags: Store::try_from_iter(tags).unwrap(),
    }
}

/// A diff that changes only fields both versions have reads across a children field added
/// since: the older diff has no child diff for it (none changed), and a newer one leaves out
/// a child diff with nothing in it.
#[test]
fn a_children_field_added_since_reads_across_diffs_that_leave_it_alone() {
    let older = serde_json::to_string(&price_change_v1()).unwrap();
    let read: Diff<v2::Item> = serde_json::from_str(&older).unwrap();
    let mut item = item_v2(&["new"]);
    item.apply(&read).unwrap();
    assert_eq!((item.price, item.tags.len()), (12, 1));

    let old = item_v2(&[]);
    let new = v2::Item {
        price: 12,
        ..old.clone()
    };
    let newer = old.diff(&new).unwrap();
    let json = serde_json::to_string(&newer).unwrap();
    assert!(!json.contains("tags"), "{json}");
    let read: Diff<v1::Item> = serde_json::from_str(&json).unwrap();
    assert_eq!(read.to_string(), price_change_v1().to_string());
    let back: Diff<v2::Item> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, newer);

    // Children that are there (unchanged ones, counted) are written, and the older
    // version, which cannot hold them, refuses them.
    let old = item_v2(&["a"]);
    let new = v2::Item {
        price: 12,
        ..old.clone()
    };
    let json = serde_json::to_string(&old.diff(&new).unwrap()).unwrap();
    let error = serde_json::from_str::<Diff<v1::Item>>(&json).unwrap_err();
    assert!(
        error.to_string().starts_with("unknown field `tags`"),
        "{error}"
    );
}

/// A history file written before the children field was added loads after it, and its
/// versions check out with the new field empty.
#[test]
fn a_history_file_reads_across_a_children_field_added_since() {
    use statesync::merge::History;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.json");
    let first = v1::Item {
        sku: "p1".into(),
        price: 10,
    };
    let mut history = History::new(first.clone()).unwrap();
    history
        .commit(&v1::Item { price: 12, ..first }, "reprice")
        .unwrap();
    history.save(&path).unwrap();

    let history = History::<v2::Item>::load(&path).unwrap();
    assert_eq!(history.version(), 1);
    assert_eq!(
        history.head(),
        &v2::Item {
            price: 12,
            ..item_v2(&[])
        }
    );
}

/// An older program reads a newer create without the attributes added since (the model's
/// serde ignores unknown fields), unless its model denies unknown fields: then it refuses
/// the diff, as the README advises where two versions share a history.
#[test]
fn an_older_model_that_denies_unknown_fields_refuses_a_newer_create() {
    mod strict {
        #[derive(
            statesync::DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize,
        )]
        #[serde(deny_unknown_fields)]
        pub struct Item {
            #[statesync(id)]
            pub sku: String,
            pub price: u32,
        }
    }
    mod weighted {
        #[derive(
            statesync::DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize,
        )]
        pub struct Item {
            #[statesync(id)]
            pub sku: String,
            pub price: u32,
            pub weight: u32,
        }
    }
    let item = |sku: &str| weighted::Item {
        sku: sku.into(),
        price: 1,
        weight: 7,
    };
    let old = Store::try_from_iter([item("a")]).unwrap();
    let new = Store::try_from_iter([item("a"), item("b")]).unwrap();
    let json = serde_json::to_string(&old.diff(&new).unwrap()).unwrap();

    let lenient: Diff<v1::Item> = serde_json::from_str(&json).unwrap();
    assert_eq!(
        lenient.summary().create,
        1,
        "the weight is dropped silently"
    );
    let error = serde_json::from_str::<Diff<strict::Item>>(&json).unwrap_err();
    assert!(
        error.to_string().starts_with("unknown field `weight`"),
        "{error}"
    );
}
