//! Rules that need more than one option or the field itself.

use crate::ast::{Model, Role};
use quote::ToTokens;
use syn::Ident;

use crate::attr::{self, Companion, Errors, Strategy};

pub fn check(model: &Model, errors: &mut Errors) {
    // The field enum's own items, which a variant must not shadow, and the variants taken,
    // each with what holds it.
    let mut variants: std::collections::BTreeMap<String, String> = ["ALL", "name"]
        .into_iter()
        .map(|item| (item.to_owned(), format!("the field enum's own `{item}`")))
        .collect();
    for field in model.fields_with(Role::Attribute) {
        let variant = field.variant.to_string();
        if let Some(holder) = variants.get(&variant) {
            errors.at(
                field.ident,
                format!(
                    "field `{}` would share the field-enum variant `{variant}` with {holder} (its \
                     other names are taken too); rename the field",
                    field.ident
                ),
            );
        } else {
            variants.insert(variant, format!("field `{}`", field.ident));
        }
    }
    let mut names = std::collections::BTreeMap::new();
    // One error per shown name, however many fields share it.
    let mut clashing = std::collections::BTreeSet::new();
    for field in model.fields.iter().filter(|field| field.role != Role::Skip) {
        let rename = field
            .options
            .rename
            .as_ref()
            .map(|rename| rename.value.span());
        if let Some((first, first_rename)) =
            names.insert(field.name.as_str(), (field.ident, rename))
            && clashing.insert(field.name.as_str())
        {
            // At a `rename` if either has one: that is the one to change.
            let at = rename
                .or(first_rename)
                .unwrap_or_else(|| syn::spanned::Spanned::span(field.ident));
            errors.push(syn::Error::new(
                at,
                format!(
                    "fields `{first}` and `{}` are both shown as `{}`; give one of them another `rename`",
                    field.ident, field.name
                ),
            ));
        }
    }
    // A float or collection id: rustc would say `Eq`, `Ord`, `Hash` or `Display` are
    // missing, one error each (some twice). A field whose roles clash has that one error,
    // below, and not this one.
    for field in model.fields_with(Role::Id) {
        let clashes = field.options.children.is_set() || field.options.skip.is_set();
        if !clashes && let Some(refused) = refused_id(field.ty) {
            errors.at(field.ty, refused);
        }
    }
    // (A field whose roles clash has that one error, below.)
    let type_params: Vec<String> = model
        .generics
        .type_params()
        .map(|param| param.ident.to_string())
        .collect();
    let own = Own {
        model: unraw(model.ident),
        key: unraw(&model.companion(Companion::Key)),
        generics: &type_params,
    };
    for field in model.fields_with(Role::Children) {
        if !field.options.skip.is_set()
            && let Some(found) = surely_not_a_collection(field.ty, &own)
        {
            errors.at(
                field.ty,
                format!(
                    "`children` needs a collection of models, not {found}: `Store<T>`, `Vec<T>`, \
                     `BTreeMap<TKey, T>`, `HashMap<TKey, T>` or `IndexMap<TKey, T>` where `T` \
                     derives `DiffModel` (or another `ChildCollection`)"
                ),
            );
        }
    }
    // A missing version field is one mistake, however many `newest` strategies need it.
    let mut newest_reported = false;
    for field in &model.fields {
        let options = &field.options;
        // One error for the roles of a field, however many of them clash.
        if let (Some(id), true) = (options.id.span, options.children.is_set()) {
            errors.push(syn::Error::new(
                id,
                "`id` cannot be used on a `children` field: a key is made of plain values",
            ));
        } else if let (Some(skip), true) = (options.skip.span, options.id.is_set()) {
            errors.push(syn::Error::new(
                skip,
                "`id` and `skip` cannot be combined: an id field is always compared",
            ));
        } else if let (Some(skip), true) = (options.skip.span, options.children.is_set()) {
            errors.push(syn::Error::new(
                skip,
                "`children` and `skip` cannot be combined: drop `children` to ignore the field",
            ));
        }
        if let Some(eq) = &options.eq
            && field.role != Role::Attribute
        {
            errors.push(syn::Error::new(
                eq.name_span,
                "`eq` applies only to compared attributes, not to `id`, `skip` or `children` fields",
            ));
        }
        if let Some(rename) = &options.rename
            && field.role == Role::Skip
        {
            errors.push(syn::Error::new(
                rename.name_span,
                "`rename` has no effect on a `skip` field: it is never shown",
            ));
        }
        for (given, name) in [
            (options.merge.as_ref().map(|merge| merge.name_span), "merge"),
            (
                options.merge_with.as_ref().map(|merge| merge.name_span),
                "merge_with",
            ),
        ] {
            if let Some(span) = given
                && field.role != Role::Attribute
            {
                errors.push(syn::Error::new(
                    span,
                    format!("`{name}` applies only to compared attributes, not to `id`, `skip` or `children` fields"),
                ));
            }
        }
        if let (Some(merge), Some(_)) = (&options.merge, &options.merge_with) {
            errors.push(syn::Error::new(
                merge.name_span,
                "`merge` and `merge_with` cannot be combined: `merge_with` is the strategy",
            ));
        }
        if let Some(merge) = &options.merge
            && merge.value.strategy == Strategy::Newest
            && !model.options.version_given
            && !std::mem::replace(&mut newest_reported, true)
        {
            errors.push(syn::Error::new(
                merge.value.span,
                "`newest` needs the model's version field: add `#[statesync(version = \"field\")]` to the struct",
            ));
        }
        if let Some((eq_token, _)) = &field.original.default {
            errors.at(
                eq_token,
                "field default values are not supported by `DiffModel`; remove `= ...`",
            );
        }
    }
    if let Some(merge) = &model.options.merge
        && merge.value.strategy == Strategy::Newest
        && !model.options.version_given
        && !newest_reported
    {
        errors.push(syn::Error::new(
            merge.value.span,
            "`newest` needs the model's version field: add `version = \"field\"`",
        ));
    }
    if let Some(version) = &model.options.version
        && !model
            .fields_with(Role::Attribute)
            .any(|field| crate::ast::same_ident(field.ident, &version.value))
    {
        let wanted = version.value.to_string();
        let renamed = model
            .fields_with(Role::Attribute)
            .find(|field| field.name == unraw(&version.value));
        let message = match renamed {
            Some(field) => format!(
                "`version` names a field by its Rust name: `{}`, not its rename `{wanted}`",
                unraw(field.ident)
            ),
            None => format!(
                "`version` must name a compared attribute of the struct (by its Rust name); \
                 `{wanted}` is not one"
            ),
        };
        errors.push(syn::Error::new(version.value.span(), message));
    }
    if let Some(name) = &model.options.name {
        check_shown_name(&name.value, attr::NAME, errors);
    }
    for field in &model.fields {
        if let Some(rename) = &field.options.rename {
            check_shown_name(&rename.value, attr::RENAME, errors);
        }
    }
}

