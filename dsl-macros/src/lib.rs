//! `tapeless-macros`: the `network!` macro (parse -> shape-check -> codegen).
//!
//! Its full implementation is the next milestone; for now the macro accepts nothing and says so.

use proc_macro::TokenStream;

/// Declares a network. See the tapeless crate docs for the grammar.
#[proc_macro]
pub fn network(input: TokenStream) -> TokenStream {
    let span = proc_macro2::TokenStream::from(input)
        .into_iter()
        .next()
        .map_or_else(proc_macro2::Span::call_site, |t| t.span());
    syn::Error::new(span, "network! is not implemented yet")
        .to_compile_error()
        .into()
}
