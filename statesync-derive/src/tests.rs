//! Expansion snapshots: one per input shape, pretty-printed, as a build with every layer
//! of the runtime on compiles it.

use proc_macro2::{Group, TokenStream, TokenTree};
use syn::parse_quote;

fn expand(input: syn::DeriveInput) -> String {
    let tokens = with_every_layer(crate::expand::derive(&input));
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        Err(error) => format!("unparsable expansion ({error}):\n{tokens}"),
    }
}

/// `tokens` as the runtime's layer macros expand them with every feature on:
/// `path::__if_sync! { code }` is `code`, `path::__if_merge! { { with } else { without } }`
/// is `with` (a macro call is printed as tokens, without the pretty printer's layout). A
/// call of another shape stays as it is, and shows in the snapshot.
fn with_every_layer(tokens: TokenStream) -> TokenStream {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out: Vec<TokenTree> = Vec::new();
    let mut at = 0;
    while let Some(tree) = trees.get(at) {
        if let Some(kept) = layer_kept(tree, trees.get(at + 1), trees.get(at + 2)) {
            // The macro's path (`::statesync::`) goes with it.
            while out
                .len()
                .checked_sub(2)
                .and_then(|end| out.get(end..))
                .is_some_and(|colons| colons.iter().all(is_colon))
            {
                out.truncate(out.len() - 2);
                if matches!(out.last(), Some(TokenTree::Ident(_))) {
                    out.pop();
                }
            }
            out.extend(with_every_layer(kept));
            at += 3;
            continue;
        }
        out.push(match tree {
            TokenTree::Group(group) => TokenTree::Group(Group::new(
                group.delimiter(),
                with_every_layer(group.stream()),
            )),
            other => other.clone(),
        });
        at += 1;
    }
    out.into_iter().collect()
}

/// What a layer macro called as `name ! body` keeps with every feature on.
fn layer_kept(
    name: &TokenTree,
    bang: Option<&TokenTree>,
    body: Option<&TokenTree>,
) -> Option<TokenStream> {
    let (TokenTree::Ident(name), Some(TokenTree::Punct(bang)), Some(TokenTree::Group(body))) =
        (name, bang, body)
    else {
        return None;
    };
    if bang.as_char() != '!' {
        return None;
    }
    if name == "__if_sync" {
        return Some(body.stream());
    }
    if name != "__if_merge" {
        return None;
    }
    match body.stream().into_iter().next() {
        Some(TokenTree::Group(with)) => Some(with.stream()),
        _ => None,
    }
}

fn is_colon(tree: &TokenTree) -> bool {
    matches!(tree, TokenTree::Punct(punct) if punct.as_char() == ':')
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

/// The budget of issue 10: the inventory's `Interface` model (as `src/inventory.rs` declares
/// it, doc comments left out) expands to at most 300 lines of pretty-printed code.
#[test]
fn interface_expands_within_300_lines() {
    let expanded = expand(parse_quote! {
        #[derive(DiffModel, Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[statesync(name = "interface")]
        pub struct Interface {
            #[statesync(id)]
            pub device: String,
            #[statesync(id)]
            pub name: String,
            pub description: String,
            pub enabled: bool,
            #[statesync(merge = "max")]
            pub mtu: u32,
            pub mode: String,
            #[statesync(merge = "union")]
            pub vlans: Vec<u16>,
        }
    });
    let lines = expanded.lines().count();
    println!("Interface expands to {lines} lines");
    assert!(lines <= 300, "{lines} lines:\n{expanded}");
}
