//! Hessians: chainrule against num-dual and ad_trait,
//! `cargo bench --manifest-path benches/peers/Cargo.toml --bench hessians` (from the repository
//! root).
//!
//! The functions and points of `benches/derivatives.rs`: Rosenbrock over a slice at n = 10 and
//! n = 100, and the 3 → 8 → 1 tanh network with squared error over its 41 weights (w1 (24), b1
//! (8), w2 (8), b2, in that order: chainrule's flattening of `wrt(w1, b1, w2, b2)`). For each,
//! the value, the gradient and the full, dense Hessian by:
//!
//! - **chainrule**: the generated `f::hessian` (forward mode over the reverse pass, one
//!   Hessian-vector product per row);
//! - **num-dual 0.15**: `num_dual::hessian`, one forward pass of second-order dual numbers
//!   (`Dual2Vec`: the value, the n first and the n × n second derivatives), over an `SVector`
//!   (`Dual2SVec64<N>`, the size a const generic) and over a `DVector` (`Dual2DVec64`, heap);
//! - **ad_trait 0.3**: `FunctionEngine::hessian` with `HessianAD<N>` (forward over forward:
//!   `HyperAD_ADFN<N>`, N outer tangents each an `adfn<N>` of N inner ones; ⌈n / N⌉² passes, one
//!   per block of N × N entries) and with `HessianAD_FOR<N>` (forward over reverse:
//!   `HyperAD_ADR<N>`, N tangents each an `adr` on its thread-local tape; ⌈n / N⌉ forward passes
//!   recorded on one tape, then one backward sweep per Hessian row, over the whole tape).
//!   N, the lanes, is a const generic; the bench times N = n (the fewest passes) and N = 10 (see
//!   `FEW_LANES`).
//!
//! Each tool gets the point in its own container, made outside the timed region; everything else
//! is timed (seeding the dual numbers, recording the tape, the passes, the results as `f64`s).
//! Before timing, every tool's value, gradient and Hessian are checked against chainrule's, entry
//! by entry (relative error ≤ 1e-8), and chainrule's Rosenbrock Hessian against the one written by
//! hand; a mismatch panics, naming the tool and the function.
//!
//! At the end the bench prints this run's medians as a Markdown table, with how many times faster
//! chainrule is than the fastest peer.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use chainrule::differentiate;
use criterion::Criterion;
use nalgebra::{DVector, SVector};

// =============================================================================================
// chainrule: the functions of benches/derivatives.rs

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

/// A small network: tanh hidden layer of 8, one output, squared error; its Hessian over the
/// 3 · 8 + 8 + 8 + 1 = 41 weights.
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

/// Rosenbrock's Hessian by hand: tridiagonal, in a dense row-major matrix.
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

// =============================================================================================
// The points of benches/derivatives.rs

fn point(n: usize) -> Vec<f64> {
    (0..n).map(|i| (i as f64 * 0.37).sin() * 1.2).collect()
}

fn direction(n: usize) -> Vec<f64> {
    (0..n).map(|i| (i as f64 * 0.61).cos()).collect()
}

const NET_WEIGHTS: usize = 41;
const NET_X: [f64; 3] = [0.5, -1.0, 2.0];
const NET_Y: f64 = 0.3;
const NET_B2: f64 = 0.1;

/// w1, b1, w2 of the network.
fn net_point() -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    (point(24), direction(8), point(8))
}

/// The network's weights flattened: w1, b1, w2, b2.
fn net_flat() -> Vec<f64> {
    let (w1, b1, w2) = net_point();
    let mut p = w1;
    p.extend(b1);
    p.extend(w2);
    p.push(NET_B2);
    assert_eq!(p.len(), NET_WEIGHTS);
    p
}

// =============================================================================================
// num-dual 0.15: `hessian` over second-order dual numbers, generic over the dual number `D`.

mod nd {
    use nalgebra::{DMatrix, DVector, SMatrix, SVector};
    use num_dual::{hessian, Dual2DVec64, Dual2SVec64, DualNum};

