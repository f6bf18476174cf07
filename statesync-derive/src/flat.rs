//! Which field types the derive can see to be bounded in nesting, so that reading a model
//! of them with serde (in a diff, from a peer's bytes) cannot recurse without end.

use syn::{GenericArgument, PathArguments, Type};

use crate::check::{COLLECTIONS, SCALARS, STD_GENERICS, judged_segment};

/// Standard types without type parameters, beside the scalars ([`SCALARS`]), that nest no
/// deeper than themselves (and the `NonZero` integers).
const MORE_LEAVES: &[&str] = &[
    "OsString",
    "Duration",
    "SystemTime",
    "IpAddr",
    "Ipv4Addr",
    "Ipv6Addr",
    "SocketAddr",
    "SocketAddrV4",
    "SocketAddrV6",
];

/// Standard generic types, beside the collections ([`COLLECTIONS`]) and [`STD_GENERICS`],
/// that nest only as deep as their type arguments.
const MORE_CONTAINERS: &[&str] = &["IndexSet", "Reverse", "Wrapping"];

/// Whether `ty` is surely bounded in nesting by its type: built of standard types (named
/// bare or through `std`, `core` or `alloc`: a path through the user's modules names the
/// user's type, whatever its name, as [`judged_segment`] says), tuples, arrays and
/// references. A type of the user's (an expression tree that holds itself), a type
/// parameter or anything the derive cannot see into is not.
pub fn surely_flat(ty: &Type) -> bool {
    match ty {
        Type::Path(path) => {
            let Some((last, _)) = judged_segment(path) else {
                return false;
            };
            let name = last.ident.to_string();
            let name = name.as_str();
            match &last.arguments {
                PathArguments::None => {
                    SCALARS.contains(&name)
                        || MORE_LEAVES.contains(&name)
                        || name.starts_with("NonZero")
                }
                PathArguments::AngleBracketed(args) => {
                    let container = [COLLECTIONS, STD_GENERICS, MORE_CONTAINERS]
                        .iter()
                        .any(|names| names.contains(&name));
                    name == "PhantomData"
                        || container
                            && args.args.iter().all(|arg| match arg {
                                GenericArgument::Type(ty) => surely_flat(ty),
                                GenericArgument::Lifetime(_) | GenericArgument::Const(_) => true,
                                _ => false,
                            })
                }
                PathArguments::Parenthesized(_) => false,
            }
        }
        Type::Reference(reference) => surely_flat(&reference.elem),
        Type::Array(array) => surely_flat(&array.elem),
        Type::Slice(slice) => surely_flat(&slice.elem),
        Type::Tuple(tuple) => tuple.elems.iter().all(surely_flat),
        Type::Paren(inner) => surely_flat(&inner.elem),
        Type::Group(inner) => surely_flat(&inner.elem),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::surely_flat;
    use syn::parse_quote;

    #[test]
    fn std_types_of_std_types_are_flat() {
        for ty in [
            parse_quote!(String),
            parse_quote!(Option<Vec<(u32, std::net::IpAddr)>>),
            parse_quote!(BTreeMap<String, [u8; 4]>),
            parse_quote!(&'a str),
            parse_quote!(std::borrow::Cow<'a, str>),
            parse_quote!(core::num::NonZeroU32),
            parse_quote!(std::marker::PhantomData<T>),
        ] {
            assert!(surely_flat(&ty), "{}", quote::quote!(#ty));
        }
    }

    #[test]
    fn types_the_derive_cannot_see_into_are_not() {
        for ty in [
            parse_quote!(Expr),
            parse_quote!(Option<Box<Expr>>),
            parse_quote!(T),
            parse_quote!(Vec<T>),
            parse_quote!(<T as Trait>::Value),
            parse_quote!(serde_json::Value),
            parse_quote!(fn(u8)),
            // A type of the user's named like a standard one.
            parse_quote!(exprs::Vec<Expr>),
            parse_quote!(crate::shapes::String),
        ] {
            assert!(!surely_flat(&ty), "{}", quote::quote!(#ty));
        }
    }
}
