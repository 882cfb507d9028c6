//! The rule table: the only file that knows calculus.
//!
//! One entry per primitive operation: how the user spells it, how to evaluate it, and
//! its local gradients ∂out/∂argᵢ — written as graph nodes in terms of the inputs and the
//! output `out`, so that forward values are reused (exp' = out, tanh' = 1 − out²,
//! σ' = out·(1 − out)) and the simplifier sees every partial. The reverse pass knows no
//! operation: it only multiplies these by the upstream gradient.
//!
//! Adding an operation: a variant of [`Prim`], its row in [`RULES`] (in the same order),
//! and a row in the finite-difference test table.
//!
//! Operations on whole ndarray arrays are the table's second part, [`tensor`].

pub mod tensor;

use crate::ir::{Cmp, Graph, NodeId, Op};

/// A primitive operation. The discriminant indexes [`RULES`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Prim {
    Neg,
    Add,
    Sub,
    Mul,
    Div,
    Exp,
    Exp2,
    ExpM1,
    Ln,
    Ln1p,
    Log,
    Log2,
    Log10,
    Sqrt,
    Cbrt,
    Recip,
    Powi,
    Powf,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Atan2,
    Sinh,
    Cosh,
    Tanh,
    Abs,
    Max,
    Min,
    Hypot,
    MulAdd,
    Sigmoid,
    Relu,
    LeakyRelu,
    Elu,
}

/// How the user writes an operation, and how generated code writes it back.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Syntax {
    /// `-x`
    Prefix(&'static str),
    /// `a + b`, with its precedence (higher binds tighter).
    Infix(&'static str, u8),
    /// `x.exp()`, also callable as `f64::exp(x)`.
    Method,
    /// An activation function of chainrule's runtime: `sigmoid(x)`.
    Function,
}

/// The kind of an argument.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Arg {
    Float,
    /// An integer (`powi`'s exponent): not differentiated.
    Int,
}

/// Local gradients: one per argument, `None` where there is none (an integer argument).
pub type Partials = fn(&mut Graph, &[NodeId], NodeId) -> Vec<Option<NodeId>>;

pub struct Rule {
    pub prim: Prim,
    /// The method or function name (for operators, a word naming them).
    pub name: &'static str,
    pub syntax: Syntax,
    pub args: &'static [Arg],
    /// The value, for the interpreter and constant folding (integers passed as floats).
    pub eval: fn(&[f64]) -> f64,
    /// Whether IEEE 754 rounds it exactly (so folding it at compile time gives the bits
    /// the program would compute, in f32 as in f64); transcendental functions are left
    /// to run time.
    pub exact: bool,
    /// ∂out/∂argᵢ, given the graph, the arguments and the output node.
    pub partials: Partials,
}

const F: Arg = Arg::Float;
const UNARY: &[Arg] = &[F];
const BINARY: &[Arg] = &[F, F];

macro_rules! method {
    ($prim:ident, $name:literal, $args:expr, exact = $exact:literal, |$a:ident| $eval:expr, |$g:ident, $x:ident, $out:ident| $partials:expr) => {
        Rule {
            prim: Prim::$prim,
            name: $name,
            syntax: Syntax::Method,
            args: $args,
            eval: |$a| $eval,
            exact: $exact,
            partials: |$g, $x, $out| {
                let _ = ($x, $out); // not every rule reads both
                $partials
            },
        }
    };
}