/// A model's or a field's shown name: plans, keys and paths write it as is
/// (`device[site=a, name=b].role`), so it is not empty and holds none of the marks they are
/// read by, nor spaces, control characters or invisible ones (a bidirectional control would
/// reorder the plan's line, as the renderer keeps values from doing; a zero-width space
/// would make two names look alike), written composed (Unicode's NFC, as Rust writes
/// identifiers: `e` and a combining accent would read like the field `é` beside it).
fn check_shown_name(name: &syn::LitStr, option: &str, errors: &mut Errors) {
    let value = name.value();
    let bad = value.chars().find(|&c| {
        matches!(c, ',' | '=' | '[' | ']' | '"' | '\\' | '.' | ':')
            || c.is_whitespace()
            || c.is_control()
            || is_invisible(c)
    });
    let problem = match bad {
        _ if value.is_empty() => "must not be empty".to_owned(),
        Some(c) => {
            let code = u32::from(c);
            format!(
                "must not hold {c:?} (U+{code:04X}): plans, keys and paths show it as is \
                 (`model[key].field`)"
            )
        }
        None if !unicode_normalization::is_nfc(&value) => {
            let composed: String =
                unicode_normalization::UnicodeNormalization::nfc(value.as_str()).collect();
            format!(
                "must be written composed (Unicode's NFC, as Rust writes identifiers): \
                 {composed:?}"
            )
        }
        None => return,
    };
    errors.at(name, format!("`{option}` {problem}"));
}

