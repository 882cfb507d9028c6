//! A damped oscillation fitted to noisy samples by Levenberg–Marquardt (the
//! levenberg-marquardt crate, which speaks nalgebra), with the model's Jacobian from
//! `residuals::jacobian` (converted by `chainrule::matrix`, feature `nalgebra`), checked at the
//! start against the crate's own finite differences. Run it with
//!
//! ```text
//! cargo run --example curve_fit --features nalgebra
//! ```

use chainrule::differentiate;
use chainrule::nalgebra::{DMatrix, DVector, Dyn, Owned};
use levenberg_marquardt::{LeastSquaresProblem, LevenbergMarquardt};

/// y(t) = A e^(−λt) cos(ωt + φ) minus the samples: one residual per sample, the parameters
/// p = (A, λ, ω, φ). Four parameters for 60 residuals, so `jacobian` takes one forward pass
/// per parameter.
#[differentiate(wrt(p))]
fn residuals(p: [f64; 4], t: &[f64], y: &[f64]) -> Vec<f64> {
    t.iter()
        .zip(y)
        .map(|(t, y)| p[0] * (-p[1] * t).exp() * (p[2] * t + p[3]).cos() - y)
        .collect()
}

/// The fit as levenberg-marquardt sees it: the parameters it moves, and the data.
struct Fit {
    p: [f64; 4],
    t: Vec<f64>,
    y: Vec<f64>,
}

impl LeastSquaresProblem<f64, Dyn, Dyn> for Fit {
    type ResidualStorage = Owned<f64, Dyn>;
    type JacobianStorage = Owned<f64, Dyn, Dyn>;
    type ParameterStorage = Owned<f64, Dyn>;

    fn set_params(&mut self, p: &DVector<f64>) {
        self.p.copy_from_slice(p.as_slice());
    }

    fn params(&self) -> DVector<f64> {
        DVector::from_column_slice(&self.p)
    }

    fn residuals(&self) -> Option<DVector<f64>> {
        Some(DVector::from_vec(residuals(self.p, &self.t, &self.y)))
    }

    fn jacobian(&self) -> Option<DMatrix<f64>> {
        let (_, jacobian) = residuals::jacobian(self.p, &self.t, &self.y);
        Some(chainrule::matrix::jacobian(&jacobian))
    }
}

fn main() {
    let truth = [2.0, 0.3, 4.0, 0.5];
    let t: Vec<f64> = (0..60).map(|i| f64::from(i) * 0.1).collect();
    // The model plus a deterministic "noise" of amplitude 0.02.
    let y: Vec<f64> = t
        .iter()
        .enumerate()
        .map(|(i, &t)| {
            let model = truth[0] * (-truth[1] * t).exp() * (truth[2] * t + truth[3]).cos();
            model + 0.02 * (f64::from(i as u32) * 12.9898).sin()
        })
        .collect();
    let mut fit = Fit {
        p: [1.5, 0.1, 3.8, 0.0],
        t,
        y,
    };
    let exact = fit.jacobian().expect("the Jacobian");
    let numerical = levenberg_marquardt::differentiate_numerically(&mut fit).expect("differences");
    println!(
        "Jacobian at the start ({} × {}): chainrule's against finite differences, max abs difference {:.1e}",
        exact.nrows(),
        exact.ncols(),
        (&exact - &numerical).amax()
    );
    let (fit, report) = LevenbergMarquardt::new().minimize(fit);
    println!(
        "termination: {:?}, {} evaluations",
        report.termination, report.number_of_evaluations
    );
    println!("objective ½‖r‖²: {:.6e}", report.objective_function);
    println!("{:<6} {:>10} {:>10}", "", "fitted", "true");
    for (name, (fitted, truth)) in ["A", "λ", "ω", "φ"].iter().zip(fit.p.iter().zip(truth)) {
        println!("{name:<6} {fitted:>10.5} {truth:>10.5}");
    }
    assert!(report.termination.was_successful());
}
