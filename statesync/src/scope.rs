//! Partial sync: a load that covers only part of a collection says which keys it covers,
//! and a sync from it compares and deletes within that part only.
//!
//! ```
//! use statesync::scope::Scoped;
//! use statesync::sync::{InMemory, SyncOptions};
//! use statesync::{DiffModel, Store};
//!
//! #[derive(DiffModel, Clone, Debug, PartialEq)]
//! struct Site {
//!     #[statesync(id)]
//!     name: String,
//!     region: String,
//! }
//!
//! let site = |name: &str, region: &str| Site { name: name.into(), region: region.into() };
//! let mut target = Store::try_from_iter([site("ams", "eu"), site("nyc", "us")])?;
//!
//! // A source that was asked for `ams` and `lon` only: `lon` is new, `nyc` was not loaded.
//! let loaded = Store::try_from_iter([site("ams", "emea"), site("lon", "emea")])?;
//! let scoped = Scoped::new(loaded, [SiteKey { name: "ams".into() }, SiteKey { name: "lon".into() }]);
//!
//! let report = scoped.sync_into(&mut target, &mut InMemory, SyncOptions::default())?;
//! assert_eq!((report.counts.created, report.counts.updated, report.counts.deleted), (1, 1, 0));
//! assert!(target.contains(&SiteKey { name: "nyc".into() }), "outside the scope: left alone");
//! # Ok::<(), statesync::Error>(())
//! ```

use crate::diff::Diff;
use crate::error::Error;
use crate::model::DiffModel;
use crate::store::Store;
use crate::sync::{Adapter, SyncOptions, SyncReport, SyncTree};

/// Models loaded for part of a collection, with the keys the load covered. A key that is
/// covered but absent was looked for and not found: it is deleted from the target. A key
/// that is not covered is outside the scope: it is neither compared nor deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct Scoped<M: DiffModel> {
    /// The models found (private, as `covers` is: [`Scoped::new`] covers every model
    /// found, and a model added past it would be outside the scope, silently not synced).
    models: Store<M>,
    /// The keys the load covered, sorted.
    covers: Vec<M::Key>,
}

impl<M: DiffModel> Scoped<M> {
    /// A scoped load: the models found and the keys asked for. Models found outside the
    /// keys are covered too (they were loaded).
    pub fn new(models: Store<M>, covers: impl IntoIterator<Item = M::Key>) -> Self {
        let mut covers: Vec<M::Key> = covers.into_iter().collect();
        covers.extend(models.keys());
        covers.sort();
        covers.dedup();
        Self { models, covers }
    }

    /// The models found.
    pub fn models(&self) -> &Store<M> {
        &self.models
    }

    /// The keys the load covered (those asked for and those of the models found), sorted.
    pub fn covers(&self) -> &[M::Key] {
        &self.covers
    }

    /// The models found, owned.
    pub fn into_models(self) -> Store<M> {
        self.models
    }

    /// What `target` must do to match this load within its scope.
    ///
    /// # Errors
    /// [`Error::SetAside`] when the target or the load holds a model set aside after a
    /// colliding rename; [`Error::DuplicateKey`] from a `Vec` of children inside.
    pub fn plan_for(&self, target: &Store<M>) -> Result<Diff<M>, Error> {
        target.diff_keys(&self.models, &self.covers)
    }

    /// Syncs `target` to this load within its scope, through `hooks`.
    ///
    /// # Errors
    /// Only a failed diff; hook failures are in the report.
    pub fn sync_into<H: Adapter + ?Sized>(
        &self,
        target: &mut Store<M>,
        hooks: &mut H,
        options: SyncOptions<'_>,
    ) -> Result<SyncReport, Error>
    where
        M: SyncTree<H>,
    {
        let plan = self.plan_for(target)?;
        Ok(target.sync_diff(&plan, hooks, options))
    }
}
