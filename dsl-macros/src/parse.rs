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

use proc_macro2::{Span, TokenTree};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
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
    /// `input: [1, 28, 28]`
    Shape(RawShape),
    Layer(RawLayer),
}

pub struct RawLayer {
    pub kind: Ident,
    /// `<1, 16, 3>`, with the span of the whole list.
    pub args: Vec<LitInt>,
    pub args_span: Option<Span>,
    pub options: Vec<RawOption>,
    pub annotation: Option<RawShape>,
}

pub struct RawShape {
    pub dims: Vec<LitInt>,
    pub span: Span,
}

pub struct RawOption {
    pub key: Ident,
    pub value: RawValue,
}

pub enum RawValue {
    Int(LitInt),
    Float { value: f64, span: Span },
    Pair(LitInt, LitInt, Span),
    Bool(LitBool),
    Word(Ident),
}

impl RawValue {
    pub fn span(&self) -> Span {
        match self {
            RawValue::Int(l) => l.span(),
            RawValue::Float { span, .. } | RawValue::Pair(_, _, span) => *span,
            RawValue::Bool(b) => b.span,
            RawValue::Word(w) => w.span(),
        }
    }
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
        let (mut args, mut args_span) = (Vec::new(), None);
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
            args_span = Some(open.span.join(close.span).unwrap_or(open.span));
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
            args_span,
            options,
            annotation,
        })
    }
}

impl Parse for RawOption {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key: Ident = input.parse()?;
        input.parse::<Token![=]>()?;
        let value = if input.peek(syn::token::Paren) {
            let content;
            let paren = parenthesized!(content in input);
            let h: LitInt = content.parse()?;
            content.parse::<Token![,]>()?;
            let w: LitInt = content.parse()?;
            if !content.is_empty() {
                return Err(content.error("expected a pair `(h, w)`"));
            }
            RawValue::Pair(h, w, paren.span.join())
        } else if input.peek(LitBool) {
            RawValue::Bool(input.parse()?)
        } else if input.peek(LitInt) {
            RawValue::Int(input.parse()?)
        } else if input.peek(LitFloat) || input.peek(Token![-]) {
            let minus = input.parse::<Option<Token![-]>>()?;
            let (value, span) = if input.peek(LitFloat) {
                let f: LitFloat = input.parse()?;
                (f.base10_parse::<f64>()?, f.span())
            } else {
                let i: LitInt = input.parse()?;
                (i.base10_parse::<f64>()?, i.span())
            };
            let span = minus.map_or(span, |m| m.span().join(span).unwrap_or(span));
            RawValue::Float {
                value: if minus.is_some() { -value } else { value },
                span,
            }
        } else if input.peek(Ident) {
            RawValue::Word(input.parse()?)
        } else {
            return Err(input.error(
                "expected a value: an integer, `(h, w)`, `true`/`false`, a number or a word",
            ));
        };
        Ok(RawOption { key, value })
    }
}
