//! Vectorized backprop (the `ndarray` feature): `cargo bench --bench tensors`.
//!
//! - A 4096 → 4096 ReLU layer (element by element): the generated backward pass against a
//!   hand-written ndarray one, and the peak memory of the generated backward pass (counted
//!   by a global allocator: no 4096 × 4096 Jacobian, only arrays of 4096).
//! - A batch of 256 through a 2-layer network 784 → 256 → 10 with the softmax loss: the
//!   generated `grad` against a hand-written gradient.
//!
//! Every generated gradient is compared with the hand-written one before measuring.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chainrule::ndarray::{Array1, Array2, Axis, Zip};
use chainrule::{cross_entropy, differentiate, relu};
use criterion::{criterion_group, criterion_main, Criterion};

/// Counts the bytes allocated and their peak.
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The bytes a closure allocates at its peak, above what was allocated before it.
fn peak_bytes<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let value = f();
    (value, PEAK.load(Ordering::Relaxed) - base)
}

fn values(n: usize, seed: f64) -> Vec<f64> {
    (0..n).map(|i| ((i as f64) * 0.618 + seed).sin()).collect()
}

// ---------------------------------------------------------------------------------------------
// A 4096 → 4096 ReLU layer: y = max(0, x); the upstream gradient dL/dy is the vector `dy`.

const N: usize = 4096;

/// ⟨max(0, x), dy⟩: its gradient in x is the ReLU layer's backward pass for upstream dy.
#[differentiate(wrt(x))]
fn relu_layer(x: &Array1<f64>, dy: &Array1<f64>) -> f64 {
    relu(x).dot(dy)
}

/// The backward pass by hand: the upstream gradient where x > 0, else 0.
fn relu_backward_by_hand(x: &Array1<f64>, dy: &Array1<f64>) -> Array1<f64> {
    Zip::from(x)
        .and(dy)
        .map_collect(|&x, &dy| if x > 0.0 { dy } else { 0.0 })
}

// ---------------------------------------------------------------------------------------------
// A 2-layer network over a batch: 784 → 256 (ReLU) → 10, softmax loss, L2.

const BATCH: usize = 256;
const INPUT: usize = 784;
const HIDDEN: usize = 256;
const CLASSES: usize = 10;
const REG: f64 = 1e-3;

#[differentiate(wrt(w1, b1, w2, b2))]
fn network(
    w1: &Array2<f64>,
    b1: &Array1<f64>,
    w2: &Array2<f64>,
    b2: &Array1<f64>,
    x: &Array2<f64>,
    y: &[usize],
) -> f64 {
    let h = relu(&(x.dot(w1) + b1));
    let scores = h.dot(w2) + b2;
    cross_entropy(&scores, y) + 0.5 * REG * ((w1 * w1).sum() + (w2 * w2).sum())
}

struct Gradient {
    w1: Array2<f64>,
    b1: Array1<f64>,
    w2: Array2<f64>,
    b2: Array1<f64>,
}

/// The lecture's hand-written backward pass, as a careful person writes it with ndarray.
fn network_by_hand(
    w1: &Array2<f64>,
    b1: &Array1<f64>,
    w2: &Array2<f64>,
    b2: &Array1<f64>,
    x: &Array2<f64>,
    y: &[usize],
) -> (f64, Gradient) {
    let h = (x.dot(w1) + b1).mapv(|v| v.max(0.0));
    let scores = h.dot(w2) + b2;
    // softmax, row by row
    let mut probs = &scores
        - &scores
            .map_axis(Axis(1), |r| r.fold(f64::NEG_INFINITY, |m, &v| m.max(v)))
            .insert_axis(Axis(1));
    probs.mapv_inplace(f64::exp);
    let sums = probs.sum_axis(Axis(1)).insert_axis(Axis(1));
    probs /= &sums;
    let data_loss = y
        .iter()
        .enumerate()
        .map(|(i, &c)| -probs[[i, c]].ln())
        .sum::<f64>()
        / BATCH as f64;
    let loss = data_loss + 0.5 * REG * ((w1 * w1).sum() + (w2 * w2).sum());
    let mut d_scores = probs;
    for (i, &c) in y.iter().enumerate() {
        d_scores[[i, c]] -= 1.0;
    }
    d_scores /= BATCH as f64;
    let d_w2 = h.t().dot(&d_scores) + &(w2 * REG);
    let d_b2 = d_scores.sum_axis(Axis(0));
    let mut d_h = d_scores.dot(&w2.t());
    Zip::from(&mut d_h).and(&h).for_each(|d, &h| {
        if h <= 0.0 {
            *d = 0.0
        }
    });
    let d_w1 = x.t().dot(&d_h) + &(w1 * REG);
    let d_b1 = d_h.sum_axis(Axis(0));
    (
        loss,
        Gradient {
            w1: d_w1,
            b1: d_b1,
            w2: d_w2,
            b2: d_b2,
        },
    )
}

