//! Iterator chains and closures, lowered on the syntax tree (spans kept) to the blocks
//! and `for` loops over index ranges that the rest of the front end reads, so that the
//! IR, the backward pass and the pictures need nothing new:
//!
//! ```text
//! xs.iter().zip(ys).map(|(x, y)| (x - y).powi(2)).sum::<f64>()
//!     →  { let mut sum = 0.0;
//!          for i in 0..xs.len().min(ys.len()) { let x = xs[i]; let y = ys[i]; sum += (x - y).powi(2); }
//!          sum }
//! let sq = |t: f64| t * t;  …  sq(a)   →   …  { let t: f64 = a; t * t }
//! ```
//!
//! An iterator is a count and the element at each position (a value, a tuple of them, or
//! a window `(base, start, len)` of a slice), then the `map`s and `filter`s applied per
//! element in the loop body; `chain` makes it several such segments, one loop each.
//! Closures are inlined where they are called (each captured variable must still be the
//! one the closure saw where it was written); the adaptors' closures are applied per
//! element. What is outside this language is an error at its tokens, saying what to
//! write instead, and the chain becomes `0.0` so that nothing follows from it.

use std::rc::Rc;

use proc_macro2::{Ident, Span};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{parse_quote, Block, Expr, ExprClosure, ExprMethodCall, Local, Pat, Stmt};

use super::diag::Errors;
use super::names::{mentions, Names};

/// The block with its iterator chains and closures lowered.
pub fn lowered(block: &Block, params: &[Ident], errors: &mut Errors) -> Block {
    let mut lower = Lowering {
        frames: vec![Frame::default()],
        names: Names::of(block),
        params: params.iter().map(Ident::to_string).collect(),
        pending: Vec::new(),
        errors,
    };
    let mut block = block.clone();
    lower.visit_block_mut(&mut block);
    block
}

/// A closure bound by `let name = |…| …;`, with what it saw where it was written.
struct Closure {
    closure: ExprClosure,
    /// The frames where it was written (the closures it may call, the names it sees).
    frames: Vec<Frame>,
    /// Each free variable and the binding it named there.
    captured: Vec<(Ident, Option<(usize, usize)>)>,
    /// Reported where it was written: its calls report nothing more.
    broken: bool,
}

#[derive(Clone, Default)]
struct Frame {
    closures: Vec<(Ident, Rc<Closure>)>,
    /// The names bound in this block so far, in order.
    lets: Vec<String>,
}

/// A function applied per element: a closure, a closure's name, or a path (`f64::max`,
/// `sigmoid`, another `#[differentiate]` function).
#[derive(Clone)]
enum Func {
    Closure(ExprClosure),
    Named(Rc<Closure>),
    Path(Expr),
}

/// What an iterator yields at a position.
#[derive(Clone)]
enum Elem {
    Value(Expr),
    Tuple(Vec<Elem>),
    /// A window of a slice, of `windows` and `chunks`.
    View(Box<View>),
}

/// `base[start..start + len]`
#[derive(Clone)]
struct View {
    base: Expr,
    start: Expr,
    len: Expr,
}

#[derive(Clone)]
enum Stage {
    Map(Func),
    Filter(Func),
}

/// One loop's worth of an iterator: the positions `start..end` (reversed if `rev`), the
/// element at position `pos`, then the stages applied per element.
#[derive(Clone)]
struct Seq {
    start: Expr,
    end: Expr,
    pos: Ident,
    elem: Elem,
    rev: bool,
    stages: Vec<Stage>,
}

/// What consumes an iterator.
enum Consumer {
    Sum {
        int: Option<Expr>,
    },
    Product {
        int: Option<Expr>,
    },
    Count,
    Fold(Expr, Func),
    /// `reduce(f)`, unwrapped, or defaulting to a value if there are no elements.
    Reduce(Func, Option<Expr>),
    ForEach(Func),
    Any(Func),
    All(Func),
    /// `collect()` into a `Vec`: pushed onto, element by element.
    Collect,
    /// A `for` loop's pattern and body.
    Body(Pat, Block),
}

struct Lowering<'e> {
    frames: Vec<Frame>,
    names: Names,
    /// The function's parameters (variables a `move` closure copies).
    params: Vec<String>,
    /// Copies to make before the loops of the chain being lowered: of a collection
    /// iterated by value (`w.into_iter()`, `zip(w)`), and of what a `move` closure
    /// captures, so that the loop body's assignments do not reach them.
    pending: Vec<Stmt>,
    errors: &'e mut Errors,
}

type Lowered<T> = Result<T, syn::Error>;

fn error(tokens: impl ToTokens, message: impl std::fmt::Display) -> syn::Error {
    syn::Error::new_spanned(tokens, message)
}

fn is_int_literal(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(_),
            ..
        })
    )
}

fn is_zero(expr: &Expr) -> bool {
    matches!(expr, Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(int), .. }) if int.base10_digits() == "0")
}

/// Known to be an integer by its form: a literal or a `len()`.
fn int_by_form(expr: &Expr) -> bool {
    is_int_literal(expr)
        || matches!(expr, Expr::MethodCall(call) if call.method == "len" && call.args.is_empty())
}

