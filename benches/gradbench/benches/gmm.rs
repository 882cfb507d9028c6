//! GradBench's gmm: chainrule's gradient of the log posterior against the hand-written one
//! (tools/manual/gmm_d.hpp's derivation), `gmm_objective_hoisted`'s (the triangular loop
//! rewritten for chainrule), and the objective alone:
//! `cargo bench --manifest-path benches/gradbench/Cargo.toml --bench gmm`. Criterion medians;
//! the ratio is `grad / hand` per size. Before timing, each pair is checked to agree.

use std::hint::black_box;
use std::time::Duration;

use chainrule_gradbench::{agree, gmm};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("gmm");
    // Every sixth of GradBench's 25 sizes (d, k), n = 1,000: the smallest to the largest.
    for &(d, k, n) in gmm::SIZES.iter().step_by(6) {
        let input = gmm::input(d, k, n);
        agree(
            &gmm::flat(&input.grad().1),
            &gmm::flat(&input.gradient_by_hand().1),
            1e-9,
            0.0,
        )
        .expect("gmm agrees");
        let id = format!("{d}x{k}");
        group.bench_with_input(BenchmarkId::new("grad", &id), &d, |b, _| {
            b.iter(|| black_box(&input).grad())
        });
        group.bench_with_input(BenchmarkId::new("grad_hoisted", &id), &d, |b, _| {
            b.iter(|| black_box(&input).grad_hoisted())
        });
        group.bench_with_input(BenchmarkId::new("hand", &id), &d, |b, _| {
            b.iter(|| black_box(&input).gradient_by_hand())
        });
        group.bench_with_input(BenchmarkId::new("primal", &id), &d, |b, _| {
            b.iter(|| black_box(&input).objective())
        });
    }
    group.finish();
}

criterion_group! {
    name = gmm_bench;
    config = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(300));
    targets = benches
}
criterion_main!(gmm_bench);
