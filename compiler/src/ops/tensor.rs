//! The rule table's array part: operations on whole ndarray arrays and their
//! vector-Jacobian products.
//!
//! No Jacobian is ever formed. An element-by-element operation (`&a + &b`, `z.mapv(f64::exp)`,
//! `relu(&z)`) is an ordinary [`Prim`] node of array type: its Jacobian is diagonal, so its
//! VJP is the scalar rule's local gradient, computed element by element and multiplied by
//! the upstream gradient element by element ([`elementwise_vjp`]) — the same rows of the
//! table, hence the same kink conventions. What is left to this table are the operations
//! that mix elements: products, transposes, sums, the softmax and the losses. Each row's
//! VJP is written as graph nodes (mostly more rows of this table), so the backward pass reads
//! like the lecture's `dW = dD.dot(X.T)`; the VJPs of more than a line are run-time functions
//! of `chainrule::__private::tensor` (rows marked backward-only).
//!
//! Every gradient has its variable's shape: where a value was broadcast (a bias row added to
//! a batch, a scalar times an array), its gradient is summed back over the broadcast axes.
//!
//! Adding an operation: a variant of [`TensorOp`], its row in [`TENSOR_RULES`] (in the order
//! of [`TensorOp::index`]), how `parse` reads it, and a row in `tests/tensors.rs`.

use crate::ir::{Graph, NodeId, Op, Ty};
use crate::ops::Prim;

/// An operation on whole arrays. Axis numbers are those the user wrote.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TensorOp {
    /// `a.dot(&b)`: matrix·matrix, matrix·vector, vector·matrix, vector·vector.
    Dot,
    /// `a.t()`
    T,
    /// `a.sum()`
    Sum,
    /// `a.mean().unwrap()`
    Mean,
    /// `a.sum_axis(Axis(k))`
    SumAxis(u8),
    /// `a.insert_axis(Axis(k))` (on a view: `a.view().insert_axis(Axis(k))`)
    InsertAxis(u8),
    /// `chainrule::softmax(&z)`, row by row.
    Softmax,
    /// `chainrule::log_softmax(&z)`
    LogSoftmax,
    /// `chainrule::cross_entropy(&logits, &labels)`
    CrossEntropy,
    /// `chainrule::svm_loss(&scores, &labels)`
    SvmLoss,
    // Backward-only operations: the VJPs' building blocks.
    /// args [value, like]: `like`'s shape, filled with the float `value`.
    Fill,
    /// args [a, b]: the outer product a bᵀ of two vectors.
    Outer,
    /// args [d, like]: `d` spread back over the axis `like` was summed over.
    SpreadAxis(u8),
    /// The number of elements, as a float (`a.len() as f64`).
    Count,
    /// args [out, d]
    SoftmaxBackward,
    /// args [out, d]
    LogSoftmaxBackward,
    /// args [logits, labels, d]
    CrossEntropyBackward,
    /// args [scores, labels, d]
    SvmLossBackward,
    /// args [d, like]: `d` summed over the axes where `like` has length 1 and `d` does not
    /// (`like` was stretched there by broadcasting: a `(1, n)` bias row over a batch).
    Unbroadcast,
}

/// How the user writes an operation, and how generated code writes it back.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TensorSyntax {
    /// `a.dot(&b)`: the receiver is argument 0.
    Method,
    /// `chainrule::softmax(&z)`
    Function,
    /// Only in backward passes.
    Backward,
}

/// The VJP of one node: for each argument, by position, what flows into its gradient.
pub type Vjp = fn(&mut Graph, TensorOp, &[NodeId], NodeId, NodeId) -> Vec<(usize, NodeId)>;

pub struct TensorRule {
    pub name: &'static str,
    pub syntax: TensorSyntax,
    /// The number of arguments (a method's receiver included).
    pub arity: usize,
    /// The result's type from the arguments' types.
    pub result: fn(TensorOp, &[Ty]) -> Ty,
    /// Given the graph, the operation, its arguments, its output and its upstream gradient.
    pub vjp: Vjp,
}

impl TensorOp {
    fn index(self) -> usize {
        use TensorOp::*;
        match self {
            Dot => 0,
            T => 1,
            Sum => 2,
            Mean => 3,
            SumAxis(_) => 4,
            InsertAxis(_) => 5,
            Softmax => 6,
            LogSoftmax => 7,
            CrossEntropy => 8,
            SvmLoss => 9,
            Fill => 10,
            Outer => 11,
            SpreadAxis(_) => 12,
            Count => 13,
            SoftmaxBackward => 14,
            LogSoftmaxBackward => 15,
            CrossEntropyBackward => 16,
            SvmLossBackward => 17,
            Unbroadcast => 18,
        }
    }