/// A bidirectional control (Unicode's `Bidi_Control`, as the runtime's renderer escapes
/// them), a character Unicode says to draw as nothing (`Default_Ignorable_Code_Point`: the
/// soft hyphen, the zero-width space, the word joiner, invisible operators, Hangul fillers,
/// tags, the byte-order mark) or one drawn blank though not a space (the Braille blank).
/// Left alone, because scripts need them: the zero-width joiner and non-joiner (Persian and
/// Indic words, emoji sequences), the variation selectors (emoji, CJK variants) and the
/// Mongolian free variation selectors (U+180B to U+180D, and U+180F).
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}'
            | '\u{034f}'
            | '\u{061c}'
            | '\u{115f}'..='\u{1160}'
            | '\u{17b4}'..='\u{17b5}'
            | '\u{180e}'
            | '\u{200b}'
            | '\u{200e}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{2800}'
            | '\u{3164}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff0}'..='\u{fff8}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0000}'..='\u{e00ff}'
            | '\u{e01f0}'..='\u{e0fff}'
    )
}

/// The collections `children` takes (by their last path segment).
pub(crate) const COLLECTIONS: &[&str] = &["Store", "Vec", "BTreeMap", "HashMap", "IndexMap"];

/// Scalars: never collections of models, nor models (by their last path segment, written
/// without parameters).
pub(crate) const SCALARS: &[&str] = &[
    "bool", "char", "str", "String", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16",
    "i32", "i64", "i128", "isize", "f32", "f64", "PathBuf",
];

/// Standard generic types that are never collections of models, nor models (by their last
/// path segment).
pub(crate) const STD_GENERICS: &[&str] = &[
    "Option",
    "Box",
    "Rc",
    "Arc",
    "Cell",
    "RefCell",
    "HashSet",
    "BTreeSet",
    "VecDeque",
    "LinkedList",
    "BinaryHeap",
    "Cow",
    "Mutex",
    "RwLock",
    "Weak",
];

/// The last segment of a path the checks may judge by its name, and whether the path goes
/// through the standard library (`std::sync::Arc<T>`) rather than being bare (`Arc<T>`);
/// `None` for a path through the user's modules (`shipping::Box<T>` names the user's type,
/// whatever its name).
pub(crate) fn judged_segment(path: &syn::TypePath) -> Option<(&syn::PathSegment, bool)> {
    if path.qself.is_some() {
        return None;
    }
    let segments = &path.path.segments;
    let last = segments.last()?;
    let bare = segments.len() == 1 && path.path.leading_colon.is_none();
    let standard = segments.len() > 1
        && segments.first().is_some_and(|first| {
            matches!(first.ident.to_string().as_str(), "std" | "core" | "alloc")
        });
    (bare || standard).then_some((last, standard))
}

