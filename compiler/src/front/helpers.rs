//! Helpers inlined where they are called: in a `#[differentiate] mod`, a function that
//! returns a tuple or an array (`fn split(x: f64) -> (f64, f64)`, `fn cross(a: [f64; 3],
//! b: [f64; 3]) -> [f64; 3]`), or that takes a `&mut` argument (a scratch buffer: `fn
//! fill(out: &mut Vec<f64>, x: f64) -> f64`), is not differentiated on its own: each call of
//! it in the module's other functions is replaced by its body, on the syntax tree, before the
//! front end reads them, so that its outputs (the result, and what it writes through the
//! `&mut`) flow back through the caller's backward pass like the caller's own code.
//!
//! ```text
//! let (s, c) = split(x * 2.0);     →  let x_1 = x * 2.0;
//!                                     let scale_1 = x_1.exp();
//!                                     let (s, c) = (scale_1 * x_1.sin(), scale_1 * x_1.cos());
//! total += fill(&mut buf, x);      →  total += { let x_2 = x; buf.push(x_2 * x_2); buf.len() as f64 };
//! ```
//!
//! The helper's parameters and variables get fresh names, so that nothing of the caller is
//! shadowed or captured; a `&mut` parameter becomes the caller's variable itself (Rust's
//! meaning: the helper writes into it); a generic helper's type parameter becomes the
//! caller's float type. Its `return`s are rewritten as the front end rewrites a function's
//! (guards made branches, flags for the rest) before it is placed. A helper that calls itself, directly or through others,
//! cannot be inlined and is reported.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Delimiter, Group, Ident, TokenStream, TokenTree};
use quote::{quote, ToTokens};
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{parse_quote, Block, Expr, FnArg, ItemFn, Pat, ReturnType, Stmt, Type};

use super::names::Names;

/// Whether calls of `function` are inlined (rather than differentiated as a function of
/// their own): it returns a tuple, a fixed or run-time array, or nothing, or it takes a
/// `&mut` parameter.
pub fn is_inlined(function: &ItemFn) -> bool {
    let takes_mut = function.sig.inputs.iter().any(|input| {
        matches!(input, FnArg::Typed(typed) if matches!(&*typed.ty, Type::Reference(r) if r.mutability.is_some()))
    });
    let returns_values = match &function.sig.output {
        ReturnType::Default => false,
        ReturnType::Type(_, ty) => {
            matches!(&**ty, Type::Tuple(t) if !t.elems.is_empty()) || matches!(&**ty, Type::Array(_))
        }
    };
    takes_mut || returns_values
}

/// `function` with every call of one of `helpers` (by its name) replaced by the helper's
/// body, and the errors (spanned) of calls that cannot be inlined.
pub fn inline(function: &ItemFn, helpers: &[ItemFn]) -> (ItemFn, Vec<syn::Error>) {
    let mut names = Names::of(function);
    for helper in helpers {
        names.extend(helper);
    }
    let float = float_of(function);
    let mut inliner = Inliner {
        helpers: helpers.iter().map(|h| (h.sig.ident.to_string(), h)).collect(),
        names,
        float,
        stack: Vec::new(),
        recursive: HashSet::new(),
        errors: Vec::new(),
    };
    let mut function = function.clone();
    inliner.visit_block_mut(&mut function.block);
    (function, inliner.errors)
}

/// The caller's float type: its return type (`f64`, `f32` or its type parameter).
fn float_of(function: &ItemFn) -> TokenStream {
    match &function.sig.output {
        ReturnType::Type(_, ty) => ty.to_token_stream(),
        ReturnType::Default => quote!(f64),
    }
}

struct Inliner<'a> {
    helpers: HashMap<String, &'a ItemFn>,
    names: Names,
    float: TokenStream,
    /// The helpers being inlined (to refuse recursion), and those found recursive.
    stack: Vec<String>,
    recursive: HashSet<String>,
    errors: Vec<syn::Error>,
}

/// A helper's body ready to be placed: the `let`s binding its parameters and its own
/// statements, and its value.
struct Inlined {
    stmts: Vec<Stmt>,
    value: Option<Expr>,
}

