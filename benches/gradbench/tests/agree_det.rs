//! det: chainrule's gradient of the recursive expansion by minors against the hand-written
//! recursion's adjoint, at GradBench's sizes ℓ = 5 … 9 (ℓ = 10 and 11 are the benchmark's:
//! in a debug build chainrule's cache of 10⁷ and 10⁸ calls takes minutes and gigabytes).
//! Values to 1e-12 relative, gradients componentwise to 1e-9; GradBench's own cofactor
//! gradient as an independent check on the smaller ones.

use chainrule_gradbench::{agree, det};

#[test]
fn det_agrees_with_the_adjoint_by_hand() {
    for &ell in det::SIZES.iter().filter(|&&ell| ell <= 9) {
        let a = det::input(ell);
        let (value, grad) = det::det::grad(&a, ell);
        let (expected, by_hand) = det::gradient_by_hand(&a, ell);
        assert_eq!(
            value,
            det::det(&a, ell),
            "ℓ = {ell}: grad's value is the function's"
        );
        assert!(
            (value - expected).abs() <= 1e-12 * expected.abs(),
            "ℓ = {ell}: {value} vs {expected}"
        );
        assert_eq!(
            det::det_by_hand(&a, ell),
            expected,
            "ℓ = {ell}: the primal by hand"
        );
        agree(&grad.a, &by_hand, 1e-9, 0.0).unwrap_or_else(|e| panic!("det ℓ = {ell}: {e}"));
        if ell <= 7 {
            let cofactors = det::gradient_by_cofactors(&a, ell);
            agree(&by_hand, &cofactors, 1e-9, 0.0)
                .unwrap_or_else(|e| panic!("det ℓ = {ell}, cofactors: {e}"));
        }
    }
}

/// Small orders, where the cofactors are also det A · (A⁻¹)ᵀ: ℓ = 1 … 4, and a central
/// difference along a direction.
#[test]
fn det_small_orders() {
    for ell in 1..=4 {
        let a = det::input(ell);
        let (value, grad) = det::det::grad(&a, ell);
        let (expected, by_hand) = det::gradient_by_hand(&a, ell);
        assert!((value - expected).abs() <= 1e-12 * expected.abs());
        agree(&grad.a, &by_hand, 1e-12, 0.0).unwrap_or_else(|e| panic!("det ℓ = {ell}: {e}"));
        agree(&grad.a, &det::gradient_by_cofactors(&a, ell), 1e-12, 0.0)
            .unwrap_or_else(|e| panic!("det ℓ = {ell}, cofactors: {e}"));
    }
    // [[a, b], [c, d]]: ∇ = [d, −c, −b, a].
    let (value, grad) = det::det::grad(&[1.0, 2.0, 3.0, 4.0], 2);
    assert_eq!((value, grad.a), (-2.0, vec![4.0, -3.0, -2.0, 1.0]));

    let ell = 6;
    let a = det::input(ell);
    let v = det::input(7)[..ell * ell].to_vec();
    let (_, grad) = det::det::grad(&a, ell);
    let h = 1e-6;
    let at = |t: f64| det::det(&a.iter().zip(&v).map(|(x, y)| x + t * y).collect::<Vec<_>>(), ell);
    let numeric = (at(h) - at(-h)) / (2.0 * h);
    let analytic: f64 = grad.a.iter().zip(&v).map(|(g, y)| g * y).sum();
    assert!(
        (numeric - analytic).abs() < 1e-7 * analytic.abs().max(1e-3),
        "{numeric} vs {analytic}"
    );
}
