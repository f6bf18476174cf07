//! The shape matrix: the models users write, at depth 1 to 4, with every kind of children
//! collection, with and without serde, generic or not, with attributes of every common
//! type. For each shape: a clone diffs empty, the diff's summary equals a naive count made
//! on a plain tree, `apply` gives the new state, and with serde the model and the diff come
//! back equal from JSON (and the diff read back still applies).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{HashMap, HashSet};
use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;
use statesync::{ChildCollection, Diff, DiffModel, Summary};

/// The plain tree a shape is built from: an id, a value every attribute is derived from,
/// and children.
#[derive(Clone, Debug)]
struct Spec {
    id: u32,
    value: u32,
    children: Vec<Spec>,
}

impl Spec {
    /// A tree `depth` levels deep (1 = no children), four children per node.
    fn tree(depth: usize, id: u32, value: u32) -> Self {
        let children = if depth > 1 {
            (0..4)
                .map(|at| Spec::tree(depth - 1, at, value * 10 + at))
                .collect()
        } else {
            Vec::new()
        };
        Spec {
            id,
            value,
            children,
        }
    }

    /// The next state: this node's value changes; of its children, the first changes (and
    /// so on below), the second is deleted, the third keeps its value while its subtree
    /// changes, the fourth is left alone, and a new subtree is added at the end.
    fn changed(&self, depth: usize) -> Self {
        let mut children = Vec::new();
        for (at, child) in self.children.iter().enumerate() {
            match at {
                0 => children.push(child.changed(depth - 1)),
                1 => {}
                2 => children.push(Spec {
                    value: child.value,
                    ..child.changed(depth - 1)
                }),
                _ => children.push(child.clone()),
            }
        }
        if depth > 1 {
            children.push(Spec::tree(depth - 1, 1000, 7));
        }
        Spec {
            id: self.id,
            value: self.value + 1,
            children,
        }
    }

    fn size(&self) -> usize {
        1 + self.children.iter().map(Spec::size).sum::<usize>()
    }
}

/// The summary counted the naive way: children matched by a linear search on ids.
fn naive_summary(old: &Spec, new: &Spec, summary: &mut Summary) {
    if old.value == new.value {
        summary.unchanged += 1;
    } else {
        summary.update += 1;
    }
    for old_child in &old.children {
        match new
            .children
            .iter()
            .find(|new_child| new_child.id == old_child.id)
        {
            Some(new_child) => naive_summary(old_child, new_child, summary),
            None => summary.delete += old_child.size(),
        }
    }
    for new_child in &new.children {
        if !old
            .children
            .iter()
            .any(|old_child| old_child.id == new_child.id)
        {
            summary.create += new_child.size();
        }
    }
}

/// An enum attribute with data.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
enum Shape {
    Point,
    Circle { radius: u32 },
    Label(String),
}

/// A nested struct attribute.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Place {
    x: u32,
    y: Option<u32>,
}

/// Builds a model from a [`Spec`].
trait FromSpec {
    fn from_spec(spec: &Spec) -> Self;
}

/// Any children collection, built the way the runtime fills one.
fn collect<C>(specs: &[Spec]) -> C
where
    C: ChildCollection,
    C::Model: FromSpec,
{
    let mut children = C::default();
    for spec in specs {
        children.insert_child(C::Model::from_spec(spec));
    }
    children
}

fn ratio(value: u32) -> f64 {
    f64::from(value) * 0.5 + 0.25
}

fn note(value: u32) -> Option<String> {
    value.is_multiple_of(2).then(|| format!("n{value}"))
}

fn shape(value: u32) -> Shape {
    match value % 3 {
        0 => Shape::Point,
        1 => Shape::Circle { radius: value },
        _ => Shape::Label(format!("s{value}")),
    }
}

fn tags(value: u32) -> Vec<String> {
    (0..value % 3).map(|at| format!("t{at}")).collect()
}

fn labels(value: u32) -> HashMap<String, u32> {
    HashMap::from([("a".to_owned(), value), ("b".to_owned(), value + 1)])
}

