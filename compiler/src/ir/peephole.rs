//! The builder's peephole rules, applied to every node as it is built.
//!
//! In the user's forward code only rewrites that keep every bit of the result are made
//! (constant folding of exactly rounded operations, `x·1 → x`, recognizing a written-out
//! sigmoid), so `f::forward` computes exactly what `f` does. Gradient code
//! ([`Phase::Reverse`]) may also drop zero terms (`x·0 → 0`, `x + 0 → x`), which is what
//! makes add distribute and max route visibly in the generated code.

use crate::ir::{Cmp, Graph, IntOp, NodeId, Op, Phase, Ty};
use crate::ops::Prim;

/// A simpler node computing `op` on `args`, if there is one.
pub fn peephole(g: &mut Graph, op: &Op, args: &[NodeId]) -> Option<NodeId> {
    match op {
        Op::Prim(prim) => prim_rules(g, *prim, args),
        Op::IntToFloat => match *g.op(args[0]) {
            Op::Int { named: None, offset } => Some(g.constant(offset as f64)),
            _ => None,
        },
        Op::IntBin(int_op) => int_rules(g, *int_op, args[0], args[1]),
        Op::Compare(cmp) => {
            if let (Some(l), Some(r)) = (g.const_value(args[0]), g.const_value(args[1])) {
                return Some(g.add(Op::Bool(cmp.eval(l, r)), Vec::new()));
            }
            match (g.int_value(args[0]), g.int_value(args[1])) {
                (Some(l), Some(r)) => Some(g.add(Op::Bool(cmp.eval(l, r)), Vec::new())),
                _ => None,
            }
        }
        Op::Not => match g.op(args[0]) {
            Op::Bool(b) => Some(g.add(Op::Bool(!b), Vec::new())),
            _ => None,
        },
        Op::Index => {
            // [a, b, c][1] is b; an element of zeros is zero.
            if let (Op::ArrayLit, [array, position]) = (g.op(args[0]), args) {
                let k = usize::try_from(g.int_value(*position)?).ok()?;
                return g.args(*array).get(k).copied();
            }
            (g.op(args[0]) == &Op::ZerosLike && g.ty(args[0]).element(args.len() - 1) == Ty::Float)
                .then(|| g.constant(0.0))
        }
        // In gradient code, an operation linear in an array that is zero is zero (the float
        // 0, which stands for an array of zeros wherever arrays and floats mix).
        Op::Tensor(tensor) if g.phase == Phase::Reverse => {
            let zero = |a: &NodeId| g.is_const(*a, 0.0) || is_zero_array(g, *a);
            let linear = tensor.rule().linear_in;
            linear
                .iter()
                .any(|&k| args.get(k).is_some_and(zero))
                .then(|| g.constant(0.0))
        }
        Op::Select(cmp) => {
            let [lhs, rhs, then, otherwise] = [args[0], args[1], args[2], args[3]];
            if let (Some(l), Some(r)) = (g.const_value(lhs), g.const_value(rhs)) {
                return Some(if cmp.eval(l, r) { then } else { otherwise });
            }
            if then == otherwise {
                return Some(then);
            }
            common_float_factor(g, *cmp, args)
        }
        Op::Choose => {
            let [cond, then, otherwise] = [args[0], args[1], args[2]];
            match g.op(cond) {
                Op::Bool(taken) => Some(if *taken { then } else { otherwise }),
                _ => (then == otherwise).then_some(then),
            }
        }
        _ => None,
    }
}

/// In the gradient of arrays, `if c { a × s } else { 0 }` (s a float, the same for every
/// element) as `(if c { a } else { 0 }) × s`, and likewise with `b × s` or 0 in either arm:
/// the select inside a `Zip` closure is then a choice between values already loaded, which
/// compiles to a vector blend, where a product computed in one arm only keeps the loop a
/// scalar branch (2× slower for a ReLU layer). Where s is infinite or NaN the unselected
/// elements get NaN instead of 0, as when `x·0 → 0` is not applied.
fn common_float_factor(g: &mut Graph, cmp: Cmp, args: &[NodeId]) -> Option<NodeId> {
    let [lhs, rhs, then, otherwise] = [args[0], args[1], args[2], args[3]];
    if g.phase != Phase::Reverse || !(g.ty(then).is_tensor() || g.ty(otherwise).is_tensor()) {
        return None;
    }
    let (then, otherwise, factor) = match (scaled_array(g, then), scaled_array(g, otherwise)) {
        (Some((a, s)), Some((b, t))) if s == t => (a, b, s),
        (Some((a, s)), None) if g.is_const(otherwise, 0.0) => (a, otherwise, s),
        (None, Some((b, s))) if g.is_const(then, 0.0) => (then, b, s),
        _ => return None,
    };
    let select = g.select(cmp, lhs, rhs, then, otherwise);
    Some(g.mul(select, factor))
}