    pub fn rosenbrock<D: DualNum<Primitive = f64>>(x: &[D]) -> D {
        let mut s = D::from(0.0);
        for i in 0..x.len() - 1 {
            let a = x[i + 1].clone() - x[i].clone() * &x[i];
            let b = D::from(1.0) - &x[i];
            s += a.clone() * a * 100.0 + b.clone() * b;
        }
        s
    }

    /// The network over its flattened weights; `x` and `y` are constants (`f64`).
    pub fn net<D: DualNum<Primitive = f64>>(p: &[D], x: [f64; 3], y: f64) -> D {
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

    pub type Static<const N: usize> = (f64, SVector<f64, N>, SMatrix<f64, N, N>);

    /// `num_dual::hessian` over a statically sized vector.
    pub fn hessian_static<const N: usize>(
        f: impl Fn(&[Dual2SVec64<N>]) -> Dual2SVec64<N>,
        x: &SVector<f64, N>,
    ) -> Static<N> {
        hessian(|v: SVector<Dual2SVec64<N>, N>| f(v.as_slice()), x)
    }

    /// `num_dual::hessian` over a dynamically sized vector.
    pub fn hessian_dynamic(
        f: impl Fn(&[Dual2DVec64]) -> Dual2DVec64,
        x: &DVector<f64>,
    ) -> (f64, DVector<f64>, DMatrix<f64>) {
        hessian(|v: DVector<Dual2DVec64>| f(v.as_slice()), x)
    }
}

// =============================================================================================
// ad_trait 0.3: a `DifferentiableFunctionTrait` per model, generic over its `AD` type, run by a
// `FunctionEngine` with `HessianAD<N>` (forward over forward) or `HessianAD_FOR<N>` (forward
// over reverse).

mod at {
    use ad_trait::differentiable_function::{DifferentiableFunctionTrait, HessianAD, HessianAD_FOR};
    use ad_trait::function_engine::FunctionEngine;
    use ad_trait::hyper_ad::hyper::HyperAD_ADFN;
    use ad_trait::hyper_ad::hyper_adr::HyperAD_ADR;
    use ad_trait::AD;

    pub fn rosenbrock<T: AD>(x: &[T]) -> T {
        let mut s = T::constant(0.0);
        for i in 0..x.len() - 1 {
            let a = x[i + 1] - x[i] * x[i];
            let b = T::constant(1.0) - x[i];
            s += T::constant(100.0) * a * a + b * b;
        }
        s
    }

    pub fn net<T: AD>(p: &[T], x: [f64; 3], y: f64) -> T {
        let (w1, b1, w2) = (&p[..24], &p[24..32], &p[32..40]);
        let mut out = p[40];
        for j in 0..8 {
            let mut z = b1[j];
            for k in 0..3 {
                z += w1[j * 3 + k] * T::constant(x[k]);
            }
            out += w2[j] * z.tanh();
        }
        let e = out - T::constant(y);
        e * e
    }

    #[derive(Clone)]
    pub struct Rosenbrock {
        pub n: usize,
    }

    impl<T: AD> DifferentiableFunctionTrait<T> for Rosenbrock {
        const NAME: &'static str = "Rosenbrock";
        fn call(&self, inputs: &[T], _freeze: bool) -> Vec<T> {
            vec![rosenbrock(inputs)]
        }
        fn num_inputs(&self) -> usize {
            self.n
        }
        fn num_outputs(&self) -> usize {
            1
        }
    }

    /// The network over its 41 weights, the sample (`x`, `y`) fixed.
    #[derive(Clone)]
    pub struct Net {
        pub x: [f64; 3],
        pub y: f64,
    }

    impl<T: AD> DifferentiableFunctionTrait<T> for Net {
        const NAME: &'static str = "Net";
        fn call(&self, inputs: &[T], _freeze: bool) -> Vec<T> {
            vec![net(inputs, self.x, self.y)]
        }
        fn num_inputs(&self) -> usize {
            super::NET_WEIGHTS
        }
        fn num_outputs(&self) -> usize {
            1
        }
    }

