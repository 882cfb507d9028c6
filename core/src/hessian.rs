//! `f::hessian`'s result: the dense, symmetric matrix of second derivatives over the
//! parameters flattened in declaration order (each array row-major, a struct's fields in
//! order), and the flattening itself.

use core::ops::Index;

use crate::Real;

/// The Hessian of a function at a point: `h[(i, j)]` = ∂²f/∂θᵢ∂θⱼ over the parameters
/// flattened in declaration order (arrays row-major). Symmetric: computed row by row by
/// forward mode over the reverse pass, each pair of mirrored entries is their mean.
#[derive(Clone, Debug, PartialEq)]
pub struct Hessian<F> {
    size: usize,
    entries: Vec<F>,
}

impl<F: Real> Hessian<F> {
    /// A `size × size` matrix from its rows (each the Hessian times a unit vector), made
    /// exactly symmetric.
    pub fn from_rows(size: usize, mut entries: Vec<F>) -> Self {
        assert_eq!(
            entries.len(),
            size * size,
            "a Hessian of {size} parameters has {size}² entries"
        );
        let half = F::from_f64(0.5);
        for i in 0..size {
            for j in i + 1..size {
                let mean = (entries[i * size + j] + entries[j * size + i]) * half;
                entries[i * size + j] = mean;
                entries[j * size + i] = mean;
            }
        }
        Hessian { size, entries }
    }

    /// The number of parameters (the matrix is `size × size`).
    pub fn size(&self) -> usize {
        self.size
    }

    /// Row `i`: the gradient of ∂f/∂θᵢ.
    pub fn row(&self, i: usize) -> &[F] {
        &self.entries[i * self.size..(i + 1) * self.size]
    }

    /// The rows in order.
    pub fn rows(&self) -> impl Iterator<Item = &[F]> {
        self.entries.chunks(self.size.max(1)).take(self.size)
    }

    /// The entries, row-major.
    pub fn as_slice(&self) -> &[F] {
        &self.entries
    }

    /// The entries as nested rows.
    pub fn to_rows(&self) -> Vec<Vec<F>> {
        self.rows().map(<[F]>::to_vec).collect()
    }
}

impl<F> Index<(usize, usize)> for Hessian<F> {
    type Output = F;

    fn index(&self, (i, j): (usize, usize)) -> &F {
        assert!(
            i < self.size && j < self.size,
            "({i}, {j}) is outside a {0}×{0} Hessian",
            self.size
        );
        &self.entries[i * self.size + j]
    }
}

/// A parameter's value, or a vector-valued function's result, flattened into floats (a
/// gradient of its shape): how `hessian` and `jacobian` number the parameters and the
/// outputs, and make the unit vectors they multiply by. Implemented for floats, arrays and
/// `Vec`s of them, ndarray arrays, and tuples of up to 12 floats.
pub trait Flatten<F> {
    /// How many floats it holds.
    fn count(&self) -> usize;
    /// Appends its floats, in order.
    fn flatten(&self, out: &mut Vec<F>);
    /// Zeros of its shape, 1 at float `k` (none if `k` is past its end).
    fn unit(&self, k: usize) -> Self;
    /// A value of its shape with its floats taken from `floats`, in order (zero where
    /// `floats` runs out).
    fn read(&self, floats: &mut dyn Iterator<Item = F>) -> Self;
    /// [`read`](Flatten::read) from a slice, without a call per float: its floats are
    /// `floats[..count]` (zero past the slice's end).
    fn read_slice(&self, floats: &[F]) -> Self
    where
        F: Copy,
        Self: Sized,
    {
        self.read(&mut floats.iter().copied())
    }
}

impl<T: Real> Flatten<T> for T {
    fn count(&self) -> usize {
        1
    }
    fn flatten(&self, out: &mut Vec<T>) {
        out.push(*self);
    }
    fn unit(&self, k: usize) -> Self {
        T::from_f64(if k == 0 { 1.0 } else { 0.0 })
    }
    fn read(&self, floats: &mut dyn Iterator<Item = T>) -> Self {
        floats.next().unwrap_or_else(T::zero)
    }
    fn read_slice(&self, floats: &[T]) -> Self {
        floats.first().copied().unwrap_or_else(T::zero)
    }
}

macro_rules! tuples {
    ($($n:literal: ($($t:ident $k:tt),*);)*) => {$(
        impl<T: Real> Flatten<T> for ($($t,)*) {
            fn count(&self) -> usize {
                $n
            }
            fn flatten(&self, out: &mut Vec<T>) {
                $(out.push(self.$k);)*
            }
            fn unit(&self, k: usize) -> Self {
                ($(T::from_f64(if k == $k { 1.0 } else { 0.0 }),)*)
            }
            fn read(&self, floats: &mut dyn Iterator<Item = T>) -> Self {
                ($(<$t as Flatten<T>>::read(&self.$k, floats),)*)
            }
            fn read_slice(&self, floats: &[T]) -> Self {
                ($(floats.get($k).copied().unwrap_or_else(T::zero),)*)
            }
        }
    )*};
}

