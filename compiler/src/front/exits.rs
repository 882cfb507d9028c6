//! `break`, `continue` (with labels), `loop`, `break value`, and `return` anywhere,
//! rewritten on the syntax tree (spans kept) into the loops and branches the front end
//! reads, with flags:
//!
//! ```text
//! for i in 0..n {                     let mut broke = false;
//!     if r < tol { break; }           let end = n; let mut next = 0;
//!     r = step(r);            →       while !broke && next < end {
//! }                                       let i = next; next += 1;
//!                                         if r < tol { broke = true; }
//!                                         if !broke { r = step(r); }
//!                                     }
//! ```
//!
//! A loop that `break`s becomes a `while` whose condition tests its flag, so that the loop
//! (and its backward pass) runs exactly the iterations that ran; `continue` sets a flag
//! that the rest of the body tests; after a statement that may leave, the rest of the
//! block runs only if it did not. `break value` of a `loop` assigns the loop's value
//! first. A `return` that the guard rewrite ([`super::returns`]) left (inside a loop, a
//! `match` arm, a nested block) sets `returned` and the value, leaves every loop around it,
//! and the function's value is then `if returned { value } else { … }`.
//!
//! A jump inside an expression that has a value (`let a = if c { break } else { 1.0 };`) is
//! an error, saying to write it as a statement.

use proc_macro2::Ident;
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{parse_quote, Block, Expr, Stmt};

use super::diag::Errors;
use super::names::Names;