/// `a.max(b)` / `a.min(b)` with the operand whose form says "integer" as the receiver.
fn int_method(a: &Expr, b: &Expr, method: &str) -> Expr {
    let method = Ident::new(method, Span::call_site());
    let (a, b) = if int_by_form(b) && !int_by_form(a) {
        (b, a)
    } else {
        (a, b)
    };
    let a = group(a);
    parse_quote!(#a.#method(#b))
}

/// An expression as one operand, whatever its precedence (an invisible group).
fn group(expr: &Expr) -> Expr {
    match expr {
        Expr::Path(_)
        | Expr::Lit(_)
        | Expr::MethodCall(_)
        | Expr::Index(_)
        | Expr::Paren(_)
        | Expr::Group(_)
        | Expr::Field(_)
        | Expr::Call(_) => expr.clone(),
        other => Expr::Paren(syn::ExprParen {
            attrs: Vec::new(),
            paren_token: Default::default(),
            expr: Box::new(other.clone()),
        }),
    }
}

fn add(a: &Expr, b: &Expr) -> Expr {
    if is_zero(a) {
        return b.clone();
    }
    if is_zero(b) {
        return a.clone();
    }
    let (a, b) = (group(a), group(b));
    parse_quote!(#a + #b)
}

fn unparen(expr: &Expr) -> &Expr {
    match expr {
        Expr::Paren(inner) => unparen(&inner.expr),
        Expr::Group(inner) => unparen(&inner.expr),
        Expr::Reference(reference) => unparen(&reference.expr),
        other => other,
    }
}

/// Every `pos` in `elem` replaced by `with`.
fn substitute(elem: &Elem, pos: &Ident, with: &Expr) -> Elem {
    struct Replace<'a>(&'a Ident, &'a Expr);
    impl VisitMut for Replace<'_> {
        fn visit_expr_mut(&mut self, expr: &mut Expr) {
            if let Expr::Path(path) = expr {
                if path.path.is_ident(self.0) {
                    *expr = group(self.1);
                    return;
                }
            }
            syn::visit_mut::visit_expr_mut(self, expr);
        }
    }
    let replace = |expr: &Expr| {
        let mut expr = expr.clone();
        Replace(pos, with).visit_expr_mut(&mut expr);
        expr
    };
    match elem {
        Elem::Value(value) => Elem::Value(replace(value)),
        Elem::Tuple(parts) => Elem::Tuple(parts.iter().map(|p| substitute(p, pos, with)).collect()),
        Elem::View(view) => Elem::View(Box::new(View {
            base: replace(&view.base),
            start: replace(&view.start),
            len: replace(&view.len),
        })),
    }
}

const ADAPTORS: &str = "`iter`, `into_iter`, `copied`, `cloned`, `map`, `filter`, `zip`, `enumerate`, `rev`, `skip`, `take`, `step_by`, `chain`, `windows`, `chunks`";
const CONSUMERS: &str =
    "`sum`, `product`, `fold`, `count`, `reduce(…).unwrap()`, `any`, `all`, `for_each`, `collect` (into a `Vec`), or a `for` loop";

/// The methods that make an iterator from a collection, or change one.
fn is_iterator_method(name: &str) -> bool {
    matches!(
        name,
        "iter"
            | "into_iter"
            | "copied"
            | "cloned"
            | "map"
            | "filter"
            | "zip"
            | "enumerate"
            | "rev"
            | "skip"
            | "take"
            | "step_by"
            | "chain"
            | "windows"
            | "chunks"
            | "chunks_exact"
            | "filter_map"
            | "flat_map"
            | "flatten"
            | "take_while"
            | "skip_while"
            | "map_while"
            | "scan"
            | "peekable"
            | "inspect"
            | "cycle"
            | "iter_mut"
            | "rows"
            | "columns"
            | "outer_iter"
    )
}

/// Whether `expr` is an iterator chain: its innermost receiver a range or a collection's
/// `iter()`, `windows(k)`…, every method on the way an iterator method.
fn is_chain(expr: &Expr) -> bool {
    match expr {
        Expr::Paren(inner) => is_chain(&inner.expr),
        Expr::Group(inner) => is_chain(&inner.expr),
        Expr::Range(_) => true,
        Expr::MethodCall(call) => {
            let name = call.method.to_string();
            is_iterator_method(&name)
                && (matches!(
                    name.as_str(),
                    "iter"
                        | "into_iter"
                        | "windows"
                        | "chunks"
                        | "chunks_exact"
                        | "iter_mut"
                        | "rows"
                        | "columns"
                        | "outer_iter"
                ) || is_chain(&call.receiver))
        }
        _ => false,
    }
}

/// A `for` loop the front end reads as it is: over a range, `(a..b).rev()`, or an
/// array's indices (`xs`, `&xs`, `xs.iter()`, `xs.iter().enumerate()`, and their `rev()`).
fn is_plain_loop(expr: &Expr) -> bool {
    fn elements(expr: &Expr) -> bool {
        match expr {
            Expr::Paren(inner) => elements(&inner.expr),
            Expr::Path(_) | Expr::Field(_) | Expr::Index(_) => true,
            Expr::Reference(reference) => elements(&reference.expr),
            Expr::MethodCall(call) if call.method == "iter" && call.args.is_empty() => {
                matches!(
                    unparen(&call.receiver),
                    Expr::Path(_) | Expr::Field(_) | Expr::Index(_)
                )
            }
            _ => false,
        }
    }
    fn enumerated(expr: &Expr) -> bool {
        matches!(expr, Expr::MethodCall(call) if call.method == "enumerate" && call.args.is_empty() && elements(&call.receiver))
    }
    match expr {
        Expr::Paren(inner) => is_plain_loop(&inner.expr),
        Expr::Range(_) => true,
        Expr::MethodCall(call) if call.method == "rev" && call.args.is_empty() => {
            matches!(unparen(&call.receiver), Expr::Range(_))
                || elements(&call.receiver)
                || enumerated(&call.receiver)
        }
        other => enumerated(other) || elements(other),
    }
}

/// The names a pattern binds.
fn pattern_names(pat: &Pat, into: &mut Vec<String>) {
    struct Names<'a>(&'a mut Vec<String>);
    impl<'ast> Visit<'ast> for Names<'_> {
        fn visit_pat_ident(&mut self, binding: &'ast syn::PatIdent) {
            self.0.push(binding.ident.to_string());
            syn::visit::visit_pat_ident(self, binding);
        }
    }
    Names(into).visit_pat(pat);
}

/// The variables a closure's body names that it does not bind itself.
fn free_variables(closure: &ExprClosure) -> Vec<Ident> {
    struct Free {
        named: Vec<Ident>,
        bound: Vec<String>,
    }
    impl<'ast> Visit<'ast> for Free {
        fn visit_expr_path(&mut self, path: &'ast syn::ExprPath) {
            if let Some(ident) = path.path.get_ident() {
                if !self.named.contains(ident) {
                    self.named.push(ident.clone());
                }
            }
        }
        fn visit_pat(&mut self, pat: &'ast Pat) {
            pattern_names(pat, &mut self.bound);
        }
        fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
            // `f(x)`: `f` is a function (or a closure), not a captured value.
            if !matches!(&*call.func, Expr::Path(_)) {
                self.visit_expr(&call.func);
            }
            call.args.iter().for_each(|arg| self.visit_expr(arg));
        }
    }
    let mut free = Free {
        named: Vec::new(),
        bound: Vec::new(),
    };
    for input in &closure.inputs {
        pattern_names(input, &mut free.bound);
    }
    free.visit_expr(&closure.body);
    let bound = free.bound;
    free.named.retain(|ident| !bound.iter().any(|b| ident == b));
    free.named
}

/// Closures the inliner cannot keep the meaning of.
fn check_closure(closure: &ExprClosure) -> Lowered<()> {
    struct Returns(Option<syn::Error>);
    impl<'ast> Visit<'ast> for Returns {
        fn visit_expr_return(&mut self, ret: &'ast syn::ExprReturn) {
            self.0.get_or_insert_with(|| {
                error(
                    ret,
                    "`return` inside a closure is not supported: make the closure's value its last expression",
                )
            });
        }
    }
    let mut returns = Returns(None);
    returns.visit_expr(&closure.body);
    if let Some(error) = returns.0 {
        return Err(error);
    }
    if let Some(asyncness) = &closure.asyncness {
        return Err(error(asyncness, "async closures are not supported"));
    }
    Ok(())
}

/// `let name = |…| …;`
fn closure_definition(local: &Local) -> Option<(&Ident, &ExprClosure)> {
    let Pat::Ident(binding) = &local.pat else {
        return None;
    };
    let init = local.init.as_ref()?;
    match unparen(&init.expr) {
        Expr::Closure(closure) if init.diverge.is_none() => Some((&binding.ident, closure)),
        _ => None,
    }
}

fn consumer_name(call: &ExprMethodCall) -> bool {
    matches!(
        call.method.to_string().as_str(),
        "sum"
            | "product"
            | "fold"
            | "count"
            | "reduce"
            | "for_each"
            | "any"
            | "all"
            | "max"
            | "min"
            | "collect"
            | "last"
            | "nth"
            | "position"
            | "find"
            | "max_by"
            | "min_by"
            | "max_by_key"
            | "min_by_key"
            | "len"
    )
}

