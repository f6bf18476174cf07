//! Diffing equal models allocates nothing, and reading a store reserves no more than what a
//! format's size limit lets through: counted by a global allocator, per thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use statesync::DiffModel;
use statesync_suite::dataset::generate;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    static BYTES: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator unchanged; only counts calls on this thread.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        let _ = BYTES.try_with(|bytes| bytes.set(bytes.get() + layout.size()));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during<T>(work: impl FnOnce() -> T) -> (usize, T) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = work();
    (ALLOCATIONS.with(Cell::get) - before, out)
}

#[test]
fn diffing_equal_models_allocates_nothing() {
    let a = generate(500, 7);
    let b = a.clone();
    let device = a
        .sites
        .iter()
        .next()
        .unwrap()
        .devices
        .iter()
        .next()
        .unwrap();
    let interface = device.interfaces.iter().next().unwrap();
    let (count, diff) = allocations_during(|| interface.diff(&interface.clone()));
    // One allocation set for the clone itself (strings and the vlan list), none for the diff.
    let (clone_count, _) = allocations_during(|| interface.clone());
    assert_eq!(count, clone_count);
    assert!(diff.unwrap().is_empty());

    let (count, diff) = allocations_during(|| a.diff(&b));
    assert_eq!(count, 0, "a whole equal hierarchy diffs without allocating");
    assert_eq!(diff.unwrap().summary().unchanged, 1 + 11 + 500 + 2);
}

/// A model of 4 KiB.
#[derive(statesync::DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Big {
    #[statesync(id)]
    id: u32,
    blob: [[u64; 32]; 16],
}

/// A sequence that says it holds `usize::MAX` elements and holds none, as a few bytes of a
/// length-prefixed format (bincode) can claim under its size limit.
struct Claims;

impl<'de> serde::de::SeqAccess<'de> for Claims {
    type Error = serde::de::value::Error;

    fn next_element_seed<T: serde::de::DeserializeSeed<'de>>(
        &mut self,
        _seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        Ok(None)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(usize::MAX)
    }
}

impl<'de> serde::Deserializer<'de> for Claims {
    type Error = serde::de::value::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(
        self,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_seq(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

/// A model of one byte.
#[derive(statesync::DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Tiny {
    #[statesync(id)]
    id: u8,
}

/// The bytes allocated on this thread while reading a store from a sequence that claims
/// `usize::MAX` models.
fn reserved_for_a_claimed_length<M>() -> usize
where
    M: statesync::DiffModel + for<'de> serde::Deserialize<'de>,
{
    use serde::Deserialize;
    let before = BYTES.with(Cell::get);
    let store = statesync::Store::<M>::deserialize(Claims).unwrap();
    let reserved = BYTES.with(Cell::get) - before;
    assert!(store.is_empty());
    reserved
}

/// A store read from a sequence that claims `usize::MAX` models reserves, models and index
/// together, at most 1 MiB (serde's `Vec` reserves at most 1 MiB) and never more than
/// 4,096 models did: an outside tester's 17 nested stores of 4 KiB models reserved
/// 17.6 MB each from 8,943 bytes of bincode, and a first cap of 1 MiB of models alone
/// let a store of one-byte models reserve 28 MB of index (an outside reviewer).
#[test]
fn a_claimed_length_reserves_at_most_a_mebibyte() {
    assert!(std::mem::size_of::<Big>() >= 4096);
    let big = reserved_for_a_claimed_length::<Big>();
    assert!(big <= 1 << 20, "{big} bytes reserved for 4 KiB models");
    let tiny = reserved_for_a_claimed_length::<Tiny>();
    assert!(tiny <= 1 << 20, "{tiny} bytes reserved for one-byte models");
    assert!(
        tiny <= 4096 * 40,
        "{tiny} bytes: more than 4,096 models and their index"
    );
}
