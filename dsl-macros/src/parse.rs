//! Parse: the tokens of `network! { ... }` into a raw syntax tree. Only the *form* is checked
//! here (names, brackets, literals); what the layers and numbers mean is `check`'s job.
//!
//! ```text
//! #[attr]* VIS struct NAME {
//!     input: [D, ...],
//!     ENTRY,*
//! }
//! ENTRY := NAME: LAYER (<ARG, ...>)? ((KEY = VALUE, ...))? (-> [D, ...])?
//! ```

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{quote, ToTokens};
use syn::parse::{Parse, ParseStream};
use syn::{
    braced, bracketed, parenthesized, Attribute, Ident, LitBool, LitFloat, LitInt, Token,
    Visibility,
};

pub struct RawNetwork {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub entries: Vec<RawEntry>,
    /// Entries that did not parse; the others are still checked, so all errors show at once.
    pub errors: Vec<syn::Error>,
}

pub struct RawEntry {
    pub name: Ident,
    pub body: RawBody,
}

pub enum RawBody {
    /// An entry that did not parse (its error is in `RawNetwork::errors`); the shape flowing
    /// past it is unknown, so later checks do not report errors that are only its echo.
    Broken,
    /// `input: [1, 28, 28]`
    Shape(RawShape),
    Layer(RawLayer),
}

pub struct RawLayer {
    pub kind: Ident,
    /// `<1, 16, 3>`, and its tokens (for errors spanning the whole list).
    pub args: Vec<LitInt>,
    pub args_tokens: Option<TokenStream>,
    pub options: Vec<RawOption>,
    pub annotation: Option<RawShape>,
}

pub struct RawShape {
    pub dims: Vec<LitInt>,
    pub span: Span,
}

#[derive(Clone)]
pub struct RawOption {
    pub key: Ident,
    pub value: RawValue,
    /// The value as written, for errors that point at all of it (`-0.5`, `(1, 0)`).
    pub tokens: TokenStream,
}

#[derive(Clone)]
pub enum RawValue {
    Int(LitInt),
    Float(f64),
    Pair(LitInt, LitInt),
    Bool(LitBool),
    Word(Ident),
}

impl Parse for RawNetwork {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        input.parse::<Token![struct]>()?;
        let name: Ident = input.parse()?;
        let content;
        braced!(content in input);
        let mut entries = Vec::new();
        let mut errors = Vec::new();
        while !content.is_empty() {
            match content.parse::<RawEntry>() {
                Ok(entry) => {
                    entries.push(entry);
                    if !content.is_empty() {
                        if let Err(e) = content.parse::<Token![,]>() {
                            errors.push(e);
                            skip_entry(&content)?;
                        }
                    }
                }
                Err(e) => {
                    errors.push(e);
                    skip_entry(&content)?;
                    entries.push(RawEntry {
                        name: Ident::new("__broken", e_span(&errors)),
                        body: RawBody::Broken,
                    });
                }
            }
        }
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the network's `{ ... }`"));
        }
        Ok(RawNetwork {
            attrs,
            vis,
            name,
            entries,
            errors,
        })
    }
}

fn e_span(errors: &[syn::Error]) -> Span {
    errors.last().map_or_else(Span::call_site, syn::Error::span)
}

/// Skips to just past the next `,` outside `<...>`, `(...)` and `[...]`, so parsing can resume
/// at the next entry after a malformed one.
fn skip_entry(input: ParseStream) -> syn::Result<()> {
    input.step(|cursor| {
        let mut rest = *cursor;
        let mut angle_depth = 0usize;
        let mut after_minus = false;
        while let Some((tt, next)) = rest.token_tree() {
            rest = next;
            if let TokenTree::Punct(p) = &tt {
                match p.as_char() {
                    ',' if angle_depth == 0 => return Ok(((), rest)),
                    '<' => angle_depth += 1,
                    '>' if !after_minus => angle_depth = angle_depth.saturating_sub(1),
                    _ => {}
                }
                after_minus = p.as_char() == '-';
            } else {
                after_minus = false;
            }
        }
        Ok(((), rest))
    })
}

