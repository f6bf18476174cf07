//! A fake remote system for the async engine: elements by name with their parent, random
//! delays, injected failures, and checks of the order a real system with foreign keys
//! needs (a child refused without its parent, a parent delete refused while it has
//! children, a duplicate create refused).

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use statesync::DiffModel;
use statesync::sync::{
    Adapter, AsyncAdapter, AsyncHooks, HookError, Hooks, Parents, SyncReport, Transient,
};
use statesync_suite::inventory::{Device, Interface, Inventory, Site};

/// `model[key]`, as `Parents` prints an ancestor.
pub fn name<M: DiffModel>(model: &M) -> String {
    format!("{}[{}]", M::NAME, model.key())
}

/// One element the system holds: its parent and its last model.
pub struct Held {
    pub parent: Option<String>,
    pub model: Box<dyn Any + Send>,
}

pub struct State {
    pub system: BTreeMap<String, Held>,
    /// Order violations and duplicates: each one fails the test.
    pub violations: Vec<String>,
    pub in_flight: usize,
    pub max_in_flight: usize,
    pub calls: usize,
    /// Every call's start and completion, in order: (operation, started).
    pub events: Vec<(Op, bool)>,
    rng: ChaCha8Rng,
}

/// The fake system. `fail` fails those elements for good; `transient` is the chance of
/// a transient error per call; `max_delay` the longest simulated latency.
pub struct Fake {
    pub state: Mutex<State>,
    pub fail: BTreeSet<String>,
    pub transient: f64,
    pub max_delay: Duration,
    /// Whether a parent delete is refused while it has children (off for syncs that
    /// delete parents first).
    pub strict_deletes: bool,
    /// The element whose call panics when it ends (changing nothing in the system).
    pub panic_on: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Create,
    Update,
    Delete,
}

/// What a call decided when it started.
pub struct Started {
    delay: Duration,
    verdict: Result<(), HookError>,
}

impl Fake {
    pub fn new(seed: u64) -> Self {
        Self {
            state: Mutex::new(State {
                system: BTreeMap::new(),
                violations: Vec::new(),
                in_flight: 0,
                max_in_flight: 0,
                calls: 0,
                events: Vec::new(),
                rng: ChaCha8Rng::seed_from_u64(seed),
            }),
            fail: BTreeSet::new(),
            transient: 0.0,
            max_delay: Duration::from_millis(3),
            strict_deletes: true,
            panic_on: None,
        }
    }

    /// A system holding every element of `state`.
    pub fn holding(seed: u64, state: &Inventory) -> Self {
        let fake = Self::new(seed);
        {
            let mut guard = fake.lock();
            for (element, parent, model) in elements(state) {
                guard.system.insert(element, Held { parent, model });
            }
        }
        fake
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Checks the call against the system as it is when the call starts.
    pub fn start<M: DiffModel>(&self, op: Op, model: &M, parents: &Parents) -> Started {
        let element = name(model);
        let mut state = self.lock();
        state.calls += 1;
        state.events.push((op, true));
        state.in_flight += 1;
        state.max_in_flight = state.max_in_flight.max(state.in_flight);
        let delay = self.max_delay.mul_f64(state.rng.random::<f64>());
        let transient = state.rng.random_bool(self.transient);
        let refusal = match op {
            Op::Create => match parent_of(parents) {
                Some(parent) if !state.system.contains_key(&parent) => {
                    Some(format!("create {element} before its parent {parent}"))
                }
                _ => None,
            },
            Op::Delete if !self.strict_deletes => None,
            Op::Delete => state
                .system
                .iter()
                .find(|(_, held)| held.parent.as_deref() == Some(element.as_str()))
                .map(|(child, _)| format!("delete {element} before its child {child}")),
            Op::Update => (!state.system.contains_key(&element))
                .then(|| format!("update of missing {element}")),
        };
        let verdict = if let Some(refusal) = refusal {
            state.violations.push(refusal.clone());
            Err(refusal.into())
        } else if self.fail.contains(&element) {
            Err(format!("injected failure on {element}").into())
        } else if transient {
            Err(Transient::new(format!("timeout on {element}")).into())
        } else {
            Ok(())
        };
        Started { delay, verdict }
    }

    /// The call's effect, when it completes.
    pub fn finish<M: DiffModel + Send + 'static>(
        &self,
        op: Op,
        model: &M,
        parents: &Parents,
        started: Started,
    ) -> Result<(), HookError> {
        let element = name(model);
        let mut state = self.lock();
        state.in_flight -= 1;
        state.events.push((op, false));
        if self.panic_on.as_ref() == Some(&element) {
            drop(state);
            panic!("the call of {element} panics");
        }
        started.verdict?;
        let held = Held {
            parent: parent_of(parents),
            model: Box::new(model.clone()),
        };
        match op {
            Op::Create => {
                if state.system.insert(element.clone(), held).is_some() {
                    state.violations.push(format!("{element} created twice"));
                }
            }
            Op::Update => drop(state.system.insert(element, held)),
            Op::Delete => drop(state.system.remove(&element)),
        }
        Ok(())
    }

