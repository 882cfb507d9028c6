//! Where a loop nest keeps its saved values: one buffer for the whole nest.
//!
//! The reverse pass saves a value of a loop body in a per-iteration stack of that loop
//! ([`Op::Stacked`]); in a loop nested in another, that stack is itself a value of the
//! outer body, saved in a stack of the outer loop: a `Vec` of `Vec`s, one allocation per
//! outer iteration. Where every inner loop of the nest runs the same number of times in
//! each iteration (its bounds are computed before the nest), the nest keeps one flat
//! buffer instead, `trip(outer) · trip(inner) · …` entries allocated once before the
//! outermost loop, the innermost iteration writing at
//! `(p_outer · trip(inner) + p_inner)` and the backward pass reading there.
//!
//! This analysis finds such nests; the code back end lays them out. The graph is
//! unchanged: the flat buffer is the outer stack, the inner stacks are not emitted, and
//! a read `s[a][b]` of the outer stack is written `s[a * trip + b]`.

use std::collections::{HashMap, HashSet};

use crate::ir::{Graph, Len, NodeId, Op, RegionId, Ty};

/// A loop nest whose saved value has one flat buffer.
#[derive(Clone, Debug)]
pub struct Nest {
    /// The loops, outermost first (all `for` loops).
    pub levels: Vec<NodeId>,
    /// The stacks of the value, outermost first: the first is the flat buffer (a
    /// top-level node, in the cache), the others are not emitted.
    pub stacks: Vec<NodeId>,
    /// The value the innermost loop saves.
    pub saved: NodeId,
}

/// The nests of a graph with one flat buffer each, and the nodes that read them.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    pub nests: Vec<Nest>,
    /// The flat buffer (a nest's outermost stack) → its nest.
    pub buffers: HashMap<NodeId, usize>,
    /// The inner stacks of the nests (not emitted).
    pub inner: HashSet<NodeId>,
    /// The reads of a row of a buffer, `s[a]` of `s[a][b]` (not emitted).
    pub rows: HashSet<NodeId>,
    /// A read of an element, `s[a][b]`, by node.
    pub reads: HashMap<NodeId, Read>,
}

/// A read of an element of a nest's buffer, `s[a][b]` of the graph.
#[derive(Clone, Debug)]
pub struct Read {
    pub nest: usize,
    /// The position at each level (`a`, `b`), outermost first.
    pub positions: Vec<NodeId>,
    /// The backward loop that runs each level again (whose bounds give its trip count
    /// where the read is), outermost first.
    pub loops: Vec<NodeId>,
}

impl Layout {
    /// The nest whose innermost loop is `node`.
    pub fn innermost(&self, node: NodeId) -> impl Iterator<Item = &Nest> {
        self.nests.iter().filter(move |n| n.levels.last() == Some(&node))
    }

    /// The type a buffer is kept as: a `Vec` of the saved value's type.
    pub fn buffer_ty(&self, g: &Graph, id: NodeId) -> Option<Ty> {
        let nest = &self.nests[*self.buffers.get(&id)?];
        Some(Ty::Array(Box::new(g.ty(nest.saved).clone()), Len::Runtime))
    }
}

/// Whether an integer is computed from values computed before any loop, by integer
/// arithmetic, casts and lengths (`(xs.len() + d - 1) / d`), at most `depth` operations deep:
/// the same in every iteration of a nest, and computed again before it.
pub fn invariant(g: &Graph, id: NodeId, depth: usize) -> bool {
    g.is_free(id)
        || g.region_of(id) == RegionId::TOP
        || depth > 0
            && matches!(g.op(id), Op::Len | Op::IntBin(_) | Op::IntCast(_))
            && g.args(id).iter().all(|&a| invariant(g, a, depth - 1))
}

