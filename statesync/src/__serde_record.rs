//! The serde of the records `#[derive(DiffModel)]` generates (keys, changes, child diffs),
//! for generated code only.
//!
//! A generated impl is one call of [`__record_serde!`](crate::__record_serde), which hands
//! [`serialize`] and [`deserialize`] the record's field names and its fields as a balanced
//! tree of pairs of typed slots (`((first, second), (third, fourth))`). The work is written
//! here once, generic over that tree: it is compiled where a record is written or read, with
//! static dispatch, not in every crate that declares models (serde's derive would emit a few
//! hundred lines per record there). The format is the one `#[derive(Serialize,
//! Deserialize)]` with `deny_unknown_fields` writes and reads: a struct of named fields,
//! `None` changes and empty child diffs left out in human-readable formats (JSON) and
//! written in the others (postcard, bincode), which read a struct's fields by position; a
//! child diff left out reads as empty, so a diff that leaves a children field alone reads
//! across a model version without it.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess};
use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::__serde_child::{DeserializeVia, SerializeVia};

/// The fields of a record to write, each with the next of the record's names.
///
/// `Omit::None` leaves out `None` changes and empty child diffs; a format that is not
/// self-describing (not human-readable: postcard, bincode) writes a struct's fields in
/// order with no names, where a field left out would put every later one a place off, so
/// it gets them all.
pub trait Fields {
    /// How many fields will be written (not left out).
    fn present(&self, omit: Omit) -> usize;

    /// Writes each field under its name, or leaves it out.
    ///
    /// # Errors
    /// The serializer's.
    fn write<S: SerializeStruct>(
        &self,
        names: &mut std::slice::Iter<'_, &'static str>,
        record: &mut S,
        omit: Omit,
    ) -> Result<(), S::Error>;
}

/// What a record is, for the errors of writing it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Record {
    /// A model's key: what a map of children is keyed by, where a format may refuse a
    /// struct (`serde_json` writes a map's keys as strings).
    Key,
    /// A record of changes or of child diffs.
    Other,
}

impl Record {
    /// The error of a serializer that refused the record as a struct: `serde_json`'s
    /// refusal of a key as a map's key (`key must be a string`, which named neither the key
    /// nor the fix; an outside tester) says what a map of children keyed by it needs. Any
    /// other error (an I/O error of the writer, another format's) is left as it is.
    fn refused<S: Serializer>(self, name: &str, error: S::Error) -> S::Error {
        /// What `serde_json` says of a map key that is not a string.
        const NOT_A_STRING_KEY: &str = "key must be a string";
        if self != Record::Key || error.to_string() != NOT_A_STRING_KEY {
            return error;
        }
        serde::ser::Error::custom(format_args!(
            "{error}: the key `{name}` is a struct; if it keys a map of children, write the \
             field with `#[serde(with = \"statesync::serde_map\")]`"
        ))
    }
}

/// Which fields a record leaves out.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Omit {
    /// Fields that hold nothing, [`Omissible`] (self-describing formats such as JSON).
    None,
    /// Nothing (formats that write fields by position).
    Nothing,
}

/// No fields (a record without any, or an empty branch).
impl Fields for () {
    fn present(&self, _omit: Omit) -> usize {
        0
    }

    fn write<S: SerializeStruct>(
        &self,
        _names: &mut std::slice::Iter<'_, &'static str>,
        _record: &mut S,
        _omit: Omit,
    ) -> Result<(), S::Error> {
        Ok(())
    }
}

/// The fields of the left branch, then those of the right.
impl<H: Fields, T: Fields> Fields for (H, T) {
    fn present(&self, omit: Omit) -> usize {
        self.0.present(omit) + self.1.present(omit)
    }

    fn write<S: SerializeStruct>(
        &self,
        names: &mut std::slice::Iter<'_, &'static str>,
        record: &mut S,
        omit: Omit,
    ) -> Result<(), S::Error> {
        self.0.write(names, record, omit)?;
        self.1.write(names, record, omit)
    }
}

/// Writes one field that is always there.
fn write_one<S: SerializeStruct, T: Serialize + ?Sized>(
    names: &mut std::slice::Iter<'_, &'static str>,
    record: &mut S,
    value: &T,
) -> Result<(), S::Error> {
    match names.next() {
        Some(name) => record.serialize_field(name, value),
        None => Err(serde::ser::Error::custom(
            "a record with fewer names than fields",
        )),
    }
}

