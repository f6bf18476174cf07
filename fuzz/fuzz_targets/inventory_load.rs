//! An inventory file's bytes through the loader's parse and checks (see
//! `statesync_suite::fuzzing::check_inventory_load`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = statesync_suite::fuzzing::check_inventory_load(data) {
        panic!("{violation}");
    }
});
