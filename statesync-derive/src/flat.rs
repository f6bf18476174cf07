//! Which field types the derive can see to be bounded in nesting, so that reading a model
//! of them with serde (in a diff, from a peer's bytes) cannot recurse without end.

use syn::{GenericArgument, PathArguments, Type};

/// Types without type parameters that nest no deeper than themselves.
const LEAVES: &[&str] = &[
    "bool",
    "char",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "f32",
    "f64",
    "str",
    "String",
    "OsString",
    "PathBuf",
    "Duration",
    "SystemTime",
    "IpAddr",
    "Ipv4Addr",
    "Ipv6Addr",
    "SocketAddr",
    "SocketAddrV4",
    "SocketAddrV6",
    "NonZeroU8",
    "NonZeroU16",
    "NonZeroU32",
    "NonZeroU64",
    "NonZeroU128",
    "NonZeroUsize",
    "NonZeroI8",
    "NonZeroI16",
    "NonZeroI32",
    "NonZeroI64",
    "NonZeroI128",
    "NonZeroIsize",
];

/// Types that nest only as deep as their type arguments.
const CONTAINERS: &[&str] = &[
    "Option",
    "Vec",
    "VecDeque",
    "LinkedList",
    "BTreeSet",
    "HashSet",
    "BinaryHeap",
    "BTreeMap",
    "HashMap",
    "IndexMap",
    "IndexSet",
    "Box",
    "Rc",
    "Arc",
    "Cow",
    "Reverse",
    "Wrapping",
    "Cell",
    "RefCell",
    "Mutex",
    "RwLock",
];

/// Whether `ty` is surely bounded in nesting by its type: built of the std types above,
/// tuples, arrays and references. A type of the user's (an expression tree that holds
/// itself), a type parameter or anything the derive cannot see into is not.
pub fn surely_flat(ty: &Type) -> bool {
    match ty {
        Type::Path(path) if path.qself.is_none() => {
            let Some(last) = path.path.segments.last() else {
                return false;
            };
            let name = last.ident.to_string();
            match &last.arguments {
                PathArguments::None => LEAVES.contains(&name.as_str()),
                PathArguments::AngleBracketed(args) => {
                    name == "PhantomData"
                        || CONTAINERS.contains(&name.as_str())
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
        ] {
            assert!(!surely_flat(&ty), "{}", quote::quote!(#ty));
        }
    }
}
