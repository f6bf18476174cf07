//! Deep trees: up to `MAX_DEPTH` levels everything works; beyond it every entry point
//! returns `Error::TooDeep` (never a stack overflow), and whatever `History::save` writes,
//! `History::load` reads.

use statesync::merge::History;
use statesync::{Action, Diff, DiffModel, ElementDiff, Error, MAX_DEPTH, ModelUpdate, Store};

#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Node {
    #[statesync(id)]
    name: String,
    value: u32,
    #[statesync(children)]
    children: Vec<Node>,
}

/// A chain of `levels` nodes (the root is level 1), every value `value`.
fn chain(levels: usize, value: u32) -> Node {
    let mut node = Node {
        name: format!("n{levels}"),
        value,
        children: Vec::new(),
    };
    for level in (1..levels).rev() {
        node = Node {
            name: format!("n{level}"),
            value,
            children: vec![node],
        };
    }
    node
}

/// The error's path has one segment per ancestor of the element too deep.
fn assert_too_deep(error: &Error, depth_of_parent: usize) {
    match error {
        Error::TooDeep {
            model, limit, path, ..
        } => {
            assert_eq!(*model, "node");
            assert_eq!(*limit, MAX_DEPTH);
            assert_eq!(path.segments().len(), depth_of_parent, "{error}");
        }
        other => panic!("expected TooDeep, got {other}"),
    }
}

#[test]
fn diff_and_apply_work_at_the_limit() {
    let old = chain(MAX_DEPTH, 1);
    let new = chain(MAX_DEPTH, 2);
    let d = old.diff(&new).unwrap();
    assert_eq!(d.summary().update, MAX_DEPTH);
    let mut state = old.clone();
    state.apply(&d).unwrap();
    assert_eq!(state, new);
    state.apply(&d.invert()).unwrap();
    assert_eq!(state, old);
    assert_eq!(d.entries().len(), MAX_DEPTH);
}

#[test]
fn an_update_beyond_the_limit_is_too_deep() {
    let error = chain(MAX_DEPTH + 1, 1)
        .diff(&chain(MAX_DEPTH + 1, 2))
        .unwrap_err();
    assert_too_deep(&error, MAX_DEPTH);
    assert!(
        error.to_string().contains("deeper than the 16 levels"),
        "{error}"
    );
}

#[test]
fn a_created_or_deleted_subtree_beyond_the_limit_is_too_deep() {
    let root = Node {
        name: "n1".into(),
        value: 1,
        children: Vec::new(),
    };
    let deep = chain(MAX_DEPTH + 1, 1);
    assert_too_deep(&root.diff(&deep).unwrap_err(), MAX_DEPTH);
    assert_too_deep(&deep.diff(&root).unwrap_err(), MAX_DEPTH);
    let other_root = Node {
        name: "other".into(),
        ..root.clone()
    };
    assert!(matches!(
        other_root.diff(&deep).unwrap_err(),
        Error::TooDeep { .. }
    ));
}

/// A hand-built diff that creates a child below the deepest node of a chain of `levels`.
fn create_below(levels: usize) -> Result<Diff<Node>, Error> {
    let mut diff = Diff::from_elements(
        vec![ElementDiff {
            key: NodeKey {
                name: "extra".into(),
            },
            action: Action::Create(Node {
                name: "extra".into(),
                value: 0,
                children: Vec::new(),
            }),
        }],
        0,
    )?;
    for level in (1..=levels).rev() {
        diff = Diff::from_elements(
            vec![ElementDiff {
                key: NodeKey {
                    name: format!("n{level}"),
                },
                action: Action::Update(ModelUpdate {
                    fields: NodeChanges::default(),
                    children: NodeChildDiffs {
                        children: diff,
                        ..Default::default()
                    },
                }),
            }],
            0,
        )?;
    }
    Ok(diff)
}

#[test]
fn a_hand_built_diff_beyond_the_limit_is_refused() {
    let fits = create_below(MAX_DEPTH - 1).unwrap();
    let mut shallower = chain(MAX_DEPTH - 1, 1);
    shallower.apply(&fits).unwrap();
    assert_eq!(fits.summary().create, 1);
    assert_too_deep(&create_below(MAX_DEPTH).unwrap_err(), MAX_DEPTH);
}

