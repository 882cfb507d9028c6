//! Regressions found while writing the docs and tests: each once failed to compile or gave
//! a wrong gradient.
#![allow(
    clippy::needless_range_loop,
    clippy::assign_op_pattern,
    clippy::manual_clamp,
    clippy::needless_lifetimes,
    clippy::needless_return,
    clippy::needless_late_init,
    clippy::useless_vec
)]
use chainrule::differentiate;

#[differentiate]
fn nested(x: f64, n: usize) -> f64 {
    let mut s = x;
    for _ in 0..2 {
        for _ in 0..n {
            s = s.sin();
        }
    }
    s
}

#[differentiate]
fn dot(w: &[f64], x: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..w.len() {
        s += w[i] * x;
    }
    s
}

#[differentiate]
fn outer(w: &[f64], x: f64) -> f64 {
    let mut s = x;
    for _ in 0..3 {
        s = dot(w, s).tanh();
    }
    s
}

#[differentiate]
fn row_let(m: [[f64; 2]; 3]) -> f64 {
    let r = m[1];
    r[0] * r[1]
}

#[differentiate]
fn rows(xs: &[[f64; 2]]) -> f64 {
    let mut s = 0.0;
    for x in xs.iter() {
        s += x[0] * x[1];
    }
    s
}

#[differentiate]
fn pick(xs: &[f64], k: i32, n: usize) -> f64 {
    xs[k as usize] * 2.0 + xs[0].powi(n as i32)
}

