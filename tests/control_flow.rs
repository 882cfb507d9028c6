//! Control flow, mutation, arrays and slices under `#[differentiate]`: `if`/`else if`/`else`
//! (statements and expressions, conditions on floats, integers and bools with `&&`, `||`,
//! `!`), `match` on integers, `let mut` with `=`, `+=`, `-=`, `*=`, `/=` on scalars and
//! array elements, fixed-size and nested arrays, slices and `&Vec`, `for` loops of every
//! supported form, `while` loops, integer and bool parameters, `as` casts and `wrt(…)`.
//!
//! Every function is checked by `check!` (see `support/mod.rs`) at several points away
//! from branch boundaries: `forward` and `grad` give exactly the original function's value,
//! `backward(&cache, 1.0)` is exactly `grad(..).1`, and the gradient agrees with central
//! differences. Where the gradient is simple it is also checked exactly.

#[macro_use]
mod support;

use approx::assert_relative_eq;
use chainrule::{differentiate, relu};

// ---------------------------------------------------------------------------------------
// if / else

/// The gradient is the taken branch's: 2x on the right, 3 on the left.
#[differentiate]
fn piecewise(x: f64) -> f64 {
    if x > 1.0 {
        x * x
    } else {
        3.0 * x
    }
}

#[differentiate]
fn piecewise_smooth(x: f64, y: f64) -> f64 {
    if x < 0.5 {
        x.sin() * y
    } else {
        x * x.exp() - y
    }
}

#[test]
fn piecewise_takes_the_gradient_of_the_taken_branch() {
    check!(piecewise(x) at [[-1.5], [0.25], [0.75], [1.5], [2.0], [3.25]]);
    assert_eq!(piecewise::grad(2.0), (4.0, piecewise::Grad { x: 4.0 }));
    assert_eq!(piecewise::grad(-1.0), (-3.0, piecewise::Grad { x: 3.0 }));
    assert_eq!(piecewise::grad(1.0), (3.0, piecewise::Grad { x: 3.0 }));
    check!(piecewise_smooth(x, y) at [[-1.5, 2.0], [0.25, -0.5], [0.75, 1.5], [2.0, 3.0]]);
    assert_eq!(piecewise_smooth::grad(0.25, 2.0).1.y, 0.25_f64.sin());
    assert_eq!(piecewise_smooth::grad(0.75, 2.0).1.y, -1.0);
}

/// `if` as an expression, in `let`s and as the tail; blocks with their own `let`s.
#[differentiate]
fn if_values(x: f64, y: f64) -> f64 {
    let a = if x > y { x * y } else { x / y };
    let b = if a < 0.0 {
        let t = -a;
        t.sqrt()
    } else {
        a.ln_1p()
    };
    if b > 1.0 {
        a + b * x
    } else {
        a * b - y
    }
}

#[test]
fn if_expressions() {
    check!(if_values(x, y) at [
        [2.0, 1.5],
        [2.0, -1.5],
        [0.5, 1.5],
        [-3.0, 2.0],
        [-0.5, -2.0],
        [4.0, 3.0],
    ]);
}

/// Variables assigned in both branches, with `=`, `+=`, `-=`, `*=`, `/=`.
#[differentiate]
fn assigned_in_branches(x: f64, y: f64) -> f64 {
    let mut a = x;
    let mut b = 1.0;
    if x * y > 0.5 {
        a = x * y;
        b = y.exp();
        a += b;
    } else {
        a -= y;
        b *= x;
        b /= y;
    }
    a * b + a
}

/// A variable assigned in one branch only (`if` without `else`).
#[differentiate]
fn assigned_in_one_branch(x: f64, y: f64) -> f64 {
    let mut s = x * y;
    if s > 1.0 {
        s = s.ln() + y;
    }
    s * x
}

/// A tuple taken apart from an `if` whose branches end with tuples (nested, and a block).
#[differentiate]
fn tuple_from_branches(x: f64, y: f64) -> f64 {
    let (a, mut b) = if x > y {
        (x * y, x - y)
    } else if x < 0.0 {
        let t = x.exp();
        (t, { t * y })
    } else {
        x.sin_cos()
    };
    b += a;
    let (c, d) = match (x * 4.0).abs().floor().min(3.0) as usize {
        0 => (a, b),
        1 | 2 => (b, a * 2.0),
        _ => (x, y),
    };
    a * b + c * d
}

#[test]
fn tuples_from_branches() {
    check!(tuple_from_branches(x, y) at [[1.5, 0.5], [-1.5, 2.0], [0.3, 0.5], [0.1, 0.5], [0.6, 0.9]]);
    // x > y: a = xy, b = x − y + xy; the match's last arm, (c, d) = (x, y); f = a·b + xy.
    let (value, g) = tuple_from_branches::grad(1.5, 0.5);
    assert_eq!(value, 0.75 * (1.0 + 0.75) + 0.75);
    let (a, b) = (0.75, 1.75);
    assert_eq!(
        (g.x, g.y),
        (0.5 * b + a * (1.0 + 0.5) + 0.5, 1.5 * b + a * (-1.0 + 1.5) + 1.5)
    );
}

#[test]
fn variables_assigned_in_branches() {
    check!(assigned_in_branches(x, y) at [[1.5, 2.0], [-1.5, -2.0], [0.5, 0.25], [-1.25, 2.0], [2.0, -0.75]]);
    // x = 0.5, y = 0.25: else branch; a = x - y, b = x / y; f = a·b + a.
    // ∂f/∂x = b + a/y + 1 = 2 + 1 + 1 = 4; ∂f/∂y = -b - a·x/y² - 1 = -2 - 2 - 1 = -5.
    let (value, g) = assigned_in_branches::grad(0.5, 0.25);
    assert_eq!(value, 0.75);
    assert_eq!((g.x, g.y), (4.0, -5.0));
    check!(assigned_in_one_branch(x, y) at [[1.5, 2.0], [0.5, 0.25], [-1.5, -2.0], [-0.5, 1.0]]);
    // Not taken: s = x·y, f = x²y.
    assert_eq!(
        assigned_in_one_branch::grad(0.5, 0.25).1,
        assigned_in_one_branch::Grad { x: 0.25, y: 0.25 }
    );
}

/// An `else if` chain of four pieces, only the first keeping a value for the backward pass
/// (`else_if_chain_keeping_values` below: inner pieces that do).
#[differentiate]
fn else_if_chain(x: f64, y: f64) -> f64 {
    if x < -1.0 {
        x.exp() * y
    } else if x < 0.0 {
        -x * x * y
    } else if x < 1.0 {
        x.sin() + y * x
    } else {
        y.cos() * x + y
    }
}

/// An `else if` chain as statements, without a final `else`.
#[differentiate]
fn else_if_statements(x: f64, y: f64) -> f64 {
    let mut r = y;
    if x < -1.0 {
        r *= x;
    } else if x < 0.0 {
        r -= x * x;
    } else if x < 1.0 {
        r += x.sin();
    }
    r * x
}

#[test]
fn else_if_chains() {
    check!(else_if_chain(x, y) at [
        [-2.0, 1.5],
        [-1.5, -0.5],
        [-0.5, 2.0],
        [-0.25, -1.0],
        [0.5, 0.75],
        [0.75, -2.0],
        [2.0, 1.25],
        [4.0, -0.5],
    ]);
    // The taken piece's gradient, exactly where it is simple.
    assert_eq!(
        else_if_chain::grad(-0.5, 2.0).1,
        else_if_chain::Grad { x: 2.0, y: -0.25 }
    );
    assert_eq!(
        else_if_chain::grad(0.5, 2.0).1,
        else_if_chain::Grad {
            x: 0.5_f64.cos() + 2.0,
            y: 0.5
        }
    );
    assert_eq!(
        else_if_chain::grad(2.0, 0.0).1,
        else_if_chain::Grad { x: 1.0, y: 1.0 }
    );
    check!(else_if_statements(x, y) at [[-2.0, 1.5], [-0.5, 1.5], [0.5, -2.0], [2.0, 3.0]]);
    // x = -2: r = y·x, f = y·x².
    assert_eq!(
        else_if_statements::grad(-2.0, 1.5).1,
        else_if_statements::Grad { x: -6.0, y: 4.0 }
    );
    // x = -0.5: r = y - x², f = (y - x²)·x: ∂x = y - 3x² = 0.75, ∂y = x.
    assert_eq!(
        else_if_statements::grad(-0.5, 1.5).1,
        else_if_statements::Grad { x: 0.75, y: -0.5 }
    );
    // Beyond the chain: r = y, f = x·y.
    assert_eq!(
        else_if_statements::grad(2.0, 3.0).1,
        else_if_statements::Grad { x: 3.0, y: 2.0 }
    );
}

/// An `else if` chain whose inner pieces keep values for the backward pass.
#[differentiate]
fn else_if_chain_keeping_values(x: f64) -> f64 {
    if x < -1.0 {
        -x * x
    } else if x < 0.0 {
        x * x * x
    } else if x < 1.0 {
        x.sin()
    } else {
        x.ln() + 1.0
    }
}

#[differentiate]
fn else_if_statements_keeping_values(x: f64, y: f64) -> f64 {
    let mut r = y;
    if x < -1.0 {
        r *= x;
    } else if x < 0.0 {
        r = r * r;
    } else if x < 1.0 {
        r += x.exp();
    }
    r * x
}

