//! Create hooks that return the model memory keeps (`create_returning`): an id the system
//! assigns reaches memory in both engines, at every depth, with the element's children
//! as the source has them; a returned model of another key is not kept.

use std::sync::atomic::{AtomicU64, Ordering};

use statesync::sync::{
    Adapter, AsyncAdapter, AsyncHooks, AsyncSyncModel, AsyncSyncOptions, HookError, Hooks, Parents,
    Status, SyncFlags, SyncModel, SyncOptions, SyncReport,
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
/// gets a pk. A group named `bad` comes back under another name.
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
        Member {
            pk: Some(pk),
            ..member.clone()
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

#[test]
fn a_returned_model_of_another_key_is_not_kept() {
    let mut source = source();
    let mut bad = source
        .groups
        .get(&GroupKey { name: "ops".into() })
        .unwrap()
        .clone();
    bad.name = "bad".into();
    source.groups.insert(bad).unwrap();
    for (target, report) in sync_both(&source) {
        assert_eq!(report.counts.failed, 1, "{report}");
        let failure = report
            .outcomes
            .iter()
            .find_map(|outcome| match &outcome.status {
                Status::Failed(failure) => Some((outcome.to_string(), failure)),
                _ => None,
            })
            .unwrap();
        assert!(
            failure.0.starts_with("create group[name=bad]: failed"),
            "{}",
            failure.0
        );
        assert!(
            matches!(
                failure.1.downcast_ref::<Error>(),
                Some(Error::KeyMismatch { .. })
            ),
            "{report}"
        );
        // Its members are skipped, and nothing of it is in memory.
        assert_eq!(report.counts.skipped, 2, "{report}");
        assert!(
            target
                .groups
                .get(&GroupKey { name: "bad".into() })
                .is_none()
        );
        assert!(
            target
                .groups
                .get(&GroupKey { name: "BAD".into() })
                .is_none()
        );
        assert_eq!(target.groups.len(), 2);
    }
}