#[test]
fn repros() {
    let (v, g) = nested::grad(0.5, 3);
    let n = chainrule::numerical_gradient(|p: &[f64]| nested(p[0], 3), &[0.5]);
    assert!((g.x - n[0]).abs() < 1e-8, "{v} {g:?} {n:?}");
    let w = [0.3, -0.2, 0.5];
    let (_, g) = outer::grad(&w, 0.7);
    let n = chainrule::numerical_gradient(|p: &[f64]| outer(&p[..3], p[3]), &[0.3, -0.2, 0.5, 0.7]);
    for (a, b) in g.w.iter().chain([&g.x]).zip(&n) {
        assert!((a - b).abs() < 1e-8, "{a} {b}");
    }
    let (_, g) = row_let::grad([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
    assert_eq!(g.m, [[0.0, 0.0], [4.0, 3.0], [0.0, 0.0]]);
    let (_, g) = rows::grad(&[[1.0, 2.0], [3.0, 4.0]]);
    assert_eq!(g.xs, vec![[2.0, 1.0], [4.0, 3.0]]);
    let (_, g) = pick::grad(&[1.5, 2.0, 3.0], 2, 3);
    assert_eq!(g.xs, vec![3.0 * 1.5 * 1.5, 0.0, 2.0]);
}

// Found by the random-program checks (compiler/tests/random.rs).

#[allow(clippy::eq_op)] // the point: a square root at 0, in a loop whose result is unread
#[differentiate]
fn unused_loop(x: f64) -> f64 {
    let mut s = 0.0;
    for _ in 0..2 {
        s += (x - x).sqrt();
    }
    let _ = s;
    x
}
#[differentiate]
fn cast_lt(x: f64, n: usize) -> f64 {
    if (n as f64) < x {
        x
    } else {
        0.0
    }
}
#[allow(unused_variables)] // the point: a slice the value does not read
#[differentiate]
fn unused_slice(x: f64, xs: &[f64]) -> f64 {
    x
}
#[differentiate]
fn const_array(x: f64) -> f64 {
    let a = [4f64; 2];
    a[0].ln() * x + f64::ln(chainrule::sigmoid(1.0)) * x
}
#[differentiate]
fn copy_ref(x: f64, w: &[f64; 2]) -> f64 {
    let mut a = *w;
    a[0] = x;
    a[0] * a[1]
}
#[test]
fn found_by_random_programs() {
    assert_eq!(unused_loop::grad(2.0).1.x, 1.0);
    assert_eq!(cast_lt::grad(3.0, 2).1.x, 1.0);
    assert_eq!(unused_slice::grad(3.0, &[1.0, 2.0]).1.xs, vec![0.0, 0.0]);
    assert!((const_array::grad(1.0).1.x - (4f64.ln() + chainrule::sigmoid(1.0f64).ln())).abs() < 1e-12);
    assert_eq!(
        copy_ref::grad(3.0, &[1.0, 2.0]).1,
        copy_ref::Grad {
            x: 2.0,
            w: [0.0, 3.0]
        }
    );
}

// Found by the random programs compiled by rustc (e2e/, seeds 1,000,000..1,003,000):
// the generated code did not compile, where the function itself does. Those marked "the
// same cause" are the same causes elsewhere, found while fixing them.

/// `let mut w_1 = v;` for the loop's variable: a reference (E0594 at `w_1[0] = …`; seed
/// 1000568).
#[differentiate]
fn reference_into_loop(x: f64, v: &[f64; 2]) -> f64 {
    let mut w = *v;
    for _ in 0..2 {
        w[0] *= x;
    }
    w[0] + w[1]
}

/// A branch's output `(v)` on one side, an array on the other (E0308; seed 1002316).
#[differentiate]
fn reference_from_branch(x: f64, v: &[f64; 2]) -> f64 {
    let mut w = *v;
    if x > 0.0 {
        w[0] = x;
    }
    w[0] * w[1]
}

/// `w = v;` at the end of the loop's body (E0308; the same cause).
#[differentiate]
fn reference_as_next_value(x: f64, v: &[f64; 2]) -> f64 {
    let mut w = [x, x];
    let mut s = 0.0;
    for _ in 0..2 {
        s += w[0] * w[1];
        w = *v;
    }
    s
}

/// `let c = if x > 0.0 { 0.5 } else { 0.25 };`, then `c.ln()` (E0689: the suffix was lost;
/// seeds 1001928, where a constant variable folded, and 1002794).
#[differentiate]
fn constants_of_a_select(x: f64) -> f64 {
    let c = if x > 0.0 { 0.5 } else { 0.25f64 };
    c.ln() * x
}

/// The same, through a branch's outputs (the same cause).
#[differentiate]
fn constants_of_a_branch(x: f64) -> f64 {
    let mut s = 0.5f64;
    let mut t = x;
    if x > 0.0 {
        s = 2.0;
        t = t.sin();
    } else {
        s *= 6.0;
    }
    s.ln() * t
}

#[differentiate]
fn product_of(w: [f64; 2]) -> f64 {
    w[0] * w[1]
}

#[differentiate]
fn sum_behind(w: &[f64; 2]) -> f64 {
    w[0] + w[1]
}

/// `product_of(w)` for `product_of(*w)`: the reference, where the array goes by value
/// (E0308; the same cause).
#[differentiate]
fn reference_passed_by_value(x: f64, w: &[f64; 2]) -> f64 {
    product_of(*w) * x + sum_behind(w)
}

#[test]
fn found_by_random_programs_through_rustc() {
    let v = [0.5, -2.0];
    assert_eq!(reference_into_loop::grad(3.0, &v).1.v, [9.0, 1.0]);
    assert_eq!(reference_into_loop::grad(3.0, &v).1.x, 2.0 * 3.0 * 0.5);
    assert_eq!(reference_from_branch::grad(3.0, &v).1.v, [0.0, 3.0]);
    assert_eq!(reference_from_branch::grad(-3.0, &v).1.v, [-2.0, 0.5]);
    let (value, g) = reference_as_next_value::grad(3.0, &v);
    assert_eq!((value, g.x, g.v), (9.0 - 1.0, 6.0, [-2.0, 0.5]));
    assert_eq!(constants_of_a_select::grad(2.0).1.x, 0.5f64.ln());
    assert_eq!(constants_of_a_branch::grad(-2.0).1.x, 3f64.ln());
    let (value, g) = reference_passed_by_value::grad(2.0, &[3.0, 4.0]);
    assert_eq!((value, g.x, g.w), (31.0, 12.0, [9.0, 7.0]));
}

// Issue 10's six bugs, found by trying the crate as a new user would: each is valid code
// inside the documented language that failed to compile, crashed, or gave NaN.

/// Central differences of `f` at `x`, checked against `analytic` to 1e-6 (relative).
fn assert_matches_differences(f: impl FnMut(&[f64]) -> f64, x: &[f64], analytic: &[f64]) {
    let numeric = chainrule::numerical_gradient(f, x);
    for (k, (a, n)) in analytic.iter().zip(&numeric).enumerate() {
        assert!(
            (a - n).abs() <= 1e-6 * (1.0 + n.abs()),
            "∂{k}: analytic {a}, numeric {n} at {x:?}"
        );
    }
}

/// Bug 1: A `while` condition reading a variable that nothing after the loop reads (the
/// expansion dropped `let mut d = 1.0;`: `cannot find value d_1`).
#[differentiate]
fn halve_until_small(x: f64) -> f64 {
    let mut y = x;
    let mut d: f64 = 1.0;
    while d > 1e-3 {
        d = y * 0.5;
        y -= d;
    }
    y
}

/// Bug 2: Loop bounds of other integer types, in loops that save values (`expected usize,
/// found u32`).
#[differentiate]
fn pow_loop_u32(x: f64, n: u32) -> f64 {
    let mut p = 1.0;
    for _ in 0..n {
        p = p * x;
    }
    p
}

#[differentiate]
fn pow_loop_i32(x: f64, n: i32) -> f64 {
    let mut p = 1.0;
    for _ in 0..n {
        p = p * x;
    }
    p
}

#[differentiate]
fn shifted_product_u8(x: f64, k: u8, n: u8) -> f64 {
    let mut p = x;
    for i in k..n {
        p = p * (x + i as f64);
    }
    p
}

#[differentiate]
fn signed_range(x: f64, k: i64, n: i64) -> f64 {
    let mut p = x;
    for i in k..n {
        p = (p * (x - i as f64)).sin();
    }
    p
}

/// Bug 3: Integer constants: `N as f64` (the cast was dropped), `N - 1` (a false "write
/// `1.0`"), an array length of `STEPS + 1` (refused), integer methods (`n.min(3)` was
/// taken for the float method).
const N: usize = 4;
const STEPS: usize = 3;

#[differentiate]
fn integer_constants(t: f64, x: [f64; STEPS + 1]) -> f64 {
    let m = N - 1;
    let mut buffer = [0.0; STEPS + 1];
    for i in 0..STEPS + 1 {
        buffer[i] = x[i] * (i as f64 / N as f64);
    }
    t / N as f64 + t * m as f64 + buffer[STEPS] * buffer[1]
}

#[differentiate]
fn integer_methods(x: f64, n: usize, k: i32) -> f64 {
    let m = n.min(3).max(1);
    x.powi(k.pow(2)) * m as f64
}

/// Bug 4: An empty range in a loop that saves values (`attempt to subtract with overflow`,
/// `capacity overflow`).
#[differentiate]
fn prod_from_one(x: f64, n: usize) -> f64 {
    let mut p = x;
    for i in 1..n {
        p = p * (x + i as f64);
    }
    p
}

/// Bug 5: A literal million-step loop: its saved values (8 MB) go to the heap, not the stack.
#[differentiate]
fn decay(x0: f64, k: f64) -> f64 {
    let dt = 1e-6;
    let mut x = x0;
    for _ in 0..1_000_000 {
        x -= dt * k * x * x;
    }
    x
}

/// Bug 6: `powi`/`powf` with exponent 0 at base 0: the derivative is 0, not 0 · ∞ = NaN.
#[differentiate]
fn poly(c: &[f64], x: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..c.len() {
        s += c[i] * x.powi(i as i32);
    }
    s
}

#[differentiate]
fn power(x: f64, y: f64) -> f64 {
    x.powf(y)
}

#[test]
fn issue_10_while_condition_variable() {
    let (value, g) = halve_until_small::grad(1.0);
    // y halves until the step d = y/2 is at most 1e-3: 10 halvings, y = 2⁻¹⁰ x.
    assert_eq!(value, halve_until_small(1.0));
    assert_eq!((value, g.x), (2f64.powi(-10), 2f64.powi(-10)));
}

#[test]
fn issue_10_integer_loop_bounds() {
    assert_eq!(pow_loop_u32::grad(2.0, 3), (8.0, pow_loop_u32::Grad { x: 12.0 }));
    assert_eq!(pow_loop_u32::grad(2.0, 0), (1.0, pow_loop_u32::Grad { x: 0.0 }));
    assert_eq!(pow_loop_i32::grad(2.0, 3), (8.0, pow_loop_i32::Grad { x: 12.0 }));
    // A negative count runs no iteration, as in the function.
    assert_eq!(pow_loop_i32::grad(2.0, -3), (1.0, pow_loop_i32::Grad { x: 0.0 }));
    for (k, n) in [(1, 4), (3, 3), (5, 2), (0, 6)] {
        let x = 0.3;
        let (value, g) = shifted_product_u8::grad(x, k, n);
        assert_eq!(value, shifted_product_u8(x, k, n));
        assert_matches_differences(|v| shifted_product_u8(v[0], k, n), &[x], &[g.x]);
    }
    for (k, n) in [(-3, 2), (-1, -4), (2, 5)] {
        let x = 0.7;
        let (value, g) = signed_range::grad(x, k, n);
        assert_eq!(value, signed_range(x, k, n));
        assert_matches_differences(|v| signed_range(v[0], k, n), &[x], &[g.x]);
    }
    // At the ends of the type, the positions in the saved values are still right.
    let (value, g) = signed_range::grad(0.7, i64::MIN, i64::MIN + 3);
    assert_eq!(value, signed_range(0.7, i64::MIN, i64::MIN + 3));
    assert!(g.x.is_finite());
}

#[test]
fn issue_10_integer_constants() {
    let x = [1.0, 2.0, 3.0, 4.0];
    let (value, g) = integer_constants::grad(2.0, x);
    assert_eq!(value, integer_constants(2.0, x));
    assert_eq!(g.t, 0.25 + 3.0);
    // buffer[3] · buffer[1] = (3/4 x₃)(1/4 x₁)
    assert_eq!(g.x, [0.0, 0.75 * 4.0 * 0.25, 0.0, 0.25 * 2.0 * 0.75]);
    let (value, g) = integer_methods::grad(2.0, 5, 2);
    assert_eq!((value, g.x), (48.0, 96.0));
    assert_eq!(
        integer_methods::grad(2.0, 0, 1),
        (2.0, integer_methods::Grad { x: 1.0 })
    );
}

#[test]
fn issue_10_empty_ranges() {
    for n in [0, 1] {
        assert_eq!(prod_from_one::grad(2.0, n), (2.0, prod_from_one::Grad { x: 1.0 }));
    }
    let (value, g) = prod_from_one::grad(2.0, 3);
    // x (x + 1)(x + 2): 2 · 3 · 4, and its derivative 3x² + 6x + 2.
    assert_eq!((value, g.x), (24.0, 26.0));
}

#[test]
fn issue_10_long_literal_loop() {
    let (value, g) = decay::grad(1.0, 1.0);
    assert_eq!(value, decay(1.0, 1.0));
    // dx/dt = −k x²: x(1) = x₀ / (1 + k x₀ t), up to the Euler steps' error.
    assert!((value - 0.5).abs() < 1e-6, "{value}");
    assert!((g.x0 - 0.25).abs() < 1e-6 && (g.k + 0.25).abs() < 1e-6, "{g:?}");
    let (forward_value, cache) = decay::forward(1.0, 1.0);
    assert_eq!((forward_value, decay::backward(&cache, 1.0)), (value, g));
}

#[test]
fn issue_10_powers_at_zero() {
    let c = [1.0, 2.0, 3.0];
    assert_eq!(
        poly::grad(&c, 0.0),
        (
            1.0,
            poly::Grad {
                c: [1.0, 0.0, 0.0].to_vec(),
                x: 2.0
            }
        )
    );
    let (_, g) = poly::grad(&c, 0.5);
    assert_eq!(g.x, 2.0 + 6.0 * 0.5);
    // x⁰ = 1 for every x: ∂x = 0 at x = 0 too; ∂y = ln(x) xʸ, taken as 0 at x = 0.
    assert_eq!(power::grad(0.0, 0.0), (1.0, power::Grad { x: 0.0, y: 0.0 }));
    assert_eq!(power::grad(0.0, 1.0), (0.0, power::Grad { x: 1.0, y: 0.0 }));
    let (_, g) = power::grad(1.5, 0.0);
    assert_eq!((g.x, g.y), (0.0, 1.5f64.ln()));
    assert_matches_differences(
        |v| power(v[0], v[1]),
        &[1.5, 2.5],
        &[power::grad(1.5, 2.5).1.x, power::grad(1.5, 2.5).1.y],
    );
}

// Issue 11: lifetimes in the signature (once "a generic differentiated function has one
// type parameter").

/// Named lifetimes on slices and references to arrays, one bounded by the other.
#[differentiate]
fn weighted<'a, 'b: 'a>(xs: &'a [f64], w: &'b [f64; 3], scale: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..xs.len() {
        s += xs[i] * w[i % 3] * scale;
    }
    s.tanh()
}

