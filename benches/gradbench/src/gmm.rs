//! `gmm`: the log posterior of a Gaussian mixture model with a Wishart prior on its precision
//! matrices (evals/gmm/README.md, ADBench's GMM with its three errors fixed), in the
//! simplified form the README's "Implementation" derives:
//!
//! F = −N (D/2 ln 2π + logsumexp α) + Σᵢ logsumexp βᵢ
//!     + K (νD ln(γ/√2) − ln Γ_D(ν/2)) − γ²/2 Σₖ ‖Qₖ‖²_F + m Σₖ Σⱼ qₖⱼ,
//!
//! βᵢₖ = αₖ − ½ ‖Qₖ (xᵢ − μₖ)‖² + Σⱼ qₖⱼ, ν = D + m + 1, Qₖ lower triangular with diagonal
//! exp(qₖ) and lₖ below it, column by column. Matrices are row-major and flat (`mu[k * d + j]`,
//! `l[k * d(d − 1)/2 + …]`), as GradBench's C++ reads them.

use chainrule::differentiate;
use std::f64::consts::PI;

/// log Σ exp(vⱼ), by the maximum (the README's helper).
#[differentiate]
pub fn logsumexp(v: &[f64]) -> f64 {
    let a = v.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x));
    a + v.iter().map(|x| (x - a).exp()).sum::<f64>().ln()
}

/// The log posterior F, as a user writes it from the README and GradBench's C++ (Q's
/// diagonal and Σⱼ qₖⱼ computed once, Qₖ (xᵢ − μₖ) with a running index into lₖ).
#[differentiate(wrt(alpha, mu, q, l))]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
pub fn gmm_objective(
    alpha: &[f64],
    mu: &[f64],
    q: &[f64],
    l: &[f64],
    x: &[f64],
    d: usize,
    m: usize,
    gamma: f64,
) -> f64 {
    let k = alpha.len();
    let n = x.len() / d;
    let l_size = d * (d - 1) / 2;
    // Qₖ's diagonal, exp(qₖ), and Σⱼ qₖⱼ = ½ ln det Σₖ⁻¹.
    let mut diagonal = vec![0.0; k * d];
    let mut sum_q = vec![0.0; k];
    for c in 0..k {
        for j in 0..d {
            diagonal[c * d + j] = q[c * d + j].exp();
            sum_q[c] += q[c * d + j];
        }
    }
    let mut likelihood = 0.0;
    for i in 0..n {
        let mut beta = vec![0.0; k];
        for c in 0..k {
            let mut centred = vec![0.0; d];
            for j in 0..d {
                centred[j] = x[i * d + j] - mu[c * d + j];
            }
            // Qₖ (xᵢ − μₖ): the diagonal, then lₖ column by column below it.
            let mut product = vec![0.0; d];
            for j in 0..d {
                product[j] = diagonal[c * d + j] * centred[j];
            }
            let mut index = c * l_size;
            for j in 0..d {
                for r in (j + 1)..d {
                    product[r] += l[index] * centred[j];
                    index += 1;
                }
            }
            let norm: f64 = product.iter().map(|p| p * p).sum();
            beta[c] = alpha[c] + sum_q[c] - 0.5 * norm;
        }
        likelihood += logsumexp(&beta);
    }
    let constant = -(n as f64) * (d as f64) * 0.5 * (2.0 * PI).ln();
    constant + likelihood - n as f64 * logsumexp(alpha) + log_wishart_prior(q, l, d, m, gamma)
}

