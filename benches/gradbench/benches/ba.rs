//! GradBench's ba, the sparse Jacobian of bundle adjustment: chainrule's per-observation
//! blocks (`reprojection_error::jacobian`) against the chain of the stages' Jacobians by
//! hand: `cargo bench --manifest-path benches/gradbench/Cargo.toml --bench ba`. Criterion
//! medians; `grad / hand` per size. Each pair is checked to agree before timing.
//!
//! `grad` and `hand` are GradBench's `jacobian` (the blocks assembled into the sparse
//! matrix, which both share); `grad_blocks` and `hand_blocks` the 2 × 15 blocks alone;
//! `primal` GradBench's `objective` (the reprojection and weight errors).

use std::hint::black_box;
use std::time::Duration;

use chainrule_gradbench::{agree, ba};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

/// Every block of the input, added up (so that none is optimised away).
fn blocks(input: &ba::Input, block: fn(&ba::Input, usize) -> ([f64; 2], ba::Block)) -> f64 {
    let mut sum = 0.0;
    for i in 0..input.p {
        let (_, rows) = block(input, i);
        sum += rows[0].iter().sum::<f64>() + rows[1].iter().sum::<f64>();
    }
    sum
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("ba");
    // GradBench's ba1, ba5, ba10 and ba14.
    for k in [0, 4, 9, 13] {
        let (n, m, p) = ba::SIZES[k];
        let input = ba::input(n, m, p);
        agree(
            &ba::jacobian(&input).vals,
            &ba::jacobian_by_hand(&input).vals,
            1e-9,
            1e-11,
        )
        .expect("ba agrees");
        let id = format!("ba{}_p{p}", k + 1);
        group.bench_with_input(BenchmarkId::new("grad", &id), &p, |b, _| {
            b.iter(|| ba::jacobian(black_box(&input)))
        });
        group.bench_with_input(BenchmarkId::new("hand", &id), &p, |b, _| {
            b.iter(|| ba::jacobian_by_hand(black_box(&input)))
        });
        group.bench_with_input(BenchmarkId::new("grad_blocks", &id), &p, |b, _| {
            b.iter(|| blocks(black_box(&input), ba::block))
        });
        group.bench_with_input(BenchmarkId::new("hand_blocks", &id), &p, |b, _| {
            b.iter(|| blocks(black_box(&input), ba::block_by_hand))
        });
        group.bench_with_input(BenchmarkId::new("primal", &id), &p, |b, _| {
            b.iter(|| ba::objective(black_box(&input)))
        });
    }
    group.finish();
}

criterion_group! {
    name = ba_bench;
    config = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(300));
    targets = benches
}
criterion_main!(ba_bench);