    /// Whether every delete completed before any create or update started.
    pub fn deletes_came_first(&self) -> bool {
        let state = self.lock();
        let last_delete = state.events.iter().rposition(|&(op, _)| op == Op::Delete);
        let first_other = state.events.iter().position(|&(op, _)| op != Op::Delete);
        match (last_delete, first_other) {
            (Some(last), Some(first)) => last < first,
            _ => true,
        }
    }

    async fn call<M: DiffModel + Send + Sync + 'static>(
        &self,
        op: Op,
        model: &M,
        parents: &Parents,
    ) -> Result<(), HookError> {
        let started = self.start(op, model, parents);
        tokio::time::sleep(started.delay).await;
        self.finish(op, model, parents, started)
    }

    /// Whether the system holds exactly the elements of `state`, each with its
    /// attributes; the differences otherwise.
    pub fn differences(&self, state: &Inventory) -> Vec<String> {
        let guard = self.lock();
        let mut differences = Vec::new();
        let mut seen = BTreeSet::new();
        for (element, parent, model) in elements(state) {
            match guard.system.get(&element) {
                None => differences.push(format!("{element} only in memory")),
                Some(held) if held.parent != parent => {
                    differences.push(format!("{element} has another parent"))
                }
                Some(held) if !same_attributes(&*held.model, &*model) => {
                    differences.push(format!("{element} differs"))
                }
                Some(_) => {}
            }
            seen.insert(element);
        }
        for element in guard.system.keys() {
            if !seen.contains(element) {
                differences.push(format!("{element} only in the system"));
            }
        }
        differences
    }
}

/// The innermost ancestor, as `Parents` prints it.
fn parent_of(parents: &Parents) -> Option<String> {
    let rendered = parents.to_string();
    rendered
        .rsplit(" > ")
        .next()
        .filter(|last| !last.is_empty())
        .map(str::to_owned)
}

/// Every element of an inventory with its parent, root first.
fn elements(state: &Inventory) -> Vec<(String, Option<String>, Box<dyn Any + Send>)> {
    let mut out: Vec<(String, Option<String>, Box<dyn Any + Send>)> = Vec::new();
    for site in state.sites.iter() {
        let site_name = name(site);
        for device in site.devices.iter() {
            let device_name = name(device);
            for interface in device.interfaces.iter() {
                let boxed: Box<dyn Any + Send> = Box::new(interface.clone());
                out.push((name(interface), Some(device_name.clone()), boxed));
            }
            let boxed: Box<dyn Any + Send> = Box::new(device.clone());
            out.push((device_name, Some(site_name.clone()), boxed));
        }
        let boxed: Box<dyn Any + Send> = Box::new(site.clone());
        out.push((site_name, None, boxed));
    }
    out
}

/// Whether a held model has the attributes of `model` (children aside).
fn same_attributes(held: &dyn Any, model: &dyn Any) -> bool {
    if let (Some(a), Some(b)) = (held.downcast_ref::<Site>(), model.downcast_ref::<Site>()) {
        return a.region == b.region;
    }
    if let (Some(a), Some(b)) = (
        held.downcast_ref::<Device>(),
        model.downcast_ref::<Device>(),
    ) {
        return (&a.role, &a.model, &a.serial) == (&b.role, &b.model, &b.serial);
    }
    if let (Some(a), Some(b)) = (
        held.downcast_ref::<Interface>(),
        model.downcast_ref::<Interface>(),
    ) {
        return a == b;
    }
    false
}

impl AsyncAdapter for Fake {}

impl<M> AsyncHooks<M> for Fake
where
    M: DiffModel + Send + Sync + 'static,
    M::Changes: Sync,
{
    async fn create(&self, model: &M, parents: &Parents) -> Result<(), HookError> {
        self.call(Op::Create, model, parents).await
    }

    async fn update(
        &self,
        model: &M,
        _changes: &M::Changes,
        parents: &Parents,
    ) -> Result<(), HookError> {
        self.call(Op::Update, model, parents).await
    }

    async fn delete(&self, model: &M, parents: &Parents) -> Result<(), HookError> {
        self.call(Op::Delete, model, parents).await
    }
}

/// The same system through blocking hooks (no delay), for comparing the engines.
pub struct Blocking<'a>(pub &'a Fake);

impl Adapter for Blocking<'_> {
    fn sync_complete(&mut self, _report: &SyncReport) -> Result<(), HookError> {
        Ok(())
    }
}

impl<M: DiffModel + Send + 'static> Hooks<M> for Blocking<'_> {
    fn create(&mut self, model: &M, parents: &Parents) -> Result<(), HookError> {
        let started = self.0.start(Op::Create, model, parents);
        self.0.finish(Op::Create, model, parents, started)
    }

    fn update(&mut self, model: &M, _: &M::Changes, parents: &Parents) -> Result<(), HookError> {
        let started = self.0.start(Op::Update, model, parents);
        self.0.finish(Op::Update, model, parents, started)
    }

    fn delete(&mut self, model: &M, parents: &Parents) -> Result<(), HookError> {
        let started = self.0.start(Op::Delete, model, parents);
        self.0.finish(Op::Delete, model, parents, started)
    }
}

/// The names of every element of an inventory.
pub fn all_names(state: &Inventory) -> Vec<String> {
    elements(state)
        .into_iter()
        .map(|(name, _, _)| name)
        .collect()
}
