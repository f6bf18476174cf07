//! The examples that demonstrate the pattern variations run and end as they say.

fn run_example(name: &str) -> String {
    let output = std::process::Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--example", name])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{name} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn bidirectional_resolves_one_conflict_and_reports_one() {
    let out = run_example("bidirectional");
    assert!(out.contains("conflicts kept and reported: 1"), "{out}");
    assert!(
        out.contains("et-0/0/0 mtu: json Some(1450), sqlite Some(1450)"),
        "{out}"
    );
    assert!(out.contains(r#"role: "edge" -> "core""#), "{out}");
    assert!(out.contains("base committed: true"), "{out}");
}
