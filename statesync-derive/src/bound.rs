//! Generics: which parameters a type mentions, the bounds inferred for the impl, and the
//! generics each companion type (key, changes, child diffs) carries.

use std::collections::BTreeSet;

use proc_macro2::{TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::{GenericParam, Generics, Type, WherePredicate, parse_quote};

use crate::ast::{Model, Role};

/// Every identifier and lifetime name in some tokens (lifetimes keep their `'`).
fn names(tokens: TokenStream, out: &mut BTreeSet<String>) {
    let mut after_quote = false;
    for tree in tokens {
        match tree {
            TokenTree::Ident(ident) => {
                let prefix = if after_quote { "'" } else { "" };
                out.insert(format!("{prefix}{ident}"));
                after_quote = false;
            }
            TokenTree::Punct(punct) => after_quote = punct.as_char() == '\'',
            TokenTree::Group(group) => {
                names(group.stream(), out);
                after_quote = false;
            }
            TokenTree::Literal(_) => after_quote = false,
        }
    }
}

fn param_name(param: &GenericParam) -> String {
    match param {
        GenericParam::Type(param) => param.ident.to_string(),
        GenericParam::Lifetime(param) => param.lifetime.to_string(),
        GenericParam::Const(param) => param.ident.to_string(),
    }
}

/// The generic parameters that some tokens mention.
fn mentioned(generics: &Generics, tokens: TokenStream) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    names(tokens, &mut found);
    generics
        .params
        .iter()
        .map(param_name)
        .filter(|name| found.contains(name))
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
        Some(bound) => predicates.extend(bound.iter().cloned()),
        None => predicates.extend(inferred(model)),
    }
    predicates
}

/// Bounds on type parameters used by compared fields (never on whole field types, so
/// recursive models work), and `ChildCollection` on generic children fields.
fn inferred(model: &Model) -> Vec<WherePredicate> {
    let krate = &model.krate;
    let mut predicates = Vec::new();
    for param in model.generics.type_params() {
        let ident = &param.ident;
        let name = ident.to_string();
        let used_by = |role: Role| {
            model
                .fields_with(role)
                .any(|field| mentioned(model.generics, field.ty.to_token_stream()).contains(&name))
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
        }
    }
    for field in model.fields_with(Role::Children) {
        if is_generic(model, field.ty) && !is_recursive(model, field.ty) {
            let ty = field.ty;
            predicates.push(parse_quote!(#ty: #krate::ChildCollection));
            predicates.push(parse_quote!(<#ty as #krate::ChildCollection>::Model: #krate::Keyed));
        }
    }
    predicates
}

/// Whether a type mentions one of the model's generic parameters.
pub fn is_generic(model: &Model, ty: &Type) -> bool {
    !mentioned(model.generics, ty.to_token_stream()).is_empty()
}

/// Whether a field's type names the model itself (`Vec<Node>` in `Node`, or `Self`): such
/// a field must not put a bound on the model into the model's own impl, which would
/// overflow trait resolution.
pub fn is_recursive(model: &Model, ty: &Type) -> bool {
    let mut found = BTreeSet::new();
    names(ty.to_token_stream(), &mut found);
    found.contains(&model.ident.to_string()) || found.contains("Self")
}

/// Whether a type names any of the given types (by their last path segment).
pub fn mentions_any(ty: &Type, others: &[Type]) -> bool {
    let mut found = BTreeSet::new();
    names(ty.to_token_stream(), &mut found);
    others.iter().any(|other| match other {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|segment| found.contains(&segment.ident.to_string())),
        _ => false,
    })
}

/// The generics a companion type needs to hold fields of the given types: the parameters
/// they mention, with the predicates that mention only those parameters.
pub fn companion_generics(model: &Model, types: &[&Type]) -> Generics {
    let tokens = quote!(#(#types)*);
    let used = mentioned(model.generics, tokens);
    let params = model
        .generics
        .params
        .iter()
        .filter(|param| used.contains(&param_name(param)));
    let predicates = impl_predicates(model).into_iter().filter(|predicate| {
        let needs = mentioned(model.generics, predicate.to_token_stream());
        !needs.is_empty() && needs.is_subset(&used)
    });
    let mut generics: Generics = parse_quote!(<#(#params),*>);
    if let Some(clause) = build_where(predicates.collect()) {
        generics.where_clause = Some(clause);
    }
    generics
}

pub fn build_where(predicates: Vec<WherePredicate>) -> Option<syn::WhereClause> {
    if predicates.is_empty() {
        None
    } else {
        Some(parse_quote!(where #(#predicates),*))
    }
}