#[test]
fn else_if_chains_keeping_values() {
    check!(else_if_chain_keeping_values(x) at [[-2.0], [-1.5], [-0.5], [-0.25], [0.5], [0.75], [2.0], [4.0]]);
    assert_eq!(else_if_chain_keeping_values::grad(-2.0).1.x, 4.0);
    assert_eq!(else_if_chain_keeping_values::grad(-0.5).1.x, 0.75);
    assert_eq!(else_if_chain_keeping_values::grad(0.5).1.x, 0.5_f64.cos());
    assert_eq!(else_if_chain_keeping_values::grad(2.0).1.x, 0.5);
    check!(else_if_statements_keeping_values(x, y) at [[-2.0, 1.5], [-0.5, 1.5], [0.5, -2.0], [2.0, 3.0]]);
    // x = -0.5: r = y², f = y²x.
    assert_eq!(
        else_if_statements_keeping_values::grad(-0.5, 1.5).1,
        else_if_statements_keeping_values::Grad { x: 2.25, y: -1.5 }
    );
    // Beyond the chain: r = y, f = x·y.
    assert_eq!(
        else_if_statements_keeping_values::grad(2.0, 3.0).1,
        else_if_statements_keeping_values::Grad { x: 3.0, y: 2.0 }
    );
}

/// Conditions combining float comparisons, a bool and an integer parameter with `&&`,
/// `||` and `!`.
#[allow(clippy::neg_cmp_op_on_partial_ord)]
#[differentiate]
fn combined_conditions(x: f64, y: f64, flag: bool, k: i32) -> f64 {
    let mut r = x + y;
    if x > 0.0 && y > 0.0 {
        r = x * y;
    }
    if x < -1.0 || y < -1.0 {
        r = r * r;
    }
    if !(x > y) {
        r += y.sin();
    }
    if flag && k > 2 {
        r *= x;
    } else if !flag || k == 0 {
        r -= x * y;
    }
    if k != 1 && (flag || x >= 0.5) {
        r = r.tanh();
    }
    r
}

#[test]
fn conditions_with_and_or_not() {
    for flag in [false, true] {
        for k in [0, 1, 2, 3, 7] {
            eprintln!("flag = {flag}, k = {k}");
            check!(combined_conditions(x, y, flag = flag, k = k) at [
                [0.625, 0.75],
                [1.5, 0.25],
                [-1.5, 0.5],
                [0.25, -2.0],
                [-0.5, -0.25],
                [-2.0, -3.0],
            ]);
        }
    }
}

/// A bool parameter alone, and a bool kept in a local.
#[differentiate]
fn bool_parameter(x: f64, squared: bool) -> f64 {
    let big = x > 2.0;
    let y = if squared { x * x } else { x.exp() };
    if big {
        y * 3.0
    } else {
        y
    }
}

#[test]
fn bool_parameters_and_locals() {
    check!(bool_parameter(x, squared = true) at [[0.5], [3.0], [-1.0]]);
    check!(bool_parameter(x, squared = false) at [[0.5], [3.0], [-1.0]]);
    assert_eq!(bool_parameter::grad(3.0, true).1.x, 18.0);
    assert_eq!(bool_parameter::grad(0.5, true).1.x, 1.0);
}

// ---------------------------------------------------------------------------------------
// match

/// `match` as an expression with literals, `|`, `a..=b`, `a..b` and `_`, the arms keeping
/// no values for the backward pass (`match_keeping_values` below: arms that do).
#[differentiate]
fn match_expression(x: f64, k: usize) -> f64 {
    match k {
        0 => x,
        1 | 2 => x * x,
        3..=5 => x.sin(),
        6..9 => x * (k as f64),
        _ => -x,
    }
}

/// `match` as a statement assigning a variable, with blocks and an empty `_` arm.
#[differentiate]
fn match_statement(x: f64, y: f64, mode: u32) -> f64 {
    let mut s = x;
    match mode {
        0 => s += y,
        1 | 3 => {
            s *= y;
            s -= 1.0;
        }
        4..=6 => s -= y * y,
        _ => {}
    }
    s * x
}

#[test]
fn match_on_integers() {
    for k in 0..12 {
        check!(match_expression(x, k = k) at [[0.5], [-1.25], [2.0]]);
    }
    let expected = [
        1.0,
        6.0,
        6.0,
        3.0_f64.cos(),
        3.0_f64.cos(),
        3.0_f64.cos(),
        6.0,
        7.0,
        8.0,
        -1.0,
        -1.0,
    ];
    for (k, expected) in expected.into_iter().enumerate() {
        assert_eq!(match_expression::grad(3.0, k).1.x, expected, "k = {k}");
    }
    for mode in 0..8 {
        check!(match_statement(x, y, mode = mode) at [[0.5, 1.5], [-1.25, 0.75], [2.0, -3.0]]);
    }
    // mode 3: s = x·y - 1, f = x²y - x.
    assert_eq!(
        match_statement::grad(1.5, 2.0, 3).1,
        match_statement::Grad { x: 5.0, y: 2.25 }
    );
    // mode 7: s = x, f = x².
    assert_eq!(
        match_statement::grad(1.5, 2.0, 7).1,
        match_statement::Grad { x: 3.0, y: 0.0 }
    );
}

/// `match` arms that keep values for the backward pass.
#[differentiate]
fn match_keeping_values(x: f64, k: usize) -> f64 {
    match k {
        0 => x,
        1 | 2 => x * x,
        3..=5 => x.sin(),
        6..9 => x.exp() * (k as f64),
        _ => 1.0 / x,
    }
}

#[allow(clippy::assign_op_pattern)]
#[differentiate]
fn match_statement_keeping_values(x: f64, y: f64, mode: u32) -> f64 {
    let mut s = x;
    match mode {
        0 => s += y,
        1 | 3 => {
            s *= y;
            s = s.tanh();
        }
        4..=6 => {
            let t = y * y;
            s = s / t;
        }
        _ => {}
    }
    s * x
}

#[test]
fn match_arms_keeping_values() {
    for k in 0..12 {
        check!(match_keeping_values(x, k = k) at [[0.5], [-1.25], [2.0]]);
    }
    assert_eq!(match_keeping_values::grad(3.0, 0).1.x, 1.0);
    assert_eq!(match_keeping_values::grad(3.0, 2).1.x, 6.0);
    assert_eq!(match_keeping_values::grad(2.0, 11).1.x, -0.25);
    for mode in 0..8 {
        check!(match_statement_keeping_values(x, y, mode = mode) at [[0.5, 1.5], [-1.25, 0.75], [2.0, -3.0]]);
    }
    // mode 5: f = x²/y².
    assert_eq!(
        match_statement_keeping_values::grad(1.5, 2.0, 5).1,
        match_statement_keeping_values::Grad { x: 0.75, y: -0.5625 }
    );
    // mode 7: s = x, f = x².
    assert_eq!(
        match_statement_keeping_values::grad(1.5, 2.0, 7).1,
        match_statement_keeping_values::Grad { x: 3.0, y: 0.0 }
    );
}

// ---------------------------------------------------------------------------------------
// for loops: ranges

/// `p = p * x` n times: every old value of `p` is needed by the gradient.
#[allow(clippy::assign_op_pattern)]
#[differentiate]
fn power(x: f64, n: usize) -> f64 {
    let mut p = 1.0;
    for _ in 0..n {
        p = p * x;
    }
    p
}

#[test]
fn repeated_multiplication_needs_every_old_value() {
    for n in [0, 1, 2, 3, 10, 25] {
        check!(power(x, n = n) at [[0.5], [-1.25], [1.5]]);
    }
    // Exact in binary: n·xⁿ⁻¹.
    assert_eq!(power::grad(2.0, 10), (1024.0, power::Grad { x: 5120.0 }));
    assert_eq!(power::grad(0.5, 3), (0.125, power::Grad { x: 0.75 }));
    assert_eq!(power::grad(-2.0, 1), (-2.0, power::Grad { x: 1.0 }));
    assert_eq!(power::grad(3.0, 0), (1.0, power::Grad { x: 0.0 }));
}

/// `s = s * s.cos()`, many times: each step's derivative is at the old value of `s`.
#[differentiate]
fn self_map(x: f64) -> f64 {
    let mut s = x;
    for _ in 0..200 {
        s = s * s.cos();
    }
    s
}

/// 1,000 iterations of a contraction.
#[differentiate]
fn decay(x: f64) -> f64 {
    let mut x = x;
    for _ in 0..1000 {
        x = 0.999 * x + 0.001 * x.sin();
    }
    x
}

/// A product of 1,000 factors, with the loop index as a float.
#[differentiate]
fn long_product(x: f64, y: f64) -> f64 {
    let mut p = 1.0;
    for i in 0..1000 {
        p *= 1.0 + 0.001 * (x - y * (i as f64) / 1000.0);
    }
    p
}

#[test]
fn long_loops() {
    check!(self_map(x) at [[0.5], [-0.75], [1.25], [0.1]]);
    check!(decay(x) at [[0.5], [-2.0], [3.0], [10.0]]);
    check!(long_product(x, y) at [[0.5, 0.25], [-2.0, 1.5], [3.0, -1.0]]);
    // The gradient of decay is the product of the steps' derivatives.
    let x0: f64 = 0.5;
    let mut x = x0;
    let mut derivative = 1.0;
    for _ in 0..1000 {
        derivative *= 0.999 + 0.001 * x.cos();
        x = 0.999 * x + 0.001 * x.sin();
    }
    let (value, g) = decay::grad(x0);
    assert_eq!(value, x);
    assert_relative_eq!(g.x, derivative, max_relative = 1e-12);
}

