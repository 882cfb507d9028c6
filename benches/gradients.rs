//! Run time of the generated gradients: `cargo bench --bench gradients`.
//!
//! For each function, three measurements in the same run: the generated `f::grad` (value and
//! gradient), a hand-written analytic gradient of the same function (value and gradient, written
//! the way a careful person would: the limit), and the forward function `f` alone. BENCHMARKS.md
//! reports the ratios grad / hand-written and grad / forward. Before measuring, every generated
//! gradient is checked against the hand-written one.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

#[path = "functions.rs"]
mod functions;
use functions::*;

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

    let net = TwoLayerNet { w1, b1, w2, b2 };
    let (sv, sg) = two_layer_struct::grad(&net, x, t);
    assert!(
        sv == v && sg.p.w1 == g.w1 && sg.p.b1 == g.b1 && sg.p.w2 == g.w2 && sg.p.b2 == g.b2 && sg.x == g.x
    );

    for x in [0.3, -1.1, 2.5] {
        let (v, g) = chain::grad(x);
        let (hv, hg) = chain_by_hand(x);
        assert!(
            close(v, hv) && v == chain(x) && close(g.x, hg),
            "chain at {x}: {g:?} {hg}"
        );
    }

    for n in [2, 100, 1000] {
        let (xs, ys) = least_squares_point(n);
        let (v, g) = least_squares::grad([1.5, 0.25], &xs, &ys);
        let (hv, hg) = least_squares_by_hand([1.5, 0.25], &xs, &ys);
        assert!(close(v, hv) && v == least_squares([1.5, 0.25], &xs, &ys));
        assert!(all_close(&g.w, &hg), "least_squares: {g:?} {hg:?}");
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

    let mut group = c.benchmark_group("two_layer_struct");
    let (w1, b1, w2, b2, x, t) = two_layer_point();
    let net = TwoLayerNet { w1, b1, w2, b2 };
    group.bench_function("grad", |b| {
        b.iter(|| two_layer_struct::grad(black_box(&net), black_box(x), black_box(t)))
    });
    group.bench_function("hand", |b| {
        b.iter(|| {
            let &(w1, b1, w2, b2, x, t) = black_box(&p);
            two_layer_by_hand(w1, b1, w2, b2, x, t)
        })
    });
    group.bench_function("forward", |b| {
        b.iter(|| two_layer_struct(black_box(&net), black_box(x), black_box(t)))
    });
    group.finish();

    let mut group = c.benchmark_group("least_squares");
    for n in [100, 1000] {
        let (xs, ys) = least_squares_point(n);
        let w = [1.5, 0.25];
        group.bench_with_input(
            BenchmarkId::new("grad", n),
            &(xs.as_slice(), ys.as_slice()),
            |b, &(xs, ys)| b.iter(|| least_squares::grad(*black_box(&w), black_box(xs), black_box(ys))),
        );
        group.bench_with_input(
            BenchmarkId::new("hand", n),
            &(xs.as_slice(), ys.as_slice()),
            |b, &(xs, ys)| b.iter(|| least_squares_by_hand(*black_box(&w), black_box(xs), black_box(ys))),
        );
        group.bench_with_input(
            BenchmarkId::new("forward", n),
            &(xs.as_slice(), ys.as_slice()),
            |b, &(xs, ys)| b.iter(|| least_squares(*black_box(&w), black_box(xs), black_box(ys))),
        );
    }
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