/// With a generic float type, in f64 and f32.
#[differentiate]
fn weighted_generic<'a, T: chainrule::Real>(xs: &'a [T], scale: T) -> T {
    let mut s = T::zero();
    for i in 0..xs.len() {
        s += (xs[i] * scale).sin();
    }
    s
}

/// Its trace and source.
#[differentiate(trace, source)]
fn traced_with_lifetime<'a>(xs: &'a [f64]) -> f64 {
    xs[0] * xs[1]
}

/// A caller of a function with lifetimes (and with one of its own).
#[differentiate]
fn calls_weighted<'c>(xs: &'c [f64], scale: f64) -> f64 {
    let w = [0.5, -1.0, 2.0];
    weighted(xs, &w, scale) * scale
}

#[test]
fn lifetimes_in_the_signature() {
    let (xs, w) = ([0.3, -0.7, 1.1, 0.4], [0.5, -1.0, 2.0]);
    let (value, g) = weighted::grad(&xs, &w, 0.8);
    assert_eq!(value, weighted(&xs, &w, 0.8));
    let analytic: Vec<f64> = g.xs.iter().chain(&g.w).copied().chain([g.scale]).collect();
    let f = |p: &[f64]| weighted(&p[..4], &[p[4], p[5], p[6]], p[7]);
    assert_matches_differences(f, &[0.3, -0.7, 1.1, 0.4, 0.5, -1.0, 2.0, 0.8], &analytic);

    let (value, g) = weighted_generic::grad(&xs, 0.8);
    assert_eq!(value, weighted_generic(&xs, 0.8));
    let analytic: Vec<f64> = g.xs.iter().copied().chain([g.scale]).collect();
    let f = |p: &[f64]| weighted_generic(&p[..4], p[4]);
    assert_matches_differences(f, &[0.3, -0.7, 1.1, 0.4, 0.8], &analytic);
    let (value, g) = weighted_generic::grad(&[0.3_f32, -0.7], 0.8_f32);
    assert_eq!(value, weighted_generic(&[0.3_f32, -0.7], 0.8));
    assert!((g.scale - (0.3 * (0.24_f32).cos() - 0.7 * (-0.56_f32).cos())).abs() < 1e-6);

    let trace = traced_with_lifetime::trace(&[2.0, 3.0]);
    assert!(
        trace.starts_with("digraph") && trace.contains("value 6.0"),
        "{trace}"
    );
    assert!(traced_with_lifetime::SOURCE.contains("pub fn forward<'a>(xs: &'a [f64])"));

    let (value, g) = calls_weighted::grad(&xs, 0.8);
    assert_eq!(value, calls_weighted(&xs, 0.8));
    let analytic: Vec<f64> = g.xs.iter().copied().chain([g.scale]).collect();
    let f = |p: &[f64]| calls_weighted(&p[..4], p[4]);
    assert_matches_differences(f, &[0.3, -0.7, 1.1, 0.4, 0.8], &analytic);
}

