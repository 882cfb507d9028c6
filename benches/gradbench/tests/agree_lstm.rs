//! lstm: chainrule's gradient of the ADBench LSTM objective against backpropagation through
//! time by hand, at all of GradBench's sizes (l = 2, 4, 6 layers × c = 1,024 … 8,192
//! characters, b = 14). Values to 1e-12 relative, gradients componentwise to 1e-9.

use chainrule_gradbench::{agree, lstm};

fn flat(rows: &[Vec<f64>]) -> Vec<f64> {
    rows.concat()
}

#[test]
fn lstm_agrees_with_backpropagation_through_time() {
    for &(l, c) in lstm::SIZES {
        let x = lstm::input(l, c);
        let (value, grad) =
            lstm::lstm_objective::grad(&x.main_params, &x.extra_params, &x.state, &x.sequence);
        let (expected, d_main, d_extra) =
            lstm::gradient_by_hand(&x.main_params, &x.extra_params, &x.state, &x.sequence);
        assert_eq!(
            value,
            lstm::lstm_objective(&x.main_params, &x.extra_params, &x.state, &x.sequence),
            "l = {l}, c = {c}: grad's value is the function's"
        );
        assert!(
            (value - expected).abs() <= 1e-12 * expected.abs(),
            "l = {l}, c = {c}: {value} vs {expected}"
        );
        assert_eq!(grad.main_params.len(), 2 * l);
        assert_eq!(grad.extra_params.len(), 3);
        agree(&flat(&grad.main_params), &flat(&d_main), 1e-9, 0.0)
            .unwrap_or_else(|e| panic!("lstm l = {l}, c = {c}, main_params: {e}"));
        agree(&flat(&grad.extra_params), &flat(&d_extra), 1e-9, 0.0)
            .unwrap_or_else(|e| panic!("lstm l = {l}, c = {c}, extra_params: {e}"));
    }
}

/// A central difference along a random direction of both parameter blocks, on a short
/// sequence.
#[test]
fn lstm_directional_derivative() {
    let x = lstm::input(2, 20);
    let v = lstm::input(2, 21);
    let (_, grad) = lstm::lstm_objective::grad(&x.main_params, &x.extra_params, &x.state, &x.sequence);
    let moved = |rows: &[Vec<f64>], along: &[Vec<f64>], t: f64| -> Vec<Vec<f64>> {
        rows.iter()
            .zip(along)
            .map(|(r, a)| r.iter().zip(a).map(|(p, q)| p + t * q).collect())
            .collect()
    };
    let at = |t: f64| {
        lstm::lstm_objective(
            &moved(&x.main_params, &v.main_params, t),
            &moved(&x.extra_params, &v.extra_params, t),
            &x.state,
            &x.sequence,
        )
    };
    let h = 1e-6;
    let numeric = (at(h) - at(-h)) / (2.0 * h);
    let analytic: f64 = flat(&grad.main_params)
        .iter()
        .zip(flat(&v.main_params))
        .chain(flat(&grad.extra_params).iter().zip(flat(&v.extra_params)))
        .map(|(g, d)| g * d)
        .sum();
    assert!(
        (numeric - analytic).abs() < 1e-7 * analytic.abs().max(1e-3),
        "{numeric} vs {analytic}"
    );
}
