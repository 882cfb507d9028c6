//! The reverse pass: adjoints by the chain rule, node by node, region by region.
//!
//! Walking a region backwards, each node's adjoint (the gradient of the output with
//! respect to it, "upstream" from its inputs' point of view) goes through the rule table
//! (`vjp::vjp`) into its inputs' adjoints: `adjoint[input] += adjoint[node] ×
//! local_grad`. Nothing here knows an operation; what it knows is structure:
//!
//! - an `if` becomes an `if` on the same (saved) condition, each branch reversed;
//! - a loop becomes a loop over the same range in the other direction, carrying the
//!   adjoints of the carried values, and accumulating (in place) the gradients of what the
//!   body reads from outside;
//! - a value the backward pass reads from inside a branch or loop is exported: out of a
//!   branch as an extra output, out of a loop as a per-iteration stack ([`Op::Stacked`]).

use std::collections::HashMap;

use crate::ir::{Graph, NodeId, Op, Phase, RegionId, Ty};
mod vjp;

use vjp::{vjp, Grad};

/// The gradient of the output with respect to each parameter (`None` where it is zero).
pub struct Adjoints {
    pub of_param: Vec<Option<NodeId>>,
    /// What flows back along each edge of the forward graph, for `f::trace`.
    pub edges: Vec<EdgeGradient>,
}

/// The gradient flowing back along one edge of the forward graph: the contribution to
/// the adjoint of argument `arg` of forward node `node` from this use (upstream × local
/// gradient), computed in backward region `region` — for an element of an array,
/// `value` added at `indices`. For a structured node's output (a [`Op::Project`]), `arg`
/// is 0 and `value` is the output's adjoint; for a loop's initial value, `node` is the
/// loop and `arg` the initial value's position in its arguments.
pub struct EdgeGradient {
    pub node: NodeId,
    pub arg: usize,
    pub value: NodeId,
    pub indices: Vec<NodeId>,
    pub region: RegionId,
}

/// Appends the backward pass of `output` to the graph, in a new top region.
pub fn reverse(g: &mut Graph, output: NodeId) -> (Adjoints, RegionId) {
    let active = crate::analysis::active(g);
    g.phase = Phase::Reverse;
    let backward_top = g.new_region(true);
    g.region_mut(backward_top).parent = None;
    g.current = backward_top;
    let mut pass = Reverse {
        active,
        edges: Vec::new(),
    };
    let mut seeds = Vec::new();
    if pass.is_active(output) {
        // Of the output's shape: a float, or a vector's (a vector-Jacobian product).
        let ty = g.ty(output).clone();
        seeds.push((output, g.add_typed(Op::Upstream, Vec::new(), ty)));
    }
    let adjoints = pass.region(g, RegionId::TOP, seeds, None);
    // A zero adjoint is no adjoint: the float 0 standing for an array's zeros becomes the
    // parameter's zeros.
    let of_param = g
        .params
        .iter()
        .map(|p| {
            adjoints
                .get(&p.node)
                .copied()
                .filter(|&d| !g.is_const(d, 0.0) || g.ty(p.node) == &Ty::Float)
        })
        .collect();
    first_writes(g);
    let edges = pass.edges;
    (Adjoints { of_param, edges }, backward_top)
}

/// `d_w[i] += v` becomes `d_w[i] = v` where `d_w[i]` is provably still zero: the gradient's
/// first contribution to an element is written, not added to 0.0 (which the compiler may
/// not drop: 0.0 + -0.0 is +0.0). So a loop filling a gradient array, the usual case
/// (`d_w[i] = d_dot * x[i]`), costs what the hand-written one does.
fn first_writes(g: &mut Graph) {
    let writes: Vec<NodeId> = g
        .ids()
        .filter(|&id| g.op(id) == &Op::AddAt && g.region(g.region_of(id)).backward)
        .collect();
    for id in writes {
        let (base, indices) = (g.args(id)[0], index_args(g, id));
        if zero_at(g, base, &indices) {
            g.set_op(id, Op::Update);
        }
    }
}

/// The index nodes of an element write (`AddAt`/`Update`: array, value, indices…).
fn index_args(g: &Graph, write: NodeId) -> Vec<NodeId> {
    g.args(write)[2..].to_vec()
}