    /// Forward over forward, N lanes: ⌈n / N⌉² passes.
    pub fn fof<F, const N: usize>(f: F) -> FunctionEngine<F, F, HessianAD<N>>
    where
        F: DifferentiableFunctionTrait<f64> + DifferentiableFunctionTrait<HyperAD_ADFN<N>> + Clone,
    {
        FunctionEngine::new(f.clone(), f, HessianAD::new())
    }

    /// Forward over reverse, N lanes: ⌈n / N⌉ forward passes, n backward sweeps.
    pub fn for_<F, const N: usize>(f: F) -> FunctionEngine<F, F, HessianAD_FOR<N>>
    where
        F: DifferentiableFunctionTrait<f64> + DifferentiableFunctionTrait<HyperAD_ADR<N>> + Clone,
    {
        FunctionEngine::new(f.clone(), f, HessianAD_FOR::new())
    }
}

// =============================================================================================
// The check

/// Value, gradient and the Hessian row-major.
type Result = (f64, Vec<f64>, Vec<f64>);

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-8 * a.abs().max(b.abs())
}

/// Panics unless `tool`'s value, gradient and Hessian of `function` match chainrule's.
fn check(function: &str, tool: &str, (v, g, h): Result, (cv, cg, ch): &Result) {
    assert!(
        close(v, *cv),
        "{tool} on {function}: value {v}, chainrule {cv} (relative error > 1e-8)"
    );
    assert_eq!(
        g.len(),
        cg.len(),
        "{tool} on {function}: gradient of length {}",
        g.len()
    );
    for (i, (&a, &b)) in g.iter().zip(cg).enumerate() {
        assert!(
            close(a, b),
            "{tool} on {function}: ∂/∂input {i} is {a}, chainrule {b} (relative error > 1e-8)"
        );
    }
    assert_eq!(
        h.len(),
        ch.len(),
        "{tool} on {function}: Hessian of {} entries",
        h.len()
    );
    let n = cg.len();
    for (k, (&a, &b)) in h.iter().zip(ch).enumerate() {
        assert!(
            close(a, b),
            "{tool} on {function}: Hessian entry ({}, {}) is {a}, chainrule {b} \
             (relative error > 1e-8)",
            k / n,
            k % n
        );
    }
}

fn chainrule_rosenbrock(x: &[f64]) -> Result {
    let (v, g, h) = rosenbrock::hessian(x);
    assert_eq!(h.size(), x.len());
    (v, g.x, h.as_slice().to_vec())
}

fn chainrule_net() -> Result {
    let (w1, b1, w2) = net_point();
    let (v, g, h) = net::hessian(&w1, &b1, &w2, NET_B2, NET_X, NET_Y);
    assert_eq!(h.size(), NET_WEIGHTS);
    let mut flat = g.w1;
    flat.extend(g.b1);
    flat.extend(g.w2);
    flat.push(g.b2);
    (v, flat, h.as_slice().to_vec())
}

/// A nalgebra matrix (column-major) as row-major entries.
fn row_major<R: nalgebra::Dim, C: nalgebra::Dim, S: nalgebra::RawStorage<f64, R, C>>(
    m: &nalgebra::Matrix<f64, R, C, S>,
) -> Vec<f64> {
    let (rows, columns) = m.shape();
    (0..rows)
        .flat_map(|i| (0..columns).map(move |j| m[(i, j)]))
        .collect()
}

fn num_dual_static<const N: usize>(
    f: impl Fn(&[num_dual::Dual2SVec64<N>]) -> num_dual::Dual2SVec64<N>,
    p: &[f64],
) -> Result {
    let (v, g, h) = nd::hessian_static::<N>(f, &SVector::from_column_slice(p));
    (v, g.as_slice().to_vec(), row_major(&h))
}

fn num_dual_dynamic(f: impl Fn(&[num_dual::Dual2DVec64]) -> num_dual::Dual2DVec64, p: &[f64]) -> Result {
    let (v, g, h) = nd::hessian_dynamic(f, &DVector::from_column_slice(p));
    (v, g.as_slice().to_vec(), row_major(&h))
}

