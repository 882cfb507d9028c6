//! `f::jvp`: forward mode's code, from the graph [`crate::forward`] builds (each value
//! followed by its tangent, `t_q` after `q`), and `f::__jvp`, what a caller's forward mode
//! calls, in every module: the forward code where the function asks for `jvp`, else
//! `∇f · v` from its gradient (one reverse pass instead of a forward one, the same number).

use proc_macro2::TokenStream;
use quote::{format_ident, quote, ToTokens};
use syn::ext::IdentExt;

use super::{grad_places, output_type, returned, signature, Plan};
use crate::forward::{Second, Tangents};
use crate::ir::{Argument, Function, Passing, RegionId};
use crate::reverse::Adjoints;

/// The module's `jvp` (with `Tangent`, the name of `Grad` as a direction) where asked for,
/// and its `__jvp`: from `tangents` where forward mode went through the function, else from
/// the gradient.
pub fn items(function: &Function, tangents: Option<Tangents>, public: bool) -> TokenStream {
    let g = &function.graph;
    // A `self` read as data: no caller can call the method (its `self` would be passed
    // whole), so there is no `__jvp`, and `jvp` computes in place.
    let opaque = g
        .signature
        .iter()
        .any(|a| matches!(a, Argument::Record(record) if record.opaque));
    if let Some(rule) = &function.custom_jvp {
        return custom(function, rule);
    }
    let Some(tangents) = tangents else {
        return match opaque {
            true => TokenStream::new(),
            false => from_gradient(function, public),
        };
    };
    let Tangents {
        graph,
        value,
        tangent,
        of_param,
        ..
    } = tangents;
    let forward_mode = rebuilt(function, graph, value);
    // The tangent is a root besides the value, as a parameter's adjoint would be.
    let roots = Adjoints {
        of_param: vec![Some(tangent)],
        edges: Vec::new(),
    };
    let plan = Plan::new(&forward_mode, &roots);
    let g = &forward_mode.graph;
    let float = plan.float();
    let fn_generics = plan.fn_generics();
    let (signature, bindings) = signature(g, &plan);
    let unused = unused_params(&plan);
    let body = plan.region(RegionId::TOP);
    let out = output_type(function, &float);
    let (value, tangent) = (plan.expr(value).tokens, plan.expr(tangent).tokens);
    let (value, tangent) = (returned(function, value), returned(function, tangent));
    let body = quote! {
        #unused
        #body
        (#value, #tangent)
    };
    // The tangents, bound from `tangent` as the parameters are passed (`let t_w = &tangent.w;`).
    let places = grad_places(g);
    let mut tangent_bindings = TokenStream::new();
    for (k, of) in of_param.iter().enumerate() {
        let Some(j) = *of else { continue };
        let ident = plan.ident(g.params[j].node);
        let place = renamed(&places[k]);
        tangent_bindings.extend(bind_tangent(&ident, &place, g.params[k].passing));
    }
    let public_jvp = |inner: TokenStream| public_jvp(function, &plan, &signature, inner);
    if opaque {
        return match public {
            true => public_jvp(quote!(#bindings #tangent_bindings #body)),
            false => TokenStream::new(),
        };
    }
    // `__jvp`: the parameters one by one (a struct's fields each), then one tangent each
    // (`_` for those without: an integer, a parameter not differentiated).
    let mut leaf_signature: Vec<TokenStream> = g.params[..of_param.len()]
        .iter()
        .map(|p| {
            let (ident, ty) = (plan.ident(p.node), &p.written);
            quote!(#ident: #ty)
        })
        .collect();
    let mut tangent_args = Vec::new();
    for (k, of) in of_param.iter().enumerate() {
        match of {
            Some(j) => {
                let p = &g.params[*j];
                let (ident, ty) = (plan.ident(p.node), &g.params[k].written);
                leaf_signature.push(quote!(#ident: #ty));
                tangent_args.push(ident.into_token_stream());
            }
            None => {
                let ident = format_ident!("_t{k}");
                leaf_signature.push(quote!(#ident: impl ::core::marker::Sized));
                tangent_args.push(quote!(()));
            }
        }
    }
    let leaves: Vec<_> = g.params[..of_param.len()]
        .iter()
        .map(|p| plan.ident(p.node))
        .collect();
    let jvp = public
        .then(|| public_jvp(quote!(#bindings #tangent_bindings __jvp(#(#leaves,)* #(#tangent_args),*))));
    quote! {
        #jvp

        /// Forward mode for a `#[differentiate]` function calling this one: the value and the
        /// tangent, from the parameters one by one and then their tangents.
        #[doc(hidden)]
        #[inline]
        pub fn __jvp #fn_generics (#(#leaf_signature),*) -> (#out, #out) {
            #body
        }
    }
}

/// Forward mode as plain statements with a reader's hooks in them, for `trace_jvp`: the
/// public signature (then `tangent: Grad`), the bindings of the parameters and of their
/// tangents from `tangent`, the statements, and the names of the parameters' values and
/// tangents (by parameter of the rebuilt graph).
pub struct HookedForward {
    pub signature: Vec<TokenStream>,
    pub bindings: TokenStream,
    pub body: TokenStream,
    /// Each parameter node of the rebuilt graph and the name the code gives it.
    pub params: Vec<(crate::ir::NodeId, TokenStream)>,
    pub uses_named: bool,
    /// The result's tangent, as the code names it after `body`.
    pub tangent: TokenStream,
}

pub fn hooked_forward(
    forward_mode: &Function,
    of_param: &[Option<usize>],
    tangent: crate::ir::NodeId,
    hooks: &dyn super::Hooks,
) -> HookedForward {
    let roots = Adjoints {
        of_param: vec![Some(tangent)],
        edges: Vec::new(),
    };
    let plan = Plan::with_hooks(forward_mode, &roots, Some(hooks));
    let g = &forward_mode.graph;
    let (signature, bindings) = signature(g, &plan);
    let places = grad_places(g);
    let mut tangent_bindings = TokenStream::new();
    for (k, of) in of_param.iter().enumerate() {
        let Some(j) = *of else { continue };
        let ident = plan.ident(g.params[j].node);
        tangent_bindings.extend(bind_tangent(&ident, &renamed(&places[k]), g.params[k].passing));
    }
    let unused = unused_params(&plan);
    let body = plan.region(RegionId::TOP);
    let params = g
        .params
        .iter()
        .map(|p| (p.node, plan.ident(p.node).into_token_stream()))
        .collect();
    HookedForward {
        signature,
        bindings: quote!(#bindings #tangent_bindings #unused),
        body,
        params,
        uses_named: plan.uses_named,
        tangent: plan.expr(tangent).tokens,
    }
}

/// `f::Tangent` and `f::jvp(signature…, tangent) { body }`.
fn public_jvp(function: &Function, plan: &Plan, signature: &[TokenStream], body: TokenStream) -> TokenStream {
    let float = plan.float();
    let (generics, type_args) = plan.generics();
    let fn_generics = plan.fn_generics();
    let doc = jvp_doc(function);
    let out = output_type(function, &float);
    quote! {
        /// The name of [`Grad`] as a direction: a tangent of the parameters, for [`jvp`].
        pub type Tangent #generics = Grad #type_args;

        #[doc = #doc]
        #[inline]
        pub fn jvp #fn_generics (#(#signature,)* tangent: Grad #type_args) -> (#out, #out) {
            #body
        }
    }
}

/// The function with the graph forward mode built for it, its result `output`.
pub(crate) fn rebuilt(function: &Function, graph: crate::ir::Graph, output: crate::ir::NodeId) -> Function {
    Function {
        item: function.item.clone(),
        graph,
        output,
        returns: function.returns.clone(),
        custom: None,
        custom_jvp: None,
        extras: function.extras,
        method: function.method,
    }
}

/// `let _ = x;` for each parameter the code does not read.
fn unused_params(plan: &Plan) -> TokenStream {
    let mut unused = TokenStream::new();
    for param in &plan.g.params {
        if !plan.live[param.node.index()] {
            let ident = plan.ident(param.node);
            unused.extend(quote!(let _ = #ident;));
        }
    }
    unused
}

/// `let t_w = &tangent.w;`: a parameter's tangent, bound from `tangent` as the parameter is
/// passed (by reference, as a view, by value).
fn bind_tangent(ident: &proc_macro2::Ident, place: &TokenStream, passing: Passing) -> TokenStream {
    match passing {
        Passing::View => quote!(let #ident = #place.view();),
        passing if passing.is_reference() => quote!(let #ident = &#place;),
        _ => quote!(let #ident = #place;),
    }
}

/// `jvp` and `__jvp` of a custom rule with a forward rule (`backward = …, jvp = rule`): the
/// function's value, and `rule(args…, value, tangent)`, the tangent a `Tangent` of its
/// parameters.
fn custom(function: &Function, rule: &syn::Path) -> TokenStream {
    let g = &function.graph;
    let plan_roots = Adjoints {
        of_param: Vec::new(),
        edges: Vec::new(),
    };
    let plan = Plan::new(function, &plan_roots);
    let float = plan.float();
    let fn_generics = plan.fn_generics();
    let (_, type_args_turbofish) = (0, plan.turbofish());
    let rule = plan.user_path(rule);
    let fn_name = &function.item.sig.ident;
    let params: Vec<proc_macro2::Ident> = g.params.iter().map(|p| plan.ident(p.node)).collect();
    let (signature, _) = signature(g, &plan);
    // The arguments as the rule takes them (as `backward`'s rule does: slices by reference).
    let arguments: Vec<TokenStream> = g
        .params
        .iter()
        .zip(&params)
        .map(|(p, ident)| match p.passing {
            Passing::RefFixed | Passing::RefSlice | Passing::RefArray => quote!(#ident),
            _ if !super::is_copy(g.ty(p.node)) => quote!(::core::clone::Clone::clone(&#ident)),
            _ => quote!(#ident),
        })
        .collect();
    let tangents: Vec<proc_macro2::Ident> = params.iter().map(|p| format_ident!("t_{}", p.unraw())).collect();
    let leaf_signature = g.params.iter().zip(&params).map(|(p, ident)| {
        let ty = &p.written;
        quote!(#ident: #ty)
    });
    let tangent_signature = g.params.iter().zip(&tangents).map(|(p, t)| match p.wrt {
        true => {
            let ty = &p.written;
            quote!(#t: #ty)
        }
        false => quote!(#t: impl ::core::marker::Sized),
    });
    let fields = g
        .params
        .iter()
        .zip(&tangents)
        .filter(|(p, _)| p.wrt)
        .map(|(p, t)| {
            let field = &p.ident;
            let value = super::cache_value(p, t);
            quote!(#field: #value)
        });
    let marker = plan.grad_marker();
    let jvp = public_jvp(
        function,
        &plan,
        &signature,
        quote! {
            let value = super::#fn_name #type_args_turbofish(#(#arguments),*);
            let derivative = #rule(#(#arguments,)* value, tangent);
            (value, derivative)
        },
    );
    quote! {
        #jvp

        /// Forward mode for a `#[differentiate]` function calling this one, by its forward rule.
        #[doc(hidden)]
        #[inline]
        pub fn __jvp #fn_generics (#(#leaf_signature,)* #(#tangent_signature),*) -> (#float, #float) {
            jvp(#(#params,)* Grad { #(#fields,)* #marker })
        }
    }
}

/// The names of the signature's arguments, as the generated function binds them (a
/// struct's whole).
fn signature_args(g: &crate::ir::Graph, plan: &Plan) -> Vec<TokenStream> {
    g.signature
        .iter()
        .map(|argument| match argument {
            Argument::Param(k) => plan.ident(g.params[*k].node).into_token_stream(),
            Argument::Record(record) => record.ident.to_token_stream(),
        })
        .collect()
}

/// `grad.p.w` as `tangent.p.w`.
fn renamed(place: &TokenStream) -> TokenStream {
    place
        .clone()
        .into_iter()
        .map(|tree| match tree {
            proc_macro2::TokenTree::Ident(ident) if ident == "grad" => {
                proc_macro2::TokenTree::Ident(format_ident!("tangent"))
            }
            proc_macro2::TokenTree::Group(group) => {
                let mut inner = proc_macro2::Group::new(group.delimiter(), renamed(&group.stream()));
                inner.set_span(group.span());
                proc_macro2::TokenTree::Group(inner)
            }
            other => other,
        })
        .collect()
}

fn jvp_doc(function: &Function) -> String {
    let name = function.item.sig.ident.unraw();
    if function.returns.is_vector() {
        return format!(
            " Forward mode: the value of `{name}` and its tangent, the Jacobian times `tangent` \
             (J · v, each output's directional derivative), in one forward pass that carries \
             each value's tangent beside it. No cache is built."
        );
    }
    format!(
        " Forward mode: the value of `{name}` and its directional derivative ∇{name} · tangent \
         (the sum over the parameters of each gradient entry times the tangent's), in one \
         forward pass that carries each value's tangent beside it. No cache is built."
    )
}

/// `__jvp` from the gradient: `__forward`, `__vjp` with upstream 1, and the dot product of
/// the gradient with the tangents (for a function that did not ask for `jvp`, so that a
/// caller's forward mode can call it).
fn from_gradient(function: &Function, public: bool) -> TokenStream {
    let g = &function.graph;
    let plan_roots = Adjoints {
        of_param: Vec::new(),
        edges: Vec::new(),
    };
    let plan = Plan::new(function, &plan_roots);
    let float = plan.float();
    let fn_generics = plan.fn_generics();
    let mut leaf_signature = Vec::new();
    let mut tangent_signature = Vec::new();
    let mut terms = Vec::new();
    let mut leaves = Vec::new();
    for (k, p) in g.params.iter().enumerate() {
        let leaf = format_ident!("x{k}");
        let ty = &p.written;
        leaf_signature.push(quote!(#leaf: #ty));
        leaves.push(leaf);
        let tangent = format_ident!("t{k}");
        if !p.wrt || !g.ty(p.node).is_differentiable() {
            tangent_signature.push(quote!(#tangent: impl ::core::marker::Sized));
            continue;
        }
        tangent_signature.push(quote!(#tangent: #ty));
        let index = syn::Index::from(k);
        terms.push(match p.passing {
            Passing::Value | Passing::RefFixed => {
                quote!(::chainrule::__private::Dot::dot(&gradient.#index, &#tangent))
            }
            Passing::RefSlice => {
                quote!(::chainrule::__private::Dot::dot(&gradient.#index[..], &#tangent[..]))
            }
            Passing::OwnedArray | Passing::RefArray | Passing::View => {
                quote!(::chainrule::__private::Dot::dot(&gradient.#index.view(), &#tangent.view()))
            }
        });
    }
    let one = plan.literal(1.0, false).tokens;
    let tangent = match terms.is_empty() {
        true => plan.literal(0.0, true).tokens,
        false => quote!(#(#terms)+*),
    };
    let out = output_type(function, &float);
    let body = match function.returns.is_vector() {
        false => quote! {
            let gradient = __vjp(&cache, #one);
            let _ = &gradient;
            (value, #tangent)
        },
        // A vector's tangent, output by output: each output's gradient · tangent.
        true => {
            let flatten = quote!(::chainrule::Flatten::<#float>);
            quote! {
                let outputs = #flatten::count(&value);
                let mut tangents = ::std::vec::Vec::with_capacity(outputs);
                for i in 0..outputs {
                    let gradient = __vjp(&cache, #flatten::unit(&value, i));
                    let _ = &gradient;
                    tangents.push(#tangent);
                }
                let tangent = #flatten::read(&value, &mut tangents.into_iter());
                (value, tangent)
            }
        }
    };
    let jvp = public.then(|| {
        // The public `jvp` by the same way: the tangents bound from `tangent`, then `__jvp`.
        let (signature, bindings) = signature(g, &plan);
        let places = grad_places(g);
        let mut tangent_bindings = TokenStream::new();
        let mut tangent_args = Vec::new();
        for (k, p) in g.params.iter().enumerate() {
            if !p.wrt || !g.ty(p.node).is_differentiable() {
                tangent_args.push(quote!(()));
                continue;
            }
            let ident = format_ident!("t_{}", p.ident.unraw());
            let place = renamed(&places[k]);
            tangent_bindings.extend(bind_tangent(&ident, &place, p.passing));
            tangent_args.push(ident.into_token_stream());
        }
        let leaves = g.params.iter().map(|p| plan.ident(p.node));
        public_jvp(
            function,
            &plan,
            &signature,
            quote! {
                #bindings
                #tangent_bindings
                __jvp(#(#leaves,)* #(#tangent_args),*)
            },
        )
    });
    quote! {
        #jvp

        /// Forward mode for a `#[differentiate]` function calling this one, from the gradient
        /// (∇f · tangent, by one reverse pass).
        #[doc(hidden)]
        #[inline]
        pub fn __jvp #fn_generics (#(#leaf_signature,)* #(#tangent_signature),*) -> (#out, #out) {
            use ::chainrule::__private::Dot;
            let (value, cache) = __forward(#(#leaves),*);
            #body
        }
    }
}

/// `f::hvp` and `f::hessian`: forward mode over the reverse pass, from the graph
/// [`crate::forward::over_reverse`] builds.
pub fn second_items(function: &Function, second: Second) -> TokenStream {
    let Second {
        graph,
        value,
        gradient,
        hvp,
        backward_top,
        of_param,
    } = second;
    let forward_mode = rebuilt(function, graph, value);
    let roots = Adjoints {
        of_param: gradient.iter().chain(&hvp).copied().collect(),
        edges: Vec::new(),
    };
    let plan = Plan::new(&forward_mode, &roots);
    let g = &forward_mode.graph;
    let float = plan.float();
    let (_, type_args) = plan.generics();
    let fn_generics = plan.fn_generics();
    let (signature, bindings) = signature(g, &plan);
    let unused = unused_params(&plan);
    let forward = plan.region(RegionId::TOP);
    let upstream = super::make_ident("upstream");
    let one = plan.literal(1.0, false).tokens;
    let reads_upstream = g
        .ids()
        .any(|id| plan.live[id.index()] && g.op(id) == &crate::ir::Op::Upstream);
    let ignore_upstream = (!reads_upstream).then(|| quote!(let _ = #upstream;));
    let backward = plan.region(backward_top);
    let n = of_param.len();
    let leaf = |nodes: &[Option<crate::ir::NodeId>]| -> Vec<TokenStream> {
        g.params[..n]
            .iter()
            .zip(nodes)
            .map(|(param, node)| match (param.wrt, node) {
                (false, _) => quote!(::core::default::Default::default()),
                (true, Some(node)) => plan.expr(*node).tokens,
                (true, None) => plan.zero(g.ty(param.node), Some(param.node)),
            })
            .collect()
    };
    let (gradient, hvp) = (leaf(&gradient), leaf(&hvp));
    let value = plan.expr(value).tokens;
    let grad_fields = super::signature_fields(g, &gradient);
    let hvp_fields = super::signature_fields(g, &hvp);
    let marker = plan.grad_marker();
    let places = grad_places(g);
    let mut tangent_bindings = TokenStream::new();
    for (k, of) in of_param.iter().enumerate() {
        let Some(j) = *of else { continue };
        let ident = plan.ident(g.params[j].node);
        tangent_bindings.extend(bind_tangent(&ident, &renamed(&places[k]), g.params[k].passing));
    }
    let name = function.item.sig.ident.unraw();
    let hvp_doc = format!(
        " Forward mode over the reverse pass: the value of `{name}`, its gradient, and the Hessian \
         times `tangent` (∇²{name} · v, the directional derivative of the gradient), in one \
         pass that carries each value's and each gradient's tangent beside it."
    );
    // `hessian`: one such pass per parameter float, along each unit vector.
    let args = signature_args(g, &plan);
    let numbering = Numbering::new(g, &float, &quote!(gradient));
    let Numbering { lets, units, .. } = &numbering;
    let flattens = numbering.flattens(&quote!(row), &quote!(entries));
    // A parameter whose tangent no row of `hvp` reads enters linearly (its gradient's
    // entries depend on no parameter): its column of the Hessian is zero, and so its row
    // (symmetry): no pass along it.
    let wrt_params: Vec<Option<usize>> = g
        .signature
        .iter()
        .filter_map(|argument| match argument {
            Argument::Param(k) if g.params[*k].wrt => Some(Some(*k)),
            Argument::Record(record) if record.wrt => Some(None),
            _ => None,
        })
        .collect();
    let conditions: Vec<TokenStream> = wrt_params
        .iter()
        .enumerate()
        .filter_map(|(i, param)| {
            let j = of_param.get((*param)?).copied().flatten()?;
            if plan.live[g.params[j].node.index()] {
                return None;
            }
            let from = format_ident!("offset_{i}");
            let to = match i + 1 < wrt_params.len() {
                true => format_ident!("offset_{}", i + 1),
                false => format_ident!("size"),
            };
            Some(quote!((#from..#to).contains(&j)))
        })
        .collect();
    let zero = plan.literal(0.0, false).tokens;
    let linear = (!conditions.is_empty()).then(|| {
        quote! {
            if #(#conditions)||* {
                // (a parameter entering linearly: its row is zero)
                entries.extend((0..size).map(|_| #zero));
                continue;
            }
        }
    });
    let hessian_doc = format!(
        " The Hessian of `{name}`, ∂²{name}/∂θᵢ∂θⱼ over the parameters flattened in declaration \
         order (arrays row-major), with the value and the gradient: one [`hvp`] per parameter \
         float, along each unit vector (none along a parameter that enters linearly, whose row \
         and column are zero)."
    );
    // `__hvp`: for a caller's second derivatives, by position (the parameters one by one,
    // then their tangents, `_` for those without), the upstream and its tangent: the
    // gradient u ∇g and its tangent u̇ ∇g + u ∇²g · v, each entry `()` where the gradient
    // has none (as `__vjp`'s).
    let (leaves, leaf_types): (Vec<TokenStream>, Vec<TokenStream>) = g.params[..n]
        .iter()
        .map(|p| (plan.ident(p.node).into_token_stream(), p.written.clone()))
        .unzip();
    let (tangent_leaves, tangent_types): (Vec<TokenStream>, Vec<TokenStream>) = of_param
        .iter()
        .enumerate()
        .map(|(k, of)| match of {
            Some(j) => (
                plan.ident(g.params[*j].node).into_token_stream(),
                g.params[k].written.clone(),
            ),
            // (a caller passes a tangent for a float or an array, `()` for the rest)
            None if g.ty(g.params[k].node).is_differentiable() => (quote!(_), g.params[k].written.clone()),
            None => (quote!(_), quote!(())),
        })
        .unzip();
    let positional = |nodes: &[TokenStream]| -> Vec<TokenStream> {
        g.params[..n]
            .iter()
            .zip(nodes)
            .map(|(p, node)| match p.wrt {
                true => node.clone(),
                false => quote!(()),
            })
            .collect()
    };
    let positional_types: Vec<TokenStream> = g.params[..n]
        .iter()
        .map(|p| match p.wrt {
            true => plan.rust_type(g.ty(p.node)),
            false => quote!(()),
        })
        .collect();
    let (by_position, hvp_by_position) = (positional(&gradient), positional(&hvp));
    let scaled: Vec<TokenStream> = g.params[..n]
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let (g_k, h_k) = (format_ident!("gradient_{k}"), format_ident!("hvp_{k}"));
            let _ = h_k;
            match p.wrt {
                true => quote!(::chainrule::__private::scale(&#g_k, call_upstream)),
                false => quote!(()),
            }
        })
        .collect();
    let scaled_tangents: Vec<TokenStream> = g.params[..n]
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let (g_k, h_k) = (format_ident!("gradient_{k}"), format_ident!("hvp_{k}"));
            match p.wrt {
                true => quote!(::chainrule::__private::combine(&#g_k, t_call_upstream, &#h_k, call_upstream)),
                false => quote!(()),
            }
        })
        .collect();
    let names = |stem: &str| -> Vec<TokenStream> {
        g.params[..n]
            .iter()
            .enumerate()
            .map(|(k, p)| match p.wrt {
                true => format_ident!("{stem}_{k}").into_token_stream(),
                false => quote!(_),
            })
            .collect()
    };
    let (gradient_names, hvp_names) = (names("gradient"), names("hvp"));
    let by_position_fn = quote! {
        /// Second derivatives for a `#[differentiate(hessian)]` function calling this one.
        #[doc(hidden)]
        #[inline]
        pub fn __hvp #fn_generics (
            _: (),
            (#(#leaves,)*): (#(#leaf_types,)*),
            (#(#tangent_leaves,)*): (#(#tangent_types,)*),
            call_upstream: #float,
            t_call_upstream: #float,
        ) -> ((#(#positional_types,)*), (#(#positional_types,)*)) {
            let ((#(#gradient_names,)*), (#(#hvp_names,)*)) = {
                #unused
                #forward
                let #upstream: #float = #one;
                #ignore_upstream
                #backward
                ((#(#by_position,)*), (#(#hvp_by_position,)*))
            };
            ((#(#scaled,)*), (#(#scaled_tangents,)*))
        }
    };
    quote! {
        #by_position_fn

        #[doc = #hvp_doc]
        #[inline]
        pub fn hvp #fn_generics (#(#signature,)* tangent: Grad #type_args) -> (#float, Grad #type_args, Grad #type_args) {
            #bindings
            #tangent_bindings
            #unused
            #forward
            let #upstream: #float = #one;
            #ignore_upstream
            #backward
            (#value, Grad { #(#grad_fields,)* #marker }, Grad { #(#hvp_fields,)* #marker })
        }

        #[doc = #hessian_doc]
        pub fn hessian #fn_generics (#(#signature),*) -> (#float, Grad #type_args, ::chainrule::Hessian<#float>) {
            let (value, gradient) = grad(#(::core::clone::Clone::clone(&#args)),*);
            #lets
            let mut entries = ::std::vec::Vec::with_capacity(size * size);
            for j in 0..size {
                #linear
                let tangent = Grad { #units #marker };
                let (_, _, row) = hvp(#(::core::clone::Clone::clone(&#args),)* tangent);
                #flattens
            }
            (value, gradient, ::chainrule::Hessian::from_rows(size, entries))
        }
    }
}

/// The parameters' floats numbered in declaration order (arrays row-major, a struct's by
/// its `Differentiable` flattening), from a `Grad` of their shape named `base`: `lets`
/// binds each field's offset and their total, `size`; `units` are the fields of the unit
/// `Grad` along float `j`.
struct Numbering {
    lets: TokenStream,
    units: TokenStream,
    /// Each gradient field, and whether it is a struct's.
    wrt: Vec<(proc_macro2::Ident, bool)>,
    float: proc_macro2::Ident,
}

impl Numbering {
    fn new(g: &crate::ir::Graph, float: &proc_macro2::Ident, base: &TokenStream) -> Numbering {
        let wrt: Vec<(proc_macro2::Ident, bool)> = g
            .signature
            .iter()
            .filter_map(|argument| match argument {
                Argument::Param(k) if g.params[*k].wrt => Some((g.params[*k].ident.clone(), false)),
                Argument::Record(record) if record.wrt => Some((record.ident.clone(), true)),
                _ => None,
            })
            .collect();
        let numbering = Numbering {
            lets: TokenStream::new(),
            units: TokenStream::new(),
            wrt,
            float: float.clone(),
        };
        let offsets: Vec<proc_macro2::Ident> = (0..numbering.wrt.len())
            .map(|k| format_ident!("offset_{k}"))
            .collect();
        let mut lets = TokenStream::new();
        let mut units = TokenStream::new();
        let mut previous = quote!(0usize);
        for ((field, record), offset) in numbering.wrt.iter().zip(&offsets) {
            let (count, unit) = (numbering.path("count", *record), numbering.path("unit", *record));
            lets.extend(quote!(let #offset = #previous;));
            units.extend(quote!(#field: #unit(&#base.#field, j.wrapping_sub(#offset)),));
            previous = quote!(#offset + #count(&#base.#field));
        }
        lets.extend(quote!(let size = #previous;));
        Numbering {
            lets,
            units,
            ..numbering
        }
    }

    /// `Flatten::count`, or `__private::struct_count` for a struct.
    fn path(&self, name: &str, record: bool) -> TokenStream {
        let float = &self.float;
        match record {
            true => {
                let name = format_ident!("struct_{name}");
                quote!(::chainrule::__private::#name)
            }
            false => {
                let name = format_ident!("{name}");
                quote!(::chainrule::Flatten::<#float>::#name)
            }
        }
    }

    /// Statements appending the floats of the `Grad` `value` to `out`.
    fn flattens(&self, value: &TokenStream, out: &TokenStream) -> TokenStream {
        self.wrt
            .iter()
            .map(|(field, record)| {
                let flatten = self.path("flatten", *record);
                quote!(#flatten(&#value.#field, &mut #out);)
            })
            .collect()
    }
}

/// `impl Flatten for Grad`: the gradient's floats in declaration order (arrays row-major, a
/// struct's by its `Differentiable` flattening), as `f::hessian` numbers them and as the
/// rows of `f::jacobian` and the matrix conversions read them.
pub fn grad_flatten(function: &Function) -> TokenStream {
    let g = &function.graph;
    let roots = Adjoints {
        of_param: Vec::new(),
        edges: Vec::new(),
    };
    let plan = Plan::new(function, &roots);
    let float = plan.float();
    let (generics, type_args) = plan.generics();
    let marker = plan.grad_marker();
    let numbering = Numbering::new(g, &float, &quote!(self));
    let fields = numbering.wrt.iter().map(|(field, record)| match record {
        true => quote!(#field record),
        false => quote!(#field plain),
    });
    // A generic struct's `Differentiable` holds where its fields' types do.
    let bounds = g.signature.iter().filter_map(|argument| match argument {
        Argument::Record(record) if record.wrt && g.generic.is_some() => {
            let owned = &record.owned;
            Some(quote!(#owned: ::chainrule::Differentiable<Scalar = #float>,))
        }
        _ => None,
    });
    quote! {
        ::chainrule::__flatten_grad! {
            impl [#generics] for [Grad #type_args] where [#(#bounds)*] float #float;
            fields [#(#fields),*] marker [#marker]
        }
    }
}

/// A vector-valued function's `f::Jacobian` and `f::jacobian`: one `Grad` per output, by
/// one reverse pass per output (`backward` along each unit upstream) or, where the forward
/// code exists (`forward_mode`) and there are fewer parameter floats than outputs, by one
/// forward pass per parameter float (`jvp` along each unit tangent), column by column.
pub fn jacobian(function: &Function, forward_mode: bool) -> TokenStream {
    let g = &function.graph;
    let roots = Adjoints {
        of_param: Vec::new(),
        edges: Vec::new(),
    };
    let plan = Plan::new(function, &roots);
    let float = plan.float();
    let out = output_type(function, &float);
    let (generics, type_args) = plan.generics();
    let fn_generics = plan.fn_generics();
    let (signature, bindings) = signature(g, &plan);
    let marker = plan.grad_marker();
    let args = signature_args(g, &plan);
    // A `Grad` of zeros shaped like the parameters (a slice's of its length).
    let zeros: Vec<TokenStream> = g
        .params
        .iter()
        .map(|p| plan.zero(g.ty(p.node), Some(p.node)))
        .collect();
    let zero_fields = super::signature_fields(g, &zeros);
    let flatten = quote!(::chainrule::Flatten::<#float>);
    let (jacobian_type, rows, by_columns_when) = match function.returns.len() {
        Some(len) => (
            quote!([Grad #type_args; #len]),
            quote!(::core::array::from_fn(row)),
            quote!(inputs > 0 && inputs < #len),
        ),
        None => (
            quote!(::std::vec::Vec<Grad #type_args>),
            quote!((0..outputs).map(row).collect()),
            quote!(inputs > 0),
        ),
    };
    let by_columns = forward_mode.then(|| {
        quote! {
            if #by_columns_when {
                // Fewer parameter floats than outputs: one forward pass per column (the
                // first gives the value too).
                let (value, column) = jvp(#(::core::clone::Clone::clone(&#args),)* #flatten::unit(&zero, 0));
                let outputs = #flatten::count(&value);
                if inputs < outputs {
                    let mut columns = ::std::vec::Vec::with_capacity(inputs * outputs);
                    #flatten::flatten(&column, &mut columns);
                    for j in 1..inputs {
                        let (_, column) = jvp(#(::core::clone::Clone::clone(&#args),)* #flatten::unit(&zero, j));
                        #flatten::flatten(&column, &mut columns);
                    }
                    // Row-major, each row read from its slice.
                    let entries: ::std::vec::Vec<#float> = (0..inputs * outputs)
                        .map(|k| columns[(k % inputs) * outputs + k / inputs])
                        .collect();
                    let row = |i: usize| #flatten::read_slice(&zero, &entries[i * inputs..(i + 1) * inputs]);
                    let rows = #rows;
                    return (value, rows);
                }
            }
        }
    });
    let name = function.item.sig.ident.unraw();
    let doc = format!(
        " The value of `{name}` and its Jacobian: one [`Grad`] per output, the gradient of that \
         output (`jacobian[i].w[j]` = ∂{name}ᵢ/∂wⱼ), by one reverse pass per output or, where \
         there are fewer parameter floats than outputs, one forward pass per parameter float."
    );
    quote! {
        /// The Jacobian of the function: one [`Grad`] per output.
        pub type Jacobian #generics = #jacobian_type;

        #[doc = #doc]
        pub fn jacobian #fn_generics (#(#signature),*) -> (#out, Jacobian #type_args) {
            #bindings
            let zero = Grad { #(#zero_fields,)* #marker };
            let inputs = #flatten::count(&zero);
            #by_columns
            let (value, cache) = forward(#(::core::clone::Clone::clone(&#args)),*);
            let outputs = #flatten::count(&value);
            let row = |i: usize| backward(&cache, #flatten::unit(&value, i));
            let rows = #rows;
            (value, rows)
        }
    }
}
