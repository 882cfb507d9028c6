//! Generic floats: one function, instantiated for f64 and f32.
#![allow(clippy::needless_range_loop)] // index loops are the point here

use chainrule::{differentiate, relu, Real};

#[differentiate]
fn generic_net<T: Real>(w: [T; 3], x: T) -> T {
    let mut s = T::zero();
    for i in 0..3 {
        s += relu(w[i] * x - T::from_f64(0.5)) * (T::from_f64(i as f64) + T::one());
    }
    (s * s).sqrt() + w[0].powi(2) * T::exp(x)
}

#[test]
fn generic() {
    let (v, g) = generic_net::grad([0.5, 1.5, -0.25], 1.2_f64);
    assert_eq!(v, generic_net([0.5, 1.5, -0.25], 1.2_f64));
    let (v32, g32) = generic_net::grad([0.5_f32, 1.5, -0.25], 1.2_f32);
    assert!((f64::from(v32) - v).abs() < 1e-5);
    assert!((f64::from(g32.x) - g.x).abs() < 1e-4, "{g:?} {g32:?}");
}