/// The JSON of a diff that creates `created` below the root `n1` of a chain.
fn create_under_root_json(created: &Node) -> String {
    serde_json::json!({
        "model": "node",
        "elements": [{
            "key": { "name": "n1" },
            "action": { "update": {
                "fields": {},
                "children": { "children": {
                    "model": "node",
                    "elements": [{ "key": { "name": created.name }, "action": { "create": created } }],
                    "unchanged": 0
                } }
            } }
        }],
        "unchanged": 0
    })
    .to_string()
}

/// A created subtree that fits applies; one a level deeper is refused while the diff is
/// read (its counts and rendering would walk every level), naming the element too deep.
#[test]
fn a_created_subtree_beyond_the_limit_is_refused_while_reading() {
    let state = chain(2, 1);
    let mut created = chain(MAX_DEPTH - 1, 5);
    created.name = "new".into();
    let fits: Diff<Node> = serde_json::from_str(&create_under_root_json(&created)).unwrap();
    let mut applied = state.clone();
    applied.apply(&fits).unwrap();
    assert_eq!(fits.summary().create, MAX_DEPTH - 1);
    let mut deeper = chain(MAX_DEPTH, 5);
    deeper.name = "new".into();
    let error = serde_json::from_str::<Diff<Node>>(&create_under_root_json(&deeper)).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains(&format!("node[name=n{MAX_DEPTH}] is deeper than the")),
        "{message}"
    );
}

#[test]
fn json_nested_deeper_than_the_limit_is_refused_while_reading() {
    let d = chain(MAX_DEPTH, 1).diff(&chain(MAX_DEPTH, 2)).unwrap();
    let json = serde_json::to_string(&d).unwrap();
    assert_eq!(serde_json::from_str::<Diff<Node>>(&json).unwrap(), d);
    // One level more: the leaf's child diffs (its empty child diff left out) get one with
    // an element.
    let leaf_children = "\"children\":{}";
    assert_eq!(json.matches(leaf_children).count(), 1);
    let extra = serde_json::to_string(&create_below(0).unwrap()).unwrap();
    let deeper = json.replace(
        leaf_children,
        &format!("\"children\":{{\"children\":{extra}}}"),
    );
    let error = serde_json::from_str::<Diff<Node>>(&deeper).unwrap_err();
    assert!(
        error.to_string().contains("deeper than the 16 levels"),
        "{error}"
    );
}

#[test]
fn a_history_of_updates_at_the_limit_saves_and_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.json");
    let mut history = History::new(chain(MAX_DEPTH, 1)).unwrap();
    history.commit(&chain(MAX_DEPTH, 2), "every level").unwrap();
    history.commit(&chain(MAX_DEPTH, 3), "again").unwrap();
    history.save(&path).unwrap();
    let loaded = History::<Node>::load(&path).unwrap();
    assert_eq!(loaded, history);
}

/// Thousands of levels, on a test thread of a debug build: an error, not an abort.
#[test]
fn a_very_deep_tree_is_an_error_not_a_stack_overflow() {
    let levels = 5_000;
    let worker = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let old = chain(levels, 1);
            let new = chain(levels, 2);
            let error = old.diff(&new).unwrap_err();
            let refused = create_below(levels).unwrap_err();
            // Dropping a chain recurses too; take it apart level by level.
            for mut node in [old, new] {
                while let Some(child) = node.children.pop() {
                    node = child;
                }
            }
            (error, refused)
        })
        .unwrap();
    let (error, refused) = worker.join().unwrap();
    assert_too_deep(&error, MAX_DEPTH);
    assert_too_deep(&refused, MAX_DEPTH);
}

