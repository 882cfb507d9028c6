//! `lse`: LogSumExp by the log-sum-exp trick, `LSE(x) = a + ln Σᵢ e^(xᵢ − a)` with `a = max x`
//! (evals/lse/README.md: from its primitives, a maximum and a sum, not a built-in).

use chainrule::differentiate;

/// LogSumExp of `x`, as the README specifies it.
#[differentiate]
pub fn lse(x: &[f64]) -> f64 {
    let a = x.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
    let s: f64 = x.iter().map(|v| (v - a).exp()).sum();
    a + s.ln()
}

/// The gradient by hand: the softmax, eᵢ / Σ e (the maximum's own path contributes
/// 1 − Σ e / Σ e = 0).
pub fn gradient_by_hand(x: &[f64]) -> (f64, Vec<f64>) {
    let a = x.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
    let e: Vec<f64> = x.iter().map(|v| (v - a).exp()).collect();
    let s: f64 = e.iter().sum();
    let inverse = 1.0 / s;
    (a + s.ln(), e.iter().map(|v| v * inverse).collect())
}

/// GradBench's sizes (evals/lse: `-n` 2,500 … 1,280,000, doubling).
pub const SIZES: &[usize] = &[
    2500, 5000, 10000, 20000, 40000, 80000, 160000, 320000, 640000, 1280000,
];

/// The input of size `n`: uniform in [0, 1).
pub fn input(n: usize) -> Vec<f64> {
    crate::Uniform::new(31337 + n as u64).vector(n)
}
