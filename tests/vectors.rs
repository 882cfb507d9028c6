//! Vectors grown by `push`: `Vec::new()`, `Vec::with_capacity(n)`, `vec![x; n]` then
//! `push`, in loops and branches, read back by index, `len()` and iteration; tested against
//! central differences (f64) and in a generic function (f32).

#![allow(clippy::needless_range_loop)]

use approx::assert_relative_eq;
use chainrule::{differentiate, Real};

/// Central differences of `f` in each component of `x`.
fn numerical(x: &[f64], f: impl Fn(&[f64]) -> f64) -> Vec<f64> {
    (0..x.len())
        .map(|k| {
            let h = 1e-6 * x[k].abs().max(1.0);
            let (mut plus, mut minus) = (x.to_vec(), x.to_vec());
            plus[k] += h;
            minus[k] -= h;
            (f(&plus) - f(&minus)) / (2.0 * h)
        })
        .collect()
}

fn assert_close(analytic: &[f64], numerical: &[f64]) {
    assert_eq!(analytic.len(), numerical.len());
    for (a, n) in analytic.iter().zip(numerical) {
        assert_relative_eq!(a, n, max_relative = 1e-6, epsilon = 1e-8);
    }
}

#[differentiate]
fn grown(xs: &[f64], k: f64) -> f64 {
    let mut squares = Vec::new();
    for x in xs {
        squares.push(x * x * k);
    }
    // Only some pushed: a push in a branch.
    let mut kept = Vec::with_capacity(xs.len());
    for i in 0..squares.len() {
        if squares[i] > 0.5 {
            kept.push(squares[i].sqrt());
        }
    }
    kept.push(k);
    let mut total = 0.0;
    for a in kept.iter() {
        total += a;
    }
    total * kept.len() as f64 + squares[squares.len() - 1]
}

#[test]
fn pushed_in_loops_and_branches() {
    let xs = [0.5, 1.0, 2.0, -3.0];
    let (value, grad) = grown::grad(&xs, 1.5);
    assert_eq!(value, grown(&xs, 1.5));
    let mut at = xs.to_vec();
    at.push(1.5);
    let expected = numerical(&at, |p| grown(&p[..4], p[4]));
    assert_close(&grad.xs, &expected[..4]);
    assert_close(&[grad.k], &expected[4..]);
}

/// A history of Newton iterates kept in a `Vec`, until a tolerance: the gradient of the
/// root with respect to the parameter, through every step that ran.
#[differentiate]
fn newton_history(a: f64) -> f64 {
    let mut history = vec![a; 1];
    let mut x = a;
    let mut steps = 0;
    while steps < 50 && (x * x - a).abs() > 1e-12 {
        x = 0.5 * (x + a / x);
        history.push(x);
        steps += 1;
    }
    // The mean of the iterates, and the last one.
    let mut sum = 0.0;
    for h in history.iter() {
        sum += h;
    }
    sum / history.len() as f64 + history[history.len() - 1]
}

#[test]
fn a_history_grown_in_a_while_loop() {
    for a in [2.0, 9.0, 0.3] {
        let (value, grad) = newton_history::grad(a);
        assert_eq!(value, newton_history(a));
        assert_close(&[grad.a], &numerical(&[a], |p| newton_history(p[0])));
    }
}

/// Rows pushed onto a vector of arrays.
#[differentiate]
fn rows<T: Real>(w: [T; 2], n: usize) -> T {
    let mut points: Vec<[T; 2]> = Vec::new();
    for i in 0..n {
        let t = T::from_f64(i as f64);
        points.push([w[0] * t, w[1] * t * t]);
    }
    let mut total = T::zero();
    for p in points.iter() {
        total += p[0] * p[1];
    }
    total
}

#[test]
fn arrays_pushed() {
    let (value, grad) = rows::grad([0.5, -1.5], 4);
    assert_eq!(value, rows([0.5, -1.5], 4));
    // Σ w0 w1 t³ over t = 0..4: 36 w0 w1.
    assert_relative_eq!(value, 36.0 * 0.5 * -1.5, max_relative = 1e-15);
    assert_relative_eq!(grad.w[0], 36.0 * -1.5, max_relative = 1e-15);
    assert_relative_eq!(grad.w[1], 36.0 * 0.5, max_relative = 1e-15);
    let (value32, grad32) = rows::grad([0.5f32, -1.5], 4);
    assert_relative_eq!(value32, -27.0f32, max_relative = 1e-6);
    assert_relative_eq!(grad32.w[0], -54.0f32, max_relative = 1e-6);
}

/// `Vec::new()` of arrays: its type written, or the first push an array written out.
#[differentiate]
fn pairs(xs: &[f64]) -> f64 {
    let mut written: Vec<[f64; 2]> = Vec::new();
    let mut inferred = Vec::with_capacity(xs.len());
    for i in 0..xs.len() {
        let pair = [xs[i], 2.0 * xs[i]];
        written.push(pair);
        inferred.push([xs[i] * xs[i], 1.0]);
    }
    written[1][1] * inferred[0][0] + inferred.len() as f64
}

#[test]
fn vectors_of_arrays() {
    let xs = [1.5, -2.0];
    let (value, grad) = pairs::grad(&xs);
    assert_eq!(value, pairs(&xs));
    assert_eq!(value, -4.0 * 2.25 + 2.0);
    assert_eq!(grad.xs, [-4.0 * 3.0, 2.0 * 2.25]);
}