/// A type as written, without the spaces tokens print with, but between two words
/// (`&'static str`, `Vec<u32>`).
fn compact(ty: &syn::Type) -> String {
    use quote::ToTokens;
    let text = ty.to_token_stream().to_string();
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '\'';
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ' ' {
            let before = out.chars().last().is_some_and(word);
            let after = chars.peek().copied().is_some_and(word);
            if !(before && after) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Whether a type can surely not be a model: a primitive or `String` (without
/// parameters); a generic type of the prelude with its parameters (`Option<T>`, `Box<T>`,
/// `Vec<T>`, `Result<T, E>`: a generic model of the user's would shadow the prelude), or
/// another standard one written with its path (`std::sync::Arc<T>`; a bare `Arc<W>` or
/// `Cell<V>` may be the user's own generic model); or a tuple, reference, array, pointer
/// or trait object. A path through the user's modules is never judged
/// ([`judged_segment`]).
fn surely_no_model(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Path(path) => {
            let Some((last, standard)) = judged_segment(path) else {
                return false;
            };
            let name = last.ident.to_string();
            if matches!(last.arguments, syn::PathArguments::None) {
                return SCALARS.contains(&name.as_str());
            }
            matches!(name.as_str(), "Option" | "Box" | "Vec" | "Result")
                || (standard && STD_GENERICS.contains(&name.as_str()))
        }
        syn::Type::Group(group) => surely_no_model(&group.elem),
        syn::Type::Paren(paren) => surely_no_model(&paren.elem),
        syn::Type::Tuple(_)
        | syn::Type::Reference(_)
        | syn::Type::Array(_)
        | syn::Type::Slice(_)
        | syn::Type::Ptr(_)
        | syn::Type::FnPtr(_)
        | syn::Type::Never(_)
        | syn::Type::TraitObject(_)
        | syn::Type::ImplTrait(_) => true,
        _ => false,
    }
}

/// What a `children` type certainly is when it cannot be a collection of models (a
/// primitive, a string, a reference, a tuple...), for an error at the field instead of the
/// trait errors at every use of the type. Types it cannot judge (a user's type or alias)
/// are left to the `ChildCollection` bound.
fn surely_not_a_collection(ty: &syn::Type, own: &Own<'_>) -> Option<String> {
    let shown = || format!("`{}`", compact(ty));
    match ty {
        syn::Type::Path(path) => {
            let (last, _) = judged_segment(path)?;
            let name = last.ident.to_string();
            if SCALARS.contains(&name.as_str()) || STD_GENERICS.contains(&name.as_str()) {
                return Some(shown());
            }
            // A collection whose elements are surely no model (`Vec<u32>`, `Vec<(K, V)>`):
            // its model is its last type argument.
            if !COLLECTIONS.contains(&name.as_str()) {
                return None;
            }
            let syn::PathArguments::AngleBracketed(arguments) = &last.arguments else {
                return None;
            };
            let element = arguments
                .args
                .iter()
                .rev()
                .find_map(|argument| match argument {
                    syn::GenericArgument::Type(ty) => Some(ty),
                    _ => None,
                })?;
            if surely_no_model(element) {
                return Some(format!(
                    "{}, whose elements (`{}`) are no models",
                    shown(),
                    compact(element)
                ));
            }
            map_key_not_generated(&name, arguments, own)
        }
        syn::Type::Group(group) => surely_not_a_collection(&group.elem, own),
        syn::Type::Paren(paren) => surely_not_a_collection(&paren.elem, own),
        syn::Type::Reference(_) => Some(format!("a reference ({})", shown())),
        syn::Type::Tuple(_) => Some(format!("a tuple ({})", shown())),
        syn::Type::Array(_) | syn::Type::Slice(_) => Some(format!("an array ({})", shown())),
        syn::Type::Ptr(_) | syn::Type::FnPtr(_) | syn::Type::Never(_) => Some(shown()),
        syn::Type::TraitObject(_) | syn::Type::ImplTrait(_) => Some(shown()),
        _ => None,
    }
}

/// Why an `id` field's type can make no key, when the derive can tell by its name: a float
/// (alone, in a tuple or an `Option`) or a collection. Such a field is left out of the key
/// beside the error, so the key's derives add no errors of their own.
pub fn refused_id(ty: &syn::Type) -> Option<String> {
    if let Some(float) = float_in(ty) {
        return Some(format!(
            "an `id` field cannot be `{float}`: a key is `Eq`, `Ord` and `Hash`, which a float \
             is not (NaN equals nothing); use an integer (a fixed point), the float's bits \
             (`{float}::to_bits`), or a wrapper that orders floats"
        ));
    }
    let syn::Type::Path(path) = unwrapped(ty) else {
        return None;
    };
    // statesync's `Store` written with its crate's name (a bare `Store` may be a type of
    // the user's, a valid id), and the standard collections (and indexmap's) by name: none
    // is `Display`, which an id must be.
    let segments: Vec<String> = path.path.segments.iter().map(|s| unraw(&s.ident)).collect();
    let ours = path.qself.is_none() && segments == ["statesync", "Store"];
    let (last, _) = if ours {
        (path.path.segments.last()?, false)
    } else {
        judged_segment(path)?
    };
    let collection = ours
        || matches!(
            last.ident.to_string().as_str(),
            "Vec"
                | "VecDeque"
                | "LinkedList"
                | "BinaryHeap"
                | "HashMap"
                | "BTreeMap"
                | "HashSet"
                | "BTreeSet"
                | "IndexMap"
                | "IndexSet"
        );
    (collection && !last.arguments.is_none()).then(|| {
        format!(
            "an `id` field cannot be a collection (`{}`): a key is made of plain values \
             (`Eq`, `Ord`, `Hash` and `Display`); a collection of models is a `children` \
             field, and any other a compared attribute",
            compact(ty)
        )
    })
}

/// `ty` without the invisible group a `macro_rules!` fragment (`$t:ty`) puts around it, or
/// the parentheses it is written in.
fn unwrapped(ty: &syn::Type) -> &syn::Type {
    match ty {
        syn::Type::Group(group) => unwrapped(&group.elem),
        syn::Type::Paren(paren) => unwrapped(&paren.elem),
        _ => ty,
    }
}

/// An identifier as its name reads, without `r#`.
fn unraw(ident: &Ident) -> String {
    syn::ext::IdentExt::unraw(ident).to_string()
}

/// The float type an id field's type is, or holds as a tuple element or an `Option` (none of
/// them `Eq`, `Ord` or `Hash`): `f32` or `f64` written bare or through the standard library.
fn float_in(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(path) => {
            let (last, _) = judged_segment(path)?;
            let name = last.ident.to_string();
            match (&last.arguments, name.as_str()) {
                (syn::PathArguments::None, "f32" | "f64") => Some(name),
                (syn::PathArguments::AngleBracketed(arguments), "Option") => {
                    arguments.args.iter().find_map(|argument| match argument {
                        syn::GenericArgument::Type(ty) => float_in(ty),
                        _ => None,
                    })
                }
                _ => None,
            }
        }
        syn::Type::Tuple(tuple) => tuple.elems.iter().find_map(float_in),
        syn::Type::Group(group) => float_in(&group.elem),
        syn::Type::Paren(paren) => float_in(&paren.elem),
        _ => None,
    }
}

/// What the children checks know of the model they check: its name, its key's name and its
/// type parameters.
struct Own<'a> {
    model: String,
    key: String,
    generics: &'a [String],
}

