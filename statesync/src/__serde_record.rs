//! The serde of the records `#[derive(DiffModel)]` generates (keys, changes, child diffs),
//! for generated code only.
//!
//! A generated impl lists the record's fields, each as a type-erased value to write or a
//! slot to read into; [`serialize`] and [`deserialize`], compiled once for each serializer
//! and deserializer type (not once per record), do the rest. The format is the one
//! `#[derive(Serialize, Deserialize)]` with `deny_unknown_fields` writes and reads: a struct
//! of named fields, `None` changes left out.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess};
use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::__serde_child::{DeserializeVia, SerializeVia};

/// One field to write: its name and its value, `None` to leave it out.
pub type Out<'a> = (&'static str, Option<&'a dyn erased_serde::Serialize>);

/// Writes a record as a struct of its fields.
///
/// # Errors
/// The serializer's.
pub fn serialize<S: Serializer>(
    serializer: S,
    name: &'static str,
    fields: &[Out<'_>],
) -> Result<S::Ok, S::Error> {
    let len = fields.iter().filter(|(_, value)| value.is_some()).count();
    let mut record = serializer.serialize_struct(name, len)?;
    for &(field, value) in fields {
        match value {
            Some(value) => record.serialize_field(field, value)?,
            None => record.skip_field(field)?,
        }
    }
    record.end()
}

/// A change, written unless it is `None`.
pub fn optional<T: Serialize>(value: &Option<T>) -> Option<&dyn erased_serde::Serialize> {
    value
        .as_ref()
        .map(|_| value as &dyn erased_serde::Serialize)
}

/// A field always written.
pub fn required<T: Serialize>(value: &T) -> Option<&dyn erased_serde::Serialize> {
    Some(value)
}

/// A child diff, written through the record's `__Via` parameter (see
/// [`crate::__serde_child`]).
pub struct ViaOut<'a, V, T>(&'a T, PhantomData<fn() -> V>);

impl<'a, V, T> ViaOut<'a, V, T> {
    /// Wraps `value`.
    pub fn new(value: &'a T) -> Self {
        Self(value, PhantomData)
    }
}

impl<V: SerializeVia<T>, T> Serialize for ViaOut<'_, V, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        V::serialize_via(self.0, serializer)
    }
}

/// Where one field is read into.
pub trait In<'de> {
    /// Reads the field's value.
    ///
    /// # Errors
    /// The deserializer's.
    fn read(
        &mut self,
        deserializer: &mut dyn erased_serde::Deserializer<'de>,
    ) -> erased_serde::Result<()>;

    /// Whether the record needs this field (a change may be left out; a key field or a
    /// child diff may not).
    fn required(&self) -> bool;
}

/// A change: `None` unless read.
pub struct Optional<'a, T>(pub &'a mut Option<T>);

impl<'de, T: Deserialize<'de>> In<'de> for Optional<'_, T> {
    fn read(
        &mut self,
        deserializer: &mut dyn erased_serde::Deserializer<'de>,
    ) -> erased_serde::Result<()> {
        *self.0 = erased_serde::deserialize(deserializer)?;
        Ok(())
    }

    fn required(&self) -> bool {
        false
    }
}

/// A field the record needs, read into `Some`.
pub struct Required<'a, T>(pub &'a mut Option<T>);

impl<'de, T: Deserialize<'de>> In<'de> for Required<'_, T> {
    fn read(
        &mut self,
        deserializer: &mut dyn erased_serde::Deserializer<'de>,
    ) -> erased_serde::Result<()> {
        *self.0 = Some(erased_serde::deserialize(deserializer)?);
        Ok(())
    }

    fn required(&self) -> bool {
        true
    }
}

/// A field the record needs, read in place.
pub struct Direct<'a, T>(pub &'a mut T);

impl<'de, T: Deserialize<'de>> In<'de> for Direct<'_, T> {
    fn read(
        &mut self,
        deserializer: &mut dyn erased_serde::Deserializer<'de>,
    ) -> erased_serde::Result<()> {
        *self.0 = erased_serde::deserialize(deserializer)?;
        Ok(())
    }

