//! Code generation from the checked [`Model`]: the key type, the field enum, the changes and
//! child-diff records, and the `DiffModel` impl. Everything else lives in the runtime.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{DeriveInput, Ident};

use crate::ast::{Field, Model, Role};
use crate::attr::{Companion, Errors, Strategy, StrategyOption, Valued};
use crate::bound;
use crate::check;
use crate::serde_impl::{self, Record, RecordField, Slot};

/// Expands `#[derive(DiffModel)]`. On error, the errors come with a minimal impl (see
/// [`Model::into_fallback`]) so the user sees the real mistake rather than a cascade at
/// every use.
pub fn derive(input: &DeriveInput) -> TokenStream {
    if let Err(error) = check::reserved_generics(&input.generics) {
        // No stand-in impl: it would clash with the same parameters.
        return error.to_compile_error();
    }
    let mut errors = Errors::default();
    let model = match Model::from_input(input, &mut errors) {
        Ok(model) => model,
        Err(error) => {
            let mut tokens = error.to_compile_error();
            tokens.extend(generate(&Model::shape_stand_in(input)));
            return tokens;
        }
    };
    check::check(&model, &mut errors);
    match errors.finish() {
        Ok(()) => generate(&model),
        Err(error) => {
            let mut tokens = error.to_compile_error();
            tokens.extend(generate(&model.into_fallback()));
            tokens
        }
    }
}

