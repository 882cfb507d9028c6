//! Reading the user's function: syn's syntax tree → the IR graph.
//!
//! Everything outside the supported language is reported here, at the user's tokens,
//! with what is supported instead. Lowering goes on after an error (with a placeholder
//! value), so that one build reports every problem.
//!
//! Variables become SSA values: `x = …` rebinds `x` to a new node. An `if` lowers each
//! branch in a region of its own and merges the variables they change; a loop lowers its
//! body once, in a region whose parameters are the variables it assigns.

use proc_macro2::{Ident, TokenStream};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{
    BinOp, Block, Expr, ExprCall, ExprMethodCall, FnArg, ItemFn, Lit, Local, Pat, ReturnType, Stmt, Type,
    UnOp,
};

use crate::ir::{
    Argument, CmpOp, Extras, FloatType, Function, Graph, Header, IntOp, Len, NodeId, Op, Param, Passing,
    Record, RegionId, Returns, Ty, VectorKind,
};
use crate::ops::{self, Arg, Prim};
use diag::Errors;

mod deferred;
pub mod diag;
mod exits;
pub mod helpers;
mod iterators;
mod names;
mod opaque;
pub mod records;
mod returns;
mod tensor;
mod tuples;

use tensor::{is_tensor_type, is_view_type};

const LANGUAGE: &str = "the body may contain `let` (and `let mut`) bindings, assignments, `if`, `match` on \
                        integers, `for` and `while` loops, iterator chains (`xs.iter().map(…).sum()`), closures, \
                        arrays, float literals and constants, `+ - * /`, float methods such as `exp` or `powi`, and chainrule's activation functions";

pub fn parse(attr: TokenStream, item: ItemFn) -> syn::Result<Function> {
    parse_with(attr, item, &records::Structs::default())
}

/// [`parse`], with the definitions of the structs its parameters name (from their derives).
pub fn parse_with(attr: TokenStream, item: ItemFn, structs: &records::Structs) -> syn::Result<Function> {
    parse_method(attr, item, structs, None)
}

