//! The derive's own model of the input: the struct, its options and its fields by role,
//! borrowing from syn so that errors and generated code keep the user's spans.

use heck::ToSnakeCase;
use proc_macro2::Span;
use syn::{DeriveInput, Ident, Type, Visibility};

use crate::attr::{self, Companion, Errors};

/// What a field is to the model.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Part of the key, compared by key matching.
    Id,
    /// A compared attribute.
    Attribute,
    /// A collection of child models.
    Children,
    /// Neither compared nor applied.
    Skip,
}

pub struct Field<'a> {
    pub ident: &'a Ident,
    /// The field's variant in the generated field enum.
    pub variant: Ident,
    pub ty: &'a Type,
    pub role: Role,
    /// The field's display name (`rename`, or its identifier).
    pub name: String,
    pub options: attr::FieldOptions,
    /// Whether its `#[statesync(...)]` attributes had a mistake (an unknown option, a bad
    /// value): its role may not be the one meant.
    pub unread: bool,
    pub original: &'a syn::Field,
}

pub struct Model<'a> {
    pub ident: &'a Ident,
    pub vis: &'a Visibility,
    pub generics: &'a syn::Generics,
    pub name: String,
    pub krate: syn::Path,
    pub bound: Option<Vec<syn::WherePredicate>>,
    pub fields: Vec<Field<'a>>,
    pub options: attr::ContainerOptions,
    /// Whether this is the stand-in model emitted beside derive errors.
    pub fallback: bool,
}

impl<'a> Model<'a> {
    /// Reads the input. Shape errors (not a struct with named fields) end the parse here;
    /// option errors are collected and parsing goes on.
    pub fn from_input(input: &'a DeriveInput, errors: &mut Errors) -> syn::Result<Self> {
        let named = match &input.data {
            syn::Data::Struct(data) => match &data.fields {
                syn::Fields::Named(named) => named,
                syn::Fields::Unnamed(fields) => {
                    return Err(shape_error(fields, "a tuple struct"));
                }
                syn::Fields::Unit => return Err(shape_error(&input.ident, "a unit struct")),
            },
            syn::Data::Enum(data) => return Err(shape_error(data.enum_token, "an enum")),
            syn::Data::Union(data) => return Err(shape_error(data.union_token, "a union")),
        };
        let mut options = attr::container_options(&input.attrs, errors);
        let mut fields: Vec<Field> = named
            .named
            .iter()
            .filter_map(|field| Field::from_syn(field, errors))
            .collect();
        give_distinct_variants(&mut fields);
        let has_children = fields.iter().any(|field| field.role == Role::Children);
        crate::check::companion_names(&input.ident, has_children, &mut options, errors);
        let name = options
            .name
            .as_ref()
            .map_or_else(|| default_name(&input.ident), |name| name.value.value());
        let krate = krate_of(&options);
        let bound = options.bound.as_ref().map(|bound| bound.value.clone());
        Ok(Self {
            ident: &input.ident,
            vis: &input.vis,
            generics: &input.generics,
            name,
            krate,
            bound,
            fields,
            options,
            fallback: false,
        })
    }

