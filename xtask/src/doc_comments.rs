//! Generated code without its doc comments: docs are not surface, so `surface` compares code
//! without them (exit 3) and `semver` tells a change of body from a change of docs by them.

use proc_macro2::{TokenStream, TokenTree};

/// `ts` without its `doc` attributes (`#[doc …]`, `#![doc …]`: the `///` and `//!` comments),
/// at every depth of nesting.
pub fn strip_docs(ts: TokenStream) -> TokenStream {
    let mut out = Vec::new();
    let mut it = ts.into_iter().peekable();
    while let Some(tt) = it.next() {
        match tt {
            TokenTree::Punct(p) if p.as_char() == '#' => {
                let mut look = it.clone();
                let bang = matches!(look.peek(), Some(TokenTree::Punct(q)) if q.as_char() == '!');
                if bang {
                    look.next();
                }
                if let Some(TokenTree::Group(g)) = look.peek()
                    && g.delimiter() == proc_macro2::Delimiter::Bracket
                    && matches!(g.stream().into_iter().next(), Some(TokenTree::Ident(i)) if i == "doc")
                {
                    if bang {
                        it.next();
                    }
                    it.next();
                    continue;
                }
                out.push(TokenTree::Punct(p));
            }
            TokenTree::Group(g) => {
                let mut ng = proc_macro2::Group::new(g.delimiter(), strip_docs(g.stream()));
                ng.set_span(g.span());
                out.push(TokenTree::Group(ng));
            }
            other => out.push(other),
        }
    }
    out.into_iter().collect()
}
