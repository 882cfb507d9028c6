//! GradBench's det, chainrule's gradient of the recursive expansion by minors against the
//! hand-written recursion's adjoint: `cargo bench --manifest-path benches/gradbench/Cargo.toml
//! --bench det`. Criterion medians; `grad / hand` per size. Each pair is checked to agree
//! before timing.
//!
//! `grad` is `det` (each minor built by `push` under an `if`), `grad_indexed` the same
//! expansion with each minor copied by index (`det_indexed`); `cofactors` is GradBench's own
//! hand-written gradient (ℓ² minors of order ℓ − 1). ℓ = 11 is timed by hand only: chainrule's
//! caches of its 10⁸ calls would take tens of gigabytes.

use std::hint::black_box;
use std::time::Duration;

use chainrule_gradbench::{agree, det};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("det");
    for ell in [5, 7, 9, 10, 11] {
        let a = det::input(ell);
        let (_, by_hand) = det::gradient_by_hand(&a, ell);
        if ell <= 10 {
            agree(&det::det::grad(&a, ell).1.a, &by_hand, 1e-9, 0.0).expect("det agrees");
            agree(&det::det_indexed::grad(&a, ell).1.a, &by_hand, 1e-9, 0.0).expect("det_indexed agrees");
            group.bench_with_input(BenchmarkId::new("grad", ell), &ell, |b, &ell| {
                b.iter(|| det::det::grad(black_box(&a), ell))
            });
            group.bench_with_input(BenchmarkId::new("grad_indexed", ell), &ell, |b, &ell| {
                b.iter(|| det::det_indexed::grad(black_box(&a), ell))
            });
        }
        group.bench_with_input(BenchmarkId::new("hand", ell), &ell, |b, &ell| {
            b.iter(|| det::gradient_by_hand(black_box(&a), ell))
        });
        if ell <= 9 {
            group.bench_with_input(BenchmarkId::new("cofactors", ell), &ell, |b, &ell| {
                b.iter(|| det::gradient_by_cofactors(black_box(&a), ell))
            });
        }
        group.bench_with_input(BenchmarkId::new("primal", ell), &ell, |b, &ell| {
            b.iter(|| det::det(black_box(&a), ell))
        });
        group.bench_with_input(BenchmarkId::new("primal_indexed", ell), &ell, |b, &ell| {
            b.iter(|| det::det_indexed(black_box(&a), ell))
        });
        group.bench_with_input(BenchmarkId::new("primal_hand", ell), &ell, |b, &ell| {
            b.iter(|| det::det_by_hand(black_box(&a), ell))
        });
    }
    group.finish();
}

criterion_group! {
    name = det_bench;
    config = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(300));
    targets = benches
}
criterion_main!(det_bench);
