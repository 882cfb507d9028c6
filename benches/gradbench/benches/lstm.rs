//! GradBench's lstm, chainrule's gradient of the ADBench LSTM objective against
//! backpropagation through time by hand: `cargo bench --manifest-path
//! benches/gradbench/Cargo.toml --bench lstm`. Criterion medians; `grad / hand` per size.
//! Each pair is checked to agree before timing.

use std::hint::black_box;
use std::time::Duration;

use chainrule_gradbench::{agree, lstm};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("lstm");
    // Four of GradBench's nine sizes, from the smallest to the largest.
    for (l, chars) in [(2, 1024), (6, 1024), (4, 4096), (6, 8192)] {
        let x = lstm::input(l, chars);
        let (main_params, extra_params, state, sequence) =
            (&x.main_params, &x.extra_params, &x.state, &x.sequence);
        let (_, grad) = lstm::lstm_objective::grad(main_params, extra_params, state, sequence);
        let (_, d_main, d_extra) = lstm::gradient_by_hand(main_params, extra_params, state, sequence);
        agree(&grad.main_params.concat(), &d_main.concat(), 1e-9, 0.0).expect("lstm agrees");
        agree(&grad.extra_params.concat(), &d_extra.concat(), 1e-9, 0.0).expect("lstm agrees");
        let id = format!("l{l}_c{chars}");
        group.bench_with_input(BenchmarkId::new("grad", &id), &l, |b, _| {
            b.iter(|| lstm::lstm_objective::grad(black_box(main_params), extra_params, state, sequence))
        });
        group.bench_with_input(BenchmarkId::new("hand", &id), &l, |b, _| {
            b.iter(|| lstm::gradient_by_hand(black_box(main_params), extra_params, state, sequence))
        });
        group.bench_with_input(BenchmarkId::new("primal", &id), &l, |b, _| {
            b.iter(|| lstm::lstm_objective(black_box(main_params), extra_params, state, sequence))
        });
    }
    group.finish();
}

criterion_group! {
    name = lstm_bench;
    config = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(300));
    targets = benches
}
criterion_main!(lstm_bench);