/// A field a record leaves out where `None` changes are left out ([`Omit::None`]) when it
/// holds nothing: a `None` change, or a child diff without elements and without unchanged
/// ones. A reader takes a field left out as empty, so a diff that does not touch a children
/// field reads across a model version without that field, in either direction.
pub trait Omissible {
    /// Whether the field holds nothing and is left out.
    fn is_nothing(&self) -> bool;
}

impl<T> Omissible for Option<T> {
    fn is_nothing(&self) -> bool {
        self.is_none()
    }
}

impl<M: crate::DiffModel> Omissible for crate::Diff<M> {
    fn is_nothing(&self) -> bool {
        self.is_empty() && self.unchanged_here() == 0
    }
}

/// A change or a child diff: written unless it holds nothing ([`Omissible`]) and such
/// fields are left out.
pub struct OptionalOut<'a, T>(pub &'a T);

impl<T: Serialize + Omissible> Fields for OptionalOut<'_, T> {
    fn present(&self, omit: Omit) -> usize {
        usize::from(!self.0.is_nothing() || omit == Omit::Nothing)
    }

    fn write<S: SerializeStruct>(
        &self,
        names: &mut std::slice::Iter<'_, &'static str>,
        record: &mut S,
        omit: Omit,
    ) -> Result<(), S::Error> {
        match names.next() {
            Some(name) if omit == Omit::None && self.0.is_nothing() => record.skip_field(name),
            Some(name) => record.serialize_field(name, self.0),
            None => Err(serde::ser::Error::custom(
                "a record with fewer names than fields",
            )),
        }
    }
}

/// A field always written (a key field).
pub struct RequiredOut<'a, T>(pub &'a T);

impl<T: Serialize> Fields for RequiredOut<'_, T> {
    fn present(&self, _omit: Omit) -> usize {
        1
    }

    fn write<S: SerializeStruct>(
        &self,
        names: &mut std::slice::Iter<'_, &'static str>,
        record: &mut S,
        _omit: Omit,
    ) -> Result<(), S::Error> {
        write_one(names, record, self.0)
    }
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

impl<V, T: Omissible> Omissible for ViaOut<'_, V, T> {
    fn is_nothing(&self) -> bool {
        self.0.is_nothing()
    }
}

/// Writes a record as a struct of its fields.
///
/// # Errors
/// The serializer's.
pub fn serialize<S: Serializer, F: Fields>(
    serializer: S,
    name: &'static str,
    names: &[&'static str],
    fields: &F,
    record: Record,
) -> Result<S::Ok, S::Error> {
    let omit = if serializer.is_human_readable() {
        Omit::None
    } else {
        Omit::Nothing
    };
    let mut record = serializer
        .serialize_struct(name, fields.present(omit))
        .map_err(|error| record.refused::<S>(name, error))?;
    fields.write(&mut names.iter(), &mut record, omit)?;
    record.end()
}

/// The slots a record's fields are read into, in the order of the record's names.
pub trait Slots<'de> {
    /// How many fields the tree holds.
    const LEN: usize;

    /// Reads the value of field `at` from `map`.
    ///
    /// # Errors
    /// The deserializer's.
    fn read<A: MapAccess<'de>>(&mut self, at: usize, map: &mut A) -> Result<(), A::Error>;

    /// Reads every field in order from `seq`; `false` when it ends first.
    ///
    /// # Errors
    /// The deserializer's.
    fn read_all<A: SeqAccess<'de>>(&mut self, seq: &mut A) -> Result<bool, A::Error>;

    /// The position (counted from `at`) of the first field the record needs that was not
    /// read, as `seen` tells.
    fn missing(&self, at: usize, seen: &Seen) -> Option<usize>;
}

/// No slots (a record without fields, or an empty branch).
impl<'de> Slots<'de> for () {
    const LEN: usize = 0;

    fn read<A: MapAccess<'de>>(&mut self, _at: usize, _map: &mut A) -> Result<(), A::Error> {
        Err(de::Error::custom(
            "a field beyond the record's (a bug in statesync)",
        ))
    }

    fn read_all<A: SeqAccess<'de>>(&mut self, _seq: &mut A) -> Result<bool, A::Error> {
        Ok(true)
    }

    fn missing(&self, _at: usize, _seen: &Seen) -> Option<usize> {
        None
    }
}

/// The slots of the left branch, then those of the right.
impl<'de, H: Slots<'de>, T: Slots<'de>> Slots<'de> for (H, T) {
    const LEN: usize = H::LEN + T::LEN;

