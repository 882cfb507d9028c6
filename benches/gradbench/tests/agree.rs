//! Each eval's chainrule gradient against its hand-written one, at GradBench's sizes: values
//! to 1e-12 relative, gradients componentwise to 1e-9 relative (lse's maximum's component within
//! n · 1e-18 besides).

use chainrule_gradbench::{agree, llsq, lse, ode};

#[test]
fn lse_agrees_with_the_softmax() {
    for &n in lse::SIZES {
        let x = lse::input(n);
        let (value, grad) = lse::lse::grad(&x);
        let (expected, by_hand) = lse::gradient_by_hand(&x);
        assert_eq!(value, lse::lse(&x), "n = {n}: grad's value is the function's");
        assert!(
            (value - expected).abs() <= 1e-12 * expected.abs(),
            "n = {n}: {value} vs {expected}"
        );
        // (The maximum's own path adds 1 − Σe/Σe to its component: zero to n rounding errors.)
        agree(&grad.x, &by_hand, 1e-9, n as f64 * 1e-18).unwrap_or_else(|e| panic!("lse n = {n}: {e}"));
        let total: f64 = grad.x.iter().sum();
        assert!((total - 1.0).abs() < 1e-9, "n = {n}: the softmax sums to {total}");
    }
}

#[test]
fn llsq_agrees_with_the_normal_equations_gradient() {
    for &(n, m) in llsq::SIZES {
        let x = llsq::input(m);
        let (value, grad) = llsq::llsq::grad(&x, n);
        let (expected, by_hand) = llsq::gradient_by_hand(&x, n);
        assert_eq!(
            value,
            llsq::llsq(&x, n),
            "n = {n}: grad's value is the function's"
        );
        assert!(
            (value - expected).abs() <= 1e-12 * expected.abs(),
            "n = {n}: {value} vs {expected}"
        );
        agree(&grad.x, &by_hand, 1e-9, 0.0).unwrap_or_else(|e| panic!("llsq n = {n}: {e}"));
    }
}

/// A central difference of each objective along a random direction, against the gradient.
#[test]
fn directional_derivatives() {
    let x = lse::input(1000);
    let v = lse::input(999).into_iter().chain([0.5]).collect::<Vec<_>>();
    let (_, grad) = lse::lse::grad(&x);
    let h = 1e-6;
    let at = |s: f64| lse::lse(&x.iter().zip(&v).map(|(a, b)| a + s * b).collect::<Vec<_>>());
    let numeric = (at(h) - at(-h)) / (2.0 * h);
    let analytic: f64 = grad.x.iter().zip(&v).map(|(g, b)| g * b).sum();
    assert!(
        (numeric - analytic).abs() < 1e-7 * analytic.abs().max(1.0),
        "{numeric} vs {analytic}"
    );

    let x = llsq::input(8);
    let v = llsq::input(9)[..8].to_vec();
    let (_, grad) = llsq::llsq::grad(&x, 100);
    let at = |s: f64| llsq::llsq(&x.iter().zip(&v).map(|(a, b)| a + s * b).collect::<Vec<_>>(), 100);
    let numeric = (at(h) - at(-h)) / (2.0 * h);
    let analytic: f64 = grad.x.iter().zip(&v).map(|(g, b)| g * b).sum();
    assert!(
        (numeric - analytic).abs() < 1e-6 * analytic.abs().max(1.0),
        "{numeric} vs {analytic}"
    );
}

#[test]
fn ode_agrees_with_the_runge_kutta_adjoint() {
    // (The largest sizes, n = 100,000 with s = 10 and 100, are the benchmark's: in a debug
    // build they take minutes.)
    for &(n, s) in ode::SIZES.iter().filter(|(n, s)| n * s <= 1_000_000) {
        let x = ode::input(n);
        let (value, grad) = ode::ode_last::grad(&x, s);
        let (expected, by_hand) = ode::gradient_by_hand(&x, s);
        assert_eq!(
            value,
            ode::ode_last(&x, s),
            "n = {n}, s = {s}: grad's value is the function's"
        );
        assert_eq!(value, expected, "n = {n}, s = {s}: the same arithmetic");
        agree(&grad.x, &by_hand, 1e-9, 1e-300).unwrap_or_else(|e| panic!("ode n = {n}, s = {s}: {e}"));
    }
    // At GradBench's sizes the last element is zero (as in GradBench's own reference): s steps
    // of four stages reach only yᵢ with i < 4s, and beyond that it is Πxⱼ 2ⁿ/n!-small, under
    // the smallest float. The agreement that can fail is at small n, where every component
    // is a normal float.
    for (n, s) in [(4, 1), (20, 10), (60, 100)] {
        let x = ode::input(n);
        let (value, grad) = ode::ode_last::grad(&x, s);
        let (expected, by_hand) = ode::gradient_by_hand(&x, s);
        assert_eq!(value, expected, "n = {n}, s = {s}");
        assert!(
            grad.x.iter().all(|g| g.is_normal()),
            "n = {n}, s = {s}: {:?}",
            grad.x
        );
        agree(&grad.x, &by_hand, 1e-12, 0.0).unwrap_or_else(|e| panic!("ode n = {n}, s = {s}: {e}"));
    }
    // And a central difference along a direction, on a small one.
    let x = ode::input(6);
    let v = ode::input(7)[..6].to_vec();
    let (_, grad) = ode::ode_last::grad(&x, 10);
    let h = 1e-6;
    let at = |t: f64| ode::ode_last(&x.iter().zip(&v).map(|(a, b)| a + t * b).collect::<Vec<_>>(), 10);
    let numeric = (at(h) - at(-h)) / (2.0 * h);
    let analytic: f64 = grad.x.iter().zip(&v).map(|(g, b)| g * b).sum();
    assert!(
        (numeric - analytic).abs() < 1e-7 * analytic.abs().max(1e-3),
        "{numeric} vs {analytic}"
    );
}
