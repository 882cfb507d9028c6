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

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream};
use quote::{format_ident, quote, ToTokens};
use syn::ext::IdentExt;

use crate::ir::{FloatType, Graph, Len, NodeId, Op, RegionId, Ty};
use crate::parse::Function;
use crate::reverse::Adjoints;
use crate::rules::{Prim, Syntax};

/// Names the generated code uses itself; user variables with these names get a suffix.
const RESERVED: &[&str] = &[
    "cache", "upstream", "value", "forward", "backward", "grad", "Cache", "Grad",
];

/// Precedence levels, higher binds tighter.
const IF: u8 = 0;
const OR: u8 = 3;
const AND: u8 = 4;
const COMPARE: u8 = 5;
const CAST: u8 = 25;
const UNARY: u8 = 30;
const POSTFIX: u8 = 40;
/// Infix operators: `Syntax::Infix`'s level times ten.
const INFIX_SCALE: u8 = 10;

pub fn emit(function: &Function, adjoints: &Adjoints, backward_top: RegionId) -> TokenStream {
    let g = &function.graph;
    let plan = Plan::new(function, adjoints);
    let float = float_type(g.float);
    let vis = &function.item.vis;
    let fn_name = &function.item.sig.ident;
    let cfgs: Vec<_> = function
        .item
        .attrs
        .iter()
        .filter(|attr| attr.path().is_ident("cfg"))
        .collect();
    let params: Vec<Ident> = g.params.iter().map(|p| plan.ident(p.node)).collect();
    let param_types: Vec<&syn::Type> = g.params.iter().map(|p| &p.ty).collect();
    let (cache, upstream) = (make_ident("cache"), make_ident("upstream"));

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
    let cached: Vec<Ident> = plan.cached.iter().map(|&id| plan.ident(id)).collect();
    let cache_values = plan.cached.iter().map(|&id| {
        let ident = plan.ident(id);
        match g.ty(id) {
            // A slice parameter is copied: the cache owns what it keeps.
            Ty::Array(_, Len::Runtime) if matches!(g.op(id), Op::Param(_)) => quote!(#ident: #ident.to_vec()),
            _ => quote!(#ident),
        }
    });
    let cache_types = plan.cached.iter().map(|&id| plan.rust_type(g.ty(id)));
    let cache_copy = plan.cached.iter().all(|&id| is_copy(g.ty(id)));
    let cache_patterns = plan.cached.iter().map(|&id| {
        let ident = plan.ident(id);
        if is_copy(g.ty(id)) {
            quote!(#ident)
        } else {
            quote!(ref #ident)
        }
    });

    // backward
    let reads_upstream = g
        .ids()
        .any(|id| plan.live[id.index()] && g.op(id) == &Op::Upstream && plan.backward(id));
    let ignore_upstream = (!reads_upstream).then(|| quote!(let _ = #upstream;));
    let backward_body = plan.region(backward_top);
    let mut grad_lets = TokenStream::new();
    let mut grad_fields = Vec::new();
    let mut grad_types = Vec::new();
    let mut grad_zeros = Vec::new();
    let mut grad_copy = true;
    let mut grad_docs = Vec::new();
    for (param, (ident, adjoint)) in g.params.iter().zip(params.iter().zip(&adjoints.of_param)) {
        if !param.wrt {
            continue;
        }
        let field = &param.ident;
        let ty = g.ty(param.node);
        grad_copy &= is_copy(ty);
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
        grad_fields.push(quote!(#field: #value));
        grad_types.push(plan.rust_type(ty));
        grad_zeros.push(plan.zero(ty, None));
        grad_docs.push(format!(" ∂{fn_name}/∂{}", field.unraw()));
    }
    let grad_field_names: Vec<&Ident> = g.params.iter().filter(|p| p.wrt).map(|p| &p.ident).collect();

    let uses_super = plan.uses_named.then(|| {
        quote! {
            // The user's constants resolve as they do beside the function (an absolute
            // path like `std::f64::consts::PI` leaves the import unused).
            #[allow(unused_imports)]
            use super::*;
        }
    });
    let cache_derive = if cache_copy {
        quote!(Clone, Copy)
    } else {
        quote!(Clone)
    };
    let grad_derive = if grad_copy {
        quote!(Clone, Copy)
    } else {
        quote!(Clone)
    };
    let doc_module = format!(
        " Gradient of `{fn_name}`, generated by `#[differentiate]`: [`forward`] computes the \
         value and a [`Cache`], [`backward`] turns the cache and an upstream gradient into \
         a [`Grad`], and [`grad`] does both with upstream 1."
    );
    let doc_backward = format!(
        " The backward pass: given `upstream` = ∂L/∂{fn_name}, the gradient ∂L/∂(each parameter) — \
         each local gradient times the upstream gradient, by the chain rule."
    );
    let fn_pointer_types = param_types.iter().map(|ty| strip_lifetimes(ty));
    quote! {
        // The function counts as used: its gradient is used (no dead-code warning for it
        // when only `grad` is called). Beside the module, so that it also works in a block.
        #(#cfgs)*
        const _: fn(#(#fn_pointer_types),*) -> #float = #fn_name;

        #(#cfgs)*
        #[doc = #doc_module]
        // Folded constants can look like `std` ones (0.7071067811865476 is FRAC_1_SQRT_2);
        // index loops are the clearest way to write a gradient.
        #[allow(clippy::approx_constant, clippy::needless_range_loop, clippy::too_many_arguments)]
        #vis mod #fn_name {
            #uses_super

            /// What the backward pass needs from the forward pass.
            #[derive(Debug, #cache_derive, PartialEq)]
            pub struct Cache {
                #(#cached: #cache_types,)*
            }

            /// The gradient: one field per parameter it is taken with respect to, of the
            /// parameter's shape.
            #[derive(Debug, #grad_derive, PartialEq)]
            pub struct Grad {
                #(#[doc = #grad_docs] pub #grad_field_names: #grad_types,)*
            }

            impl ::core::default::Default for Grad {
                fn default() -> Self {
                    Grad { #(#grad_field_names: #grad_zeros),* }
                }
            }

            /// The forward pass: the function's value, and the cache for [`backward`].
            #[inline]
            pub fn forward(#(#params: #param_types),*) -> (#float, Cache) {
                #unused_params
                #forward_body
                (#output, Cache { #(#cache_values),* })
            }

            #[doc = #doc_backward]
            #[inline]
            pub fn backward(#cache: &Cache, #upstream: #float) -> Grad {
                let Cache { #(#cache_patterns),* } = *#cache;
                #ignore_upstream
                #backward_body
                #grad_lets
                Grad { #(#grad_fields),* }
            }

            /// The value and the gradient at one point: `forward`, then `backward` with
            /// upstream 1, in one function (no cache is built).
            #[inline]
            pub fn grad(#(#params: #param_types),*) -> (#float, Grad) {
                #unused_params
                #forward_body
                let #upstream: #float = 1.0;
                #ignore_upstream
                #backward_body
                #grad_lets
                (#output, Grad { #(#grad_fields),* })
            }
        }
    }
}

/// `&'a [f64]` as `&[f64]`, for a function-pointer type.
fn strip_lifetimes(ty: &syn::Type) -> TokenStream {
    match ty {
        syn::Type::Reference(reference) => {
            let mutability = &reference.mutability;
            let elem = strip_lifetimes(&reference.elem);
            quote!(&#mutability #elem)
        }
        other => other.into_token_stream(),
    }
}

fn float_type(float: FloatType) -> Ident {
    Ident::new(float.name(), Span::call_site())
}

fn is_copy(ty: &Ty) -> bool {
    match ty {
        Ty::Array(_, Len::Runtime) => false,
        Ty::Array(element, _) => is_copy(element),
        _ => true,
    }
}

/// An expression and its precedence.
struct Printed {
    tokens: TokenStream,
    precedence: u8,
}

impl Printed {
    fn new(tokens: TokenStream, precedence: u8) -> Self {
        Printed { tokens, precedence }
    }

    /// The tokens, in parentheses if they bind looser than `level`.
    fn at(self, level: u8) -> TokenStream {
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
    /// Variables that need `let mut`.
    mutable: HashSet<NodeId>,
    taken: RefCell<HashSet<String>>,
    uses_named: bool,
}

impl<'f> Plan<'f> {
    fn new(function: &'f Function, adjoints: &Adjoints) -> Self {
        let g = &function.graph;
        let len = g.len();
        let roots: Vec<NodeId> = adjoints.of_param.iter().flatten().copied().collect();
        let (live, live_slots) = crate::simplify::liveness(g, roots.iter().copied().chain([function.output]));

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
                    let (body, cond) = match *g.op(id) {
                        Op::Loop { body, .. } => (body, None),
                        Op::While { cond, body } => (body, Some(cond)),
                        _ => unreachable_region(),
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

        // In-place updates: `a[i] = v` when nothing reads the old `a` later.
        let mut in_place = HashSet::new();
        let mut mutable = HashSet::new();
        let mut forced_lets = HashSet::new();
        for id in g.ids() {
            if !live[id.index()] || !matches!(g.op(id), Op::Update | Op::AddAt) {
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
                .all(|&r| r < id && g.region_of(r) == region && matches!(g.op(r), Op::Index))
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
        let mut plan = Plan {
            g,
            live,
            live_slots,
            cached,
            lets: vec![false; len],
            names: vec![None; len],
            in_place,
            mutable: HashSet::new(),
            taken: RefCell::new(RESERVED.iter().map(|s| s.to_string()).collect()),
            uses_named: false,
        };
        for param in &g.params {
            let name = plan.fresh(&param.ident.unraw().to_string());
            plan.names[param.node.index()] = Some(name);
        }
        let fn_name = function.item.sig.ident.unraw().to_string();
        let mut shared: HashMap<NodeId, String> = HashMap::new(); // carried variables
        for id in g.ids() {
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
                            // A loop inside a loop carrying the same variable: one variable.
                            let init = init_of(g, o, *k)?;
                            let same_variable = g.names[init.index()] == g.names[id.index()];
                            let is_variable = matches!(g.op(init), Op::RegionParam(_))
                                || matches!(g.op(init), Op::Project(_) if !matches!(g.op(g.args(init)[0]), Op::Branch { .. }));
                            let name = plan.names[init.index()]
                                .clone()
                                .filter(|_| is_variable && same_variable && uses[init.index()] == 1)?;
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
            let must = (user_name.is_some() && !in_its_place)
                || uses[id.index()] >= 2
                || used_elsewhere[id.index()]
                || forced_lets.contains(&id)
                || plan.cached.contains(&id)
                || roots.contains(&id)
                || id == function.output
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
                format!(
                    "d_{}",
                    plan.names[of.index()].as_deref().unwrap_or_else(|| stem(g, *of))
                )
            } else if id == function.output {
                user_name.unwrap_or_else(|| fn_name.clone())
            } else if let Some(name) = user_name {
                name
            } else {
                stem(g, id).to_string()
            };
            let stem = match g.op(id) {
                Op::Stacked(k) => {
                    let owner = g.args(id)[0];
                    let saved = body_of(g, owner).and_then(|b| g.region(b).stacked.get(*k).copied());
                    let base = saved.and_then(|s| plan.names[s.index()].clone()).unwrap_or(stem);
                    format!("{base}_saved")
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
        plan.mutable = mutable;
        plan
    }

    fn backward(&self, id: NodeId) -> bool {
        self.g.region(self.g.region_of(id)).backward
    }

    /// A name not used yet: `stem`, else `stem_1`, `stem_2`, …
    fn fresh(&self, stem: &str) -> String {
        let mut taken = self.taken.borrow_mut();
        let mut name = stem.to_string();
        let mut counter = 0;
        while taken.contains(&name) {
            counter += 1;
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
        for id in g.region_nodes(region) {
            if !self.live[id.index()] {
                continue;
            }
            match g.op(id) {
                Op::Branch { then, otherwise } => out.extend(self.branch(id, *then, *otherwise)),
                Op::Loop { body, rev } => out.extend(self.for_loop(id, *body, *rev)),
                Op::While { cond, body } => out.extend(self.while_loop(id, *cond, *body)),
                Op::Project(_) | Op::Stacked(_) | Op::RegionParam(_) | Op::LoopIndex => {}
                Op::Update | Op::AddAt if self.in_place.contains(&id) => {
                    let args = g.args(id);
                    let target = self.ident(args[0]);
                    let indices = args[2..].iter().map(|&i| self.expr(i).tokens);
                    let value = self.expr(args[1]).tokens;
                    let op = if g.op(id) == &Op::Update {
                        quote!(=)
                    } else {
                        quote!(+=)
                    };
                    out.extend(quote!(#target #([#indices])* #op #value;));
                }
                _ if self.lets[id.index()] => {
                    let ident = self.ident(id);
                    let value = self.inline(id).tokens;
                    let mutable = self.mutable.contains(&id).then(|| quote!(mut));
                    out.extend(quote!(let #mutable #ident = #value;));
                }
                _ => {}
            }
        }
        out
    }

    /// A region as a block ending in its yields (`{ …; (a, b) }`), for the given slots.
    fn block_with_yields(&self, region: RegionId, slots: &[usize]) -> TokenStream {
        let statements = self.region(region);
        let yields = &self.g.region(region).yields;
        let values: Vec<TokenStream> = slots.iter().map(|&k| self.expr(yields[k]).tokens).collect();
        let value = tuple(&values);
        quote!({ #statements #value })
    }

    fn sorted_slots(&self, node: NodeId) -> Vec<usize> {
        let mut slots: Vec<usize> = self
            .live_slots
            .get(&node)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        slots.sort();
        slots
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
        let then = self.block_with_yields(then, &slots);
        let otherwise = self.block_with_yields(otherwise, &slots);
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
            let in_place = next.is_some_and(|next| self.in_place.contains(&next));
            if self.names[inits[k].index()].as_deref() != Some(name.as_str()) {
                let init = self.expr(inits[k]).tokens;
                let mutable = (assigned || in_place).then(|| quote!(mut));
                declarations.extend(quote!(let #mutable #ident = #init;));
            }
            if let Some(next) = next.filter(|_| assigned) {
                targets.push(ident.into_token_stream());
                values.push(self.expr(next).tokens);
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

    fn carried_name(&self, node: NodeId, body: RegionId, k: usize) -> Option<String> {
        let from_param = self
            .g
            .region(body)
            .params
            .get(k)
            .and_then(|p| self.names[p.index()].clone());
        from_param.or_else(|| self.output(node, k).and_then(|o| self.names[o.index()].clone()))
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
            let ident = self.ident(id);
            let element = g.ty(saved);
            let zero = self.zero(element, None);
            let init = match g.ty(id) {
                Ty::Array(_, Len::Lit(n)) => {
                    let n = proc_macro2::Literal::u64_unsuffixed(*n);
                    quote!([#zero; #n])
                }
                Ty::Array(_, Len::Named(index)) => {
                    let path = self.path(*index);
                    quote!([#zero; #path])
                }
                _ if push => quote!(::std::vec::Vec::new()),
                _ => {
                    let (start, end) = (g.args(node)[0], g.args(node)[1]);
                    let count = match g.int_value(start) {
                        Some(0) => self.expr(end).tokens,
                        _ => {
                            let (start, end) = (
                                self.expr(start).at(INFIX_SCALE + 1),
                                self.expr(end).at(INFIX_SCALE),
                            );
                            quote!(#end - #start)
                        }
                    };
                    quote!(::std::vec![#zero; #count])
                }
            };
            declarations.extend(quote!(let mut #ident = #init;));
            let value = self.expr(saved).tokens;
            saves.extend(if push {
                quote!(#ident.push(#value);)
            } else {
                quote!(#ident[#position] = #value;)
            });
        }
        (declarations, saves)
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
        let start = self.expr(args[0]).at(INFIX_SCALE + 1);
        let end = self.expr(args[1]).at(INFIX_SCALE + 1);
        let position = match (g.int_value(args[0]), index) {
            (Some(0), Some(i)) => self.ident(i).into_token_stream(),
            (_, Some(i)) => {
                let i = self.ident(i);
                quote!(#i - #start)
            }
            _ => quote!(0),
        };
        let (stack_declarations, saves) = self.stacks(node, body, &position, false);
        let statements = self.region(body);
        let range = if rev {
            quote!((#start..#end).rev())
        } else {
            quote!(#start..#end)
        };
        quote! {
            #declarations
            #stack_declarations
            for #index_ident in #range {
                #statements
                #saves
                #assignment
            }
        }
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
        let statements = self.region(body);
        quote! {
            #declarations
            #stack_declarations
            #counter_declaration
            while #condition {
                #statements
                #saves
                #assignment
                #counter_step
            }
        }
    }

    /// The node as an operand: its name if it has one, else inline.
    fn expr(&self, id: NodeId) -> Printed {
        if self.names[id.index()].is_some() {
            Printed::new(self.ident(id).into_token_stream(), POSTFIX)
        } else {
            self.inline(id)
        }
    }

    /// The node's own computation, its operands by [`Plan::expr`].
    fn inline(&self, id: NodeId) -> Printed {
        let g = self.g;
        let args = g.args(id);
        match g.op(id) {
            Op::Param(_)
            | Op::Upstream
            | Op::RegionParam(_)
            | Op::LoopIndex
            | Op::Project(_)
            | Op::Stacked(_) => Printed::new(self.ident(id).into_token_stream(), POSTFIX),
            Op::Const(bits) => self.literal(f64::from_bits(*bits), false),
            Op::Named(index) => Printed::new(self.path(*index), POSTFIX),
            Op::Int { named, offset } => {
                let offset_tokens = proc_macro2::Literal::u64_unsuffixed(offset.unsigned_abs());
                match (named, offset) {
                    (None, offset) if *offset < 0 => Printed::new(quote!(-#offset_tokens), UNARY),
                    (None, _) => Printed::new(offset_tokens.into_token_stream(), POSTFIX),
                    (Some(index), 0) => Printed::new(self.path(*index), POSTFIX),
                    (Some(index), offset) => {
                        let path = self.path(*index);
                        let sign = if *offset < 0 { quote!(-) } else { quote!(+) };
                        Printed::new(quote!(#path #sign #offset_tokens), INFIX_SCALE)
                    }
                }
            }
            Op::IntBin(op) => {
                let level = op.level() * INFIX_SCALE;
                let symbol: TokenStream = op.symbol().parse().unwrap_or_default();
                let lhs = self.expr(args[0]).at(level);
                let rhs = self.expr(args[1]).at(level + 1);
                Printed::new(quote!(#lhs #symbol #rhs), level)
            }
            Op::IntToFloat => {
                let int = self.expr(args[0]).at(CAST);
                let float = float_type(g.float);
                Printed::new(quote!(#int as #float), CAST)
            }
            Op::Compare(cmp) => {
                let symbol: TokenStream = cmp.symbol().parse().unwrap_or_default();
                let lhs = self.expr(args[0]).at(COMPARE + 1);
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
                let elements = args.iter().map(|&a| self.expr(a).tokens);
                Printed::new(quote!([#(#elements),*]), POSTFIX)
            }
            Op::ArrayRepeat(len) => {
                let value = self.expr(args[0]).tokens;
                let len = self.len(len);
                Printed::new(quote!([#value; #len]), POSTFIX)
            }
            Op::Index => {
                let array = self.expr(args[0]).at(POSTFIX);
                let indices = args[1..].iter().map(|&i| self.expr(i).tokens);
                Printed::new(quote!(#array #([#indices])*), POSTFIX)
            }
            Op::Update | Op::AddAt => {
                // Not in place: a copy, updated (arrays of fixed size are `Copy`).
                let array = self.expr(args[0]).tokens;
                let value = self.expr(args[1]).tokens;
                let indices = args[2..].iter().map(|&i| self.expr(i).tokens);
                let op = if g.op(id) == &Op::Update {
                    quote!(=)
                } else {
                    quote!(+=)
                };
                let copy = make_ident("updated");
                Printed::new(
                    quote!({ let mut #copy = ::core::clone::Clone::clone(&#array); #copy #([#indices])* #op #value; #copy }),
                    POSTFIX,
                )
            }
            Op::ZerosLike => Printed::new(self.zero(g.ty(id), args.first().copied()), POSTFIX),
            Op::Len => {
                let array = self.expr(args[0]).at(POSTFIX);
                Printed::new(quote!(#array.len()), POSTFIX)
            }
            Op::Sum => {
                let array = self.expr(args[0]).at(POSTFIX);
                let float = float_type(g.float);
                Printed::new(quote!(#array.iter().sum::<#float>()), POSTFIX)
            }
            Op::Select(cmp) => {
                let lhs = self.expr(args[0]).at(INFIX_SCALE);
                let rhs = self.expr(args[1]).at(INFIX_SCALE);
                let op: TokenStream = cmp.symbol().parse().unwrap_or_default();
                let then = self.expr(args[2]).tokens;
                let otherwise = self.expr(args[3]);
                let otherwise = if otherwise.precedence == IF && self.names[args[3].index()].is_none() {
                    otherwise.tokens // `else if …`
                } else {
                    Group::new(Delimiter::Brace, otherwise.tokens).into_token_stream()
                };
                Printed::new(quote!(if #lhs #op #rhs { #then } else #otherwise), IF)
            }
            Op::Prim(Prim::Add) if matches!(g.ty(id), Ty::Array(..)) => {
                let (a, b) = (self.expr(args[0]).tokens, self.expr(args[1]).tokens);
                Printed::new(quote!(::chainrule::__private::add(#a, #b)), POSTFIX)
            }
            Op::Prim(prim) => self.prim(*prim, args),
            Op::Branch { .. } | Op::Loop { .. } | Op::While { .. } => Printed::new(quote!(()), POSTFIX),
        }
    }

    fn prim(&self, prim: Prim, args: &[NodeId]) -> Printed {
        let rule = prim.rule();
        match rule.syntax {
            Syntax::Prefix(symbol) => {
                let op: TokenStream = symbol.parse().unwrap_or_default();
                let operand = self.expr(args[0]).at(UNARY);
                Printed::new(quote!(#op #operand), UNARY)
            }
            Syntax::Infix(symbol, level) => {
                let level = level * INFIX_SCALE;
                let op: TokenStream = symbol.parse().unwrap_or_default();
                let lhs = self.expr(args[0]).at(level);
                // Left-associative: `a - (b - c)` keeps its parentheses (and `a + (b + c)`,
                // which rounds differently from `a + b + c`).
                let rhs = self.expr(args[1]).at(level + 1);
                Printed::new(quote!(#lhs #op #rhs), level)
            }
            Syntax::Method => {
                let receiver = match self.g.const_value(args[0]) {
                    // `2.0.exp()` would not type-check: a receiver literal gets its type.
                    Some(value) if self.names[args[0].index()].is_none() => {
                        self.literal(value, true).at(POSTFIX)
                    }
                    _ => self.expr(args[0]).at(POSTFIX),
                };
                let method = format_ident!("{}", rule.name);
                let rest = args[1..].iter().map(|&a| self.expr(a).tokens);
                Printed::new(quote!(#receiver.#method(#(#rest),*)), POSTFIX)
            }
            Syntax::Function => {
                let function = format_ident!("{}", rule.name);
                let args = args.iter().map(|&a| self.expr(a).tokens);
                Printed::new(quote!(::chainrule::#function(#(#args),*)), POSTFIX)
            }
        }
    }

    fn literal(&self, value: f64, typed: bool) -> Printed {
        let float = float_type(self.g.float);
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
            FloatType::F64 => format!("{magnitude:?}"),
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
            Ty::Float => quote!(0.0),
            Ty::Int(_) => quote!(0),
            Ty::Bool => quote!(false),
            Ty::Unit => quote!(()),
            Ty::Array(element, Len::Runtime) => {
                let zero = self.zero(element, None);
                match like {
                    Some(like) => {
                        let like = self.expr(like).at(POSTFIX);
                        quote!(::std::vec![#zero; #like.len()])
                    }
                    None => quote!(::std::vec::Vec::new()),
                }
            }
            Ty::Array(element, len) => {
                let zero = self.zero(element, None);
                let len = self.len(len);
                quote!([#zero; #len])
            }
        }
    }

    fn len(&self, len: &Len) -> TokenStream {
        match len {
            Len::Lit(n) => proc_macro2::Literal::u64_unsuffixed(*n).into_token_stream(),
            Len::Named(index) => self.path(*index),
            Len::Runtime => quote!(0),
        }
    }

    /// The Rust type of a value: `f64`, `[f64; 3]`, `Vec<f64>` (run-time length), …
    fn rust_type(&self, ty: &Ty) -> TokenStream {
        match ty {
            Ty::Float => float_type(self.g.float).into_token_stream(),
            Ty::Int(Some(name)) => make_ident(name).into_token_stream(),
            Ty::Int(None) => quote!(usize),
            Ty::Bool => quote!(bool),
            Ty::Unit => quote!(()),
            Ty::Array(element, Len::Runtime) => {
                let element = self.rust_type(element);
                quote!(::std::vec::Vec<#element>)
            }
            Ty::Array(element, len) => {
                let element = self.rust_type(element);
                let len = self.len(len);
                quote!([#element; #len])
            }
        }
    }

    /// A user's constant, as written; a relative `self::`/`super::` path gains a level,
    /// since generated code lives in a module one below the function.
    fn path(&self, index: usize) -> TokenStream {
        let path = &self.g.named[index];
        match path.segments.first() {
            Some(first) if path.leading_colon.is_none() && first.ident == "self" => {
                let rest = path.segments.iter().skip(1);
                quote!(super #(:: #rest)*)
            }
            Some(first) if path.leading_colon.is_none() && first.ident == "super" => quote!(super::#path),
            _ => path.into_token_stream(),
        }
    }
}

/// `()` for none, `a` for one, `(a, b)` for more.
fn tuple(values: &[TokenStream]) -> TokenStream {
    match values {
        [one] => one.clone(),
        many => quote!((#(#many),*)),
    }
}

fn unreachable_region() -> (RegionId, Option<RegionId>) {
    (RegionId::TOP, None)
}

fn body_of(g: &Graph, loop_node: NodeId) -> Option<RegionId> {
    match *g.op(loop_node) {
        Op::Loop { body, .. } | Op::While { body, .. } => Some(body),
        _ => None,
    }
}

/// The key under which a loop's carried variable `k` is named once, for its initial
/// value, its parameter in the body (and condition), and its final value.
fn carried_key(g: &Graph, owner: NodeId, k: usize) -> NodeId {
    // The body's parameter node stands for the variable.
    body_of(g, owner)
        .and_then(|b| g.region(b).params.get(k).copied())
        .unwrap_or(owner)
}

fn stacked_live(g: &Graph, live: &[bool], owner: NodeId, saved: NodeId) -> bool {
    g.ids().any(|id| {
        live[id.index()]
            && matches!(g.op(id), Op::Stacked(k) if g.args(id)[0] == owner
                && body_of(g, owner).and_then(|b| g.region(b).stacked.get(*k).copied()) == Some(saved))
    })
}

/// The named constants a node mentions (its path, or an array length in its type).
fn named_indices(g: &Graph, id: NodeId) -> Vec<usize> {
    fn of_ty(ty: &Ty, out: &mut Vec<usize>) {
        if let Ty::Array(element, len) = ty {
            if let Len::Named(index) = len {
                out.push(*index);
            }
            of_ty(element, out);
        }
    }
    let mut out = Vec::new();
    match g.op(id) {
        Op::Named(index)
        | Op::Int {
            named: Some(index), ..
        } => out.push(*index),
        Op::ArrayRepeat(Len::Named(index)) => out.push(*index),
        _ => {}
    }
    of_ty(g.ty(id), &mut out);
    out
}

/// A readable stem for an unnamed value, from its operation.
fn stem(g: &Graph, id: NodeId) -> &'static str {
    match g.op(id) {
        Op::Prim(Prim::Add) => "sum",
        Op::Prim(Prim::Sub) => "difference",
        Op::Prim(Prim::Mul) => "product",
        Op::Prim(Prim::Div) => "quotient",
        Op::Prim(Prim::Neg) => "negated",
        Op::Prim(prim) => prim.rule().name,
        Op::Select(_) => "routed",
        Op::LoopIndex => "i",
        Op::Len => "len",
        Op::Project(k)
            if matches!(g.op(g.args(id)[0]), Op::While { .. })
                && body_of(g, g.args(id)[0]).is_some_and(|b| g.region(b).params.len() == *k) =>
        {
            "iterations"
        }
        Op::Index => "element",
        Op::ZerosLike => "zeros",
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