/// [`parse_with`] for a method whose `self` (the parameter `data_self`, `self_`) is data
/// read field by field, the struct unseen (see [`opaque`]).
pub fn parse_method(
    attr: TokenStream,
    item: ItemFn,
    structs: &records::Structs,
    data_self: Option<&Ident>,
) -> syn::Result<Function> {
    let mut errors = Errors::default();
    let options = parse_attr(attr, &mut errors);
    let wrt = options.wrt;
    let mut extras = options.extras;
    // chainrule's `trace` and `source` features: as if every attribute asked.
    let trace_by_feature = cfg!(feature = "trace") && !extras.trace;
    extras.trace |= cfg!(feature = "trace");
    extras.source |= cfg!(feature = "source");
    extras.jvp |= cfg!(feature = "jvp");
    extras.hessian |= cfg!(feature = "hessian");
    let (float, generic, returns) = signature(&item, &mut errors);
    let lifetimes = item
        .sig
        .generics
        .lifetimes()
        .map(|lifetime| lifetime.to_token_stream())
        .collect();
    let mut graph = Graph::new(float);
    graph.generic = generic;
    graph.lifetimes = lifetimes;
    graph.consts = item
        .sig
        .generics
        .const_params()
        .map(|c| {
            let (ident, ty) = (&c.ident, &c.ty);
            (quote::quote!(const #ident: #ty), c.ident.clone())
        })
        .collect();
    let mut lower = Lower {
        graph,
        scopes: vec![Vec::new()],
        structs,
        fields: records::Fields::default(),
        pushed: Vec::new(),
        opaque: (None, Vec::new()),
        cutoff: None,
        returns: returns.clone(),
        annotated_call: None,
        errors: &mut errors,
    };
    // `self` as data: its reads become parameters, the body naming them.
    let (lowered, reads) = match data_self {
        Some(root) => {
            let mut names = names::Names::of(&item);
            let float = match (&lower.graph.generic, lower.graph.float) {
                (None, FloatType::F32) => Some("f32"),
                (None, _) => Some("f64"),
                (Some(_), _) => None,
            };
            let (block, reads) = opaque::rewritten(&item.block, root, float, &mut names, lower.errors);
            let mut lowered = item.clone();
            lowered.block = Box::new(block);
            (lowered, reads)
        }
        None => (item.clone(), Vec::new()),
    };
    lower.opaque = (data_self.cloned(), reads);
    lower.params(&lowered, wrt.as_deref());
    if let (Some(_), Some(record)) = (
        &options.backward,
        lower.graph.signature.iter().find_map(|a| match a {
            Argument::Record(record) => Some(record.ident.clone()),
            Argument::Param(_) => None,
        }),
    ) {
        lower.errors.at(
            &record,
            "a function with a custom backward rule takes floats and arrays, not a struct: pass the struct's fields",
        );
    }
    if let (Some(rule), None) = (&options.jvp, &options.backward) {
        lower.errors.at(
            rule,
            "`jvp = …` is a custom rule's forward rule: give its backward rule too (`backward = …, jvp = …`), or write `jvp` alone to have the body differentiated",
        );
    }
    if let (Some(rule), true) = (&options.backward, returns.is_vector()) {
        lower.errors.at(
            rule,
            "a custom backward rule is for a float-valued function: write a rule for each component (`fn f0(…) -> f64`), or let chainrule differentiate the body",
        );
    }
    if let Some(custom) = options.backward {
        // A custom rule: the body may be any Rust; its value comes from calling it.
        let output = lower.placeholder();
        let graph = lower.graph;
        errors.finish()?;
        return Ok(Function {
            item,
            graph,
            output,
            returns,
            custom: Some(custom),
            custom_jvp: options.jvp,
            extras,
            method: false,
        });
    }
    // A parameter the language cannot take stands in as a float: what the body does with it
    // would only repeat its error.
    let output = match lower.errors.is_empty() {
        true => lower.body(&lowered.block),
        false => lower.placeholder(),
    };
    let expected = match &returns {
        Returns::Float => matches!(lower.graph.ty(output), Ty::Float),
        Returns::Tuple(n) => lower.graph.ty(output) == &Ty::Array(Box::new(Ty::Float), Len::Lit(*n as u64)),
        Returns::Vector { kind, .. } => match (kind, lower.graph.ty(output)) {
            (VectorKind::Fixed, Ty::Array(element, len)) => **element == Ty::Float && *len != Len::Runtime,
            (VectorKind::Vec, Ty::Array(element, _)) => **element == Ty::Float,
            (VectorKind::Array1, ty) => ty == &Ty::tensor(1),
            _ => false,
        },
    };
    // (A vector-valued function's other errors come first: its value may be one's result.)
    if !expected && (!returns.is_vector() || lower.errors.is_empty()) {
        let found = describe(lower.graph.ty(output));
        let wanted = match &returns {
            Returns::Float => "a float".to_string(),
            Returns::Tuple(n) => format!("a tuple of {n} floats"),
            Returns::Vector { written, .. } => format!("`{written}`"),
        };
        lower.errors.at(
            &item.block,
            format_args!("the function returns {found}, not {wanted}"),
        );
    }
    let over_arrays = lower.graph.ids().any(|id| lower.graph.ty(id).is_tensor());
    if returns.is_vector() && extras.trace {
        // The trace shows the gradient flowing back from upstream 1: a float's.
        match trace_by_feature {
            true => extras.trace = false,
            false => lower.errors.at(
                &item.sig.output,
                "`trace` shows a gradient, and a vector-valued function has a Jacobian: trace a float-valued function of its result (`fn g(…) -> f64 { f(…)[0] }`), or see `f::graph()`",
            ),
        }
    }
    if over_arrays && trace_by_feature {
        // The feature asks for every function; this one cannot have a trace.
        extras.trace = false;
    } else if extras.trace && over_arrays {
        // The trace's recording code is written for floats and fixed-size arrays.
        lower.errors.at(
            &item.sig,
            "`trace` is not available yet for functions over ndarray arrays; `f::graph()` is",
        );
    }
    let (graph, cutoff) = (lower.graph, lower.cutoff);
    if let Some(cutoff) = cutoff {
        errors.truncate(cutoff);
    }
    errors.finish()?;
    Ok(Function {
        item,
        graph,
        output,
        returns,
        custom: None,
        custom_jvp: None,
        extras,
        method: false,
    })
}

/// What the attribute says.
#[derive(Default)]
struct Options {
    /// `wrt(a, b)`: the parameters to take the gradient with respect to.
    wrt: Option<Vec<Ident>>,
    /// `backward = path`: a custom backward rule.
    backward: Option<syn::Path>,
    /// `jvp = path`: its forward rule.
    jvp: Option<syn::Path>,
    /// `trace`, `source`: what else to generate.
    extras: Extras,
}

/// The parameters an attribute's `wrt(…)` names, if it has one (and parses).
pub fn wrt(attr: TokenStream) -> Option<Vec<Ident>> {
    parse_attr(attr, &mut Errors::default()).wrt
}

/// The attribute's arguments: `wrt(a, b)` naming the parameters to take the gradient
/// with respect to, and `backward = path` naming a custom backward rule.
fn parse_attr(attr: TokenStream, errors: &mut Errors) -> Options {
    let parser = |input: syn::parse::ParseStream| -> syn::Result<Options> {
        let mut options = Options::default();
        while !input.is_empty() {
            let keyword: Ident = input.parse()?;
            if keyword == "wrt" && options.wrt.is_none() {
                let content;
                syn::parenthesized!(content in input);
                let names = content.parse_terminated(Ident::parse_any_ident, syn::Token![,])?;
                if names.is_empty() {
                    return Err(syn::Error::new_spanned(
                        &keyword,
                        "`wrt()` names no parameter: name the parameters to differentiate with respect to, as `wrt(x, w)`, or leave `wrt` out for all of them",
                    ));
                }
                let names: Vec<Ident> = names.into_iter().collect();
                for (k, name) in names.iter().enumerate() {
                    if names[..k].contains(name) {
                        return Err(syn::Error::new_spanned(
                            name,
                            format_args!("`wrt`: `{name}` is named twice: name each parameter once"),
                        ));
                    }
                }
                options.wrt = Some(names);
            } else if keyword == "backward" && options.backward.is_none() {
                input.parse::<syn::Token![=]>()?;
                let rule: syn::Path = input.parse()?;
                // `crate`, `self`, `super` alone name a module, not a function.
                if rule.segments.last().is_some_and(|s| {
                    matches!(s.ident.to_string().as_str(), "crate" | "self" | "super" | "Self")
                }) {
                    return Err(syn::Error::new_spanned(
                        &rule,
                        "`backward = …` names the function computing the gradient, such as `backward = erf_backward`",
                    ));
                }
                options.backward = Some(rule);
            } else if keyword == "jvp" && input.peek(syn::Token![=]) && options.jvp.is_none() {
                input.parse::<syn::Token![=]>()?;
                options.jvp = Some(input.parse()?);
                options.extras.jvp = true;
            } else if let Some(flag) = options.extras.flag(&keyword) {
                *flag = true;
            } else {
                return Err(syn::Error::new_spanned(
                    &keyword,
                    "unknown argument: `#[differentiate]` takes `wrt(a, b)` (the parameters to differentiate with respect to), `backward = path` (a custom backward rule), `jvp` (also generate `f::jvp`, forward mode; `jvp = path` a custom rule's forward rule), `hessian` (also generate `f::hvp` and `f::hessian`), `trace` (also generate `f::trace`) and `source` (also generate `f::SOURCE`), each once",
                ));
            }
            if !input.is_empty() {
                input.parse::<syn::Token![,]>()?;
            }
        }
        Ok(options)
    };
    match syn::parse::Parser::parse2(parser, attr) {
        Ok(options) => options,
        Err(error) => {
            errors.push(error);
            Options::default()
        }
    }
}

trait ParseAnyIdent {
    fn parse_any_ident(input: syn::parse::ParseStream) -> syn::Result<Ident>;
}

impl ParseAnyIdent for Ident {
    fn parse_any_ident(input: syn::parse::ParseStream) -> syn::Result<Ident> {
        input.parse()
    }
}

fn signature(item: &ItemFn, errors: &mut Errors) -> (FloatType, Option<Ident>, Returns) {
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
    let generic = generic_float(&sig.generics, errors);
    if let Some(variadic) = &sig.variadic {
        errors.at(variadic, "variadic functions cannot be differentiated");
    }
    const RETURNS: &str = "a differentiated function returns a float (f64, f32), or a vector of floats: `[f64; 3]`, `Vec<f64>`, `Array1<f64>`, `(f64, f64)`";
    let (returned, returns) = match &sig.output {
        ReturnType::Default => {
            errors.at(
                &sig.ident,
                format_args!("`{}` has no return type: {RETURNS}", sig.ident),
            );
            (None, Returns::Float)
        }
        ReturnType::Type(_, ty) => match returned_type(ty, generic.as_ref()) {
            Some(found) => found,
            None => {
                errors.at(
                    ty,
                    format_args!("the return type `{}` is not a float: {RETURNS}", tokens(ty)),
                );
                (None, Returns::Float)
            }
        },
    };
    let float = returned
        .or_else(|| {
            sig.inputs.iter().find_map(|input| match input {
                FnArg::Typed(typed) => float_type(&typed.ty, generic.as_ref()),
                FnArg::Receiver(_) => None,
            })
        })
        .unwrap_or(FloatType::F64);
    (float, generic, returns)
}

/// A return type: a float, a fixed-size array, `Vec` or `Array1` of floats, or a tuple of
/// two or more floats (all of one float type).
fn returned_type(ty: &Type, generic: Option<&Ident>) -> Option<(Option<FloatType>, Returns)> {
    if let Some(float) = float_type(ty, generic) {
        return Some((Some(float), Returns::Float));
    }
    let element = |ty: &Type| float_type(ty, generic);
    match ty {
        Type::Paren(inner) => returned_type(&inner.elem, generic),
        Type::Group(inner) => returned_type(&inner.elem, generic),
        // (`From` converts tuples of up to 12 to arrays and back.)
        Type::Tuple(tuple) if (2..=12).contains(&tuple.elems.len()) => {
            let floats: Vec<Option<FloatType>> = tuple.elems.iter().map(element).collect();
            let first = floats[0]?;
            floats
                .iter()
                .all(|f| *f == Some(first))
                .then(|| (Some(first), Returns::Tuple(floats.len())))
        }
        Type::Array(array) => Some((
            Some(element(&array.elem)?),
            Returns::Vector {
                written: ty.to_token_stream(),
                len: Some(array.len.to_token_stream()),
                kind: VectorKind::Fixed,
            },
        )),
        Type::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last()?;
            if last.ident != "Vec" && last.ident != "Array1" {
                return None;
            }
            let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
                return None;
            };
            match args.args.iter().collect::<Vec<_>>().as_slice() {
                [syn::GenericArgument::Type(inner)] => {
                    let written = ty.to_token_stream();
                    let kind = match last.ident == "Vec" {
                        true => VectorKind::Vec,
                        false => VectorKind::Array1,
                    };
                    Some((
                        Some(element(inner)?),
                        Returns::Vector {
                            written,
                            len: None,
                            kind,
                        },
                    ))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// The one type parameter a generic function may have, `T: chainrule::Real` (in the
/// parameter list or a `where` clause), besides lifetimes; anything else is an error.
fn generic_float(generics: &syn::Generics, errors: &mut Errors) -> Option<Ident> {
    let is_real = |bound: &syn::TypeParamBound| matches!(bound, syn::TypeParamBound::Trait(t) if t.path.segments.last().is_some_and(|s| s.ident == "Real"));
    let message = "a generic differentiated function has one type parameter, its float type: `fn f<T: chainrule::Real>(x: T) -> T` (and lifetimes and const lengths: `fn f<'a, T: chainrule::Real, const N: usize>(xs: &'a [T], w: [T; N]) -> T`)";
    let mut found = None;
    for param in &generics.params {
        match param {
            syn::GenericParam::Type(t) if found.is_none() && t.default.is_none() => found = Some(t),
            syn::GenericParam::Lifetime(_) => {}
            // `const N: usize`: a length (see `parse`).
            syn::GenericParam::Const(c) if is_integer_type(&c.ty) && c.default.is_none() => {}
            other => errors.at(other, message),
        }
    }
    let Some(found) = found else {
        if let Some(where_clause) = &generics.where_clause {
            errors.at(
                where_clause,
                "a `where` clause without a type parameter is not supported: chainrule differentiates f64, f32 or `T: chainrule::Real` functions",
            );
        }
        return None;
    };
    let mut bounded = found.bounds.iter().any(is_real);
    if let Some(where_clause) = &generics.where_clause {
        for predicate in &where_clause.predicates {
            match predicate {
                syn::WherePredicate::Type(p) if matches!(&p.bounded_ty, Type::Path(t) if t.path.is_ident(&found.ident)) =>
                {
                    bounded |= p.bounds.iter().any(is_real);
                }
                other => errors.at(other, message),
            }
        }
    }
    if !bounded {
        errors.at(
            found,
            format_args!(
                "`{}` must be bounded by `chainrule::Real`: {message}",
                found.ident
            ),
        );
    }
    Some(found.ident.clone())
}

/// `f64` or `f32`, written as a bare type name.
/// `f64`, `f32`, or the generic float type parameter, written as a bare type name.
fn float_type(ty: &Type, generic: Option<&Ident>) -> Option<FloatType> {
    match ty {
        Type::Path(path) if path.qself.is_none() => {
            if path.path.is_ident("f64") {
                Some(FloatType::F64)
            } else if path.path.is_ident("f32") {
                Some(FloatType::F32)
            } else if generic.is_some_and(|t| path.path.is_ident(t)) {
                Some(FloatType::Generic)
            } else {
                None
            }
        }
        Type::Paren(inner) => float_type(&inner.elem, generic),
        Type::Group(inner) => float_type(&inner.elem, generic),
        _ => None,
    }
}

/// Rust's integer types, by name.
const INTEGERS: &[&str] = &[
    "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize",
];

fn is_integer_type(ty: &Type) -> bool {
    matches!(ty, Type::Path(path) if INTEGERS.iter().any(|name| path.path.is_ident(name)))
}

/// Tokens as people write them: `0..n`, `xs.iter()`, `&v`, `f64::EPSILON`; with
/// `generics`, `<` and `>` are taken for angle brackets (`Vec<f64>`), not comparisons.
pub fn tidy(tokens: impl ToTokens, generics: bool) -> String {
    let mut text = tokens.to_token_stream().to_string();
    let angles: &[(&str, &str)] = if generics {
        &[(" < ", "<"), ("< ", "<"), (" >", ">")]
    } else {
        &[]
    };
    let spacing = [
        (" :: ", "::"),
        (":: ", "::"),
        (" ..= ", "..="),
        (" .. ", ".."),
        (" . ", "."),
        ("& ", "&"),
        (" (", "("),
        ("( ", "("),
        (" )", ")"),
        (" [", "["),
        ("[ ", "["),
        (" ]", "]"),
        (" ,", ","),
        (" ;", ";"),
    ];
    for (spaced, tight) in angles.iter().chain(&spacing) {
        text = text.replace(spaced, tight);
    }
    text
}

/// A type or a path as written: `Vec<f64>`, `&[f64; 3]`.
fn tokens(tokens: impl ToTokens) -> String {
    tidy(tokens, true)
}

/// What a value is expected to be, where the context says (it decides what an
/// unsuffixed literal or a named constant is).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    Any,
    Float,
    Int,
    Bool,
}

/// What the form of an expression says of its type ([`Lower::int_like`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum IntLike {
    /// An integer: an integer literal or variable, `len()`, a cast to an integer, and
    /// arithmetic on those and constants (`N - 1`).
    Int,
    /// Constants only (`N`, `N * M`), whose types rustc knows and the macro does not.
    Unknown,
    /// Anything else (a float, or not known).
    Other,
}

/// Whether an expression has the form of an array length of constants (`STEPS + 1`).
fn length_expr(expr: &Expr) -> bool {
    match expr {
        Expr::Lit(syn::ExprLit { lit: Lit::Int(_), .. }) => true,
        Expr::Path(path) => path.qself.is_none(),
        Expr::Paren(inner) => length_expr(&inner.expr),
        Expr::Group(inner) => length_expr(&inner.expr),
        Expr::Block(block) => {
            matches!(block.block.stmts.as_slice(), [syn::Stmt::Expr(inner, None)] if length_expr(inner))
        }
        Expr::Binary(binary) => {
            matches!(
                binary.op,
                BinOp::Add(_) | BinOp::Sub(_) | BinOp::Mul(_) | BinOp::Div(_) | BinOp::Rem(_)
            ) && length_expr(&binary.left)
                && length_expr(&binary.right)
        }
        _ => false,
    }
}

/// A variable in scope.
#[derive(Clone)]
struct Binding {
    ident: Ident,
    node: NodeId,
    mutable: bool,
}

struct Lower<'e> {
    graph: Graph,
    /// Variables in scope, innermost block last; a later binding shadows an earlier one.
    scopes: Vec<Vec<Binding>>,
    /// The definitions of the structs the signature names.
    structs: &'e records::Structs,
    /// The struct parameters' fields, for the body's rewrite.
    fields: records::Fields,
    /// The variables the body pushes onto (`v.push(x)`), and the first value pushed.
    pushed: Vec<(Ident, Expr)>,
    /// A method's `self` read as data, and its reads (see [`opaque`]).
    opaque: (Option<Ident>, Vec<opaque::Read>),
    /// After a mistake whose consequences would only repeat it: how many errors to keep.
    cutoff: Option<usize>,
    /// What the function returns (a tuple's `(a, b)` in return position is read as `[a, b]`).
    returns: Returns,
    /// The vector type a `let` annotation gives the call that is its value (`let r: [f64; 2]
    /// = g(x);`): the result of a vector-valued `#[differentiate]` function.
    annotated_call: Option<Ty>,
    errors: &'e mut Errors,
}

/// The type of a parameter or `let` annotation: floats (of the function's type),
/// integers, bools, arrays of them, and slices (`&[f64]`, `&Vec<f64>`) of run-time length.
fn value_type(ty: &Type, float: FloatType, generic: Option<&Ident>) -> Result<Ty, String> {
    if let Some(array) = tensor::tensor_type(ty, float, generic) {
        return array;
    }
    match ty {
        Type::Paren(inner) => value_type(&inner.elem, float, generic),
        Type::Group(inner) => value_type(&inner.elem, float, generic),
        Type::Path(path) if path.qself.is_none() => {
            if let Some(found) = float_type(ty, generic) {
                return if found == float {
                    Ok(Ty::Float)
                } else {
                    Err(format!(
                        "this is {} but the function computes in {}: use one float type per function",
                        found.name(),
                        float.name()
                    ))
                };
            }
            if is_integer_type(ty) {
                return Ok(Ty::Int(Some(tokens(ty))));
            }
            if path.path.is_ident("bool") {
                return Ok(Ty::Bool);
            }
            Err(format!(
                "the type `{}` is not supported: values are {float}, integers, bools, arrays `[{float}; N]` and slices `&[{float}]`",
                tokens(ty),
                float = float.name()
            ))
        }
        Type::Array(array) => {
            let element = value_type(&array.elem, float, generic)?;
            let len = match &array.len {
                Expr::Lit(syn::ExprLit { lit: Lit::Int(n), .. }) => {
                    Len::Lit(n.base10_parse::<u64>().map_err(|e| e.to_string())?)
                }
                // A constant, or arithmetic on constants: resolved by the caller.
                other if length_expr(other) => Len::Named(usize::MAX),
                other => return Err(format!("the array length `{}` must be a literal, a constant or integer arithmetic on them", tokens(other))),
            };
            Ok(Ty::Array(Box::new(element), len))
        }
        Type::Reference(reference) => {
            if reference.mutability.is_some() {
                return Err("`&mut` parameters are not supported: a differentiated function computes a value and changes nothing (a helper that writes into a scratch buffer is inlined where it is called, when it is in the same `#[differentiate] mod` as its callers)".to_string());
            }
            match &*reference.elem {
                // `&[f64]`, and rows of run-time length: `&[Vec<f64>]`.
                Type::Slice(slice) => {
                    let element = match vec_element(&slice.elem) {
                        Some(inner) => Ty::Array(Box::new(value_type(inner, float, generic)?), Len::Runtime),
                        None => value_type(&slice.elem, float, generic)?,
                    };
                    Ok(Ty::Array(Box::new(element), Len::Runtime))
                }
                Type::Array(_) => value_type(&reference.elem, float, generic),
                Type::Path(path) if path.qself.is_none() => {
                    let last = path.path.segments.last();
                    match last.map(|s| (&s.ident, &s.arguments)) {
                        Some((ident, syn::PathArguments::AngleBracketed(args))) if ident == "Vec" && args.args.len() == 1 => {
                            match &args.args[0] {
                                // `&Vec<Vec<f64>>`: rows of run-time length.
                                syn::GenericArgument::Type(element) => {
                                    let element = match vec_element(element) {
                                        Some(inner) => Ty::Array(Box::new(value_type(inner, float, generic)?), Len::Runtime),
                                        None => value_type(element, float, generic)?,
                                    };
                                    Ok(Ty::Array(Box::new(element), Len::Runtime))
                                }
                                _ => Err("unsupported `Vec` element type".to_string()),
                            }
                        }
                        _ if float_type(&reference.elem, generic).is_some() => Err(format!(
                            "reference parameters are not supported: pass the float by value (`x: {}`)",
                            float.name()
                        )),
                        _ => Err(format!("the type `{}` is not supported", tokens(ty))),
                    }
                }
                _ => Err(format!("the type `{}` is not supported", tokens(ty))),
            }
        }
        Type::Tuple(tuple) if tuple.elems.is_empty() => Err("a `()` value is not supported".to_string()),
        _ => Err(format!(
            "the type `{}` is not supported: values are {float}, integers, bools, arrays `[{float}; N]` and slices `&[{float}]`",
            tokens(ty),
            float = float.name()
        )),
    }
}

/// `T` of `Vec<T>`.
fn vec_element(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path
        .path
        .segments
        .last()
        .filter(|s| s.ident == "Vec" && path.qself.is_none())?;
    match &last.arguments {
        syn::PathArguments::AngleBracketed(args) => match args.args.first() {
            Some(syn::GenericArgument::Type(element)) if args.args.len() == 1 => Some(element),
            _ => None,
        },
        _ => None,
    }
}

/// The names a block assigns to (`x = …`, `x += …`, `x[i] = …`), to find a loop's
/// carried variables.
fn assigned_names(body: &Block, extra: Option<&Expr>) -> Vec<Ident> {
    struct Assigned(Vec<Ident>);
    impl<'ast> syn::visit::Visit<'ast> for Assigned {
        fn visit_expr(&mut self, expr: &'ast Expr) {
            let target = match expr {
                Expr::Assign(assign) => Some(&*assign.left),
                Expr::Binary(binary) if is_compound(&binary.op) => Some(&*binary.left),
                // `v.push(x)` changes `v`, `m.row_mut(i).assign(&r)` changes `m`.
                Expr::MethodCall(call) if call.method == "push" => Some(&*call.receiver),
                Expr::MethodCall(call) if call.method == "assign" => match &*call.receiver {
                    Expr::MethodCall(inner) if inner.method == "row_mut" => Some(&*inner.receiver),
                    receiver => Some(receiver),
                },
                _ => None,
            };
            if let Some(mut target) = target {
                while let Expr::Index(index) = target {
                    target = &index.expr;
                }
                if let Some(ident) = path_ident(target) {
                    if !self.0.contains(ident) {
                        self.0.push(ident.clone());
                    }
                }
            }
            syn::visit::visit_expr(self, expr);
        }
    }
    let mut assigned = Assigned(Vec::new());
    syn::visit::Visit::visit_block(&mut assigned, body);
    if let Some(extra) = extra {
        syn::visit::Visit::visit_expr(&mut assigned, extra);
    }
    assigned.0
}

/// The variables a block pushes onto (`v.push(x)`), each with the first value pushed.
fn pushed_names(block: &Block) -> Vec<(Ident, Expr)> {
    struct Pushed(Vec<(Ident, Expr)>);
    impl<'ast> syn::visit::Visit<'ast> for Pushed {
        fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
            if call.method == "push" {
                if let (Some(ident), Some(value)) = (path_ident(&call.receiver), call.args.first()) {
                    if !self.0.iter().any(|(name, _)| name == ident) {
                        self.0.push((ident.clone(), value.clone()));
                    }
                }
            }
            syn::visit::visit_expr_method_call(self, call);
        }
    }
    let mut pushed = Pushed(Vec::new());
    syn::visit::Visit::visit_block(&mut pushed, block);
    pushed.0
}

/// Whether an expression is `Vec::new()` or `Vec::with_capacity(…)`.
fn is_empty_vec(expr: &Expr) -> bool {
    let Expr::Call(call) = expr else { return false };
    let Expr::Path(path) = &*call.func else {
        return false;
    };
    let segments: Vec<String> = path.path.segments.iter().map(|s| s.ident.to_string()).collect();
    matches!(segments.as_slice(), [v, c] if v == "Vec" && (c == "new" || c == "with_capacity"))
}

fn path_ident(expr: &Expr) -> Option<&Ident> {
    match expr {
        Expr::Path(path) if path.qself.is_none() => path.path.get_ident(),
        Expr::Paren(inner) => path_ident(&inner.expr),
        _ => None,
    }
}

fn is_compound(op: &BinOp) -> bool {
    matches!(
        op,
        BinOp::AddAssign(_)
            | BinOp::SubAssign(_)
            | BinOp::MulAssign(_)
            | BinOp::DivAssign(_)
            | BinOp::RemAssign(_)
            | BinOp::BitXorAssign(_)
            | BinOp::BitAndAssign(_)
            | BinOp::BitOrAssign(_)
            | BinOp::ShlAssign(_)
            | BinOp::ShrAssign(_)
    )
}

/// A range written in a `for` loop: start, end (exclusive), reversed.
struct Range {
    start: NodeId,
    end: NodeId,
    rev: bool,
}

impl Lower<'_> {
    fn params(&mut self, item: &ItemFn, wrt: Option<&[Ident]>) {
        let mut names = names::Names::of(item);
        for input in &item.sig.inputs {
            let typed = match input {
                FnArg::Receiver(receiver) => {
                    self.errors.at(
                        receiver,
                        "to differentiate a method, put `#[differentiate]` on its `impl` block (`#[differentiate] impl Params { fn energy(&self, x: f64) -> f64 { … } }`, with `#[derive(chainrule::Differentiable)]` on the struct): its module `params_energy` goes beside the block, where a method's attribute cannot put it",
                    );
                    continue;
                }
                FnArg::Typed(typed) => typed,
            };
            if !matches!(&*typed.pat, Pat::Ident(_) | Pat::Paren(_) | Pat::Wild(_)) {
                self.errors.at(
                    &typed.pat,
                    "destructuring parameters are not supported: take each value as its own parameter (`a: f64, b: f64`)",
                );
                continue;
            }
            let mutable = matches!(&*typed.pat, Pat::Ident(binding) if binding.mutability.is_some());
            if let (Some(root), Pat::Ident(binding)) = (&self.opaque.0, &*typed.pat) {
                if binding.ident == *root {
                    self.opaque_record(root.clone(), &typed.ty);
                    continue;
                }
            }
            if let Some(path) = records::struct_path(&typed.ty, self.graph.generic.as_ref())
                .filter(|path| self.structs.get(&records::key(&records::bare(path))).is_some())
            {
                if let Some(ident) = self.binding(&typed.pat, "parameter") {
                    let wrt = wrt.is_none_or(|names| names.contains(&ident));
                    self.record(ident, &typed.ty, &path.clone(), mutable, wrt, &mut names);
                }
                continue;
            }
            if let Some((path, elements)) = records::element_path(&typed.ty, self.graph.generic.as_ref())
                .filter(|(path, _)| self.structs.get(&records::key(&records::bare(path))).is_some())
            {
                if let Some(ident) = self.binding(&typed.pat, "parameter") {
                    let wrt = wrt.is_none_or(|names| names.contains(&ident));
                    self.array_record(ident, &typed.ty, &path.clone(), elements, wrt, &mut names);
                }
                continue;
            }
            let ty = match self.resolve_type(&typed.ty) {
                Ok(ty) => ty,
                Err(message) => {
                    self.errors.at(&typed.ty, message);
                    Ty::Float
                }
            };
            let Some(ident) = self.binding(&typed.pat, "parameter") else {
                continue;
            };
            let differentiable = ty.is_differentiable();
            let wrt = differentiable && wrt.is_none_or(|names| names.contains(&ident));
            let index = self.graph.params.len();
            let node = self.graph.add_typed(Op::Param(index), Vec::new(), ty);
            self.graph.name(node, &ident);
            self.graph.set_span(node, ident.span());
            self.graph.params.push(Param {
                ident: ident.clone(),
                written: typed.ty.to_token_stream(),
                passing: passing(&typed.ty),
                node,
                wrt,
                field: None,
            });
            self.graph.signature.push(Argument::Param(index));
            // `mut x: f64`: assignable in the body, as a `let mut` (each assignment a new
            // value; the caller's argument is not changed).
            self.bind(ident, node, mutable);
        }
        for name in wrt.unwrap_or_default() {
            let record = self.graph.signature.iter().find_map(|a| match a {
                Argument::Record(record) if &record.ident == name => Some(record.wrt),
                _ => None,
            });
            if let Some(wrt) = record {
                if !wrt {
                    self.errors.at(
                        name,
                        format_args!("`wrt`: the struct `{name}` has no float field, so it has no gradient"),
                    );
                }
                continue;
            }
            match self.graph.params.iter().find(|p| &p.ident == name) {
                None => self
                    .errors
                    .at(name, format_args!("`wrt`: there is no parameter `{name}`")),
                Some(p) if !p.wrt => self.errors.at(
                    name,
                    format_args!(
                        "`wrt`: `{name}` is not a float (or an array of floats), so it has no gradient"
                    ),
                ),
                Some(_) => {}
            }
        }
    }

    /// A struct parameter (`p: &Params`): each field a parameter of its own, bound from the
    /// struct at the start (see [`records`]).
    fn record(
        &mut self,
        ident: Ident,
        written: &Type,
        path: &syn::Path,
        mutable: bool,
        wrt: bool,
        names: &mut names::Names,
    ) {
        let shape = records::shape(
            &ident,
            path,
            None,
            self.structs,
            self.graph.generic.as_ref(),
            names,
        );
        let tree = self.tree(records::bare(path).to_token_stream(), &shape, wrt, mutable);
        self.fields.add(&ident, path, &shape);
        let owned = match written {
            Type::Reference(reference) => reference.elem.to_token_stream(),
            other => other.to_token_stream(),
        };
        self.push_record(ident, written, owned, tree);
    }

    /// `self` as data: each of its reads a data parameter bound from it (`let self__k =
    /// self_.k;`), the struct itself in the signature with no fields of its own.
    fn opaque_record(&mut self, ident: Ident, written: &Type) {
        let float = match &self.graph.generic {
            Some(t) => t.to_token_stream(),
            None => match self.graph.float {
                FloatType::F32 => quote::quote!(f32),
                _ => quote::quote!(f64),
            },
        };
        let reads = std::mem::take(&mut self.opaque.1);
        for read in &reads {
            let ty = match &read.kind {
                opaque::Kind::Float | opaque::Kind::CastFloat(_) => Ty::Float,
                opaque::Kind::Int(name) => Ty::Int(name.clone()),
                opaque::Kind::Bool => Ty::Bool,
                opaque::Kind::Array { ints: false } => Ty::Array(Box::new(Ty::Float), Len::Runtime),
                opaque::Kind::Array { ints: true } => Ty::Array(Box::new(Ty::Int(None)), Len::Runtime),
            };
            let passing = match &read.kind {
                opaque::Kind::Array { .. } => Passing::RefSlice,
                _ => Passing::Value,
            };
            let index = self.graph.params.len();
            let node = self.graph.add_typed(Op::Param(index), Vec::new(), ty);
            self.graph.name(node, &read.ident);
            self.graph.set_span(node, read.ident.span());
            self.graph.params.push(Param {
                ident: read.ident.clone(),
                written: opaque::type_tokens(&read.kind, &float),
                passing,
                node,
                wrt: false,
                field: Some((read.binding.clone(), read.label.clone())),
            });
            self.bind(read.ident.clone(), node, false);
        }
        let owned = match written {
            Type::Reference(reference) => reference.elem.to_token_stream(),
            other => other.to_token_stream(),
        };
        self.graph.signature.push(Argument::Record(Record {
            ident,
            written: written.to_token_stream(),
            owned: owned.clone(),
            tree: crate::ir::Tree {
                path: owned,
                fields: Vec::new(),
                elements: None,
            },
            wrt: false,
            opaque: true,
        }));
    }

    /// A struct parameter (or array of them) into the signature.
    fn push_record(&mut self, ident: Ident, written: &Type, owned: TokenStream, tree: crate::ir::Tree) {
        let wrt = self.tree_wrt(&tree);
        self.graph.signature.push(Argument::Record(Record {
            ident,
            written: written.to_token_stream(),
            owned,
            tree,
            wrt,
            opaque: false,
        }));
    }

    /// An array-of-structs parameter (`data: &[Sample]`): each field a parameter holding
    /// that field of every element (see [`records`]).
    fn array_record(
        &mut self,
        ident: Ident,
        written: &Type,
        path: &syn::Path,
        elements: crate::ir::Elements,
        wrt: bool,
        names: &mut names::Names,
    ) {
        let shape = records::shape(
            &ident,
            path,
            Some(&elements),
            self.structs,
            self.graph.generic.as_ref(),
            names,
        );
        let mut tree = self.tree(records::bare(path).to_token_stream(), &shape, wrt, false);
        self.fields.add_elements(&ident, &shape);
        let element = path.to_token_stream();
        let owned = match &elements {
            crate::ir::Elements::Runtime => quote::quote!(::std::vec::Vec<#element>),
            crate::ir::Elements::Fixed(len) => quote::quote!([#element; #len]),
        };
        tree.elements = Some(elements);
        self.push_record(ident, written, owned, tree);
    }

    fn tree(
        &mut self,
        path: TokenStream,
        shape: &[(Ident, records::Shape)],
        wrt: bool,
        mutable: bool,
    ) -> crate::ir::Tree {
        let mut fields = Vec::new();
        for (name, part) in shape {
            let field = match part {
                records::Shape::Data => crate::ir::Field::Data,
                records::Shape::Nested(path, inner) => {
                    crate::ir::Field::Nested(self.tree(path.clone(), inner, wrt, mutable))
                }
                records::Shape::Leaf(leaf) => {
                    let ty = match self.resolve_type(&leaf.ty) {
                        Ok(ty) => ty,
                        Err(message) => {
                            self.errors.at(
                                &leaf.declared,
                                format_args!(
                                    "the field `{}`: {message}; mark a field the function does not differentiate `#[chainrule(data)]`",
                                    leaf.label
                                ),
                            );
                            Ty::Float
                        }
                    };
                    let index = self.graph.params.len();
                    let node = self.graph.add_typed(Op::Param(index), Vec::new(), ty);
                    self.graph.name(node, &leaf.ident);
                    self.graph.set_span(node, leaf.ident.span());
                    let differentiable = self.graph.ty(node).is_differentiable();
                    self.graph.params.push(Param {
                        ident: leaf.ident.clone(),
                        written: leaf.ty.to_token_stream(),
                        passing: passing(&leaf.ty),
                        node,
                        wrt: wrt && differentiable,
                        field: Some((leaf.binding.clone(), leaf.label.clone())),
                    });
                    self.bind(leaf.ident.clone(), node, mutable);
                    crate::ir::Field::Leaf(index)
                }
            };
            fields.push((name.clone(), field));
        }
        crate::ir::Tree {
            path,
            fields,
            elements: None,
        }
    }

    /// Whether some leaf of a struct has a gradient.
    fn tree_wrt(&self, tree: &crate::ir::Tree) -> bool {
        tree.fields.iter().any(|(_, field)| match field {
            crate::ir::Field::Leaf(k) => self.graph.params[*k].wrt,
            crate::ir::Field::Data => false,
            crate::ir::Field::Nested(inner) => self.tree_wrt(inner),
        })
    }

    /// A type, with named array lengths (`[f64; N]`) resolved to constants.
    /// A `let`'s type: a parameter's, or an owned `Vec<…>` (of run-time length).
    fn resolve_local_type(&mut self, ty: &Type) -> Result<Ty, String> {
        if let Type::Path(path) = ty {
            if let Some(segment) = path
                .path
                .segments
                .last()
                .filter(|s| s.ident == "Vec" && path.qself.is_none())
            {
                if let syn::PathArguments::AngleBracketed(args) = &segment.arguments {
                    if let [syn::GenericArgument::Type(element)] =
                        args.args.iter().collect::<Vec<_>>().as_slice()
                    {
                        let element = self.resolve_local_type(element)?;
                        return Ok(Ty::Array(Box::new(element), Len::Runtime));
                    }
                }
            }
        }
        self.resolve_type(ty)
    }

    fn resolve_type(&mut self, ty: &Type) -> Result<Ty, String> {
        let resolved = value_type(ty, self.graph.float, self.graph.generic.as_ref())?;
        Ok(self.resolve_lengths(resolved, ty))
    }

    fn resolve_lengths(&mut self, resolved: Ty, ty: &Type) -> Ty {
        match (resolved, ty) {
            (resolved, Type::Paren(inner)) => self.resolve_lengths(resolved, &inner.elem),
            (resolved, Type::Group(inner)) => self.resolve_lengths(resolved, &inner.elem),
            (resolved, Type::Reference(reference)) => self.resolve_lengths(resolved, &reference.elem),
            (Ty::Array(element, len), Type::Array(array)) => {
                let element = self.resolve_lengths(*element, &array.elem);
                let len = match len {
                    Len::Named(_) => self.length(&array.len).unwrap_or(Len::Runtime),
                    len => len,
                };
                Ty::Array(Box::new(element), len)
            }
            (resolved, _) => resolved,
        }
    }

    /// An array length: a literal, a constant, or integer arithmetic on them
    /// (`STEPS + 1`), folded where it is all literals.
    fn length(&mut self, expr: &Expr) -> syn::Result<Len> {
        let unsupported = || {
            syn::Error::new_spanned(
                expr,
                "an array length must be a literal, a constant or integer arithmetic on them (`N + 1`)",
            )
        };
        match expr {
            Expr::Lit(syn::ExprLit { lit: Lit::Int(n), .. }) => Ok(Len::Lit(n.base10_parse::<u64>()?)),
            Expr::Path(path) if path.qself.is_none() && self.lookup_path(&path.path).is_none() => {
                Ok(Len::Named(self.graph.named_index(&path.path)))
            }
            Expr::Paren(inner) => self.length(&inner.expr),
            Expr::Group(inner) => self.length(&inner.expr),
            Expr::Block(block) if block.label.is_none() => match block.block.stmts.as_slice() {
                [syn::Stmt::Expr(inner, None)] => self.length(inner),
                _ => Err(unsupported()),
            },
            Expr::Binary(binary) => {
                let op = match binary.op {
                    BinOp::Add(_) => IntOp::Add,
                    BinOp::Sub(_) => IntOp::Sub,
                    BinOp::Mul(_) => IntOp::Mul,
                    BinOp::Div(_) => IntOp::Div,
                    BinOp::Rem(_) => IntOp::Rem,
                    _ => return Err(unsupported()),
                };
                let (a, b) = (self.length(&binary.left)?, self.length(&binary.right)?);
                Ok(match (&a, &b) {
                    (Len::Lit(x), Len::Lit(y)) => {
                        let folded = op.eval(*x as i64, *y as i64).and_then(|v| u64::try_from(v).ok());
                        Len::Lit(folded.ok_or_else(|| {
                            syn::Error::new_spanned(expr, "this array length is negative or overflows")
                        })?)
                    }
                    _ => Len::Op(op, Box::new(a), Box::new(b)),
                })
            }
            _ => Err(unsupported()),
        }
    }

    /// A local variable named by a path, if it is one.
    fn lookup_path(&self, path: &syn::Path) -> Option<&Binding> {
        path.get_ident().and_then(|ident| self.lookup(ident))
    }

    /// Whether an expression is an integer by its form, where the macro cannot see the
    /// types of the constants it names (`N - 1`, `STEPS as f64`): see [`IntLike`].
    fn int_like(&self, expr: &Expr) -> IntLike {
        match expr {
            Expr::Lit(syn::ExprLit {
                lit: Lit::Int(int), ..
            }) if !int.suffix().starts_with('f') => IntLike::Int,
            Expr::Path(path) if path.qself.is_none() => match self.lookup_path(&path.path) {
                Some(binding) if matches!(self.graph.ty(binding.node), Ty::Int(_)) => IntLike::Int,
                Some(_) => IntLike::Other,
                None if path.path.segments.len() == 1 => IntLike::Unknown,
                // `f64::consts::PI`, `f64::EPSILON`: floats.
                None => IntLike::Other,
            },
            Expr::Paren(inner) => self.int_like(&inner.expr),
            Expr::Group(inner) => self.int_like(&inner.expr),
            Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => self.int_like(&unary.expr),
            Expr::Binary(binary) => self.int_like_binary(binary),
            Expr::Cast(cast) if is_integer_type(&cast.ty) => IntLike::Int,
            Expr::MethodCall(call) if call.method == "len" && call.args.is_empty() => IntLike::Int,
            Expr::MethodCall(call)
                if IntOp::method(&call.method.to_string()).is_some() || call.method == "clamp" =>
            {
                self.int_like(&call.receiver)
            }
            _ => IntLike::Other,
        }
    }

    /// [`Lower::int_like`] of arithmetic: the right operand first, so that a long chain
    /// (`x * 1.5 + x * 1.5 + …`, nested on the left) is decided at its first float.
    fn int_like_binary(&self, binary: &syn::ExprBinary) -> IntLike {
        if !matches!(
            binary.op,
            BinOp::Add(_) | BinOp::Sub(_) | BinOp::Mul(_) | BinOp::Div(_) | BinOp::Rem(_)
        ) {
            return IntLike::Other;
        }
        match self.int_like(&binary.right) {
            IntLike::Other => IntLike::Other,
            right => match (self.int_like(&binary.left), right) {
                (IntLike::Other, _) => IntLike::Other,
                (IntLike::Int, _) | (_, IntLike::Int) => IntLike::Int,
                _ => IntLike::Unknown,
            },
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

    fn bind(&mut self, ident: Ident, node: NodeId, mutable: bool) {
        if let Some(scope) = self.scopes.last_mut() {
            scope.push(Binding { ident, node, mutable });
        }
    }

    fn lookup(&self, ident: &Ident) -> Option<&Binding> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|scope| scope.iter().rev())
            .find(|b| &b.ident == ident)
    }

    fn lookup_mut(&mut self, ident: &Ident) -> Option<&mut Binding> {
        self.scopes
            .iter_mut()
            .rev()
            .flat_map(|scope| scope.iter_mut().rev())
            .find(|b| &b.ident == ident)
    }

    /// A value to go on with after an error; never emitted, since errors stop expansion.
    fn placeholder(&mut self) -> NodeId {
        self.graph.constant(0.0)
    }

    fn error(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) -> NodeId {
        self.errors.at(tokens, message);
        self.placeholder()
    }

    fn body(&mut self, block: &Block) -> NodeId {
        let params: Vec<Ident> = self.scopes[0]
            .iter()
            .map(|binding| binding.ident.clone())
            .collect();
        let reported = self.errors.len();
        let block = match self.returns {
            Returns::Tuple(n) => returns::tuples_as_arrays(block, n, self.errors),
            _ => block.clone(),
        };
        let block = records::rewritten(&block, &self.fields, self.errors);
        if self.errors.len() > reported {
            // A misused struct parameter: what follows from it would only repeat the error.
            return self.placeholder();
        }
        let float: syn::Type = match &self.graph.generic {
            Some(t) => syn::parse_quote!(#t),
            None => syn::parse_str(self.graph.float.name()).unwrap_or_else(|_| syn::parse_quote!(f64)),
        };
        let block = tuples::flattened(&block, &float);
        let block = iterators::lowered(&block, &params, self.errors);
        let block = returns::structured(&deferred::initialized(&block));
        let block = exits::structured(&block, self.errors);
        self.pushed = pushed_names(&block);
        let reported = self.errors.len();
        let block = records::elements_rewritten(&block, &self.fields, self.errors);
        if self.errors.len() > reported {
            return self.placeholder();
        }
        let value = self.block(&block, true);
        value.unwrap_or_else(|| self.placeholder())
    }

    /// A block: its statements, then its value, if it ends with an expression (or, at the
    /// top level of the function, with `return expr;`). A missing value is an error only
    /// for the function body; inner blocks may be statements.
    fn block(&mut self, block: &Block, function_body: bool) -> Option<NodeId> {
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
                            "this `return` is inside an expression that has a value (`let y = { return x; };`): write it as a statement (`if c { return x; }`)",
                        );
                    }
                    let expect = match self.returns.is_vector() {
                        true => Expect::Any,
                        false => Expect::Float,
                    };
                    match &ret.expr {
                        Some(expr) => value = Some(self.expr_as(expr, expect)),
                        None => {
                            self.errors.at(ret, "`return` needs the function's value: `return expr;`");
                            value = Some(self.placeholder());
                        }
                    }
                }
                Stmt::Expr(expr, None) if is_last => value = self.expr_any(expr, Expect::Any),
                Stmt::Expr(expr, _) => {
                    // A statement: assignments, `if`, loops; a pure expression has no effect.
                    self.expr_any(expr, Expect::Any);
                }
            }
        }
        self.scopes.pop();
        if value.is_none() && function_body {
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
        }
        value
    }

    fn local(&mut self, local: &Local) {
        let (pat, annotation) = match &local.pat {
            Pat::Type(typed) => (&*typed.pat, Some(&*typed.ty)),
            pat => (pat, None),
        };
        let mut expect = Expect::Any;
        let mut annotated = None;
        if let Some(ty) = annotation {
            match self.resolve_local_type(ty) {
                Ok(resolved) => {
                    expect = match resolved {
                        Ty::Float => Expect::Float,
                        Ty::Int(_) => Expect::Int,
                        Ty::Bool => Expect::Bool,
                        _ => Expect::Any,
                    };
                    annotated = Some(resolved);
                }
                Err(message) => {
                    self.errors.at(ty, message);
                    return;
                }
            }
        }
        let (ident, mutable) = match pat {
            Pat::Wild(_) => (None, false),
            Pat::Ident(binding) => (self.binding(pat, "variable"), binding.mutability.is_some()),
            Pat::Paren(_) => (self.binding(pat, "variable"), false),
            pat => {
                let called = match local.init.as_ref().map(|init| &*init.expr) {
                    Some(Expr::Call(call)) => Some(tokens(&call.func)),
                    _ => None,
                };
                match (pat, called) {
                    (Pat::Tuple(_), Some(function)) => self.errors.at(
                        pat,
                        format_args!("this pattern is not supported: take `{function}`'s tuple apart into names (`let (a, b) = {function}(…);`, `_` for one not needed), or name it whole with its type (`let r: [f64; 2] = …` for an array)"),
                    ),
                    _ => self.errors.at(
                        pat,
                        "this pattern is not supported: a `let` binds a name, or takes apart a tuple (`let (a, b) = (x, y);`, `let (s, c) = x.sin_cos();`)",
                    ),
                }
                return;
            }
        };
        let Some(init) = &local.init else {
            self.errors.at(
                local,
                "a `let` without a value is supported when what first names it assigns it: `y = value;`, or an `if` assigning it last in every branch (`if c { y = a; } else { y = b; }`); otherwise write `let y = value;`",
            );
            // Bound all the same (and assignable), so that its uses report nothing more.
            if let Some(ident) = ident {
                let node = self.placeholder();
                self.bind(ident, node, true);
            }
            return;
        };
        if let Some((else_token, _)) = &init.diverge {
            self.errors.at(else_token, "`let … else` is not supported");
        }
        // `let mut v = vec![x; 3];` that the body pushes onto: a vector of run-time length.
        // `Vec::new()`: of the annotated element type, or of the first value pushed where
        // its type shows (see `pushed_type`), else of floats.
        let pushed = ident
            .as_ref()
            .and_then(|i| self.pushed.iter().find(|(name, _)| name == i))
            .map(|(_, first)| first.clone());
        let value = match (&*init.expr, &pushed, &annotated) {
            // A name the `if` after it assigns in every branch (see `tuples`): its value
            // before is never read.
            (Expr::Macro(mac), _, _) if mac.mac.path.is_ident(tuples::UNSET) => {
                self.graph.constant(f64::from_bits(UNSET_BITS))
            }
            (Expr::Macro(mac), Some(_), _) if mac.mac.path.is_ident("vec") => {
                self.vec_macro(&mac.mac, expect, true)
            }
            (empty, _, Some(Ty::Array(element, Len::Runtime))) if is_empty_vec(empty) => {
                self.expr_as(empty, expect);
                let element = (**element).clone();
                self.empty_vec(&element)
            }
            (empty, Some(first), None) if is_empty_vec(empty) => {
                self.expr_as(empty, expect);
                let element = self.pushed_type(first);
                self.empty_vec(&element)
            }
            (value, _, _) => {
                if let (Expr::Call(_), Some(ty)) = (unparen(value), &annotated) {
                    let vector =
                        matches!(ty, Ty::Array(element, _) if **element == Ty::Float) || ty == &Ty::tensor(1);
                    if vector {
                        self.annotated_call = Some(ty.clone());
                    }
                }
                self.expr_as(value, expect)
            }
        };
        if let (Some(annotated), Some(ident)) = (annotated, &ident) {
            let found = self.graph.ty(value).clone();
            if !same_kind(&annotated, &found) {
                self.errors.at(
                    &init.expr,
                    format_args!(
                        "`{ident}` is declared {} but this is {}",
                        describe(&annotated),
                        describe(&found)
                    ),
                );
            }
        }
        if let Some(ident) = ident {
            self.graph.name(value, &ident);
            self.bind(ident, value, mutable);
        }
    }

    /// The type of the first value pushed onto a `Vec::new()`, as far as it shows before
    /// the value is computed: an array written out (`v.push([a, b])`), `vec![…]`, a variable
    /// already in scope, or its `clone()` or `to_vec()`; else a float.
    fn pushed_type(&self, first: &Expr) -> Ty {
        let known = |expr: &Expr| {
            let ident = path_ident(expr)?;
            self.lookup(ident)
                .map(|binding| self.graph.ty(binding.node).clone())
        };
        let found = match unparen(first) {
            Expr::Array(array) => Some(Ty::Array(Box::new(Ty::Float), Len::Lit(array.elems.len() as u64))),
            Expr::Macro(mac) if mac.mac.path.is_ident("vec") => {
                Some(Ty::Array(Box::new(Ty::Float), Len::Runtime))
            }
            Expr::MethodCall(call) if call.method == "clone" && call.args.is_empty() => known(&call.receiver),
            Expr::MethodCall(call) if call.method == "to_vec" && call.args.is_empty() => {
                match known(&call.receiver) {
                    Some(Ty::Array(element, _)) => Some(Ty::Array(element, Len::Runtime)),
                    _ => None,
                }
            }
            other => known(other),
        };
        match found {
            Some(ty @ (Ty::Float | Ty::Array(..))) => ty,
            _ => Ty::Float,
        }
    }

    /// An expression that must have a value.
    fn expr_as(&mut self, expr: &Expr, expect: Expect) -> NodeId {
        match self.expr_any(expr, expect) {
            Some(node) => node,
            None => self.error(expr, "this has no value here: a value is expected"),
        }
    }

    /// An integer-valued expression (an index, a bound, an exponent).
    fn integer(&mut self, expr: &Expr) -> NodeId {
        let node = self.expr_as(expr, Expect::Int);
        if !matches!(self.graph.ty(node), Ty::Int(_)) {
            let found = describe(self.graph.ty(node));
            return self.error(expr, format!("expected an integer, found {found}"));
        }
        node
    }

    fn boolean(&mut self, expr: &Expr) -> NodeId {
        let node = self.expr_as(expr, Expect::Bool);
        if self.graph.ty(node) != &Ty::Bool {
            let found = describe(self.graph.ty(node));
            return self.error(expr, format!("expected a condition (a bool), found {found}"));
        }
        node
    }

    /// An expression: its value, or `None` for a statement-like one (an assignment, a
    /// loop, an `if` without `else`).
    fn expr_any(&mut self, expr: &Expr, expect: Expect) -> Option<NodeId> {
        // (No span recorded here: an expression's span walks all its tokens, which would
        // make reading a long expression quadratic. Errors point at tokens directly.)
        self.expr_inner(expr, expect)
    }

    fn expr_inner(&mut self, expr: &Expr, expect: Expect) -> Option<NodeId> {
        Some(match expr {
            Expr::Lit(lit) => self.literal(&lit.lit, expect),
            Expr::Path(path) if path.qself.is_none() => {
                if let Some(ident) = path.path.get_ident() {
                    if let Some(binding) = self.lookup(ident) {
                        return Some(binding.node);
                    }
                }
                // Not a variable: a named constant (`PI`, a user's `const`), which rustc
                // resolves and type-checks where the generated code uses it.
                let index = self.graph.named_index(&path.path);
                match expect {
                    Expect::Int => self.graph.add(
                        Op::Int {
                            named: Some(index),
                            offset: 0,
                        },
                        Vec::new(),
                    ),
                    _ => self.graph.add(Op::Named(index), Vec::new()),
                }
            }
            Expr::Paren(inner) => return self.expr_any(&inner.expr, expect),
            Expr::Group(inner) => return self.expr_any(&inner.expr, expect),
            Expr::Block(block) if block.label.is_none() => return self.block(&block.block, false),
            Expr::Unary(unary) => match unary.op {
                UnOp::Neg(_) => {
                    if let Expr::Lit(syn::ExprLit {
                        lit: Lit::Int(int), ..
                    }) = &*unary.expr
                    {
                        if expect != Expect::Float && int.suffix().is_empty()
                            || int.suffix().starts_with(['i', 'u'])
                        {
                            return Some(match format!("-{}", int.base10_digits()).parse::<i64>() {
                                Ok(value) => self.graph.int(value),
                                Err(_) => self.error(int, "this integer is too large"),
                            });
                        }
                    }
                    let operand = self.expr_as(&unary.expr, expect);
                    match self.graph.ty(operand) {
                        Ty::Float => self.graph.neg(operand),
                        Ty::Tensor { elem, .. } if **elem == Ty::Float => self.graph.neg(operand),
                        Ty::Int(_) => {
                            let zero = self.graph.int(0);
                            self.graph.int_bin(IntOp::Sub, zero, operand)
                        }
                        other => {
                            let found = describe(other);
                            self.error(unary, format!("`-` applies to numbers, not to {found}"))
                        }
                    }
                }
                UnOp::Not(_) => {
                    let operand = self.boolean(&unary.expr);
                    self.graph.add(Op::Not, vec![operand])
                }
                // `*v` for an element bound by `for v in xs.iter()`: the same value.
                UnOp::Deref(_) => return self.expr_any(&unary.expr, expect),
                _ => self.error(unary, "this operator is not supported"),
            },
            Expr::Binary(binary) if is_compound(&binary.op) => {
                self.assign(&binary.left, Some(&binary.op), &binary.right);
                return None;
            }
            Expr::Assign(assign) => {
                self.assign(&assign.left, None, &assign.right);
                return None;
            }
            Expr::Binary(binary) => self.binary(binary, expect),
            Expr::MethodCall(call) => self.method_call(call),
            Expr::Call(call) => self.call(call, expect),
            Expr::Reference(reference) => return self.reference(reference, expect),
            // `v[i]`, `m[[i, j]]` of an ndarray array, a variable or computed (`w.dot(&x)[0]`),
            // or `xs[i]` of a Rust array.
            Expr::Index(index) if !matches!(&*index.expr, Expr::Index(_)) => {
                let array = self.expr_as(&index.expr, Expect::Any);
                match self.graph.ty(array).is_tensor() {
                    true => self.tensor_element(index, array),
                    false => {
                        let (array, indices) = self.index_chain_of(index, array, vec![&*index.index]);
                        self.graph.index(array, &indices)
                    }
                }
            }
            Expr::Index(index) => {
                let (array, indices) = self.index_chain(index);
                self.graph.index(array, &indices)
            }
            Expr::Array(array) => {
                let mut elements = Vec::new();
                let mut element_expect = if expect == Expect::Float {
                    Expect::Float
                } else {
                    Expect::Any
                };
                for element in &array.elems {
                    let node = self.expr_as(element, element_expect);
                    element_expect = expect_of(self.graph.ty(node));
                    elements.push(node);
                }
                if elements.is_empty() {
                    return Some(self.error(array, "an empty array is not supported"));
                }
                let first = self.graph.ty(elements[0]).clone();
                if elements.iter().any(|&e| !same_kind(self.graph.ty(e), &first)) {
                    return Some(self.error(array, "the elements of an array must have one type"));
                }
                self.graph.add(Op::ArrayLit, elements)
            }
            Expr::Repeat(repeat) => {
                let value = self.expr_as(
                    &repeat.expr,
                    if expect == Expect::Float {
                        Expect::Float
                    } else {
                        Expect::Any
                    },
                );
                let len = match self.length(&repeat.len) {
                    Ok(len) => len,
                    Err(error) => {
                        self.errors.push(error);
                        return Some(self.placeholder());
                    }
                };
                self.graph.add(Op::ArrayRepeat(len), vec![value])
            }
            Expr::Cast(cast) => self.cast(cast),
            Expr::Macro(mac) if mac.mac.path.is_ident("vec") => self.vec_macro(&mac.mac, expect, false),
            Expr::If(expr_if) => return self.if_expr(expr_if),
            Expr::Match(expr_match) => return self.match_expr(expr_match),
            Expr::ForLoop(for_loop) => {
                self.for_loop(for_loop);
                return None;
            }
            Expr::While(while_loop) => {
                self.while_loop(while_loop);
                return None;
            }
            _ => self.unsupported(expr),
        })
    }

    fn literal(&mut self, lit: &Lit, expect: Expect) -> NodeId {
        match lit {
            Lit::Float(float) => {
                if expect == Expect::Int {
                    return self.error(float, "a float literal where an integer is expected");
                }
                let parsed = match self.graph.float {
                    FloatType::F64 | FloatType::Generic => float.base10_parse::<f64>(),
                    FloatType::F32 => float.base10_parse::<f32>().map(f64::from),
                };
                match parsed {
                    Ok(value) => self.graph.constant(value),
                    Err(error) => {
                        self.errors.push(error);
                        self.placeholder()
                    }
                }
            }
            // `2f64`: an integer literal with a float suffix, which Rust accepts.
            Lit::Int(int) if matches!(int.suffix(), "f64" | "f32") => {
                let parsed = match self.graph.float {
                    FloatType::F64 | FloatType::Generic => int.base10_parse::<f64>(),
                    FloatType::F32 => int.base10_parse::<f32>().map(f64::from),
                };
                match parsed {
                    Ok(value) => self.graph.constant(value),
                    Err(error) => {
                        self.errors.push(error);
                        self.placeholder()
                    }
                }
            }
            Lit::Int(int) if expect == Expect::Float => {
                let float = self.graph.float.name();
                self.error(
                    int,
                    format!(
                        "an integer literal where an {float} is expected: write `{}.0`",
                        int.base10_digits()
                    ),
                )
            }
            Lit::Int(int) => match int.base10_parse::<i64>() {
                Ok(value) => self.graph.int(value),
                Err(_) => self.error(int, "this integer is too large"),
            },
            Lit::Bool(value) => self.graph.add(Op::Bool(value.value), Vec::new()),
            other => {
                let float = self.graph.float.name();
                self.error(
                    other,
                    format!("this literal is not a number: an {float} is expected here"),
                )
            }
        }
    }

    fn binary(&mut self, binary: &syn::ExprBinary, expect: Expect) -> NodeId {
        let op = &binary.op;
        let (lhs_expect, logical) = match op {
            BinOp::And(_) | BinOp::Or(_) => (Expect::Bool, true),
            BinOp::Eq(_) | BinOp::Ne(_) | BinOp::Lt(_) | BinOp::Le(_) | BinOp::Gt(_) | BinOp::Ge(_) => {
                (Expect::Any, false)
            }
            // Arithmetic on integer constants and integers (`N - 1`) is integer arithmetic.
            _ if expect != Expect::Float && self.int_like_binary(binary) == IntLike::Int => {
                (Expect::Int, false)
            }
            _ => (
                if expect == Expect::Bool {
                    Expect::Any
                } else {
                    expect
                },
                false,
            ),
        };
        let lhs = self.expr_as(&binary.left, lhs_expect);
        let rhs_expect = if logical {
            Expect::Bool
        } else {
            expect_of(self.graph.ty(lhs))
        };
        let rhs = self.expr_as(&binary.right, rhs_expect);
        let (lhs_ty, rhs_ty) = (self.graph.ty(lhs).clone(), self.graph.ty(rhs).clone());
        let float_op = ops::infix(&op.to_token_stream().to_string());
        let int_op = match op {
            BinOp::Add(_) => Some(IntOp::Add),
            BinOp::Sub(_) => Some(IntOp::Sub),
            BinOp::Mul(_) => Some(IntOp::Mul),
            BinOp::Div(_) => Some(IntOp::Div),
            BinOp::Rem(_) => Some(IntOp::Rem),
            _ => None,
        };
        let compare = match op {
            BinOp::Eq(_) => Some(CmpOp::Eq),
            BinOp::Ne(_) => Some(CmpOp::Ne),
            BinOp::Lt(_) => Some(CmpOp::Lt),
            BinOp::Le(_) => Some(CmpOp::Le),
            BinOp::Gt(_) => Some(CmpOp::Gt),
            BinOp::Ge(_) => Some(CmpOp::Ge),
            _ => None,
        };
        let mismatch = |this: &mut Self| {
            let message = format!(
                "`{}` between {} and {}: both sides must have one type",
                tokens(op),
                describe(&lhs_ty),
                describe(&rhs_ty)
            );
            this.error(op, message)
        };
        match (&lhs_ty, &rhs_ty) {
            _ if logical => {
                let op = if matches!(op, BinOp::And(_)) {
                    Op::And
                } else {
                    Op::Or
                };
                self.graph.add(op, vec![lhs, rhs])
            }
            (Ty::Float, Ty::Float) | (Ty::Int(_), Ty::Int(_)) if compare.is_some() => self
                .graph
                .add(Op::Compare(compare.unwrap_or(CmpOp::Eq)), vec![lhs, rhs]),
            (Ty::Float, Ty::Float) => match float_op {
                Some(prim) => self.graph.prim(prim, &[lhs, rhs]),
                None => self.unsupported_operator(op),
            },
            (Ty::Int(_), Ty::Int(_)) => match int_op {
                Some(int_op) => self.graph.int_bin(int_op, lhs, rhs),
                None => self.unsupported_operator(op),
            },
            (Ty::Tensor { .. }, _) | (_, Ty::Tensor { .. }) => self.tensor_binary(op, float_op, lhs, rhs),
            (Ty::Array(..), _) | (_, Ty::Array(..)) => {
                self.errors.at(
                    op,
                    "arithmetic on whole arrays is not supported: write a loop over the elements",
                );
                lhs // still an array, so that its uses report nothing more
            }
            _ => mismatch(self),
        }
    }

    fn unsupported_operator(&mut self, op: &BinOp) -> NodeId {
        let message = format!(
            "the operator `{}` is not supported here: the supported operators are unary `-` and binary `+ - * / %`",
            tokens(op)
        );
        self.error(op, message)
    }

    /// `a[i][j]`: the array and the indices.
    fn index_chain(&mut self, index: &syn::ExprIndex) -> (NodeId, Vec<NodeId>) {
        let mut indices = vec![&*index.index];
        let mut base = &*index.expr;
        while let Expr::Index(inner) = base {
            indices.push(&*inner.index);
            base = &inner.expr;
        }
        indices.reverse();
        let array = self.expr_as(base, Expect::Any);
        self.index_chain_of(index, array, indices)
    }

    /// [`Self::index_chain`] with the array evaluated (`array`, of the chain's base).
    fn index_chain_of(
        &mut self,
        index: &syn::ExprIndex,
        array: NodeId,
        indices: Vec<&Expr>,
    ) -> (NodeId, Vec<NodeId>) {
        if let Some(Expr::Range(range)) = indices.iter().find(|i| matches!(i, Expr::Range(_))) {
            return (
                self.error(range, "slicing (`a[i..j]`) is not supported: index one element"),
                Vec::new(),
            );
        }
        let depth = array_depth(self.graph.ty(array));
        if depth < indices.len() {
            let found = describe(self.graph.ty(array));
            // The value of another `#[differentiate]` function, read as a float.
            let callee = match self.graph.op(array) {
                Op::Project(0) => match self.graph.op(self.graph.args(array)[0]) {
                    Op::Call { callee, .. } => Some(tokens(&self.graph.named[*callee])),
                    _ => None,
                },
                _ => None,
            };
            let message = match callee {
                Some(callee) => format!(
                    "indexing the value of `{callee}`, which `#[differentiate]` reads as a float: if `{callee}` returns a vector, say its type where it is called, `let value: [f64; 3] = {callee}(…);` (or `Vec<f64>`, `Array1<f64>`)"
                ),
                None => format!("indexing {found}: only arrays and slices can be indexed"),
            };
            return (self.error(index, message), Vec::new());
        }
        let indices = indices
            .into_iter()
            .map(|i| match i {
                Expr::Range(range) => {
                    self.error(range, "slicing (`a[i..j]`) is not supported: index one element")
                }
                i => self.integer(i),
            })
            .collect();
        (array, indices)
    }

    /// `x = v`, `x op= v`, `a[i] = v`, `a[i][j] op= v`: the variable is rebound to its new
    /// value (SSA: every version is a node of its own).
    fn assign(&mut self, target: &Expr, op: Option<&BinOp>, value: &Expr) {
        let mut indices_exprs = Vec::new();
        let mut base = target;
        while let Expr::Index(index) = base {
            indices_exprs.push(&*index.index);
            base = &index.expr;
        }
        indices_exprs.reverse();
        let Some(ident) = path_ident(base).cloned() else {
            self.errors
                .at(target, "only variables and their elements can be assigned to");
            return;
        };
        let Some(binding) = self.lookup(&ident).cloned() else {
            self.errors
                .at(&ident, format_args!("cannot find variable `{ident}`"));
            return;
        };
        if !binding.mutable {
            self.errors.at(
                &ident,
                format_args!("`{ident}` is not mutable: declare it with `let mut {ident}`"),
            );
        }
        if let Ty::Tensor { rank, .. } = *self.graph.ty(binding.node) {
            // `m[[i, j]] = v`: one index per axis, as an element is read.
            if let [Expr::Array(list)] = indices_exprs.as_slice() {
                indices_exprs = list.elems.iter().collect();
            }
            if !indices_exprs.is_empty() && indices_exprs.len() != rank as usize {
                self.errors.at(
                    target,
                    format_args!(
                        "`{ident}` has {rank} axes: assign an element with {}, a row with `{ident}.row_mut(i).assign(&v)`",
                        if rank == 1 { format!("`{ident}[i] = …`") } else { format!("`{ident}[[i, j]] = …`") }
                    ),
                );
                return;
            }
        }
        let indices: Vec<NodeId> = indices_exprs.iter().map(|i| self.integer(i)).collect();
        let old = if indices.is_empty() {
            binding.node
        } else {
            self.graph.index(binding.node, &indices)
        };
        // A name declared unset (see `tuples`) takes the type of its first value.
        let unset = op.is_none() && indices.is_empty() && self.graph.op(old) == &Op::Const(UNSET_BITS);
        let old_ty = self.graph.ty(old).clone();
        let rhs = match unset {
            true => self.expr_as(value, Expect::Any),
            false => self.expr_as(value, expect_of(&old_ty)),
        };
        let new = match op {
            None => rhs,
            Some(op) if old_ty.is_tensor() && self.tensor_assign(old, op, rhs).is_some() => {
                self.tensor_assign(old, op, rhs).unwrap_or(old)
            }
            Some(op) => match (&old_ty, self.graph.ty(rhs).clone(), op) {
                (Ty::Float, Ty::Float, _) if compound_prim(op).is_some() => {
                    let prim = compound_prim(op).unwrap_or(Prim::Add);
                    self.graph.prim(prim, &[old, rhs])
                }
                (Ty::Int(_), Ty::Int(_), BinOp::AddAssign(_)) => self.graph.int_bin(IntOp::Add, old, rhs),
                (Ty::Int(_), Ty::Int(_), BinOp::SubAssign(_)) => self.graph.int_bin(IntOp::Sub, old, rhs),
                (Ty::Int(_), Ty::Int(_), BinOp::MulAssign(_)) => self.graph.int_bin(IntOp::Mul, old, rhs),
                (Ty::Int(_), Ty::Int(_), BinOp::DivAssign(_)) => self.graph.int_bin(IntOp::Div, old, rhs),
                (Ty::Int(_), Ty::Int(_), BinOp::RemAssign(_)) => self.graph.int_bin(IntOp::Rem, old, rhs),
                _ => {
                    self.errors.at(
                        op,
                        format_args!(
                            "`{}` is not supported on {}: use `+=`, `-=`, `*=`, `/=` or `%=` on numbers",
                            tokens(op),
                            describe(&old_ty)
                        ),
                    );
                    return;
                }
            },
        };
        if !unset && !same_kind(self.graph.ty(new), &old_ty) {
            let message = format!(
                "`{ident}` holds {} but this is {}",
                describe(&old_ty),
                describe(self.graph.ty(new))
            );
            self.errors.at(value, message);
            return;
        }
        let updated = if indices.is_empty() {
            new
        } else {
            let mut args = vec![binding.node, new];
            args.extend(indices);
            self.graph.add(Op::Update, args)
        };
        self.graph.name(updated, &ident);
        if let Some(binding) = self.lookup_mut(&ident) {
            binding.node = updated;
        }
    }

    fn cast(&mut self, cast: &syn::ExprCast) -> NodeId {
        // `N as f64` converts an integer constant (or is a no-op on a float one, which
        // `as` accepts too): the constant is taken as an integer.
        let expect = match self.int_like(&cast.expr) {
            IntLike::Int | IntLike::Unknown => Expect::Int,
            IntLike::Other => Expect::Any,
        };
        let value = self.expr_as(&cast.expr, expect);
        let target = float_type(&cast.ty, self.graph.generic.as_ref());
        match (self.graph.ty(value).clone(), target) {
            (Ty::Int(_), Some(float)) if float == self.graph.float => self.graph.int_to_float(value),
            (Ty::Float, Some(float)) if float == self.graph.float => value,
            // `(t / dt) as usize`: Rust's cast (toward zero, saturating, NaN as 0), piecewise
            // constant, so no gradient flows back through it.
            (Ty::Int(_) | Ty::Float, None) if is_integer_type(&cast.ty) => {
                self.graph.add(Op::IntCast(tokens(&cast.ty)), vec![value])
            }
            (found, _) => {
                let placeholder = self.error(
                    cast,
                    format!(
                        "`as {}` on {} is not supported: the supported casts are integer `as {}` and float or integer `as` an integer type",
                        tokens(&cast.ty),
                        describe(&found),
                        self.graph.float.name()
                    ),
                );
                // Of the type asked for, so that its uses report nothing more.
                match is_integer_type(&cast.ty) {
                    true => self.graph.int(0),
                    false => placeholder,
                }
            }
        }
    }

    /// The bindings now, to lower a branch or a loop body from them.
    fn snapshot(&self) -> Vec<Vec<Binding>> {
        self.scopes.clone()
    }

    /// `if cond { … } else { … }`: a branch node owning two regions. Variables assigned in
    /// either branch, and the `if`'s own value, come out of it.
    fn if_expr(&mut self, expr_if: &syn::ExprIf) -> Option<NodeId> {
        if let Expr::Let(let_expr) = &*expr_if.cond {
            self.errors
                .at(let_expr, "`if let` is not supported: write a condition");
            return Some(self.placeholder());
        }
        let cond = self.boolean(&expr_if.cond);
        let else_branch = expr_if.else_branch.as_ref().map(|(_, e)| &**e);
        self.branch(
            cond,
            &mut |this: &mut Self| this.block(&expr_if.then_branch, false),
            &mut |this: &mut Self| match else_branch {
                Some(else_expr) => this.expr_any(else_expr, Expect::Any),
                None => None,
            },
            else_branch.is_some(),
            expr_if,
        )
    }

    /// A branch: lowers both sides in their own regions and merges what they change.
    fn branch(
        &mut self,
        cond: NodeId,
        then: &mut dyn FnMut(&mut Self) -> Option<NodeId>,
        otherwise: &mut dyn FnMut(&mut Self) -> Option<NodeId>,
        has_else: bool,
        at: &dyn ToTokens,
    ) -> Option<NodeId> {
        let outer = self.graph.current;
        let before = self.snapshot();
        let mut sides = Vec::new();
        for first in [true, false] {
            let region = self.graph.new_region(false);
            self.graph.current = region;
            let value = if first { then(self) } else { otherwise(self) };
            sides.push((region, value, self.snapshot()));
            self.scopes = before.clone();
            self.graph.current = outer;
        }
        // Values: the `if`'s own (when both sides have one), then each changed variable.
        let has_value = has_else && sides.iter().all(|(_, v, _)| v.is_some());
        let mut changed = Vec::new();
        for (s, scope) in before.iter().enumerate() {
            for (b, binding) in scope.iter().enumerate() {
                if sides.iter().any(|(_, _, after)| after[s][b].node != binding.node) {
                    changed.push((s, b));
                }
            }
        }
        for (region, value, after) in &sides {
            let mut yields = Vec::new();
            if has_value {
                yields.extend(*value);
            }
            yields.extend(changed.iter().map(|&(s, b)| after[s][b].node));
            self.graph.region_mut(*region).yields = yields;
        }
        let (then_region, otherwise_region) = (sides[0].0, sides[1].0);
        let then_yields = self.graph.region(then_region).yields.clone();
        let otherwise_yields = self.graph.region(otherwise_region).yields.clone();
        for (&a, &b) in then_yields.iter().zip(&otherwise_yields) {
            if !same_kind(self.graph.ty(a), self.graph.ty(b)) {
                let message = format!(
                    "the branches give different types: {} and {}",
                    describe(self.graph.ty(a)),
                    describe(self.graph.ty(b))
                );
                self.errors
                    .push(syn::Error::new_spanned(at.to_token_stream(), message));
                return Some(self.placeholder());
            }
        }
        let node = self.graph.add_typed(
            Op::Branch {
                then: then_region,
                otherwise: otherwise_region,
            },
            vec![cond],
            Ty::Unit,
        );
        self.graph.region_mut(then_region).owner = Some(node);
        self.graph.region_mut(otherwise_region).owner = Some(node);
        let mut k = 0;
        let value = has_value.then(|| {
            k += 1;
            self.graph.project(node, 0, self.graph.ty(then_yields[0]).clone())
        });
        for &(s, b) in &changed {
            let ty = self.graph.ty(then_yields[k]).clone();
            let out = self.graph.project(node, k, ty);
            let ident = before[s][b].ident.clone();
            self.graph.name(out, &ident);
            self.scopes[s][b].node = out;
            k += 1;
        }
        // `if c { a }` without `else`, or with a branch ending in `;`: a statement.
        value
    }

    /// `match n { 0 => …, 1 | 2 => …, 3..=5 => …, _ => … }` on an integer: a chain of
    /// branches.
    fn match_expr(&mut self, expr_match: &syn::ExprMatch) -> Option<NodeId> {
        let scrutinee = self.integer(&expr_match.expr);
        self.match_arms(scrutinee, &expr_match.arms, expr_match)
    }

    fn match_arms(&mut self, scrutinee: NodeId, arms: &[syn::Arm], at: &syn::ExprMatch) -> Option<NodeId> {
        let (arm, rest) = arms.split_first()?;
        let arm_value = |this: &mut Self| this.expr_any(&arm.body, Expect::Any);
        if rest.is_empty() {
            // The last arm: taken whenever the others were not (rustc checks exhaustiveness).
            let _ = self.pattern(scrutinee, &arm.pat);
            if let Some((_, guard)) = &arm.guard {
                self.errors.at(
                    guard,
                    "the last arm of a `match` cannot have a guard here: end with `_ => …`",
                );
            }
            return arm_value(self);
        }
        let mut cond = self.pattern(scrutinee, &arm.pat);
        if let Some((_, guard)) = &arm.guard {
            let guard = self.boolean(guard);
            cond = self.graph.add(Op::And, vec![cond, guard]);
        }
        let mut then = arm_value;
        self.branch(
            cond,
            &mut then,
            &mut |this: &mut Self| this.match_arms(scrutinee, rest, at),
            true,
            at,
        )
    }

    /// The condition under which an integer matches a pattern.
    fn pattern(&mut self, scrutinee: NodeId, pat: &Pat) -> NodeId {
        let bound = |this: &mut Self, expr: &Expr| this.integer(expr);
        match pat {
            Pat::Wild(_) => self.graph.add(Op::Bool(true), Vec::new()),
            Pat::Lit(lit) => {
                let value = self.literal(&lit.lit, Expect::Int);
                self.graph.add(Op::Compare(CmpOp::Eq), vec![scrutinee, value])
            }
            Pat::Or(or) => {
                let mut cond = None;
                for case in &or.cases {
                    let this = self.pattern(scrutinee, case);
                    cond = Some(match cond {
                        None => this,
                        Some(before) => self.graph.add(Op::Or, vec![before, this]),
                    });
                }
                cond.unwrap_or_else(|| self.graph.add(Op::Bool(false), Vec::new()))
            }
            Pat::Range(range) => {
                let mut cond = self.graph.add(Op::Bool(true), Vec::new());
                if let Some(start) = &range.start {
                    let start = bound(self, start);
                    let above = self.graph.add(Op::Compare(CmpOp::Ge), vec![scrutinee, start]);
                    cond = self.graph.add(Op::And, vec![cond, above]);
                }
                if let Some(end) = &range.end {
                    let end = bound(self, end);
                    let cmp = match range.limits {
                        syn::RangeLimits::HalfOpen(_) => CmpOp::Lt,
                        syn::RangeLimits::Closed(_) => CmpOp::Le,
                    };
                    let below = self.graph.add(Op::Compare(cmp), vec![scrutinee, end]);
                    cond = self.graph.add(Op::And, vec![cond, below]);
                }
                cond
            }
            Pat::Path(path) => {
                let index = self.graph.named_index(&path.path);
                let value = self.graph.add(Op::Int { named: Some(index), offset: 0 }, Vec::new());
                self.graph.add(Op::Compare(CmpOp::Eq), vec![scrutinee, value])
            }
            Pat::Paren(inner) => self.pattern(scrutinee, &inner.pat),
            other => self.error(
                other,
                "this pattern is not supported: `match` takes integer literals, ranges (`1..=3`), `|` and `_`",
            ),
        }
    }

    /// The range of a `for` loop: `a..b`, `a..=b`, `(a..b).rev()`, and the element
    /// forms `xs`, `xs.iter()`, `xs.iter().enumerate()` (as an index range plus what to
    /// bind per element).
    fn range(&mut self, expr: &Expr) -> Option<(Range, Option<NodeId>, bool)> {
        match expr {
            Expr::Paren(inner) => self.range(&inner.expr),
            Expr::Group(inner) => self.range(&inner.expr),
            Expr::Range(range) => {
                let (Some(start), Some(end)) = (&range.start, &range.end) else {
                    self.errors.at(range, "a loop range needs both ends: `a..b`");
                    return None;
                };
                let start = self.integer(start);
                let mut end = self.integer(end);
                if let syn::RangeLimits::Closed(_) = range.limits {
                    end = self.graph.int_offset(end, 1);
                }
                Some((
                    Range {
                        start,
                        end,
                        rev: false,
                    },
                    None,
                    false,
                ))
            }
            Expr::MethodCall(call) if call.method == "rev" && call.args.is_empty() => {
                let (mut range, elements, enumerate) = self.range(&call.receiver)?;
                range.rev = !range.rev;
                Some((range, elements, enumerate))
            }
            Expr::MethodCall(call) if call.method == "enumerate" && call.args.is_empty() => {
                let (range, elements, _) = self.range(&call.receiver)?;
                Some((range, elements, true))
            }
            Expr::MethodCall(call) if call.method == "iter" && call.args.is_empty() => {
                self.elements(&call.receiver)
            }
            Expr::Reference(reference) => self.elements(&reference.expr),
            Expr::Path(_) | Expr::Index(_) | Expr::Field(_) => self.elements(expr),
            other => {
                self.errors.at(
                    other,
                    "this loop is not supported: loop over a range (`0..n`, `(0..n).rev()`) or over an array or slice (`xs`, `xs.iter()`, `xs.iter().enumerate()`)",
                );
                None
            }
        }
    }

    /// A loop over the elements of an array: the range of its indices.
    fn elements(&mut self, expr: &Expr) -> Option<(Range, Option<NodeId>, bool)> {
        let array = self.expr_as(expr, Expect::Any);
        if !matches!(self.graph.ty(array), Ty::Array(..)) {
            let found = describe(self.graph.ty(array));
            self.errors.at(
                expr,
                format_args!("cannot loop over {found}: loop over a range or an array"),
            );
            return None;
        }
        let start = self.graph.int(0);
        let end = match self.graph.ty(array) {
            Ty::Array(_, Len::Lit(n)) => self.graph.int(*n as i64),
            Ty::Array(_, Len::Named(index)) => {
                let index = *index;
                self.graph.add(
                    Op::Int {
                        named: Some(index),
                        offset: 0,
                    },
                    Vec::new(),
                )
            }
            _ => self.graph.add(Op::Len, vec![array]),
        };
        Some((
            Range {
                start,
                end,
                rev: false,
            },
            Some(array),
            false,
        ))
    }

    /// `for i in range { body }`: a loop node owning its body region; the variables the
    /// body assigns are carried from one iteration to the next.
    fn for_loop(&mut self, for_loop: &syn::ExprForLoop) {
        if let Some(label) = &for_loop.label {
            self.errors.at(label, "loop labels are not supported");
        }
        let Some((range, elements, enumerate)) = self.range(&for_loop.expr) else {
            return;
        };
        let carried = self.carried(&for_loop.body, None);
        let outer = self.graph.current;
        let before = self.snapshot();
        let body = self.graph.new_region(false);
        self.graph.region_mut(body).header = Some(for_header(for_loop, enumerate));
        self.graph.current = body;
        let index_ty = self.graph.ty(range.end).clone();
        let index = self.graph.add_typed(Op::LoopIndex, Vec::new(), index_ty);
        self.graph.region_mut(body).index = Some(index);
        let params = self.enter_loop(body, &carried);
        self.scopes.push(Vec::new());
        self.bind_loop_pattern(&for_loop.pat, index, elements, enumerate);
        self.loop_body(&for_loop.body);
        self.scopes.pop();
        self.leave_loop(body, &carried, &params);
        self.scopes = before;
        self.graph.current = outer;
        let mut args = vec![range.start, range.end];
        args.extend(carried.iter().map(|&(s, b)| self.scopes[s][b].node));
        let node = self
            .graph
            .add_typed(Op::Loop { body, rev: range.rev }, args, Ty::Unit);
        self.graph.region_mut(body).owner = Some(node);
        self.rebind_outputs(node, &carried);
    }

    /// `while cond { body }`.
    fn while_loop(&mut self, while_loop: &syn::ExprWhile) {
        if let Some(label) = &while_loop.label {
            self.errors.at(label, "loop labels are not supported");
        }
        if let Expr::Let(let_expr) = &*while_loop.cond {
            self.errors
                .at(let_expr, "`while let` is not supported: write a condition");
            return;
        }
        let carried = self.carried(&while_loop.body, Some(&while_loop.cond));
        let outer = self.graph.current;
        let before = self.snapshot();
        let cond = self.graph.new_region(false);
        self.graph.current = cond;
        let cond_params = self.enter_loop(cond, &carried);
        let value = self.boolean(&while_loop.cond);
        self.graph.region_mut(cond).yields = vec![value];
        let _ = cond_params;
        self.scopes = before.clone();
        self.graph.current = outer;
        let body = self.graph.new_region(false);
        self.graph.region_mut(body).header = Some(while_header(while_loop));
        self.graph.current = body;
        let counter = self
            .graph
            .add_typed(Op::LoopIndex, Vec::new(), Ty::Int(Some("usize".to_string())));
        self.graph.region_mut(body).index = Some(counter);
        let params = self.enter_loop(body, &carried);
        self.loop_body(&while_loop.body);
        self.leave_loop(body, &carried, &params);
        self.scopes = before;
        self.graph.current = outer;
        let args = carried.iter().map(|&(s, b)| self.scopes[s][b].node).collect();
        let node = self.graph.add_typed(Op::While { cond, body }, args, Ty::Unit);
        self.graph.region_mut(cond).owner = Some(node);
        self.graph.region_mut(body).owner = Some(node);
        self.rebind_outputs(node, &carried);
    }

    /// The variables a loop carries: those in scope that the loop assigns to.
    fn carried(&mut self, body: &Block, cond: Option<&Expr>) -> Vec<(usize, usize)> {
        let mut carried = Vec::new();
        for ident in assigned_names(body, cond) {
            let position = self
                .scopes
                .iter()
                .enumerate()
                .rev()
                .find_map(|(s, scope)| scope.iter().rposition(|b| b.ident == ident).map(|b| (s, b)));
            if let Some(position) = position {
                carried.push(position);
            }
        }
        carried.sort();
        carried
    }

    /// Inside a loop region: each carried variable is its parameter.
    fn enter_loop(&mut self, region: RegionId, carried: &[(usize, usize)]) -> Vec<NodeId> {
        let mut params = Vec::new();
        for (k, &(s, b)) in carried.iter().enumerate() {
            let binding = self.scopes[s][b].clone();
            let ty = self.graph.ty(binding.node).clone();
            let param = self.graph.add_typed(Op::RegionParam(k), Vec::new(), ty);
            self.graph.name(param, &binding.ident);
            self.graph.region_mut(region).params.push(param);
            self.scopes[s][b].node = param;
            params.push(param);
        }
        params
    }

    /// The end of a loop body: the carried variables' values are what it yields.
    fn leave_loop(&mut self, region: RegionId, carried: &[(usize, usize)], params: &[NodeId]) {
        let yields = carried
            .iter()
            .map(|&(s, b)| self.scopes[s][b].node)
            .collect::<Vec<_>>();
        for (&y, &p) in yields.iter().zip(params) {
            if !same_kind(self.graph.ty(y), self.graph.ty(p)) {
                self.errors.at(
                    self.graph.names[p.index()]
                        .clone()
                        .map(|i| i.into_token_stream())
                        .unwrap_or_default(),
                    "a loop changes this variable's type",
                );
            }
        }
        self.graph.region_mut(region).yields = yields;
    }

    /// After a loop: each carried variable is the loop's output.
    fn rebind_outputs(&mut self, node: NodeId, carried: &[(usize, usize)]) {
        for (k, &(s, b)) in carried.iter().enumerate() {
            let ty = self.graph.ty(self.scopes[s][b].node).clone();
            let out = self.graph.project(node, k, ty);
            let ident = self.scopes[s][b].ident.clone();
            self.graph.name(out, &ident);
            self.scopes[s][b].node = out;
        }
    }

    fn bind_loop_pattern(&mut self, pat: &Pat, index: NodeId, elements: Option<NodeId>, enumerate: bool) {
        let element = |this: &mut Self| elements.map(|array| this.graph.index(array, &[index]));
        match (pat, enumerate) {
            (Pat::Tuple(tuple), true) if tuple.elems.len() == 2 => {
                if let Some(ident) = self.loop_binding(&tuple.elems[0]) {
                    self.bind(ident, index, false);
                }
                if let (Some(ident), Some(value)) = (self.loop_binding(&tuple.elems[1]), element(self)) {
                    self.graph.name(value, &ident);
                    self.bind(ident, value, false);
                }
            }
            (pat, false) => {
                let value = element(self).unwrap_or(index);
                if let Some(ident) = self.loop_binding(pat) {
                    if value != index {
                        self.graph.name(value, &ident);
                    }
                    self.bind(ident, value, false);
                }
            }
            (other, true) => self
                .errors
                .at(other, "`enumerate()` binds a pair: `for (i, x) in …`"),
        }
    }

    /// A loop variable: `i`, `&x`, `_`.
    fn loop_binding(&mut self, pat: &Pat) -> Option<Ident> {
        match pat {
            Pat::Wild(_) => None,
            Pat::Reference(reference) => self.loop_binding(&reference.pat),
            Pat::Ident(binding) if binding.mutability.is_none() && binding.by_ref.is_none() => {
                Some(binding.ident.clone())
            }
            other => {
                self.errors.at(other, "a loop binds one name (`i`, `x` or `&x`)");
                None
            }
        }
    }

    fn loop_body(&mut self, body: &Block) {
        if let Some(value) = self.block(body, false) {
            if self.graph.ty(value) != &Ty::Unit {
                if let Some(Stmt::Expr(last, None)) = body.stmts.last() {
                    self.errors
                        .at(last, "a loop body has no value: end this with `;`");
                }
            }
        }
    }
}

