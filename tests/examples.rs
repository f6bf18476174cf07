//! The examples that demonstrate the pattern variations run and end as they say.

fn run_example(name: &str) -> String {
    let output = statesync_suite::fixtures::cargo()
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

#[test]
fn event_driven_syncs_only_what_the_events_touched() {
    let out = run_example("event_driven");
    assert!(out.contains("handled 100 events"), "{out}");
    assert!(
        out.contains("after the incremental sync, a full diff finds 0 changes"),
        "{out}"
    );
}

#[test]
fn partial_sync_stays_in_its_scope() {
    let out = run_example("partial_sync");
    assert!(
        out.contains("site-0002 now matches the source: true"),
        "{out}"
    );
    assert!(
        out.contains("site-0001 untouched (still differs from the source): true"),
        "{out}"
    );
}

#[test]
fn config_fanout_reports_per_component() {
    let out = run_example("config_fanout");
    assert!(out.contains("scale api to 5"), "{out}");
    assert!(out.contains("stop shipping debug logs"), "{out}");
}

#[test]
fn migration_is_idempotent() {
    let out = run_example("migration");
    assert!(
        out.contains("migration re-run: plan create: 0, update: 0, delete: 0"),
        "{out}"
    );
}

#[test]
fn client_server_ends_in_agreement() {
    let out = run_example("client_server");
    assert!(
        out.contains("alice = server: true, bob = server: true"),
        "{out}"
    );
    assert!(out.contains("{\"rejected\""), "{out}");
}

#[test]
fn projection_carries_edits_both_ways() {
    let out = run_example("projection");
    assert!(out.contains("enabled: true -> false"), "{out}");
    assert!(
        out.contains("+ port[site=ams, device=ams-d1, port=et-9]"),
        "{out}"
    );
}

#[test]
fn inventory_bench_prints_one_json_line_and_leaves_nothing_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let output = statesync_suite::fixtures::cargo()
        .args([
            "run",
            "--quiet",
            "--example",
            "inventory_bench",
            "--",
            "--write-dataset",
            "1000",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = String::from_utf8(output.stdout).unwrap();
    let result: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(result["after_sync_changes"], 0, "{line}");
    let changes = ["create", "update", "delete"]
        .iter()
        .map(|field| result[field].as_u64().unwrap())
        .sum::<u64>();
    assert!(changes > 0, "{line}");
    for field in ["load_s", "diff_s", "sync_s", "peak_rss_mb"] {
        assert!(result[field].as_f64().is_some(), "{field} missing: {line}");
    }
}

fn inventory(args: &[&str]) -> std::process::Output {
    statesync_suite::fixtures::cargo()
        .args(["run", "--quiet", "--example", "inventory", "--"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn inventory_help_prints_the_usage_and_exits_0() {
    let output = inventory(&["--help"]);
    assert!(output.status.success(), "{output:?}");
    let usage = String::from_utf8(output.stdout).unwrap();
    assert!(usage.starts_with("usage: inventory [OPTIONS]"), "{usage}");
    for option in [
        "--source FILE",
        "--db FILE",
        "--dry-run",
        "--partial",
        "--max-source-bytes BYTES",
        "-h, --help",
    ] {
        assert!(usage.contains(option), "{option} missing: {usage}");
    }
}

#[test]
fn inventory_refuses_an_unknown_argument() {
    let output = inventory(&["--frobnicate"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr.trim(),
        "error: unknown argument `--frobnicate`; try --help"
    );
    assert!(output.stdout.is_empty(), "nothing ran");
    let output = inventory(&["--db"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}

/// `--dry-run` says when the sync would be refused by the delete limit (it printed the plan
/// and "nothing written" as if the sync would go through).
#[test]
fn inventory_dry_run_tells_of_the_delete_limit() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.json");
    let small = dir.path().join("small.json");
    statesync_suite::json_file::save(&statesync_suite::dataset::generate(500, 3), &big).unwrap();
    statesync_suite::json_file::save(&statesync_suite::dataset::generate(50, 3), &small).unwrap();
    let db = dir.path().join("inv.sqlite");
    let db = db.to_str().unwrap();
    let synced = inventory(&["--source", big.to_str().unwrap(), "--db", db]);
    assert!(synced.status.success(), "{synced:?}");
    let planned = inventory(&["--dry-run", "--source", small.to_str().unwrap(), "--db", db]);
    assert!(planned.status.success(), "{planned:?}");
    let stdout = String::from_utf8(planned.stdout).unwrap();
    assert!(stdout.contains("the sync would be refused"), "{stdout}");
    let forced = inventory(&[
        "--dry-run",
        "--force",
        "--source",
        small.to_str().unwrap(),
        "--db",
        db,
    ]);
    let stdout = String::from_utf8(forced.stdout).unwrap();
    assert!(!stdout.contains("would be refused"), "{stdout}");
}

/// A sync stopped by a failure says how many changes it never tried: the engine lists
/// nothing after a stop, and the last line counted only the failed and skipped ones. The
/// failure is SQLite's, writing past a file-size limit (`ulimit -f`) once its cache spills.
#[test]
#[cfg(target_os = "linux")]
fn inventory_counts_the_changes_a_stop_left_untried() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.json");
    statesync_suite::json_file::save(&statesync_suite::dataset::generate(30_000, 5), &source)
        .unwrap();
    // Built before the limit applies to cargo too.
    assert!(inventory(&["--help"]).status.success());
    let limited = std::process::Command::new("sh")
        .current_dir(dir.path())
        .args(["-c", "trap '' XFSZ; ulimit -f 1000; exec \"$@\"", "sh"])
        .arg(env!("CARGO"))
        .args(["run", "--quiet", "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"))
        .args([
            "--example",
            "inventory",
            "--",
            "--db",
            "inv.sqlite",
            "--source",
        ])
        .arg(&source)
        .output()
        .unwrap();
    let stdout = String::from_utf8(limited.stdout).unwrap();
    let stderr = String::from_utf8(limited.stderr).unwrap();
    assert!(!limited.status.success(), "{stdout}{stderr}");
    let number_after = |text: &str, label: &str| -> usize {
        let at = text
            .find(label)
            .unwrap_or_else(|| panic!("{label}: {text}"))
            + label.len();
        let digits: String = text[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().unwrap()
    };
    let number_before = |text: &str, label: &str| -> usize {
        let at = text
            .find(label)
            .unwrap_or_else(|| panic!("{label}: {text}"));
        let start = text[..at]
            .trim_end_matches(|c: char| c.is_ascii_digit())
            .len();
        text[start..at].parse().unwrap()
    };
    let planned = number_after(&stdout, "create: ");
    let created = number_after(&stdout, "report: created: ");
    let failed = number_before(&stderr, " failed, ");
    let skipped = number_before(&stderr, " skipped with them");
    let untried = number_before(&stderr, " not tried after the stop");
    assert_eq!(
        created + failed + skipped + untried,
        planned,
        "{stdout}{stderr}"
    );
    assert!(
        created < planned,
        "the limit did not stop the sync: {stdout}"
    );
}

/// `--db` naming the demo dataset's file is refused before the dataset is written over the
/// database the run opened (the sync then committed into an unlinked file and said
/// "committed"), and the database file it created is removed.
#[test]
fn inventory_refuses_a_db_where_it_writes_the_demo_dataset() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &[
            "--generate",
            "100",
            "--db",
            "target/inventory-demo/source.json",
        ][..],
        &[
            "--generate",
            "100",
            "--mutate",
            "--db",
            "target/inventory-demo/source.json",
        ][..],
    ] {
        let output = statesync_suite::fixtures::example_in(dir.path(), "inventory")
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("where this run writes its demo dataset"),
            "{stderr}"
        );
        let left = dir.path().join("target/inventory-demo/source.json");
        assert!(!left.exists(), "{stderr}");
    }
}

/// A value the program cannot read is bad usage too: exit code 2, as an unknown argument.
#[test]
fn inventory_refuses_an_unreadable_value_with_exit_code_2() {
    let output = inventory(&["--generate", "many"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("many"), "{stderr}");
    // A size no machine holds is refused before anything is generated (it grew memory
    // until the process was killed).
    let output = inventory(&["--generate", "100000000000", "--dry-run"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("more than the limit"), "{stderr}");
}

/// An option that would be ignored is refused (`--generate` makes the demo source, which
/// `--source` replaces; `--max-source-bytes` limits a file `--source` names).
#[test]
fn inventory_refuses_options_it_would_ignore() {
    for args in [
        &["--source", "x.json", "--generate", "5"][..],
        &["--max-source-bytes", "10"][..],
    ] {
        let output = inventory(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        assert!(output.stdout.is_empty(), "nothing ran: {output:?}");
    }
}

/// The README's PostgreSQL section is `postgres/README-section.md` (the crate docs of
/// `statesync-postgres`, whose example runs there), with one paragraph more (saying so)
/// and its example marked `ignore`: the two do not drift apart (an outside tester found a
/// paragraph only the README had).
#[test]
fn the_readme_postgres_section_is_the_crate_docs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let crate_docs = std::fs::read_to_string(root.join("postgres/README-section.md")).unwrap();
    let start = readme
        .find("## PostgreSQL: shared state and sync workers")
        .unwrap();
    let end = readme[start + 1..]
        .find("\n## ")
        .map_or(readme.len(), |at| start + 1 + at);
    let section = readme[start..end].replace("```rust,ignore", "```rust");
    let paragraphs = |text: &str| -> Vec<String> {
        text.split("\n\n")
            .map(|paragraph| paragraph.trim().to_owned())
            .filter(|paragraph| !paragraph.is_empty())
            .collect()
    };
    let mut in_readme = paragraphs(&section);
    let saying_so = in_readme
        .iter()
        .position(|paragraph| paragraph.contains("this section is `postgres/README-section.md`"))
        .unwrap();
    drop(in_readme.remove(saying_so));
    assert_eq!(in_readme, paragraphs(&crate_docs));
}
