//! Regressions found while writing the docs and tests: each once failed to compile or gave
//! a wrong gradient.
#![allow(clippy::needless_range_loop)]
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

// Found by the random-program checks (derive/src/random.rs).

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
