//! Generated code is hygienic and lint-clean: it compiles beside shadowed prelude names,
//! through a re-exported crate path, under strict lints, and for a deprecated model.
#![deny(
    warnings,
    unused_qualifications,
    missing_docs,
    unused_results,
    trivial_casts,
    redundant_lifetimes
)]

/// Models defined where the prelude's names mean something else.
pub mod shadowed {
    #![allow(dead_code, non_camel_case_types)]

    /// Not the prelude's `Option`.
    pub struct Option;
    /// Not the prelude's `Some`.
    pub struct Some;
    /// Not the prelude's `None`.
    pub struct None;
    /// Not the prelude's `Result`.
    pub struct Result;
    /// Not the prelude's `Ok`.
    pub struct Ok;
    /// Not the prelude's `Err`.
    pub struct Err;
    /// Not the prelude's `Vec`.
    pub struct Vec;
    /// Not the prelude's `String`.
    pub struct String;
    /// Not the prelude's `Box`.
    pub struct Box;
    /// Not the prelude's `Default`.
    pub trait Default {}
    /// Not the prelude's `Clone`.
    pub trait Clone {}
    /// Not the prelude's `PartialEq`.
    pub trait PartialEq {}
    /// Not the prelude's `FnMut`.
    pub trait FnMut {}

    /// A parent with a shadowed-name-heavy body.
    #[derive(
        statesync::DiffModel, ::core::clone::Clone, ::core::fmt::Debug, ::core::cmp::PartialEq,
    )]
    pub struct Rack {
        /// Id.
        #[statesync(id)]
        pub name: std::string::String,
        /// Optional attribute.
        pub height: core::option::Option<u32>,
        /// Children.
        #[statesync(children)]
        pub units: std::vec::Vec<Unit>,
    }

    /// A child.
    #[derive(
        statesync::DiffModel, ::core::clone::Clone, ::core::fmt::Debug, ::core::cmp::PartialEq,
    )]
    pub struct Unit {
        /// Id.
        #[statesync(id)]
        pub slot: u8,
        /// Attribute.
        pub label: std::string::String,
    }
}

/// Models defined where a trait implemented for every type has methods named like those
/// the generated code calls (`field`, `finish`, `attribute`, `children`, `rule`, ...): the
/// generated code calls them by path. Before, `Debug` of the child diffs picked the
/// trait's `field` over `DebugStruct::field`, and every model with children failed.
pub mod blanket_methods {
    #![allow(dead_code)]

    /// Methods named like the ones the generated code calls, for every type.
    pub trait Reflect {
        /// A name the `Debug` of child diffs calls.
        fn field(&self, _name: &str) -> Option<String> {
            None
        }
        /// A name the `Debug` of child diffs calls.
        fn finish(&self) {}
        /// A name the visitors call.
        fn attribute(&self) {}
        /// A name the visitors call.
        fn children(&self) {}
        /// A name the merge visitor calls.
        fn rule(&self) {}
        /// A name of `Formatter`.
        fn debug_struct(&self) {}
    }

    impl<T: ?Sized> Reflect for T {}

    /// A parent with children and a merge rule.
    #[derive(statesync::DiffModel, Clone, Debug, PartialEq)]
    pub struct Shelf {
        /// Id.
        #[statesync(id)]
        pub name: String,
        /// Merged by `max`.
        #[statesync(merge = "max")]
        pub capacity: u32,
        /// Children.
        #[statesync(children)]
        pub books: statesync::Store<Book>,
    }

    /// A child.
    #[derive(statesync::DiffModel, Clone, Debug, PartialEq)]
    pub struct Book {
        /// Id.
        #[statesync(id)]
        pub isbn: u32,
    }
}

