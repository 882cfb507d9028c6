//! The lecture's activation functions, as ordinary functions.
//!
//! Inside `#[differentiate]` the macro recognizes them by name and uses its own rules
//! for their derivatives; outside they are plain functions. At a kink the derivative
//! takes the *left* piece (`x > 0` is false at 0): `relu'(0) = 0`,
//! `leaky_relu'(0) = slope`, `elu'(0) = alpha`. NaN inputs give NaN values.

use crate::Real;
use num_traits::{Float, One, Zero};

/// What the activation functions apply to: a float, or (with the `ndarray` feature) an
/// array of floats, element by element — `relu(x)` for `x: f64`, `relu(&z)` for
/// `z: Array2<f64>`.
pub trait Elementwise {
    /// The float type of the elements.
    type Elem: Real;
    /// What applying a function element by element gives: the float, or an owned array.
    type Output;
    /// `f` applied to every element.
    fn map_elements(self, f: impl Fn(Self::Elem) -> Self::Elem) -> Self::Output;
    /// `f` applied to every pair of elements of `self` and `other` (of one shape).
    fn zip_elements(self, other: Self, f: impl Fn(Self::Elem, Self::Elem) -> Self::Elem) -> Self::Output;
}

impl<T: Real> Elementwise for T {
    type Elem = T;
    type Output = T;

    #[inline]
    fn map_elements(self, f: impl Fn(T) -> T) -> T {
        f(self)
    }

    #[inline]
    fn zip_elements(self, other: T, f: impl Fn(T, T) -> T) -> T {
        f(self, other)
    }
}

/// The logistic sigmoid σ(x) = 1 / (1 + e^−x).
///
/// Computed exactly as written, so a sigmoid spelled out by hand,
/// `1.0 / (1.0 + (-x).exp())`, gives the same bits. Its derivative is σ(1 − σ),
/// computed from the forward value.
///
/// ```
/// assert_eq!(chainrule_core::sigmoid(1.0_f64), 0.7310585786300049);
/// ```
#[inline]
pub fn sigmoid<X: Elementwise>(x: X) -> X::Output {
    x.map_elements(|x| X::Elem::one() / (X::Elem::one() + (-x).exp()))
}

/// The hyperbolic tangent (the same as `x.tanh()`); its derivative is 1 − tanh².
#[inline]
pub fn tanh<X: Elementwise>(x: X) -> X::Output {
    x.map_elements(|x| x.tanh())
}

/// The rectified linear unit max(0, x). `relu(NaN)` is NaN; `relu'(0) = 0`.
#[inline]
pub fn relu<X: Elementwise>(x: X) -> X::Output {
    x.map_elements(|x| if x <= X::Elem::zero() { X::Elem::zero() } else { x })
}

/// Leaky ReLU: `x` for x > 0, `slope · x` otherwise; the lecture's is `leaky_relu(x, 0.1)`,
/// which equals max(0.1x, x). `leaky_relu'(0) = slope`.
#[inline]
pub fn leaky_relu<X: Elementwise>(x: X, slope: X::Elem) -> X::Output {
    x.map_elements(|x| if x > X::Elem::zero() { x } else { slope * x })
}

/// Maxout over two pre-activations, max(a, b), with the semantics of `f64::max`
/// (a NaN argument is ignored). The gradient goes whole to the returned argument; a tie
/// routes it to `a`. On arrays (of one shape), element by element.
#[inline]
pub fn maxout<X: Elementwise>(a: X, b: X) -> X::Output {
    a.zip_elements(b, |a, b| a.max(b))
}

/// The exponential linear unit: `x` for x > 0, `alpha · (e^x − 1)` otherwise
/// (computed with `exp_m1` for accuracy near 0). `elu'(0) = alpha`.
#[inline]
pub fn elu<X: Elementwise>(x: X, alpha: X::Elem) -> X::Output {
    x.map_elements(|x| {
        if x > X::Elem::zero() {
            x
        } else {
            alpha * x.exp_m1()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_matches_the_lecture_and_the_written_out_formula() {
        assert_eq!(sigmoid(1.0_f64), 0.7310585786300049);
        for &x in &[-800.0_f64, -3.5, -1e-9, 0.0, 0.25, 40.0, 800.0] {
            assert_eq!(sigmoid(x), 1.0 / (1.0 + (-x).exp()));
        }
        assert_eq!(sigmoid(0.0_f32), 0.5);
    }

    #[test]
    fn piecewise_functions_at_their_pieces_and_kinks() {
        assert_eq!(relu(-2.0_f64), 0.0);
        assert_eq!(relu(0.0_f64), 0.0);
        assert_eq!(relu(3.0_f64), 3.0);
        assert!(relu(f64::NAN).is_nan());
        assert_eq!(leaky_relu(-2.0_f64, 0.1), -0.2);
        assert_eq!(leaky_relu(2.0_f64, 0.1), 2.0);
        assert_eq!(leaky_relu(-2.0_f64, 0.1), f64::max(0.1 * -2.0, -2.0));
        assert!(leaky_relu(f64::NAN, 0.1).is_nan());
        assert_eq!(elu(2.0_f64, 1.0), 2.0);
        assert_eq!(elu(0.0_f64, 1.0), 0.0);
        assert_eq!(elu(-1.0_f64, 2.0), 2.0 * ((-1.0_f64).exp() - 1.0));
        assert_eq!(maxout(1.0_f64, 2.0), 2.0);
        assert_eq!(maxout(f64::NAN, 2.0), 2.0);
        assert_eq!(tanh(0.5_f64), 0.5_f64.tanh());
    }
}