    pub fn rule(self) -> &'static TensorRule {
        &TENSOR_RULES[self.index()]
    }

    pub fn result(self, args: &[Ty]) -> Ty {
        (self.rule().result)(self, args)
    }
}

fn rank(args: &[Ty], k: usize) -> u8 {
    args.get(k).map(Ty::rank).unwrap_or(0)
}

fn same_as_first(_: TensorOp, args: &[Ty]) -> Ty {
    args.first().cloned().unwrap_or(Ty::Float)
}

fn float(_: TensorOp, _: &[Ty]) -> Ty {
    Ty::Float
}

fn no_vjp(_: &mut Graph, _: TensorOp, _: &[NodeId], _: NodeId, _: NodeId) -> Vec<(usize, NodeId)> {
    Vec::new()
}

/// One row per [`TensorOp`], in the order of [`TensorOp::index`].
pub static TENSOR_RULES: &[TensorRule] = &[
    // y = a·b. Matrices: da = dy·bᵀ, db = aᵀ·dy (the lecture's dW = dD.dot(X.T)). A vector
    // times a matrix and back: outer products where a matrix was multiplied by a vector.
    TensorRule {
        name: "dot",
        syntax: TensorSyntax::Method,
        arity: 2,
        result: |_, args| match (rank(args, 0), rank(args, 1)) {
            (2, 2) => Ty::tensor(2),
            (1, 1) => Ty::Float,
            _ => Ty::tensor(1),
        },
        vjp: |g, _, x, _, d| {
            let (a, b) = (x[0], x[1]);
            match (g.ty(a).rank(), g.ty(b).rank()) {
                (2, 2) => {
                    let b_t = g.tensor(TensorOp::T, &[b]);
                    let a_t = g.tensor(TensorOp::T, &[a]);
                    let into_a = g.tensor(TensorOp::Dot, &[d, b_t]);
                    let into_b = g.tensor(TensorOp::Dot, &[a_t, d]);
                    vec![(0, into_a), (1, into_b)]
                }
                // y = A v: dA = dy vᵀ, dv = Aᵀ dy.
                (2, 1) => {
                    let a_t = g.tensor(TensorOp::T, &[a]);
                    let into_a = g.tensor(TensorOp::Outer, &[d, b]);
                    let into_b = g.tensor(TensorOp::Dot, &[a_t, d]);
                    vec![(0, into_a), (1, into_b)]
                }
                // y = v A: dv = A dy, dA = v dyᵀ.
                (1, 2) => {
                    let into_a = g.tensor(TensorOp::Dot, &[b, d]);
                    let into_b = g.tensor(TensorOp::Outer, &[a, d]);
                    vec![(0, into_a), (1, into_b)]
                }
                // y = v·w, a float: dv = dy w, dw = dy v.
                _ => {
                    let into_a = g.mul(b, d);
                    let into_b = g.mul(a, d);
                    vec![(0, into_a), (1, into_b)]
                }
            }
        },
    },
    TensorRule {
        name: "t",
        syntax: TensorSyntax::Method,
        arity: 1,
        result: same_as_first,
        vjp: |g, _, _, _, d| vec![(0, g.tensor(TensorOp::T, &[d]))],
    },
    // A sum distributes: every element gets the upstream gradient.
    TensorRule {
        name: "sum",
        syntax: TensorSyntax::Method,
        arity: 1,
        result: float,
        vjp: |g, _, x, _, d| vec![(0, fill(g, d, x[0]))],
    },
    TensorRule {
        name: "mean",
        syntax: TensorSyntax::Method,
        arity: 1,
        result: float,
        vjp: |g, _, x, _, d| {
            let count = g.tensor(TensorOp::Count, &[x[0]]);
            let share = g.div(d, count);
            vec![(0, fill(g, share, x[0]))]
        },
    },
    // Summing over an axis: each element gets the gradient of its sum.
    TensorRule {
        name: "sum_axis",
        syntax: TensorSyntax::Method,
        arity: 1,
        result: |_, args| Ty::tensor(rank(args, 0).saturating_sub(1)),
        vjp: |g, op, x, _, d| {
            let TensorOp::SumAxis(axis) = op else {
                return Vec::new();
            };
            vec![(0, g.tensor(TensorOp::SpreadAxis(axis), &[d, x[0]]))]
        },
    },
    // A new axis of length 1, which broadcasting may have stretched: its gradient is summed
    // over that axis.
    TensorRule {
        name: "insert_axis",
        syntax: TensorSyntax::Method,
        arity: 1,
        result: |_, args| Ty::tensor(rank(args, 0) + 1),
        vjp: |g, op, _, _, d| {
            let TensorOp::InsertAxis(axis) = op else {
                return Vec::new();
            };
            vec![(0, g.tensor(TensorOp::SumAxis(axis), &[d]))]
        },
    },
    // From its value p: dz = p ⊙ (dp − Σ_row dp ⊙ p).
    TensorRule {
        name: "softmax",
        syntax: TensorSyntax::Function,
        arity: 1,
        result: same_as_first,
        vjp: |g, _, _, out, d| vec![(0, g.tensor(TensorOp::SoftmaxBackward, &[out, d]))],
    },
    // From its value l: dz = dl − softmax(z) Σ_row dl, with softmax(z) = exp(l).
    TensorRule {
        name: "log_softmax",
        syntax: TensorSyntax::Function,
        arity: 1,
        result: same_as_first,
        vjp: |g, _, _, out, d| vec![(0, g.tensor(TensorOp::LogSoftmaxBackward, &[out, d]))],
    },
    // The labels get no gradient; the logits get (softmax − one-hot) / rows.
    TensorRule {
        name: "cross_entropy",
        syntax: TensorSyntax::Function,
        arity: 2,
        result: float,
        vjp: |g, _, x, _, d| vec![(0, g.tensor(TensorOp::CrossEntropyBackward, &[x[0], x[1], d]))],
    },
    // +1 to each class violating the margin, −(their number) to the label, over the rows.
    TensorRule {
        name: "svm_loss",
        syntax: TensorSyntax::Function,
        arity: 2,
        result: float,
        vjp: |g, _, x, _, d| vec![(0, g.tensor(TensorOp::SvmLossBackward, &[x[0], x[1], d]))],
    },
    TensorRule {
        name: "fill",
        syntax: TensorSyntax::Backward,
        arity: 2,
        result: |_, args| Ty::tensor(rank(args, 1)),
        vjp: no_vjp,
    },
    TensorRule {
        name: "outer",
        syntax: TensorSyntax::Backward,
        arity: 2,
        result: |_, _| Ty::tensor(2),
        vjp: no_vjp,
    },
    TensorRule {
        name: "spread_axis",
        syntax: TensorSyntax::Backward,
        arity: 2,
        result: |_, args| Ty::tensor(rank(args, 1)),
        vjp: no_vjp,
    },
    TensorRule {
        name: "count",
        syntax: TensorSyntax::Backward,
        arity: 1,
        result: float,
        vjp: no_vjp,
    },
    TensorRule {
        name: "softmax_backward",
        syntax: TensorSyntax::Backward,
        arity: 2,
        result: same_as_first,
        vjp: no_vjp,
    },
    TensorRule {
        name: "log_softmax_backward",
        syntax: TensorSyntax::Backward,
        arity: 2,
        result: same_as_first,
        vjp: no_vjp,
    },
    TensorRule {
        name: "cross_entropy_backward",
        syntax: TensorSyntax::Backward,
        arity: 3,
        result: same_as_first,
        vjp: no_vjp,
    },
    TensorRule {
        name: "svm_loss_backward",
        syntax: TensorSyntax::Backward,
        arity: 3,
        result: same_as_first,
        vjp: no_vjp,
    },
    TensorRule {
        name: "unbroadcast",
        syntax: TensorSyntax::Backward,
        arity: 2,
        result: |_, args| args.get(1).cloned().unwrap_or(Ty::Float),
        vjp: no_vjp,
    },
];

