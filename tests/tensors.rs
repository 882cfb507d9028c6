//! Array operations (the `ndarray` feature) against central differences.
#![cfg(feature = "ndarray")]

use chainrule::differentiate;
use chainrule::ndarray::{array, Array1, Array2, Axis};

#[differentiate]
fn affine_relu(w: &Array2<f64>, x: &Array2<f64>, b: &Array1<f64>) -> f64 {
    let h = x.dot(w) + b;
    chainrule::relu(&h).sum()
}

#[test]
fn smoke() {
    let w = array![[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]];
    let x = array![[1.0, 2.0, 3.0], [-1.0, 0.5, 0.25]];
    let b = array![0.1, -0.1];
    let (v, g) = affine_relu::grad(&w, &x, &b);
    assert_eq!(v, affine_relu(&w, &x, &b));
    assert_eq!(g.w.shape(), w.shape());
    assert_eq!(g.b.shape(), b.shape());
    let _ = Axis(0);
}