/// The same F with the triangular loop written the way chainrule's generated code rewards:
/// lₖ's index computed from the loop indices (a running counter makes the backward pass save
/// the counter and the element it read, every inner iteration) and xᵢ − μₖ's element read
/// once per column (read inside the inner loop, it is saved every inner iteration too). The
/// two rewrites take the saved values from n·k·d(d − 1)/2 floats and indices, in n·k·d heap
/// vectors, to n·k·d floats.
#[differentiate(wrt(alpha, mu, q, l))]
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
pub fn gmm_objective_hoisted(
    alpha: &[f64],
    mu: &[f64],
    q: &[f64],
    l: &[f64],
    x: &[f64],
    d: usize,
    m: usize,
    gamma: f64,
) -> f64 {
    let k = alpha.len();
    let n = x.len() / d;
    let l_size = d * (d - 1) / 2;
    let mut diagonal = vec![0.0; k * d];
    let mut sum_q = vec![0.0; k];
    for c in 0..k {
        for j in 0..d {
            diagonal[c * d + j] = q[c * d + j].exp();
            sum_q[c] += q[c * d + j];
        }
    }
    let mut likelihood = 0.0;
    for i in 0..n {
        let mut beta = vec![0.0; k];
        for c in 0..k {
            let mut centred = vec![0.0; d];
            for j in 0..d {
                centred[j] = x[i * d + j] - mu[c * d + j];
            }
            let mut product = vec![0.0; d];
            for j in 0..d {
                product[j] = diagonal[c * d + j] * centred[j];
            }
            for j in 0..d {
                // Column j of lₖ starts at Σ_{t<j} (d − t − 1) = j(2d − j − 1)/2.
                let column = c * l_size + j * (2 * d - j - 1) / 2;
                let cj = centred[j];
                for r in (j + 1)..d {
                    product[r] += l[column + r - j - 1] * cj;
                }
            }
            let norm: f64 = product.iter().map(|p| p * p).sum();
            beta[c] = alpha[c] + sum_q[c] - 0.5 * norm;
        }
        likelihood += logsumexp(&beta);
    }
    let constant = -(n as f64) * (d as f64) * 0.5 * (2.0 * PI).ln();
    constant + likelihood - n as f64 * logsumexp(alpha) + log_wishart_prior(q, l, d, m, gamma)
}

/// log p(θ), the Wishart prior of the precision matrices (GradBench's `log_wishart_prior`):
/// Σₖ (m Σⱼ qₖⱼ − γ²/2 ‖Qₖ‖²_F) + K (νD ln(γ/√2) − ln Γ_D(ν/2)), ‖Qₖ‖²_F = Σ e^{2q} + Σ l².
#[differentiate(wrt(q, l))]
pub fn log_wishart_prior(q: &[f64], l: &[f64], d: usize, m: usize, gamma: f64) -> f64 {
    let k = q.len() / d;
    let l_size = d * (d - 1) / 2;
    let mut prior = 0.0;
    for c in 0..k {
        let mut frobenius = 0.0;
        let mut sum_q = 0.0;
        for j in 0..d {
            let e = q[c * d + j].exp();
            frobenius += e * e;
            sum_q += q[c * d + j];
        }
        for j in 0..l_size {
            frobenius += l[c * l_size + j] * l[c * l_size + j];
        }
        prior += m as f64 * sum_q - 0.5 * gamma * gamma * frobenius;
    }
    let nu = d + m + 1;
    let constant =
        (nu * d) as f64 * (gamma / 2.0_f64.sqrt()).ln() - log_multivariate_gamma(0.5 * nu as f64, d);
    prior + k as f64 * constant
}

/// ln Γ_p(a) = p(p − 1)/4 ln π + Σⱼ₌₁ᵖ ln Γ(a + (1 − j)/2), for a a multiple of ½ with
/// a + (1 − p)/2 ≥ ½ (GMM's a = ν/2, ν = D + m + 1: every argument is one): ln Γ of a
/// half-integer by Γ(x + 1) = x Γ(x) from Γ(1) = 1 or Γ(½) = √π. Data, not differentiated.
pub fn log_multivariate_gamma(a: f64, p: usize) -> f64 {
    let ln_gamma = |x: f64| {
        let twice = (2.0 * x).round();
        assert!(
            twice == 2.0 * x && twice >= 1.0,
            "ln Γ({x}): not a positive half-integer"
        );
        let (mut at, mut value) = if x.fract() == 0.0 {
            (1.0, 0.0)
        } else {
            (0.5, 0.5 * PI.ln())
        };
        while at < x {
            value += f64::ln(at);
            at += 1.0;
        }
        value
    };
    let p_f = p as f64;
    0.25 * p_f * (p_f - 1.0) * PI.ln() + (1..=p).map(|j| ln_gamma(a + 0.5 * (1.0 - j as f64))).sum::<f64>()
}

/// F's gradient, one field per independent variable, each flat and row-major as the
/// generated `gmm_objective::Grad` is.
pub type Gradient = gmm_objective::Grad;