/// Whether `array` is zero at `indices`: a zero array; an array written elsewhere only
/// (a different constant index); or an accumulator carried by a loop whose every write
/// in an iteration is at that iteration's index (so earlier iterations wrote elsewhere)
/// and which started zero there.
fn zero_at(g: &Graph, array: NodeId, indices: &[NodeId]) -> bool {
    match g.op(array) {
        Op::ZerosLike => true,
        Op::AddAt | Op::Update => {
            let other = index_args(g, array);
            let elsewhere = other.len() == indices.len()
                && other
                    .iter()
                    .zip(indices)
                    .any(|(&a, &b)| matches!((g.int_value(a), g.int_value(b)), (Some(a), Some(b)) if a != b));
            elsewhere && zero_at(g, g.args(array)[0], indices)
        }
        Op::Project(k) if matches!(g.op(g.args(array)[0]), Op::Loop { .. }) => {
            // After a loop over a literal range that wrote only at its index: zero where
            // that position is a constant outside the range (`d_w[2]` after `for i in 0..2`).
            let owner = g.args(array)[0];
            let Op::Loop { body, .. } = *g.op(owner) else {
                return false;
            };
            let region = g.region(body);
            let (Some(&param), Some(&end_of_iteration), Some(index)) =
                (region.params.get(*k), region.yields.get(*k), region.index)
            else {
                return false;
            };
            let (Some(first), Some(end)) = (g.int_value(g.args(owner)[0]), g.int_value(g.args(owner)[1]))
            else {
                return false;
            };
            let Some(written) = writes_between(g, end_of_iteration, param) else {
                return false;
            };
            let Some(&init) = g.args(owner).get(2 + k) else {
                return false;
            };
            (0..indices.len()).any(|j| {
                g.int_value(indices[j]).is_some_and(|i| i < first || i >= end)
                    && written.iter().all(|w| w.len() == indices.len() && w[j] == index)
            }) && zero_at(g, init, indices)
        }
        Op::RegionParam(k) => {
            let body = g.region_of(array);
            let (Some(owner), Some(index)) = (g.region(body).owner, g.region(body).index) else {
                return false;
            };
            if !matches!(g.op(owner), Op::Loop { .. }) {
                return false;
            }
            let Some(&end_of_iteration) = g.region(body).yields.get(*k) else {
                return false;
            };
            let Some(written) = writes_between(g, end_of_iteration, array) else {
                return false;
            };
            let Some(init) = g.args(owner).get(2 + k) else {
                return false;
            };
            (0..indices.len()).any(|j| {
                indices[j] == index && written.iter().all(|w| w.len() == indices.len() && w[j] == index)
            }) && zero_at(g, *init, indices)
        }
        _ => false,
    }
}

/// The indices of the element writes by which `start` (a carried parameter) becomes `end`
/// in one iteration, through nested loops carrying it; `None` where it becomes `end`
/// otherwise (a branch, a whole-array operation).
fn writes_between(g: &Graph, end: NodeId, start: NodeId) -> Option<Vec<Vec<NodeId>>> {
    let mut written = Vec::new();
    let mut at = end;
    while at != start {
        match g.op(at) {
            Op::AddAt | Op::Update => {
                written.push(index_args(g, at));
                at = g.args(at)[0];
            }
            Op::Project(k) => {
                let inner = g.args(at)[0];
                let Op::Loop { body, .. } = *g.op(inner) else {
                    return None;
                };
                let region = g.region(body);
                let (param, end_of_iteration) = (*region.params.get(*k)?, *region.yields.get(*k)?);
                written.extend(writes_between(g, end_of_iteration, param)?);
                at = *g.args(inner).get(2 + k)?;
            }
            _ => return None,
        }
    }
    Some(written)
}

struct Reverse {
    active: Vec<bool>,
    edges: Vec<EdgeGradient>,
}

/// A loop body being reversed: the gradients of values from outside it are accumulated
/// across iterations in carried parameters of the reversed body.
struct Accumulators {
    body: RegionId,
    /// (outside node, its accumulator parameter in the reversed body)
    params: Vec<(NodeId, NodeId)>,
    first_index: usize,
}

/// One forward region being reversed: the adjoints so far, keyed by forward node (its
/// own nodes, and the nodes from outside it that it reads).
struct Frame<'a> {
    forward: RegionId,
    adjoint: HashMap<NodeId, NodeId>,
    /// In a loop body: where gradients of outside values accumulate across iterations.
    accumulators: Option<&'a mut Accumulators>,
}

impl Reverse {
    fn is_active(&self, id: NodeId) -> bool {
        self.active.get(id.index()).copied().unwrap_or(false)
    }