// Issue 11: a `return` from a guard (once "early `return` is not supported").

/// Guards before the value: one returning at once, one with a local of its own, an
/// `else if` chain of guards.
#[differentiate]
fn guarded(x: f64, y: f64) -> f64 {
    if x < 0.0 {
        return -x * y;
    }
    let z = x * y;
    if z > 4.0 {
        let w = z.sqrt();
        return w * y;
    }
    if y > 1.0 {
        return z + 1.0;
    } else if y < -1.0 {
        return z - y;
    }
    z * z
}

/// Both branches return; the `else` alone returns (the `then` branch goes on).
#[differentiate]
fn both_return(x: f64) -> f64 {
    if x > 0.0 {
        return x.exp();
    } else {
        return -x;
    }
}

#[differentiate]
fn else_returns(x: f64) -> f64 {
    let mut s = x;
    if x > 1.0 {
        let t = s * 2.0;
        s = t;
    } else {
        return s.sin();
    }
    s + 1.0
}

#[test]
fn returns_from_guards() {
    for (x, y) in [(-1.5, 0.5), (3.0, 2.0), (0.5, 1.5), (0.5, -1.5), (0.5, 0.25)] {
        let (value, g) = guarded::grad(x, y);
        assert_eq!(value, guarded(x, y), "at {x}, {y}");
        assert_matches_differences(|p: &[f64]| guarded(p[0], p[1]), &[x, y], &[g.x, g.y]);
    }
    for x in [-1.25, 0.75] {
        let (value, g) = both_return::grad(x);
        assert_eq!(value, both_return(x));
        assert_matches_differences(|p: &[f64]| both_return(p[0]), &[x], &[g.x]);
    }
    for x in [0.5, 2.0] {
        let (value, g) = else_returns::grad(x);
        assert_eq!(value, else_returns(x));
        assert_matches_differences(|p: &[f64]| else_returns(p[0]), &[x], &[g.x]);
    }
    // The exact gradients: −y and −x on the first guard, 2·z·(y, x) past all of them.
    assert_eq!(guarded::grad(-1.5, 0.5).1.x, -0.5);
    let g = guarded::grad(0.5, 0.25).1;
    assert_eq!((g.x, g.y), (2.0 * 0.125 * 0.25, 2.0 * 0.125 * 0.5));
}