/// The lints the generated items allow: they carry the user's field names and types (a
/// name of another convention, a deprecated type: allowed on the user's struct alone),
/// and name everything by its full path. (One line each in the expansion.)
fn allows() -> TokenStream {
    quote!(#[allow(deprecated, non_snake_case, non_camel_case_types, unused_qualifications)])
}

/// [`allows`], and clippy's judgement of code the user did not write, for the block of
/// impls (`ref_option` on an accessor of an `Option` field, say).
fn allows_all() -> TokenStream {
    quote! {
        #[allow(deprecated, non_snake_case, unused_qualifications, redundant_lifetimes)]
        #[allow(clippy::all, clippy::pedantic, clippy::nursery, clippy::restriction)]
    }
}

/// Allowed on the records of changes and of child diffs: clippy takes their generated
/// `PartialEq` for a derive and asks for an `Eq` (`derive_partial_eq_without_eq`, judged at
/// the struct), which a record of values of any type cannot promise.
fn allows_partial_eq_only() -> TokenStream {
    quote!(#[allow(clippy::derive_partial_eq_without_eq)])
}

fn doc(text: String) -> TokenStream {
    let text = format!(" {text}");
    quote!(#[doc = #text])
}

fn generate(model: &Model) -> TokenStream {
    let allow = allows_all();
    let key = key_type(model);
    let field_enum = field_enum(model);
    let changes = changes_type(model);
    let child_diffs = child_diffs_type(model);
    let model_impl = model_impl(model);
    // The layers beside the core, each inside the runtime's macro for it: the runtime's
    // features decide what is compiled (`statesync::__if_sync!` and the like).
    let krate = &model.krate;
    let sync_impl = sync_impl(model);
    let merge_impl = merge_impl(model);
    let merge_with_check = merge_with_check(model);
    let keyed_impl = keyed_impl(model);
    quote! {
        #key
        #field_enum
        #changes
        #child_diffs
        #allow
        const _: () = {
            #model_impl
            #krate::__if_sync! { #sync_impl }
            #krate::__if_merge! { { #merge_impl } else { #merge_with_check } }
            #keyed_impl
        };
    }
}

/// `Keyed` for a model with id fields (and for the fallback model, which must not add an
/// error where it is used as a child): only such models may be children.
fn keyed_impl(model: &Model) -> Option<TokenStream> {
    if model.fields_with(Role::Id).next().is_none() && !model.fallback {
        return None;
    }
    let krate = &model.krate;
    let ident = model.ident;
    let (impl_generics, type_generics, where_clause) = model.generics.split_for_impl();
    Some(quote! {
        #[automatically_derived]
        impl #impl_generics #krate::Keyed for #ident #type_generics #where_clause {}
    })
}

/// The checks of the fields' types that every generated item takes as given
/// (`bound::concrete_children_predicates`, `bound::concrete_id_predicates`): a function
/// never called, whose body rustc checks, with one call per field spanned at it, so that a
/// type that fails is reported there once instead of at each generated use of the type.
/// A children field of a concrete type must be a collection of models with keys (a
/// collection of models without id fields could hold only one of them); an id field of a
/// concrete type not surely a key must have a key's traits (one error per trait it
/// lacks). Generic fields are checked by inferred bounds instead: their types are not
/// known here.
fn field_checks(model: &Model) -> TokenStream {
    let krate = &model.krate;
    let children: Vec<TokenStream> = model
        .fields_with(Role::Children)
        .filter(|field| !bound::is_generic(model, field.ty))
        .map(|field| {
            let ty = field.ty;
            quote_spanned!(field.span()=> __children::<#ty>();)
        })
        .collect();
    let ids: Vec<TokenStream> = bound::checked_id_types(model)
        .into_iter()
        .map(|ty| quote_spanned!(ty.span()=> __id::<#ty>();))
        .collect();
    if children.is_empty() && ids.is_empty() {
        return TokenStream::new();
    }
    let children_check = (!children.is_empty()).then(|| {
        quote! {
            fn __children<
                __C: ?::core::marker::Sized + #krate::ChildCollection<Model: #krate::Keyed>,
            >() {}
        }
    });
    let id_check = (!ids.is_empty()).then(|| quote!(fn __id<__T: #krate::ModelKey>() {}));
    quote! {
        fn __statesync_fields_checked() {
            #children_check
            #id_check
            #(#children)*
            #(#ids)*
        }
    }
}

fn ids<'m>(model: &'m Model) -> Vec<&'m Field<'m>> {
    model.fields_with(Role::Id).collect()
}

fn key_type(model: &Model) -> TokenStream {
    let allow = allows();
    let krate = &model.krate;
    let vis = model.vis;
    let ident = model.companion(Companion::Key);
    let ids = ids(model);
    let types: Vec<&syn::Type> = ids.iter().map(|field| field.ty).collect();
    let mut generics = bound::companion_generics(model, &types);
    // The concrete id fields' key bounds, which `companion_generics` leaves out as it does
    // every bound naming no parameter: the key's derives take them as given.
    generics.where_clause = bound::where_with(&generics, bound::concrete_id_predicates(model));
    let (impl_generics, type_generics, where_clause) = generics.split_for_impl();
    let serde = serde_impl::impls(&Record::of_fields(
        model,
        &ident,
        &generics,
        &ids,
        Slot::Required,
    ));
    let docs = doc(format!(
        "The key of [`{}`]: its `id` fields, in order. Generated by `#[derive(DiffModel)]`.",
        model.ident
    ));
    let fields = ids.iter().map(|field| {
        let name = field.ident;
        let ty = field.ty;
        let docs = doc(format!("The `{name}` id field."));
        quote_spanned!(field.span()=> #docs pub #name: #ty)
    });
    let parts = ids.iter().map(|field| {
        let member = field.ident;
        let name = &field.name;
        let at = model.krate_at(field.span());
        quote_spanned!(field.span()=> (#name, #at::__private::id_field_display(&self.#member)))
    });
    // A generic key gets its traits by hand, bounded on its fields' types: the std derives
    // would bound every type parameter (`B: Ord` for an id of type `B::Id`).
    let (derives, by_hand) = if generics.type_params().next().is_none() {
        let derives = quote! {
            #[derive(
                ::core::clone::Clone, ::core::fmt::Debug, ::core::cmp::PartialEq, ::core::cmp::Eq,
                ::core::cmp::PartialOrd, ::core::cmp::Ord, ::core::hash::Hash,
            )]
        };
        (derives, None)
    } else {
        (
            TokenStream::new(),
            Some(key_traits(&ident, &generics, &ids)),
        )
    };
    quote! {
        #docs
        #allow
        #derives
        #vis struct #ident #generics #where_clause { #(#fields,)* }

        #by_hand

        #[automatically_derived]
        #allow
        impl #impl_generics ::core::fmt::Display for #ident #type_generics #where_clause {
            fn fmt(&self, __f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                #krate::__private::write_key(__f, &[#(#parts),*])
            }
        }

        #serde
    }
}

/// `Debug` and `PartialEq` of a generated struct, field by field (field names as a derive
/// prints them: `r#type` as `type`), each impl under its own where clause. `Debug` calls
/// by path: a method `field` or `finish` of a trait the user has in scope for every type
/// would be picked before the inherent ones.
fn debug_and_eq_impls(
    ident: &Ident,
    generics: &syn::Generics,
    members: &[&Ident],
    debug_where: Option<syn::WhereClause>,
    eq_where: Option<syn::WhereClause>,
) -> TokenStream {
    let allow = allows();
    let (impl_generics, type_generics, _) = generics.split_for_impl();
    let names = members
        .iter()
        .map(|member| syn::ext::IdentExt::unraw(*member).to_string());
    let ident_name = ident.to_string();
    quote! {
        #[automatically_derived]
        #allow
        impl #impl_generics ::core::fmt::Debug for #ident #type_generics #debug_where {
            fn fmt(&self, __f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let mut __s = ::core::fmt::Formatter::debug_struct(__f, #ident_name);
                #(::core::fmt::DebugStruct::field(&mut __s, #names, &self.#members);)*
                ::core::fmt::DebugStruct::finish(&mut __s)
            }
        }

        #[automatically_derived]
        #allow
        impl #impl_generics ::core::cmp::PartialEq for #ident #type_generics #eq_where {
            #[inline]
            fn eq(&self, __other: &Self) -> ::core::primitive::bool {
                true #(&& self.#members == __other.#members)*
            }
        }
    }
}

/// `Clone`, `Debug`, `PartialEq`, `Eq`, `PartialOrd`, `Ord` and `Hash` of a generic key,
/// field by field in declaration order (as the derives would), each bounded on the id
/// fields' types.
fn key_traits(ident: &Ident, generics: &syn::Generics, ids: &[&Field]) -> TokenStream {
    let allow = allows();
    let (impl_generics, type_generics, _) = generics.split_for_impl();
    let members: Vec<&Ident> = ids.iter().map(|field| field.ident).collect();
    let bounded = |traits: TokenStream| {
        bound::where_with(
            generics,
            ids.iter().map(|field| {
                let ty = field.ty;
                syn::parse_quote!(#ty: #traits)
            }),
        )
    };
    let clone = bounded(quote!(::core::clone::Clone));
    let debug_and_eq = debug_and_eq_impls(
        ident,
        generics,
        &members,
        bounded(quote!(::core::fmt::Debug)),
        bounded(quote!(::core::cmp::PartialEq)),
    );
    let eq = bounded(quote!(::core::cmp::Eq));
    let ord = bounded(quote!(::core::cmp::Ord));
    let hash = bounded(quote!(::core::hash::Hash));
    quote! {
        #[automatically_derived]
        #allow
        impl #impl_generics ::core::clone::Clone for #ident #type_generics #clone {
            fn clone(&self) -> Self {
                Self { #(#members: ::core::clone::Clone::clone(&self.#members),)* }
            }
        }

        #debug_and_eq

        #[automatically_derived]
        #allow
        impl #impl_generics ::core::cmp::Eq for #ident #type_generics #eq {}

        #[automatically_derived]
        #allow
        impl #impl_generics ::core::cmp::PartialOrd for #ident #type_generics #ord {
            fn partial_cmp(
                &self,
                __other: &Self,
            ) -> ::core::option::Option<::core::cmp::Ordering> {
                ::core::option::Option::Some(::core::cmp::Ord::cmp(self, __other))
            }
        }

        #[automatically_derived]
        #allow
        impl #impl_generics ::core::cmp::Ord for #ident #type_generics #ord {
            fn cmp(&self, __other: &Self) -> ::core::cmp::Ordering {
                ::core::cmp::Ordering::Equal
                    #(.then_with(|| ::core::cmp::Ord::cmp(&self.#members, &__other.#members)))*
            }
        }

        #[automatically_derived]
        #allow
        impl #impl_generics ::core::hash::Hash for #ident #type_generics #hash {
            fn hash<__H: ::core::hash::Hasher>(&self, __state: &mut __H) {
                #(::core::hash::Hash::hash(&self.#members, __state);)*
            }
        }
    }
}

fn variant(field: &Field) -> Ident {
    field.variant.clone()
}

fn field_enum(model: &Model) -> TokenStream {
    let allow = allows();
    let krate = &model.krate;
    let vis = model.vis;
    let ident = model.companion(Companion::Field);
    let attributes: Vec<&Field> = model.fields_with(Role::Attribute).collect();
    let variants: Vec<Ident> = attributes.iter().map(|field| variant(field)).collect();
    let names: Vec<&String> = attributes.iter().map(|field| &field.name).collect();
    let variant_docs = attributes
        .iter()
        .map(|field| doc(format!("The `{}` attribute.", field.ident)));
    let docs = doc(format!(
        "The compared attributes of [`{}`]. Generated by `#[derive(DiffModel)]`.",
        model.ident
    ));
    quote! {
        #docs
        #allow
        #[derive(
            ::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug,
            ::core::cmp::PartialEq, ::core::cmp::Eq, ::core::cmp::PartialOrd, ::core::cmp::Ord,
            ::core::hash::Hash,
        )]
        #vis enum #ident { #(#variant_docs #variants,)* }

        #[automatically_derived]
        #allow
        impl #ident {
            /// Every compared attribute, in declaration order.
            pub const ALL: &'static [Self] = &[#(Self::#variants),*];

            /// The attribute's display name.
            pub const fn name(self) -> &'static ::core::primitive::str {
                match self { #(Self::#variants => #names,)* }
            }
        }

        #[automatically_derived]
        #allow
        impl #krate::ModelField for #ident {
            const ALL: &'static [Self] = #ident::ALL;

            fn name(self) -> &'static ::core::primitive::str {
                #ident::name(self)
            }
        }
    }
}