/// `let` shadowing inside a loop body, also of a parameter.
#[allow(clippy::assign_op_pattern)]
#[differentiate]
fn shadowing_in_loop(x: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..10 {
        let y = s * x + (i as f64);
        let y = y.sin();
        let y = y * y;
        s += y;
    }
    for _ in 0..5 {
        let x = x * 0.5 + s;
        s = s + x.cos();
    }
    s
}

#[test]
fn shadowing_inside_loops() {
    check!(shadowing_in_loop(x) at [[0.5], [-1.25], [0.1], [2.0]]);
}

/// Loop bounds: a literal, a `const`, an integer parameter, `a..=b` and reversed.
const STEPS: usize = 6;

#[differentiate]
fn range_forms(x: f64, n: usize) -> f64 {
    let mut s = x;
    for i in 0..3 {
        s = s * x + (i as f64);
    }
    for _ in 0..STEPS {
        s = (s * 0.5).sin() + x;
    }
    for i in 1..=n {
        s += x / (i as f64);
    }
    for i in (2..n).rev() {
        s = s * 0.75 + x * (i as f64);
    }
    s
}

/// The same loops, the loop variable starting from a constant.
#[differentiate]
fn range_forms_from_one(x: f64, n: usize) -> f64 {
    let mut s = 1.0;
    for i in 0..3 {
        s = s * x + (i as f64);
    }
    for _ in 0..STEPS {
        s = (s * 0.5).sin() + x;
    }
    for i in 1..=n {
        s += x / (i as f64);
    }
    for i in (2..n).rev() {
        s = s * 0.75 + x * (i as f64);
    }
    s
}

#[test]
fn range_bounds() {
    for n in [0, 1, 2, 5] {
        check!(range_forms_from_one(x, n = n) at [[0.5], [-1.25], [2.0]]);
    }
}

#[test]
fn range_bounds_from_a_parameter() {
    for n in [0, 1, 2, 5] {
        check!(range_forms(x, n = n) at [[0.5], [-1.25], [2.0]]);
    }
}

/// A reversed loop where the order matters: Horner's rule, and a chain of sines.
#[differentiate]
fn horner(x: f64, c: [f64; 5]) -> f64 {
    let mut acc = 0.0;
    for i in (0..5).rev() {
        acc = acc * x + c[i];
    }
    acc
}

#[differentiate]
fn reversed_chain(c: [f64; 4]) -> f64 {
    let mut s = 0.0;
    for i in (0..4).rev() {
        s = (s + c[i]).sin() * c[i];
    }
    s
}

#[test]
fn reversed_loops() {
    check!(horner(x, c) at [
        [2.0, 1.0, -2.0, 0.5, 3.0, -1.0],
        [-0.5, 0.25, 1.5, -2.0, 0.75, 1.0],
    ]);
    // ∂/∂cᵢ = xⁱ; ∂/∂x = c₁ + 2c₂x + 3c₃x² + 4c₄x³.
    let (value, g) = horner::grad(2.0, [1.0, -2.0, 0.5, 3.0, -1.0]);
    assert_eq!(value, 1.0 - 4.0 + 2.0 + 24.0 - 16.0);
    assert_eq!(g.c, [1.0, 2.0, 4.0, 8.0, 16.0]);
    assert_eq!(g.x, -2.0 + 2.0 + 36.0 - 32.0);
    check!(reversed_chain(c) at [[0.5, -1.25, 2.0, 0.75], [1.5, 0.25, -0.5, -2.0]]);
}

/// Nested loops: a matrix-vector product, then tanh and a sum, each row accumulating in a
/// variable of the outer body (`mat_vec_in_place` below: updating `y[i]` directly).
#[allow(clippy::needless_range_loop)]
#[differentiate]
fn mat_vec(m: [[f64; 3]; 2], v: [f64; 3]) -> f64 {
    let mut y = [0.0; 2];
    for i in 0..2 {
        let mut row = 0.0;
        for j in 0..3 {
            row += m[i][j] * v[j];
        }
        y[i] = row;
    }
    let mut s = 0.0;
    for i in 0..2 {
        s += y[i].tanh();
    }
    s
}

/// A triangular loop nest: the inner bound is the outer index.
#[differentiate]
fn triangular(a: [f64; 4]) -> f64 {
    let mut s = 0.0;
    for i in 0..4 {
        let mut row = 0.0;
        for j in 0..i {
            row += a[i] * a[j];
        }
        s += row;
    }
    s
}

/// An inner bound depending on the outer index, with a value saved per inner iteration.
#[differentiate]
fn triangular_saved(a: [f64; 3]) -> f64 {
    let mut s = 0.0;
    for i in 0..3 {
        for j in 0..i {
            s += (a[i] * a[j]).sin();
        }
    }
    s
}

/// Three deep, the innermost bound depending on the middle index.
#[differentiate]
fn three_deep_triangular(a: [[f64; 3]; 3]) -> f64 {
    let mut s = 0.0;
    for i in 0..3 {
        for j in 0..3 {
            for k in 0..j {
                s += a[i][j] * a[j][k] * a[k][i];
            }
        }
    }
    s
}

#[test]
#[allow(clippy::needless_range_loop)]
fn nested_loops() {
    check!(mat_vec(m, v) at [
        [0.5, -1.0, 0.25, 1.5, 0.75, -0.5, 1.0, 2.0, -1.5],
        [-0.25, 0.5, 1.0, -0.75, 0.125, 0.5, -2.0, 1.0, 0.5],
    ]);
    let m = [[0.5, -1.0, 0.25], [1.5, 0.75, -0.5]];
    let v = [1.0, 2.0, -1.5];
    let (_, g) = mat_vec::grad(m, v);
    let y: [f64; 2] = std::array::from_fn(|i| m[i][0] * v[0] + m[i][1] * v[1] + m[i][2] * v[2]);
    for i in 0..2 {
        let t = y[i].tanh();
        for j in 0..3 {
            assert_relative_eq!(g.m[i][j], (1.0 - t * t) * v[j], max_relative = 1e-15);
        }
    }
    check!(triangular(a) at [[0.5, -1.0, 2.0, 0.25], [1.5, 0.75, -0.5, -2.0]]);
    check!(triangular_saved(a) at [[0.5, -1.25, 2.0], [1.5, 0.75, -0.5]]);
    check!(three_deep_triangular(a) at [[0.5, -1.0, 2.0, 0.25, 1.5, 0.75, -0.5, -2.0, 1.25]]);
    // ∂/∂aₖ = Σ_{j≠k} aⱼ.
    assert_eq!(triangular::grad([1.0, 2.0, 3.0, 4.0]).1.a, [9.0, 8.0, 7.0, 6.0]);
}

/// The same nests, updating `y[i]` and `s` directly in the inner loop.
#[allow(clippy::needless_range_loop)]
#[differentiate]
fn mat_vec_in_place(m: [[f64; 3]; 2], v: [f64; 3]) -> f64 {
    let mut y = [0.0; 2];
    for i in 0..2 {
        for j in 0..3 {
            y[i] += m[i][j] * v[j];
        }
    }
    let mut s = 0.0;
    for i in 0..2 {
        s += y[i].tanh();
    }
    s
}

#[differentiate]
fn triangular_in_place(a: [f64; 4]) -> f64 {
    let mut s = 0.0;
    for i in 0..4 {
        for j in 0..i {
            s += a[i] * a[j];
        }
    }
    s
}

/// Three deep: the trace of a³.
#[differentiate]
fn three_deep(a: [[f64; 3]; 3]) -> f64 {
    let mut s = 0.0;
    for i in 0..3 {
        for j in 0..3 {
            for k in 0..3 {
                s += a[i][j] * a[j][k] * a[k][i];
            }
        }
    }
    s
}

#[test]
fn nested_loops_in_place() {
    let points = [
        [0.5, -1.0, 0.25, 1.5, 0.75, -0.5, 1.0, 2.0, -1.5],
        [-0.25, 0.5, 1.0, -0.75, 0.125, 0.5, -2.0, 1.0, 0.5],
    ];
    let gradients = check!(mat_vec_in_place(m, v) at points);
    // The same gradient as with a row accumulator, to the bit.
    for (point, gradient) in points.iter().zip(&gradients) {
        let mut reference = Vec::new();
        let (m, v) = (
            [[point[0], point[1], point[2]], [point[3], point[4], point[5]]],
            [point[6], point[7], point[8]],
        );
        let g = mat_vec::grad(m, v).1;
        support::Flatten::flatten_into(&g.m, &mut reference);
        support::Flatten::flatten_into(&g.v, &mut reference);
        assert_eq!(gradient, &reference);
    }
    check!(triangular_in_place(a) at [[0.5, -1.0, 2.0, 0.25], [1.5, 0.75, -0.5, -2.0]]);
    assert_eq!(
        triangular_in_place::grad([1.0, 2.0, 3.0, 4.0]).1.a,
        [9.0, 8.0, 7.0, 6.0]
    );
    check!(three_deep(a) at [[0.5, -1.0, 2.0, 0.25, 1.5, 0.75, -0.5, -2.0, 1.25]]);
    // ∂ tr(a³)/∂a = 3 (a²)ᵀ: for a = [[1, 1, 0], [0, 1, 1], [0, 0, 1]], a² = [[1, 2, 1], [0, 1, 2], [0, 0, 1]].
    let (value, g) = three_deep::grad([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0]]);
    assert_eq!(value, 3.0);
    assert_eq!(g.a, [[3.0, 0.0, 0.0], [6.0, 3.0, 0.0], [3.0, 6.0, 3.0]]);
}

