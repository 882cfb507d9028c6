//! `let y;` assigned once in each branch of the `if` that follows:
//!
//! ```text
//! let y;                          let y = if c {
//! if c { …; y = a; }       →          …; a
//! else { …; y = b; }              } else { …; b };
//! ```
//!
//! and `let y; …; y = value;` is `let y = value;` there. Rewritten on the syntax tree, in
//! every block, before lowering (spans kept). A `let` without a value in any other form is
//! left for the front end to refuse.

use proc_macro2::{Ident, TokenStream, TokenTree};
use quote::ToTokens;
use syn::visit_mut::VisitMut;
use syn::{Block, Expr, ExprBlock, ExprIf, Local, LocalInit, Pat, Stmt};

/// The block with its deferred initializations made into `let … = if …`.
pub fn initialized(block: &Block) -> Block {
    let mut block = block.clone();
    Deferred.visit_block_mut(&mut block);
    block
}

struct Deferred;

impl VisitMut for Deferred {
    fn visit_block_mut(&mut self, block: &mut Block) {
        syn::visit_mut::visit_block_mut(self, block);
        rewrite(&mut block.stmts);
    }
}

fn rewrite(stmts: &mut Vec<Stmt>) {
    let mut index = 0;
    while index < stmts.len() {
        if let Some(rewritten) = deferred_at(stmts, index) {
            let (position, local) = rewritten;
            stmts[position] = Stmt::Local(local);
            stmts.remove(index);
        } else {
            index += 1;
        }
    }
}

/// If `stmts[index]` is `let y;` and the first statement after it naming `y` is an `if`
/// assigning `y` last in each branch: that statement's position and its `let y = if …;`.
fn deferred_at(stmts: &[Stmt], index: usize) -> Option<(usize, Local)> {
    let Stmt::Local(local) = &stmts[index] else {
        return None;
    };
    if local.init.is_some() {
        return None;
    }
    let name = binding(&local.pat)?;
    let (offset, next) = stmts[index + 1..]
        .iter()
        .enumerate()
        .find(|(_, stmt)| mentions(stmt.to_token_stream(), name))?;
    let value = match next {
        Stmt::Expr(Expr::If(branches), _) => Expr::If(valued(branches, name)?),
        // `let y; …; y = value;`
        Stmt::Expr(Expr::Assign(assign), _) => {
            let Expr::Path(target) = &*assign.left else {
                return None;
            };
            if !target.path.is_ident(name) || mentions(assign.right.to_token_stream(), name) {
                return None;
            }
            (*assign.right).clone()
        }
        _ => return None,
    };
    let mut local = local.clone();
    local.init = Some(LocalInit {
        eq_token: Default::default(),
        expr: Box::new(value),
        diverge: None,
    });
    Some((index + 1 + offset, local))
}

/// The name a `let` binds (`y`, `mut y`, `y: f64`).
fn binding(pat: &Pat) -> Option<&Ident> {
    match pat {
        Pat::Ident(ident) if ident.subpat.is_none() => Some(&ident.ident),
        Pat::Type(typed) => binding(&typed.pat),
        _ => None,
    }
}

/// The `if` with each branch's final `name = value;` made its value, if every branch ends
/// so and names `name` nowhere else.
fn valued(branches: &ExprIf, name: &Ident) -> Option<ExprIf> {
    let mut branches = branches.clone();
    branches.then_branch = valued_block(&branches.then_branch, name)?;
    let (else_token, otherwise) = branches.else_branch.take()?;
    let otherwise = match *otherwise {
        Expr::If(inner) => Expr::If(valued(&inner, name)?),
        Expr::Block(inner) if inner.label.is_none() => Expr::Block(ExprBlock {
            block: valued_block(&inner.block, name)?,
            ..inner
        }),
        _ => return None,
    };
    branches.else_branch = Some((else_token, Box::new(otherwise)));
    if mentions(branches.cond.to_token_stream(), name) {
        return None;
    }
    Some(branches)
}

fn valued_block(block: &Block, name: &Ident) -> Option<Block> {
    let (last, rest) = block.stmts.split_last()?;
    if rest.iter().any(|stmt| mentions(stmt.to_token_stream(), name)) {
        return None;
    }
    let Stmt::Expr(Expr::Assign(assign), _) = last else {
        return None;
    };
    let Expr::Path(target) = &*assign.left else {
        return None;
    };
    if !target.path.is_ident(name) || mentions(assign.right.to_token_stream(), name) {
        return None;
    }
    let mut stmts = rest.to_vec();
    stmts.push(Stmt::Expr((*assign.right).clone(), None));
    Some(Block {
        brace_token: block.brace_token,
        stmts,
    })
}

/// Whether `tokens` contain the identifier `name`.
fn mentions(tokens: TokenStream, name: &Ident) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(ident) => ident == *name,
        TokenTree::Group(group) => mentions(group.stream(), name),
        _ => false,
    })
}