/// ad_trait's (values, Jacobian, Hessians) of a one-output function. Its matrices are those of
/// the nalgebra it re-exports (0.34), not num-dual's (0.35).
fn ad_trait_result(
    (v, j, h): (
        Vec<f64>,
        ad_trait::nalgebra::DMatrix<f64>,
        Vec<ad_trait::nalgebra::DMatrix<f64>>,
    ),
) -> Result {
    assert_eq!((v.len(), j.nrows(), h.len()), (1, 1, 1));
    let (h, n) = (&h[0], j.ncols());
    assert_eq!(h.shape(), (n, n));
    (
        v[0],
        j.iter().copied().collect(),
        (0..n * n).map(|k| h[(k / n, k % n)]).collect(),
    )
}

/// Every tool against chainrule, at every point it is timed at.
fn check_all() {
    for n in [10, 100] {
        let p = point(n);
        let f = format!("Rosenbrock, n = {n}");
        let f = f.as_str();
        let reference = chainrule_rosenbrock(&p);
        let by_hand = rosenbrock_hessian_by_hand(&p);
        for (k, (&a, &b)) in reference.2.iter().zip(&by_hand).enumerate() {
            assert!(
                close(a, b),
                "chainrule on {f}: Hessian entry {k} is {a}, by hand {b}"
            );
        }
        let dynamic = num_dual_dynamic(nd::rosenbrock, &p);
        check(f, "num-dual DVector", dynamic, &reference);
        let r = at::Rosenbrock { n };
        let (fixed, fof, for_) = match n {
            10 => (
                num_dual_static::<10>(nd::rosenbrock, &p),
                at::fof::<_, 10>(r.clone()).hessian(&p),
                at::for_::<_, 10>(r.clone()).hessian(&p),
            ),
            100 => (
                num_dual_static::<100>(nd::rosenbrock, &p),
                at::fof::<_, 100>(r.clone()).hessian(&p),
                at::for_::<_, 100>(r.clone()).hessian(&p),
            ),
            _ => unreachable!(),
        };
        check(f, "num-dual SVector", fixed, &reference);
        check(
            f,
            "ad_trait forward over forward, N = n",
            ad_trait_result(fof),
            &reference,
        );
        check(
            f,
            "ad_trait forward over reverse, N = n",
            ad_trait_result(for_),
            &reference,
        );
        let fof = at::fof::<_, FEW_LANES>(r.clone()).hessian(&p);
        check(
            f,
            "ad_trait forward over forward, N = 10",
            ad_trait_result(fof),
            &reference,
        );
        let for_ = at::for_::<_, FEW_LANES>(r).hessian(&p);
        check(
            f,
            "ad_trait forward over reverse, N = 10",
            ad_trait_result(for_),
            &reference,
        );
    }

    let f = "3 → 8 → 1 tanh net";
    let p = net_flat();
    let reference = chainrule_net();
    let net_nd_s = |v: &[num_dual::Dual2SVec64<NET_WEIGHTS>]| nd::net(v, NET_X, NET_Y);
    let net_nd_d = |v: &[num_dual::Dual2DVec64]| nd::net(v, NET_X, NET_Y);
    check(
        f,
        "num-dual SVector",
        num_dual_static::<NET_WEIGHTS>(net_nd_s, &p),
        &reference,
    );
    check(f, "num-dual DVector", num_dual_dynamic(net_nd_d, &p), &reference);
    let m = at::Net { x: NET_X, y: NET_Y };
    let fof = at::fof::<_, NET_WEIGHTS>(m.clone()).hessian(&p);
    check(
        f,
        "ad_trait forward over forward, N = n",
        ad_trait_result(fof),
        &reference,
    );
    let for_ = at::for_::<_, NET_WEIGHTS>(m.clone()).hessian(&p);
    check(
        f,
        "ad_trait forward over reverse, N = n",
        ad_trait_result(for_),
        &reference,
    );
    let fof = at::fof::<_, FEW_LANES>(m.clone()).hessian(&p);
    check(
        f,
        "ad_trait forward over forward, N = 10",
        ad_trait_result(fof),
        &reference,
    );
    let for_ = at::for_::<_, FEW_LANES>(m).hessian(&p);
    check(
        f,
        "ad_trait forward over reverse, N = 10",
        ad_trait_result(for_),
        &reference,
    );
    eprintln!(
        "checked: every tool's value, gradient and Hessian within 1e-8 of chainrule's \
         (and chainrule's Rosenbrock Hessian of the one by hand)"
    );
}

