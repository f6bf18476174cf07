//! Configuration fan-out: one central configuration synced to three components, each through
//! an adapter that maps it to the component's own shape, with a report per component.
//!
//! `cargo run --example config_fanout`

use std::process::ExitCode;

use statesync::sync::{Adapter, HookError, Hooks, Parents, SyncModel, SyncOptions, SyncReport};
use statesync::{DiffModel, Store};
use statesync_suite::cli::Command;

/// The central configuration: services and how they run.
#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Config {
    #[statesync(children)]
    services: Store<Service>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Service {
    #[statesync(id)]
    name: String,
    port: u16,
    replicas: u8,
    log_level: String,
}

/// The load balancer's shape: one upstream per service.
#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Upstreams {
    #[statesync(children)]
    upstreams: Store<Upstream>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Upstream {
    #[statesync(id)]
    service: String,
    listen: String,
}

/// The scheduler's shape: replica counts.
#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Deployments {
    #[statesync(children)]
    deployments: Store<Deployment>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct Deployment {
    #[statesync(id)]
    service: String,
    replicas: u8,
}

/// The log shipper's shape: one rule per level, listing its services.
#[derive(DiffModel, Clone, Debug, PartialEq)]
struct LogRules {
    #[statesync(children)]
    rules: Store<LogRule>,
}

#[derive(DiffModel, Clone, Debug, PartialEq)]
struct LogRule {
    #[statesync(id)]
    level: String,
    services: Vec<String>,
}

/// A component: its current state, what it was told (its "real system") and how the
/// central configuration maps to its shape.
struct Component<S> {
    name: &'static str,
    state: S,
    commands: Vec<String>,
    map: fn(&Config) -> S,
}

impl<S> Adapter for Component<S> {}

impl<S> Component<S> {
    fn record(&mut self, command: String) -> Result<(), HookError> {
        self.commands.push(command);
        Ok(())
    }
}

impl Hooks<Upstreams> for Component<Upstreams> {}
impl Hooks<Upstream> for Component<Upstreams> {
    fn create(&mut self, u: &Upstream, _parents: &Parents) -> Result<(), HookError> {
        self.record(format!("add upstream {} -> {}", u.service, u.listen))
    }
    fn update(
        &mut self,
        u: &Upstream,
        _: &UpstreamChanges,
        _parents: &Parents,
    ) -> Result<(), HookError> {
        self.record(format!("repoint upstream {} -> {}", u.service, u.listen))
    }
    fn delete(&mut self, u: &Upstream, _parents: &Parents) -> Result<(), HookError> {
        self.record(format!("remove upstream {}", u.service))
    }
}

impl Hooks<Deployments> for Component<Deployments> {}
impl Hooks<Deployment> for Component<Deployments> {
    fn create(&mut self, d: &Deployment, _parents: &Parents) -> Result<(), HookError> {
        self.record(format!("deploy {} x{}", d.service, d.replicas))
    }
    fn update(
        &mut self,
        d: &Deployment,
        _: &DeploymentChanges,
        _parents: &Parents,
    ) -> Result<(), HookError> {
        self.record(format!("scale {} to {}", d.service, d.replicas))
    }
    fn delete(&mut self, d: &Deployment, _parents: &Parents) -> Result<(), HookError> {
        self.record(format!("undeploy {}", d.service))
    }
}

impl Hooks<LogRules> for Component<LogRules> {}
impl Hooks<LogRule> for Component<LogRules> {
    fn create(&mut self, r: &LogRule, _parents: &Parents) -> Result<(), HookError> {
        self.record(format!("ship {} logs of {:?}", r.level, r.services))
    }
    fn update(
        &mut self,
        r: &LogRule,
        _: &LogRuleChanges,
        _parents: &Parents,
    ) -> Result<(), HookError> {
        self.record(format!("ship {} logs of {:?}", r.level, r.services))
    }
    fn delete(&mut self, r: &LogRule, _parents: &Parents) -> Result<(), HookError> {
        self.record(format!("stop shipping {} logs", r.level))
    }
}

fn upstreams(config: &Config) -> Upstreams {
    let items = config.services.iter().map(|s| Upstream {
        service: s.name.clone(),
        listen: format!("127.0.0.1:{}", s.port),
    });
    Upstreams {
        upstreams: Store::try_from_iter(items).unwrap_or_default(),
    }
}

