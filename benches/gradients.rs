//! Run time of the generated gradients: `cargo bench --bench gradients`.
//!
//! For each function, three measurements in the same run: the generated `f::grad` (value and
//! gradient), a hand-written analytic gradient of the same function (value and gradient, written
//! the way a careful person would: the limit), and the forward function `f` alone. BENCHMARKS.md
//! reports the ratios grad / hand-written and grad / forward. Before measuring, every generated
//! gradient is checked against the hand-written one.

use std::hint::black_box;
use std::time::Duration;

use chainrule::differentiate;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

// ---------------------------------------------------------------------------------------------
// The lecture's neuron, five scalars

#[differentiate]
fn neuron_scalar(w0: f64, x0: f64, w1: f64, x1: f64, w2: f64) -> f64 {
    let dot = w0 * x0 + w1 * x1 + w2;
    1.0 / (1.0 + (-dot).exp())
}

/// (value, [∂w0, ∂x0, ∂w1, ∂x1, ∂w2]).
fn neuron_scalar_by_hand(w0: f64, x0: f64, w1: f64, x1: f64, w2: f64) -> (f64, [f64; 5]) {
    let dot = w0 * x0 + w1 * x1 + w2;
    let s = 1.0 / (1.0 + (-dot).exp());
    let d_dot = s * (1.0 - s);
    (s, [d_dot * x0, d_dot * w0, d_dot * x1, d_dot * w1, d_dot])
}

// ---------------------------------------------------------------------------------------------
// The lecture's neuron, with arrays and a loop

#[differentiate]
fn neuron_array(w: [f64; 3], x: [f64; 2]) -> f64 {
    let mut dot = w[2];
    for i in 0..2 {
        dot += w[i] * x[i];
    }
    chainrule::sigmoid(dot)
}

/// (value, ∂w, ∂x).
fn neuron_array_by_hand(w: [f64; 3], x: [f64; 2]) -> (f64, [f64; 3], [f64; 2]) {
    let mut dot = w[2];
    for i in 0..2 {
        dot += w[i] * x[i];
    }
    let s = chainrule::sigmoid(dot);
    let d_dot = s * (1.0 - s);
    (
        s,
        [d_dot * x[0], d_dot * x[1], d_dot],
        [d_dot * w[0], d_dot * w[1]],
    )
}

// ---------------------------------------------------------------------------------------------
// Rosenbrock over a slice

#[differentiate]
fn rosenbrock(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        s += 100.0 * (x[i + 1] - x[i] * x[i]).powi(2) + (1.0 - x[i]).powi(2);
    }
    s
}

/// (value, ∂x).
fn rosenbrock_by_hand(x: &[f64]) -> (f64, Vec<f64>) {
    let mut s = 0.0;
    let mut g = vec![0.0; x.len()];
    for i in 0..x.len() - 1 {
        let xi = x[i];
        let t = x[i + 1] - xi * xi;
        let u = 1.0 - xi;
        s += 100.0 * t * t + u * u;
        g[i] += -400.0 * t * xi - 2.0 * u;
        g[i + 1] += 200.0 * t;
    }
    (s, g)
}

fn rosenbrock_point(n: usize) -> Vec<f64> {
    (0..n).map(|i| 1.2 * (0.7 * i as f64).sin() + 0.3).collect()
}

// ---------------------------------------------------------------------------------------------
// A two-layer network, 4 → 8 → 1, ReLU, squared error

#[differentiate]
fn two_layer(w1: [[f64; 4]; 8], b1: [f64; 8], w2: [f64; 8], b2: f64, x: [f64; 4], target: f64) -> f64 {
    let mut h = [0.0; 8];
    for i in 0..8 {
        let mut z = b1[i];
        for j in 0..4 {
            z += w1[i][j] * x[j];
        }
        h[i] = z.max(0.0);
    }
    let mut out = b2;
    for i in 0..8 {
        out += w2[i] * h[i];
    }
    let err = out - target;
    err * err
}

/// Gradient of the two-layer loss: ∂W1, ∂b1, ∂W2, ∂b2, ∂x, ∂target.
#[derive(Debug)]
struct TwoLayerGrad {
    w1: [[f64; 4]; 8],
    b1: [f64; 8],
    w2: [f64; 8],
    b2: f64,
    x: [f64; 4],
    target: f64,
}

