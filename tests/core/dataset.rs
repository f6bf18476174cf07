//! The seeded generator and the hand-written baseline agree with the library.

use statesync::DiffModel;
use statesync_suite::baseline;
use statesync_suite::dataset::{generate, interface_count, mutate};

#[test]
fn the_generator_is_seeded_and_exact() {
    let a = generate(1000, 3);
    assert_eq!(a, generate(1000, 3));
    assert_ne!(a, generate(1000, 4));
    assert_eq!(interface_count(&a), 1000);
    assert_eq!(a.sites.len(), 3);
    assert_eq!(mutate(&a, 9), mutate(&a, 9));
}

#[test]
fn the_mutation_pass_has_the_schema_shape() {
    let old = generate(20_000, 1);
    let new = mutate(&old, 2);
    let summary = old.diff(&new).unwrap().summary();
    let total = 20_000.0;
    let updated = summary.update as f64 / total;
    assert!((0.03..0.07).contains(&updated), "{summary}");
    assert!(summary.create > 0 && summary.delete > 0, "{summary}");
}

#[test]
fn the_baseline_finds_the_same_updates() {
    let old = generate(5_000, 5);
    let new = mutate(&old, 6);
    let summary = old.diff(&new).unwrap().summary();
    let by_hand = baseline::diff(&old, &new);
    let updates = by_hand.updated_sites.len()
        + by_hand.updated_devices.len()
        + by_hand.updated_interfaces.len();
    assert_eq!(summary.update, updates);
}
