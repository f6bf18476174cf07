//! Versions stored as diffs, and their persistent form.

use statesync::merge::History;
use statesync_suite::fixtures::{inventory, site};
use statesync_suite::inventory::{Inventory, SiteKey};

fn versions() -> (History<Inventory>, Vec<Inventory>) {
    let mut states = vec![inventory()];
    let mut history = History::new(inventory()).unwrap();
    let mut next = inventory();
    next.sites.insert(site("lon", 1, 1)).unwrap();
    states.push(next.clone());
    history.commit(&next, "add lon").unwrap();
    next.sites.remove(&SiteKey { name: "nyc".into() });
    states.push(next.clone());
    history.commit(&next, "drop nyc").unwrap();
    (history, states)
}

#[test]
fn checkout_rebuilds_every_version() {
    let (history, states) = versions();
    assert_eq!(history.version(), 2);
    for (version, state) in states.iter().enumerate() {
        assert_eq!(&history.checkout(version).unwrap(), state);
    }
    assert!(history.checkout(3).is_err());
    let listed: Vec<(usize, &str)> = history.versions().collect();
    assert_eq!(listed, [(0, "initial"), (1, "add lon"), (2, "drop nyc")]);
}

#[test]
fn revert_undoes_one_commit_on_top_of_the_rest() {
    let (mut history, _) = versions();
    history.revert(1, "no lon after all").unwrap();
    let head = history.head();
    assert!(!head.sites.contains(&SiteKey { name: "lon".into() }));
    assert!(
        !head.sites.contains(&SiteKey { name: "nyc".into() }),
        "commit 2 stays"
    );
    assert_eq!(history.version(), 3);
    // Reverting the same commit again no longer applies: an error that says it was a
    // revert and what stood in its way, nothing committed.
    let again = history.revert(1, "again").unwrap_err();
    assert_eq!(
        again.to_string(),
        "cannot revert version 1: a later commit changed what it changed (cannot delete \
         inventory.sites.site[name=lon]: no such element)"
    );
    assert!(matches!(
        again,
        statesync::Error::RevertConflict { version: 1, .. }
    ));
    assert_eq!(history.version(), 3);
    assert!(history.revert(9, "no such commit").is_err());
}

/// A version a history cannot give is said so, not "cannot update version[0]: no such
/// element" (version 0 is there: it is the initial state, which no commit made).
#[test]
fn a_missing_version_is_named_for_what_was_asked() {
    let (mut history, _) = versions();
    let checkout = history.checkout(3).unwrap_err();
    assert_eq!(
        checkout.to_string(),
        "cannot check out version 3: the versions are 0 to 2"
    );
    assert!(matches!(
        checkout,
        statesync::Error::NoVersion {
            version: 3,
            head: 2,
            ..
        }
    ));
    for version in [0, 3] {
        assert_eq!(
            history.revert(version, "none").unwrap_err().to_string(),
            format!(
                "cannot revert version {version}: the commits are versions 1 to 2 (version 0 \
                 is the initial state)"
            )
        );
    }
    assert_eq!(history.version(), 2);
    assert_eq!(
        history.diff_since(7).unwrap_err().to_string(),
        "cannot check out version 7: the versions are 0 to 2"
    );
    let mut fresh = History::new(inventory()).unwrap();
    assert_eq!(
        fresh.revert(1, "none").unwrap_err().to_string(),
        "cannot revert version 1: the history has no commit (version 0 is the initial state)"
    );
}

#[test]
fn a_history_survives_a_restart() {
    let (history, states) = versions();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.json");
    history.save(&path).unwrap();
    let loaded = History::<Inventory>::load(&path).unwrap();
    assert_eq!(loaded, history);
    assert_eq!(loaded.head(), states.last().unwrap());
    std::fs::write(&path, b"{\"initial\": 3}").unwrap();
    assert!(History::<Inventory>::load(&path).is_err());
}

/// A file whose commits are not numbered 1, 2, 3... (one dropped, one renumbered) is
/// refused: checkout and revert go by position, and the next commit would repeat a number.
#[test]
fn a_history_with_commits_out_of_number_is_refused() {
    let (history, states) = versions();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.json");
    history.save(&path).unwrap();
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();

    let mut dropped = saved.clone();
    dropped["commits"].as_array_mut().unwrap().remove(0);
    dropped["initial"] = serde_json::to_value(&states[1]).unwrap();
    let mut renumbered = saved;
    renumbered["commits"][1]["version"] = 7.into();
    for (edited, found) in [(dropped, 2), (renumbered, 7)] {
        std::fs::write(&path, serde_json::to_vec(&edited).unwrap()).unwrap();
        let error = History::<Inventory>::load(&path).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        assert!(
            error
                .to_string()
                .contains(&format!("commit numbered {found}")),
            "{error}"
        );
    }
}