/// A diff, made by hand, that updates only the root of a chain deeper than the limit (`diff`
/// refuses such a chain; `apply` and the blocking sync carry this diff, as they copy
/// nothing). What copies the whole tree refuses it first: `compose`, the plan of a diff the
/// target no longer matches, and an async sync, whose call owns a copy of the element with
/// its subtree. Each overflowed the stack of a 2 MiB thread at 1,000 levels (an outside
/// tester), in the derived `Clone`.
#[test]
fn what_copies_a_tree_deeper_than_the_limit_refuses_it_first() {
    use statesync::sync::{AsyncSyncModel, AsyncSyncOptions, InMemory, SyncModel, SyncOptions};

    let levels = 5_000;
    let worker = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let mut tree = chain(levels, 1);
            let root_only = Diff::from_elements(
                vec![ElementDiff {
                    key: tree.key(),
                    action: Action::Update(ModelUpdate {
                        fields: NodeChanges {
                            value: Some(statesync::Change { old: 1, new: 2 }),
                        },
                        children: Default::default(),
                    }),
                }],
                0,
            )
            .unwrap();
            let composed = Diff::compose(&tree, &root_only, &root_only.invert()).map(drop);
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let report = runtime.block_on(tree.sync_diff_async(
                &root_only,
                &InMemory,
                AsyncSyncOptions::default(),
            ));
            let async_value = tree.value;
            tree.apply(&root_only).unwrap();
            let stale = tree.plan(&root_only, &SyncOptions::default()).map(drop);
            let failure = report.failures().next().map(|failure| failure.to_string());
            while let Some(child) = tree.children.pop() {
                tree = child;
            }
            (composed, failure, async_value, stale)
        })
        .unwrap();
    let (composed, failure, async_value, stale) = worker.join().unwrap();
    assert_too_deep(&composed.unwrap_err(), MAX_DEPTH);
    assert_too_deep(&stale.unwrap_err(), MAX_DEPTH);
    assert!(
        failure.is_some_and(|failure| failure.contains("deeper than the 16 levels")),
        "the async sync's update fails"
    );
    assert_eq!(async_value, 1, "memory keeps the old value");
}

/// A sync under a delete limit that a diff breaks, into a target deeper than the limit
/// (a leaf deleted beside a chain of 5,000 levels): the plan's deletes are counted
/// without the dry run that copies the target (it overflowed the stack of a 2 MiB thread:
/// a reviewer), and the sync is refused.
#[test]
fn a_delete_limit_does_not_copy_a_tree_deeper_than_the_limit() {
    use statesync::sync::{DeleteLimit, InMemory, SyncModel, SyncOptions};

    let levels = 5_000;
    let worker = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let mut tree = chain(levels, 1);
            let doomed = Node {
                name: "leaf".into(),
                value: 1,
                children: Vec::new(),
            };
            tree.children.push(doomed.clone());
            let delete = Diff::from_elements(
                vec![ElementDiff {
                    key: doomed.key(),
                    action: Action::Delete(doomed),
                }],
                0,
            )
            .unwrap();
            let diff = Diff::from_elements(
                vec![ElementDiff {
                    key: tree.key(),
                    action: Action::Update(ModelUpdate {
                        fields: NodeChanges::default(),
                        children: NodeChildDiffs {
                            children: delete,
                            ..Default::default()
                        },
                    }),
                }],
                0,
            )
            .unwrap();
            let options = SyncOptions::default().delete_limit(DeleteLimit::at_most(0));
            let report = tree.sync_diff(&diff, &mut InMemory, options);
            let refused = report.refused.is_some();
            while let Some(child) = tree.children.pop() {
                tree = child;
            }
            refused
        })
        .unwrap();
    assert!(worker.join().unwrap(), "the sync is refused");
}

/// A folder tree whose children are a `Store`, as a file tree is usually written.
#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Folder {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    children: statesync::Store<Folder>,
}

/// A chain of `levels` folders (the root is level 1).
fn folders(levels: usize) -> Folder {
    let mut folder = Folder {
        name: format!("f{levels}"),
        children: statesync::Store::new(),
    };
    for level in (1..levels).rev() {
        folder = Folder {
            name: format!("f{level}"),
            children: statesync::Store::try_from_iter([folder]).unwrap(),
        };
    }
    folder
}

/// Takes a chain apart level by level (dropping it whole recurses).
fn dismantle(mut folder: Folder) {
    while let Some(child) = std::mem::take(&mut folder.children).into_iter().next() {
        folder = child;
    }
}

