//! [`AsyncBridge`]: the blocking engine's view of async hooks. The engine runs twice
//! through it: once on a copy of the target to list the hook calls a sync makes (the
//! jobs, with their dependencies), and once on the target, after the jobs ran, to apply
//! their results (each call answered with its job's result).

use std::any::TypeId;
use std::collections::HashMap;
use std::fmt;

use futures::future::BoxFuture;

use super::super::parents::Parents;
use super::super::{Adapter, HookError, Hooks};
use super::AsyncHooks;
use crate::error::Operation;
use crate::model::DiffModel;

/// Where an element sits: its ancestors and itself, as (model type, rendered key).
type Path = Vec<(TypeId, String)>;

/// One hook call with what it needs, owned, so it can run later and again (retries).
pub(super) trait Task<H: ?Sized>: Send + Sync {
    fn call<'a>(&'a self, hooks: &'a H) -> BoxFuture<'a, Result<(), HookError>>;
}

struct Call<M: DiffModel> {
    operation: Operation,
    model: M,
    changes: Option<M::Changes>,
    parents: Parents,
}

impl<M, H> Task<H> for Call<M>
where
    M: DiffModel + Send + Sync,
    M::Changes: Send + Sync,
    H: AsyncHooks<M> + ?Sized,
{
    fn call<'a>(&'a self, hooks: &'a H) -> BoxFuture<'a, Result<(), HookError>> {
        match (self.operation, &self.changes) {
            (Operation::Create, _) => Box::pin(hooks.create(&self.model, &self.parents)),
            (Operation::Update, Some(changes)) => {
                Box::pin(hooks.update(&self.model, changes, &self.parents))
            }
            (Operation::Update, None) => Box::pin(futures::future::ready(Err(
                "an update without changes".into(),
            ))),
            (Operation::Delete, _) => Box::pin(hooks.delete(&self.model, &self.parents)),
        }
    }
}

/// A hook call to make, and what must succeed before it.
pub(super) struct Job<H: ?Sized> {
    pub(super) task: Box<dyn Task<H>>,
    pub(super) model: &'static str,
    pub(super) operation: Operation,
    /// The element, for matching the replay's calls.
    type_id: TypeId,
    path: Path,
    /// Jobs that must succeed first (else this one is skipped).
    pub(super) needs: Vec<usize>,
    /// A delete in a sync whose deletes all come first.
    pub(super) early: bool,
}

/// How one job ended.
pub(super) enum JobResult {
    /// Not started (the sync stopped, or was dropped, first), or skipped.
    NotRun,
    Succeeded {
        attempts: u32,
    },
    Failed {
        error: Option<HookError>,
        attempts: u32,
    },
}

/// The marker error the replay answers for a call whose job never ran.
#[derive(Debug)]
pub(super) struct NotRun;

impl fmt::Display for NotRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not run: the sync stopped first")
    }
}

impl std::error::Error for NotRun {}

/// Lists jobs and their dependencies from the blocking engine's calls, in its order.
pub(super) struct Collector<H: ?Sized> {
    pub(super) jobs: Vec<Job<H>>,
    deletes_first: bool,
    creates: HashMap<Path, usize>,
    deletes: HashMap<Path, usize>,
    /// Deletes of children, by their parent's path, waiting for the parent's delete.
    child_deletes: HashMap<Path, Vec<usize>>,
    root_deletes: Vec<usize>,
}

/// Answers the replay's calls from the jobs' results, in the jobs' order.
pub(super) struct Replayer<H: ?Sized> {
    pub(super) jobs: Vec<Job<H>>,
    pub(super) results: Vec<JobResult>,
    cursor: usize,
    /// Per call answered: its attempts, and whether its job never ran.
    pub(super) answers: Vec<(u32, bool)>,
}

/// The blocking engine's adapter for async hooks `H` (see the module docs). Not used
/// directly: `M: SyncTree<AsyncBridge<H>>` is the bound that says "`H` has async hooks for
/// every model of `M`'s tree".
#[doc(hidden)]
pub struct AsyncBridge<H: ?Sized> {
    pub(super) mode: Mode<H>,
}

pub(super) enum Mode<H: ?Sized> {
    Collect(Collector<H>),
    Replay(Replayer<H>),
}

impl<H: ?Sized> AsyncBridge<H> {
    pub(super) fn collector(deletes_first: bool) -> Self {
        Self {
            mode: Mode::Collect(Collector {
                jobs: Vec::new(),
                deletes_first,
                creates: HashMap::new(),
                deletes: HashMap::new(),
                child_deletes: HashMap::new(),
                root_deletes: Vec::new(),
            }),
        }
    }

