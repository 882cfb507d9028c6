//! The operation table's array part: operations on whole ndarray arrays and their
//! vector-Jacobian products.
//!
//! No Jacobian is ever formed. An element-by-element operation (`&a + &b`, `z.mapv(f64::exp)`,
//! `relu(&z)`) is an ordinary [`Prim`] node of array type: its Jacobian is diagonal, so its
//! VJP is the scalar rule's local gradient, computed element by element and multiplied by
//! the upstream gradient element by element (the reverse pass's `elementwise_vjp`) — the
//! same rows of the table, hence the same kink conventions. What is left to this table are
//! the operations that mix elements: products, transposes, sums, the softmax and the losses.
//! Each row's VJP is an expression ([`D`]) over the inputs, the output and the upstream
//! gradient (mostly more rows of this table), so the backward pass reads like the lecture's
//! `dW = dD.dot(X.T)`; the VJPs of more than a line are run-time functions of
//! `chainrule::__private::tensor` (rows marked backward-only).
//!
//! Every gradient has its variable's shape: where a value was broadcast (a bias row added to
//! a batch, a scalar times an array), the reverse pass sums its gradient back over the
//! broadcast axes.
//!
//! Adding an operation: a variant of [`TensorOp`] and its row in [`TensorOp::rule`] (name,
//! syntax, arity, result, VJP, generated code), how the front end reads its arguments if
//! they are not plain arrays (an axis), and a row in `tests/tensors.rs`.

use super::Prim;
use super::D::{self, Arr, NoGrad, Out, Up, P, X};
use Operand::Ref;

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
    /// `Array1::zeros(n)`, `Array2::zeros((n, m))`: args, the lengths (integers).
    Zeros,
    /// `x.slice(s![a..b])` (axis 0), `m.slice(s![.., a..b])` (axis 1): args [x, start] or
    /// [x, start, end]; a view.
    Slice(u8),
    // Backward-only operations: the VJPs' building blocks.
    /// args [d, like, start]: an array of `like`'s shape, zero but for `d` from `start` on
    /// along the axis (the gradient of a slice).
    Unslice(u8),
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
    /// (`like` was stretched there by broadcasting: a `(1, n)` bias row over a batch);
    /// `like` is an array or its shape.
    Unbroadcast,
    /// args `[a]`: the shape of `a` (`[usize; rank]`), which the backward pass keeps instead
    /// of `a` where it needs only that.
    ShapeOf,
}

/// How the user writes an operation, and how generated code writes it back.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TensorSyntax {
    /// `a.dot(&b)`: the receiver is argument 0.
    Method,
    /// `chainrule::softmax(&z)`
    Function,
    /// `Array1::zeros(n)`: a new array.
    Constructor,
    /// Only in backward passes.
    Backward,
}

/// Where generated code finds an operation's run-time function.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Runtime {
    /// `::chainrule::name`
    Public(&'static str),
    /// `::chainrule::__private::tensor::name`
    Private(&'static str),
}

/// How generated code writes an array operation.
#[derive(Clone, Copy, Debug)]
pub enum Code {
    /// Methods on the receiver (argument 0), chained: `a.dot(&b)`, `a.mean().unwrap()`. A
    /// view (`a.t()`) is made owned where it is named.
    Methods {
        chain: &'static [(&'static str, &'static [Operand])],
        view: bool,
    },
    /// A run-time function on the arguments (`::chainrule::softmax(&z)`); with `rank`, the
    /// rank of argument 0 as its const parameter (`shape::<2>(&a)`).
    Call {
        path: Runtime,
        args: &'static [Operand],
        rank: bool,
    },
    /// `Array::from_elem(like.raw_dim(), value)`, of arguments `[value, like]`.
    Fill,
    /// `a.len() as f64`.
    Count,
    /// `Array::<f64, _>::zeros((n, m))` of the arguments (the lengths).
    Zeros,
    /// `x.slice(s![start..end])` on the operation's axis.
    Slice,
}

/// An operand in [`Code`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Operand {
    /// Argument `k` by reference (`&b`).
    Ref(usize),
    /// Argument `k` as an expression (a float).
    Expr(usize),
    /// Argument `k` by value: moved where it is a temporary, else copied.
    Owned(usize),
    /// The operation's axis, `Axis(k)`.
    Axis,
    /// The operation's axis as a number.
    AxisNumber,
}