    /// The model emitted beside derive errors: every option dropped (but a parsed `eq`,
    /// which may stand for a missing `PartialEq`), and children skipped, so the impls it
    /// gets mention none of the faulty tokens and the user sees the real errors, not a
    /// cascade of "trait not implemented" at every use of the model. Id fields and
    /// attributes keep their roles, so the key type and the field enum have the members
    /// the rest of the user's code names (unless the model is generic; a field whose
    /// options had a mistake or gave it two roles, or whose variant another already took,
    /// is skipped).
    pub fn into_fallback(mut self) -> Self {
        let mut variants = std::collections::HashSet::new();
        // A generic model's fields would need the bounds the failed options may have
        // given: all skipped.
        let generic = self.generics.type_params().next().is_some();
        for field in &mut self.fields {
            let flags = &field.options;
            let roles = [&flags.id, &flags.skip, &flags.children]
                .into_iter()
                .filter(|flag| flag.is_set())
                .count();
            // A field given clashing roles keeps none: either could be the mistake.
            // Only attributes have variants: an id field never takes one.
            let kept = !generic
                && !field.unread
                && roles <= 1
                && match field.role {
                    // A float or collection id is refused (it can make no key).
                    Role::Id => crate::check::refused_id(field.ty).is_none(),
                    Role::Attribute => variants.insert(field.variant.to_string()),
                    Role::Children | Role::Skip => false,
                };
            if !kept {
                field.role = Role::Skip;
            }
            // Display names as the identifiers spell them: distinct, whatever `rename` said.
            field.name = syn::ext::IdentExt::unraw(field.ident).to_string();
            let eq = field
                .options
                .eq
                .take()
                .filter(|_| field.role == Role::Attribute);
            field.options = attr::FieldOptions {
                eq,
                ..attr::FieldOptions::default()
            };
        }
        // The generated types keep the names the struct gives them: the user's own types
        // may hold the default ones.
        let options = std::mem::take(&mut self.options);
        self.options = attr::ContainerOptions {
            key_type: options.key_type,
            field_type: options.field_type,
            changes_type: options.changes_type,
            child_diffs_type: options.child_diffs_type,
            ..attr::ContainerOptions::default()
        };
        self.bound = None;
        self.fallback = true;
        self
    }

    /// The stand-in for an input of the wrong shape (an enum, a union, a tuple or unit
    /// struct): a model of no compared field and no id, so the types and impls it gets
    /// (no field of the input named) keep the rest of the user's code, a `Store` of it
    /// included, from adding errors of its own to the shape error.
    /// Only its `crate` option is read (its other errors would only add to the shape's).
    pub fn shape_stand_in(input: &'a DeriveInput) -> Self {
        let options = attr::container_options(&input.attrs, &mut Errors::default());
        Self {
            ident: &input.ident,
            vis: &input.vis,
            generics: &input.generics,
            name: default_name(&input.ident),
            krate: krate_of(&options),
            bound: None,
            fields: Vec::new(),
            options: attr::ContainerOptions::default(),
            fallback: true,
        }
    }

    pub fn fields_with(&self, role: Role) -> impl Iterator<Item = &Field<'a>> {
        self.fields.iter().filter(move |field| field.role == role)
    }

    /// The runtime's path with every token placed at `span`, so that rustc's errors about
    /// calls into the runtime underline the user's field rather than the derive.
    pub fn krate_at(&self, span: Span) -> proc_macro2::TokenStream {
        use quote::ToTokens;
        placed_at(self.krate.to_token_stream(), span)
    }

    /// The name of a generated type: the one the struct gives it, or `{Model}{suffix}`.
    pub fn companion(&self, companion: Companion) -> Ident {
        if let Some(named) = self.options.companion(companion) {
            return named.value.clone();
        }
        let base = self.ident.to_string();
        let base = base.strip_prefix("r#").unwrap_or(&base);
        quote::format_ident!("{base}{}", companion.suffix(), span = self.ident.span())
    }
}

/// Names by its identifier (`_x`, `a__b`) the field-enum variant of an attribute whose
/// camel-cased name an earlier attribute, or an item of the field enum (`ALL`, `name`),
/// already takes (`x` and `_x` both camel-case to `X`), or else by its camel-cased name
/// and `Field` (`name` beside `_name` is `NameField`). A field none of these fit (a field
/// `X` beside `x` and `XField`) is reported by `check`.
fn give_distinct_variants(fields: &mut [Field]) {
    // The field enum's own items, which a variant must not shadow.
    let mut taken: std::collections::HashSet<String> =
        ["ALL", "name"].into_iter().map(str::to_owned).collect();
    for field in fields
        .iter_mut()
        .filter(|field| field.role == Role::Attribute)
    {
        let camel = field.variant.clone();
        let candidates = [
            camel.clone(),
            field.ident.clone(),
            Ident::new(&format!("{camel}Field"), field.ident.span()),
        ];
        let free = candidates
            .iter()
            .find(|candidate| !taken.contains(&candidate.to_string()));
        // None free: the first, which `check` reports as shared.
        field.variant = free.unwrap_or(&camel).clone();
        taken.insert(field.variant.to_string());
    }
}

