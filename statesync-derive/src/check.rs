//! Rules that need more than one option or the field itself.

use crate::ast::{Model, Role};
use crate::attr::{self, Errors};

pub fn check(model: &Model, errors: &mut Errors) {
    let mut variants = std::collections::BTreeSet::new();
    for field in model.fields_with(Role::Attribute) {
        if !variants.insert(field.variant.to_string()) {
            errors.at(
                field.ident,
                format!(
                    "field `{}` would share the field-enum variant `{}` with another field; rename one of them",
                    field.ident, field.variant
                ),
            );
        }
    }
    for field in &model.fields {
        let options = &field.options;
        if let (Some(id), true) = (options.id.span, options.children.is_set()) {
            errors.push(syn::Error::new(
                id,
                "`id` cannot be used on a `children` field: a key is made of plain values",
            ));
        }
        if let (Some(skip), true) = (options.skip.span, options.id.is_set()) {
            errors.push(syn::Error::new(
                skip,
                "`id` and `skip` cannot be combined: an id field is always compared",
            ));
        }
        if let (Some(skip), true) = (options.skip.span, options.children.is_set()) {
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
            && merge.value == "Newest"
            && model.options.version.is_none()
        {
            errors.push(syn::Error::new(
                merge.value.span(),
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
        && merge.value == "Newest"
        && model.options.version.is_none()
    {
        errors.push(syn::Error::new(
            merge.value.span(),
            "`newest` needs the model's version field: add `version = \"field\"`",
        ));
    }
    if let Some(version) = &model.options.version
        && !model
            .fields_with(Role::Attribute)
            .any(|field| *field.ident == version.value)
    {
        errors.push(syn::Error::new(
            version.value.span(),
            format!(
                "`version` must name a compared attribute of the struct; `{}` is not one",
                version.value
            ),
        ));
    }
    if let Some(name) = &model.options.name
        && name.value.value().is_empty()
    {
        errors.at(&name.value, format!("`{}` must not be empty", attr::NAME));
    }
}
