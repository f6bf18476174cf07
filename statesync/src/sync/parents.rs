//! [`Parents`]: where the element a hook is called for sits in the tree.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::Arc;

use crate::model::{DiffModel, ModelKey};

/// A key whose type is forgotten, kept for typed lookup and display. Shared between
/// threads, so a hook future holding `&Parents` is `Send`.
trait ErasedKey: fmt::Display + Send + Sync {
    fn as_any(&self) -> &dyn Any;
}

impl<K: ModelKey + Send + Sync + 'static> ErasedKey for K {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// One ancestor's key: typed (for lookup, rendered only when an outcome needs it), or
/// rendered already (ancestors of a subtree that is only recorded, not synced).
#[derive(Clone)]
enum AncestorKey {
    Typed(TypeId, Arc<dyn ErasedKey>),
    Rendered(String),
}

/// One ancestor: its model, its key, and the children field of it being walked.
#[derive(Clone)]
struct Ancestor {
    model: &'static str,
    key: AncestorKey,
    /// The children field of this ancestor that holds the next one (or the element).
    field: &'static str,
    /// Whether outcomes name `field`: another children field of this ancestor holds the
    /// same model (see [`crate::any_model::fields_sharing_a_model`]).
    names_field: bool,
    /// The children fields of this ancestor's model that share their model with another.
    sharing: fn() -> Vec<&'static str>,
}

impl Ancestor {
    /// Appends `model[key] > ` to `out` (nothing for a singleton), with the children field
    /// that holds it, `model[key] (field) > `, when its parent `above` names that field (has
    /// another children field of the same model), as outcomes name an element's own.
    fn render_into(&self, above: Option<&Self>, out: &mut String) {
        use std::fmt::Write as _;
        let start = out.len();
        out.push_str(self.model);
        out.push('[');
        let key_start = out.len();
        match &self.key {
            // Writing to a String cannot fail.
            AncestorKey::Typed(_, key) => drop(write!(out, "{key}")),
            AncestorKey::Rendered(key) => out.push_str(key),
        }
        if out.len() == key_start {
            out.truncate(start);
            return;
        }
        out.push(']');
        if let Some(above) = above.filter(|above| above.names_field) {
            out.push_str(" (");
            out.push_str(above.field);
            out.push(')');
        }
        out.push_str(" > ");
    }
}

/// The ancestors of the element a hook is called for, from the root down (the element
/// itself is not among them). A hook for a child finds its parents' keys here, so the
/// child's model need not repeat them.
///
/// ```
/// use statesync::sync::{Adapter, HookError, Hooks, InMemory, Parents, SyncModel, SyncOptions};
/// use statesync::{DiffModel, Store};
///
/// #[derive(DiffModel, Clone, Debug, PartialEq)]
/// struct Cluster {
///     #[statesync(children)]
///     deployments: Store<Deployment>,
/// }
///
/// #[derive(DiffModel, Clone, Debug, PartialEq)]
/// struct Deployment {
///     #[statesync(id)]
///     name: String,
///     #[statesync(children)]
///     containers: Store<Container>,
/// }
///
/// #[derive(DiffModel, Clone, Debug, PartialEq)]
/// struct Container {
///     #[statesync(id)]
///     name: String,
///     image: String,
/// }
///
/// #[derive(Default)]
/// struct Kubectl(Vec<String>);
///
/// impl Adapter for Kubectl {}
/// impl Hooks<Cluster> for Kubectl {}
/// impl Hooks<Deployment> for Kubectl {}
/// impl Hooks<Container> for Kubectl {
///     fn create(&mut self, c: &Container, parents: &Parents) -> Result<(), HookError> {
///         let deployment = parents.key::<Deployment>().ok_or("a container needs a deployment")?;
///         self.0.push(format!("add {} to {} ({parents})", c.name, deployment.name));
///         Ok(())
///     }
/// }
///
/// let web = Container { name: "web".into(), image: "nginx".into() };
/// let deployment = |name: &str| Deployment {
///     name: name.into(),
///     containers: Store::try_from_iter([web.clone()]).unwrap(),
/// };
/// let mut target = Cluster { deployments: Store::new() };
/// let source = Cluster { deployments: Store::try_from_iter([deployment("api"), deployment("ui")])? };
/// let mut kubectl = Kubectl::default();
/// let report = target.sync_from(&source, &mut kubectl, SyncOptions::default())?;
/// assert_eq!(
///     kubectl.0,
///     ["add web to api (deployment[name=api])", "add web to ui (deployment[name=ui])"]
/// );
/// // The report names each element with its parents: two `web` lines that differ.
/// let lines: Vec<String> = report.outcomes.iter().map(ToString::to_string).collect();
/// assert!(lines.contains(&"create deployment[name=api] > container[name=web]: applied".to_owned()));
/// assert!(lines.contains(&"create deployment[name=ui] > container[name=web]: applied".to_owned()));
/// # Ok::<(), statesync::Error>(())
/// ```
///
/// `Parents` is `Send + Sync` (keys of synced models are) and cheap to clone (keys are
/// shared), so async hooks get it too.
#[derive(Default, Clone)]
pub struct Parents {
    ancestors: Vec<Ancestor>,
    /// The first ancestors rendered, each followed by ` > `; singletons are left out.
    /// Rendered when an outcome needs it, so walking a subtree that records nothing
    /// renders nothing.
    rendered: String,
    /// Where each rendered ancestor ends in `rendered`.
    rendered_ends: Vec<usize>,
    /// `rendered` with every ancestor, shared by the outcomes of the current parent;
    /// dropped when the ancestors change.
    shared: Option<Arc<str>>,
}