#[test]
fn blanket_trait_methods_in_scope_change_nothing() {
    use blanket_methods::{Book, Shelf};
    let old = Shelf {
        name: "a".into(),
        capacity: 1,
        books: statesync::Store::new(),
    };
    let mut new = old.clone();
    new.books.insert(Book { isbn: 7 }).unwrap();
    let diff = old.diff(&new).unwrap();
    assert_eq!(diff.summary().create, 1);
    let statesync::Action::Update(update) = &diff.elements()[0].action else {
        panic!("an update: {diff}");
    };
    assert!(format!("{:?}", update.children).contains("books"));
}

/// A model borrowing its id: the sync and merge impls need it `'static`, which makes the
/// lifetime `'static` too; `redundant_lifetimes` said so at the user's lifetime (an error
/// under `deny`) until the generated impls allowed it.
#[derive(statesync::DiffModel, Clone, Debug, PartialEq)]
pub struct Borrowed<'a> {
    /// Id.
    #[statesync(id)]
    pub id: &'a str,
    /// Attribute.
    pub value: u8,
}

/// A crate that re-exports statesync under another name.
pub mod facade {
    pub use statesync as sync_engine;
}

/// A model that names the runtime through the re-export.
#[derive(facade::sync_engine::DiffModel, Clone, Debug, PartialEq)]
#[statesync(crate = "facade::sync_engine")]
pub struct ThroughFacade {
    /// Id.
    #[statesync(id)]
    pub id: u32,
    /// Attribute.
    pub value: String,
}

/// A deprecated model still derives without warnings.
#[deprecated(note = "use ThroughFacade")]
#[derive(statesync::DiffModel, Clone, Debug, PartialEq)]
pub struct Legacy {
    /// Attribute.
    pub value: u8,
}

use statesync::DiffModel as _;

#[test]
fn shadowed_prelude_models_work() {
    let old = shadowed::Rack {
        name: "r1".into(),
        height: Some(42),
        units: vec![shadowed::Unit {
            slot: 1,
            label: "a".into(),
        }],
    };
    let mut new = old.clone();
    new.units[0].label = "b".into();
    let diff = old.diff(&new).unwrap();
    assert_eq!(diff.summary().update, 1);
}

#[test]
fn crate_path_option_works() {
    let a = ThroughFacade {
        id: 1,
        value: "x".into(),
    };
    let b = ThroughFacade {
        id: 1,
        value: "y".into(),
    };
    assert_eq!(a.diff(&b).unwrap().summary().update, 1);
    assert_eq!(ThroughFacadeKey { id: 1 }.to_string(), "id=1");
}

#[test]
#[allow(deprecated)]
fn deprecated_model_works() {
    let a = Legacy { value: 1 };
    let b = Legacy { value: 2 };
    assert_eq!(a.diff(&b).unwrap().summary().update, 1);
}

/// Field names that do not camel-case into identifiers, a raw struct name, a where clause.
pub mod odd_names {
    #![allow(non_camel_case_types, non_snake_case)]

    /// Unusual field names.
    #[derive(statesync::DiffModel, Clone, Debug, PartialEq)]
    pub struct r#Odd {
        /// Id.
        #[statesync(id)]
        pub r#type: u8,
        /// Digits only once camel-cased.
        pub _1: u8,
        /// Camel-cases to a keyword.
        pub self_: u8,
    }

    /// A key trait with an associated type.
    pub trait Keyed {
        /// The id type.
        type Id: Clone + core::fmt::Debug + Ord + core::hash::Hash + core::fmt::Display;
    }

    impl Keyed for u8 {
        type Id = u16;
    }

    /// A model whose key type comes through a where clause.
    #[derive(statesync::DiffModel, Clone, Debug, PartialEq)]
    pub struct Through<T>
    where
        T: Keyed + Clone + core::fmt::Debug + PartialEq,
    {
        /// Id.
        #[statesync(id)]
        pub id: T::Id,
        /// Attribute.
        pub value: T,
    }
}

