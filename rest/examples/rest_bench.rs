//! The numbers of the async engine against the REST inventory service: N creates of
//! interfaces under existing devices, synced at `max_in_flight = 64` and at
//! `max_in_flight = 1` in one run, printed as one JSON line with the speed-up and the
//! process's peak resident memory.
//!
//! `cargo run --release --example rest_bench` (10,000 creates, 20 ms latency per request:
//! about 4 minutes, nearly all of it the run at one request at a time). With
//! `--latency-ms 0` it also runs the blocking engine (`SyncModel::sync_diff`, each hook
//! waiting for its request) against the async engine at `max_in_flight = 1`: the async
//! engine's own cost. This is a benchmark to read, not a timed test.

use std::error::Error;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use statesync::sync::{
    Adapter, AsyncSyncModel, AsyncSyncOptions, HookError, Hooks, Parents, SyncModel, SyncOptions,
    SyncReport,
};
use statesync::{DiffModel, Store};
use statesync_rest::{Client, ClientConfig, Config, Resource, RestAdapter, Service};
use statesync_suite::cli::{Args, Command, Opt};
use statesync_suite::dataset::generate;
use statesync_suite::inventory::{Device, Interface, Inventory, Site};
use tokio::runtime::{Handle, Runtime};

const COMMAND: Command = Command {
    name: "rest_bench",
    about: "Times N creates of interfaces against the REST inventory service at \
            max_in_flight 64 and 1 and prints one JSON line; at --latency-ms 0 it also times \
            the blocking engine against the async engine at max_in_flight 1.",
    options: &[
        Opt::value(
            "--changes",
            &["N"],
            "interfaces created under existing devices (default 10000)",
        ),
        Opt::value(
            "--latency-ms",
            &["MS"],
            "latency the service adds to every request (default 20)",
        ),
    ],
};

fn main() -> ExitCode {
    COMMAND.main(run)
}

fn run(args: Args) -> Result<(), Box<dyn Error>> {
    let changes = args.size_or(
        "--changes",
        10_000,
        statesync_suite::dataset::MAX_INTERFACES,
    )?;
    let latency = Duration::from_millis(args.parsed_or("--latency-ms", 20)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let service = runtime.block_on(Service::start(Config {
        latency,
        ..Config::default()
    }))?;
    let client = Client::new(&service.url(), &ClientConfig::default())?;
    let bench = Bench {
        runtime: &runtime,
        adapter: RestAdapter::new(client),
        source: generate(changes, 7),
    };
    bench.base()?;

    let mut line = serde_json::Map::new();
    line.insert("changes".into(), changes.into());
    line.insert("latency_ms".into(), (latency.as_millis() as u64).into());
    let wide = bench.time(Engine::Async(64))?;
    let narrow = bench.time(Engine::Async(1))?;
    line.insert("in_flight_64_s".into(), seconds(wide).into());
    line.insert("in_flight_1_s".into(), seconds(narrow).into());
    line.insert(
        "speedup_64_over_1".into(),
        round2(narrow.as_secs_f64() / wide.as_secs_f64()).into(),
    );
    if latency.is_zero() {
        let blocking = bench.time(Engine::Blocking)?;
        line.insert("blocking_s".into(), seconds(blocking).into());
        line.insert(
            "async_1_over_blocking".into(),
            round2(narrow.as_secs_f64() / blocking.as_secs_f64()).into(),
        );
    }
    let peak = statesync_suite::measure::peak_rss_mb().ok_or("no VmHWM in /proc/self/status")?;
    line.insert("peak_rss_mb".into(), round2(peak).into());
    statesync_suite::say!("{}", serde_json::Value::Object(line))?;
    runtime.block_on(service.shutdown())?;
    Ok(())
}

/// Which engine runs the hooks.
#[derive(Debug, Clone, Copy)]
enum Engine {
    /// The async engine, this many requests at once.
    Async(usize),
    /// The blocking engine, each hook waiting for its request.
    Blocking,
}

struct Bench<'r> {
    runtime: &'r Runtime,
    adapter: RestAdapter,
    source: Inventory,
}

