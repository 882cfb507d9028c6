//! GradBench's kmeans: chainrule's gradient of the cost and its "dir" (J / diag H, from one
//! `hvp` along the ones), of `cost` and of `cost_argmin` (the sparse adjoint of the minimum
//! by an index), against the manual cluster sums (tools/manual/kmeans.cpp), and the cost
//! alone: `cargo bench --manifest-path benches/gradbench/Cargo.toml --bench kmeans`.
//! Criterion medians; the ratios are `grad / hand` and `dir / dir_hand` per size. Before
//! timing, each pair is checked to agree.

use std::hint::black_box;
use std::time::Duration;

use chainrule_gradbench::{agree, kmeans};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("kmeans");
    // Every third of GradBench's 12 sizes (k, n, d), and the largest.
    let sizes = kmeans::SIZES.iter().step_by(3).chain(kmeans::SIZES.last());
    for &(k, n, d) in sizes {
        let (points, centroids) = kmeans::input(k, n, d);
        agree(
            &kmeans::cost::grad(&points, &centroids, d).1.centroids,
            &kmeans::gradient_by_hand(&points, &centroids, d).1,
            1e-9,
            1e-14,
        )
        .expect("kmeans's gradients agree");
        agree(
            &kmeans::dir(&points, &centroids, d).1,
            &kmeans::dir_by_hand(&points, &centroids, d).1,
            1e-9,
            1e-14,
        )
        .expect("kmeans's directions agree");
        let id = format!("{k}x{n}x{d}");
        group.bench_with_input(BenchmarkId::new("grad", &id), &k, |b, _| {
            b.iter(|| kmeans::cost::grad(black_box(&points), black_box(&centroids), d))
        });
        group.bench_with_input(BenchmarkId::new("grad_argmin", &id), &k, |b, _| {
            b.iter(|| kmeans::cost_argmin::grad(black_box(&points), black_box(&centroids), d))
        });
        group.bench_with_input(BenchmarkId::new("hand", &id), &k, |b, _| {
            b.iter(|| kmeans::gradient_by_hand(black_box(&points), black_box(&centroids), d))
        });
        group.bench_with_input(BenchmarkId::new("primal", &id), &k, |b, _| {
            b.iter(|| kmeans::cost(black_box(&points), black_box(&centroids), d))
        });
        group.bench_with_input(BenchmarkId::new("dir", &id), &k, |b, _| {
            b.iter(|| kmeans::dir(black_box(&points), black_box(&centroids), d))
        });
        group.bench_with_input(BenchmarkId::new("dir_argmin", &id), &k, |b, _| {
            b.iter(|| kmeans::dir_argmin(black_box(&points), black_box(&centroids), d))
        });
        group.bench_with_input(BenchmarkId::new("dir_hand", &id), &k, |b, _| {
            b.iter(|| kmeans::dir_by_hand(black_box(&points), black_box(&centroids), d))
        });
    }
    group.finish();
}

criterion_group! {
    name = kmeans_bench;
    config = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(300));
    targets = benches
}
criterion_main!(kmeans_bench);