    /// Reverses region `forward` into the current (backward) region, starting from the
    /// `seeds` (node, adjoint). Returns every adjoint it ends with, keyed by forward node:
    /// those of the region's own nodes and of the nodes from outside it that it reads.
    fn region(
        &mut self,
        g: &mut Graph,
        forward: RegionId,
        seeds: Vec<(NodeId, NodeId)>,
        accumulators: Option<&mut Accumulators>,
    ) -> HashMap<NodeId, NodeId> {
        let mut frame = Frame {
            forward,
            adjoint: HashMap::new(),
            accumulators,
        };
        let mut outputs: HashMap<NodeId, Vec<(usize, NodeId)>> = HashMap::new();
        for (node, seed) in seeds {
            self.accumulate(g, &mut frame, node, Grad::Value(seed));
        }
        for id in g.region_nodes(forward).into_iter().rev() {
            match g.op(id).clone() {
                Op::Project(k) => {
                    if let Some(&upstream) = frame.adjoint.get(&id) {
                        self.edge(g, id, 0, upstream, &[]);
                        outputs.entry(g.args(id)[0]).or_default().push((k, upstream));
                    }
                }
                Op::Branch { then, otherwise } => {
                    let Some(outs) = outputs.remove(&id) else { continue };
                    for (node, contribution) in self.branch(g, id, then, otherwise, &outs) {
                        self.accumulate(g, &mut frame, node, Grad::Value(contribution));
                    }
                }
                Op::Loop { body, .. } | Op::While { body, .. } => {
                    let outs = outputs.remove(&id).unwrap_or_default();
                    self.repeat(g, id, body, &outs, &mut frame);
                }
                Op::Call {
                    callee,
                    by_ref,
                    deref,
                } => {
                    let Some(&(_, upstream)) = outputs.get(&id).and_then(|o| o.iter().find(|(k, _)| *k == 0))
                    else {
                        continue;
                    };
                    // The callee's own backward pass, from the cache its forward pass kept.
                    let outer = g.current;
                    g.current = g.region_of(id);
                    let cache = g.project(id, 1, Ty::Opaque(callee));
                    g.current = outer;
                    let args = g.args(id).to_vec();
                    let arity = args.len();
                    let mut reads = vec![cache, upstream];
                    if g.second_order {
                        reads.extend(&args);
                    }
                    let backward = g.add_typed(
                        Op::CallBackward {
                            callee,
                            arity,
                            by_ref,
                            deref,
                        },
                        reads,
                        Ty::Unit,
                    );
                    for (k, &arg) in args.iter().enumerate() {
                        if self.is_active(arg) {
                            let gradient = g.project(backward, k, g.ty(arg).clone());
                            self.edge(g, id, k, gradient, &[]);
                            self.accumulate(g, &mut frame, arg, Grad::Value(gradient));
                        }
                    }
                }
                _ => {
                    let Some(&upstream) = frame.adjoint.get(&id) else {
                        continue;
                    };
                    let args = g.args(id).to_vec();
                    for (k, grad) in vjp(g, id, &args, upstream) {
                        let edge = self.is_active(args[k]).then(|| match &grad {
                            Grad::Value(value) => (*value, Vec::new()),
                            Grad::AtIndex(value, indices) => (*value, indices.clone()),
                        });
                        // (constants get no gradient, and no code for one)
                        self.accumulate(g, &mut frame, args[k], grad);
                        if let Some((value, indices)) = edge {
                            // The indices as backward code reads them (as the accumulation
                            // just did: no new nodes).
                            let indices: Vec<NodeId> = indices.iter().map(|&i| g.import(i)).collect();
                            self.edge(g, id, k, value, &indices);
                        }
                    }
                }
            }
        }
        frame.adjoint
    }

    /// adjoint[node] += contribution (a reused variable's gradients add up), or, for one
    /// element of an array, adjoint[array][indices] += contribution in place.
    fn accumulate(&mut self, g: &mut Graph, frame: &mut Frame, node: NodeId, grad: Grad) {
        if !self.is_active(node) {
            return;
        }
        self.start_accumulator(g, frame, node);
        let earlier = frame.adjoint.get(&node).copied();
        let sum = match (grad, earlier) {
            (Grad::Value(contribution), Some(earlier)) => g.sum(earlier, contribution),
            (Grad::Value(contribution), None) => contribution,
            (Grad::AtIndex(contribution, indices), earlier) => {
                let base = match earlier {
                    Some(earlier) => earlier,
                    None => {
                        let like = g.import(node);
                        g.zeros_like(like)
                    }
                };
                g.add_at(base, contribution, &indices)
            }
        };
        record(g, &mut frame.adjoint, node, sum);
    }