impl Inliner<'_> {
    /// The helper `call` calls, if it is one.
    fn helper_of(&self, expr: &Expr) -> Option<String> {
        let Expr::Call(call) = expr else { return None };
        let Expr::Path(path) = &*call.func else {
            return None;
        };
        let ident = path.path.get_ident()?.to_string();
        self.helpers.contains_key(&ident).then_some(ident)
    }

    fn inlined(&mut self, expr: &Expr, name: &str) -> Option<Inlined> {
        let Expr::Call(call) = expr else { return None };
        let helper = self.helpers[name];
        if self.stack.iter().any(|n| n == name) {
            if !self.recursive.insert(name.to_string()) {
                return None; // reported at its first call
            }
            self.errors.push(syn::Error::new_spanned(
                &call.func,
                format!(
                    "`{name}` calls itself: a helper that returns a tuple or an array, or takes a `&mut` argument, is inlined where it is called, so it cannot be recursive; return a float (recursive `#[differentiate]` functions are differentiated as calls)"
                ),
            ));
            return None;
        }
        let params: Vec<&syn::PatType> = helper
            .sig
            .inputs
            .iter()
            .filter_map(|input| match input {
                FnArg::Typed(typed) => Some(typed),
                FnArg::Receiver(_) => None,
            })
            .collect();
        if params.len() != call.args.len() {
            // rustc reports it, at the call as written.
            return None;
        }
        // Fresh names for every variable of the helper.
        let mut bound = Vec::new();
        for param in &params {
            collect_bindings(&param.pat, &mut bound);
        }
        let mut collector = Bindings(&mut bound);
        collector.visit_block(&helper.block);
        let mut renames: HashMap<String, Ident> = HashMap::new();
        for ident in &bound {
            let key = ident.to_string();
            if !renames.contains_key(&key) && !key.starts_with(char::is_uppercase) {
                let fresh = self.names.fresh(&format!("{key}_{name}"));
                renames.insert(key, Ident::new(&fresh.to_string(), ident.span()));
            }
        }
        // Parameters: `&mut` ones become the caller's variable; the others are bound.
        let mut lets: Vec<Stmt> = Vec::new();
        for (param, arg) in params.iter().zip(&call.args) {
            let Pat::Ident(pat) = &*param.pat else {
                self.errors.push(syn::Error::new_spanned(
                    &param.pat,
                    "an inlined helper's parameters are names (`x: f64`)",
                ));
                return None;
            };
            let key = pat.ident.to_string();
            if let Type::Reference(reference) = &*param.ty {
                if reference.mutability.is_some() {
                    let target = match arg {
                        Expr::Reference(r) if r.mutability.is_some() => &*r.expr,
                        other => other,
                    };
                    let Some(variable) = plain_ident(target) else {
                        self.errors.push(syn::Error::new_spanned(
                            arg,
                            format!("`{}` takes a `&mut` to a variable: pass `&mut name`", name),
                        ));
                        return None;
                    };
                    renames.insert(key.clone(), variable.clone());
                    continue;
                }
            }
            let fresh = &renames[&key];
            let mutability = &pat.mutability;
            let ty = substitute_generics(param.ty.to_token_stream(), helper, &self.float);
            lets.push(match !matches!(&*param.ty, Type::Reference(_)) {
                true => parse_quote!(let #mutability #fresh: #ty = #arg;),
                false => parse_quote!(let #mutability #fresh = #arg;),
            });
        }
        // The body, renamed, its type parameters the caller's float, `*out` of a `&mut`
        // parameter read as the variable.
        // Its `return`s as the front end reads a function's: guards made branches, the
        // rest flags.
        let mut errors = super::diag::Errors::default();
        let mut block = super::exits::structured(&super::returns::structured(&helper.block), &mut errors);
        if let Err(error) = errors.finish() {
            self.errors.push(error);
            return None;
        }
        Derefs(&derefs_of(&params)).visit_block_mut(&mut block);
        let tokens = rename(block.to_token_stream(), &renames);
        let tokens = substitute_generics(tokens, helper, &self.float);
        let mut block: Block = match syn::parse2(tokens) {
            Ok(block) => block,
            Err(error) => {
                self.errors.push(error);
                return None;
            }
        };
        // Nested helpers first (with this one on the stack).
        self.stack.push(name.to_string());
        self.visit_block_mut(&mut block);
        self.stack.pop();
        let mut stmts = lets;
        let mut body = block.stmts;
        let value = match body.last() {
            Some(Stmt::Expr(_, None)) => match body.pop() {
                Some(Stmt::Expr(expr, None)) => Some(expr),
                _ => None,
            },
            _ => None,
        };
        stmts.extend(body);
        Some(Inlined { stmts, value })
    }
}

impl VisitMut for Inliner<'_> {
    fn visit_block_mut(&mut self, block: &mut Block) {
        let mut stmts = Vec::new();
        for mut stmt in std::mem::take(&mut block.stmts) {
            // `let (a, b) = helper(…);` and `helper(…);`: the body's statements go into the
            // block, so that the tuple is taken apart as a written one is.
            let call = match &mut stmt {
                Stmt::Local(syn::Local { init: Some(init), .. }) if init.diverge.is_none() => {
                    Some(&mut *init.expr)
                }
                Stmt::Expr(expr, Some(_)) => Some(expr),
                _ => None,
            };
            if let Some(call) = call {
                if let Some(name) = self.helper_of(call) {
                    syn::visit_mut::visit_expr_mut(self, call);
                    let Some(inlined) = self.inlined(call, &name) else {
                        stmts.push(stmt);
                        continue;
                    };
                    stmts.extend(inlined.stmts);
                    let value = inlined.value.unwrap_or_else(|| parse_quote!(()));
                    match &mut stmt {
                        Stmt::Local(syn::Local { init: Some(init), .. }) => {
                            *init.expr = value;
                            stmts.push(stmt);
                        }
                        _ if matches!(value, Expr::Tuple(ref t) if t.elems.is_empty()) => {}
                        _ => stmts.push(Stmt::Expr(value, Some(Default::default()))),
                    }
                    continue;
                }
            }
            self.visit_stmt_mut(&mut stmt);
            stmts.push(stmt);
        }
        block.stmts = stmts;
    }

    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        syn::visit_mut::visit_expr_mut(self, expr);
        let Some(name) = self.helper_of(expr) else { return };
        if let Some(inlined) = self.inlined(expr, &name) {
            let (stmts, value) = (inlined.stmts, inlined.value);
            *expr = match (stmts.is_empty(), value) {
                (true, Some(value)) => value,
                (_, Some(value)) => parse_quote!({ #(#stmts)* #value }),
                (_, None) => parse_quote!({ #(#stmts)* }),
            };
        }
    }

    // Closures and items inside keep their own meaning of `return`; calls in them are
    // inlined all the same.
}

/// The names `&mut` parameters of `params` have.
fn derefs_of(params: &[&syn::PatType]) -> HashSet<String> {
    params
        .iter()
        .filter(|p| matches!(&*p.ty, Type::Reference(r) if r.mutability.is_some()))
        .filter_map(|p| match &*p.pat {
            Pat::Ident(pat) => Some(pat.ident.to_string()),
            _ => None,
        })
        .collect()
}

/// `*out` of a `&mut` parameter `out` as `out` (the caller's variable, after renaming).
struct Derefs<'a>(&'a HashSet<String>);

impl VisitMut for Derefs<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        if let Expr::Unary(unary) = expr {
            if matches!(unary.op, syn::UnOp::Deref(_)) {
                if let Some(ident) = plain_ident(&unary.expr) {
                    if self.0.contains(&ident.to_string()) {
                        *expr = (*unary.expr).clone();
                        return;
                    }
                }
            }
        }
        syn::visit_mut::visit_expr_mut(self, expr);
    }
}

