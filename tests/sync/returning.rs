//! Create hooks that return the model memory keeps (`create_returning`): an id the system
//! assigns reaches memory in both engines, at every depth, with the element's children
//! as the source has them; a returned model of another key is not kept.

use std::sync::atomic::{AtomicU64, Ordering};

use statesync::sync::{
    Adapter, AsyncAdapter, AsyncHooks, AsyncSyncModel, AsyncSyncOptions, HookError, Hooks, Parents,
    ReturnedAnotherKey, Status, SyncFlags, SyncModel, SyncOptions, SyncReport,
};
use statesync::{DiffModel, Error, Store};

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Org {
    #[statesync(children)]
    groups: Store<Group>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Group {
    #[statesync(id)]
    name: String,
    title: String,
    #[statesync(skip)]
    pk: Option<u64>,
    #[statesync(children)]
    members: Vec<Member>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Member {
    #[statesync(id)]
    login: String,
    #[statesync(skip)]
    pk: Option<u64>,
}

fn source() -> Org {
    let group = |name: &str, logins: &[&str]| Group {
        name: name.into(),
        title: name.to_uppercase(),
        pk: None,
        members: logins
            .iter()
            .map(|login| Member {
                login: (*login).into(),
                pk: None,
            })
            .collect(),
    };
    Org {
        groups: Store::try_from_iter([group("ops", &["ann", "bob"]), group("dev", &["cy"])])
            .unwrap(),
    }
}

/// What the system makes of a model: a group gets a pk, its title in lower case (a
/// compared attribute), and no members (the hook does not copy them); a member
/// gets a pk. A group named `bad`, and a member named `eve`, come back under another name.
struct System {
    next: AtomicU64,
}

impl System {
    fn new() -> Self {
        Self {
            next: AtomicU64::new(0),
        }
    }

    fn group(&self, group: &Group) -> Group {
        let pk = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        let name = if group.name == "bad" {
            "BAD".into()
        } else {
            group.name.clone()
        };
        Group {
            name,
            title: group.title.to_lowercase(),
            pk: Some(pk),
            members: Vec::new(),
        }
    }

    fn member(&self, member: &Member) -> Member {
        let pk = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        let login = if member.login == "eve" {
            "EVE".into()
        } else {
            member.login.clone()
        };
        Member {
            login,
            pk: Some(pk),
        }
    }
}

impl Adapter for System {}
impl Hooks<Org> for System {}
impl Hooks<Group> for System {
    fn create_returning(&mut self, group: &Group, _: &Parents) -> Result<Option<Group>, HookError> {
        Ok(Some(self.group(group)))
    }
}
impl Hooks<Member> for System {
    fn create_returning(
        &mut self,
        member: &Member,
        _: &Parents,
    ) -> Result<Option<Member>, HookError> {
        Ok(Some(self.member(member)))
    }
}

impl AsyncAdapter for System {}
impl AsyncHooks<Org> for System {}
impl AsyncHooks<Group> for System {
    async fn create_returning(
        &self,
        group: &Group,
        _: &Parents,
    ) -> Result<Option<Group>, HookError> {
        Ok(Some(self.group(group)))
    }
}
impl AsyncHooks<Member> for System {
    async fn create_returning(
        &self,
        member: &Member,
        _: &Parents,
    ) -> Result<Option<Member>, HookError> {
        Ok(Some(self.member(member)))
    }
}

/// Syncs `source` into an empty org with each engine: the targets and reports.
fn sync_both(source: &Org) -> Vec<(Org, SyncReport)> {
    let options = || SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE);
    let mut blocking = Org {
        groups: Store::new(),
    };
    let report = blocking
        .sync_from(source, &mut System::new(), options())
        .unwrap();
    let mut concurrent = Org {
        groups: Store::new(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let async_report = runtime
        .block_on(concurrent.sync_from_async(
            source,
            &System::new(),
            AsyncSyncOptions::new(options()).max_in_flight(3),
        ))
        .unwrap();
    vec![(blocking, report), (concurrent, async_report)]
}

#[test]
fn the_model_a_create_hook_returns_is_what_memory_keeps() {
    let source = source();
    for (target, report) in sync_both(&source) {
        assert!(report.is_success(), "{report}");
        let mut pks = Vec::new();
        for group in target.groups.iter() {
            pks.push(group.pk.unwrap());
            assert_eq!(group.title, group.name, "{group:?}");
            // The returned group had no members: memory has the source's, each created.
            let wanted = source.groups.get(&group.key()).unwrap();
            let logins: Vec<_> = group.members.iter().map(|m| &m.login).collect();
            let wanted: Vec<_> = wanted.members.iter().map(|m| &m.login).collect();
            assert_eq!(logins, wanted);
            pks.extend(group.members.iter().map(|m| m.pk.unwrap()));
        }
        pks.sort_unstable();
        assert_eq!(pks, [1, 2, 3, 4, 5], "every element got its own pk");
        // The titles the system changed are updates to carry; the pks are not compared.
        let diff = target.diff(&source).unwrap();
        assert_eq!(diff.summary().update, 2, "{diff}");
    }
}

/// A returned model of another key (the group `bad` comes back as `BAD`, the member
/// `eve` as `EVE`) is not kept, and the create fails; but the system has the element, so
/// memory keeps the diff's model without its children, which are skipped (memory lost
/// the element before, and the next sync created it again: a reviewer).
#[test]
fn a_returned_model_of_another_key_is_not_kept_and_memory_follows_the_diff() {
    let mut source = source();
    let mut bad = source
        .groups
        .get(&GroupKey { name: "ops".into() })
        .unwrap()
        .clone();
    bad.name = "bad".into();
    source.groups.insert(bad.clone()).unwrap();
    source
        .groups
        .modify(&GroupKey { name: "dev".into() }, |dev| {
            dev.members.push(Member {
                login: "eve".into(),
                pk: None,
            });
        })
        .unwrap();
    for (target, report) in sync_both(&source) {
        let failures: Vec<String> = report
            .outcomes
            .iter()
            .filter(|outcome| matches!(outcome.status, Status::Failed(_)))
            .map(ToString::to_string)
            .collect();
        assert_eq!(failures.len(), 2, "{failures:#?}");
        assert!(failures[0].starts_with("create group[name=bad]: failed: the change was made"));
        assert!(failures[1].starts_with("create group[name=dev] > member[login=eve]: failed"));
        for outcome in &report.outcomes {
            if let Status::Failed(failure) = &outcome.status {
                let another = failure.downcast_ref::<ReturnedAnotherKey>().unwrap();
                assert!(matches!(another.0, Error::KeyMismatch { .. }));
                assert!(failure.change_made());
            }
        }
        // The members of `bad` are skipped; `bad` and `eve` are in memory as the diff has
        // them, `bad` without members.
        assert_eq!(report.counts.skipped, 2, "{report}");
        let kept = target.groups.get(&GroupKey { name: "bad".into() }).unwrap();
        assert_eq!((kept.pk, kept.members.len()), (None, 0));
        assert!(
            target
                .groups
                .get(&GroupKey { name: "BAD".into() })
                .is_none()
        );
        let dev = target.groups.get(&GroupKey { name: "dev".into() }).unwrap();
        let eve = dev.members.iter().find(|m| m.login == "eve").unwrap();
        assert_eq!(eve.pk, None);
        assert_eq!(target.groups.len(), 3);
    }
}

/// A system that writes in a transaction, committed by `sync_complete` and rolled back by
/// `sync_finished` otherwise, and lowercases the names it creates.
#[derive(Default)]
struct Transactional {
    pending: Vec<String>,
    committed: Vec<String>,
}

impl Adapter for Transactional {
    fn sync_complete(&mut self, _: &SyncReport) -> Result<(), HookError> {
        self.committed.append(&mut self.pending);
        Ok(())
    }

    fn sync_finished(&mut self, _: &SyncReport) {
        self.pending.clear();
    }
}
impl Hooks<Shelf> for Transactional {}
impl Hooks<Doc> for Transactional {
    fn create_returning(&mut self, doc: &Doc, _: &Parents) -> Result<Option<Doc>, HookError> {
        self.pending.push(doc.body.to_lowercase());
        Ok(Some(Doc {
            id: doc.id + 1,
            ..doc.clone()
        }))
    }
}

/// A sync whose only change is a create whose hook returned another key still completes:
/// memory keeps the element, so the system's transaction must too (it was rolled back, and
/// the next sync, which found the element in memory, never created it: a reviewer).
#[test]
fn a_change_made_under_another_key_completes_the_sync() {
    let mut system = Transactional::default();
    let mut target = shelf(&[]);
    let report = target
        .sync_from(&shelf(&[(1, "Ann")]), &mut system, SyncOptions::default())
        .unwrap();
    assert_eq!(report.counts.failed, 1, "{report}");
    assert!(report.changed_anything());
    // The one-line report says the failed change was made (an outside tester: it read as
    // nothing written).
    let line = report.to_string();
    assert!(line.contains("failed: 1 (1 made), skipped: "), "{line}");
    assert_eq!(target, shelf(&[(1, "Ann")]));
    assert_eq!(system.committed, ["ann"]);

    // Also when `on_outcome` takes the outcomes (the report then has none to look at: a
    // reviewer).
    let mut system = Transactional::default();
    let mut target = shelf(&[]);
    let mut told = 0;
    let options = SyncOptions::default().on_outcome(|_| told += 1);
    let report = target
        .sync_from(&shelf(&[(1, "Bob")]), &mut system, options)
        .unwrap();
    assert!(report.outcomes.is_empty());
    assert_eq!(report.counts.failed_made, 1, "{report}");
    assert_eq!(system.committed, ["bob"]);
    assert_eq!(told, 1);
}

/// A system that refuses every create with a `ReturnedAnotherKey` of its own making.
struct ClaimsMade;

impl Adapter for ClaimsMade {}
impl Hooks<Shelf> for ClaimsMade {}
impl Hooks<Doc> for ClaimsMade {
    fn create(&mut self, doc: &Doc, _: &Parents) -> Result<(), HookError> {
        let mismatch = Store::try_from_iter([doc.clone(), doc.clone()]).unwrap_err();
        Err(Box::new(ReturnedAnotherKey(mismatch)))
    }
}

/// Only the engine says a failed change was made: a hook that fails with a
/// `ReturnedAnotherKey` of its own made nothing as far as the engine knows, so the sync
/// changed nothing (it was counted made, and `sync_complete` ran: an outside reviewer).
#[test]
fn a_hook_cannot_claim_a_failed_change_was_made() {
    let mut target = shelf(&[]);
    let report = target
        .sync_from(
            &shelf(&[(1, "Ann")]),
            &mut ClaimsMade,
            SyncOptions::default(),
        )
        .unwrap();
    assert_eq!(report.counts.failed, 1, "{report}");
    assert_eq!(report.counts.failed_made, 0, "{report}");
    assert!(!report.changed_anything());
    assert_eq!(target, shelf(&[]));
    let Status::Failed(failure) = &report.outcomes[0].status else {
        panic!("{report:?}");
    };
    assert!(!failure.change_made());
    assert!(failure.downcast_ref::<ReturnedAnotherKey>().is_some());
}

/// A document store with entity tags: each write sets a new tag, and an update must send
/// the tag of the version it replaces (HTTP's `If-Match`), else it is refused.
#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Shelf {
    #[statesync(children)]
    docs: Vec<Doc>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Doc {
    #[statesync(id)]
    id: u32,
    body: String,
    #[statesync(skip)]
    etag: u64,
}

#[derive(Default)]
struct Tagged {
    /// The tag of each document the system holds.
    tags: std::sync::Mutex<std::collections::HashMap<u32, u64>>,
}

impl Tagged {
    fn write(&self, doc: &Doc, created: bool) -> Result<Option<Doc>, HookError> {
        let mut tags = self.tags.lock().unwrap();
        let tag = tags.entry(doc.id).or_insert(0);
        if !created && *tag != doc.etag {
            return Err(format!("412: doc {} is at {}, not {}", doc.id, tag, doc.etag).into());
        }
        *tag += 1;
        // Document 99 comes back under another id.
        let id = if doc.id == 99 { 100 } else { doc.id };
        Ok(Some(Doc {
            id,
            etag: *tag,
            ..doc.clone()
        }))
    }
}

impl Adapter for Tagged {}
impl Hooks<Shelf> for Tagged {}
impl Hooks<Doc> for Tagged {
    fn create_returning(&mut self, doc: &Doc, _: &Parents) -> Result<Option<Doc>, HookError> {
        self.write(doc, true)
    }

    fn update_returning(
        &mut self,
        doc: &Doc,
        _: &DocChanges,
        _: &Parents,
    ) -> Result<Option<Doc>, HookError> {
        self.write(doc, false)
    }
}

impl AsyncAdapter for Tagged {}
impl AsyncHooks<Shelf> for Tagged {}
impl AsyncHooks<Doc> for Tagged {
    async fn create_returning(&self, doc: &Doc, _: &Parents) -> Result<Option<Doc>, HookError> {
        self.write(doc, true)
    }

    async fn update_returning(
        &self,
        doc: &Doc,
        _: &DocChanges,
        _: &Parents,
    ) -> Result<Option<Doc>, HookError> {
        self.write(doc, false)
    }
}

fn shelf(bodies: &[(u32, &str)]) -> Shelf {
    Shelf {
        docs: bodies
            .iter()
            .map(|(id, body)| Doc {
                id: *id,
                body: (*body).into(),
                etag: 0,
            })
            .collect(),
    }
}

/// Each update sends the tag memory holds, which the last write's hook returned: three
/// syncs in a row go through in both engines (memory kept the created tag before, and the
/// second update was refused with a `412`). An update whose hook returns another key fails,
/// and memory keeps the new values, which the system has.
#[test]
fn the_model_an_update_hook_returns_is_what_memory_keeps() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let options = || SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE);
    for concurrent in [false, true] {
        let mut system = Tagged::default();
        let mut target = shelf(&[]);
        for (round, body) in ["one", "two", "three"].into_iter().enumerate() {
            let source = shelf(&[(1, body), (2, body), (99, "fixed")]);
            let report = if concurrent {
                runtime.block_on(target.sync_from_async(
                    &source,
                    &system,
                    AsyncSyncOptions::new(options()).max_in_flight(2),
                ))
            } else {
                target.sync_from(&source, &mut system, options())
            }
            .unwrap();
            // Document 99 comes back as 100: its create fails, and memory keeps it as the
            // diff has it (the system has it), so later rounds leave it alone.
            let failed = usize::from(round == 0);
            assert_eq!(report.counts.failed, failed, "round {round}: {report}");
            assert_eq!(report.counts.updated, if round == 0 { 0 } else { 2 });
            let tags: Vec<_> = target.docs.iter().map(|doc| (doc.id, doc.etag)).collect();
            let tag = u64::try_from(round).unwrap() + 1;
            assert_eq!(tags, [(1, tag), (2, tag), (99, 0)], "round {round}");
            assert!(
                target
                    .docs
                    .iter()
                    .all(|doc| doc.body == body || doc.id == 99)
            );
        }
        // An update whose hook returns another key: failed, and memory has the new body,
        // as the system does.
        let mut target = shelf(&[(99, "old")]);
        system.tags.lock().unwrap().insert(99, 0);
        let source = shelf(&[(99, "new")]);
        let report = if concurrent {
            runtime.block_on(target.sync_from_async(
                &source,
                &system,
                AsyncSyncOptions::new(options()),
            ))
        } else {
            target.sync_from(&source, &mut system, options())
        }
        .unwrap();
        assert_eq!(report.counts.failed, 1, "{report}");
        let lines: Vec<String> = report.outcomes.iter().map(ToString::to_string).collect();
        assert!(
            lines[0].starts_with("update doc[id=99]: failed: the change was made"),
            "{lines:?}"
        );
        assert_eq!(target, shelf(&[(99, "new")]));
    }
}