impl Lowering<'_> {
    fn fresh(&mut self, hint: &str) -> Ident {
        self.names.fresh(hint)
    }

    /// Where `name` is bound now: (frame, position), or `None` (a parameter, a constant).
    fn resolve(&self, name: &Ident) -> Option<(usize, usize)> {
        self.frames
            .iter()
            .enumerate()
            .rev()
            .find_map(|(f, frame)| frame.lets.iter().rposition(|l| name == l).map(|p| (f, p)))
    }

    fn closure_named(&self, ident: &Ident) -> Option<Rc<Closure>> {
        for frame in self.frames.iter().rev() {
            // The later of a closure and a `let` of the same name wins.
            let closure = frame.closures.iter().rev().find(|(name, _)| name == ident);
            let shadowed = frame.lets.iter().rposition(|l| ident == l);
            match (closure, shadowed) {
                (Some((_, closure)), _) => return Some(closure.clone()),
                (None, Some(_)) => return None,
                (None, None) => {}
            }
        }
        None
    }

    fn bound(&mut self, name: String) {
        self.frames.last_mut().expect("a frame").lets.push(name);
    }

    /// A `move` closure copies what it captures where it is written: the copies, and
    /// the closure reading them.
    fn moved(&mut self, closure: &mut ExprClosure) -> Vec<Stmt> {
        if closure.capture.is_none() {
            return Vec::new();
        }
        let mut copies = Vec::new();
        for variable in free_variables(closure) {
            if self.resolve(&variable).is_none() && !self.params.iter().any(|p| variable == p) {
                continue;
            }
            let copy = self.fresh(&format!("{variable}_moved"));
            copies.push(parse_quote!(let #copy = #variable;));
            rename(&mut closure.body, &variable, &copy);
        }
        copies
    }

    /// `let name = |…| …;`: remembered, to be inlined where it is called; the
    /// statements that stand for it (a `move` closure's copies).
    fn define(&mut self, ident: &Ident, closure: &ExprClosure) -> Vec<Stmt> {
        let mut closure = closure.clone();
        let copies = self.moved(&mut closure);
        for copy in &copies {
            if let Stmt::Local(local) = copy {
                let mut names = Vec::new();
                pattern_names(&local.pat, &mut names);
                names.into_iter().for_each(|name| self.bound(name));
            }
        }
        let closure = &closure;
        let broken = match check_closure(closure) {
            Ok(()) => false,
            Err(error) => {
                self.errors.push(error);
                true
            }
        };
        let captured = free_variables(closure)
            .into_iter()
            .map(|v| {
                let at = self.resolve(&v);
                (v, at)
            })
            .collect();
        let definition = Rc::new(Closure {
            closure: closure.clone(),
            frames: self.frames.clone(),
            captured,
            broken,
        });
        let frame = self.frames.last_mut().expect("a frame");
        // A `let` of the same name before it no longer names the variable.
        frame.lets.retain(|l| ident != l);
        frame.closures.push((ident.clone(), definition));
        copies
    }

    /// A function given to an adaptor.
    fn func(&mut self, expr: &Expr) -> Lowered<Func> {
        match unparen(expr) {
            Expr::Closure(closure) => {
                check_closure(closure)?;
                let mut closure = closure.clone();
                let copies = self.moved(&mut closure);
                self.pending.extend(copies);
                Ok(Func::Closure(closure))
            }
            Expr::Path(path) => match path.path.get_ident().and_then(|i| self.closure_named(i)) {
                Some(closure) => Ok(Func::Named(closure)),
                None => Ok(Func::Path(expr.clone())),
            },
            other => Err(error(
                other,
                "give the adaptor a closure (`|x| x * x`) or a function by name (`f64::sqrt`)",
            )),
        }
    }

    /// `func(args…)`, lowered: a block binding the closure's parameters, then its body.
    fn apply(&mut self, func: &Func, args: Vec<Elem>, at: &dyn ToTokens) -> Lowered<Expr> {
        match func {
            Func::Closure(closure) => self.inline(closure, None, args, at),
            Func::Named(named) => {
                let named = named.clone();
                self.inline(&named.closure, Some(&named), args, at)
            }
            Func::Path(path) => {
                let mut values = Vec::new();
                for arg in args {
                    match arg {
                        Elem::Value(value) => values.push(value),
                        _ => {
                            return Err(error(
                                path,
                                "this function is given a pair or a window: pass a closure that takes it apart (`|(a, b)| …`)",
                            ))
                        }
                    }
                }
                Ok(parse_quote!(#path(#(#values),*)))
            }
        }
    }

    fn inline(
        &mut self,
        closure: &ExprClosure,
        named: Option<&Closure>,
        args: Vec<Elem>,
        at: &dyn ToTokens,
    ) -> Lowered<Expr> {
        if closure.inputs.len() != args.len() || named.is_some_and(|named| named.broken) {
            // Reported already, or by rustc, which reads the function as written.
            return Ok(parse_quote!(0.0));
        }
        if let Some(named) = named {
            for (variable, was) in &named.captured {
                if self.resolve(variable) != *was && self.frames.len() >= named.frames.len() {
                    return Err(error(
                        at,
                        format_args!(
                            "the closure reads `{variable}`, which is declared again between the closure and this call; the inlined closure would read the new one: rename one of them"
                        ),
                    ));
                }
            }
        }
        let mut body = (*closure.body).clone();
        let lets = self.bind_all(closure.inputs.iter().collect(), args, &mut body)?;
        let mut names = Vec::new();
        for input in &closure.inputs {
            pattern_names(input, &mut names);
        }
        let outer = named.map(|named| std::mem::replace(&mut self.frames, named.frames.clone()));
        self.frames.push(Frame {
            closures: Vec::new(),
            lets: names,
        });
        self.visit_expr_mut(&mut body);
        self.frames.pop();
        if let Some(outer) = outer {
            self.frames = outer;
        }
        Ok(if lets.is_empty() {
            group(&body)
        } else {
            parse_quote!({ #(#lets)* #body })
        })
    }

    /// The `let`s binding `pats` to `args` (through temporaries where a later argument
    /// names an earlier parameter); windows are substituted into `body`.
    fn bind_all(&mut self, pats: Vec<&Pat>, args: Vec<Elem>, body: &mut Expr) -> Lowered<Vec<Stmt>> {
        let mut pairs = Vec::new();
        let mut views = Vec::new();
        for (pat, arg) in pats.into_iter().zip(args) {
            self.bind(pat, arg, None, &mut pairs, &mut views)?;
        }
        let mut names = Vec::new();
        let clash = pairs
            .iter()
            .enumerate()
            .any(|(j, (_, value)): (usize, &(Pat, Expr))| {
                names.clear();
                for (pat, _) in &pairs[..j] {
                    pattern_names(pat, &mut names);
                }
                names.iter().any(|name| mentions(value.to_token_stream(), name))
            });
        let mut lets: Vec<Stmt> = Vec::new();
        if clash {
            let mut temporaries = Vec::new();
            for (_, value) in &pairs {
                let temporary = self.fresh("arg");
                lets.push(parse_quote!(let #temporary = #value;));
                temporaries.push(temporary);
            }
            for ((pat, _), temporary) in pairs.iter().zip(temporaries) {
                lets.push(parse_quote!(let #pat = #temporary;));
            }
        } else {
            for (pat, value) in &pairs {
                // `|x|` given `x`: nothing to bind.
                let same = matches!((pat, value), (Pat::Ident(p), Expr::Path(v)) if p.mutability.is_none() && v.path.is_ident(&p.ident));
                if !same {
                    lets.push(parse_quote!(let #pat = #value;));
                }
            }
        }
        for (name, base, start, len) in views {
            let j = self.fresh("j");
            let mut windows = Windows {
                name,
                base,
                start,
                len,
                j,
                misuse: None,
            };
            windows.visit_expr_mut(body);
            if let Some(misuse) = windows.misuse {
                return Err(misuse);
            }
        }
        Ok(lets)
    }

    fn bind(
        &mut self,
        pat: &Pat,
        arg: Elem,
        ty: Option<&syn::Type>,
        pairs: &mut Vec<(Pat, Expr)>,
        views: &mut Vec<(Ident, Expr, Expr, Expr)>,
    ) -> Lowered<()> {
        match (pat, arg) {
            (Pat::Wild(_), _) => Ok(()),
            (Pat::Paren(inner), arg) => self.bind(&inner.pat, arg, ty, pairs, views),
            (Pat::Reference(reference), arg) => self.bind(&reference.pat, arg, ty, pairs, views),
            (Pat::Type(typed), arg) => self.bind(&typed.pat, arg, Some(&typed.ty), pairs, views),
            (Pat::Ident(binding), Elem::Value(value))
                if binding.subpat.is_none() && binding.by_ref.is_none() =>
            {
                let ident = &binding.ident;
                let mutability = &binding.mutability;
                let name: Pat = parse_quote!(#mutability #ident);
                let pat = match ty {
                    Some(ty) if !matches!(ty, syn::Type::Reference(_) | syn::Type::Infer(_)) => {
                        Pat::Type(syn::PatType {
                            attrs: Vec::new(),
                            pat: Box::new(name),
                            colon_token: Default::default(),
                            ty: Box::new(ty.clone()),
                        })
                    }
                    _ => name,
                };
                pairs.push((pat, value));
                Ok(())
            }
            (Pat::Ident(binding), Elem::View(view)) if binding.subpat.is_none() => {
                let View { base, start, len } = *view;
                views.push((binding.ident.clone(), base, start, len));
                Ok(())
            }
            (Pat::Tuple(tuple), Elem::Tuple(parts)) if tuple.elems.len() == parts.len() => {
                for (pat, part) in tuple.elems.iter().zip(parts) {
                    self.bind(pat, part, None, pairs, views)?;
                }
                Ok(())
            }
            (Pat::Tuple(tuple), _) => Err(error(
                tuple,
                "this pattern takes apart a tuple, but the element here is not one of that size",
            )),
            (pat, Elem::Tuple(parts)) => Err(error(
                pat,
                format_args!(
                    "the element here is a tuple of {}: take it apart (`|(a, b)| …`)",
                    parts.len()
                ),
            )),
            (other, _) => Err(error(
                other,
                "a closure's parameter binds a name, `&x`, `_`, or a tuple of them (`|(i, &x)| …`)",
            )),
        }
    }

    /// The iterator `expr` makes.
    fn iterator(&mut self, expr: &Expr) -> Lowered<Vec<Seq>> {
        match expr {
            Expr::Paren(inner) => self.iterator(&inner.expr),
            Expr::Group(inner) => self.iterator(&inner.expr),
            Expr::Range(range) => {
                let (Some(start), Some(end)) = (&range.start, &range.end) else {
                    return Err(error(range, "an iterator over a range needs both ends: `a..b`"));
                };
                let (mut start, mut end) = ((**start).clone(), (**end).clone());
                self.visit_expr_mut(&mut start);
                self.visit_expr_mut(&mut end);
                if let syn::RangeLimits::Closed(_) = range.limits {
                    end = add(&end, &parse_quote!(1));
                }
                let pos = self.fresh("i");
                Ok(vec![Seq {
                    start,
                    end,
                    elem: Elem::Value(parse_quote!(#pos)),
                    pos,
                    rev: false,
                    stages: Vec::new(),
                }])
            }
            Expr::MethodCall(call) => self.method(call),
            // `for x in xs`, `zip(ys)`, `zip(&ys)`: the collection's elements.
            Expr::Reference(_) => Ok(vec![self.elements(expr, false)]),
            Expr::Path(_) | Expr::Field(_) | Expr::Index(_) => Ok(vec![self.elements(expr, true)]),
            other => Err(error(
                other,
                "iterate over a range (`0..n`), an array or slice (`xs`, `xs.iter()`), or an iterator chain over one",
            )),
        }
    }

    /// The elements of a collection; `by_value`: iterated by value (a copy of an array,
    /// which the loop body may then assign without changing the elements).
    fn elements(&mut self, collection: &Expr, by_value: bool) -> Seq {
        let mut base = unparen(collection).clone();
        self.visit_expr_mut(&mut base);
        let pos = self.fresh("i");
        let base = if by_value {
            let hint = match &base {
                Expr::Path(path) if path.path.get_ident().is_some() => {
                    format!("{}_elements", tokens_of(&base))
                }
                _ => "elements".to_string(),
            };
            let copy = self.fresh(&hint);
            self.pending.push(parse_quote!(let #copy = #base;));
            parse_quote!(#copy)
        } else {
            group(&base)
        };
        Seq {
            start: parse_quote!(0),
            end: parse_quote!(#base.len()),
            elem: Elem::Value(parse_quote!(#base[#pos])),
            pos,
            rev: false,
            stages: Vec::new(),
        }
    }

    fn method(&mut self, call: &ExprMethodCall) -> Lowered<Vec<Seq>> {
        let name = call.method.to_string();
        let args: Vec<&Expr> = call.args.iter().collect();
        let arity = |n: usize| -> Lowered<()> {
            if args.len() == n {
                Ok(())
            } else {
                Err(error(call, format_args!("`{name}` takes {n} argument(s)")))
            }
        };
        match name.as_str() {
            "iter" | "into_iter" | "copied" | "cloned" if is_chain(&call.receiver) => {
                arity(0)?;
                self.iterator(&call.receiver)
            }
            "iter" | "into_iter" => {
                arity(0)?;
                let by_value = name == "into_iter" && !matches!(&*call.receiver, Expr::Reference(_));
                Ok(vec![self.elements(&call.receiver, by_value)])
            }
            "iter_mut" => Err(error(
                &call.method,
                "`iter_mut` is supported as a `for` loop's elements (`for x in xs.iter_mut() { *x *= 2.0; }`, with `enumerate()`); elsewhere assign by index (`xs[i] = …`)",
            )),
            // A matrix's rows or columns (ndarray): `m.row(i)` for i in 0..m.nrows().
            "rows" | "columns" | "outer_iter" => {
                arity(0)?;
                let mut base = unparen(&call.receiver).clone();
                self.visit_expr_mut(&mut base);
                let base = group(&base);
                let pos = self.fresh("i");
                let (count, part) = match name.as_str() {
                    "columns" => (quote::format_ident!("ncols"), quote::format_ident!("column")),
                    _ => (quote::format_ident!("nrows"), quote::format_ident!("row")),
                };
                Ok(vec![Seq {
                    start: parse_quote!(0),
                    end: parse_quote!(#base.#count()),
                    elem: Elem::Value(parse_quote!(#base.#part(#pos))),
                    pos,
                    rev: false,
                    stages: Vec::new(),
                }])
            }
            "windows" | "chunks" | "chunks_exact" => {
                arity(1)?;
                let mut base = unparen(&call.receiver).clone();
                self.visit_expr_mut(&mut base);
                let base = group(&base);
                let mut size = args[0].clone();
                self.visit_expr_mut(&mut size);
                let size = group(&size);
                let len: Expr = parse_quote!(#base.len());
                let pos = self.fresh("i");
                let (end, start, view_len): (Expr, Expr, Expr) = match name.as_str() {
                    "windows" => (
                        parse_quote!((#len + 1).max(#size) - #size),
                        parse_quote!(#pos),
                        size.clone(),
                    ),
                    "chunks" => (
                        parse_quote!((#len + #size - 1) / #size),
                        parse_quote!(#pos * #size),
                        parse_quote!(#size.min(#len - #pos * #size)),
                    ),
                    _ => (parse_quote!(#len / #size), parse_quote!(#pos * #size), size.clone()),
                };
                Ok(vec![Seq {
                    start: parse_quote!(0),
                    end,
                    elem: Elem::View(Box::new(View {
                        base,
                        start,
                        len: view_len,
                    })),
                    pos,
                    rev: false,
                    stages: Vec::new(),
                }])
            }
            "copied" | "cloned" => Err(error(
                &call.method,
                format_args!("`{name}` applies to an iterator: `xs.iter().{name}()`"),
            )),
            "map" | "filter" => {
                arity(1)?;
                let mut seqs = self.iterator(&call.receiver)?;
                let func = self.func(args[0])?;
                for seq in &mut seqs {
                    seq.stages.push(match name.as_str() {
                        "map" => Stage::Map(func.clone()),
                        _ => Stage::Filter(func.clone()),
                    });
                }
                Ok(seqs)
            }
            "chain" => {
                arity(1)?;
                let mut seqs = self.iterator(&call.receiver)?;
                seqs.extend(self.iterator(args[0])?);
                Ok(seqs)
            }
            "rev" => {
                arity(0)?;
                let mut seqs = self.iterator(&call.receiver)?;
                if seqs.iter().any(|seq| seq.filtered()) {
                    return Err(error(
                        &call.method,
                        "`rev` after `filter` is not supported: reverse before filtering",
                    ));
                }
                seqs.reverse();
                for seq in &mut seqs {
                    seq.rev = !seq.rev;
                }
                Ok(seqs)
            }
            "enumerate" | "skip" | "take" | "step_by" | "zip" => {
                arity(if name == "enumerate" { 0 } else { 1 })?;
                let seq = self.indexable(&call.receiver, call)?;
                let len = seq.end.clone();
                let pos = seq.pos.clone();
                let k: Expr = parse_quote!(#pos);
                let (end, elem) = match name.as_str() {
                    "enumerate" => (len, Elem::Tuple(vec![Elem::Value(k), seq.elem])),
                    "zip" => {
                        let other = self.indexable(args[0], call)?;
                        let elem = substitute(&other.elem, &other.pos, &k);
                        self.names.release(&other.pos);
                        let same = other.end.to_token_stream().to_string() == len.to_token_stream().to_string();
                        let end = if same { len } else { int_method(&len, &other.end, "min") };
                        (end, Elem::Tuple(vec![seq.elem, elem]))
                    }
                    _ => {
                        let mut n = args[0].clone();
                        self.visit_expr_mut(&mut n);
                        let n = group(&n);
                        match name.as_str() {
                            "skip" => (
                                {
                                    // (`len` of a window is `end - start`: one operand.)
                                    let len = int_method(&len, &n, "max");
                                    parse_quote!(#len - #n)
                                },
                                substitute(&seq.elem, &pos, &parse_quote!(#pos + #n)),
                            ),
                            "take" => (int_method(&len, &n, "min"), seq.elem),
                            _ => (
                                parse_quote!((#len + #n - 1) / #n),
                                substitute(&seq.elem, &pos, &parse_quote!(#pos * #n)),
                            ),
                        }
                    }
                };
                Ok(vec![Seq {
                    start: parse_quote!(0),
                    end,
                    pos,
                    elem,
                    rev: false,
                    stages: Vec::new(),
                }])
            }
            "filter_map" | "flat_map" | "flatten" | "take_while" | "skip_while" | "map_while" | "scan"
            | "peekable" | "inspect" | "cycle" => Err(error(
                &call.method,
                format_args!(
                    "`{name}` is not supported in an iterator chain: the adaptors are {ADAPTORS}; for the rest, write a `for` loop"
                ),
            )),
            _ => Err(error(
                &call.method,
                format_args!("`{name}` is not an iterator adaptor: the adaptors are {ADAPTORS}"),
            )),
        }
    }

    /// The iterator `expr` makes as one sequence whose element at each position can be
    /// named (before any `filter`): counted from 0, not reversed, its `map`s applied.
    fn indexable(&mut self, expr: &Expr, call: &ExprMethodCall) -> Lowered<Seq> {
        let mut seqs = self.iterator(expr)?;
        if seqs.len() != 1 {
            return Err(error(
                &call.method,
                format_args!(
                    "`{}` after `chain` is not supported: apply it to each part before chaining",
                    call.method
                ),
            ));
        }
        let seq = seqs.pop().expect("one sequence");
        if seq.filtered() {
            return Err(error(
                &call.method,
                format_args!(
                    "`{}` after `filter` is not supported (which elements pass is known only as the loop runs): apply it before filtering, or write a `for` loop",
                    call.method
                ),
            ));
        }
        self.normalized(seq, call)
    }

    /// A sequence counted from 0, not reversed, its `map`s applied to the element.
    fn normalized(&mut self, mut seq: Seq, at: &dyn ToTokens) -> Lowered<Seq> {
        let len = seq.len();
        let k: Expr = {
            let pos = &seq.pos;
            parse_quote!(#pos)
        };
        let position = if seq.rev {
            let last: Expr = parse_quote!(#len - 1 - #k);
            add(&seq.start, &last)
        } else {
            add(&seq.start, &k)
        };
        let mut elem = substitute(&seq.elem, &seq.pos, &position);
        for stage in std::mem::take(&mut seq.stages) {
            if let Stage::Map(func) = stage {
                elem = Elem::Value(self.apply(&func, vec![elem], at)?);
            }
        }
        Ok(Seq {
            start: parse_quote!(0),
            end: len,
            pos: seq.pos,
            elem,
            rev: false,
            stages: Vec::new(),
        })
    }

    /// `chain.consumer(…)`, lowered to a block of loops.
    /// `unwrapped`: the `Option` it gives is unwrapped (or, `Some(v)`, defaults to `v`).
    fn consume(&mut self, call: &ExprMethodCall, unwrapped: Option<Option<Expr>>) -> Lowered<Expr> {
        let outer = std::mem::take(&mut self.pending);
        let result = self.consume_inner(call, unwrapped);
        self.pending = outer;
        result
    }

    fn consume_inner(&mut self, call: &ExprMethodCall, unwrapped: Option<Option<Expr>>) -> Lowered<Expr> {
        let name = call.method.to_string();
        let args: Vec<&Expr> = call.args.iter().collect();
        let arity = |n: usize| -> Lowered<()> {
            if args.len() == n {
                Ok(())
            } else {
                Err(error(call, format_args!("`{name}` takes {n} argument(s)")))
            }
        };
        let int = || -> Option<Expr> {
            let turbofish = call.turbofish.as_ref()?;
            let Some(syn::GenericArgument::Type(syn::Type::Path(ty))) = turbofish.args.first() else {
                return None;
            };
            let ident = ty.path.get_ident()?.to_string();
            const INTEGERS: &[&str] = &[
                "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize",
            ];
            INTEGERS.contains(&ident.as_str()).then(|| {
                syn::Expr::Lit(syn::ExprLit {
                    attrs: Vec::new(),
                    lit: syn::LitInt::new(&format!("0{ident}"), call.method.span()).into(),
                })
            })
        };
        let consumer = match name.as_str() {
            "sum" => {
                arity(0)?;
                Consumer::Sum { int: int() }
            }
            "product" => {
                arity(0)?;
                Consumer::Product { int: int() }
            }
            "count" | "len" => {
                arity(0)?;
                Consumer::Count
            }
            "fold" => {
                arity(2)?;
                let mut init = args[0].clone();
                self.visit_expr_mut(&mut init);
                Consumer::Fold(init, self.func(args[1])?)
            }
            "reduce" if unwrapped.is_some() => {
                arity(1)?;
                Consumer::Reduce(self.func(args[0])?, unwrapped.clone().flatten())
            }
            "reduce" => {
                return Err(error(
                    &call.method,
                    "`reduce` gives an `Option`: write `.reduce(f64::max).unwrap()`, or `.fold(f64::NEG_INFINITY, f64::max)`",
                ))
            }
            "for_each" => {
                arity(1)?;
                Consumer::ForEach(self.func(args[0])?)
            }
            "any" => {
                arity(1)?;
                Consumer::Any(self.func(args[0])?)
            }
            "all" => {
                arity(1)?;
                Consumer::All(self.func(args[0])?)
            }
            "max" | "min" | "max_by" | "min_by" | "max_by_key" | "min_by_key" => {
                return Err(error(
                    &call.method,
                    format_args!(
                        "`{name}` is not supported (floats are not `Ord`): write `.fold(f64::NEG_INFINITY, f64::{m})`, or `.reduce(f64::{m}).unwrap()`",
                        m = if name.starts_with("max") { "max" } else { "min" }
                    ),
                ))
            }
            "collect" => {
                arity(0)?;
                // `collect()` and `collect::<Vec<_>>()` make a `Vec`; anything else is not read.
                let into_vec = call.turbofish.as_ref().is_none_or(|turbofish| {
                    matches!(turbofish.args.first(), Some(syn::GenericArgument::Type(syn::Type::Path(ty)))
                        if ty.path.segments.last().is_some_and(|s| s.ident == "Vec"))
                });
                if !into_vec {
                    return Err(error(
                        call.turbofish.as_ref().map_or(&call.method as &dyn ToTokens, |t| t as &dyn ToTokens),
                        "an iterator is collected into a `Vec` only: `collect::<Vec<f64>>()`",
                    ));
                }
                Consumer::Collect
            }
            _ => {
                return Err(error(
                    &call.method,
                    format_args!("`{name}` is not supported on an iterator: consume it with {CONSUMERS}"),
                ))
            }
        };
        let seqs = self.iterator(&call.receiver)?;
        self.consume_with(seqs, consumer, call)
    }

    fn consume_with(&mut self, seqs: Vec<Seq>, consumer: Consumer, at: &dyn ToTokens) -> Lowered<Expr> {
        // The copies first: the count and the loops read them.
        let setup: Vec<Stmt> = std::mem::take(&mut self.pending);
        let mut stmts: Vec<Stmt> = Vec::new();
        let mut seqs = seqs;
        // `reduce(f).unwrap_or(v)`: the count, and `v`.
        let mut empty = None;
        let acc = match &consumer {
            Consumer::Sum { int } | Consumer::Product { int } => {
                let sum = matches!(consumer, Consumer::Sum { .. });
                let acc = self.fresh(if sum { "sum" } else { "product" });
                let init: Expr = match (int, sum) {
                    (Some(zero), true) => zero.clone(),
                    (Some(zero), false) => {
                        let suffix = match zero {
                            Expr::Lit(syn::ExprLit {
                                lit: syn::Lit::Int(int),
                                ..
                            }) => int.suffix().to_string(),
                            _ => String::new(),
                        };
                        let one = syn::LitInt::new(&format!("1{suffix}"), zero.span());
                        parse_quote!(#one)
                    }
                    // A sum of a range's integers.
                    (None, true) if seqs.iter().all(Seq::counts) => parse_quote!(0),
                    (None, false) if seqs.iter().all(Seq::counts) => parse_quote!(1),
                    // Rust's float `sum` starts at −0.0 (so that a sum of −0.0s is −0.0,
                    // and an empty one −0.0), which the sign of a later zero can show.
                    (None, true) => parse_quote!(-0.0),
                    (None, false) => parse_quote!(1.0),
                };
                stmts.push(parse_quote!(let mut #acc = #init;));
                Some(acc)
            }
            Consumer::Count => {
                if !seqs.iter().any(Seq::filtered) {
                    let lens: Vec<Expr> = seqs.iter().map(Seq::len).collect();
                    let count = lens.iter().skip(1).fold(lens[0].clone(), |a, b| add(&a, b));
                    return Ok(if setup.is_empty() {
                        count
                    } else {
                        parse_quote!({ #(#setup)* #count })
                    });
                }
                let acc = self.fresh("count");
                stmts.push(parse_quote!(let mut #acc = 0usize;));
                Some(acc)
            }
            Consumer::Fold(init, func) => {
                let acc = self.fresh(&accumulator_hint(func));
                stmts.push(parse_quote!(let mut #acc = #init;));
                Some(acc)
            }
            Consumer::Reduce(func, _) => {
                if seqs.len() != 1 {
                    return Err(error(at, "`reduce` after `chain` is not supported: write `fold`"));
                }
                let seq = seqs.pop().expect("one sequence");
                if seq.filtered() {
                    return Err(error(
                        at,
                        "`reduce` after `filter` is not supported: write `.fold(f64::NEG_INFINITY, f64::max)` (or its `min`)",
                    ));
                }
                let acc = self.fresh(&accumulator_hint(func));
                // The first element starts it; the loop goes over the rest.
                let mut seq = self.normalized(seq, at)?;
                let first = match substitute(&seq.elem, &seq.pos, &parse_quote!(0)) {
                    Elem::Value(first) => first,
                    _ => {
                        return Err(error(
                            at,
                            "`reduce` of pairs or windows is not supported: `map` them to a value first",
                        ))
                    }
                };
                stmts.push(parse_quote!(let mut #acc = #first;));
                empty = match consumer {
                    Consumer::Reduce(_, Some(ref default)) => Some((seq.end.clone(), default.clone())),
                    _ => None,
                };
                seq.start = parse_quote!(1);
                seqs.push(seq);
                Some(acc)
            }
            Consumer::Any(_) | Consumer::All(_) => {
                let any = matches!(consumer, Consumer::Any(_));
                let acc = self.fresh(if any { "any" } else { "all" });
                let init = !any;
                stmts.push(parse_quote!(let mut #acc = #init;));
                Some(acc)
            }
            Consumer::Collect => {
                let acc = self.fresh("collected");
                stmts.push(parse_quote!(let mut #acc = Vec::new();));
                Some(acc)
            }
            Consumer::ForEach(_) | Consumer::Body(..) => None,
        };
        for seq in seqs {
            let Seq {
                start,
                end,
                pos,
                elem,
                rev,
                stages,
            } = seq;
            let body = self.staged(&stages, elem, &consumer, acc.as_ref(), at)?;
            // A count the loop header cannot show at a glance gets a name.
            let end = if simple(&end) || int_by_form(&end) {
                end
            } else {
                let len = self.fresh("len");
                stmts.push(parse_quote!(let #len = #end;));
                parse_quote!(#len)
            };
            let range: Expr = if rev {
                parse_quote!((#start..#end).rev())
            } else {
                parse_quote!(#start..#end)
            };
            stmts.push(Stmt::Expr(
                with_body(parse_quote!(for #pos in #range {}), body),
                None,
            ));
        }
        Ok(match acc {
            Some(acc) => match empty {
                Some((len, default)) => {
                    parse_quote!({ #(#setup)* if #len == 0 { #default } else { #(#stmts)* #acc } })
                }
                None => parse_quote!({ #(#setup)* #(#stmts)* #acc }),
            },
            None if setup.is_empty() && stmts.len() == 1 => match stmts.pop() {
                Some(Stmt::Expr(expr, _)) => expr,
                _ => unreachable!("a loop"),
            },
            None => parse_quote!({ #(#setup)* #(#stmts)* }),
        })
    }

    /// The loop body for one element: the stages, then the consumer's step.
    fn staged(
        &mut self,
        stages: &[Stage],
        elem: Elem,
        consumer: &Consumer,
        acc: Option<&Ident>,
        at: &dyn ToTokens,
    ) -> Lowered<Vec<Stmt>> {
        match stages.split_first() {
            None => self.step(consumer, acc, elem, at),
            Some((Stage::Map(func), rest)) => {
                let value = self.apply(func, vec![elem], at)?;
                self.staged(rest, Elem::Value(value), consumer, acc, at)
            }
            Some((Stage::Filter(func), rest)) => {
                let mut stmts = Vec::new();
                let elem = self.materialize(elem, &mut stmts);
                let cond = self.apply(func, vec![elem.clone()], at)?;
                let inner = self.staged(rest, elem, consumer, acc, at)?;
                stmts.push(Stmt::Expr(with_body(parse_quote!(if #cond {}), inner), None));
                Ok(stmts)
            }
        }
    }

    /// The element with its computed parts bound to names (a filter reads it, and what
    /// follows reads it again).
    fn materialize(&mut self, elem: Elem, stmts: &mut Vec<Stmt>) -> Elem {
        match elem {
            Elem::Value(value) if simple(&value) => Elem::Value(value),
            Elem::Value(value) => {
                let name = self.fresh("item");
                stmts.push(parse_quote!(let #name = #value;));
                Elem::Value(parse_quote!(#name))
            }
            Elem::Tuple(parts) => {
                Elem::Tuple(parts.into_iter().map(|p| self.materialize(p, stmts)).collect())
            }
            view => view,
        }
    }

    /// The statements one element adds to the consumer.
    fn step(
        &mut self,
        consumer: &Consumer,
        acc: Option<&Ident>,
        elem: Elem,
        at: &dyn ToTokens,
    ) -> Lowered<Vec<Stmt>> {
        let value = |elem: Elem, what: &str| -> Lowered<Expr> {
            match elem {
                Elem::Value(value) => Ok(value),
                _ => Err(error(
                    at,
                    format_args!(
                        "the elements here are pairs or windows: `map` them to a value before `{what}`"
                    ),
                )),
            }
        };
        let acc_expr: Option<Expr> = acc.map(|acc| parse_quote!(#acc));
        Ok(match consumer {
            Consumer::Sum { .. } => {
                let value = value(elem, "sum")?;
                vec![parse_quote!(#acc += #value;)]
            }
            Consumer::Product { .. } => {
                let value = value(elem, "product")?;
                vec![parse_quote!(#acc *= #value;)]
            }
            Consumer::Count => vec![parse_quote!(#acc += 1;)],
            Consumer::Collect => {
                let value = value(elem, "collect")?;
                vec![parse_quote!(#acc.push(#value);)]
            }
            Consumer::Fold(_, func) | Consumer::Reduce(func, _) => {
                let acc_expr = acc_expr.expect("an accumulator");
                let value = self.apply(func, vec![Elem::Value(acc_expr), elem], at)?;
                vec![parse_quote!(#acc = #value;)]
            }
            Consumer::Any(func) => {
                let value = self.apply(func, vec![elem], at)?;
                vec![parse_quote!(#acc = #acc || #value;)]
            }
            Consumer::All(func) => {
                let value = self.apply(func, vec![elem], at)?;
                vec![parse_quote!(#acc = #acc && #value;)]
            }
            Consumer::ForEach(func) => {
                let value = self.apply(func, vec![elem], at)?;
                vec![parse_quote!(#value;)]
            }
            Consumer::Body(pat, block) => {
                let mut body = Expr::Block(syn::ExprBlock {
                    attrs: Vec::new(),
                    label: None,
                    block: block.clone(),
                });
                let mut stmts = self.bind_all(vec![pat], vec![elem], &mut body)?;
                let mut names = Vec::new();
                pattern_names(pat, &mut names);
                self.frames.push(Frame {
                    closures: Vec::new(),
                    lets: names,
                });
                self.visit_expr_mut(&mut body);
                self.frames.pop();
                match body {
                    Expr::Block(block) => stmts.extend(block.block.stmts),
                    other => stmts.push(Stmt::Expr(other, Some(Default::default()))),
                }
                stmts
            }
        })
    }
}

/// A value cheap and safe to read twice: a name, or an element of a named array.
fn simple(expr: &Expr) -> bool {
    match expr {
        Expr::Path(_) | Expr::Lit(_) => true,
        Expr::Index(index) => simple(&index.expr) && simple(&index.index),
        Expr::Binary(binary) => simple(&binary.left) && simple(&binary.right),
        Expr::Paren(inner) => simple(&inner.expr),
        Expr::Group(inner) => simple(&inner.expr),
        Expr::Field(field) => simple(&field.base),
        _ => false,
    }
}

fn accumulator_hint(func: &Func) -> String {
    let closure = match func {
        Func::Closure(closure) => Some(closure),
        Func::Named(named) => Some(&named.closure),
        Func::Path(_) => None,
    };
    match closure.and_then(|c| c.inputs.first()) {
        Some(Pat::Ident(binding)) => binding.ident.to_string(),
        Some(Pat::Type(typed)) => match &*typed.pat {
            Pat::Ident(binding) => binding.ident.to_string(),
            _ => "acc".to_string(),
        },
        _ => "acc".to_string(),
    }
}

impl Seq {
    /// The number of elements before any filter.
    fn len(&self) -> Expr {
        if is_zero(&self.start) {
            self.end.clone()
        } else {
            let end = int_method(&self.end, &self.start, "max");
            let start = group(&self.start);
            parse_quote!(#end - #start)
        }
    }

    fn filtered(&self) -> bool {
        self.stages.iter().any(|stage| matches!(stage, Stage::Filter(_)))
    }

    /// Whether it yields a range's integers as they are.
    fn counts(&self) -> bool {
        self.stages.is_empty()
            && matches!(&self.elem, Elem::Value(Expr::Path(p)) if p.path.is_ident(&self.pos))
    }
}

/// Inside a closure or loop body: a window `w` of a slice, read as `w[j]`, `w.len()`,
/// `w.iter()` or `for x in w`.
struct Windows {
    name: Ident,
    base: Expr,
    start: Expr,
    len: Expr,
    j: Ident,
    misuse: Option<syn::Error>,
}

impl Windows {
    fn is_window(&self, expr: &Expr) -> bool {
        matches!(unparen(expr), Expr::Path(path) if path.path.is_ident(&self.name))
    }

    /// The window as an iterator: `(start..start + len).map(|j| base[j])`.
    fn iterator(&self) -> Expr {
        let Windows {
            base, start, len, j, ..
        } = self;
        let end = add(start, len);
        parse_quote!((#start..#end).map(|#j| #base[#j]))
    }
}

impl VisitMut for Windows {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            Expr::Index(index) if self.is_window(&index.expr) => {
                self.visit_expr_mut(&mut index.index);
                let at = add(&self.start, &index.index);
                let base = &self.base;
                *expr = parse_quote!(#base[#at]);
            }
            Expr::MethodCall(call) if self.is_window(&call.receiver) && call.args.is_empty() => {
                match call.method.to_string().as_str() {
                    "len" => *expr = group(&self.len),
                    "iter" | "into_iter" => *expr = self.iterator(),
                    _ => syn::visit_mut::visit_expr_mut(self, expr),
                }
            }
            Expr::ForLoop(for_loop) if self.is_window(&for_loop.expr) => {
                *for_loop.expr = self.iterator();
                self.visit_block_mut(&mut for_loop.body);
            }
            Expr::Path(path) if path.path.is_ident(&self.name) => {
                self.misuse.get_or_insert_with(|| {
                    error(
                        &*path,
                        format_args!(
                            "`{}` is a window of a slice: read it by index (`{0}[0]`), `{0}.len()`, or iterate over it (`{0}.iter()`)",
                            self.name
                        ),
                    )
                });
            }
            _ => syn::visit_mut::visit_expr_mut(self, expr),
        }
    }
}

impl VisitMut for Lowering<'_> {
    fn visit_block_mut(&mut self, block: &mut Block) {
        self.frames.push(Frame::default());
        let mut stmts = Vec::new();
        for mut stmt in std::mem::take(&mut block.stmts) {
            if let Stmt::Local(local) = &stmt {
                if let Some((ident, closure)) = closure_definition(local) {
                    // Inlined where it is called: the definition itself goes.
                    stmts.extend(self.define(ident, closure));
                    continue;
                }
            }
            self.visit_stmt_mut(&mut stmt);
            if let Stmt::Local(local) = &stmt {
                let mut names = Vec::new();
                pattern_names(&local.pat, &mut names);
                for name in names {
                    self.bound(name);
                }
            }
            stmts.push(stmt);
        }
        block.stmts = stmts;
        self.frames.pop();
    }

    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            // `sq(a)` of a closure `sq`.
            Expr::Call(call) if self.callee(call).is_some() => {
                let closure = self.callee(call).expect("a closure");
                let mut args = Vec::new();
                for arg in &mut call.args {
                    self.visit_expr_mut(arg);
                    args.push(Elem::Value(arg.clone()));
                }
                let result = self.apply(&Func::Named(closure), args, &call.func);
                self.replace(expr, result);
            }
            // `.reduce(f).unwrap()`, `.unwrap_or(v)`, `.expect(…)`; after a consumer that
            // is an error, the `unwrap` goes with it.
            Expr::MethodCall(call)
                if matches!(
                    call.method.to_string().as_str(),
                    "unwrap" | "expect" | "unwrap_or"
                ) && matches!(&*call.receiver, Expr::MethodCall(inner) if consumer_name(inner) && is_chain(&inner.receiver)) =>
            {
                let Expr::MethodCall(inner) = &*call.receiver else {
                    unreachable!("a consumer")
                };
                let inner = inner.clone();
                let default = match (call.method.to_string().as_str(), call.args.first()) {
                    ("unwrap_or", Some(default)) => {
                        let mut default = default.clone();
                        self.visit_expr_mut(&mut default);
                        Some(default)
                    }
                    _ => None,
                };
                let result = self.consume(&inner, Some(default));
                self.replace(expr, result);
            }
            Expr::MethodCall(call) if consumer_name(call) && is_chain(&call.receiver) => {
                let call = call.clone();
                let result = self.consume(&call, None);
                self.replace(expr, result);
            }
            // Chains, and loops over elements that `break` (made index loops, which the
            // rewrite of jumps reads).
            // `for x in xs.iter_mut() { *x *= 2.0; }`: an index loop on `xs[i]`.
            Expr::ForLoop(for_loop) if mutable_elements(&for_loop.expr).is_some() => {
                match self.mutable_loop(for_loop) {
                    Ok(lowered) => {
                        *expr = lowered;
                        self.visit_expr_mut(expr);
                    }
                    Err(error) => {
                        self.errors.push(error);
                        *expr = parse_quote!({});
                    }
                }
            }
            Expr::ForLoop(for_loop)
                if (!is_plain_loop(&for_loop.expr) && is_chain(&for_loop.expr))
                    || (super::exits::leaves(&for_loop.body) && !is_range_loop(&for_loop.expr)) =>
            {
                let for_loop = for_loop.clone();
                let outer = std::mem::take(&mut self.pending);
                let result = self.iterator(&for_loop.expr).and_then(|seqs| {
                    self.consume_with(
                        seqs,
                        Consumer::Body((*for_loop.pat).clone(), for_loop.body.clone()),
                        &for_loop.expr,
                    )
                });
                self.pending = outer;
                match result {
                    Ok(mut lowered) => {
                        if let Some(label) = &for_loop.label {
                            if !label_loop(&mut lowered, label) {
                                self.errors.push(error(
                                    label,
                                    "a label on a loop over a `chain` is not supported: label a loop around it",
                                ));
                            }
                        }
                        *expr = lowered;
                    }
                    Err(error) => {
                        self.errors.push(error);
                        *expr = parse_quote!({});
                    }
                }
            }
            Expr::ForLoop(for_loop) => {
                self.visit_expr_mut(&mut for_loop.expr);
                let mut names = Vec::new();
                pattern_names(&for_loop.pat, &mut names);
                self.frames.push(Frame {
                    closures: Vec::new(),
                    lets: names,
                });
                self.visit_block_mut(&mut for_loop.body);
                self.frames.pop();
            }
            Expr::Path(path)
                if path
                    .path
                    .get_ident()
                    .is_some_and(|i| self.closure_named(i).is_some()) =>
            {
                let name = path.path.get_ident().expect("a name").clone();
                self.errors.push(error(
                    &*path,
                    format_args!(
                        "`{name}` is a closure: call it (`{name}(x)`) or give it to an iterator adaptor (`.map({name})`); it is inlined there, so it cannot be stored or passed on"
                    ),
                ));
                *expr = parse_quote!(0.0);
            }
            _ => syn::visit_mut::visit_expr_mut(self, expr),
        }
    }
}

impl Lowering<'_> {
    /// `for x in xs.iter_mut() { body }` (or `&mut xs`, or `.enumerate()` of it, binding
    /// `(i, x)`): `for i in 0..xs.len() { body }` with `*x` (and `x`) read and written as
    /// `xs[i]`.
    fn mutable_loop(&mut self, for_loop: &syn::ExprForLoop) -> Lowered<Expr> {
        let (base, enumerate) = mutable_elements(&for_loop.expr).expect("a mutable loop");
        let base = base.clone();
        let (index_pat, element) = match (&*for_loop.pat, enumerate) {
            (Pat::Ident(binding), false) if binding.subpat.is_none() => (None, binding.ident.clone()),
            (Pat::Tuple(tuple), true) if tuple.elems.len() == 2 => match &tuple.elems[1] {
                Pat::Ident(binding) if binding.subpat.is_none() => (Some(tuple.elems[0].clone()), binding.ident.clone()),
                other => return Err(error(other, "the element of `iter_mut()` binds a name: `for (i, x) in xs.iter_mut().enumerate()`")),
            },
            (other, _) => {
                return Err(error(
                    other,
                    "a loop over `iter_mut()` binds one name (`for x in xs.iter_mut()`), or `(i, x)` with `enumerate()`",
                ))
            }
        };
        let mut names = Vec::new();
        struct Binds<'a>(&'a mut Vec<String>);
        impl<'ast> Visit<'ast> for Binds<'_> {
            fn visit_pat(&mut self, pat: &'ast Pat) {
                pattern_names(pat, self.0);
            }
        }
        Binds(&mut names).visit_block(&for_loop.body);
        if names.iter().any(|n| element == n) {
            return Err(error(
                &element,
                format_args!(
                    "`{element}` is declared again inside this loop over `iter_mut()`: rename one of them"
                ),
            ));
        }
        let index = match &index_pat {
            Some(Pat::Ident(binding)) if binding.subpat.is_none() && binding.mutability.is_none() => {
                binding.ident.clone()
            }
            None | Some(Pat::Wild(_)) => self.fresh("i"),
            Some(other) => return Err(error(other, "the index of `enumerate()` binds a name or `_`")),
        };
        let place: Expr = parse_quote!(#base[#index]);
        struct Place<'a>(&'a Ident, &'a Expr);
        impl VisitMut for Place<'_> {
            fn visit_expr_mut(&mut self, expr: &mut Expr) {
                match expr {
                    Expr::Unary(unary)
                        if matches!(unary.op, syn::UnOp::Deref(_))
                            && matches!(&*unary.expr, Expr::Path(p) if p.path.is_ident(self.0)) =>
                    {
                        *expr = self.1.clone();
                    }
                    Expr::Path(path) if path.path.is_ident(self.0) => *expr = self.1.clone(),
                    _ => syn::visit_mut::visit_expr_mut(self, expr),
                }
            }
        }
        let mut body = for_loop.body.clone();
        Place(&element, &place).visit_block_mut(&mut body);
        let mut lowered: syn::ExprForLoop = parse_quote!(for #index in 0..#base.len() {});
        lowered.label = for_loop.label.clone();
        lowered.body = body;
        Ok(Expr::ForLoop(lowered))
    }

    fn callee(&self, call: &syn::ExprCall) -> Option<Rc<Closure>> {
        match &*call.func {
            Expr::Path(path) => path.path.get_ident().and_then(|ident| self.closure_named(ident)),
            _ => None,
        }
    }

    fn replace(&mut self, expr: &mut Expr, result: Lowered<Expr>) {
        match result {
            Ok(lowered) => *expr = lowered,
            Err(error) => {
                self.errors.push(error);
                let span = expr.span();
                *expr = syn::parse_quote_spanned!(span=> 0.0);
            }
        }
    }
}

/// Every `from` read in `expr` renamed `to`.
fn rename(expr: &mut Expr, from: &Ident, to: &Ident) {
    struct Rename<'a>(&'a Ident, &'a Ident);
    impl VisitMut for Rename<'_> {
        fn visit_expr_path_mut(&mut self, path: &mut syn::ExprPath) {
            if path.path.is_ident(self.0) {
                path.path = self.1.clone().into();
            }
        }
    }
    Rename(from, to).visit_expr_mut(expr);
}

fn tokens_of(expr: &Expr) -> String {
    expr.to_token_stream().to_string()
}

/// `a..b`, `a..=b` or `(a..b).rev()`.
fn is_range_loop(expr: &Expr) -> bool {
    match expr {
        Expr::Paren(inner) => is_range_loop(&inner.expr),
        Expr::Range(_) => true,
        Expr::MethodCall(call) if call.method == "rev" && call.args.is_empty() => {
            matches!(unparen(&call.receiver), Expr::Range(_))
        }
        _ => false,
    }
}

/// Puts `label` on the one loop of a lowered `for`: whether there was exactly one.
fn label_loop(lowered: &mut Expr, label: &syn::Label) -> bool {
    match lowered {
        Expr::ForLoop(for_loop) => {
            for_loop.label = Some(label.clone());
            true
        }
        Expr::Block(block) => {
            let mut loops = block.block.stmts.iter_mut().filter_map(|stmt| match stmt {
                Stmt::Expr(expr @ Expr::ForLoop(_), _) => Some(expr),
                _ => None,
            });
            match (loops.next(), loops.next()) {
                (Some(only), None) => label_loop(only, label),
                _ => false,
            }
        }
        _ => false,
    }
}

/// A `for` loop or an `if` with these statements as its body (built, not parsed: they may
/// be the user's).
fn with_body(mut expr: Expr, stmts: Vec<Stmt>) -> Expr {
    match &mut expr {
        Expr::ForLoop(for_loop) => for_loop.body.stmts = stmts,
        Expr::If(branch) => branch.then_branch.stmts = stmts,
        _ => unreachable!("a loop or an if"),
    }
    expr
}

/// `xs.iter_mut()`, `&mut xs`, and `.enumerate()` of either: the collection (a name), and
/// whether it is enumerated.
fn mutable_elements(expr: &Expr) -> Option<(&Expr, bool)> {
    match expr {
        Expr::Paren(inner) => mutable_elements(&inner.expr),
        Expr::MethodCall(call) if call.method == "enumerate" && call.args.is_empty() => {
            match mutable_elements(&call.receiver)? {
                (base, false) => Some((base, true)),
                _ => None,
            }
        }
        Expr::MethodCall(call) if call.method == "iter_mut" && call.args.is_empty() => {
            matches!(&*call.receiver, Expr::Path(_) | Expr::Field(_) | Expr::Index(_))
                .then_some((&*call.receiver, false))
        }
        Expr::Reference(reference) if reference.mutability.is_some() => {
            matches!(&*reference.expr, Expr::Path(_)).then_some((&*reference.expr, false))
        }
        _ => None,
    }
}
