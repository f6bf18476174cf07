//! [`AsyncBridge`]: the blocking engine's view of async hooks. The walker calls hooks
//! through the blocking engine's typed walk; the bridge answers each call at once and keeps
//! what the async call needs (the model, its changes, its parents, owned), for the engine
//! to run concurrently.

use std::marker::PhantomData;

use futures::future::BoxFuture;

use super::super::parents::Parents;
use super::super::{Adapter, HookError, Hooks};
use super::AsyncHooks;
use super::walk::Returned;
use crate::error::Operation;
use crate::model::DiffModel;

/// One hook call with what it needs, owned, so it can run later and again (retries): the
/// model a create or update hook returned, if any.
pub(super) trait Task<H: ?Sized>: Send + Sync {
    fn call<'a>(&'a self, hooks: &'a H) -> BoxFuture<'a, Result<Returned, HookError>>;
}

struct Call<M: DiffModel> {
    operation: Operation,
    model: M,
    changes: Option<M::Changes>,
    parents: Parents,
}

impl<M, H> Task<H> for Call<M>
where
    M: DiffModel + Send + Sync + 'static,
    M::Changes: Send + Sync,
    H: AsyncHooks<M> + ?Sized,
{
    fn call<'a>(&'a self, hooks: &'a H) -> BoxFuture<'a, Result<Returned, HookError>> {
        use futures::FutureExt;

        let none = |result: Result<(), HookError>| result.map(|()| None);
        match (self.operation, &self.changes) {
            (Operation::Create, _) => Box::pin(
                hooks
                    .create_returning(&self.model, &self.parents)
                    .map(|result| result.map(|returned| returned.map(erase_model))),
            ),
            (Operation::Update, Some(changes)) => Box::pin(
                hooks
                    .update_returning(&self.model, changes, &self.parents)
                    .map(|result| result.map(|returned| returned.map(erase_model))),
            ),
            (Operation::Update, None) => Box::pin(futures::future::ready(Err(
                "an update without changes".into(),
            ))),
            (Operation::Delete, _) => Box::pin(hooks.delete(&self.model, &self.parents).map(none)),
        }
    }
}

/// A model a create or update hook returned, for the walker (which knows its type again).
fn erase_model<M: Send + 'static>(model: M) -> Box<dyn std::any::Any + Send> {
    Box::new(model)
}

/// The blocking engine's adapter for async hooks `H` (see the module docs). Not used
/// directly: `M: SyncTree<AsyncBridge<H>>` is the bound that says "`H` has async hooks for
/// every model of `M`'s tree".
#[doc(hidden)]
pub struct AsyncBridge<H: ?Sized> {
    /// The calls the walker made since they were last taken, in order.
    pub(super) calls: Vec<Box<dyn Task<H>>>,
    _hooks: PhantomData<fn(&H)>,
}

impl<H: ?Sized> AsyncBridge<H> {
    pub(super) fn new() -> Self {
        Self {
            calls: Vec::new(),
            _hooks: PhantomData,
        }
    }

    fn keep<M>(
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
        self.calls.push(Box::new(Call {
            operation,
            model: model.clone(),
            changes: changes.cloned(),
            parents: parents.clone(),
        }));
        Ok(())
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
        self.keep(Operation::Create, model, None, parents)
    }

    fn update(
        &mut self,
        model: &M,
        changes: &M::Changes,
        parents: &Parents,
    ) -> Result<(), HookError> {
        self.keep(Operation::Update, model, Some(changes), parents)
    }

    fn delete(&mut self, model: &M, parents: &Parents) -> Result<(), HookError> {
        self.keep(Operation::Delete, model, None, parents)
    }
}
