//! Diffing equal models allocates nothing: counted by a global allocator, per thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use statesync::DiffModel;
use statesync_suite::dataset::generate;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator unchanged; only counts calls on this thread.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
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