/// `if`s nested in a loop, on loop-carried values and on the loop index, the branches
/// keeping no values of their own (`branches_in_loop_keeping_values` below: they do).
#[differentiate]
fn branches_in_loop(x: f64, y: f64) -> f64 {
    let mut s = x;
    for i in 0..20 {
        if s > 1.0 {
            if i % 2 == 0 {
                s = s * 0.5 + y;
            } else {
                s = s * y - 0.25;
            }
        } else if s < -1.0 {
            s = -s * 0.75 + y * y;
        } else {
            s = s * 1.7 + y * 0.1;
        }
    }
    s
}

/// A loop inside one branch.
#[differentiate]
fn loop_in_a_branch(x: f64, n: usize) -> f64 {
    let mut s = x;
    if x > 0.0 {
        for _ in 0..n {
            s = s * x + 1.0;
        }
    } else {
        s = s * s;
    }
    s
}

/// The same, the loop variable starting from a constant.
#[allow(clippy::assign_op_pattern)]
#[differentiate]
fn loop_in_a_branch_from_one(x: f64, n: usize) -> f64 {
    let mut s = 1.0;
    if x > 0.0 {
        for _ in 0..n {
            s = s * x + 1.0;
        }
    } else {
        s = s * x;
    }
    s
}

/// `if`s in a loop whose branches keep values (`sqrt`, `cos`) for the backward pass.
#[differentiate]
fn branches_in_loop_keeping_values(x: f64, y: f64) -> f64 {
    let mut s = x;
    for i in 0..20 {
        if s > 1.0 {
            if i % 2 == 0 {
                s = s * 0.5 + y;
            } else {
                s = s.sqrt() * y;
            }
        } else if s < -1.0 {
            s = -s * y.cos();
        } else {
            s = s * 1.7 + y * 0.1;
        }
    }
    s
}

/// A `for` loop in one branch and a `while` loop in the other.
#[differentiate]
fn loops_in_both_branches(x: f64, n: usize) -> f64 {
    let mut s = 1.0;
    if x > 0.0 {
        for _ in 0..n {
            s = s * x + 1.0;
        }
    } else {
        while s < 5.0 {
            s = s - s * x + 0.5;
        }
    }
    s
}

#[test]
fn branches_and_loops_nested() {
    check!(branches_in_loop(x, y) at [[0.5, 0.75], [3.0, 1.25], [-2.0, 0.6], [0.3, -0.9]]);
    check!(branches_in_loop_keeping_values(x, y) at [[0.5, 0.75], [3.0, 1.25], [-2.0, 0.6], [0.3, -0.9]]);
    for n in [0, 1, 4] {
        check!(loops_in_both_branches(x, n = n) at [[0.5], [1.25], [-0.5], [-2.0], [-0.3]]);
    }
    // x = -0.5: s = 1 → 2 → 3.5 → 5.75 (three steps of s(1 - x) + 0.5): ∂ = -(1 + 1.5 + 1.5²)·… computed by hand below.
    let (value, g) = loops_in_both_branches::grad(-0.5, 0);
    assert_eq!(value, 5.75);
    // s₁ = 1.5 + 0.5, ∂s₁ = -1; s₂ = 1.5 s₁ + 0.5, ∂s₂ = 1.5·(-1) - s₁ = -3.5; s₃ = 1.5 s₂ + 0.5, ∂s₃ = 1.5·(-3.5) - s₂ = -8.75.
    assert_eq!(g.x, -8.75);
    for n in [0, 1, 4] {
        check!(loop_in_a_branch_from_one(x, n = n) at [[0.5], [1.25], [-0.5], [-2.0]]);
    }
    // n = 2: s = x² + x + 1, ∂ = 2x + 1.
    assert_eq!(
        loop_in_a_branch_from_one::grad(2.0, 2),
        (7.0, loop_in_a_branch_from_one::Grad { x: 5.0 })
    );
    assert_eq!(
        loop_in_a_branch_from_one::grad(-2.0, 2),
        (-2.0, loop_in_a_branch_from_one::Grad { x: 1.0 })
    );
}

#[test]
fn loop_in_a_branch_from_a_parameter() {
    // n = 2: s = x³ + x + 1, ∂ = 3x² + 1.
    assert_eq!(
        loop_in_a_branch::grad(2.0, 2),
        (11.0, loop_in_a_branch::Grad { x: 13.0 })
    );
    assert_eq!(
        loop_in_a_branch::grad(-2.0, 2),
        (4.0, loop_in_a_branch::Grad { x: -4.0 })
    );
    for n in [0, 1, 4] {
        check!(loop_in_a_branch(x, n = n) at [[0.5], [1.25], [-0.5], [-2.0]]);
    }
    // n = 0: s = x.
    assert_eq!(loops_in_branches_from_a_parameter::grad(0.5, 0).1.x, 1.0);
    for n in [0, 1, 4] {
        // (Not x ≤ -1: the `while` loop would run away to -∞ and never stop.)
        check!(loops_in_branches_from_a_parameter(x, n = n) at [[0.5], [1.25], [-0.5], [-0.25]]);
    }
}

/// `loops_in_both_branches` starting at `x`.
#[differentiate]
fn loops_in_branches_from_a_parameter(x: f64, n: usize) -> f64 {
    let mut s = x;
    if x > 0.0 {
        for _ in 0..n {
            s = s * x + 1.0;
        }
    } else {
        while s < 5.0 {
            s = s - s * x + 0.5;
        }
    }
    s
}

/// The smallest cases of a loop variable starting from a parameter the body also reads.
#[allow(clippy::assign_op_pattern)]
#[differentiate]
fn start_at_x_for(x: f64) -> f64 {
    let mut s = x;
    for _ in 0..1 {
        s = s + x;
    }
    s
}

#[allow(clippy::assign_op_pattern)]
#[differentiate]
fn start_at_2x_for(x: f64) -> f64 {
    let mut s = 2.0 * x;
    for _ in 0..1 {
        s = s + x;
    }
    s
}

#[allow(clippy::assign_op_pattern)]
#[differentiate]
fn start_at_x_while(x: f64) -> f64 {
    let mut s = x;
    let mut k = 0;
    while k < 1 {
        s = s + x;
        k += 1;
    }
    s
}

/// The same through a branch instead of a loop.
#[allow(clippy::assign_op_pattern)]
#[differentiate]
fn start_at_x_if(x: f64) -> f64 {
    let mut s = x;
    if x > 0.0 {
        s = s + x;
    }
    s
}

/// A body that does not read the parameter.
#[allow(clippy::assign_op_pattern)]
#[differentiate]
fn start_at_x_for_without_reading_it(x: f64, y: f64) -> f64 {
    let mut s = x;
    for _ in 0..1 {
        s = s + y;
    }
    s
}

#[test]
fn initial_value_through_a_branch_or_without_reading_it() {
    assert_eq!(start_at_x_if::grad(1.0), (2.0, start_at_x_if::Grad { x: 2.0 }));
    assert_eq!(start_at_x_if::grad(-1.0), (-1.0, start_at_x_if::Grad { x: 1.0 }));
    assert_eq!(
        start_at_x_for_without_reading_it::grad(1.0, 3.0),
        (4.0, start_at_x_for_without_reading_it::Grad { x: 1.0, y: 1.0 })
    );
}

#[test]
fn initial_value_of_a_loop_variable() {
    // s = x + x: ∂ = 2 (an earlier version of the macro gave 1: only the body's x), and 3
    // for s = 2x + x.
    assert_eq!(
        [
            start_at_x_for::grad(1.0).1.x,
            start_at_2x_for::grad(1.0).1.x,
            start_at_x_while::grad(1.0).1.x
        ],
        [2.0, 3.0, 2.0]
    );
}

// ---------------------------------------------------------------------------------------
// while loops

/// A float condition: the number of iterations depends on the inputs.
#[differentiate]
fn doubling(x: f64, p: f64) -> f64 {
    let mut z = x;
    while z < 10.0 {
        z = z * 2.0 + p;
    }
    z
}

/// An integer counter.
#[differentiate]
fn counted(x: f64, n: usize) -> f64 {
    let mut s = x;
    let mut k = 0;
    while k < n {
        s = s.sin() + x;
        k += 1;
    }
    s
}

/// Both: an integer and a float condition.
#[differentiate]
fn counted_until(x: f64, n: usize) -> f64 {
    let mut s = x;
    let mut k = 0;
    while k < n && s < 100.0 {
        s = s * x + (k as f64);
        k += 1;
    }
    s * 2.0
}

/// The same, starting from constants.
#[differentiate]
fn counted_from_zero(x: f64, n: usize) -> f64 {
    let mut s = 0.0;
    let mut k = 0;
    while k < n {
        s = (s + x).sin();
        k += 1;
    }
    s
}

#[differentiate]
fn counted_until_from_one(x: f64, n: usize) -> f64 {
    let mut s = 1.0;
    let mut k = 0;
    while k < n && s < 100.0 {
        s = s * x + (k as f64);
        k += 1;
    }
    s * 2.0
}

/// A loop variable with a type annotation, or a typed literal, then a method call on it.
#[differentiate]
fn annotated_loop_variable(x: f64) -> f64 {
    let mut s: f64 = 0.0;
    for _ in 0..3 {
        s = s.sin() + x;
    }
    let mut t = 0.5_f64;
    let mut k = 0;
    while k < 2 {
        t = t.cos() * x;
        k += 1;
    }
    s + t
}