#[test]
fn odd_names_and_where_clauses_derive() {
    use statesync::ModelField;
    let names: Vec<&str> = <odd_names::OddField as ModelField>::ALL
        .iter()
        .map(|field| field.name())
        .collect();
    assert_eq!(names, ["_1", "self_"]);
    // The model's name is the struct's, without the raw prefix.
    assert_eq!(<odd_names::Odd as statesync::DiffModel>::NAME, "odd");
    assert_eq!(odd_names::OddKey { r#type: 3 }.to_string(), "type=3");
    let a = odd_names::Through::<u8> { id: 1, value: 1 };
    let b = odd_names::Through::<u8> { id: 1, value: 2 };
    assert_eq!(a.diff(&b).unwrap().summary().update, 1);
}

/// Type parameters and a lifetime named as serde's own (`S`, `D`, `'de`), a deprecated
/// field type, and a field name whose lint is allowed on the struct alone: each compiled
/// with an error or a warning in the generated code (found by an outside review).
pub mod user_names {
    /// A type parameter named `S`.
    #[derive(
        statesync::DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize,
    )]
    pub struct Tagged<S> {
        /// Id.
        #[statesync(id)]
        pub id: u32,
        /// Attribute.
        pub value: S,
    }

    /// A document parameter named `D`, and a lifetime named `'de`.
    #[derive(statesync::DiffModel, Clone, Debug, PartialEq, serde::Serialize)]
    pub struct Folder<'de, D: Clone + std::fmt::Debug + PartialEq + serde::Serialize> {
        /// Id.
        #[statesync(id)]
        pub name: &'de str,
        /// Attribute.
        pub doc: D,
    }

    /// A deprecated type.
    #[deprecated(note = "use u32")]
    #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct OldId(pub u32);

    /// A field of a deprecated type, allowed where it is declared.
    #[allow(deprecated)]
    #[derive(
        statesync::DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize,
    )]
    pub struct Ticket {
        /// Id.
        #[statesync(id)]
        pub number: u32,
        /// Attribute of a deprecated type.
        pub legacy: OldId,
    }

    /// A field name from another convention, allowed on the struct alone.
    #[allow(non_snake_case)]
    #[derive(
        statesync::DiffModel, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize,
    )]
    pub struct Api {
        /// Id.
        #[statesync(id)]
        pub id: u32,
        /// camelCase, as the API names it.
        pub displayName: String,
    }
}

/// Models that are `Eq` themselves, checked by `cargo clippy` (as CI runs it): clippy takes
/// the generated `PartialEq` of a record of changes or of child diffs for a derive, and
/// asks the record for an `Eq` it cannot promise (its values' types need not be `Eq`).
#[deny(clippy::derive_partial_eq_without_eq)]
pub mod lint_clean_records {
    use statesync::{DiffModel, Store};

    /// A parent, generic.
    #[derive(DiffModel, Clone, Debug, PartialEq, Eq)]
    pub struct Shelf<T: Clone + std::fmt::Debug + Eq + 'static> {
        /// Id.
        #[statesync(id)]
        pub name: String,
        /// Attribute of a parameter's type.
        pub item: T,
        /// Children.
        #[statesync(children)]
        pub boxes: Store<Crate>,
    }

    /// A child.
    #[derive(DiffModel, Clone, Debug, PartialEq, Eq)]
    pub struct Crate {
        /// Id.
        #[statesync(id)]
        pub id: u32,
        /// Attribute.
        pub label: String,
    }
}

#[test]
fn serde_named_parameters_deprecated_types_and_allowed_names_derive() {
    let a = user_names::Tagged {
        id: 1,
        value: "a".to_owned(),
    };
    let mut b = a.clone();
    b.value = "b".to_owned();
    let diff = a.diff(&b).unwrap();
    let json = serde_json::to_string(&diff).unwrap();
    let back: statesync::Diff<user_names::Tagged<String>> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, diff);
    let folder = user_names::Folder {
        name: "f",
        doc: 1_u8,
    };
    assert!(folder.diff(&folder.clone()).unwrap().is_empty());
    let api = user_names::Api {
        id: 1,
        displayName: "x".into(),
    };
    assert!(api.diff(&api.clone()).unwrap().is_empty());
}