impl Parse for RawEntry {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let name: Ident = input.call(syn::ext::IdentExt::parse_any)?;
        input.parse::<Token![:]>()?;
        let body = if input.peek(syn::token::Bracket) {
            RawBody::Shape(input.parse()?)
        } else if input.peek(Ident) {
            RawBody::Layer(input.parse()?)
        } else {
            return Err(input.error(
                "expected a layer (e.g. `Linear<784, 128>`) or, for `input`, a shape (e.g. `[1, 28, 28]`)",
            ));
        };
        Ok(RawEntry { name, body })
    }
}

impl Parse for RawShape {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let content;
        let bracket = bracketed!(content in input);
        let dims = content.parse_terminated(parse_dim, Token![,])?;
        Ok(RawShape {
            dims: dims.into_iter().collect(),
            span: bracket.span.join(),
        })
    }
}

fn parse_dim(input: ParseStream) -> syn::Result<LitInt> {
    if input.peek(LitInt) {
        input.parse()
    } else {
        Err(input.error("expected a dimension: an integer literal"))
    }
}

impl Parse for RawLayer {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let kind: Ident = input.parse()?;
        let (mut args, mut args_tokens) = (Vec::new(), None);
        if input.peek(Token![<]) {
            let open = input.parse::<Token![<]>()?;
            loop {
                if input.peek(Token![>]) {
                    break;
                }
                args.push(parse_dim(input).map_err(|_| {
                    input.error("expected an integer literal argument, as in `Linear<784, 128>`")
                })?);
                if !input.peek(Token![,]) {
                    break;
                }
                input.parse::<Token![,]>()?;
            }
            let close = input.parse::<Token![>]>()?;
            args_tokens = Some(quote!(#open #(#args),* #close));
        }
        let mut options = Vec::new();
        if input.peek(syn::token::Paren) {
            let content;
            parenthesized!(content in input);
            let parsed = content.parse_terminated(RawOption::parse, Token![,])?;
            options = parsed.into_iter().collect();
        }
        let annotation = if input.peek(Token![->]) {
            input.parse::<Token![->]>()?;
            Some(input.parse()?)
        } else {
            None
        };
        Ok(RawLayer {
            kind,
            args,
            args_tokens,
            options,
            annotation,
        })
    }
}

impl Parse for RawOption {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key: Ident = input.parse()?;
        input.parse::<Token![=]>()?;
        // A value is one token tree, or `-` and a number.
        let mut tokens = TokenStream::new();
        if input.peek(Token![-]) {
            tokens.extend(input.parse::<Token![-]>()?.into_token_stream());
        }
        tokens.extend(std::iter::once(input.parse::<TokenTree>()?));
        let value = syn::parse2::<RawValue>(tokens.clone())?;
        Ok(RawOption { key, value, tokens })
    }
}

impl Parse for RawValue {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let value = if input.peek(syn::token::Paren) {
            let content;
            parenthesized!(content in input);
            let h: LitInt = content.parse()?;
            content.parse::<Token![,]>()?;
            let w: LitInt = content.parse()?;
            if !content.is_empty() {
                return Err(content.error("expected a pair `(h, w)`"));
            }
            RawValue::Pair(h, w)
        } else if input.peek(LitBool) {
            RawValue::Bool(input.parse()?)
        } else if input.peek(LitInt) {
            RawValue::Int(input.parse()?)
        } else if input.peek(LitFloat) || input.peek(Token![-]) {
            let minus = input.parse::<Option<Token![-]>>()?;
            let value = if input.peek(LitFloat) {
                input.parse::<LitFloat>()?.base10_parse::<f64>()?
            } else {
                input.parse::<LitInt>()?.base10_parse::<f64>()?
            };
            RawValue::Float(if minus.is_some() { -value } else { value })
        } else if input.peek(Ident) {
            RawValue::Word(input.parse()?)
        } else {
            return Err(input.error(
                "expected a value: an integer, `(h, w)`, `true`/`false`, a number or a word",
            ));
        };
        Ok(value)
    }
}
