//! Serde for a map of child models, as a sequence of the models: put
//! `#[serde(with = "statesync::serde_map")]` on a `BTreeMap<XKey, X>`, `HashMap<XKey, X>` or
//! `IndexMap<XKey, X>` children field.
//!
//! serde writes a map as a JSON object, and a JSON object's keys are strings, while a
//! generated key type is a struct (one field per id): `serde_json` refuses it with
//! `key must be a string`. The key is inside each model anyway, so this module writes the
//! map as the list of its models (in the map's order; a `HashMap`'s in key order, its own
//! changing from run to run) and rebuilds the map from their keys
//! when reading, refusing two models with one key. On a `Vec` of children it changes
//! nothing in the format and adds what serde's own `Vec` lacks: two children with one key
//! are refused, and children nested more than one level deeper than
//! [`MAX_DEPTH`](crate::MAX_DEPTH) are an error in any format, where serde's `Vec` relies
//! on the format's nesting limit and overflows the stack in one without (one level more is
//! read and written, as a create's payload inside a diff reaches it, and `diff` refuses
//! it). A user's `#[derive(Serialize)]` decides how its fields are written, which is why
//! the field needs this attribute: the derive cannot change it.
//!
//! ```
//! use std::collections::BTreeMap;
//! use statesync::DiffModel;
//!
//! #[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
//! struct Switch {
//!     #[statesync(id)]
//!     name: String,
//!     #[statesync(children)]
//!     #[serde(with = "statesync::serde_map")]
//!     ports: BTreeMap<PortKey, Port>,
//! }
//!
//! #[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
//! struct Port {
//!     #[statesync(id)]
//!     number: u16,
//!     speed: u32,
//! }
//!
//! let port = Port { number: 1, speed: 1000 };
//! let switch = Switch { name: "sw1".into(), ports: BTreeMap::from([(port.key(), port)]) };
//! let json = serde_json::to_string(&switch)?;
//! assert_eq!(json, r#"{"name":"sw1","ports":[{"number":1,"speed":1000}]}"#);
//! assert_eq!(serde_json::from_str::<Switch>(&json)?, switch);
//!
//! let twice = r#"{"name":"sw1","ports":[{"number":1,"speed":1},{"number":1,"speed":2}]}"#;
//! let error = serde_json::from_str::<Switch>(twice).unwrap_err();
//! assert!(error.to_string().starts_with("duplicate key: port[number=1]"), "{error}");
//! # Ok::<(), serde_json::Error>(())
//! ```

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use serde::ser::{Serialize, Serializer};

use crate::children::ChildCollection;
use crate::model::DiffModel;

/// Writes the children as a sequence of models, in the collection's order.
///
/// # Errors
/// Whatever the serializer or a model's `Serialize` returns; models nested more than one
/// level deeper than [`MAX_DEPTH`](crate::MAX_DEPTH) are an error, not a stack overflow.
pub fn serialize<C, S>(children: &C, serializer: S) -> Result<S::Ok, S::Error>
where
    C: ChildCollection,
    C::Model: Serialize,
    S: Serializer,
{
    // A `HashMap`'s order changes from run to run: its models are written in key order,
    // so the same state is the same JSON.
    let models: Vec<&C::Model> = if C::UNORDERED {
        crate::__private::in_key_order(children)
            .into_iter()
            .map(|(_, model)| model)
            .collect()
    } else {
        let mut models = Vec::new();
        children.for_each_child(&mut |model| models.push(model));
        models
    };
    let _level = crate::depth::enter_write::<C::Model, S::Error>(models.first().copied())?;
    serializer.collect_seq(models)
}

/// Reads a sequence of models into the collection, each under its own key.
///
/// # Errors
/// A model that does not deserialize, or two models with one key
/// (`duplicate key: port[number=1]`).
pub fn deserialize<'de, C, D>(deserializer: D) -> Result<C, D::Error>
where
    C: ChildCollection,
    C::Model: Deserialize<'de>,
    D: Deserializer<'de>,
{
    crate::depth::read_level::<C::Model, _, _>(|| {
        deserializer.deserialize_seq(ModelsVisitor(PhantomData))
    })
}

struct ModelsVisitor<C>(PhantomData<C>);

impl<'de, C> Visitor<'de> for ModelsVisitor<C>
where
    C: ChildCollection,
    C::Model: Deserialize<'de>,
{
    type Value = C;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a sequence of `{}` models", C::Model::NAME)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<C, A::Error> {
        let _level = crate::depth::enter_read::<A::Error>(C::Model::NAME)?;
        if C::SCANS {
            return read_indexed(seq);
        }
        let mut children = C::default();
        while let Some(model) = seq.next_element::<C::Model>()? {
            let key = model.key();
            if children.child(&key).is_some() {
                return Err(duplicate::<C, A::Error>(&key));
            }
            children.insert_child(model);
        }
        Ok(children)
    }
}

/// Reads the models of a collection that finds a key by scanning (a `Vec`): the keys seen
/// are indexed, so reading n models costs n lookups, not n²/2 comparisons.
fn read_indexed<'de, C, A>(mut seq: A) -> Result<C, A::Error>
where
    C: ChildCollection,
    C::Model: Deserialize<'de>,
    A: SeqAccess<'de>,
{
    let mut keys = crate::index::Keys::default();
    let mut models = Vec::new();
    while let Some(model) = seq.next_element::<C::Model>()? {
        if keys.insert(model.key()).is_err() {
            return Err(duplicate::<C, A::Error>(&model.key()));
        }
        models.push(model);
    }
    Ok(C::from_children(models))
}

/// The error of a key read twice.
fn duplicate<C: ChildCollection, E: serde::de::Error>(key: &<C::Model as DiffModel>::Key) -> E {
    E::custom(format_args!(
        "duplicate key: {}[{key}] appears more than once",
        C::Model::NAME
    ))
}