fn two_layer_by_hand(
    w1: [[f64; 4]; 8],
    b1: [f64; 8],
    w2: [f64; 8],
    b2: f64,
    x: [f64; 4],
    target: f64,
) -> (f64, TwoLayerGrad) {
    let mut h = [0.0; 8];
    for i in 0..8 {
        let mut z = b1[i];
        for j in 0..4 {
            z += w1[i][j] * x[j];
        }
        h[i] = z.max(0.0);
    }
    let mut out = b2;
    for i in 0..8 {
        out += w2[i] * h[i];
    }
    let err = out - target;
    let d_out = 2.0 * err;
    let mut g = TwoLayerGrad {
        w1: [[0.0; 4]; 8],
        b1: [0.0; 8],
        w2: [0.0; 8],
        b2: d_out,
        x: [0.0; 4],
        target: -d_out,
    };
    for i in 0..8 {
        g.w2[i] = d_out * h[i];
        if h[i] > 0.0 {
            let d_z = d_out * w2[i];
            g.b1[i] = d_z;
            for j in 0..4 {
                g.w1[i][j] = d_z * x[j];
                g.x[j] += d_z * w1[i][j];
            }
        }
    }
    (err * err, g)
}

type TwoLayerArgs = ([[f64; 4]; 8], [f64; 8], [f64; 8], f64, [f64; 4], f64);

fn two_layer_point() -> TwoLayerArgs {
    let w1 = std::array::from_fn(|i| std::array::from_fn(|j| (1.3 * i as f64 + 0.7 * j as f64).sin()));
    let b1 = std::array::from_fn(|i| 0.1 * (i as f64 - 3.5));
    let w2 = std::array::from_fn(|i| (0.9 * i as f64).cos());
    let x = [0.5, -1.0, 0.25, 0.8];
    (w1, b1, w2, 0.2, x, 1.5)
}

// ---------------------------------------------------------------------------------------------
// A chain of 20 transcendental calls: sin, exp, tanh, ln(1 + x²), five times over

#[differentiate]
fn chain(x: f64) -> f64 {
    let a1 = x.sin();
    let a2 = a1.exp();
    let a3 = a2.tanh();
    let a4 = (1.0 + a3 * a3).ln();
    let a5 = a4.sin();
    let a6 = a5.exp();
    let a7 = a6.tanh();
    let a8 = (1.0 + a7 * a7).ln();
    let a9 = a8.sin();
    let a10 = a9.exp();
    let a11 = a10.tanh();
    let a12 = (1.0 + a11 * a11).ln();
    let a13 = a12.sin();
    let a14 = a13.exp();
    let a15 = a14.tanh();
    let a16 = (1.0 + a15 * a15).ln();
    let a17 = a16.sin();
    let a18 = a17.exp();
    let a19 = a18.tanh();
    (1.0 + a19 * a19).ln()
}

/// (value, ∂x): the forward values kept, the derivatives multiplied back to front, each local
/// derivative from the forward value where the calculus allows (exp' = exp, tanh' = 1 − tanh²).
fn chain_by_hand(x: f64) -> (f64, f64) {
    let mut v = x;
    // For each round: the input of sin, the output of exp, the output of tanh (the input of ln).
    let mut saved = [[0.0; 3]; 5];
    for round in &mut saved {
        round[0] = v;
        v = v.sin().exp();
        round[1] = v;
        v = v.tanh();
        round[2] = v;
        v = (1.0 + v * v).ln();
    }
    let mut d = 1.0;
    for &[a, e, t] in saved.iter().rev() {
        d *= 2.0 * t / (1.0 + t * t);
        d *= 1.0 - t * t;
        d *= e;
        d *= a.cos();
    }
    (v, d)
}

// ---------------------------------------------------------------------------------------------
// The check, then the benchmarks

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
}

fn all_close(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(&a, &b)| close(a, b))
}

/// The generated gradients agree with the hand-written ones, and the values with the forward
/// functions.
fn check() {
    let (v, g) = neuron_scalar::grad(2.0, -1.0, -3.0, -2.0, -3.0);
    let (hv, hg) = neuron_scalar_by_hand(2.0, -1.0, -3.0, -2.0, -3.0);
    assert!(close(v, hv) && v == neuron_scalar(2.0, -1.0, -3.0, -2.0, -3.0));
    assert!(
        all_close(&[g.w0, g.x0, g.w1, g.x1, g.w2], &hg),
        "neuron_scalar: {g:?} {hg:?}"
    );

    let (v, g) = neuron_array::grad([2.0, -3.0, -3.0], [-1.0, -2.0]);
    let (hv, hw, hx) = neuron_array_by_hand([2.0, -3.0, -3.0], [-1.0, -2.0]);
    assert!(close(v, hv) && v == neuron_array([2.0, -3.0, -3.0], [-1.0, -2.0]));
    assert!(
        all_close(&g.w, &hw) && all_close(&g.x, &hx),
        "neuron_array: {g:?}"
    );

    for n in [2, 10, 100, 1000] {
        let x = rosenbrock_point(n);
        let (v, g) = rosenbrock::grad(&x);
        let (hv, hg) = rosenbrock_by_hand(&x);
        assert!(close(v, hv) && v == rosenbrock(&x), "rosenbrock {n}: {v} {hv}");
        assert!(all_close(&g.x, &hg), "rosenbrock {n}");
    }

    let (w1, b1, w2, b2, x, t) = two_layer_point();
    let (v, g) = two_layer::grad(w1, b1, w2, b2, x, t);
    let (hv, hg) = two_layer_by_hand(w1, b1, w2, b2, x, t);
    assert!(close(v, hv) && v == two_layer(w1, b1, w2, b2, x, t));
    let active = hg.b1.iter().filter(|&&d| d != 0.0).count();
    assert!(
        (1..8).contains(&active),
        "some hidden units active, some not: {hg:?}"
    );
    assert!(
        g.w1.iter().zip(&hg.w1).all(|(a, b)| all_close(a, b)),
        "two_layer ∂W1"
    );
    assert!(all_close(&g.b1, &hg.b1) && all_close(&g.w2, &hg.w2) && close(g.b2, hg.b2));
    assert!(
        all_close(&g.x, &hg.x) && close(g.target, hg.target),
        "two_layer: {g:?} {hg:?}"
    );

    for x in [0.3, -1.1, 2.5] {
        let (v, g) = chain::grad(x);
        let (hv, hg) = chain_by_hand(x);
        assert!(
            close(v, hv) && v == chain(x) && close(g.x, hg),
            "chain at {x}: {g:?} {hg}"
        );
    }
}