fn close(a: &[f64], b: &[f64]) -> bool {
    a.iter()
        .zip(b)
        .all(|(a, b)| (a - b).abs() <= 1e-9 * 1f64.max(a.abs()))
}

fn benches(c: &mut Criterion) {
    // The ReLU layer.
    let x = Array1::from(values(N, 0.1));
    let dy = Array1::from(values(N, 0.7));
    let (_, cache) = relu_layer::forward(&x, &dy);
    let (generated, peak) = peak_bytes(|| relu_layer::backward(&cache, 1.0));
    assert_eq!(generated.x, relu_backward_by_hand(&x, &dy));
    let array = N * std::mem::size_of::<f64>();
    println!(
        "relu_layer backward: peak {peak} bytes = {:.2} arrays of {N} floats; a {N} x {N} Jacobian would be {} bytes",
        peak as f64 / array as f64,
        array * N
    );
    let mut group = c.benchmark_group("relu_4096");
    group.bench_function("generated backward", |b| {
        b.iter(|| relu_layer::backward(black_box(&cache), 1.0))
    });
    group.bench_function("hand-written backward", |b| {
        b.iter(|| relu_backward_by_hand(black_box(&x), black_box(&dy)))
    });
    let upstream = 1.0;
    group.bench_function("hand-written backward, times an upstream float", |b| {
        b.iter(|| {
            let u = black_box(upstream);
            Zip::from(black_box(&x))
                .and(black_box(&dy))
                .map_collect(|&x, &dy| if x > 0.0 { dy * u } else { 0.0 })
        })
    });
    group.finish();

    // The 2-layer network.
    let w1 = Array2::from_shape_vec((INPUT, HIDDEN), values(INPUT * HIDDEN, 0.2)).expect("w1") * 0.05;
    let b1 = Array1::from(values(HIDDEN, 0.3)) * 0.1;
    let w2 = Array2::from_shape_vec((HIDDEN, CLASSES), values(HIDDEN * CLASSES, 0.4)).expect("w2") * 0.05;
    let b2 = Array1::from(values(CLASSES, 0.5)) * 0.1;
    let x = Array2::from_shape_vec((BATCH, INPUT), values(BATCH * INPUT, 0.6)).expect("x");
    let y: Vec<usize> = (0..BATCH).map(|i| (i * 7) % CLASSES).collect();
    let (loss, g) = network::grad(&w1, &b1, &w2, &b2, &x, &y);
    let (hand_loss, h) = network_by_hand(&w1, &b1, &w2, &b2, &x, &y);
    assert!((loss - hand_loss).abs() < 1e-12, "{loss} {hand_loss}");
    for (a, b) in [
        (g.w1.as_slice(), h.w1.as_slice()),
        (g.b1.as_slice(), h.b1.as_slice()),
        (g.w2.as_slice(), h.w2.as_slice()),
        (g.b2.as_slice(), h.b2.as_slice()),
    ] {
        assert!(close(a.expect("contiguous"), b.expect("contiguous")));
    }
    let mut group = c.benchmark_group("network_784_256_10_batch_256");
    group.bench_function("generated grad", |b| {
        b.iter(|| network::grad(black_box(&w1), &b1, &w2, &b2, black_box(&x), &y))
    });
    group.bench_function("hand-written grad", |b| {
        b.iter(|| network_by_hand(black_box(&w1), &b1, &w2, &b2, black_box(&x), &y))
    });
    group.finish();
}

criterion_group! {
    name = tensors;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(8));
    targets = benches
}
criterion_main!(tensors);