impl Own<'_> {
    /// Whether `ty` is this model's own key named bare (`ShelfKey` in `Shelf`).
    fn is_key(&self, ty: &syn::Type) -> bool {
        matches!(unwrapped(ty), syn::Type::Path(path)
            if path.qself.is_none()
                && path.path.get_ident().is_some_and(|ident| unraw(ident) == self.key))
    }

    /// Whether `ty` may be this model (`Self`, its name, a type parameter), or is a type the
    /// check cannot judge (anything but a path).
    fn may_be_self(&self, ty: &syn::Type) -> bool {
        let syn::Type::Path(path) = unwrapped(ty) else {
            return true;
        };
        path.path.segments.last().is_none_or(|last| {
            let name = unraw(&last.ident);
            name == "Self" || name == self.model || self.generics.contains(&name)
        })
    }
}

/// A map of children keyed by something that is surely not the children's generated key
/// (`BTreeMap<String, Device>`, or the model's own key, `BTreeMap<ShelfKey, Book>` in
/// `Shelf`): what to say of it. The map must be keyed by the key the derive makes of the
/// child's `id` fields; rustc would otherwise repeat a type mismatch at every use of the
/// field, beside errors about serde and hooks that name the wrong thing.
fn map_key_not_generated(
    name: &str,
    arguments: &syn::AngleBracketedGenericArguments,
    own: &Own<'_>,
) -> Option<String> {
    if !matches!(name, "BTreeMap" | "HashMap" | "IndexMap") {
        return None;
    }
    // The key and the child model: the first two type arguments (a hasher may follow).
    let mut types = arguments.args.iter().filter_map(|argument| match argument {
        syn::GenericArgument::Type(ty) => Some(ty),
        _ => None,
    });
    let (key, element) = (types.next()?, types.next()?);
    // Only what surely is no generated key (a scalar, `String`, a tuple, a reference, a
    // standard type), or is the key of this model and not of the child: a bare `Uuid` may
    // be an alias of the key, or the key renamed.
    let owns_the_key = own.is_key(key) && !own.may_be_self(element);
    if !surely_no_model(key) && !owns_the_key {
        return None;
    }
    // The default name of the child's key, for a child named as a model is (not a generic
    // parameter: one letter, or a name the struct's generics give).
    let default = match unwrapped(element) {
        syn::Type::Path(path) if path.qself.is_none() => path
            .path
            .segments
            .last()
            .filter(|last| !own.generics.contains(&last.ident.to_string()))
            .map(|last| format!(", `{}Key` unless `key_type` renames it", unraw(&last.ident))),
        _ => None,
    }
    .unwrap_or_default();
    // Keyed by this model's own key: the child may be this model under another name (an
    // alias), which the derive cannot tell; `Self` says it.
    let own_kind = if owns_the_key {
        format!(
            ", `{}` is this model's own key; a map of this model's own kind names it `Self`",
            compact(key)
        )
    } else {
        String::new()
    };
    Some(format!(
        "a map keyed by `{}` (a map of children is keyed by the key the derive makes of the \
         child's `id` fields: `<{} as DiffModel>::Key`{default}{own_kind})",
        compact(key),
        compact(unwrapped(element))
    ))
}