#[test]
fn while_loops() {
    check!(doubling(x, p) at [[0.3, 0.25], [1.5, 1.0], [12.0, 3.0], [0.01, 0.5], [7.0, -1.0]]);
    // z = 4x + 3p after two doublings, 8x + 7p after three.
    assert_eq!(
        doubling::grad(3.0, 1.0),
        (15.0, doubling::Grad { x: 4.0, p: 3.0 })
    );
    assert_eq!(
        doubling::grad(1.5, 1.0),
        (19.0, doubling::Grad { x: 8.0, p: 7.0 })
    );
    assert_eq!(
        doubling::grad(12.0, 1.0),
        (12.0, doubling::Grad { x: 1.0, p: 0.0 })
    );
    for n in [0, 1, 2, 7] {
        check!(counted_from_zero(x, n = n) at [[0.5], [-1.25], [2.0]]);
    }
    for n in [0, 3, 10, 40] {
        check!(counted_until_from_one(x, n = n) at [[0.5], [1.5], [3.1], [-1.25]]);
    }
    check!(annotated_loop_variable(x) at [[0.5], [-1.25], [2.0]]);
    // n = 2: s = sin(sin(x) + x): ∂ = cos(sin(x) + x)·(cos x + 1).
    let x = 0.5_f64;
    assert_relative_eq!(
        counted_from_zero::grad(x, 2).1.x,
        (x.sin() + x).cos() * (x.cos() + 1.0),
        max_relative = 1e-15
    );
}

#[test]
fn while_loops_from_a_parameter() {
    // n = 0: s = x, ∂ = 1.
    assert_eq!(counted::grad(0.5, 0), (0.5, counted::Grad { x: 1.0 }));
    for n in [0, 1, 2, 7] {
        check!(counted(x, n = n) at [[0.5], [-1.25], [2.0]]);
    }
    for n in [0, 3, 10, 40] {
        check!(counted_until(x, n = n) at [[0.5], [1.5], [3.1], [-1.25]]);
    }
}

// ---------------------------------------------------------------------------------------
// arrays

/// Prefix products: `a[i] = a[i - 1] * w[i]`.
#[allow(clippy::needless_range_loop)]
#[differentiate]
fn prefix_products(w: [f64; 6]) -> f64 {
    let mut a = [0.0; 6];
    a[0] = w[0];
    for i in 1..6 {
        a[i] = a[i - 1] * w[i];
    }
    let mut s = 0.0;
    for i in 0..6 {
        s += a[i];
    }
    s
}

#[test]
fn prefix_products_in_place() {
    check!(prefix_products(w) at [
        [0.5, -1.25, 2.0, 0.75, 1.5, -0.5],
        [1.1, 0.9, 1.2, -0.8, 1.3, 0.7],
    ]);
    // With every wᵢ = 2: s = 2 + 4 + … + 64, ∂s/∂wₖ = Σ_{i≥k} 2ⁱ⁺¹ / 2.
    let (value, g) = prefix_products::grad([2.0; 6]);
    assert_eq!(value, 126.0);
    assert_eq!(g.w, [63.0, 62.0, 60.0, 56.0, 48.0, 32.0]);
}

/// Element updates with every operator, in 1-D and 2-D, indices `i + 1`, `i * 2 + j`.
const N: usize = 4;

#[differentiate]
fn element_updates(a: [f64; N], x: f64) -> f64 {
    let mut b = [0.0; N];
    let mut m = [[1.0; 2]; N];
    for i in 0..N {
        b[i] = a[i] * x;
        b[i] += 1.0;
        b[i] -= x * x;
        b[i] *= a[i];
        b[i] /= 1.0 + x * x;
        m[i][0] += b[i];
        m[i][1] *= b[i] - a[i];
        m[i][1] -= 0.5;
        m[i][0] /= 2.0 + a[i] * a[i];
    }
    let mut s = 0.0;
    for i in 0..N - 1 {
        s += (b[i + 1] - b[i]) * m[i][0] + m[i + 1][1];
    }
    let flat = [a[0], a[1], b[2], x];
    for i in 0..2 {
        for j in 0..2 {
            s += flat[i * 2 + j] * m[j][i];
        }
    }
    s
}

#[test]
fn array_element_updates() {
    check!(element_updates(a, x) at [
        [0.5, -1.25, 2.0, 0.75, 1.5],
        [1.1, 0.9, -1.2, -0.8, -0.3],
        [-0.5, 0.25, 0.125, 3.0, 0.0],
    ]);
}

/// Array literals of variables, `[x; N]`, `[0.0; N]` with N a `const`, and a nested
/// array parameter.
#[allow(clippy::needless_range_loop)]
#[differentiate]
fn array_literals(x: f64, y: f64, m: [[f64; 2]; 2]) -> f64 {
    let v = [x, y, x * y];
    let mut acc = [x; N];
    for i in 0..3 {
        acc[i + 1] = acc[i] * 0.5 + v[i];
    }
    let mut s = 0.0;
    for i in 0..N {
        s += acc[i] * acc[i];
    }
    s + m[0][1] * v[2] - m[1][0] / (1.0 + m[1][1] * m[1][1]) + m[0][0]
}

#[test]
fn array_literals_and_consts() {
    check!(array_literals(x, y, m) at [[0.5, -1.25, 1.0, 2.0, -0.5, 0.25], [1.5, 0.75, -1.0, 0.5, 2.0, -3.0]]);
}

/// The loop forms over arrays: `for v in a`, `for (i, v) in a.iter().enumerate()`,
/// `for &v in a.iter()`, the loop that scales `s` last (`array_iteration_adding_last`
/// below: the other way round).
#[differentiate]
fn array_iteration(a: [f64; 5], x: f64) -> f64 {
    let mut s = 0.0;
    for v in a {
        s += v * x;
    }
    for (i, v) in a.iter().enumerate() {
        s += v * v * (i as f64);
    }
    for &v in a.iter() {
        s = s * 0.5 + v.sin();
    }
    s
}

#[test]
fn iterating_over_arrays() {
    check!(array_iteration(a, x) at [[0.5, -1.25, 2.0, 0.75, 1.5, -0.5], [1.1, 0.9, -1.2, -0.8, -0.3, 2.0]]);
}

/// The smallest case: the last loop only adds to `s`, the one before scales it.
#[differentiate]
fn scale_then_add(a: [f64; 2]) -> f64 {
    let mut s = 0.0;
    for &v in a.iter() {
        s = s * 0.5 + v;
    }
    for &v in a.iter() {
        s += v;
    }
    s
}

/// The same loops, a loop that only adds to `s` after the one that scales it.
#[differentiate]
fn array_iteration_adding_last(a: [f64; 5], x: f64) -> f64 {
    let mut s = 0.0;
    for v in a {
        s += v * x;
    }
    for &v in a.iter() {
        s = s * 0.5 + v.sin();
    }
    for (i, v) in a.iter().enumerate() {
        s += v * v * (i as f64);
    }
    s
}

#[test]
fn iterating_over_arrays_adding_last() {
    check!(array_iteration_adding_last(a, x) at [[0.5, -1.25, 2.0, 0.75, 1.5, -0.5], [1.1, 0.9, -1.2, -0.8, -0.3, 2.0]]);
}

#[test]
fn scaling_loop_then_adding_loop() {
    // s = (a₀/2 + a₁) + a₀ + a₁: ∂ = (1.5, 2).
    assert_eq!(
        scale_then_add::grad([1.0, 2.0]),
        (5.5, scale_then_add::Grad { a: [1.5, 2.0] })
    );
}

/// A ReLU layer written with `if`, in place on an array.
#[differentiate]
fn relu_by_branch(z: [f64; 4]) -> f64 {
    let mut h = [0.0; 4];
    for i in 0..4 {
        if z[i] > 0.0 {
            h[i] = z[i];
        } else {
            h[i] = 0.01 * z[i];
        }
    }
    let mut s = 0.0;
    for i in 0..4 {
        s += h[i] * (i as f64 + 1.0) + relu(z[i]);
    }
    s
}

#[test]
fn branch_per_element() {
    check!(relu_by_branch(z) at [[0.5, -1.25, 2.0, -0.75], [-1.1, 0.9, 1.2, 0.8]]);
    assert_eq!(
        relu_by_branch::grad([0.5, -1.25, 2.0, -0.75]).1.z,
        [2.0, 0.02, 4.0, 0.04]
    );
}

// ---------------------------------------------------------------------------------------
// slices and &Vec

/// `for i in 0..xs.len()`, `enumerate`, `for v in xs`, `for &v in xs.iter()`, the
/// scaling loops last (`slice_loops_adding_last` below: the other way round).
#[differentiate]
fn slice_loops(xs: &[f64], ys: &[f64], x: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..xs.len() {
        s += xs[i] * ys[i];
    }
    for (i, v) in ys.iter().enumerate() {
        s += v * x * (i as f64);
    }
    for v in xs {
        s = s * 0.5 + v * v;
    }
    for &v in xs.iter() {
        s = s * 0.75 + (v * x).sin();
    }
    s
}

#[test]
fn slices_of_runtime_length() {
    check!(slice_loops(xs: 3, ys: 3, x) at [[0.5, -1.25, 2.0, 0.75, 1.5, -0.5, 0.3]]);
    check!(slice_loops(xs: 5, ys: 5, x) at [[0.5, -1.25, 2.0, 0.75, 1.5, -0.5, 0.3, 1.0, 2.0, -1.0, 0.7]]);
    check!(slice_loops(xs: 1, ys: 1, x) at [[0.5, -1.25, 2.0]]);
    // Empty slices: the value is 0 whatever x is, and so is its gradient.
    let (value, g) = slice_loops::grad(&[], &[], 1.5);
    assert_eq!(value, 0.0);
    assert_eq!(
        g,
        slice_loops::Grad {
            xs: vec![],
            ys: vec![],
            x: 0.0
        }
    );
}

