//! A `Diff<T>` read from JSON, applied and inverted, for the inventory models and a
//! self-recursive model: the first byte picks the target state, the rest is the diff. The
//! laws checked are in `statesync_suite::fuzzing` (shared with `tests/fuzz.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = statesync_suite::fuzzing::check_diff_apply(data) {
        panic!("{violation}");
    }
});