/// The function's value is an `if` whose `else` returns (the `then` branch is the value).
#[differentiate]
fn tail_if_with_a_returning_else(x: f64) -> f64 {
    let z = x * x;
    if z > 4.0 {
        z.sqrt()
    } else {
        return z * x;
    }
}

#[test]
fn a_tail_if_with_a_returning_else() {
    // √(x²) = |x| beyond 2, x³ within: d/dx = 1 and 3x².
    let (value, g) = tail_if_with_a_returning_else::grad(3.0);
    assert_eq!((value, g.x), (3.0, 1.0));
    let (value, g) = tail_if_with_a_returning_else::grad(0.5);
    assert_eq!((value, g.x), (0.125, 0.75));
}

// Issue 11: `let y;` assigned later, in each branch of an `if` (once "a `let` without a
// value is not supported").

#[differentiate]
fn deferred(x: f64, n: usize) -> f64 {
    let y: f64;
    let scale = 2.0;
    if x > 1.0 {
        let t = x.ln();
        y = t * scale;
    } else if n > 2 {
        y = x * x;
    } else {
        y = x.sin();
    }
    let mut z;
    if y > 0.5 {
        z = y * 3.0;
    } else {
        z = y;
    }
    z += 1.0;
    let w;
    let unrelated = z * 0.5;
    w = unrelated + y;
    z * y + w
}

