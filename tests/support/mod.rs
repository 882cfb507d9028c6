//! The gradient checker shared by `control_flow.rs` and `networks.rs`.
//!
//! A differentiated function's parameters (floats, arrays of floats, nested arrays,
//! slices) are laid out one after another in a flat point `&[T]`; `check!` unpacks the
//! point into the parameters' shapes, calls the function, `forward`, `backward` and `grad`,
//! flattens `Grad` in the same order and compares it with central differences
//! (`chainrule::numerical_gradient`) of the original function.
//!
//! At every point it asserts:
//! - `f::forward(..).0` and `f::grad(..).0` are exactly `f(..)`;
//! - `f::backward(&cache, 1.0)` is exactly `f::grad(..).1`;
//! - `f::backward(&cache, 2.0)` is exactly twice it (the backward pass is linear in the
//!   upstream gradient, and doubling is exact in binary floating point);
//! - every gradient component is finite and agrees with central differences.

#![allow(dead_code)]

use approx::{assert_relative_eq, RelativeEq};
use chainrule::{check_gradient, Real};

/// How closely a gradient must agree with central differences, per float type.
pub trait Tolerance: Real + RelativeEq<Epsilon = Self> {
    /// Relative to the larger of the two values.
    const MAX_RELATIVE: Self;
    /// Absolute, for gradients at or near 0 (where relative error means nothing).
    const EPSILON: Self;
}

// Central differences err by about ε^(2/3) relative to the function's scale (4e-11 in
// f64, 2.4e-5 in f32), a little more after long loops.
impl Tolerance for f64 {
    const MAX_RELATIVE: f64 = 1e-6;
    const EPSILON: f64 = 1e-8;
}

impl Tolerance for f32 {
    const MAX_RELATIVE: f32 = 2e-3;
    const EPSILON: f32 = 1e-3;
}

/// A parameter's shape, read from the front of a flat point.
pub trait Take<T>: Sized {
    fn take(values: &mut dyn Iterator<Item = T>) -> Self;
}

impl Take<f64> for f64 {
    fn take(values: &mut dyn Iterator<Item = f64>) -> Self {
        values.next().expect("the point is too short for the parameters")
    }
}

impl Take<f32> for f32 {
    fn take(values: &mut dyn Iterator<Item = f32>) -> Self {
        values.next().expect("the point is too short for the parameters")
    }
}

impl<T, S: Take<T>, const N: usize> Take<T> for [S; N] {
    fn take(values: &mut dyn Iterator<Item = T>) -> Self {
        std::array::from_fn(|_| S::take(values))
    }
}

/// The next parameter, of the shape the function asks for.
pub fn take<T, S: Take<T>>(values: &mut dyn Iterator<Item = T>) -> S {
    S::take(values)
}

/// The next `len` values, as a vector (for slice and `&Vec` parameters).
pub fn take_vec<T>(values: &mut dyn Iterator<Item = T>, len: usize) -> Vec<T> {
    let taken: Vec<T> = values.take(len).collect();
    assert_eq!(taken.len(), len, "the point is too short for the parameters");
    taken
}

/// A gradient field, flattened in the order `Take` reads it.
pub trait Flatten<T> {
    fn flatten_into(&self, out: &mut Vec<T>);
}

impl Flatten<f64> for f64 {
    fn flatten_into(&self, out: &mut Vec<f64>) {
        out.push(*self);
    }
}

impl Flatten<f32> for f32 {
    fn flatten_into(&self, out: &mut Vec<f32>) {
        out.push(*self);
    }
}

impl<T, S: Flatten<T>, const N: usize> Flatten<T> for [S; N] {
    fn flatten_into(&self, out: &mut Vec<T>) {
        self.iter().for_each(|s| s.flatten_into(out));
    }
}

impl<T, S: Flatten<T>> Flatten<T> for Vec<S> {
    fn flatten_into(&self, out: &mut Vec<T>) {
        self.iter().for_each(|s| s.flatten_into(out));
    }
}

/// What `check!` evaluates at one point, beside the original function.
pub struct Evaluation<T> {
    /// `f::forward(..).0`
    pub forward: T,
    /// `f::grad(..).0`
    pub grad_value: T,
    /// `f::grad(..).1`, flattened
    pub grad: Vec<T>,
    /// `f::backward(&cache, 2.0)`, flattened
    pub backward_of_two: Vec<T>,
}

/// Checks a function at each point with the type's default tolerances; returns the
/// analytic gradients, one per point.
pub fn check_points<T: Tolerance, P: AsRef<[T]>>(
    name: &str,
    points: &[P],
    original: impl Fn(&[T]) -> T,
    evaluate: impl Fn(&[T]) -> Evaluation<T>,
) -> Vec<Vec<T>> {
    check_points_within(name, points, T::MAX_RELATIVE, T::EPSILON, original, evaluate)
}

