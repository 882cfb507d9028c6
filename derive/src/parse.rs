//! Reading the user's function: syn's syntax tree → the IR graph.
//!
//! Everything outside the supported language is reported here, at the user's tokens,
//! with what is supported instead. Lowering goes on after an error (with a placeholder
//! value), so that one build reports every problem.

use proc_macro2::{Ident, TokenStream};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{
    BinOp, Block, Expr, ExprCall, ExprMethodCall, FnArg, ItemFn, Lit, Local, Pat, ReturnType, Stmt, Type,
    UnOp,
};

use crate::diag::Errors;
use crate::ir::{FloatType, Graph, NodeId, Op, Param};
use crate::rules::{self, Arg, Prim};

/// A function, read: its graph and the node of its result.
pub struct Function {
    pub item: ItemFn,
    pub graph: Graph,
    pub output: NodeId,
}

const LANGUAGE: &str = "the body may contain `let` bindings, float literals and constants, \
                        unary `-`, `+ - * /`, float methods such as `exp` or `powi`, and \
                        chainrule's activation functions";

pub fn parse(attr: TokenStream, item: ItemFn) -> syn::Result<Function> {
    let mut errors = Errors::default();
    if !attr.is_empty() {
        errors.at(&attr, "`#[differentiate]` takes no arguments");
    }
    let float = signature(&item, &mut errors);
    let mut lower = Lower {
        graph: Graph::new(float),
        scopes: vec![Vec::new()],
        errors: &mut errors,
    };
    lower.params(&item);
    let output = lower.body(&item.block);
    let graph = lower.graph;
    errors.finish()?;
    Ok(Function { item, graph, output })
}

/// Checks the signature; returns the function's float type (f64 when it cannot be told).
fn signature(item: &ItemFn, errors: &mut Errors) -> FloatType {
    let sig = &item.sig;
    if let Some(token) = &sig.constness {
        errors.at(token, "`const fn` cannot be differentiated: remove `const`");
    }
    if let Some(token) = &sig.asyncness {
        errors.at(
            token,
            "`async fn` cannot be differentiated: it must compute its value directly",
        );
    }
    if let Some(token) = &sig.unsafety {
        errors.at(token, "`unsafe fn` cannot be differentiated: remove `unsafe`");
    }
    if let Some(abi) = &sig.abi {
        errors.at(abi, "`extern` functions cannot be differentiated");
    }
    if !sig.generics.params.is_empty() {
        errors.at(
            &sig.generics,
            "generic functions are not supported yet: write the function for f64 or f32",
        );
    } else if let Some(where_clause) = &sig.generics.where_clause {
        errors.at(
            where_clause,
            "a `where` clause is not supported: chainrule differentiates plain f64 and f32 functions",
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.at(variadic, "variadic functions cannot be differentiated");
    }
    let returned = match &sig.output {
        ReturnType::Default => {
            errors.at(
                &sig.ident,
                format_args!(
                    "`{}` has no return type: a differentiated function returns f64 or f32",
                    sig.ident
                ),
            );
            None
        }
        ReturnType::Type(_, ty) => {
            let float = float_type(ty);
            if float.is_none() {
                errors.at(
                    ty,
                    format_args!(
                        "the return type `{}` is not a float: a differentiated function returns f64 or f32",
                        tokens(ty)
                    ),
                );
            }
            float
        }
    };
    let float = returned
        .or_else(|| {
            sig.inputs.iter().find_map(|input| match input {
                FnArg::Typed(typed) => float_type(&typed.ty),
                FnArg::Receiver(_) => None,
            })
        })
        .unwrap_or(FloatType::F64);
    for input in &sig.inputs {
        let FnArg::Typed(typed) = input else { continue };
        if let Some(other) = float_type(&typed.ty).filter(|&t| t != float) {
            errors.at(
                &typed.ty,
                format_args!(
                    "this parameter is {} but the function computes in {}: use one float type per function",
                    other.name(),
                    float.name()
                ),
            );
        }
    }
    float
}

/// `f64` or `f32`, written as a bare type name.
fn float_type(ty: &Type) -> Option<FloatType> {
    match ty {
        Type::Path(path) if path.qself.is_none() => {
            if path.path.is_ident("f64") {
                Some(FloatType::F64)
            } else if path.path.is_ident("f32") {
                Some(FloatType::F32)
            } else {
                None
            }
        }
        Type::Paren(inner) => float_type(&inner.elem),
        Type::Group(inner) => float_type(&inner.elem),
        _ => None,
    }
}

fn is_integer_type(ty: &Type) -> bool {
    const INTEGERS: &[&str] = &[
        "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize",
    ];
    matches!(ty, Type::Path(path) if INTEGERS.iter().any(|name| path.path.is_ident(name)))
}

/// Tokens as the user would write them (`Vec<f64>`, not `Vec < f64 >`).
fn tokens(tokens: impl ToTokens) -> String {
    let mut text = tokens.to_token_stream().to_string();
    for (spaced, tight) in [
        (" :: ", "::"),
        (":: ", "::"),
        (" < ", "<"),
        ("< ", "<"),
        (" >", ">"),
        (" ,", ","),
        ("& ", "&"),
        (" (", "("),
        ("( ", "("),
        (" )", ")"),
        (" [", "["),
        ("[ ", "["),
        (" ]", "]"),
        (" ;", ";"),
        (" . ", "."),
    ] {
        text = text.replace(spaced, tight);
    }
    text
}

struct Lower<'e> {
    graph: Graph,
    /// Variables in scope, innermost block last; a later binding shadows an earlier one.
    scopes: Vec<Vec<(Ident, NodeId)>>,
    errors: &'e mut Errors,
}