/// A tree of `Store`s thousands of levels deep drops as a tree of `Vec`s does (Rust's drop
/// takes a frame per level in both; a store's frame held its parts, and overflowed at half
/// the depth in a debug build, a third in release), and `History::new`, which refuses it and drops it, returns the error: on a
/// test thread of a debug build, as deep as a `Vec` tree reaches there.
#[test]
fn a_deep_store_tree_drops_and_is_refused_without_a_stack_overflow() {
    let levels = 8_000;
    let worker = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            drop(folders(levels));
            History::new(folders(levels)).map(drop)
        })
        .unwrap();
    match worker.join().unwrap() {
        Err(Error::TooDeep { model, limit, .. }) => {
            assert_eq!((model, limit), ("folder", MAX_DEPTH));
        }
        other => panic!("expected TooDeep, got {other:?}"),
    }
}

#[test]
fn a_history_too_deep_to_load_is_refused_when_made() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.json");
    // What `save` writes, `load` must read: a history holds no state deeper than the limit.
    for depth in [100, MAX_DEPTH + 1] {
        let error = History::new(chain(depth, 1)).unwrap_err();
        assert!(matches!(error, Error::TooDeep { .. }), "{error}");
    }
    History::new(chain(MAX_DEPTH, 1))
        .unwrap()
        .save(&path)
        .unwrap();
    History::<Node>::load(&path).unwrap();
}

/// Writing a tree of `Store`s thousands of levels deep is a serde error, not an abort.
#[test]
fn writing_a_very_deep_store_tree_is_an_error_not_a_stack_overflow() {
    let worker = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let deep = folders(5_000);
            let error = serde_json::to_string(&deep).unwrap_err().to_string();
            let limit = serde_json::to_string(&folders(MAX_DEPTH)).map(|_| ());
            dismantle(deep);
            (error, limit)
        })
        .unwrap();
    let (error, limit) = worker.join().unwrap();
    assert!(error.contains("deeper than the 16 levels"), "{error}");
    assert!(limit.is_ok());
}

/// A model without children fields (its diff only checks the depth, it does not enter a
/// level), below a chain of models that have them. (Serde: a recursive model's other
/// children must have it, see the README's "Not done yet".)
#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Tip {
    #[statesync(id)]
    name: String,
    value: u32,
}

#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Stem {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    stems: Vec<Stem>,
    #[statesync(children)]
    tips: Vec<Tip>,
}

/// `stems` stems, the deepest holding one tip of `value`: the tip is at level `stems + 1`.
fn stem_with_tip(stems: usize, value: u32) -> Stem {
    let mut stem = Stem {
        name: format!("s{stems}"),
        stems: Vec::new(),
        tips: vec![Tip {
            name: "tip".into(),
            value,
        }],
    };
    for level in (1..stems).rev() {
        stem = Stem {
            name: format!("s{level}"),
            stems: vec![stem],
            tips: Vec::new(),
        };
    }
    stem
}

#[test]
fn a_leaf_model_is_held_to_the_limit_like_any_other() {
    let at_limit = stem_with_tip(MAX_DEPTH - 1, 1)
        .diff(&stem_with_tip(MAX_DEPTH - 1, 2))
        .unwrap();
    assert_eq!(at_limit.summary().update, 1);
    let error = stem_with_tip(MAX_DEPTH, 1)
        .diff(&stem_with_tip(MAX_DEPTH, 2))
        .unwrap_err();
    match &error {
        Error::TooDeep { model, path, .. } => {
            assert_eq!(*model, "tip");
            assert_eq!(path.segments().len(), MAX_DEPTH, "{error}");
        }
        other => panic!("expected TooDeep, got {other}"),
    }
}

/// A diff read in a format without a nesting limit of its own (here `serde_json` with its
/// limit off) whose create carries a `Store` tree far deeper than the limit: an error, not
/// a stack overflow (the stores were read by serde's recursion before the depth was
/// checked).
#[test]
fn reading_a_create_nested_far_too_deep_without_a_format_limit_is_an_error() {
    let worker = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let depth = 100_000;
            let mut json = String::from(
                r#"{"model":"folder","elements":[{"key":{"name":"a"},"action":{"create":"#,
            );
            for _ in 0..depth {
                json.push_str(r#"{"name":"a","children":["#);
            }
            json.push_str(&"]}".repeat(depth));
            json.push_str(r#"}}],"unchanged":0}"#);
            let mut reader = serde_json::Deserializer::from_str(&json);
            reader.disable_recursion_limit();
            let read = <statesync::Diff<Folder> as serde::Deserialize>::deserialize(&mut reader);
            read.map(|_| ()).map_err(|error| error.to_string())
        })
        .unwrap();
    let error = worker.join().unwrap().unwrap_err();
    assert!(error.contains("deeper than the 16 levels"), "{error}");
}