/// Checks a function at each point with the given tolerances.
pub fn check_points_within<T: Tolerance, P: AsRef<[T]>>(
    name: &str,
    points: &[P],
    max_relative: T,
    epsilon: T,
    original: impl Fn(&[T]) -> T,
    evaluate: impl Fn(&[T]) -> Evaluation<T>,
) -> Vec<Vec<T>> {
    assert!(!points.is_empty(), "{name}: no points");
    points
        .iter()
        .map(|point| {
            let point = point.as_ref();
            let expected = original(point);
            let evaluation = evaluate(point);
            assert_eq!(
                evaluation.forward, expected,
                "{name}: forward's value at {point:?}"
            );
            assert_eq!(
                evaluation.grad_value, expected,
                "{name}: grad's value at {point:?}"
            );
            let analytic = evaluation.grad;
            assert_eq!(
                analytic.len(),
                point.len(),
                "{name}: the gradient has {} components, the point {}",
                analytic.len(),
                point.len()
            );
            let two = T::one() + T::one();
            let doubled: Vec<T> = analytic.iter().map(|&g| two * g).collect();
            assert_eq!(
                evaluation.backward_of_two, doubled,
                "{name}: backward(&cache, 2.0) at {point:?}"
            );
            assert!(
                analytic.iter().all(|g| g.is_finite()),
                "{name}: gradient {analytic:?} at {point:?}"
            );
            let numeric = chainrule::numerical_gradient(&original, point);
            eprintln!("{name} at {point:?}:\n  analytic {analytic:?}\n  numeric  {numeric:?}");
            assert_relative_eq!(
                analytic[..],
                numeric[..],
                max_relative = max_relative,
                epsilon = epsilon
            );
            let report = check_gradient(&original, point, &analytic);
            assert!(report.passes(max_relative.max(epsilon)), "{name}: {report:?}");
            analytic
        })
        .collect()
}

/// One argument of a call in `check!`: taken from the point (a float or an array, of the
/// parameter's type; `name: len` for a slice or `&Vec` of that length), or given
/// (`name = value`, for integers, bools, labels and parameters left out by `wrt`).
#[macro_export]
macro_rules! arg {
    ($values:ident, $p:ident) => {
        $crate::support::take(&mut $values)
    };
    ($values:ident, $p:ident : $len:tt) => {
        &$crate::support::take_vec(&mut $values, $len)
    };
    ($values:ident, $p:ident = $given:expr) => {
        $given
    };
}

/// Appends a gradient field for each parameter taken from the point.
#[macro_export]
macro_rules! flatten_field {
    ($grad:ident, $out:ident, $p:ident) => {
        $crate::support::Flatten::flatten_into(&$grad.$p, &mut $out)
    };
    ($grad:ident, $out:ident, $p:ident : $len:tt) => {
        $crate::support::Flatten::flatten_into(&$grad.$p, &mut $out)
    };
    ($grad:ident, $out:ident, $p:ident = $given:expr) => {};
}

/// `check!(f(x, w, xs: 3, n = 4) at [[…], …])` checks the function `f` and its module at
/// each point: `x` and `w` are read from the point in their declared types, `xs` is a
/// slice of 3 values from the point, `n` is given. `check!(… within (rel, eps))` sets the
/// tolerances. Returns the analytic gradients.
#[macro_export]
macro_rules! check {
    ($f:ident($($p:ident $(: $len:tt)? $(= $given:expr)?),* $(,)?) at $points:expr) => {
        $crate::check!(@within $f($($p $(: $len)? $(= $given)?),*) at $points,
            $crate::support::Tolerance::MAX_RELATIVE, $crate::support::Tolerance::EPSILON)
    };
    ($f:ident($($p:ident $(: $len:tt)? $(= $given:expr)?),* $(,)?) at $points:expr, within ($rel:expr, $eps:expr)) => {
        $crate::check!(@within $f($($p $(: $len)? $(= $given)?),*) at $points, $rel, $eps)
    };
    (@within $f:ident($($p:ident $(: $len:tt)? $(= $given:expr)?),*) at $points:expr, $rel:expr, $eps:expr) => {
        $crate::support::check_points_within(
            stringify!($f),
            &$points,
            $rel,
            $eps,
            |point: &[_]| {
                let mut values = point.iter().copied();
                let value = $f($($crate::arg!(values, $p $(: $len)? $(= $given)?)),*);
                assert!(values.next().is_none(), "the point is too long for the parameters");
                value
            },
            |point: &[_]| {
                let mut values = point.iter().copied();
                let (forward, cache) = $f::forward($($crate::arg!(values, $p $(: $len)? $(= $given)?)),*);
                let mut values = point.iter().copied();
                let (grad_value, grad) = $f::grad($($crate::arg!(values, $p $(: $len)? $(= $given)?)),*);
                assert_eq!($f::backward(&cache, 1.0), grad, "backward(&cache, 1.0) == grad(..).1");
                let doubled = $f::backward(&cache, 2.0);
                let mut flat = Vec::new();
                $($crate::flatten_field!(grad, flat, $p $(: $len)? $(= $given)?);)*
                let mut backward_of_two = Vec::new();
                $($crate::flatten_field!(doubled, backward_of_two, $p $(: $len)? $(= $given)?);)*
                $crate::support::Evaluation { forward, grad_value, grad: flat, backward_of_two }
            },
        )
    };
}

/// Deterministic pseudo-random values in [-1, 1) (xorshift64*), for points with many
/// coordinates.
pub struct Points(u64);

impl Points {
    pub fn new(seed: u64) -> Self {
        Points(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        // 53 random bits → [0, 1) → [-1, 1), rounded to 1/1024 so that points print short.
        ((bits as f64 / (1u64 << 53) as f64) * 2048.0).floor() / 1024.0 - 1.0
    }

    /// A point of `len` coordinates.
    pub fn point(&mut self, len: usize) -> Vec<f64> {
        (0..len).map(|_| self.next_f64()).collect()
    }
}
