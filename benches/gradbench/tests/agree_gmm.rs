//! gmm: chainrule's gradient of the log posterior against the hand derivation of
//! tools/manual/gmm_d.hpp, at GradBench's sizes (d, k) with n = 1,000 up to d² k = 10,240
//! (16 of the 25: (32, 10) takes a second in a debug build; the larger ones, up to 40 s at
//! (64, 100), are the benchmark's). Values to 1e-12 relative, gradients componentwise to
//! 1e-9, and `gmm_objective_hoisted`'s gradient the same bits as `gmm_objective`'s; the value
//! against the README's definition computed naively, and the gradient against a central
//! difference, on small problems.

use chainrule_gradbench::{agree, gmm};

#[test]
fn gmm_agrees_with_the_manual_gradient() {
    for &(d, k, n) in gmm::SIZES.iter().filter(|(d, k, _)| d * d * k <= 10_240) {
        let input = gmm::input(d, k, n);
        let (value, grad) = input.grad();
        let (expected, by_hand) = input.gradient_by_hand();
        assert_eq!(
            value,
            input.objective(),
            "d = {d}, k = {k}: grad's value is the function's"
        );
        assert!(
            (value - expected).abs() <= 1e-12 * expected.abs(),
            "d = {d}, k = {k}: {value} vs {expected}"
        );
        agree(&gmm::flat(&grad), &gmm::flat(&by_hand), 1e-9, 0.0)
            .unwrap_or_else(|e| panic!("gmm d = {d}, k = {k}: {e}"));
        // The rewritten triangular loop: the same arithmetic.
        let (hoisted_value, hoisted) = input.grad_hoisted();
        assert_eq!(hoisted_value, value, "d = {d}, k = {k}");
        assert_eq!(hoisted, grad, "d = {d}, k = {k}");
    }
}

/// A small problem with m ≠ 0 and γ ≠ 1, so that every term of the prior counts.
fn small(d: usize, k: usize, n: usize) -> gmm::Input {
    let mut input = gmm::input(d, k, n);
    input.m = 1;
    input.gamma = 0.8;
    input
}

/// The README's definition as written: Π over points of Σ over components of
/// φₖ N(xᵢ; μₖ, Σₖ) with Σₖ⁻¹ = QₖᵀQₖ formed and its determinant by elimination, times the
/// Wishart densities of the Σₖ⁻¹, with V = I/γ² and Γ_D(ν/2) given.
fn naive_log_posterior(input: &gmm::Input, log_gamma_d: f64) -> f64 {
    let (d, k) = (input.d, input.k);
    let l_size = d * (d - 1) / 2;
    let exp_alpha: Vec<f64> = input.alpha.iter().map(|a| a.exp()).collect();
    let total: f64 = exp_alpha.iter().sum();
    let mut precisions = Vec::new();
    for c in 0..k {
        let mut q = vec![vec![0.0; d]; d];
        let mut index = 0;
        for j in 0..d {
            q[j][j] = input.q[c * d + j].exp();
            for row in q.iter_mut().skip(j + 1) {
                row[j] = input.l[c * l_size + index];
                index += 1;
            }
        }
        let qtq: Vec<Vec<f64>> = (0..d)
            .map(|a| (0..d).map(|b| (0..d).map(|r| q[r][a] * q[r][b]).sum()).collect())
            .collect();
        precisions.push(qtq);
    }
    let det = |m: &Vec<Vec<f64>>| {
        let mut a = m.clone();
        let mut product = 1.0;
        for j in 0..d {
            product *= a[j][j];
            let (above, below) = a.split_at_mut(j + 1);
            for row in below {
                let f = row[j] / above[j][j];
                for (c, v) in row.iter_mut().enumerate().skip(j) {
                    *v -= f * above[j][c];
                }
            }
        }
        product
    };
    let pi2 = 2.0 * std::f64::consts::PI;
    let mut likelihood = 1.0;
    for point in input.x.chunks(d) {
        let mut factor = 0.0;
        for c in 0..k {
            let s = &precisions[c];
            let centred: Vec<f64> = (0..d).map(|j| point[j] - input.mu[c * d + j]).collect();
            let quadratic: f64 = (0..d)
                .map(|a| (0..d).map(|b| centred[a] * s[a][b] * centred[b]).sum::<f64>())
                .sum();
            let density = (-0.5 * quadratic).exp() / (pi2.powi(d as i32) / det(s)).sqrt();
            factor += exp_alpha[c] / total * density;
        }
        likelihood *= factor;
    }
    let nu = (d + input.m + 1) as f64;
    let g2 = input.gamma * input.gamma;
    let mut log_prior = 0.0;
    for s in &precisions {
        let trace: f64 = (0..d).map(|j| g2 * s[j][j]).sum();
        let density = det(s).powf((nu - d as f64 - 1.0) / 2.0) * (-0.5 * trace).exp()
            / (2.0_f64.powf(nu * d as f64 / 2.0) * g2.powf(-(d as f64) * nu / 2.0));
        log_prior += density.ln() - log_gamma_d;
    }
    likelihood.ln() + log_prior
}

#[test]
fn gmm_value_is_the_readme_definition() {
    // ν = d + m + 1 = 5 with d = 3, m = 1: Γ₃(5/2) = π^{3/2} Γ(5/2) Γ(2) Γ(3/2) = ⅜ π^{5/2}.
    let pi = std::f64::consts::PI;
    let log_gamma_d = 0.375_f64.ln() + 2.5 * pi.ln();
    assert!((gmm::log_multivariate_gamma(2.5, 3) - log_gamma_d).abs() < 1e-14);
    let input = small(3, 4, 6);
    let value = input.objective();
    let naive = naive_log_posterior(&input, log_gamma_d);
    assert!((value - naive).abs() < 1e-11 * naive.abs(), "{value} vs {naive}");
    // And d = 2, m = 1: ν = 4, Γ₂(2) = π^{1/2} Γ(2) Γ(3/2) = π / 2.
    let input = small(2, 3, 5);
    let naive = naive_log_posterior(&input, (pi / 2.0).ln());
    assert!((input.objective() - naive).abs() < 1e-11 * naive.abs());
}

#[test]
fn gmm_directional_derivative() {
    let input = small(4, 3, 20);
    let (_, grad) = input.grad();
    let (_, by_hand) = input.gradient_by_hand();
    agree(&gmm::flat(&grad), &gmm::flat(&by_hand), 1e-12, 1e-14).unwrap();
    let v = chainrule_gradbench::Uniform::new(5).vector(gmm::flat(&grad).len());
    let v: Vec<f64> = v.iter().map(|t| t - 0.5).collect();
    let at = |h: f64| {
        let mut p = small(4, 3, 20);
        let mut offset = 0;
        for field in [&mut p.alpha, &mut p.mu, &mut p.q, &mut p.l] {
            for x in field.iter_mut() {
                *x += h * v[offset];
                offset += 1;
            }
        }
        p.objective()
    };
    let h = 1e-6;
    let numeric = (at(h) - at(-h)) / (2.0 * h);
    let analytic: f64 = gmm::flat(&grad).iter().zip(&v).map(|(g, b)| g * b).sum();
    assert!(
        (numeric - analytic).abs() < 1e-6 * analytic.abs().max(1.0),
        "{numeric} vs {analytic}"
    );
}
