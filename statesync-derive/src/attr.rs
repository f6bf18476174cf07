//! Raw `#[statesync(...)]` attributes → typed options. Every mistake is pushed to the
//! [`Errors`] collector and parsing carries on, so one build shows every mistake.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, LitStr, Token};

/// The attribute's name.
pub const ATTR: &str = "statesync";

/// Options accepted on a field.
pub const ID: &str = "id";
pub const SKIP: &str = "skip";
pub const CHILDREN: &str = "children";
pub const EQ: &str = "eq";
pub const RENAME: &str = "rename";
pub const MERGE: &str = "merge";
pub const MERGE_WITH: &str = "merge_with";
const FIELD_OPTIONS: &[&str] = &[ID, SKIP, CHILDREN, EQ, RENAME, MERGE, MERGE_WITH];

/// A merge strategy named by `merge = "..."`: the runtime's `merge::Strategy` variants that
/// can be declared.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Strategy {
    Ours,
    Theirs,
    Newest,
    Max,
    Min,
    Union,
    Report,
}

impl Strategy {
    /// What `merge = "..."` accepts on a field, and on the struct.
    const ON_FIELD: &[Self] = &[
        Self::Ours,
        Self::Theirs,
        Self::Newest,
        Self::Max,
        Self::Min,
        Self::Union,
        Self::Report,
    ];
    const ON_MODEL: &[Self] = &[Self::Ours, Self::Theirs, Self::Newest, Self::Report];

    /// The name users write.
    pub const fn keyword(self) -> &'static str {
        match self {
            Self::Ours => "ours",
            Self::Theirs => "theirs",
            Self::Newest => "newest",
            Self::Max => "max",
            Self::Min => "min",
            Self::Union => "union",
            Self::Report => "report",
        }
    }

    /// The runtime's variant name.
    pub const fn variant(self) -> &'static str {
        match self {
            Self::Ours => "Ours",
            Self::Theirs => "Theirs",
            Self::Newest => "Newest",
            Self::Max => "Max",
            Self::Min => "Min",
            Self::Union => "Union",
            Self::Report => "Report",
        }
    }
}

/// A parsed `merge = "..."`, with the span of its value for errors and generated code.
pub struct StrategyOption {
    pub strategy: Strategy,
    pub span: Span,
}

impl StrategyOption {
    /// The runtime's variant, spanned at the user's string.
    pub fn variant(&self) -> syn::Ident {
        syn::Ident::new(self.strategy.variant(), self.span)
    }
}

/// Options accepted on the struct.
pub const NAME: &str = "name";
pub const CRATE: &str = "crate";
pub const BOUND: &str = "bound";
pub const FLAGS: &str = "flags";
pub const VERSION: &str = "version";
pub const SYNC_MODELS: &str = "sync_models";
const CONTAINER_OPTIONS: &[&str] = &[
    NAME,
    CRATE,
    BOUND,
    FLAGS,
    MERGE,
    VERSION,
    SYNC_MODELS,
    Companion::Key.option(),
    Companion::Field.option(),
    Companion::Changes.option(),
    Companion::ChildDiffs.option(),
];

/// A type the derive generates beside the model, named `{Model}{suffix}` unless the
/// struct names it (`key_type = "PortId"`), for when that name is taken.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Companion {
    Key,
    Field,
    Changes,
    ChildDiffs,
}

impl Companion {
    pub const ALL: [Self; 4] = [Self::Key, Self::Field, Self::Changes, Self::ChildDiffs];

    /// What the default name appends to the model's.
    pub const fn suffix(self) -> &'static str {
        match self {
            Self::Key => "Key",
            Self::Field => "Field",
            Self::Changes => "Changes",
            Self::ChildDiffs => "ChildDiffs",
        }
    }

    /// The container option that names it.
    pub const fn option(self) -> &'static str {
        match self {
            Self::Key => "key_type",
            Self::Field => "field_type",
            Self::Changes => "changes_type",
            Self::ChildDiffs => "child_diffs_type",
        }
    }

    /// A name the option could give.
    const fn example(self) -> &'static str {
        match self {
            Self::Key => "PortId",
            Self::Field => "PortAttribute",
            Self::Changes => "PortEdits",
            Self::ChildDiffs => "SiteChildren",
        }
    }
}

