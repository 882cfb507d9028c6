//! Issue 11: iterator chains and closures, as a Rust programmer writes them first. Each
//! function is checked by `check!` (forward, backward, grad against central differences)
//! and its value against the same code run by rustc.
#![allow(
    clippy::needless_range_loop,
    clippy::unnecessary_fold,
    clippy::redundant_closure,
    clippy::ptr_arg
)]
use chainrule::differentiate;

#[macro_use]
mod support;

#[differentiate]
fn squared_error(xs: &[f64], ys: &[f64]) -> f64 {
    xs.iter().zip(ys).map(|(x, y)| (x - y).powi(2)).sum::<f64>()
}

#[differentiate]
fn weights_sum(w: [f64; 4]) -> f64 {
    let s: f64 = w.iter().sum();
    s * s
}

#[differentiate]
fn log_sum_exp(xs: &[f64]) -> f64 {
    let m = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let total: f64 = xs.iter().map(|x| (x - m).exp()).sum();
    m + total.ln()
}

#[differentiate]
fn zipped_loop(xs: &[f64], w: [f64; 3]) -> f64 {
    let mut s = 0.0;
    for (x, wi) in xs.iter().zip(w.iter()) {
        s += x * wi;
    }
    s.tanh()
}

#[differentiate]
fn closures(x: f64, y: f64) -> f64 {
    let sq = |t: f64| t * t;
    let scale = 3.0;
    let scaled = |t: f64| scale * sq(t) + y;
    sq(x) + scaled(x * y)
}

#[differentiate]
fn enumerated(w: [f64; 4], x: f64) -> f64 {
    w.iter().enumerate().map(|(i, wi)| wi * x.powi(i as i32)).sum()
}

#[differentiate]
fn adaptors(xs: &[f64]) -> f64 {
    let a: f64 = xs.iter().rev().skip(1).take(3).map(|x| x.sin()).sum();
    let b: f64 = xs.iter().step_by(2).product();
    let c = xs.iter().filter(|&&x| x > 0.0).map(|x| x * x).sum::<f64>();
    let n = xs.iter().filter(|x| **x < 0.45).count() as f64;
    let d: f64 = xs.iter().chain(xs.iter().take(2)).map(|x| x.cos()).sum();
    let e = xs.iter().copied().reduce(f64::min).unwrap();
    a + b + c * n + d + e
}

#[differentiate]
fn windows_and_chunks(xs: &[f64]) -> f64 {
    let smooth: f64 = xs.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum();
    let mut blocks = 0.0;
    for c in xs.chunks(2) {
        blocks += c.iter().product::<f64>() * c.len() as f64;
    }
    // A window's elements past its first (its length `end - start`, then `skip`'s).
    let tails: f64 = xs
        .windows(3)
        .map(|w| w.iter().skip(1).map(|v| v * v).sum::<f64>())
        .sum();
    smooth + blocks + tails
}

#[differentiate]
fn ranges(x: f64, n: usize) -> f64 {
    let poly: f64 = (0..n).map(|k| x.powi(k as i32) / (k + 1) as f64).sum();
    let total = (1..=n).fold(x, |acc, k| acc * 0.5 + k as f64 * x);
    let odd: usize = (0..n).filter(|k| k % 2 == 1).sum::<usize>();
    poly + total + odd as f64
}

#[test]
fn iterator_chains_match_central_differences() {
    check!(squared_error(xs: 3, ys: 3) at [[0.5, -1.0, 2.0, 0.25, 0.75, -0.5]]);
    check!(weights_sum(w) at [[0.5, -1.0, 2.0, 0.25]]);
    check!(log_sum_exp(xs: 4) at [[0.5, -1.0, 2.0, 0.25], [3.0, 1.0, -2.0, 0.0]]);
    check!(zipped_loop(xs: 4, w) at [[0.5, -1.0, 2.0, 0.25, 0.75, -0.5, 1.5]]);
    check!(closures(x, y) at [[0.5, -1.0], [1.5, 2.0]]);
    check!(enumerated(w, x) at [[0.5, -1.0, 2.0, 0.25, 0.75]]);
    check!(adaptors(xs: 5) at [[0.5, -1.0, 2.0, 0.25, 0.75], [-0.3, 0.6, 1.2, -0.9, 0.4]]);
    check!(windows_and_chunks(xs: 5) at [[0.5, -1.0, 2.0, 0.25, 0.75]]);
    check!(ranges(x, n = 4) at [[0.5], [1.5]]);
    // tails: Σ over 3 windows of 5 of their last two squared, (-1, 2), (2, 0.25), (0.25, 0.75).
    let xs: [f64; 5] = [0.5, -1.0, 2.0, 0.25, 0.75];
    let smooth: f64 = xs.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum();
    let blocks = -(0.5 * 2.0) + 2.0 * 0.25 * 2.0 + 0.75;
    let tails = 1.0 + 4.0 + 4.0 + 0.0625 + 0.0625 + 0.5625;
    assert_eq!(windows_and_chunks(&xs), smooth + blocks + tails);
    assert_eq!(windows_and_chunks::grad(&xs).0, smooth + blocks + tails);
}