/// One row per [`Prim`], in its order.
pub static RULES: &[Rule] = &[
    Rule {
        prim: Prim::Neg,
        name: "neg",
        syntax: Syntax::Prefix("-"),
        args: UNARY,
        eval: |a| -a[0],
        exact: true,
        partials: |g, _, _| vec![Some(g.constant(-1.0))],
    },
    // add distributes: both inputs get the upstream gradient unchanged.
    Rule {
        prim: Prim::Add,
        name: "add",
        syntax: Syntax::Infix("+", 1),
        args: BINARY,
        eval: |a| a[0] + a[1],
        exact: true,
        partials: |g, _, _| vec![Some(g.constant(1.0)), Some(g.constant(1.0))],
    },
    Rule {
        prim: Prim::Sub,
        name: "sub",
        syntax: Syntax::Infix("-", 1),
        args: BINARY,
        eval: |a| a[0] - a[1],
        exact: true,
        partials: |g, _, _| vec![Some(g.constant(1.0)), Some(g.constant(-1.0))],
    },
    // mul switches: each input gets the upstream gradient times the other input.
    Rule {
        prim: Prim::Mul,
        name: "mul",
        syntax: Syntax::Infix("*", 2),
        args: BINARY,
        eval: |a| a[0] * a[1],
        exact: true,
        partials: |_, x, _| vec![Some(x[1]), Some(x[0])],
    },
    // d(a/b) = 1/b, −a/b² = −out/b.
    Rule {
        prim: Prim::Div,
        name: "div",
        syntax: Syntax::Infix("/", 2),
        args: BINARY,
        eval: |a| a[0] / a[1],
        exact: true,
        partials: |g, x, out| {
            let over_b = g.recip(x[1]);
            let quotient = g.div(out, x[1]);
            vec![Some(over_b), Some(g.neg(quotient))]
        },
    },
    method!(
        Exp,
        "exp",
        UNARY,
        exact = false,
        |a| a[0].exp(),
        |_g, x, out| vec![Some(out)]
    ),
    method!(
        Exp2,
        "exp2",
        UNARY,
        exact = false,
        |a| a[0].exp2(),
        |g, x, out| {
            let ln_2 = g.std_constant("LN_2", std::f64::consts::LN_2);
            vec![Some(g.mul(out, ln_2))]
        }
    ),
    method!(
        ExpM1,
        "exp_m1",
        UNARY,
        exact = false,
        |a| a[0].exp_m1(),
        |g, x, out| {
            let one = g.constant(1.0);
            vec![Some(g.sum(out, one))]
        }
    ),
    method!(Ln, "ln", UNARY, exact = false, |a| a[0].ln(), |g, x, out| vec![
        Some(g.recip(x[0]))
    ]),
    method!(
        Ln1p,
        "ln_1p",
        UNARY,
        exact = false,
        |a| a[0].ln_1p(),
        |g, x, out| {
            let one = g.constant(1.0);
            let one_plus_x = g.sum(one, x[0]);
            vec![Some(g.recip(one_plus_x))]
        }
    ),
    // log_b(x) = ln x / ln b: ∂x = 1/(x ln b), ∂b = −out/(b ln b).
    method!(
        Log,
        "log",
        BINARY,
        exact = false,
        |a| a[0].log(a[1]),
        |g, x, out| {
            let ln_base = g.prim(Prim::Ln, &[x[1]]);
            let x_ln_base = g.mul(x[0], ln_base);
            let base_ln_base = g.mul(x[1], ln_base);
            let over_base = g.div(out, base_ln_base);
            vec![Some(g.recip(x_ln_base)), Some(g.neg(over_base))]
        }
    ),
    method!(
        Log2,
        "log2",
        UNARY,
        exact = false,
        |a| a[0].log2(),
        |g, x, out| {
            let ln_2 = g.std_constant("LN_2", std::f64::consts::LN_2);
            let x_ln_2 = g.mul(x[0], ln_2);
            vec![Some(g.recip(x_ln_2))]
        }
    ),
    method!(
        Log10,
        "log10",
        UNARY,
        exact = false,
        |a| a[0].log10(),
        |g, x, out| {
            let ln_10 = g.std_constant("LN_10", std::f64::consts::LN_10);
            let x_ln_10 = g.mul(x[0], ln_10);
            vec![Some(g.recip(x_ln_10))]
        }
    ),
    method!(Sqrt, "sqrt", UNARY, exact = true, |a| a[0].sqrt(), |g, x, out| {
        let half = g.constant(0.5);
        vec![Some(g.div(half, out))]
    }),
    // 1/(3 out²): infinite at 0, as the true derivative.
    method!(
        Cbrt,
        "cbrt",
        UNARY,
        exact = false,
        |a| a[0].cbrt(),
        |g, x, out| {
            let three = g.constant(3.0);
            let out_squared = g.square(out);
            let denominator = g.mul(three, out_squared);
            vec![Some(g.recip(denominator))]
        }
    ),
    method!(
        Recip,
        "recip",
        UNARY,
        exact = true,
        |a| a[0].recip(),
        |g, x, out| {
            let out_squared = g.square(out);
            vec![Some(g.neg(out_squared))]
        }
    ),
    // n xⁿ⁻¹, with n − 1 kept an integer; 0 for n = 0 (x⁰ = 1 is constant, also at
    // x = 0, where the formula would give 0 · ∞). A literal n folds the choice away.
    method!(
        Powi,
        "powi",
        &[F, Arg::Int],
        exact = false,
        |a| a[0].powi(a[1] as i32),
        |g, x, out| {
            let n = g.int_to_float(x[1]);
            let n_minus_1 = g.int_offset(x[1], -1);
            let power = g.prim(Prim::Powi, &[x[0], n_minus_1]);
            let by_base = g.mul(n, power);
            let zero = g.constant(0.0);
            vec![Some(g.select(Cmp::Eq, n, zero, zero, by_base)), None]
        }
    ),
    // ∂x = y x^(y−1), 0 for y = 0 (x⁰ = 1, also at x = 0, where the formula gives 0 · ∞);
    // ∂y = out ln x, taken as 0 at x = 0 (where out is 0 for y > 0).
    method!(
        Powf,
        "powf",
        BINARY,
        exact = false,
        |a| a[0].powf(a[1]),
        |g, x, out| {
            let one = g.constant(1.0);
            let zero = g.constant(0.0);
            let y_minus_1 = g.diff(x[1], one);
            let power = g.prim(Prim::Powf, &[x[0], y_minus_1]);
            let ln_x = g.prim(Prim::Ln, &[x[0]]);
            let out_ln_x = g.mul(out, ln_x);
            let by_exponent = g.select(Cmp::Eq, x[0], zero, zero, out_ln_x);
            let by_base = g.mul(x[1], power);
            let by_base = g.select(Cmp::Eq, x[1], zero, zero, by_base);
            vec![Some(by_base), Some(by_exponent)]
        }
    ),
    method!(
        Sin,
        "sin",
        UNARY,
        exact = false,
        |a| a[0].sin(),
        |g, x, out| vec![Some(g.prim(Prim::Cos, x))]
    ),
    method!(Cos, "cos", UNARY, exact = false, |a| a[0].cos(), |g, x, out| {
        let sin = g.prim(Prim::Sin, x);
        vec![Some(g.neg(sin))]
    }),
    method!(Tan, "tan", UNARY, exact = false, |a| a[0].tan(), |g, x, out| {
        let one = g.constant(1.0);
        let out_squared = g.square(out);
        vec![Some(g.sum(one, out_squared))]
    }),
    method!(
        Asin,
        "asin",
        UNARY,
        exact = false,
        |a| a[0].asin(),
        |g, x, out| {
            let root = one_minus_square_sqrt(g, x[0]);
            vec![Some(g.recip(root))]
        }
    ),
    method!(
        Acos,
        "acos",
        UNARY,
        exact = false,
        |a| a[0].acos(),
        |g, x, out| {
            let root = one_minus_square_sqrt(g, x[0]);
            let over_root = g.recip(root);
            vec![Some(g.neg(over_root))]
        }
    ),
    method!(
        Atan,
        "atan",
        UNARY,
        exact = false,
        |a| a[0].atan(),
        |g, x, out| {
            let one = g.constant(1.0);
            let x_squared = g.square(x[0]);
            let denominator = g.sum(one, x_squared);
            vec![Some(g.recip(denominator))]
        }
    ),
    // atan2(y, x): ∂y = x/(x² + y²), ∂x = −y/(x² + y²).
    method!(
        Atan2,
        "atan2",
        BINARY,
        exact = false,
        |a| a[0].atan2(a[1]),
        |g, x, out| {
            let y_squared = g.square(x[0]);
            let x_squared = g.square(x[1]);
            let r_squared = g.sum(x_squared, y_squared);
            let by_x = g.div(x[0], r_squared);
            vec![Some(g.div(x[1], r_squared)), Some(g.neg(by_x))]
        }
    ),
    method!(
        Sinh,
        "sinh",
        UNARY,
        exact = false,
        |a| a[0].sinh(),
        |g, x, out| vec![Some(g.prim(Prim::Cosh, x))]
    ),
    method!(
        Cosh,
        "cosh",
        UNARY,
        exact = false,
        |a| a[0].cosh(),
        |g, x, out| vec![Some(g.prim(Prim::Sinh, x))]
    ),
    method!(
        Tanh,
        "tanh",
        UNARY,
        exact = false,
        |a| a[0].tanh(),
        |g, x, out| {
            let one = g.constant(1.0);
            let out_squared = g.square(out);
            vec![Some(g.diff(one, out_squared))]
        }
    ),
    // The sign of x, and 0 at the kink.
    method!(Abs, "abs", UNARY, exact = true, |a| a[0].abs(), |g, x, out| {
        let (zero, one, minus_one) = (g.constant(0.0), g.constant(1.0), g.constant(-1.0));
        let negative = g.select(Cmp::Lt, x[0], zero, minus_one, zero);
        vec![Some(g.select(Cmp::Gt, x[0], zero, one, negative))]
    }),
    // max routes: the whole gradient goes to the argument that was returned (the first on
    // a tie; the other one where an argument is NaN, as f64::max ignores NaN).
    method!(
        Max,
        "max",
        BINARY,
        exact = true,
        |a| a[0].max(a[1]),
        |g, x, out| route(g, x, out, Prim::Max)
    ),
    method!(
        Min,
        "min",
        BINARY,
        exact = true,
        |a| a[0].min(a[1]),
        |g, x, out| route(g, x, out, Prim::Min)
    ),
    // hypot(a, b) = √(a² + b²): ∂a = a/out, ∂b = b/out, and 0 at the origin (as abs'(0)).
    method!(
        Hypot,
        "hypot",
        BINARY,
        exact = false,
        |a| a[0].hypot(a[1]),
        |g, x, out| {
            let zero = g.constant(0.0);
            x.iter()
                .map(|&xi| {
                    let share = g.div(xi, out);
                    Some(g.select(Cmp::Eq, out, zero, zero, share))
                })
                .collect()
        }
    ),
    method!(
        MulAdd,
        "mul_add",
        &[F, F, F],
        exact = false,
        |a| a[0].mul_add(a[1], a[2]),
        |g, x, out| vec![Some(x[1]), Some(x[0]), Some(g.constant(1.0))]
    ),
    // σ' = σ(1 − σ), from the forward value.
    Rule {
        prim: Prim::Sigmoid,
        name: "sigmoid",
        syntax: Syntax::Function,
        args: UNARY,
        eval: |a| 1.0 / (1.0 + (-a[0]).exp()),
        exact: false,
        partials: |g, _, out| {
            let one = g.constant(1.0);
            let one_minus_out = g.diff(one, out);
            vec![Some(g.mul(out, one_minus_out))]
        },
    },
    Rule {
        prim: Prim::Relu,
        name: "relu",
        syntax: Syntax::Function,
        args: UNARY,
        eval: |a| if a[0] <= 0.0 { 0.0 } else { a[0] },
        exact: true,
        // From the output, as the lecture's `dhidden[hidden_layer <= 0] = 0`: relu(x) > 0
        // exactly when x > 0 (NaN and −0 included), so the backward pass keeps only the
        // activation, not the pre-activation as well.
        partials: |g, _, out| {
            let (zero, one) = (g.constant(0.0), g.constant(1.0));
            vec![Some(g.select(Cmp::Gt, out, zero, one, zero))]
        },
    },
    Rule {
        prim: Prim::LeakyRelu,
        name: "leaky_relu",
        syntax: Syntax::Function,
        args: BINARY,
        eval: |a| if a[0] > 0.0 { a[0] } else { a[1] * a[0] },
        exact: false,
        partials: |g, x, _| {
            let (zero, one) = (g.constant(0.0), g.constant(1.0));
            let by_x = g.select(Cmp::Gt, x[0], zero, one, x[1]);
            let by_slope = g.select(Cmp::Gt, x[0], zero, zero, x[0]);
            vec![Some(by_x), Some(by_slope)]
        },
    },
    // For x ≤ 0, out = α(eˣ − 1), so ∂x = αeˣ = out + α.
    Rule {
        prim: Prim::Elu,
        name: "elu",
        syntax: Syntax::Function,
        args: BINARY,
        eval: |a| if a[0] > 0.0 { a[0] } else { a[1] * a[0].exp_m1() },
        exact: false,
        partials: |g, x, out| {
            let (zero, one) = (g.constant(0.0), g.constant(1.0));
            let out_plus_alpha = g.sum(out, x[1]);
            let by_x = g.select(Cmp::Gt, x[0], zero, one, out_plus_alpha);
            let exp_m1 = g.prim(Prim::ExpM1, &[x[0]]);
            let by_alpha = g.select(Cmp::Gt, x[0], zero, zero, exp_m1);
            vec![Some(by_x), Some(by_alpha)]
        },
    },
];