/// The model flags `flags = "..."` accepts (the runtime's `ModelFlags`).
pub const MODEL_FLAGS: &[&str] = &[
    "IGNORE",
    "SKIP_CHILDREN_ON_DELETE",
    "SKIP_UNMATCHED_SRC",
    "SKIP_UNMATCHED_DST",
    "NATURAL_DELETION_ORDER",
    "PARENT_FIRST_DELETION",
];

/// Collects errors; the derive stops after parsing and checking if any were pushed.
#[derive(Default)]
pub struct Errors {
    combined: Option<syn::Error>,
}

impl Errors {
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.combined {
            Some(combined) => combined.combine(error),
            None => self.combined = Some(error),
        }
    }

    pub fn at(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// How many errors were collected.
    pub fn count(&self) -> usize {
        self.combined
            .as_ref()
            .map_or(0, |combined| combined.clone().into_iter().count())
    }

    pub fn finish(self) -> syn::Result<()> {
        self.combined.map_or(Ok(()), Err)
    }
}

/// A flag (`id`) as given: present or not, with the tokens that set it.
#[derive(Default)]
pub struct Flag {
    pub span: Option<Span>,
}

impl Flag {
    pub fn is_set(&self) -> bool {
        self.span.is_some()
    }
}

/// An option with a value, remembering the tokens of its name for later errors.
pub struct Valued<T> {
    pub name_span: Span,
    pub value: T,
}

/// The options of one field.
#[derive(Default)]
pub struct FieldOptions {
    pub id: Flag,
    pub skip: Flag,
    pub children: Flag,
    pub eq: Option<Valued<syn::Path>>,
    pub rename: Option<Valued<LitStr>>,
    pub merge: Option<Valued<StrategyOption>>,
    pub merge_with: Option<Valued<syn::Path>>,
}

/// The options of the struct.
#[derive(Default)]
pub struct ContainerOptions {
    pub name: Option<Valued<LitStr>>,
    pub krate: Option<Valued<syn::Path>>,
    pub bound: Option<Valued<Vec<syn::WherePredicate>>>,
    pub flags: Option<Valued<Vec<syn::Ident>>>,
    pub sync_models: Option<Valued<Vec<syn::Type>>>,
    pub merge: Option<Valued<StrategyOption>>,
    pub version: Option<Valued<syn::Ident>>,
    /// Whether a `version` option was written, read or not (an unreadable one is its own
    /// error, and not also a missing version for `newest`).
    pub version_given: bool,
    /// The names given to the generated types (see [`Companion`]).
    pub key_type: Option<Valued<syn::Ident>>,
    pub field_type: Option<Valued<syn::Ident>>,
    pub changes_type: Option<Valued<syn::Ident>>,
    pub child_diffs_type: Option<Valued<syn::Ident>>,
}

impl ContainerOptions {
    /// The name the struct gives to a generated type, if any.
    pub fn companion(&self, companion: Companion) -> Option<&Valued<syn::Ident>> {
        match companion {
            Companion::Key => self.key_type.as_ref(),
            Companion::Field => self.field_type.as_ref(),
            Companion::Changes => self.changes_type.as_ref(),
            Companion::ChildDiffs => self.child_diffs_type.as_ref(),
        }
    }

    /// The option that names a generated type.
    pub fn companion_mut(&mut self, companion: Companion) -> &mut Option<Valued<syn::Ident>> {
        match companion {
            Companion::Key => &mut self.key_type,
            Companion::Field => &mut self.field_type,
            Companion::Changes => &mut self.changes_type,
            Companion::ChildDiffs => &mut self.child_diffs_type,
        }
    }
}