/// A tree as deep as supported, with its children in `Store`s, reads back whole: as a
/// value, and as the create a diff carries (the empty `Store` of its deepest folder is read
/// one level below it, which reading must allow as writing does).
#[test]
fn a_store_tree_as_deep_as_supported_reads_back_as_a_value_and_in_a_diff() {
    let deep = folders(MAX_DEPTH);
    let json = serde_json::to_string(&deep).unwrap();
    assert_eq!(serde_json::from_str::<Folder>(&json).unwrap(), deep);
    let root = Folder {
        name: "f1".into(),
        children: statesync::Store::new(),
    };
    let diff = root.diff(&deep).unwrap();
    let json = serde_json::to_string(&diff).unwrap();
    let back: statesync::Diff<Folder> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, diff);
    let inverse = serde_json::to_string(&diff.invert()).unwrap();
    assert_eq!(
        serde_json::from_str::<statesync::Diff<Folder>>(&inverse).unwrap(),
        diff.invert()
    );
}

/// A `Vec` of children under `serde_map`: read as a `Store` is, its depth checked in any
/// format (serde's own `Vec` relies on the format's nesting limit, and overflows the stack
/// in one without).
#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Branch {
    #[statesync(id)]
    name: u32,
    #[statesync(children)]
    #[serde(with = "statesync::serde_map")]
    children: Vec<Branch>,
}

#[test]
fn a_vec_of_children_under_serde_map_is_read_within_the_limit() {
    // Within serde_json's 127 levels, so the error is statesync's, as it is in a format
    // without a nesting limit.
    let json = |levels: usize| {
        let mut json = String::from(r#"{"name":0,"children":[]}"#);
        for level in 1..levels {
            json = format!(r#"{{"name":{level},"children":[{json}]}}"#);
        }
        json
    };
    let branch: Branch = serde_json::from_str(&json(MAX_DEPTH + 1)).unwrap();
    assert!(branch.diff(&branch).is_err(), "{MAX_DEPTH} + 1 levels");
    let error = serde_json::from_str::<Branch>(&json(40)).unwrap_err();
    assert!(error.to_string().contains("branch"), "{error}");
    assert!(error.to_string().contains("deeper"), "{error}");
}

/// A model holding 1 KiB of attributes inline (not on the heap).
#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Wide {
    #[statesync(id)]
    name: u8,
    a: [u64; 32],
    b: [u64; 32],
    c: [u64; 32],
    d: [u64; 32],
    #[statesync(children)]
    children: statesync::Store<Wide>,
}

/// A chain of `levels` wide nodes, every value `value`.
fn wide_chain(levels: u8, value: u64) -> Wide {
    (1..=levels)
        .fold(None, |below: Option<Wide>, level| {
            Some(Wide {
                name: level,
                a: [value; 32],
                b: [value; 32],
                c: [value; 32],
                d: [value; 32],
                children: statesync::Store::try_from_iter(below).unwrap(),
            })
        })
        .unwrap()
}

/// Diffs of large models at the deepest level supported read back in a thread with the
/// stack `std::thread::spawn` gives (2 MiB): an update at every level, and a whole tree
/// created (the models read through their `Store`s). Reading takes stack in proportion to
/// the models' size at each level; before, the update's diff overflowed that stack in a
/// debug build and aborted the process, though the JSON was 11 KB.
#[test]
fn diffs_of_large_models_at_the_limit_read_back_on_a_spawned_threads_stack() {
    let levels = u8::try_from(MAX_DEPTH).unwrap();
    let updated = wide_chain(levels, 1).diff(&wide_chain(levels, 2)).unwrap();
    let mut empty = wide_chain(1, 1);
    empty.name = levels;
    let created = empty.diff(&wide_chain(levels, 1)).unwrap();
    for diff in [updated, created] {
        assert_eq!(read_on_a_spawned_thread(&diff), Ok(diff));
    }
}

/// `diff` written as JSON and read back in a thread with the stack `std::thread::spawn`
/// gives (2 MiB).
fn read_on_a_spawned_thread<M>(diff: &Diff<M>) -> Result<Diff<M>, String>
where
    M: DiffModel + Send + 'static,
    Diff<M>: PartialEq + Send + serde::Serialize + serde::de::DeserializeOwned,
{
    let json = serde_json::to_string(diff).unwrap();
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || serde_json::from_str::<Diff<M>>(&json).map_err(|e| e.to_string()))
        .unwrap()
        .join()
        .unwrap()
}

