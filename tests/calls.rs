//! Calls between differentiated functions: by name and by path, in loops.

use chainrule::{differentiate, sigmoid};

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
}

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

#[test]
fn calls() {
    let (v, g) = composed::grad(0.3, [0.5, -0.7], 0.2);
    let f = |p: &[f64]| composed(p[0], [p[1], p[2]], p[3]);
    let n = chainrule::numerical_gradient(f, &[0.3, 0.5, -0.7, 0.2]);
    assert_eq!(v, composed(0.3, [0.5, -0.7], 0.2));
    for (a, b) in [g.a, g.w[0], g.w[1], g.b].iter().zip(&n) {
        assert!((a - b).abs() < 1e-7, "{a} vs {b}");
    }
}
