//! Vector-Jacobian products: for each node, what flows back into each input, from the
//! operation table's rows. No Jacobian is ever formed.

use crate::ir::{At, Graph, NodeId, Op, Phase};
use crate::ops::tensor::TensorOp;
use crate::ops::Prim;

/// What flows back into one input of a node.
pub enum Grad {
    /// The whole gradient of the input.
    Value(NodeId),
    /// A gradient for one element of an array input: `d_array[indices…] += value`.
    AtIndex(NodeId, Vec<NodeId>),
}

/// The vector-Jacobian product of node `id` (inputs `args`) with its adjoint `upstream`:
/// for each input, by position, what flows into its gradient. For primitives that is
/// `upstream × local_grad` from the table's row; array operations move gradients between
/// elements — a gradient has its variable's shape, and no Jacobian is ever formed.
pub fn vjp(g: &mut Graph, id: NodeId, args: &[NodeId], upstream: NodeId) -> Vec<(usize, Grad)> {
    match g.op(id).clone() {
        // On arrays, element by element (the Jacobian is diagonal).
        Op::Prim(prim) if g.ty(id).is_tensor() => elementwise(g, prim, id, args, upstream)
            .into_iter()
            .map(|(k, contribution)| (k, Grad::Value(contribution)))
            .collect(),
        Op::Tensor(op) => tensor(g, op, id, args, upstream)
            .into_iter()
            .map(|(k, contribution)| (k, Grad::Value(contribution)))
            .collect(),
        Op::Prim(prim) => local_gradients(g, prim, id, args)
            .into_iter()
            .enumerate()
            .filter_map(|(k, local_grad)| Some((k, Grad::Value(g.mul(upstream, local_grad?)))))
            .collect(),
        // y = a[i]: the gradient of a[i] grows by dy; the other elements get nothing.
        Op::Index => vec![(0, Grad::AtIndex(upstream, args[1..].to_vec()))],
        // b = a with a[i] = v: v gets db[i]; a gets db, except at i (overwritten).
        Op::Update => {
            let indices = &args[2..];
            let into_value = g.index(upstream, indices);
            let zero = g.zeros_like(args[1]);
            let mut update_args = vec![upstream, zero];
            update_args.extend_from_slice(indices);
            let into_array = g.add(Op::Update, update_args);
            vec![(1, Grad::Value(into_value)), (0, Grad::Value(into_array))]
        }
        // b = a with v pushed at a's length n: v gets db[n]; a gets db with db[n] zero (an
        // array one longer than a: every earlier use of a indexes below n, and the zero
        // element is never read), so that it is updated in place.
        Op::Push => {
            let into_value = g.index(upstream, &[args[2]]);
            let zero = g.zeros_like(args[1]);
            let into_array = g.add(Op::Update, vec![upstream, zero, args[2]]);
            vec![(1, Grad::Value(into_value)), (0, Grad::Value(into_array))]
        }
        Op::ArrayLit => (0..args.len())
            .map(|k| {
                let position = g.int(k as i64);
                (k, Grad::Value(g.index(upstream, &[position])))
            })
            .collect(),
        // [v; n]: v is in every element.
        Op::ArrayRepeat(_) => vec![(0, Grad::Value(g.add(Op::Sum, vec![upstream])))],
        _ => Vec::new(),
    }
}

/// ∂out/∂argᵢ of a primitive node, from its row: `None` where there is none.
fn local_gradients(g: &mut Graph, prim: Prim, id: NodeId, args: &[NodeId]) -> Vec<Option<NodeId>> {
    let at = At {
        op: None,
        args,
        out: id,
        upstream: None,
    };
    prim.rule()
        .partials
        .iter()
        .map(|d| g.derivative(d, &at))
        .collect()
}

/// The VJP of an array operation of the table's array part.
fn tensor(
    g: &mut Graph,
    op: TensorOp,
    id: NodeId,
    args: &[NodeId],
    upstream: NodeId,
) -> Vec<(usize, NodeId)> {
    let rank = |k: usize| args.get(k).map_or(0, |&a| g.ty(a).rank());
    let at = At {
        op: Some(op),
        args,
        out: id,
        upstream: Some(upstream),
    };
    op.vjp((rank(0), rank(1)))
        .iter()
        .enumerate()
        .filter_map(|(k, d)| Some((k, g.derivative(d, &at)?)))
        .collect()
}

/// The VJP of a scalar operation applied element by element to arrays: the scalar rule's
/// local gradients, which the graph computes element by element on arrays, times the
/// upstream gradient element by element — the diagonal of the Jacobian, never the Jacobian.
/// A broadcast argument (a float, a bias row) gets its gradient summed back to its shape.
fn elementwise(
    g: &mut Graph,
    prim: Prim,
    id: NodeId,
    args: &[NodeId],
    upstream: NodeId,
) -> Vec<(usize, NodeId)> {
    let local_grads = local_gradients(g, prim, id, args);
    let mut out = Vec::new();
    for (k, local_grad) in local_grads.into_iter().enumerate() {
        let Some(local_grad) = local_grad else { continue };
        let contribution = g.mul(upstream, local_grad);
        if let Some(mut contribution) = reduce_to(g, contribution, args[k]) {
            // Beside another array, this one may have been stretched along its length-1
            // axes (a `(1, n)` bias row over a batch, an `(n, 1)` column plus a length-`m`
            // vector; ndarray broadcasts those too): sum back over them, at run time, where
            // the shapes say so. (Axes that broadcasting added in front are summed above.)
            let beside_another_array = args.iter().any(|&a| a != args[k] && g.ty(a).is_tensor());
            if g.ty(args[k]).is_tensor() && beside_another_array {
                // Only the shape is needed: the backward pass keeps `[usize; rank]`, not the
                // array.
                let like = shape_of(g, args[k]);
                contribution = g.tensor(TensorOp::Unbroadcast, &[contribution, like]);
            }
            out.push((k, contribution));
        }
    }
    out
}

/// A gradient of the broadcast shape, summed back to the shape of `like`: over the leading
/// axes that broadcasting added (`d.sum_axis(Axis(0))` for a bias row), over everything for
/// a float. `None` for a zero.
fn reduce_to(g: &mut Graph, mut gradient: NodeId, like: NodeId) -> Option<NodeId> {
    if g.is_const(gradient, 0.0) {
        return None;
    }
    let target = g.ty(like).rank();
    let have = g.ty(gradient).rank();
    if target == 0 && have > 0 {
        return Some(g.tensor(TensorOp::Sum, &[gradient]));
    }
    if have == 0 && target > 0 {
        // A float spread over the array (a constant local gradient times a float upstream).
        return Some(g.fill(gradient, like));
    }
    for _ in target..have {
        gradient = g.tensor(TensorOp::SumAxis(0), &[gradient]);
    }
    Some(gradient)
}

/// The shape of the forward array `id`, computed beside it in the forward pass (so that the
/// backward pass keeps `[usize; rank]` rather than the array).
fn shape_of(g: &mut Graph, id: NodeId) -> NodeId {
    let (current, phase) = (g.current, g.phase);
    g.current = g.region_of(id);
    g.phase = Phase::Forward;
    let shape = g.tensor(TensorOp::ShapeOf, &[id]);
    g.current = current;
    g.phase = phase;
    shape
}