// =============================================================================================
// The benchmarks: one criterion group per function, one benchmark per tool

/// ad_trait's smaller lane count: forward over forward in blocks of 10 rows by 10 columns (⌈n /
/// 10⌉² passes), forward over reverse 10 rows per forward pass. Of N = 1, 2, 4, 5, 10, 20, 25,
/// 50 and 100 at n = 100 (and 1 to 41 on the net), 10 was the fastest or close to it for both
/// modes; at n = 10 it is N = n, and not timed twice.
const FEW_LANES: usize = 10;

/// The tools, in the order of the table: criterion id and column title.
const TOOLS: [(&str, &str); 7] = [
    ("chainrule", "chainrule"),
    ("num-dual-svector", "num-dual SVector"),
    ("num-dual-dvector", "num-dual DVector"),
    ("ad_trait-fof-all", "ad_trait fwd/fwd, N = n"),
    ("ad_trait-fof-few", "ad_trait fwd/fwd, N = 10"),
    ("ad_trait-for-all", "ad_trait fwd/rev, N = n"),
    ("ad_trait-for-few", "ad_trait fwd/rev, N = 10"),
];

/// The functions, in the order of the table: criterion group and row title.
const FUNCTIONS: [(&str, &str); 3] = [
    ("hessian_rosenbrock_10", "Rosenbrock, n = 10"),
    ("hessian_rosenbrock_100", "Rosenbrock, n = 100"),
    ("hessian_net", "3 → 8 → 1 tanh net, 41 weights"),
];

fn slow(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(3));
}

fn bench_rosenbrock<const N: usize>(c: &mut Criterion) {
    let p = point(N);
    let sp: SVector<f64, N> = SVector::from_column_slice(&p);
    let dp = DVector::from_column_slice(&p);
    let r = at::Rosenbrock { n: N };
    let fof_all = at::fof::<_, N>(r.clone());
    let fof_few = at::fof::<_, FEW_LANES>(r.clone());
    let for_all = at::for_::<_, N>(r.clone());
    let for_few = at::for_::<_, FEW_LANES>(r);
    let mut group = c.benchmark_group(format!("hessian_rosenbrock_{N}"));
    group.bench_function("chainrule", |b| b.iter(|| rosenbrock::hessian(black_box(&p))));
    // Every forward-over-forward and the tape costs O(n²) per operation: milliseconds at 100.
    if N >= 100 {
        slow(&mut group);
    }
    group.bench_function("num-dual-svector", |b| {
        b.iter(|| nd::hessian_static::<N>(nd::rosenbrock, black_box(&sp)))
    });
    group.bench_function("num-dual-dvector", |b| {
        b.iter(|| nd::hessian_dynamic(nd::rosenbrock, black_box(&dp)))
    });
    group.bench_function("ad_trait-fof-all", |b| b.iter(|| fof_all.hessian(black_box(&p))));
    group.bench_function("ad_trait-for-all", |b| b.iter(|| for_all.hessian(black_box(&p))));
    if N != FEW_LANES {
        group.bench_function("ad_trait-fof-few", |b| b.iter(|| fof_few.hessian(black_box(&p))));
        group.bench_function("ad_trait-for-few", |b| b.iter(|| for_few.hessian(black_box(&p))));
    }
    group.finish();
}