/// A model holding 4 KiB of attributes inline, its children a `Vec` read through
/// `serde_map`.
#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct WideRow {
    #[statesync(id)]
    name: u8,
    a: [[u64; 32]; 4],
    b: [[u64; 32]; 4],
    c: [[u64; 32]; 4],
    d: [[u64; 32]; 4],
    #[statesync(children)]
    #[serde(with = "statesync::serde_map")]
    children: Vec<WideRow>,
}

/// A diff creating a whole tree of large models whose children are a `Vec` read through
/// `serde_map` reads back on a spawned thread's stack: `serde_map` reads level by level,
/// as a `Store` does. Before, it read the tree on one stack and overflowed it in a debug
/// build (the process aborted).
#[test]
fn a_created_tree_of_large_models_through_serde_map_reads_back_on_a_spawned_thread() {
    let levels = u8::try_from(MAX_DEPTH).unwrap();
    let row = |name, children| WideRow {
        name,
        a: [[1; 32]; 4],
        b: [[2; 32]; 4],
        c: [[3; 32]; 4],
        d: [[4; 32]; 4],
        children,
    };
    let tree = (1..=levels).fold(None, |below: Option<WideRow>, level| {
        Some(row(level, below.into_iter().collect()))
    });
    let tree = tree.unwrap();
    let created = row(levels, Vec::new()).diff(&tree).unwrap();
    assert_eq!(read_on_a_spawned_thread(&created), Ok(created));
}

/// A model that holds itself in a plain `Vec` (no `serde_map`).
#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Twig {
    #[statesync(id)]
    name: u32,
    #[statesync(children)]
    kids: Vec<Twig>,
}

/// The postcard bytes of a `Diff<Twig>` creating a chain of `levels` twigs, written by hand
/// (such a chain cannot be built, cloned or dropped as a value without overflowing the
/// stack): the model name, one element (its key, `Create`, the chain), no unchanged.
fn twig_chain_diff_postcard(levels: usize) -> Vec<u8> {
    let name = <Twig as DiffModel>::NAME.as_bytes();
    let mut bytes = vec![u8::try_from(name.len()).unwrap()];
    bytes.extend_from_slice(name);
    bytes.extend_from_slice(&[1, 0, 0]);
    for _ in 1..levels {
        bytes.extend_from_slice(&[0, 1]);
    }
    bytes.extend_from_slice(&[0, 0, 0]);
    bytes
}

/// A diff from an untrusted peer in a format without a nesting limit (postcard), creating a
/// model that nests itself through a plain `Vec` 100,000 levels deep (300 KB): an error, on
/// the 2 MiB stack of a spawned thread. Before, serde's own `Vec` read it level after level
/// on one stack, and the process aborted with a stack overflow (an outside tester's case;
/// 10,000 levels did in a debug build).
#[test]
fn a_diff_nesting_a_plain_vec_without_bound_is_refused_in_a_format_without_a_limit() {
    let shallow = twig_chain_diff_postcard(3);
    let read: Diff<Twig> = postcard::from_bytes(&shallow).unwrap();
    let Action::Create(created) = &read.elements()[0].action else {
        panic!("{read:?}")
    };
    assert_eq!(created.kids[0].kids.len(), 1);
    for levels in [MAX_DEPTH + 2, 10_000, 100_000] {
        let bytes = twig_chain_diff_postcard(levels);
        let read = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || postcard::from_bytes::<Diff<Twig>>(&bytes).map(drop))
            .unwrap()
            .join()
            .unwrap();
        assert!(read.is_err(), "{levels} levels");
    }
}

/// An expression tree: a recursive type of the user's, which the derive cannot see into.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
enum Expr {
    Leaf(u32),
    Not(Box<Expr>),
}

