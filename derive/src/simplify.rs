//! Simplification: peephole rules applied to every node as it is built, and liveness.
//!
//! In the user's forward code only rewrites that keep every bit of the result are made
//! (constant folding of exactly rounded operations, `x·1 → x`, recognizing a written-out
//! sigmoid), so `f::forward` computes exactly what `f` does. Gradient code
//! ([`Phase::Reverse`]) may also drop zero terms (`x·0 → 0`, `x + 0 → x`), which is what
//! makes add distribute and max route visibly in the generated code.

use crate::ir::{Graph, NodeId, Op, Phase};
use crate::rules::Prim;

/// A simpler node computing `op` on `args`, if there is one.
pub fn peephole(g: &mut Graph, op: &Op, args: &[NodeId]) -> Option<NodeId> {
    match op {
        Op::Prim(prim) => prim_rules(g, *prim, args),
        Op::IntToFloat => match *g.op(args[0]) {
            Op::Int { named: None, offset } => Some(g.constant(offset as f64)),
            _ => None,
        },
        Op::Select(cmp) => {
            let [lhs, rhs, then, otherwise] = [args[0], args[1], args[2], args[3]];
            if let (Some(l), Some(r)) = (g.const_value(lhs), g.const_value(rhs)) {
                return Some(if cmp.eval(l, r) { then } else { otherwise });
            }
            (then == otherwise).then_some(then)
        }
        _ => None,
    }
}

fn prim_rules(g: &mut Graph, prim: Prim, args: &[NodeId]) -> Option<NodeId> {
    let rule = prim.rule();
    if rule.exact {
        let values: Option<Vec<f64>> = args.iter().map(|&a| g.const_value(a)).collect();
        if let Some(values) = values {
            return Some(g.constant((rule.eval)(&values)));
        }
    }
    let reverse = g.phase == Phase::Reverse;
    let is = |g: &Graph, id: NodeId, v: f64| g.is_const(id, v);
    let negated = |g: &Graph, id: NodeId| match g.op(id) {
        Op::Prim(Prim::Neg) => Some(g.args(id)[0]),
        _ => None,
    };
    match prim {
        Prim::Neg => negated(g, args[0]),
        Prim::Add => {
            let (a, b) = (args[0], args[1]);
            if reverse && is(g, b, 0.0) {
                Some(a)
            } else if reverse && is(g, a, 0.0) {
                Some(b)
            } else if a == b {
                // x + x = 2x exactly; a reused variable's two gradients read as one.
                let two = g.constant(2.0);
                Some(g.mul(two, a))
            } else if let Some(b) = negated(g, b) {
                Some(g.diff(a, b))
            } else {
                negated(g, a).map(|a| g.diff(b, a))
            }
        }
        Prim::Sub => {
            let (a, b) = (args[0], args[1]);
            if is(g, b, 0.0) && (reverse || g.const_value(b).is_some_and(|z| z.is_sign_positive())) {
                Some(a)
            } else if reverse && is(g, a, 0.0) {
                Some(g.neg(b))
            } else {
                negated(g, b).map(|b| g.sum(a, b))
            }
        }
        Prim::Mul => {
            let (a, b) = (args[0], args[1]);
            if is(g, b, 1.0) {
                Some(a)
            } else if is(g, a, 1.0) {
                Some(b)
            } else if is(g, b, -1.0) {
                Some(g.neg(a))
            } else if is(g, a, -1.0) {
                Some(g.neg(b))
            } else if reverse && (is(g, a, 0.0) || is(g, b, 0.0)) {
                Some(g.constant(0.0))
            } else if let Some(a) = negated(g, a) {
                let product = g.mul(a, b);
                Some(g.neg(product))
            } else if let Some(b) = negated(g, b) {
                let product = g.mul(a, b);
                Some(g.neg(product))
            } else if reverse && reciprocal(g, b).is_some() {
                // upstream × (1/b) → upstream / b: one rounding instead of two.
                reciprocal(g, b).map(|b| g.div(a, b))
            } else if reverse && reciprocal(g, a).is_some() {
                reciprocal(g, a).map(|a| g.div(b, a))
            } else if reverse {
                // upstream × (if c { p } else { q }) → if c { upstream × p } else { upstream × q }:
                // kinks then read as routing (`if m == a { d_m } else { 0.0 }`).
                push_into_select(g, a, b, false).or_else(|| push_into_select(g, b, a, true))
            } else {
                None
            }
        }
        Prim::Div => {
            let (a, b) = (args[0], args[1]);
            if is(g, b, 1.0) {
                Some(a)
            } else if reverse && is(g, a, 0.0) {
                Some(g.constant(0.0))
            } else if is(g, a, 1.0) {
                written_out_sigmoid(g, b)
            } else {
                None
            }
        }
        Prim::Recip => written_out_sigmoid(g, args[0]),
        _ => None,
    }
}

/// `b` if the node is `1 / b`.
fn reciprocal(g: &Graph, id: NodeId) -> Option<NodeId> {
    (g.op(id) == &Op::Prim(Prim::Div) && g.is_const(g.args(id)[0], 1.0)).then(|| g.args(id)[1])
}

/// `factor × select(c, p, q)` as `select(c, factor × p, factor × q)`, keeping the
/// factors' order (`select_first`: the select was the left factor).
fn push_into_select(g: &mut Graph, factor: NodeId, select: NodeId, select_first: bool) -> Option<NodeId> {
    let Op::Select(cmp) = *g.op(select) else {
        return None;
    };
    let [lhs, rhs, then, otherwise] = [
        g.args(select)[0],
        g.args(select)[1],
        g.args(select)[2],
        g.args(select)[3],
    ];
    let mut times = |arm: NodeId| {
        if select_first {
            g.mul(arm, factor)
        } else {
            g.mul(factor, arm)
        }
    };
    let then = times(then);
    let otherwise = times(otherwise);
    Some(g.select(cmp, lhs, rhs, then, otherwise))
}

/// `1 / (1 + e^−z)` (in any of its spellings: `1.0 + (-z).exp()`, `f64::exp(-z) + 1.0`,
/// `.recip()`) is σ(z): the same bits as `chainrule::sigmoid(z)`, and the derivative
/// σ(1 − σ) from the forward value instead of a second exp.
fn written_out_sigmoid(g: &mut Graph, denominator: NodeId) -> Option<NodeId> {
    if g.op(denominator) != &Op::Prim(Prim::Add) {
        return None;
    }
    let (a, b) = (g.args(denominator)[0], g.args(denominator)[1]);
    let exp = if g.is_const(a, 1.0) {
        b
    } else if g.is_const(b, 1.0) {
        a
    } else {
        return None;
    };
    if g.op(exp) != &Op::Prim(Prim::Exp) {
        return None;
    }
    let negated = g.args(exp)[0];
    if g.op(negated) != &Op::Prim(Prim::Neg) {
        return None;
    }
    let z = g.args(negated)[0];
    Some(g.prim(Prim::Sigmoid, &[z]))
}

/// Which nodes the roots need, transitively.
pub fn live(g: &Graph, roots: impl IntoIterator<Item = NodeId>) -> Vec<bool> {
    let mut live = vec![false; g.len()];
    for root in roots {
        live[root.index()] = true;
    }
    for id in g.ids().rev() {
        if live[id.index()] {
            for arg in g.args(id) {
                live[arg.index()] = true;
            }
        }
    }
    live
}
