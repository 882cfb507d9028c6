//! `f::trace(args…)`: generated code that evaluates the function once and writes the
//! picture of its graph annotated as in the lecture — each edge's forward value, and the
//! gradient flowing back along it (upstream 1).
//!
//! It is `grad`'s code, written by the code back end with this one's hooks in it
//! ([`Hooks`]): so its numbers are `grad`'s bit for bit, and its variables have `grad`'s
//! names. With the hooks, every value the picture shows is computed and named, and no array
//! is updated in place. After each value the picture shows it records it, and after each
//! gradient contribution it records that on its edge (`chainrule::__private::dot::Trace`).
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

use crate::back::code::{hooked, Hooks};
use crate::back::dot::Picture;
use crate::ir::Function;
use crate::ir::{Graph, NodeId, Op, RegionId};
use crate::reverse::Adjoints;

/// The body of `f::trace` (its statements and the final `finish()`), and whether it
/// names the user's items (constants, functions) through `use super::*`.
pub struct TraceBody {
    pub body: TokenStream,
    /// The parameters, declared as the body names them (`x: f64`).
    pub signature: Vec<TokenStream>,
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

    let clear = loop_clears(g, picture);

    let recording = Recording {
        g,
        picture,
        adjoints,
        records,
        freeze,
        clear,
        recorder: recorder.clone(),
        roots,
    };
    let code = hooked(function, adjoints, backward_top, &recording);