#[test]
fn let_assigned_in_each_branch() {
    for (x, n) in [(2.5, 0), (0.75, 3), (0.75, 1), (-0.5, 1)] {
        let (value, g) = deferred::grad(x, n);
        assert_eq!(value, deferred(x, n), "at {x}, {n}");
        assert_matches_differences(|p: &[f64]| deferred(p[0], n), &[x], &[g.x]);
    }
}

// Issue 11: `mut` parameters (once "a mutable parameter is not supported").

#[differentiate]
fn mut_parameters(mut x: f64, mut w: [f64; 3], n: usize) -> f64 {
    for i in 0..n {
        w[i % 3] *= x;
        x = x.sin() + w[0];
    }
    x * w[1] + w[2]
}

#[test]
fn mutable_parameters() {
    let w = [0.5, -1.0, 2.0];
    let (value, g) = mut_parameters::grad(0.7, w, 4);
    assert_eq!(value, mut_parameters(0.7, w, 4));
    let analytic = [g.x, g.w[0], g.w[1], g.w[2]];
    let f = |p: &[f64]| mut_parameters(p[0], [p[1], p[2], p[3]], 4);
    assert_matches_differences(f, &[0.7, 0.5, -1.0, 2.0], &analytic);
}

// Issue 11: tuples taken apart (once "destructuring patterns are not supported").

#[differentiate]
fn tuples(x: f64, y: f64, n: usize) -> f64 {
    let (s, c) = x.sin_cos();
    let (a, mut b): (f64, f64) = (s * y, c);
    let ((p, _), (q, _)) = ((x * y, 0.0), (x + y).sin_cos());
    // Fibonacci-like: both values are computed before either is assigned.
    let (mut u, mut v) = (x, y);
    for _ in 0..n {
        (u, v) = (v, u + v * 0.5);
    }
    b += p * q;
    let (y, x) = (x, y);
    a + b + u * v + y - x
}

#[test]
fn tuples_taken_apart() {
    for (x, y) in [(0.5, -1.25), (1.5, 0.75)] {
        let (value, g) = tuples::grad(x, y, 3);
        assert_eq!(value, tuples(x, y, 3), "at {x}, {y}");
        assert_matches_differences(|p: &[f64]| tuples(p[0], p[1], 3), &[x, y], &[g.x, g.y]);
    }
}

// Issue 11: integers of every type as parameters, bounds, exponents and constants, and an
// array length that is a constant expression.

const QUARTER: usize = 4;
const TICKS: u32 = 10;