    /// In a loop body, the first gradient into a value from outside the loop starts from
    /// the accumulator carried across iterations.
    fn start_accumulator(&mut self, g: &mut Graph, frame: &mut Frame, node: NodeId) {
        let Some(acc) = frame.accumulators.as_deref_mut() else {
            return;
        };
        if frame.adjoint.contains_key(&node) || g.is_within(g.region_of(node), frame.forward) {
            return;
        }
        let k = acc.first_index + acc.params.len();
        let saved = g.current;
        g.current = acc.body;
        let param = g.add_typed(Op::RegionParam(k), Vec::new(), g.ty(node).clone());
        g.current = saved;
        g.region_mut(acc.body).params.push(param);
        acc.params.push((node, param));
        record(g, &mut frame.adjoint, node, param);
    }

    /// The reverse of `if cond { then } else { otherwise }`: an `if` on the same condition,
    /// each branch reversed; returns the gradients of what the branches read from outside.
    fn branch(
        &mut self,
        g: &mut Graph,
        node: NodeId,
        then: RegionId,
        otherwise: RegionId,
        outs: &[(usize, NodeId)],
    ) -> Vec<(NodeId, NodeId)> {
        let outer = g.current;
        let cond = g.import(g.args(node)[0]);
        let mut reversed = Vec::new();
        for forward in [then, otherwise] {
            let backward = g.new_region(true);
            g.current = backward;
            let seeds = outs
                .iter()
                .filter_map(|&(k, upstream)| Some((*g.region(forward).yields.get(k)?, upstream)))
                .collect();
            let adjoints = self.region(g, forward, seeds, None);
            let outside: HashMap<NodeId, NodeId> = adjoints
                .into_iter()
                .filter(|(n, _)| !g.is_within(g.region_of(*n), forward))
                .collect();
            reversed.push((backward, outside));
            g.current = outer;
        }
        let mut nodes: Vec<NodeId> = reversed.iter().flat_map(|(_, m)| m.keys().copied()).collect();
        nodes.sort();
        nodes.dedup();
        if nodes.is_empty() {
            return Vec::new();
        }
        for (backward, outside) in &reversed {
            g.current = *backward;
            let yields = nodes
                .iter()
                .map(|n| match outside.get(n) {
                    Some(&adjoint) => adjoint,
                    None => {
                        let like = g.import(*n);
                        g.zeros_like(like)
                    }
                })
                .collect();
            g.region_mut(*backward).yields = yields;
        }
        g.current = outer;
        let (then_b, otherwise_b) = (reversed[0].0, reversed[1].0);
        let reverse = g.add_typed(
            Op::Branch {
                then: then_b,
                otherwise: otherwise_b,
            },
            vec![cond],
            Ty::Unit,
        );
        g.region_mut(then_b).owner = Some(reverse);
        g.region_mut(otherwise_b).owner = Some(reverse);
        nodes
            .iter()
            .enumerate()
            .map(|(j, &n)| (n, g.project(reverse, j, g.ty(n).clone())))
            .collect()
    }

