//! Generics: which parameters a type mentions, the bounds inferred for the impl, and the
//! generics each companion type (key, changes, child diffs) carries.

use std::collections::BTreeSet;

use syn::visit::{self, Visit};
use syn::{GenericParam, Generics, Type, WherePredicate, parse_quote};

use crate::ast::{Model, Role};

/// What a type (or predicate) names, found by walking its syntax tree: the first segment of
/// every relative path (where a type or const parameter, or `Self`, appears), every path
/// segment (where a model's own name appears), the types a path may name from this module
/// (`Node`, `self::Node`, `crate::Node`, not `v1::Node` or `crate::v1::Node`), and every
/// lifetime.
#[derive(Default)]
struct Names {
    heads: BTreeSet<String>,
    segments: BTreeSet<String>,
    local: BTreeSet<String>,
}

impl<'ast> Visit<'ast> for Names {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.leading_colon.is_none()
            && let Some(first) = path.segments.first()
        {
            self.heads.insert(first.ident.to_string());
        }
        // A path that may name a type of this module: one segment, or one from this module
        // or the crate root (`self::Node`, `crate::Node`); not one through another module
        // (`v1::Node`, `super::Node`, `crate::v1::Node`: a migration's other model of the
        // same name) or another crate (`::krate::Node`).
        let here = path.leading_colon.is_none()
            && match path.segments.len() {
                1 => true,
                2 => path
                    .segments
                    .first()
                    .is_some_and(|first| first.ident == "self" || first.ident == "crate"),
                _ => false,
            };
        if here && let Some(last) = path.segments.last() {
            self.local.insert(last.ident.to_string());
        }
        self.segments.extend(
            path.segments
                .iter()
                .map(|segment| segment.ident.to_string()),
        );
        visit::visit_path(self, path);
    }

    fn visit_lifetime(&mut self, lifetime: &'ast syn::Lifetime) {
        self.heads.insert(lifetime.to_string());
    }
}

fn names_in_types(types: &[&Type]) -> Names {
    let mut names = Names::default();
    for ty in types {
        names.visit_type(ty);
    }
    names
}

fn param_name(param: &GenericParam) -> String {
    match param {
        GenericParam::Type(param) => param.ident.to_string(),
        GenericParam::Lifetime(param) => param.lifetime.to_string(),
        GenericParam::Const(param) => param.ident.to_string(),
    }
}

/// The generic parameters that were named.
fn mentioned(generics: &Generics, names: &Names) -> BTreeSet<String> {
    generics
        .params
        .iter()
        .map(param_name)
        .filter(|name| names.heads.contains(name))
        .collect()
}

/// The predicates the impl needs: the user's where clause plus either the inferred bounds
/// or `#[statesync(bound = "...")]`.
pub fn impl_predicates(model: &Model) -> Vec<WherePredicate> {
    let mut predicates: Vec<WherePredicate> = model
        .generics
        .where_clause
        .as_ref()
        .map(|clause| clause.predicates.iter().cloned().collect())
        .unwrap_or_default();
    match &model.bound {
        Some(bound) => {
            predicates.extend(bound.iter().cloned());
            // Not bounds on parameters, which `bound` replaces: what a generic children
            // field is (the sync impl's bounds on the child's key are proven through it).
            predicates.extend(children_predicates(model));
        }
        None if model.fallback => {
            // The stand-in impl beside derive errors asks only what `DiffModel` requires of
            // the model itself, so it adds no error of its own.
            let ident = model.ident;
            let (_, type_generics, _) = model.generics.split_for_impl();
            if !model.generics.params.is_empty() {
                predicates.push(parse_quote!(
                    #ident #type_generics: ::core::clone::Clone + ::core::fmt::Debug
                        + ::core::cmp::PartialEq
                ));
            }
        }
        None => predicates.extend(inferred(model)),
    }
    if !model.fallback {
        predicates.extend(concrete_id_predicates(model));
        predicates.extend(concrete_children_predicates(model));
    }
    predicates
}

