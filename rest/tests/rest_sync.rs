//! The `rest_sync` example, run from the workspace root as a user would: it converges
//! through injected failures and timeouts, and its second run has nothing to do.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Output;

fn rest_sync(args: &[&str]) -> Output {
    statesync_suite::fixtures::cargo()
        .args(["run", "--quiet", "--example", "rest_sync", "--"])
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "rest_sync failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn converges_through_failures_and_then_has_nothing_to_do() {
    let out = stdout(&rest_sync(&[
        "--interfaces",
        "96",
        "--latency-ms",
        "1",
        "--max-in-flight",
        "16",
        "--failure-rate",
        "0.15",
        "--timeout-rate",
        "0.05",
        "--seed",
        "3",
    ]));
    assert!(out.contains("round 1: created: "), "{out}");
    // Some of the 96 interfaces, 2 devices and 1 site failed at first (injected).
    assert!(!out.contains("round 1: created: 99, "), "{out}");
    assert!(out.contains("the service holds the source"), "{out}");
    assert!(out.contains("second run: nothing to do"), "{out}");
    assert!(
        out.contains("0 duplicates, 0 missing parents, 0 refused parent deletes"),
        "{out}"
    );
}

#[test]
fn without_failures_one_round_suffices() {
    let out = stdout(&rest_sync(&["--interfaces", "48", "--latency-ms", "0"]));
    assert!(
        out.contains("round 1: created: 50, updated: 0, deleted: 0, failed: 0"),
        "{out}"
    );
    assert!(out.contains("converged in 1 round "), "{out}");
    assert!(out.contains("second run: nothing to do"), "{out}");
}

#[test]
fn help_exits_zero_and_a_bad_option_does_not() {
    let help = stdout(&rest_sync(&["--help"]));
    for option in [
        "--latency-ms",
        "--max-in-flight",
        "--failure-rate",
        "--timeout-rate",
        "--interfaces",
    ] {
        assert!(help.contains(option), "{help}");
    }
    let bad = rest_sync(&["--latency-ms", "soon"]);
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    // Rates the service would refuse, no call in flight and no round are usage errors
    // (exit 2), refused before the service starts.
    for bad in [
        &["--failure-rate", "2"][..],
        &["--failure-rate", "NaN"],
        &["--max-in-flight", "0"],
        &["--max-rounds", "0"],
    ] {
        let refused = rest_sync(bad);
        assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    }
}