#[differentiate]
fn integer_kinds(x: f64, n: u32, k: i32) -> f64 {
    let dt = 1.0 / TICKS as f64;
    let mut t = x;
    for i in 0..n {
        t += dt * (i as f64) * t.powi(k);
    }
    let mut buf = [0.0; QUARTER * 2];
    for i in 0..QUARTER * 2 {
        buf[i] = t * i as f64;
    }
    let m = (n % 3).max(1) as f64;
    t / QUARTER as f64 + m + buf[QUARTER + 1] * buf[1]
}

#[test]
fn integers_of_every_type() {
    for x in [0.5, -0.3] {
        let (value, g) = integer_kinds::grad(x, 4, 2);
        assert_eq!(value, integer_kinds(x, 4, 2));
        assert_matches_differences(|p: &[f64]| integer_kinds(p[0], 4, 2), &[x], &[g.x]);
    }
}

// Issue 11: run-time-sized local arrays (once "the macro call `vec!(…)` is not supported").

#[differentiate]
fn run_time_arrays(xs: &[f64], x: f64, n: usize) -> f64 {
    let mut buf: Vec<f64> = vec![x; n];
    let copy = xs.to_vec();
    for i in 0..n {
        buf[i] = buf[i] * copy[i % copy.len()] + i as f64;
    }
    let mut scratch = copy.clone();
    scratch[0] *= buf[n - 1];
    let fixed = vec![x, 2.0 * x];
    buf.iter().sum::<f64>() + scratch[0] * fixed[1] + buf.len() as f64
}

#[test]
fn run_time_sized_local_arrays() {
    let xs = [0.5, -1.25, 2.0];
    for (x, n) in [(0.75, 4), (-0.5, 1)] {
        let (value, g) = run_time_arrays::grad(&xs, x, n);
        assert_eq!(value, run_time_arrays(&xs, x, n));
        let f = |p: &[f64]| run_time_arrays(&p[..3], p[3], n);
        let analytic = [g.xs.as_slice(), &[g.x]].concat();
        assert_matches_differences(f, &[0.5, -1.25, 2.0, x], &analytic);
    }
}

// Issue 11: const generic lengths (once "a generic differentiated function has one type
// parameter").

#[differentiate]
fn const_length<const N: usize>(x: [f64; N], y: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..N {
        s += x[i] * x[i] * y;
    }
    s / N as f64
}

#[differentiate]
fn generic_const_length<T: chainrule::Real, const N: usize>(x: [T; N]) -> T {
    x.iter().map(|v| v.sin()).sum::<T>() * x[N - 1]
}

#[test]
fn const_generic_lengths() {
    let (value, g) = const_length::grad([0.5, -1.0, 2.0], 1.5);
    assert_eq!(value, const_length([0.5, -1.0, 2.0], 1.5));
    let f = |p: &[f64]| const_length([p[0], p[1], p[2]], p[3]);
    assert_matches_differences(f, &[0.5, -1.0, 2.0, 1.5], &[g.x[0], g.x[1], g.x[2], g.y]);
    let (value, g) = const_length::grad([0.25; 5], -0.5);
    assert_eq!(value, const_length([0.25; 5], -0.5));
    assert_eq!(g.x, [2.0 * 0.25 * -0.5 / 5.0; 5]);
    let (value, g) = generic_const_length::grad([0.5f32, -1.0]);
    assert_eq!(value, generic_const_length([0.5f32, -1.0]));
    let f = |p: &[f64]| generic_const_length([p[0], p[1]]);
    let (_, g64) = generic_const_length::grad([0.5, -1.0]);
    assert_matches_differences(f, &[0.5, -1.0], &g64.x);
    assert!((g.x[0] - g64.x[0] as f32).abs() < 1e-6);
}

#[differentiate(trace, source)]
fn traced_const_length<const N: usize>(x: [f64; N]) -> f64 {
    let mut s = 0.0;
    for i in 0..N {
        s += x[i].exp();
    }
    s.ln()
}

#[test]
fn const_generic_lengths_traced() {
    let (value, _) = traced_const_length::grad([0.5, 1.5]);
    let trace = traced_const_length::trace([0.5, 1.5]);
    assert!(trace.contains("digraph") && value == traced_const_length([0.5, 1.5]));
    assert!(traced_const_length::SOURCE.contains("pub fn backward"));
}

