//! Hooks know where they are in the tree, and their errors reach the report whole.

use std::error::Error as _;
use std::fmt;

use statesync::sync::{
    Adapter, Failure, HookError, Hooks, Parents, Status, SyncFlags, SyncModel, SyncOptions,
    SyncReport,
};
use statesync::{DiffModel, Store};
use statesync_suite::fixtures::inventory;
use statesync_suite::inventory::{Device, DeviceChanges, Interface, Inventory, Site, SiteKey};

#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Cluster {
    #[statesync(children)]
    deployments: Store<Deployment>,
}

#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Deployment {
    #[statesync(id)]
    name: String,
    #[statesync(children)]
    containers: Store<Container>,
}

#[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Container {
    #[statesync(id)]
    name: String,
    image: String,
}

fn cluster(image: &str) -> Cluster {
    let deployment = |name: &str| Deployment {
        name: name.into(),
        containers: Store::try_from_iter([Container {
            name: "web".into(),
            image: image.into(),
        }])
        .unwrap(),
    };
    Cluster {
        deployments: Store::try_from_iter([deployment("api"), deployment("ui")]).unwrap(),
    }
}

/// Records, per container hook, the deployment it found among its parents.
#[derive(Default)]
struct Kubectl {
    calls: Vec<String>,
    fail_image: Option<String>,
}

/// An error of the adapter's own type, with a source.
#[derive(Debug)]
struct RolloutError {
    deployment: String,
    cause: std::io::Error,
}

impl fmt::Display for RolloutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rollout of {} failed", self.deployment)
    }
}

impl std::error::Error for RolloutError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

impl Adapter for Kubectl {
    fn sync_complete(&mut self, _report: &SyncReport) -> Result<(), HookError> {
        Err(Box::new(std::io::Error::other("apiserver gone")))
    }
}
impl Hooks<Cluster> for Kubectl {}
impl Hooks<Deployment> for Kubectl {}
impl Hooks<Container> for Kubectl {
    fn create(&mut self, c: &Container, parents: &Parents) -> Result<(), HookError> {
        let deployment = parents.key::<Deployment>().ok_or("no deployment")?;
        self.calls
            .push(format!("create {} in {}", c.name, deployment.name));
        Ok(())
    }

    fn update(
        &mut self,
        c: &Container,
        _: &ContainerChanges,
        parents: &Parents,
    ) -> Result<(), HookError> {
        let deployment = parents.key::<Deployment>().ok_or("no deployment")?;
        assert_eq!(
            parents.key::<Container>(),
            None,
            "an element is not its own parent"
        );
        assert_eq!(
            parents.models().collect::<Vec<_>>(),
            ["cluster", "deployment"]
        );
        self.calls.push(format!("update {} in {parents}", c.name));
        if self.fail_image.as_deref() == Some(c.image.as_str()) {
            return Err(Box::new(RolloutError {
                deployment: deployment.name.clone(),
                cause: std::io::Error::other("image pull backoff"),
            }));
        }
        Ok(())
    }
}

#[test]
fn a_child_hook_gets_its_parents_keys() {
    let mut target = Cluster {
        deployments: Store::new(),
    };
    let mut kubectl = Kubectl::default();
    let report = target
        .sync_from(&cluster("nginx:1"), &mut kubectl, SyncOptions::default())
        .unwrap();
    assert_eq!(report.counts.created, 4);
    assert_eq!(kubectl.calls, ["create web in api", "create web in ui"]);
    // Outcomes name the whole path: two `web` containers, two different lines.
    let lines: Vec<String> = report.outcomes.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "create deployment[name=api]: applied",
            "create deployment[name=api] > container[name=web]: applied",
            "create deployment[name=ui]: applied",
            "create deployment[name=ui] > container[name=web]: applied",
        ]
    );
    assert_eq!(&*report.outcomes[1].parents, "deployment[name=api] > ");
}