/// `for<'__s> Field: ModelKey` for each `id` field of a concrete type, for the key type and
/// every generated item: a type that lacks some of a key's traits is one error, at the
/// field's own check (`field_checks` in `expand.rs`), instead of one per derive of the key
/// and use of the field (six for a type lacking `Eq`, `Ord`, `Hash` and `Display`).
/// A field whose type is surely a key (`String`, an integer, ...) is left out: most models
/// are keyed by one, and their expansion stays as it was.
pub fn concrete_id_predicates(model: &Model) -> Vec<WherePredicate> {
    let krate = &model.krate;
    checked_id_types(model)
        .into_iter()
        .map(|ty| parse_quote!(for<'__s> #ty: #krate::ModelKey))
        .collect()
}

/// The types of the `id` fields that are concrete and not surely keys, each once.
pub fn checked_id_types<'m>(model: &'m Model) -> Vec<&'m Type> {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    model
        .fields_with(Role::Id)
        .map(|field| field.ty)
        .filter(|ty| !is_generic(model, ty) && !surely_a_key(ty))
        .filter(|ty| seen.insert(quote::quote!(#ty).to_string()))
        .collect()
}

/// Whether a type is one of the prelude's that have every trait of a key, by its name
/// alone (`String`, `u64`, `bool`, `char`, `&str`): a type of the user's of that name
/// would be an odd choice, and rustc still checks it where the key is built.
fn surely_a_key(ty: &Type) -> bool {
    const KEYS: [&str; 15] = [
        "String", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128",
        "isize", "bool", "char",
    ];
    match ty {
        Type::Path(path) if path.qself.is_none() => path
            .path
            .get_ident()
            .is_some_and(|ident| KEYS.contains(&ident.to_string().as_str())),
        Type::Reference(reference) => {
            matches!(&*reference.elem, Type::Path(path) if path.path.is_ident("str"))
        }
        _ => false,
    }
}

/// `for<'__s> Field: ChildCollection` for each children field of a concrete type (not
/// generic, not in a cycle, naming no lifetime: see [`names_a_lifetime`]): every
/// generated item that names the field's collection takes it as given, so a field that
/// is not a collection of keyed models (a model where a collection belongs, a map keyed by
/// another model's key) is one error, at the field's own check (`field_checks` in
/// `expand.rs`), instead of one per generated use of its type (35 for a bare model).
/// Behind `for<'__s>`, a bound on a concrete type is proved where the impl is used, not
/// where it is declared.
pub fn concrete_children_predicates(model: &Model) -> Vec<WherePredicate> {
    let krate = &model.krate;
    let mut predicates = Vec::new();
    for field in model.fields_with(Role::Children) {
        if !is_generic(model, field.ty) && !in_cycle(model, field.ty) && !names_a_lifetime(field.ty)
        {
            let ty = field.ty;
            predicates.push(parse_quote!(for<'__s> #ty: #krate::ChildCollection));
        }
    }
    predicates
}

/// Bounds on type parameters used by compared fields (never on whole field types, so
/// recursive models work), `Clone` on those used only by children (the child diffs are
/// `Clone`), `ChildCollection` on generic children fields, and `Clone` on the model when a
/// parameter is used by none of these (only by skipped fields), as `DiffModel` requires.
fn inferred(model: &Model) -> Vec<WherePredicate> {
    let mut predicates = Vec::new();
    let mut unbounded = false;
    // An id field whose type names the parameters only through their associated types
    // (`B::Id`, `Option<B::Id>`) bounds its own type: bounding `B` would ask of a marker
    // type what only its `Id` has (the key's traits are written out, bounded on the field
    // types). An attribute still bounds the parameter: the record of changes derives
    // `Clone` and `Debug`, which ask them of every parameter it holds.
    let through_projections = |field: &&crate::ast::Field| {
        let names = names_in_types(&[field.ty]);
        let named = mentioned(model.generics, &names);
        let names_a_type_param = model
            .generics
            .type_params()
            .any(|param| named.contains(&param.ident.to_string()));
        names_a_type_param && only_projections(model.generics, field.ty)
    };
    for field in model.fields_with(Role::Id).filter(through_projections) {
        let ty = field.ty;
        predicates.push(parse_quote!(
            #ty: ::core::clone::Clone + ::core::fmt::Debug + ::core::cmp::Ord
                + ::core::hash::Hash + ::core::fmt::Display
        ));
    }
    for param in model.generics.type_params() {
        let ident = &param.ident;
        let name = ident.to_string();
        let used_by = |role: Role| {
            model.fields_with(role).any(|field| {
                !(role == Role::Id && through_projections(&field))
                    && mentioned(model.generics, &names_in_types(&[field.ty])).contains(&name)
            })
        };
        if used_by(Role::Id) {
            predicates.push(parse_quote!(
                #ident: ::core::clone::Clone + ::core::fmt::Debug + ::core::cmp::Ord
                    + ::core::hash::Hash + ::core::fmt::Display
            ));
        } else if used_by(Role::Attribute) {
            predicates.push(parse_quote!(
                #ident: ::core::clone::Clone + ::core::fmt::Debug + ::core::cmp::PartialEq
            ));
        } else if used_by(Role::Children) {
            predicates.push(parse_quote!(#ident: ::core::clone::Clone));
        } else {
            unbounded = true;
        }
    }
    predicates.extend(children_predicates(model));
    if unbounded {
        let ident = model.ident;
        let (_, type_generics, _) = model.generics.split_for_impl();
        predicates.push(parse_quote!(#ident #type_generics: ::core::clone::Clone));
    }
    predicates
}

/// `ChildCollection` (of a model with id fields) on each generic children field.
fn children_predicates(model: &Model) -> Vec<WherePredicate> {
    let krate = &model.krate;
    let mut predicates = Vec::new();
    for field in model.fields_with(Role::Children) {
        if is_generic(model, field.ty) && !in_cycle(model, field.ty) {
            let ty = field.ty;
            predicates.push(parse_quote!(#ty: #krate::ChildCollection));
            predicates.push(parse_quote!(<#ty as #krate::ChildCollection>::Model: #krate::Keyed));
        }
    }
    predicates
}

/// Whether every path of `ty` that starts at a type parameter goes on to one of its
/// associated types (`B::Id`), so the type names no parameter itself.
fn only_projections(generics: &Generics, ty: &Type) -> bool {
    struct Direct {
        params: Vec<String>,
        found: bool,
    }

    impl<'ast> Visit<'ast> for Direct {
        fn visit_path(&mut self, path: &'ast syn::Path) {
            if path.leading_colon.is_none()
                && let Some(first) = path.segments.first()
                && self.params.contains(&first.ident.to_string())
                && (path.segments.len() == 1 || !first.arguments.is_none())
            {
                self.found = true;
            }
            visit::visit_path(self, path);
        }

        fn visit_type_path(&mut self, path: &'ast syn::TypePath) {
            // `<B as Trait>::Id`: the parameter inside the `<...>` is a projection's.
            if let Some(qself) = &path.qself
                && let Type::Path(inner) = &*qself.ty
                && inner.qself.is_none()
                && inner.path.segments.len() == 1
                && inner
                    .path
                    .get_ident()
                    .is_some_and(|ident| self.params.contains(&ident.to_string()))
            {
                for segment in &path.path.segments {
                    self.visit_path_segment(segment);
                }
                return;
            }
            visit::visit_type_path(self, path);
        }
    }

    let mut direct = Direct {
        params: generics
            .type_params()
            .map(|param| param.ident.to_string())
            .collect(),
        found: false,
    };
    direct.visit_type(ty);
    !direct.found
}

/// Whether a type names a lifetime (`BPort<'static>`). A children field of such a type
/// takes no `for<'__s>` bound: with one, rustc 1.95 crashed (an internal compiler error,
/// "type mismatch when copying") evaluating the field's description, which normalizes the
/// collection's model through the impl where the record's type kept the bound's projection.
fn names_a_lifetime(ty: &Type) -> bool {
    names_in_types(&[ty])
        .heads
        .iter()
        .any(|head| head.starts_with('\''))
}

/// Whether a type mentions one of the model's generic parameters.
pub fn is_generic(model: &Model, ty: &Type) -> bool {
    !mentioned(model.generics, &names_in_types(&[ty])).is_empty()
}

/// Whether a field's type names the model itself (`Vec<Node>` in `Node`, or `Self`): such
/// a field must not put a bound on the model into the model's own impl, which would
/// overflow trait resolution. Read from the syntax: the model's name alone or reached
/// from this module or the crate root (`Node`, `self::Node`, `crate::Node`), not through
/// another module (`v1::Node`, `super::Node`, `crate::v1::Node`: another type of that
/// name, as a migration keeps).
pub fn is_recursive(model: &Model, ty: &Type) -> bool {
    let names = names_in_types(&[ty]);
    let plain = model.ident.to_string();
    let plain = plain.strip_prefix("r#").unwrap_or(&plain);
    names.local.contains(plain) || names.heads.contains("Self")
}

/// The type parameters a type names, as types (`T` in `Vec<File<T>>`).
pub fn type_params_in(model: &Model, ty: &Type) -> Vec<Type> {
    let named = mentioned(model.generics, &names_in_types(&[ty]));
    model
        .generics
        .type_params()
        .filter(|param| named.contains(&param.ident.to_string()))
        .map(|param| {
            let ident = &param.ident;
            parse_quote!(#ident)
        })
        .collect()
}

/// The models of a mutual-recursion cycle (`sync_models`), if declared.
pub fn cycle<'m>(model: &'m Model) -> &'m [Type] {
    model
        .options
        .sync_models
        .as_ref()
        .map(|models| models.value.as_slice())
        .unwrap_or_default()
}

/// Whether a children field's type holds this model or models of its cycle: such a field
/// puts no bound on its models into this model's impls (a cycle of bounds never resolves,
/// in a generic cycle as in a concrete one).
pub fn in_cycle(model: &Model, ty: &Type) -> bool {
    is_recursive(model, ty) || mentions_any(ty, cycle(model))
}

/// Whether a type names any of the given types (by their last path segment).
pub fn mentions_any(ty: &Type, others: &[Type]) -> bool {
    let names = names_in_types(&[ty]);
    others.iter().any(|other| match other {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|segment| names.segments.contains(&segment.ident.to_string())),
        _ => false,
    })
}

/// The generics a companion type needs to hold fields of the given types: the parameters
/// they mention, with the predicates that mention only those parameters.
pub fn companion_generics(model: &Model, types: &[&Type]) -> Generics {
    let used = mentioned(model.generics, &names_in_types(types));
    // The parameters bare: their inline bounds become predicates, filtered as the others
    // (a bound may name a parameter the companion does not hold), and defaults are left
    // out (one may name such a parameter too).
    let mut inline: Vec<WherePredicate> = Vec::new();
    let params: Vec<GenericParam> = model
        .generics
        .params
        .iter()
        .filter(|param| used.contains(&param_name(param)))
        .map(|param| bare_param(param, &mut inline))
        .collect();
    let predicates = inline
        .into_iter()
        .chain(impl_predicates(model))
        .filter_map(|predicate| without_absent_outlives(model, &used, predicate))
        .filter(|predicate| {
            if bounds_the_model(model, predicate) {
                return false;
            }
            let mut names = Names::default();
            names.visit_where_predicate(predicate);
            let needs = mentioned(model.generics, &names);
            !needs.is_empty() && needs.is_subset(&used)
        });
    let mut generics: Generics = parse_quote!(<#(#params),*>);
    if let Some(clause) = build_where(predicates.collect()) {
        generics.where_clause = Some(clause);
    }
    generics
}

/// `predicate` without its outlives bounds (`T: 'a`) on lifetimes of the model that a
/// companion does not hold, or `None` when nothing else is left: `T: 'a + Clone` keeps
/// `T: Clone` in a record that holds `T` and not `'a`, rather than being left out whole.
fn without_absent_outlives(
    model: &Model,
    used: &BTreeSet<String>,
    mut predicate: WherePredicate,
) -> Option<WherePredicate> {
    if let WherePredicate::Type(typed) = &mut predicate {
        let absent = |lifetime: &syn::Lifetime| {
            !used.contains(&lifetime.to_string())
                && model
                    .generics
                    .lifetimes()
                    .any(|param| param.lifetime == *lifetime)
        };
        typed.bounds = typed
            .bounds
            .iter()
            .filter(|bound| !matches!(bound, syn::TypeParamBound::Lifetime(l) if absent(l)))
            .cloned()
            .collect();
        if typed.bounds.is_empty() {
            return None;
        }
    }
    Some(predicate)
}

/// A generic parameter without its inline bounds (pushed to `predicates`) or default.
fn bare_param(param: &GenericParam, predicates: &mut Vec<WherePredicate>) -> GenericParam {
    let mut param = param.clone();
    match &mut param {
        GenericParam::Type(param) => {
            if !param.bounds.is_empty() {
                let (ident, bounds) = (&param.ident, &param.bounds);
                predicates.push(parse_quote!(#ident: #bounds));
            }
            param.bounds.clear();
            param.colon_token = None;
            param.default = None;
        }
        GenericParam::Lifetime(param) => {
            if !param.bounds.is_empty() {
                let (lifetime, bounds) = (&param.lifetime, &param.bounds);
                predicates.push(parse_quote!(#lifetime: #bounds));
            }
            param.bounds.clear();
            param.colon_token = None;
        }
        GenericParam::Const(param) => {
            param.default = None;
        }
    }
    param
}

/// Whether a predicate bounds the model itself (`Model<T>: Clone`), which its companion
/// types do not need.
fn bounds_the_model(model: &Model, predicate: &WherePredicate) -> bool {
    match predicate {
        WherePredicate::Type(predicate) => match &predicate.bounded_ty {
            Type::Path(path) => {
                path.qself.is_none()
                    && path.path.segments.len() == 1
                    && path
                        .path
                        .segments
                        .first()
                        .is_some_and(|s| s.ident == *model.ident)
            }
            _ => false,
        },
        _ => false,
    }
}

/// The where clause of `generics` with `extra` predicates added.
pub fn where_with(
    generics: &Generics,
    extra: impl IntoIterator<Item = WherePredicate>,
) -> Option<syn::WhereClause> {
    let mut predicates: Vec<WherePredicate> = generics
        .where_clause
        .as_ref()
        .map(|clause| clause.predicates.iter().cloned().collect())
        .unwrap_or_default();
    predicates.extend(extra);
    build_where(predicates)
}

pub fn build_where(predicates: Vec<WherePredicate>) -> Option<syn::WhereClause> {
    if predicates.is_empty() {
        None
    } else {
        Some(parse_quote!(where #(#predicates),*))
    }
}
