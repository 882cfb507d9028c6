//! `f::trace(args…)`: generated code that evaluates the function once and writes the
//! picture of its graph annotated as in the lecture — each edge's forward value, and the
//! gradient flowing back along it (upstream 1).
//!
//! It runs the same IR as `f::grad`, node for node, so its numbers are `grad`'s bit for
//! bit; but it is written plainly (one `let` per node, every value kept), since it is for
//! reading, not speed, and `forward`, `backward` and `grad` are not touched. After each
//! value the picture shows it records it, and after each gradient contribution it
//! records that on its edge (`chainrule::__private::dot::Trace`).
//!
//! Loops: a node inside a loop shows its value in the last iteration (the values are
//! cleared at the start of each iteration, so a branch not taken in the last iteration
//! shows as not taken), and an edge between two such nodes the gradient of that same
//! iteration (the backward pass's first: its edges are frozen after it). An edge from
//! outside the loop into it shows the gradient summed over all iterations: what the use
//! inside the loop contributes in total to its source's gradient.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, ToTokens};
use syn::ext::IdentExt;

use crate::back::code::{
    call_backward_tokens, len_tokens, operator, stack_position, trip_count, tuple, written, Place,
};
use crate::back::dot::Picture;
use crate::ir::Function;
use crate::ir::{FloatType, Graph, Len, NodeId, Op, RegionId, Ty};
use crate::ops::Prim;
use crate::reverse::Adjoints;

/// The body of `f::trace` (its statements and the final `finish()`), and whether it
/// names the user's items (constants, functions) through `use super::*`.
pub struct TraceBody {
    pub body: TokenStream,
    pub uses_user_paths: bool,
}