    pub(super) fn replayer(jobs: Vec<Job<H>>, results: Vec<JobResult>) -> Self {
        Self {
            mode: Mode::Replay(Replayer {
                jobs,
                results,
                cursor: 0,
                answers: Vec::new(),
            }),
        }
    }

    fn hook<M>(
        &mut self,
        operation: Operation,
        model: &M,
        changes: Option<&M::Changes>,
        parents: &Parents,
    ) -> Result<(), HookError>
    where
        M: DiffModel + Send + Sync + 'static,
        M::Changes: Send + Sync,
        H: AsyncHooks<M>,
    {
        let parent_path = parents.path();
        let mut path = parent_path.clone();
        path.push((TypeId::of::<M>(), model.key().to_string()));
        match &mut self.mode {
            Mode::Collect(collector) => {
                let task = Call {
                    operation,
                    model: model.clone(),
                    changes: changes.cloned(),
                    parents: parents.clone(),
                };
                collector.add(
                    Box::new(task),
                    M::NAME,
                    operation,
                    TypeId::of::<M>(),
                    path,
                    parent_path,
                );
                Ok(())
            }
            Mode::Replay(replayer) => replayer.answer(operation, TypeId::of::<M>(), &path),
        }
    }
}

impl<H: ?Sized> Collector<H> {
    fn add(
        &mut self,
        task: Box<dyn Task<H>>,
        model: &'static str,
        operation: Operation,
        type_id: TypeId,
        path: Path,
        parent_path: Path,
    ) {
        let index = self.jobs.len();
        let mut needs = Vec::new();
        match operation {
            Operation::Create => {
                // A parent created in this sync is created first.
                needs.extend(self.creates.get(&parent_path).copied());
                // A root replaced: the old one goes first.
                if parent_path.is_empty() {
                    needs.extend(self.root_deletes.iter().copied());
                }
                self.creates.insert(path.clone(), index);
            }
            Operation::Delete => {
                // An ancestor deleted first (`PARENT_FIRST_DELETION`) ...
                needs.extend(
                    (1..=parent_path.len())
                        .filter_map(|depth| parent_path.get(..depth))
                        .filter_map(|ancestor| self.deletes.get(ancestor).copied()),
                );
                // ... or children deleted before their parent.
                needs.extend(self.child_deletes.remove(&path).unwrap_or_default());
                if parent_path.is_empty() {
                    self.root_deletes.push(index);
                }
                self.child_deletes
                    .entry(parent_path)
                    .or_default()
                    .push(index);
                self.deletes.insert(path.clone(), index);
            }
            Operation::Update => {}
        }
        self.jobs.push(Job {
            task,
            model,
            operation,
            type_id,
            path,
            needs,
            early: self.deletes_first && operation == Operation::Delete,
        });
    }
}

impl<H: ?Sized> Replayer<H> {
    /// The result of the job the engine calls now: the next job (in the engine's order)
    /// for this element. Jobs passed over are those the replay does not reach (under a
    /// parent that failed), which never ran either.
    fn answer(
        &mut self,
        operation: Operation,
        type_id: TypeId,
        path: &Path,
    ) -> Result<(), HookError> {
        let found = (self.cursor..self.jobs.len()).find(|&at| {
            self.jobs.get(at).is_some_and(|job| {
                job.operation == operation && job.type_id == type_id && job.path == *path
            })
        });
        let Some(at) = found else {
            self.answers.push((0, true));
            return Err(Box::new(NotRun));
        };
        self.cursor = at + 1;
        match self.results.get_mut(at) {
            Some(JobResult::Succeeded { attempts }) => {
                self.answers.push((*attempts, false));
                Ok(())
            }
            Some(JobResult::Failed { error, attempts }) => {
                self.answers.push((*attempts, false));
                Err(error.take().unwrap_or_else(|| Box::new(NotRun)))
            }
            Some(JobResult::NotRun) | None => {
                self.answers.push((0, true));
                Err(Box::new(NotRun))
            }
        }
    }
}

impl<H: ?Sized> Adapter for AsyncBridge<H> {}

impl<M, H> Hooks<M> for AsyncBridge<H>
where
    M: DiffModel + Send + Sync + 'static,
    M::Changes: Send + Sync,
    H: AsyncHooks<M> + ?Sized,
{
    fn create(&mut self, model: &M, parents: &Parents) -> Result<(), HookError> {
        self.hook(Operation::Create, model, None, parents)
    }

    fn update(
        &mut self,
        model: &M,
        changes: &M::Changes,
        parents: &Parents,
    ) -> Result<(), HookError> {
        self.hook(Operation::Update, model, Some(changes), parents)
    }

    fn delete(&mut self, model: &M, parents: &Parents) -> Result<(), HookError> {
        self.hook(Operation::Delete, model, None, parents)
    }
}
