//! `Serialize` and `Deserialize` for the generated records (key, changes, child diffs). The
//! impls only list the fields; the runtime's `__serde_record` writes and reads them, compiled
//! once for every record (serde's derive would emit a few hundred lines per record, most of
//! what a model costs the crate that declares it).

use proc_macro2::{Group, Spacing, Span, TokenStream, TokenTree};
use quote::quote;
use syn::ext::IdentExt;
use syn::{Generics, Ident, Lifetime, WherePredicate};

use crate::ast::Model;
use crate::bound;

/// How one field of a record is written and read.
#[derive(Clone, Copy)]
pub enum Slot {
    /// A change: left out when `None`, `None` when absent.
    Optional,
    /// A key field: always written, needed.
    Required,
    /// A child diff written as itself (a field in a recursion cycle): left out when it
    /// holds nothing, empty when absent.
    Direct,
    /// A child diff written through the record's `__Via` parameter: left out when it holds
    /// nothing, empty when absent.
    Via,
}

/// One field of a record.
pub struct RecordField<'a> {
    pub member: &'a Ident,
    pub slot: Slot,
}

/// What a record is, for its impls.
pub struct Record<'a> {
    pub model: &'a Model<'a>,
    pub ident: &'a Ident,
    /// The record's generics, with its own where clause.
    pub generics: &'a Generics,
    pub fields: Vec<RecordField<'a>>,
    /// Field types (or other types) whose serde the impls are bounded on, behind
    /// `for<'__s>` so a record of types without serde still compiles.
    pub bounded: Vec<syn::Type>,
    pub serialize_extra: Vec<WherePredicate>,
    pub deserialize_extra: Vec<WherePredicate>,
    /// Whether the record is built from `Default` (changes, child diffs) rather than from
    /// every field read (a key).
    pub from_default: bool,
}

impl<'a> Record<'a> {
    /// A record whose fields are all of one kind and whose impls are bounded on the fields'
    /// types only (the key, with `Slot::Required`; the changes, with `Slot::Optional`).
    pub fn of_fields(
        model: &'a Model<'a>,
        ident: &'a Ident,
        generics: &'a Generics,
        fields: &[&'a crate::ast::Field<'a>],
        slot: Slot,
    ) -> Self {
        Self {
            model,
            ident,
            generics,
            fields: fields
                .iter()
                .map(|field| RecordField {
                    member: field.ident,
                    slot,
                })
                .collect(),
            bounded: fields.iter().map(|field| field.ty.clone()).collect(),
            serialize_extra: Vec::new(),
            deserialize_extra: Vec::new(),
            from_default: matches!(slot, Slot::Optional),
        }
    }
}

