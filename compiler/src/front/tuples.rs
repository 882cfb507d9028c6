//! Tuples in the body, taken apart on the syntax tree (spans kept) into the one-name `let`s
//! and assignments the front end reads:
//!
//! ```text
//! let (s, c) = x.sin_cos();          →  let s = x.sin(); let c = x.cos();
//! let (n, d) = m.dim();             →  let n = m.nrows(); let d = m.ncols();
//! let (a, mut b) = (x * 2.0, y);     →  let a = x * 2.0; let mut b = y;
//! (a, b) = (b, a + b);               →  let next_a = b; let next_b = a + b; a = next_a; b = next_b;
//! ```
//!
//! Every part is evaluated before any is bound, as in Rust (through temporaries where a later
//! part reads a name an earlier one binds). Other tuples are left for the front end to
//! refuse.

use quote::ToTokens;
use syn::visit_mut::VisitMut;
use syn::{parse_quote, Block, Expr, Pat, Stmt};

use super::names::{mentions, Names};

/// The macro a name the rewrite declares before the `if` that assigns it in every branch
/// is bound to (the front end reads it as a value never read).
pub const UNSET: &str = "__chainrule_unset";

/// The block with its tuple `let`s and assignments taken apart; `float` is the function's
/// float type (a tuple returned by a call is read as an array of it).
pub fn flattened(block: &Block, float: &syn::Type) -> Block {
    let mut block = block.clone();
    let mut tuples = Tuples {
        names: Names::of(&block),
        float: float.clone(),
    };
    tuples.visit_block_mut(&mut block);
    block
}

struct Tuples {
    names: Names,
    float: syn::Type,
}

impl VisitMut for Tuples {
    fn visit_block_mut(&mut self, block: &mut Block) {
        syn::visit_mut::visit_block_mut(self, block);
        let mut stmts = Vec::new();
        for stmt in std::mem::take(&mut block.stmts) {
            match self.rewrite(&stmt) {
                Some(rewritten) => stmts.extend(rewritten),
                None => stmts.push(stmt),
            }
        }
        block.stmts = stmts;
    }
}

/// A part of a tuple on the right: an expression, or a tuple of them.
enum Part {
    Value(Expr),
    Tuple(Vec<Part>),
}