fn benches(c: &mut Criterion) {
    check();

    // Inputs are read through `black_box(&inputs)` in every iteration: loads from memory nothing
    // writes, so no iteration waits on the previous one's result.
    let mut group = c.benchmark_group("neuron_scalar");
    let p = (2.0, -1.0, -3.0, -2.0, -3.0);
    group.bench_function("grad", |b| {
        b.iter(|| {
            let &(w0, x0, w1, x1, w2) = black_box(&p);
            neuron_scalar::grad(w0, x0, w1, x1, w2)
        })
    });
    group.bench_function("hand", |b| {
        b.iter(|| {
            let &(w0, x0, w1, x1, w2) = black_box(&p);
            neuron_scalar_by_hand(w0, x0, w1, x1, w2)
        })
    });
    group.bench_function("forward", |b| {
        b.iter(|| {
            let &(w0, x0, w1, x1, w2) = black_box(&p);
            neuron_scalar(w0, x0, w1, x1, w2)
        })
    });
    group.finish();

    let mut group = c.benchmark_group("neuron_array");
    let p = ([2.0, -3.0, -3.0], [-1.0, -2.0]);
    group.bench_function("grad", |b| {
        b.iter(|| {
            let &(w, x) = black_box(&p);
            neuron_array::grad(w, x)
        })
    });
    group.bench_function("hand", |b| {
        b.iter(|| {
            let &(w, x) = black_box(&p);
            neuron_array_by_hand(w, x)
        })
    });
    group.bench_function("forward", |b| {
        b.iter(|| {
            let &(w, x) = black_box(&p);
            neuron_array(w, x)
        })
    });
    group.finish();

    let mut group = c.benchmark_group("rosenbrock");
    for n in [10, 100, 1000] {
        let x = rosenbrock_point(n);
        let x = x.as_slice();
        group.bench_with_input(BenchmarkId::new("grad", n), x, |b, x| {
            b.iter(|| rosenbrock::grad(black_box(x)))
        });
        group.bench_with_input(BenchmarkId::new("hand", n), x, |b, x| {
            b.iter(|| rosenbrock_by_hand(black_box(x)))
        });
        group.bench_with_input(BenchmarkId::new("forward", n), x, |b, x| {
            b.iter(|| rosenbrock(black_box(x)))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("two_layer");
    let p = two_layer_point();
    group.bench_function("grad", |b| {
        b.iter(|| {
            let &(w1, b1, w2, b2, x, t) = black_box(&p);
            two_layer::grad(w1, b1, w2, b2, x, t)
        })
    });
    group.bench_function("hand", |b| {
        b.iter(|| {
            let &(w1, b1, w2, b2, x, t) = black_box(&p);
            two_layer_by_hand(w1, b1, w2, b2, x, t)
        })
    });
    group.bench_function("forward", |b| {
        b.iter(|| {
            let &(w1, b1, w2, b2, x, t) = black_box(&p);
            two_layer(w1, b1, w2, b2, x, t)
        })
    });
    group.finish();

    let mut group = c.benchmark_group("chain");
    let x = 0.3;
    group.bench_function("grad", |b| b.iter(|| chain::grad(*black_box(&x))));
    group.bench_function("hand", |b| b.iter(|| chain_by_hand(*black_box(&x))));
    group.bench_function("forward", |b| b.iter(|| chain(*black_box(&x))));
    group.finish();
}

criterion_group! {
    name = gradients;
    config = Criterion::default()
        .sample_size(30)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    targets = benches
}
criterion_main!(gradients);