    fn required(&self) -> bool {
        true
    }
}

/// A child diff the record needs, read through its `__Via` parameter.
pub struct ViaIn<'a, V, T>(&'a mut T, PhantomData<fn() -> V>);

impl<'a, V, T> ViaIn<'a, V, T> {
    /// Reads into `slot`.
    pub fn new(slot: &'a mut T) -> Self {
        Self(slot, PhantomData)
    }
}

impl<'de, V: DeserializeVia<T>, T> In<'de> for ViaIn<'_, V, T> {
    fn read(
        &mut self,
        deserializer: &mut dyn erased_serde::Deserializer<'de>,
    ) -> erased_serde::Result<()> {
        *self.0 = V::deserialize_via(deserializer)?;
        Ok(())
    }

    fn required(&self) -> bool {
        true
    }
}

/// One field to read: its name and its slot.
pub type Field<'a, 'de> = (&'static str, &'a mut dyn In<'de>);

/// Reads a record written by [`serialize`] (or by serde's derive) into its fields' slots:
/// unknown and repeated fields are errors, and so is a missing field the record needs.
///
/// # Errors
/// The deserializer's, or one of the above.
pub fn deserialize<'de, D: Deserializer<'de>>(
    deserializer: D,
    name: &'static str,
    fields: &mut [Field<'_, 'de>],
) -> Result<(), D::Error> {
    deserializer.deserialize_struct(name, &[], RecordVisitor { name, fields })
}

/// A value `T` is missing unless it was read: `Some` after [`deserialize`] for a field it
/// required.
///
/// # Errors
/// `missing field` naming `field`.
pub fn take<T, E: de::Error>(value: Option<T>, field: &'static str) -> Result<T, E> {
    value.ok_or_else(|| E::missing_field(field))
}

struct RecordVisitor<'f, 'a, 'de> {
    name: &'static str,
    fields: &'f mut [Field<'a, 'de>],
}

impl<'de> de::Visitor<'de> for RecordVisitor<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "struct {}", self.name)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = vec![false; self.fields.len()];
        while let Some(at) = map.next_key_seed(FieldName(self.fields))? {
            let (field, slot) = self.fields.get_mut(at).ok_or_else(|| {
                de::Error::custom("field index out of range (a bug in statesync)")
            })?;
            let Some(seen) = seen.get_mut(at) else {
                return Err(de::Error::custom("field index out of range"));
            };
            if std::mem::replace(seen, true) {
                return Err(de::Error::duplicate_field(field));
            }
            map.next_value_seed(Slot(&mut **slot))?;
        }
        for ((field, slot), seen) in self.fields.iter().zip(seen) {
            if !seen && slot.required() {
                return Err(de::Error::missing_field(field));
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        for (at, (_, slot)) in self.fields.iter_mut().enumerate() {
            if seq.next_element_seed(Slot(&mut **slot))?.is_none() {
                return Err(de::Error::invalid_length(at, &"a value for every field"));
            }
        }
        Ok(())
    }
}

/// Reads a field's name: its position among the record's fields.
struct FieldName<'f, 'a, 'de>(&'f [Field<'a, 'de>]);

impl<'de> DeserializeSeed<'de> for FieldName<'_, '_, 'de> {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl<'de> de::Visitor<'de> for FieldName<'_, '_, 'de> {
    type Value = usize;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<usize, E> {
        self.0
            .iter()
            .position(|(field, _)| *field == name)
            .ok_or_else(|| E::custom(UnknownField(name, self.0)))
    }

    fn visit_bytes<E: de::Error>(self, name: &[u8]) -> Result<usize, E> {
        match std::str::from_utf8(name) {
            Ok(name) => self.visit_str(name),
            Err(_) => Err(E::invalid_value(de::Unexpected::Bytes(name), &self)),
        }
    }
}