/// The array operation a method name names (`dot`, `t`, `sum`, …), with its axis where it
/// takes one (filled in by the reader).
pub fn method(name: &str) -> Option<TensorOp> {
    Some(match name {
        "dot" => TensorOp::Dot,
        "t" => TensorOp::T,
        "sum" => TensorOp::Sum,
        "mean" => TensorOp::Mean,
        "sum_axis" => TensorOp::SumAxis(0),
        "insert_axis" => TensorOp::InsertAxis(0),
        _ => return None,
    })
}

/// The array function of chainrule a name names (`softmax`, `cross_entropy`, …).
pub fn function(name: &str) -> Option<TensorOp> {
    TENSOR_RULES
        .iter()
        .position(|rule| rule.syntax == TensorSyntax::Function && rule.name == name)
        .and_then(|index| ALL.iter().copied().find(|op| op.index() == index))
}

/// Every operation (with axis 0 where it takes one), in table order.
const ALL: &[TensorOp] = &[
    TensorOp::Dot,
    TensorOp::T,
    TensorOp::Sum,
    TensorOp::Mean,
    TensorOp::SumAxis(0),
    TensorOp::InsertAxis(0),
    TensorOp::Softmax,
    TensorOp::LogSoftmax,
    TensorOp::CrossEntropy,
    TensorOp::SvmLoss,
    TensorOp::Fill,
    TensorOp::Outer,
    TensorOp::SpreadAxis(0),
    TensorOp::Count,
    TensorOp::SoftmaxBackward,
    TensorOp::LogSoftmaxBackward,
    TensorOp::CrossEntropyBackward,
    TensorOp::SvmLossBackward,
    TensorOp::Unbroadcast,
];

