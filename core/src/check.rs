//! Gradient checking, as in the lecture: the analytic gradient is exact and fast but
//! easy to get wrong, the numerical one approximate but easy to write — so compare them.

use crate::Real;

/// The gradient of `f` at `x` by central differences, (f(x + h) − f(x − h)) / 2h in
/// each coordinate.
///
/// The step is `h = ε^(1/3) · max(1, |xᵢ|)` (ε the type's machine epsilon), which
/// balances truncation and rounding error: about 6e-6 relative in `f64`, 5e-3 in `f32`.
/// The error of each component is then of order ε^(2/3): about 4e-11 in `f64` and
/// 2.4e-5 in `f32`, relative to the size of the function's values.
///
/// ```
/// let g = chainrule_core::numerical_gradient(|v: &[f64]| (v[0] + v[1]) * v[2], &[-2.0, 5.0, -4.0]);
/// assert!((g[0] - -4.0).abs() < 1e-8 && (g[2] - 3.0).abs() < 1e-8);
/// ```
pub fn numerical_gradient<T: Real>(mut f: impl FnMut(&[T]) -> T, x: &[T]) -> Vec<T> {
    let mut point = x.to_vec();
    let scale = T::from_f64(T::EPSILON_F64.cbrt());
    let two = T::one() + T::one();
    (0..x.len())
        .map(|i| {
            let xi = x[i];
            let h = scale * T::one().max(xi.abs());
            point[i] = xi + h;
            let above = f(&point);
            point[i] = xi - h;
            let below = f(&point);
            point[i] = xi;
            // Divide by the step actually taken: (xi + h) - (xi - h) may differ from 2h.
            (above - below) / ((xi + h) - (xi - h)).max(two * h * T::epsilon())
        })
        .collect()
}

/// The lecture's relative error |a − n| / max(|a|, |n|); 0 when both are 0, NaN when
/// either is NaN.
///
/// ```
/// assert_eq!(chainrule_core::relative_error(1.0_f64, 1.0), 0.0);
/// assert!((chainrule_core::relative_error(1.0_f64, 1.1) - 0.0909).abs() < 1e-3);
/// ```
pub fn relative_error<T: Real>(analytic: T, numeric: T) -> T {
    let scale = analytic.abs().max(numeric.abs());
    if analytic.is_nan() || numeric.is_nan() {
        T::nan()
    } else if scale == T::zero() {
        T::zero()
    } else {
        (analytic - numeric).abs() / scale
    }
}

/// The result of [`check_gradient`]: both gradients and their disagreement.
#[derive(Debug, Clone, PartialEq)]
pub struct GradCheck<T> {
    /// The gradient under test, as given.
    pub analytic: Vec<T>,
    /// The central-difference gradient.
    pub numeric: Vec<T>,
    /// [`relative_error`] per component.
    pub relative_errors: Vec<T>,
    /// The largest relative error (NaN if any component is NaN).
    pub max_relative_error: T,
}

impl<T: Real> GradCheck<T> {
    /// Whether every component agrees within `tolerance`, relative to the larger of the
    /// two values or to `1` when both are smaller than that (so that gradients near 0
    /// are compared absolutely, where relative error means nothing).
    pub fn passes(&self, tolerance: T) -> bool {
        self.analytic
            .iter()
            .zip(&self.numeric)
            .all(|(&a, &n)| (a - n).abs() <= tolerance * T::one().max(a.abs()).max(n.abs()))
    }
}

/// Compares an analytic gradient (for example `f::grad(..).1`, flattened to a slice)
/// with the numerical gradient of `f` at `x`.
///
/// ```
/// use chainrule_core::check_gradient;
/// let f = |v: &[f64]| v[0] * v[0].sin();
/// let x = 0.7_f64;
/// let check = check_gradient(f, &[x], &[x.sin() + x * x.cos()]);
/// assert!(check.passes(1e-8), "{check:?}");
/// ```
///
/// # Panics
/// If `x` and `analytic` differ in length.
pub fn check_gradient<T: Real>(f: impl FnMut(&[T]) -> T, x: &[T], analytic: &[T]) -> GradCheck<T> {
    assert_eq!(
        x.len(),
        analytic.len(),
        "check_gradient: the point has {} coordinates but the gradient {}",
        x.len(),
        analytic.len()
    );
    let numeric = numerical_gradient(f, x);
    let relative_errors: Vec<T> = analytic
        .iter()
        .zip(&numeric)
        .map(|(&a, &n)| relative_error(a, n))
        .collect();
    let max_relative_error = relative_errors.iter().fold(T::zero(), |worst, &e| {
        if e.is_nan() || worst.is_nan() {
            T::nan()
        } else {
            worst.max(e)
        }
    });
    GradCheck {
        analytic: analytic.to_vec(),
        numeric,
        relative_errors,
        max_relative_error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn central_differences_of_the_lecture_function() {
        let f = |v: &[f64]| (v[0] + v[1]) * v[2];
        let g = numerical_gradient(f, &[-2.0, 5.0, -4.0]);
        assert_relative_eq!(g[0], -4.0, epsilon = 1e-9);
        assert_relative_eq!(g[1], -4.0, epsilon = 1e-9);
        assert_relative_eq!(g[2], 3.0, epsilon = 1e-9);
    }

    #[test]
    fn f32_steps_are_large_enough() {
        let g = numerical_gradient(|v: &[f32]| v[0].exp(), &[1.0_f32]);
        assert_relative_eq!(g[0], 1.0_f32.exp(), max_relative = 1e-3);
    }

    #[test]
    fn check_catches_a_wrong_gradient() {
        let f = |v: &[f64]| v[0].powi(3);
        assert!(check_gradient(f, &[2.0], &[12.0]).passes(1e-7));
        let wrong = check_gradient(f, &[2.0], &[12.1]);
        assert!(!wrong.passes(1e-4));
        assert_relative_eq!(wrong.max_relative_error, 0.1 / 12.1, max_relative = 1e-6);
    }

    #[test]
    fn relative_error_conventions() {
        assert_eq!(relative_error(0.0_f64, 0.0), 0.0);
        assert_eq!(relative_error(2.0_f64, 1.0), 0.5);
        assert!(relative_error(f64::NAN, 1.0).is_nan());
    }
}
