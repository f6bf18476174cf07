//! Expansion snapshots: one per input shape, pretty-printed.

use syn::parse_quote;

fn expand(input: syn::DeriveInput) -> String {
    let tokens = crate::expand::derive(&input);
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        Err(error) => format!("unparsable expansion ({error}):\n{tokens}"),
    }
}

#[test]
fn singleton() {
    insta::assert_snapshot!(expand(parse_quote! {
        struct Settings {
            motd: String,
        }
    }));
}

#[test]
fn keyed_with_skip_rename_and_eq() {
    insta::assert_snapshot!(expand(parse_quote! {
        #[statesync(name = "device")]
        pub struct Device {
            #[statesync(id)]
            site: String,
            #[statesync(id)]
            name: String,
            #[statesync(rename = "device-role")]
            role: String,
            #[statesync(eq = close)]
            load: f64,
            #[statesync(skip)]
            db_id: Option<u64>,
        }
    }));
}

#[test]
fn children() {
    insta::assert_snapshot!(expand(parse_quote! {
        pub struct Site {
            #[statesync(id)]
            name: String,
            #[statesync(children)]
            devices: Store<Device>,
        }
    }));
}

#[test]
fn generics() {
    insta::assert_snapshot!(expand(parse_quote! {
        pub struct Tagged<K, V: Clone> where V: Default {
            #[statesync(id)]
            id: K,
            value: V,
        }
    }));
}

#[test]
fn lifetime() {
    insta::assert_snapshot!(expand(parse_quote! {
        pub struct Borrowed<'a> {
            #[statesync(id)]
            name: &'a str,
            note: Cow<'a, str>,
        }
    }));
}

#[test]
fn recursive() {
    insta::assert_snapshot!(expand(parse_quote! {
        pub struct Node {
            #[statesync(id)]
            name: String,
            #[statesync(children)]
            children: Vec<Node>,
        }
    }));
}

#[test]
fn crate_path() {
    insta::assert_snapshot!(expand(parse_quote! {
        #[statesync(crate = "my::sync")]
        pub struct Item {
            #[statesync(id)]
            id: u32,
        }
    }));
}

#[test]
fn errors_are_collected() {
    insta::assert_snapshot!(expand(parse_quote! {
        #[statesync(nmae = "x")]
        pub struct Item {
            #[statesync(id, skip)]
            id: u32,
            #[statesync(childs)]
            kids: Vec<Item>,
        }
    }));
}
