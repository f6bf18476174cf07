//! Reading a created or deleted model, or an update's values, of a diff with serde, its
//! nesting bounded.
//!
//! What a created or deleted model (or a changed attribute) holds is read by its own serde
//! impls, which statesync does not see into: a model that holds itself in a plain `Vec`,
//! or an attribute of a recursive type of the user's (an expression tree), nests as deep
//! as the bytes say, and a format without a nesting limit of its own (postcard, bincode)
//! reads it level after level on one stack until the stack overflows and the process
//! aborts, before the depth of what was read can be checked. So a diff reads the models
//! whose `DiffModel::READ_BOUNDED` the derive sets (a children field in a cycle, its own or
//! a descendant's, or a field of a type the derive cannot see to be bounded, its own or a
//! descendant's) through [`Bounded`], a deserializer that passes everything to the
//! format's and counts how deep values nest inside the model: sequences, maps and enums as
//! `serde_json` counts arrays and objects, up to [`NESTING`], and options and newtypes
//! (which JSON does not nest, but which recurse all the same in a format that tags them) up
//! to [`WRAPPING`]; deeper is the format's error. Each level runs where the stack holds
//! what a level may take, on a new segment when the thread's is short (as the levels of a
//! `Store` do), as judged by the model's size and by the stack the levels read so far
//! took: the first level of a value much larger than the model and what was read before
//! it can take more than that.

use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

use crate::model::DiffModel;

/// How deep sequences, maps and enums may nest inside a created or deleted model (or an
/// update's values) read in a diff: 128, as `serde_json` limits arrays and objects in a
/// whole document (so nothing it carries is refused here). A model that nests through a
/// `Vec` of children takes two per level.
const NESTING: usize = 128;

/// How deep options and newtypes may nest inside what [`NESTING`] bounds, beside it: four
/// per level of it (a recursive type that recurses through `Option<Box<...>>` takes one per
/// level; JSON, which does not nest them, cannot carry a chain of them alone).
const WRAPPING: usize = 4 * NESTING;

/// A segment of new stack beyond one level's, asked for at each check so that the next
/// levels need not ask again (asking costs a few dozen nanoseconds, more than reading a
/// small value), at most this much beyond one level's stack.
const SLACK: usize = 256 << 10;

/// Reads a created or deleted model of a diff (serde's `deserialize_with` of the two
/// variants of [`crate::Action`]), its nesting bounded by [`NESTING`] and [`WRAPPING`]
/// when `M::READ_BOUNDED`.
///
/// # Errors
/// The deserializer's, or its custom error when the model nests deeper.
pub(crate) fn read_payload<'de, M, D>(deserializer: D) -> Result<M, D::Error>
where
    M: DiffModel + de::Deserialize<'de>,
    D: Deserializer<'de>,
{
    read_bounded::<M, M, D>(deserializer, "a created or deleted")
}

/// Reads the changed attributes of an update in a diff (serde's `deserialize_with` of
/// [`crate::ModelUpdate::fields`]), bounded as [`read_payload`] bounds a model: an
/// attribute of a recursive type nests as deep as its bytes say.
///
/// # Errors
/// The deserializer's, or its custom error when the values nest deeper.
pub(crate) fn read_changes<'de, M, D>(deserializer: D) -> Result<M::Changes, D::Error>
where
    M: DiffModel,
    M::Changes: de::Deserialize<'de>,
    D: Deserializer<'de>,
{
    read_bounded::<M, M::Changes, D>(deserializer, "an updated")
}

/// Reads a `T` of a diff's element of model `M` (`what` it is, for the error), bounded
/// when `M::READ_BOUNDED`.
fn read_bounded<'de, M, T, D>(deserializer: D, what: &'static str) -> Result<T, D::Error>
where
    M: DiffModel,
    T: de::Deserialize<'de>,
    D: Deserializer<'de>,
{
    // A model whose nesting its types bound is read as serde reads it; reading it through
    // the wrapper would compile its serde a second time, for nothing. (A constant
    // condition: rustc compiles only the branch taken.)
    if !M::READ_BOUNDED {
        return T::deserialize(deserializer);
    }
    let budget = Budget {
        model: M::NAME,
        what,
        nesting: NESTING,
        wrapping: WRAPPING,
        stack: crate::depth::level_stack::<M>(),
        checked_at: 0,
        ensured: 0,
        last_at: 0,
    };
    T::deserialize(Bounded {
        inner: deserializer,
        budget,
    })
}