#[test]
fn a_hook_error_is_kept_whole_with_its_source() {
    let mut target = cluster("nginx:1");
    let mut kubectl = Kubectl {
        fail_image: Some("nginx:2".into()),
        ..Kubectl::default()
    };
    let report = target
        .sync_from(
            &cluster("nginx:2"),
            &mut kubectl,
            SyncOptions::new(SyncFlags::CONTINUE_ON_FAILURE),
        )
        .unwrap();
    assert_eq!(
        kubectl.calls,
        [
            "update web in deployment[name=api]",
            "update web in deployment[name=ui]"
        ]
    );
    let failures: Vec<&statesync::sync::Outcome> = report.failures().collect();
    assert_eq!(failures.len(), 2);
    let Status::Failed(failure) = &failures[1].status else {
        panic!("not a failure: {:?}", failures[1]);
    };
    let rollout = failure.downcast_ref::<RolloutError>().unwrap();
    assert_eq!(rollout.deployment, "ui");
    assert_eq!(failure.to_string(), "rollout of ui failed");
    assert_eq!(
        failure.source().map(ToString::to_string).as_deref(),
        Some("image pull backoff")
    );
    // The outcome shows the chain: a driver's message is often only its kind, with the
    // server's words in its source (it showed "rollout of ui failed" alone).
    assert_eq!(
        failures[1].to_string(),
        "update deployment[name=ui] > container[name=web]: failed: rollout of ui failed: image pull backoff"
    );
    // Failures are equal when their chains are: one kind of error with other causes is not.
    let other_cause = Failure::new(Box::new(RolloutError {
        deployment: "ui".into(),
        cause: std::io::Error::other("quota exceeded"),
    }));
    assert_ne!(*failure, other_cause);
    assert_eq!(failure.to_string(), other_cause.to_string());
    // Nothing was applied, so sync_complete did not run; its error would be kept whole too.
    assert!(report.complete_error.is_none());
}

#[test]
fn the_sync_complete_error_is_kept_whole() {
    let mut target = Cluster {
        deployments: Store::new(),
    };
    let report = target
        .sync_from(
            &cluster("nginx:1"),
            &mut Kubectl::default(),
            SyncOptions::default(),
        )
        .unwrap();
    let error: &Failure = report.complete_error.as_ref().unwrap();
    let io = error.downcast_ref::<std::io::Error>().unwrap();
    assert_eq!(io.to_string(), "apiserver gone");
    assert!(!report.is_success());
}

#[test]
fn engine_refusals_are_statesync_errors() {
    let mut target = inventory();
    let plan = target.diff_from(&inventory_without_nyc()).unwrap();
    target.sites.remove(&SiteKey { name: "nyc".into() });
    let report = target.sync_diff(
        &plan,
        &mut statesync::sync::InMemory,
        SyncOptions::default(),
    );
    let Status::Failed(failure) = &report.failures().next().unwrap().status else {
        panic!("no failure");
    };
    assert!(matches!(
        failure.downcast_ref::<statesync::Error>(),
        Some(statesync::Error::NotFound { .. })
    ));
}

fn inventory_without_nyc() -> Inventory {
    let mut new = inventory();
    new.sites.remove(&SiteKey { name: "nyc".into() });
    new
}

/// Three levels of the inventory: an interface hook finds both its site and its device.
#[derive(Default)]
struct Where(Vec<String>);

impl Adapter for Where {}
impl Hooks<Inventory> for Where {}
impl Hooks<Site> for Where {}
impl Hooks<Device> for Where {
    fn update(
        &mut self,
        _: &Device,
        _: &DeviceChanges,
        parents: &Parents,
    ) -> Result<(), HookError> {
        assert!(parents.key::<Device>().is_none());
        Ok(())
    }
}
impl Hooks<Interface> for Where {
    fn delete(&mut self, interface: &Interface, parents: &Parents) -> Result<(), HookError> {
        let site = parents.key::<Site>().ok_or("no site")?;
        let device = parents
            .key::<statesync_suite::inventory::Device>()
            .ok_or("no device")?;
        assert_eq!(parents.len(), 3);
        self.0
            .push(format!("{}/{}/{}", site.name, device.name, interface.name));
        Ok(())
    }
}

