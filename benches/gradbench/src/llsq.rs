//! `llsq`: the linear least squares objective of evals/llsq/README.md (cmpad's `llsq_obj`),
//! `y(x) = ½ Σᵢ (sᵢ − Σⱼ xⱼ tᵢʲ)²`, `tᵢ = −1 + 2i / (n − 1)`, `sᵢ = sign(tᵢ)`.

use chainrule::differentiate;

/// The objective, as the README specifies it (tᵢʲ by a running product).
#[differentiate(wrt(x))]
pub fn llsq(x: &[f64], n: usize) -> f64 {
    let mut sum = 0.0;
    for i in 0..n {
        let t = -1.0 + (i as f64) * 2.0 / ((n - 1) as f64);
        let s = if t > 0.0 {
            1.0
        } else if t < 0.0 {
            -1.0
        } else {
            0.0
        };
        let mut residual = s;
        let mut power = 1.0;
        for &xj in x {
            residual -= xj * power;
            power *= t;
        }
        sum += residual * residual;
    }
    sum / 2.0
}

/// The gradient by hand: ∂y/∂xⱼ = −Σᵢ rᵢ tᵢʲ, one pass over i computing rᵢ, then the powers
/// again.
pub fn gradient_by_hand(x: &[f64], n: usize) -> (f64, Vec<f64>) {
    let mut gradient = vec![0.0; x.len()];
    let mut sum = 0.0;
    for i in 0..n {
        let t = -1.0 + (i as f64) * 2.0 / ((n - 1) as f64);
        let s = if t > 0.0 {
            1.0
        } else if t < 0.0 {
            -1.0
        } else {
            0.0
        };
        let mut residual = s;
        let mut power = 1.0;
        for &xj in x {
            residual -= xj * power;
            power *= t;
        }
        sum += residual * residual;
        let mut power = 1.0;
        for g in gradient.iter_mut() {
            *g -= residual * power;
            power *= t;
        }
    }
    (sum / 2.0, gradient)
}

/// GradBench's sizes (evals/llsq: `-n` 16 … 16,392, `-m` 128).
pub const SIZES: &[(usize, usize)] = &[
    (16, 128),
    (32, 128),
    (64, 128),
    (128, 128),
    (256, 128),
    (512, 128),
    (1024, 128),
    (2048, 128),
    (4096, 128),
    (8196, 128),
    (16392, 128),
];

/// The parameters of size `m`: uniform in [0, 1).
pub fn input(m: usize) -> Vec<f64> {
    crate::Uniform::new(31337 + m as u64).vector(m)
}
