//! The table's derivatives ([`D`]) as graph nodes: what the reverse pass (and, later,
//! forward mode) builds from a row, through the builder and so through its peephole rules.

use crate::ops::tensor::TensorOp;
use crate::ops::D;

use super::{Graph, NodeId, Op};

/// What a derivative's expression refers to: the node's operation (for an axis), its
/// inputs, its output and, for array operations, the upstream gradient.
pub struct At<'a> {
    pub op: Option<TensorOp>,
    pub args: &'a [NodeId],
    pub out: NodeId,
    pub upstream: Option<NodeId>,
}

impl Graph {
    /// The nodes of `d` at `at`; `None` for no gradient ([`D::NoGrad`], or an input that
    /// is not there).
    pub fn derivative(&mut self, d: &D, at: &At) -> Option<NodeId> {
        Some(match *d {
            D::X(k) => *at.args.get(k)?,
            D::Out => at.out,
            D::Up => at.upstream?,
            D::C(value) => self.constant(value),
            D::Std(name, value) => self.std_constant(name, value),
            D::P(prim, args) => {
                let args = self.derivatives(args, at)?;
                self.prim(prim, &args)
            }
            D::If(cmp, [lhs, rhs, then, otherwise]) => {
                let [lhs, rhs, then, otherwise] = [lhs, rhs, then, otherwise].map(|d| self.derivative(d, at));
                self.routed(cmp, lhs?, rhs?, then?, otherwise?)
            }
            D::IfConst(k, [constant, otherwise]) => {
                let is_constant = self.const_value(*at.args.get(k)?).is_some_and(|c| !c.is_nan());
                self.derivative(if is_constant { constant } else { otherwise }, at)?
            }
            D::IntAsFloat(k) => self.int_to_float(*at.args.get(k)?),
            D::IntPlus(k, delta) => self.int_offset(*at.args.get(k)?, delta),
            D::Arr(op, args) => {
                let op = match at.op.and_then(TensorOp::axis) {
                    Some(axis) => op.with_axis(axis),
                    None => op,
                };
                let args = self.derivatives(args, at)?;
                self.tensor(op, &args)
            }
            D::Fill([value, like]) => {
                let (value, like) = (self.derivative(value, at)?, self.derivative(like, at)?);
                self.fill(value, like)
            }
            D::NoGrad => return None,
        })
    }

    fn derivatives(&mut self, ds: &[D], at: &At) -> Option<Vec<NodeId>> {
        ds.iter().map(|d| self.derivative(d, at)).collect()
    }

    /// An array operation node.
    pub fn tensor(&mut self, op: TensorOp, args: &[NodeId]) -> NodeId {
        self.add(Op::Tensor(op), args.to_vec())
    }

    /// An array of `like`'s shape filled with `value`. The shape is taken from the earliest
    /// array known to have it: through element-by-element operations on one array (`&w * &w`
    /// has `w`'s shape), so that the backward pass keeps `w` rather than `w * w`.
    pub fn fill(&mut self, value: NodeId, mut like: NodeId) -> NodeId {
        loop {
            let arrays: Vec<NodeId> = self
                .args(like)
                .iter()
                .copied()
                .filter(|&a| self.ty(a).is_tensor())
                .collect();
            let one_array = arrays
                .first()
                .filter(|&&a| arrays.iter().all(|&b| b == a))
                .copied();
            match (self.op(like), one_array) {
                (Op::Prim(_), Some(array)) if self.ty(array).rank() == self.ty(like).rank() => like = array,
                _ => return self.tensor(TensorOp::Fill, &[value, like]),
            }
        }
    }
}
