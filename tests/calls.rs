//! Calls between differentiated functions: by name and by path, three deep, in loops
//! and branches, with arrays and slices, in f32; each against central differences.

use approx::assert_relative_eq;
use chainrule::{differentiate, numerical_gradient, sigmoid};

#[differentiate]
fn square(x: f64) -> f64 {
    x * x
}

#[differentiate]
fn layer(w: [f64; 2], x: [f64; 2], b: f64) -> f64 {
    sigmoid(w[0] * x[0] + w[1] * x[1] + b)
}

mod inner {
    use chainrule::differentiate;

    #[differentiate]
    pub fn cube(x: f64) -> f64 {
        x * x * x
    }

    /// Two deep: calls `super::square`.
    #[differentiate]
    pub fn square_then_sin(x: f64) -> f64 {
        super::square(x).sin()
    }
}

/// Three deep: calls `inner::square_then_sin`, which calls `square`.
#[differentiate]
fn three_deep(x: f64, y: f64) -> f64 {
    inner::square_then_sin(x * y) + inner::cube(y)
}

/// Calls in a loop (the callee's caches are saved per iteration) and with arrays.
#[differentiate]
fn composed(a: f64, w: [f64; 2], b: f64) -> f64 {
    let h = square(a) + inner::cube(b);
    let x = [h, a];
    let mut s = 0.0;
    for i in 0..3 {
        s += layer(w, x, b * i as f64);
    }
    s * square(h)
}

/// A call in each branch.
#[differentiate]
fn branchy(x: f64, y: f64) -> f64 {
    if x > y {
        square(x - y) * y
    } else {
        inner::cube(y - x) + x
    }
}

#[differentiate]
fn sum_of_squares(xs: &[f64]) -> f64 {
    let mut s = 0.0;
    for &v in xs.iter() {
        s += square(v);
    }
    s
}

/// A slice passed on by reference.
#[differentiate]
fn scaled_norm(xs: &[f64], k: f64) -> f64 {
    (sum_of_squares(xs) * k).sqrt()
}

#[differentiate]
fn square32(x: f32) -> f32 {
    x * x
}

#[differentiate]
fn uses_square32(x: f32, y: f32) -> f32 {
    square32(x * y) + y
}

#[test]
fn three_calls_deep() {
    for &(x, y) in &[(0.3, 1.2), (-0.7, 0.4), (1.1, -0.9)] {
        let (value, g) = three_deep::grad(x, y);
        assert_eq!(value, three_deep(x, y));
        let numeric = numerical_gradient(|v: &[f64]| three_deep(v[0], v[1]), &[x, y]);
        assert_relative_eq!(g.x, numeric[0], max_relative = 1e-6, epsilon = 1e-9);
        assert_relative_eq!(g.y, numeric[1], max_relative = 1e-6, epsilon = 1e-9);
        // ∂/∂x sin((xy)²) = cos((xy)²) · 2xy · y, exactly as the chain rule gives it.
        let u = x * y;
        assert_relative_eq!(g.x, (u * u).cos() * 2.0 * u * y, max_relative = 1e-12);
    }
}

#[test]
fn calls_in_a_loop_with_arrays() {
    for point in [[0.3, 0.5, -0.7, 0.2], [-0.4, 1.5, 0.25, -0.6]] {
        let f = |p: &[f64]| composed(p[0], [p[1], p[2]], p[3]);
        let (value, g) = composed::grad(point[0], [point[1], point[2]], point[3]);
        assert_eq!(value, f(&point));
        let numeric = numerical_gradient(f, &point);
        for (a, n) in [g.a, g.w[0], g.w[1], g.b].iter().zip(&numeric) {
            assert_relative_eq!(a, n, max_relative = 1e-6, epsilon = 1e-9);
        }
        // The same through forward and backward, with the callee caches in the cache.
        let (forward_value, cache) = composed::forward(point[0], [point[1], point[2]], point[3]);
        assert_eq!(forward_value, value);
        assert_eq!(composed::backward(&cache, 1.0), g);
    }
}

#[test]
fn calls_in_branches() {
    for &(x, y) in &[(1.5, 0.5), (0.25, 1.0), (-1.0, -0.5), (2.0, -3.0)] {
        let (value, g) = branchy::grad(x, y);
        assert_eq!(value, branchy(x, y));
        let numeric = numerical_gradient(|v: &[f64]| branchy(v[0], v[1]), &[x, y]);
        assert_relative_eq!(g.x, numeric[0], max_relative = 1e-6, epsilon = 1e-9);
        assert_relative_eq!(g.y, numeric[1], max_relative = 1e-6, epsilon = 1e-9);
    }
}

