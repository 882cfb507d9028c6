//! Fresh names for the variables the syntax-tree rewrites introduce (`sum`, `i`,
//! `broke`): none is a name the function uses, so none captures or shadows one of its
//! variables, and each reads well in the generated code.

use std::collections::HashSet;

use proc_macro2::{Ident, Span, TokenStream, TokenTree};
use quote::ToTokens;

/// The names taken: every identifier of the function that could be a variable, and those
/// handed out.
pub struct Names(HashSet<String>);

impl Names {
    pub fn of(tokens: impl ToTokens) -> Self {
        let mut used = HashSet::new();
        idents(tokens.to_token_stream(), &mut used);
        Names(used)
    }

    /// Takes the identifiers of `tokens` too.
    pub fn extend(&mut self, tokens: impl ToTokens) {
        idents(tokens.to_token_stream(), &mut self.0);
    }

    /// `hint`, or `hint_1`, `hint_2`, … : the first not taken.
    pub fn fresh(&mut self, hint: &str) -> Ident {
        let mut name = hint.to_string();
        let mut k = 1;
        while self.0.contains(&name) {
            name = format!("{hint}_{k}");
            k += 1;
        }
        self.0.insert(name.clone());
        Ident::new(&name, Span::call_site())
    }

    /// Gives back a name handed out but not used after all.
    pub fn release(&mut self, ident: &Ident) {
        self.0.remove(&ident.to_string());
    }
}

/// The identifiers a variable could have: all but method names (after `.`).
fn idents(tokens: TokenStream, into: &mut HashSet<String>) {
    let mut after_dot = false;
    for token in tokens {
        match &token {
            TokenTree::Ident(ident) if !after_dot => {
                into.insert(ident.to_string());
            }
            TokenTree::Group(group) => idents(group.stream(), into),
            _ => {}
        }
        after_dot = matches!(&token, TokenTree::Punct(p) if p.as_char() == '.');
    }
}

/// Whether `tokens` name `name` anywhere.
pub fn mentions(tokens: TokenStream, name: &str) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(ident) => ident == name,
        TokenTree::Group(group) => mentions(group.stream(), name),
        _ => false,
    })
}