fn bench_net(c: &mut Criterion) {
    let (w1, b1, w2) = net_point();
    let p = net_flat();
    let sp: SVector<f64, NET_WEIGHTS> = SVector::from_column_slice(&p);
    let dp = DVector::from_column_slice(&p);
    let m = at::Net { x: NET_X, y: NET_Y };
    let fof_all = at::fof::<_, NET_WEIGHTS>(m.clone());
    let fof_few = at::fof::<_, FEW_LANES>(m.clone());
    let for_all = at::for_::<_, NET_WEIGHTS>(m.clone());
    let for_few = at::for_::<_, FEW_LANES>(m);
    let mut group = c.benchmark_group("hessian_net");
    group.bench_function("chainrule", |b| {
        b.iter(|| {
            net::hessian(
                black_box(&w1),
                black_box(&b1),
                black_box(&w2),
                black_box(NET_B2),
                NET_X,
                NET_Y,
            )
        })
    });
    group.bench_function("num-dual-svector", |b| {
        b.iter(|| nd::hessian_static::<NET_WEIGHTS>(|v| nd::net(v, NET_X, NET_Y), black_box(&sp)))
    });
    group.bench_function("num-dual-dvector", |b| {
        b.iter(|| nd::hessian_dynamic(|v| nd::net(v, NET_X, NET_Y), black_box(&dp)))
    });
    group.bench_function("ad_trait-fof-all", |b| b.iter(|| fof_all.hessian(black_box(&p))));
    group.bench_function("ad_trait-fof-few", |b| b.iter(|| fof_few.hessian(black_box(&p))));
    group.bench_function("ad_trait-for-all", |b| b.iter(|| for_all.hessian(black_box(&p))));
    group.bench_function("ad_trait-for-few", |b| b.iter(|| for_few.hessian(black_box(&p))));
    group.finish();
}

fn benches(c: &mut Criterion) {
    check_all();
    bench_rosenbrock::<10>(c);
    bench_rosenbrock::<100>(c);
    bench_net(c);
}

// =============================================================================================
// The table

/// Where criterion writes, found as criterion finds it (without asking `cargo metadata`).
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        PathBuf::from(home)
    } else if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        PathBuf::from(target).join("criterion")
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/criterion")
    }
}

/// The median of the last run of `group/id`, in ns.
fn median(group: &str, id: &str) -> Option<f64> {
    let path = criterion_dir().join(group).join(id).join("new/estimates.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn time(ns: f64) -> String {
    match ns {
        ns if ns < 1e3 => format!("{ns:.1} ns"),
        ns if ns < 1e6 => format!("{:.2} µs", ns / 1e3),
        ns => format!("{:.2} ms", ns / 1e6),
    }
}

/// The medians, and the fastest peer's over chainrule's, as a Markdown table.
fn print_table() {
    let titles: Vec<&str> = TOOLS.iter().map(|t| t.1).collect();
    println!("\nHessian medians (criterion, this run):\n");
    println!(
        "| function | {} | chainrule vs the fastest peer |",
        titles.join(" | ")
    );
    println!("|---|{}---|", "---:|".repeat(TOOLS.len()));
    for (group, title) in FUNCTIONS {
        let times: Vec<Option<f64>> = TOOLS.iter().map(|(id, _)| median(group, id)).collect();
        let cells: Vec<String> = TOOLS
            .iter()
            .zip(&times)
            .map(|((id, _), t)| match t {
                Some(t) => time(*t),
                // Rosenbrock at n = 10: N = 10 is N = n.
                None if id.ends_with("-few") && group.ends_with("_10") => "(N = n)".into(),
                None => "–".into(),
            })
            .collect();
        let fastest_peer = TOOLS
            .iter()
            .zip(&times)
            .skip(1)
            .filter_map(|((_, title), t)| t.map(|t| (t, *title)))
            .min_by(|a, b| a.0.total_cmp(&b.0));
        let verdict = match (times[0], fastest_peer) {
            (Some(c), Some((p, peer))) => format!("{:.1}× faster than {peer}", p / c),
            _ => "–".into(),
        };
        println!("| {title} | {} | {verdict} |", cells.join(" | "));
    }
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(1))
        .warm_up_time(Duration::from_millis(300))
        .configure_from_args()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let measuring = !args.iter().any(|a| a == "--test" || a == "--list");
    // num-dual's SVector of 100 second-order dual numbers (each 100 + 100² derivatives, 80 kB)
    // is 8 MB, passed by value, and ad_trait's HyperAD_ADFN<100> is 80 kB on the stack per
    // temporary: more than the main thread's stack.
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(|| {
            let mut c = config();
            benches(&mut c);
            c.final_summary();
        })
        .expect("spawn the bench thread")
        .join()
        .expect("the bench thread panicked");
    if measuring {
        print_table();
    }
}