/// A string value (`"..."`). A suffix (`"rev"x`), which rustc refuses on a string anywhere
/// but in the tokens a macro reads, is refused here too rather than dropped.
fn string(meta: &ParseNestedMeta) -> syn::Result<LitStr> {
    // A macro call (`stringify!(...)`, `concat!(...)`) is not expanded in an attribute a
    // derive reads.
    if meta.input.peek(syn::Ident) && meta.input.peek2(Token![!]) {
        return Err(meta.input.error(
            "expected a string literal; a macro is not expanded inside `#[statesync(...)]` \
             (in a `macro_rules!`, pass the string as a `$name:literal`)",
        ));
    }
    let lit: LitStr = meta.input.parse()?;
    if lit.suffix().is_empty() {
        Ok(lit)
    } else {
        Err(syn::Error::new(
            lit.span(),
            format!("unexpected suffix `{}` on a string value", lit.suffix()),
        ))
    }
}

/// Parses a strategy name among the accepted ones.
fn parse_strategy(lit: &LitStr, accepted: &[Strategy]) -> syn::Result<StrategyOption> {
    let name = lit.value();
    match accepted.iter().find(|strategy| strategy.keyword() == name) {
        Some(&strategy) => Ok(StrategyOption {
            strategy,
            span: lit.span(),
        }),
        None => {
            let keywords: Vec<&str> = accepted.iter().map(|strategy| strategy.keyword()).collect();
            // A field's strategy given to a model (`max` decides one value, not a model).
            let field_only = Strategy::ON_FIELD
                .iter()
                .any(|strategy| strategy.keyword() == name);
            let what = if field_only {
                format!("`{name}` merges a field, not a model; a model's `merge` is")
            } else {
                format!("unknown merge strategy `{name}`; expected")
            };
            Err(syn::Error::new(
                lit.span(),
                format!("{what} one of {}", expected(&keywords)),
            ))
        }
    }
}

/// Parses `"A | B"` into flag names, each checked against [`MODEL_FLAGS`].
fn parse_flags(lit: &LitStr) -> syn::Result<Vec<syn::Ident>> {
    let mut flags = Vec::new();
    for part in lit.value().split('|') {
        let name = part.trim();
        if name.is_empty() {
            let message = if lit.value().trim().is_empty() {
                "`flags` names no flag: leave the option out for none, or name some of"
            } else {
                "a flag name is missing around a `|`; expected some of"
            };
            return Err(syn::Error::new(
                lit.span(),
                format!("{message} {} joined by `|`", expected(MODEL_FLAGS)),
            ));
        }
        if !MODEL_FLAGS.contains(&name) {
            return Err(syn::Error::new(
                lit.span(),
                format!(
                    "unknown model flag `{name}`; expected some of {} joined by `|`",
                    expected(MODEL_FLAGS)
                ),
            ));
        }
        if flags.iter().any(|flag: &syn::Ident| flag == name) {
            return Err(syn::Error::new(
                lit.span(),
                format!("model flag `{name}` is named twice"),
            ));
        }
        flags.push(syn::Ident::new(name, lit.span()));
    }
    Ok(flags)
}

