//! Issue 11: `break`, `continue` (with labels), `loop` with `break` and `break value`, and
//! `return` anywhere. Each function is checked by `check!` (forward, backward and grad
//! against central differences, and the value against rustc's own run of the function).
#![allow(
    clippy::needless_range_loop,
    clippy::needless_return,
    clippy::never_loop,
    clippy::single_match
)]
use chainrule::differentiate;

#[macro_use]
mod support;

/// Newton's method for √a, stopping at a tolerance: the backward pass runs over the
/// iterations that ran.
#[differentiate]
fn newton_sqrt(a: f64) -> f64 {
    let mut x = a;
    for _ in 0..50 {
        let next = 0.5 * (x + a / x);
        if (next - x).abs() < 1e-12 {
            break;
        }
        x = next;
    }
    x
}

#[differentiate]
fn skip_negatives(xs: &[f64], w: [f64; 3]) -> f64 {
    let mut s = 0.0;
    for i in 0..xs.len() {
        if xs[i] < 0.0 {
            continue;
        }
        s += xs[i] * w[i % 3];
    }
    for &x in xs.iter() {
        if x > 1.0 {
            s += x;
            continue;
        }
        s *= 1.0 + 0.1 * x;
    }
    s
}

#[differentiate]
fn loop_value(x: f64) -> f64 {
    let mut y = x;
    let mut k = 0;
    let z = loop {
        y = y * 1.5 + 0.1;
        k += 1;
        if y > 10.0 || k > 20 {
            break y * 2.0;
        }
    };
    z + y
}

#[differentiate]
fn labelled(m: [[f64; 3]; 3], t: f64) -> f64 {
    let mut s = 0.0;
    'rows: for i in 0..3 {
        for j in 0..3 {
            if m[i][j] > t {
                continue 'rows;
            }
            if m[i][j] < -t {
                break 'rows;
            }
            s += m[i][j] * (i + j) as f64;
        }
        s *= 0.5;
    }
    s
}

#[differentiate]
fn early_returns(xs: &[f64], x: f64) -> f64 {
    let mut s = x;
    for (i, v) in xs.iter().enumerate() {
        if *v > 2.0 {
            return s * v;
        }
        match i {
            3 => return s + 1.0,
            _ => {}
        }
        s += v * x;
    }
    let mut k = 0;
    while k < 10 {
        if s > 100.0 {
            return s.sqrt();
        }
        s *= 1.5;
        k += 1;
    }
    s
}

#[differentiate]
fn loop_returns(x: f64) -> f64 {
    let mut y = x;
    loop {
        y = y * y + 0.5;
        if y > 4.0 {
            return y.ln();
        }
    }
}

#[differentiate]
fn reversed_break(w: [f64; 5]) -> f64 {
    let mut s = 0.0;
    for i in (0..5).rev() {
        if w[i] < 0.0 {
            break;
        }
        s += w[i] * w[i];
    }
    s
}

#[differentiate]
fn generic_break<T: chainrule::Real>(x: T, n: usize) -> T {
    let mut y = x;
    for i in 0..=n {
        if y > T::from_f64(3.0) {
            break;
        }
        y = y * T::from_f64(1.5) + T::from_f64(i as f64);
    }
    y
}

#[test]
fn jumps_match_central_differences() {
    check!(newton_sqrt(a) at [[2.0], [9.0], [0.3]]);
    check!(skip_negatives(xs: 4, w) at [[0.5, -1.0, 2.0, 0.25, 0.75, -0.5, 1.5], [-0.3, 1.2, 0.6, -0.9, 0.4, 0.2, 1.0]]);
    check!(loop_value(x) at [[0.5], [3.0], [-0.2]]);
    check!(labelled(m, t) at [[0.5, -1.0, 2.0, 0.25, 0.75, -0.5, 1.5, 0.1, -0.3, 1.1], [0.5, -0.3, 0.2, 0.25, 0.75, -0.5, 0.3, 0.1, -0.3, 0.8]]);
    check!(early_returns(xs: 5, x) at [[0.5, -1.0, 2.5, 0.25, 0.75, 0.3], [0.5, 1.0, 1.5, 0.25, 0.75, 0.3], [0.1, 0.2, 0.3, 0.4, 0.5, 2.0]]);
    check!(loop_returns(x) at [[0.5], [1.5], [-1.2]]);
    check!(reversed_break(w) at [[0.5, -1.0, 2.0, 0.25, 0.75], [0.5, 1.0, 2.0, 0.25, 0.75]]);
    check!(generic_break(x, n = 4) at [[0.5], [2.5]]);
    check!(generic_break(x, n = 4) at [[0.5f32], [2.5f32]]);
    // √2 within a unit in the last place, and d√a/da = 1 / (2√a) from the iterations that
    // ran.
    let (value, g) = newton_sqrt::grad(2.0);
    approx::assert_relative_eq!(value, 2f64.sqrt(), max_relative = 2.3e-16);
    approx::assert_relative_eq!(g.a, 0.5 / 2f64.sqrt(), max_relative = 1e-12);
}