fn changes_type(model: &Model) -> TokenStream {
    let allow = allows();
    let vis = model.vis;
    let ident = model.companion(Companion::Changes);
    let attributes: Vec<&Field> = model.fields_with(Role::Attribute).collect();
    let types: Vec<&syn::Type> = attributes.iter().map(|field| field.ty).collect();
    let generics = bound::companion_generics(model, &types);
    let (impl_generics, type_generics, where_clause) = generics.split_for_impl();
    let members: Vec<&Ident> = attributes.iter().map(|field| field.ident).collect();
    let serde = serde_impl::impls(&Record::of_fields(
        model,
        &ident,
        &generics,
        &attributes,
        Slot::Optional,
    ));
    let fields = attributes.iter().map(|field| {
        let name = field.ident;
        let ty = field.ty;
        let docs = doc(format!("The change of `{name}`, if it changed."));
        let at = model.krate_at(field.span());
        // The whole field at the user's: the derived `Clone` and `Debug` of the record then
        // underline the field whose type lacks them, not the struct from the derive on.
        quote_spanned! {field.span()=>
            #docs
            pub #name: ::core::option::Option<#at::Change<#ty>>
        }
    });
    // Compared field by field, each comparison placed at its field, so a type without
    // `PartialEq` is underlined where the user wrote it; an attribute with its own `eq` is
    // compared with it (its type need not be `PartialEq`).
    let field_eqs = attributes.iter().enumerate().map(|(index, field)| {
        let member = field.ident;
        match field.eq() {
            None => quote_spanned!(field.span()=> self.#member == __other.#member),
            Some(_) => {
                let at = model.krate_at(field.span());
                let eq = eq_function(index);
                quote_spanned!(field.span()=>
                    #at::__private::same_change(&self.#member, &__other.#member, Self::#eq)
                )
            }
        }
    });
    // Each `eq` is called in one place, a function of the record (whose parameters are a
    // subset of the model's, so the model's description can name it too): a function of the
    // wrong signature is one error.
    let eq_functions: Vec<TokenStream> = attributes
        .iter()
        .enumerate()
        .filter_map(|(index, field)| {
            let eq = field.eq()?;
            let ty = field.ty;
            let name = eq_function(index);
            let call = eq_outside_the_model(model, &generics, eq);
            // The return type at the derive: a function of another return type is
            // underlined at its name, not also at the field.
            let bool = quote!(::core::primitive::bool);
            Some(quote_spanned!(field.span()=>
                fn #name(__a: &#ty, __b: &#ty) -> #bool { #call }
            ))
        })
        .collect();
    let eq_functions = (!eq_functions.is_empty()).then(|| {
        quote! {
            #[automatically_derived]
            #allow
            #[doc(hidden)]
            impl #impl_generics #ident #type_generics #where_clause {
                #(#eq_functions)*
            }
        }
    });
    let docs = doc(format!(
        "The changed attributes of a [`{}`], old and new values. Generated by `#[derive(DiffModel)]`.",
        model.ident
    ));
    let partial_eq_only = allows_partial_eq_only();
    quote! {
        #docs
        #allow
        #partial_eq_only
        #[derive(
            ::core::clone::Clone, ::core::fmt::Debug,
        )]
        #vis struct #ident #generics #where_clause { #(#fields,)* }

        #serde

        #eq_functions

        #[automatically_derived]
        #allow
        impl #impl_generics ::core::cmp::PartialEq for #ident #type_generics #where_clause {
            // Compiled where records of changes are compared, not in every crate that
            // declares models (it is most of what a model costs its crate otherwise).
            #[inline]
            fn eq(&self, __other: &Self) -> ::core::primitive::bool {
                true #(&& #field_eqs)*
            }
        }

        #[automatically_derived]
        #allow
        impl #impl_generics ::core::default::Default for #ident #type_generics #where_clause {
            fn default() -> Self {
                Self { #(#members: ::core::option::Option::None,)* }
            }
        }
    }
}