/// The same loops over slices, the adding loops after the scaling ones.
#[differentiate]
fn slice_loops_adding_last(xs: &[f64], ys: &[f64], x: f64) -> f64 {
    let mut s = 0.0;
    for &v in xs.iter() {
        s += (v * x).sin();
    }
    for v in xs {
        s = s * 0.5 + v * v;
    }
    for (i, v) in ys.iter().enumerate() {
        s += v * x * (i as f64);
    }
    for i in 0..xs.len() {
        s += xs[i] * ys[i];
    }
    s
}

#[test]
fn slices_of_runtime_length_adding_last() {
    check!(slice_loops_adding_last(xs: 3, ys: 3, x) at [[0.5, -1.25, 2.0, 0.75, 1.5, -0.5, 0.3]]);
    check!(slice_loops_adding_last(xs: 5, ys: 5, x) at [[0.5, -1.25, 2.0, 0.75, 1.5, -0.5, 0.3, 1.0, 2.0, -1.0, 0.7]]);
    check!(slice_loops_adding_last(xs: 1, ys: 1, x) at [[0.5, -1.25, 2.0]]);
    // Empty slices: the value is 0 whatever x is, and so is its gradient.
    let (value, g) = slice_loops_adding_last::grad(&[], &[], 1.5);
    assert_eq!(value, 0.0);
    assert_eq!(
        g,
        slice_loops_adding_last::Grad {
            xs: vec![],
            ys: vec![],
            x: 0.0
        }
    );
}

/// A flat row-major matrix as a slice: `w[i * m + j]`, with integer parameters.
#[differentiate]
fn flat_matrix(w: &[f64], x: &[f64], rows: usize, cols: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..rows {
        let mut y = 0.0;
        for j in 0..cols {
            y += w[i * cols + j] * x[j];
        }
        s += y.tanh();
    }
    s
}

#[test]
fn integer_index_expressions() {
    check!(flat_matrix(w: 6, x: 3, rows = 2, cols = 3) at [
        [0.5, -1.0, 0.25, 1.5, 0.75, -0.5, 1.0, 2.0, -1.5],
    ]);
    check!(flat_matrix(w: 6, x: 2, rows = 3, cols = 2) at [
        [0.5, -1.0, 0.25, 1.5, 0.75, -0.5, 1.0, 2.0],
    ]);
}

/// A `&Vec<f64>` parameter; its gradient is a `Vec<f64>` of the same length.
#[allow(clippy::ptr_arg)]
#[differentiate]
fn vec_parameter(xs: &Vec<f64>, x: f64) -> f64 {
    let mut s = x;
    for &v in xs.iter() {
        s = s * v + x;
    }
    s
}

/// The same, starting from 0.
#[allow(clippy::ptr_arg)]
#[differentiate]
fn vec_parameter_from_zero(xs: &Vec<f64>, x: f64) -> f64 {
    let mut s = 0.0;
    for &v in xs.iter() {
        s = s * v + x;
    }
    s
}

#[test]
fn vec_parameters() {
    check!(vec_parameter_from_zero(xs: 4, x) at [[0.5, -1.25, 2.0, 0.75, 1.5], [1.5, 0.25, -2.0, 1.0, -0.5]]);
    let xs = vec![2.0, 3.0];
    let (value, g) = vec_parameter_from_zero::grad(&xs, 1.0);
    // s = (0·2 + x)·3 + x = 4x; ∂/∂xs₀ = 0, ∂/∂xs₁ = x.
    assert_eq!(value, 4.0);
    assert_eq!(
        g,
        vec_parameter_from_zero::Grad {
            xs: vec![0.0, 1.0],
            x: 4.0
        }
    );
    let copy: vec_parameter_from_zero::Grad = g.clone();
    assert_eq!(copy, g);
}

#[test]
fn vec_parameters_from_a_parameter() {
    let xs = vec![2.0, 3.0];
    let (value, g) = vec_parameter::grad(&xs, 1.0);
    // s = (x·2 + x)·3 + x = 10x; ∂/∂xs₀ = 3x, ∂/∂xs₁ = 3x.
    assert_eq!(value, 10.0);
    assert_eq!(
        g,
        vec_parameter::Grad {
            xs: vec![3.0, 3.0],
            x: 10.0
        }
    );
    check!(vec_parameter(xs: 4, x) at [[0.5, -1.25, 2.0, 0.75, 1.5]]);
}

/// A loop nest over run-time lengths (llsq's): the inner loop's saved values in one buffer
/// of `n * x.len()` floats for the whole nest.
#[differentiate]
fn nest_of_two(x: &[f64], n: usize) -> f64 {
    let mut sum = 0.0;
    for i in 0..n {
        let t = 0.3 * (i as f64) - 0.4;
        let mut residual = t.sin();
        let mut power = 1.0;
        for &xj in x {
            residual -= xj * power;
            power *= t + xj;
        }
        sum += residual * residual;
    }
    sum
}

/// Three levels, from 1 and to `m - 1`, each level saving values of its own.
#[allow(clippy::needless_range_loop)]
#[differentiate]
fn nest_of_three(w: &[f64], m: usize) -> f64 {
    let mut total = 0.0;
    for a in 1..m {
        let scale = (a as f64 * w[0]).cos();
        for b in 0..m - 1 {
            let mut acc = scale;
            for c in 0..w.len() {
                acc = acc * w[c] + (b as f64 - w[c]).sin();
            }
            total += acc.tanh() * scale;
        }
    }
    total
}

/// A signed index from -1, and a fixed array saved per inner iteration.
#[allow(clippy::needless_range_loop)]
#[differentiate]
fn nest_signed(x: &[f64], n: i32) -> f64 {
    let mut s = 0.0;
    for i in -1..n {
        let mut pair = [1.0, 0.5];
        for j in 0..x.len() {
            pair = [pair[0] * x[j] + i as f64, pair[1] * pair[0]];
        }
        s += pair[0] * pair[1];
    }
    s
}

/// The squared distance to the nearest centre (kmeans' term): the backward pass runs the
/// distance loop of the nearest centre only, the others' gradient flowing back being zero.
#[allow(clippy::needless_range_loop)]
#[differentiate]
fn nearest(p: &[f64], centres: &[f64]) -> f64 {
    let d = p.len();
    let mut best = f64::INFINITY;
    for c in 0..centres.len() / d {
        let mut distance = 0.0;
        for j in 0..d {
            let difference = p[j] - centres[c * d + j];
            distance += difference * difference;
        }
        best = best.min(distance);
    }
    best
}

#[test]
fn only_the_nearest_centre_gets_a_gradient() {
    let p = [0.5, -1.0];
    let centres = [3.0, 3.0, 0.75, -0.5, -2.0, 1.0];
    check!(nearest(p: 2, centres: 6) at [[0.5, -1.0, 3.0, 3.0, 0.75, -0.5, -2.0, 1.0]]);
    let (value, grad) = nearest::grad(&p, &centres);
    assert_eq!(value, 0.25 * 0.25 + 0.5 * 0.5);
    assert_eq!(grad.p, vec![-0.5, -1.0]);
    assert_eq!(grad.centres, vec![0.0, 0.0, 0.5, 1.0, 0.0, 0.0]);
    // A centre infinitely far: its distance is ∞, and its gradient 0 (not 0 · ∞ = NaN), as the
    // loop that would multiply by its zero gradient does not run.
    let far = [f64::INFINITY, 3.0, 0.75, -0.5];
    let (value, grad) = nearest::grad(&p, &far);
    assert_eq!(value, 0.25 * 0.25 + 0.5 * 0.5);
    assert_eq!(grad.p, vec![-0.5, -1.0]);
    assert_eq!(grad.centres, vec![0.0, 0.0, 0.5, 1.0]);
}

/// A running counter into a triangle (gmm's `l[index]`, `index += 1`): the backward pass
/// computes it again from its value before the inner loop and the loop's index, and reads
/// `l[index]` again, saving nothing per inner iteration.
#[allow(clippy::needless_range_loop)]
#[differentiate(wrt(l, centred))]
fn triangle(l: &[f64], centred: &[f64], d: usize, c: usize) -> f64 {
    let mut product = vec![0.0; d];
    let mut index = c * d;
    for j in 0..d {
        for r in (j + 1)..d {
            product[r] += l[index] * centred[j];
            index += 1;
        }
    }
    product.iter().map(|p| p * p).sum()
}

#[test]
fn counters_are_computed_again() {
    let mut points = support::Points::new(29);
    let point: Vec<Vec<f64>> = (0..3)
        .map(|_| (0..9).map(|_| points.next_f64()).collect())
        .collect();
    // l of 6 (c = 1, d = 3: index 3..6), centred of 3.
    check!(triangle(l: 6, centred: 3, d = 3, c = 1) at point);
    // product = [0, l₃c₀, l₄c₀ + l₅c₁]; at l = 1…, c = 1: [0, 1, 2], Σp² = 5.
    let (value, grad) = triangle::grad(&[0.0, 0.0, 0.0, 1.0, 1.0, 1.0], &[1.0, 1.0, 1.0], 3, 1);
    assert_eq!(value, 5.0);
    assert_eq!(grad.l, vec![0.0, 0.0, 0.0, 2.0, 4.0, 4.0]);
    assert_eq!(grad.centred, vec![2.0 + 4.0, 4.0, 0.0]);
}