/// Rows of run-time length as data (`&[Vec<f64>]`, `&Vec<Vec<f64>>`) and rows of fixed
/// length (`&[[f64; 2]]`), read by element loops, index loops and iterators; and
/// differentiated (the gradient a `Vec` of rows).
#[differentiate(wrt(w))]
fn rows_of_data(w: [f64; 2], data: &[Vec<f64>], fixed: &[[f64; 2]]) -> f64 {
    let mut total = 0.0;
    for row in data {
        total += w[0] * row[0] + w[1] * row[1];
    }
    for i in 0..data.len() {
        total += data[i][0] * w[1] + fixed[i][1] * w[0];
    }
    for r in fixed.iter() {
        total += r[0] * w[0] * r.len() as f64;
    }
    total
}

#[allow(clippy::ptr_arg)] // `&Vec<Vec<T>>` as users write it
#[differentiate]
fn rows_differentiated<T: chainrule::Real>(data: &Vec<Vec<T>>, k: T) -> T {
    let mut total = T::zero();
    for row in data.iter() {
        let s = row.iter().map(|v| *v * *v).sum::<T>();
        total += k * s.sqrt();
    }
    total
}

#[test]
fn rows_of_run_time_length() {
    let data = vec![vec![1.0, 2.0], vec![3.0, 4.0]];
    let fixed = [[0.5, 0.25], [1.0, 2.0]];
    let (value, grad) = rows_of_data::grad([1.0, 1.0], &data, &fixed);
    assert_eq!(value, rows_of_data([1.0, 1.0], &data, &fixed));
    assert_eq!(value, 10.0 + 6.25 + 3.0);
    assert_eq!(grad.w, [4.0 + 2.25 + 3.0, 6.0 + 4.0]);

    let data = vec![vec![3.0, 4.0], vec![1.0, 0.0, 0.0]];
    let (value, grad) = rows_differentiated::grad(&data, 2.0);
    assert_eq!(value, 2.0 * 5.0 + 2.0 * 1.0);
    assert_eq!(grad.k, 6.0);
    let expected = [vec![2.0 * 3.0 / 5.0, 2.0 * 4.0 / 5.0], vec![2.0, 0.0, 0.0]];
    assert_eq!(grad.data.len(), 2);
    for (row, want) in grad.data.iter().zip(&expected) {
        assert_eq!(row.len(), want.len());
        for (g, w) in row.iter().zip(want) {
            approx::assert_relative_eq!(g, w, max_relative = 1e-15);
        }
    }
    let data32 = vec![vec![3.0f32, 4.0]];
    let grad32 = rows_differentiated::grad(&data32, 1.0).1.data;
    approx::assert_relative_eq!(grad32[0][0], 0.6f32, max_relative = 1e-6);
    approx::assert_relative_eq!(grad32[0][1], 0.8f32, max_relative = 1e-6);
}

/// A vector a loop updates whose result nothing reads after the loop (lstm's state, as
/// GradBench's lstm first had it): the reverse loop starts its gradient from zeros shaped
/// like the loop's result. It was shaped like an iteration's value, read outside the loop
/// (`vec![0.0; st_saved[i].len()]` before `i` existed: generated code that did not compile),
/// and the vector was copied and saved in every iteration for that.
#[differentiate]
fn state_left_unread(p: &[f64]) -> f64 {
    let mut st = vec![1.0; p.len()];
    let mut total = 0.0;
    for j in 0..p.len() {
        st[j] = p[j].sin() * st[j];
        total += st[j];
    }
    total
}

#[test]
fn a_loop_result_nobody_reads() {
    let p = [0.5, -1.0, 2.0];
    let (value, grad) = state_left_unread::grad(&p);
    assert_eq!(value, state_left_unread(&p));
    let cosines: Vec<f64> = p.iter().map(|x: &f64| x.cos()).collect();
    assert_eq!(grad.p, cosines);
}

/// A slice whose backward pass reads only its length (llsq's powers, det's minors): the
/// cache keeps the length, not a copy of the slice.
#[differentiate(wrt(x))]
fn powers_of(x: &[f64], t: f64) -> f64 {
    let mut sum = 0.0;
    let mut power = 1.0;
    for &xj in x {
        sum += xj * power;
        power *= t;
    }
    sum
}

#[test]
fn the_cache_keeps_a_length_not_a_copy() {
    let x = [1.0, 2.0, 3.0];
    let (value, cache) = powers_of::forward(&x, 0.5);
    assert_eq!(value, 1.0 + 1.0 + 0.75);
    let kept = format!("{cache:?}");
    assert!(kept.contains("len: 3") && !kept.contains("x: ["), "{kept}");
    let grad = powers_of::backward(&cache, 1.0);
    assert_eq!(grad.x, vec![1.0, 0.5, 0.25]);
}
