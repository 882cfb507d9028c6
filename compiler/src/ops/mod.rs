//! The operation table: the only file that knows calculus, and the first stage (it imports
//! nothing from the others).
//!
//! One row per operation carries what every stage needs: how the user spells it and how
//! generated code writes it back ([`Syntax`]), its arguments, how to evaluate it (the
//! interpreter, constant folding) and whether that is exact, where it has kinks or jumps
//! and singular points, how formulas show it ([`Notation`]), the convention at its kinks,
//! and its local gradients ∂out/∂argᵢ as expressions ([`D`]) over the inputs and the output
//! Ω — `exp' = Ω`, `tanh' = 1 − Ω²`, `σ' = Ω·(1 − Ω)` — as ChainRules' `@scalar_rule`, so
//! that forward values are reused and the builder's peephole rules see every partial. The
//! reverse pass knows no operation: it only multiplies these by the upstream gradient.
//!
//! Adding an operation is its row in `operations!` below and a row in the
//! finite-difference table of `tests/operations.rs`. The enum [`Prim`], the name lookups
//! ([`method`], [`function`], [`infix`]), the error messages' suggestions and the operations guide's
//! table (checked by a test) all follow from the rows.
//!
//! Operations on whole ndarray arrays are the table's second part, [`tensor`].

pub mod tensor;

use tensor::TensorOp;

/// Precedence levels, higher binds tighter: one scale for code and for formulas.
pub mod precedence {
    pub const IF: u8 = 0;
    pub const OR: u8 = 3;
    pub const AND: u8 = 4;
    pub const COMPARE: u8 = 5;
    /// `a + b`, `a - b`
    pub const SUM: u8 = 10;
    /// `a * b`, `a / b`, `a % b`
    pub const PRODUCT: u8 = 20;
    /// `x as f64`
    pub const CAST: u8 = 25;
    /// `-x`
    pub const UNARY: u8 = 30;
    /// `x.f()`, `a[i]`, literals and names
    pub const POSTFIX: u8 = 40;
}

use precedence::{PRODUCT, SUM};

/// How the user writes an operation, and how generated code writes it back.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Syntax {
    /// `-x`
    Prefix(&'static str),
    /// `a + b`, with its [`precedence`].
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

/// A comparison of two floats, as a derivative's `if` uses it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Cmp {
    Gt,
    Ge,
    Lt,
    Eq,
}

impl Cmp {
    pub fn eval(self, lhs: f64, rhs: f64) -> bool {
        match self {
            Cmp::Gt => lhs > rhs,
            Cmp::Ge => lhs >= rhs,
            Cmp::Lt => lhs < rhs,
            Cmp::Eq => lhs == rhs,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
            Cmp::Lt => "<",
            Cmp::Eq => "==",
        }
    }
}