/// The nests of `g` that can be laid out flat, given which nodes are live.
pub fn layout(g: &Graph, live: &[bool]) -> Layout {
    let mut users: Vec<Vec<NodeId>> = vec![Vec::new(); g.len()];
    for id in g.ids().filter(|id| live[id.index()]) {
        for &arg in g.args(id) {
            users[arg.index()].push(id);
        }
    }
    let for_loop = |id: NodeId| matches!(g.op(id), Op::Loop { .. });
    // Computed before the nest (or from such values by integer arithmetic and lengths,
    // `xs.len()`): the same in every iteration of it.
    let invariant = |id: NodeId| invariant(g, id, 8);
    // The backward loop running a forward loop's iterations again, around `region`.
    let mirror = |level: NodeId, region: RegionId| -> Option<NodeId> {
        let index = *g.mirror_index.get(&g.body_of(level)?)?;
        let body = g.region_of(index);
        let mut at = Some(region);
        while let Some(r) = at {
            if r == body {
                return g.region(body).owner;
            }
            at = g.region(r).parent;
        }
        None
    };
    let saved_by = |stack: NodeId| -> Option<NodeId> {
        let Op::Stacked(k) = *g.op(stack) else { return None };
        let body = g.body_of(g.args(stack)[0])?;
        g.region(body).stacked.get(k).copied()
    };
    let mut layout = Layout::default();
    for top in g.ids() {
        if !live[top.index()] || !matches!(g.op(top), Op::Stacked(_)) || g.region_of(top) != RegionId::TOP {
            continue;
        }
        let outer = g.args(top)[0];
        if !for_loop(outer) {
            continue;
        }
        let (mut levels, mut stacks) = (vec![outer], vec![top]);
        let Some(mut saved) = saved_by(top) else { continue };
        // Down the nest while the saved value is an inner loop's stack of run-time length
        // that nothing but the outer stack reads.
        while let Op::Stacked(_) = g.op(saved) {
            let inner = g.args(saved)[0];
            let runtime = matches!(g.ty(saved), Ty::Array(_, Len::Runtime));
            if !for_loop(inner)
                || !runtime
                || !users[saved.index()].is_empty()
                || !g.args(inner)[..2].iter().all(|&b| invariant(b))
            {
                break;
            }
            let Some(next) = saved_by(saved) else { break };
            levels.push(inner);
            stacks.push(saved);
            saved = next;
        }
        if levels.len() < 2
            || levels
                .iter()
                .any(|&l| g.body_of(l).and_then(|b| g.region(b).index).is_none())
        {
            continue;
        }
        // Every read goes down to an element: `s[a][b]`, never a row on its own.
        let mut rows = Vec::new();
        let mut reads = Vec::new();
        let mut frontier = vec![(top, Vec::new())];
        let mut valid = true;
        for depth in 0..levels.len() {
            let mut next = Vec::new();
            for (node, positions) in frontier {
                if depth > 0 {
                    rows.push(node);
                }
                for &user in &users[node.index()] {
                    if g.op(user) != &Op::Index || g.args(user).len() != 2 || g.args(user)[0] != node {
                        valid = false;
                    }
                    let mut positions: Vec<NodeId> = positions.clone();
                    positions.push(g.args(user)[1]);
                    next.push((user, positions));
                }
            }
            frontier = next;
        }
        if !valid {
            continue;
        }
        let nest = layout.nests.len();
        for (read, positions) in frontier {
            let loops: Option<Vec<NodeId>> = levels.iter().map(|&l| mirror(l, g.region_of(read))).collect();
            let Some(loops) = loops else {
                valid = false;
                break;
            };
            reads.push((
                read,
                Read {
                    nest,
                    positions,
                    loops,
                },
            ));
        }
        if !valid {
            continue;
        }
        layout.buffers.insert(top, nest);
        layout.inner.extend(stacks[1..].iter().copied());
        layout.rows.extend(rows);
        layout.reads.extend(reads);
        layout.nests.push(Nest {
            levels,
            stacks,
            saved,
        });
    }
    layout
}
