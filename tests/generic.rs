//! Generic floats: one function over `T: Real`, instantiated for f64 and f32, against
//! central differences; a generic function calling another.
#![allow(clippy::needless_range_loop)] // index loops are the point here

use approx::assert_relative_eq;
use chainrule::{differentiate, numerical_gradient, relu, Real};

#[differentiate]
fn generic_net<T: Real>(w: [T; 3], x: T) -> T {
    let mut s = T::zero();
    for i in 0..3 {
        s += relu(w[i] * x - T::from_f64(0.5)) * (T::from_f64(i as f64) + T::one());
    }
    (s * s).sqrt() + w[0].powi(2) * T::exp(x)
}

#[differentiate]
fn softplus<T: Real>(x: T) -> T {
    (T::one() + x.exp()).ln()
}

/// A generic function calling a generic one, with a branch.
#[differentiate]
fn smooth_abs<T>(x: T, k: T) -> T
where
    T: Real,
{
    if x > T::zero() {
        softplus(k * x) / k
    } else {
        softplus(-k * x) / k
    }
}

#[test]
fn generic_in_f64_and_f32() {
    for (w, x) in [([0.5, 1.5, -0.25], 1.2), ([1.0, -0.5, 2.0], 0.7)] {
        let (value, g) = generic_net::grad(w, x);
        assert_eq!(value, generic_net(w, x));
        let f = |p: &[f64]| generic_net([p[0], p[1], p[2]], p[3]);
        let numeric = numerical_gradient(f, &[w[0], w[1], w[2], x]);
        for (a, n) in g.w.iter().chain([&g.x]).zip(&numeric) {
            assert_relative_eq!(a, n, max_relative = 1e-6, epsilon = 1e-9);
        }
        let w32 = w.map(|v| v as f32);
        let (value32, g32) = generic_net::grad(w32, x as f32);
        assert_eq!(value32, generic_net(w32, x as f32));
        assert_relative_eq!(f64::from(g32.x), g.x, max_relative = 1e-4);
        for (a, b) in g32.w.iter().zip(&g.w) {
            assert_relative_eq!(f64::from(*a), *b, max_relative = 1e-4, epsilon = 1e-6);
        }
    }
}

#[test]
fn generic_calls_generic() {
    for &(x, k) in &[(0.8, 3.0), (-0.6, 2.0), (0.1, 10.0)] {
        let (value, g) = smooth_abs::grad(x, k);
        assert_eq!(value, smooth_abs(x, k));
        let numeric = numerical_gradient(|v: &[f64]| smooth_abs(v[0], v[1]), &[x, k]);
        assert_relative_eq!(g.x, numeric[0], max_relative = 1e-6, epsilon = 1e-9);
        assert_relative_eq!(g.k, numeric[1], max_relative = 1e-6, epsilon = 1e-9);
        let (value32, g32) = smooth_abs::grad(x as f32, k as f32);
        assert_eq!(value32, smooth_abs(x as f32, k as f32));
        assert_relative_eq!(f64::from(g32.x), g.x, max_relative = 1e-4);
    }
}