fn flags(value: u32) -> HashSet<String> {
    HashSet::from([format!("f{}", value % 4), "x".to_owned()])
}

fn place(value: u32) -> Place {
    Place {
        x: value,
        y: (value % 2 == 1).then_some(value),
    }
}

/// A model with an id, an attribute of each common type and, optionally, children.
macro_rules! model {
    ($name:ident [$($derive:path),*] $({ $(#[$attr:meta])* kids: $kids:ty })?) => {
        #[derive(DiffModel, Clone, Debug, PartialEq $(, $derive)*)]
        pub struct $name {
            #[statesync(id)]
            pub id: u32,
            pub ratio: f64,
            pub note: Option<String>,
            pub shape: Shape,
            pub tags: Vec<String>,
            pub labels: HashMap<String, u32>,
            pub flags: HashSet<String>,
            pub place: Place,
            $(
                #[statesync(children)]
                $(#[$attr])*
                pub kids: $kids,
            )?
        }

        impl FromSpec for $name {
            fn from_spec(spec: &Spec) -> Self {
                let value = spec.value;
                Self {
                    id: spec.id,
                    ratio: ratio(value),
                    note: note(value),
                    shape: shape(value),
                    tags: tags(value),
                    labels: labels(value),
                    flags: flags(value),
                    place: place(value),
                    $(kids: collect::<$kids>(&spec.children),)?
                }
            }
        }
    };
}

/// Diff, summary, apply, for a shape `depth` levels deep with `M` at the top.
fn exercise<M: DiffModel + FromSpec + Debug + PartialEq>(depth: usize) -> (M, M, Diff<M>) {
    let old_spec = Spec::tree(depth, 1, 1);
    let new_spec = old_spec.changed(depth);
    let old = M::from_spec(&old_spec);
    let new = M::from_spec(&new_spec);

    let same = old.diff(&old.clone()).unwrap();
    assert!(same.is_empty(), "{same}");
    assert_eq!(same.summary().unchanged, old_spec.size());

    let diff = old.diff(&new).unwrap();
    let mut naive = Summary::default();
    naive_summary(&old_spec, &new_spec, &mut naive);
    assert_eq!(diff.summary(), naive, "{diff}");

    let mut target = old.clone();
    target.apply(&diff).unwrap();
    assert_eq!(target, new);
    assert!(target.diff(&new).unwrap().is_empty());
    (old, new, diff)
}

/// [`exercise`], then the JSON round trip of both models and of the diff, and the diff read
/// back applies.
fn exercise_serde<M>(depth: usize)
where
    M: DiffModel + FromSpec + Debug + PartialEq + Serialize + DeserializeOwned,
    Diff<M>: Debug + PartialEq + Serialize + DeserializeOwned,
{
    let (old, new, diff) = exercise::<M>(depth);
    for model in [&old, &new] {
        let json = serde_json::to_string(model).unwrap();
        assert_eq!(&serde_json::from_str::<M>(&json).unwrap(), model, "{json}");
    }
    let json = serde_json::to_string(&diff).unwrap();
    let back: Diff<M> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, diff, "{json}");
    let mut target = old;
    target.apply(&back).unwrap();
    assert_eq!(target, new);
}

/// Four levels of models (`L1` holds `L2`s, ... `L4`), with their children in one kind of
/// collection; tests at each depth, with serde or without.
macro_rules! chain {
    ($module:ident, [$($derive:path),*], [$(#[$attr:meta])*], $exercise:ident,
     $l2:ty, $l3:ty, $l4:ty) => {
        mod $module {
            use super::*;
            #[allow(unused_imports)]
            use std::collections::{BTreeMap, HashMap};
            #[allow(unused_imports)]
            use indexmap::IndexMap;
            #[allow(unused_imports)]
            use statesync::Store;

            model!(L1 [$($derive),*] { $(#[$attr])* kids: $l2 });
            model!(L2 [$($derive),*] { $(#[$attr])* kids: $l3 });
            model!(L3 [$($derive),*] { $(#[$attr])* kids: $l4 });
            model!(L4 [$($derive),*]);

            #[test]
            fn depth_1() {
                let _ = $exercise::<L4>(1);
            }

            #[test]
            fn depth_2() {
                let _ = $exercise::<L3>(2);
            }

            #[test]
            fn depth_3() {
                let _ = $exercise::<L2>(3);
            }

            #[test]
            fn depth_4() {
                let _ = $exercise::<L1>(4);
            }
        }
    };
}

chain!(store, [], [], exercise, Store<L2>, Store<L3>, Store<L4>);
chain!(vec, [], [], exercise, Vec<L2>, Vec<L3>, Vec<L4>);
chain!(btree_map, [], [], exercise, BTreeMap<L2Key, L2>, BTreeMap<L3Key, L3>, BTreeMap<L4Key, L4>);
chain!(hash_map, [], [], exercise, HashMap<L2Key, L2>, HashMap<L3Key, L3>, HashMap<L4Key, L4>);
chain!(index_map, [], [], exercise, IndexMap<L2Key, L2>, IndexMap<L3Key, L3>, IndexMap<L4Key, L4>);

chain!(
    store_serde,
    [serde::Serialize, serde::Deserialize],
    [],
    exercise_serde,
    Store<L2>,
    Store<L3>,
    Store<L4>
);
chain!(
    vec_serde,
    [serde::Serialize, serde::Deserialize],
    [],
    exercise_serde,
    Vec<L2>,
    Vec<L3>,
    Vec<L4>
);
chain!(btree_map_serde, [serde::Serialize, serde::Deserialize],
    [#[serde(with = "statesync::serde_map")]], exercise_serde,
    BTreeMap<L2Key, L2>, BTreeMap<L3Key, L3>, BTreeMap<L4Key, L4>);
chain!(hash_map_serde, [serde::Serialize, serde::Deserialize],
    [#[serde(with = "statesync::serde_map")]], exercise_serde,
    HashMap<L2Key, L2>, HashMap<L3Key, L3>, HashMap<L4Key, L4>);
chain!(index_map_serde, [serde::Serialize, serde::Deserialize],
    [#[serde(with = "statesync::serde_map")]], exercise_serde,
    IndexMap<L2Key, L2>, IndexMap<L3Key, L3>, IndexMap<L4Key, L4>);

/// Generic models: the attribute type is a parameter, three levels.
macro_rules! generic_chain {
    ($module:ident, [$($derive:path),*], $exercise:ident) => {
        mod $module {
            use super::*;
            use statesync::Store;

            #[derive(DiffModel, Clone, Debug, PartialEq $(, $derive)*)]
            pub struct Top<T: Clone + std::fmt::Debug + PartialEq> {
                #[statesync(id)]
                pub id: u32,
                pub value: T,
                #[statesync(children)]
                pub kids: Store<Mid<T>>,
            }

            #[derive(DiffModel, Clone, Debug, PartialEq $(, $derive)*)]
            pub struct Mid<T: Clone + std::fmt::Debug + PartialEq> {
                #[statesync(id)]
                pub id: u32,
                pub value: T,
                #[statesync(children)]
                pub kids: Vec<Leaf<T>>,
            }

            #[derive(DiffModel, Clone, Debug, PartialEq $(, $derive)*)]
            pub struct Leaf<T: Clone + std::fmt::Debug + PartialEq> {
                #[statesync(id)]
                pub id: u32,
                pub value: T,
            }

            impl<T: FromValue + Clone + std::fmt::Debug + PartialEq> FromSpec for Top<T> {
                fn from_spec(spec: &Spec) -> Self {
                    Top { id: spec.id, value: T::from_value(spec.value), kids: collect(&spec.children) }
                }
            }

            impl<T: FromValue + Clone + std::fmt::Debug + PartialEq> FromSpec for Mid<T> {
                fn from_spec(spec: &Spec) -> Self {
                    Mid { id: spec.id, value: T::from_value(spec.value), kids: collect(&spec.children) }
                }
            }

            impl<T: FromValue + Clone + std::fmt::Debug + PartialEq> FromSpec for Leaf<T> {
                fn from_spec(spec: &Spec) -> Self {
                    Leaf { id: spec.id, value: T::from_value(spec.value) }
                }
            }

            // A `Store` of a generic model needs the model's bounds on the struct itself.
            #[test]
            fn depth_1_to_3() {
                let _ = $exercise::<Leaf<f64>>(1);
                let _ = $exercise::<Mid<u64>>(2);
                let _ = $exercise::<Top<f64>>(3);
                let _ = $exercise::<Top<String>>(3);
            }
        }
    };
}

/// The attribute of the generic models, from a spec value.
trait FromValue {
    fn from_value(value: u32) -> Self;
}

impl FromValue for f64 {
    fn from_value(value: u32) -> Self {
        ratio(value)
    }
}

impl FromValue for u64 {
    fn from_value(value: u32) -> Self {
        value.into()
    }
}

impl FromValue for String {
    fn from_value(value: u32) -> Self {
        value.to_string()
    }
}

generic_chain!(generic, [], exercise);
generic_chain!(
    generic_serde,
    [serde::Serialize, serde::Deserialize],
    exercise_serde
);

/// A map of children read back from JSON with two models of one key is refused, naming the
/// model and the key.
#[test]
fn map_children_with_a_duplicate_key_are_refused_when_read() {
    let json = r#"{"id":1,"ratio":0.5,"note":null,"shape":"Point","tags":[],"labels":{},
        "flags":[],"place":{"x":1,"y":null},"kids":[
        {"id":7,"ratio":0.5,"note":null,"shape":"Point","tags":[],"labels":{},"flags":[],"place":{"x":1,"y":null}},
        {"id":7,"ratio":1.5,"note":null,"shape":"Point","tags":[],"labels":{},"flags":[],"place":{"x":1,"y":null}}]}"#;
    let error = serde_json::from_str::<btree_map_serde::L3>(json).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("duplicate key: l4[id=7] appears more than once"),
        "{error}"
    );
    let single = json.replacen(r#""id":7,"ratio":1.5"#, r#""id":8,"ratio":1.5"#, 1);
    assert_eq!(
        serde_json::from_str::<btree_map_serde::L3>(&single)
            .unwrap()
            .kids
            .len(),
        2
    );
}

/// `NaN` is not equal to itself under `==`, yet a model holding one is the same state as its
/// clone: the diff is empty.
#[test]
fn a_clone_with_nan_diffs_empty() {
    let mut model = store::L4::from_spec(&Spec::tree(1, 1, 1));
    model.ratio = f64::NAN;
    let diff = model.diff(&model.clone()).unwrap();
    assert!(diff.is_empty(), "{diff}");
}

/// A self-recursive model, serde or not, at every depth.
macro_rules! recursive {
    ($module:ident, [$($derive:path),*], $exercise:ident) => {
        mod $module {
            use super::*;

            #[derive(DiffModel, Clone, Debug, PartialEq $(, $derive)*)]
            pub struct Node {
                #[statesync(id)]
                pub id: u32,
                pub ratio: f64,
                pub shape: Shape,
                #[statesync(children)]
                pub kids: Vec<Node>,
            }

            impl FromSpec for Node {
                fn from_spec(spec: &Spec) -> Self {
                    Node {
                        id: spec.id,
                        ratio: ratio(spec.value),
                        shape: shape(spec.value),
                        kids: collect(&spec.children),
                    }
                }
            }

            #[test]
            fn depth_1_to_4() {
                for depth in 1..=4 {
                    let _ = $exercise::<Node>(depth);
                }
            }
        }
    };
}

recursive!(recursive_plain, [], exercise);
recursive!(
    recursive_serde,
    [serde::Serialize, serde::Deserialize],
    exercise_serde
);

/// Field types that name `Self`: children of the model's own type, and an attribute that
/// holds a model.
mod self_named {
    use statesync::DiffModel;

    #[derive(DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct Node {
        #[statesync(id)]
        pub id: u32,
        pub label: String,
        #[statesync(children)]
        pub kids: Vec<Self>,
        pub shadow: Option<Box<Self>>,
    }

    fn node(id: u32, label: &str, kids: Vec<Node>) -> Node {
        Node {
            id,
            label: label.into(),
            kids,
            shadow: None,
        }
    }

    #[test]
    fn self_in_a_field_type_means_the_model() {
        let old = node(
            1,
            "root",
            vec![node(2, "a", vec![node(3, "b", Vec::new())])],
        );
        let mut new = node(
            1,
            "root",
            vec![node(2, "a2", Vec::new()), node(4, "c", Vec::new())],
        );
        new.shadow = Some(Box::new(node(9, "s", Vec::new())));
        let diff = old.diff(&new).unwrap();
        assert_eq!(diff.summary().changes(), 4, "{diff}");
        let json = serde_json::to_string(&diff).unwrap();
        let back: statesync::Diff<Node> = serde_json::from_str(&json).unwrap();
        let mut state = old.clone();
        state.apply(&back).unwrap();
        assert_eq!(state, new);
    }
}

/// Type parameters that no compared field uses: one only in a skipped field, one only in
/// children.
mod odd_generics {
    use std::marker::PhantomData;

    use statesync::DiffModel;

    /// Tagged with a type that is never compared.
    #[derive(DiffModel, Clone, Debug, PartialEq)]
    pub struct Typed<T> {
        #[statesync(id)]
        pub id: u32,
        pub value: u8,
        #[statesync(skip)]
        pub marker: PhantomData<T>,
    }

    /// Children of any model type.
    #[derive(DiffModel, Clone, Debug, PartialEq)]
    pub struct Parent<C> {
        #[statesync(id)]
        pub id: u32,
        #[statesync(children)]
        pub kids: Vec<C>,
    }

    /// A marker that is neither `Ord`, `Hash` nor `Display`.
    #[derive(Clone, Debug, PartialEq)]
    pub struct Marker;

    #[test]
    fn parameters_no_compared_field_uses() {
        let typed = |id, value| Typed::<Marker> {
            id,
            value,
            marker: PhantomData,
        };
        let diff = typed(1, 1).diff(&typed(1, 2)).unwrap();
        assert_eq!(diff.to_string(), "~ typed[id=1] value: 1 -> 2\n");

        let parent = |ids: &[u32]| Parent {
            id: 1,
            kids: ids.iter().map(|&id| typed(id, 0)).collect(),
        };
        let (old, new) = (parent(&[1, 2]), parent(&[2, 3]));
        let diff = old.diff(&new).unwrap();
        assert_eq!((diff.summary().create, diff.summary().delete), (1, 1));
        let mut state = old.clone();
        state.apply(&diff).unwrap();
        assert_eq!(state, new);
    }
}

/// A where clause that names `Self`: it means the model in the generated types too.
mod self_in_where {
    use statesync::DiffModel;

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    pub struct Wrapped<T>
    where
        T: Clone + std::fmt::Debug + PartialEq + Into<Option<Box<Self>>>,
    {
        #[statesync(id)]
        pub id: u8,
        pub value: T,
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct Plain(u8);

    impl From<Plain> for Option<Box<Wrapped<Plain>>> {
        fn from(_: Plain) -> Self {
            None
        }
    }

    #[test]
    fn self_in_a_where_clause_means_the_model() {
        let old = Wrapped {
            id: 1,
            value: Plain(1),
        };
        let new = Wrapped {
            id: 1,
            value: Plain(2),
        };
        assert_eq!(old.diff(&new).unwrap().summary().update, 1);
    }
}

/// `HashMap` children written through `serde_map` come out in key order: two maps of the
/// same models (each iterating in its own order) are the same JSON.
#[test]
fn hash_map_children_are_written_in_key_order() {
    #[derive(DiffModel, Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
    struct Shelf {
        #[serde(with = "statesync::serde_map")]
        #[statesync(children)]
        books: HashMap<BookKey, Book>,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
    struct Book {
        #[statesync(id)]
        isbn: u32,
    }

    let shelf = || Shelf {
        books: (0..40)
            .map(|isbn| (BookKey { isbn }, Book { isbn }))
            .collect(),
    };
    let json = serde_json::to_string(&shelf()).unwrap();
    let expected: Vec<String> = (0..40).map(|isbn| format!("{{\"isbn\":{isbn}}}")).collect();
    assert_eq!(json, format!("{{\"books\":[{}]}}", expected.join(",")));
    assert_eq!(serde_json::to_string(&shelf()).unwrap(), json);
}

/// Attributes whose names camel-case alike (`x`, `_x`, `x_`, `a_b`, `a__b`, `aB`): each
/// gets a variant, the later ones named by their identifiers. Such a model was refused
/// ("would share the field-enum variant"), and `rename` could not help. A variant never
/// takes the name of the field enum's own items (`name`, `ALL`).
#[test]
fn attributes_that_camel_case_alike_each_get_a_variant() {
    #[derive(DiffModel, Clone, Debug, PartialEq)]
    #[allow(non_snake_case)]
    struct Alike {
        #[statesync(id)]
        id: u8,
        x: u8,
        _x: u8,
        x_: u8,
        a_b: u8,
        a__b: u8,
        aB: u8,
    }
    let names: Vec<&str> = AlikeField::ALL.iter().map(|field| field.name()).collect();
    assert_eq!(names, ["x", "_x", "x_", "a_b", "a__b", "aB"]);
    assert_eq!(AlikeField::_x.name(), "_x");
    let old = Alike {
        id: 1,
        x: 0,
        _x: 0,
        x_: 0,
        a_b: 0,
        a__b: 0,
        aB: 0,
    };
    let new = Alike {
        a__b: 1,
        ..old.clone()
    };
    let plan = old.diff(&new).unwrap().to_string();
    assert_eq!(plan, "~ alike[id=1] a__b: 0 -> 1\n");

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    #[allow(non_snake_case, dead_code)]
    struct Named {
        _name: u8,
        name: u8,
        a_l_l: u8,
        all: u8,
        ALL: u8,
    }
    let names: Vec<&str> = NamedField::ALL.iter().map(|field| field.name()).collect();
    assert_eq!(names, ["_name", "name", "a_l_l", "all", "ALL"]);
    assert_eq!(NamedField::NameField.name(), "name");
}

/// A database backend as generic code names one: its row ids and values are associated
/// types, and the backend itself is a marker (no `Ord`, `Hash` or `Display`).
mod backend {
    pub trait Backend {
        type Id: Clone
            + Eq
            + Ord
            + std::hash::Hash
            + std::fmt::Debug
            + std::fmt::Display
            + Send
            + Sync
            + 'static;
        type Value: Clone + PartialEq + std::fmt::Debug + Send + Sync + 'static;
    }

    #[derive(Clone, Debug, PartialEq)]
    pub struct Pg;

    impl Backend for Pg {
        type Id = u64;
        type Value = String;
    }
}

/// An id of an associated type (`B::Id`, a database backend's row id) with a marker type
/// parameter: the inferred bounds and the key's traits are on `B::Id`, not on `B`, so a
/// marker with none of `Ord`, `Hash` or `Display` is fine. It did not compile (ten errors
/// asking them of the marker), and `bound = "B: Backend"` left two.
#[test]
fn an_id_of_an_associated_type_needs_nothing_of_its_parameter() {
    use backend::{Backend, Pg};

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Row<B: Backend + 'static> {
        #[statesync(id)]
        id: B::Id,
        v: u8,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    #[statesync(bound = "B: Backend + Clone + std::fmt::Debug + PartialEq + 'static")]
    struct Bounded<B: Backend + 'static> {
        #[statesync(id)]
        id: B::Id,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Table {
        #[statesync(children)]
        rows: statesync::Store<Row<Pg>>,
        #[statesync(children)]
        bounded: statesync::Store<Bounded<Pg>>,
    }

    let old = Table {
        rows: statesync::Store::try_from_iter([Row::<Pg> { id: 1, v: 1 }]).unwrap(),
        bounded: statesync::Store::new(),
    };
    let mut new = old.clone();
    new.rows.insert(Row { id: 2, v: 3 }).unwrap();
    new.bounded.insert(Bounded { id: 7 }).unwrap();
    let diff = old.diff(&new).unwrap();
    assert_eq!(diff.summary().create, 2);
    let mut applied = old.clone();
    applied.apply(&diff).unwrap();
    assert_eq!(applied, new);
    let key = RowKey::<Pg> { id: 2 };
    assert_eq!(format!("{key} {key:?}"), "id=2 RowKey { id: 2 }");
    assert!(RowKey::<Pg> { id: 1 } < key);
}

/// An attribute of an associated type (`B::Value`) still bounds its parameter, whose
/// record of changes derives `Clone` and `Debug`: with `B: Clone + Debug + PartialEq` it
/// compiles (it did not, for a moment, when the field was bounded instead; found by an
/// outside tester).
#[test]
fn an_attribute_of_an_associated_type_bounds_its_parameter() {
    use backend::{Backend, Pg};

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Row<B: Backend + 'static> {
        #[statesync(id)]
        id: B::Id,
        value: B::Value,
        values: Vec<B::Value>,
    }

    let old = Row::<Pg> {
        id: 1,
        value: "a".into(),
        values: Vec::new(),
    };
    let new = Row::<Pg> {
        value: "b".into(),
        ..old.clone()
    };
    assert_eq!(
        old.diff(&new).unwrap().to_string(),
        "~ row[id=1] value: \"a\" -> \"b\"\n"
    );
}

/// The child diffs print a raw-identifier children field as a derive would (`type`, not
/// `r#type`), and a generic key prints its id fields the same way.
#[test]
fn raw_identifiers_print_as_derives_print_them() {
    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Kind<T: Clone + std::fmt::Debug + Ord + std::hash::Hash + std::fmt::Display + 'static> {
        #[statesync(id)]
        r#type: T,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Catalog {
        #[statesync(children)]
        r#match: statesync::Store<Kind<u8>>,
    }

    let old = Catalog {
        r#match: statesync::Store::new(),
    };
    let mut new = old.clone();
    new.r#match.insert(Kind { r#type: 3 }).unwrap();
    let diff = old.diff(&new).unwrap();
    let statesync::Action::Update(update) = &diff.elements()[0].action else {
        panic!("an update: {diff}");
    };
    assert!(format!("{:?}", update.children).starts_with("CatalogChildDiffs { match: "));
    assert_eq!(
        format!("{:?}", KindKey { r#type: 3_u8 }),
        "KindKey { type: 3 }"
    );
}

/// A concrete children field of a borrowing model at `'static` (`Vec<Port<'static>>`)
/// compiles, diffs and applies: the field's type names a lifetime, so it takes no
/// `for<'__s>` collection bound (with one, rustc crashed evaluating the field's
/// description: an outside tester).
#[test]
fn children_of_a_borrowing_model_at_static() {
    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Port<'a> {
        #[statesync(id)]
        name: &'a str,
        speed: u32,
    }

    #[derive(DiffModel, Clone, Debug, PartialEq)]
    struct Switch {
        #[statesync(children)]
        ports: Vec<Port<'static>>,
        #[statesync(children)]
        spares: statesync::Store<Port<'static>>,
    }

    let old = Switch {
        ports: vec![Port {
            name: "et-0",
            speed: 10,
        }],
        spares: statesync::Store::new(),
    };
    let mut new = old.clone();
    new.ports[0].speed = 100;
    new.spares
        .insert(Port {
            name: "et-9",
            speed: 1,
        })
        .unwrap();
    let diff = old.diff(&new).unwrap();
    assert_eq!(diff.summary().update, 1, "{diff}");
    assert_eq!(diff.summary().create, 1, "{diff}");
    let mut state = old.clone();
    state.apply(&diff).unwrap();
    assert_eq!(state, new);
}