/// √(1 − x²), shared by asin and acos.
fn one_minus_square_sqrt(g: &mut Graph, x: NodeId) -> NodeId {
    let one = g.constant(1.0);
    let x_squared = g.square(x);
    let difference = g.diff(one, x_squared);
    g.prim(Prim::Sqrt, &[difference])
}

/// max and min: all to the argument that was returned — the first on a tie, the other
/// one where an argument is NaN (`f64::max` and `f64::min` ignore NaN). Against a constant
/// (`z.max(0.0)`, a ReLU), decided from the other argument (`z >= 0.0`), so that the
/// backward pass need not keep the result; otherwise from the result (`m == a`).
fn route(g: &mut Graph, x: &[NodeId], out: NodeId, prim: Prim) -> Vec<Option<NodeId>> {
    let (zero, one) = (g.constant(0.0), g.constant(1.0));
    let constant = |g: &Graph, id: NodeId| g.const_value(id).is_some_and(|c| !c.is_nan());
    let (first, second) = (x[0], x[1]);
    let to_first = if constant(g, second) {
        // max: a >= c; min: c >= a (never NaN-true for a NaN `a`, whose result is c).
        let (high, low) = if prim == Prim::Max {
            (first, second)
        } else {
            (second, first)
        };
        g.select(Cmp::Ge, high, low, one, zero)
    } else if constant(g, first) {
        // The second when it is strictly beyond the constant (a tie goes to the first).
        let cmp = if prim == Prim::Max { Cmp::Gt } else { Cmp::Lt };
        g.select(cmp, second, first, zero, one)
    } else {
        g.select(Cmp::Eq, out, first, one, zero)
    };
    let to_second = {
        let lhs = g.args(to_first).first().copied();
        match (g.op(to_first).clone(), lhs) {
            (Op::Select(cmp), Some(_)) => {
                let args = g.args(to_first).to_vec();
                g.select(cmp, args[0], args[1], args[3], args[2])
            }
            _ => g.diff(one, to_first),
        }
    };
    vec![Some(to_first), Some(to_second)]
}