/// The function body with its jumps made into flags.
pub fn structured(block: &Block, errors: &mut Errors) -> Block {
    if !has_jump(block) {
        return block.clone();
    }
    let mut exits = Exits {
        names: Names::of(block),
        loops: Vec::new(),
        returned: None,
        errors,
    };
    let (mut stmts, _) = exits.block(block.stmts.clone(), true);
    if let Some((returned, value)) = &exits.returned {
        let mut prelude: Vec<Stmt> = vec![
            parse_quote!(let mut #returned = false;),
            parse_quote!(let mut #value = 0.0;),
        ];
        prelude.append(&mut stmts);
        stmts = prelude;
    }
    Block {
        brace_token: block.brace_token,
        stmts,
    }
}

/// Whether there is anything to rewrite: a `break`, `continue`, `loop` or `return`
/// (outside closures).
fn has_jump(block: &Block) -> bool {
    finds(block, true)
}

/// Whether a loop body has a `break` or `continue` of its own (or a labelled one, or a
/// `return`): loops over elements are then lowered to index loops first.
pub fn leaves(block: &Block) -> bool {
    finds(block, false)
}

/// Whether the block has a `break`, `continue` or `return` (or, `loops`, a `loop`) outside
/// closures.
fn finds(block: &Block, loops: bool) -> bool {
    struct Finder {
        loops: bool,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Finder {
        fn visit_expr(&mut self, expr: &'ast Expr) {
            match expr {
                Expr::Break(_) | Expr::Continue(_) | Expr::Return(_) => self.found = true,
                Expr::Loop(_) if self.loops => self.found = true,
                Expr::Closure(_) => {}
                other => syn::visit::visit_expr(self, other),
            }
        }
    }
    let mut finder = Finder { loops, found: false };
    finder.visit_block(block);
    finder.found
}

/// A loop being rewritten.
struct Loop {
    label: Option<String>,
    /// Set by its `break`s.
    broke: Option<Ident>,
    /// Set by its `continue`s, reset at the start of each iteration.
    skipped: Option<Ident>,
    /// Where `break value` puts the value (a `loop` that has one).
    result: Option<Ident>,
    /// Flags of the loops around it (and `returned`) that code inside it sets: it stops
    /// when any is set.
    stops: Vec<Ident>,
}

struct Exits<'e> {
    names: Names,
    loops: Vec<Loop>,
    /// `returned` and the value it returned, once a `return` is rewritten.
    returned: Option<(Ident, Ident)>,
    errors: &'e mut Errors,
}

type Flags = Vec<Ident>;

fn add(flags: &mut Flags, more: impl IntoIterator<Item = Ident>) {
    for flag in more {
        if !flags.contains(&flag) {
            flags.push(flag);
        }
    }
}

/// `a || b || …` (`false` for none).
fn any(flags: &[Ident]) -> Expr {
    let Some((first, rest)) = flags.split_first() else {
        return parse_quote!(false);
    };
    rest.iter().fold(
        parse_quote!(#first),
        |acc: Expr, flag| parse_quote!(#acc || #flag),
    )
}

impl Exits<'_> {
    /// A block's statements with their jumps rewritten, and the flags they may set that
    /// belong to something around the block. `tail`: the block's value is the function's.
    fn block(&mut self, stmts: Vec<Stmt>, tail: bool) -> (Vec<Stmt>, Flags) {
        let mut out = Vec::new();
        let mut flags = Flags::new();
        let mut stmts = stmts.into_iter();
        while let Some(stmt) = stmts.next() {
            // `return v;` in the function's value, outside loops: the value (what follows
            // cannot run).
            if let (true, true, Stmt::Expr(Expr::Return(ret), _)) = (tail, self.loops.is_empty(), &stmt) {
                if let Some(value) = &ret.expr {
                    out.push(Stmt::Expr((**value).clone(), None));
                    break;
                }
            }
            let (rewritten, set, jumped) = self.stmt(stmt, tail && stmts.len() == 0);
            out.extend(rewritten);
            add(&mut flags, set.clone());
            if jumped {
                // The rest cannot run (rustc warns of it).
                break;
            }
            if set.is_empty() || stmts.len() == 0 {
                continue;
            }
            let rest: Vec<Stmt> = stmts.by_ref().collect();
            let (rest, more) = self.block(rest, tail);
            add(&mut flags, more);
            match self.returned.clone() {
                // The function's value: what `return` gave, or the rest's.
                Some((returned, value)) if tail && set.iter().all(|f| *f == returned) => {
                    let mut guard: Expr = parse_quote!(if #returned { #value } else {});
                    if let Expr::If(branch) = &mut guard {
                        if let Some((_, otherwise)) = &mut branch.else_branch {
                            if let Expr::Block(b) = &mut **otherwise {
                                b.block.stmts = rest;
                            }
                        }
                    }
                    out.push(Stmt::Expr(guard, None));
                }
                _ => {
                    let test = any(&set);
                    let mut guard: Expr = parse_quote!(if !(#test) {});
                    if let Expr::If(branch) = &mut guard {
                        branch.then_branch.stmts = rest;
                    }
                    out.push(Stmt::Expr(guard, None));
                }
            }
            break;
        }
        (out, flags)
    }

    /// One statement: its rewriting, the flags it may set, and whether it jumps (so that
    /// the statements after it cannot run).
    fn stmt(&mut self, stmt: Stmt, tail: bool) -> (Vec<Stmt>, Flags, bool) {
        match stmt {
            Stmt::Expr(Expr::Break(jump), _) => {
                let label = jump.label.as_ref().map(|l| l.ident.to_string());
                match self.jump(Jump::Break(jump.expr.as_deref().cloned()), label, &jump) {
                    Some((stmts, flag)) => (stmts, vec![flag], true),
                    None => (Vec::new(), Vec::new(), true),
                }
            }
            Stmt::Expr(Expr::Continue(jump), _) => {
                let label = jump.label.as_ref().map(|l| l.ident.to_string());
                match self.jump(Jump::Continue, label, &jump) {
                    Some((stmts, flag)) => (stmts, vec![flag], true),
                    None => (Vec::new(), Vec::new(), true),
                }
            }
            Stmt::Expr(Expr::Return(ret), _) => match &ret.expr {
                Some(value) => match self.jump(Jump::Return((**value).clone()), None, &ret) {
                    Some((stmts, flag)) => (stmts, vec![flag], true),
                    None => (Vec::new(), Vec::new(), true),
                },
                // Reported by the front end.
                None => (
                    vec![Stmt::Expr(Expr::Return(ret), Some(Default::default()))],
                    Vec::new(),
                    true,
                ),
            },
            // `let x = loop { … break v; };`: the loop assigns `x`'s value.
            Stmt::Local(mut local)
                if matches!(local.init.as_ref().map(|i| &*i.expr), Some(Expr::Loop(_)))
                    && local.init.as_ref().is_some_and(|i| i.diverge.is_none()) =>
            {
                let init = local.init.as_mut().expect("a value");
                let result = self.names.fresh(&binding_hint(&local.pat));
                let zero = zero_for(&local.pat);
                let (rewritten, flags) = self.loop_expr((*init.expr).clone(), Some(result.clone()));
                *init.expr = parse_quote!(#result);
                let stmts = vec![
                    parse_quote!(let mut #result = #zero;),
                    Stmt::Expr(rewritten, Some(Default::default())),
                    Stmt::Local(local),
                ];
                (stmts, flags, false)
            }
            // A `loop` that gives the function its value.
            Stmt::Expr(expr @ Expr::Loop(_), None) if tail => {
                let result = self.names.fresh("result");
                let (rewritten, flags) = self.loop_expr(expr, Some(result.clone()));
                let value: Expr = match &self.returned {
                    Some((returned, value)) if flags.contains(returned) => {
                        parse_quote!(if #returned { #value } else { #result })
                    }
                    _ => parse_quote!(#result),
                };
                let stmts = vec![
                    parse_quote!(let mut #result = 0.0;),
                    Stmt::Expr(rewritten, Some(Default::default())),
                    Stmt::Expr(value, None),
                ];
                (stmts, flags, false)
            }
            Stmt::Expr(expr, semi) => {
                let (expr, flags) = self.expr(expr, tail && semi.is_none());
                (vec![Stmt::Expr(expr, semi)], flags, false)
            }
            Stmt::Local(mut local) => {
                let mut flags = Flags::new();
                if let Some(init) = &mut local.init {
                    let (expr, set) = self.value((*init.expr).clone());
                    *init.expr = expr;
                    flags = set;
                }
                (vec![Stmt::Local(local)], flags, false)
            }
            other => (vec![other], Vec::new(), false),
        }
    }

    /// An expression in statement position (or the function's value, `tail`): branches,
    /// blocks, `match` and loops may hold jumps.
    fn expr(&mut self, expr: Expr, tail: bool) -> (Expr, Flags) {
        match expr {
            Expr::If(mut branch) => {
                let mut flags = Flags::new();
                let (then, set) = self.block(branch.then_branch.stmts, tail);
                branch.then_branch.stmts = then;
                add(&mut flags, set);
                if let Some((token, otherwise)) = branch.else_branch.take() {
                    let (otherwise, set) = match *otherwise {
                        Expr::Block(mut block) if block.label.is_none() => {
                            let (stmts, set) = self.block(block.block.stmts, tail);
                            block.block.stmts = stmts;
                            (Expr::Block(block), set)
                        }
                        other => self.expr(other, tail),
                    };
                    add(&mut flags, set);
                    branch.else_branch = Some((token, Box::new(otherwise)));
                }
                (Expr::If(branch), flags)
            }
            Expr::Block(mut block) if block.label.is_none() => {
                let (stmts, flags) = self.block(block.block.stmts, tail);
                block.block.stmts = stmts;
                (Expr::Block(block), flags)
            }
            Expr::Match(mut matching) => {
                let mut flags = Flags::new();
                for arm in &mut matching.arms {
                    let body = std::mem::replace(&mut *arm.body, parse_quote!(()));
                    // An arm that jumps (`0 => break,`) is a block of one statement.
                    let block: Block = match body {
                        Expr::Block(block) if block.label.is_none() => block.block,
                        jump @ (Expr::Break(_) | Expr::Continue(_) | Expr::Return(_)) => {
                            parse_quote!({ #jump; })
                        }
                        other => {
                            let (other, set) = self.value(other);
                            add(&mut flags, set);
                            *arm.body = other;
                            continue;
                        }
                    };
                    let (stmts, set) = self.block(block.stmts, tail);
                    add(&mut flags, set);
                    *arm.body = Expr::Block(syn::ExprBlock {
                        attrs: Vec::new(),
                        label: None,
                        block: Block {
                            brace_token: block.brace_token,
                            stmts,
                        },
                    });
                }
                (Expr::Match(matching), flags)
            }
            expr @ (Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_)) => self.loop_expr(expr, None),
            other => self.value(other),
        }
    }

    /// An expression with a value: the loops inside are rewritten; a jump out of it is
    /// left as it is, for the front end to report.
    fn value(&mut self, mut expr: Expr) -> (Expr, Flags) {
        struct Inner<'a, 'e> {
            exits: &'a mut Exits<'e>,
            flags: Flags,
        }
        impl VisitMut for Inner<'_, '_> {
            fn visit_expr_mut(&mut self, expr: &mut Expr) {
                match expr {
                    Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) => {
                        let taken = std::mem::replace(expr, parse_quote!(()));
                        let (rewritten, flags) = self.exits.loop_expr(taken, None);
                        add(&mut self.flags, flags);
                        *expr = rewritten;
                    }
                    // A jump out of an expression with a value: left for the front end to
                    // report.
                    Expr::Closure(_) => {}
                    _ => syn::visit_mut::visit_expr_mut(self, expr),
                }
            }
        }
        let mut inner = Inner {
            exits: self,
            flags: Flags::new(),
        };
        inner.visit_expr_mut(&mut expr);
        (expr, inner.flags)
    }

    /// A jump: the statements that stand for it, and the flag they set (`None` if the
    /// jump is an error, reported).
    fn jump(&mut self, jump: Jump, label: Option<String>, at: &dyn ToTokens) -> Option<(Vec<Stmt>, Ident)> {
        if let Jump::Return(value) = jump {
            let (returned, result) = self
                .returned
                .get_or_insert_with(|| (self.names.fresh("returned"), self.names.fresh("returned_value")))
                .clone();
            for outer in &mut self.loops {
                add(&mut outer.stops, [returned.clone()]);
            }
            return Some((
                vec![parse_quote!(#result = #value;), parse_quote!(#returned = true;)],
                returned,
            ));
        }
        let target = match &label {
            None => self.loops.len().checked_sub(1),
            Some(label) => self.loops.iter().rposition(|l| l.label.as_deref() == Some(label)),
        };
        let Some(target) = target else {
            // rustc reports it in the function as written.
            return None;
        };
        let mut stmts = Vec::new();
        let flag = match jump {
            Jump::Break(value) => {
                if let Some(value) = value {
                    match self.loops[target].result.clone() {
                        Some(result) => stmts.push(parse_quote!(#result = #value;)),
                        None => {
                            self.errors.at(
                                at,
                                "`break value` gives the value of a `loop` that is a `let`'s value (`let x = loop { … break v; };`) or the function's: bind the loop so, or assign the value before `break`",
                            );
                            return None;
                        }
                    }
                }
                let names = &mut self.names;
                self.loops[target]
                    .broke
                    .get_or_insert_with(|| names.fresh("broke"))
                    .clone()
            }
            Jump::Continue => {
                let names = &mut self.names;
                self.loops[target]
                    .skipped
                    .get_or_insert_with(|| names.fresh("skipped"))
                    .clone()
            }
            Jump::Return(_) => unreachable!("handled above"),
        };
        for inner in &mut self.loops[target + 1..] {
            add(&mut inner.stops, [flag.clone()]);
        }
        stmts.push(parse_quote!(#flag = true;));
        Some((stmts, flag))
    }

    /// A loop with its body rewritten; the flags of the loops around it that it may set.
    fn loop_expr(&mut self, expr: Expr, result: Option<Ident>) -> (Expr, Flags) {
        let (label, body) = match &expr {
            Expr::ForLoop(l) => (l.label.clone(), l.body.clone()),
            Expr::While(l) => (l.label.clone(), l.body.clone()),
            Expr::Loop(l) => (l.label.clone(), l.body.clone()),
            _ => unreachable!("a loop"),
        };
        self.loops.push(Loop {
            label: label.as_ref().map(|l| l.name.ident.to_string()),
            broke: None,
            skipped: None,
            result,
            stops: Vec::new(),
        });
        let (mut stmts, _) = self.block(body.stmts.clone(), false);
        let this = self.loops.pop().expect("the loop");
        if let Some(skipped) = &this.skipped {
            stmts.insert(0, parse_quote!(let mut #skipped = false;));
        }
        let mut stop: Flags = this.broke.iter().cloned().collect();
        add(&mut stop, this.stops.iter().cloned());
        let body = Block {
            brace_token: body.brace_token,
            stmts,
        };
        let span = expr.span();
        let rewritten: Expr = match expr {
            Expr::ForLoop(mut l) if stop.is_empty() => {
                l.label = None;
                l.body = body;
                Expr::ForLoop(l)
            }
            Expr::ForLoop(l) => match self.counted(&l.expr) {
                Some((low, high, rev)) => {
                    let (next, end) = (self.names.fresh("next"), self.names.fresh("end"));
                    let test = any(&stop);
                    // Built, not parsed: the pattern and the body are the user's.
                    let bind = Stmt::Local(syn::Local {
                        attrs: Vec::new(),
                        let_token: Default::default(),
                        pat: (*l.pat).clone(),
                        init: Some(syn::LocalInit {
                            eq_token: Default::default(),
                            expr: Box::new(parse_quote!(#next)),
                            diverge: None,
                        }),
                        semi_token: Default::default(),
                    });
                    let (mut counted, step, first, test_bound): (Expr, Stmt, Expr, Expr) = if rev {
                        (
                            parse_quote!(while !(#test) && #next > #end {}),
                            parse_quote!(#next -= 1;),
                            high,
                            low,
                        )
                    } else {
                        (
                            parse_quote!(while !(#test) && #next < #end {}),
                            parse_quote!(#next += 1;),
                            low,
                            high,
                        )
                    };
                    if let Expr::While(w) = &mut counted {
                        let mut stmts = if rev { vec![step, bind] } else { vec![bind, step] };
                        stmts.extend(body.stmts);
                        w.body.stmts = stmts;
                    }
                    let mut block: Expr = parse_quote!({
                        let #end = #test_bound;
                        let mut #next = #first;
                    });
                    if let Expr::Block(b) = &mut block {
                        b.block.stmts.push(Stmt::Expr(counted, None));
                    }
                    block
                }
                None => {
                    self.errors.at(
                        &l.expr,
                        "a loop that `break`s runs over a range (`0..n`, `(0..n).rev()`) or an array's elements",
                    );
                    Expr::ForLoop(l)
                }
            },
            Expr::While(l) if stop.is_empty() => {
                let mut l = l;
                l.label = None;
                l.body = body;
                Expr::While(l)
            }
            Expr::While(mut l) => {
                let (test, cond) = (any(&stop), &l.cond);
                *l.cond = parse_quote!(!(#test) && (#cond));
                l.label = None;
                l.body = body;
                Expr::While(l)
            }
            Expr::Loop(l) if stop.is_empty() => {
                self.errors.at(
                    l.loop_token,
                    "this `loop` has no `break`, so it never ends: give it a `break` (`if done { break; }`), or write a `while` loop",
                );
                parse_quote!({ 0.0 })
            }
            Expr::Loop(_) => {
                let test = any(&stop);
                let mut counted: Expr = parse_quote!(while !(#test) {});
                if let Expr::While(w) = &mut counted {
                    w.body = body;
                }
                counted
            }
            _ => unreachable!("a loop"),
        };
        let rewritten = match &this.broke {
            Some(broke) => {
                let mut block: Expr = syn::parse_quote_spanned!(span=> { let mut #broke = false; });
                if let Expr::Block(b) = &mut block {
                    b.block.stmts.push(Stmt::Expr(rewritten, None));
                }
                block
            }
            None => rewritten,
        };
        (rewritten, this.stops)
    }

    /// `a..b`, `a..=b`, `(a..b).rev()`: (low, high, reversed), the high bound exclusive.
    fn counted(&mut self, expr: &Expr) -> Option<(Expr, Expr, bool)> {
        match expr {
            Expr::Paren(inner) => self.counted(&inner.expr),
            Expr::Range(range) => {
                let (low, high) = (range.start.as_deref()?.clone(), range.end.as_deref()?.clone());
                let high = match range.limits {
                    syn::RangeLimits::Closed(_) => parse_quote!((#high) + 1),
                    syn::RangeLimits::HalfOpen(_) => high,
                };
                Some((low, high, false))
            }
            Expr::MethodCall(call) if call.method == "rev" && call.args.is_empty() => {
                let (low, high, rev) = self.counted(&call.receiver)?;
                Some((low, high, !rev))
            }
            _ => None,
        }
    }
}

enum Jump {
    Break(Option<Expr>),
    Continue,
    Return(Expr),
}

/// A name for a `loop`'s value, after the `let` that binds it.
fn binding_hint(pat: &syn::Pat) -> String {
    match pat {
        syn::Pat::Ident(binding) => format!("{}_value", binding.ident),
        syn::Pat::Type(typed) => binding_hint(&typed.pat),
        _ => "result".to_string(),
    }
}

/// The starting value of a `loop`'s result: `0.0`, or `0` for an integer annotation.
fn zero_for(pat: &syn::Pat) -> Expr {
    if let syn::Pat::Type(typed) = pat {
        if let syn::Type::Path(path) = &*typed.ty {
            if let Some(ident) = path.path.get_ident() {
                let name = ident.to_string();
                if name.starts_with('u') || name.starts_with('i') {
                    return parse_quote!(0);
                }
            }
        }
    }
    parse_quote!(0.0)
}