pub fn trace_body(
    function: &Function,
    adjoints: &Adjoints,
    backward_top: RegionId,
    picture: &Picture,
    template: &TokenStream,
) -> TraceBody {
    let g = &function.graph;
    let prefix = internal_prefix(g);
    let recorder = Ident::new(&prefix, Span::mixed_site());

    // Gradient records: by backward region, the (edge, record) pairs to write there.
    let mut by_key: HashMap<(NodeId, usize), Vec<usize>> = HashMap::new();
    for (r, record) in adjoints.edges.iter().enumerate() {
        by_key.entry((record.node, record.arg)).or_default().push(r);
    }
    let mut records: HashMap<RegionId, Vec<(usize, usize)>> = HashMap::new();
    for (e, edge) in picture.edges.iter().enumerate() {
        let Some(key) = edge.gradient else { continue };
        for &r in by_key.get(&key).map(Vec::as_slice).unwrap_or(&[]) {
            records.entry(adjoints.edges[r].region).or_default().push((e, r));
        }
    }

    // What must be computed: the value, the gradient, every value shown and every
    // gradient recorded — and the loops and branches those are inside.
    let mut roots: Vec<NodeId> = vec![function.output];
    roots.extend(adjoints.of_param.iter().flatten().copied());
    for node in &picture.nodes {
        roots.push(node.node);
    }
    for list in records.values() {
        for &(_, r) in list {
            roots.push(adjoints.edges[r].value);
            roots.extend(adjoints.edges[r].indices.iter().copied());
        }
    }
    let mut owners = Vec::new();
    let mut seen_regions = HashSet::new();
    let record_regions: Vec<RegionId> = records.keys().copied().collect();
    for region in roots
        .iter()
        .map(|&r| g.region_of(r))
        .chain(record_regions.iter().copied())
    {
        let mut region = Some(region);
        while let Some(r) = region {
            if !seen_regions.insert(r) {
                break;
            }
            if let Some(owner) = g.region(r).owner {
                owners.push(owner);
            }
            region = g.region(r).parent;
        }
    }
    roots.extend(owners);
    let (live, live_slots) = crate::analysis::liveness(g, roots);

    let mut by_region: Vec<Vec<NodeId>> = vec![Vec::new(); g.regions.len()];
    for id in g.ids() {
        if live[id.index()] {
            by_region[g.region_of(id).index()].push(id);
        }
    }
    let mut projects: HashMap<(NodeId, usize), NodeId> = HashMap::new();
    let mut stacks: HashMap<NodeId, Vec<NodeId>> = HashMap::new();
    for id in g.ids() {
        if !live[id.index()] {
            continue;
        }
        match g.op(id) {
            Op::Project(k) => {
                projects.entry((g.args(id)[0], *k)).or_insert(id);
            }
            Op::Stacked(_) => stacks.entry(g.args(id)[0]).or_default().push(id),
            _ => {}
        }
    }

    // Freezing: a reversed loop body freezes, after each iteration, the edges recorded in
    // it whose source is inside the forward body (per-iteration values).
    let mut forward_body_of: HashMap<RegionId, RegionId> = HashMap::new();
    for (&forward, &index) in &g.mirror_index {
        forward_body_of.insert(g.region_of(index), forward);
    }
    let mut freeze: HashMap<RegionId, Vec<usize>> = HashMap::new();
    for (&region, list) in &records {
        for &(e, _) in list {
            let source = picture.nodes[picture.edges[e].value].node;
            let mut r = Some(region);
            while let Some(current) = r {
                if let Some(&forward) = forward_body_of.get(&current) {
                    if g.is_within(g.region_of(source), forward) {
                        freeze.entry(current).or_default().push(e);
                    }
                }
                r = g.region(current).parent;
            }
        }
    }
    for list in freeze.values_mut() {
        list.sort();
        list.dedup();
    }

    // Per forward loop body: the slots to clear at the start of an iteration (the nodes
    // and the clusters inside it, at any depth).
    let loop_bodies: HashSet<RegionId> = picture
        .clusters
        .iter()
        .filter(|c| c.loop_body)
        .map(|c| c.region)
        .collect();
    let mut clear: HashMap<RegionId, Vec<usize>> = HashMap::new();
    let mut enclosing = |region: RegionId, slot: usize, own: bool| {
        let mut r = if own {
            g.region(region).parent
        } else {
            Some(region)
        };
        while let Some(current) = r {
            if loop_bodies.contains(&current) {
                clear.entry(current).or_default().push(slot);
            }
            r = g.region(current).parent;
        }
    };
    for (slot, node) in picture.nodes.iter().enumerate() {
        enclosing(node.region, slot, false);
    }
    for cluster in &picture.clusters {
        enclosing(cluster.region, cluster.slot, true);
    }

    let tracer = Tracer {
        g,
        live,
        live_slots,
        by_region,
        projects,
        stacks,
        picture,
        adjoints,
        records,
        freeze,
        clear,
        prefix,
        recorder: recorder.clone(),
        uses_user_paths: std::cell::Cell::new(false),
    };

    // Inputs first (their values), then the forward pass, then the backward pass.
    let mut body = TokenStream::new();
    let slots = Int(picture.slots);
    let edges = Int(picture.edges.len());
    body.extend(quote! {
        let mut #recorder = ::chainrule::__private::dot::Trace::new(#template, #slots, #edges);
    });
    for (slot, node) in picture.nodes.iter().enumerate() {
        if matches!(g.op(node.node), Op::Param(_)) || g.is_free(node.node) {
            let value = tracer.reference(node.node);
            let slot = Int(slot);
            body.extend(quote!(#recorder.value(#slot, #value);));
        }
    }
    body.extend(tracer.region(RegionId::TOP));
    if let Some(e) = picture
        .edges
        .iter()
        .position(|e| e.kind == crate::back::dot::EdgeKind::Output)
    {
        let one = tracer.literal(1.0);
        let e = Int(e);
        body.extend(quote!(#recorder.grad(#e, &#one);));
    }
    body.extend(tracer.region(backward_top));
    body.extend(tracer.records_of(backward_top));
    for (param, adjoint) in g.params.iter().zip(&adjoints.of_param) {
        let Some(slot) = picture.slot(param.node) else {
            continue;
        };
        if !param.wrt || !g.ty(param.node).is_differentiable() {
            continue;
        }
        let gradient = match adjoint {
            Some(adjoint) => tracer.operand(*adjoint, false),
            None => tracer.zero(g.ty(param.node), Some(param.node)),
        };
        let slot = Int(slot);
        body.extend(quote!(#recorder.input(#slot, &#gradient);));
    }
    body.extend(quote!(#recorder.finish()));
    TraceBody {
        body,
        uses_user_paths: tracer.uses_user_paths.get(),
    }
}

/// The trace of a function with a custom rule: its `forward`, then its `backward` with
/// upstream 1; each input's edge carries its whole gradient.
pub fn custom_trace_body(function: &Function, picture: &Picture, template: &TokenStream) -> TraceBody {
    let g = &function.graph;
    let prefix = internal_prefix(g);
    let name = |tail: &str| Ident::new(&format!("{prefix}{tail}"), Span::mixed_site());
    let (recorder, value, cache, grad) = (name(""), name("value"), name("cache"), name("grad"));
    let params: Vec<Ident> = g
        .params
        .iter()
        .map(|p| param_ident(&p.ident.unraw().to_string()))
        .collect();
    let float = match &g.generic {
        Some(t) => t.to_token_stream(),
        None => Ident::new(g.float.name(), Span::call_site()).into_token_stream(),
    };
    let one = match &g.generic {
        Some(t) => quote!(#t::one()),
        None => quote!(1.0 as #float),
    };
    let slots = Int(picture.slots);
    let edges = Int(picture.edges.len());
    let output_edge = Int(picture.edges.len() - 1);
    let call = Int(g.params.len());
    let mut body = quote! {
        let (#value, #cache) = self::forward(#(#params),*);
        let #grad = self::backward(&#cache, #one);
        let mut #recorder = ::chainrule::__private::dot::Trace::new(#template, #slots, #edges);
        #recorder.value(#call, &#value);
        #recorder.grad(#output_edge, &(#one));
    };
    for (k, (param, ident)) in g.params.iter().zip(&params).enumerate() {
        let k = Int(k);
        let reference = match param.passing.is_reference() {
            true => quote!(#ident),
            false => quote!(&#ident),
        };
        body.extend(quote!(#recorder.value(#k, #reference);));
        if param.wrt && g.ty(param.node).is_differentiable() {
            let field = &param.ident;
            body.extend(quote! {
                #recorder.grad(#k, &#grad.#field);
                #recorder.input(#k, &#grad.#field);
            });
        }
    }
    body.extend(quote!(#recorder.finish()));
    TraceBody {
        body,
        uses_user_paths: false,
    }
}

/// A prefix for the generated code's own names that no parameter starts with.
fn internal_prefix(g: &Graph) -> String {
    let mut prefix = "__t".to_string();
    while g
        .params
        .iter()
        .any(|p| p.ident.unraw().to_string().starts_with(&prefix))
    {
        prefix.push('_');
    }
    prefix
}

/// A `usize` written without its suffix (`3`, not `3usize`).
#[derive(Clone, Copy)]
struct Int(usize);

impl ToTokens for Int {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        proc_macro2::Literal::usize_unsuffixed(self.0).to_tokens(tokens);
    }
}

/// An identifier as a parameter is written (raw for a keyword).
pub fn param_ident(name: &str) -> Ident {
    if syn::parse_str::<Ident>(name).is_ok() {
        Ident::new(name, Span::mixed_site())
    } else if matches!(name, "self" | "Self" | "super" | "crate" | "_") || name.is_empty() {
        Ident::new(&format!("{name}_"), Span::mixed_site())
    } else {
        Ident::new_raw(name, Span::mixed_site())
    }
}

fn is_copy(ty: &Ty) -> bool {
    match ty {
        Ty::Array(_, Len::Runtime) | Ty::Opaque(_) => false,
        Ty::Array(element, _) => is_copy(element),
        _ => true,
    }
}

struct Tracer<'f> {
    g: &'f Graph,
    live: Vec<bool>,
    live_slots: HashMap<NodeId, HashSet<usize>>,
    by_region: Vec<Vec<NodeId>>,
    projects: HashMap<(NodeId, usize), NodeId>,
    stacks: HashMap<NodeId, Vec<NodeId>>,
    picture: &'f Picture,
    adjoints: &'f Adjoints,
    records: HashMap<RegionId, Vec<(usize, usize)>>,
    freeze: HashMap<RegionId, Vec<usize>>,
    clear: HashMap<RegionId, Vec<usize>>,
    prefix: String,
    recorder: Ident,
    uses_user_paths: std::cell::Cell<bool>,
}

impl Tracer<'_> {
    fn name(&self, tail: impl std::fmt::Display) -> Ident {
        Ident::new(&format!("{}{tail}", self.prefix), Span::mixed_site())
    }

    /// The variable holding a node's value (a parameter's own name).
    fn var(&self, id: NodeId) -> Ident {
        match self.g.op(id) {
            Op::Param(k) => param_ident(&self.g.params[*k].ident.unraw().to_string()),
            _ => self.name(id.index()),
        }
    }

    fn float(&self) -> TokenStream {
        match &self.g.generic {
            Some(t) => t.to_token_stream(),
            None => Ident::new(self.g.float.name(), Span::call_site()).into_token_stream(),
        }
    }

    /// A float literal of the function's type, as an operand.
    fn literal(&self, value: f64) -> TokenStream {
        let float = self.float();
        if self.g.generic.is_some() {
            return match value {
                0.0 if value.is_sign_positive() => quote!(#float::zero()),
                1.0 => quote!(#float::one()),
                _ if value.is_nan() => quote!(#float::nan()),
                _ => {
                    let text = format!("{value:?}").replace("inf", "1e999");
                    let literal = syn::LitFloat::new(&text, Span::call_site());
                    quote!(<#float as ::chainrule::Real>::from_f64(#literal))
                }
            };
        }
        if value.is_nan() {
            return quote!(#float::NAN);
        }
        if value.is_infinite() {
            return if value > 0.0 {
                quote!(#float::INFINITY)
            } else {
                quote!(#float::NEG_INFINITY)
            };
        }
        let magnitude = value.abs();
        let text = match self.g.float {
            FloatType::F32 => format!("{:?}_f32", magnitude as f32),
            _ => format!("{magnitude:?}_f64"),
        };
        let literal = syn::LitFloat::new(&text, Span::call_site());
        if value.is_sign_negative() {
            quote!((-#literal))
        } else {
            literal.into_token_stream()
        }
    }

    /// A user's path, as the generated module reads it.
    fn path(&self, index: usize) -> TokenStream {
        let path = &self.g.named[index];
        if path.leading_colon.is_none() {
            self.uses_user_paths.set(true);
        }
        match path.segments.first() {
            Some(first) if path.leading_colon.is_none() && first.ident == "self" => {
                let rest = path.segments.iter().skip(1);
                quote!(super #(:: #rest)*)
            }
            Some(first) if path.leading_colon.is_none() && first.ident == "super" => quote!(super::#path),
            _ => path.into_token_stream(),
        }
    }

    fn len(&self, len: &Len) -> TokenStream {
        len_tokens(len, &|index| self.path(index))
    }

    /// A value as an operand: a constant written out, else its variable (cloned where it
    /// is used by value and is not `Copy`).
    fn operand(&self, id: NodeId, by_value: bool) -> TokenStream {
        let g = self.g;
        if g.is_free(id) {
            return self.free(id);
        }
        if g.op(id) == &Op::ZerosLike {
            // Written where it is used, so that its type is inferred there (a callee's
            // empty cache in the branch that does not call it).
            return self.expression(id);
        }
        let var = self.var(id);
        if by_value && !is_copy(g.ty(id)) && !matches!(g.op(id), Op::Param(_)) {
            quote!(#var.clone())
        } else {
            var.into_token_stream()
        }
    }

    /// A value fixed at compile time (or by the user's constants), in parentheses where
    /// it is not one token.
    fn free(&self, id: NodeId) -> TokenStream {
        let g = self.g;
        let args = g.args(id);
        match g.op(id) {
            Op::Const(bits) => self.literal(f64::from_bits(*bits)),
            Op::Named(index) => {
                let path = self.path(*index);
                match &g.generic {
                    Some(t) => quote!(<#t as ::chainrule::Real>::from_f64(#path)),
                    None => path,
                }
            }
            Op::Int { named, offset } => {
                let magnitude = proc_macro2::Literal::u64_unsuffixed(offset.unsigned_abs());
                match (named, *offset) {
                    (None, k) if k < 0 => quote!((-#magnitude)),
                    (None, _) => magnitude.into_token_stream(),
                    (Some(index), 0) => self.path(*index),
                    (Some(index), k) => {
                        let path = self.path(*index);
                        if k < 0 {
                            quote!((#path - #magnitude))
                        } else {
                            quote!((#path + #magnitude))
                        }
                    }
                }
            }
            Op::Bool(value) => quote!(#value),
            _ => {
                let expression = self.expression(id);
                let _ = args;
                quote!((#expression))
            }
        }
    }

    fn zero(&self, ty: &Ty, like: Option<NodeId>) -> TokenStream {
        match ty {
            Ty::Float => self.literal(0.0),
            Ty::Int(_) => quote!(0),
            Ty::Bool => quote!(false),
            Ty::Unit => quote!(()),
            // Functions over ndarray arrays get no trace (an error when reading them).
            Ty::Opaque(_) | Ty::Tensor { .. } => quote!(::core::default::Default::default()),
            Ty::Array(element, Len::Runtime) => {
                let zero = self.zero(element, None);
                match like {
                    Some(like) => {
                        let like = self.operand(like, false);
                        quote!(::std::vec![#zero; #like.len()])
                    }
                    None => quote!(::std::vec::Vec::new()),
                }
            }
            Ty::Array(element, len) => {
                let zero = self.zero(element, None);
                let len = self.len(len);
                if is_copy(element) {
                    quote!([#zero; #len])
                } else {
                    quote!(::core::array::from_fn::<_, #len, _>(|_| #zero))
                }
            }
        }
    }

    /// The statements of a region, in evaluation order.
    fn region(&self, region: RegionId) -> TokenStream {
        let mut out = TokenStream::new();
        for &id in &self.by_region[region.index()] {
            out.extend(self.statement(id));
        }
        out
    }

    /// Records the value of a node the picture shows.
    fn record_value(&self, id: NodeId) -> TokenStream {
        let Some(slot) = self.picture.slot(id) else {
            return TokenStream::new();
        };
        if self.picture.nodes[slot].node != id {
            return TokenStream::new(); // shown as another node (a call's value, a cast)
        }
        let recorder = &self.recorder;
        let value = self.reference(id);
        let slot = Int(slot);
        quote!(#recorder.value(#slot, #value);)
    }

    /// A reference to a value, for recording it (a reference parameter is one already).
    fn reference(&self, id: NodeId) -> TokenStream {
        let value = self.operand(id, false);
        match self.g.op(id) {
            Op::Param(k) if self.g.params[*k].passing.is_reference() => value,
            _ => quote!(&#value),
        }
    }

    /// The gradient records of a backward region, and the edges it freezes.
    fn records_of(&self, region: RegionId) -> TokenStream {
        let recorder = &self.recorder;
        let mut out = TokenStream::new();
        for &(e, r) in self.records.get(&region).map(Vec::as_slice).unwrap_or(&[]) {
            let record = &self.adjoints.edges[r];
            let value = self.operand(record.value, false);
            let e = Int(e);
            if record.indices.is_empty() {
                out.extend(quote!(#recorder.grad(#e, &#value);));
            } else {
                let indices = record.indices.iter().map(|&i| {
                    let i = self.operand(i, false);
                    quote!(#i as usize)
                });
                out.extend(quote!(#recorder.grad_at(#e, &[#(#indices),*], &#value);));
            }
        }
        out
    }

    fn statement(&self, id: NodeId) -> TokenStream {
        let g = self.g;
        match g.op(id) {
            Op::Param(_)
            | Op::Project(_)
            | Op::Stacked(_)
            | Op::RegionParam(_)
            | Op::LoopIndex
            | Op::Const(_)
            | Op::Named(_)
            | Op::Int { .. }
            | Op::Bool(_) => TokenStream::new(),
            _ if g.is_free(id) => TokenStream::new(),
            Op::ZerosLike if self.picture.slot(id).is_none() => TokenStream::new(),
            Op::Branch { then, otherwise } => self.branch(id, *then, *otherwise),
            Op::Loop { body, rev } => self.for_loop(id, *body, *rev),
            Op::While { cond, body } => self.while_loop(id, *cond, *body),
            Op::Call {
                callee,
                by_ref,
                deref,
            } => self.call(id, *callee, *by_ref, *deref),
            Op::CallBackward { callee, arity } => self.call_backward(id, *callee, *arity),
            Op::Upstream => {
                let var = self.var(id);
                let float = self.float();
                let one = self.literal(1.0);
                quote!(let #var: #float = #one;)
            }
            _ => {
                let var = self.var(id);
                let value = self.expression(id);
                let record = self.record_value(id);
                quote!(let #var = #value; #record)
            }
        }
    }

    /// What a node computes, its operands as [`Tracer::operand`]s.
    fn expression(&self, id: NodeId) -> TokenStream {
        let g = self.g;
        let args = g.args(id);
        let value = |k: usize| self.operand(args[k], true);
        let by_ref = |k: usize| self.operand(args[k], false);
        match g.op(id) {
            Op::Prim(Prim::Add) if matches!(g.ty(id), Ty::Array(..)) => {
                let (a, b) = (value(0), value(1));
                quote!(::chainrule::__private::add(#a, #b))
            }
            Op::Prim(prim) => {
                written(prim.rule(), |k, place| match place {
                    // A literal receiver in parentheses: `(2.0).exp()` has its type.
                    Place::Receiver if g.is_free(args[k]) => {
                        let receiver = value(k);
                        quote!((#receiver))
                    }
                    _ => value(k),
                })
                .tokens
            }
            Op::IntBin(op) if op.is_method() => {
                let method = Ident::new(op.symbol(), Span::call_site());
                let (a, b) = (value(0), value(1));
                match g.ty(id) {
                    Ty::Int(Some(name)) => {
                        let ty = Ident::new(name, Span::call_site());
                        quote!(#ty::#method(#a, #b))
                    }
                    _ => quote!(#a.#method(#b)),
                }
            }
            Op::IntBin(op) => {
                let symbol = operator(op.symbol());
                let (a, b) = (value(0), value(1));
                quote!(#a #symbol #b)
            }
            Op::IntCast(name) => {
                let a = value(0);
                let ty = Ident::new(name, Span::call_site());
                quote!(#a as #ty)
            }
            Op::IntToFloat => {
                let a = value(0);
                match &g.generic {
                    Some(t) => quote!(<#t as ::chainrule::Real>::from_f64(#a as f64)),
                    None => {
                        let float = self.float();
                        quote!(#a as #float)
                    }
                }
            }
            Op::Compare(cmp) => {
                let symbol = operator(cmp.symbol());
                let (a, b) = (value(0), value(1));
                quote!(#a #symbol #b)
            }
            Op::Select(cmp) => {
                let symbol = operator(cmp.symbol());
                let (a, b, then, otherwise) = (value(0), value(1), value(2), value(3));
                quote!(if #a #symbol #b { #then } else { #otherwise })
            }
            Op::And => {
                let (a, b) = (value(0), value(1));
                quote!(#a && #b)
            }
            Op::Or => {
                let (a, b) = (value(0), value(1));
                quote!(#a || #b)
            }
            Op::Not => {
                let a = value(0);
                quote!(!#a)
            }
            Op::ArrayLit => {
                let elements = (0..args.len()).map(value);
                quote!([#(#elements),*])
            }
            Op::ArrayRepeat(len) => {
                let element = value(0);
                let len = self.len(len);
                quote!([#element; #len])
            }
            Op::Index => {
                let array = by_ref(0);
                let indices = args[1..].iter().map(|&i| self.operand(i, false));
                if is_copy(g.ty(id)) {
                    quote!(#array #([#indices])*)
                } else {
                    quote!(#array #([#indices])*.clone())
                }
            }
            Op::Update | Op::AddAt => {
                let array = by_ref(0);
                let element = value(1);
                let indices = args[2..].iter().map(|&i| self.operand(i, false));
                let copy = self.name("u");
                let place = quote!(#copy #([#indices])*);
                let statement = match g.op(id) {
                    Op::Update => quote!(#place = #element;),
                    _ if g.ty(args[1]) == &Ty::Float => quote!(#place += #element;),
                    _ => quote!(::chainrule::__private::add_assign(&mut #place, #element);),
                };
                let owned = match g.op(args[0]) {
                    Op::Param(k) if g.params[*k].passing.is_reference() => match g.ty(args[0]) {
                        Ty::Array(_, Len::Runtime) => quote!(#array.to_vec()),
                        _ => quote!(*#array),
                    },
                    _ => quote!(::core::clone::Clone::clone(&#array)),
                };
                quote!({ let mut #copy = #owned; #statement #copy })
            }
            Op::ZerosLike => self.zero(g.ty(id), args.first().copied()),
            Op::Len => {
                let array = by_ref(0);
                quote!(#array.len())
            }
            Op::Sum => {
                let array = by_ref(0);
                let zero = self.literal(0.0);
                let (sum, x) = (self.name("s"), self.name("x"));
                quote!(#array.iter().fold(#zero, |#sum, &#x| #sum + #x))
            }
            Op::Const(_) | Op::Named(_) | Op::Int { .. } | Op::Bool(_) => self.free(id),
            Op::Param(_)
            | Op::Upstream
            | Op::RegionParam(_)
            | Op::LoopIndex
            | Op::Project(_)
            | Op::Stacked(_) => self.var(id).into_token_stream(),
            Op::Branch { .. }
            | Op::Loop { .. }
            | Op::While { .. }
            | Op::Call { .. }
            | Op::CallBackward { .. } => {
                quote!(())
            }
            // Functions over ndarray arrays get no trace (an error when reading them).
            Op::Tensor(_) => quote!(()),
        }
    }

    fn sorted_slots(&self, node: NodeId) -> Vec<usize> {
        crate::analysis::sorted_slots(&self.live_slots, node)
    }

    fn project(&self, node: NodeId, k: usize) -> Option<NodeId> {
        self.projects.get(&(node, k)).copied()
    }

    /// `let (a, b) = if cond { …; (a1, b1) } else { …; (a2, b2) };`
    fn branch(&self, node: NodeId, then: RegionId, otherwise: RegionId) -> TokenStream {
        let g = self.g;
        let slots = self.sorted_slots(node);
        let cond = self.operand(g.args(node)[0], false);
        let side = |region: RegionId| {
            let recorder = &self.recorder;
            let taken = self.picture.cluster_slot.get(&region).map(|&slot| {
                let slot = Int(slot);
                quote!(#recorder.taken(#slot);)
            });
            let statements = self.region(region);
            let records = self.records_of(region);
            let values: Vec<TokenStream> = slots
                .iter()
                .map(|&k| match g.region(region).yields.get(k) {
                    Some(&y) => self.operand(y, true),
                    None => quote!(()),
                })
                .collect();
            let value = tuple(&values);
            quote!({ #taken #statements #records #value })
        };
        let (then, otherwise) = (side(then), side(otherwise));
        let outputs: Vec<TokenStream> = slots
            .iter()
            .map(|&k| match self.project(node, k) {
                Some(p) => self.var(p).into_token_stream(),
                None => quote!(_),
            })
            .collect();
        let pattern = tuple(&outputs);
        let records: TokenStream = slots
            .iter()
            .filter_map(|&k| self.project(node, k))
            .map(|p| self.record_value(p))
            .collect();
        quote! {
            let #pattern = if #cond #then else #otherwise;
            #records
        }
    }

    /// The start of a forward loop body's iteration: its old values cleared, its
    /// iteration counted.
    fn iteration_start(&self, body: RegionId) -> (TokenStream, TokenStream) {
        let recorder = &self.recorder;
        match self.picture.cluster_slot.get(&body) {
            Some(&slot) => {
                let clear: Vec<Int> = self
                    .clear
                    .get(&body)
                    .into_iter()
                    .flatten()
                    .map(|&s| Int(s))
                    .collect();
                let slot = Int(slot);
                (
                    quote!(#recorder.reset(#slot);),
                    quote!(#recorder.clear(&[#(#clear),*]); #recorder.count(#slot);),
                )
            }
            None => (TokenStream::new(), TokenStream::new()),
        }
    }

    fn freeze(&self, body: RegionId) -> TokenStream {
        let recorder = &self.recorder;
        match self.freeze.get(&body) {
            Some(edges) if !edges.is_empty() => {
                let edges = edges.iter().map(|&e| Int(e));
                quote!(#recorder.freeze(&[#(#edges),*]);)
            }
            _ => TokenStream::new(),
        }
    }

    /// The carried variables of a loop: declarations, the binding of each iteration's
    /// parameters, the assignment of the next values, and the values after the loop.
    fn carried(&self, node: NodeId, regions: &[RegionId], body: RegionId, inits: &[NodeId]) -> Carried {
        let g = self.g;
        let mut carried = Carried::default();
        for k in self.sorted_slots(node) {
            if k >= inits.len() {
                continue;
            }
            let variable = self.name(format_args!("c{}_{k}", node.index()));
            let init = self.operand(inits[k], true);
            carried.declarations.extend(quote!(let mut #variable = #init;));
            for &region in regions {
                let Some(&param) = g.region(region).params.get(k) else {
                    continue;
                };
                if self.live[param.index()] {
                    let var = self.var(param);
                    let clone = (!is_copy(g.ty(param))).then(|| quote!(.clone()));
                    let record = self.record_value(param);
                    let binding = quote!(let #var = #variable #clone; #record);
                    if region == body {
                        carried.body.extend(binding);
                    } else {
                        carried.cond.extend(binding);
                    }
                }
            }
            if let Some(&next) = g.region(body).yields.get(k) {
                let next = self.operand(next, true);
                carried.assignments.extend(quote!(#variable = #next;));
            }
            if let Some(out) = self.project(node, k) {
                let var = self.var(out);
                let record = self.record_value(out);
                carried.after.extend(quote!(let #var = #variable; #record));
            }
        }
        carried
    }

    /// The per-iteration stacks of a loop: declarations, and the saves at the end of
    /// each iteration (at `position`, or pushed).
    fn stacks(
        &self,
        node: NodeId,
        body: RegionId,
        position: Option<&TokenStream>,
    ) -> (TokenStream, TokenStream) {
        let g = self.g;
        let mut declarations = TokenStream::new();
        let mut saves = TokenStream::new();
        for &stack in self.stacks.get(&node).map(Vec::as_slice).unwrap_or(&[]) {
            let Op::Stacked(k) = g.op(stack) else { continue };
            let Some(&saved) = g.region(body).stacked.get(*k) else {
                continue;
            };
            let var = self.var(stack);
            let value = self.operand(saved, true);
            match position {
                Some(position) => {
                    let (start, end) = (g.args(node)[0], g.args(node)[1]);
                    let (start, end) = (self.operand(start, false), self.operand(end, false));
                    let count = trip_count(g, node, &start, &end);
                    let zero = self.zero(g.ty(saved), None);
                    // As `grad` keeps it: an array where the trip count is known.
                    let init = match g.ty(stack) {
                        ty @ Ty::Array(_, Len::Lit(_) | Len::Named(_)) => self.zero(ty, None),
                        _ => quote!(::std::vec![#zero; #count]),
                    };
                    declarations.extend(quote!(let mut #var = #init;));
                    saves.extend(quote!(#var[#position] = #value;));
                }
                None => {
                    declarations.extend(quote!(let mut #var = ::std::vec::Vec::new();));
                    saves.extend(quote!(#var.push(#value);));
                }
            }
        }
        (declarations, saves)
    }

    /// `for i in start..end { … }` (or `.rev()`).
    fn for_loop(&self, node: NodeId, body: RegionId, rev: bool) -> TokenStream {
        let g = self.g;
        let args = g.args(node);
        let carried = self.carried(node, &[body], body, &args[2..]);
        let index = g.region(body).index.filter(|i| self.live[i.index()]);
        let index_var = match index {
            Some(i) => self.var(i).into_token_stream(),
            None => quote!(_),
        };
        let (start, end) = (self.operand(args[0], false), self.operand(args[1], false));
        let position = match index {
            Some(i) => stack_position(g, node, &self.var(i), &start),
            None => quote!(0),
        };
        let (stack_declarations, saves) = self.stacks(node, body, Some(&position));
        let (before, start_iteration) = self.iteration_start(body);
        let index_record = index.map(|i| self.record_value(i));
        let statements = self.region(body);
        let records = self.records_of(body);
        let freeze = self.freeze(body);
        let range = if rev {
            quote!((#start..#end).rev())
        } else {
            quote!(#start..#end)
        };
        let Carried {
            declarations,
            body: bindings,
            assignments,
            after,
            ..
        } = carried;
        quote! {
            #declarations
            #stack_declarations
            #before
            for #index_var in #range {
                #start_iteration
                #index_record
                #bindings
                #statements
                #saves
                #records
                #freeze
                #assignments
            }
            #after
        }
    }

    /// `while cond { … }`, counting its iterations.
    fn while_loop(&self, node: NodeId, cond: RegionId, body: RegionId) -> TokenStream {
        let g = self.g;
        let params = g.region(body).params.len();
        let carried = self.carried(node, &[cond, body], body, g.args(node));
        let counter = self.name(format_args!("n{}", node.index()));
        let index = g.region(body).index.filter(|i| self.live[i.index()]);
        let index_binding = index.map(|i| {
            let var = self.var(i);
            let record = self.record_value(i);
            quote!(let #var = #counter; #record)
        });
        let count = self.project(node, params).map(|c| {
            let var = self.var(c);
            quote!(let #var = #counter;)
        });
        let (stack_declarations, saves) = self.stacks(node, body, None);
        let (before, start_iteration) = self.iteration_start(body);
        let cond_statements = self.region(cond);
        let cond_value = g
            .region(cond)
            .yields
            .first()
            .map(|&c| self.operand(c, false))
            .unwrap_or(quote!(false));
        let statements = self.region(body);
        let records = self.records_of(body);
        let Carried {
            declarations,
            body: bindings,
            cond: cond_bindings,
            assignments,
            after,
        } = carried;
        quote! {
            #declarations
            #stack_declarations
            let mut #counter: usize = 0;
            #before
            while { #cond_bindings #cond_statements #cond_value } {
                #start_iteration
                #index_binding
                #bindings
                #statements
                #saves
                #records
                #assignments
                #counter += 1;
            }
            #after
            #count
        }
    }

    /// `let (y, y_cache) = g::forward(a, &b);`
    fn call(&self, node: NodeId, callee: usize, by_ref: u64, deref: u64) -> TokenStream {
        let g = self.g;
        let path = self.path(callee);
        let args = g.args(node).iter().enumerate().map(|(k, &a)| {
            if k < 64 && by_ref & (1 << k) != 0 {
                let value = self.operand(a, false);
                quote!(&#value)
            } else if k < 64 && deref & (1 << k) != 0 {
                // `*w` in the source: the array, whether `w` is a reference or a copy here
                // (`clone` of a `&[f64; N]` is the array).
                let value = self.operand(a, false);
                quote!(#value.clone())
            } else {
                self.operand(a, true)
            }
        });
        let output = |k: usize| match self.project(node, k) {
            Some(p) => self.var(p).into_token_stream(),
            None => quote!(_),
        };
        let (value, cache) = (output(0), output(1));
        let record = self.project(node, 0).map(|p| self.record_value(p));
        quote! {
            let (#value, #cache) = #path::forward(#(#args),*);
            #record
        }
    }

    /// `let (d_a, _) = g::__vjp(&g_cache, d_y);`
    fn call_backward(&self, node: NodeId, callee: usize, arity: usize) -> TokenStream {
        let g = self.g;
        let path = self.path(callee);
        let cache = self.operand(g.args(node)[0], false);
        let upstream = self.operand(g.args(node)[1], true);
        let outputs: Vec<Option<Ident>> = (0..arity)
            .map(|k| self.project(node, k).map(|o| self.var(o)))
            .collect();
        call_backward_tokens(g, node, &path, &cache, &upstream, &outputs)
    }
}

#[derive(Default)]
struct Carried {
    declarations: TokenStream,
    body: TokenStream,
    cond: TokenStream,
    assignments: TokenStream,
    after: TokenStream,
}