    fn read<A: MapAccess<'de>>(&mut self, at: usize, map: &mut A) -> Result<(), A::Error> {
        match at.checked_sub(H::LEN) {
            None => self.0.read(at, map),
            Some(rest) => self.1.read(rest, map),
        }
    }

    fn read_all<A: SeqAccess<'de>>(&mut self, seq: &mut A) -> Result<bool, A::Error> {
        Ok(self.0.read_all(seq)? && self.1.read_all(seq)?)
    }

    fn missing(&self, at: usize, seen: &Seen) -> Option<usize> {
        self.0
            .missing(at, seen)
            .or_else(|| self.1.missing(at + H::LEN, seen))
    }
}

/// Implements [`Slots`] for a slot of one field, which reads its [`SlotValue`] and stores it
/// (`|this, value| store`); `$required` says whether the record needs the field.
macro_rules! slot {
    ($slot:ident<$($param:ident),*> where [$($bound:tt)*], $required:expr, |$this:ident, $value:ident| $store:expr) => {
        impl<'de, $($param),*> Slots<'de> for $slot<'_, $($param),*>
        where
            $($bound)*
        {
            const LEN: usize = 1;

            fn read<A: MapAccess<'de>>(&mut self, _at: usize, map: &mut A) -> Result<(), A::Error> {
                let $this = self;
                let $value = map.next_value_seed(Value::<Self>::new())?;
                $store;
                Ok(())
            }

            fn read_all<A: SeqAccess<'de>>(&mut self, seq: &mut A) -> Result<bool, A::Error> {
                let $this = self;
                match seq.next_element_seed(Value::<Self>::new())? {
                    Some($value) => {
                        $store;
                        Ok(true)
                    }
                    None => Ok(false),
                }
            }

            fn missing(&self, at: usize, seen: &Seen) -> Option<usize> {
                ($required && !seen.get(at)).then_some(at)
            }
        }
    };
}

/// What a slot reads: the value type of its field.
pub trait SlotValue<'de> {
    /// The field's value as read.
    type Value;

    /// Reads it.
    ///
    /// # Errors
    /// The deserializer's.
    fn read_value<D: Deserializer<'de>>(deserializer: D) -> Result<Self::Value, D::Error>;
}

/// Reads a value of a slot type `S`.
struct Value<S>(PhantomData<fn() -> S>);

impl<S> Value<S> {
    fn new() -> Self {
        Self(PhantomData)
    }
}

impl<'de, S: SlotValue<'de>> DeserializeSeed<'de> for Value<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        S::read_value(deserializer)
    }
}

/// A change: `None` unless read.
pub struct Optional<'a, T>(pub &'a mut Option<T>);

impl<'de, T: Deserialize<'de>> SlotValue<'de> for Optional<'_, T> {
    type Value = Option<T>;

    fn read_value<D: Deserializer<'de>>(deserializer: D) -> Result<Option<T>, D::Error> {
        Option::deserialize(deserializer)
    }
}

slot!(Optional<T> where [T: Deserialize<'de>], false, |this, value| *this.0 = value);

/// A field the record needs, read into `Some`.
pub struct Required<'a, T>(pub &'a mut Option<T>);

impl<'de, T: Deserialize<'de>> SlotValue<'de> for Required<'_, T> {
    type Value = T;

    fn read_value<D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
        T::deserialize(deserializer)
    }
}

slot!(Required<T> where [T: Deserialize<'de>], true, |this, value| *this.0 = Some(value));

/// A child diff, read in place; left out, the record's own (an empty diff) stays.
pub struct Direct<'a, T>(pub &'a mut T);

impl<'de, T: Deserialize<'de>> SlotValue<'de> for Direct<'_, T> {
    type Value = T;

    fn read_value<D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
        T::deserialize(deserializer)
    }
}

slot!(Direct<T> where [T: Deserialize<'de>], false, |this, value| *this.0 = value);

/// A child diff, read through its `__Via` parameter; left out, the record's own (an
/// empty diff) stays.
pub struct ViaIn<'a, V, T>(&'a mut T, PhantomData<fn() -> V>);

impl<'a, V, T> ViaIn<'a, V, T> {
    /// Reads into `slot`.
    pub fn new(slot: &'a mut T) -> Self {
        Self(slot, PhantomData)
    }
}

impl<'de, V: DeserializeVia<'de, T>, T> SlotValue<'de> for ViaIn<'_, V, T> {
    type Value = T;

    fn read_value<D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
        V::deserialize_via(deserializer)
    }
}