impl Bench<'_> {
    /// Brings the service to the source's sites and devices, without interfaces.
    fn base(&self) -> Result<(), Box<dyn Error>> {
        let base = without_interfaces(&self.source)?;
        let report = self.sync_to(&base)?;
        if !report.is_success() {
            return Err(format!("setting up the devices failed: {report}").into());
        }
        Ok(())
    }

    /// The time `engine` takes to create every interface of the source (the diff is made
    /// before the clock starts); then the service is brought back to the base.
    fn time(&self, engine: Engine) -> Result<Duration, Box<dyn Error>> {
        let client = self.adapter.client();
        let mut target = self.runtime.block_on(client.load())?;
        let diff = target.diff(&self.source)?;
        let started = Instant::now();
        let report = match engine {
            Engine::Async(max_in_flight) => self.runtime.block_on(target.sync_diff_async(
                &diff,
                &self.adapter,
                AsyncSyncOptions::new(SyncOptions::default()).max_in_flight(max_in_flight),
            )),
            Engine::Blocking => target.sync_diff(
                &diff,
                &mut Blocking {
                    client,
                    runtime: self.runtime.handle(),
                },
                SyncOptions::default(),
            ),
        };
        let elapsed = started.elapsed();
        check(&report, engine)?;
        statesync_suite::cli::tell(format_args!("{engine:?}: {report}"));
        if self.runtime.block_on(client.load())? != self.source {
            return Err(format!("{engine:?}: the service differs from the source").into());
        }
        self.base()?;
        Ok(elapsed)
    }

    /// Syncs the service to `state` (64 requests at once; not timed).
    fn sync_to(&self, state: &Inventory) -> Result<SyncReport, Box<dyn Error>> {
        let mut target = self.runtime.block_on(self.adapter.client().load())?;
        let options = AsyncSyncOptions::new(SyncOptions::default()).max_in_flight(64);
        Ok(self
            .runtime
            .block_on(target.sync_from_async(state, &self.adapter, options))?)
    }
}

fn check(report: &SyncReport, engine: Engine) -> Result<(), Box<dyn Error>> {
    if report.is_success() && report.counts.changes() == report.counts.created {
        Ok(())
    } else {
        Err(format!("{engine:?}: {report}").into())
    }
}

/// The source with its sites and devices only.
fn without_interfaces(source: &Inventory) -> Result<Inventory, statesync::Error> {
    let site = |site: &Site| -> Result<Site, statesync::Error> {
        let devices = site.devices.iter().map(|device| Device {
            interfaces: Store::new(),
            ..device.clone()
        });
        Ok(Site {
            devices: Store::try_from_iter(devices)?,
            ..site.clone()
        })
    };
    Ok(Inventory {
        sites: Store::try_from_iter(
            source
                .sites
                .iter()
                .map(site)
                .collect::<Result<Vec<_>, _>>()?,
        )?,
    })
}

/// Blocking hooks over the async client: each call waits for its request on the runtime.
struct Blocking<'a> {
    client: &'a Client,
    runtime: &'a Handle,
}

impl Blocking<'_> {
    fn create<M: Resource>(&self, model: &M) -> Result<(), HookError> {
        Ok(self.runtime.block_on(model.create(self.client))?)
    }

    fn update<M: Resource>(&self, model: &M, changes: &M::Changes) -> Result<(), HookError> {
        Ok(self.runtime.block_on(model.update(changes, self.client))?)
    }

    fn delete<M: Resource>(&self, model: &M) -> Result<(), HookError> {
        Ok(self.runtime.block_on(model.delete(self.client))?)
    }
}

impl Adapter for Blocking<'_> {}

impl Hooks<Inventory> for Blocking<'_> {}

/// The same three calls for each model type the service stores.
macro_rules! blocking_hooks {
    ($($model:ty),*) => {$(
        impl Hooks<$model> for Blocking<'_> {
            fn create(&mut self, model: &$model, _: &Parents) -> Result<(), HookError> {
                Blocking::create(self, model)
            }

            fn update(
                &mut self,
                model: &$model,
                changes: &<$model as DiffModel>::Changes,
                _: &Parents,
            ) -> Result<(), HookError> {
                Blocking::update(self, model, changes)
            }

            fn delete(&mut self, model: &$model, _: &Parents) -> Result<(), HookError> {
                Blocking::delete(self, model)
            }
        }
    )*};
}

blocking_hooks!(Site, Device, Interface);

fn seconds(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 1000.0).round() / 1000.0
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}