#[test]
fn loop_nests_keep_one_buffer() {
    let mut points = support::Points::new(17);
    let point = |points: &mut support::Points, len: usize| -> Vec<f64> {
        (0..len).map(|_| points.next_f64()).collect()
    };
    let two: Vec<Vec<f64>> = (0..3).map(|_| point(&mut points, 4)).collect();
    check!(nest_of_two(x: 4, n = 5) at two);
    check!(nest_of_two(x: 4, n = 0) at two);
    let three: Vec<Vec<f64>> = (0..3).map(|_| point(&mut points, 3)).collect();
    check!(nest_of_three(w: 3, m = 4) at three);
    check!(nest_of_three(w: 3, m = 1) at three);
    check!(nest_of_three(w: 3, m = 0) at three);
    let signed: Vec<Vec<f64>> = (0..3).map(|_| point(&mut points, 3)).collect();
    check!(nest_signed(x: 3, n = 3) at signed);
    check!(nest_signed(x: 3, n = -4) at signed);
    // s = Σᵢ x₀·(x₀·1 + i)... at x = [2]: pair = [2 + i, 0.5], s = Σ_{i=-1}^{0} (2 + i)·0.5.
    assert_eq!(
        nest_signed::grad(&[2.0], 1),
        (1.5, nest_signed::Grad { x: vec![1.0] })
    );
}

// ---------------------------------------------------------------------------------------
// wrt

#[differentiate(wrt(w, b))]
fn affine(w: f64, x: f64, b: f64) -> f64 {
    (w * x + b).tanh()
}

/// `wrt` naming a nested array (the accumulator in the outer body, as in `mat_vec`).
#[differentiate(wrt(m))]
fn only_matrix_rows(m: [[f64; 2]; 2], v: [f64; 2]) -> f64 {
    let mut s = 0.0;
    for i in 0..2 {
        let mut row = 0.0;
        for j in 0..2 {
            row += m[i][j] * v[j] * v[i];
        }
        s += row;
    }
    s
}

#[differentiate(wrt(m))]
fn only_matrix(m: [[f64; 2]; 2], v: [f64; 2]) -> f64 {
    let mut s = 0.0;
    for i in 0..2 {
        for j in 0..2 {
            s += m[i][j] * v[j] * v[i];
        }
    }
    s
}

#[test]
fn wrt_restricts_the_gradient() {
    check!(affine(w, x = 1.5, b) at [[0.5, -0.25], [-1.0, 2.0]]);
    check!(affine(w, x = -0.5, b) at [[0.5, -0.25], [-1.0, 2.0]]);
    // `Grad` has exactly the fields w and b.
    let (_, g) = affine::grad(0.5, 2.0, 0.0);
    let affine::Grad { w, b } = g;
    let t = 1.0_f64.tanh();
    assert_eq!(b, 1.0 - t * t);
    assert_eq!(w, 2.0 * (1.0 - t * t));
    check!(only_matrix_rows(m, v = [0.5, -2.0]) at [[0.5, -1.0, 0.25, 1.5], [-1.5, 2.0, 0.75, -0.25]]);
    check!(only_matrix(m, v = [0.5, -2.0]) at [[0.5, -1.0, 0.25, 1.5], [-1.5, 2.0, 0.75, -0.25]]);
    let only_matrix::Grad { m } = only_matrix::grad([[1.0; 2]; 2], [0.5, -2.0]).1;
    assert_eq!(m, [[0.25, -1.0], [-1.0, 4.0]]);
    let only_matrix_rows::Grad { m } = only_matrix_rows::grad([[1.0; 2]; 2], [0.5, -2.0]).1;
    assert_eq!(m, [[0.25, -1.0], [-1.0, 4.0]]);
}

// ---------------------------------------------------------------------------------------
// Grad: Copy for fixed arrays, Clone for vectors

fn assert_copy<T: Copy>() {}

#[test]
fn grad_is_copy_with_fixed_arrays() {
    assert_copy::<mat_vec::Grad>();
    assert_copy::<horner::Grad>();
    assert_copy::<element_updates::Grad>();
    assert_copy::<only_matrix_rows::Grad>();
    assert_copy::<only_matrix::Grad>();
    assert_copy::<three_deep::Grad>();
    assert_copy::<prefix_products::Grad>();
    assert_copy::<array_literals::Grad>();
    let g = mat_vec::grad([[1.0; 3]; 2], [0.5; 3]).1;
    let copied = g;
    assert_eq!(copied, g);
    let cloned = slice_loops::grad(&[1.0, 2.0], &[3.0, 4.0], 0.5).1;
    assert_eq!(cloned.clone(), cloned);
    assert_eq!(cloned.xs.len(), 2);
    assert_eq!(cloned.ys.len(), 2);
}

// ---------------------------------------------------------------------------------------
// f32

#[differentiate]
fn piecewise_f32(x: f32, y: f32) -> f32 {
    if x < 0.5 {
        x.sin() * y
    } else {
        x * x.exp() - y
    }
}

#[differentiate]
fn piecewise3_f32(x: f32, y: f32) -> f32 {
    if x < 0.5 {
        x.sin() * y
    } else if x < 2.0 {
        x * x.exp() - y
    } else {
        x.ln() * y * y
    }
}

#[allow(clippy::needless_range_loop)]
#[differentiate]
fn mat_vec_in_place_f32(m: [[f32; 3]; 2], v: [f32; 3]) -> f32 {
    let mut y = [0.0; 2];
    for i in 0..2 {
        for j in 0..3 {
            y[i] += m[i][j] * v[j];
        }
    }
    let mut s = 0.0;
    for i in 0..2 {
        s += y[i].tanh();
    }
    s
}

#[differentiate]
fn decay_f32(x: f32) -> f32 {
    let mut x = x;
    for _ in 0..1000 {
        x = 0.999 * x + 0.001 * x.sin();
    }
    x
}

#[allow(clippy::needless_range_loop)]
#[differentiate]
fn mat_vec_f32(m: [[f32; 3]; 2], v: [f32; 3]) -> f32 {
    let mut y = [0.0; 2];
    for i in 0..2 {
        let mut row = 0.0;
        for j in 0..3 {
            row += m[i][j] * v[j];
        }
        y[i] = row;
    }
    let mut s = 0.0;
    for i in 0..2 {
        s += y[i].tanh();
    }
    s
}

#[allow(clippy::needless_range_loop)]
#[differentiate]
fn prefix_products_f32(w: [f32; 6]) -> f32 {
    let mut a = [0.0; 6];
    a[0] = w[0];
    for i in 1..6 {
        a[i] = a[i - 1] * w[i];
    }
    let mut s = 0.0;
    for i in 0..6 {
        s += a[i];
    }
    s
}

#[differentiate]
fn doubling_f32(x: f32, p: f32) -> f32 {
    let mut z = x;
    while z < 10.0 {
        z = z * 2.0 + p;
    }
    z
}

#[differentiate]
fn match_f32(x: f32, k: i64) -> f32 {
    match k {
        0 => x * x,
        1..=3 => x.cos() * (k as f32),
        _ => x,
    }
}

#[differentiate]
fn slice_f32(xs: &[f32], x: f32) -> f32 {
    let mut s = 0.0;
    for (i, v) in xs.iter().enumerate() {
        if *v > 0.0 {
            s += v * x * (i as f32);
        } else {
            s -= v * v;
        }
    }
    s
}

#[test]
fn f32_versions() {
    check!(piecewise_f32(x, y) at [[-1.5, 2.0], [0.25, -0.5], [0.75, 1.5], [3.0, -2.0]]);
    assert_eq!(piecewise_f32::grad(0.75, 2.0).1.y, -1.0);
    check!(piecewise3_f32(x, y) at [[-1.5, 2.0], [0.25, -0.5], [0.75, 1.5], [3.0, -2.0]]);
    assert_eq!(piecewise3_f32::grad(0.75, 2.0).1.y, -1.0);
    check!(mat_vec_in_place_f32(m, v) at [[0.5, -1.0, 0.25, 1.5, 0.75, -0.5, 1.0, 2.0, -1.5]]);
    check!(decay_f32(x) at [[0.5], [-2.0], [3.0]]);
    // The same gradient as in f64, to f32 precision.
    for x in [0.5_f32, -2.0, 3.0] {
        let g32 = decay_f32::grad(x).1.x;
        let g64 = decay::grad(f64::from(x)).1.x;
        assert_relative_eq!(f64::from(g32), g64, max_relative = 1e-4);
    }
    let m32: [[f32; 3]; 2] = [[0.5, -1.0, 0.25], [1.5, 0.75, -0.5]];
    let v32: [f32; 3] = [1.0, 2.0, -1.5];
    check!(mat_vec_f32(m, v) at [[0.5, -1.0, 0.25, 1.5, 0.75, -0.5, 1.0, 2.0, -1.5]]);
    let g32 = mat_vec_f32::grad(m32, v32).1;
    let g64 = mat_vec::grad(m32.map(|row| row.map(f64::from)), v32.map(f64::from)).1;
    for i in 0..2 {
        for j in 0..3 {
            // 1 - tanh² cancels when tanh is near 1: compare absolutely too.
            assert_relative_eq!(
                f64::from(g32.m[i][j]),
                g64.m[i][j],
                max_relative = 1e-5,
                epsilon = 1e-6
            );
        }
        assert_relative_eq!(f64::from(g32.v[i]), g64.v[i], max_relative = 1e-5, epsilon = 1e-6);
    }
    check!(prefix_products_f32(w) at [[0.5, -1.25, 2.0, 0.75, 1.5, -0.5], [1.1, 0.9, 1.2, -0.8, 1.3, 0.7]]);
    assert_eq!(
        prefix_products_f32::grad([2.0; 6]).1.w,
        [63.0, 62.0, 60.0, 56.0, 48.0, 32.0]
    );
    check!(doubling_f32(x, p) at [[0.3, 0.25], [1.5, 1.0], [12.0, 3.0]]);
    assert_eq!(
        doubling_f32::grad(1.5, 1.0),
        (19.0, doubling_f32::Grad { x: 8.0, p: 7.0 })
    );
    for k in 0..6 {
        check!(match_f32(x, k = k) at [[0.5], [-1.25], [2.0]]);
    }
    check!(slice_f32(xs: 4, x) at [[0.5, -1.25, 2.0, -0.75, 1.5]]);
}

