//! The computational graph as a picture: Graphviz DOT, drawn as in the lecture (left to
//! right, inputs as boxes on the left, one node per operation, the output on the right).
//!
//! What is drawn is the IR's forward graph, as the generated code computes it (after
//! simplification: a written-out sigmoid is one σ node). Each node of the picture is one
//! operation, labelled with the user's name where it has one (`q = x + y`); constants are
//! written into the labels of the operations that use them (`2 · x`), not drawn as
//! nodes. An `if` is drawn as one cluster per branch, its values merged after it
//! (trapezium nodes); a loop as a cluster holding its body once, its carried variables
//! entering from their initial values and going round by dashed edges.
//!
//! The text is a template: it has holes (`§` kind index `¤`) where `f::trace`
//! writes one evaluation's numbers — an edge's value and gradient, a node's exact value,
//! a loop's iteration count, whether a branch was taken — and `f::graph` writes nothing.
//! The runtime side (`chainrule::__private::dot`) fills them.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::ext::IdentExt;

use crate::back::math::Math;
use crate::ir::Function;
use crate::ir::{Graph, NodeId, Op, RegionId};

/// Where `f::trace` writes its numbers into the template: `HOLE` kind index [`:` more]
/// `HOLE_END`, as the runtime that fills them defines them.
pub use chainrule_core::__private::dot::{HOLE, HOLE_END};

/// How a node is drawn.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// A parameter the gradient is taken with respect to.
    Input,
    /// A parameter without a gradient (an integer, or not in `wrt`).
    Data,
    /// An operation on floats.
    Operation,
    /// An operation on integers or bools (indices, lengths, conditions): no gradient.
    Integer,
    /// The value of an `if`, merged from its branches.
    Merge,
    /// A loop's carried variable, at the start of an iteration.
    Carried,
    /// A loop's carried variable after the loop.
    LoopOutput,
    /// A loop's index.
    Index,
    /// A call of another differentiated function.
    Call,
    /// A constant that is the function's value.
    Constant,
}

/// A node of the picture.
#[derive(Debug)]
pub struct Shown {
    /// The IR node whose value it shows.
    pub node: NodeId,
    pub label: String,
    pub kind: Kind,
    pub region: RegionId,
    pub output: bool,
}

/// What an edge is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum EdgeKind {
    /// A value flowing into an operation.
    Data,
    /// A loop's carried value going round to the next iteration.
    Back,
    /// An `if`'s condition choosing its value.
    Condition,
    /// The function's value.
    Output,
}

/// An edge of the picture.
#[derive(Debug)]
pub struct Edge {
    /// Slots (indices into [`Picture::nodes`]); `None` for the output box.
    pub from: usize,
    pub to: Option<usize>,
    /// The slot whose value the edge shows.
    pub value: usize,
    /// The slot recording that the branch this edge leaves was taken.
    pub guard: Option<usize>,
    /// The key of the gradient flowing back along it, as the reverse pass recorded it:
    /// (forward node, argument).
    pub gradient: Option<(NodeId, usize)>,
    pub kind: EdgeKind,
}

/// A cluster: a branch of an `if`, a loop's body, a `while` loop's condition.
#[derive(Debug)]
pub struct Cluster {
    pub region: RegionId,
    pub label: String,
    /// The hidden slot that records the branch taken, or the loop's iteration count.
    pub slot: usize,
    pub loop_body: bool,
    /// A `while` loop's condition: no numbers in its label.
    pub condition: bool,
}

/// The picture: its nodes (by slot), edges and clusters, and the DOT template.
pub struct Picture {
    pub nodes: Vec<Shown>,
    pub edges: Vec<Edge>,
    pub clusters: Vec<Cluster>,
    /// Slots past the nodes: per cluster, its branch-taken flag or iteration count.
    pub slots: usize,
    /// The slot showing each IR node (an `i as f64` shows its `i`).
    pub slot_of: HashMap<NodeId, usize>,
    /// The hidden slot of each cluster's region.
    pub cluster_slot: HashMap<RegionId, usize>,
    pub template: String,
}

impl Picture {
    /// The slot showing a node's value, if it is drawn.
    pub fn slot(&self, id: NodeId) -> Option<usize> {
        self.slot_of.get(&id).copied()
    }
}