#[differentiate]
fn generic_chain<T: chainrule::Real>(xs: &[T], w: [T; 3]) -> T {
    let dot: T = xs.iter().zip(w.iter()).map(|(x, wi)| *x * *wi).sum();
    let m = w.iter().copied().fold(T::zero(), T::max);
    let sq = |t: T| t * t;
    sq(dot) + m
}

#[differentiate]
fn single_chain(xs: [f32; 4]) -> f32 {
    let norm = xs.iter().map(|x| x * x).sum::<f32>().sqrt();
    xs.iter()
        .enumerate()
        .map(|(i, x)| x * (i as f32 + 1.0))
        .sum::<f32>()
        / norm
}

#[differentiate]
fn nested_chains(m: &[[f64; 3]], v: [f64; 3]) -> f64 {
    // A matrix-vector product's squared norm, row by row.
    m.iter()
        .map(|row| row.iter().zip(v.iter()).map(|(a, b)| a * b).sum::<f64>().powi(2))
        .sum()
}

#[differentiate]
fn three_zipped(a: &[f64], b: &Vec<f64>, c: [f64; 3]) -> f64 {
    a.iter()
        .zip(b.iter())
        .zip(c)
        .map(|((x, y), z)| x * y - z)
        .fold(0.0, |acc, t| acc + t.sin())
}

#[differentiate]
fn reversed_enumerate(xs: [f64; 4]) -> f64 {
    // `rev().enumerate()` counts from 0 at the last element.
    let mut s = 0.0;
    for (i, x) in xs.iter().rev().enumerate() {
        s += x * (i as f64 + 1.0);
    }
    s
}

#[differentiate]
fn consumers(xs: [f64; 4], y: f64) -> f64 {
    let mut total = 0.0;
    xs.iter().for_each(|x| total += x * y);
    let positive = xs.iter().all(|&x| x > -2.0);
    let big = xs.iter().any(|x| *x > 1.5);
    let evens: f64 = (0..xs.len()).step_by(2).map(|i| xs[i]).sum();
    let first = |t: &[f64; 4]| t[0];
    let scale = if positive && !big { 2.0 } else { 0.5 };
    total * scale + evens + first(&xs)
}

#[differentiate]
fn window_loops(xs: &[f64]) -> f64 {
    let mut s = 0.0;
    for w in xs.windows(3) {
        let mean: f64 = w.iter().sum::<f64>() / w.len() as f64;
        for x in w {
            s += (x - mean).powi(2);
        }
    }
    s
}

#[test]
fn more_chains_match_central_differences() {
    check!(generic_chain(xs: 3, w) at [[0.5, -1.0, 2.0, 0.25, 0.75, -0.5]]);
    check!(generic_chain(xs: 3, w) at [[0.5f32, -1.0, 2.0, 0.25, 0.75, -0.5]]);
    check!(single_chain(xs) at [[0.5f32, -1.0, 2.0, 0.25]]);
    check!(three_zipped(a: 3, b: 3, c) at [[0.5, -1.0, 2.0, 0.25, 0.75, -0.5, 1.0, 2.0, 3.0]]);
    check!(reversed_enumerate(xs) at [[0.5, -1.0, 2.0, 0.25]]);
    check!(consumers(xs, y) at [[0.5, -1.0, 1.25, 0.25, 0.75], [0.5, -1.0, 2.0, 0.25, 0.75]]);
    check!(window_loops(xs: 5) at [[0.5, -1.0, 2.0, 0.25, 0.75]]);
    // The exact values: (4·x₀ + 3·x₁ + 2·x₂ + x₃) for `rev().enumerate()`.
    assert_eq!(reversed_enumerate([1.0, 10.0, 100.0, 1000.0]), 1234.0);
    assert_eq!(reversed_enumerate::grad([0.5; 4]).1.xs, [4.0, 3.0, 2.0, 1.0]);
}