/// The value of a name declared unset (a NaN of its own payload, so that the node is
/// known): never read, since the `if` after it assigns it in every branch.
const UNSET_BITS: u64 = 0x7ff8_0000_c4a1_0001;

/// The kind of value a type holds, for expectations.
fn expect_of(ty: &Ty) -> Expect {
    match ty {
        Ty::Float => Expect::Float,
        Ty::Tensor { elem, .. } if **elem == Ty::Float => Expect::Float,
        Ty::Int(_) => Expect::Int,
        Ty::Bool => Expect::Bool,
        _ => Expect::Any,
    }
}

/// Whether two types are the same kind of value (integer types are told apart by rustc).
fn same_kind(a: &Ty, b: &Ty) -> bool {
    match (a, b) {
        (Ty::Int(_), Ty::Int(_)) => true,
        (Ty::Array(x, _), Ty::Array(y, _)) => same_kind(x, y),
        _ => a == b,
    }
}

fn array_depth(ty: &Ty) -> usize {
    match ty {
        Ty::Array(element, _) => 1 + array_depth(element),
        _ => 0,
    }
}

/// "a float", "an integer", "an array", for messages.
/// How a value's type is written in Rust, for a hint: `f64`, `[f64; 2]`, `Vec<T>`.
fn rust_type_text(ty: &Ty, graph: &Graph) -> String {
    match ty {
        Ty::Float => match &graph.generic {
            Some(generic) => generic.to_string(),
            None => graph.float.name().to_string(),
        },
        Ty::Int(Some(name)) => name.clone(),
        Ty::Int(None) => "usize".to_string(),
        Ty::Bool => "bool".to_string(),
        Ty::Array(element, Len::Runtime) => format!("Vec<{}>", rust_type_text(element, graph)),
        Ty::Array(element, Len::Lit(n)) => format!("[{}; {n}]", rust_type_text(element, graph)),
        Ty::Array(element, Len::Named(index)) => {
            let path = &graph.named[*index];
            format!(
                "[{}; {}]",
                rust_type_text(element, graph),
                quote::quote!(#path).to_string().replace(' ', "")
            )
        }
        _ => "_".to_string(),
    }
}

fn describe(ty: &Ty) -> &'static str {
    match ty {
        Ty::Float => "a float",
        Ty::Int(_) => "an integer",
        Ty::Bool => "a bool",
        Ty::Array(..) => "an array",
        Ty::Opaque(_) => "a cache",
        Ty::Unit => "no value",
        Ty::Tensor { rank: 1, .. } => "a vector (`Array1`)",
        Ty::Tensor { .. } => "a matrix (`Array2`)",
    }
}