fn child_model(model: &Model, field: &Field) -> TokenStream {
    let krate = model.krate_at(field.span());
    let ty = field.ty;
    quote_spanned!(field.span()=> <#ty as #krate::ChildCollection>::Model)
}

fn child_diffs_type(model: &Model) -> TokenStream {
    let allow = allows();
    let krate = &model.krate;
    let vis = model.vis;
    let ident = model.companion(Companion::ChildDiffs);
    let children: Vec<&Field> = model.fields_with(Role::Children).collect();
    if children.is_empty() {
        return TokenStream::new();
    }
    let types: Vec<&syn::Type> = children.iter().map(|field| field.ty).collect();
    let mut generics = bound::companion_generics(model, &types);
    generics.params.push(syn::parse_quote!(__Via = ()));
    // The concrete children fields' collection bounds, which `companion_generics` leaves
    // out as it does every bound naming no parameter: the record's field types need them.
    generics.where_clause =
        bound::where_with(&generics, bound::concrete_children_predicates(model));
    let (impl_generics, type_generics, where_clause) = generics.split_for_impl();
    let child_models: Vec<TokenStream> = children
        .iter()
        .map(|field| child_model(model, field))
        .collect();
    let in_cycle = |field: &Field| bound::in_cycle(model, field.ty);
    // The serde impls must compile for models without serde, at any depth. A field's diff
    // is written through `__Via: SerializeVia<Diff<Child>>` (`__Via` is `()`, whose impl asks
    // for `Diff<Child>: Serialize`): a bound that names a parameter is assumed in the body
    // and checked only where the impl is used. (A bound on a concrete type would be proved
    // through its impl at once, which needs the serde of every model further down.)
    // A field whose models are this model or in its cycle cannot take that bound (it would
    // be a cycle of bounds): it is bounded on what its diff holds, as before, behind
    // `for<'__s>`, with this model itself when it has no generics.
    // Beside such a field, every other one is bounded so too, with its child diffs: the
    // body writes the cycle's diffs, whose records are this one, for `__Via = ()`, where
    // a `__Via` bound would be proved at once (asking the other children for serde).
    let beside_cycle = children.iter().any(|field| in_cycle(field));
    let mut via_serialize: Vec<syn::WherePredicate> = Vec::new();
    let mut via_deserialize: Vec<syn::WherePredicate> = Vec::new();
    let mut cycle_types: Vec<syn::Type> = Vec::new();
    for (field, child) in children.iter().zip(&child_models) {
        if beside_cycle {
            cycle_types.extend([
                syn::parse_quote!(#child),
                syn::parse_quote!(<#child as #krate::DiffModel>::Key),
                syn::parse_quote!(<#child as #krate::DiffModel>::Changes),
            ]);
            if !in_cycle(field) {
                cycle_types.push(syn::parse_quote!(<#child as #krate::DiffModel>::ChildDiffs));
            }
            // In a generic cycle, the diffs further round it hold the parameters: their
            // serde asks it of them (as serde's derive asks it of a field `T`).
            cycle_types.extend(bound::type_params_in(model, field.ty));
        } else {
            via_serialize.push(syn::parse_quote!(
                __Via: #krate::__serde_child::SerializeVia<#krate::Diff<#child>>
            ));
            via_deserialize.push(syn::parse_quote!(
                __Via: #krate::__serde_child::DeserializeVia<'__de, #krate::Diff<#child>>
            ));
        }
    }
    if !cycle_types.is_empty() && model.generics.params.is_empty() {
        let model_ident = model.ident;
        cycle_types.push(syn::parse_quote!(#model_ident));
    }
    let serde = serde_impl::impls(&Record {
        model,
        ident: &ident,
        generics: &generics,
        fields: children
            .iter()
            .map(|field| RecordField {
                member: field.ident,
                slot: if beside_cycle {
                    Slot::Direct
                } else {
                    Slot::Via
                },
            })
            .collect(),
        bounded: cycle_types,
        serialize_extra: via_serialize,
        deserialize_extra: via_deserialize,
        from_default: true,
    });
    // `Debug`/`PartialEq` on each child's diff, behind `for<'__s>` (checked where used, so
    // a model whose children lack them still compiles); in a cycle, on the child model
    // instead (a bound on its diff would be a cycle of bounds).
    let bounded_on = |tr: TokenStream| {
        bound::where_with(
            &generics,
            children.iter().zip(&child_models).map(|(field, child)| {
                if in_cycle(field) {
                    syn::parse_quote!(for<'__s> #child: #tr)
                } else {
                    syn::parse_quote!(for<'__s> #krate::Diff<#child>: #tr)
                }
            }),
        )
    };
    let members: Vec<&Ident> = children.iter().map(|field| field.ident).collect();
    // By hand, to leave the marker field out, and bounded so that the child diffs are
    // `Debug` and `PartialEq` exactly when the child models are.
    let debug_and_eq = debug_and_eq_impls(
        &ident,
        &generics,
        &members,
        bounded_on(quote!(::core::fmt::Debug)),
        bounded_on(quote!(::core::cmp::PartialEq)),
    );
    let fields = children.iter().zip(&child_models).map(|(field, child)| {
        let name = field.ident;
        let docs = doc(format!("The diff of the `{name}` children."));
        let at = model.krate_at(field.span());
        let field_ty = quote_spanned!(field.span()=> #at::Diff<#child>);
        quote!(#docs pub #name: #field_ty)
    });
    let docs = doc(format!(
        "The diffs of the children of a [`{}`], one per children field. Generated by `#[derive(DiffModel)]`.",
        model.ident
    ));
    // The marker's name: one no children field has.
    let mut via = String::from("__statesync_via");
    while members
        .iter()
        .any(|member| syn::ext::IdentExt::unraw(*member) == via)
    {
        via.push('_');
    }
    let via = Ident::new(&via, Span::call_site());
    let partial_eq_only = allows_partial_eq_only();
    quote! {
        #docs
        #allow
        #partial_eq_only
        #[derive(::core::clone::Clone)]
        #vis struct #ident #generics #where_clause {
            #(#fields,)*
            /// Carries the parameter the serde impls are bounded on; always `()`.
            #[doc(hidden)]
            pub #via: ::core::marker::PhantomData<fn() -> __Via>,
        }

        #serde

        #debug_and_eq

        #[automatically_derived]
        #allow
        impl #impl_generics ::core::default::Default for #ident #type_generics #where_clause {
            fn default() -> Self {
                Self {
                    #(#members: ::core::default::Default::default(),)*
                    #via: ::core::marker::PhantomData,
                }
            }
        }
    }
}

/// The model's `ChildDiffs`: the generated record, or the runtime's `NoChildDiffs` for a
/// model without children fields.
fn child_diffs_path(model: &Model, children: &[&Field]) -> TokenStream {
    if children.is_empty() {
        let krate = &model.krate;
        quote!(#krate::NoChildDiffs)
    } else {
        companion_path(model, Companion::ChildDiffs, &field_types(children))
    }
}

fn companion_path(model: &Model, companion: Companion, types: &[&syn::Type]) -> TokenStream {
    let ident = model.companion(companion);
    let generics = bound::companion_generics(model, types);
    let (_, type_generics, _) = generics.split_for_impl();
    quote!(#ident #type_generics)
}

fn field_types<'a>(fields: &[&Field<'a>]) -> Vec<&'a syn::Type> {
    fields.iter().map(|field| field.ty).collect()
}

fn model_impl(model: &Model) -> TokenStream {
    let krate = &model.krate;
    let ident = model.ident;
    let name = &model.name;
    let mut generics = model.generics.clone();
    generics.where_clause = bound::build_where(bound::impl_predicates(model));
    let (impl_generics, type_generics, where_clause) = generics.split_for_impl();

    let ids = ids(model);
    let attributes: Vec<&Field> = model.fields_with(Role::Attribute).collect();
    let children: Vec<&Field> = model.fields_with(Role::Children).collect();
    let key = companion_path(model, Companion::Key, &field_types(&ids));
    let changes = companion_path(model, Companion::Changes, &field_types(&attributes));
    let child_diffs = child_diffs_path(model, &children);
    let field_enum = model.companion(Companion::Field);
    let key_ident = model.companion(Companion::Key);

    let id_members: Vec<&Ident> = ids.iter().map(|field| field.ident).collect();
    let key_clones = ids.iter().map(|field| {
        let member = field.ident;
        quote_spanned!(field.span()=> #member: ::core::clone::Clone::clone(&self.#member))
    });
    // At each id field, as the key's derives are: an id type without `Hash` is reported
    // at the field, not at the derive.
    let key_hashes = ids.iter().map(|field| {
        let member = field.ident;
        quote_spanned!(field.span()=> ::core::hash::Hash::hash(&self.#member, __state);)
    });
    // The description: one `Attribute` per compared attribute, one `ChildField` per
    // children field, each placed at its field so a type error points there. They are
    // constants of the model (not built inside the generic `visit_*` functions), so their
    // accessors are compiled once per model, not once per model and visitor.
    // The accessors into the model are named functions, not closures: a closure made a
    // function pointer costs a shim besides its body (a function and about 30 lines of LLVM
    // IR each). Those into the records stay closures, whose expansion is a line, not three:
    // the budget of generated lines (`interface_expands_within_300_lines`) allows no more.
    let attribute_consts: Vec<Ident> = (0..attributes.len()).map(attribute_const).collect();
    // Each visit is placed at its field too: a type without the `Clone` or `Debug` the
    // visitor asks for is underlined there, not at the derive.
    let attribute_visits = attributes
        .iter()
        .zip(&attribute_consts)
        .map(|(field, name)| {
            let name = Ident::new(&name.to_string(), field.span());
            quote_spanned!(field.span()=> __V::attribute(__v, &Self::#name);)
        });
    let attribute_defs =
        attributes
            .iter()
            .zip(&attribute_consts)
            .enumerate()
            .map(|(index, (field, name))| {
                let member = field.ident;
                let ty = field.ty;
                let variant = variant(field);
                let eq = field_eq(&changes, index, field);
                let at = model.krate_at(field.span());
                let [get, get_mut] = accessor_names(name);
                let store_check = store_check(field, &at);
                quote_spanned!(field.span()=>
                    fn #get(__m: &Self) -> &#ty { #store_check &__m.#member }
                    fn #get_mut(__m: &mut Self) -> &mut #ty { &mut __m.#member }
                    const #name: #at::Attribute<Self, #ty> = #at::Attribute {
                        field: #field_enum::#variant,
                        get: Self::#get,
                        get_mut: Self::#get_mut,
                        change: |__c| &__c.#member,
                        change_mut: |__c| &mut __c.#member,
                        eq: #eq,
                    };
                )
            });
    let child_consts: Vec<Ident> = (0..children.len())
        .map(|index| quote::format_ident!("__STATESYNC_CHILDREN_{}", index))
        .collect();
    let child_defs = children.iter().zip(&child_consts).map(|(field, name)| {
        let member = field.ident;
        let ty = field.ty;
        let field_name = &field.name;
        let at = model.krate_at(field.span());
        let [get, get_mut] = accessor_names(name);
        quote_spanned!(field.span()=>
            fn #get(__m: &Self) -> &#ty { &__m.#member }
            fn #get_mut(__m: &mut Self) -> &mut #ty { &mut __m.#member }
            const #name: #at::ChildField<Self, #ty> = #at::ChildField {
                name: #field_name,
                get: Self::#get,
                get_mut: Self::#get_mut,
                diff: |__d| &__d.#member,
                diff_mut: |__d| &mut __d.#member,
            };
        )
    });
    let field_checks = field_checks(model);
    let flags = model.options.flags.as_ref().map(|flags| {
        let names = &flags.value;
        quote!(#krate::__if_sync! {
            const DECLARED_FLAGS: ::core::primitive::u8 =
                #krate::sync::ModelFlags::empty()#(.union(#krate::sync::ModelFlags::#names))*.bits();
        })
    });
    // Whether a created model of this type can nest itself without bound below it: its
    // own children fields in a cycle, or those of a child model. Only a model with children
    // says so (the default is no), so that reading a diff pays the bounded reader only
    // where it is needed.
    let nests_itself = (!children.is_empty()).then(|| {
        let value = if children
            .iter()
            .any(|field| bound::in_cycle(model, field.ty))
        {
            quote!(true)
        } else {
            let nested = children.iter().map(|field| child_model(model, field));
            quote!(false #(|| <#nested as #krate::DiffModel>::NESTS_ITSELF)*)
        };
        quote!(const NESTS_ITSELF: ::core::primitive::bool = #value;)
    });
    // Whether reading a created model (or an update) of this type with serde must bound
    // its nesting: it nests itself, or a field of it is of a type the derive cannot see to
    // be bounded (an expression tree), or a child model's is. Said only where it may be so
    // (the default is `NESTS_ITSELF`).
    let unseen_field = model
        .fields
        .iter()
        .any(|field| field.role != Role::Children && !crate::flat::surely_flat(field.ty));
    let read_bounded = if unseen_field
        || children
            .iter()
            .any(|field| bound::in_cycle(model, field.ty))
    {
        Some(quote!(true))
    } else {
        (!children.is_empty()).then(|| {
            let nested = children.iter().map(|field| child_model(model, field));
            quote!(false #(|| <#nested as #krate::DiffModel>::READ_BOUNDED)*)
        })
    };
    let read_bounded =
        read_bounded.map(|value| quote!(const READ_BOUNDED: ::core::primitive::bool = #value;));
    let unused = attributes.is_empty().then(|| quote!(let _ = __v;));
    // A model without children fields leaves the visit of its children to the trait's
    // default, which visits none.
    let visit_child_fields = (!children.is_empty()).then(|| {
        quote! {
            #[inline(always)]
            fn visit_child_fields<__V: #krate::ChildFieldVisitor<Self>>(__v: &mut __V) {
                #(__V::children(__v, &Self::#child_consts);)*
            }
        }
    });

    let consts = (!attributes.is_empty() || !children.is_empty()).then(|| {
        quote! {
            #[automatically_derived]
            #[doc(hidden)]
            impl #impl_generics #ident #type_generics #where_clause {
                #(#attribute_defs)*
                #(#child_defs)*
            }
        }
    });

    quote! {
        #consts

        #field_checks

        #[automatically_derived]
        impl #impl_generics #krate::DiffModel for #ident #type_generics #where_clause {
            type Key = #key;
            type Field = #field_enum;
            type Changes = #changes;
            type ChildDiffs = #child_diffs;

            const NAME: &'static ::core::primitive::str = #name;
            #flags
            #nests_itself
            #read_bounded

            // The key type written out, not `Self::Key`: a projection would ask the model's
            // `Clone` again (one more error for a model that lacks it).
            fn key(&self) -> #key {
                #key_ident { #(#key_clones,)* }
            }

            fn has_key(&self, __key: &#key) -> ::core::primitive::bool {
                true #(&& self.#id_members == __key.#id_members)*
            }

            fn same_key(&self, __other: &Self) -> ::core::primitive::bool {
                true #(&& self.#id_members == __other.#id_members)*
            }

            fn hash_key(&self, __state: &mut #krate::__private::KeyHasher) {
                #(#key_hashes)*
            }

            #[inline(always)]
            fn visit_attributes<__V: #krate::AttributeVisitor<Self>>(__v: &mut __V) {
                #unused
                #(#attribute_visits)*
            }

            #visit_child_fields
        }
    }
}

/// `impl<__H> SyncTree<__H> for Model where __H: Hooks<Model>, Child: SyncTree<__H>`: a sync
/// through an adapter without hooks for some model of the tree does not compile.
fn sync_impl(model: &Model) -> TokenStream {
    let krate = &model.krate;
    let ident = model.ident;
    let mut generics = model.generics.clone();
    generics
        .params
        .push(syn::parse_quote!(__H: ?::core::marker::Sized));
    let (_, type_generics, _) = model.generics.split_for_impl();
    let this = quote!(#ident #type_generics);
    let mut predicates = bound::impl_predicates(model);
    // Sync keeps model types and keys apart by `TypeId`: only `'static` models sync.
    predicates.push(syn::parse_quote!(#this: 'static));
    // Hooks get their ancestors' keys in `Parents`, which is `Send + Sync`: behind
    // `for<'__s>`, so a model with a key that is not (an `Rc<str>` id) still compiles, and
    // only a sync of it asks.
    predicates.push(syn::parse_quote!(
        for<'__s> <#this as #krate::DiffModel>::Key: ::core::marker::Send + ::core::marker::Sync
    ));
    predicates.push(syn::parse_quote!(__H: #krate::sync::Hooks<#this>));
    predicates.push(clone_taken_as_given(&this));
    let children: Vec<&Field> = model.fields_with(Role::Children).collect();
    // Mutually recursive models list their cycle: hooks for every model of it, instead of
    // `Child: SyncTree<H>` bounds that would chase each other forever. Children outside the
    // cycle keep their bound.
    for other in bound::cycle(model) {
        predicates.push(syn::parse_quote!(__H: #krate::sync::Hooks<#other>));
    }
    // Also `for<'__s>`: a child whose key is not `Send + Sync` fails where its parent is
    // synced, not where the parent is declared.
    for field in &children {
        if !bound::in_cycle(model, field.ty) {
            let child = child_model(model, field);
            predicates.push(syn::parse_quote!(for<'__s> #child: #krate::sync::SyncTree<__H>));
        }
    }
    generics.where_clause = bound::build_where(predicates);
    let (impl_generics, _, where_clause) = generics.split_for_impl();
    let members: Vec<&Ident> = children.iter().map(|field| field.ident).collect();
    // The display names, for `Parents::field`.
    let names: Vec<&String> = children.iter().map(|field| &field.name).collect();
    // A model without children keeps the trait's defaults (it has none to sync).
    let children_fns = (!members.is_empty()).then(|| {
        quote! {
            fn sync_child_diffs(
                &mut self,
                __diffs: &<Self as #krate::DiffModel>::ChildDiffs,
                __run: &mut #krate::sync::Run<'_, '_, __H>,
            ) {
                #(#krate::__private::sync_children(#names, &mut self.#members, &__diffs.#members, __run);)*
            }

            fn create_children(&mut self, __run: &mut #krate::sync::Run<'_, '_, __H>) {
                #(#krate::__private::create_children(#names, &mut self.#members, __run);)*
            }

            fn delete_children(&mut self, __run: &mut #krate::sync::Run<'_, '_, __H>) -> ::core::primitive::bool {
                true #(& #krate::__private::delete_children(#names, &mut self.#members, __run))*
            }
        }
    });
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::sync::SyncTree<__H> for #this #where_clause {
            fn hook(
                __hooks: &mut __H,
                __call: #krate::sync::HookCall<'_, Self>,
            ) -> ::core::result::Result<(), #krate::sync::HookError> {
                __call.run(__hooks)
            }

            #children_fns
        }
    }
}

/// The model's default merge strategy, from `#[statesync(merge = "...")]` on the struct.
fn model_strategy(model: &Model) -> TokenStream {
    let krate = &model.krate;
    match &model.options.merge {
        Some(merge) => {
            let variant = merge.value.variant();
            quote!(#krate::merge::Strategy::#variant)
        }
        None => quote!(#krate::merge::Strategy::Report),
    }
}

/// `for<'__s> Model: Clone`, for the impls of the layers' traits (whose supertrait
/// `DiffModel` asks it): it holds wherever the model's `DiffModel` impl does, and a model
/// that is not `Clone` is then one error, at that impl, not one more per layer (each
/// layer's impl takes its bound as given).
fn clone_taken_as_given(this: &TokenStream) -> syn::WherePredicate {
    syn::parse_quote!(for<'__s> #this: ::core::clone::Clone)
}

/// The predicates of the merge impl but its children's `MergeModel` bounds: what a merge of
/// the model's own attributes may rely on.
fn merge_predicates(model: &Model) -> Vec<syn::WherePredicate> {
    let ident = model.ident;
    let (_, type_generics, _) = model.generics.split_for_impl();
    let this = quote!(#ident #type_generics);
    let mut predicates = bound::impl_predicates(model);
    predicates.push(syn::parse_quote!(#this: 'static));
    predicates.push(syn::parse_quote!(for<'__s> #this: ::core::fmt::Debug));
    predicates.push(clone_taken_as_given(&this));
    // The version field and `max`/`min` fields are ordered: a generic one is bounded so
    // (a concrete one that is not is an error at the field).
    for field in model.fields_with(Role::Attribute) {
        let is_version = model
            .options
            .version
            .as_ref()
            .is_some_and(|version| crate::ast::same_ident(field.ident, &version.value));
        let ordered = field
            .options
            .merge
            .as_ref()
            .is_some_and(|merge| matches!(merge.value.strategy, Strategy::Max | Strategy::Min));
        if (is_version || ordered) && bound::is_generic(model, field.ty) {
            let ty = field.ty;
            predicates.push(syn::parse_quote!(for<'__s> #ty: ::core::cmp::PartialOrd));
        }
    }
    predicates
}

/// What a build without the `merge` feature gets instead of the merge impl: the fields'
/// `merge_with` functions, as the merge impl would take them and under its bounds, in a
/// trait function nothing calls. A function is then checked in every build (a missing
/// one, or one of the wrong type, is an error with `merge` off too) and is used (not
/// reported as dead code), with no `allow` that a `forbid(dead_code)` would refuse.
fn merge_with_check(model: &Model) -> Option<TokenStream> {
    let checks: Vec<TokenStream> = model
        .fields_with(Role::Attribute)
        .filter_map(|field| {
            let with = &field.options.merge_with.as_ref()?.value;
            let ty = field.ty;
            let call = quote_spanned!(call_span(with)=> #with(__b, __o, __t));
            Some(quote_spanned! {field.span()=>
                let _: fn(
                    ::core::option::Option<&#ty>,
                    &#ty,
                    &#ty,
                ) -> ::core::option::Option<#ty> = |__b, __o, __t| #call;
            })
        })
        .collect();
    if checks.is_empty() {
        return None;
    }
    let krate = &model.krate;
    let ident = model.ident;
    let mut generics = model.generics.clone();
    generics.where_clause = bound::build_where(merge_predicates(model));
    let (impl_generics, type_generics, where_clause) = generics.split_for_impl();
    Some(quote! {
        #[automatically_derived]
        impl #impl_generics #krate::__private::MergeWithChecked for #ident #type_generics #where_clause {
            fn merge_with_checked() {
                #(#checks)*
            }
        }
    })
}

/// `impl MergeModel`, for `'static` models that are `Debug` (bounded behind `for<'__s>`, so
/// a model that is not still compiles and only its merges do not). `merge_models` is a
/// struct literal with every field merged: ids and skipped fields from ours, attributes
/// through `MergeCx::field`, children through `MergeCx::children`. It is `#[inline]`: its
/// code is generated where a merge calls it, so a model never merged costs no merge code.
fn merge_impl(model: &Model) -> TokenStream {
    let krate = &model.krate;
    let ident = model.ident;
    let mut generics = model.generics.clone();
    let (_, type_generics, _) = model.generics.split_for_impl();
    let this = quote!(#ident #type_generics);
    let mut predicates = merge_predicates(model);
    // Children merge too: bounded behind `for<'__s>` (a child that is not `Debug` makes only
    // merges unusable), except in a cycle (a bound on itself would never resolve).
    for field in model.fields_with(Role::Children) {
        if !bound::in_cycle(model, field.ty) {
            let child = child_model(model, field);
            predicates.push(syn::parse_quote!(for<'__s> #child: #krate::merge::MergeModel));
        }
    }
    generics.where_clause = bound::build_where(predicates);
    let (impl_generics, _, where_clause) = generics.split_for_impl();
    let declared_strategy = model.options.merge.as_ref().map(|_| {
        let strategy = model_strategy(model);
        quote!(const MERGE_STRATEGY: #krate::merge::Strategy = #strategy;)
    });
    let newer = model.options.version.as_ref().map(|version| {
        let spelt = &version.value;
        let field = model
            .fields
            .iter()
            .find(|field| crate::ast::same_ident(field.ident, spelt));
        // The field as the struct writes it (`r#gen` in edition 2024, where `"gen"` reads
        // as a plain `gen`), located where `version` spells it.
        let mut member = field.map_or_else(|| spelt.clone(), |field| field.ident.clone());
        member.set_span(spelt.span());
        let compare = quote_spanned!(crate::ast::located_at(member.span())=>
            ::core::cmp::PartialOrd::partial_cmp(&__ours.#member, &__theirs.#member)
        );
        let name = field.map_or_else(|| spelt.to_string(), |field| field.name.clone());
        quote! {
            const VERSION_FIELD: ::core::option::Option<&'static ::core::primitive::str> =
                ::core::option::Option::Some(#name);
            #[inline]
            fn newer(__ours: &Self, __theirs: &Self) -> ::core::option::Option<::core::cmp::Ordering> {
                #compare
            }
        }
    });
    // Attributes with a declared strategy; the others merge under the model's strategy,
    // except the version field of a model that merges anything by `newest`: it merges by
    // `max` unless it says otherwise, so that the newest side's version comes with its
    // values and two bumps are no conflict.
    let is_newest = |merge: &Option<Valued<StrategyOption>>| {
        merge
            .as_ref()
            .is_some_and(|merge| matches!(merge.value.strategy, Strategy::Newest))
    };
    let uses_newest = is_newest(&model.options.merge)
        || model
            .fields_with(Role::Attribute)
            .any(|field| is_newest(&field.options.merge));
    let version = model
        .options
        .version
        .as_ref()
        .map(|version| &version.value)
        .filter(|_| uses_newest);
    let rules: Vec<TokenStream> = model
        .fields_with(Role::Attribute)
        .enumerate()
        .filter_map(|(index, field)| {
            let attribute = attribute_const(index);
            let span = field.span();
            let at = model.krate_at(span);
            let options = &field.options;
            let (strategy, resolve) = match (&options.merge, &options.merge_with) {
                (None, None) if version.is_some_and(|version| crate::ast::same_ident(field.ident, version)) => {
                    // Ordered where `version` is spelt, as `newer` orders it: an unordered
                    // version is one error there.
                    let order = quote_spanned!(version.map_or(span, |version| crate::ast::located_at(version.span()))=>
                        ::core::cmp::PartialOrd::partial_cmp(__o, __t)
                    );
                    (
                        quote!(Max),
                        quote_spanned!(span=> |_, __o, __t| #at::__private::merge_by_order(__o, __t, #order)),
                    )
                }
                (_, Some(Valued { value: with, .. })) => {
                    // The call at the function's name: a wrong return type is underlined
                    // there, not at the field.
                    let call = quote_spanned!(call_span(with)=> #with(__b, __o, __t));
                    (quote!(Custom), quote_spanned!(span=> |__b, __o, __t| #call))
                }
                (Some(merge), None) => {
                    let variant = merge.value.variant();
                    let resolve = match merge.value.strategy {
                        Strategy::Max => {
                            quote_spanned!(span=> |_, __o, __t| #at::__private::merge_max(__o, __t))
                        }
                        Strategy::Min => {
                            quote_spanned!(span=> |_, __o, __t| #at::__private::merge_min(__o, __t))
                        }
                        Strategy::Union => {
                            quote_spanned!(span=> |__b, __o, __t| ::core::option::Option::Some(
                                #at::merge::MergeUnion::merge_union(__b, __o, __t)
                            ))
                        }
                        Strategy::Ours | Strategy::Theirs | Strategy::Newest | Strategy::Report => {
                            quote!(|_, _, _| ::core::option::Option::None)
                        }
                    };
                    (quote!(#variant), resolve)
                }
                (None, None) => return None,
            };
            // By method (one line fewer per rule than by path, which the pretty-printed
            // budget counts): `RuleVisitor::rule` takes `&mut self`, so only a by-value
            // method `rule` of a trait for every type could come between.
            Some(quote_spanned!(span=> __v.rule(#at::merge::Rule {
                attribute: Self::#attribute,
                strategy: #at::merge::Strategy::#strategy,
                resolve: #resolve,
            });))
        })
        .collect();
    let visit_rules = (!rules.is_empty()).then(|| {
        quote! {
            #[inline]
            fn visit_rules<__V: #krate::merge::RuleVisitor<Self>>(__v: &mut __V) {
                #(#rules)*
            }
        }
    });
    // Models with children: every field from ours, children merged by key (built field by
    // field, so ours' children are not cloned only to be replaced).
    let merge_children = (model.fields_with(Role::Children).next().is_some() && !model.fallback)
        .then(|| {
            let fields = model.fields.iter().map(|field| {
                let member = field.ident;
                let name = &field.name;
                match field.role {
                    Role::Children => {
                        let krate_at_field = model.krate_at(field.span());
                        quote_spanned!(field.span()=>
                        #member: #krate_at_field::__private::merge_children_of()(__cx, #name, (__base.map(|__b| &__b.#member), &__ours.#member, &__theirs.#member, __intended.map(|__i| &__i.#member)))
                        )
                    }
                    _ => quote_spanned!(field.span()=> #member: ::core::clone::Clone::clone(&__ours.#member)),
                }
            });
            quote! {
                #[inline]
                fn merge_children(
                    __base: ::core::option::Option<&Self>,
                    __ours: &Self,
                    __theirs: &Self,
                    __intended: ::core::option::Option<&Self>,
                    __cx: &mut #krate::merge::MergeCx<'_>,
                ) -> Self {
                    Self { #(#fields,)* }
                }
            }
        });
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::merge::MergeModel for #this #where_clause {
            #declared_strategy
            #newer
            #visit_rules
            #merge_children
        }
    }
}

/// For an attribute written `Store<..>` without its own `eq`: a check that it is not
/// statesync's `Store` (a `children` left out), an error at the type if it is. Nothing for
/// any other attribute.
fn store_check(field: &Field, at: &TokenStream) -> Option<TokenStream> {
    let syn::Type::Path(path) = field.ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    let written_as_store =
        last.ident == "Store" && matches!(last.arguments, syn::PathArguments::AngleBracketed(_));
    if !written_as_store || field.eq().is_some() {
        return None;
    }
    let ty = field.ty;
    let probe = quote_spanned!(ty.span()=>
        #at::__private::attribute_not_a_store((&::core::marker::PhantomData::<#ty>).__statesync_probe());
    );
    // One of the two is unused, whichever the probe takes.
    Some(quote!({
        #[allow(unused_imports)]
        use #at::__private::{ProbeAny as _, ProbeStore as _};
        #probe
    }))
}

/// The name of the model's constant describing its `index`th compared attribute.
fn attribute_const(index: usize) -> Ident {
    quote::format_ident!("__STATESYNC_ATTRIBUTE_{}", index)
}

/// The names of the two accessors into the model behind the description constant `name`
/// (`__STATESYNC_ATTRIBUTE_0` has `__statesync_attribute_0` and `__statesync_attribute_0_mut`).
fn accessor_names(name: &Ident) -> [Ident; 2] {
    let name = name.to_string().to_lowercase();
    [
        quote::format_ident!("{name}"),
        quote::format_ident!("{name}_mut"),
    ]
}

/// A field's `eq` called from outside the model's impls (the record of changes, whose
/// parameters are `in_scope`): a path that starts with `Self` names the model there, with
/// its parameters (`Self::same` becomes `<Gauge<T>>::same`). A model parameter the record
/// does not have (one only skipped or children fields use) cannot be named there: that is
/// an error on the path.
fn eq_outside_the_model(model: &Model, in_scope: &syn::Generics, eq: &syn::Path) -> TokenStream {
    let mut segments = eq.segments.iter();
    if eq.leading_colon.is_some() || segments.next().is_none_or(|first| first.ident != "Self") {
        return eq_call(eq, eq.to_token_stream());
    }
    let ident = model.ident;
    let generics = model.generics;
    let in_scope = |name: &Ident| {
        in_scope.type_params().any(|held| held.ident == *name)
            || in_scope.const_params().any(|held| held.ident == *name)
    };
    let named = generics.type_params().map(|param| &param.ident);
    let mut named = named.chain(generics.const_params().map(|param| &param.ident));
    if let Some(missing) = named.find(|name| !in_scope(name)) {
        let message = format!(
            "`Self` in `eq` cannot name `{ident}` in its record of changes, which has no \
             parameter `{missing}` (no compared attribute uses it): name a function outside \
             the model's impl"
        );
        return syn::Error::new_spanned(eq, message).to_compile_error();
    }
    let args = generics.params.iter().map(|param| match param {
        syn::GenericParam::Lifetime(_) => quote!('_),
        syn::GenericParam::Type(param) => param.ident.to_token_stream(),
        syn::GenericParam::Const(param) => param.ident.to_token_stream(),
    });
    let args = (!generics.params.is_empty()).then(|| quote!(<#(#args),*>));
    // `Self` becomes the model's type, placed where `Self` is written; the segments after it
    // keep their own places, so an error about the path or the call underlines what the
    // attribute wrote, as it does where `Self` itself is used (and rustc shows it once).
    let at = eq.span();
    let model = crate::ast::placed_at(quote!(<#ident #args>), at);
    let rest = segments.map(|segment| quote_spanned!(at=> ::#segment));
    eq_call(eq, quote!(#model #(#rest)*))
}

/// `function(__a, __b)` with the call's parentheses at the end of the `eq` path, so that a
/// function of the wrong return type is underlined in the attribute (from the path's first
/// segment to its last).
fn eq_call(eq: &syn::Path, function: TokenStream) -> TokenStream {
    quote_spanned!(call_span(eq)=> #function(__a, __b))
}

/// The name of the record of changes' function that calls the `eq` of the attribute at
/// `index`.
fn eq_function(index: usize) -> Ident {
    quote::format_ident!("__statesync_eq_{}", index)
}

/// Where the parentheses of a call of `path` go: its last segment (resolved as the
/// derive's own code, whose locals the arguments are).
fn call_span(path: &syn::Path) -> Span {
    let last = path
        .segments
        .last()
        .map_or_else(|| path.span(), |last| last.ident.span());
    crate::ast::located_at(last)
}

/// The equality of the attribute at `index`: the function of the record of changes
/// (`changes`, its type) that calls the field's `eq`, or `PartialEq::eq` of its type (a
/// function, not a closure: one for every attribute of that type in every model, and no
/// shim).
fn field_eq(changes: &TokenStream, index: usize, field: &Field) -> TokenStream {
    let span = field.span();
    let ty = field.ty;
    match field.eq() {
        Some(_) => {
            let eq = eq_function(index);
            quote_spanned!(span=> <#changes>::#eq)
        }
        None => quote_spanned!(span=> <#ty as ::core::cmp::PartialEq>::eq),
    }
}