#[test]
fn a_grandchild_hook_finds_every_ancestor() {
    let mut target = inventory();
    let mut hooks = Where::default();
    let report = target
        .sync_from(&inventory_without_nyc(), &mut hooks, SyncOptions::default())
        .unwrap();
    assert!(report.is_success(), "{report}");
    assert_eq!(hooks.0.len(), 6);
    assert_eq!(hooks.0[0], "nyc/nyc-d0/et-0");
}

/// An error that prints its source itself, as `Transient` does (`"{0} (transient)"`) or a
/// database wrapper describing the server's message does.
#[derive(Debug)]
struct Prints {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl fmt::Display for Prints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Prints {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|source| source as _)
    }
}

fn prints(message: &str, source: Option<Prints>) -> Prints {
    Prints {
        message: message.into(),
        source: source.map(|source| Box::new(source) as _),
    }
}

/// A report's chain shows each cause once, on one line: a source whose message is already
/// shown is left out, any other shown (the review found "503 busy (transient): 503 busy",
/// a raw line break in a one-line outcome, and then, in a second version, a middle cause
/// hidden because a deeper one's words happened to be in the top message).
#[test]
fn a_failure_chain_shows_each_cause_once_on_one_line() {
    let chain = |error: Prints| Failure::new(Box::new(error)).chain().to_string();
    assert_eq!(
        chain(prints(
            "503 busy (transient)",
            Some(prints("503 busy", None))
        )),
        "503 busy (transient)"
    );
    // A driver's error: its kind, and the server's words (two lines) in its source.
    let server = || prints("ERROR: duplicate key \"t_pkey\"\nHINT: drop it.\r\n", None);
    assert_eq!(
        chain(prints("db error", Some(server()))),
        "db error: ERROR: duplicate key \"t_pkey\" HINT: drop it."
    );
    // A middle cause is kept though a deeper one's words are in the top message.
    assert_eq!(
        chain(prints(
            "create of rec a timed out",
            Some(prints(
                "lock held by pid 4711",
                Some(prints("timed out", None))
            ))
        )),
        "create of rec a timed out: lock held by pid 4711: timed out"
    );
    assert_eq!(chain(prints("outer", Some(prints("", None)))), "outer");
    assert_eq!(
        chain(prints(" \n ", Some(prints("disk full", None)))),
        "disk full"
    );
    assert_eq!(
        chain(prints("a\u{2028}b", Some(prints("c\u{2029}d", None)))),
        "a b: c d"
    );
    // An empty middle message does not hide that its parent printed the cause.
    assert_eq!(
        chain(prints(
            "write failed: disk full",
            Some(prints("", Some(prints("disk full", None))))
        )),
        "write failed: disk full"
    );
    // A bidirectional control is escaped, as in keys and plans.
    assert_eq!(
        chain(prints("rec \u{202e}cba failed", None)),
        "rec \\u{202e}cba failed"
    );
    // A deep chain keeps its root cause.
    let deep = (0..40).fold(prints("ENOSPC", None), |inner, at| {
        prints(&format!("in folder {at}"), Some(inner))
    });
    assert!(chain(deep).ends_with("in folder 0: ENOSPC"));
    assert_eq!(
        chain(prints(
            "rollout failed",
            Some(prints("image pull backoff", None))
        )),
        "rollout failed: image pull backoff"
    );
}

/// An error whose `source()` leads back to itself: its chain ends (it never did).
#[derive(Debug)]
struct Loops;

impl fmt::Display for Loops {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("loops")
    }
}

impl std::error::Error for Loops {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self)
    }
}

#[test]
fn a_failure_chain_that_loops_ends() {
    assert_eq!(Failure::new(Box::new(Loops)).chain().to_string(), "loops");
}
