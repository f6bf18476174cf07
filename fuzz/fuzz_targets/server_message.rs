//! One request line to the demo server (see
//! `statesync_suite::fuzzing::check_server_message`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = statesync_suite::fuzzing::check_server_message(data) {
        panic!("{violation}");
    }
});