/// Integer arithmetic: folded, and `i + 0`, `i - 0`, `i * 1` vanish (all exact).
fn int_rules(g: &mut Graph, op: IntOp, a: NodeId, b: NodeId) -> Option<NodeId> {
    match (g.op(a).clone(), g.int_value(b)) {
        (Op::Int { named, offset }, Some(k)) if matches!(op, IntOp::Add | IntOp::Sub) => {
            let offset = if op == IntOp::Add {
                offset.checked_add(k)?
            } else {
                offset.checked_sub(k)?
            };
            Some(g.add(Op::Int { named, offset }, Vec::new()))
        }
        (_, Some(0)) if matches!(op, IntOp::Add | IntOp::Sub) => Some(a),
        (_, Some(1)) if matches!(op, IntOp::Mul | IntOp::Div) => Some(a),
        _ => match (g.int_value(a), g.int_value(b)) {
            (Some(x), Some(y)) => Some(g.int(op.eval(x, y)?)),
            (Some(0), _) if op == IntOp::Add => Some(b),
            (Some(1), _) if op == IntOp::Mul => Some(b),
            _ => None,
        },
    }
}

/// `like` if the node is an array of `like`'s shape filled with one value.
fn filled_like(g: &Graph, id: NodeId) -> Option<NodeId> {
    match g.op(id) {
        Op::Tensor(crate::ops::tensor::TensorOp::Fill) => g.args(id).get(1).copied(),
        _ => None,
    }
}

/// `(a, s)` if the node is an array `a` times a float `s` (in either order).
fn scaled_array(g: &Graph, id: NodeId) -> Option<(NodeId, NodeId)> {
    match (g.op(id), g.args(id)) {
        (Op::Prim(Prim::Mul), &[a, s]) if g.ty(a).is_tensor() && g.ty(s) == &Ty::Float => Some((a, s)),
        (Op::Prim(Prim::Mul), &[s, a]) if g.ty(a).is_tensor() && g.ty(s) == &Ty::Float => Some((a, s)),
        _ => None,
    }
}

fn is_zero_array(g: &Graph, id: NodeId) -> bool {
    g.op(id) == &Op::ZerosLike
}

fn prim_rules(g: &mut Graph, prim: Prim, args: &[NodeId]) -> Option<NodeId> {
    if prim == Prim::Powi && g.int_value(args[1]) == Some(1) {
        // x¹ = x exactly (the power rule's n xⁿ⁻¹ at n = 2).
        return Some(args[0]);
    }
    // ndarray arrays: adding zeros is nothing; otherwise the float rules hold element by
    // element (no constant is an array, so nothing is folded).
    if args.iter().any(|&a| g.ty(a).is_tensor()) {
        match (prim, args) {
            (Prim::Add, &[a, b]) if is_zero_array(g, a) => return Some(b),
            (Prim::Add, &[a, b]) if is_zero_array(g, b) => return Some(a),
            // An array of `x`'s shape filled with s, times x, is x times s.
            (Prim::Mul, &[a, b]) if filled_like(g, a) == Some(b) => {
                let s = g.args(a)[0];
                return Some(g.mul(b, s));
            }
            (Prim::Mul, &[a, b]) if filled_like(g, b) == Some(a) => {
                let s = g.args(b)[0];
                return Some(g.mul(a, s));
            }
            // In gradient code, floats scaling an array are multiplied first:
            // `2.0 * (w * d)` as `w * (2.0 * d)`, one pass over the array instead of two (the
            // same bits when a factor is a power of two, else within the last bit).
            (Prim::Mul, &[a, b]) if g.phase == Phase::Reverse => {
                if let Some((array, s)) = scaled_array(g, b).filter(|_| g.ty(a) == &Ty::Float) {
                    let factor = g.mul(a, s);
                    return Some(g.mul(array, factor));
                }
                if let Some((array, s)) = scaled_array(g, a).filter(|_| g.ty(b) == &Ty::Float) {
                    let factor = g.mul(s, b);
                    return Some(g.mul(array, factor));
                }
            }
            _ => {}
        }
    } else if args.iter().any(|&a| g.ty(a) != &Ty::Float) {
        // Adjoints of arrays: adding zeros is nothing.
        return match (prim, args) {
            (Prim::Add, &[a, b]) if is_zero_array(g, a) => Some(b),
            (Prim::Add, &[a, b]) if is_zero_array(g, b) => Some(a),
            _ => None,
        };
    }
    let rule = prim.rule();
    // A generic float's arithmetic is not known here, except negation's.
    if rule.exact && (g.generic.is_none() || prim == Prim::Neg) {
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
    if g.op(select) == &Op::Choose {
        let [cond, then, otherwise] = [g.args(select)[0], g.args(select)[1], g.args(select)[2]];
        let mut times = |arm: NodeId| {
            if select_first {
                g.mul(arm, factor)
            } else {
                g.mul(factor, arm)
            }
        };
        let (then, otherwise) = (times(then), times(otherwise));
        return Some(g.choose(cond, then, otherwise));
    }
    let Op::Select(cmp) = *g.op(select) else {
        return None;
    };
    if g.ty(factor) == &Ty::Float && g.ty(select).is_tensor() {
        return None; // a float stays outside a select of arrays (see common_float_factor)
    }
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