/// Draws the forward graph of a function (whose backward pass has been built).
pub fn picture(function: &Function) -> Picture {
    let g = &function.graph;
    let output = function.output;
    let fn_name = function.item.sig.ident.unraw().to_string();
    let (live, live_slots) = crate::analysis::liveness(g, [output]);
    let mut math = Math::new(g, None);

    // The nodes drawn, in arena order, and the regions they are drawn in.
    let mut shown: Vec<Shown> = Vec::new();
    for id in g.ids() {
        let region = g.region_of(id);
        if g.region(region).backward {
            continue;
        }
        let op = g.op(id);
        let is_param = matches!(op, Op::Param(_));
        if !is_param && !live[id.index()] {
            continue;
        }
        let kind = match op {
            Op::Param(k) => {
                if g.params[*k].wrt && g.ty(id).is_differentiable() {
                    Kind::Input
                } else {
                    Kind::Data
                }
            }
            _ if g.is_free(id) => {
                if id != output {
                    continue;
                }
                Kind::Constant
            }
            Op::Branch { .. } | Op::Loop { .. } | Op::While { .. } | Op::Call { .. } => continue,
            // Shown as their operand (`i` for `i as f64`), unless the function's value.
            Op::IntToFloat | Op::IntCast(_) if id != output => continue,
            Op::Project(k) => match g.op(g.args(id)[0]) {
                Op::Call { .. } if *k == 0 => Kind::Call,
                Op::Call { .. } => continue,
                Op::Branch { .. } => Kind::Merge,
                _ => {
                    let is_count = matches!(g.op(g.args(id)[0]), Op::While { body, .. }
                        if g.region(*body).params.len() == *k);
                    if is_count {
                        continue;
                    }
                    Kind::LoopOutput
                }
            },
            Op::RegionParam(_) => Kind::Carried,
            Op::LoopIndex => Kind::Index,
            _ if g.ty(id).is_differentiable() => Kind::Operation,
            _ => Kind::Integer,
        };
        let label = match kind {
            Kind::Merge | Kind::LoopOutput | Kind::Carried => {
                math.user_name(id).unwrap_or_else(|| "value".to_string())
            }
            _ => math.label(id),
        };
        shown.push(Shown {
            node: id,
            label,
            kind,
            region,
            output: id == output,
        });
    }

    // Clusters: the regions holding drawn nodes, and the regions around them. A `while`
    // loop's condition is drawn inside its body's cluster.
    let display_parent = |r: RegionId| -> Option<RegionId> {
        match g.region(r).owner.map(|o| g.op(o)) {
            Some(Op::While { cond, body }) if *cond == r => Some(*body),
            _ => g.region(r).parent,
        }
    };
    let mut used_regions: HashSet<RegionId> = HashSet::new();
    for node in &shown {
        let mut region = Some(node.region);
        while let Some(r) = region {
            if !used_regions.insert(r) {
                break;
            }
            region = display_parent(r);
        }
    }
    // Children of each region, in order: nodes and sub-regions.
    let mut children: HashMap<RegionId, Vec<RegionId>> = HashMap::new();
    let mut regions: Vec<RegionId> = used_regions
        .iter()
        .copied()
        .filter(|&r| r != RegionId::TOP)
        .collect();
    regions.sort();
    for &r in &regions {
        if let Some(parent) = display_parent(r) {
            children.entry(parent).or_default().push(r);
        }
    }
    let mut nodes_in: HashMap<RegionId, Vec<usize>> = HashMap::new();
    for (k, node) in shown.iter().enumerate() {
        nodes_in.entry(node.region).or_default().push(k);
    }

    // Slots in the order the template writes the nodes: depth first through clusters.
    let mut order: Vec<usize> = Vec::new();
    let mut cluster_list: Vec<(RegionId, String, bool)> = Vec::new();
    let mut writer = Writer {
        g,
        math: &mut math,
        children: &children,
        nodes_in: &nodes_in,
        order: &mut order,
        clusters: &mut cluster_list,
    };
    writer.collect(RegionId::TOP);
    let mut slot_of_shown = vec![0usize; shown.len()];
    for (slot, &k) in order.iter().enumerate() {
        slot_of_shown[k] = slot;
    }
    let mut nodes: Vec<Option<Shown>> = (0..shown.len()).map(|_| None).collect();
    for (k, node) in shown.into_iter().enumerate() {
        nodes[slot_of_shown[k]] = Some(node);
    }
    let nodes: Vec<Shown> = nodes.into_iter().flatten().collect();
    let mut slot_of: HashMap<NodeId, usize> = HashMap::new();
    for (slot, node) in nodes.iter().enumerate() {
        slot_of.insert(node.node, slot);
    }
    // A call is drawn as its value; conversions as their operand.
    for id in g.ids() {
        if let Op::Project(0) = g.op(id) {
            let owner = g.args(id)[0];
            if let (Op::Call { .. }, Some(&slot)) = (g.op(owner), slot_of.get(&id)) {
                slot_of.insert(owner, slot);
            }
        }
    }
    let shown_of = |id: NodeId, slot_of: &HashMap<NodeId, usize>| -> Option<usize> {
        let mut id = id;
        while matches!(g.op(id), Op::IntToFloat | Op::IntCast(_)) && !slot_of.contains_key(&id) {
            id = g.args(id)[0];
        }
        slot_of.get(&id).copied()
    };
    for id in g.ids() {
        if matches!(g.op(id), Op::IntToFloat | Op::IntCast(_)) && !g.region(g.region_of(id)).backward {
            if let Some(slot) = shown_of(id, &slot_of) {
                slot_of.entry(id).or_insert(slot);
            }
        }
    }
    let mut clusters = Vec::new();
    let mut cluster_slot = HashMap::new();
    for (k, (region, label, loop_body)) in cluster_list.into_iter().enumerate() {
        let condition = matches!(g.region(region).owner.map(|o| g.op(o)), Some(Op::While { cond, .. }) if *cond == region);
        let slot = nodes.len() + k;
        cluster_slot.insert(region, slot);
        clusters.push(Cluster {
            region,
            label,
            slot,
            loop_body,
            condition,
        });
    }
    let slots = nodes.len() + clusters.len();

    // Edges.
    let mut edges = Vec::new();
    let data = |from: usize, to: usize, gradient: Option<(NodeId, usize)>| Edge {
        from,
        to: Some(to),
        value: from,
        guard: None,
        gradient,
        kind: EdgeKind::Data,
    };
    for (slot, node) in nodes.iter().enumerate() {
        let id = node.node;
        match (g.op(id), node.kind) {
            (
                _,
                Kind::Input | Kind::Data | Kind::Constant | Kind::Carried | Kind::LoopOutput | Kind::Merge,
            ) => {}
            (Op::Project(_), Kind::Call) => {
                let call = g.args(id)[0];
                for (k, &arg) in g.args(call).iter().enumerate() {
                    if let Some(from) = shown_of(arg, &slot_of) {
                        edges.push(data(from, slot, Some((call, k))));
                    }
                }
            }
            (Op::LoopIndex, _) => {
                // The range's ends, where they are values (`n`, `xs.len()`).
                let owner = g.region(node.region).owner;
                if let Some(owner) = owner.filter(|&o| matches!(g.op(o), Op::Loop { .. })) {
                    for &end in &g.args(owner)[..2] {
                        if let Some(from) = shown_of(end, &slot_of) {
                            edges.push(data(from, slot, None));
                        }
                    }
                }
            }
            _ => {
                for (k, &arg) in g.args(id).iter().enumerate() {
                    if let Some(from) = shown_of(arg, &slot_of) {
                        edges.push(data(from, slot, Some((id, k))));
                    }
                }
            }
        }
    }
    // Structured nodes: loops' carried values, branches' merged values.
    let mut projects: HashMap<(NodeId, usize), NodeId> = HashMap::new();
    for p in g.ids() {
        if let (Op::Project(k), true) = (g.op(p), live[p.index()]) {
            projects.entry((g.args(p)[0], *k)).or_insert(p);
        }
    }
    for id in g.ids() {
        if g.region(g.region_of(id)).backward || !live[id.index()] {
            continue;
        }
        let mut live_slots: Vec<usize> = live_slots
            .get(&id)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        live_slots.sort();
        let output_of = |k: usize| projects.get(&(id, k)).copied();
        match g.op(id).clone() {
            Op::Loop { body, .. } | Op::While { body, .. } => {
                let first_init = if matches!(g.op(id), Op::Loop { .. }) { 2 } else { 0 };
                for &k in &live_slots {
                    let param = g.region(body).params.get(k).copied();
                    let param_slot = param.and_then(|p| slot_of.get(&p).copied());
                    let init = g.args(id).get(first_init + k).copied();
                    let yielded = g.region(body).yields.get(k).copied();
                    if let (Some(param_slot), Some(from)) =
                        (param_slot, init.and_then(|i| shown_of(i, &slot_of)))
                    {
                        edges.push(data(from, param_slot, Some((id, first_init + k))));
                    }
                    let yield_slot = yielded.and_then(|y| shown_of(y, &slot_of));
                    if let (Some(param_slot), Some(from)) = (param_slot, yield_slot) {
                        if from != param_slot {
                            edges.push(Edge {
                                from,
                                to: Some(param_slot),
                                value: from,
                                guard: None,
                                gradient: None,
                                kind: EdgeKind::Back,
                            });
                        }
                    }
                    let out = output_of(k).and_then(|o| slot_of.get(&o).copied().map(|s| (o, s)));
                    if let Some((out, out_slot)) = out {
                        // From the last iteration's value (or, for a loop that may not run,
                        // the carried variable itself); showing the value after the loop.
                        let from = yield_slot
                            .or(param_slot)
                            .or_else(|| init.and_then(|i| shown_of(i, &slot_of)));
                        if let Some(from) = from {
                            edges.push(Edge {
                                from,
                                to: Some(out_slot),
                                value: out_slot,
                                guard: None,
                                gradient: Some((out, 0)),
                                kind: EdgeKind::Data,
                            });
                        }
                    }
                }
            }
            Op::Branch { then, otherwise } => {
                let cond = shown_of(g.args(id)[0], &slot_of);
                for &k in &live_slots {
                    let Some(out) = output_of(k) else { continue };
                    let Some(&out_slot) = slot_of.get(&out) else {
                        continue;
                    };
                    for side in [then, otherwise] {
                        let Some(y) = g.region(side).yields.get(k).copied() else {
                            continue;
                        };
                        let Some(from) = shown_of(y, &slot_of) else {
                            continue;
                        };
                        edges.push(Edge {
                            from,
                            to: Some(out_slot),
                            value: from,
                            guard: cluster_slot.get(&side).copied(),
                            gradient: Some((out, 0)),
                            kind: EdgeKind::Data,
                        });
                    }
                    if let Some(cond) = cond {
                        edges.push(Edge {
                            from: cond,
                            to: Some(out_slot),
                            value: cond,
                            guard: None,
                            gradient: None,
                            kind: EdgeKind::Condition,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    // An edge into a node inside a branch or a loop was used only if that node was
    // evaluated (a branch not taken, a loop that did not run).
    for edge in &mut edges {
        if edge.guard.is_none() {
            if let Some(to) = edge.to.filter(|&to| nodes[to].region != RegionId::TOP) {
                edge.guard = Some(to);
            }
        }
    }
    if let Some(from) = shown_of(output, &slot_of) {
        edges.push(Edge {
            from,
            to: None,
            value: from,
            guard: None,
            gradient: None,
            kind: EdgeKind::Output,
        });
    }

    let mut picture = Picture {
        nodes,
        edges,
        clusters,
        slots,
        slot_of,
        cluster_slot,
        template: String::new(),
    };
    picture.template = template(&picture, g, &fn_name, &children);
    picture
}

/// The picture of a function with a custom rule: its inputs, one node for the function
/// (whose body the macro does not read), its output.
pub fn custom_picture(function: &Function, rule: &syn::Path) -> Picture {
    let g = &function.graph;
    let fn_name = function.item.sig.ident.unraw().to_string();
    let mut math = Math::new(g, None);
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for param in &g.params {
        let kind = if param.wrt && g.ty(param.node).is_differentiable() {
            Kind::Input
        } else {
            Kind::Data
        };
        nodes.push(Shown {
            node: param.node,
            label: math.label(param.node),
            kind,
            region: RegionId::TOP,
            output: false,
        });
    }
    let arguments: Vec<String> = g.params.iter().map(|p| p.label()).collect();
    let rule = rule
        .segments
        .last()
        .map(|s| s.ident.unraw().to_string())
        .unwrap_or_default();
    let call = nodes.len();
    nodes.push(Shown {
        node: function.output,
        label: format!("{fn_name}({}) (custom rule {rule})", arguments.join(", ")),
        kind: Kind::Call,
        region: RegionId::TOP,
        output: true,
    });
    for k in 0..g.params.len() {
        edges.push(Edge {
            from: k,
            to: Some(call),
            value: k,
            guard: None,
            gradient: None,
            kind: EdgeKind::Data,
        });
    }
    edges.push(Edge {
        from: call,
        to: None,
        value: call,
        guard: None,
        gradient: None,
        kind: EdgeKind::Output,
    });
    let slot_of = nodes.iter().enumerate().map(|(s, n)| (n.node, s)).collect();
    let mut picture = Picture {
        slots: nodes.len(),
        nodes,
        edges,
        clusters: Vec::new(),
        slot_of,
        cluster_slot: HashMap::new(),
        template: String::new(),
    };
    picture.template = template(&picture, g, &fn_name, &HashMap::new());
    picture
}

/// Collects the clusters and the order nodes are written in.
struct Writer<'a, 'g> {
    g: &'g Graph,
    math: &'a mut Math<'g>,
    children: &'a HashMap<RegionId, Vec<RegionId>>,
    nodes_in: &'a HashMap<RegionId, Vec<usize>>,
    order: &'a mut Vec<usize>,
    clusters: &'a mut Vec<(RegionId, String, bool)>,
}

impl Writer<'_, '_> {
    fn collect(&mut self, region: RegionId) {
        if region != RegionId::TOP {
            let (label, loop_body) = self.cluster_label(region);
            self.clusters.push((region, label, loop_body));
        }
        if let Some(nodes) = self.nodes_in.get(&region) {
            self.order.extend(nodes.iter().copied());
        }
        if let Some(children) = self.children.get(&region) {
            for &child in children {
                self.collect(child);
            }
        }
    }

    fn cluster_label(&mut self, region: RegionId) -> (String, bool) {
        let g = self.g;
        let Some(owner) = g.region(region).owner else {
            return (String::new(), false);
        };
        match g.op(owner).clone() {
            Op::Branch { then, .. } => {
                if region == then {
                    let cond = self.math.operand(g.args(owner)[0]).text;
                    (format!("if {cond}"), false)
                } else {
                    ("else".to_string(), false)
                }
            }
            Op::Loop { body, rev } if body == region => {
                let label = match &g.region(region).header {
                    Some(header) => header.text.clone(),
                    None => {
                        let start = self.math.operand(g.args(owner)[0]).text;
                        let end = self.math.operand(g.args(owner)[1]).text;
                        let index = self.math.index_name(region);
                        if rev {
                            format!("for {index} in ({start}..{end}).rev()")
                        } else {
                            format!("for {index} in {start}..{end}")
                        }
                    }
                };
                (label, true)
            }
            Op::While { cond, body } => {
                let header = g
                    .region(body)
                    .header
                    .as_ref()
                    .map(|h| h.text.clone())
                    .unwrap_or_else(|| "while".to_string());
                if region == cond {
                    ("the condition, as last tested".to_string(), false)
                } else {
                    (header, true)
                }
            }
            _ => (String::new(), false),
        }
    }
}

/// DOT's quoted string.
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            HOLE | HOLE_END => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

const FONT: &str = "Helvetica";
const GREY: &str = "#8c8c8c";

/// Inputs: blue boxes; parameters without a gradient: grey boxes.
const INPUT_STYLE: &str = "shape=box, style=\"rounded,filled\", fillcolor=\"#dbe9ff\"";
const DATA_STYLE: &str = "shape=box, style=\"rounded,filled\", fillcolor=\"#eeeeee\", color=\"#8c8c8c\"";

fn node_attributes(node: &Shown) -> String {
    let mut attributes = format!("label={}", quoted(&node.label));
    let style = match node.kind {
        Kind::Input | Kind::Data | Kind::Operation | Kind::LoopOutput => String::new(),
        Kind::Integer | Kind::Index => format!(", color=\"{GREY}\", fontcolor=\"#555555\""),
        Kind::Merge => ", shape=invtrapezium".to_string(),
        Kind::Carried => ", style=bold".to_string(),
        Kind::Call => ", shape=box".to_string(),
        Kind::Constant => ", shape=plaintext".to_string(),
    };
    attributes.push_str(&style);
    if node.output {
        attributes.push_str(", peripheries=2");
    }
    attributes
}

fn template(
    picture: &Picture,
    g: &Graph,
    fn_name: &str,
    children: &HashMap<RegionId, Vec<RegionId>>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", quoted(fn_name));
    let _ = writeln!(
        out,
        "  graph [rankdir=LR, fontname=\"{FONT}\", fontsize=11, nodesep=0.35];"
    );
    let _ = writeln!(out, "  node [fontname=\"{FONT}\", fontsize=12, shape=ellipse];");
    let _ = writeln!(out, "  edge [fontname=\"{FONT}\", fontsize=10, arrowsize=0.7];");
    // Nodes, region by region (clusters nested), in slot order.
    let mut by_region: HashMap<RegionId, Vec<usize>> = HashMap::new();
    for (slot, node) in picture.nodes.iter().enumerate() {
        by_region.entry(node.region).or_default().push(slot);
    }
    let clusters: HashMap<RegionId, &Cluster> = picture.clusters.iter().map(|c| (c.region, c)).collect();
    write_region(
        &mut out,
        picture,
        RegionId::TOP,
        &by_region,
        &clusters,
        children,
        1,
    );
    let _ = writeln!(
        out,
        "  output [label={}, shape=box, style=\"rounded,filled\", fillcolor=\"#fff1c2\"];",
        quoted(fn_name)
    );
    for (k, edge) in picture.edges.iter().enumerate() {
        let to = match edge.to {
            Some(slot) => format!("n{slot}"),
            None => "output".to_string(),
        };
        let fixed = match edge.kind {
            EdgeKind::Back => format!(" [style=dashed, constraint=false, color=\"{GREY}\"]"),
            EdgeKind::Condition => format!(" [style=dotted, color=\"{GREY}\"]"),
            EdgeKind::Data | EdgeKind::Output => {
                let from_node = &picture.nodes[edge.from];
                let carries_gradient = g.ty(from_node.node).is_differentiable()
                    && !matches!(from_node.kind, Kind::Data | Kind::Integer | Kind::Index);
                if carries_gradient || edge.kind == EdgeKind::Output {
                    String::new()
                } else {
                    format!(" [color=\"{GREY}\"]")
                }
            }
        };
        if edge.kind == EdgeKind::Back {
            // Going round to the next iteration: no numbers (the last iteration has none).
            let _ = writeln!(out, "  n{} -> {to}{fixed};", edge.from);
            continue;
        }
        let guard = edge.guard.map(|s| format!(":{s}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "  n{} -> {to}{fixed}{HOLE}e{k}:{}{guard}{HOLE_END};",
            edge.from, edge.value
        );
    }
    out.push_str("}\n");
    out
}

fn write_region(
    out: &mut String,
    picture: &Picture,
    region: RegionId,
    by_region: &HashMap<RegionId, Vec<usize>>,
    clusters: &HashMap<RegionId, &Cluster>,
    children: &HashMap<RegionId, Vec<RegionId>>,
    depth: usize,
) {
    let indent = "  ".repeat(depth);
    if let Some(slots) = by_region.get(&region) {
        // The inputs (and the parameters without a gradient) in groups of their own, whose
        // node defaults give their style.
        for (kind, style) in [(Kind::Input, INPUT_STYLE), (Kind::Data, DATA_STYLE)] {
            let group: Vec<usize> = slots
                .iter()
                .copied()
                .filter(|&s| picture.nodes[s].kind == kind)
                .collect();
            if group.is_empty() {
                continue;
            }
            let _ = writeln!(out, "{indent}{{");
            let _ = writeln!(out, "{indent}  node [{style}];");
            for slot in group {
                let node = &picture.nodes[slot];
                let _ = writeln!(
                    out,
                    "{indent}  n{slot} [{}]{HOLE}i{slot}{HOLE_END};",
                    node_attributes(node)
                );
            }
            let _ = writeln!(out, "{indent}}}");
        }
        for &slot in slots {
            let node = &picture.nodes[slot];
            if !matches!(node.kind, Kind::Input | Kind::Data) {
                let _ = writeln!(
                    out,
                    "{indent}n{slot} [{}]{HOLE}n{slot}{HOLE_END};",
                    node_attributes(node)
                );
            }
        }
    }
    for &child in children.get(&region).map(Vec::as_slice).unwrap_or(&[]) {
        let Some(cluster) = clusters.get(&child) else {
            continue;
        };
        let _ = writeln!(out, "{indent}subgraph cluster_{} {{", cluster.slot);
        let kind = if cluster.loop_body { 'l' } else { 'b' };
        let label = quoted(&cluster.label);
        let label = if cluster.condition {
            label
        } else {
            format!(
                "{}{HOLE}{kind}{}{HOLE_END}\"",
                &label[..label.len() - 1],
                cluster.slot
            )
        };
        let _ = writeln!(
            out,
            "{indent}  label={label}; style=\"rounded,dashed\"; color=\"{GREY}\"; fontcolor=\"#555555\";"
        );
        write_region(out, picture, child, by_region, clusters, children, depth + 1);
        let _ = writeln!(out, "{indent}}}");
    }
}

/// The template as a Rust string literal.
pub fn literal(template: &str) -> TokenStream {
    proc_macro2::Literal::string(template).into_token_stream()
}
