//! Analyses of the graph, which transformations and back ends read and no stage writes:
//! activity (which values carry gradients) and liveness (which values are needed).

use std::collections::{HashMap, HashSet};

pub mod layout;

use crate::ir::{Graph, NodeId, Op};

/// For every node, whether its value depends on a parameter the gradient is taken
/// with respect to (activity analysis: only such nodes carry gradients). Loops are
/// iterated to a fixed point, since a carried value becomes active through its body.
pub fn active(g: &Graph) -> Vec<bool> {
    activity(g, false)
}

/// [`active`] over a graph with its backward pass: a loop's stack of saved values is
/// active where the saved value is (forward mode over the reverse pass differentiates
/// the gradient, which reads them).
pub fn varied(g: &Graph) -> Vec<bool> {
    activity(g, true)
}

fn activity(g: &Graph, through_stacks: bool) -> Vec<bool> {
    let mut active = vec![false; g.len()];
    loop {
        let mut changed = false;
        for id in g.ids() {
            if active[id.index()]
                || !g.ty(id).is_differentiable()
                    && !matches!(g.op(id), Op::Branch { .. } | Op::Loop { .. } | Op::While { .. })
            {
                continue;
            }
            let node = g.node(id);
            let now = match &node.op {
                Op::Param(i) => g.params.get(*i).is_some_and(|p| p.wrt),
                Op::RegionParam(k) => {
                    let region = g.region(node.region);
                    let owner = region.owner.map(|o| (g.op(o).clone(), g.args(o).to_vec()));
                    let init_active = match owner {
                        Some((Op::Loop { .. }, args)) => args.get(2 + k).is_some_and(|a| active[a.index()]),
                        Some((Op::While { .. }, args)) => args.get(*k).is_some_and(|a| active[a.index()]),
                        _ => false,
                    };
                    let body_yield = match g.region(node.region).owner.map(|o| g.op(o).clone()) {
                        Some(Op::Loop { body, .. }) | Some(Op::While { body, .. }) => {
                            g.region(body).yields.get(*k).copied()
                        }
                        _ => None,
                    };
                    init_active || body_yield.is_some_and(|y| active[y.index()])
                }
                Op::Project(k) => {
                    let owner = node.args[0];
                    match g.op(owner) {
                        Op::Call { .. } => *k == 0 && g.args(owner).iter().any(|a| active[a.index()]),
                        // A call's gradient varies with its arguments (through its cache) and
                        // with its upstream.
                        Op::CallBackward { .. } => {
                            let (cache, upstream) = (g.args(owner)[0], g.args(owner)[1]);
                            let call = match g.op(cache) {
                                Op::Project(_) => Some(g.args(cache)[0]),
                                _ => None,
                            };
                            active[upstream.index()]
                                || call.is_some_and(|c| g.args(c).iter().any(|a| active[a.index()]))
                        }
                        Op::Branch { then, otherwise } => [*then, *otherwise]
                            .iter()
                            .any(|r| g.region(*r).yields.get(*k).is_some_and(|y| active[y.index()])),
                        Op::Loop { body, .. } => {
                            g.args(owner).get(2 + k).is_some_and(|a| active[a.index()])
                                || g.region(*body).yields.get(*k).is_some_and(|y| active[y.index()])
                        }
                        Op::While { body, .. } => {
                            g.args(owner).get(*k).is_some_and(|a| active[a.index()])
                                || g.region(*body).yields.get(*k).is_some_and(|y| active[y.index()])
                        }
                        _ => false,
                    }
                }
                Op::Stacked(k) if through_stacks => g
                    .body_of(node.args[0])
                    .and_then(|body| g.region(body).stacked.get(*k))
                    .is_some_and(|saved| active[saved.index()]),
                Op::Stacked(_) => false,
                Op::Branch { .. } | Op::Loop { .. } | Op::While { .. } => false,
                _ => node.args.iter().any(|a| active[a.index()]),
            };
            if now {
                active[id.index()] = true;
                changed = true;
            }
        }
        if !changed {
            return active;
        }
    }
}

/// Which nodes are needed for the roots, and which outputs of each structured node.
pub fn liveness(
    g: &Graph,
    roots: impl IntoIterator<Item = NodeId>,
) -> (Vec<bool>, HashMap<NodeId, HashSet<usize>>) {
    let mut live = vec![false; g.len()];
    let mut slots: HashMap<NodeId, HashSet<usize>> = HashMap::new();
    let mut work: Vec<NodeId> = Vec::new();
    let mark = |id: NodeId, live: &mut Vec<bool>, work: &mut Vec<NodeId>| {
        if !live[id.index()] {
            live[id.index()] = true;
            work.push(id);
        }
    };
    for root in roots {
        mark(root, &mut live, &mut work);
    }
    while let Some(id) = work.pop() {
        let node = g.node(id);
        let mut slot = None;
        match &node.op {
            Op::Project(k) => {
                mark(node.args[0], &mut live, &mut work);
                slot = Some((node.args[0], *k));
            }
            Op::Stacked(k) => {
                mark(node.args[0], &mut live, &mut work);
                // Stacks are written at the iteration's index.
                if let Some(index) = g.body_of(node.args[0]).and_then(|b| g.region(b).index) {
                    mark(index, &mut live, &mut work);
                }
                if let Some(saved) = g
                    .body_of(node.args[0])
                    .and_then(|b| g.region(b).stacked.get(*k).copied())
                {
                    mark(saved, &mut live, &mut work);
                }
            }
            Op::RegionParam(k) => {
                if let Some(owner) = g.region(node.region).owner {
                    mark(owner, &mut live, &mut work);
                    slot = Some((owner, *k));
                }
            }
            Op::Branch { .. } => mark(node.args[0], &mut live, &mut work),
            // The bounds; the index is live when something reads it.
            Op::Loop { .. } => {
                mark(node.args[0], &mut live, &mut work);
                mark(node.args[1], &mut live, &mut work);
            }
            Op::While { cond, .. } => {
                if let Some(&c) = g.region(*cond).yields.first() {
                    mark(c, &mut live, &mut work);
                }
            }
            _ => {
                for &arg in &node.args {
                    mark(arg, &mut live, &mut work);
                }
            }
        }
        if let Some((owner, k)) = slot {
            if slots.entry(owner).or_default().insert(k) {
                match *g.op(owner) {
                    Op::Branch { then, otherwise } => {
                        for r in [then, otherwise] {
                            if let Some(&y) = g.region(r).yields.get(k) {
                                mark(y, &mut live, &mut work);
                            }
                        }
                    }
                    Op::Loop { body, .. } | Op::While { body, .. } => {
                        let first_init = if matches!(g.op(owner), Op::Loop { .. }) {
                            2
                        } else {
                            0
                        };
                        if let Some(&init) = g.args(owner).get(first_init + k) {
                            mark(init, &mut live, &mut work);
                        }
                        if let Some(&y) = g.region(body).yields.get(k) {
                            mark(y, &mut live, &mut work);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    (live, slots)
}

/// The outputs of a structured node that something reads, in order (from [`liveness`]'s
/// second result).
pub fn sorted_slots(slots: &HashMap<NodeId, HashSet<usize>>, node: NodeId) -> Vec<usize> {
    let mut sorted: Vec<usize> = slots
        .get(&node)
        .map(|s| s.iter().copied().collect())
        .unwrap_or_default();
    sorted.sort_unstable();
    sorted
}
