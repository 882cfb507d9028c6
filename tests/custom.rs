//! Custom backward rules, used by differentiated callers.

use chainrule::differentiate;

/// An error function the macro cannot see into (a series), with its derivative given.
#[differentiate(backward = erf_backward)]
fn erf(x: f64) -> f64 {
    // Abramowitz–Stegun 7.1.26, as an opaque external function would be.
    let t = 1.0 / (1.0 + 0.3275911 * x.abs());
    let y = 1.0
        - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592)
            * t
            * (-x * x).exp();
    if x >= 0.0 {
        y
    } else {
        -y
    }
}

fn erf_backward(x: f64, _value: f64, upstream: f64) -> erf::Grad {
    erf::Grad {
        x: upstream * std::f64::consts::FRAC_2_SQRT_PI * (-x * x).exp(),
    }
}

#[differentiate]
fn uses_erf(a: f64, b: f64) -> f64 {
    erf(a * b) * a
}

#[test]
fn custom_rule() {
    let (v, g) = uses_erf::grad(0.7, 1.1);
    assert_eq!(v, uses_erf(0.7, 1.1));
    let d = std::f64::consts::FRAC_2_SQRT_PI * (-(0.77f64 * 0.77)).exp();
    assert!((g.a - (erf(0.77) + 0.7 * 1.1 * d)).abs() < 1e-12, "{g:?}");
    assert!((g.b - 0.7 * 0.7 * d).abs() < 1e-12);
}
