//! `Self` in a field's type, spelled out. The derive copies field types into the records it
//! generates (the changes, the child diffs), where `Self` would mean the record, not the
//! model: `children: Vec<Self>` must become `Vec<Node>` there. The same goes for the where
//! clause, which the generated types carry.

use std::borrow::Cow;

use proc_macro2::{Group, TokenStream, TokenTree};
use quote::{ToTokens, quote_spanned};
use syn::{Data, DeriveInput, Type};

/// The input with `Self` in every field type and in the where clause replaced by the
/// model's type (with its generics); the input itself when none names `Self`.
pub fn spelled_out(input: &DeriveInput) -> Cow<'_, DeriveInput> {
    let Data::Struct(data) = &input.data else {
        return Cow::Borrowed(input);
    };
    let where_clause = input.generics.where_clause.as_ref();
    if !data
        .fields
        .iter()
        .any(|field| names_self(field.ty.to_token_stream()))
        && !where_clause.is_some_and(|clause| names_self(clause.to_token_stream()))
    {
        return Cow::Borrowed(input);
    }
    let mut input = input.clone();
    let ident = input.ident.clone();
    let (_, type_generics, _) = input.generics.split_for_impl();
    let model = quote_spanned!(ident.span()=> #ident #type_generics);
    if let Data::Struct(data) = &mut input.data {
        for field in data.fields.iter_mut() {
            let tokens = replace(field.ty.to_token_stream(), &model);
            if let Ok(ty) = syn::parse2::<Type>(tokens) {
                field.ty = ty;
            }
        }
    }
    if let Some(clause) = &input.generics.where_clause {
        let tokens = replace(clause.to_token_stream(), &model);
        if let Ok(clause) = syn::parse2::<syn::WhereClause>(tokens) {
            input.generics.where_clause = Some(clause);
        }
    }
    Cow::Owned(input)
}

/// Whether the tokens hold the identifier `Self`, at any depth.
fn names_self(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => ident == "Self",
        TokenTree::Group(group) => names_self(group.stream()),
        _ => false,
    })
}

/// The tokens with each `Self` replaced by `model`, spanned where `Self` was.
fn replace(tokens: TokenStream, model: &TokenStream) -> TokenStream {
    tokens
        .into_iter()
        .flat_map(|tree| -> TokenStream {
            match tree {
                TokenTree::Ident(ident) if ident == "Self" => {
                    let span = ident.span();
                    model
                        .clone()
                        .into_iter()
                        .map(|mut tree| {
                            tree.set_span(span);
                            tree
                        })
                        .collect()
                }
                TokenTree::Group(group) => {
                    let mut replaced =
                        Group::new(group.delimiter(), replace(group.stream(), model));
                    replaced.set_span(group.span());
                    TokenTree::Group(replaced).into()
                }
                other => other.into(),
            }
        })
        .collect()
}