/// The two impls.
pub fn impls(record: &Record) -> TokenStream {
    let krate = &record.model.krate;
    let serde = quote!(#krate::__private::serde);
    let ident = record.ident;
    let name = ident.to_string();
    let (_, type_generics, _) = record.generics.split_for_impl();
    // `for<'__s>` keeps a bound that names no parameter from being checked where the impl
    // is written; `Deserialize<'__de>` names the impl's lifetime already (and a higher-ranked
    // `DeserializeOwned` bound would be ambiguous beside the type's own impl).
    let predicates =
        |extra: &[WherePredicate], bound: &mut dyn FnMut(&syn::Type) -> Vec<WherePredicate>| {
            let mut predicates: Vec<WherePredicate> = record
                .generics
                .where_clause
                .as_ref()
                .map(|clause| clause.predicates.iter().cloned().collect())
                .unwrap_or_default();
            predicates.extend(record.bounded.iter().flat_map(bound));
            predicates.extend(extra.iter().cloned());
            bound::build_where(predicates)
        };
    let shapes = Shapes::of(&record.bounded);
    let serialize_where = predicates(&record.serialize_extra, &mut |ty| {
        shapes.serialize_bounds(ty, &serde)
    });
    let deserialize_where = predicates(&record.deserialize_extra, &mut |ty| {
        shapes.deserialize_bounds(ty, &serde)
    });
    let (impl_generics, _, _) = record.generics.split_for_impl();
    let mut de_generics = record.generics.clone();
    de_generics.params.insert(0, syn::parse_quote!('__de));
    let (de_impl_generics, _, _) = de_generics.split_for_impl();
    let predicates_of = |clause: Option<syn::WhereClause>| {
        clause.map(|clause| clause.predicates).unwrap_or_default()
    };
    let serialize_where = predicates_of(serialize_where);
    let deserialize_where = predicates_of(deserialize_where);
    let build = if record.from_default {
        quote!(default)
    } else {
        quote!(fields)
    };
    let kinds: Vec<(&Ident, TokenStream)> = record
        .fields
        .iter()
        .map(|field| {
            let kind = match field.slot {
                Slot::Optional => quote!(optional),
                Slot::Required => quote!(required),
                Slot::Direct => quote!(direct),
                Slot::Via => quote!(via),
            };
            (field.member, kind)
        })
        .collect();
    let fields = kinds.iter().map(|(member, kind)| {
        let name = member.unraw().to_string();
        quote!(#member #name #kind)
    });
    let tree = balanced(&kinds);
    quote! {
        #krate::__record_serde!(
            #name, [#impl_generics], [#de_impl_generics], [#ident #type_generics],
            [#serialize_where], [#deserialize_where], #build, [#(#fields),*], #tree
        );
    }
}

/// The bounded types that name lifetimes, by shape: each shape (the type with its
/// lifetimes erased) and the lifetimes, in order, of each distinct type of that shape.
/// rustc cannot choose between where clauses that differ only in lifetimes (`&'a str` and
/// `&'b str`: E0283), so the types of a shape with two members or more get one bound
/// between them; a type alone in its shape keeps its bounds as written.
struct Shapes(Vec<(String, Vec<Vec<Ident>>)>);

impl Shapes {
    fn of(types: &[syn::Type]) -> Self {
        let mut shapes: Vec<(String, Vec<Vec<Ident>>)> = Vec::new();
        for (shape, order) in types.iter().filter_map(shape_of) {
            match shapes.iter_mut().find(|(known, _)| *known == shape) {
                Some((_, members)) if !members.contains(&order) => members.push(order),
                Some(_) => {}
                None => shapes.push((shape, vec![order])),
            }
        }
        Self(shapes)
    }

    /// The members of `ty`'s shape when it shares it with another type, and its own
    /// lifetimes; `None` for a type alone in its shape (or without lifetimes).
    fn shared(&self, ty: &syn::Type) -> Option<(&[Vec<Ident>], Vec<Ident>)> {
        let (shape, order) = shape_of(ty)?;
        let (_, members) = self.0.iter().find(|(known, _)| *known == shape)?;
        (members.len() > 1).then_some((members.as_slice(), order))
    }

    /// `for<'__s> T: Serialize`. For the first type of a shared shape, the lifetimes at
    /// the places where its members differ become higher-ranked (`for<'__s, '__l0> &'__l0
    /// str`), one bound for them all (a type serializes alike under any lifetime); the
    /// other members then need none.
    fn serialize_bounds(&self, ty: &syn::Type, serde: &TokenStream) -> Vec<WherePredicate> {
        let Some((members, order)) = self.shared(ty) else {
            return vec![syn::parse_quote!(for<'__s> #ty: #serde::Serialize)];
        };
        if members.first() != Some(&order) {
            return Vec::new();
        }
        let mut fresh: Vec<Lifetime> = Vec::new();
        let mut at = 0;
        let ty = rename_lifetimes(quote!(#ty), &mut |name| {
            let place = at;
            at += 1;
            if members.iter().all(|member| member.get(place) == Some(name)) {
                return name.clone();
            }
            let lifetime = Lifetime::new(&format!("'__l{place}"), Span::call_site());
            fresh.push(lifetime.clone());
            lifetime.ident
        });
        vec![syn::parse_quote!(for<'__s, #(#fresh),*> #ty: #serde::Serialize)]
    }

    /// `T: Deserialize<'__de>`. Of a shared shape only the first type is bounded, and the
    /// impl asks the lifetimes where another member differs from it to be equal (`'a: 'b`
    /// and `'b: 'a`), which proves the other: a record of such types deserializes when
    /// those lifetimes are one, as from one borrowed input.
    fn deserialize_bounds(&self, ty: &syn::Type, serde: &TokenStream) -> Vec<WherePredicate> {
        let bound: WherePredicate = syn::parse_quote!(#ty: #serde::Deserialize<'__de>);
        let Some((members, order)) = self.shared(ty) else {
            return vec![bound];
        };
        let Some(first) = members.first().filter(|first| **first != order) else {
            return vec![bound];
        };
        let mut equal = Vec::new();
        for (a, b) in first.iter().zip(&order).filter(|(a, b)| a != b) {
            let (a, b) = (lifetime(a), lifetime(b));
            equal.push(syn::parse_quote!(#a: #b));
            equal.push(syn::parse_quote!(#b: #a));
        }
        equal
    }
}

/// A type's shape (its text with lifetimes erased) and its lifetimes in order; `None` for
/// a type without lifetimes, or one that binds lifetimes of its own (`for<'x> fn(&'x
/// str)`: it keeps its bounds as written).
fn shape_of(ty: &syn::Type) -> Option<(String, Vec<Ident>)> {
    if bound_inside(ty) {
        return None;
    }
    let mut order = Vec::new();
    let shape = rename_lifetimes(quote!(#ty), &mut |name| {
        order.push(name.clone());
        Ident::new("_", Span::call_site())
    })
    .to_string();
    (!order.is_empty()).then_some((shape, order))
}

fn lifetime(name: &Ident) -> Lifetime {
    Lifetime {
        apostrophe: name.span(),
        ident: name.clone(),
    }
}

/// Whether a type binds lifetimes of its own (a `for<...>` or a function pointer type).
fn bound_inside(ty: &syn::Type) -> bool {
    fn any_ident(tokens: TokenStream, names: &[&str]) -> bool {
        tokens.into_iter().any(|token| match token {
            TokenTree::Ident(ident) => names.iter().any(|name| ident == name),
            TokenTree::Group(group) => any_ident(group.stream(), names),
            _ => false,
        })
    }
    any_ident(quote!(#ty), &["for", "fn"])
}

/// `tokens` with each lifetime's name replaced by what `rename` makes of it.
fn rename_lifetimes(tokens: TokenStream, rename: &mut dyn FnMut(&Ident) -> Ident) -> TokenStream {
    let mut out = Vec::new();
    let mut tokens = tokens.into_iter().peekable();
    while let Some(token) = tokens.next() {
        match token {
            TokenTree::Punct(tick)
                if tick.as_char() == '\'' && tick.spacing() == Spacing::Joint =>
            {
                out.push(TokenTree::Punct(tick));
                if let Some(TokenTree::Ident(name)) =
                    tokens.next_if(|next| matches!(next, TokenTree::Ident(_)))
                {
                    out.push(TokenTree::Ident(rename(&name)));
                }
            }
            TokenTree::Group(group) => {
                let mut renamed =
                    Group::new(group.delimiter(), rename_lifetimes(group.stream(), rename));
                renamed.set_span(group.span());
                out.push(TokenTree::Group(renamed));
            }
            token => out.push(token),
        }
    }
    out.into_iter().collect()
}

/// The fields as a balanced binary tree, `[left right]` with `(member kind)` leaves and
/// `[]` for none, in field order: the runtime walks it with one macro step and one trait
/// impl per level, so a record of any width stays within the compiler's recursion limits.
fn balanced(fields: &[(&Ident, TokenStream)]) -> TokenStream {
    match fields {
        [] => quote!([]),
        [(member, kind)] => quote!((#member #kind)),
        _ => {
            let (left, right) = fields.split_at(fields.len() / 2);
            let (left, right) = (balanced(left), balanced(right));
            quote!([#left #right])
        }
    }
}
