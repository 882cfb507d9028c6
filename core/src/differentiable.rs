//! Values with a gradient of their own shape, and the arithmetic an optimizer step does on
//! them: chainrule's answer to JAX's pytrees.

use num_traits::Zero;

use crate::Real;

/// A value whose gradient has its own shape: a float, an array or `Vec` of them, an
/// ndarray array, or a struct with `#[derive(chainrule::Differentiable)]` whose fields are
/// these (and data: integers, bools, fields marked `#[chainrule(data)]`).
///
/// The derive implements it for a struct, and with it the operators an optimizer step
/// needs: `p - lr * g`, `g1 + g2`, `-g`, `g / n`, `+=`, `-=`, `*=` (on values and on
/// references). A gradient's data fields are zero (`Default`); in `a + b`, `a - b` and
/// `k * a` they are `a`'s.
///
/// [`Differentiable::write_flat`] and [`Differentiable::read_flat`] see the floats in
/// declaration order (fields in order, arrays row by row): the order a gradient check or a
/// Hessian flattens parameters in.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a differentiable value",
    label = "not a float, an array of floats, an ndarray array or a `#[derive(chainrule::Differentiable)]` struct",
    note = "a field of a `#[derive(chainrule::Differentiable)]` struct is one of those; mark any other field `#[chainrule(data)]` (it is then copied, and zero in a gradient)"
)]
pub trait Differentiable: Clone {
    /// The float type of its elements.
    type Scalar: Real;

    /// Zero, of the same shape (data fields `Default`).
    fn zero_like(&self) -> Self;

    /// Element by element `self + other` (data fields `self`'s). (The arithmetic has names
    /// of its own, so that importing the trait changes no other method call: `a.dot(&b)`
    /// of ndarray stays ndarray's.)
    fn plus(&self, other: &Self) -> Self;

    /// Element by element `self - other` (data fields `self`'s).
    fn minus(&self, other: &Self) -> Self;

    /// Every element times `by` (data fields `self`'s).
    fn times(&self, by: Self::Scalar) -> Self;

    /// The sum of the products of corresponding elements (`g.dot_product(&g)` is the squared norm).
    fn dot_product(&self, other: &Self) -> Self::Scalar;

    /// Appends the floats, in declaration order.
    fn write_flat(&self, out: &mut Vec<Self::Scalar>);

    /// A value of this shape with the floats taken from `floats`, in declaration order
    /// (data fields `self`'s). Missing floats are zero.
    fn read_flat(&self, floats: &mut dyn Iterator<Item = Self::Scalar>) -> Self;

    /// The floats, in declaration order.
    fn to_flat(&self) -> Vec<Self::Scalar> {
        let mut out = Vec::new();
        self.write_flat(&mut out);
        out
    }

    /// A value of this shape with these floats (see [`Differentiable::read_flat`]).
    fn with_flat(&self, floats: &[Self::Scalar]) -> Self {
        self.read_flat(&mut floats.iter().copied())
    }
}

macro_rules! float {
    ($($t:ty),*) => {$(
        impl Differentiable for $t {
            type Scalar = $t;

            #[inline]
            fn zero_like(&self) -> Self {
                0.0
            }

            #[inline]
            fn plus(&self, other: &Self) -> Self {
                self + other
            }

            #[inline]
            fn minus(&self, other: &Self) -> Self {
                self - other
            }

            #[inline]
            fn times(&self, by: $t) -> Self {
                self * by
            }

            #[inline]
            fn dot_product(&self, other: &Self) -> $t {
                self * other
            }

            fn write_flat(&self, out: &mut Vec<$t>) {
                out.push(*self);
            }

            fn read_flat(&self, floats: &mut dyn Iterator<Item = $t>) -> Self {
                floats.next().unwrap_or(0.0)
            }
        }
    )*};
}

float!(f32, f64);

impl<T: Differentiable, const N: usize> Differentiable for [T; N] {
    type Scalar = T::Scalar;

    fn zero_like(&self) -> Self {
        core::array::from_fn(|i| self[i].zero_like())
    }

    fn plus(&self, other: &Self) -> Self {
        core::array::from_fn(|i| self[i].plus(&other[i]))
    }

    fn minus(&self, other: &Self) -> Self {
        core::array::from_fn(|i| self[i].minus(&other[i]))
    }

    fn times(&self, by: T::Scalar) -> Self {
        core::array::from_fn(|i| self[i].times(by))
    }

    fn dot_product(&self, other: &Self) -> T::Scalar {
        self.iter()
            .zip(other)
            .fold(T::Scalar::zero(), |sum, (a, b)| sum + a.dot_product(b))
    }

    fn write_flat(&self, out: &mut Vec<T::Scalar>) {
        self.iter().for_each(|x| x.write_flat(out));
    }

    fn read_flat(&self, floats: &mut dyn Iterator<Item = T::Scalar>) -> Self {
        let mut read = self.iter().map(|x| x.read_flat(floats));
        core::array::from_fn(|_| read.next().expect("N elements"))
    }
}

/// Element by element; `a + b` and `a - b` of different lengths panic.
impl<T: Differentiable> Differentiable for Vec<T> {
    type Scalar = T::Scalar;

    fn zero_like(&self) -> Self {
        self.iter().map(T::zero_like).collect()
    }

    fn plus(&self, other: &Self) -> Self {
        assert_eq!(self.len(), other.len(), "gradients of different lengths");
        self.iter().zip(other).map(|(a, b)| a.plus(b)).collect()
    }

    fn minus(&self, other: &Self) -> Self {
        assert_eq!(self.len(), other.len(), "gradients of different lengths");
        self.iter().zip(other).map(|(a, b)| a.minus(b)).collect()
    }

    fn times(&self, by: T::Scalar) -> Self {
        self.iter().map(|x| x.times(by)).collect()
    }

    fn dot_product(&self, other: &Self) -> T::Scalar {
        self.iter()
            .zip(other)
            .fold(T::Scalar::zero(), |sum, (a, b)| sum + a.dot_product(b))
    }

    fn write_flat(&self, out: &mut Vec<T::Scalar>) {
        self.iter().for_each(|x| x.write_flat(out));
    }

    fn read_flat(&self, floats: &mut dyn Iterator<Item = T::Scalar>) -> Self {
        self.iter().map(|x| x.read_flat(floats)).collect()
    }
}

/// Element by element (in logical order, whatever the memory layout); arrays of different
/// shapes panic.
#[cfg(feature = "ndarray")]
impl<A: Real, D: ndarray::Dimension> Differentiable for ndarray::Array<A, D> {
    type Scalar = A;

    fn zero_like(&self) -> Self {
        Self::zeros(self.raw_dim())
    }

    fn plus(&self, other: &Self) -> Self {
        assert_eq!(self.shape(), other.shape(), "gradients of different shapes");
        self + other
    }

    fn minus(&self, other: &Self) -> Self {
        assert_eq!(self.shape(), other.shape(), "gradients of different shapes");
        self - other
    }

    fn times(&self, by: A) -> Self {
        self.mapv(|x| x * by)
    }

    fn dot_product(&self, other: &Self) -> A {
        self.iter()
            .zip(other)
            .fold(A::zero(), |sum, (&a, &b)| sum + a * b)
    }

    fn write_flat(&self, out: &mut Vec<A>) {
        out.extend(self.iter().copied());
    }

    fn read_flat(&self, floats: &mut dyn Iterator<Item = A>) -> Self {
        self.mapv(|_| floats.next().unwrap_or_else(A::zero))
    }
}
