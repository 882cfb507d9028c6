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

/// A custom rule over an array, used in a loop: a "black box" weighted sum.
#[differentiate(backward = weighted_backward)]
fn weighted(w: [f64; 3], x: f64) -> f64 {
    w.iter().enumerate().map(|(i, wi)| wi * x.powi(i as i32)).sum()
}

fn weighted_backward(w: [f64; 3], x: f64, _value: f64, upstream: f64) -> weighted::Grad {
    weighted::Grad {
        w: [upstream, upstream * x, upstream * x * x],
        x: upstream * (w[1] + 2.0 * w[2] * x),
    }
}

#[differentiate]
fn polynomial_steps(w: [f64; 3], x: f64) -> f64 {
    let mut y = x;
    for _ in 0..4 {
        y = 0.5 * weighted(w, y) + erf(y);
    }
    y
}

#[test]
fn custom_rule_in_a_loop() {
    let (w, x) = ([0.1, 0.4, -0.2], 0.3);
    let (value, g) = polynomial_steps::grad(w, x);
    assert_eq!(value, polynomial_steps(w, x));
    let f = |p: &[f64]| polynomial_steps([p[0], p[1], p[2]], p[3]);
    let numeric = chainrule::numerical_gradient(f, &[w[0], w[1], w[2], x]);
    // erf's own rule is exact, the series it stands for is accurate to ~1e-7: compare loosely.
    for (a, n) in g.w.iter().chain([&g.x]).zip(&numeric) {
        assert!((a - n).abs() < 1e-5 * n.abs().max(1.0), "{a} vs {n}");
    }
}

/// A custom rule with a forward rule beside its backward one: `jvp` and callers' forward
/// mode use it.
#[differentiate(backward = erf_backward_2, jvp = erf_jvp)]
fn erf2(x: f64) -> f64 {
    erf(x)
}

fn erf_backward_2(x: f64, _value: f64, upstream: f64) -> erf2::Grad {
    erf2::Grad {
        x: upstream * std::f64::consts::FRAC_2_SQRT_PI * (-x * x).exp(),
    }
}

fn erf_jvp(x: f64, _value: f64, tangent: erf2::Tangent) -> f64 {
    tangent.x * std::f64::consts::FRAC_2_SQRT_PI * (-x * x).exp()
}

#[differentiate(jvp)]
fn uses_both(a: f64, b: f64) -> f64 {
    erf2(a * b) * a + erf(b) * weighted([a, b, 1.0], 0.5)
}

#[test]
fn custom_forward_rules() {
    let (value, t) = erf2::jvp(0.4, erf2::Tangent { x: 2.0 });
    assert_eq!(value, erf(0.4));
    assert_eq!(t, 2.0 * std::f64::consts::FRAC_2_SQRT_PI * (-0.16f64).exp());
    // Through calls: `erf2` by its forward rule, `erf` and `weighted` (no forward rule) by
    // their gradients.
    let (v, g) = uses_both::grad(0.7, 1.1);
    for (ta, tb) in [(1.0, 0.0), (0.0, 1.0), (0.5, -2.0)] {
        let (jv, jt) = uses_both::jvp(0.7, 1.1, uses_both::Tangent { a: ta, b: tb });
        assert_eq!(jv, v);
        assert!((jt - (g.a * ta + g.b * tb)).abs() < 1e-12, "{jt} {g:?}");
    }
}
