//! serde for [`Diff`] (feature `serde`): `{"model": "...", "elements": [...], "unchanged": n}`,
//! refusing a diff of another model type and one nested deeper than [`crate::MAX_DEPTH`].

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::__serde_record::FieldName;
use crate::depth::Level;
use crate::diff::{Action, Diff, ElementDiff};
use crate::model::DiffModel;

/// The serialised form of a [`Diff`]: the model name, the elements and the unchanged count.
#[derive(Serialize)]
#[serde(bound(serialize = "ElementDiff<M>: Serialize"))]
struct DiffOut<'a, M: DiffModel> {
    model: &'static str,
    elements: &'a [ElementDiff<M>],
    unchanged: usize,
}

/// Serialised as `{"model": "...", "elements": [...], "unchanged": n}`.
impl<M: DiffModel> Serialize for Diff<M>
where
    ElementDiff<M>: Serialize,
{
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        DiffOut {
            model: M::NAME,
            elements: &self.elements,
            unchanged: self.unchanged,
        }
        .serialize(serializer)
    }
}

/// A diff serialised for another model type is refused, naming both models. The model name
/// is checked as soon as it is read, before the elements.
impl<'de, M: DiffModel> Deserialize<'de> for Diff<M>
where
    ElementDiff<M>: Deserialize<'de>,
{
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::depth::read_level::<M, _, _>(|| {
            deserializer.deserialize_struct(
                "Diff",
                DIFF_FIELDS,
                DiffInVisitor(std::marker::PhantomData),
            )
        })
    }
}

const DIFF_FIELDS: &[&str] = &["model", "elements", "unchanged"];

/// Enters one more level of nested diffs while deserialising, refusing elements deeper than
/// [`crate::MAX_DEPTH`] (a format without a recursion limit would overflow the stack). The
/// elements at the limit carry child diffs one level further, which must be empty: the
/// `bool` says whether this is that level.
fn enter_nested<E: serde::de::Error>() -> Result<(Level, bool), E> {
    Level::try_enter_within(crate::MAX_DEPTH.saturating_add(1)).ok_or_else(too_deep_to_read)
}

/// Refuses elements in a diff one level beyond [`crate::MAX_DEPTH`].
fn refuse_below_limit<E: serde::de::Error, T>(below: bool, elements: &[T]) -> Result<(), E> {
    if below && !elements.is_empty() {
        return Err(too_deep_to_read());
    }
    Ok(())
}

/// Refuses created or deleted models whose subtrees go deeper than [`crate::MAX_DEPTH`]
/// from this diff's level (its nesting is counted as it is read; the models' own levels
/// only here, as `level` is left). Nested diffs check their own payloads as they are read.
fn refuse_deep_payloads<E: serde::de::Error, M: DiffModel>(
    level: Level,
    elements: &[ElementDiff<M>],
) -> Result<(), E> {
    drop(level);
    for element in elements {
        if let Action::Create(model) | Action::Delete(model) = &element.action {
            crate::depth::check_subtree(model).map_err(E::custom)?;
        }
    }
    Ok(())
}

fn too_deep_to_read<E: serde::de::Error>() -> E {
    E::custom(format_args!(
        "diff nested deeper than the {} levels statesync supports",
        crate::MAX_DEPTH
    ))
}

struct DiffInVisitor<M>(std::marker::PhantomData<M>);

impl<'de, M: DiffModel> serde::de::Visitor<'de> for DiffInVisitor<M>
where
    ElementDiff<M>: Deserialize<'de>,
{
    type Value = Diff<M>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a diff of `{}` models", M::NAME)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Diff<M>, A::Error> {
        use serde::de::Error as _;
        let (level, below) = enter_nested::<A::Error>()?;
        let name: String = seq
            .next_element()?
            .ok_or_else(|| A::Error::invalid_length(0, &self))?;
        if name != M::NAME {
            return Err(A::Error::custom(format_args!(
                "expected a diff of `{}` models, found one of `{name}`",
                M::NAME
            )));
        }
        let elements: Vec<ElementDiff<M>> = seq
            .next_element()?
            .ok_or_else(|| A::Error::invalid_length(1, &self))?;
        refuse_below_limit(below, &elements)?;
        let unchanged: usize = seq
            .next_element()?
            .ok_or_else(|| A::Error::invalid_length(2, &self))?;
        refuse_deep_payloads(level, &elements)?;
        Ok(Diff::sorted(elements, unchanged))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Diff<M>, A::Error> {
        use serde::de::Error as _;
        let (level, below) = enter_nested::<A::Error>()?;
        let (mut model, mut elements, mut unchanged) = (None, None, None);
        while let Some(field) = map.next_key_seed(FieldName(DIFF_FIELDS))? {
            match field {
                0 if model.is_none() => {
                    let name: String = map.next_value()?;
                    if name != M::NAME {
                        return Err(A::Error::custom(format_args!(
                            "expected a diff of `{}` models, found one of `{name}`",
                            M::NAME
                        )));
                    }
                    model = Some(name);
                }
                1 if elements.is_none() => {
                    let read = map.next_value::<Vec<ElementDiff<M>>>()?;
                    refuse_below_limit(below, &read)?;
                    elements = Some(read);
                }
                2 if unchanged.is_none() => unchanged = Some(map.next_value::<usize>()?),
                _ => {
                    let name = DIFF_FIELDS.get(field).copied().unwrap_or_default();
                    return Err(A::Error::custom(format_args!("duplicate field `{name}`")));
                }
            }
        }
        model.ok_or_else(|| A::Error::missing_field("model"))?;
        let elements = elements.ok_or_else(|| A::Error::missing_field("elements"))?;
        let unchanged = unchanged.ok_or_else(|| A::Error::missing_field("unchanged"))?;
        refuse_deep_payloads(level, &elements)?;
        Ok(Diff::sorted(elements, unchanged))
    }
}