impl Tuples {
    fn rewrite(&mut self, stmt: &Stmt) -> Option<Vec<Stmt>> {
        match stmt {
            Stmt::Local(local) if local.init.as_ref().is_some_and(|i| i.diverge.is_none()) => {
                let (pat, ty) = match &local.pat {
                    Pat::Type(typed) => (&*typed.pat, Some(&*typed.ty)),
                    pat => (pat, None),
                };
                if !matches!(unparen_pat(pat), Pat::Tuple(_)) {
                    return None;
                }
                let mut stmts = Vec::new();
                let init = &local.init.as_ref()?.expr;
                if let Some(value) = self.called(pat, ty, init, &mut stmts) {
                    let mut pairs = Vec::new();
                    flatten(pat, ty, value, &mut pairs)?;
                    stmts.extend(self.bind(pairs));
                    return Some(stmts);
                }
                let Some(value) = self.parts(init, &mut stmts) else {
                    return self.distributed(pat, init);
                };
                let mut pairs = Vec::new();
                flatten(pat, ty, value, &mut pairs)?;
                stmts.extend(self.bind(pairs));
                Some(stmts)
            }
            Stmt::Expr(Expr::Assign(assign), Some(_)) if matches!(&*assign.left, Expr::Tuple(_)) => {
                let mut stmts = Vec::new();
                let value = self.parts(&assign.right, &mut stmts)?;
                let mut targets = Vec::new();
                places(&assign.left, value, &mut targets)?;
                // Every value first, then every assignment.
                let mut temporaries = Vec::new();
                for (place, value) in &targets {
                    let hint = match place {
                        Expr::Path(path) => format!("next_{}", path.to_token_stream()),
                        _ => "next".to_string(),
                    };
                    let temporary = self.names.fresh(&hint);
                    stmts.push(parse_quote!(let #temporary = #value;));
                    temporaries.push(temporary);
                }
                for ((place, _), temporary) in targets.into_iter().zip(temporaries) {
                    // Built, not parsed: the place is the user's.
                    let assign = Expr::Assign(syn::ExprAssign {
                        attrs: Vec::new(),
                        left: Box::new(place),
                        eq_token: Default::default(),
                        right: Box::new(parse_quote!(#temporary)),
                    });
                    stmts.push(Stmt::Expr(assign, Some(Default::default())));
                }
                Some(stmts)
            }
            _ => None,
        }
    }

    /// `let (x, y) = g(…);` (or `: (f64, f64)`), a call of another `#[differentiate]`
    /// function returning a tuple: `let g_value: [f64; 2] = g(…);`, whose elements are the
    /// parts (the call then is of a vector-valued function, the array its value as the
    /// generated code converts it).
    fn called(
        &mut self,
        pat: &Pat,
        ty: Option<&syn::Type>,
        init: &Expr,
        stmts: &mut Vec<Stmt>,
    ) -> Option<Part> {
        let Pat::Tuple(tuple) = unparen_pat(pat) else {
            return None;
        };
        let Expr::Call(call) = unparen(init) else {
            return None;
        };
        let Expr::Path(func) = &*call.func else {
            return None;
        };
        let flat = tuple.elems.iter().all(|elem| match elem {
            Pat::Ident(binding) => binding.subpat.is_none() && binding.by_ref.is_none(),
            Pat::Wild(_) => true,
            _ => false,
        });
        if !flat || tuple.elems.len() < 2 {
            return None;
        }
        // The element type as written on the tuple, where every element has the same.
        let float = match ty {
            Some(syn::Type::Tuple(types)) => {
                let first = types.elems.first()?;
                let same = types
                    .elems
                    .iter()
                    .all(|t| t.to_token_stream().to_string() == first.to_token_stream().to_string());
                if !same || types.elems.len() != tuple.elems.len() {
                    return None;
                }
                first.clone()
            }
            Some(_) => return None,
            None => self.float.clone(),
        };
        let callee = syn::ext::IdentExt::unraw(&func.path.segments.last()?.ident).to_string();
        let array = self.names.fresh(&format!("{callee}_value"));
        let len = proc_macro2::Literal::usize_unsuffixed(tuple.elems.len());
        stmts.push(parse_quote!(let #array: [#float; #len] = #init;));
        Some(Part::Tuple(
            (0..tuple.elems.len())
                .map(|k| {
                    let k = proc_macro2::Literal::usize_unsuffixed(k);
                    Part::Value(parse_quote!(#array[#k]))
                })
                .collect(),
        ))
    }

    /// The right side as parts: a tuple `(a, b)`, or `x.sin_cos()` (its receiver bound
    /// once, unless it is a name).
    fn parts(&mut self, expr: &Expr, stmts: &mut Vec<Stmt>) -> Option<Part> {
        match expr {
            Expr::Paren(inner) => self.parts(&inner.expr, stmts),
            Expr::Tuple(tuple) => {
                let mut parts = Vec::new();
                for elem in &tuple.elems {
                    parts.push(
                        self.parts(elem, stmts)
                            .unwrap_or_else(|| Part::Value(elem.clone())),
                    );
                }
                Some(Part::Tuple(parts))
            }
            // `let (s, c) = x.sin_cos();`, and a matrix's `let (n, d) = x.dim();`.
            Expr::MethodCall(call)
                if matches!(call.method.to_string().as_str(), "sin_cos" | "dim") && call.args.is_empty() =>
            {
                let receiver = match &*call.receiver {
                    receiver @ Expr::Path(_) => receiver.clone(),
                    receiver => {
                        let angle = self
                            .names
                            .fresh(if call.method == "dim" { "matrix" } else { "angle" });
                        stmts.push(parse_quote!(let #angle = #receiver;));
                        parse_quote!(#angle)
                    }
                };
                let (first, second) = if call.method == "dim" {
                    ("nrows", "ncols")
                } else {
                    ("sin", "cos")
                };
                let (sin, cos) = (
                    syn::Ident::new(first, call.method.span()),
                    syn::Ident::new(second, call.method.span()),
                );
                Some(Part::Tuple(vec![
                    Part::Value(parse_quote!(#receiver.#sin())),
                    Part::Value(parse_quote!(#receiver.#cos())),
                ]))
            }
            _ => None,
        }
    }

    /// `let (a, b) = if c { (x, y) } else { …; (u, v) };` (an inlined helper's early return
    /// reads so; a `match` too): each name declared unset, and assigned where each branch ends, `let mut
    /// a = unset!(); let mut b = unset!(); if c { (a, b) = (x, y); } else { …; (a, b) = (u,
    /// v); }`: the `if` changes both, as any `if` assigning variables does, and their values
    /// before it are never read.
    fn distributed(&mut self, pat: &Pat, init: &Expr) -> Option<Vec<Stmt>> {
        if !matches!(
            init,
            Expr::If(_) | Expr::Match(_) | Expr::Block(syn::ExprBlock { label: None, .. })
        ) {
            return None;
        }
        let Pat::Tuple(tuple) = unparen_pat(pat) else {
            return None;
        };
        // (A type written on the tuple is rustc's to check: the branches' values say theirs.)
        let unset = syn::Ident::new(UNSET, proc_macro2::Span::call_site());
        // Temporaries, so that the branches read the names as they were before the `let`
        // (`let (x, y) = if c { (y, x) } …` swaps), then the names themselves.
        let mut stmts: Vec<Stmt> = Vec::new();
        let mut targets: Vec<syn::Ident> = Vec::new();
        let mut bindings: Vec<Stmt> = Vec::new();
        for elem in &tuple.elems {
            let temporary = match elem {
                Pat::Ident(binding) if binding.subpat.is_none() && binding.by_ref.is_none() => {
                    let temporary = self.names.fresh(&binding.ident.to_string());
                    bindings.push(parse_quote!(let #binding = #temporary;));
                    temporary
                }
                Pat::Wild(_) => self.names.fresh("unused"),
                _ => return None,
            };
            stmts.push(parse_quote!(let mut #temporary = #unset!();));
            targets.push(temporary);
        }
        let target: Expr = parse_quote!((#(#targets),*));
        let mut assigned = assign_tails(init, &target)?;
        self.visit_expr_mut(&mut assigned);
        stmts.push(Stmt::Expr(assigned, Some(Default::default())));
        stmts.extend(bindings);
        Some(stmts)
    }

    /// `let`s binding each name, every value evaluated before any name is bound.
    fn bind(&mut self, pairs: Vec<(Pat, Expr)>) -> Vec<Stmt> {
        let mut bound: Vec<String> = Vec::new();
        let mut clash = false;
        for (pat, value) in &pairs {
            if bound.iter().any(|name| mentions(value.to_token_stream(), name)) {
                clash = true;
            }
            if let Pat::Ident(binding) = unparen_pat(pat) {
                bound.push(binding.ident.to_string());
            } else if let Pat::Type(typed) = pat {
                if let Pat::Ident(binding) = &*typed.pat {
                    bound.push(binding.ident.to_string());
                }
            }
        }
        if !clash {
            return pairs
                .into_iter()
                .map(|(pat, value)| parse_quote!(let #pat = #value;))
                .collect();
        }
        let mut stmts = Vec::new();
        let mut temporaries = Vec::new();
        for (_, value) in &pairs {
            let temporary = self.names.fresh("part");
            stmts.push(parse_quote!(let #temporary = #value;));
            temporaries.push(temporary);
        }
        for ((pat, _), temporary) in pairs.into_iter().zip(temporaries) {
            stmts.push(parse_quote!(let #pat = #temporary;));
        }
        stmts
    }
}

/// An expression without its parentheses.
fn unparen(expr: &Expr) -> &Expr {
    match expr {
        Expr::Paren(inner) => unparen(&inner.expr),
        other => other,
    }
}

/// `expr` with the value each of its branches ends with assigned to `target` instead
/// (`None` where a branch has no value to assign: an `if` without `else`).
fn assign_tails(expr: &Expr, target: &Expr) -> Option<Expr> {
    match expr {
        Expr::Paren(inner) => assign_tails(&inner.expr, target),
        Expr::If(branch) => {
            let mut branch = branch.clone();
            let (_, otherwise) = branch.else_branch.as_mut()?;
            **otherwise = assign_tails(otherwise, target)?;
            branch.then_branch = assign_block(&branch.then_branch, target)?;
            Some(Expr::If(branch))
        }
        Expr::Block(block) if block.label.is_none() => {
            let mut block = block.clone();
            block.block = assign_block(&block.block, target)?;
            Some(Expr::Block(block))
        }
        Expr::Match(choice) => {
            let mut choice = choice.clone();
            for arm in &mut choice.arms {
                *arm.body = assign_tails(&arm.body, target)?;
                arm.comma.get_or_insert_with(Default::default);
            }
            Some(Expr::Match(choice))
        }
        value => Some(parse_quote!({ #target = #value; })),
    }
}

fn assign_block(block: &Block, target: &Expr) -> Option<Block> {
    let mut block = block.clone();
    match block.stmts.pop() {
        Some(Stmt::Expr(tail, None)) => {
            let assigned = match assign_tails(&tail, target)? {
                // A value's assignment, unwrapped from its block.
                Expr::Block(inner) if !matches!(tail, Expr::Block(_)) => inner.block.stmts,
                other => vec![Stmt::Expr(other, None)],
            };
            block.stmts.extend(assigned);
            Some(block)
        }
        _ => None,
    }
}

fn unparen_pat(pat: &Pat) -> &Pat {
    match pat {
        Pat::Paren(inner) => unparen_pat(&inner.pat),
        other => other,
    }
}

/// Pairs each name of the pattern with its part (`_` binds nothing); `None` where the
/// shapes differ (left for the front end, or rustc, to report).
fn flatten(pat: &Pat, ty: Option<&syn::Type>, part: Part, pairs: &mut Vec<(Pat, Expr)>) -> Option<()> {
    match (unparen_pat(pat), part) {
        (Pat::Wild(_), _) => Some(()),
        (Pat::Tuple(tuple), Part::Tuple(parts)) if tuple.elems.len() == parts.len() => {
            let types: Vec<Option<&syn::Type>> = match ty {
                Some(syn::Type::Tuple(types)) if types.elems.len() == parts.len() => {
                    types.elems.iter().map(Some).collect()
                }
                _ => vec![None; parts.len()],
            };
            for ((pat, part), ty) in tuple.elems.iter().zip(parts).zip(types) {
                flatten(pat, ty, part, pairs)?;
            }
            Some(())
        }
        (pat @ Pat::Ident(binding), Part::Value(value)) if binding.subpat.is_none() => {
            let pat = match ty {
                Some(ty) if !matches!(ty, syn::Type::Infer(_)) => Pat::Type(syn::PatType {
                    attrs: Vec::new(),
                    pat: Box::new(pat.clone()),
                    colon_token: Default::default(),
                    ty: Box::new(ty.clone()),
                }),
                _ => pat.clone(),
            };
            pairs.push((pat, value));
            Some(())
        }
        _ => None,
    }
}

/// Pairs each place on the left of a tuple assignment with its value.
fn places(left: &Expr, part: Part, targets: &mut Vec<(Expr, Expr)>) -> Option<()> {
    match (left, part) {
        (Expr::Paren(inner), part) => places(&inner.expr, part, targets),
        (Expr::Tuple(tuple), Part::Tuple(parts)) if tuple.elems.len() == parts.len() => {
            for (place, part) in tuple.elems.iter().zip(parts) {
                places(place, part, targets)?;
            }
            Some(())
        }
        (Expr::Infer(_), _) => Some(()),
        (place, Part::Value(value)) => {
            targets.push((place.clone(), value));
            Some(())
        }
        _ => None,
    }
}
