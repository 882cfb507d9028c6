//! `det`: the determinant of an ℓ × ℓ matrix by expansion by minors (evals/det/README.md,
//! cmpad's `det_by_minor`), `A` row-major; the gradient is with respect to every entry.
//!
//! Written recursively, as the README states it: the expansion along the first row, each
//! minor a fresh `Vec` built by `push`, its determinant by a call of `det` itself (chainrule
//! differentiates the recursion; GradBench's C++ instead removes rows and columns through
//! linked index lists, mutated in place, which a differentiated function cannot take).
//! `det_indexed` is the same recursion with each minor copied by index instead: chainrule's
//! `push` under an `if` copies the vector at each push (and its backward pass allocates a
//! matrix-sized adjoint per element), so the two differ in speed, not in value.
//!
//! chainrule keeps a boxed `Cache` per call (with a copy of its minor): its gradient's peak
//! memory is 330 MB (`det`) and 140 MB (`det_indexed`) at ℓ = 9, ten times that at ℓ = 10
//! (10⁷ calls), and at ℓ = 11 (10⁸ calls) some 15–35 GB, more than the machine has; so the
//! tests and benchmarks take chainrule's gradient to ℓ = 10, the hand-written one to 11.

use chainrule::differentiate;

/// The determinant of the `n × n` matrix `a` (row-major), by cofactor expansion along the
/// first row.
#[differentiate]
pub fn det(a: &[f64], n: usize) -> f64 {
    if n == 1 {
        return a[0];
    }
    let mut total = 0.0;
    for j in 0..n {
        let mut minor = Vec::with_capacity((n - 1) * (n - 1));
        for r in 1..n {
            for c in 0..n {
                if c != j {
                    minor.push(a[r * n + c]);
                }
            }
        }
        let sign = if j % 2 == 0 { 1.0 } else { -1.0 };
        total += sign * a[j] * det(&minor, n - 1);
    }
    total
}

/// The same expansion with each minor copied by index into a `vec!`, without `push`: the
/// columns left of `j`, then those right of it, one place over.
#[differentiate]
pub fn det_indexed(a: &[f64], n: usize) -> f64 {
    if n == 1 {
        return a[0];
    }
    let m = n - 1;
    let mut total = 0.0;
    for j in 0..n {
        let mut minor = vec![0.0; m * m];
        for r in 0..m {
            for c in 0..j {
                minor[r * m + c] = a[(r + 1) * n + c];
            }
            for c in j..m {
                minor[r * m + c] = a[(r + 1) * n + c + 1];
            }
        }
        let sign = if j % 2 == 0 { 1.0 } else { -1.0 };
        total += sign * a[j] * det_indexed(&minor, m);
    }
    total
}

/// The largest ℓ the hand-written recursion's stack buffers hold.
const MAX_ELL: usize = 16;

/// The determinant of the minor of `a` (`n × n`) made of its last `cols.len()` rows and the
/// columns `cols`, and its gradient times `upstream` added into `grad`: reverse mode by hand,
/// in the same recursion. det M = Σⱼ ±M₀ⱼ det Sⱼ, so ∂/∂M₀ⱼ = ±det Sⱼ (the value the call on
/// Sⱼ returns) and Sⱼ's upstream is ±M₀ⱼ · upstream. No allocation: the sub-minor's columns
/// go to a buffer on the stack.
fn det_with_adjoint(a: &[f64], n: usize, cols: &[usize], upstream: f64, grad: &mut [f64]) -> f64 {
    let m = cols.len();
    let row = n - m;
    if m == 1 {
        grad[row * n + cols[0]] += upstream;
        return a[row * n + cols[0]];
    }
    let mut sub = [0usize; MAX_ELL];
    let mut total = 0.0;
    for j in 0..m {
        let mut k = 0;
        for (i, &c) in cols.iter().enumerate() {
            if i != j {
                sub[k] = c;
                k += 1;
            }
        }
        let sign = if j % 2 == 0 { 1.0 } else { -1.0 };
        let entry = row * n + cols[j];
        let signed = sign * a[entry];
        let minor = det_with_adjoint(a, n, &sub[..m - 1], signed * upstream, grad);
        grad[entry] += sign * minor * upstream;
        total += signed * minor;
    }
    total
}