/// What flows back into one input of a node.
pub enum Grad {
    /// The whole gradient of the input.
    Value(NodeId),
    /// A gradient for one element of an array input: `d_array[indices…] += value`.
    AtIndex(NodeId, Vec<NodeId>),
}

/// The vector-Jacobian product of node `id` (inputs `args`) with its adjoint `upstream`:
/// for each input, by position, what flows into its gradient. For primitives that is
/// `upstream × local_grad` from [`RULES`]; array operations move gradients between
/// elements — a gradient has its variable's shape, and no Jacobian is ever formed.
pub fn vjp(g: &mut Graph, id: NodeId, args: &[NodeId], upstream: NodeId) -> Vec<(usize, Grad)> {
    match g.op(id).clone() {
        // On arrays, element by element (the Jacobian is diagonal).
        Op::Prim(prim) if g.ty(id).is_tensor() => tensor::elementwise_vjp(g, prim, id, args, upstream)
            .into_iter()
            .map(|(k, contribution)| (k, Grad::Value(contribution)))
            .collect(),
        Op::Tensor(op) => tensor::vjp(g, op, id, args, upstream)
            .into_iter()
            .map(|(k, contribution)| (k, Grad::Value(contribution)))
            .collect(),
        Op::Prim(prim) => {
            let local_grads = (prim.rule().partials)(g, args, id);
            local_grads
                .into_iter()
                .enumerate()
                .filter_map(|(k, local_grad)| Some((k, Grad::Value(g.mul(upstream, local_grad?)))))
                .collect()
        }
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

impl Prim {
    pub fn rule(self) -> &'static Rule {
        &RULES[self as usize]
    }
}

/// The primitive a float method names (`x.exp()`, `f64::exp(x)`).
pub fn method(name: &str) -> Option<Prim> {
    RULES
        .iter()
        .find(|rule| rule.syntax == Syntax::Method && rule.name == name)
        .map(|rule| rule.prim)
}

/// The primitive an activation function of the runtime names (`sigmoid(x)`).
pub fn function(name: &str) -> Option<Prim> {
    match name {
        // maxout over two pre-activations is max; chainrule::tanh is the method.
        "maxout" => Some(Prim::Max),
        "tanh" => Some(Prim::Tanh),
        _ => RULES
            .iter()
            .find(|rule| rule.syntax == Syntax::Function && rule.name == name)
            .map(|rule| rule.prim),
    }
}

/// Names for error messages: "exp, exp2, …".
pub fn supported_methods() -> String {
    names(Syntax::Method)
}

fn names(syntax: Syntax) -> String {
    RULES
        .iter()
        .filter(|rule| rule.syntax == syntax)
        .map(|rule| rule.name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_follow_the_enum() {
        for (index, rule) in RULES.iter().enumerate() {
            assert_eq!(rule.prim as usize, index, "row of {}", rule.name);
        }
        assert_eq!(RULES.len(), Prim::Elu as usize + 1);
    }

    #[test]
    fn names_resolve() {
        assert_eq!(method("exp_m1"), Some(Prim::ExpM1));
        assert_eq!(method("sigmoid"), None);
        assert_eq!(function("sigmoid"), Some(Prim::Sigmoid));
        assert_eq!(function("maxout"), Some(Prim::Max));
        assert_eq!(function("exp"), None);
    }
}
