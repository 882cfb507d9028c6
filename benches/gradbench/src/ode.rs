//! `ode`: evals/ode/README.md (cmpad's `an_ode`): y' = f(y) with f(y)₀ = x₀, f(y)ᵢ = xᵢ yᵢ₋₁
//! (as GradBench's C++ reference computes it), y(0) = 0, integrated over [0, 2] by `s` steps
//! of the classic Runge–Kutta method; the gradient is that of the last element of y(2).

use chainrule::differentiate;

/// The last element of y(2), as a user writes the Runge–Kutta steps (`vec!` buffers, loops).
#[differentiate(wrt(x))]
pub fn ode_last(x: &[f64], s: usize) -> f64 {
    let n = x.len();
    let h = 2.0 / s as f64;
    let mut y = vec![0.0; n];
    for _ in 0..s {
        let mut k1 = vec![0.0; n];
        k1[0] = x[0];
        for i in 1..n {
            k1[i] = x[i] * y[i - 1];
        }
        let mut k2 = vec![0.0; n];
        k2[0] = x[0];
        for i in 1..n {
            k2[i] = x[i] * (y[i - 1] + h * k1[i - 1] / 2.0);
        }
        let mut k3 = vec![0.0; n];
        k3[0] = x[0];
        for i in 1..n {
            k3[i] = x[i] * (y[i - 1] + h * k2[i - 1] / 2.0);
        }
        let mut k4 = vec![0.0; n];
        k4[0] = x[0];
        for i in 1..n {
            k4[i] = x[i] * (y[i - 1] + h * k3[i - 1]);
        }
        for i in 0..n {
            y[i] += h * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]) / 6.0;
        }
    }
    y[n - 1]
}

/// f(y) into `k`: k₀ = x₀, kᵢ = xᵢ yᵢ₋₁.
fn rate(x: &[f64], y: &[f64], k: &mut [f64]) {
    k[0] = x[0];
    for i in 1..x.len() {
        k[i] = x[i] * y[i - 1];
    }
}

/// The stages of one step from `y`: k1…k4 and the points k2…k4 were taken at.
struct Stages {
    k: [Vec<f64>; 4],
    at: [Vec<f64>; 3],
}

fn stages(x: &[f64], y: &[f64], h: f64) -> Stages {
    let n = x.len();
    let mut k = [vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]];
    let mut at = [vec![0.0; n], vec![0.0; n], vec![0.0; n]];
    rate(x, y, &mut k[0]);
    for (stage, weight) in [(0usize, 0.5), (1, 0.5), (2, 1.0)] {
        for i in 0..n {
            at[stage][i] = y[i] + h * k[stage][i] * weight;
        }
        let (before, after) = k.split_at_mut(stage + 1);
        let _ = before;
        rate(x, &at[stage], &mut after[0]);
    }
    Stages { k, at }
}

/// The value and the gradient by hand: the steps forward saving each step's y, then each
/// step's adjoint backward (its stages recomputed from the saved y), the transpose of
/// k = f(p): p̄ᵢ₋₁ += xᵢ k̄ᵢ, x̄ᵢ += pᵢ₋₁ k̄ᵢ, x̄₀ += k̄₀.
pub fn gradient_by_hand(x: &[f64], s: usize) -> (f64, Vec<f64>) {
    let n = x.len();
    let h = 2.0 / s as f64;
    let mut ys = Vec::with_capacity(s + 1);
    let mut y = vec![0.0; n];
    for _ in 0..s {
        let Stages { k, .. } = stages(x, &y, h);
        ys.push(y.clone());
        for i in 0..n {
            y[i] += h * (k[0][i] + 2.0 * k[1][i] + 2.0 * k[2][i] + k[3][i]) / 6.0;
        }
    }
    let value = y[n - 1];
    let mut x_bar = vec![0.0; n];
    let mut y_bar = vec![0.0; n];
    y_bar[n - 1] = 1.0;
    let transpose = |p: &[f64], k_bar: &[f64], p_bar: &mut [f64], x_bar: &mut [f64]| {
        x_bar[0] += k_bar[0];
        for i in 1..n {
            p_bar[i - 1] += x[i] * k_bar[i];
            x_bar[i] += p[i - 1] * k_bar[i];
        }
    };
    for y in ys.iter().rev() {
        let Stages { at, .. } = stages(x, y, h);
        // y' = y + h/6 (k1 + 2 k2 + 2 k3 + k4): ȳ stays, and each stage's k̄.
        let mut k_bar: [Vec<f64>; 4] = [
            y_bar.iter().map(|b| b * h / 6.0).collect(),
            y_bar.iter().map(|b| b * h / 3.0).collect(),
            y_bar.iter().map(|b| b * h / 3.0).collect(),
            y_bar.iter().map(|b| b * h / 6.0).collect(),
        ];
        let mut next_y_bar = y_bar.clone();
        // Stages 4, 3, 2 (k = f(at), at = y + h w k_previous), then stage 1 (k1 = f(y)).
        for (stage, weight) in [(3usize, 1.0), (2, 0.5), (1, 0.5)] {
            let mut p_bar = vec![0.0; n];
            let current = std::mem::take(&mut k_bar[stage]);
            transpose(&at[stage - 1], &current, &mut p_bar, &mut x_bar);
            for i in 0..n {
                next_y_bar[i] += p_bar[i];
                k_bar[stage - 1][i] += h * weight * p_bar[i];
            }
        }
        let mut p_bar = vec![0.0; n];
        transpose(y, &k_bar[0], &mut p_bar, &mut x_bar);
        for i in 0..n {
            next_y_bar[i] += p_bar[i];
        }
        y_bar = next_y_bar;
    }
    (value, x_bar)
}

/// GradBench's sizes (evals/ode: n = 1,000, 10,000, 100,000 × s = 1, 10, 100).
pub const SIZES: &[(usize, usize)] = &[
    (1000, 1),
    (1000, 10),
    (10000, 1),
    (1000, 100),
    (10000, 10),
    (100000, 1),
    (10000, 100),
    (100000, 10),
    (100000, 100),
];

/// The input of size `n`: uniform in [0, 1).
pub fn input(n: usize) -> Vec<f64> {
    crate::Uniform::new(31337 + n as u64).vector(n)
}
