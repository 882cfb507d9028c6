//! GradBench's evals, chainrule's generated gradient against the hand-written one in the same
//! run: `cargo bench --manifest-path benches/gradbench/Cargo.toml` (from the repository root).
//! Criterion medians; the ratios in BENCHMARKS.md ("GradBench") are `grad / hand` per size.
//! Before timing, each pair is checked to agree.

use std::hint::black_box;
use std::time::Duration;

use chainrule_gradbench::{agree, llsq, lse, ode};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("lse");
    // GradBench's sizes, every other one (the whole list takes long on two cores).
    for &n in lse::SIZES.iter().step_by(3) {
        let x = lse::input(n);
        agree(
            &lse::lse::grad(&x).1.x,
            &lse::gradient_by_hand(&x).1,
            1e-9,
            n as f64 * 1e-18,
        )
        .expect("lse agrees");
        group.bench_with_input(BenchmarkId::new("grad", n), &n, |b, _| {
            b.iter(|| lse::lse::grad(black_box(&x)))
        });
        group.bench_with_input(BenchmarkId::new("hand", n), &n, |b, _| {
            b.iter(|| lse::gradient_by_hand(black_box(&x)))
        });
        group.bench_with_input(BenchmarkId::new("primal", n), &n, |b, _| {
            b.iter(|| lse::lse(black_box(&x)))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("llsq");
    for &(n, m) in llsq::SIZES.iter().step_by(3) {
        let x = llsq::input(m);
        agree(
            &llsq::llsq::grad(&x, n).1.x,
            &llsq::gradient_by_hand(&x, n).1,
            1e-9,
            0.0,
        )
        .expect("llsq agrees");
        group.bench_with_input(BenchmarkId::new("grad", n), &n, |b, _| {
            b.iter(|| llsq::llsq::grad(black_box(&x), n))
        });
        group.bench_with_input(BenchmarkId::new("hand", n), &n, |b, _| {
            b.iter(|| llsq::gradient_by_hand(black_box(&x), n))
        });
        group.bench_with_input(BenchmarkId::new("primal", n), &n, |b, _| {
            b.iter(|| llsq::llsq(black_box(&x), n))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("ode");
    // GradBench's sizes up to n · s = 1,000,000 (the largest, 10⁷, saves gigabytes).
    for &(n, s) in ode::SIZES.iter().filter(|(n, s)| n * s <= 1_000_000) {
        let x = ode::input(n);
        agree(
            &ode::ode_last::grad(&x, s).1.x,
            &ode::gradient_by_hand(&x, s).1,
            1e-9,
            1e-300,
        )
        .expect("ode agrees");
        let id = format!("{n}x{s}");
        group.bench_with_input(BenchmarkId::new("grad", &id), &n, |b, _| {
            b.iter(|| ode::ode_last::grad(black_box(&x), s))
        });
        group.bench_with_input(BenchmarkId::new("hand", &id), &n, |b, _| {
            b.iter(|| ode::gradient_by_hand(black_box(&x), s))
        });
        group.bench_with_input(BenchmarkId::new("primal", &id), &n, |b, _| {
            b.iter(|| ode::ode_last(black_box(&x), s))
        });
    }
    group.finish();
}

criterion_group! {
    name = gradbench;
    config = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(300));
    targets = benches
}
criterion_main!(gradbench);