/// The value and the gradient by hand (tools/manual/gmm_d.hpp's derivation): for each point
/// and component, with cᵢₖ = xᵢ − μₖ, pᵢₖ = Qₖ cᵢₖ and wᵢₖ = softmax(βᵢ)ₖ,
/// ∂/∂αₖ = Σᵢ wᵢₖ − N softmax(α)ₖ, ∂/∂μₖ = Σᵢ wᵢₖ Qₖᵀ pᵢₖ,
/// ∂/∂qₖⱼ = Σᵢ wᵢₖ (1 − eᵠ cⱼ pⱼ) − γ² e²ᵠ + m, ∂/∂lₖ(r, j) = −Σᵢ wᵢₖ cⱼ p_r − γ² l.
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
pub fn gradient_by_hand(
    alpha: &[f64],
    mu: &[f64],
    q: &[f64],
    l: &[f64],
    x: &[f64],
    d: usize,
    m: usize,
    gamma: f64,
) -> (f64, Gradient) {
    let k = alpha.len();
    let n = x.len() / d;
    let l_size = d * (d - 1) / 2;
    let diagonal: Vec<f64> = q.iter().map(|v| v.exp()).collect();
    let sum_q: Vec<f64> = q.chunks(d).map(|row| row.iter().sum()).collect();
    let mut g_alpha = vec![0.0; k];
    let mut g_mu = vec![0.0; k * d];
    let mut g_q = vec![0.0; k * d];
    let mut g_l = vec![0.0; k * l_size];
    // Per point: each component's xᵢ − μₖ, Qₖ(xᵢ − μₖ) and βᵢₖ.
    let mut centred = vec![0.0; k * d];
    let mut product = vec![0.0; k * d];
    let mut beta = vec![0.0; k];
    let mut likelihood = 0.0;
    for point in x.chunks(d) {
        for c in 0..k {
            let cc = &mut centred[c * d..(c + 1) * d];
            let pc = &mut product[c * d..(c + 1) * d];
            let qd = &diagonal[c * d..(c + 1) * d];
            let lc = &l[c * l_size..(c + 1) * l_size];
            for j in 0..d {
                cc[j] = point[j] - mu[c * d + j];
                pc[j] = qd[j] * cc[j];
            }
            // Column j of lₖ (below the diagonal) into rows j + 1 … d − 1.
            let mut offset = 0;
            for j in 0..d {
                let column = &lc[offset..offset + d - j - 1];
                for (p, a) in pc[j + 1..].iter_mut().zip(column) {
                    *p += a * cc[j];
                }
                offset += d - j - 1;
            }
            beta[c] = alpha[c] + sum_q[c] - 0.5 * pc.iter().map(|p| p * p).sum::<f64>();
        }
        let top = beta.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        let mut total = 0.0;
        for b in beta.iter_mut() {
            *b = (*b - top).exp();
            total += *b;
        }
        likelihood += top + total.ln();
        let inverse = 1.0 / total;
        for c in 0..k {
            let w = beta[c] * inverse;
            g_alpha[c] += w;
            let cc = &centred[c * d..(c + 1) * d];
            let pc = &product[c * d..(c + 1) * d];
            let qd = &diagonal[c * d..(c + 1) * d];
            let lc = &l[c * l_size..(c + 1) * l_size];
            let gm = &mut g_mu[c * d..(c + 1) * d];
            let gq = &mut g_q[c * d..(c + 1) * d];
            let gl = &mut g_l[c * l_size..(c + 1) * l_size];
            // ∂βₖ/∂μₖ = Qₖᵀ pₖ, ∂βₖ/∂qₖⱼ = 1 − eᵠ cⱼ pⱼ, ∂βₖ/∂l(r, j) = −cⱼ p_r.
            let mut offset = 0;
            for j in 0..d {
                let len = d - j - 1;
                let below = &pc[j + 1..];
                let transposed: f64 = lc[offset..offset + len]
                    .iter()
                    .zip(below)
                    .map(|(a, p)| a * p)
                    .sum();
                gm[j] += w * (qd[j] * pc[j] + transposed);
                gq[j] += w * (1.0 - qd[j] * cc[j] * pc[j]);
                let wc = w * cc[j];
                for (g, p) in gl[offset..offset + len].iter_mut().zip(below) {
                    *g -= wc * p;
                }
                offset += len;
            }
        }
    }
    // −N logsumexp α, and the prior.
    let top = alpha.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    let total: f64 = alpha.iter().map(|a| (a - top).exp()).sum();
    let lse_alpha = top + total.ln();
    let gamma2 = gamma * gamma;
    let mut prior = 0.0;
    for c in 0..k {
        g_alpha[c] -= n as f64 * (alpha[c] - lse_alpha).exp();
        let mut frobenius = 0.0;
        for j in 0..d {
            let e = diagonal[c * d + j];
            frobenius += e * e;
            g_q[c * d + j] += m as f64 - gamma2 * e * e;
        }
        for j in 0..l_size {
            let v = l[c * l_size + j];
            frobenius += v * v;
            g_l[c * l_size + j] -= gamma2 * v;
        }
        prior += m as f64 * sum_q[c] - 0.5 * gamma2 * frobenius;
    }
    let nu = d + m + 1;
    prior += k as f64
        * ((nu * d) as f64 * (gamma / 2.0_f64.sqrt()).ln() - log_multivariate_gamma(0.5 * nu as f64, d));
    let constant = -(n as f64) * (d as f64) * 0.5 * (2.0 * PI).ln();
    let value = constant + likelihood - n as f64 * lse_alpha + prior;
    (
        value,
        Gradient {
            alpha: g_alpha,
            mu: g_mu,
            q: g_q,
            l: g_l,
        },
    )
}