#[test]
fn calls_with_slices() {
    let xs = [0.5, -1.25, 2.0, 0.75];
    let (value, g) = scaled_norm::grad(&xs, 1.5);
    assert_eq!(value, scaled_norm(&xs, 1.5));
    let f = |p: &[f64]| scaled_norm(&p[..4], p[4]);
    let numeric = numerical_gradient(f, &[0.5, -1.25, 2.0, 0.75, 1.5]);
    for (a, n) in g.xs.iter().chain([&g.k]).zip(&numeric) {
        assert_relative_eq!(a, n, max_relative = 1e-6, epsilon = 1e-9);
    }
    // d/dx_i sqrt(k Σx²) = k x_i / value.
    assert_relative_eq!(g.xs[2], 1.5 * 2.0 / value, max_relative = 1e-12);
}

#[test]
fn calls_in_f32() {
    let (value, g) = uses_square32::grad(0.5, 1.5);
    assert_eq!(value, uses_square32(0.5, 1.5));
    // ∂/∂x (xy)² + y = 2xy², ∂/∂y = 2x²y + 1.
    assert_relative_eq!(g.x, 2.0 * 0.5 * 1.5 * 1.5, max_relative = 1e-6);
    assert_relative_eq!(g.y, 2.0 * 0.25 * 1.5 + 1.0, max_relative = 1e-6);
}

// Issue 11: helpers without an attribute of their own, in a `#[differentiate]` module.

/// Black–Scholes with a logistic approximation of the normal CDF: every function of the
/// module that returns a float is differentiated; the others stay as they are.
#[differentiate]
mod pricing {
    /// A helper: differentiated because the module is.
    fn norm_cdf(x: f64) -> f64 {
        1.0 / (1.0 + (-1.702 * x).exp())
    }

    /// Not a float: left alone.
    pub fn steps(n: usize) -> usize {
        n * 2
    }

    pub fn call_price(s: f64, k: f64, sigma: f64, t: f64) -> f64 {
        let d1 = ((s / k).ln() + 0.5 * sigma * sigma * t) / (sigma * t.sqrt());
        let d2 = d1 - sigma * t.sqrt();
        s * norm_cdf(d1) - k * norm_cdf(d2)
    }

    /// Its own attribute wins over the module's.
    #[differentiate(wrt(x))]
    pub fn scaled(x: f64, c: f64) -> f64 {
        x * c
    }

    pub mod nested {
        pub fn twice(x: f64) -> f64 {
            super::scaled(x, 2.0) + super::norm_cdf(x)
        }
    }
}

#[test]
fn helpers_in_a_differentiated_module() {
    let point = [100.0, 95.0, 0.2, 0.5];
    let (value, g) = pricing::call_price::grad(point[0], point[1], point[2], point[3]);
    assert_eq!(value, pricing::call_price(point[0], point[1], point[2], point[3]));
    let numeric = numerical_gradient(|p: &[f64]| pricing::call_price(p[0], p[1], p[2], p[3]), &point);
    assert_relative_eq!(&[g.s, g.k, g.sigma, g.t][..], &numeric[..], max_relative = 1e-6);
    // The delta of a call is between 0 and 1; vega is positive.
    assert!(g.s > 0.0 && g.s < 1.0 && g.sigma > 0.0);
    assert_eq!(pricing::scaled::grad(3.0, 4.0).1.x, 4.0);
    assert_eq!(pricing::steps(2), 4);
    let (value, g) = pricing::nested::twice::grad(0.3);
    let numeric = numerical_gradient(|p: &[f64]| pricing::nested::twice(p[0]), &[0.3]);
    assert_eq!(value, pricing::nested::twice(0.3));
    assert_relative_eq!(g.x, numeric[0], max_relative = 1e-6);
}

/// An ordinary function returning an integer, where an integer is expected (an index, an
/// integer `let`): called as it is.
fn wrap(i: usize, n: usize) -> usize {
    (i + 1) % n
}

#[differentiate]
fn ring(xs: &[f64]) -> f64 {
    let mut total = 0.0;
    for i in 0..xs.len() {
        total += xs[i] * xs[wrap(i, xs.len())];
        let k: usize = wrap(i + 1, xs.len());
        total += 0.5 * xs[k];
    }
    total
}

#[test]
fn integer_helpers() {
    let xs = [1.0, 2.0, 3.0, 4.0];
    let (value, grad) = ring::grad(&xs);
    assert_eq!(value, ring(&xs));
    assert_eq!(value, 1.0 * 2.0 + 2.0 * 3.0 + 3.0 * 4.0 + 4.0 * 1.0 + 0.5 * 10.0);
    let n = xs.len();
    let expected: Vec<f64> = (0..n)
        .map(|j| xs[(j + 1) % n] + xs[(j + n - 1) % n] + 0.5)
        .collect();
    assert_eq!(grad.xs, expected);
}
