//! nalgebra matrices and vectors from chainrule's derivatives (feature `nalgebra`), for the
//! solvers that speak nalgebra (levenberg-marquardt, argmin's nalgebra backend, your own
//! linear algebra): a gradient as a column [`DVector`], a Jacobian's rows as an `M × N`
//! [`DMatrix`], a [`Hessian`] as an `N × N` one. Parameters are numbered as
//! [`Flatten`] numbers them: declaration order, arrays row-major, a struct's fields in their
//! order.
//!
//! ```
//! use chainrule_core::{matrix, Hessian};
//! use nalgebra::{dmatrix, dvector};
//!
//! // A Jacobian's rows (here arrays; `f::jacobian` gives one `Grad` per output).
//! assert_eq!(matrix::jacobian(&[[1.0, 2.0], [3.0, 4.0]]), dmatrix![1.0, 2.0; 3.0, 4.0]);
//! let hessian = Hessian::from_rows(2, vec![2.0, 1.0, 1.0, 0.0]);
//! assert_eq!(matrix::from_hessian(&hessian), dmatrix![2.0, 1.0; 1.0, 0.0]);
//! assert_eq!(matrix::vector(&[5.0, 6.0]), dvector![5.0, 6.0]);
//! ```
//!
//! The guide's chapter on derivatives shows them on generated functions.

use crate::{Flatten, Hessian, Real};
use nalgebra::{DMatrix, DVector, Scalar};

/// A gradient (or any [`Flatten`] value: a `Grad`, an array, a tuple) as a column vector.
pub fn vector<F: Real + Scalar, G: Flatten<F>>(gradient: &G) -> DVector<F> {
    let mut floats = Vec::with_capacity(gradient.count());
    gradient.flatten(&mut floats);
    DVector::from_vec(floats)
}

/// A Jacobian (`f::jacobian`'s one `Grad` per output, as an array or a `Vec`) as the
/// `M × N` matrix whose row `i` is output `i`'s gradient: `J[(i, j)]` = ∂fᵢ/∂θⱼ.
pub fn jacobian<F: Real + Scalar, G: Flatten<F>>(rows: &[G]) -> DMatrix<F> {
    let columns = rows.first().map_or(0, Flatten::count);
    let mut floats = Vec::with_capacity(rows.len() * columns);
    for row in rows {
        row.flatten(&mut floats);
        assert_eq!(
            floats.len() % columns.max(1),
            0,
            "a Jacobian's rows have one shape"
        );
    }
    DMatrix::from_row_slice(rows.len(), columns, &floats)
}

/// A Hessian as the symmetric `N × N` matrix of its entries.
pub fn from_hessian<F: Real + Scalar>(hessian: &Hessian<F>) -> DMatrix<F> {
    DMatrix::from_row_slice(hessian.size(), hessian.size(), hessian.as_slice())
}

impl<F: Real + Scalar> From<&Hessian<F>> for DMatrix<F> {
    fn from(hessian: &Hessian<F>) -> Self {
        from_hessian(hessian)
    }
}

impl<F: Real + Scalar> From<Hessian<F>> for DMatrix<F> {
    fn from(hessian: Hessian<F>) -> Self {
        from_hessian(&hessian)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_columns() {
        let rows = vec![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let j = jacobian(&rows);
        assert_eq!(j.shape(), (2, 3));
        assert_eq!(j[(1, 0)], 4.0);
        assert_eq!(j[(0, 2)], 3.0);
        let h = Hessian::from_rows(2, vec![1.0, 2.0, 2.0, 5.0]);
        let m: DMatrix<f64> = (&h).into();
        assert_eq!(m, nalgebra::dmatrix![1.0, 2.0; 2.0, 5.0]);
        assert_eq!(vector(&(1.0, 2.0, 3.0)), nalgebra::dvector![1.0, 2.0, 3.0]);
        let empty: Vec<[f64; 2]> = Vec::new();
        assert_eq!(jacobian(&empty).shape(), (0, 0));
    }
}