/// The value and the gradient by hand: one recursion computing each minor's determinant and
/// sending its adjoint down (about the primal's cost, without its copies).
pub fn gradient_by_hand(a: &[f64], ell: usize) -> (f64, Vec<f64>) {
    assert!(ell <= MAX_ELL, "ℓ = {ell} is over {MAX_ELL}");
    let cols: Vec<usize> = (0..ell).collect();
    let mut grad = vec![0.0; ell * ell];
    let value = det_with_adjoint(a, ell, &cols, 1.0, &mut grad);
    (value, grad)
}

/// The determinant of the minor of rows `row..n` and columns `cols` (the primal of
/// `det_with_adjoint`, without the adjoint).
fn det_of_minor(a: &[f64], n: usize, cols: &[usize]) -> f64 {
    let m = cols.len();
    let row = n - m;
    if m == 1 {
        return a[row * n + cols[0]];
    }
    let mut sub = [0usize; MAX_ELL];
    let mut total = 0.0;
    for j in 0..m {
        let mut k = 0;
        for (i, &c) in cols.iter().enumerate() {
            if i != j {
                sub[k] = c;
                k += 1;
            }
        }
        let sign = if j % 2 == 0 { 1.0 } else { -1.0 };
        total += sign * a[row * n + cols[j]] * det_of_minor(a, n, &sub[..m - 1]);
    }
    total
}

/// The gradient as GradBench's hand-written C++ (`tools/manual/det.cpp`) computes it: entry
/// (i, j) is the cofactor (−1)^(i+j) det A₍ᵢⱼ₎, each by its own expansion (ℓ² determinants of
/// order ℓ − 1: about ℓ times the primal's work). An independent check of the two above.
pub fn gradient_by_cofactors(a: &[f64], ell: usize) -> Vec<f64> {
    assert!(ell <= MAX_ELL, "ℓ = {ell} is over {MAX_ELL}");
    if ell == 1 {
        return vec![1.0];
    }
    let m = ell - 1;
    let mut grad = vec![0.0; ell * ell];
    for i in 0..ell {
        // The minor without row i, copied so that its rows are the last ℓ − 1 of a square.
        let mut rows = Vec::with_capacity(m * ell);
        for r in (0..ell).filter(|&r| r != i) {
            rows.extend_from_slice(&a[r * ell..(r + 1) * ell]);
        }
        // As an m × ell block read through `det_of_minor` on an (ell × ell) layout: put it
        // under one dummy row.
        let mut padded = vec![0.0; ell];
        padded.extend_from_slice(&rows);
        for j in 0..ell {
            let cols: Vec<usize> = (0..ell).filter(|&c| c != j).collect();
            let sign = if (i + j) % 2 == 0 { 1.0 } else { -1.0 };
            grad[i * ell + j] = sign * det_of_minor(&padded, ell, &cols);
        }
    }
    grad
}

/// The primal by hand: the same expansion, without copies (for reference beside `det`).
pub fn det_by_hand(a: &[f64], ell: usize) -> f64 {
    assert!(ell <= MAX_ELL, "ℓ = {ell} is over {MAX_ELL}");
    let cols: Vec<usize> = (0..ell).collect();
    det_of_minor(a, ell, &cols)
}

/// GradBench's sizes (evals/det: `-l` 5 … 11).
pub const SIZES: &[usize] = &[5, 6, 7, 8, 9, 10, 11];

/// The matrix of order `ell`, row-major: uniform in [0, 1).
pub fn input(ell: usize) -> Vec<f64> {
    crate::Uniform::new(31337 + ell as u64).vector(ell * ell)
}
