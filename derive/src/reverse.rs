//! The reverse pass: adjoints by the chain rule, node by node.
//!
//! Walking the arena backwards, each node's adjoint (the gradient of the output with
//! respect to it, "upstream" from its inputs' point of view) is multiplied by the local
//! gradient of each input from the rule table, and added into that input's adjoint:
//! `adjoint[input] += adjoint[node] × local_grad`. Nothing here knows any operation.

use crate::ir::{Graph, NodeId, Op, Phase};

/// The adjoint nodes of a graph's forward part.
pub struct Adjoints {
    /// Per forward node (indexed like the arena up to the reverse pass), its adjoint, or
    /// `None` where it is zero (the node does not influence the output).
    pub of_node: Vec<Option<NodeId>>,
}

impl Adjoints {
    pub fn of(&self, id: NodeId) -> Option<NodeId> {
        self.of_node.get(id.index()).copied().flatten()
    }
}

/// Appends the backward pass of `output` to the graph.
pub fn reverse(g: &mut Graph, output: NodeId) -> Adjoints {
    let forward_len = g.len();
    let active = g.active();
    g.phase = Phase::Reverse;
    let mut adjoint: Vec<Option<NodeId>> = vec![None; forward_len];
    if active[output.index()] {
        adjoint[output.index()] = Some(g.add(Op::Upstream, Vec::new()));
    }
    for id in g.ids().take(forward_len).rev() {
        let (Some(upstream), Op::Prim(prim)) = (adjoint[id.index()], g.op(id).clone()) else {
            continue;
        };
        let args = g.args(id).to_vec();
        let local_grads = (prim.rule().partials)(g, &args, id);
        for (input, local_grad) in args.into_iter().zip(local_grads) {
            let Some(local_grad) = local_grad else { continue };
            if !active[input.index()] {
                continue; // constants get no gradient, and no code for one
            }
            let contribution = g.mul(upstream, local_grad);
            adjoint[input.index()] = Some(match adjoint[input.index()] {
                // a reused variable: its gradients add up
                Some(earlier) => g.sum(earlier, contribution),
                None => contribution,
            });
        }
    }
    Adjoints { of_node: adjoint }
}