tuples! {
    2: (T 0, T 1);
    3: (T 0, T 1, T 2);
    4: (T 0, T 1, T 2, T 3);
    5: (T 0, T 1, T 2, T 3, T 4);
    6: (T 0, T 1, T 2, T 3, T 4, T 5);
    7: (T 0, T 1, T 2, T 3, T 4, T 5, T 6);
    8: (T 0, T 1, T 2, T 3, T 4, T 5, T 6, T 7);
    9: (T 0, T 1, T 2, T 3, T 4, T 5, T 6, T 7, T 8);
    10: (T 0, T 1, T 2, T 3, T 4, T 5, T 6, T 7, T 8, T 9);
    11: (T 0, T 1, T 2, T 3, T 4, T 5, T 6, T 7, T 8, T 9, T 10);
    12: (T 0, T 1, T 2, T 3, T 4, T 5, T 6, T 7, T 8, T 9, T 10, T 11);
}

fn unit_of<F, T: Flatten<F>>(items: &[T], mut k: usize, out: &mut dyn FnMut(T)) {
    for item in items {
        let count = item.count();
        out(item.unit(k));
        k = k.checked_sub(count).unwrap_or(usize::MAX);
    }
}

impl<F: Real, T: Flatten<F>, const N: usize> Flatten<F> for [T; N] {
    fn count(&self) -> usize {
        self.iter().map(Flatten::count).sum()
    }
    fn flatten(&self, out: &mut Vec<F>) {
        self.iter().for_each(|item| item.flatten(out));
    }
    fn unit(&self, k: usize) -> Self {
        let mut units = Vec::with_capacity(N);
        unit_of(self, k, &mut |u| units.push(u));
        match units.try_into() {
            Ok(array) => array,
            Err(_) => unreachable!("N units of N elements"),
        }
    }
    fn read(&self, floats: &mut dyn Iterator<Item = F>) -> Self {
        core::array::from_fn(|k| self[k].read(floats))
    }
    fn read_slice(&self, floats: &[F]) -> Self {
        let mut offset = 0;
        core::array::from_fn(|k| read_at(&self[k], floats, &mut offset))
    }
}

/// `item` read from `floats[offset..]`, the offset moved past it.
fn read_at<F: Copy, T: Flatten<F>>(item: &T, floats: &[F], offset: &mut usize) -> T {
    let value = item.read_slice(floats.get(*offset..).unwrap_or_default());
    *offset += item.count();
    value
}

impl<F: Real, T: Flatten<F>> Flatten<F> for Vec<T> {
    fn count(&self) -> usize {
        self.iter().map(Flatten::count).sum()
    }
    fn flatten(&self, out: &mut Vec<F>) {
        self.iter().for_each(|item| item.flatten(out));
    }
    fn unit(&self, k: usize) -> Self {
        let mut units = Vec::with_capacity(self.len());
        unit_of(self, k, &mut |u| units.push(u));
        units
    }
    fn read(&self, floats: &mut dyn Iterator<Item = F>) -> Self {
        self.iter().map(|item| item.read(floats)).collect()
    }
    fn read_slice(&self, floats: &[F]) -> Self {
        let mut offset = 0;
        self.iter()
            .map(|item| read_at(item, floats, &mut offset))
            .collect()
    }
}

#[cfg(feature = "ndarray")]
impl<F: Real, D: ndarray::Dimension> Flatten<F> for ndarray::Array<F, D> {
    fn count(&self) -> usize {
        self.len()
    }
    fn flatten(&self, out: &mut Vec<F>) {
        out.extend(self.iter().copied());
    }
    fn unit(&self, k: usize) -> Self {
        let mut unit = ndarray::Array::from_elem(self.raw_dim(), F::from_f64(0.0));
        if let Some(entry) = unit.iter_mut().nth(k) {
            *entry = F::from_f64(1.0);
        }
        unit
    }
    fn read(&self, floats: &mut dyn Iterator<Item = F>) -> Self {
        // Row-major, as `flatten` (whatever the memory layout).
        ndarray::Array::from_shape_fn(self.raw_dim(), |_| floats.next().unwrap_or_else(F::zero))
    }
}

