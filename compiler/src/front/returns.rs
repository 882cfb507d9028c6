//! Returns from guards: `if c { …; return a; } rest` at the function's top level is
//! `if c { …; a } else { rest }`, the form the rest of the front end reads (the `if` then
//! gives the function its value). Rewritten on the syntax tree, before lowering, keeping
//! every token's span; a `return` anywhere else is left for the front end to refuse.

use syn::{Block, Expr, ExprBlock, ExprIf, Stmt};

/// The function body with its guard returns made into branches.
pub fn structured(block: &Block) -> Block {
    Block {
        brace_token: block.brace_token,
        stmts: statements(&block.stmts),
    }
}

fn statements(stmts: &[Stmt]) -> Vec<Stmt> {
    for (index, stmt) in stmts.iter().enumerate() {
        let Stmt::Expr(Expr::If(guard), _) = stmt else {
            continue;
        };
        let then_returns = returns(&guard.then_branch);
        let else_returns = guard.else_branch.as_ref().is_some_and(|(_, e)| expr_returns(e));
        if !then_returns && !else_returns {
            continue;
        }
        let rest = statements(&stmts[index + 1..]);
        let continued = |block: &Block| -> Block {
            // The `if` is the function's value: the branch keeps its own.
            if rest.is_empty() {
                return block.clone();
            }
            // The branch's own statements keep their scope: `{ { … } rest }`.
            let mut stmts = vec![Stmt::Expr(
                Expr::Block(ExprBlock {
                    attrs: Vec::new(),
                    label: None,
                    block: block.clone(),
                }),
                Some(Default::default()),
            )];
            stmts.extend(rest.iter().cloned());
            Block {
                brace_token: block.brace_token,
                stmts,
            }
        };
        let then_branch = if then_returns {
            valued(&guard.then_branch)
        } else {
            continued(&guard.then_branch)
        };
        let otherwise = match &guard.else_branch {
            Some((_, otherwise)) if else_returns => valued_expr(otherwise),
            // `else if …`: the chain goes on as a statement, its guards structured too.
            Some((_, otherwise)) if matches!(**otherwise, Expr::If(_)) => {
                let mut chain = vec![Stmt::Expr((**otherwise).clone(), Some(Default::default()))];
                chain.extend(rest.iter().cloned());
                Block {
                    brace_token: guard.then_branch.brace_token,
                    stmts: statements(&chain),
                }
            }
            Some((_, otherwise)) => continued(&as_block(otherwise)),
            None => Block {
                brace_token: guard.then_branch.brace_token,
                stmts: rest.clone(),
            },
        };
        let structured = ExprIf {
            attrs: guard.attrs.clone(),
            if_token: guard.if_token,
            cond: guard.cond.clone(),
            then_branch,
            else_branch: Some((
                guard
                    .else_branch
                    .as_ref()
                    .map(|(token, _)| *token)
                    .unwrap_or_default(),
                Box::new(Expr::Block(ExprBlock {
                    attrs: Vec::new(),
                    label: None,
                    block: otherwise,
                })),
            )),
        };
        let mut out = stmts[..index].to_vec();
        out.push(Stmt::Expr(Expr::If(structured), None));
        return out;
    }
    // A final `return value;` is the value (here it may end a branch made above).
    let mut out = stmts.to_vec();
    if let Some(Stmt::Expr(Expr::Return(ret), _)) = out.last() {
        if let Some(value) = &ret.expr {
            let value = (**value).clone();
            out.pop();
            out.push(Stmt::Expr(value, None));
        }
    }
    out
}

/// Whether every way through the block ends in `return value`.
fn returns(block: &Block) -> bool {
    match block.stmts.last() {
        Some(Stmt::Expr(Expr::Return(ret), _)) => ret.expr.is_some(),
        Some(Stmt::Expr(expr @ (Expr::If(_) | Expr::Block(_)), _)) => expr_returns(expr),
        _ => false,
    }
}

fn expr_returns(expr: &Expr) -> bool {
    match expr {
        Expr::If(inner) => {
            returns(&inner.then_branch) && inner.else_branch.as_ref().is_some_and(|(_, e)| expr_returns(e))
        }
        Expr::Block(inner) if inner.label.is_none() => returns(&inner.block),
        _ => false,
    }
}

/// A block that [`returns`], with each `return value;` made its value.
fn valued(block: &Block) -> Block {
    let mut stmts = block.stmts.clone();
    if let Some(last) = stmts.pop() {
        stmts.push(match last {
            Stmt::Expr(Expr::Return(ret), _) => match ret.expr {
                Some(value) => Stmt::Expr(*value, None),
                None => Stmt::Expr(Expr::Return(ret), None),
            },
            Stmt::Expr(expr, _) => Stmt::Expr(
                Expr::Block(ExprBlock {
                    attrs: Vec::new(),
                    label: None,
                    block: valued_expr(&expr),
                }),
                None,
            ),
            other => other,
        });
    }
    Block {
        brace_token: block.brace_token,
        stmts,
    }
}