fn deployments(config: &Config) -> Deployments {
    let items = config.services.iter().map(|s| Deployment {
        service: s.name.clone(),
        replicas: s.replicas,
    });
    Deployments {
        deployments: Store::try_from_iter(items).unwrap_or_default(),
    }
}

fn log_rules(config: &Config) -> LogRules {
    let mut rules: Store<LogRule> = Store::new();
    for service in &config.services {
        let key = LogRuleKey {
            level: service.log_level.clone(),
        };
        if let Ok(mut rule) = rules.get_or_insert_with(key, || LogRule {
            level: service.log_level.clone(),
            services: Vec::new(),
        }) {
            rule.services.push(service.name.clone());
        }
    }
    LogRules { rules }
}

/// Syncs one component from the central configuration and prints its report.
fn fan_out<S>(component: &mut Component<S>, config: &Config) -> Result<SyncReport, HookError>
where
    S: DiffModel + statesync::sync::SyncTree<Component<S>>,
{
    let desired = (component.map)(config);
    let mut state = component.state.clone();
    let before = component.commands.len();
    let report = state.sync_from(&desired, component, SyncOptions::default())?;
    component.state = state;
    statesync_suite::say!("  {:<12} {report}", component.name)?;
    for command in component.commands.iter().skip(before) {
        statesync_suite::say!("    {command}")?;
    }
    // A component that did not take its whole part fails the fan-out (exit 1), rather
    // than being counted as done.
    if !report.is_success() {
        return Err(format!(
            "{} did not take its configuration: {report}",
            component.name
        )
        .into());
    }
    Ok(report)
}

fn service(name: &str, port: u16, replicas: u8, log_level: &str) -> Service {
    Service {
        name: name.into(),
        port,
        replicas,
        log_level: log_level.into(),
    }
}

fn run() -> Result<(), HookError> {
    let mut config = Config {
        services: Store::try_from_iter([
            service("api", 8080, 3, "info"),
            service("web", 8081, 2, "info"),
            service("jobs", 8082, 1, "debug"),
        ])?,
    };
    let mut balancer = Component {
        name: "balancer",
        state: Upstreams {
            upstreams: Store::new(),
        },
        commands: vec![],
        map: upstreams,
    };
    let mut scheduler = Component {
        name: "scheduler",
        state: Deployments {
            deployments: Store::new(),
        },
        commands: vec![],
        map: deployments,
    };
    let mut shipper = Component {
        name: "log shipper",
        state: LogRules {
            rules: Store::new(),
        },
        commands: vec![],
        map: log_rules,
    };

    statesync_suite::say!("initial fan-out:")?;
    let _ = fan_out(&mut balancer, &config)?;
    let _ = fan_out(&mut scheduler, &config)?;
    let _ = fan_out(&mut shipper, &config)?;

    statesync_suite::say!("after scaling api to 5 and quieting jobs:")?;
    if let Some(mut api) = config.services.get_mut(&ServiceKey { name: "api".into() }) {
        api.replicas = 5;
    }
    if let Some(mut jobs) = config.services.get_mut(&ServiceKey {
        name: "jobs".into(),
    }) {
        jobs.log_level = "info".into();
    }
    let balancer_report = fan_out(&mut balancer, &config)?;
    let scheduler_report = fan_out(&mut scheduler, &config)?;
    let shipper_report = fan_out(&mut shipper, &config)?;

    statesync_suite::say!("again, with nothing new:")?;
    let idle = [
        fan_out(&mut balancer, &config)?,
        fan_out(&mut scheduler, &config)?,
        fan_out(&mut shipper, &config)?,
    ];

    let ok = balancer_report.counts.changes() == 0
        && scheduler_report.counts.updated == 1
        && shipper_report.counts.changes() == 2
        && idle.iter().all(|report| report.counts.changes() == 0);
    if !ok {
        return Err("a component got changes that were not its own".into());
    }
    Ok(())
}

const COMMAND: Command = Command {
    name: "config_fanout",
    about: "One central configuration synced to three components, each through an adapter that maps it to the component's own shape.",
    options: &[],
};

fn main() -> ExitCode {
    COMMAND.main(|_| run())
}