/// A file `save` could not have written is refused as the other formats refuse it: an
/// unknown field at the top or in a commit, or a commit that changes nothing (`commit`
/// records none). Before, all three loaded.
#[test]
fn a_history_file_with_unknown_fields_or_an_empty_commit_is_refused() {
    let (history, _) = versions();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.json");
    history.save(&path).unwrap();
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let mut extra = saved.clone();
    extra["extra"] = 1.into();
    let mut extra_in_commit = saved.clone();
    extra_in_commit["commits"][0]["extra"] = 1.into();
    let mut bad_value = saved.clone();
    bad_value["initial"]["sites"][0]["region"] = 1.into();
    let mut empty = saved;
    empty["commits"][1]["diff"]["elements"] = serde_json::json!([]);
    // A value serde refuses is named with the version holding it (it named only the file
    // and a column of its one line; found by an outside tester).
    for (edited, says) in [
        (extra, "history.json: unknown field `extra`"),
        (
            extra_in_commit,
            "history.json: version 1: unknown field `extra`",
        ),
        (
            bad_value,
            "history.json: version 0 (the initial state): invalid type",
        ),
        (empty, "commit 2 changes nothing"),
    ] {
        std::fs::write(&path, serde_json::to_vec(&edited).unwrap()).unwrap();
        let error = History::<Inventory>::load(&path).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        assert!(error.to_string().contains(says), "{error}");
    }
}

/// A commit whose changes keep their old values (`region: "eu" -> "eu"`, written by hand)
/// changes nothing, and is refused as an empty one is: `commit` records no such version.
/// Before, it loaded as a version of its own.
#[test]
fn a_history_file_commit_whose_changes_keep_their_values_is_refused() {
    let mut history = History::new(inventory()).unwrap();
    let mut next = inventory();
    let nyc = SiteKey { name: "nyc".into() };
    next.sites.get_mut(&nyc).unwrap().region = "us-west".into();
    history.commit(&next, "move nyc").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.json");
    history.save(&path).unwrap();
    let mut saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let root = &mut saved["commits"][0]["diff"]["elements"][0]["action"]["update"];
    let site = &mut root["children"]["sites"]["elements"][0]["action"]["update"];
    let change = &mut site["fields"]["region"];
    assert_eq!(change["new"], "us-west");
    change["new"] = change["old"].clone();
    std::fs::write(&path, serde_json::to_vec(&saved).unwrap()).unwrap();
    let error = History::<Inventory>::load(&path).unwrap_err();
    assert!(
        error.to_string().contains("commit 1 changes nothing"),
        "{error}"
    );
}

/// A path that is not a file (a device that never ends, a FIFO that blocks) is refused
/// before reading, and so is a file over the limit; each error names the path.
#[test]
fn load_reads_only_a_regular_file_within_its_limit() {
    let (history, _) = versions();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.json");
    history.save(&path).unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    assert_eq!(
        History::<Inventory>::load_capped(&path, size).unwrap(),
        history
    );
    let error = History::<Inventory>::load_capped(&path, size - 1).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::FileTooLarge);
    assert!(error.to_string().contains("history.json"), "{error}");
    #[cfg(unix)]
    {
        let error = History::<Inventory>::load(std::path::Path::new("/dev/zero")).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput, "{error}");
        assert!(
            error
                .to_string()
                .contains("/dev/zero: is a character device"),
            "{error}"
        );
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let error = History::<Inventory>::load(&fifo).unwrap_err();
        assert!(error.to_string().contains("is a FIFO"), "{error}");
    }
    let error = History::<Inventory>::load(dir.path()).unwrap_err();
    assert!(error.to_string().contains("is a directory"), "{error}");
}

#[derive(statesync::DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Gauges {
    #[statesync(children)]
    gauges: statesync::Store<Gauge>,
}

#[derive(statesync::DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Gauge {
    #[statesync(id)]
    name: String,
    reading: f64,
    limit: Option<f64>,
}

fn gauges(reading: f64, limit: Option<f64>) -> Gauges {
    let gauge = Gauge {
        name: "g".into(),
        reading,
        limit,
    };
    Gauges {
        gauges: statesync::Store::try_from_iter([gauge]).unwrap(),
    }
}