    // Inputs first (their values), then the forward pass, then the backward pass.
    let mut body = TokenStream::new();
    let slots = Int(picture.slots);
    let edges = Int(picture.edges.len());
    body.extend(code.bindings);
    body.extend(quote! {
        let mut #recorder = ::chainrule::__private::dot::Trace::new(#template, #slots, #edges);
    });
    for (slot, node) in picture.nodes.iter().enumerate() {
        if let Some(value) = code.values.get(&node.node) {
            let value = recording.reference(node.node, value.clone());
            let slot = Int(slot);
            body.extend(quote!(#recorder.value(#slot, #value);));
        }
    }
    body.extend(code.forward);
    if let Some(e) = picture
        .edges
        .iter()
        .position(|e| e.kind == crate::back::dot::EdgeKind::Output)
    {
        let (e, one) = (Int(e), &code.one);
        body.extend(quote!(#recorder.grad(#e, &#one);));
    }
    body.extend(code.backward);
    for (param, gradient) in g.params.iter().zip(&code.gradients) {
        let Some(slot) = picture.slot(param.node) else {
            continue;
        };
        if !param.wrt || !g.ty(param.node).is_differentiable() {
            continue;
        }
        let slot = Int(slot);
        body.extend(quote!(#recorder.input(#slot, &#gradient);));
    }
    body.extend(quote!(#recorder.finish()));
    TraceBody {
        body,
        signature: code.signature,
        uses_user_paths: code.uses_named,
    }
}

/// What `trace` records, at the points of the code where the code back end has the values
/// ([`Hooks`]).
struct Recording<'f> {
    g: &'f Graph,
    picture: &'f Picture,
    adjoints: &'f Adjoints,
    /// By backward region, the (edge, record) pairs to write there.
    records: HashMap<RegionId, Vec<(usize, usize)>>,
    /// By reversed loop body, the edges to freeze after each iteration.
    freeze: HashMap<RegionId, Vec<usize>>,
    /// By forward loop body, the slots to clear at the start of an iteration.
    clear: HashMap<RegionId, Vec<usize>>,
    recorder: Ident,
    roots: Vec<NodeId>,
}

impl Recording<'_> {
    /// A reference to a value, for recording it (a reference parameter is one already).
    fn reference(&self, id: NodeId, value: TokenStream) -> TokenStream {
        match self.g.op(id) {
            Op::Param(k) if self.g.params[*k].passing.is_reference() => value,
            _ => quote!(&#value),
        }
    }

    fn is_loop_body(&self, region: RegionId) -> bool {
        self.g
            .region(region)
            .owner
            .is_some_and(|owner| self.g.body_of(owner) == Some(region))
    }
}

impl Hooks for Recording<'_> {
    fn roots(&self) -> Vec<NodeId> {
        self.roots.clone()
    }

    /// Records the value of a node the picture shows.
    fn value(&self, id: NodeId, print: &dyn Fn(NodeId) -> TokenStream) -> TokenStream {
        let Some(slot) = self.picture.slot(id) else {
            return TokenStream::new();
        };
        if self.picture.nodes[slot].node != id {
            return TokenStream::new(); // shown as another node (a call's value, a cast)
        }
        let recorder = &self.recorder;
        let value = self.reference(id, print(id));
        let slot = Int(slot);
        quote!(#recorder.value(#slot, #value);)
    }

    /// A branch's side: that it was taken. A forward loop body's iteration: its old values
    /// cleared, the iteration counted.
    fn enter(&self, region: RegionId) -> TokenStream {
        let recorder = &self.recorder;
        let Some(&slot) = self.picture.cluster_slot.get(&region) else {
            return TokenStream::new();
        };
        let slot = Int(slot);
        if self.is_loop_body(region) {
            let clear = self.clear.get(&region).into_iter().flatten().map(|&s| Int(s));
            quote!(#recorder.clear(&[#(#clear),*]); #recorder.count(#slot);)
        } else {
            quote!(#recorder.taken(#slot);)
        }
    }

    fn before_loop(&self, body: RegionId) -> TokenStream {
        let recorder = &self.recorder;
        match self.picture.cluster_slot.get(&body) {
            Some(&slot) => {
                let slot = Int(slot);
                quote!(#recorder.reset(#slot);)
            }
            None => TokenStream::new(),
        }
    }

    /// The gradient records of a backward region, and the edges it freezes.
    fn leave(&self, region: RegionId, print: &dyn Fn(NodeId) -> TokenStream) -> TokenStream {
        let recorder = &self.recorder;
        let mut out = TokenStream::new();
        for &(e, r) in self.records.get(&region).map(Vec::as_slice).unwrap_or(&[]) {
            let record = &self.adjoints.edges[r];
            let value = print(record.value);
            let e = Int(e);
            if record.indices.is_empty() {
                out.extend(quote!(#recorder.grad(#e, &#value);));
            } else {
                let indices = record.indices.iter().map(|&i| {
                    let i = print(i);
                    quote!(#i as usize)
                });
                out.extend(quote!(#recorder.grad_at(#e, &[#(#indices),*], &#value);));
            }
        }
        if let Some(edges) = self.freeze.get(&region).filter(|edges| !edges.is_empty()) {
            let edges = edges.iter().map(|&e| Int(e));
            out.extend(quote!(#recorder.freeze(&[#(#edges),*]);));
        }
        out
    }
}

/// Per forward loop body: the slots to clear at the start of an iteration (the nodes and
/// the clusters inside it, at any depth).
fn loop_clears(g: &Graph, picture: &Picture) -> HashMap<RegionId, Vec<usize>> {
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
    clear
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
    let signature = g
        .params
        .iter()
        .zip(&params)
        .map(|(param, ident)| {
            let ty = &param.written;
            quote!(#ident: #ty)
        })
        .collect();
    TraceBody {
        body,
        signature,
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

/// `f::trace_jvp(args…, tangent)`: forward mode's picture — each edge with the value its
/// source computes (green) and that value's tangent (blue), the directional derivative
/// along `tangent` that forward mode carries beside it. It is `jvp`'s code with the recording
/// in it: its numbers are `jvp`'s bit for bit.
pub fn tangent_trace_body(
    function: &Function,
    tangents: crate::forward::Tangents,
    picture: &Picture,
    template: &TokenStream,
) -> TraceBody {
    let old = &function.graph;
    let prefix = internal_prefix(old);
    let recorder = Ident::new(&prefix, Span::mixed_site());
    let crate::forward::Tangents {
        graph,
        value,
        tangent,
        of_param,
        copies,
        tangents,
        regions,
    } = tangents;
    let region_of: HashMap<RegionId, RegionId> = regions.iter().copied().collect();
    let forward_mode = crate::back::code::jvp::rebuilt(function, graph, value);
    let g = &forward_mode.graph;
    let mut value_slot: HashMap<NodeId, usize> = HashMap::new();
    let mut tangent_slot: HashMap<NodeId, Vec<usize>> = HashMap::new();
    let mut roots = vec![value, tangent];
    for (slot, shown) in picture.nodes.iter().enumerate() {
        if let Some(copy) = copies.get(shown.node.index()).copied().flatten() {
            value_slot.entry(copy).or_insert(slot);
            roots.push(copy);
        }
        if let Some(t) = tangents.get(shown.node.index()).copied().flatten() {
            tangent_slot.entry(t).or_default().push(slot);
            roots.push(t);
        }
    }
    let cluster_slot: HashMap<RegionId, usize> = picture
        .cluster_slot
        .iter()
        .filter_map(|(region, &slot)| Some((*region_of.get(region)?, slot)))
        .collect();
    let clear: HashMap<RegionId, Vec<usize>> = loop_clears(old, picture)
        .into_iter()
        .filter_map(|(region, slots)| Some((*region_of.get(&region)?, slots)))
        .collect();
    // The loops and branches the values shown are inside.
    let mut owners = Vec::new();
    for &root in &roots {
        let mut region = Some(g.region_of(root));
        while let Some(r) = region {
            owners.extend(g.region(r).owner);
            region = g.region(r).parent;
        }
    }
    roots.extend(owners);
    let recording = TangentRecording {
        g,
        value_slot,
        tangent_slot,
        cluster_slot,
        clear,
        recorder: recorder.clone(),
        roots,
    };
    let code = crate::back::code::jvp::hooked_forward(&forward_mode, &of_param, tangent, &recording);
    let slots = Int(picture.slots);
    let edges = Int(picture.edges.len());
    let mut body = code.bindings;
    body.extend(quote! {
        let mut #recorder = ::chainrule::__private::dot::Trace::forward(#template, #slots, #edges);
    });
    for (node, ident) in &code.params {
        let reference = match g.op(*node) {
            Op::Param(k) if g.params[*k].passing.is_reference() => ident.clone(),
            _ => quote!(&#ident),
        };
        if let Some(&slot) = recording.value_slot.get(node) {
            let slot = Int(slot);
            body.extend(quote!(#recorder.value(#slot, #reference);));
        }
        for &slot in recording.tangent_slot.get(node).map(Vec::as_slice).unwrap_or(&[]) {
            let slot = Int(slot);
            body.extend(quote!(#recorder.tangent(#slot, #reference);));
        }
    }
    body.extend(code.body);
    // The result's tangent (zero where it depends on no parameter along `tangent`).
    if let Some(edge) = picture
        .edges
        .iter()
        .find(|e| e.kind == crate::back::dot::EdgeKind::Output)
    {
        let (slot, result) = (Int(edge.value), &code.tangent);
        body.extend(quote!(#recorder.tangent(#slot, &#result);));
    }
    body.extend(quote!(#recorder.finish()));
    let mut signature = code.signature;
    let grad = match &g.generic {
        Some(t) => quote!(Grad<#t>),
        None => quote!(Grad),
    };
    signature.push(quote!(tangent: #grad));
    TraceBody {
        body,
        signature,
        uses_user_paths: code.uses_named,
    }
}

/// What `trace_jvp` records: each value shown and its tangent.
struct TangentRecording<'f> {
    g: &'f Graph,
    /// The slot of each (rebuilt) node shown, and the slots whose tangent each node is.
    value_slot: HashMap<NodeId, usize>,
    tangent_slot: HashMap<NodeId, Vec<usize>>,
    cluster_slot: HashMap<RegionId, usize>,
    clear: HashMap<RegionId, Vec<usize>>,
    recorder: Ident,
    roots: Vec<NodeId>,
}

impl Hooks for TangentRecording<'_> {
    fn roots(&self) -> Vec<NodeId> {
        self.roots.clone()
    }

    fn value(&self, id: NodeId, print: &dyn Fn(NodeId) -> TokenStream) -> TokenStream {
        if matches!(self.g.op(id), Op::Param(_)) {
            return TokenStream::new(); // (recorded before the body)
        }
        let recorder = &self.recorder;
        let mut out = TokenStream::new();
        let value = print(id);
        if let Some(&slot) = self.value_slot.get(&id) {
            let slot = Int(slot);
            out.extend(quote!(#recorder.value(#slot, &#value);));
        }
        for &slot in self.tangent_slot.get(&id).map(Vec::as_slice).unwrap_or(&[]) {
            let slot = Int(slot);
            out.extend(quote!(#recorder.tangent(#slot, &#value);));
        }
        out
    }

    fn enter(&self, region: RegionId) -> TokenStream {
        let recorder = &self.recorder;
        let Some(&slot) = self.cluster_slot.get(&region) else {
            return TokenStream::new();
        };
        let slot = Int(slot);
        let loop_body = self
            .g
            .region(region)
            .owner
            .is_some_and(|owner| self.g.body_of(owner) == Some(region));
        if loop_body {
            let clear = self.clear.get(&region).into_iter().flatten().map(|&s| Int(s));
            quote!(#recorder.clear(&[#(#clear),*]); #recorder.count(#slot);)
        } else {
            quote!(#recorder.taken(#slot);)
        }
    }

    fn before_loop(&self, body: RegionId) -> TokenStream {
        let recorder = &self.recorder;
        match self.cluster_slot.get(&body) {
            Some(&slot) => {
                let slot = Int(slot);
                quote!(#recorder.reset(#slot);)
            }
            None => TokenStream::new(),
        }
    }

    fn leave(&self, _: RegionId, _: &dyn Fn(NodeId) -> TokenStream) -> TokenStream {
        TokenStream::new()
    }
}