// ---------------------------------------------------------------------------------------
// Harder cases: aliasing, in-place updates, control flow three deep

/// In-place cumulative sum, then an in-place scaling that reads the updated neighbour.
#[differentiate]
fn in_place_cumulative(a: [f64; 5], x: f64) -> f64 {
    let mut b = a;
    for i in 1..5 {
        b[i] += b[i - 1];
    }
    for i in (0..4).rev() {
        b[i] = b[i] * x + b[i + 1].sin();
    }
    let mut s = 0.0;
    for v in b {
        s += v * v;
    }
    s
}

/// A write at a runtime index that may alias a later read of a constant index.
#[allow(clippy::assign_op_pattern)]
#[differentiate]
fn aliasing(a: [f64; 3], x: f64, k: usize) -> f64 {
    let mut b = a;
    b[k] = x * b[k];
    b[0] * b[1] + b[2] * b[k]
}

/// A swap through a temporary, in a loop.
#[differentiate]
fn swaps(a: [f64; 4]) -> f64 {
    let mut b = a;
    for i in 0..3 {
        let t = b[i];
        b[i] = b[i + 1];
        b[i + 1] = t * 2.0;
    }
    b[0] + 3.0 * b[1] + 5.0 * b[2] + 7.0 * b[3].sin()
}

/// `y *= y` and `s /= s`: an operand that is its own target.
#[differentiate]
fn self_operands(x: f64) -> f64 {
    let mut y = x;
    y *= y;
    let mut s = x + 1.0;
    s /= s;
    y * s
}

/// A `while` loop with a branch in its body, and a condition on an array element (and a
/// bound on the number of iterations: some points run away to -∞).
#[differentiate]
fn while_with_branch(a: [f64; 2], x: f64) -> f64 {
    let mut b = a;
    let mut k = 0;
    while b[0] < 10.0 && k < 50 {
        if b[1] > 0.0 {
            b[0] = b[0] * 2.0 + b[1];
        } else {
            b[0] = b[0] * 1.5 - b[1] * x;
        }
        b[1] -= 0.5;
        k += 1;
    }
    b[0] * x
}

/// A `match` on the loop index inside a loop, and a value assigned in one arm only.
#[differentiate]
fn match_in_loop(x: f64, y: f64) -> f64 {
    let mut s = x;
    let mut last = 0.0;
    for i in 0..9 {
        match i % 3 {
            0 => s = s * 0.5 + y,
            1 => {
                s = s.sin() * 2.0;
                last = s * y;
            }
            _ => s -= x * 0.25,
        }
    }
    s + last
}

/// Branch, loop, branch: three deep, with a 2-D local.
#[allow(clippy::needless_range_loop)]
#[differentiate]
fn three_levels(m: [[f64; 3]; 2], x: f64, flag: bool) -> f64 {
    let mut acc = [[0.0; 3]; 2];
    let mut s = 0.0;
    if flag {
        for i in 0..2 {
            for j in 0..3 {
                if m[i][j] > 0.0 {
                    acc[i][j] = m[i][j] * x;
                } else {
                    acc[i][j] = m[i][j].exp();
                }
            }
        }
    } else {
        for i in 0..2 {
            acc[i][i] = m[i][i] * m[i][i];
        }
    }
    for i in 0..2 {
        for j in 0..3 {
            s += acc[i][j] * (j as f64 + 1.0);
        }
    }
    s
}

/// `(a..=b).rev()` and loop variables shadowing each other.
#[differentiate]
fn inclusive_reversed(x: f64, n: usize) -> f64 {
    let mut s = 1.0;
    for i in (1..=n).rev() {
        s = s * x + 1.0 / (i as f64);
        for i in 0..2 {
            s += x * (i as f64);
        }
    }
    s
}

#[test]
fn harder_cases() {
    check!(in_place_cumulative(a, x) at [[0.5, -1.25, 2.0, 0.75, 1.5, 0.5], [1.1, 0.9, -1.2, -0.8, -0.3, -1.5]]);
    for k in 0..3 {
        check!(aliasing(a, x, k = k) at [[0.5, -1.25, 2.0, 0.75], [1.5, 0.25, -2.0, -1.5]]);
    }
    // k = 0: b = [x a₀, a₁, a₂]: f = x a₀ a₁ + a₂ x a₀.
    let (value, g) = aliasing::grad([2.0, 3.0, 5.0], 0.5, 0);
    assert_eq!(value, 3.0 + 5.0);
    assert_eq!(
        g,
        aliasing::Grad {
            a: [0.5 * 3.0 + 5.0 * 0.5, 1.0, 1.0],
            x: 6.0 + 10.0
        }
    );
    check!(swaps(a) at [[0.5, -1.25, 2.0, 0.75], [1.5, 0.25, -2.0, -1.5]]);
    // b = [a₁, a₂, a₃, 8 a₀]: f = a₁ + 3a₂ + 5a₃ + 7 sin(8a₀).
    let g = swaps::grad([0.5, 1.0, 1.0, 1.0]).1;
    assert_eq!(g.a[1..], [1.0, 3.0, 5.0]);
    assert_relative_eq!(g.a[0], 56.0 * 4.0_f64.cos(), max_relative = 1e-15);
    check!(self_operands(x) at [[0.5], [-1.25], [2.0]]);
    assert_eq!(self_operands::grad(3.0), (9.0, self_operands::Grad { x: 6.0 }));
    check!(while_with_branch(a, x) at [[0.5, 1.25, 0.75], [1.5, -0.25, 2.0], [12.0, 1.0, 0.5], [-0.5, 0.3, -0.7]]);
    // a = (-0.5, 0.3), x = -0.7 never reaches 10: 50 iterations.
    check!(match_in_loop(x, y) at [[0.5, 0.75], [-1.25, 0.3], [2.0, -1.5]]);
    check!(three_levels(m, x, flag = true) at [[0.5, -1.25, 2.0, 0.75, -1.5, 0.25, 1.5]]);
    check!(three_levels(m, x, flag = false) at [[0.5, -1.25, 2.0, 0.75, -1.5, 0.25, 1.5]]);
    for n in [0, 1, 3] {
        check!(inclusive_reversed(x, n = n) at [[0.5], [-1.25]]);
    }
}

/// Negative literals in `match` patterns.
#[differentiate]
fn negative_patterns(x: f64, k: i32) -> f64 {
    match k {
        -2 | -1 => x * x,
        0 => x,
        _ => -x,
    }
}

/// `for (i, &v) in xs.iter().enumerate()`.
#[differentiate]
fn enumerate_by_value(xs: &[f64], x: f64) -> f64 {
    let mut s = 0.0;
    for (i, &v) in xs.iter().enumerate() {
        s += v * x * (i as f64);
    }
    s
}

/// An integer local as a loop bound, `[[f64; C]; R]` with both lengths `const`s.
const C: usize = 3;
const R: usize = 2;

#[allow(clippy::needless_range_loop)]
#[differentiate]
fn integer_locals(w: [[f64; C]; R], n: usize) -> f64 {
    let m = n - 1;
    let mut s = 0.0;
    for i in 0..R {
        for j in 0..m {
            s += w[i][j] * w[i][j + 1];
        }
    }
    s
}

/// A slice indexed by `i * C + j` with a `const` C.
#[differentiate]
fn flat_by_const(w: &[f64], x: [f64; C]) -> f64 {
    let mut s = 0.0;
    for i in 0..R {
        for j in 0..C {
            s += w[i * C + j] * x[j];
        }
    }
    s
}

#[test]
fn more_language_forms() {
    for k in -3..2 {
        check!(negative_patterns(x, k = k) at [[0.5], [-1.5]]);
    }
    assert_eq!(negative_patterns::grad(1.5, -2).1.x, 3.0);
    check!(enumerate_by_value(xs: 3, x) at [[0.5, -1.0, 2.0, 0.75]]);
    // s = x (v₁ + 2 v₂).
    assert_eq!(
        enumerate_by_value::grad(&[1.0, 2.0, 3.0], 0.5).1,
        enumerate_by_value::Grad {
            xs: vec![0.0, 0.5, 1.0],
            x: 8.0
        }
    );
    for n in [1, 2, 3] {
        check!(integer_locals(w, n = n) at [[0.5, -1.0, 2.0, 0.75, 1.5, -0.25]]);
    }
    check!(flat_by_const(w: 6, x) at [[0.5, -1.0, 2.0, 0.75, 1.5, -0.25, 1.0, 2.0, 3.0]]);
}
