//! Run time of forward mode and second derivatives: `cargo bench --bench derivatives`.
//!
//! In the same run, per function: chainrule's `f::jvp` against num-dual's `Dual64` (the same
//! function in dual numbers) and against `f` alone; `f::hvp` against `f::grad`; and
//! `f::hessian` against num-dual's `hessian` (`Dual2Vec`, one pass of n-vectors and n×n
//! matrices) and against the Hessian written by hand (Rosenbrock's is tridiagonal); and the
//! `f::jacobian` of 100 residuals of 3 parameters against num-dual (`DualSVec64<3>`: one
//! pass carrying all three tangents) and against the Jacobian written by hand.
//! BENCHMARKS.md reports the ratios. Before measuring, every result is checked against the
//! others.

use std::hint::black_box;
use std::time::Duration;

use chainrule::differentiate;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use nalgebra::DVector;
use num_dual::{Derivative, Dual2Vec64, Dual64, DualNum, DualSVec64};

#[differentiate(jvp, hessian)]
fn rosenbrock(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        s += 100.0 * a * a + b * b;
    }
    s
}

/// The same function over any of num-dual's numbers.
fn rosenbrock_dual<D: DualNum<f64>>(x: &[D]) -> D {
    let mut s = D::from(0.0);
    for i in 0..x.len() - 1 {
        let a = x[i + 1].clone() - x[i].clone() * x[i].clone();
        let b = D::from(1.0) - x[i].clone();
        s += a.clone() * a * 100.0 + b.clone() * b;
    }
    s
}

/// Rosenbrock's Hessian by hand: tridiagonal, written into a dense matrix (as
/// `f::hessian` returns it).
fn rosenbrock_hessian_by_hand(x: &[f64]) -> Vec<f64> {
    let n = x.len();
    let mut h = vec![0.0; n * n];
    for i in 0..n - 1 {
        h[i * n + i] += 1200.0 * x[i] * x[i] - 400.0 * x[i + 1] + 2.0;
        h[(i + 1) * n + i + 1] += 200.0;
        h[i * n + i + 1] -= 400.0 * x[i];
        h[(i + 1) * n + i] -= 400.0 * x[i];
    }
    h
}

/// A small network: tanh hidden layer of 8, one output, squared error (the Hessian of a
/// 2-layer net over its 3 · 8 + 8 + 8 + 1 = 41 weights).
#[differentiate(jvp, hessian, wrt(w1, b1, w2, b2))]
fn net(w1: &[f64], b1: &[f64], w2: &[f64], b2: f64, x: [f64; 3], y: f64) -> f64 {
    let mut out = b2;
    for j in 0..8 {
        let mut z = b1[j];
        for k in 0..3 {
            z += w1[j * 3 + k] * x[k];
        }
        out += w2[j] * z.tanh();
    }
    (out - y) * (out - y)
}

fn net_dual<D: DualNum<f64>>(p: &[D], x: [f64; 3], y: f64) -> D {
    let (w1, b1, w2) = (&p[..24], &p[24..32], &p[32..40]);
    let mut out = p[40].clone();
    for j in 0..8 {
        let mut z = b1[j].clone();
        for k in 0..3 {
            z += w1[j * 3 + k].clone() * x[k];
        }
        out += w2[j].clone() * z.tanh();
    }
    let e = out - y;
    e.clone() * e
}

/// Residuals of an exponential model: 100 outputs (the samples), 3 parameters.
#[differentiate(wrt(p))]
fn residuals(p: [f64; 3], xs: &[f64], ys: &[f64]) -> Vec<f64> {
    xs.iter()
        .zip(ys)
        .map(|(x, y)| p[0] * (p[1] * x).exp() + p[2] - y)
        .collect()
}

/// The residuals and their Jacobian's rows, written by hand: ∂r/∂p = (e, p₀ x e, 1), e = e^(p₁x).
fn residuals_by_hand(p: [f64; 3], xs: &[f64], ys: &[f64]) -> (Vec<f64>, Vec<[f64; 3]>) {
    let mut values = Vec::with_capacity(xs.len());
    let mut rows = Vec::with_capacity(xs.len());
    for (x, y) in xs.iter().zip(ys) {
        let e = (p[1] * x).exp();
        values.push(p[0] * e + p[2] - y);
        rows.push([e, p[0] * x * e, 1.0]);
    }
    (values, rows)
}