/// A model that does not hold itself, but holds an attribute that nests as deep as its
/// bytes say.
#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Rule {
    #[statesync(id)]
    id: u32,
    expr: Expr,
}

/// The postcard bytes of `diff` with `levels` `Expr::Not` put before the `Expr::Leaf(marker)`
/// it holds (such an expression cannot be built or dropped as a value without overflowing
/// the stack).
fn with_nots_before(diff: &Diff<Rule>, marker: u32, levels: usize) -> Vec<u8> {
    let bytes = postcard::to_allocvec(diff).unwrap();
    let leaf = postcard::to_allocvec(&Expr::Leaf(marker)).unwrap();
    let at = bytes.windows(leaf.len()).position(|w| w == leaf).unwrap();
    let mut spliced = bytes[..at].to_vec();
    spliced.extend(std::iter::repeat_n(1_u8, levels));
    spliced.extend_from_slice(&bytes[at..]);
    spliced
}

/// A diff from an untrusted peer in postcard, creating a model or updating an attribute
/// whose value nests 100,000 levels deep: an error, on the 2 MiB stack of a spawned thread
/// (only models that hold themselves were read bounded, and the process aborted with a
/// stack overflow: an outside tester).
#[test]
fn an_attribute_of_a_recursive_type_is_read_bounded_in_a_diff() {
    let rule = |expr| Rule { id: 1, expr };
    let store = |rules: Vec<Rule>| Store::try_from_iter(rules).unwrap();
    let marker = 123_456_789;
    let created = store(vec![])
        .diff(&store(vec![rule(Expr::Leaf(marker))]))
        .unwrap();
    let updated = store(vec![rule(Expr::Leaf(7))])
        .diff(&store(vec![rule(Expr::Leaf(marker))]))
        .unwrap();
    for diff in [created, updated] {
        // Read bounded, a diff reads back as it was written, in JSON and in postcard.
        let json: Diff<Rule> =
            serde_json::from_str(&serde_json::to_string(&diff).unwrap()).unwrap();
        assert_eq!(json, diff);
        let bytes: Diff<Rule> =
            postcard::from_bytes(&postcard::to_allocvec(&diff).unwrap()).unwrap();
        assert_eq!(bytes, diff);
        let shallow: Diff<Rule> =
            postcard::from_bytes(&with_nots_before(&diff, marker, 3)).unwrap();
        assert!(format!("{shallow:?}").contains("Not(Not(Not(Leaf(123456789))))"));
        let bytes = with_nots_before(&diff, marker, 100_000);
        let read = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || postcard::from_bytes::<Diff<Rule>>(&bytes).map(drop))
            .unwrap()
            .join()
            .unwrap();
        assert!(read.is_err());
    }
}

/// A model holding 4 KiB of attributes inline, its children a plain `Vec`.
#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct WidePlain {
    #[statesync(id)]
    name: u8,
    a: [[u64; 32]; 16],
    #[statesync(children)]
    children: Vec<WidePlain>,
}

/// A diff creating a whole tree of large models whose children are a plain `Vec` reads
/// back on a spawned thread's stack: what a created model holds is read on new stack
/// segments when the thread's is short, as the levels of a `Store` are.
#[test]
fn a_created_tree_of_large_models_in_plain_vecs_reads_back_on_a_spawned_thread() {
    let levels = u8::try_from(MAX_DEPTH).unwrap();
    let row = |name, children| WidePlain {
        name,
        a: [[u64::from(name); 32]; 16],
        children,
    };
    let tree = (1..=levels).fold(None, |below: Option<WidePlain>, level| {
        Some(row(level, below.into_iter().collect()))
    });
    let created = row(levels, Vec::new()).diff(&tree.unwrap()).unwrap();
    assert_eq!(read_on_a_spawned_thread(&created), Ok(created));
}

/// A model of 8 KiB held inline, nesting itself in a plain `Vec`.
#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Heavy {
    #[statesync(id)]
    name: u8,
    blob: [[u64; 32]; 32],
    #[statesync(children)]
    children: Vec<Heavy>,
}

/// A small model holding heavy ones.
#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Light {
    #[statesync(id)]
    name: u8,
    #[statesync(children)]
    heavy: Vec<Heavy>,
}