/// An `if`/`else` or a block that [`expr_returns`], as a block with its value.
fn valued_expr(expr: &Expr) -> Block {
    match expr {
        Expr::If(inner) => {
            let mut inner = inner.clone();
            inner.then_branch = valued(&inner.then_branch);
            if let Some((token, otherwise)) = inner.else_branch.take() {
                let otherwise = Expr::Block(ExprBlock {
                    attrs: Vec::new(),
                    label: None,
                    block: valued_expr(&otherwise),
                });
                inner.else_branch = Some((token, Box::new(otherwise)));
            }
            Block {
                brace_token: inner.then_branch.brace_token,
                stmts: vec![Stmt::Expr(Expr::If(inner), None)],
            }
        }
        Expr::Block(inner) => valued(&inner.block),
        other => as_block(other),
    }
}

/// An `else` branch as a block.
fn as_block(expr: &Expr) -> Block {
    match expr {
        Expr::Block(inner) if inner.label.is_none() => inner.block.clone(),
        other => Block {
            brace_token: Default::default(),
            stmts: vec![Stmt::Expr(other.clone(), Some(Default::default()))],
        },
    }
}

/// The body of a function returning a tuple of `n` floats, with the tuples it returns read
/// as arrays: `(a, b)` in return position (the body's value, a branch's or a block's value
/// there, a `return`) is `[a, b]`; another expression there (`x.sin_cos()`, a call) is taken
/// apart first: `{ let (r0, r1) = x.sin_cos(); [r0, r1] }`.
pub fn tuples_as_arrays(block: &Block, n: usize, errors: &mut super::diag::Errors) -> Block {
    use syn::visit_mut::VisitMut;
    struct Returns<'e>(usize, &'e mut super::diag::Errors);
    impl VisitMut for Returns<'_> {
        fn visit_expr_mut(&mut self, expr: &mut Expr) {
            syn::visit_mut::visit_expr_mut(self, expr);
            if let Expr::Return(ret) = expr {
                if let Some(value) = &mut ret.expr {
                    **value = arrayed(value, self.0, self.1);
                }
            }
        }
        // A closure's `return` is the closure's.
        fn visit_expr_closure_mut(&mut self, _: &mut syn::ExprClosure) {}
    }
    let mut block = block.clone();
    Returns(n, errors).visit_block_mut(&mut block);
    arrayed_block(&mut block, n, errors);
    block
}

fn arrayed_block(block: &mut Block, n: usize, errors: &mut super::diag::Errors) {
    if let Some(Stmt::Expr(tail, None)) = block.stmts.last_mut() {
        *tail = arrayed(tail, n, errors);
    }
}

fn arrayed(expr: &Expr, n: usize, errors: &mut super::diag::Errors) -> Expr {
    match expr {
        Expr::Tuple(tuple) if tuple.elems.len() == n => Expr::Array(syn::ExprArray {
            attrs: tuple.attrs.clone(),
            bracket_token: syn::token::Bracket(tuple.paren_token.span),
            elems: tuple.elems.clone(),
        }),
        Expr::Paren(inner) => arrayed(&inner.expr, n, errors),
        Expr::If(inner) => {
            let mut inner = inner.clone();
            arrayed_block(&mut inner.then_branch, n, errors);
            if let Some((_, otherwise)) = &mut inner.else_branch {
                **otherwise = arrayed(otherwise, n, errors);
            }
            Expr::If(inner)
        }
        Expr::Block(inner) if inner.label.is_none() => {
            let mut inner = inner.clone();
            arrayed_block(&mut inner.block, n, errors);
            Expr::Block(inner)
        }
        Expr::Match(inner) => {
            let mut inner = inner.clone();
            for arm in &mut inner.arms {
                *arm.body = arrayed(&arm.body, n, errors);
            }
            Expr::Match(inner)
        }
        // Already an array, a `return` (read where it is), a macro (`unreachable!()`).
        Expr::Array(_) | Expr::Return(_) | Expr::Macro(_) => expr.clone(),
        // What a `let (a, b) = …;` takes apart: `x.sin_cos()`, a helper's call.
        Expr::Call(_) => taken_apart(expr, n),
        Expr::MethodCall(call) if call.method == "sin_cos" && n == 2 => taken_apart(expr, n),
        other => {
            errors.at(
                other,
                format_args!(
                    "the function returns a tuple of {n} floats: give its value as one here, `(a, b)`"
                ),
            );
            expr.clone()
        }
    }
}

fn taken_apart(expr: &Expr, n: usize) -> Expr {
    use syn::spanned::Spanned;
    let span = expr.span();
    // (The value is computed before the names are bound: they shadow nothing it reads.)
    let names: Vec<syn::Ident> = (0..n)
        .map(|k| syn::Ident::new(&format!("returned_{k}"), span))
        .collect();
    syn::parse_quote_spanned!(span=> { let (#(#names),*) = #expr; [#(#names),*] })
}