/// GradBench's sizes (evals/gmm: every `-d` 2, 10, 20, 32, 64 with every `-k` 5, 10, 25,
/// 50, 100, ordered by d · k as the eval sends them; `-n` 1,000), as (d, k, n).
pub const SIZES: &[(usize, usize, usize)] = &[
    (2, 5, 1000),
    (2, 10, 1000),
    (2, 25, 1000),
    (10, 5, 1000),
    (2, 50, 1000),
    (10, 10, 1000),
    (20, 5, 1000),
    (2, 100, 1000),
    (10, 25, 1000),
    (20, 10, 1000),
    (32, 5, 1000),
    (10, 50, 1000),
    (20, 25, 1000),
    (32, 10, 1000),
    (64, 5, 1000),
    (10, 100, 1000),
    (20, 50, 1000),
    (32, 25, 1000),
    (64, 10, 1000),
    (20, 100, 1000),
    (32, 50, 1000),
    (64, 25, 1000),
    (32, 100, 1000),
    (64, 50, 1000),
    (64, 100, 1000),
];

/// One GMM problem: GradBench's `Input` with its rows flattened, row-major.
pub struct Input {
    pub d: usize,
    pub k: usize,
    pub n: usize,
    pub alpha: Vec<f64>,
    pub mu: Vec<f64>,
    pub q: Vec<f64>,
    pub l: Vec<f64>,
    pub x: Vec<f64>,
    pub m: usize,
    pub gamma: f64,
}

impl Input {
    pub fn objective(&self) -> f64 {
        gmm_objective(
            &self.alpha,
            &self.mu,
            &self.q,
            &self.l,
            &self.x,
            self.d,
            self.m,
            self.gamma,
        )
    }

    pub fn grad(&self) -> (f64, Gradient) {
        gmm_objective::grad(
            &self.alpha,
            &self.mu,
            &self.q,
            &self.l,
            &self.x,
            self.d,
            self.m,
            self.gamma,
        )
    }

    /// `gmm_objective_hoisted`'s gradient, as a `Gradient`.
    pub fn grad_hoisted(&self) -> (f64, Gradient) {
        let (value, g) = gmm_objective_hoisted::grad(
            &self.alpha,
            &self.mu,
            &self.q,
            &self.l,
            &self.x,
            self.d,
            self.m,
            self.gamma,
        );
        let gmm_objective_hoisted::Grad { alpha, mu, q, l } = g;
        (value, Gradient { alpha, mu, q, l })
    }

    pub fn gradient_by_hand(&self) -> (f64, Gradient) {
        gradient_by_hand(
            &self.alpha,
            &self.mu,
            &self.q,
            &self.l,
            &self.x,
            self.d,
            self.m,
            self.gamma,
        )
    }
}

/// A gradient's floats in order: α, μ, q, l.
pub fn flat(g: &Gradient) -> Vec<f64> {
    [&g.alpha[..], &g.mu, &g.q, &g.l].concat()
}

/// The input of size (d, k, n) as evals/gmm/run.py draws it: x, α, q and l standard normal,
/// μ uniform in [0, 1) (normals by Box–Muller from `crate::Uniform`), m = 0, γ = 1.
pub fn input(d: usize, k: usize, n: usize) -> Input {
    let mut uniform = crate::Uniform::new(31337 + (d * 1000 + k) as u64);
    let mut normal = |count: usize| -> Vec<f64> {
        (0..count)
            .map(|_| {
                let u = 1.0 - uniform.draw(); // in (0, 1]
                let v = uniform.draw();
                (-2.0 * u.ln()).sqrt() * (2.0 * PI * v).cos()
            })
            .collect()
    };
    let x = normal(n * d);
    let alpha = normal(k);
    let q = normal(k * d);
    let l = normal(k * d * (d - 1) / 2);
    let mu = crate::Uniform::new(7 + (d * 1000 + k) as u64).vector(k * d);
    Input {
        d,
        k,
        n,
        alpha,
        mu,
        q,
        l,
        x,
        m: 0,
        gamma: 1.0,
    }
}
