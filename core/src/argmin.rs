//! argmin problems from `#[differentiate]` functions (feature `argmin`, with argmin 0.11 and
//! its nalgebra backend, `argmin-math`'s `nalgebra_v0_33`).
//!
//! With the feature on, a `#[differentiate]` function of one differentiated parameter
//! vector (`x: &[f64]`, `[f64; N]`, `&[f64; N]`, `Vec<f64>`, `&Vec<f64>`, `Array1<f64>`,
//! `&Array1<f64>`, or a single float), not generic, gets `f::Problem`: a struct with one
//! public field per parameter it does not differentiate (the data, borrowed as the
//! function borrows it), which implements argmin's traits over nalgebra's `DVector`:
//!
//! - a float-valued `f`: [`CostFunction`](::argmin::core::CostFunction) (`f` itself) and
//!   [`Gradient`](::argmin::core::Gradient) (`f::grad`), and with `hessian`
//!   [`Hessian`](::argmin::core::Hessian) (`f::hessian`, a symmetric `DMatrix`): Newton,
//!   trust region, L-BFGS, BFGS, conjugate gradient, line searches;
//! - a vector-valued `f` (residuals): [`Operator`](::argmin::core::Operator) (its residuals as a
//!   `DVector`) and [`Jacobian`](::argmin::core::Jacobian) (`f::jacobian` as an `M × N`
//!   `DMatrix`): Gauss–Newton.
//!
//! ```ignore
//! #[differentiate(hessian)]
//! fn rosenbrock(x: &[f64]) -> f64 { /* … */ }
//!
//! let solver = argmin::solver::newton::Newton::<f64>::new();
//! let result = argmin::core::Executor::new(rosenbrock::Problem, solver)
//!     .configure(|state| state.param(nalgebra::dvector![-1.2, 1.0]).max_iters(20))
//!     .run()?;
//! ```
//!
//! A parameter vector of the wrong length for a fixed-size array is an argmin error (the
//! solver stops with it), not a panic. `examples/newton.rs` solves Rosenbrock with Newton, a
//! trust region and L-BFGS, and compares them with the same solves by finite differences.

use crate::{Flatten, Real};
use nalgebra::{DMatrix, DVector, Scalar};

#[doc(hidden)]
pub use ::argmin::core as __core;

/// A function's parameter read from argmin's parameter vector.
#[doc(hidden)]
pub trait FromParam<F>: Sized {
    /// The parameter, or why the vector cannot be it.
    fn from_param(param: &DVector<F>) -> Result<Self, ::argmin::core::Error>;
}

impl<F: Real + Scalar> FromParam<F> for F {
    fn from_param(param: &DVector<F>) -> Result<Self, ::argmin::core::Error> {
        match param.as_slice() {
            [x] => Ok(*x),
            other => Err(wrong_length(1, other.len())),
        }
    }
}

impl<F: Real + Scalar, const N: usize> FromParam<F> for [F; N] {
    fn from_param(param: &DVector<F>) -> Result<Self, ::argmin::core::Error> {
        param
            .as_slice()
            .try_into()
            .map_err(|_| wrong_length(N, param.len()))
    }
}

impl<F: Real + Scalar> FromParam<F> for Vec<F> {
    fn from_param(param: &DVector<F>) -> Result<Self, ::argmin::core::Error> {
        Ok(param.as_slice().to_vec())
    }
}

#[cfg(feature = "ndarray")]
impl<F: Real + Scalar> FromParam<F> for ndarray::Array1<F> {
    fn from_param(param: &DVector<F>) -> Result<Self, ::argmin::core::Error> {
        Ok(ndarray::Array1::from(param.as_slice().to_vec()))
    }
}

fn wrong_length(expected: usize, found: usize) -> ::argmin::core::Error {
    ::argmin::core::Error::msg(format!(
        "the function takes {expected} parameter floats, and argmin's parameter vector has {found}"
    ))
}

/// The parameter `P` from argmin's vector.
#[doc(hidden)]
pub fn param<F, P: FromParam<F>>(param: &DVector<F>) -> Result<P, ::argmin::core::Error> {
    P::from_param(param)
}

/// A gradient field (or residuals) as argmin's vector.
#[doc(hidden)]
pub fn vector<F: Real + Scalar, G: Flatten<F>>(value: &G) -> DVector<F> {
    crate::matrix::vector(value)
}

/// A Jacobian's rows, each `row(grad)` the differentiated parameter's gradient, as argmin's
/// `M × N` matrix.
#[doc(hidden)]
pub fn jacobian<F: Real + Scalar, R, G: Flatten<F>>(rows: &[R], field: impl Fn(&R) -> &G) -> DMatrix<F> {
    let mut floats = Vec::new();
    let mut columns = 0;
    for row in rows {
        let field = field(row);
        columns = field.count();
        field.flatten(&mut floats);
    }
    DMatrix::from_row_slice(rows.len(), columns, &floats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_from_vectors() {
        let v = nalgebra::dvector![1.0, 2.0];
        assert_eq!(param::<f64, [f64; 2]>(&v).unwrap(), [1.0, 2.0]);
        assert_eq!(param::<f64, Vec<f64>>(&v).unwrap(), vec![1.0, 2.0]);
        let wrong = param::<f64, [f64; 3]>(&v).unwrap_err().to_string();
        assert_eq!(
            wrong,
            "the function takes 3 parameter floats, and argmin's parameter vector has 2"
        );
        assert!(param::<f64, f64>(&v).is_err());
        let rows = [([1.0, 2.0], 0.0), ([3.0, 4.0], 0.0)];
        assert_eq!(
            jacobian(&rows, |row| &row.0),
            nalgebra::dmatrix![1.0, 2.0; 3.0, 4.0]
        );
    }
}