impl Lower<'_> {
    fn method_call(&mut self, call: &ExprMethodCall) -> NodeId {
        if let Some(turbofish) = &call.turbofish {
            self.errors
                .at(turbofish, "type arguments on a method call are not supported");
        }
        let name = call.method.to_string();
        if matches!(name.as_str(), "to_vec" | "clone" | "to_owned") && call.args.is_empty() {
            // A copy of an array or slice (by name): the same value (assigning its elements
            // later makes new values, as every assignment does).
            if let Expr::Path(path) = unparen(&call.receiver) {
                if let Some(binding) = self.lookup_path(&path.path) {
                    if matches!(self.graph.ty(binding.node), Ty::Array(..)) {
                        return binding.node;
                    }
                }
            }
        }
        if name == "push" {
            return self.push(call);
        }
        if name == "clear" && call.args.is_empty() {
            return self.clear(call);
        }
        if name == "assign" {
            return self.array_assign(call);
        }
        if let Some(node) = self.tensor_method(call) {
            return node;
        }
        let mut args = vec![&*call.receiver];
        args.extend(call.args.iter());
        if name == "len" && call.args.is_empty() {
            let array = self.expr_as(&call.receiver, Expect::Any);
            if matches!(self.graph.ty(array), Ty::Array(..) | Ty::Tensor { .. }) {
                return self.graph.add(Op::Len, vec![array]);
            }
            return self.error(
                &call.receiver,
                "`len()` of something that is not an array or slice",
            );
        }
        if name == "clamp" && call.args.len() == 2 && self.int_like(&call.receiver) == IntLike::Int {
            // `k.clamp(lo, hi)` on integers: `k.max(lo).min(hi)` (Rust's `Ord::clamp`,
            // which panics where `lo > hi`, as the function does itself).
            let receiver = self.integer(&call.receiver);
            let (low, high) = (self.integer(&call.args[0]), self.integer(&call.args[1]));
            let raised = self.graph.int_bin(IntOp::Max, receiver, low);
            return self.graph.int_bin(IntOp::Min, raised, high);
        }
        if let Some(op) = IntOp::method(&name) {
            if call.args.len() == 1 && self.int_like(&call.receiver) == IntLike::Int {
                // `i.min(1)`, `n.pow(2)`: integer methods.
                let receiver = self.integer(&call.receiver);
                let argument = self.integer(&call.args[0]);
                return self.graph.int_bin(op, receiver, argument);
            }
        }
        match ops::method(&name) {
            Some(prim) => {
                let form = format!("`x.{name}(…)`");
                self.apply(prim, &args, &form, 1, &call.method)
            }
            None => {
                self.args_for_diagnostics(&args);
                let hint = match ops::function(&name) {
                    Some(_) => format!("; `{name}` is an activation function: call it as `{name}(x)`"),
                    None => String::new(),
                };
                self.error(
                    &call.method,
                    format!(
                        "unsupported method `{name}`{}{hint}",
                        unsupported_method_note(&name)
                    ),
                )
            }
        }
    }

    fn call(&mut self, call: &ExprCall, expect: Expect) -> NodeId {
        let annotated = self.annotated_call.take();
        let args: Vec<&Expr> = call.args.iter().collect();
        let Expr::Path(func) = &*call.func else {
            self.args_for_diagnostics(&args);
            return self.error(&call.func, "only calls of functions by name are supported");
        };
        let path = &func.path;
        if let Some(node) = self.tensor_constructor(path, &args) {
            return node;
        }
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if let Some(generic) = path.segments.iter().find(|s| !s.arguments.is_none()) {
            self.errors
                .at(&generic.arguments, "type arguments on a call are not supported");
        }
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        // `Vec::new()`, `Vec::with_capacity(n)`: an empty `Vec` of floats, grown by `push`.
        if let ["Vec", constructor] = segments.as_slice() {
            match (*constructor, args.as_slice()) {
                ("new", []) => {}
                ("with_capacity", [capacity]) => {
                    self.integer(capacity);
                }
                _ => {
                    self.args_for_diagnostics(&args);
                    return self.error(
                        path,
                        "a `Vec` is made by `Vec::new()`, `Vec::with_capacity(n)` or `vec![x; n]`",
                    );
                }
            }
            let (zero, count) = (self.graph.constant(0.0), self.graph.int(0));
            return self.graph.add(Op::ArrayRepeat(Len::Runtime), vec![zero, count]);
        }
        // In a generic function, `T::…` stands for the float type.
        let generic = self.graph.generic.as_ref().map(|t| t.to_string());
        let is_float = |name: &str| matches!(name, "f64" | "f32") || generic.as_deref() == Some(name);
        if let [t, constructor] = segments.as_slice() {
            if generic.as_deref() == Some(*t) && func.qself.is_none() {
                match (*constructor, args.as_slice()) {
                    ("one", []) => return self.graph.constant(1.0),
                    ("zero", []) => return self.graph.constant(0.0),
                    ("from_f64", [value]) => return self.generic_constant(value),
                    _ => {}
                }
            }
        }
        if let [name] | ["chainrule", name] = segments.as_slice() {
            if let Some(node) = self.tensor_function(name, &args, path) {
                return node;
            }
        }
        if let [int, name] = segments.as_slice() {
            if let (Some(op), true, [a, b]) = (IntOp::method(name), INTEGERS.contains(int), args.as_slice()) {
                // `usize::min(i, 2)`: the integer method, by its path.
                let (a, b) = (self.integer(a), self.integer(b));
                let ty = Ty::Int(Some(int.to_string()));
                return self.graph.add_typed(Op::IntBin(op), vec![a, b], ty);
            }
        }
        let prim = match segments.as_slice() {
            [name] | ["chainrule", name] => ops::function(name),
            [float, name] if is_float(float) && func.qself.is_none() => ops::method(name),
            _ => None,
        };
        match prim {
            Some(prim) => {
                let form = format!("`{}`", tokens(path));
                self.apply(prim, &args, &form, 0, path)
            }
            None => {
                let name = segments.last().copied().unwrap_or_default();
                match segments.as_slice() {
                    [float, _] if is_float(float) => {
                        self.args_for_diagnostics(&args);
                        let message = format!(
                            "unsupported function `{}`{}",
                            tokens(path),
                            unsupported_method_note(name)
                        );
                        self.error(path, message)
                    }
                    [_] if ops::method(name).is_some() => {
                        self.args_for_diagnostics(&args);
                        self.error(path, format!("`{name}` is a float method: write `x.{name}()`"))
                    }
                    _ if func.qself.is_some() => {
                        self.args_for_diagnostics(&args);
                        self.error(path, "qualified paths (`<T>::f`) are not supported in calls")
                    }
                    // Where an integer is expected (`xs[wrap(i, n)]`, `let k: usize = g(…)`): any
                    // function's integer, called as it is (an integer has no gradient).
                    _ if expect == Expect::Int => self.differentiated_call(path, &args, Ty::Int(None)),
                    // Another `#[differentiate]` function: its forward and backward passes (of
                    // the vector type the `let` says it returns, else a float).
                    _ => self.differentiated_call(path, &args, annotated.unwrap_or(Ty::Float)),
                }
            }
        }
    }

    /// An empty vector of `element`s.
    fn empty_vec(&mut self, element: &Ty) -> NodeId {
        let zero = self.zero_of(element);
        let count = self.graph.int(0);
        self.graph.add(Op::ArrayRepeat(Len::Runtime), vec![zero, count])
    }

    fn zero_of(&mut self, ty: &Ty) -> NodeId {
        match ty {
            Ty::Array(element, len @ (Len::Lit(_) | Len::Named(_))) => {
                let zero = self.zero_of(element);
                self.graph.add(Op::ArrayRepeat(len.clone()), vec![zero])
            }
            Ty::Array(element, Len::Runtime) => self.empty_vec(element),
            Ty::Int(_) => self.graph.int(0),
            Ty::Bool => self.graph.add(Op::Bool(false), Vec::new()),
            _ => self.graph.constant(0.0),
        }
    }

    /// `v.clear()` on a `let mut` vector of run-time length: `v` rebound to an empty one.
    fn clear(&mut self, call: &ExprMethodCall) -> NodeId {
        const USAGE: &str = "`clear` empties a `Vec` variable (`let mut v = Vec::new();`, `vec![x; n]`): an array of fixed size cannot";
        let Some(ident) = path_ident(&call.receiver).cloned() else {
            return self.error(call, USAGE);
        };
        let Some(binding) = self.lookup(&ident).cloned() else {
            return self.error(&call.receiver, format_args!("there is no variable `{ident}`"));
        };
        let Ty::Array(element, Len::Runtime) = self.graph.ty(binding.node).clone() else {
            return self.error(&call.method, USAGE);
        };
        if !binding.mutable {
            return self.error(
                &call.receiver,
                format_args!("`{ident}` is not mutable: declare it with `let mut {ident}`"),
            );
        }
        let empty = self.empty_vec(&element);
        self.graph.name(empty, &ident);
        if let Some(binding) = self.lookup_mut(&ident) {
            binding.node = empty;
        }
        self.placeholder()
    }

    /// `v.push(x)` on a `let mut` vector of run-time length: `v` rebound to the vector with
    /// `x` at its end.
    fn push(&mut self, call: &ExprMethodCall) -> NodeId {
        let values: Vec<&Expr> = call.args.iter().collect();
        let (Some(ident), [value]) = (path_ident(&call.receiver), values.as_slice()) else {
            self.args_for_diagnostics(&call.args.iter().collect::<Vec<_>>());
            return self.error(
                call,
                "`push` takes one value, onto a `Vec` variable (`v.push(x)`)",
            );
        };
        let ident = ident.clone();
        let Some(binding) = self.lookup(&ident).cloned() else {
            return self.error(&call.receiver, format_args!("there is no variable `{ident}`"));
        };
        let array = binding.node;
        let Ty::Array(element, Len::Runtime) = self.graph.ty(array).clone() else {
            self.args_for_diagnostics(&[value]);
            return self.error(
                &call.method,
                "`push` grows a `Vec` (`let mut v = Vec::new();`, `Vec::with_capacity(n)`, `vec![x; n]`): an array of fixed size cannot grow",
            );
        };
        if !binding.mutable {
            self.args_for_diagnostics(&[value]);
            return self.error(
                &call.receiver,
                format_args!("`{ident}` is not mutable: declare it with `let mut {ident}`"),
            );
        }
        let value = self.expr_as(value, expect_of(&element));
        if !same_kind(self.graph.ty(value), &element) {
            let found = describe(self.graph.ty(value));
            self.errors.at(
                &call.args,
                format_args!(
                    "this pushes {found} onto `{ident}`, which holds {}s: write the vector's type (`let mut {ident}: Vec<{}> = Vec::new();`)",
                    describe(&element).trim_start_matches("a "),
                    rust_type_text(self.graph.ty(value), &self.graph)
                ),
            );
            // The vector's uses would only repeat it.
            self.cutoff.get_or_insert(self.errors.len());
            return self.placeholder();
        }
        let len = self.graph.add(Op::Len, vec![array]);
        let pushed = self.graph.add(Op::Push, vec![array, value, len]);
        self.graph.name(pushed, &ident);
        if let Some(binding) = self.lookup_mut(&ident) {
            binding.node = pushed;
        }
        self.placeholder()
    }

    /// `T::from_f64(c)` in a generic function: a literal, a named constant, or an integer
    /// `as f64`.
    fn generic_constant(&mut self, value: &Expr) -> NodeId {
        match value {
            Expr::Lit(lit) => self.literal(&lit.lit, Expect::Float),
            Expr::Unary(syn::ExprUnary {
                op: UnOp::Neg(_),
                expr,
                ..
            }) => {
                let positive = self.generic_constant(expr);
                self.graph.neg(positive)
            }
            Expr::Paren(inner) => self.generic_constant(&inner.expr),
            Expr::Path(path)
                if path.qself.is_none() && path.path.get_ident().is_none_or(|i| self.lookup(i).is_none()) =>
            {
                let index = self.graph.named_index(&path.path);
                self.graph.add(Op::Named(index), Vec::new())
            }
            Expr::Cast(cast) if float_type(&cast.ty, None) == Some(FloatType::F64) => {
                let int = self.integer(&cast.expr);
                self.graph.int_to_float(int)
            }
            other => self.error(
                other,
                "`T::from_f64` takes a literal, a constant, or an integer `as f64` here",
            ),
        }
    }

    /// `g(a, &b)` for a `#[differentiate]` function `g`: its value, its cache for the
    /// backward pass, and its `__vjp` there.
    fn differentiated_call(&mut self, path: &syn::Path, args: &[&Expr], result: Ty) -> NodeId {
        let (mut by_ref, mut deref) = (0u64, 0u64);
        let mut nodes = Vec::new();
        for (k, arg) in args.iter().enumerate() {
            let arg = match arg {
                Expr::Reference(reference) if reference.mutability.is_none() => {
                    if k < 64 {
                        by_ref |= 1 << k;
                    }
                    &*reference.expr
                }
                // `*w`: read as `w`, passed as `*w` (an array behind a reference, by value).
                Expr::Unary(unary) if matches!(unary.op, UnOp::Deref(_)) => {
                    if k < 64 {
                        deref |= 1 << k;
                    }
                    *arg
                }
                arg => *arg,
            };
            let node = self.expr_as(arg, Expect::Any);
            // Where a missing gradient of this argument is reported.
            self.graph.set_span(node, arg.span());
            nodes.push(node);
        }
        let callee = self.graph.named_index(path);
        let call = self.graph.add_typed(
            Op::Call {
                callee,
                by_ref,
                deref,
            },
            nodes,
            Ty::Unit,
        );
        // Where an error about the callee is reported.
        if let Some(last) = path.segments.last() {
            self.graph.set_span(call, last.ident.span());
        }
        self.graph.project(call, 0, result)
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
            .map(|(arg, kind)| match (kind, arg) {
                // A float method or activation applies to arrays element by element.
                (Arg::Float, arg) => self.float_or_tensor(arg),
                (
                    Arg::Int,
                    Expr::Lit(syn::ExprLit {
                        lit: Lit::Float(_), ..
                    }),
                ) => self.error(
                    arg,
                    format!(
                        "`{}` takes an integer exponent: write `2`, or use `powf` for a float exponent",
                        rule.name
                    ),
                ),
                (Arg::Int, arg) => self.integer(arg),
            })
            .collect();
        self.graph.prim(prim, &nodes)
    }

    /// Lowers arguments only to report the errors inside them too.
    fn args_for_diagnostics(&mut self, args: &[&Expr]) {
        for arg in args {
            self.expr_any(arg, Expect::Any);
        }
    }

    /// `vec![x; n]` (of a run-time length `n`) and `vec![a, b, c]` (an array).
    /// `vec![x; n]` (of run-time length, or fixed if `n` is a literal, unless `runtime`:
    /// pushed onto) and `vec![a, b]`.
    fn vec_macro(&mut self, mac: &syn::Macro, expect: Expect, runtime: bool) -> NodeId {
        let inner = mac.tokens.clone();
        let parsed: syn::Result<Expr> = syn::parse2(quote::quote!([#inner]));
        match parsed {
            Ok(Expr::Repeat(repeat)) if runtime || !matches!(&*repeat.len, Expr::Lit(_)) => {
                let value_expect = if expect == Expect::Float {
                    Expect::Float
                } else {
                    Expect::Any
                };
                let value = self.expr_as(&repeat.expr, value_expect);
                let count = self.integer(&repeat.len);
                self.graph.add(Op::ArrayRepeat(Len::Runtime), vec![value, count])
            }
            Ok(array @ (Expr::Repeat(_) | Expr::Array(_))) => self.expr_as(&array, expect),
            _ => self.error(mac, "`vec!` takes `vec![value; n]` or `vec![a, b, c]`"),
        }
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
            Expr::Loop(e) => return self.error(e.loop_token, "this `loop` is inside an expression: bind its value with `let` (`let x = loop { … break v; };`)"),
            Expr::Macro(e) => {
                self.unsupported_macro(&e.mac);
                return self.placeholder();
            }
            Expr::Closure(_) => "a closure here is not supported: bind it with `let` and call it (`let sq = |t: f64| t * t; sq(x)`), or give it to an iterator adaptor (`xs.iter().map(|x| x * x)`)",
            Expr::Reference(_) => "references are not supported: use float values",
            Expr::Field(field) if matches!(field.member, syn::Member::Unnamed(_)) => "field access is not supported: pass each float as its own parameter",
            Expr::Field(_) => "field access is supported on struct parameters (`p.w`, with `#[derive(chainrule::Differentiable)]` on the struct), not here: pass the float as its own parameter",
            Expr::Tuple(_) => "a tuple kept whole is not supported: take it apart where it is made (`let (a, b) = (x, y);`), or use an array",
            Expr::Struct(_) => "structs are not supported: use arrays, or separate variables",
            Expr::Return(_) => "this `return` is inside an expression that has a value (`let y = { return x; };`): write it as a statement (`if c { return x; }`)",
            Expr::Unsafe(_) => "`unsafe` blocks are not supported",
            Expr::Async(_) | Expr::Await(_) => "`async` code is not supported",
            Expr::Try(_) => "the `?` operator is not supported",
            Expr::Range(_) => "ranges are not supported",
            Expr::Let(_) => "`let` expressions are not supported",
            Expr::Break(_) | Expr::Continue(_) => "this `break` or `continue` is inside an expression that has a value (`let a = if c { break } else { 1.0 };`): write it as a statement (`if c { break; }`)",
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

/// A `for` loop's header as written, for the pictures: its text and its index's name.
fn for_header(for_loop: &syn::ExprForLoop, enumerate: bool) -> Header {
    let pat = &*for_loop.pat;
    let index = match pat {
        syn::Pat::Ident(binding) if !enumerate => Some(binding.ident.unraw().to_string()),
        syn::Pat::Tuple(tuple) if enumerate => match tuple.elems.first() {
            Some(syn::Pat::Ident(binding)) => Some(binding.ident.unraw().to_string()),
            _ => None,
        },
        _ => None,
    };
    // A loop over elements (`for &v in xs`) has an index of its own only through
    // `enumerate`; a loop over a range binds the index.
    let over_range = matches!(unparen(&for_loop.expr), syn::Expr::Range(_))
        || matches!(unparen(&for_loop.expr), syn::Expr::MethodCall(call) if call.method == "rev");
    Header {
        text: format!("for {} in {}", tidy(pat, false), tidy(&*for_loop.expr, false)),
        index: if over_range || enumerate { index } else { None },
    }
}

/// A `while` loop's header as written, for the pictures.
fn while_header(while_loop: &syn::ExprWhile) -> Header {
    Header {
        text: format!("while {}", tidy(&*while_loop.cond, false)),
        index: None,
    }
}

/// After "unsupported method `name`": the nearest supported one, and where they are listed.
fn unsupported_method_note(name: &str) -> String {
    let nearest = nearest_method_note(name);
    format!("{nearest}: chainrule differentiates the float methods with a derivative almost everywhere (exp, ln, powi, sin, tanh, max, abs, floor, …; listed in the guide, `chainrule::guide::operations`)")
}

/// How a parameter of this type is passed.
fn passing(ty: &syn::Type) -> Passing {
    match ty {
        _ if is_tensor_type(ty) => match ty {
            syn::Type::Reference(_) => Passing::RefArray,
            syn::Type::Path(path) if is_view_type(path) => Passing::View,
            _ => Passing::OwnedArray,
        },
        syn::Type::Reference(reference) if matches!(&*reference.elem, syn::Type::Array(_)) => {
            Passing::RefFixed
        }
        syn::Type::Reference(_) => Passing::RefSlice,
        _ => Passing::Value,
    }
}

/// The operation of a compound assignment on floats (`+=` is `+`, `%=` is `%`).
fn compound_prim(op: &BinOp) -> Option<Prim> {
    let symbol = op.to_token_stream().to_string();
    ops::infix(symbol.strip_suffix('=')?)
}

/// " (did you mean `floor`?)" for a name near a supported method, else nothing.
fn nearest_method_note(name: &str) -> String {
    match ops::nearest_method(name) {
        Some(nearest) => format!(" (did you mean `{nearest}`?)"),
        None => String::new(),
    }
}

/// `expr` without the parentheses (and invisible groups) around it.
fn unparen(expr: &syn::Expr) -> &syn::Expr {
    match expr {
        syn::Expr::Paren(inner) => unparen(&inner.expr),
        syn::Expr::Group(inner) => unparen(&inner.expr),
        other => other,
    }
}