/// The names the struct gives to generated types (`key_type = "PortId"`): each is used, and
/// no two of them, nor one and the model, are alike (rustc would report a redefinition at
/// the derive, and every impl twice). The error is at the name the struct gave, and that
/// name is dropped (the type keeps its default name), so that the impls emitted beside the
/// error do not add errors of their own.
pub fn companion_names(
    model: &Ident,
    has_children: bool,
    options: &mut attr::ContainerOptions,
    errors: &mut Errors,
) {
    if !has_children && let Some(named) = options.companion_mut(Companion::ChildDiffs).take() {
        errors.push(syn::Error::new(
            named.name_span,
            format!(
                "`{}` names the record of child diffs, and `{model}` has no `children` field",
                Companion::ChildDiffs.option(),
            ),
        ));
    }
    let plain = |ident: &Ident| ident.to_string().trim_start_matches("r#").to_owned();
    let base = plain(model);
    // The model's name and the default names still in use; a leaf has no child diffs.
    let mut taken = vec![base.clone()];
    taken.extend(
        Companion::ALL
            .into_iter()
            .filter(|&companion| companion != Companion::ChildDiffs || has_children)
            .filter(|&companion| options.companion(companion).is_none())
            .map(|companion| format!("{base}{}", companion.suffix())),
    );
    for companion in Companion::ALL {
        let slot = options.companion_mut(companion);
        let Some(named) = slot else { continue };
        let name = plain(&named.value);
        if taken.contains(&name) {
            errors.push(syn::Error::new(
                named.value.span(),
                format!(
                    "`{name}` is already the name of the model or of another type the derive generates for it"
                ),
            ));
            *slot = None;
        } else {
            taken.push(name);
        }
    }
}

/// The model's generic parameters named like the derive's own (`__V`, `'__de`: every name
/// beginning with two underscores is kept for the generated code, which adds such
/// parameters beside the model's), one error each at the parameter.
pub fn reserved_generics(generics: &syn::Generics) -> syn::Result<()> {
    let mut errors = Errors::default();
    for param in &generics.params {
        let (ident, tokens) = match param {
            syn::GenericParam::Type(param) => (&param.ident, param.ident.to_token_stream()),
            syn::GenericParam::Const(param) => (&param.ident, param.ident.to_token_stream()),
            syn::GenericParam::Lifetime(param) => {
                (&param.lifetime.ident, param.lifetime.to_token_stream())
            }
        };
        if ident.to_string().starts_with("__") {
            errors.at(
                tokens,
                "generic parameters whose names begin with `__` are kept for the code \
                 `DiffModel` generates; rename this one",
            );
        }
    }
    errors.finish()
}