#[test]
fn nested_chains_match_central_differences() {
    let m = [[0.5, -1.0, 2.0], [0.25, 0.75, -0.5]];
    let v = [1.5, -0.5, 0.25];
    let (value, g) = nested_chains::grad(&m, v);
    assert_eq!(value, nested_chains(&m, v));
    let f = |p: &[f64]| nested_chains(&[[p[0], p[1], p[2]], [p[3], p[4], p[5]]], [p[6], p[7], p[8]]);
    let point = [m.concat(), v.to_vec()].concat();
    let analytic = [g.m.concat(), g.v.to_vec()].concat();
    let numeric = chainrule::numerical_gradient(f, &point);
    approx::assert_relative_eq!(analytic[..], numeric[..], max_relative = 1e-6, epsilon = 1e-8);
}

#[differentiate]
fn reduce_or(xs: &[f64]) -> f64 {
    let top = xs.iter().copied().reduce(f64::max).unwrap_or(0.0);
    let low = xs
        .iter()
        .map(|x| x * 2.0)
        .reduce(|a, b| a.min(b))
        .expect("elements");
    top - low
}

#[test]
fn reduce_of_no_elements_defaults() {
    check!(reduce_or(xs: 3) at [[0.5, -1.0, 2.0], [-0.25, 0.75, 0.5]]);
}

#[differentiate]
fn by_value_sources(x: f64) -> f64 {
    // `into_iter` of an array iterates a copy: the body's assignments do not reach it.
    let mut w = [x, 2.0 * x, 3.0];
    let mut s = 0.0;
    for (i, e) in w.into_iter().enumerate() {
        w[(i + 1) % 3] = e * x;
        s += e;
    }
    for (a, b) in w.iter().zip(w) {
        s += a * b;
    }
    s + w[0]
}

#[differentiate]
fn move_closures(x: f64, w: [f64; 3]) -> f64 {
    // A `move` closure copies what it captures where it is written.
    let mut scale = x;
    let scaled = move |t: f64| t * scale;
    scale = 10.0;
    let mut s = scaled(2.0) + scale;
    let mut k = 1.0;
    for v in w.iter().map(move |e| e * k) {
        k += v;
        s += v * k;
    }
    s
}

#[test]
fn copies_are_taken_where_rust_takes_them() {
    check!(by_value_sources(x) at [[0.5], [-1.25]]);
    check!(move_closures(x, w) at [[0.5, 0.25, -1.0, 2.0]]);
}

/// The never-panics corpus entry of iterator chains (`testgen/src/fuzzing.rs`), compiled.
#[differentiate]
fn chains(xs: &[f64], w: [f64; 3], x: f64) -> f64 {
    let sq = |t: f64| t * t;
    let mut k = x;
    let scaled = move |t: f64| t * k;
    k += 1.0;
    let a: f64 = xs.iter().zip(w.iter()).map(|(a, b)| sq(a - b)).sum();
    let m = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let n = xs.iter().filter(|&&v| v > 0.0).count() as f64;
    let p: f64 = w
        .iter()
        .rev()
        .enumerate()
        .skip(1)
        .map(|(i, v)| v * i as f64)
        .product();
    let r = w.into_iter().reduce(f64::min).unwrap_or(0.0);
    let mut s = 0.0;
    for win in xs.windows(2) {
        s += win.iter().map(|v| scaled(*v)).sum::<f64>() / win.len() as f64;
    }
    for (i, v) in (0..3).zip(w).rev() {
        s += v * i as f64 + k;
    }
    xs.iter().for_each(|v| s += v);
    let any = w.iter().any(|v| *v > x) || (1..=3).step_by(2).all(|i| i > 0);
    if any {
        a + m + n + p + r + s
    } else {
        s
    }
}

#[test]
fn the_corpus_chains_match_central_differences() {
    check!(chains(xs: 3, w, x) at [[0.5, -1.0, 2.0, 0.25, 0.75, -0.5, 0.3], [-0.4, 1.2, 0.6, 1.5, -0.25, 0.5, 2.5]]);
}

#[differentiate]
fn softmax_first(scores: [f64; 3]) -> f64 {
    // Normalizing in place, as ML code does.
    let m = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut p = scores;
    for v in p.iter_mut() {
        *v = (*v - m).exp();
    }
    let total: f64 = p.iter().sum();
    for (i, v) in p.iter_mut().enumerate() {
        *v /= total;
        *v += 0.01 * i as f64;
    }
    for v in &mut p {
        *v = v.powi(2);
    }
    p[0]
}

#[test]
fn iter_mut_updates_in_place() {
    check!(softmax_first(scores) at [[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]]);
}