/// serde's `unknown field` message, with the record's own list of fields.
struct UnknownField<'n, 'f, 'a, 'de>(&'n str, &'f [Field<'a, 'de>]);

impl fmt::Display for UnknownField<'_, '_, '_, '_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "unknown field `{}`, ", self.0)?;
        match self.1 {
            [] => formatter.write_str("there are no fields"),
            [(only, _)] => write!(formatter, "expected `{only}`"),
            fields => {
                formatter.write_str("expected one of ")?;
                for (at, (field, _)) in fields.iter().enumerate() {
                    let separator = if at == 0 { "" } else { ", " };
                    write!(formatter, "{separator}`{field}`")?;
                }
                Ok(())
            }
        }
    }
}

/// Reads one field's value into its slot.
struct Slot<'s, 'de>(&'s mut dyn In<'de>);

impl<'de> DeserializeSeed<'de> for Slot<'_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        let mut erased = <dyn erased_serde::Deserializer>::erase(deserializer);
        self.0.read(&mut erased).map_err(de::Error::custom)
    }
}

/// `Serialize` and `Deserialize` for one generated record: what `#[derive(DiffModel)]`
/// calls instead of writing the impls out, so the derive's own expansion stays a few
/// lines per record. Its input: the record's name, `[impl generics]`, `[impl generics with
/// 'de]`, `[the type]`, `[serialize bounds]`, `[deserialize bounds]`, `default` (built from
/// `Default`, each field read into place) or `fields` (built from every field read), and
/// each field as `member "name" kind`, where kind is `optional`, `required`, `direct` or
/// `via`.
#[doc(hidden)]
#[macro_export]
macro_rules! __record_serde {
    (
        $name:literal, [$($impl:tt)*], [$($de_impl:tt)*], [$($ty:tt)*],
        [$($ser_where:tt)*], [$($de_where:tt)*], $build:ident,
        $($field:ident $field_name:literal $kind:ident),* $(,)?
    ) => {
        #[automatically_derived]
        impl $($impl)* $crate::__private::serde::Serialize for $($ty)* where $($ser_where)* {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                $crate::__serde_record::serialize(serializer, $name, &[
                    $(($field_name, $crate::__record_serde!(@out $kind &self.$field)),)*
                ])
            }
        }

        #[automatically_derived]
        impl $($de_impl)* $crate::__private::serde::Deserialize<'de> for $($ty)*
        where
            $($de_where)*
        {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                $crate::__record_serde!(@read $build deserializer $name $($field $field_name $kind)*)
            }
        }
    };
    (@out optional $value:expr) => { $crate::__serde_record::optional($value) };
    (@out via $value:expr) => {
        ::core::option::Option::Some(&$crate::__serde_record::ViaOut::<__Via, _>::new($value))
    };
    (@out $kind:ident $value:expr) => { $crate::__serde_record::required($value) };
    (@in optional $slot:expr) => { $crate::__serde_record::Optional($slot) };
    (@in via $slot:expr) => { $crate::__serde_record::ViaIn::<__Via, _>::new($slot) };
    (@in $kind:ident $slot:expr) => { $crate::__serde_record::Direct($slot) };
    (@read default $deserializer:ident $name:literal $($field:ident $field_name:literal $kind:ident)*) => {{
        let mut out = <Self as ::core::default::Default>::default();
        $crate::__serde_record::deserialize($deserializer, $name, &mut [
            $(($field_name, &mut $crate::__record_serde!(@in $kind &mut out.$field)),)*
        ])?;
        ::core::result::Result::Ok(out)
    }};
    (@read fields $deserializer:ident $name:literal $($field:ident $field_name:literal $kind:ident)*) => {{
        $(let mut $field = ::core::option::Option::None;)*
        $crate::__serde_record::deserialize($deserializer, $name, &mut [
            $(($field_name, &mut $crate::__serde_record::Required(&mut $field)),)*
        ])?;
        ::core::result::Result::Ok(Self {
            $($field: $crate::__serde_record::take($field, $field_name)?,)*
        })
    }};
}