/// The VJP of an operation: for each argument, by position, what flows into its
/// gradient ([`D::NoGrad`] for none), chosen by the ranks of the first two arguments
/// where the operation takes several shapes (the first case that matches; `None` matches
/// any).
pub type Vjp = &'static [(Option<(u8, u8)>, &'static [D])];

pub struct TensorRule {
    pub name: &'static str,
    /// The name of its result in generated code (`let product = x.dot(w);`); one that
    /// starts with `_` follows its argument's (`b1_shape`).
    pub noun: &'static str,
    pub syntax: TensorSyntax,
    /// The number of arguments (a method's receiver included).
    pub arity: usize,
    /// The result's rank (0: a float) from the arguments' ranks.
    pub result: fn(&[u8]) -> u8,
    pub vjp: Vjp,
    /// How generated code writes it.
    pub code: Code,
    /// The result is the shape of argument 0 (`[usize; rank]`), not an array.
    pub shape: bool,
    /// The arguments the result is linear in (each one, the others fixed): where one of
    /// them is zero, so is the result. Gradient code folds such an operation on a zero
    /// (`d.dot(&0)`, the gradient of `v * 0.0` as the float 0) to 0.
    pub linear_in: &'static [usize],
    /// Forward mode's rule, for an operation that is not linear in its arguments: per case
    /// of ranks as [`TensorRule::vjp`], one derivative per argument, with `Up` standing for
    /// that argument's tangent, each giving its share of the result's tangent. Empty for
    /// an operation linear in each argument of [`TensorRule::linear_in`] (the tangent is the
    /// operation applied to the tangent in that argument's place, summed over them: the
    /// product rule for `dot`), and for the backward-only ones.
    pub jvp: Vjp,
}

