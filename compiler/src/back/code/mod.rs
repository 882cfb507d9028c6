//! Emission: the graph, forward and reverse, as readable Rust (quote).
//!
//! Nodes the reader cares about get a `let` with a name derived from the user's: the
//! user's variables (`q`), their adjoints (`d_q`), the result, and values used more than
//! once or in another block; everything else is written inline, with parentheses only
//! where precedence needs them. Regions become blocks: a branch an `if`, a loop a `for`
//! or `while` whose carried values are `let mut` variables. An array whose old value
//! nobody reads again is updated in place (`a[i] = v`, `d_w[i] += g`). The forward pass
//! returns the values the backward pass reads, in `Cache`; `grad` runs both passes in one
//! function, without a cache.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use proc_macro2::{Delimiter, Group, Ident, Punct, Spacing, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;

use crate::ir::Function;
use crate::ir::{Argument, FloatType, Graph, IndexKind, Len, NodeId, Op, Passing, RegionId, Returns, Ty};
use crate::ops::precedence::{AND, CAST, COMPARE, IF, OR, POSTFIX, PRODUCT, SUM, UNARY};
use crate::ops::{Prim, Rule, Syntax};
use crate::reverse::Adjoints;

mod callees;
pub mod jvp;
mod tensor;

/// An operator's tokens (`+`, `>=`, `%`): one punctuation token per character, joined.
pub fn operator(symbol: &str) -> TokenStream {
    let count = symbol.chars().count();
    symbol
        .chars()
        .enumerate()
        .map(|(k, c)| {
            let spacing = if k + 1 < count {
                Spacing::Joint
            } else {
                Spacing::Alone
            };
            TokenTree::Punct(Punct::new(c, spacing))
        })
        .collect()
}

/// Names the generated code uses itself; user variables with these names get a suffix.
const RESERVED: &[&str] = &[
    "cache", "upstream", "value", "forward", "backward", "grad", "Cache", "Grad", "tangent", "jvp", "Tangent",
];

/// How deep an expression may nest before a part of it gets a `let`.
const MAX_INLINE_DEPTH: usize = 16;