/// The VJP of an array operation of this table.
pub fn vjp(
    g: &mut Graph,
    op: TensorOp,
    id: NodeId,
    args: &[NodeId],
    upstream: NodeId,
) -> Vec<(usize, NodeId)> {
    (op.rule().vjp)(g, op, args, id, upstream)
}

/// The VJP of a scalar operation applied element by element to arrays: the scalar rule's
/// local gradients, which the graph computes element by element on arrays, times the
/// upstream gradient element by element — the diagonal of the Jacobian, never the Jacobian.
/// A broadcast argument (a float, a bias row) gets its gradient summed back to its shape.
pub fn elementwise_vjp(
    g: &mut Graph,
    prim: Prim,
    id: NodeId,
    args: &[NodeId],
    upstream: NodeId,
) -> Vec<(usize, NodeId)> {
    let local_grads = (prim.rule().partials)(g, args, id);
    let mut out = Vec::new();
    for (k, local_grad) in local_grads.into_iter().enumerate() {
        let Some(local_grad) = local_grad else { continue };
        let contribution = g.mul(upstream, local_grad);
        if let Some(mut contribution) = reduce_to(g, contribution, args[k]) {
            // Beside another array, this one may have been stretched along its length-1
            // axes (a `(1, n)` bias row over a batch, an `(n, 1)` column plus a length-`m`
            // vector; ndarray broadcasts those too): sum back over them, at run time, where
            // the shapes say so. (Axes that broadcasting added in front are summed above.)
            // Beside an array of fewer axes, only a parameter is checked: the check needs
            // the value's shape in the backward pass, which would keep every intermediate
            // (`x.dot(w1)` plus a bias row) in the cache for a stretch that needs a
            // length-1 axis a product rarely has.
            let rank = g.ty(args[k]).rank();
            let is_param = matches!(g.op(args[k]), Op::Param(_));
            let beside_another_array = args
                .iter()
                .any(|&a| a != args[k] && g.ty(a).is_tensor() && (is_param || g.ty(a).rank() >= rank));
            if g.ty(args[k]).is_tensor() && beside_another_array {
                contribution = g.tensor(TensorOp::Unbroadcast, &[contribution, args[k]]);
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
        return Some(fill(g, gradient, like));
    }
    for _ in target..have {
        gradient = g.tensor(TensorOp::SumAxis(0), &[gradient]);
    }
    Some(gradient)
}

/// An array of `like`'s shape filled with `value`. The shape is taken from the earliest
/// array known to have it: through element-by-element operations on one array (`&w * &w`
/// has `w`'s shape), so that the backward pass keeps `w` rather than `w * w`.
fn fill(g: &mut Graph, value: NodeId, mut like: NodeId) -> NodeId {
    loop {
        let arrays: Vec<NodeId> = g
            .args(like)
            .iter()
            .copied()
            .filter(|&a| g.ty(a).is_tensor())
            .collect();
        let one_array = arrays
            .first()
            .filter(|&&a| arrays.iter().all(|&b| b == a))
            .copied();
        match (g.op(like), one_array) {
            (Op::Prim(_), Some(array)) if g.ty(array).rank() == g.ty(like).rank() => like = array,
            _ => return g.tensor(TensorOp::Fill, &[value, like]),
        }
    }
}

impl Graph {
    /// An array operation node.
    pub fn tensor(&mut self, op: TensorOp, args: &[NodeId]) -> NodeId {
        self.add(Op::Tensor(op), args.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_follow_the_index() {
        for (index, op) in ALL.iter().enumerate() {
            assert_eq!(op.index(), index);
        }
        assert_eq!(ALL.len(), TENSOR_RULES.len());
        assert_eq!(function("softmax"), Some(TensorOp::Softmax));
        assert_eq!(function("cross_entropy"), Some(TensorOp::CrossEntropy));
        assert_eq!(function("fill"), None);
        assert_eq!(method("dot"), Some(TensorOp::Dot));
    }
}