/// What is left of the nesting a value may take, the stack a level of it may take, and
/// what is known of the stack.
#[derive(Clone, Copy)]
struct Budget {
    /// The model's name, for the error.
    model: &'static str,
    /// What of it is read ("a created or deleted", "an updated"), for the error.
    what: &'static str,
    /// Sequences, maps and enums left.
    nesting: usize,
    /// Options and newtypes left.
    wrapping: usize,
    /// The stack a level may take: the created model's level (as a `Store` level is
    /// judged), or twice the most a level read so far took, if more.
    stack: usize,
    /// Where on the stack the last check was made (0: none yet).
    checked_at: usize,
    /// How much stack was left there, at least.
    ensured: usize,
    /// Where on the stack the enclosing level was read (0: none).
    last_at: usize,
}

/// Which count a level takes from.
#[derive(Clone, Copy)]
enum Kind {
    /// A sequence, a map or an enum.
    Nested,
    /// An option or a newtype.
    Wrapped,
}

impl Budget {
    /// One level deeper, or the error when none is left.
    fn enter<E: de::Error>(self, kind: Kind) -> Result<Self, E> {
        let (left, limit, what) = match kind {
            Kind::Nested => (self.nesting, NESTING, "sequences, maps and enums"),
            Kind::Wrapped => (self.wrapping, WRAPPING, "options and newtypes"),
        };
        let Some(left) = left.checked_sub(1) else {
            return Err(E::custom(format_args!(
                "{} `{}` model holds {what} nested deeper than the {limit} levels statesync \
                 reads in a diff (counting its own)",
                self.what, self.model
            )));
        };
        Ok(match kind {
            Kind::Nested => Self {
                nesting: left,
                ..self
            },
            Kind::Wrapped => Self {
                wrapping: left,
                ..self
            },
        })
    }

    /// Runs `read`, one level deeper, where the stack holds what a level may take. The
    /// stack left is asked for only once what has been used since the last answer leaves
    /// less than a level's worth of it.
    fn descend<T, E: de::Error>(
        self,
        kind: Kind,
        read: impl FnOnce(Self) -> Result<T, E>,
    ) -> Result<T, E> {
        let here = stack_address();
        // Two addresses are compared only within the stretch the last check made sure of,
        // which is one stack: other code (a `Store` level, the format) may have moved the
        // read to another segment since, anywhere in memory.
        let low = self.checked_at.saturating_sub(self.ensured);
        let checked = |at: usize| low <= at && at <= self.checked_at;
        let taken = if checked(here) && checked(self.last_at) {
            self.last_at.saturating_sub(here)
        } else {
            0
        };
        let inner = Self {
            stack: self.stack.max(taken.saturating_mul(2)),
            last_at: here,
            ..self.enter(kind)?
        };
        let used = checked(here).then(|| self.checked_at.saturating_sub(here));
        if used.is_some_and(|used| used.saturating_add(inner.stack) <= self.ensured) {
            return read(inner);
        }
        let needs = inner.stack.saturating_add(inner.stack.min(SLACK));
        crate::depth::on_stack(needs, || {
            let here = stack_address();
            read(Self {
                checked_at: here,
                ensured: needs,
                last_at: here,
                ..inner
            })
        })
    }
}

/// About where the stack is now: the address of a local (stacks grow down on every target
/// `stacker` supports, so deeper reads are at lower addresses).
#[inline(always)]
fn stack_address() -> usize {
    let local = 0_u8;
    std::ptr::addr_of!(local) as usize
}

/// The format's deserializer, handing its values to [`Bounded`] visitors.
struct Bounded<T> {
    inner: T,
    budget: Budget,
}