/// A root of light models.
#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Shelf {
    #[statesync(children)]
    lights: Vec<Light>,
}

/// A created model smaller than what it holds reads back on a spawned thread's stack: the
/// stack a level may take is judged by what the levels read so far took, not only by the
/// created model's size (an outside reviewer's case: a small model holding a chain of ten
/// 8 KiB ones overflowed a 2 MiB stack in a debug build).
#[test]
fn a_created_small_model_holding_large_ones_reads_back_on_a_spawned_thread() {
    let heavy = (0..10).fold(Vec::new(), |below: Vec<Heavy>, name| {
        vec![Heavy {
            name,
            blob: [[u64::from(name); 32]; 32],
            children: below,
        }]
    });
    let light = Light { name: 1, heavy };
    let created = Shelf { lights: Vec::new() }
        .diff(&Shelf {
            lights: vec![light],
        })
        .unwrap();
    assert_eq!(read_on_a_spawned_thread(&created), Ok(created));
}

/// A link of a chain held in an `Option<Box<...>>`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Link {
    next: Option<Box<Link>>,
}

/// A model holding a chain of links, and itself (so it is read through the bounded reader).
#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Chained {
    #[statesync(id)]
    name: u8,
    chain: Link,
    #[statesync(children)]
    kids: Vec<Chained>,
}

/// Options and newtypes do not count against the 128 sequences, maps and enums a created
/// model may nest (`serde_json` does not count them either): a chain of 110 links in
/// options, which JSON carries, reads back (an outside reviewer's case: refused when they
/// counted), in JSON and in postcard.
#[test]
fn options_in_a_created_model_count_apart_from_sequences_and_maps() {
    let chain = |links: usize| {
        (0..links).fold(Link { next: None }, |next, _| Link {
            next: Some(Box::new(next)),
        })
    };
    // Another key: the root is deleted and the chain created, both read as models.
    let empty = Chained {
        name: 1,
        chain: chain(0),
        kids: Vec::new(),
    };
    let created = empty
        .diff(&Chained {
            name: 0,
            chain: chain(110),
            kids: Vec::new(),
        })
        .unwrap();
    let mut actions = created.elements().iter().map(|element| &element.action);
    assert!(actions.any(|action| matches!(action, Action::Create(_))));
    let json = serde_json::to_string(&created).unwrap();
    assert_eq!(
        serde_json::from_str::<Diff<Chained>>(&json).unwrap(),
        created
    );
    let bytes = postcard::to_allocvec(&created).unwrap();
    assert_eq!(
        postcard::from_bytes::<Diff<Chained>>(&bytes).unwrap(),
        created
    );
}

/// A generic model holding itself in a plain `Vec`.
#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Tree<T> {
    #[statesync(id)]
    id: u32,
    value: T,
    #[statesync(children)]
    kids: Vec<Tree<T>>,
}

/// A generic model nesting itself is read through the bounded reader too: a postcard diff
/// creating a chain of 100,000 `Tree<u8>` (each level `id`, `value`, one kid) is an error
/// on a 2 MiB stack, and a chain of three reads back.
#[test]
fn a_generic_model_nesting_itself_is_bounded_in_a_diff() {
    let chain = |levels: usize| {
        let name = <Tree<u8> as DiffModel>::NAME.as_bytes();
        let mut bytes = vec![u8::try_from(name.len()).unwrap()];
        bytes.extend_from_slice(name);
        bytes.extend_from_slice(&[1, 0, 0]);
        for _ in 1..levels {
            bytes.extend_from_slice(&[0, 7, 1]);
        }
        bytes.extend_from_slice(&[0, 7, 0, 0]);
        bytes
    };
    let read: Diff<Tree<u8>> = postcard::from_bytes(&chain(3)).unwrap();
    let Action::Create(created) = &read.elements()[0].action else {
        panic!("{read:?}")
    };
    assert_eq!((created.value, created.kids[0].kids[0].kids.len()), (7, 0));
    let bytes = chain(100_000);
    let read = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || postcard::from_bytes::<Diff<Tree<u8>>>(&bytes).map(drop))
        .unwrap()
        .join()
        .unwrap();
    assert!(read.is_err());
}