/// A derivative: an expression over an operation's inputs, its output Ω and (for array
/// operations, whose VJP is not a product with a local gradient) the upstream gradient.
/// The builder turns it into graph nodes (`ir::Graph::derivative`).
#[derive(Clone, Copy, Debug)]
pub enum D {
    /// Input `k`.
    X(usize),
    /// The output Ω.
    Out,
    /// The upstream gradient (array operations' VJPs only).
    Up,
    /// A float constant.
    C(f64),
    /// A constant of `core::f64::consts` (or `f32`), by name.
    Std(&'static str, f64),
    /// An operation of this table.
    P(Prim, &'static [D]),
    /// `if a CMP b { then } else { otherwise }`, from `[a, b, then, otherwise]`.
    If(Cmp, &'static [D; 4]),
    /// The first when input `k` is a constant known at compile time (and not NaN), else
    /// the second: a formula that keeps fewer values for the backward pass.
    IfConst(usize, &'static [D; 2]),
    /// Integer input `k` as a float (`n as f64`).
    IntAsFloat(usize),
    /// Integer input `k` plus a constant, kept an integer (`n - 1`).
    IntPlus(usize, i64),
    /// An array operation of [`tensor`]; one that takes an axis takes the axis of the
    /// operation being differentiated.
    Arr(TensorOp, &'static [D]),
    /// An array of the shape of `[value, like]`'s `like`, filled with `value`.
    Fill(&'static [D; 2]),
    /// No gradient (an integer input, labels).
    NoGrad,
}

/// How formulas (the pictures' labels, the documentation) show an operation.
#[derive(Clone, Copy, Debug)]
pub enum Notation {
    /// As code writes it: `name(args…)` for methods and functions, the symbol for operators.
    Written,
    /// An operator with a symbol of its own: `a · b`, `−x`.
    Symbol(&'static str),
    /// Text and operands (each at a precedence), the whole at a precedence: `√x`, `|x|`.
    Template(&'static [Piece], u8),
    /// `xⁿ`, with a superscript for a literal integer `n`, else `x^n`.
    Power,
}

/// A part of a [`Notation::Template`].
#[derive(Clone, Copy, Debug)]
pub enum Piece {
    Text(&'static str),
    /// Operand `k`, parenthesized where it binds looser than the precedence given.
    Arg(usize, u8),
}

/// One operation: a row of the table.
pub struct Rule {
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
    /// ∂out/∂argᵢ, one per argument ([`D::NoGrad`] for an integer).
    pub partials: &'static [D],
    /// For an operation with kinks or jumps: which smooth piece a point lies on (a value
    /// that changes only across a kink), so that finite differences are taken within one.
    pub piece: Option<fn(&[f64]) -> f64>,
    /// Where a derivative is infinite or undefined (√ at 0): no finite differences there.
    pub singular: Option<fn(&[f64]) -> bool>,
    pub notation: Notation,
    /// The name of its result in generated code (`let sum = …`).
    pub noun: &'static str,
    /// What the gradient is at kinks, jumps and singular points (the operations guide's table).
    pub convention: &'static str,
}

impl D {
    /// The derivative's value at a point: the inputs `x` (integers as floats) and the
    /// output `out`. `None` for no gradient, and for an array operation's (which needs the
    /// upstream and shapes). A formula kept for constant inputs ([`D::IfConst`]) gives the
    /// general one's value: both mean the same number.
    pub fn value(&self, x: &[f64], out: f64) -> Option<f64> {
        Some(match self {
            D::X(k) | D::IntAsFloat(k) => *x.get(*k)?,
            D::Out => out,
            D::C(value) | D::Std(_, value) => *value,
            D::P(prim, args) => {
                let args: Option<Vec<f64>> = args.iter().map(|d| d.value(x, out)).collect();
                (prim.rule().eval)(&args?)
            }
            D::If(cmp, [lhs, rhs, then, otherwise]) => {
                match cmp.eval(lhs.value(x, out)?, rhs.value(x, out)?) {
                    true => then.value(x, out)?,
                    false => otherwise.value(x, out)?,
                }
            }
            D::IfConst(_, [_, general]) => general.value(x, out)?,
            D::IntPlus(k, delta) => *x.get(*k)? + *delta as f64,
            D::Up | D::Arr(..) | D::Fill(..) | D::NoGrad => return None,
        })
    }
}

const F: Arg = Arg::Float;
const UNARY_ARGS: &[Arg] = &[F];
const BINARY_ARGS: &[Arg] = &[F, F];

impl Rule {
    /// Forward mode's rule of the row, from its partials: the directional derivative
    /// Σₖ ∂out/∂xₖ · tₖ at `x` along the tangent `t` (an integer input has none).
    pub fn tangent(&self, x: &[f64], t: &[f64]) -> f64 {
        let out = (self.eval)(x);
        self.partials
            .iter()
            .zip(t)
            .filter_map(|(d, &tk)| Some(d.value(x, out)? * tk))
            .sum()
    }

    /// A float method `x.name(…)` (also `f64::name(x, …)`).
    const fn method(
        name: &'static str,
        args: &'static [Arg],
        eval: fn(&[f64]) -> f64,
        partials: &'static [D],
    ) -> Rule {
        Rule {
            name,
            syntax: Syntax::Method,
            args,
            eval,
            exact: false,
            partials,
            piece: None,
            singular: None,
            notation: Notation::Written,
            noun: name,
            convention: "",
        }
    }

    /// An activation function of chainrule's runtime, `name(x, …)`.
    const fn function(
        name: &'static str,
        args: &'static [Arg],
        eval: fn(&[f64]) -> f64,
        partials: &'static [D],
    ) -> Rule {
        Rule {
            syntax: Syntax::Function,
            ..Rule::method(name, args, eval, partials)
        }
    }

    /// An operator.
    const fn operator(
        syntax: Syntax,
        noun: &'static str,
        args: &'static [Arg],
        eval: fn(&[f64]) -> f64,
        partials: &'static [D],
    ) -> Rule {
        Rule {
            syntax,
            noun,
            exact: true,
            ..Rule::method(noun, args, eval, partials)
        }
    }

    /// Rounded exactly by IEEE 754: folded at compile time.
    const fn exact(self) -> Rule {
        Rule { exact: true, ..self }
    }

    const fn kinks(self, piece: fn(&[f64]) -> f64, convention: &'static str) -> Rule {
        Rule {
            piece: Some(piece),
            convention,
            ..self
        }
    }

    const fn singular(self, singular: fn(&[f64]) -> bool, convention: &'static str) -> Rule {
        Rule {
            singular: Some(singular),
            convention,
            ..self
        }
    }

    const fn notation(self, notation: Notation) -> Rule {
        Rule { notation, ..self }
    }

    const fn name(self, name: &'static str) -> Rule {
        Rule { name, ..self }
    }
}

/// The table: each row declares its [`Prim`] variant and its [`Rule`], so that the enum,
/// [`Prim::ALL`] and [`Prim::rule`] cannot disagree.
macro_rules! operations {
    ($($(#[$doc:meta])* $prim:ident => $rule:expr;)*) => {
        /// A primitive operation: a row of the table.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        pub enum Prim {
            $($(#[$doc])* $prim,)*
        }

        impl Prim {
            /// Every operation, in table order.
            pub const ALL: &'static [Prim] = &[$(Prim::$prim,)*];

            /// The operation's row.
            pub fn rule(self) -> &'static Rule {
                match self {
                    $(Prim::$prim => {
                        static RULE: Rule = $rule;
                        &RULE
                    })*
                }
            }
        }
    };
}

use Cmp::{Ge, Gt, Lt};
use Prim::*;
use D::{If, IfConst, IntAsFloat, IntPlus, NoGrad, Out, Std, C, P, X};

/// 1 / Ω's argument… written out where several rows share a piece: √(1 − x²).
const ONE_MINUS_SQUARE_ROOT: D = P(Sqrt, &[P(Sub, &[C(1.0), P(Mul, &[X(0), X(0)])])]);

operations! {
    /// `-x`
    Neg => Rule::operator(Syntax::Prefix("-"), "negated", UNARY_ARGS, |a| -a[0], &[C(-1.0)])
        .name("neg")
        .notation(Notation::Symbol("−"));
    /// `a + b`: add distributes, both inputs get the upstream gradient unchanged.
    Add => Rule::operator(Syntax::Infix("+", SUM), "sum", BINARY_ARGS, |a| a[0] + a[1], &[C(1.0), C(1.0)])
        .name("add");
    /// `a - b`
    Sub => Rule::operator(Syntax::Infix("-", SUM), "difference", BINARY_ARGS, |a| a[0] - a[1], &[C(1.0), C(-1.0)])
        .name("sub")
        .notation(Notation::Symbol("−"));
    /// `a * b`: mul switches, each input gets the upstream gradient times the other input.
    Mul => Rule::operator(Syntax::Infix("*", PRODUCT), "product", BINARY_ARGS, |a| a[0] * a[1], &[X(1), X(0)])
        .name("mul")
        .notation(Notation::Symbol("·"));
    /// `a / b`: ∂a = 1/b, ∂b = −a/b² = −Ω/b.
    Div => Rule::operator(
        Syntax::Infix("/", PRODUCT),
        "quotient",
        BINARY_ARGS,
        |a| a[0] / a[1],
        &[P(Div, &[C(1.0), X(1)]), P(Neg, &[P(Div, &[Out, X(1)])])],
    )
    .name("div");
    /// `a % b`, the remainder of truncated division, `a − trunc(a/b)·b`: ∂a = 1 and
    /// ∂b = −trunc(a/b) between its jumps.
    Rem => Rule::operator(
        Syntax::Infix("%", PRODUCT),
        "remainder",
        BINARY_ARGS,
        |a| a[0] % a[1],
        &[C(1.0), P(Neg, &[P(Trunc, &[P(Div, &[X(0), X(1)])])])],
    )
    .name("rem")
    .kinks(|a| (a[0] / a[1]).trunc(), "jumps where a/b crosses an integer: one-sided there (∂a = 1)");
    Exp => Rule::method("exp", UNARY_ARGS, |a| a[0].exp(), &[Out]);
    Exp2 => Rule::method("exp2", UNARY_ARGS, |a| a[0].exp2(), &[P(Mul, &[Out, Std("LN_2", std::f64::consts::LN_2)])]);
    ExpM1 => Rule::method("exp_m1", UNARY_ARGS, |a| a[0].exp_m1(), &[P(Add, &[Out, C(1.0)])]);
    Ln => Rule::method("ln", UNARY_ARGS, |a| a[0].ln(), &[P(Div, &[C(1.0), X(0)])]);
    Ln1p => Rule::method("ln_1p", UNARY_ARGS, |a| a[0].ln_1p(), &[P(Div, &[C(1.0), P(Add, &[C(1.0), X(0)])])]);
    /// log_b(x) = ln x / ln b: ∂x = 1/(x ln b), ∂b = −Ω/(b ln b).
    Log => Rule::method(
        "log",
        BINARY_ARGS,
        |a| a[0].log(a[1]),
        &[
            P(Div, &[C(1.0), P(Mul, &[X(0), P(Ln, &[X(1)])])]),
            P(Neg, &[P(Div, &[Out, P(Mul, &[X(1), P(Ln, &[X(1)])])])]),
        ],
    )
    .singular(|a| a[0] == 0.0 || a[1] == 1.0 || a[1] == 0.0, "");
    Log2 => Rule::method(
        "log2",
        UNARY_ARGS,
        |a| a[0].log2(),
        &[P(Div, &[C(1.0), P(Mul, &[X(0), Std("LN_2", std::f64::consts::LN_2)])])],
    );
    Log10 => Rule::method(
        "log10",
        UNARY_ARGS,
        |a| a[0].log10(),
        &[P(Div, &[C(1.0), P(Mul, &[X(0), Std("LN_10", std::f64::consts::LN_10)])])],
    );
    /// ½/Ω: infinite at 0, as the true derivative.
    Sqrt => Rule::method("sqrt", UNARY_ARGS, |a| a[0].sqrt(), &[P(Div, &[C(0.5), Out])])
        .exact()
        .singular(|a| a[0] == 0.0, "∞ at 0")
        .notation(Notation::Template(&[Piece::Text("√"), Piece::Arg(0, precedence::POSTFIX)], precedence::POSTFIX));
    /// 1/(3Ω²): infinite at 0, as the true derivative.
    Cbrt => Rule::method(
        "cbrt",
        UNARY_ARGS,
        |a| a[0].cbrt(),
        &[P(Div, &[C(1.0), P(Mul, &[C(3.0), P(Mul, &[Out, Out])])])],
    )
    .singular(|a| a[0] == 0.0, "∞ at 0");
    Recip => Rule::method("recip", UNARY_ARGS, |a| a[0].recip(), &[P(Neg, &[P(Mul, &[Out, Out])])])
        .exact()
        .notation(Notation::Template(&[Piece::Text("1 / "), Piece::Arg(0, PRODUCT + 1)], PRODUCT));
    /// n xⁿ⁻¹, with n − 1 kept an integer; 0 for n = 0 (x⁰ = 1 is constant, also at
    /// x = 0, where the formula would give 0 · ∞). A literal n folds the choice away.
    Powi => Rule::method(
        "powi",
        &[F, Arg::Int],
        |a| a[0].powi(a[1] as i32),
        &[
            If(Cmp::Eq, &[IntAsFloat(1), C(0.0), C(0.0), P(Mul, &[IntAsFloat(1), P(Powi, &[X(0), IntPlus(1, -1)])])]),
            NoGrad,
        ],
    )
    .notation(Notation::Power);
    /// ∂x = y x^(y−1), 0 for y = 0 (x⁰ = 1, also at x = 0, where the formula gives 0 · ∞);
    /// ∂y = Ω ln x, taken as 0 at x = 0 (where Ω is 0 for y > 0).
    Powf => Rule::method(
        "powf",
        BINARY_ARGS,
        |a| a[0].powf(a[1]),
        &[
            If(Cmp::Eq, &[X(1), C(0.0), C(0.0), P(Mul, &[X(1), P(Powf, &[X(0), P(Sub, &[X(1), C(1.0)])])])]),
            If(Cmp::Eq, &[X(0), C(0.0), C(0.0), P(Mul, &[Out, P(Ln, &[X(0)])])]),
        ],
    )
    .kinks(|a| (a[0] > 0.0) as u8 as f64, "∂x = 0 for y = 0; ∂y = 0 at x = 0")
    .singular(|a| a[0] == 0.0, "∂x = 0 for y = 0; ∂y = 0 at x = 0")
    .notation(Notation::Template(
        &[Piece::Arg(0, precedence::POSTFIX), Piece::Text("^"), Piece::Arg(1, precedence::POSTFIX)],
        precedence::POSTFIX,
    ));
    Sin => Rule::method("sin", UNARY_ARGS, |a| a[0].sin(), &[P(Cos, &[X(0)])]);
    Cos => Rule::method("cos", UNARY_ARGS, |a| a[0].cos(), &[P(Neg, &[P(Sin, &[X(0)])])]);
    Tan => Rule::method("tan", UNARY_ARGS, |a| a[0].tan(), &[P(Add, &[C(1.0), P(Mul, &[Out, Out])])]);
    Asin => Rule::method("asin", UNARY_ARGS, |a| a[0].asin(), &[P(Div, &[C(1.0), ONE_MINUS_SQUARE_ROOT])])
        .singular(|a| a[0].abs() == 1.0, "∞ at ±1");
    Acos => Rule::method(
        "acos",
        UNARY_ARGS,
        |a| a[0].acos(),
        &[P(Neg, &[P(Div, &[C(1.0), ONE_MINUS_SQUARE_ROOT])])],
    )
    .singular(|a| a[0].abs() == 1.0, "∞ at ±1");
    Atan => Rule::method(
        "atan",
        UNARY_ARGS,
        |a| a[0].atan(),
        &[P(Div, &[C(1.0), P(Add, &[C(1.0), P(Mul, &[X(0), X(0)])])])],
    );
    /// atan2(y, x): ∂y = x/(x² + y²), ∂x = −y/(x² + y²).
    Atan2 => Rule::method(
        "atan2",
        BINARY_ARGS,
        |a| a[0].atan2(a[1]),
        &[
            P(Div, &[X(1), P(Add, &[P(Mul, &[X(1), X(1)]), P(Mul, &[X(0), X(0)])])]),
            P(Neg, &[P(Div, &[X(0), P(Add, &[P(Mul, &[X(1), X(1)]), P(Mul, &[X(0), X(0)])])])]),
        ],
    )
    // The branch cut: y = 0 for x < 0.
    .kinks(|a| if a[1] < 0.0 { (a[0] >= 0.0) as u8 as f64 } else { 2.0 }, "")
    .singular(|a| a[0] == 0.0 && a[1] == 0.0, "");
    /// 1/√(x² + 1)
    Asinh => Rule::method(
        "asinh",
        UNARY_ARGS,
        |a| a[0].asinh(),
        &[P(Div, &[C(1.0), P(Sqrt, &[P(Add, &[P(Mul, &[X(0), X(0)]), C(1.0)])])])],
    );
    /// 1/√(x² − 1): infinite at 1, as the true derivative.
    Acosh => Rule::method(
        "acosh",
        UNARY_ARGS,
        |a| a[0].acosh(),
        &[P(Div, &[C(1.0), P(Sqrt, &[P(Sub, &[P(Mul, &[X(0), X(0)]), C(1.0)])])])],
    )
    .singular(|a| a[0] == 1.0, "∞ at 1");
    /// 1/(1 − x²): infinite at ±1, as the true derivative.
    Atanh => Rule::method(
        "atanh",
        UNARY_ARGS,
        |a| a[0].atanh(),
        &[P(Div, &[C(1.0), P(Sub, &[C(1.0), P(Mul, &[X(0), X(0)])])])],
    )
    .singular(|a| a[0].abs() == 1.0, "∞ at ±1");
    Sinh => Rule::method("sinh", UNARY_ARGS, |a| a[0].sinh(), &[P(Cosh, &[X(0)])]);
    Cosh => Rule::method("cosh", UNARY_ARGS, |a| a[0].cosh(), &[P(Sinh, &[X(0)])]);
    Tanh => Rule::method("tanh", UNARY_ARGS, |a| a[0].tanh(), &[P(Sub, &[C(1.0), P(Mul, &[Out, Out])])]);
    /// The sign of x, and 0 at the kink.
    Abs => Rule::method(
        "abs",
        UNARY_ARGS,
        |a| a[0].abs(),
        &[If(Gt, &[X(0), C(0.0), C(1.0), If(Lt, &[X(0), C(0.0), C(-1.0), C(0.0)])])],
    )
    .exact()
    .kinks(|a| (a[0] > 0.0) as u8 as f64, "0 at 0")
    .notation(Notation::Template(&[Piece::Text("|"), Piece::Arg(0, 0), Piece::Text("|")], precedence::POSTFIX));
    /// max routes: the whole gradient goes to the argument that was returned (the first on
    /// a tie; the other one where an argument is NaN, as `f64::max` ignores NaN). Against a
    /// constant (`z.max(0.0)`, a ReLU), decided from the other argument (`z >= 0.0`), so
    /// that the backward pass need not keep the result; otherwise from the result
    /// (`Ω == a`).
    Max => Rule::method(
        "max",
        BINARY_ARGS,
        |a| a[0].max(a[1]),
        &[
            IfConst(1, &[If(Ge, &[X(0), X(1), C(1.0), C(0.0)]), IfConst(0, &[If(Gt, &[X(1), X(0), C(0.0), C(1.0)]), If(Cmp::Eq, &[Out, X(0), C(1.0), C(0.0)])])]),
            IfConst(1, &[If(Ge, &[X(0), X(1), C(0.0), C(1.0)]), IfConst(0, &[If(Gt, &[X(1), X(0), C(1.0), C(0.0)]), If(Cmp::Eq, &[Out, X(0), C(0.0), C(1.0)])])]),
        ],
    )
    .exact()
    .kinks(|a| (a[0] > a[1]) as u8 as f64, "all to the first argument on a tie");
    Min => Rule::method(
        "min",
        BINARY_ARGS,
        |a| a[0].min(a[1]),
        &[
            IfConst(1, &[If(Ge, &[X(1), X(0), C(1.0), C(0.0)]), IfConst(0, &[If(Lt, &[X(1), X(0), C(0.0), C(1.0)]), If(Cmp::Eq, &[Out, X(0), C(1.0), C(0.0)])])]),
            IfConst(1, &[If(Ge, &[X(1), X(0), C(0.0), C(1.0)]), IfConst(0, &[If(Lt, &[X(1), X(0), C(1.0), C(0.0)]), If(Cmp::Eq, &[Out, X(0), C(0.0), C(1.0)])])]),
        ],
    )
    .exact()
    .kinks(|a| (a[0] > a[1]) as u8 as f64, "all to the first argument on a tie");
    /// `x.clamp(lo, hi)`: all to x inside `[lo, hi]` (bounds included), else to the bound
    /// returned.
    Clamp => Rule::method(
        "clamp",
        &[F, F, F],
        // Not folded at compile time: `f64::clamp` panics for lo > hi, at run time.
        |a| if a[1] <= a[2] { a[0].clamp(a[1], a[2]) } else { f64::NAN },
        &[
            If(Lt, &[X(0), X(1), C(0.0), If(Gt, &[X(0), X(2), C(0.0), C(1.0)])]),
            If(Lt, &[X(0), X(1), C(1.0), C(0.0)]),
            If(Gt, &[X(0), X(2), C(1.0), C(0.0)]),
        ],
    )
    .kinks(
        |a| if a[0] < a[1] { 0.0 } else if a[0] > a[2] { 2.0 } else { 1.0 },
        "all to x at a bound (lo ≤ x ≤ hi); panics as `f64::clamp` for lo > hi",
    );
    /// hypot(a, b) = √(a² + b²): ∂a = a/Ω, ∂b = b/Ω, and 0 at the origin (as abs'(0)).
    Hypot => Rule::method(
        "hypot",
        BINARY_ARGS,
        |a| a[0].hypot(a[1]),
        &[
            If(Cmp::Eq, &[Out, C(0.0), C(0.0), P(Div, &[X(0), Out])]),
            If(Cmp::Eq, &[Out, C(0.0), C(0.0), P(Div, &[X(1), Out])]),
        ],
    )
    .kinks(|a| (a[0] == 0.0 && a[1] == 0.0) as u8 as f64, "0 at the origin");
    MulAdd => Rule::method("mul_add", &[F, F, F], |a| a[0].mul_add(a[1], a[2]), &[X(1), X(0), C(1.0)]).notation(
        Notation::Template(
            &[Piece::Arg(0, PRODUCT), Piece::Text(" · "), Piece::Arg(1, PRODUCT + 1), Piece::Text(" + "), Piece::Arg(2, SUM + 1)],
            SUM,
        ),
    );
    /// The sign of x (±1, NaN for NaN): gradient 0.
    Signum => Rule::method("signum", UNARY_ARGS, |a| a[0].signum(), &[C(0.0)])
        .exact()
        .kinks(|a| a[0].signum(), "0 (a step: also at 0)");
    /// `x.copysign(s)`: |x| with the sign of s, so ∂x = Ω/x (±1), 0 at x = 0 (as
    /// abs'(0)); ∂s = 0.
    Copysign => Rule::method(
        "copysign",
        BINARY_ARGS,
        |a| a[0].copysign(a[1]),
        &[If(Cmp::Eq, &[X(0), C(0.0), C(0.0), P(Div, &[Out, X(0)])]), C(0.0)],
    )
    .exact()
    .kinks(
        |a| ((a[0] > 0.0) as u8 * 2 + a[1].is_sign_negative() as u8) as f64,
        "∂x = 0 at x = 0; ∂s = 0",
    );
    /// Piecewise constant: gradient 0 between the jumps (and at them, as JAX).
    Floor => Rule::method("floor", UNARY_ARGS, |a| a[0].floor(), &[C(0.0)])
        .exact()
        .kinks(|a| a[0].floor(), "0 (also at the jumps)");
    Ceil => Rule::method("ceil", UNARY_ARGS, |a| a[0].ceil(), &[C(0.0)])
        .exact()
        .kinks(|a| a[0].ceil(), "0 (also at the jumps)");
    Round => Rule::method("round", UNARY_ARGS, |a| a[0].round(), &[C(0.0)])
        .exact()
        .kinks(|a| a[0].round(), "0 (also at the jumps)");
    RoundTiesEven => Rule::method("round_ties_even", UNARY_ARGS, |a| a[0].round_ties_even(), &[C(0.0)])
        .exact()
        .kinks(|a| a[0].round_ties_even(), "0 (also at the jumps)");
    Trunc => Rule::method("trunc", UNARY_ARGS, |a| a[0].trunc(), &[C(0.0)])
        .exact()
        .kinks(|a| a[0].trunc(), "0 (also at the jumps)");
    /// `x - x.trunc()`: 1 between the jumps.
    Fract => Rule::method("fract", UNARY_ARGS, |a| a[0].fract(), &[C(1.0)])
        .exact()
        .kinks(|a| a[0].trunc(), "1 (one-sided at the jumps)");
    /// `a.div_euclid(b)`: piecewise constant, gradient 0.
    DivEuclid => Rule::method("div_euclid", BINARY_ARGS, |a| a[0].div_euclid(a[1]), &[C(0.0), C(0.0)])
        .kinks(|a| a[0].div_euclid(a[1]), "0 (also at the jumps)");
    /// `a.rem_euclid(b)` = a − b·div_euclid(a, b): ∂a = 1, ∂b = −div_euclid(a, b).
    RemEuclid => Rule::method(
        "rem_euclid",
        BINARY_ARGS,
        |a| a[0].rem_euclid(a[1]),
        &[C(1.0), P(Neg, &[P(DivEuclid, &[X(0), X(1)])])],
    )
    .kinks(|a| a[0].div_euclid(a[1]), "one-sided at the jumps (∂a = 1)");
    /// x · π/180.
    ToRadians => Rule::method(
        "to_radians",
        UNARY_ARGS,
        |a| a[0].to_radians(),
        &[P(Div, &[Std("PI", std::f64::consts::PI), C(180.0)])],
    );
    /// x · 180/π.
    ToDegrees => Rule::method(
        "to_degrees",
        UNARY_ARGS,
        |a| a[0].to_degrees(),
        &[P(Div, &[C(180.0), Std("PI", std::f64::consts::PI)])],
    );
    /// σ' = σ(1 − σ), from the forward value.
    Sigmoid => Rule::function("sigmoid", UNARY_ARGS, |a| 1.0 / (1.0 + (-a[0]).exp()), &[P(Mul, &[Out, P(Sub, &[C(1.0), Out])])])
        .notation(Notation::Template(&[Piece::Text("σ("), Piece::Arg(0, 0), Piece::Text(")")], precedence::POSTFIX));
    /// From the output, as the lecture's `dhidden[hidden_layer <= 0] = 0`: relu(x) > 0
    /// exactly when x > 0 (NaN and −0 included), so the backward pass keeps only the
    /// activation, not the pre-activation as well.
    Relu => Rule::function("relu", UNARY_ARGS, |a| if a[0] <= 0.0 { 0.0 } else { a[0] }, &[If(Gt, &[Out, C(0.0), C(1.0), C(0.0)])])
        .exact()
        .kinks(|a| (a[0] > 0.0) as u8 as f64, "0 at 0");
    LeakyRelu => Rule::function(
        "leaky_relu",
        BINARY_ARGS,
        |a| if a[0] > 0.0 { a[0] } else { a[1] * a[0] },
        &[If(Gt, &[X(0), C(0.0), C(1.0), X(1)]), If(Gt, &[X(0), C(0.0), C(0.0), X(0)])],
    )
    .kinks(|a| (a[0] > 0.0) as u8 as f64, "the slope at 0");
    /// For x ≤ 0, Ω = α(eˣ − 1), so ∂x = αeˣ = Ω + α.
    Elu => Rule::function(
        "elu",
        BINARY_ARGS,
        |a| if a[0] > 0.0 { a[0] } else { a[1] * a[0].exp_m1() },
        &[If(Gt, &[X(0), C(0.0), C(1.0), P(Add, &[Out, X(1)])]), If(Gt, &[X(0), C(0.0), C(0.0), P(ExpM1, &[X(0)])])],
    )
    .kinks(|a| (a[0] > 0.0) as u8 as f64, "α at 0");
}

/// The primitive a float method names (`x.exp()`, `f64::exp(x)`).
pub fn method(name: &str) -> Option<Prim> {
    named(Syntax::Method, name)
}

/// The primitive an activation function of the runtime names (`sigmoid(x)`).
pub fn function(name: &str) -> Option<Prim> {
    match name {
        // maxout over two pre-activations is max; chainrule::tanh is the method.
        "maxout" => Some(Prim::Max),
        "tanh" => Some(Prim::Tanh),
        _ => named(Syntax::Function, name),
    }
}

/// The primitive a binary operator's symbol names (`+`, `%`).
pub fn infix(symbol: &str) -> Option<Prim> {
    Prim::ALL
        .iter()
        .copied()
        .find(|prim| matches!(prim.rule().syntax, Syntax::Infix(s, _) if s == symbol))
}

fn named(syntax: Syntax, name: &str) -> Option<Prim> {
    Prim::ALL
        .iter()
        .copied()
        .find(|prim| prim.rule().syntax == syntax && prim.rule().name == name)
}

/// For an error message: the supported method nearest to a name that is not one (`exq`
/// → `exp`, `floor_` → `floor`), if one is near.
pub fn nearest_method(name: &str) -> Option<&'static str> {
    Prim::ALL
        .iter()
        .map(|prim| prim.rule())
        .filter(|rule| rule.syntax == Syntax::Method)
        .map(|rule| (edit_distance(name, rule.name), rule.name))
        .filter(|&(distance, candidate)| distance <= (candidate.len().max(name.len()) / 3).max(1))
        .min()
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance, for suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve() {
        assert_eq!(method("exp_m1"), Some(Prim::ExpM1));
        assert_eq!(method("sigmoid"), None);
        assert_eq!(function("sigmoid"), Some(Prim::Sigmoid));
        assert_eq!(function("maxout"), Some(Prim::Max));
        assert_eq!(function("exp"), None);
        assert_eq!(infix("%"), Some(Prim::Rem));
        assert_eq!(infix("+"), Some(Prim::Add));
        assert_eq!(nearest_method("exq"), Some("exp"));
        assert_eq!(nearest_method("flor"), Some("floor"));
        assert_eq!(nearest_method("frobnicate"), None);
    }

    #[test]
    fn rows_are_consistent() {
        for &prim in Prim::ALL {
            let rule = prim.rule();
            assert_eq!(rule.partials.len(), rule.args.len(), "{}", rule.name);
            for (partial, arg) in rule.partials.iter().zip(rule.args) {
                assert_eq!(matches!(partial, D::NoGrad), *arg == Arg::Int, "{}", rule.name);
            }
        }
    }
}