slot!(ViaIn<V, T> where [V: DeserializeVia<'de, T>], false, |this, value| *this.0 = value);

/// Which fields of a record were read.
pub struct Seen {
    /// Up to 64 fields, one bit each (no allocation for every record read).
    bits: u64,
    /// Beyond 64, one flag each.
    more: Vec<bool>,
}

impl Seen {
    fn new(len: usize) -> Self {
        Self {
            bits: 0,
            more: if len > 64 {
                vec![false; len]
            } else {
                Vec::new()
            },
        }
    }

    fn get(&self, at: usize) -> bool {
        match self.more.get(at) {
            Some(&seen) => seen,
            None => at < 64 && self.bits & (1 << at) != 0,
        }
    }

    /// Marks `at` read; whether it was already.
    fn set(&mut self, at: usize) -> bool {
        let before = self.get(at);
        if let Some(seen) = self.more.get_mut(at) {
            *seen = true;
        } else if at < 64 {
            self.bits |= 1 << at;
        }
        before
    }
}

/// Reads a record written by [`serialize`] (or by serde's derive) into its slots:
/// unknown and repeated fields are errors, and so is a missing field the record needs.
///
/// # Errors
/// The deserializer's, or one of the above.
pub fn deserialize<'de, D: Deserializer<'de>, S: Slots<'de>>(
    deserializer: D,
    name: &'static str,
    names: &'static [&'static str],
    slots: &mut S,
) -> Result<(), D::Error> {
    deserializer.deserialize_struct(name, names, RecordVisitor { name, names, slots })
}

/// A value that was read, or `missing field` naming `field` (after [`deserialize`], the
/// fields a record needs are there).
///
/// # Errors
/// `missing field`.
pub fn take<T, E: de::Error>(value: Option<T>, field: &'static str) -> Result<T, E> {
    value.ok_or_else(|| E::missing_field(field))
}

struct RecordVisitor<'s, S> {
    name: &'static str,
    names: &'static [&'static str],
    slots: &'s mut S,
}

impl<'de, S: Slots<'de>> de::Visitor<'de> for RecordVisitor<'_, S> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "struct {}", self.name)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = Seen::new(self.names.len());
        while let Some(at) = map.next_key_seed(FieldName(self.names))? {
            if seen.set(at) {
                let field = self.names.get(at).copied().unwrap_or_default();
                return Err(de::Error::duplicate_field(field));
            }
            self.slots.read(at, &mut map)?;
        }
        match self.slots.missing(0, &seen) {
            Some(at) => Err(de::Error::missing_field(
                self.names.get(at).copied().unwrap_or_default(),
            )),
            None => Ok(()),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.slots.read_all(&mut seq)? {
            Ok(())
        } else {
            Err(de::Error::invalid_length(
                S::LEN,
                &"a value for every field",
            ))
        }
    }
}

/// Reads a field's name: its position among the record's names (also for [`Diff`]'s own
/// fields).
///
/// [`Diff`]: crate::Diff
pub(crate) struct FieldName(pub(crate) &'static [&'static str]);

impl<'de> DeserializeSeed<'de> for FieldName {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl<'de> de::Visitor<'de> for FieldName {
    type Value = usize;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<usize, E> {
        self.0
            .iter()
            .position(|field| *field == name)
            .ok_or_else(|| E::unknown_field(name, self.0))
    }

    fn visit_bytes<E: de::Error>(self, name: &[u8]) -> Result<usize, E> {
        match std::str::from_utf8(name) {
            Ok(name) => self.visit_str(name),
            Err(_) => Err(E::invalid_value(de::Unexpected::Bytes(name), &self)),
        }
    }