pub fn emit(function: &Function, adjoints: &Adjoints, backward_top: RegionId) -> Generated {
    let g = &function.graph;
    let plan = Plan::new(function, adjoints);
    let float = plan.float();
    let fn_name = &function.item.sig.ident;
    let params: Vec<Ident> = g.params.iter().map(|p| plan.ident(p.node)).collect();
    let (cache, upstream) = (make_ident("cache"), make_ident("upstream"));
    let mut module = Module::new(function, &plan);

    if let Some(custom) = &function.custom {
        // A custom rule: the function computes the value, the user's rule the gradient.
        let fields: Vec<Ident> = g
            .params
            .iter()
            .map(|p| make_ident(&p.ident.unraw().to_string()))
            .collect();
        let value = make_ident("value");
        let rule = plan.user_path(custom);
        // The fields as `backward` unpacks them: slices by reference, the rest by value.
        let arguments =
            g.params
                .iter()
                .zip(&fields)
                .map(|(p, field)| match (p.passing.is_reference(), g.ty(p.node)) {
                    (true, Ty::Array(_, Len::Runtime)) => quote!(#field),
                    (true, _) => quote!(&#field),
                    _ => quote!(#field),
                });
        for (param, field) in g.params.iter().zip(&fields) {
            module.cache_field(field.clone(), g.ty(param.node), cache_value(param, field));
        }
        module.cache_field(value.clone(), &Ty::Float, value.to_token_stream());
        // The function with the module's own generics (`::<T, N>`).
        let (_, type_args) = plan.generics();
        let turbofish = (!type_args.is_empty()).then(|| quote!(::#type_args));
        module.forward = quote! {
            let #value = super::#fn_name #turbofish(#(#params),*);
        };
        module.output = value.to_token_stream();
        module.backward = quote!(#rule(#(#arguments,)* #value, #upstream));
        module.grad = Some({
            let one = plan.literal(1.0, false).tokens;
            quote! {
                let (#value, #cache) = forward(#(#params),*);
                (#value, backward(&#cache, #one))
            }
        });
        return module.finish();
    }

    // forward
    let mut unused_params = TokenStream::new();
    for (index, param) in g.params.iter().enumerate() {
        if !plan.live[param.node.index()] {
            let ident = &params[index];
            unused_params.extend(quote!(let _ = #ident;));
        }
    }
    let forward_body = plan.region(RegionId::TOP);
    let output = plan.expr(function.output).tokens;
    // A vector the cache keeps too: the caller gets a copy.
    let output = match plan.cached.contains(&function.output) && !is_copy(g.ty(function.output)) {
        true => quote!(::core::clone::Clone::clone(&#output)),
        false => output,
    };
    let output = returned(function, output);
    for &id in &plan.cached {
        let ident = plan.ident(id);
        let value = match g.op(id) {
            Op::Param(k) => cache_value(&g.params[*k], &ident),
            _ => ident.to_token_stream(),
        };
        let buffer = plan.layout.buffer_ty(g, id);
        module.cache_field(ident, buffer.as_ref().unwrap_or(g.ty(id)), value);
    }

    // backward
    let reads_upstream = g
        .ids()
        .any(|id| plan.live[id.index()] && g.op(id) == &Op::Upstream && plan.backward(id));
    let ignore_upstream = match reads_upstream {
        // A tuple's upstream, as the graph has it: an array.
        true => upstream_in(function, &float, plan.rust_type(g.ty(function.output))),
        false => quote!(let _ = #upstream;),
    };
    let backward_body = plan.region(backward_top);
    let mut grad_lets = TokenStream::new();
    let mut leaf_grads = Vec::new();
    for (param, (ident, adjoint)) in g.params.iter().zip(params.iter().zip(&adjoints.of_param)) {
        if !param.wrt {
            leaf_grads.push(quote!(::core::default::Default::default()));
            continue;
        }
        let ty = g.ty(param.node);
        let value = match adjoint {
            None => plan.zero(ty, Some(param.node)),
            Some(adjoint) => {
                let adjoint_name = format!("d_{}", ident.unraw());
                if plan.names[adjoint.index()].as_deref() == Some(adjoint_name.as_str()) {
                    plan.ident(*adjoint).into_token_stream()
                } else if g.is_free(*adjoint) {
                    plan.expr(*adjoint).tokens
                } else {
                    // add distributes: the same gradient reaches several variables
                    let alias = plan.alias(&adjoint_name);
                    let value = plan.expr(*adjoint).tokens;
                    grad_lets.extend(quote!(let #alias = #value;));
                    alias.into_token_stream()
                }
            }
        };
        leaf_grads.push(value);
    }
    let grad_fields = signature_fields(g, &leaf_grads);
    let one = plan.literal(1.0, false).tokens;
    let grad_marker = plan.grad_marker();
    // The backward part reads forward arrays by reference, as `backward` has them.
    let mut rebind = TokenStream::new();
    for &id in &plan.cached {
        let reference_param = matches!(g.op(id), Op::Param(k) if g.params[*k].passing.is_reference());
        if g.ty(id).is_tensor() && !reference_param {
            let ident = plan.ident(id);
            rebind.extend(quote!(let #ident = &#ident;));
        }
    }
    let bindings = module.bindings.clone();
    module.forward = quote!(#unused_params #forward_body);
    module.output = output.clone();
    module.backward = quote! {
        #ignore_upstream
        #backward_body
        #grad_lets
        Grad { #(#grad_fields,)* #grad_marker }
    };
    module.grad = (!function.returns.is_vector()).then(|| {
        quote! {
            #bindings
            #unused_params
            #forward_body
            let #upstream: #float = #one;
            #ignore_upstream
            #rebind
            #backward_body
            #grad_lets
            (#output, Grad { #(#grad_fields,)* #grad_marker })
        }
    });
    module.finish()
}

/// The type the generated functions give the function's value: the float type, or the
/// vector type as written (a tuple of floats for a tuple).
pub fn output_type(function: &Function, float: &Ident) -> TokenStream {
    match &function.returns {
        Returns::Float => float.to_token_stream(),
        Returns::Vector { written, .. } => written.clone(),
        Returns::Tuple(n) => {
            let floats = std::iter::repeat_n(float, *n);
            quote!((#(#floats,)*))
        }
    }
}

/// Whether the graph's output is a fixed-size array where the signature has a `Vec`
/// (`vec![a, b]`).
fn fixed_as_vec(function: &Function) -> bool {
    matches!(
        function.returns,
        Returns::Vector {
            kind: crate::ir::VectorKind::Vec,
            ..
        }
    ) && matches!(function.graph.ty(function.output), Ty::Array(_, len) if *len != Len::Runtime)
}

/// An expression of the output's value in the graph, as the signatures return it (a tuple
/// from the graph's array; a `Vec` from an array of fixed size).
pub fn returned(function: &Function, value: TokenStream) -> TokenStream {
    match function.returns {
        Returns::Tuple(_) => quote!(::core::convert::Into::into(#value)),
        _ if fixed_as_vec(function) => quote!(::std::vec::Vec::from(#value)),
        _ => value,
    }
}

/// `upstream` given as the signature has it, rebound as the graph reads it, of type `ty`
/// (an array for a tuple; for a `Vec` the graph has as a fixed-size array, that array: an
/// upstream of another length than the value's is a panic, as indexing out of bounds is).
pub fn upstream_in(function: &Function, float: &Ident, ty: TokenStream) -> TokenStream {
    let upstream = make_ident("upstream");
    match function.returns {
        Returns::Tuple(n) => {
            let n = proc_macro2::Literal::usize_unsuffixed(n);
            quote!(let #upstream: [#float; #n] = ::core::convert::Into::into(#upstream);)
        }
        _ if fixed_as_vec(function) => quote! {
            let #upstream: #ty = match ::core::convert::TryInto::try_into(#upstream) {
                ::core::result::Result::Ok(upstream) => upstream,
                ::core::result::Result::Err(_) => ::core::panic!("the upstream gradient has another length than the function's value"),
            };
        },
        _ => TokenStream::new(),
    }
}

/// The generated functions' parameters (`p: &Params`, `x: f64`), and the bindings of
/// struct fields from them (`let p_w = &p.w;`).
fn signature(g: &Graph, plan: &Plan) -> (Vec<TokenStream>, TokenStream) {
    let mut parameters = Vec::new();
    for argument in &g.signature {
        match argument {
            Argument::Param(k) => {
                let param = &g.params[*k];
                let (ident, ty) = (plan.ident(param.node), &param.written);
                parameters.push(quote!(#ident: #ty));
            }
            Argument::Record(record) => {
                let (ident, ty) = (&record.ident, &record.written);
                parameters.push(quote!(#ident: #ty));
            }
        }
    }
    let mut bindings = TokenStream::new();
    for param in &g.params {
        if let Some((binding, _)) = &param.field {
            let ident = plan.ident(param.node);
            bindings.extend(quote!(let #ident = #binding;));
        }
    }
    (parameters, bindings)
}

/// The gradient's fields, one per signature parameter it is taken with respect to, from
/// each param's gradient (`leaf_grads`, by param index): a struct's is a value of the
/// struct, built from its fields' (`p: Params { w: d_p_w, n: Default::default() }`).
fn signature_fields(g: &Graph, leaf_grads: &[TokenStream]) -> Vec<TokenStream> {
    g.signature
        .iter()
        .filter_map(|argument| match argument {
            Argument::Param(k) if g.params[*k].wrt => {
                let (field, value) = (&g.params[*k].ident, &leaf_grads[*k]);
                Some(quote!(#field: #value))
            }
            Argument::Param(_) => None,
            Argument::Record(record) if record.wrt => {
                let field = &record.ident;
                let value = tree_value(g, &record.tree, leaf_grads);
                Some(quote!(#field: #value))
            }
            Argument::Record(_) => None,
        })
        .collect()
}

/// Where each param's gradient is in a `Grad` named `grad`: `grad.x`, `grad.p.w` (a struct's
/// field; for an array of structs, that field of each element), by param index.
fn grad_places(g: &Graph) -> Vec<TokenStream> {
    fn walk(
        tree: &crate::ir::Tree,
        record: &TokenStream,
        members: &TokenStream,
        elements: Option<&crate::ir::Elements>,
        places: &mut [TokenStream],
    ) {
        for (name, field) in &tree.fields {
            let members = quote!(#members.#name);
            match field {
                crate::ir::Field::Leaf(k) => {
                    places[*k] = match elements {
                        None => quote!(#record #members),
                        Some(crate::ir::Elements::Runtime) => quote! {
                            #record.iter().map(|e| ::core::clone::Clone::clone(&e #members)).collect::<::std::vec::Vec<_>>()
                        },
                        Some(crate::ir::Elements::Fixed(len)) => quote! {
                            ::core::array::from_fn::<_, { #len }, _>(|k| ::core::clone::Clone::clone(&#record[k] #members))
                        },
                    }
                }
                crate::ir::Field::Data => {}
                crate::ir::Field::Nested(inner) => walk(inner, record, &members, elements, places),
            }
        }
    }
    let mut places = vec![TokenStream::new(); g.params.len()];
    for argument in &g.signature {
        match argument {
            Argument::Param(k) => {
                let ident = &g.params[*k].ident;
                places[*k] = quote!(grad.#ident);
            }
            Argument::Record(record) => {
                let ident = &record.ident;
                let tree = &record.tree;
                walk(
                    tree,
                    &quote!(grad.#ident),
                    &TokenStream::new(),
                    tree.elements.as_ref(),
                    &mut places,
                );
            }
        }
    }
    places
}

/// A struct literal of a record's tree, each leaf's value from `leaves` (by param index);
/// for an array of structs, the array of them, element by element.
fn tree_value(g: &Graph, tree: &crate::ir::Tree, leaves: &[TokenStream]) -> TokenStream {
    fn literal(g: &Graph, tree: &crate::ir::Tree, leaf: &dyn Fn(usize) -> TokenStream) -> TokenStream {
        let fields = tree.fields.iter().map(|(name, field)| {
            let value = match field {
                crate::ir::Field::Leaf(k) if g.params[*k].wrt => leaf(*k),
                crate::ir::Field::Leaf(_) | crate::ir::Field::Data => {
                    quote!(::core::default::Default::default())
                }
                crate::ir::Field::Nested(inner) => literal(g, inner, leaf),
            };
            quote!(#name: #value)
        });
        let path = &tree.path;
        quote!(#path { #(#fields,)* })
    }
    let Some(elements) = &tree.elements else {
        return literal(g, tree, &|k| leaves[k].clone());
    };
    // Each field's gradient once, then the elements.
    let mut wrt = Vec::new();
    collect_leaves(tree, &mut wrt);
    wrt.retain(|&k| g.params[k].wrt);
    let bound: Vec<Ident> = (0..wrt.len()).map(|j| format_ident!("__field_{}", j)).collect();
    let lets = wrt.iter().zip(&bound).map(|(&k, name)| {
        let value = &leaves[k];
        quote!(let #name = #value;)
    });
    let element = literal(g, tree, &|k| {
        let j = wrt.iter().position(|&w| w == k).unwrap_or_default();
        let name = &bound[j];
        quote!(#name[k])
    });
    let Some(first) = bound.first() else {
        return quote!(::core::default::Default::default());
    };
    match elements {
        crate::ir::Elements::Runtime => quote! {{
            #(#lets)*
            (0..#first.len()).map(|k| #element).collect::<::std::vec::Vec<_>>()
        }},
        crate::ir::Elements::Fixed(len) => quote! {{
            #(#lets)*
            ::core::array::from_fn::<_, { #len }, _>(|k| #element)
        }},
    }
}

/// The param indices of a tree's leaves, in order.
fn collect_leaves(tree: &crate::ir::Tree, out: &mut Vec<usize>) {
    for (_, field) in &tree.fields {
        match field {
            crate::ir::Field::Leaf(k) => out.push(*k),
            crate::ir::Field::Data => {}
            crate::ir::Field::Nested(inner) => collect_leaves(inner, out),
        }
    }
}

/// How a cached parameter is stored: slices copied (the cache owns what it keeps),
/// references to arrays dereferenced.
fn cache_value(param: &crate::ir::Param, ident: &Ident) -> TokenStream {
    match param.passing {
        // An owned array moves into the cache; a reference or a view is copied.
        Passing::Value | Passing::OwnedArray => quote!(#ident),
        Passing::View | Passing::RefArray => quote!(#ident.to_owned()),
        Passing::RefFixed => quote!(*#ident),
        Passing::RefSlice => quote!(#ident.to_vec()),
    }
}

/// The generated module, assembled from its parts.
struct Module<'p, 'f> {
    function: &'f Function,
    plan: &'p Plan<'f>,
    cached: Vec<Ident>,
    cache_types: Vec<TokenStream>,
    cache_values: Vec<TokenStream>,
    cache_zeros: Vec<TokenStream>,
    cache_patterns: Vec<TokenStream>,
    cache_copy: bool,
    /// Statements of `forward`, then its value.
    forward: TokenStream,
    output: TokenStream,
    /// Statements of `backward` (after the cache is unpacked), ending in a `Grad`.
    backward: TokenStream,
    /// The body of `grad` (a float-valued function's).
    grad: Option<TokenStream>,
    /// The signature's parameters (`p: &Params`, `x: f64`) and the bindings of struct
    /// fields from them (`let p_w = &p.w;`).
    signature: Vec<TokenStream>,
    bindings: TokenStream,
}

impl<'p, 'f> Module<'p, 'f> {
    fn new(function: &'f Function, plan: &'p Plan<'f>) -> Self {
        Module {
            function,
            plan,
            cached: Vec::new(),
            cache_types: Vec::new(),
            cache_values: Vec::new(),
            cache_zeros: Vec::new(),
            cache_patterns: Vec::new(),
            cache_copy: true,
            forward: TokenStream::new(),
            output: TokenStream::new(),
            backward: TokenStream::new(),
            grad: None,
            signature: Vec::new(),
            bindings: TokenStream::new(),
        }
        .with_signature()
    }

    fn with_signature(mut self) -> Self {
        (self.signature, self.bindings) = signature(&self.function.graph, self.plan);
        self
    }

    fn cache_field(&mut self, ident: Ident, ty: &Ty, value: TokenStream) {
        let copy = is_copy(ty);
        self.cache_copy &= copy;
        // A called function's cache, as the callee says it is held (boxed where the callee
        // calls others: the caches of recursive calls would otherwise hold themselves).
        let value = match ty {
            Ty::Opaque(index) => {
                let caches = self.plan.caches(*index);
                quote!(#caches::hold(#value))
            }
            _ => value,
        };
        self.cache_types.push(match ty {
            Ty::Opaque(index) => {
                let caches = self.plan.caches(*index);
                quote!(#caches::Held)
            }
            _ => self.plan.rust_type(ty),
        });
        self.cache_zeros.push(self.plan.zero(ty, None));
        let shorthand = ident == value.to_string();
        self.cache_values.push(if shorthand {
            quote!(#ident)
        } else {
            quote!(#ident: #value)
        });
        self.cache_patterns
            .push(if copy { quote!(#ident) } else { quote!(ref #ident) });
        self.cached.push(ident);
    }

    fn finish(self) -> Generated {
        let Module {
            function,
            plan,
            cached,
            cache_types,
            cache_values,
            cache_zeros,
            cache_patterns,
            ..
        } = &self;
        let g = &function.graph;
        let float = plan.float();
        let vis = &function.item.vis;
        let fn_name = &function.item.sig.ident;
        let cfgs: Vec<_> = function
            .item
            .attrs
            .iter()
            .filter(|attr| attr.path().is_ident("cfg"))
            .collect();
        let signature = &self.signature;
        let (cache, upstream) = (make_ident("cache"), make_ident("upstream"));
        let (generics, type_args) = plan.generics();
        let fn_generics = plan.fn_generics();
        // The gradient's fields: one per signature parameter with a gradient, of its shape
        // (a struct's of its struct type).
        let wrt: Vec<(&Ident, TokenStream, bool)> = g
            .signature
            .iter()
            .filter_map(|argument| match argument {
                Argument::Param(k) if g.params[*k].wrt => {
                    let p = &g.params[*k];
                    let ty = g.ty(p.node);
                    Some((&p.ident, plan.rust_type(ty), is_copy(ty)))
                }
                Argument::Record(record) if record.wrt => Some((&record.ident, record.owned.clone(), false)),
                _ => None,
            })
            .collect();
        let grad_fields: Vec<&Ident> = wrt.iter().map(|(ident, _, _)| *ident).collect();
        let grad_types: Vec<&TokenStream> = wrt.iter().map(|(_, ty, _)| ty).collect();
        let zeros: Vec<TokenStream> = g.params.iter().map(|p| plan.zero(g.ty(p.node), None)).collect();
        let grad_zeros = signature_fields(g, &zeros);
        let grad_docs = wrt
            .iter()
            .map(|(ident, _, _)| format!(" ∂{fn_name}/∂{}", ident.unraw()));
        let grad_copy = wrt.iter().all(|(_, _, copy)| *copy);
        // The positional gradient for callers: one entry per parameter (a struct's field
        // each, as callers pass them), `()` for those without a gradient (integers, or not
        // in `wrt`).
        let places = grad_places(g);
        let positional = g.params.iter().zip(&places).map(|(p, place)| match p.wrt {
            true => (plan.rust_type(g.ty(p.node)), place.clone()),
            false => (quote!(()), quote!(())),
        });
        let (vjp_types, vjp_values): (Vec<TokenStream>, Vec<TokenStream>) = positional.unzip();
        // Without `hessian`, what a caller's second derivatives would call: a stand-in whose
        // first argument (the caller's `()`) fails a bound that says what to add.
        let hvp_stand_in = (!function.extras.hessian).then(|| {
            let message = format!(
                "`{fn_name}` has no second derivatives, so the Hessian of a function calling it cannot go through this call"
            );
            let note = format!(
                "add `hessian` to the attribute of `fn {fn_name}`: `#[differentiate(hessian)]` (a vector-valued function has none: call a float-valued one)"
            );
            let label = format!("`{fn_name}` has no `hessian`");
            quote! {
                #[doc(hidden)]
                #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
                pub trait __SecondDerivatives {}

                #[doc(hidden)]
                pub fn __hvp #fn_generics (
                    _: impl __SecondDerivatives,
                    _: impl ::core::marker::Sized,
                    _: impl ::core::marker::Sized,
                    _: impl ::core::marker::Sized,
                    _: impl ::core::marker::Sized,
                ) -> ((#(#vjp_types,)*), (#(#vjp_types,)*)) {
                    ::core::unreachable!()
                }
            }
        });
        // What callers call: `forward` of the parameters one by one (a struct's fields each).
        let leaf_signature: Vec<TokenStream> = g
            .params
            .iter()
            .map(|p| {
                let (ident, ty) = (plan.ident(p.node), &p.written);
                quote!(#ident: #ty)
            })
            .collect();
        let leaves: Vec<Ident> = g.params.iter().map(|p| plan.ident(p.node)).collect();
        // Struct parameters whose fields go one by one to `__forward` (a `self` read as
        // data has no fields a caller could pass: its reads are bound in `forward`).
        let records = g
            .signature
            .iter()
            .any(|a| matches!(a, Argument::Record(record) if !record.opaque));
        let bindings = &self.bindings;
        // Array parameters keep their written types (`&Array2<f64>`), named beside the function.
        let array_params = g.params.iter().any(|p| p.passing.is_ndarray())
            || g.signature.iter().any(|a| matches!(a, Argument::Record(_)));
        // (A vector type as written may name the user's imports and constants: `Array1`, `N`.)
        let uses_super =
            plan.uses_named || function.custom.is_some() || array_params || function.returns.is_vector();
        let derive = |copy: bool| if copy { quote!(Clone, Copy) } else { quote!(Clone) };
        let (cache_derive, grad_derive) = (derive(self.cache_copy), derive(grad_copy));
        // How a caller's cache holds this one: boxed where this function calls others, so
        // that recursion (direct, or through other functions, which no one macro sees
        // whole) has caches of finite size; as it is otherwise.
        let held = match g.ids().any(|id| matches!(g.op(id), Op::Call { .. })) {
            true => quote! {
                type Held = ::chainrule::__private::Boxed<Cache #type_args>;
                #[inline]
                fn hold(cache: Self::Cache) -> Self::Held {
                    ::chainrule::__private::Boxed::new(cache)
                }
            },
            false => quote! {
                type Held = Cache #type_args;
                #[inline]
                fn hold(cache: Self::Cache) -> Self::Held {
                    cache
                }
            },
        };
        // A generic float type may appear in no field: a marker keeps it used.
        let marker = plan
            .generic()
            .map(|t| quote!(_float: ::core::marker::PhantomData<#t>,));
        let marker_value = plan
            .generic()
            .map(|_| quote!(_float: ::core::marker::PhantomData,));
        let grad_marker = plan.grad_marker().map(|_| marker.clone());
        let grad_marker_value = plan.grad_marker();
        let doc_module = match function.returns.is_vector() {
            true => format!(
                " Derivatives of `{fn_name}`, a vector-valued function, generated by `#[differentiate]`: \
                 [`forward`]({m}::forward) computes the value and a [`Cache`]({m}::Cache), \
                 [`backward`]({m}::backward) turns the cache and an upstream gradient of the output's \
                 shape into a [`Grad`]({m}::Grad) (a vector–Jacobian product), and \
                 [`jacobian`]({m}::jacobian) gives the Jacobian, one `Grad` per output.",
                m = fn_name
            ),
            false => format!(
                " Gradient of `{fn_name}`, generated by `#[differentiate]`: [`forward`]({m}::forward) \
             computes the value and a [`Cache`]({m}::Cache), [`backward`]({m}::backward) turns \
             the cache and an upstream gradient into a [`Grad`]({m}::Grad), and \
             [`grad`]({m}::grad) does both with upstream 1.",
                // Written from the module's parent, where rustdoc resolves a module's own links.
                m = fn_name
            ),
        };
        let doc_backward = format!(
            " The backward pass: given `upstream` = ∂L/∂{fn_name}, the gradient ∂L/∂(each parameter) — \
             each local gradient times the upstream gradient, by the chain rule."
        );
        let turbofish = plan.turbofish();
        // `Types` carries the const lengths (a cache's type depends on them).
        let (types_params, types_args) = match g.consts.is_empty() {
            true => (TokenStream::new(), TokenStream::new()),
            false => {
                let (declared, named): (Vec<&TokenStream>, Vec<&Ident>) =
                    g.consts.iter().map(|(d, n)| (d, n)).unzip();
                (quote!(<#(#declared),*>), quote!(<#(#named),*>))
            }
        };
        let callees = callees::fallbacks(g, fn_name, &|id| plan.output(id, 1).is_some(), &|ty| {
            plan.rust_type(ty)
        });
        let uses_super = uses_super || !callees.is_empty();
        let (forward, output, backward) = (&self.forward, &self.output, &self.backward);
        let out = output_type(function, &float);
        let grad = self.grad.as_ref().map(|grad| {
            quote! {
                /// The value and the gradient at one point: `forward`, then `backward` with
                /// upstream 1, in one function (no cache is built).
                #[inline]
                pub fn grad #fn_generics (#(#signature),*) -> (#float, Grad #type_args) {
                    #grad
                }
            }
        });
        Generated {
            // The function counts as used: its gradient is used (no dead-code warning for it
            // when only `grad` is called). Beside the module, so that it also works in a block.
            // (A method's impl block marks it used itself.)
            before: match function.method {
                true => TokenStream::new(),
                false => quote! {
                    #(#cfgs)*
                    const _: () = {
                        let _ = #fn_name #turbofish;
                    };
                },
            },
            // Generated code: lints are for the user's code, which stays as written (a folded
            // constant can look like `std`'s, an index loop is the clearest gradient, …).
            head: quote! {
                #(#cfgs)*
                #[doc = #doc_module]
            },
            module: quote! {
                #[allow(unused, clippy::all, clippy::pedantic, clippy::nursery)]
                #vis mod #fn_name
            },
            uses_super,
            cache: quote! {
                /// What the backward pass needs from the forward pass.
                #[derive(Debug, #cache_derive, PartialEq)]
                pub struct Cache #generics {
                    #(#cached: #cache_types,)*
                    #marker
                }
            },
            grad_struct: quote! {
                /// The gradient: one field per parameter it is taken with respect to, of the
                /// parameter's shape.
                #[derive(Debug, #grad_derive, PartialEq)]
                pub struct Grad #generics {
                    #(#[doc = #grad_docs] pub #grad_fields: #grad_types,)*
                    #grad_marker
                }
            },
            forward: match records {
                false => quote! {
                    #[inline]
                    pub fn forward #fn_generics (#(#signature),*) -> (#out, Cache #type_args) {
                        #bindings
                        #forward
                        (#output, Cache { #(#cache_values,)* #marker_value })
                    }

                    /// `forward` for a `#[differentiate]` function calling this one.
                    #[doc(hidden)]
                    pub use forward as __forward;
                },
                true => quote! {
                    #[inline]
                    pub fn forward #fn_generics (#(#signature),*) -> (#out, Cache #type_args) {
                        #bindings
                        __forward(#(#leaves),*)
                    }

                    /// `forward` of the struct parameters' fields, one by one, as a
                    /// `#[differentiate]` function calling this one passes them.
                    #[doc(hidden)]
                    #[inline]
                    pub fn __forward #fn_generics (#(#leaf_signature),*) -> (#out, Cache #type_args) {
                        #forward
                        (#output, Cache { #(#cache_values,)* #marker_value })
                    }
                },
            },
            backward: quote! {
                #[doc = #doc_backward]
                #[inline]
                pub fn backward #generics (#cache: &Cache #type_args, #upstream: #out) -> Grad #type_args {
                    let Cache { #(#cache_patterns,)* .. } = *#cache;
                    #backward
                }
            },
            middle: quote! {
                impl #generics ::core::default::Default for Cache #type_args {
                    fn default() -> Self {
                        Cache { #(#cached: #cache_zeros,)* #marker_value }
                    }
                }

                impl #generics ::core::default::Default for Grad #type_args {
                    fn default() -> Self {
                        Grad { #(#grad_zeros,)* #grad_marker_value }
                    }
                }

                /// Names this function's cache type for the functions that call it.
                #[doc(hidden)]
                pub struct Types #types_params;

                impl #generics ::chainrule::__private::Caches<#float> for Types #types_args {
                    type Cache = Cache #type_args;
                    #held
                }

                /// What a function calling this one checks it has (see `__chainrule_callees`).
                #[doc(hidden)]
                #[inline]
                pub fn __chainrule_check<M>(_: M) {}

                #callees
            },
            rest: quote! {
                /// The gradient by position, for a `#[differentiate]` function calling this one.
                #[doc(hidden)]
                #[inline]
                pub fn __vjp #generics (#cache: &Cache #type_args, #upstream: #out) -> (#(#vjp_types,)*) {
                    let grad = backward(#cache, #upstream);
                    let _ = &grad;
                    (#(#vjp_values,)*)
                }

                #hvp_stand_in

                #grad
            },
        }
    }
}

/// The generics of a generated function taking the function's parameters: their lifetimes,
/// then the float type (`<'a, T: ::chainrule::Real>`).
pub fn fn_generics(g: &Graph) -> TokenStream {
    let lifetimes = &g.lifetimes;
    let consts = g.consts.iter().map(|(declared, _)| declared);
    let float = g.generic.as_ref().map(|t| quote!(#t: ::chainrule::Real));
    let params: Vec<TokenStream> = lifetimes
        .iter()
        .cloned()
        .chain(float)
        .chain(consts.cloned())
        .collect();
    match params.is_empty() {
        true => TokenStream::new(),
        false => quote!(<#(#params),*>),
    }
}

/// The generated module `f`, in parts, for the docs back end to add to (documentation,
/// `graph()`, `trace`, `SOURCE`) before [`Generated::assemble`] puts it together.
pub struct Generated {
    /// Items before the module (a use of the function, so that it counts as used).
    pub before: TokenStream,
    /// The module's attributes that come first: its `cfg`s and its first documentation.
    pub head: TokenStream,
    /// The rest of the module's attributes, `pub mod f`.
    pub module: TokenStream,
    /// Whether the module has `use super::*;`.
    pub uses_super: bool,
    /// The items `SOURCE` shows: `struct Cache`, `struct Grad`, `fn forward`, `fn backward`.
    pub cache: TokenStream,
    pub grad_struct: TokenStream,
    pub forward: TokenStream,
    pub backward: TokenStream,
    /// Between `Grad` and `forward`: the `Default`s and `Types`.
    pub middle: TokenStream,
    /// After `backward`: `__vjp` and `grad`.
    pub rest: TokenStream,
}

impl Generated {
    /// The whole output: `docs` after the module's own documentation, `forward_docs` on
    /// `forward`, and `items` at the end of the module.
    pub fn assemble(self, docs: TokenStream, forward_docs: TokenStream, items: TokenStream) -> TokenStream {
        let Generated {
            before,
            head,
            module,
            uses_super,
            cache,
            grad_struct,
            forward,
            backward,
            middle,
            rest,
        } = self;
        let uses_super = uses_super.then(|| {
            quote! {
                // The user's constants resolve as they do beside the function (an absolute
                // path like `std::f64::consts::PI` leaves the import unused).
                #[allow(unused_imports)]
                use super::*;
            }
        });
        quote! {
            #before

            #head
            #docs
            #module {
                #uses_super
                #cache
                #grad_struct
                #middle
                /// The forward pass: the function's value, and the cache for [`backward`].
                #forward_docs
                #forward
                #backward
                #rest
                #items
            }
        }
    }
}

fn float_type(float: FloatType) -> Ident {
    Ident::new(float.name(), Span::call_site())
}

fn is_copy(ty: &Ty) -> bool {
    match ty {
        Ty::Array(_, Len::Runtime) | Ty::Opaque(_) | Ty::Tensor { .. } => false,
        Ty::Array(element, _) => is_copy(element),
        _ => true,
    }
}

/// An expression and its precedence.
pub struct Printed {
    pub tokens: TokenStream,
    pub precedence: u8,
}

/// Where an operand goes in an operation as written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Place {
    /// Of an operator, at a precedence.
    Operand(u8),
    /// `x` in `x.exp()`.
    Receiver,
    /// `b` in `a.max(b)`.
    MethodArgument,
    /// `x` in `::chainrule::relu(x)`.
    FunctionArgument,
}

/// An operation of the table as Rust writes it, by its row's syntax: `-a`, `a + b`,
/// `x.exp()`, `::chainrule::relu(x)`; `operand(k, place)` writes operand `k` there. The one
/// writer of operations, for the code and the trace back ends (and arrays' operators).
pub fn written(rule: &Rule, mut operand: impl FnMut(usize, Place) -> TokenStream) -> Printed {
    match rule.syntax {
        Syntax::Prefix(symbol) => {
            let op = operator(symbol);
            let x = operand(0, Place::Operand(UNARY));
            Printed::new(quote!(#op #x), UNARY)
        }
        Syntax::Infix(symbol, level) => {
            let op = operator(symbol);
            let lhs = operand(0, Place::Operand(level));
            // Left-associative: `a - (b - c)` keeps its parentheses (and `a + (b + c)`,
            // which rounds differently from `a + b + c`).
            let rhs = operand(1, Place::Operand(level + 1));
            Printed::new(quote!(#lhs #op #rhs), level)
        }
        Syntax::Method => {
            let receiver = operand(0, Place::Receiver);
            let method = make_ident(rule.name);
            let rest: Vec<TokenStream> = (1..rule.args.len())
                .map(|k| operand(k, Place::MethodArgument))
                .collect();
            Printed::new(quote!(#receiver.#method(#(#rest),*)), POSTFIX)
        }
        Syntax::Function => {
            let function = make_ident(rule.name);
            let args: Vec<TokenStream> = (0..rule.args.len())
                .map(|k| operand(k, Place::FunctionArgument))
                .collect();
            Printed::new(quote!(::chainrule::#function(#(#args),*)), POSTFIX)
        }
    }
}

impl Printed {
    pub fn new(tokens: TokenStream, precedence: u8) -> Self {
        Printed { tokens, precedence }
    }

    /// The tokens, in parentheses if they bind looser than `level`.
    pub fn at(self, level: u8) -> TokenStream {
        if self.precedence < level {
            Group::new(Delimiter::Parenthesis, self.tokens).into_token_stream()
        } else {
            self.tokens
        }
    }
}

/// What to emit: which nodes are live, which get a `let`, their names, which arrays are
/// updated in place.
struct Plan<'f> {
    g: &'f Graph,
    live: Vec<bool>,
    /// Per structured node, which of its outputs (carried values) are live.
    live_slots: HashMap<NodeId, HashSet<usize>>,
    /// Forward values the backward pass reads, in arena order.
    cached: Vec<NodeId>,
    lets: Vec<bool>,
    names: Vec<Option<String>>,
    /// Nodes that update their first argument's variable in place (`a[i] = v`).
    in_place: HashSet<NodeId>,
    /// Values that are not `Copy` and read more than once (see [`Plan::moved`]).
    shared: HashSet<NodeId>,
    /// Variables that need `let mut`.
    mutable: HashSet<NodeId>,
    taken: RefCell<HashSet<String>>,
    next_suffix: RefCell<HashMap<String, usize>>,
    uses_named: bool,
    /// Inside a `Zip` closure over arrays: what is read as its float parameters.
    closure: RefCell<tensor::Closure>,
    /// What a reader adds to the code (`trace`'s records), if anything.
    hooks: Option<&'f dyn Hooks>,
    /// Loop nests with one buffer for their saved values.
    layout: crate::analysis::layout::Layout,
    /// Writing a nest's bounds before the nest: values of the nest written out whole.
    hoisting: std::cell::Cell<bool>,
}

/// What another back end adds to the code this one writes, at the points where the code
/// has the values: `trace` records each value the picture shows and each gradient flowing
/// along an edge. With hooks, every value they ask for is computed and named, and no array
/// is updated in place (a value, once recorded, stays as it was).
pub trait Hooks {
    /// Values to compute and name, besides the value and the gradient.
    fn roots(&self) -> Vec<NodeId>;
    /// After the statement that computes `id` (for a structured node, each output).
    fn value(&self, id: NodeId, print: &dyn Fn(NodeId) -> TokenStream) -> TokenStream;
    /// At the start of a branch's side or of a loop body's iteration.
    fn enter(&self, region: RegionId) -> TokenStream;
    /// Before a loop over `body` starts.
    fn before_loop(&self, body: RegionId) -> TokenStream;
    /// At the end of a region's statements (before its yields and a loop's next values).
    fn leave(&self, region: RegionId, print: &dyn Fn(NodeId) -> TokenStream) -> TokenStream;
}

/// The function's value and gradient as plain statements with a reader's hooks in them:
/// the body of `grad` without its result, for the trace back end. Returns the statements
/// of the forward part and of the backward part (after `let upstream = 1`), and the
/// parameters' names.
pub fn hooked(function: &Function, adjoints: &Adjoints, backward_top: RegionId, hooks: &dyn Hooks) -> Hooked {
    let plan = Plan::with_hooks(function, adjoints, Some(hooks));
    let g = &function.graph;
    let (signature, bindings) = signature(g, &plan);
    let mut forward = TokenStream::new();
    for param in &g.params {
        if !plan.live[param.node.index()] {
            let ident = plan.ident(param.node);
            forward.extend(quote!(let _ = #ident;));
        }
    }
    forward.extend(plan.region(RegionId::TOP));
    let upstream = make_ident("upstream");
    let (float, one) = (plan.float(), plan.literal(1.0, false).tokens);
    let reads_upstream = g
        .ids()
        .any(|id| plan.live[id.index()] && g.op(id) == &Op::Upstream && plan.backward(id));
    let ignore_upstream = (!reads_upstream).then(|| quote!(let _ = #upstream;));
    let mut backward = quote!(let #upstream: #float = #one; #ignore_upstream);
    backward.extend(plan.region(backward_top));
    backward.extend(hooks.leave(backward_top, &|id| plan.expr(id).tokens));
    let print = |id: NodeId| plan.expr(id).tokens;
    let value_of = |id: Option<NodeId>| id.map(print);
    Hooked {
        signature,
        bindings,
        forward,
        backward,
        gradients: adjoints
            .of_param
            .iter()
            .zip(&g.params)
            .map(|(&adjoint, param)| {
                value_of(adjoint).unwrap_or_else(|| plan.zero(g.ty(param.node), Some(param.node)))
            })
            .collect(),
        values: g
            .ids()
            .filter(|&id| g.is_free(id) || matches!(g.op(id), Op::Param(_)))
            .map(|id| (id, print(id)))
            .collect(),
        one: plan.literal(1.0, true).tokens,
        uses_named: plan.uses_named,
    }
}

/// What [`hooked`] writes.
pub struct Hooked {
    /// The parameters, as the signature declares them (`p: &Params`), and the bindings of
    /// struct fields from them (`let p_w = &p.w;`), before `forward`.
    pub signature: Vec<TokenStream>,
    pub bindings: TokenStream,
    pub forward: TokenStream,
    pub backward: TokenStream,
    /// Each parameter's gradient, as an expression after `backward`.
    pub gradients: Vec<TokenStream>,
    /// The parameters and constants, as expressions anywhere.
    pub values: HashMap<NodeId, TokenStream>,
    /// 1, typed (`1.0_f64`).
    pub one: TokenStream,
    /// Whether the code names the user's items (through `use super::*`).
    pub uses_named: bool,
}

impl<'f> Plan<'f> {
    fn new(function: &'f Function, adjoints: &Adjoints) -> Self {
        Plan::with_hooks(function, adjoints, None)
    }

    fn with_hooks(function: &'f Function, adjoints: &Adjoints, hooks: Option<&'f dyn Hooks>) -> Self {
        let g = &function.graph;
        let len = g.len();
        let mut roots: Vec<NodeId> = adjoints.of_param.iter().flatten().copied().collect();
        roots.extend(hooks.map(|h| h.roots()).unwrap_or_default());
        let (mut live, live_slots) =
            crate::analysis::liveness(g, roots.iter().copied().chain([function.output]));
        // Nests with one buffer for their saved values: the innermost iteration writes at a
        // position computed from every level's index.
        let layout = crate::analysis::layout::layout(g, &live);
        for nest in &layout.nests {
            for &level in &nest.levels {
                if let Some(index) = g.body_of(level).and_then(|b| g.region(b).index) {
                    live[index.index()] = true;
                }
            }
        }

        // The cache: top-level forward values read by live backward code.
        let is_backward = |id: NodeId| g.region(g.region_of(id)).backward;
        let mut cached_set = HashSet::new();
        for id in g.ids() {
            if live[id.index()] && is_backward(id) {
                for &arg in g.args(id) {
                    if g.region_of(arg) == RegionId::TOP && !is_backward(arg) && !g.is_free(arg) {
                        cached_set.insert(arg);
                    }
                }
            }
        }
        for &root in &roots {
            if !is_backward(root) && !g.is_free(root) {
                cached_set.insert(root);
            }
        }
        // A slice with no gradient still gets one of its length, read from the cache.
        for (param, adjoint) in g.params.iter().zip(&adjoints.of_param) {
            if param.wrt
                && adjoint.is_none()
                && matches!(g.ty(param.node), Ty::Array(_, Len::Runtime) | Ty::Tensor { .. })
            {
                cached_set.insert(param.node);
            }
        }
        let mut cached: Vec<NodeId> = cached_set.iter().copied().collect();
        cached.sort();

        // Uses, and where they are.
        let mut uses = vec![0usize; len];
        let mut used_elsewhere = vec![false; len];
        let mut used_at_end = vec![false; len]; // yields, stacks: read after the region's statements
                                                // Used only as a loop's initial value or a region's yield: written in place there,
                                                // under the variable's name (`let mut s = 0.0;`, `s = s + x;`), even if named.
        let mut as_init_or_yield = vec![false; len];
        let mut use_by = |arg: NodeId, region: RegionId, at_end: bool, uses: &mut Vec<usize>| {
            uses[arg.index()] += 1;
            if g.region_of(arg) != region {
                used_elsewhere[arg.index()] = true;
            }
            if at_end {
                used_at_end[arg.index()] = true;
            }
        };
        for id in g.ids() {
            if !live[id.index()] {
                continue;
            }
            let region = g.region_of(id);
            match g.op(id) {
                Op::Project(_) | Op::Stacked(_) => {}
                Op::Loop { .. } | Op::While { .. } => {
                    let slots = live_slots.get(&id).cloned().unwrap_or_default();
                    let args = g.args(id);
                    let first_init = if matches!(g.op(id), Op::Loop { .. }) {
                        use_by(args[0], region, false, &mut uses);
                        use_by(args[1], region, false, &mut uses);
                        2
                    } else {
                        0
                    };
                    for (k, &init) in args[first_init..].iter().enumerate() {
                        if slots.contains(&k) {
                            use_by(init, region, false, &mut uses);
                            as_init_or_yield[init.index()] = true;
                        }
                    }
                    let Some(body) = g.body_of(id) else { continue };
                    let cond = match *g.op(id) {
                        Op::While { cond, .. } => Some(cond),
                        _ => None,
                    };
                    for (k, &y) in g.region(body).yields.iter().enumerate() {
                        if slots.contains(&k) {
                            use_by(y, body, true, &mut uses);
                            as_init_or_yield[y.index()] = true;
                        }
                    }
                    for &s in &g.region(body).stacked {
                        if live[s.index()] && stacked_live(g, &live, id, s) {
                            use_by(s, body, true, &mut uses);
                        }
                    }
                    if let Some(cond) = cond {
                        if let Some(&c) = g.region(cond).yields.first() {
                            use_by(c, cond, true, &mut uses);
                        }
                    }
                }
                Op::Branch { then, otherwise } => {
                    use_by(g.args(id)[0], region, false, &mut uses);
                    let slots = live_slots.get(&id).cloned().unwrap_or_default();
                    for r in [*then, *otherwise] {
                        for (k, &y) in g.region(r).yields.iter().enumerate() {
                            if slots.contains(&k) {
                                use_by(y, r, true, &mut uses);
                                as_init_or_yield[y.index()] = true;
                            }
                        }
                    }
                }
                _ => {
                    for &arg in g.args(id) {
                        use_by(arg, region, false, &mut uses);
                    }
                }
            }
        }
        for &id in cached.iter().chain(&roots).chain([&function.output]) {
            uses[id.index()] += 1;
            used_at_end[id.index()] = true;
        }
        // A float gradient times a constant (`2.0 * d_sum`), read several times, is written
        // where it is read; the gradient it scales is then read as often.
        let scaled_gradients: HashSet<NodeId> = g
            .ids()
            .filter(|&id| {
                live[id.index()]
                    && uses[id.index()] >= 2
                    && g.region(g.region_of(id)).backward
                    && g.names[id.index()].is_none()
                    && !g.adjoint_of.contains_key(&id)
                    && g.ty(id) == &Ty::Float
                    && g.op(id) == &Op::Prim(Prim::Mul)
                    && g.args(id).iter().any(|&a| g.const_value(a).is_some())
                    && g.args(id).iter().any(|&a| g.adjoint_of.contains_key(&a))
            })
            .collect();
        for &id in &scaled_gradients {
            for &arg in g.args(id) {
                uses[arg.index()] += uses[id.index()] - 1;
            }
        }

        // Values that are not `Copy` and read more than once: moved into an array (pushed,
        // stored at an index) as a clone.
        let shared: HashSet<NodeId> = g
            .ids()
            .filter(|&id| live[id.index()] && uses[id.index()] > 1 && !is_copy(g.ty(id)))
            .collect();

        // In-place updates: `a[i] = v` when nothing reads the old `a` later.
        let mut in_place = HashSet::new();
        let mut mutable = HashSet::new();
        let mut forced_lets = HashSet::new();
        for id in g.ids() {
            if !live[id.index()] || !matches!(g.op(id), Op::Update | Op::AddAt | Op::Push) || hooks.is_some()
            {
                continue;
            }
            let base = g.args(id)[0];
            let region = g.region_of(id);
            if g.region_of(base) != region
                || used_at_end[base.index()]
                || used_elsewhere[base.index()]
                || matches!(g.op(base), Op::Param(_))
                || cached_set.contains(&base)
                || g.is_free(base)
            {
                continue;
            }
            // Other readers must come earlier in the same block, and are then bound first.
            let readers: Vec<NodeId> = g
                .ids()
                .filter(|&r| r != id && live[r.index()] && g.args(r).contains(&base))
                .collect();
            if readers
                .iter()
                .all(|&r| r < id && g.region_of(r) == region && matches!(g.op(r), Op::Index | Op::Len))
                && readers.len() + 1 == uses[base.index()]
                && !matches!(g.op(base), Op::Project(_) if matches!(g.op(g.args(base)[0]), Op::Branch { .. }))
            {
                in_place.insert(id);
                forced_lets.extend(readers);
                forced_lets.insert(base);
            }
        }

        // In-place chains: base → the update of it.
        let successor: HashMap<NodeId, NodeId> = in_place.iter().map(|&u| (g.args(u)[0], u)).collect();
        let successor_of_base = in_place.clone();
        let mut plan = Plan {
            g,
            live,
            live_slots,
            cached,
            lets: vec![false; len],
            names: vec![None; len],
            in_place,
            shared,
            mutable: HashSet::new(),
            taken: RefCell::new(RESERVED.iter().map(|s| s.to_string()).collect()),
            next_suffix: RefCell::new(HashMap::new()),
            uses_named: false,
            closure: RefCell::new(tensor::Closure::default()),
            hooks,
            layout,
            hoisting: std::cell::Cell::new(false),
        };
        for param in &g.params {
            let name = plan.fresh(&param.ident.unraw().to_string());
            plan.names[param.node.index()] = Some(name);
        }
        let fn_name = function.item.sig.ident.unraw().to_string();
        let mut shared: HashMap<NodeId, String> = HashMap::new(); // carried variables
                                                                  // A loop inside a loop carrying the same variable uses one variable: its carried
                                                                  // parameter is named after the outer one, so it comes after it, outer loops first.
        let is_inner_carried = |id: NodeId| {
            let Op::RegionParam(k) = *g.op(id) else {
                return false;
            };
            let Some(init) = g.region(g.region_of(id)).owner.and_then(|o| init_of(g, o, k)) else {
                return false;
            };
            // The initial value is a variable of its own that nothing else reads: the loop
            // can go on in it (`let mut a = …; a[0] = …; for … { a[i] = … }`).
            let is_variable = !matches!(g.op(init), Op::Param(_) | Op::Upstream | Op::LoopIndex)
                && !g.is_free(init)
                && !matches!(g.op(init), Op::Project(_) if matches!(g.op(g.args(init)[0]), Op::Branch { .. } | Op::Call { .. } | Op::CallJvp { .. }))
                && !cached_set.contains(&init)
                && g.region(g.region_of(id))
                    .owner
                    .is_some_and(|o| g.region_of(o) == g.region_of(init));
            is_variable && uses[init.index()] == 1 && g.names[init.index()] == g.names[id.index()]
        };
        // Names that are another node's: an inner loop's carried variable is the outer one,
        // an in-place update is its array's variable, a loop's output and its condition's
        // parameter are the body's carried variable. Those are named after what they depend on.
        let depends_on = |id: NodeId| -> Option<NodeId> {
            if successor_of_base.contains(&id) {
                return g.args(id).first().copied();
            }
            let carried = match *g.op(id) {
                Op::RegionParam(k) if is_inner_carried(id) => {
                    g.region(g.region_of(id)).owner.and_then(|o| init_of(g, o, k))
                }
                // (A body parameter nothing reads names nothing: a `while` condition's
                // parameter then names the variable, before the body's values.)
                Op::RegionParam(k) => g
                    .region(g.region_of(id))
                    .owner
                    .map(|owner| carried_key(g, owner, k))
                    .filter(|&key| key != id && plan.live[key.index()]),
                Op::Project(k) if g.body_of(g.args(id)[0]).is_some() => {
                    let key = carried_key(g, g.args(id)[0], k);
                    (key != g.args(id)[0] && key != id).then_some(key)
                }
                Op::Stacked(k) => g
                    .body_of(g.args(id)[0])
                    .and_then(|b| g.region(b).stacked.get(k).copied()),
                _ => None,
            };
            // Else `d_q` after `q` (and `t_q`).
            carried
                .or_else(|| g.adjoint_of.get(&id).copied())
                .or_else(|| g.tangent_of.get(&id).copied())
        };
        let dependency_depth = |mut id: NodeId| {
            let mut depth = 0usize;
            while let Some(next) = depends_on(id) {
                depth += 1;
                id = next;
                if depth > g.len() {
                    break;
                }
            }
            depth
        };
        let mut order: Vec<NodeId> = g.ids().collect();
        order.sort_by_key(|&id| (dependency_depth(id), id));
        for id in order {
            if !plan.live[id.index()] {
                continue;
            }
            for index in named_indices(g, id) {
                if g.named[index].leading_colon.is_none() {
                    plan.uses_named = true;
                }
            }
            if g.is_free(id) || matches!(g.op(id), Op::Param(_)) {
                continue;
            }
            if g.op(id) == &Op::Upstream {
                plan.names[id.index()] = Some("upstream".to_string());
                continue;
            }
            // A nest's inner stacks and the rows of its buffer are never written.
            if plan.layout.inner.contains(&id) || plan.layout.rows.contains(&id) {
                continue;
            }
            if plan.in_place.contains(&id) {
                // The same variable as the array it updates.
                let base = g.args(id)[0];
                plan.names[id.index()] = plan.names[base.index()].clone();
                plan.lets[id.index()] = true;
                let mut root = base;
                while plan.in_place.contains(&root) {
                    root = g.args(root)[0];
                }
                mutable.insert(root);
                continue;
            }
            let name = match g.op(id) {
                Op::Project(k) => {
                    let owner = g.args(id)[0];
                    match g.op(owner) {
                        Op::Loop { .. } | Op::While { .. } => shared.get(&carried_key(g, owner, *k)).cloned(),
                        _ => None,
                    }
                }
                Op::RegionParam(k) => {
                    let owner = g.region(g.region_of(id)).owner;
                    owner.and_then(|o| {
                        shared.get(&carried_key(g, o, *k)).cloned().or_else(|| {
                            let init = init_of(g, o, *k).filter(|_| is_inner_carried(id))?;
                            let name = plan.names[init.index()].clone()?;
                            shared.insert(carried_key(g, o, *k), name.clone());
                            Some(name)
                        })
                    })
                }
                _ => None,
            };
            if let Some(name) = name {
                plan.names[id.index()] = Some(name);
                plan.lets[id.index()] = true;
                continue;
            }
            let user_name = g.names[id.index()].as_ref().map(|n| n.unraw().to_string());
            let backward = plan.backward(id);
            let in_its_place =
                uses[id.index()] == 1 && as_init_or_yield[id.index()] && !used_elsewhere[id.index()];
            let scaled_gradient = scaled_gradients.contains(&id);
            let must = (user_name.is_some() && !in_its_place)
                || (uses[id.index()] >= 2 && !scaled_gradient)
                || used_elsewhere[id.index()]
                || forced_lets.contains(&id)
                || cached_set.contains(&id)
                || roots.contains(&id)
                || id == function.output
                // The gradient of a named array reads as one: `let d_h = d_scores.dot(&w2.t());`.
                || (backward
                    && g.ty(id).is_tensor()
                    && g.adjoint_of.get(&id).is_some_and(|of| {
                        g.names[of.index()].is_some() && !matches!(g.op(*of), Op::Param(_))
                    }))
                || matches!(
                    g.op(id),
                    Op::Project(_) | Op::Stacked(_) | Op::RegionParam(_) | Op::LoopIndex
                );
            if !must {
                continue;
            }
            let chain_end = {
                let mut end = id;
                while let Some(&next) = successor.get(&end) {
                    end = next;
                }
                end
            };
            let stem = if let Some(of) = g
                .adjoint_of
                .get(&id)
                .or_else(|| g.adjoint_of.get(&chain_end))
                .filter(|_| backward)
            {
                let forward_name = plan.names[of.index()].clone();
                let user_name = g.names[of.index()].as_ref().map(|n| n.unraw().to_string());
                format!(
                    "d_{}",
                    forward_name
                        .or(user_name)
                        .unwrap_or_else(|| stem(g, *of).to_string())
                )
            } else if let Some(of) = g.tangent_of.get(&id) {
                // A tangent, named after its value (`t_q`).
                let forward_name = plan.names[of.index()].clone();
                let user_name = g.names[of.index()].as_ref().map(|n| n.unraw().to_string());
                let name = forward_name
                    .or(user_name)
                    .unwrap_or_else(|| stem(g, *of).to_string());
                format!("t_{}", name.trim_start_matches('_'))
            } else if id == function.output {
                user_name.unwrap_or_else(|| fn_name.clone())
            } else if let Some(name) = user_name {
                name
            } else {
                stem(g, id).to_string()
            };
            let called = match *g.op(g.args(id).first().copied().unwrap_or(id)) {
                Op::Call { callee, .. } | Op::CallJvp { callee, .. } => Some(callee),
                _ => None,
            };
            let stem = match (g.op(id), called) {
                (Op::Project(k), Some(callee)) if !stem.starts_with("d_") => {
                    let callee = g.named[callee]
                        .segments
                        .last()
                        .map(|s| s.ident.unraw().to_string())
                        .unwrap_or_default();
                    let jvp = matches!(g.op(g.args(id)[0]), Op::CallJvp { .. });
                    if *k == 0 && g.names[id.index()].is_none() {
                        format!("{callee}_value")
                    } else if *k == 1 && jvp {
                        stem
                    } else if *k == 1 {
                        format!("{callee}_cache")
                    } else {
                        stem
                    }
                }
                (Op::Project(k), _)
                    if matches!(g.op(g.args(id)[0]), Op::CallHvp { .. })
                        && !stem.starts_with("d_")
                        && !stem.starts_with("t_") =>
                {
                    // The gradient of argument k of the call, and its tangent.
                    let Op::CallHvp { arity, .. } = *g.op(g.args(id)[0]) else {
                        unreachable!()
                    };
                    let argument = g.args(g.args(id)[0])[k % arity.max(1)];
                    let argument = plan.names[argument.index()].clone().unwrap_or(stem);
                    let argument = argument
                        .trim_start_matches("t_")
                        .trim_start_matches("d_")
                        .to_string();
                    match *k < arity {
                        true => format!("d_{argument}"),
                        false => format!("t_d_{argument}"),
                    }
                }
                (Op::Project(k), _)
                    if matches!(g.op(g.args(id)[0]), Op::CallBackward { .. }) && !stem.starts_with("d_") =>
                {
                    // The gradient of argument k of the call.
                    let call_arg = call_argument(g, g.args(id)[0], *k);
                    let argument = call_arg
                        .and_then(|a| plan.names[a.index()].clone())
                        .unwrap_or(stem);
                    format!("d_{argument}")
                }
                (Op::Stacked(k), _) => {
                    let owner = g.args(id)[0];
                    let saved = match plan.layout.buffers.get(&id) {
                        // A nest's buffer, after the value its innermost loop saves.
                        Some(&nest) => Some(plan.layout.nests[nest].saved),
                        None => g
                            .body_of(owner)
                            .and_then(|b| g.region(b).stacked.get(*k).copied()),
                    };
                    let base = saved.and_then(|s| plan.names[s.index()].clone());
                    let base = base.unwrap_or_else(|| match saved {
                        Some(s) if is_routing(g, id) || g.routing.contains(&s) => "routing".to_string(),
                        _ => stem,
                    });
                    format!("{base}_saved")
                }
                // A noun like `_shape` names the result after its argument: `b1_shape`.
                _ if stem.starts_with('_') => {
                    let base = g.args(id).first().and_then(|&a| plan.names[a.index()].clone());
                    format!("{}{stem}", base.as_deref().unwrap_or("value"))
                }
                _ => stem,
            };
            let name = plan.fresh(&stem);
            if let Op::RegionParam(k) = g.op(id) {
                if let Some(owner) = g.region(g.region_of(id)).owner {
                    shared.insert(carried_key(g, owner, *k), name.clone());
                }
            }
            plan.names[id.index()] = Some(name);
            plan.lets[id.index()] = true;
        }
        // No expression nests deeper than a reader (or rustc) wants: past a depth, a value
        // gets a `let` of its own.
        let mut depth = vec![0usize; len];
        for id in g.ids() {
            if !plan.live[id.index()] || plan.names[id.index()].is_some() || g.is_free(id) {
                continue;
            }
            let deepest = g.args(id).iter().map(|a| depth[a.index()]).max().unwrap_or(0);
            if deepest >= MAX_INLINE_DEPTH && !matches!(g.op(id), Op::Project(_) | Op::Stacked(_)) {
                let name = plan.fresh(stem(g, id));
                plan.names[id.index()] = Some(name);
                plan.lets[id.index()] = true;
            } else {
                depth[id.index()] = deepest + 1;
            }
        }
        // A variable a loop goes on in is `mut`.
        for id in g.ids() {
            if plan.live[id.index()] && is_inner_carried(id) {
                if let (Op::RegionParam(k), Some(owner)) = (g.op(id), g.region(g.region_of(id)).owner) {
                    mutable.extend(init_of(g, owner, *k));
                }
            }
        }
        plan.mutable = mutable;
        plan
    }

    /// The float type: `f64`, `f32`, or the function's type parameter.
    fn float(&self) -> Ident {
        match &self.g.generic {
            Some(t) => t.clone(),
            None => float_type(self.g.float),
        }
    }

    /// A generic `Grad` with no field of the float type needs a marker field.
    fn grad_marker(&self) -> Option<TokenStream> {
        (self.generic().is_some() && !self.g.params.iter().any(|p| p.wrt))
            .then(|| quote!(_float: ::core::marker::PhantomData,))
    }

    fn generic(&self) -> Option<&Ident> {
        self.g.generic.as_ref()
    }

    /// `<T: ::chainrule::Real, const N: usize>` and `<T, N>` for a generic function, else
    /// nothing.
    fn generics(&self) -> (TokenStream, TokenStream) {
        let (declared, named): (Vec<&TokenStream>, Vec<&Ident>) =
            self.g.consts.iter().map(|(d, n)| (d, n)).unzip();
        match self.generic() {
            Some(t) => (
                quote!(<#t: ::chainrule::Real #(, #declared)*>),
                quote!(<#t #(, #named)*>),
            ),
            None if declared.is_empty() => (TokenStream::new(), TokenStream::new()),
            None => (quote!(<#(#declared),*>), quote!(<#(#named),*>)),
        }
    }

    /// The generics of a function taking the parameters: their lifetimes, then the float
    /// type (`<'a, T: ::chainrule::Real>`).
    fn fn_generics(&self) -> TokenStream {
        fn_generics(self.g)
    }

    /// `::<f64>` to name a generic function (instantiated with f64, and const lengths 1),
    /// else nothing.
    fn turbofish(&self) -> TokenStream {
        let ones = self.g.consts.iter().map(|_| quote!(1));
        match self.generic() {
            Some(_) => quote!(::<f64 #(, #ones)*>),
            None if self.g.consts.is_empty() => TokenStream::new(),
            None => quote!(::<#(#ones),*>),
        }
    }

    /// A path the user wrote beside the function, as generated code in its module reads it.
    fn user_path(&self, path: &syn::Path) -> TokenStream {
        match path.segments.first() {
            Some(first) if path.leading_colon.is_none() && first.ident == "self" => {
                let rest = path.segments.iter().skip(1);
                quote!(super #(:: #rest)*)
            }
            Some(first) if path.leading_colon.is_none() && first.ident == "super" => quote!(super::#path),
            _ => path.into_token_stream(),
        }
    }

    fn backward(&self, id: NodeId) -> bool {
        self.g.region(self.g.region_of(id)).backward
    }

    /// A name not used yet: `stem`, else `stem_1`, `stem_2`, …
    fn fresh(&self, stem: &str) -> String {
        let mut taken = self.taken.borrow_mut();
        let mut next_suffix = self.next_suffix.borrow_mut();
        let mut name = stem.to_string();
        // Each stem remembers how far its suffixes got: naming stays linear.
        let counter = next_suffix.entry(stem.to_string()).or_insert(0);
        while taken.contains(&name) {
            *counter += 1;
            name = format!("{stem}_{counter}");
        }
        taken.insert(name.clone());
        name
    }

    fn alias(&self, stem: &str) -> Ident {
        make_ident(&self.fresh(stem))
    }

    fn ident(&self, id: NodeId) -> Ident {
        make_ident(self.names[id.index()].as_deref().unwrap_or("unnamed"))
    }

    /// The statements of a region, in evaluation order.
    fn region(&self, region: RegionId) -> TokenStream {
        let g = self.g;
        let mut out = TokenStream::new();
        if let Some(hooks) = self.hooks {
            // A region's parameters (carried values, a loop's index) as the iteration starts.
            let index = g.region(region).index.into_iter();
            for &param in index.collect::<Vec<_>>().iter().chain(&g.region(region).params) {
                if self.live[param.index()] {
                    out.extend(hooks.value(param, &|id| self.expr(id).tokens));
                }
            }
        }
        for id in g.region_nodes(region) {
            if !self.live[id.index()] {
                continue;
            }
            match g.op(id) {
                Op::Branch { then, otherwise } => out.extend(self.branch(id, *then, *otherwise)),
                Op::Loop { body, rev } => out.extend(self.for_loop(id, *body, *rev)),
                Op::While { cond, body } => out.extend(self.while_loop(id, *cond, *body)),
                Op::Call {
                    callee,
                    by_ref,
                    deref,
                } => out.extend(self.call(id, *callee, *by_ref, *deref)),
                Op::CallJvp {
                    callee,
                    by_ref,
                    deref,
                } => out.extend(self.call_jvp(id, *callee, *by_ref, *deref)),
                Op::CallBackward { callee, arity, .. } => out.extend(self.call_backward(id, *callee, *arity)),
                Op::CallHvp {
                    callee,
                    by_ref,
                    deref,
                    arity,
                } => out.extend(self.call_hvp(id, *callee, *by_ref, *deref, *arity)),
                Op::Project(_) | Op::Stacked(_) | Op::RegionParam(_) | Op::LoopIndex => {}
                Op::Update | Op::AddAt if self.in_place.contains(&id) && g.ty(id).is_tensor() => {
                    let target = self.ident(g.args(id)[0]).into_token_stream();
                    out.extend(self.tensor_update(id, target));
                }
                Op::Push if self.in_place.contains(&id) => {
                    let args = g.args(id);
                    let target = self.ident(args[0]);
                    let value = self.moved(args[1]).tokens;
                    out.extend(quote!(#target.push(#value);));
                }
                Op::Update | Op::AddAt if self.in_place.contains(&id) => {
                    let args = g.args(id);
                    let target = self.ident(args[0]);
                    let indices = args[2..].iter().map(|&i| self.expr(i).tokens);
                    let value = self.moved(args[1]).tokens;
                    out.extend(update_statement(g, id, quote!(#target #([#indices])*), value));
                }
                _ if self.lets[id.index()] => {
                    let ident = self.ident(id);
                    let value = self.inline(id).tokens;
                    let mutable = self.mutable.contains(&id).then(|| quote!(mut));
                    out.extend(quote!(let #mutable #ident = #value;));
                }
                _ => {}
            }
            if let Some(hooks) = self.hooks {
                out.extend(self.hook_values(hooks, id));
            }
        }
        out
    }

    /// What the hooks record after node `id`'s statement: its value, or its outputs'.
    fn hook_values(&self, hooks: &dyn Hooks, id: NodeId) -> TokenStream {
        let g = self.g;
        let print = |id: NodeId| self.expr(id).tokens;
        match g.op(id) {
            Op::Branch { .. }
            | Op::Loop { .. }
            | Op::While { .. }
            | Op::Call { .. }
            | Op::CallJvp { .. }
            | Op::CallBackward { .. }
            | Op::CallHvp { .. } => g
                .ids()
                .filter(|&p| self.live[p.index()] && matches!(g.op(p), Op::Project(_)) && g.args(p)[0] == id)
                .map(|p| hooks.value(p, &print))
                .collect(),
            Op::Project(_) | Op::Stacked(_) | Op::RegionParam(_) | Op::LoopIndex => TokenStream::new(),
            _ if self.lets[id.index()] => hooks.value(id, &print),
            _ => TokenStream::new(),
        }
    }

    /// The hooks' statements entering and leaving a region, and before a loop.
    fn hook_enter(&self, region: RegionId) -> TokenStream {
        self.hooks.map(|h| h.enter(region)).unwrap_or_default()
    }

    fn hook_leave(&self, region: RegionId) -> TokenStream {
        self.hooks
            .map(|h| h.leave(region, &|id| self.expr(id).tokens))
            .unwrap_or_default()
    }

    fn hook_before_loop(&self, body: RegionId) -> TokenStream {
        self.hooks.map(|h| h.before_loop(body)).unwrap_or_default()
    }

    /// A region as a block ending in its yields (`{ …; (a, b) }`), for the given slots;
    /// those of `typed` by [`Plan::typed`].
    fn block_with_yields(&self, region: RegionId, slots: &[usize], typed: &[bool]) -> TokenStream {
        let enter = self.hook_enter(region);
        let statements = self.region(region);
        let leave = self.hook_leave(region);
        let yields = &self.g.region(region).yields;
        let values: Vec<TokenStream> = slots
            .iter()
            .zip(typed)
            .map(|(&k, &typed)| match typed {
                true => self.typed(yields[k]).tokens,
                false => self.owned(yields[k]).tokens,
            })
            .collect();
        let value = tuple(&values);
        quote!({ #enter #statements #leave #value })
    }

    fn sorted_slots(&self, node: NodeId) -> Vec<usize> {
        crate::analysis::sorted_slots(&self.live_slots, node)
    }

    /// `let y = g(a, &b);`, or `let (y, g_cache) = g::__forward(a, &b);` where the backward
    /// pass needs the callee's cache.
    fn call(&self, node: NodeId, callee: usize, by_ref: u64, deref: u64) -> TokenStream {
        let path = self.path(callee);
        let args = self.call_args(node, self.g.args(node), by_ref, deref);
        let output = self.output(node, 0);
        let value = output.map(|v| self.ident(v));
        let converted = output.map(|v| self.as_returned_by_callee(v)).unwrap_or_default();
        match (value, self.output(node, 1).map(|c| self.ident(c))) {
            (value, Some(cache)) => {
                let value = value.map(|v| v.into_token_stream()).unwrap_or(quote!(_));
                // The call's tokens at the callee's name: an error about it points there.
                let span = self.g.spans[node.index()].unwrap_or_else(Span::call_site);
                quote_spanned!(span=> let (#value, #cache) = #path::__forward(#(#args),*); #converted)
            }
            (Some(value), None) => quote!(let #value = #path(#(#args),*); #converted),
            (None, None) => TokenStream::new(),
        }
    }

    /// A fixed-size array returned by a call, as the callee returns it: an array, or a
    /// tuple (`let (x, y) = polar(…)`), made the array here (`Into`: both convert).
    fn as_returned_by_callee(&self, value: NodeId) -> TokenStream {
        match self.g.ty(value) {
            ty @ Ty::Array(element, len) if **element == Ty::Float && *len != Len::Runtime => {
                let ident = self.ident(value);
                let ty = self.rust_type(ty);
                quote!(let #ident: #ty = ::core::convert::Into::into(#ident);)
            }
            _ => TokenStream::new(),
        }
    }

    /// The arguments of a call as the callee takes them: `&w` where the user wrote `&w`,
    /// `*w` where `*w`, an array as the callee's parameter wants it.
    fn call_args(&self, node: NodeId, args: &[NodeId], by_ref: u64, deref: u64) -> Vec<TokenStream> {
        args.iter()
            .enumerate()
            .map(|(k, &a)| {
                if k < 64 && by_ref & (1 << k) != 0 && self.is_view(a) {
                    // `&w.row(i)` for `&ArrayView1`, or `&w.row(i).to_owned()` for `&Array1`:
                    // the same node here, so the callee's parameter decides (`RefAs`).
                    let value = self.expr(a).tokens;
                    quote!(::chainrule::__private::tensor::RefAs::ref_as(&#value, &::core::cell::OnceCell::new()))
                } else if k < 64 && by_ref & (1 << k) != 0 {
                    let value = self.place(a).at(UNARY);
                    quote!(&#value)
                } else if k < 64 && deref & (1 << k) != 0 {
                    self.owned(a).tokens
                } else if self.g.ty(a).is_tensor() && !self.is_reference(node, a) {
                    // An array by value, where the callee takes an array or a view: either,
                    // whichever this one is (`PassAs` picks by the parameter's type).
                    let value = match self.is_view(a) {
                        true => self.expr(a).tokens,
                        false => {
                            let value = self.expr(a).at(UNARY);
                            quote!(&#value)
                        }
                    };
                    quote!(::chainrule::__private::tensor::PassAs::pass_as(#value))
                } else {
                    self.expr(a).tokens
                }
            })
            .collect()
    }

    /// `let (y, t_y) = g::__jvp(x, w, t_x, t_w);`: the callee's value and tangent, from its
    /// arguments and theirs (as the arguments are passed; `()` for an integer's).
    fn call_jvp(&self, node: NodeId, callee: usize, by_ref: u64, deref: u64) -> TokenStream {
        let g = self.g;
        let path = self.path(callee);
        let all = g.args(node);
        let (args, tangents) = all.split_at(all.len() / 2);
        let mut passed = self.call_args(node, args, by_ref, deref);
        let tangents = self.call_args(node, tangents, by_ref, deref);
        passed.extend(
            args.iter()
                .zip(tangents)
                .map(|(&a, t)| match g.ty(a).is_differentiable() {
                    true => t,
                    false => quote!(()),
                }),
        );
        let value = self
            .output(node, 0)
            .map_or(quote!(_), |v| self.ident(v).into_token_stream());
        let tangent = self
            .output(node, 1)
            .map_or(quote!(_), |t| self.ident(t).into_token_stream());
        let span = g.spans[node.index()].unwrap_or_else(Span::call_site);
        let converted: TokenStream = [self.output(node, 0), self.output(node, 1)]
            .into_iter()
            .flatten()
            .map(|v| self.as_returned_by_callee(v))
            .collect();
        quote_spanned!(span=> let (#value, #tangent) = #path::__jvp(#(#passed),*); #converted)
    }

    /// `let ((d_a, d_b), (t_d_a, t_d_b)) = g::__hvp(a, b, t_a, t_b, d_y, t_d_y);`: the
    /// callee's gradient and its tangent, by the callee's forward mode over its reverse pass.
    fn call_hvp(&self, node: NodeId, callee: usize, by_ref: u64, deref: u64, arity: usize) -> TokenStream {
        let g = self.g;
        let path = self.path(callee);
        let all = g.args(node);
        let (args, tangents) = all[..2 * arity].split_at(arity);
        let passed = self.call_args(node, args, by_ref, deref);
        let tangents: Vec<TokenStream> = args
            .iter()
            .zip(self.call_args(node, tangents, by_ref, deref))
            .map(|(&a, t)| match g.ty(a).is_differentiable() {
                true => t,
                false => quote!(()),
            })
            .collect();
        let (upstream, t_upstream) = (
            self.expr(all[2 * arity]).tokens,
            self.expr(all[2 * arity + 1]).tokens,
        );
        let pattern = |offset: usize| -> Vec<TokenStream> {
            (0..arity)
                .map(|k| {
                    self.output(node, offset + k)
                        .map_or(quote!(_), |o| self.ident(o).into_token_stream())
                })
                .collect()
        };
        let grads = pattern(0);
        let span = g.spans[node.index()].unwrap_or_else(Span::call_site);
        // (`()` first: the stand-in of a callee without `hessian` says so at the call.)
        let unit = quote_spanned!(span=> ());
        let (grad_tangents, passed_tangents) = (pattern(arity), tangents);
        quote_spanned!(span=> let ((#(#grads,)*), (#(#grad_tangents,)*)) = #path::__hvp(#unit, (#(#passed,)*), (#(#passed_tangents,)*), #upstream, #t_upstream);)
    }

    /// `let (d_a, _) = g::__vjp(&g_cache, d_y);`: the callee's gradient, one entry per
    /// argument (`()` for one it does not differentiate, which a gradient here rejects).
    fn call_backward(&self, node: NodeId, callee: usize, arity: usize) -> TokenStream {
        let g = self.g;
        let path = self.path(callee);
        let cache = self.place(g.args(node)[0]).tokens;
        let upstream = self.expr(g.args(node)[1]).tokens;
        let outputs: Vec<Option<(Ident, bool)>> = (0..arity)
            .map(|k| {
                self.output(node, k)
                    .map(|o| (self.ident(o), self.mutable.contains(&o)))
            })
            .collect();
        call_backward_tokens(g, node, &path, &cache, &upstream, &outputs)
    }

    /// `let (a, b) = if cond { …; (a1, b1) } else { …; (a2, b2) };`
    fn branch(&self, node: NodeId, then: RegionId, otherwise: RegionId) -> TokenStream {
        let slots = self.sorted_slots(node);
        if slots.is_empty() {
            return TokenStream::new();
        }
        let outputs: Vec<TokenStream> = slots
            .iter()
            .map(|&k| {
                self.output(node, k)
                    .map(|o| self.ident(o).into_token_stream())
                    .unwrap_or(quote!(_))
            })
            .collect();
        let cond = self.expr(self.g.args(node)[0]).at(IF + 1);
        // An output that is a constant on both sides gets its type: nothing else gives it.
        let g = self.g;
        let typed: Vec<bool> = slots
            .iter()
            .map(|&k| {
                [then, otherwise]
                    .iter()
                    .all(|&r| g.const_value(g.region(r).yields[k]).is_some())
            })
            .collect();
        let then = self.block_with_yields(then, &slots, &typed);
        let otherwise = self.block_with_yields(otherwise, &slots, &typed);
        let pattern = tuple(&outputs);
        quote!(let #pattern = if #cond #then else #otherwise;)
    }

    /// The `k`-th output node of a structured node, if live.
    fn output(&self, node: NodeId, k: usize) -> Option<NodeId> {
        self.g.ids().find(|&id| {
            self.live[id.index()] && self.g.op(id) == &Op::Project(k) && self.g.args(id)[0] == node
        })
    }

    /// The carried variables of a loop: `let mut s = init;` and, at the end of the body,
    /// `s = next;` (a tuple assignment when there are several, so that each next value
    /// reads the old ones).
    fn carried(&self, node: NodeId, body: RegionId, inits: &[NodeId]) -> (TokenStream, TokenStream) {
        let g = self.g;
        let slots = self.sorted_slots(node);
        let mut declarations = TokenStream::new();
        let mut targets = Vec::new();
        let mut values = Vec::new();
        for &k in slots.iter().filter(|&&k| k < inits.len()) {
            let Some(name) = self.carried_name(node, body, k) else {
                continue;
            };
            let ident = make_ident(&name);
            let next = g.region(body).yields.get(k).copied();
            let assigned =
                next.is_some_and(|next| self.names[next.index()].as_deref() != Some(name.as_str()));
            // Changed in the body at all (assigned here, updated in place, or by an inner loop).
            let changes = next.is_some_and(|next| Some(next) != g.region(body).params.get(k).copied());
            if self.names[inits[k].index()].as_deref() != Some(name.as_str()) {
                // A literal gets its type: `let mut s = 0.0_f64;` (`s.sin()` must type-check).
                let init = match g.const_value(inits[k]) {
                    Some(value) => self.literal(value, true).tokens,
                    None => self.owned(inits[k]).tokens,
                };
                // `mut` if the loop changes it, or a later loop goes on in it.
                let reused = self.output(node, k).is_some_and(|o| self.mutable.contains(&o));
                let mutable = (changes || reused).then(|| quote!(mut));
                declarations.extend(quote!(let #mutable #ident = #init;));
            }
            if let Some(next) = next.filter(|_| assigned) {
                targets.push(ident.into_token_stream());
                values.push(self.owned(next).tokens);
            }
        }
        let assignment = match targets.len() {
            0 => TokenStream::new(),
            1 => {
                let (target, value) = (&targets[0], &values[0]);
                quote!(#target = #value;)
            }
            _ => quote!((#(#targets),*) = (#(#values),*);),
        };
        (declarations, assignment)
    }

    /// The name of a loop's carried variable `k`: its parameter's in the body, else in a
    /// `while` condition (a variable only the condition reads), else its final value's.
    fn carried_name(&self, node: NodeId, body: RegionId, k: usize) -> Option<String> {
        let cond = match *self.g.op(node) {
            Op::While { cond, .. } => Some(cond),
            _ => None,
        };
        let param_name = |region: RegionId| {
            let param = self.g.region(region).params.get(k)?;
            self.names[param.index()].clone()
        };
        param_name(body)
            .or_else(|| cond.and_then(param_name))
            .or_else(|| self.output(node, k).and_then(|o| self.names[o.index()].clone()))
    }

    /// The per-iteration stacks of a loop: declarations, and the statements saving each
    /// iteration's values.
    fn stacks(
        &self,
        node: NodeId,
        body: RegionId,
        position: &TokenStream,
        push: bool,
    ) -> (TokenStream, TokenStream) {
        let g = self.g;
        let mut declarations = TokenStream::new();
        let mut saves = TokenStream::new();
        for id in g.ids() {
            let Op::Stacked(k) = g.op(id) else { continue };
            if g.args(id)[0] != node || !self.live[id.index()] {
                continue;
            }
            let Some(&saved) = g.region(body).stacked.get(*k) else {
                continue;
            };
            if self.layout.inner.contains(&id) {
                continue; // in its nest's buffer
            }
            let ident = self.ident(id);
            if let Some(&nest) = self.layout.buffers.get(&id) {
                // The nest's buffer, allocated once: trip(outer) · trip(inner) · … entries.
                let nest = &self.layout.nests[nest];
                let zero = self.zero(g.ty(nest.saved), None);
                let count = self.nest_count(&nest.levels);
                declarations.extend(quote!(let mut #ident = ::std::vec![#zero; #count];));
                continue;
            }
            let element = g.ty(saved);
            let zero = self.zero(element, None);
            let init = match g.ty(id) {
                Ty::Array(_, len @ (Len::Lit(_) | Len::Named(_))) => self.repeat(element, &self.len(len)),
                _ if push => quote!(::std::vec::Vec::new()),
                _ => {
                    let count = self.trip_count(node);
                    quote!(::std::vec![#zero; #count])
                }
            };
            declarations.extend(quote!(let mut #ident = #init;));
            let value = self.moved(saved).tokens;
            saves.extend(if push {
                quote!(#ident.push(#value);)
            } else {
                quote!(#ident[#position] = #value;)
            });
        }
        // The value of a nest whose innermost loop this is, saved in the nest's buffer.
        for nest in self.layout.innermost(node) {
            let buffer = self.ident(nest.stacks[0]);
            let levels = nest.levels.iter().map(|&level| {
                let index = g.body_of(level).and_then(|b| g.region(b).index);
                let here = match index {
                    Some(i) => {
                        let tokens = self.stack_position(level, i);
                        let precedence = if tokens.clone().into_iter().count() == 1 {
                            POSTFIX
                        } else {
                            SUM
                        };
                        Printed::new(tokens, precedence)
                    }
                    None => Printed::new(quote!(0), POSTFIX),
                };
                (self.trip_count(level), here)
            });
            let position = flat_position(levels);
            let value = self.moved(nest.saved).tokens;
            saves.extend(quote!(#buffer[#position] = #value;));
        }
        (declarations, saves)
    }

    /// How many values a nest's buffer holds, computed before the nest: the product of its
    /// levels' trip counts. An inner bound computed in the nest (`xs.len()`, `m - 1`) is
    /// computed again here; one that could panic (`m - 1`) only where the user's code
    /// computes it, when the levels around it run: `match m { 0 => 0, trips => trips * (m - 1) }`.
    fn nest_count(&self, levels: &[NodeId]) -> TokenStream {
        let g = self.g;
        // Written out whole: the nest's own variables for its parts are not there yet.
        let bound = |id: NodeId| {
            self.hoisting.set(true);
            let tokens = self.expr(id).at(CAST);
            self.hoisting.set(false);
            tokens
        };
        let count = |level: NodeId| {
            let (start, end) = (g.args(level)[0], g.args(level)[1]);
            trip_count(g, level, &bound(start), &bound(end))
        };
        let Some((&level, inner)) = levels.split_first() else {
            return quote!(1);
        };
        let here = count(level);
        if inner.is_empty() {
            return here;
        }
        let rest = self.nest_count(inner);
        // (Arithmetic may panic, `m - 1`: a length may not.)
        fn safe(g: &Graph, id: NodeId) -> bool {
            g.is_free(id)
                || g.region_of(id) == RegionId::TOP
                || !matches!(g.op(id), Op::IntBin(_)) && g.args(id).iter().all(|&a| safe(g, a))
        }
        match inner.iter().all(|&l| g.args(l)[..2].iter().all(|&b| safe(g, b))) {
            true => quote!(#here * #rest),
            false => quote!(match #here { 0 => 0, trips => trips * #rest }),
        }
    }

    /// How many times the `for` loop `node` runs (see [`trip_count`]).
    fn trip_count(&self, node: NodeId) -> TokenStream {
        let (start, end) = (self.g.args(node)[0], self.g.args(node)[1]);
        trip_count(self.g, node, &self.expr(start).at(CAST), &self.expr(end).at(CAST))
    }

    /// Where the `for` loop `node`'s iteration `index` keeps its values (see
    /// [`stack_position`]).
    fn stack_position(&self, node: NodeId, index: NodeId) -> TokenStream {
        let start = self.g.args(node)[0];
        stack_position(self.g, node, &self.ident(index), &self.expr(start).at(CAST))
    }

    /// `for i in start..end { … }` (or `.rev()`).
    fn for_loop(&self, node: NodeId, body: RegionId, rev: bool) -> TokenStream {
        let g = self.g;
        let args = g.args(node);
        let (declarations, assignment) = self.carried(node, body, &args[2..]);
        let index = g.region(body).index.filter(|i| self.live[i.index()]);
        let index_ident = match index {
            Some(i) => self.ident(i).into_token_stream(),
            None => quote!(_),
        };
        let start = self.expr(args[0]).at(SUM + 1);
        let end = self.expr(args[1]).at(SUM + 1);
        let position = match index {
            Some(i) => self.stack_position(node, i),
            None => quote!(0),
        };
        let (stack_declarations, saves) = self.stacks(node, body, &position, false);
        let (before, enter) = (self.hook_before_loop(body), self.hook_enter(body));
        let statements = self.region(body);
        let leave = self.hook_leave(body);
        let range = if rev {
            quote!((#start..#end).rev())
        } else {
            quote!(#start..#end)
        };
        let looped = quote! {
            for #index_ident in #range {
                #enter
                #statements
                #saves
                #leave
                #assignment
            }
        };
        let looped = match self.zero_sources(node, body) {
            Some(condition) => quote!(if #condition { #looped }),
            None => looped,
        };
        quote! {
            #declarations
            #stack_declarations
            #before
            #looped
        }
    }

    /// A reverse loop inside another whose gradients flowing back are floats: the test that
    /// one of them is not zero (`d_dist != 0.0`), under which it runs. Where all are zero it
    /// would add only zeros (`0 · x`) to the gradients it accumulates: the distance loop of
    /// a centroid that is not the nearest, a ReLU's inputs where it is off. (Skipping it
    /// leaves them as they are where `0 · x` would add NaN for an infinite or NaN `x`, and
    /// a `-0.0` where the sum was `-0.0`.)
    fn zero_sources(&self, node: NodeId, body: RegionId) -> Option<TokenStream> {
        let g = self.g;
        let region = g.region(body);
        let around = g.region(g.region_of(node));
        let nested = around.backward
            && around
                .owner
                .is_some_and(|o| matches!(g.op(o), Op::Loop { .. } | Op::While { .. }));
        if !region.backward
            || !nested
            || self.hooks.is_some()
            || !g.tangent_of.is_empty()
            || region.sources == 0
        {
            return None;
        }
        let sources = region.params.get(..region.sources)?;
        if sources.iter().any(|&p| g.ty(p) != &Ty::Float) {
            return None;
        }
        let zero = self.literal(0.0, false).tokens;
        let tests: Vec<TokenStream> = sources
            .iter()
            .filter(|&&p| self.live[p.index()])
            .map(|&p| {
                let variable = self.ident(p);
                quote!(#variable != #zero)
            })
            .collect();
        (!tests.is_empty()).then(|| quote!(#(#tests)||*))
    }

    /// `while cond { … }`, counting its iterations where the backward pass needs them.
    fn while_loop(&self, node: NodeId, cond: RegionId, body: RegionId) -> TokenStream {
        let g = self.g;
        let params = g.region(body).params.len();
        let (declarations, assignment) = self.carried(node, body, g.args(node));
        let count = self.output(node, params);
        let index = g.region(body).index.filter(|i| self.live[i.index()]);
        let (stack_declarations, saves) = self.stacks(node, body, &quote!(), true);
        let counter = count.or(index).map(|c| self.ident(c));
        let (counter_declaration, counter_step) = match &counter {
            Some(c) => (quote!(let mut #c: usize = 0;), quote!(#c += 1;)),
            None => (TokenStream::new(), TokenStream::new()),
        };
        let cond_statements = self.region(cond);
        let cond_value = g
            .region(cond)
            .yields
            .first()
            .map(|&c| self.expr(c).tokens)
            .unwrap_or(quote!(false));
        let condition = if cond_statements.is_empty() {
            cond_value
        } else {
            quote!({ #cond_statements #cond_value })
        };
        let (before, enter) = (self.hook_before_loop(body), self.hook_enter(body));
        let statements = self.region(body);
        let leave = self.hook_leave(body);
        quote! {
            #declarations
            #stack_declarations
            #counter_declaration
            #before
            while #condition {
                #enter
                #statements
                #saves
                #leave
                #assignment
                #counter_step
            }
        }
    }

    /// The node as an operand: its name if it has one, else inline.
    fn expr(&self, id: NodeId) -> Printed {
        if let Some(param) = self.closure_param(id) {
            return param;
        }
        let hoisted = self.hoisting.get() && !self.g.is_free(id) && self.g.region_of(id) != RegionId::TOP;
        if self.names[id.index()].is_some() && !hoisted {
            Printed::new(self.ident(id).into_token_stream(), POSTFIX)
        } else {
            self.inline(id)
        }
    }

    /// As [`Plan::expr`], where the value is only borrowed (indexed further, passed as `&x`,
    /// its length read): a row of an array of vectors is read in place, `rows[i][j]`
    /// instead of a clone of `rows[i]`.
    fn place(&self, id: NodeId) -> Printed {
        let g = self.g;
        let inlined = self.names[id.index()].is_none() && self.closure_param(id).is_none();
        match g.op(id) {
            Op::Index if inlined && self.layout.reads.contains_key(&id) => {
                Printed::new(self.buffer_read(id), POSTFIX)
            }
            Op::Index if inlined && !g.ty(g.args(id)[0]).is_tensor() => {
                let args = g.args(id);
                let array = self.place(args[0]).at(POSTFIX);
                let indices = args[1..].iter().map(|&i| self.expr(i).tokens);
                Printed::new(quote!(#array #([#indices])*), POSTFIX)
            }
            _ => self.expr(id),
        }
    }

    /// An element of a nest's buffer, `s[a][b]` of the graph: `s[a * trip + b]`.
    fn buffer_read(&self, id: NodeId) -> TokenStream {
        let read = &self.layout.reads[&id];
        let nest = &self.layout.nests[read.nest];
        let buffer = self.ident(nest.stacks[0]);
        // Each level's trip count as the backward loop running it again has it.
        let levels = read.loops.iter().zip(&read.positions);
        let position = flat_position(levels.map(|(&level, &at)| (self.trip_count(level), self.expr(at))));
        quote!(#buffer[#position])
    }

    /// As [`Plan::expr`], where the value is moved into an array (`v.push(row)`,
    /// `rows[i] = row`): a clone if it is read again.
    fn moved(&self, id: NodeId) -> Printed {
        let value = self.expr(id);
        match self.shared.contains(&id) {
            true => {
                let value = value.tokens;
                Printed::new(quote!(::core::clone::Clone::clone(&#value)), POSTFIX)
            }
            false => value,
        }
    }

    /// As [`Plan::expr`], but a literal gets its type (`4.0_f64`): where nothing else tells
    /// rustc the float type (an array of constants, a function of constants). Also owned
    /// (see [`Plan::owned`]).
    fn typed(&self, id: NodeId) -> Printed {
        match self.g.const_value(id) {
            Some(value) if self.names[id.index()].is_none() => self.literal(value, true),
            _ => self.owned(id),
        }
    }

    /// As [`Plan::expr`], where a value is moved or copied into a variable (a loop's carried
    /// variable, a branch's output, an element of an array): a parameter `w: &[f64; 3]` is
    /// `*w` there. The user's `*w` reads as `w` everywhere, since indexing and iterating
    /// take the reference as it is.
    fn owned(&self, id: NodeId) -> Printed {
        let g = self.g;
        match g.op(id) {
            // A slice or `&Vec`, copied: `xs.to_vec()` (a `Vec`, which the code may update).
            Op::Param(_) if matches!(g.ty(id), Ty::Array(_, Len::Runtime)) => {
                let ident = self.ident(id);
                Printed::new(quote!(#ident.to_vec()), POSTFIX)
            }
            Op::Param(_) if g.ty(id).is_tensor() => {
                let ident = self.ident(id);
                Printed::new(quote!(#ident.to_owned()), POSTFIX)
            }
            Op::Param(k) if g.params[*k].passing.is_reference() => {
                let ident = self.ident(id);
                Printed::new(quote!(*#ident), UNARY)
            }
            // A view (`w.row(i)`, `w.t()`) made an array of its own.
            _ if self.is_view(id) => {
                let view = self.expr(id).at(POSTFIX);
                Printed::new(quote!(#view.to_owned()), POSTFIX)
            }
            _ => self.moved(id),
        }
    }

    /// The node's own computation, its operands by [`Plan::expr`].
    fn inline(&self, id: NodeId) -> Printed {
        let g = self.g;
        let args = g.args(id);
        if let Some(array) = self.tensor_inline(id) {
            return array;
        }
        match g.op(id) {
            Op::Param(_)
            | Op::Upstream
            | Op::RegionParam(_)
            | Op::LoopIndex
            | Op::Project(_)
            | Op::Stacked(_) => Printed::new(self.ident(id).into_token_stream(), POSTFIX),
            Op::Const(bits) => self.literal(f64::from_bits(*bits), false),
            Op::Named(index) => {
                let path = self.path(*index);
                match self.generic() {
                    Some(t) => Printed::new(quote!(<#t as ::chainrule::Real>::from_f64(#path)), POSTFIX),
                    None => Printed::new(path, POSTFIX),
                }
            }
            Op::Int { named, offset } => {
                let offset_tokens = proc_macro2::Literal::u64_unsuffixed(offset.unsigned_abs());
                match (named, offset) {
                    (None, offset) if *offset < 0 => Printed::new(quote!(-#offset_tokens), UNARY),
                    (None, _) => Printed::new(offset_tokens.into_token_stream(), POSTFIX),
                    (Some(index), 0) => Printed::new(self.path(*index), POSTFIX),
                    (Some(index), offset) => {
                        let path = self.path(*index);
                        let sign = if *offset < 0 { quote!(-) } else { quote!(+) };
                        Printed::new(quote!(#path #sign #offset_tokens), SUM)
                    }
                }
            }
            Op::IntBin(op) if op.is_method() => {
                let method = make_ident(op.symbol());
                let (a, b) = (self.expr(args[0]), self.expr(args[1]).tokens);
                // By its type's path where the type is known (`usize::min(i, 2)`: an
                // untyped `i` takes it), else as the user wrote it (`i.min(2)`).
                match g.ty(id) {
                    Ty::Int(Some(name)) => {
                        let (ty, a) = (make_ident(name), a.tokens);
                        Printed::new(quote!(#ty::#method(#a, #b)), POSTFIX)
                    }
                    _ => {
                        let a = a.at(POSTFIX);
                        Printed::new(quote!(#a.#method(#b)), POSTFIX)
                    }
                }
            }
            Op::IntBin(op) => {
                let level = op.level();
                let symbol = operator(op.symbol());
                let lhs = self.expr(args[0]).at(level);
                let rhs = self.expr(args[1]).at(level + 1);
                Printed::new(quote!(#lhs #symbol #rhs), level)
            }
            Op::IntCast(name) => {
                let ty = make_ident(name);
                match (g.ty(args[0]), self.generic()) {
                    // A generic float has no `as`: through `f64`.
                    (Ty::Float, Some(t)) => {
                        let float = self.expr(args[0]).at(0);
                        Printed::new(quote!(<#t as ::chainrule::Real>::to_f64(#float) as #ty), CAST)
                    }
                    _ => {
                        let int = self.expr(args[0]).at(CAST);
                        Printed::new(quote!(#int as #ty), CAST)
                    }
                }
            }
            Op::IntToFloat => {
                let int = self.expr(args[0]).at(CAST);
                match self.generic() {
                    Some(t) => {
                        Printed::new(quote!(<#t as ::chainrule::Real>::from_f64(#int as f64)), POSTFIX)
                    }
                    None => {
                        let float = self.float();
                        Printed::new(quote!(#int as #float), CAST)
                    }
                }
            }
            Op::Compare(cmp) => {
                let symbol = operator(cmp.symbol());
                // `(n as f64) < x`: without parentheses, `<` after a cast opens generics.
                let lhs = self.expr(args[0]).at(CAST + 1);
                let rhs = self.expr(args[1]).at(COMPARE + 1);
                Printed::new(quote!(#lhs #symbol #rhs), COMPARE)
            }
            Op::Bool(value) => Printed::new(quote!(#value), POSTFIX),
            Op::And | Op::Or => {
                let (level, symbol) = if g.op(id) == &Op::And {
                    (AND, quote!(&&))
                } else {
                    (OR, quote!(||))
                };
                let lhs = self.expr(args[0]).at(level);
                let rhs = self.expr(args[1]).at(level + 1);
                Printed::new(quote!(#lhs #symbol #rhs), level)
            }
            Op::Not => {
                let operand = self.expr(args[0]).at(UNARY);
                Printed::new(quote!(!#operand), UNARY)
            }
            Op::ArrayLit => {
                let elements = args.iter().map(|&a| self.typed(a).tokens);
                Printed::new(quote!([#(#elements),*]), POSTFIX)
            }
            // Of a run-time length: `vec![x; n]`.
            Op::ArrayRepeat(Len::Runtime) => {
                let (value, count) = (self.typed(args[0]).tokens, self.expr(args[1]).tokens);
                Printed::new(quote!(::std::vec![#value; #count]), POSTFIX)
            }
            Op::ArrayRepeat(len) => {
                let value = self.typed(args[0]).tokens;
                let len = self.len(len);
                Printed::new(quote!([#value; #len]), POSTFIX)
            }
            // A row of run-time length (`data[i]` of `&[Vec<f64>]`) is cloned: it cannot be
            // moved out of its array.
            Op::Index if self.layout.reads.contains_key(&id) => {
                let place = self.buffer_read(id);
                match is_copy(g.ty(id)) {
                    true => Printed::new(place, POSTFIX),
                    false => Printed::new(quote!(::core::clone::Clone::clone(&#place)), POSTFIX),
                }
            }
            Op::Index if !is_copy(g.ty(id)) && !g.ty(args[0]).is_tensor() => {
                let array = self.place(args[0]).at(POSTFIX);
                let indices = args[1..].iter().map(|&i| self.expr(i).tokens);
                Printed::new(
                    quote!(::core::clone::Clone::clone(&#array #([#indices])*)),
                    POSTFIX,
                )
            }
            Op::Index => {
                let array = self.place(args[0]).at(POSTFIX);
                let indices = args[1..].iter().map(|&i| self.expr(i).tokens);
                Printed::new(quote!(#array #([#indices])*), POSTFIX)
            }
            Op::Update | Op::AddAt if g.ty(id).is_tensor() => {
                let array = self.expr(args[0]).tokens;
                let copy = make_ident("updated");
                let statement = self.tensor_update(id, copy.to_token_stream());
                Printed::new(
                    quote!({ let mut #copy = ::core::clone::Clone::clone(&#array); #statement #copy }),
                    POSTFIX,
                )
            }
            Op::Update | Op::AddAt => {
                // Not in place: a copy, updated (arrays of fixed size are `Copy`).
                let array = self.expr(args[0]).tokens;
                let value = self.moved(args[1]).tokens;
                let indices = args[2..].iter().map(|&i| self.expr(i).tokens);
                let copy = make_ident("updated");
                let statement = update_statement(g, id, quote!(#copy #([#indices])*), value);
                // An owned copy: of a reference parameter, its array (not the reference).
                let owned = match g.op(args[0]) {
                    Op::Param(k) if g.params[*k].passing.is_reference() => match g.ty(args[0]) {
                        Ty::Array(_, Len::Runtime) => quote!(#array.to_vec()),
                        _ => quote!(*#array),
                    },
                    _ => quote!(::core::clone::Clone::clone(&#array)),
                };
                Printed::new(quote!({ let mut #copy = #owned; #statement #copy }), POSTFIX)
            }
            Op::Push => {
                // Not in place: a copy, pushed onto.
                let array = self.expr(args[0]).tokens;
                let value = self.moved(args[1]).tokens;
                let copy = make_ident("pushed");
                let owned = match g.op(args[0]) {
                    Op::Param(k) if g.params[*k].passing.is_reference() => quote!(#array.to_vec()),
                    _ => quote!(::core::clone::Clone::clone(&#array)),
                };
                Printed::new(
                    quote!({ let mut #copy = #owned; #copy.push(#value); #copy }),
                    POSTFIX,
                )
            }
            Op::ZerosLike => Printed::new(self.zero(g.ty(id), args.first().copied()), POSTFIX),
            Op::Len => {
                let array = self.place(args[0]).at(POSTFIX);
                Printed::new(quote!(#array.len()), POSTFIX)
            }
            Op::Sum => {
                let array = self.place(args[0]).at(POSTFIX);
                let zero = self.literal(0.0, false).tokens;
                Printed::new(quote!(#array.iter().fold(#zero, |sum, &x| sum + x)), POSTFIX)
            }
            Op::Select(cmp) => {
                let lhs = self.expr(args[0]).at(CAST + 1);
                let rhs = self.expr(args[1]).at(SUM);
                let op = operator(cmp.symbol());
                // Constants on both sides get their type: nothing else gives it to rustc.
                let constants = g.const_value(args[2]).is_some() && g.const_value(args[3]).is_some();
                let arm = |a: NodeId| if constants { self.typed(a) } else { self.expr(a) };
                let then = arm(args[2]).tokens;
                let otherwise = arm(args[3]);
                let otherwise = if otherwise.precedence == IF && self.names[args[3].index()].is_none() {
                    otherwise.tokens // `else if …`
                } else {
                    Group::new(Delimiter::Brace, otherwise.tokens).into_token_stream()
                };
                Printed::new(quote!(if #lhs #op #rhs { #then } else #otherwise), IF)
            }
            Op::Choose => {
                let cond = self.expr(args[0]).at(COMPARE);
                let constants = g.const_value(args[1]).is_some() && g.const_value(args[2]).is_some();
                let arm = |a: NodeId| if constants { self.typed(a) } else { self.expr(a) };
                let then = arm(args[1]).tokens;
                let otherwise = arm(args[2]);
                let otherwise = if otherwise.precedence == IF && self.names[args[2].index()].is_none() {
                    otherwise.tokens // `else if …`
                } else {
                    Group::new(Delimiter::Brace, otherwise.tokens).into_token_stream()
                };
                Printed::new(quote!(if #cond { #then } else #otherwise), IF)
            }
            Op::Prim(Prim::Add) if matches!(g.ty(id), Ty::Array(..)) => {
                let (a, b) = (self.expr(args[0]).tokens, self.expr(args[1]).tokens);
                Printed::new(quote!(::chainrule::__private::add(#a, #b)), POSTFIX)
            }
            Op::Prim(prim) => self.prim(*prim, args),
            Op::Branch { .. }
            | Op::Loop { .. }
            | Op::While { .. }
            | Op::Call { .. }
            | Op::CallJvp { .. }
            | Op::CallBackward { .. }
            | Op::CallHvp { .. }
            | Op::Tensor(_) => Printed::new(quote!(()), POSTFIX),
        }
    }

    fn prim(&self, prim: Prim, args: &[NodeId]) -> Printed {
        written(prim.rule(), |k, place| match place {
            Place::Operand(level) => self.expr(args[k]).at(level),
            Place::Receiver => match self.g.const_value(args[k]) {
                // `2.0.exp()` would not type-check: a receiver literal gets its type.
                Some(value) if self.names[args[k].index()].is_none() => self.literal(value, true).at(POSTFIX),
                _ => self.expr(args[k]).at(POSTFIX),
            },
            Place::MethodArgument => self.expr(args[k]).tokens,
            Place::FunctionArgument => self.typed(args[k]).tokens,
        })
    }

    fn literal(&self, value: f64, typed: bool) -> Printed {
        let float = self.float();
        if self.generic().is_some() {
            // A generic float is made from an f64 (exactly, for the literals people write).
            return Printed::new(
                match value {
                    0.0 if value.is_sign_positive() => quote!(#float::zero()),
                    1.0 => quote!(#float::one()),
                    _ if value.is_nan() => quote!(#float::nan()),
                    _ => {
                        let text = format!("{value:?}");
                        let literal = syn::LitFloat::new(&text.replace("inf", "1e999"), Span::call_site());
                        quote!(<#float as ::chainrule::Real>::from_f64(#literal))
                    }
                },
                POSTFIX,
            );
        }
        if value.is_nan() {
            return Printed::new(quote!(#float::NAN), POSTFIX);
        }
        if value.is_infinite() {
            let tokens = if value > 0.0 {
                quote!(#float::INFINITY)
            } else {
                quote!(#float::NEG_INFINITY)
            };
            return Printed::new(tokens, POSTFIX);
        }
        let magnitude = value.abs();
        let mut text = match self.g.float {
            FloatType::F64 | FloatType::Generic => format!("{magnitude:?}"),
            FloatType::F32 => format!("{:?}", magnitude as f32),
        };
        if typed {
            text.push('_');
            text.push_str(self.g.float.name());
        }
        let literal = syn::LitFloat::new(&text, Span::call_site());
        if value.is_sign_negative() {
            Printed::new(quote!(-#literal), UNARY)
        } else {
            Printed::new(literal.into_token_stream(), POSTFIX)
        }
    }

    /// A zero of a type: `0.0`, `[0.0; 3]`, or (run-time length) `vec![0.0; like.len()]`.
    fn zero(&self, ty: &Ty, like: Option<NodeId>) -> TokenStream {
        match ty {
            Ty::Float => self.literal(0.0, false).tokens,
            Ty::Int(_) => quote!(0),
            Ty::Bool => quote!(false),
            Ty::Unit => quote!(()),
            Ty::Opaque(_) => quote!(::core::default::Default::default()),
            Ty::Array(element, Len::Runtime) => match like {
                // Zeros of a length (`vec![0.0; len]`).
                Some(like) if matches!(self.g.ty(like), Ty::Int(_)) => {
                    let (zero, len) = (self.zero(element, None), self.expr(like).tokens);
                    quote!(::std::vec![#zero; #len])
                }
                Some(like) => {
                    let like = self.place(like).at(POSTFIX);
                    self.zero_shaped(ty, &like)
                }
                None => quote!(::std::vec::Vec::new()),
            },
            Ty::Array(element, _) if like.is_some() && has_runtime_shape(element) => {
                let like = like.map(|like| self.place(like).at(POSTFIX)).unwrap_or_default();
                self.zero_shaped(ty, &like)
            }
            Ty::Array(element, len) => self.repeat(element, &self.len(len)),
            Ty::Tensor { elem, .. } => match like {
                Some(like) => {
                    let like = self.expr(like).at(POSTFIX);
                    let elem = self.rust_type(elem);
                    quote!(::chainrule::ndarray::Array::<#elem, _>::zeros(#like.raw_dim()))
                }
                None => quote!(::core::default::Default::default()),
            },
        }
    }

    /// Zeros of the shape of the value `like` (of type `ty`), down to the rows of an array
    /// of vectors: `like.iter().map(|row| vec![0.0; row.len()]).collect::<Vec<_>>()`.
    fn zero_shaped(&self, ty: &Ty, like: &TokenStream) -> TokenStream {
        let row = make_ident("row");
        match ty {
            Ty::Array(element, Len::Runtime) if has_runtime_shape(element) => {
                let zero = self.zero_shaped(element, &row.to_token_stream());
                quote!(#like.iter().map(|#row| #zero).collect::<::std::vec::Vec<_>>())
            }
            Ty::Array(element, Len::Runtime) => {
                let zero = self.zero(element, None);
                quote!(::std::vec![#zero; #like.len()])
            }
            Ty::Array(element, len) if has_runtime_shape(element) => {
                let zero = self.zero_shaped(element, &row.to_token_stream());
                let len = self.len(len);
                quote!(::core::array::from_fn::<_, #len, _>(|k| { let #row = &#like[k]; #zero }))
            }
            Ty::Tensor { elem, .. } => {
                let elem = self.rust_type(elem);
                quote!(::chainrule::ndarray::Array::<#elem, _>::zeros(#like.raw_dim()))
            }
            _ => self.zero(ty, None),
        }
    }

    /// `[zero; n]` of an element type; `from_fn` where the element is not `Copy`.
    fn repeat(&self, element: &Ty, len: &TokenStream) -> TokenStream {
        let zero = self.zero(element, None);
        if is_copy(element) {
            quote!([#zero; #len])
        } else {
            quote!(::core::array::from_fn::<_, #len, _>(|_| #zero))
        }
    }

    fn len(&self, len: &Len) -> TokenStream {
        len_tokens(len, &|index| self.path(index))
    }

    /// `<g::Types as Caches<f64>>`: what the module of the called function `index` says
    /// about its cache.
    fn caches(&self, index: usize) -> TokenStream {
        let path = self.path(index);
        let float = self.float();
        quote!(<#path::Types as ::chainrule::__private::Caches<#float>>)
    }

    /// The Rust type of a value: `f64`, `[f64; 3]`, `Vec<f64>` (run-time length), …
    fn rust_type(&self, ty: &Ty) -> TokenStream {
        match ty {
            Ty::Float => self.float().into_token_stream(),
            Ty::Int(Some(name)) => make_ident(name).into_token_stream(),
            Ty::Int(None) => quote!(usize),
            Ty::Bool => quote!(bool),
            Ty::Unit => quote!(()),
            Ty::Opaque(index) => {
                let caches = self.caches(*index);
                quote!(#caches::Cache)
            }
            Ty::Array(element, Len::Runtime) => {
                let element = self.rust_type(element);
                quote!(::std::vec::Vec<#element>)
            }
            Ty::Array(element, len) => {
                let element = self.rust_type(element);
                let len = self.len(len);
                quote!([#element; #len])
            }
            Ty::Tensor { elem, rank } => self.tensor_type(elem, *rank),
        }
    }

    /// A user's constant, as written; a relative `self::`/`super::` path gains a level,
    /// since generated code lives in a module one below the function.
    fn path(&self, index: usize) -> TokenStream {
        self.user_path(&self.g.named[index])
    }
}

/// Whether a value's zero needs a value to take its shape from: vectors and ndarray arrays
/// (of run-time lengths), and arrays of them.
fn has_runtime_shape(ty: &Ty) -> bool {
    match ty {
        Ty::Array(_, Len::Runtime) | Ty::Tensor { .. } => true,
        Ty::Array(element, _) => has_runtime_shape(element),
        _ => false,
    }
}

/// `place = value;`, or `place += value;` for a gradient flowing into an element (a
/// whole row of a matrix goes through `add_assign`).
fn update_statement(g: &Graph, id: NodeId, place: TokenStream, value: TokenStream) -> TokenStream {
    let args = g.args(id);
    match g.op(id) {
        Op::Update => quote!(#place = #value;),
        _ if g.ty(args[1]) == &Ty::Float => quote!(#place += #value;),
        _ => quote!(::chainrule::__private::add_assign(&mut #place, #value);),
    }
}

/// `()` for none, `a` for one, `(a, b)` for more.
pub fn tuple(values: &[TokenStream]) -> TokenStream {
    match values {
        [one] => one.clone(),
        many => quote!((#(#many),*)),
    }
}

/// The position in a nest's buffer from each level's trip count and position, outermost
/// first: `(a * trip_b + b) * trip_c + c`.
fn flat_position(levels: impl Iterator<Item = (TokenStream, Printed)>) -> TokenStream {
    let mut position: Option<Printed> = None;
    for (count, here) in levels {
        position = Some(match position {
            None => here,
            Some(outer) => {
                let (outer, here) = (outer.at(PRODUCT), here.at(SUM + 1));
                Printed::new(quote!(#outer * #count + #here), SUM)
            }
        });
    }
    position.map(|p| p.tokens).unwrap_or_default()
}

/// The key under which a loop's carried variable `k` is named once, for its initial
/// value, its parameter in the body (and condition), and its final value.
fn carried_key(g: &Graph, owner: NodeId, k: usize) -> NodeId {
    // The body's parameter node stands for the variable.
    g.body_of(owner)
        .and_then(|b| g.region(b).params.get(k).copied())
        .unwrap_or(owner)
}

fn stacked_live(g: &Graph, live: &[bool], owner: NodeId, saved: NodeId) -> bool {
    g.ids().any(|id| {
        live[id.index()]
            && matches!(g.op(id), Op::Stacked(k) if g.args(id)[0] == owner
                && g.body_of(owner).and_then(|b| g.region(b).stacked.get(*k).copied()) == Some(saved))
    })
}

/// An array length as tokens, each constant written by `path`.
pub(crate) fn len_tokens(len: &Len, path: &impl Fn(usize) -> TokenStream) -> TokenStream {
    match len {
        Len::Lit(n) => proc_macro2::Literal::u64_unsuffixed(*n).into_token_stream(),
        Len::Named(index) => path(*index),
        Len::Runtime => quote!(0),
        Len::Op(op, a, b) => {
            let (a, b) = (len_tokens(a, path), len_tokens(b, path));
            if op.is_method() {
                let method = make_ident(op.symbol());
                quote!(#a.#method(#b))
            } else {
                let symbol = operator(op.symbol());
                quote!((#a #symbol #b))
            }
        }
    }
}

/// The named constants a node mentions (its path, or an array length in its type).
fn named_indices(g: &Graph, id: NodeId) -> Vec<usize> {
    fn of_ty(ty: &Ty, out: &mut Vec<usize>) {
        match ty {
            Ty::Opaque(index) => out.push(*index),
            Ty::Array(element, len) => {
                len.named(out);
                of_ty(element, out);
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    match g.op(id) {
        Op::Named(index)
        | Op::Int {
            named: Some(index), ..
        }
        | Op::Call { callee: index, .. }
        | Op::CallJvp { callee: index, .. }
        | Op::CallBackward { callee: index, .. }
        | Op::CallHvp { callee: index, .. } => out.push(*index),
        Op::ArrayRepeat(len) => len.named(&mut out),
        _ => {}
    }
    of_ty(g.ty(id), &mut out);
    out
}

/// Whether a value is a stack of routing bits ([`Graph::routed`]).
fn is_routing(g: &Graph, mut stack: NodeId) -> bool {
    while g.op(stack) == &Op::Index {
        stack = g.args(stack)[0]; // a row of a stack of stacks
    }
    let Op::Stacked(k) = *g.op(stack) else {
        return false;
    };
    let saved = g
        .body_of(g.args(stack)[0])
        .and_then(|b| g.region(b).stacked.get(k).copied());
    saved.is_some_and(|s| g.routing.contains(&s) || is_routing(g, s))
}

/// A readable stem for an unnamed value, from its operation.
fn stem(g: &Graph, id: NodeId) -> &'static str {
    match g.op(id) {
        Op::Prim(prim) => prim.rule().noun,
        Op::Tensor(op) => op.rule().noun,
        Op::Select(_) | Op::Choose => "routed",
        Op::LoopIndex => "i",
        Op::Len => "len",
        Op::Project(k)
            if matches!(g.op(g.args(id)[0]), Op::While { .. })
                && g.body_of(g.args(id)[0])
                    .is_some_and(|b| g.region(b).params.len() == *k) =>
        {
            "iterations"
        }
        Op::Index if is_routing(g, g.args(id)[0]) => "routing",
        Op::Index => "element",
        Op::ZerosLike => "zeros",
        Op::Compare(_) if g.routing.contains(&id) => "routing",
        Op::Compare(_) | Op::And | Op::Or | Op::Not => "condition",
        Op::Stacked(_) => "saved",
        Op::Project(_) => "value",
        _ => "value",
    }
}

/// An identifier for generated code: hygienic (`Span::mixed_site`), raw where the name
/// is a keyword (`r#type`).
fn make_ident(name: &str) -> Ident {
    if syn::parse_str::<Ident>(name).is_ok() {
        Ident::new(name, Span::mixed_site())
    } else if matches!(name, "self" | "Self" | "super" | "crate" | "_") || name.is_empty() {
        // Not even a raw identifier can have these names.
        Ident::new(&format!("{name}_"), Span::mixed_site())
    } else {
        Ident::new_raw(name, Span::mixed_site())
    }
}

/// A loop's initial value for carried variable `k`.
fn init_of(g: &Graph, owner: NodeId, k: usize) -> Option<NodeId> {
    let first = if matches!(g.op(owner), Op::Loop { .. }) {
        2
    } else {
        0
    };
    g.args(owner).get(first + k).copied()
}

/// `let (d_a, _) = g::__vjp(&g_cache, d_y);` for the backward node `node`, binding each
/// gradient in `outputs` (`_` for none; `true` where it is `mut`), then each checked to be a gradient, at the call's
/// argument (a callee's `wrt` gives `()` for the others). Shared by `backward` and `trace`.
pub(crate) fn call_backward_tokens(
    g: &Graph,
    node: NodeId,
    path: &TokenStream,
    cache: &TokenStream,
    upstream: &TokenStream,
    outputs: &[Option<(Ident, bool)>],
) -> TokenStream {
    let pattern = outputs.iter().map(|o| match o {
        Some((ident, _)) => ident.into_token_stream(),
        None => quote!(_),
    });
    let checks = outputs.iter().enumerate().filter_map(|(k, o)| {
        let (ident, mutable) = o.as_ref()?;
        // `mut` where a loop goes on in the gradient (`d_x` carried backwards).
        let mutable = mutable.then(|| quote!(mut));
        let span = call_argument(g, node, k)
            .and_then(|a| g.spans[a.index()])
            .unwrap_or_else(Span::call_site);
        Some(quote_spanned!(span=> let #mutable #ident = ::chainrule::__private::gradient(#ident);))
    });
    // A fixed-size array's upstream as the callee takes it: an array, or a tuple.
    let upstream = match g.ty(g.args(node)[1]) {
        Ty::Array(element, len) if **element == Ty::Float && *len != Len::Runtime => {
            quote!(::core::convert::Into::into(#upstream))
        }
        _ => upstream.clone(),
    };
    quote! {
        let (#(#pattern,)*) = #path::__vjp(&#cache, #upstream);
        #(#checks)*
    }
}

/// Argument `k` of the call whose backward pass `backward` is (through its cache).
pub(crate) fn call_argument(g: &Graph, backward: NodeId, k: usize) -> Option<NodeId> {
    let mut cache = *g.args(backward).first()?;
    // A cache read back from a loop's stack: `g_cache_saved[i]`.
    while let Op::Index | Op::Stacked(_) = g.op(cache) {
        cache = match g.op(cache) {
            Op::Index => g.args(cache)[0],
            Op::Stacked(j) => {
                let body = match *g.op(g.args(cache)[0]) {
                    Op::Loop { body, .. } | Op::While { body, .. } => body,
                    _ => return None,
                };
                *g.region(body).stacked.get(*j)?
            }
            _ => return None,
        };
    }
    match g.op(cache) {
        Op::Project(1) => g.args(g.args(cache)[0]).get(k).copied(),
        _ => None,
    }
}

/// How many times the `for` loop `node` runs, as a `usize`, from its bounds written as
/// operands: `n`, `n.saturating_sub(k)` (an empty range runs no iteration), `n as usize`,
/// and in `i64` for signed types. The length of the loop's stacks.
pub(crate) fn trip_count(g: &Graph, node: NodeId, start: &TokenStream, end: &TokenStream) -> TokenStream {
    if let (Some(a), Some(b)) = (g.int_value(g.args(node)[0]), g.int_value(g.args(node)[1])) {
        // Literal bounds: the count itself (`4.saturating_sub(2)` has no integer type).
        let count = proc_macro2::Literal::u64_unsuffixed(u64::try_from(b.saturating_sub(a)).unwrap_or(0));
        return quote!(#count);
    }
    let from_zero = g.int_value(g.args(node)[0]) == Some(0);
    match g.index_kind(node) {
        IndexKind::Usize if from_zero => end.clone(),
        IndexKind::Usize => quote!(#end.saturating_sub(#start)),
        IndexKind::Unsigned if from_zero => quote!(#end as usize),
        IndexKind::Unsigned => quote!(#end.saturating_sub(#start) as usize),
        IndexKind::Other if from_zero => quote!((#end as i64).max(0) as usize),
        IndexKind::Other => quote!((#end as i64 - #start as i64).max(0) as usize),
    }
}

/// The position in its stacks of the `for` loop `node`'s iteration `i`, as
/// [`Graph::stack_position`] computes it for the backward pass.
pub(crate) fn stack_position(g: &Graph, node: NodeId, i: &impl ToTokens, start: &TokenStream) -> TokenStream {
    let from_zero = g.int_value(g.args(node)[0]) == Some(0);
    match g.index_kind(node) {
        IndexKind::Usize if from_zero => quote!(#i),
        IndexKind::Usize => quote!(#i - #start),
        IndexKind::Unsigned | IndexKind::Other if from_zero => quote!(#i as usize),
        IndexKind::Unsigned => quote!((#i - #start) as usize),
        IndexKind::Other => quote!((#i as i64 - #start as i64) as usize),
    }
}