/// JSON writes a NaN float as `null`: a history holding one is refused by `save`, naming
/// the file and the version, and the file keeps its previous contents (found by an
/// outside review: the file was written and then could not be loaded).
#[test]
fn save_refuses_what_json_cannot_hold_and_keeps_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gauges.json");
    let mut history = History::new(gauges(1.0, Some(2.0))).unwrap();
    history.commit(&gauges(3.0, None), "good").unwrap();
    history.save(&path).unwrap();
    let saved = std::fs::read(&path).unwrap();

    for (bad, version) in [
        (gauges(f64::NAN, None), 2),
        (gauges(3.0, Some(f64::NAN)), 2),
        (gauges(f64::INFINITY, None), 2),
    ] {
        let mut with_bad = history.clone();
        with_bad.commit(&bad, "bad").unwrap();
        with_bad.commit(&gauges(4.0, None), "after").unwrap();
        let error = with_bad.save(&path).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        let message = error.to_string();
        assert!(message.contains("gauges.json"), "{message}");
        assert!(message.contains(&format!("version {version}")), "{message}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            saved,
            "the file is unchanged"
        );
    }
    let nan_initial = History::new(gauges(f64::NAN, None)).unwrap();
    let error = nan_initial.save(&path).unwrap_err().to_string();
    assert!(error.contains("version 0 does not read back"), "{error}");
    assert!(error.contains("NaN"), "{error}");
    assert_eq!(History::<Gauges>::load(&path).unwrap(), history);
}

/// A model whose serde drops a compared field (`skip_serializing`, as for a secret).
#[derive(statesync::DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Account {
    #[statesync(id)]
    login: String,
    #[serde(skip_serializing, default)]
    password_hash: String,
}

/// A version whose serde loses a field is refused naming the element and the field (not
/// its values): the message blamed NaN floats and `Option<Option<T>>` alone (found by an
/// outside tester).
#[test]
fn save_shows_what_a_version_loses_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accounts.json");
    let account = Account {
        login: "ann".into(),
        password_hash: "$6$x".into(),
    };
    let error = History::new(account).unwrap().save(&path).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
    let message = error.to_string();
    assert!(
        message.contains(
            "version 0 (account[login=ann] reads back with other `password_hash`; values not shown)"
        ),
        "{message}"
    );
    // What serde skipped is often a secret: its value is not in the error.
    assert!(!message.contains("$6$x"), "{message}");
    assert!(message.contains("skip_serializing"), "{message}");
    assert!(!path.exists());
}

#[derive(statesync::DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Vault {
    #[statesync(children)]
    accounts: statesync::Store<Account>,
}

/// A delete whose payload loses a field in JSON (the model's serde skips it, where the
/// update before it carried it in its record of changes) is refused naming the element
/// and the field: the message named only the version (an outside tester).
#[test]
fn save_shows_what_a_deleted_model_loses_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.json");
    let vault = |hash: Option<&str>| Vault {
        accounts: statesync::Store::try_from_iter(hash.map(|hash| Account {
            login: "ann".into(),
            password_hash: hash.into(),
        }))
        .unwrap(),
    };
    let mut history = History::new(vault(Some(""))).unwrap();
    history.commit(&vault(Some("$6$x")), "set").unwrap();
    history.commit(&vault(None), "close").unwrap();
    let message = history.save(&path).unwrap_err().to_string();
    assert!(
        message.contains(
            "version 2 (cannot delete vault.accounts.account[login=ann]: field `password_hash`"
        ),
        "{message}"
    );
    assert!(!message.contains("$6$x"), "{message}");
    assert!(!path.exists());
}

#[derive(statesync::DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Shelf {
    #[statesync(children)]
    books: Vec<Book>,
}

#[derive(statesync::DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Book {
    #[statesync(id)]
    title: String,
}

/// An initial state whose `Vec` of children repeats a key is refused, by `new` and by
/// `load` (a hand-edited file): no commit could be diffed against it. Before, both took it,
/// every later commit failed, and `save` blamed a float that JSON cannot hold.
#[test]
fn an_initial_state_that_repeats_a_key_is_refused() {
    let book = || Book {
        title: "dune".into(),
    };
    let twice = Shelf {
        books: vec![book(), book()],
    };
    let error = History::new(twice.clone()).unwrap_err();
    assert!(
        matches!(error, statesync::Error::DuplicateKey { .. }),
        "{error}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.json");
    History::new(Shelf {
        books: vec![book()],
    })
    .unwrap()
    .save(&path)
    .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replacen(
        r#""books":[{"title":"dune"}]"#,
        r#""books":[{"title":"dune"},{"title":"dune"}]"#,
        1,
    );
    assert_ne!(edited, text, "the file holds the initial state: {text}");
    std::fs::write(&path, edited).unwrap();
    let error = History::<Shelf>::load(&path).unwrap_err();
    let replay = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<statesync::merge::ReplayError>());
    assert_eq!(replay.map(|replay| replay.version), Some(0), "{error}");
    assert!(
        matches!(
            replay.map(|replay| &replay.error),
            Some(statesync::Error::DuplicateKey { .. })
        ),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains(": the initial state is refused: duplicate key"),
        "{error}"
    );
}