    /// A field named by its index, as formats that do not write names (CBOR's packed
    /// mode) name it, and as serde's own derive reads it.
    fn visit_u64<E: de::Error>(self, index: u64) -> Result<usize, E> {
        usize::try_from(index)
            .ok()
            .filter(|&at| at < self.0.len())
            .ok_or_else(|| E::invalid_value(de::Unexpected::Unsigned(index), &self))
    }
}

/// `Serialize` and `Deserialize` for one generated record: what `#[derive(DiffModel)]`
/// calls instead of writing the impls out, so the derive's own expansion stays a few
/// lines per record. Its input: the record's name, `[impl generics]`, `[impl generics with
/// '__de]`, `[the type]`, `[serialize bounds]`, `[deserialize bounds]`, `default` (built from
/// `Default`, each field read into place) or `fields` (built from every field read), the
/// fields as `[member "name" kind, ...]` (kind: `optional`, `required`, `direct` or `via`),
/// and the same fields as a balanced tree (`[left right]`, `(member kind)`, `[]`), which
/// becomes the nested list of [`Fields`] and [`Slots`]: a macro step per level of the tree,
/// so records of any width stay within the recursion limit.
#[doc(hidden)]
#[macro_export]
macro_rules! __record_serde {
    (
        $name:literal, [$($impl:tt)*], [$($de_impl:tt)*], [$($ty:tt)*],
        [$($ser_where:tt)*], [$($de_where:tt)*], $build:ident,
        [$($field:ident $field_name:literal $kind:ident),*], $tree:tt
    ) => {
        #[automatically_derived]
        #[allow(deprecated, non_snake_case, clippy::all, clippy::pedantic)]
        impl $($impl)* $crate::__private::serde::Serialize for $($ty)* where $($ser_where)* {
            fn serialize<__S: $crate::__private::serde::Serializer>(
                &self,
                serializer: __S,
            ) -> ::core::result::Result<__S::Ok, __S::Error> {
                $crate::__serde_record::serialize(
                    serializer,
                    $name,
                    &[$($field_name),*],
                    &$crate::__record_serde!(@outs self $tree),
                    $crate::__record_serde!(@record $build),
                )
            }
        }

        #[automatically_derived]
        #[allow(deprecated, non_snake_case, clippy::all, clippy::pedantic)]
        impl $($de_impl)* $crate::__private::serde::Deserialize<'__de> for $($ty)*
        where
            $($de_where)*
        {
            fn deserialize<__D: $crate::__private::serde::Deserializer<'__de>>(
                deserializer: __D,
            ) -> ::core::result::Result<Self, __D::Error> {
                $crate::__record_serde!(
                    @read $build deserializer $name [$($field $field_name)*] $tree
                )
            }
        }
    };
    (@record fields) => { $crate::__serde_record::Record::Key };
    (@record default) => { $crate::__serde_record::Record::Other };
    (@outs $this:ident []) => { () };
    (@outs $this:ident [$left:tt $right:tt]) => {
        (
            $crate::__record_serde!(@outs $this $left),
            $crate::__record_serde!(@outs $this $right),
        )
    };
    (@outs $this:ident ($field:ident optional)) => {
        $crate::__serde_record::OptionalOut(&$this.$field)
    };
    (@outs $this:ident ($field:ident via)) => {
        $crate::__serde_record::OptionalOut(
            &$crate::__serde_record::ViaOut::<__Via, _>::new(&$this.$field),
        )
    };
    (@outs $this:ident ($field:ident direct)) => {
        $crate::__serde_record::OptionalOut(&$this.$field)
    };
    (@outs $this:ident ($field:ident $kind:ident)) => {
        $crate::__serde_record::RequiredOut(&$this.$field)
    };
    (@ins $out:ident []) => { () };
    (@ins $out:ident [$left:tt $right:tt]) => {
        (
            $crate::__record_serde!(@ins $out $left),
            $crate::__record_serde!(@ins $out $right),
        )
    };
    (@ins $out:ident ($field:ident optional)) => {
        $crate::__serde_record::Optional(&mut $out.$field)
    };
    (@ins $out:ident ($field:ident via)) => {
        $crate::__serde_record::ViaIn::<__Via, _>::new(&mut $out.$field)
    };
    (@ins $out:ident ($field:ident $kind:ident)) => {
        $crate::__serde_record::Direct(&mut $out.$field)
    };
    (@required []) => { () };
    (@required [$left:tt $right:tt]) => {
        (
            $crate::__record_serde!(@required $left),
            $crate::__record_serde!(@required $right),
        )
    };
    (@required ($field:ident $kind:ident)) => { $crate::__serde_record::Required(&mut $field) };
    (@read default $deserializer:ident $name:literal [$($field:ident $field_name:literal)*] $tree:tt) => {{
        let mut out = <Self as ::core::default::Default>::default();
        $crate::__serde_record::deserialize(
            $deserializer,
            $name,
            &[$($field_name),*],
            &mut $crate::__record_serde!(@ins out $tree),
        )?;
        ::core::result::Result::Ok(out)
    }};
    (@read fields $deserializer:ident $name:literal [$($field:ident $field_name:literal)*] $tree:tt) => {{
        $(let mut $field = ::core::option::Option::None;)*
        $crate::__serde_record::deserialize(
            $deserializer,
            $name,
            &[$($field_name),*],
            &mut $crate::__record_serde!(@required $tree),
        )?;
        ::core::result::Result::Ok(Self {
            $($field: $crate::__serde_record::take($field, $field_name)?,)*
        })
    }};
}
