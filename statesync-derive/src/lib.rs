#![warn(missing_docs)]
//! The derive macro behind `statesync`. Use it through the `statesync` crate, which
//! re-exports it and documents every option.

mod ast;
mod attr;
mod bound;
mod check;
mod expand;
mod flat;
mod self_type;
mod serde_impl;

use proc_macro::TokenStream;

/// Derives `statesync::DiffModel`; see the `statesync` crate for the attribute options.
#[proc_macro_derive(DiffModel, attributes(statesync))]
pub fn derive_diff_model(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&self_type::spelled_out(&input)).into()
}

#[cfg(test)]
mod tests;