    /// The reverse of a loop (`for` or `while`): a loop over the same iterations, the other
    /// way round. It carries the adjoints of the loop-carried values, and accumulates the
    /// gradients of the values the body reads from outside, starting from (and replacing)
    /// their adjoints so far.
    fn repeat(
        &mut self,
        g: &mut Graph,
        node: NodeId,
        body: RegionId,
        outs: &[(usize, NodeId)],
        frame: &mut Frame,
    ) {
        let outer = g.current;
        let (range, inits, rev) = match g.op(node).clone() {
            Op::Loop { rev, .. } => (
                Some((g.args(node)[0], g.args(node)[1])),
                g.args(node)[2..].to_vec(),
                rev,
            ),
            _ => (None, g.args(node).to_vec(), false),
        };
        let params = g.region(body).params.clone();
        // Carried values whose gradient matters: active, differentiable.
        let carried: Vec<usize> = (0..params.len()).filter(|&k| self.is_active(params[k])).collect();
        let reads_outside = g.ids().any(|id| {
            g.is_within(g.region_of(id), body)
                && g.args(id)
                    .iter()
                    .any(|&a| self.is_active(a) && !g.is_within(g.region_of(a), body))
        });
        // No gradient flows out of a loop none of whose results is read: nothing to reverse
        // (and nothing to multiply by an infinite local gradient, which would give NaN).
        if (carried.is_empty() && !reads_outside) || outs.is_empty() {
            return;
        }
        let (start, end) = match range {
            Some((start, end)) => (g.import(start), g.import(end)),
            None => {
                // A `while` loop runs 0..count, its count being its last output.
                g.current = g.region_of(node);
                let count = g.project(node, params.len(), Ty::Int(Some("usize".to_string())));
                g.current = outer;
                (g.int(0), g.import(count))
            }
        };
        let backward = g.new_region(true);
        g.current = backward;
        let forward_index = g.region(body).index;
        let index_ty = forward_index
            .map(|i| g.ty(i).clone())
            .unwrap_or(Ty::Int(Some("usize".to_string())));
        let index = g.add_typed(Op::LoopIndex, Vec::new(), index_ty);
        g.region_mut(backward).index = Some(index);
        g.mirror_index.insert(body, index);
        let mut seeds = Vec::new();
        let mut carried_params = Vec::new();
        for (j, &k) in carried.iter().enumerate() {
            let param = g.add_typed(Op::RegionParam(j), Vec::new(), g.ty(params[k]).clone());
            g.adjoint_of.entry(param).or_insert(params[k]);
            g.region_mut(backward).params.push(param);
            carried_params.push(param);
            if let Some(&y) = g.region(body).yields.get(k) {
                seeds.push((y, param));
            }
        }
        let mut acc = Accumulators {
            body: backward,
            params: Vec::new(),
            first_index: carried.len(),
        };
        g.region_mut(backward).sources = carried.len();
        let adjoints = self.region(g, body, seeds, Some(&mut acc));
        let mut yields: Vec<NodeId> = carried
            .iter()
            .map(|&k| match adjoints.get(&params[k]) {
                Some(&a) => a,
                None => {
                    let like = g.import(params[k]);
                    g.zeros_like(like)
                }
            })
            .collect();
        yields.extend(acc.params.iter().map(|(n, _)| adjoints[n]));
        g.region_mut(backward).yields = yields;
        g.current = outer;
        // Initial values: the outputs' adjoints, and each accumulator's adjoint so far.
        let mut args = vec![start, end];
        for &k in &carried {
            let init = match outs.iter().find(|(o, _)| *o == k) {
                Some(&(_, upstream)) => upstream,
                None => {
                    // Zeros shaped like the loop's result, which the reverse loop's first
                    // iteration stands for (not like an iteration's value: out here, no
                    // iteration is current).
                    g.current = g.region_of(node);
                    let result = g.project(node, k, g.ty(params[k]).clone());
                    g.current = outer;
                    let like = g.import(result);
                    g.zeros_like(like)
                }
            };
            args.push(init);
        }
        for &(n, _) in &acc.params {
            self.start_accumulator(g, frame, n);
            let init = match frame.adjoint.get(&n) {
                Some(&a) => a,
                None => {
                    let like = g.import(n);
                    g.zeros_like(like)
                }
            };
            args.push(init);
        }
        let reverse = g.add_typed(
            Op::Loop {
                body: backward,
                rev: !rev,
            },
            args,
            Ty::Unit,
        );
        g.region_mut(backward).owner = Some(reverse);
        // First the accumulators, which continued the adjoints so far and replace them; then
        // the carried values' adjoints flow into the initial values (which may be the same
        // variables: `let mut s = x; for … { s = s * x }`).
        for (j, &(n, _)) in acc.params.iter().enumerate() {
            let out = g.project(reverse, carried.len() + j, g.ty(n).clone());
            record(g, &mut frame.adjoint, n, out);
        }
        let first_init = if range.is_some() { 2 } else { 0 };
        for (j, &k) in carried.iter().enumerate() {
            let out = g.project(reverse, j, g.ty(params[k]).clone());
            if self.is_active(inits[k]) {
                self.edge(g, node, first_init + k, out, &[]);
            }
            self.accumulate(g, frame, inits[k], Grad::Value(out));
        }
    }

    /// Records what flows back along an edge (for `f::trace`; no code unless it is read).
    fn edge(&mut self, g: &Graph, node: NodeId, arg: usize, value: NodeId, indices: &[NodeId]) {
        self.edges.push(EdgeGradient {
            node,
            arg,
            value,
            indices: indices.to_vec(),
            region: g.current,
        });
    }
}

/// adjoint[node] = value, remembering whose adjoint the value is (for its name).
fn record(g: &mut Graph, adjoint: &mut HashMap<NodeId, NodeId>, node: NodeId, value: NodeId) {
    adjoint.insert(node, value);
    if !g.is_free(value) && !matches!(g.op(value), Op::Upstream) {
        g.adjoint_of.entry(value).or_insert(node);
    }
}
