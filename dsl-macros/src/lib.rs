//! `tapeless-macros`: the `network!` macro, in three steps, each a module:
//!
//! - [`parse`]: tokens → a raw syntax tree (form only);
//! - [`check`]: meaning and shape inference → the plain-data [`model`], or every error at once;
//! - [`codegen`]: the model → a struct with forward, loss and a tape-free backward pass.

use proc_macro::TokenStream;

mod check;
mod codegen;
mod model;
mod parse;

/// Declares a network whose shapes are checked at compile time. See the `tapeless` crate
/// documentation for the grammar, the layers and the generated API.
#[proc_macro]
pub fn network(input: TokenStream) -> TokenStream {
    let raw = match syn::parse::<parse::RawNetwork>(input) {
        Ok(raw) => raw,
        Err(e) => return e.to_compile_error().into(),
    };
    match check::check(raw) {
        Ok(net) => codegen::expand(&net).into(),
        Err((header, errors)) => {
            let mut tokens = codegen::placeholder(&header);
            for e in errors {
                tokens.extend(e.to_compile_error());
            }
            tokens.into()
        }
    }
}