/// The residuals in num-dual's dual numbers with three tangents at once: one pass.
fn residuals_dual(p: [f64; 3], xs: &[f64], ys: &[f64]) -> (Vec<f64>, Vec<[f64; 3]>) {
    let p: [DualSVec64<3>; 3] = std::array::from_fn(|i| {
        DualSVec64::new(
            p[i],
            Derivative::derivative_generic(nalgebra::Const::<3>, nalgebra::Const::<1>, i),
        )
    });
    xs.iter()
        .zip(ys)
        .map(|(&x, &y)| {
            let r = p[0] * (p[1] * x).exp() + p[2] - y;
            let eps = r.eps.unwrap_generic(nalgebra::Const::<3>, nalgebra::Const::<1>);
            (r.re, [eps[0], eps[1], eps[2]])
        })
        .unzip()
}

fn samples() -> (Vec<f64>, Vec<f64>) {
    let xs: Vec<f64> = (0..100).map(|i| i as f64 * 0.02).collect();
    let ys = xs
        .iter()
        .map(|x| 2.0 * (0.5 * x).exp() + 1.0 + (7.0 * x).sin() * 0.1)
        .collect();
    (xs, ys)
}

fn point(n: usize) -> Vec<f64> {
    (0..n).map(|i| (i as f64 * 0.37).sin() * 1.2).collect()
}

fn direction(n: usize) -> Vec<f64> {
    (0..n).map(|i| (i as f64 * 0.61).cos()).collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-10 * a.abs().max(b.abs()).max(1.0)
}

fn check() {
    for n in [10, 100] {
        let (x, v) = (point(n), direction(n));
        let (value, t) = rosenbrock::jvp(&x, rosenbrock::Tangent { x: v.clone() });
        let duals: Vec<Dual64> = x.iter().zip(&v).map(|(&a, &b)| Dual64::new(a, b)).collect();
        let dual = rosenbrock_dual(&duals);
        assert!(close(value, dual.re) && close(t, dual.eps), "jvp {n}");
        let (_, _, h) = rosenbrock::hessian(&x);
        let by_hand = rosenbrock_hessian_by_hand(&x);
        assert!(
            h.as_slice().iter().zip(&by_hand).all(|(a, b)| close(*a, *b)),
            "hessian {n}"
        );
        let (_, _, h2) = num_dual::hessian(
            |x: DVector<Dual2Vec64<nalgebra::Dyn>>| rosenbrock_dual(x.as_slice()),
            DVector::from_vec(x.clone()),
        );
        assert!(
            h.as_slice().iter().zip(h2.iter()).all(|(a, b)| close(*a, *b)),
            "num-dual {n}"
        );
    }
    let (xs, ys) = samples();
    let p = [1.5, 0.4, 0.8];
    let (values, jacobian) = residuals::jacobian(p, &xs, &ys);
    for (by, (v, rows)) in [
        ("hand", residuals_by_hand(p, &xs, &ys)),
        ("num-dual", residuals_dual(p, &xs, &ys)),
    ] {
        assert!(
            values.iter().zip(&v).all(|(a, b)| close(*a, *b)),
            "residuals by {by}"
        );
        assert!(
            jacobian
                .iter()
                .zip(&rows)
                .all(|(row, by)| (0..3).all(|j| close(row.p[j], by[j]))),
            "jacobian by {by}"
        );
    }
    let (w1, b1, w2) = (point(24), direction(8), point(8));
    let (_, _, h) = net::hessian(&w1, &b1, &w2, 0.1, [0.5, -1.0, 2.0], 0.3);
    let mut p = w1.clone();
    p.extend(&b1);
    p.extend(&w2);
    p.push(0.1);
    let (_, _, h2) = num_dual::hessian(
        |p: DVector<Dual2Vec64<nalgebra::Dyn>>| net_dual(p.as_slice(), [0.5, -1.0, 2.0], 0.3),
        DVector::from_vec(p),
    );
    assert!(
        h.as_slice().iter().zip(h2.iter()).all(|(a, b)| close(*a, *b)),
        "net hessian"
    );
}

