//! The fuzz checks of `fuzz/` (see `statesync_suite::fuzzing`), run on stable over a few
//! thousand seeded inputs: valid diffs, inventories and requests, mutated.

use std::collections::HashMap;

use statesync_suite::fuzzing::{
    Inputs, Outcome, Violation, check_diff_apply, check_inventory_load, check_server_message,
};

/// Runs `check` on `count` inputs from `next`; fails on the first violation, showing the
/// input; returns how many inputs ended each way.
fn run(
    count: usize,
    mut next: impl FnMut() -> Vec<u8>,
    check: fn(&[u8]) -> Result<Outcome, Violation>,
) -> HashMap<Outcome, usize> {
    let mut outcomes = HashMap::new();
    for _ in 0..count {
        let input = next();
        match check(&input) {
            Ok(outcome) => *outcomes.entry(outcome).or_insert(0) += 1,
            Err(violation) => panic!("{violation}\ninput: {}", String::from_utf8_lossy(&input)),
        }
    }
    outcomes
}

/// Each kind of outcome must be reached often enough for the run to test something.
fn assert_spread(outcomes: &HashMap<Outcome, usize>, count: usize) {
    for outcome in [Outcome::Unreadable, Outcome::Refused, Outcome::Accepted] {
        let seen = outcomes.get(&outcome).copied().unwrap_or(0);
        assert!(
            seen * 20 >= count,
            "{outcome:?} in only {seen} of {count}: {outcomes:?}"
        );
    }
}

#[test]
fn diffs_read_applied_and_inverted() {
    let mut inputs = Inputs::new(0x5eed_0001);
    let count = 2_000;
    let outcomes = run(count, || inputs.diff_apply(), check_diff_apply);
    assert_spread(&outcomes, count);
}

#[test]
fn inventory_files_loaded() {
    let mut inputs = Inputs::new(0x5eed_0002);
    let count = 1_000;
    let outcomes = run(count, || inputs.inventory_file(), check_inventory_load);
    assert_spread(&outcomes, count);
}

#[test]
fn server_messages_handled() {
    let mut inputs = Inputs::new(0x5eed_0003);
    let count = 1_000;
    let outcomes = run(count, || inputs.server_message(), check_server_message);
    assert_spread(&outcomes, count);
}

/// Random bytes, and the empty input, break nothing either.
#[test]
fn arbitrary_bytes_are_harmless() {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut bytes = move || {
        let len = (state % 64) as usize;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect::<Vec<u8>>()
    };
    for _ in 0..500 {
        let input = bytes();
        check_diff_apply(&input).unwrap();
        check_inventory_load(&input).unwrap();
        check_server_message(&input).unwrap();
    }
    check_diff_apply(&[]).unwrap();
}