impl Lower<'_> {
    fn params(&mut self, item: &ItemFn) {
        for input in &item.sig.inputs {
            let typed = match input {
                FnArg::Receiver(receiver) => {
                    self.errors.at(
                        receiver,
                        "methods cannot be differentiated yet: write a free function and pass the values it needs",
                    );
                    continue;
                }
                FnArg::Typed(typed) => typed,
            };
            if !matches!(&*typed.pat, Pat::Ident(_) | Pat::Paren(_) | Pat::Wild(_)) {
                self.errors.at(
                    &typed.pat,
                    "destructuring parameters are not supported: take each float as its own parameter (`a: f64, b: f64`)",
                );
                continue;
            }
            match &*typed.ty {
                Type::Reference(reference) => self.errors.at(
                    reference,
                    "reference parameters are not supported: pass the float by value (`x: f64`)",
                ),
                ty if float_type(ty).is_none() => self.errors.at(
                    ty,
                    format_args!(
                        "a parameter of type `{}` cannot be differentiated: parameters must be f64 or f32",
                        tokens(ty)
                    ),
                ),
                _ => {}
            }
            let Some(ident) = self.binding(&typed.pat, "parameter") else {
                continue;
            };
            let index = self.graph.params.len();
            let node = self.graph.add(Op::Param(index), Vec::new());
            self.graph.name(node, &ident);
            self.graph.set_span(node, ident.span());
            self.graph.params.push(Param {
                ident: ident.clone(),
                node,
            });
            self.bind(ident, node);
        }
    }

    /// The identifier a pattern binds, or an error: only plain `x` is supported.
    fn binding(&mut self, pat: &Pat, what: &str) -> Option<Ident> {
        match pat {
            Pat::Wild(_) => {
                self.errors.at(
                    pat,
                    format_args!("a {what} needs a name: write `_x` for one you do not use"),
                );
                None
            }
            Pat::Ident(binding) => {
                if let Some(token) = &binding.by_ref {
                    self.errors.at(token, "`ref` bindings are not supported");
                }
                if let Some(token) = &binding.mutability {
                    self.errors.at(
                        token,
                        format_args!("a mutable {what} is not supported yet: bind a new variable with `let` instead of mutating"),
                    );
                }
                if let Some((at, _)) = &binding.subpat {
                    self.errors.at(at, "`@` patterns are not supported");
                }
                Some(binding.ident.clone())
            }
            Pat::Paren(inner) => self.binding(&inner.pat, what),
            _ => {
                self.errors.at(
                    pat,
                    format_args!(
                        "destructuring patterns are not supported: a {what} binds one name, as in `x`"
                    ),
                );
                None
            }
        }
    }

    fn bind(&mut self, ident: Ident, node: NodeId) {
        if let Some(scope) = self.scopes.last_mut() {
            scope.push((ident, node));
        }
    }

    fn lookup(&self, ident: &Ident) -> Option<NodeId> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|scope| scope.iter().rev())
            .find(|(name, _)| name == ident)
            .map(|&(_, node)| node)
    }

    /// A value to go on with after an error; never emitted, since errors stop expansion.
    fn placeholder(&mut self) -> NodeId {
        self.graph.constant(0.0)
    }

    fn body(&mut self, block: &Block) -> NodeId {
        self.block(block, true)
    }

    /// A block's value: its statements, then its final expression (or, at the top level
    /// of the function, `return expr;` as its last statement).
    fn block(&mut self, block: &Block, function_body: bool) -> NodeId {
        self.scopes.push(Vec::new());
        let mut value = None;
        let last = block.stmts.len().saturating_sub(1);
        for (index, stmt) in block.stmts.iter().enumerate() {
            let is_last = index == last;
            match stmt {
                Stmt::Local(local) => self.local(local),
                Stmt::Item(item) => self.errors.at(
                    item,
                    "items inside a differentiated function are not supported: define it outside the function",
                ),
                Stmt::Macro(mac) => self.unsupported_macro(&mac.mac),
                Stmt::Expr(Expr::Return(ret), _) => {
                    if !(function_body && is_last) {
                        self.errors.at(
                            ret,
                            "early `return` is not supported: `return` may only be the function's last statement",
                        );
                    }
                    match &ret.expr {
                        Some(expr) => value = Some(self.expr(expr)),
                        None => {
                            self.errors.at(ret, "`return` needs the function's value: `return expr;`");
                            value = Some(self.placeholder());
                        }
                    }
                }
                Stmt::Expr(expr, None) if is_last => value = Some(self.expr(expr)),
                Stmt::Expr(expr, _) => {
                    // Evaluated for its diagnostics only: a pure expression has no effect.
                    self.expr(expr);
                }
            }
        }
        self.scopes.pop();
        value.unwrap_or_else(|| {
            let closing = block.brace_token.span.close();
                        let error = match block.stmts.last() {
                Some(Stmt::Expr(_, Some(semi))) => syn::Error::new_spanned(
                    semi,
                    "this `;` leaves the block without a value: remove it, so that the block ends with its value",
                ),
                Some(Stmt::Local(_)) => syn::Error::new(
                    closing,
                    "the block ends with a `let`: end it with the value (an expression without `;`)",
                ),
                _ => syn::Error::new(closing, "this block has no value: end it with an expression (without `;`)"),
            };
            self.errors.push(error);
            self.placeholder()
        })
    }

    fn local(&mut self, local: &Local) {
        let (pat, ty) = match &local.pat {
            Pat::Type(typed) => (&*typed.pat, Some(&*typed.ty)),
            pat => (pat, None),
        };
        if let Some(ty) = ty {
            self.check_annotation(ty);
            if is_integer_type(ty) {
                return; // reported; its value is an integer, not worth a second error
            }
        }
        let ident = match pat {
            Pat::Wild(_) => None,
            Pat::Ident(_) | Pat::Paren(_) => self.binding(pat, "variable"),
            pat => {
                self.errors.at(
                    pat,
                    "destructuring patterns are not supported: bind one name at a time (`let a = x; let b = y;`)",
                );
                return;
            }
        };
        let Some(init) = &local.init else {
            self.errors.at(
                local,
                "a `let` without a value is not supported: write `let x = value;`",
            );
            return;
        };
        if let Some((else_token, _)) = &init.diverge {
            self.errors.at(else_token, "`let … else` is not supported");
        }
        let value = self.expr(&init.expr);
        if let Some(ident) = ident {
            self.graph.name(value, &ident);
            self.bind(ident, value);
        }
    }

    fn check_annotation(&mut self, ty: &Type) {
        let float = self.graph.float;
        match float_type(ty) {
            Some(annotated) if annotated == float => {}
            Some(other) => self.errors.at(
                ty,
                format_args!(
                    "this `let` is {} but the function computes in {}: use one float type per function",
                    other.name(),
                    float.name()
                ),
            ),
            None if is_integer_type(ty) => self.errors.at(
                ty,
                format_args!(
                    "integer variables are not supported: a `let` holds an {} value (integers may appear only as `powi` exponents)",
                    float.name()
                ),
            ),
            None => self.errors.at(
                ty,
                format_args!(
                    "a `let` of type `{}` is not supported: variables hold {} values",
                    tokens(ty),
                    float.name()
                ),
            ),
        }
    }

    fn expr(&mut self, expr: &Expr) -> NodeId {
        let node = self.expr_inner(expr);
        self.graph.set_span(node, expr.span());
        node
    }

    fn expr_inner(&mut self, expr: &Expr) -> NodeId {
        match expr {
            Expr::Lit(lit) => self.float_literal(&lit.lit),
            Expr::Path(path) if path.qself.is_none() => {
                if let Some(ident) = path.path.get_ident() {
                    if let Some(node) = self.lookup(ident) {
                        return node;
                    }
                }
                // Not a variable: a named constant (`PI`, a user's `const`), which rustc
                // resolves and type-checks where the generated code uses it.
                let index = self.graph.named_index(&path.path);
                self.graph.add(Op::Named(index), Vec::new())
            }
            Expr::Paren(inner) => self.expr(&inner.expr),
            Expr::Group(inner) => self.expr(&inner.expr),
            Expr::Block(block) if block.label.is_none() => self.block(&block.block, false),
            Expr::Unary(unary) => match unary.op {
                UnOp::Neg(_) => {
                    let operand = self.expr(&unary.expr);
                    self.graph.neg(operand)
                }
                UnOp::Not(token) => self.error(
                    token,
                    "`!` is not supported: there are no booleans or bit operations on floats",
                ),
                UnOp::Deref(token) => self.error(token, "references are not supported: use float values"),
                _ => self.error(unary, "this operator is not supported"),
            },
            Expr::Binary(binary) => self.binary(binary),
            Expr::MethodCall(call) => self.method_call(call),
            Expr::Call(call) => self.call(call),
            _ => self.unsupported(expr),
        }
    }

    fn binary(&mut self, binary: &syn::ExprBinary) -> NodeId {
        let prim = match binary.op {
            BinOp::Add(_) => Some(Prim::Add),
            BinOp::Sub(_) => Some(Prim::Sub),
            BinOp::Mul(_) => Some(Prim::Mul),
            BinOp::Div(_) => Some(Prim::Div),
            _ => None,
        };
        let lhs = self.expr(&binary.left);
        let rhs = self.expr(&binary.right);
        let Some(prim) = prim else {
            let op = &binary.op;
            let message = match op {
                BinOp::Rem(_) => "the remainder `%` is not supported: the supported operators are unary `-` and binary `+ - * /`".to_string(),
                BinOp::BitAnd(_) | BinOp::BitOr(_) | BinOp::BitXor(_) | BinOp::Shl(_) | BinOp::Shr(_) => format!(
                    "the bit operator `{}` is not supported on floats: the supported operators are unary `-` and binary `+ - * /`",
                    tokens(op)
                ),
                BinOp::And(_) | BinOp::Or(_) => format!("boolean `{}` is not supported: there are no boolean values yet", tokens(op)),
                BinOp::Eq(_) | BinOp::Ne(_) | BinOp::Lt(_) | BinOp::Le(_) | BinOp::Gt(_) | BinOp::Ge(_) => format!(
                    "a comparison (`{}`) cannot be used as a value: a differentiated function computes with floats only",
                    tokens(op)
                ),
                _ => format!(
                    "`{}` mutates a variable: mutation is not supported yet; bind a new variable with `let` instead",
                    tokens(op)
                ),
            };
            return self.error(op, message);
        };
        self.graph.prim(prim, &[lhs, rhs])
    }

    fn method_call(&mut self, call: &ExprMethodCall) -> NodeId {
        if let Some(turbofish) = &call.turbofish {
            self.errors
                .at(turbofish, "type arguments on a method call are not supported");
        }
        let mut args = vec![&*call.receiver];
        args.extend(call.args.iter());
        let name = call.method.to_string();
        match rules::method(&name) {
            Some(prim) => {
                let form = format!("`x.{name}(…)`");
                self.apply(prim, &args, &form, 1, &call.method)
            }
            None => {
                self.args_for_diagnostics(&args);
                let hint = match rules::function(&name) {
                    Some(_) => format!("; `{name}` is an activation function: call it as `{name}(x)`"),
                    None => String::new(),
                };
                self.error(
                    &call.method,
                    format!(
                        "unsupported method `{name}`: the differentiable float methods are {}{hint}",
                        rules::supported_methods()
                    ),
                )
            }
        }
    }

    fn call(&mut self, call: &ExprCall) -> NodeId {
        let args: Vec<&Expr> = call.args.iter().collect();
        let Expr::Path(func) = &*call.func else {
            self.args_for_diagnostics(&args);
            return self.error(&call.func, "only calls of functions by name are supported");
        };
        let path = &func.path;
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if let Some(generic) = path.segments.iter().find(|s| !s.arguments.is_none()) {
            self.errors
                .at(&generic.arguments, "type arguments on a call are not supported");
        }
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let prim = match segments.as_slice() {
            [name] | ["chainrule", name] => rules::function(name),
            ["f64" | "f32", name] if func.qself.is_none() => rules::method(name),
            _ => None,
        };
        match prim {
            Some(prim) => {
                let form = format!("`{}`", tokens(path));
                self.apply(prim, &args, &form, 0, path)
            }
            None => {
                self.args_for_diagnostics(&args);
                let name = segments.last().copied().unwrap_or_default();
                let message = match segments.as_slice() {
                    ["f64" | "f32", _] => format!(
                        "unsupported function `{}`: the differentiable float methods are {}",
                        tokens(path),
                        rules::supported_methods()
                    ),
                    _ => format!(
                        "unknown function `{}`: chainrule differentiates the activation functions {} \
                         and the float methods ({}); calling your own functions is not supported yet",
                        tokens(path).replace(' ', ""),
                        rules::supported_functions(),
                        if rules::method(name).is_some() {
                            format!("write `x.{name}()`")
                        } else {
                            "`x.exp()`, …".to_string()
                        }
                    ),
                };
                self.error(path, message)
            }
        }
    }

    /// `prim` applied to `args`, after checking their number and kinds.
    /// `form` is how the user called it (`` `x.max(…)` ``, `` `f64::max` ``); `receiver` is 1
    /// for a method call, whose receiver is an argument but not counted as one.
    fn apply(
        &mut self,
        prim: Prim,
        args: &[&Expr],
        form: &str,
        receiver: usize,
        at: &impl ToTokens,
    ) -> NodeId {
        let rule = prim.rule();
        if args.len() != rule.args.len() {
            self.args_for_diagnostics(args);
            let count = |n: usize| format!("{n} argument{}", if n == 1 { "" } else { "s" });
            let message = format!(
                "{form} takes {}, found {}",
                count(rule.args.len().saturating_sub(receiver)),
                args.len().saturating_sub(receiver)
            );
            return self.error(at, message);
        }
        let nodes: Vec<NodeId> = args
            .iter()
            .zip(rule.args)
            .map(|(arg, kind)| match kind {
                Arg::Float => self.expr(arg),
                Arg::Int => self.int(arg, rule.name),
            })
            .collect();
        self.graph.prim(prim, &nodes)
    }

    /// An integer argument: a literal, a negated literal, or a named constant.
    fn int(&mut self, expr: &Expr, method: &str) -> NodeId {
        match expr {
            Expr::Lit(syn::ExprLit { lit: Lit::Int(int), .. }) => match int.base10_parse::<i32>() {
                Ok(value) => self.graph.add(Op::Int { named: None, offset: value.into() }, Vec::new()),
                Err(_) => self.error(int, format!("the exponent of `{method}` must fit in an i32")),
            },
            Expr::Unary(syn::ExprUnary { op: UnOp::Neg(_), expr: inner, .. }) => {
                if let Expr::Lit(syn::ExprLit { lit: Lit::Int(int), .. }) = &**inner {
                    // Parsed with its sign, so that i32::MIN fits.
                    return match format!("-{}", int.base10_digits()).parse::<i32>() {
                        Ok(value) => self.graph.add(Op::Int { named: None, offset: value.into() }, Vec::new()),
                        Err(_) => self.error(expr, format!("the exponent of `{method}` must fit in an i32")),
                    };
                }
                let positive = self.int(inner, method);
                match *self.graph.op(positive) {
                    Op::Int { named: None, offset } => {
                        self.graph.add(Op::Int { named: None, offset: -offset }, Vec::new())
                    }
                    Op::Int { named: Some(_), .. } => self.error(
                        expr,
                        format!("a negated constant exponent is not supported yet: write `x.{method}(N).recip()`"),
                    ),
                    _ => positive, // already reported
                }
            }
            Expr::Paren(inner) => self.int(&inner.expr, method),
            Expr::Group(inner) => self.int(&inner.expr, method),
            Expr::Path(path) if path.qself.is_none() && path.path.get_ident().is_none_or(|ident| self.lookup(ident).is_none()) => {
                let index = self.graph.named_index(&path.path);
                self.graph.add(Op::Int { named: Some(index), offset: 0 }, Vec::new())
            }
            Expr::Lit(syn::ExprLit { lit: Lit::Float(_), .. }) => self.error(
                expr,
                format!("`{method}` takes an integer exponent: write `2`, or use `powf` for a float exponent"),
            ),
            _ => self.error(
                expr,
                format!("the exponent of `{method}` must be an integer literal or a constant; for a float exponent use `powf`"),
            ),
        }
    }

    fn float_literal(&mut self, lit: &Lit) -> NodeId {
        let parsed = match lit {
            Lit::Float(float) => match self.graph.float {
                FloatType::F64 => float.base10_parse::<f64>(),
                FloatType::F32 => float.base10_parse::<f32>().map(f64::from),
            },
            // `2f64`: an integer literal with a float suffix, which Rust accepts.
            Lit::Int(int) if matches!(int.suffix(), "f64" | "f32") => match self.graph.float {
                FloatType::F64 => int.base10_parse::<f64>(),
                FloatType::F32 => int.base10_parse::<f32>().map(f64::from),
            },
            Lit::Int(int) => {
                let float = self.graph.float.name();
                return self.error(
                    int,
                    format!(
                        "an integer literal where an {float} is expected: write `{}.0`",
                        int.base10_digits()
                    ),
                );
            }
            other => {
                let float = self.graph.float.name();
                return self.error(
                    other,
                    format!("this literal is not a number: an {float} is expected here"),
                );
            }
        };
        match parsed {
            Ok(value) => self.graph.constant(value),
            Err(error) => {
                self.errors.push(error);
                self.placeholder()
            }
        }
    }

    /// Lowers arguments only to report the errors inside them too.
    fn args_for_diagnostics(&mut self, args: &[&Expr]) {
        for arg in args {
            self.expr(arg);
        }
    }

    fn error(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) -> NodeId {
        self.errors.at(tokens, message);
        self.placeholder()
    }

    fn unsupported_macro(&mut self, mac: &syn::Macro) {
        self.errors.at(
            mac,
            format_args!(
                "the macro call `{}!(…)` is not supported: chainrule cannot see inside macros; write the computation out",
                tokens(&mac.path).replace(' ', "")
            ),
        );
    }

    fn unsupported(&mut self, expr: &Expr) -> NodeId {
        let what = match expr {
            Expr::If(e) => return self.error(e.if_token, "`if` is not supported yet: the body must be straight-line code; for `max(0, x)` use `relu(x)` or `x.max(0.0)`"),
            Expr::Match(e) => return self.error(e.match_token, "`match` is not supported yet: the body must be straight-line code"),
            Expr::ForLoop(e) => return self.error(e.for_token, "`for` loops are not supported yet: the body must be straight-line code"),
            Expr::While(e) => return self.error(e.while_token, "`while` loops are not supported yet: the body must be straight-line code"),
            Expr::Loop(e) => return self.error(e.loop_token, "`loop` is not supported yet: the body must be straight-line code"),
            Expr::Macro(e) => {
                self.unsupported_macro(&e.mac);
                return self.placeholder();
            }
            Expr::Closure(_) => "closures are not supported: write the expression inline",
            Expr::Reference(_) => "references are not supported: use float values",
            Expr::Assign(_) => "assignment is not supported yet: bind a new variable with `let` instead",
            Expr::Index(_) => "indexing is not supported yet: pass each float as its own parameter",
            Expr::Field(_) => "field access is not supported: pass each float as its own parameter",
            Expr::Tuple(_) | Expr::Array(_) | Expr::Repeat(_) | Expr::Struct(_) => {
                "tuples, arrays and structs are not supported yet: a differentiated function computes one float"
            }
            Expr::Cast(_) => "`as` casts are not supported: write float literals (`2.0`) and use `powi` for integer powers",
            Expr::Return(_) => "early `return` is not supported: `return` may only be the function's last statement",
            Expr::Unsafe(_) => "`unsafe` blocks are not supported",
            Expr::Async(_) | Expr::Await(_) => "`async` code is not supported",
            Expr::Try(_) => "the `?` operator is not supported",
            Expr::Range(_) => "ranges are not supported",
            Expr::Let(_) => "`let` expressions are not supported",
                        Expr::Break(_) | Expr::Continue(_) => "`break` and `continue` are not supported",
            Expr::Block(_) => "labelled blocks are not supported: remove the label",
            Expr::Path(_) => "qualified paths (`<T>::NAME`) are not supported: name the constant directly",
            _ => "this expression is not supported",
        };
        if what == "this expression is not supported" {
            self.error(expr, format!("{what}; {LANGUAGE}"))
        } else {
            self.error(expr, what)
        }
    }
}