/// A file of another shape says what a history is (it said `expected struct Stored`, the
/// name of an internal type), and the empty path is named in words (it printed nothing
/// before the colon).
#[test]
fn a_file_of_another_shape_and_the_empty_path_say_what_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.json");
    std::fs::write(&path, "[]").unwrap();
    let error = History::<Shelf>::load(&path).unwrap_err().to_string();
    assert!(
        error.contains("expected a history: an object of `initial` and `commits`"),
        "{error}"
    );
    let error = History::<Shelf>::load(std::path::Path::new("")).unwrap_err();
    assert!(error.to_string().starts_with("the empty path: "), "{error}");
}

/// A commit that changes nothing records no version, as `PgHistory`'s: `commit` returns
/// the head's version, and `commit_diff` (a replica's push) refuses it as `Unchanged`, so a
/// replica pushing nothing makes no other one stale.
#[test]
fn a_commit_that_changes_nothing_records_no_version() {
    let (mut history, states) = versions();
    let head = history.version();
    let last = states.last().unwrap().clone();
    assert_eq!(history.commit(&last, "again").unwrap(), head);
    assert_eq!(history.version(), head);
    let refused = history.commit_diff(head, &statesync::Diff::default(), "nothing");
    assert_eq!(refused, Err(statesync::merge::Refused::Unchanged));
    assert_eq!(history.commits().len(), head);
}

#[derive(statesync::DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Project {
    #[statesync(children)]
    docs: statesync::Store<Doc>,
}

#[derive(statesync::DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Doc {
    #[statesync(id)]
    name: String,
    body: serde_json::Value,
}

/// A JSON value nested `levels` objects deep.
fn nested(levels: usize) -> serde_json::Value {
    (0..levels).fold(
        serde_json::json!("leaf"),
        |inner, _| serde_json::json!({ "k": inner }),
    )
}

/// A version nested deeper than `serde_json` reads inside the file (though it reads back
/// alone, one or two containers shallower) is named with the parser's reason: the error
/// named no version, or named one and blamed NaN floats and serde attributes (found by an
/// outside tester).
#[test]
fn save_names_the_version_nested_too_deep_for_json_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("project.json");
    for levels in [115, 120] {
        let doc = Doc {
            name: "spec".into(),
            body: nested(levels),
        };
        let mut history = History::new(Project {
            docs: statesync::Store::new(),
        })
        .unwrap();
        let with_doc = Project {
            docs: statesync::Store::try_from_iter([doc]).unwrap(),
        };
        history.commit(&with_doc, "add spec").unwrap();
        history
            .commit(
                &Project {
                    docs: statesync::Store::new(),
                },
                "drop spec",
            )
            .unwrap();
        let error = history.save(&path).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        let message = error.to_string();
        assert!(
            message.contains("project.json: version 1 does not read back"),
            "{message}"
        );
        assert!(message.contains("recursion limit exceeded"), "{message}");
        assert!(message.contains("127 nested containers"), "{message}");
        assert!(!message.contains("NaN"), "{message}");
        assert!(!path.exists());
    }
}

#[derive(statesync::DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Routes {
    owner: String,
    by_pair: std::collections::BTreeMap<(String, String), u32>,
}

/// A version `serde_json` cannot write (a map keyed by tuples) is named with the file and
/// the writer's reason: the error was `key must be a string` alone (found by an outside
/// tester).
#[test]
fn save_names_the_file_and_the_version_json_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("routes.json");
    let mut history = History::new(Routes {
        owner: "a".into(),
        by_pair: std::collections::BTreeMap::new(),
    })
    .unwrap();
    history.save(&path).unwrap();
    let saved = std::fs::read(&path).unwrap();
    let mut next = history.head().clone();
    next.by_pair.insert(("nyc".into(), "lon".into()), 70);
    history.commit(&next, "add a route").unwrap();
    let error = history.save(&path).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
    let message = error.to_string();
    assert!(
        message.contains("routes.json: version 1 cannot be written as JSON (key must be a string)"),
        "{message}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        saved,
        "the file is unchanged"
    );
}