/// The field's name in UpperCamelCase, or `Field…` when that is not an identifier
/// (`_1`, `__`, `self_`).
fn variant_for(ident: &Ident) -> Ident {
    use heck::ToUpperCamelCase;
    let name = ident.to_string();
    let camel = name
        .strip_prefix("r#")
        .unwrap_or(&name)
        .to_upper_camel_case();
    let valid = camel != "Self" && syn::parse_str::<Ident>(&camel).is_ok();
    let camel = if valid {
        camel
    } else {
        format!(
            "Field{}",
            camel.replace(|c: char| !c.is_ascii_alphanumeric(), "")
        )
    };
    Ident::new(&camel, ident.span())
}

fn shape_error(tokens: impl quote::ToTokens, found: &str) -> syn::Error {
    syn::Error::new_spanned(
        tokens,
        format!(
            "`DiffModel` can only be derived for structs with named fields, not {found}; \
             wrap the data in a struct with named fields"
        ),
    )
}

impl<'a> Field<'a> {
    fn from_syn(field: &'a syn::Field, errors: &mut Errors) -> Option<Self> {
        let before = errors.count();
        let options = attr::field_options(&field.attrs, errors);
        let unread = errors.count() > before;
        let ident = field.ident.as_ref()?;
        let role = if options.id.is_set() {
            Role::Id
        } else if options.children.is_set() {
            Role::Children
        } else if options.skip.is_set() {
            Role::Skip
        } else {
            Role::Attribute
        };
        let name = options
            .rename
            .as_ref()
            .map_or_else(|| ident.to_string(), |rename| rename.value.value());
        // Safety net for raw identifiers (`r#type` displays as `type`).
        let name = name.strip_prefix("r#").map_or(name.clone(), str::to_owned);
        Some(Self {
            variant: variant_for(ident),
            ident,
            ty: &field.ty,
            role,
            name,
            options,
            unread,
            original: field,
        })
    }

    /// The custom equality function, if any.
    pub fn eq(&self) -> Option<&syn::Path> {
        self.options.eq.as_ref().map(|eq| &eq.value)
    }

    /// Where the field's generated code points: at its type, resolved as the derive's own
    /// code (see [`located_at`]).
    pub fn span(&self) -> Span {
        located_at(syn::spanned::Spanned::span(&self.ty))
    }
}

/// `tokens` (a path, a bound) with every token placed at `span`, those inside brackets
/// too, so that an error about them underlines `span` rather than the derive.
pub fn placed_at(tokens: proc_macro2::TokenStream, span: Span) -> proc_macro2::TokenStream {
    tokens
        .into_iter()
        .map(|tree| {
            let mut tree = match tree {
                proc_macro2::TokenTree::Group(group) => proc_macro2::TokenTree::Group(
                    proc_macro2::Group::new(group.delimiter(), placed_at(group.stream(), span)),
                ),
                other => other,
            };
            tree.set_span(span);
            tree
        })
        .collect()
}

/// A span located at `span` (errors point there) whose names resolve as the derive's own
/// code does: generated code names `self` and locals of its own, which a field's span
/// would resolve where the field's tokens came from (the body of a `macro_rules!` that
/// wrote the struct, apart from the derive).
pub fn located_at(span: Span) -> Span {
    span.resolved_at(Span::call_site())
}

/// A model's name unless `name` gives one: its identifier in snake case (`r#Type` is
/// `type`).
fn default_name(ident: &Ident) -> String {
    syn::ext::IdentExt::unraw(ident).to_string().to_snake_case()
}

/// The runtime's path: the `crate` option's, or `::statesync`.
fn krate_of(options: &attr::ContainerOptions) -> syn::Path {
    options.krate.as_ref().map_or_else(
        || syn::parse_quote!(::statesync),
        |krate| krate.value.clone(),
    )
}

/// Whether two identifiers name one field, raw or not (`r#rev` is `rev`).
pub fn same_ident(a: &Ident, b: &Ident) -> bool {
    syn::ext::IdentExt::unraw(a) == syn::ext::IdentExt::unraw(b)
}