impl TensorOp {
    /// Every operation (with axis 0 where it takes one).
    pub const ALL: &'static [TensorOp] = &[
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
        TensorOp::Zeros,
        TensorOp::Slice(0),
        TensorOp::Unslice(0),
        TensorOp::Fill,
        TensorOp::Outer,
        TensorOp::SpreadAxis(0),
        TensorOp::Count,
        TensorOp::SoftmaxBackward,
        TensorOp::LogSoftmaxBackward,
        TensorOp::CrossEntropyBackward,
        TensorOp::SvmLossBackward,
        TensorOp::Unbroadcast,
        TensorOp::ShapeOf,
    ];

    /// The operation's row.
    pub fn rule(self) -> &'static TensorRule {
        use TensorOp::*;
        match self {
            // y = a·b. Matrices: da = dy·bᵀ, db = aᵀ·dy (the lecture's dW = dD.dot(X.T)).
            // A vector times a matrix and back: outer products where a matrix was
            // multiplied by a vector.
            Dot => &TensorRule {
                name: "dot",
                noun: "product",
                syntax: TensorSyntax::Method,
                arity: 2,
                result: |ranks| match (rank(ranks, 0), rank(ranks, 1)) {
                    (2, 2) => 2,
                    (1, 1) => 0,
                    _ => 1,
                },
                vjp: &[
                    (
                        Some((2, 2)),
                        &[Arr(Dot, &[Up, Arr(T, &[X(1)])]), Arr(Dot, &[Arr(T, &[X(0)]), Up])],
                    ),
                    // y = A v: dA = dy vᵀ, dv = Aᵀ dy.
                    (
                        Some((2, 1)),
                        &[Arr(Outer, &[Up, X(1)]), Arr(Dot, &[Arr(T, &[X(0)]), Up])],
                    ),
                    // y = v A: dv = A dy, dA = v dyᵀ.
                    (Some((1, 2)), &[Arr(Dot, &[X(1), Up]), Arr(Outer, &[X(0), Up])]),
                    // y = v·w, a float: dv = dy w, dw = dy v.
                    (None, &[P(Prim::Mul, &[X(1), Up]), P(Prim::Mul, &[X(0), Up])]),
                ],
                code: Code::Methods {
                    chain: &[("dot", &[Ref(1)])],
                    view: false,
                },
                shape: false,
                linear_in: &[0, 1],
                jvp: &[],
            },
            T => &TensorRule {
                name: "t",
                noun: "transposed",
                syntax: TensorSyntax::Method,
                arity: 1,
                result: same_as_first,
                vjp: &[(None, &[Arr(T, &[Up])])],
                code: Code::Methods {
                    chain: &[("t", &[])],
                    view: true,
                },
                shape: false,
                linear_in: &[0],
                jvp: &[],
            },
            // A sum distributes: every element gets the upstream gradient.
            Sum => &TensorRule {
                name: "sum",
                noun: "total",
                syntax: TensorSyntax::Method,
                arity: 1,
                result: float,
                vjp: &[(None, &[D::Fill(&[Up, X(0)])])],
                code: Code::Methods {
                    chain: &[("sum", &[])],
                    view: false,
                },
                shape: false,
                linear_in: &[0],
                jvp: &[],
            },
            Mean => &TensorRule {
                name: "mean",
                noun: "mean",
                syntax: TensorSyntax::Method,
                arity: 1,
                result: float,
                vjp: &[(
                    None,
                    &[D::Fill(&[P(Prim::Div, &[Up, Arr(Count, &[X(0)])]), X(0)])],
                )],
                code: Code::Methods {
                    chain: &[("mean", &[]), ("unwrap", &[])],
                    view: false,
                },
                shape: false,
                linear_in: &[0],
                jvp: &[],
            },
            // Summing over an axis: each element gets the gradient of its sum.
            SumAxis(_) => &TensorRule {
                name: "sum_axis",
                noun: "sums",
                syntax: TensorSyntax::Method,
                arity: 1,
                result: |ranks| rank(ranks, 0).saturating_sub(1),
                vjp: &[(None, &[Arr(SpreadAxis(0), &[Up, X(0)])])],
                code: Code::Methods {
                    chain: &[("sum_axis", &[Operand::Axis])],
                    view: false,
                },
                shape: false,
                linear_in: &[0],
                jvp: &[],
            },
            // A new axis of length 1, which broadcasting may have stretched: its gradient
            // is summed over that axis.
            InsertAxis(_) => &TensorRule {
                name: "insert_axis",
                noun: "expanded",
                syntax: TensorSyntax::Method,
                arity: 1,
                result: |ranks| rank(ranks, 0) + 1,
                vjp: &[(None, &[Arr(SumAxis(0), &[Up])])],
                code: Code::Methods {
                    chain: &[("view", &[]), ("insert_axis", &[Operand::Axis])],
                    view: true,
                },
                shape: false,
                linear_in: &[0],
                jvp: &[],
            },
            // From its value p: dz = p ⊙ (dp − Σ_row dp ⊙ p).
            Softmax => &TensorRule {
                name: "softmax",
                noun: "probabilities",
                syntax: TensorSyntax::Function,
                arity: 1,
                result: same_as_first,
                vjp: &[(None, &[Arr(SoftmaxBackward, &[Out, Up])])],
                code: Code::Call {
                    path: Runtime::Public("softmax"),
                    args: &[Ref(0)],
                    rank: false,
                },
                shape: false,
                linear_in: &[],
                jvp: // Its Jacobian, diag(p) − p pᵀ row by row, is symmetric: the VJP's formula.
                &[(None, &[Arr(SoftmaxBackward, &[Out, Up])])],
            },
            // From its value l: dz = dl − softmax(z) Σ_row dl, with softmax(z) = exp(l).
            LogSoftmax => &TensorRule {
                name: "log_softmax",
                noun: "log_probabilities",
                syntax: TensorSyntax::Function,
                arity: 1,
                result: same_as_first,
                vjp: &[(None, &[Arr(LogSoftmaxBackward, &[Out, Up])])],
                code: Code::Call {
                    path: Runtime::Public("log_softmax"),
                    args: &[Ref(0)],
                    rank: false,
                },
                shape: false,
                linear_in: &[],
                jvp: // dl = dz − Σ_row softmax(z) ⊙ dz, with softmax(z) = exp(l).
                &[
                    (Some((1, 0)), &[P(Prim::Sub, &[Up, Arr(Sum, &[P(Prim::Mul, &[P(Prim::Exp, &[Out]), Up])])])]),
                    (
                        Some((2, 0)),
                        &[P(
                            Prim::Sub,
                            &[
                                Up,
                                Arr(InsertAxis(1), &[Arr(SumAxis(1), &[P(Prim::Mul, &[P(Prim::Exp, &[Out]), Up])])]),
                            ],
                        )],
                    ),
                ],
            },
            // The labels get no gradient; the logits get (softmax − one-hot) / rows.
            CrossEntropy => &TensorRule {
                name: "cross_entropy",
                noun: "loss",
                syntax: TensorSyntax::Function,
                arity: 2,
                result: float,
                vjp: &[(None, &[Arr(CrossEntropyBackward, &[X(0), X(1), Up]), NoGrad])],
                code: Code::Call {
                    path: Runtime::Public("cross_entropy"),
                    args: &[Ref(0), Ref(1)],
                    rank: false,
                },
                shape: false,
                linear_in: &[],
                jvp: // The gradient's dot product with the logits' tangent.
                &[(None, &[Arr(Sum, &[P(Prim::Mul, &[Arr(CrossEntropyBackward, &[X(0), X(1), D::C(1.0)]), Up])]), NoGrad])],
            },
            // +1 to each class violating the margin, −(their number) to the label, over the
            // rows.
            SvmLoss => &TensorRule {
                name: "svm_loss",
                noun: "loss",
                syntax: TensorSyntax::Function,
                arity: 2,
                result: float,
                vjp: &[(None, &[Arr(SvmLossBackward, &[X(0), X(1), Up]), NoGrad])],
                code: Code::Call {
                    path: Runtime::Public("svm_loss"),
                    args: &[Ref(0), Ref(1)],
                    rank: false,
                },
                shape: false,
                linear_in: &[],
                jvp: &[(
                    None,
                    &[
                        Arr(
                            Sum,
                            &[P(
                                Prim::Mul,
                                &[Arr(SvmLossBackward, &[X(0), X(1), D::C(1.0)]), Up],
                            )],
                        ),
                        NoGrad,
                    ],
                )],
            },
            Fill => &TensorRule {
                name: "fill",
                noun: "filled",
                syntax: TensorSyntax::Backward,
                arity: 2,
                result: |ranks| rank(ranks, 1),
                vjp: &[],
                code: Code::Fill,
                shape: false,
                linear_in: &[0],
                jvp: &[],
            },
            Outer => &TensorRule {
                name: "outer",
                noun: "outer",
                syntax: TensorSyntax::Backward,
                arity: 2,
                result: |_| 2,
                vjp: &[],
                code: Code::Call {
                    path: Runtime::Public("outer"),
                    args: &[Ref(0), Ref(1)],
                    rank: false,
                },
                shape: false,
                linear_in: &[0, 1],
                jvp: &[],
            },
            SpreadAxis(_) => &TensorRule {
                name: "spread_axis",
                noun: "spread",
                syntax: TensorSyntax::Backward,
                arity: 2,
                result: |ranks| rank(ranks, 1),
                vjp: &[],
                code: Code::Call {
                    path: Runtime::Private("sum_axis"),
                    args: &[Ref(0), Operand::AxisNumber, Ref(1)],
                    rank: false,
                },
                shape: false,
                linear_in: &[0],
                jvp: &[],
            },
            Count => &TensorRule {
                name: "count",
                noun: "count",
                syntax: TensorSyntax::Backward,
                arity: 1,
                result: float,
                vjp: &[],
                code: Code::Count,
                shape: false,
                linear_in: &[],
                jvp: &[],
            },
            SoftmaxBackward => &TensorRule {
                name: "softmax_backward",
                noun: "d",
                syntax: TensorSyntax::Backward,
                arity: 2,
                result: same_as_first,
                vjp: &[],
                code: Code::Call {
                    path: Runtime::Private("softmax"),
                    args: &[Ref(0), Ref(1)],
                    rank: false,
                },
                shape: false,
                linear_in: &[1],
                jvp: &[],
            },
            LogSoftmaxBackward => &TensorRule {
                name: "log_softmax_backward",
                noun: "d",
                syntax: TensorSyntax::Backward,
                arity: 2,
                result: same_as_first,
                vjp: &[],
                code: Code::Call {
                    path: Runtime::Private("log_softmax"),
                    args: &[Ref(0), Ref(1)],
                    rank: false,
                },
                shape: false,
                linear_in: &[1],
                jvp: &[],
            },
            CrossEntropyBackward => &TensorRule {
                name: "cross_entropy_backward",
                noun: "d",
                syntax: TensorSyntax::Backward,
                arity: 3,
                result: same_as_first,
                vjp: &[],
                code: Code::Call {
                    path: Runtime::Private("cross_entropy"),
                    args: &[Ref(0), Ref(1), Operand::Expr(2)],
                    rank: false,
                },
                shape: false,
                linear_in: &[2],
                jvp: &[],
            },
            SvmLossBackward => &TensorRule {
                name: "svm_loss_backward",
                noun: "d",
                syntax: TensorSyntax::Backward,
                arity: 3,
                result: same_as_first,
                vjp: &[],
                code: Code::Call {
                    path: Runtime::Private("svm_loss"),
                    args: &[Ref(0), Ref(1), Operand::Expr(2)],
                    rank: false,
                },
                shape: false,
                linear_in: &[2],
                jvp: &[],
            },
            Unbroadcast => &TensorRule {
                name: "unbroadcast",
                noun: "summed",
                syntax: TensorSyntax::Backward,
                arity: 2,
                result: |ranks| rank(ranks, 0),
                vjp: &[],
                code: Code::Call {
                    path: Runtime::Private("unbroadcast"),
                    args: &[Operand::Owned(0), Ref(1)],
                    rank: false,
                },
                shape: false,
                linear_in: &[0],
                jvp: &[],
            },
            // A new array: nothing flows into its lengths.
            Zeros => &TensorRule {
                name: "zeros",
                noun: "zeros",
                syntax: TensorSyntax::Constructor,
                arity: 1,
                result: |ranks| ranks.len() as u8,
                vjp: &[],
                code: Code::Zeros,
                shape: false,
                linear_in: &[],
                jvp: &[],
            },
            // y = x[start..end] along an axis: dx is zero but for dy in the slice.
            Slice(_) => &TensorRule {
                name: "slice",
                noun: "part",
                syntax: TensorSyntax::Method,
                arity: 2,
                result: same_as_first,
                vjp: &[(None, &[Arr(Unslice(0), &[Up, X(0), X(1)]), NoGrad])],
                code: Code::Slice,
                shape: false,
                linear_in: &[0],
                jvp: &[],
            },
            Unslice(_) => &TensorRule {
                name: "unslice",
                noun: "d",
                syntax: TensorSyntax::Backward,
                arity: 3,
                result: same_as_first,
                vjp: &[],
                code: Code::Call {
                    path: Runtime::Private("unslice"),
                    args: &[Operand::Owned(0), Ref(1), Operand::AxisNumber, Operand::Expr(2)],
                    rank: false,
                },
                shape: false,
                linear_in: &[0],
                jvp: &[],
            },
            ShapeOf => &TensorRule {
                name: "shape_of",
                noun: "_shape",
                syntax: TensorSyntax::Backward,
                arity: 1,
                result: |ranks| rank(ranks, 0),
                vjp: &[],
                code: Code::Call {
                    path: Runtime::Private("shape"),
                    args: &[Ref(0)],
                    rank: true,
                },
                shape: true,
                linear_in: &[],
                jvp: &[],
            },
        }
    }

    /// The result's rank (0: a float) from the arguments' ranks.
    pub fn result(self, ranks: &[u8]) -> u8 {
        (self.rule().result)(ranks)
    }

    /// The axis it takes, if it takes one.
    pub fn axis(self) -> Option<u8> {
        match self {
            TensorOp::SumAxis(k)
            | TensorOp::InsertAxis(k)
            | TensorOp::SpreadAxis(k)
            | TensorOp::Slice(k)
            | TensorOp::Unslice(k) => Some(k),
            _ => None,
        }
    }

    /// The same operation on axis `k`, where it takes an axis.
    pub fn with_axis(self, k: u8) -> TensorOp {
        match self {
            TensorOp::SumAxis(_) => TensorOp::SumAxis(k),
            TensorOp::InsertAxis(_) => TensorOp::InsertAxis(k),
            TensorOp::SpreadAxis(_) => TensorOp::SpreadAxis(k),
            TensorOp::Slice(_) => TensorOp::Slice(k),
            TensorOp::Unslice(_) => TensorOp::Unslice(k),
            other => other,
        }
    }

    /// Its VJP for arguments of these ranks.
    /// Forward mode's rule for arguments of these ranks (empty: see [`TensorRule::jvp`]).
    pub fn jvp(self, ranks: (u8, u8)) -> &'static [D] {
        self.rule()
            .jvp
            .iter()
            .find(|(case, _)| case.is_none_or(|case| case == ranks))
            .map_or(&[], |(_, tangents)| tangents)
    }

    pub fn vjp(self, ranks: (u8, u8)) -> &'static [D] {
        self.rule()
            .vjp
            .iter()
            .find(|(case, _)| case.is_none_or(|case| case == ranks))
            .map_or(&[], |(_, grads)| grads)
    }
}

