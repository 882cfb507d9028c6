//! GradBench's evals (github.com/gradbench/gradbench, `evals/<name>/README.md`) written with
//! chainrule as a user would write them from each README, beside a hand-written gradient of
//! the same math, and the inputs GradBench's eval generators make (their sizes; the values
//! from a seeded generator of our own, uniform in [0, 1) as numpy's `rand` draws them).
//!
//! `cargo test --manifest-path benches/gradbench/Cargo.toml` checks that both gradients agree
//! at GradBench's sizes; `cargo bench --manifest-path benches/gradbench/Cargo.toml` times
//! them (BENCHMARKS.md, "GradBench").

pub mod ba;
pub mod det;
pub mod gmm;
pub mod kmeans;
pub mod llsq;
pub mod lse;
pub mod lstm;
pub mod ode;

/// A deterministic generator of uniform floats in [0, 1) (SplitMix64): GradBench's inputs
/// are numpy's `np.random.rand` under seed 31337, whose stream this does not reproduce; the
/// distribution and the sizes are the same.
pub struct Uniform(u64);

impl Uniform {
    pub fn new(seed: u64) -> Uniform {
        Uniform(seed)
    }

    pub fn draw(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn vector(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.draw()).collect()
    }
}

/// Whether two gradients agree to `tolerance`, relative to the larger magnitude of each
/// component, or within `absolute` (rounding that does not scale with the component: lse's
/// maximum's path, 1 − Σe/Σe, is zero only to the sums' rounding).
pub fn agree(a: &[f64], b: &[f64], tolerance: f64, absolute: f64) -> Result<(), String> {
    if a.len() != b.len() {
        return Err(format!("lengths {} and {}", a.len(), b.len()));
    }
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        let allowed = tolerance * x.abs().max(y.abs()) + absolute;
        if (x - y).abs() > allowed || x.is_nan() != y.is_nan() {
            return Err(format!("component {k}: {x:e} and {y:e}"));
        }
    }
    Ok(())
}
