//! An adapter over a simulated system (a set of element names) that fails chosen elements.

use std::collections::BTreeSet;

use statesync::sync::{Adapter, HookError, Hooks, Parents, SyncReport};
use statesync::{DiffModel, ModelVisitor};

#[derive(Default)]
pub struct Faulty {
    /// What the "real system" holds: `model[key]` for each element.
    pub system: BTreeSet<String>,
    /// Every hook call, in order: `create device[site=a, name=b]`.
    pub log: Vec<String>,
    /// Elements whose hooks fail.
    pub fail: BTreeSet<String>,
    /// How many times `sync_complete` ran.
    pub completes: usize,
}

pub fn name<M: DiffModel>(model: &M) -> String {
    format!("{}[{}]", M::NAME, model.key())
}

impl Faulty {
    /// A system that already holds everything in `state`.
    pub fn holding<M: DiffModel>(state: &M) -> Self {
        Self {
            system: elements(state),
            ..Self::default()
        }
    }

    pub fn failing(mut self, element: &str) -> Self {
        self.fail.insert(element.to_owned());
        self
    }

    fn hook<M: DiffModel>(&mut self, operation: &str, model: &M) -> Result<(), HookError> {
        let element = name(model);
        self.log.push(format!("{operation} {element}"));
        if self.fail.contains(&element) {
            return Err(format!("injected failure on {element}").into());
        }
        match operation {
            "create" => assert!(self.system.insert(element), "created twice"),
            "delete" => assert!(self.system.remove(&element), "deleted a missing element"),
            _ => assert!(self.system.contains(&element), "updated a missing element"),
        }
        Ok(())
    }
}

impl Adapter for Faulty {
    fn sync_complete(&mut self, _report: &SyncReport) -> Result<(), HookError> {
        self.completes += 1;
        Ok(())
    }
}

impl<M: DiffModel> Hooks<M> for Faulty {
    fn create(&mut self, model: &M, _parents: &Parents) -> Result<(), HookError> {
        self.hook("create", model)
    }

    fn update(
        &mut self,
        model: &M,
        _changes: &M::Changes,
        _parents: &Parents,
    ) -> Result<(), HookError> {
        self.hook("update", model)
    }

    fn delete(&mut self, model: &M, _parents: &Parents) -> Result<(), HookError> {
        self.hook("delete", model)
    }
}

struct Collect(BTreeSet<String>);

impl ModelVisitor for Collect {
    fn visit<C: DiffModel>(&mut self, _field: &'static str, child: &C) {
        self.0.insert(name(child));
        child.visit_children(self);
    }
}

/// Every element below the root, as the simulated system names them.
pub fn elements<M: DiffModel>(state: &M) -> BTreeSet<String> {
    let mut collect = Collect(BTreeSet::new());
    state.visit_children(&mut collect);
    collect.0
}