fn rank(ranks: &[u8], k: usize) -> u8 {
    ranks.get(k).copied().unwrap_or(0)
}

fn same_as_first(ranks: &[u8]) -> u8 {
    rank(ranks, 0)
}

fn float(_: &[u8]) -> u8 {
    0
}

/// The array operation a method name names (`dot`, `t`, `sum`, …), with its axis where it
/// takes one (filled in by the reader).
pub fn method(name: &str) -> Option<TensorOp> {
    named(TensorSyntax::Method, name)
}

/// The array function of chainrule a name names (`softmax`, `cross_entropy`, …).
pub fn function(name: &str) -> Option<TensorOp> {
    named(TensorSyntax::Function, name)
}

/// The constructor of arrays a name names (`Array2::zeros`).
pub fn constructor(name: &str) -> Option<TensorOp> {
    named(TensorSyntax::Constructor, name)
}

fn named(syntax: TensorSyntax, name: &str) -> Option<TensorOp> {
    TensorOp::ALL
        .iter()
        .copied()
        .find(|op| op.rule().syntax == syntax && op.rule().name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve() {
        assert_eq!(function("softmax"), Some(TensorOp::Softmax));
        assert_eq!(function("cross_entropy"), Some(TensorOp::CrossEntropy));
        assert_eq!(function("fill"), None);
        assert_eq!(method("dot"), Some(TensorOp::Dot));
        assert_eq!(method("sum_axis"), Some(TensorOp::SumAxis(0)));
        assert_eq!(method("softmax"), None);
        for op in TensorOp::ALL {
            for (_, grads) in op.rule().vjp {
                assert_eq!(grads.len(), op.rule().arity, "{}", op.rule().name);
            }
        }
    }
}