fn plain_ident(expr: &Expr) -> Option<&Ident> {
    match expr {
        Expr::Path(path) if path.qself.is_none() => path.path.get_ident(),
        Expr::Paren(paren) => plain_ident(&paren.expr),
        _ => None,
    }
}

/// Every name a pattern of the block binds (`let`, `for`, closures, `match` arms).
struct Bindings<'a>(&'a mut Vec<Ident>);

impl<'ast> Visit<'ast> for Bindings<'_> {
    fn visit_pat_ident(&mut self, pat: &'ast syn::PatIdent) {
        self.0.push(pat.ident.clone());
        syn::visit::visit_pat_ident(self, pat);
    }
}

fn collect_bindings(pat: &Pat, into: &mut Vec<Ident>) {
    Bindings(into).visit_pat(pat);
}

/// `tokens` with each identifier of `renames` renamed, but for fields and methods (after
/// `.`), path segments (beside `::`) and struct literal fields (before a single `:`).
fn rename(tokens: TokenStream, renames: &HashMap<String, Ident>) -> TokenStream {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let punct = |k: usize, c: char| matches!(trees.get(k), Some(TokenTree::Punct(p)) if p.as_char() == c);
    let mut out = Vec::with_capacity(trees.len());
    for (k, tree) in trees.iter().enumerate() {
        out.push(match tree {
            TokenTree::Ident(ident) => {
                let after_dot = k > 0 && punct(k - 1, '.') && !(k > 1 && punct(k - 2, '.'));
                let in_path = (k > 0 && punct(k - 1, ':')) || (punct(k + 1, ':') && punct(k + 2, ':'));
                match renames.get(&ident.to_string()) {
                    Some(new) if !after_dot && !in_path => {
                        let mut new = new.clone();
                        new.set_span(ident.span());
                        TokenTree::Ident(new)
                    }
                    _ => tree.clone(),
                }
            }
            TokenTree::Group(group) => {
                let mut new = Group::new(group.delimiter(), rename(group.stream(), renames));
                new.set_span(group.span());
                TokenTree::Group(new)
            }
            other => other.clone(),
        });
    }
    out.into_iter().collect()
}

/// `tokens` with the helper's type parameters as the caller's float type.
fn substitute_generics(tokens: TokenStream, helper: &ItemFn, float: &TokenStream) -> TokenStream {
    let generics: Vec<String> = helper
        .sig
        .generics
        .type_params()
        .map(|p| p.ident.to_string())
        .collect();
    if generics.is_empty() {
        return tokens;
    }
    fn walk(tokens: TokenStream, generics: &[String], float: &TokenStream) -> TokenStream {
        tokens
            .into_iter()
            .flat_map(|token| -> Vec<TokenTree> {
                match token {
                    TokenTree::Ident(ident) if generics.contains(&ident.to_string()) => {
                        float.clone().into_iter().collect()
                    }
                    TokenTree::Group(group) => {
                        let delimiter: Delimiter = group.delimiter();
                        let mut new = Group::new(delimiter, walk(group.stream(), generics, float));
                        new.set_span(group.span());
                        vec![TokenTree::Group(new)]
                    }
                    other => vec![other],
                }
            })
            .collect()
    }
    walk(tokens, &generics, float)
}