fn benches(c: &mut Criterion) {
    check();
    let mut group = c.benchmark_group("rosenbrock_jvp");
    for n in [10, 100] {
        let (x, v) = (point(n), direction(n));
        group.bench_with_input(BenchmarkId::new("jvp", n), &n, |b, _| {
            b.iter(|| {
                rosenbrock::jvp(
                    black_box(&x),
                    rosenbrock::Tangent {
                        x: black_box(&v).clone(),
                    },
                )
            })
        });
        group.bench_with_input(BenchmarkId::new("num_dual", n), &n, |b, _| {
            b.iter(|| {
                let duals: Vec<Dual64> = black_box(&x)
                    .iter()
                    .zip(black_box(&v))
                    .map(|(&a, &b)| Dual64::new(a, b))
                    .collect();
                rosenbrock_dual(&duals)
            })
        });
        group.bench_with_input(BenchmarkId::new("forward", n), &n, |b, _| {
            b.iter(|| rosenbrock(black_box(&x)))
        });
        group.bench_with_input(BenchmarkId::new("grad", n), &n, |b, _| {
            b.iter(|| rosenbrock::grad(black_box(&x)))
        });
        group.bench_with_input(BenchmarkId::new("hvp", n), &n, |b, _| {
            b.iter(|| {
                rosenbrock::hvp(
                    black_box(&x),
                    rosenbrock::Tangent {
                        x: black_box(&v).clone(),
                    },
                )
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("rosenbrock_hessian");
    for n in [10, 100] {
        let x = point(n);
        group.bench_with_input(BenchmarkId::new("hessian", n), &n, |b, _| {
            b.iter(|| rosenbrock::hessian(black_box(&x)))
        });
        group.bench_with_input(BenchmarkId::new("num_dual", n), &n, |b, _| {
            b.iter(|| {
                num_dual::hessian(
                    |x: DVector<Dual2Vec64<nalgebra::Dyn>>| rosenbrock_dual(x.as_slice()),
                    DVector::from_vec(black_box(&x).clone()),
                )
            })
        });
        group.bench_with_input(BenchmarkId::new("hand", n), &n, |b, _| {
            b.iter(|| rosenbrock_hessian_by_hand(black_box(&x)))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("net_hessian");
    let (w1, b1, w2) = (point(24), direction(8), point(8));
    group.bench_function("hessian", |b| {
        b.iter(|| {
            net::hessian(
                black_box(&w1),
                black_box(&b1),
                black_box(&w2),
                0.1,
                [0.5, -1.0, 2.0],
                0.3,
            )
        })
    });
    let mut p = w1.clone();
    p.extend(&b1);
    p.extend(&w2);
    p.push(0.1);
    group.bench_function("num_dual", |b| {
        b.iter(|| {
            num_dual::hessian(
                |p: DVector<Dual2Vec64<nalgebra::Dyn>>| net_dual(p.as_slice(), [0.5, -1.0, 2.0], 0.3),
                DVector::from_vec(black_box(&p).clone()),
            )
        })
    });
    group.bench_function("grad", |b| {
        b.iter(|| {
            net::grad(
                black_box(&w1),
                black_box(&b1),
                black_box(&w2),
                0.1,
                [0.5, -1.0, 2.0],
                0.3,
            )
        })
    });
    group.finish();

    let mut group = c.benchmark_group("residuals_jacobian");
    let (xs, ys) = samples();
    let p = [1.5, 0.4, 0.8];
    group.bench_function("jacobian", |b| {
        b.iter(|| residuals::jacobian(black_box(p), black_box(&xs), &ys))
    });
    group.bench_function("num_dual", |b| {
        b.iter(|| residuals_dual(black_box(p), black_box(&xs), &ys))
    });
    group.bench_function("hand", |b| {
        b.iter(|| residuals_by_hand(black_box(p), black_box(&xs), &ys))
    });
    group.bench_function("forward", |b| {
        b.iter(|| residuals(black_box(p), black_box(&xs), &ys))
    });
    let along = residuals::Tangent { p: [1.0, 0.0, 0.0] };
    group.bench_function("one_jvp", |b| {
        b.iter(|| residuals::jvp(black_box(p), black_box(&xs), &ys, black_box(along)))
    });
    group.finish();
}

criterion_group! {
    name = derivatives;
    config = Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(300));
    targets = benches
}
criterion_main!(derivatives);