impl Parents {
    /// The key of the nearest ancestor of model `M`, if there is one.
    pub fn key<M: DiffModel + 'static>(&self) -> Option<&M::Key> {
        self.ancestors
            .iter()
            .rev()
            .find_map(|ancestor| match &ancestor.key {
                AncestorKey::Typed(type_id, key) if *type_id == TypeId::of::<M>() => {
                    key.as_any().downcast_ref::<M::Key>()
                }
                _ => None,
            })
    }

    /// How many ancestors the element has (0 for the root).
    pub fn len(&self) -> usize {
        self.ancestors.len()
    }

    /// Whether the element is the root.
    pub fn is_empty(&self) -> bool {
        self.ancestors.is_empty()
    }

    /// The children field of the nearest ancestor that holds the element (its display
    /// name: `rename`d or the field's own), `None` for the root. It tells apart the
    /// collections of a parent with two `children` fields of one model type, which
    /// [`Parents::key`] does not ([`Parents::field_of`] does for an ancestor further up).
    ///
    /// ```
    /// use statesync::sync::{Adapter, HookError, Hooks, Parents, SyncModel, SyncOptions};
    /// use statesync::{DiffModel, Store};
    ///
    /// #[derive(DiffModel, Clone, Debug, PartialEq)]
    /// struct Firewall {
    ///     #[statesync(id)]
    ///     name: String,
    ///     #[statesync(children)]
    ///     ingress: Store<Rule>,
    ///     #[statesync(children)]
    ///     egress: Store<Rule>,
    /// }
    ///
    /// #[derive(DiffModel, Clone, Debug, PartialEq)]
    /// struct Rule {
    ///     #[statesync(id)]
    ///     seq: u32,
    /// }
    ///
    /// #[derive(Default)]
    /// struct Api(Vec<String>);
    ///
    /// impl Adapter for Api {}
    /// impl Hooks<Firewall> for Api {}
    /// impl Hooks<Rule> for Api {
    ///     fn create(&mut self, rule: &Rule, parents: &Parents) -> Result<(), HookError> {
    ///         let table = parents.field().ok_or("a rule needs a firewall")?;
    ///         self.0.push(format!("INSERT INTO {table} VALUES ({})", rule.seq));
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let empty = Firewall { name: "fw".into(), ingress: Store::new(), egress: Store::new() };
    /// let mut source = empty.clone();
    /// source.egress.insert(Rule { seq: 10 })?;
    /// let mut api = Api::default();
    /// let report = empty.clone().sync_from(&source, &mut api, SyncOptions::default())?;
    /// assert!(report.is_success());
    /// assert_eq!(api.0, ["INSERT INTO egress VALUES (10)"]);
    /// # Ok::<(), statesync::Error>(())
    /// ```
    pub fn field(&self) -> Option<&'static str> {
        self.ancestors.last().map(|ancestor| ancestor.field)
    }

    /// The children field of the nearest ancestor of model `M` that holds the way down to
    /// the element (its display name), if there is such an ancestor: for a grandchild of a
    /// parent with two `children` fields of one model type, which of them it is under
    /// (`parents.field_of::<Firewall>()` for a note of an `ingress` or an `egress` rule),
    /// where [`Parents::field`] gives the nearest field only.
    pub fn field_of<M: DiffModel + 'static>(&self) -> Option<&'static str> {
        self.ancestors
            .iter()
            .rev()
            .find(|ancestor| {
                matches!(&ancestor.key, AncestorKey::Typed(type_id, _) if *type_id == TypeId::of::<M>())
            })
            .map(|ancestor| ancestor.field)
    }

    /// The model names of the ancestors, from the root down.
    pub fn models(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.ancestors.iter().map(|ancestor| ancestor.model)
    }

    /// The children field of each ancestor that holds the next one (the last holds the
    /// element: [`Parents::field`]), from the root down, beside [`Parents::models`].
    pub fn fields(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.ancestors.iter().map(|ancestor| ancestor.field)
    }

    /// The ancestors as outcomes print them: `site[name=nyc] > device[name=sw1] > `,
    /// empty at the top. Rendered once per parent, then shared.
    pub(crate) fn prefix(&mut self) -> Arc<str> {
        if let Some(shared) = &self.shared {
            return Arc::clone(shared);
        }
        for at in self.rendered_ends.len()..self.ancestors.len() {
            if let Some(ancestor) = self.ancestors.get(at) {
                let above = at
                    .checked_sub(1)
                    .and_then(|above| self.ancestors.get(above));
                ancestor.render_into(above, &mut self.rendered);
            }
            self.rendered_ends.push(self.rendered.len());
        }
        let shared: Arc<str> = Arc::from(self.rendered.as_str());
        self.shared = Some(Arc::clone(&shared));
        shared
    }

    /// Enters the children of the element of model `M` with key `key`.
    pub(crate) fn push<M: DiffModel<Key: Send + Sync> + 'static>(&mut self, key: &M::Key) {
        self.shared = None;
        self.ancestors.push(Ancestor {
            model: M::NAME,
            key: AncestorKey::Typed(TypeId::of::<M>(), Arc::new(key.clone())),
            field: "",
            names_field: false,
            sharing: crate::any_model::fields_sharing_a_model::<M>,
        });
    }

    /// Enters the children of an element for display only (no typed lookup): for walks
    /// that record outcomes but call no hook.
    pub(crate) fn push_untyped<M: DiffModel>(&mut self, key: &M::Key) {
        self.shared = None;
        self.ancestors.push(Ancestor {
            model: M::NAME,
            key: AncestorKey::Rendered(key.to_string()),
            field: "",
            names_field: false,
            sharing: crate::any_model::fields_sharing_a_model::<M>,
        });
    }

    /// Enters the children field `field` of the innermost ancestor.
    pub(crate) fn enter_field(&mut self, field: &'static str) {
        if let Some(ancestor) = self.ancestors.last_mut()
            && ancestor.field != field
        {
            ancestor.field = field;
            ancestor.names_field = (ancestor.sharing)().contains(&field);
        }
    }

    /// The children field holding the element when outcomes name it: when its parent has
    /// another children field of the same model (as a plan's [`crate::Entry::field`]).
    pub(crate) fn named_field(&self) -> Option<&'static str> {
        self.ancestors
            .last()
            .filter(|ancestor| ancestor.names_field)
            .map(|ancestor| ancestor.field)
    }

    /// Leaves the children of the element entered last.
    pub(crate) fn pop(&mut self) {
        self.shared = None;
        self.ancestors.pop();
        if self.rendered_ends.len() > self.ancestors.len() {
            self.rendered_ends.pop();
            self.rendered
                .truncate(self.rendered_ends.last().copied().unwrap_or(0));
        }
    }
}

/// The ancestors from the root down, `site[name=nyc] > device[name=sw1]`; singletons
/// (models without id fields, such as a root container) are left out. An ancestor whose
/// parent has another children field of its model is followed by the field that holds it:
/// `firewall[name=fw] > rule[seq=1] (egress)`.
impl fmt::Display for Parents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        let mut above = None;
        for ancestor in &self.ancestors {
            ancestor.render_into(above, &mut out);
            above = Some(ancestor);
        }
        f.write_str(out.strip_suffix(" > ").unwrap_or(&out))
    }
}

impl fmt::Debug for Parents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Parents").field(&self.to_string()).finish()
    }
}