fn expected(options: &[&str]) -> String {
    options
        .iter()
        .map(|option| format!("`{option}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Consumes whatever value follows an option we are rejecting, so parsing can go on.
fn skip_value(meta: &ParseNestedMeta) -> syn::Result<()> {
    take_value(meta).map(drop)
}

/// Consumes the value that follows an option (`= value` or `(...)`), returning its tokens.
fn take_value(meta: &ParseNestedMeta) -> syn::Result<TokenStream> {
    let mut tokens = TokenStream::new();
    if meta.input.peek(Token![=]) {
        tokens.extend(meta.input.parse::<Token![=]>()?.into_token_stream());
        skip_to_next_option(meta.input, &mut tokens)?;
    } else if meta.input.peek(syn::token::Paren) {
        tokens.extend(
            meta.input
                .parse::<proc_macro2::Group>()?
                .into_token_stream(),
        );
    }
    Ok(tokens)
}

/// Consumes tokens up to the next `,` of the attribute (or its end), into `tokens`.
fn skip_to_next_option(
    input: syn::parse::ParseStream<'_>,
    tokens: &mut TokenStream,
) -> syn::Result<()> {
    while !input.is_empty() && !input.peek(Token![,]) {
        tokens.extend(std::iter::once(input.parse::<proc_macro2::TokenTree>()?));
    }
    Ok(())
}

fn has_value(meta: &ParseNestedMeta) -> bool {
    meta.input.peek(Token![=]) || meta.input.peek(syn::token::Paren)
}

fn set_flag(
    meta: &ParseNestedMeta,
    flag: &mut Flag,
    name: &str,
    errors: &mut Errors,
) -> syn::Result<()> {
    if has_value(meta) {
        let value_tokens = take_value(meta)?;
        errors.at(
            value_tokens,
            format!("`{name}` is a flag and takes no value; write `#[{ATTR}({name})]`"),
        );
        return Ok(());
    }
    if flag.is_set() {
        errors.at(&meta.path, format!("duplicate `{ATTR}` option `{name}`"));
    } else {
        flag.span = Some(syn::spanned::Spanned::span(&meta.path));
    }
    Ok(())
}

/// A field named in a string: an identifier, or a keyword written as the field is (`"type"`
/// names the field `r#type`, as does `"r#type"`).
fn field_ident(lit: &LitStr) -> syn::Result<syn::Ident> {
    let not_a_field = || {
        syn::Error::new(
            lit.span(),
            format!(
                "`version` names a field of the struct, `version = \"rev\"`; `{}` is not a field name",
                lit.value()
            ),
        )
    };
    lit.parse::<syn::Ident>().or_else(|_| {
        let any = lit
            .parse_with(<syn::Ident as syn::ext::IdentExt>::parse_any)
            .map_err(|_| not_a_field())?;
        let name = any.to_string();
        // Keywords that cannot be raw identifiers cannot be fields either.
        if matches!(name.as_str(), "self" | "Self" | "super" | "crate" | "_") {
            return Err(not_a_field());
        }
        Ok(syn::Ident::new_raw(&name, lit.span()))
    })
}

fn set_valued<T>(
    meta: &ParseNestedMeta,
    slot: &mut Option<Valued<T>>,
    name: &str,
    form: &str,
    parse: impl FnOnce(&ParseNestedMeta) -> syn::Result<T>,
    errors: &mut Errors,
) -> syn::Result<()> {
    if !meta.input.peek(Token![=]) {
        errors.at(
            &meta.path,
            format!("`{name}` needs a value: `{name} = {form}`"),
        );
        return skip_value(meta);
    }
    meta.input.parse::<Token![=]>()?;
    // A bad value is one error; the attribute's other options are still read.
    let value = match parse(meta) {
        Ok(value) => value,
        Err(error) => {
            errors.push(error);
            return skip_to_next_option(meta.input, &mut TokenStream::new());
        }
    };
    if slot.is_some() {
        errors.at(&meta.path, format!("duplicate `{ATTR}` option `{name}`"));
    } else {
        *slot = Some(Valued {
            name_span: syn::spanned::Spanned::span(&meta.path),
            value,
        });
    }
    Ok(())
}

/// A function's path, as `eq = path::to::fn` or, as serde writes its `with`, in quotes
/// (`eq = "path::to::fn"`).
///
/// Anything else is one error. A closure leaves the rest of the attribute unread (its own
/// commas would read as the separators of further options, each an error of its own); a
/// qualified path such as `<HashMap<K, V> as Trait>::f` is skipped to the first comma
/// outside its angle brackets, so a later mistake in the attribute is still found.
fn parse_fn_path(meta: &ParseNestedMeta) -> syn::Result<syn::Path> {
    let not_a_path = |span| {
        syn::Error::new(
            span,
            "expected the path of a function (`path::to::fn`, or in quotes); a closure or a \
             qualified path (`<T as Trait>::f`) is not one: name a `fn(&T, &T) -> bool` \
             (or a `fn` that calls it)",
        )
    };
    if meta.input.peek(syn::LitStr) {
        let quoted = string(meta)?;
        return quoted.parse().map_err(|_| not_a_path(quoted.span()));
    }
    let fork = meta.input.fork();
    match fork.parse::<syn::Path>() {
        Ok(path) if fork.is_empty() || fork.peek(Token![,]) => {
            syn::parse::discouraged::Speculative::advance_to(meta.input, &fork);
            Ok(path)
        }
        _ => {
            let span = meta.input.span();
            if meta.input.peek(Token![|]) || meta.input.peek(Token![move]) {
                let _rest: TokenStream = meta.input.parse()?;
            } else {
                skip_angled(meta.input)?;
            }
            Err(not_a_path(span))
        }
    }
}

/// Skips tokens up to a comma outside angle brackets (or the end).
fn skip_angled(input: syn::parse::ParseStream<'_>) -> syn::Result<()> {
    let mut depth = 0_usize;
    // The `>` of an arrow (`fn() -> T`) closes nothing.
    let mut arrow = false;
    let at_separator = |depth: usize| depth == 0 && input.peek(Token![,]);
    while !input.is_empty() && !at_separator(depth) {
        let tree = input.parse::<proc_macro2::TokenTree>()?;
        let after_dash = std::mem::take(&mut arrow);
        if let proc_macro2::TokenTree::Punct(punct) = tree {
            match punct.as_char() {
                '<' => depth += 1,
                '>' if !after_dash => depth = depth.saturating_sub(1),
                '-' => arrow = punct.spacing() == proc_macro2::Spacing::Joint,
                _ => {}
            }
        }
    }
    Ok(())
}

fn option_name(meta: &ParseNestedMeta) -> String {
    meta.path.get_ident().map_or_else(
        || meta.path.to_token_stream().to_string(),
        ToString::to_string,
    )
}

fn statesync_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|attr| attr.path().is_ident(ATTR))
}

/// Refuses `#[statesync()]`: an attribute without options says nothing, and is most
/// likely an option left out. Returns whether the attribute has options to parse.
fn has_options(attr: &Attribute, options: &[&str], errors: &mut Errors) -> bool {
    let syn::Meta::List(list) = &attr.meta else {
        return true;
    };
    if !list.tokens.is_empty() {
        return true;
    }
    errors.at(
        attr,
        format!(
            "empty `#[{ATTR}()]`: name an option, one of {}, or remove the attribute",
            expected(options)
        ),
    );
    false
}

/// Parses the options of one field.
pub fn field_options(attrs: &[Attribute], errors: &mut Errors) -> FieldOptions {
    let mut options = FieldOptions::default();
    for attr in statesync_attrs(attrs) {
        if !has_options(attr, FIELD_OPTIONS, errors) {
            continue;
        }
        let parsed = attr.parse_nested_meta(|meta| {
            let name = option_name(&meta);
            match name.as_str() {
                ID => set_flag(&meta, &mut options.id, ID, errors),
                SKIP => set_flag(&meta, &mut options.skip, SKIP, errors),
                CHILDREN => set_flag(&meta, &mut options.children, CHILDREN, errors),
                EQ => set_valued(
                    &meta,
                    &mut options.eq,
                    EQ,
                    "path::to::fn",
                    parse_fn_path,
                    errors,
                ),
                RENAME => set_valued(
                    &meta,
                    &mut options.rename,
                    RENAME,
                    "\"name\"",
                    string,
                    errors,
                ),
                MERGE => set_valued(
                    &meta,
                    &mut options.merge,
                    MERGE,
                    "\"max\"",
                    |m| parse_strategy(&string(m)?, Strategy::ON_FIELD),
                    errors,
                ),
                MERGE_WITH => set_valued(
                    &meta,
                    &mut options.merge_with,
                    MERGE_WITH,
                    "path::to::fn",
                    parse_fn_path,
                    errors,
                ),
                other if CONTAINER_OPTIONS.contains(&other) => {
                    errors.at(
                        &meta.path,
                        format!(
                            "`{other}` is a container option: put it on the struct, not on a field"
                        ),
                    );
                    skip_value(&meta)
                }
                other => {
                    errors.at(
                        &meta.path,
                        format!(
                            "unknown `{ATTR}` field option `{other}`; expected one of {}",
                            expected(FIELD_OPTIONS)
                        ),
                    );
                    skip_value(&meta)
                }
            }
        });
        if let Err(error) = parsed {
            errors.push(error);
        }
    }
    options
}

/// Parses the options of the struct.
pub fn container_options(attrs: &[Attribute], errors: &mut Errors) -> ContainerOptions {
    let mut options = ContainerOptions::default();
    for attr in statesync_attrs(attrs) {
        if !has_options(attr, CONTAINER_OPTIONS, errors) {
            continue;
        }
        let parsed = attr.parse_nested_meta(|meta| {
            let name = option_name(&meta);
            match name.as_str() {
                NAME => set_valued(
                    &meta,
                    &mut options.name,
                    NAME,
                    "\"model_name\"",
                    string,
                    errors,
                ),
                CRATE => set_valued(
                    &meta,
                    &mut options.krate,
                    CRATE,
                    "\"path::to::statesync\"",
                    |m| string(m)?.parse(),
                    errors,
                ),
                BOUND => set_valued(
                    &meta,
                    &mut options.bound,
                    BOUND,
                    "\"T: Trait, ...\"",
                    |m| {
                        let lit = string(m)?;
                        let parser = syn::punctuated::Punctuated::<
                                syn::WherePredicate,
                                Token![,],
                            >::parse_terminated;
                        // Placed at the string (as serde places its `bound`), so that a
                        // type error in a bound (a misspelt trait) is underlined there, not
                        // at the derive; resolved as the derive's own code, as a bound parsed
                        // from text always was.
                        let at = crate::ast::located_at(lit.span());
                        let tokens = crate::ast::placed_at(lit.parse::<proc_macro2::TokenStream>()?, at);
                        Ok(syn::parse::Parser::parse2(parser, tokens)?.into_iter().collect())
                    },
                    errors,
                ),
                MERGE => set_valued(
                    &meta,
                    &mut options.merge,
                    MERGE,
                    "\"theirs\"",
                    |m| parse_strategy(&string(m)?, Strategy::ON_MODEL),
                    errors,
                ),
                SYNC_MODELS => set_valued(
                    &meta,
                    &mut options.sync_models,
                    SYNC_MODELS,
                    "\"Folder, File\"",
                    |m| {
                        let lit = string(m)?;
                        let parser = syn::punctuated::Punctuated::<syn::Type, Token![,]>::parse_terminated;
                        let models: Vec<syn::Type> = lit.parse_with(parser)?.into_iter().collect();
                        if models.is_empty() {
                            return Err(syn::Error::new(
                                lit.span(),
                                "`sync_models` lists the model types of the cycle: `sync_models = \"Folder, File\"`",
                            ));
                        }
                        Ok(models)
                    },
                    errors,
                ),
                VERSION => {
                    options.version_given = true;
                    set_valued(
                        &meta,
                        &mut options.version,
                        VERSION,
                        "\"field\"",
                        |m| field_ident(&string(m)?),
                        errors,
                    )
                }
                FLAGS => set_valued(
                    &meta,
                    &mut options.flags,
                    FLAGS,
                    "\"IGNORE | SKIP_UNMATCHED_DST\"",
                    |m| parse_flags(&string(m)?),
                    errors,
                ),
                other if let Some(companion) = Companion::ALL.into_iter().find(|c| c.option() == other) => {
                    set_valued(
                        &meta,
                        options.companion_mut(companion),
                        companion.option(),
                        "\"TypeName\"",
                        |m| {
                            let lit = string(m)?;
                            lit.parse::<syn::Ident>().map_err(|_| {
                                syn::Error::new(
                                    lit.span(),
                                    format!(
                                        "`{}` is a type name, like `\"{}\"`",
                                        companion.option(),
                                        companion.example()
                                    ),
                                )
                            })
                        },
                        errors,
                    )
                }
                other if FIELD_OPTIONS.contains(&other) => {
                    errors.at(
                        &meta.path,
                        format!(
                            "`{other}` is a field option: put it on a field, not on the struct"
                        ),
                    );
                    skip_value(&meta)
                }
                other => {
                    errors.at(
                        &meta.path,
                        format!(
                            "unknown `{ATTR}` container option `{other}`; expected one of {}",
                            expected(CONTAINER_OPTIONS)
                        ),
                    );
                    skip_value(&meta)
                }
            }
        });
        if let Err(error) = parsed {
            errors.push(error);
        }
    }
    options
}