impl<T> Bounded<T> {
    /// `inner` wrapped with the same budget.
    fn wrap<U>(&self, inner: U) -> Bounded<U> {
        Bounded {
            inner,
            budget: self.budget,
        }
    }
}

/// Forwards `deserialize_*` methods that take only a visitor.
macro_rules! forward_deserialize {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            let visitor = self.wrap(visitor);
            self.inner.$method(visitor)
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Bounded<D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32
        deserialize_i64 deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32
        deserialize_u64 deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char
        deserialize_str deserialize_string deserialize_bytes deserialize_byte_buf
        deserialize_option deserialize_unit deserialize_seq deserialize_map
        deserialize_identifier deserialize_ignored_any
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let visitor = self.wrap(visitor);
        self.inner.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let visitor = self.wrap(visitor);
        self.inner.deserialize_newtype_struct(name, visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let visitor = self.wrap(visitor);
        self.inner.deserialize_tuple(len, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let visitor = self.wrap(visitor);
        self.inner.deserialize_tuple_struct(name, len, visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let visitor = self.wrap(visitor);
        self.inner.deserialize_struct(name, fields, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let visitor = self.wrap(visitor);
        self.inner.deserialize_enum(name, variants, visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// Forwards `visit_*` methods of values that hold no others.
macro_rules! forward_visit {
    ($($method:ident($ty:ty))*) => {$(
        fn $method<E: de::Error>(self, value: $ty) -> Result<V::Value, E> {
            self.inner.$method(value)
        }
    )*};
}

/// The visitor's values that hold others are read one level deeper.
impl<'de, V: Visitor<'de>> Visitor<'de> for Bounded<V> {
    type Value = V::Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(formatter)
    }

    forward_visit! {
        visit_bool(bool) visit_i8(i8) visit_i16(i16) visit_i32(i32) visit_i64(i64)
        visit_i128(i128) visit_u8(u8) visit_u16(u16) visit_u32(u32) visit_u64(u64)
        visit_u128(u128) visit_f32(f32) visit_f64(f64) visit_char(char)
        visit_str(&str) visit_borrowed_str(&'de str) visit_string(String)
        visit_bytes(&[u8]) visit_borrowed_bytes(&'de [u8]) visit_byte_buf(Vec<u8>)
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.budget.descend(Kind::Wrapped, |budget| {
            let inner = Bounded {
                inner: deserializer,
                budget,
            };
            self.inner.visit_some(inner)
        })
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<V::Value, D::Error> {
        self.budget.descend(Kind::Wrapped, |budget| {
            let inner = Bounded {
                inner: deserializer,
                budget,
            };
            self.inner.visit_newtype_struct(inner)
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.budget.descend(Kind::Nested, |budget| {
            let inner = Bounded { inner: seq, budget };
            self.inner.visit_seq(inner)
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.budget.descend(Kind::Nested, |budget| {
            let inner = Bounded { inner: map, budget };
            self.inner.visit_map(inner)
        })
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.budget.descend(Kind::Nested, |budget| {
            let inner = Bounded {
                inner: data,
                budget,
            };
            self.inner.visit_enum(inner)
        })
    }
}

/// A seed whose value is read through [`Bounded`].
impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Bounded<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        let deserializer = self.wrap(deserializer);
        self.inner.deserialize(deserializer)
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Bounded<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        let seed = self.wrap(seed);
        self.inner.next_element_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Bounded<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let seed = self.wrap(seed);
        self.inner.next_key_seed(seed)
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        let seed = self.wrap(seed);
        self.inner.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Bounded<A> {
    type Error = A::Error;
    type Variant = Bounded<A::Variant>;

    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Self::Variant), A::Error> {
        let (seed, budget) = (self.wrap(seed), self.budget);
        let (value, inner) = self.inner.variant_seed(seed)?;
        Ok((value, Bounded { inner, budget }))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Bounded<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.inner.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        let seed = self.wrap(seed);
        self.inner.newtype_variant_seed(seed)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        let visitor = self.wrap(visitor);
        self.inner.tuple_variant(len, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        let visitor = self.wrap(visitor);
        self.inner.struct_variant(fields, visitor)
    }
}