/// `impl Flatten for Grad` of a generated module, from its fields in declaration order
/// (`plain` ones by their own `Flatten`, `record` ones, structs, by their `Differentiable`
/// flattening): what `#[differentiate]` writes in one line instead of the impl.
#[doc(hidden)]
#[macro_export]
macro_rules! __flatten_grad {
    (impl [$($impl:tt)*] for [$($ty:tt)*] where [$($bounds:tt)*] float $float:ty;
     fields [$($field:ident $kind:ident),*] marker [$($marker:tt)*]) => {
        impl $($impl)* $crate::Flatten<$float> for $($ty)* where $($bounds)* {
            fn count(&self) -> usize {
                0 $(+ $crate::__flatten_grad!(@count $kind $float, &self.$field))*
            }
            fn flatten(&self, out: &mut ::std::vec::Vec<$float>) {
                let _ = &out;
                $($crate::__flatten_grad!(@flatten $kind $float, &self.$field, out);)*
            }
            fn unit(&self, k: usize) -> Self {
                let mut offset = 0usize;
                let _ = (k, &mut offset);
                Self {
                    $($field: {
                        let unit = $crate::__flatten_grad!(@unit $kind $float, &self.$field, k.wrapping_sub(offset));
                        offset += $crate::__flatten_grad!(@count $kind $float, &self.$field);
                        unit
                    },)*
                    $($marker)*
                }
            }
            fn read(&self, floats: &mut dyn ::core::iter::Iterator<Item = $float>) -> Self {
                let _ = &floats;
                Self {
                    $($field: $crate::__flatten_grad!(@read $kind $float, &self.$field, &mut *floats),)*
                    $($marker)*
                }
            }
            fn read_slice(&self, floats: &[$float]) -> Self {
                let mut offset = 0usize;
                let _ = (floats, &mut offset);
                Self {
                    $($field: {
                        let rest = floats.get(offset..).unwrap_or_default();
                        offset += $crate::__flatten_grad!(@count $kind $float, &self.$field);
                        $crate::__flatten_grad!(@read_slice $kind $float, &self.$field, rest)
                    },)*
                    $($marker)*
                }
            }
        }
    };
    (@count plain $float:ty, $value:expr) => { $crate::Flatten::<$float>::count($value) };
    (@count record $float:ty, $value:expr) => { $crate::__private::struct_count($value) };
    (@flatten plain $float:ty, $value:expr, $out:expr) => { $crate::Flatten::<$float>::flatten($value, $out) };
    (@flatten record $float:ty, $value:expr, $out:expr) => { $crate::__private::struct_flatten($value, $out) };
    (@unit plain $float:ty, $value:expr, $k:expr) => { $crate::Flatten::<$float>::unit($value, $k) };
    (@unit record $float:ty, $value:expr, $k:expr) => { $crate::__private::struct_unit($value, $k) };
    (@read plain $float:ty, $value:expr, $floats:expr) => { $crate::Flatten::<$float>::read($value, $floats) };
    (@read record $float:ty, $value:expr, $floats:expr) => { $crate::__private::struct_read($value, $floats) };
    (@read_slice plain $float:ty, $value:expr, $floats:expr) => { $crate::Flatten::<$float>::read_slice($value, $floats) };
    (@read_slice record $float:ty, $value:expr, $floats:expr) => { $crate::__private::struct_read($value, &mut $floats.iter().copied()) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_flattening() {
        let x = [[1.0, 2.0], [3.0, 4.0]];
        assert_eq!(x.count(), 4);
        assert_eq!(x.unit(2), [[0.0, 0.0], [1.0, 0.0]]);
        assert_eq!(x.unit(7), [[0.0; 2]; 2]);
        let v = vec![5.0, 6.0, 7.0];
        assert_eq!(v.unit(1), vec![0.0, 1.0, 0.0]);
        let mut out = Vec::new();
        x.flatten(&mut out);
        v.flatten(&mut out);
        assert_eq!(out, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        // Read back in the same order; zeros where the floats run out.
        let mut floats = out.iter().copied();
        assert_eq!(x.read(&mut floats), x);
        assert_eq!(v.read(&mut floats), v);
        assert_eq!(v.read(&mut [8.0].into_iter()), vec![8.0, 0.0, 0.0]);
        let t = (1.5, 2.5, 3.5);
        assert_eq!(t.count(), 3);
        assert_eq!(t.unit(1), (0.0, 1.0, 0.0));
        assert_eq!(t.read(&mut [4.0, 5.0].into_iter()), (4.0, 5.0, 0.0));
    }

    #[cfg(feature = "ndarray")]
    #[test]
    fn arrays_read_row_major_whatever_their_layout() {
        let a = ndarray::array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let t = a.t().to_owned();
        let mut out = Vec::new();
        t.flatten(&mut out);
        assert_eq!(out, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        assert_eq!(t.read(&mut out.iter().copied()), t);
    }

    #[test]
    fn symmetric_by_the_mean() {
        let h = Hessian::from_rows(2, vec![1.0, 2.0, 4.0, 3.0]);
        assert_eq!(h[(0, 1)], 3.0);
        assert_eq!(h[(1, 0)], 3.0);
        assert_eq!(h.to_rows(), vec![vec![1.0, 3.0], vec![3.0, 3.0]]);
        assert_eq!(h.size(), 2);
    }
}
