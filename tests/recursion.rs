//! Recursion: a function calling itself, directly or through others (with attributes of
//! their own or in one `#[differentiate] mod`). The backward pass recurses as the forward
//! pass did, each call's cache held (boxed) in its caller's. Tested against central
//! differences and, for the determinant by cofactor expansion, against the cofactors
//! computed independently (∂det A/∂aᵢⱼ = det A · (A⁻¹)ⱼᵢ, by Gauss–Jordan elimination).

#![allow(clippy::needless_range_loop, clippy::vec_init_then_push)]

use approx::assert_relative_eq;
use chainrule::{differentiate, numerical_gradient, Real};

fn assert_close(analytic: &[f64], numerical: &[f64]) {
    assert_eq!(analytic.len(), numerical.len());
    for (a, n) in analytic.iter().zip(numerical) {
        assert_relative_eq!(a, n, max_relative = 1e-6, epsilon = 1e-8);
    }
}

/// `x^k` by `k` calls, the base case in the branch not taken until the last.
#[differentiate]
fn power<T: Real>(x: T, k: u32) -> T {
    if k == 0 {
        T::one()
    } else {
        x * power(x, k - 1)
    }
}

/// The determinant of the `n × n` matrix `a` (row-major) by cofactor expansion along the
/// first row, as GradBench's `det` eval states it: each minor built by `push`, its
/// determinant by a call of `det` itself.
#[differentiate]
fn det(a: &[f64], n: usize) -> f64 {
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

/// The same in a generic float, the matrix as rows (`&[Vec<T>]`), the minors as rows too.
#[differentiate]
fn det_rows<T: Real>(a: &[Vec<T>]) -> T {
    let n = a.len();
    match n {
        1 => a[0][0],
        2 => a[0][0] * a[1][1] - a[0][1] * a[1][0],
        _ => {
            let mut total = T::zero();
            let mut sign = T::one();
            for j in 0..n {
                let mut minor: Vec<Vec<T>> = Vec::new();
                for r in 1..n {
                    let mut row = Vec::new();
                    for c in 0..n {
                        if c != j {
                            row.push(a[r][c]);
                        }
                    }
                    minor.push(row);
                }
                total += sign * a[0][j] * det_rows(&minor);
                sign = -sign;
            }
            total
        }
    }
}

/// The inverse by Gauss–Jordan elimination with partial pivoting, and the determinant.
fn inverse(a: &[f64], n: usize) -> (Vec<f64>, f64) {
    let mut m = a.to_vec();
    let mut inv: Vec<f64> = (0..n * n)
        .map(|k| if k / n == k % n { 1.0 } else { 0.0 })
        .collect();
    let mut det = 1.0;
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&p, &q| m[p * n + col].abs().total_cmp(&m[q * n + col].abs()))
            .unwrap();
        if pivot != col {
            for c in 0..n {
                m.swap(pivot * n + c, col * n + c);
                inv.swap(pivot * n + c, col * n + c);
            }
            det = -det;
        }
        let p = m[col * n + col];
        det *= p;
        for c in 0..n {
            m[col * n + c] /= p;
            inv[col * n + c] /= p;
        }
        for r in (0..n).filter(|&r| r != col) {
            let factor = m[r * n + col];
            for c in 0..n {
                m[r * n + c] -= factor * m[col * n + c];
                inv[r * n + c] -= factor * inv[col * n + c];
            }
        }
    }
    (inv, det)
}

fn matrix(n: usize, seed: u64) -> Vec<f64> {
    let mut state = seed;
    (0..n * n)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) * 4.0 - 2.0
        })
        .collect()
}

#[test]
fn power_by_recursion() {
    let (value, grad) = power::grad(1.5_f64, 4);
    assert_eq!(value, 1.5f64.powi(4));
    assert_relative_eq!(grad.x, 4.0 * 1.5f64.powi(3), max_relative = 1e-15);
    // The base case alone: the cache of the call not made stays empty.
    assert_eq!(power::grad(1.5_f64, 0), (1.0, power::Grad { x: 0.0 }));
    let (value, grad) = power::grad(0.9_f32, 7);
    assert_relative_eq!(value, 0.9f32.powi(7), max_relative = 1e-6);
    assert_relative_eq!(grad.x, 7.0 * 0.9f32.powi(6), max_relative = 1e-5);
    // `forward` and `backward` apart: the cache holds the callee's, which holds its callee's.
    let (value, cache) = power::forward(1.1_f64, 5);
    assert_eq!(value, power(1.1_f64, 5));
    assert_relative_eq!(
        power::backward(&cache, 2.0).x,
        10.0 * 1.1f64.powi(4),
        max_relative = 1e-14
    );
}

#[test]
fn determinant_by_cofactors() {
    for n in 1..=5 {
        for seed in 0..3 {
            let a = matrix(n, 17 * seed + n as u64);
            let (value, grad) = det::grad(&a, n);
            let (inv, expected) = inverse(&a, n);
            assert_relative_eq!(value, expected, max_relative = 1e-10, epsilon = 1e-12);
            assert_eq!(value, det(&a, n));
            // The cofactors: det A · (A⁻¹)ᵀ.
            let cofactors: Vec<f64> = (0..n * n).map(|k| expected * inv[(k % n) * n + k / n]).collect();
            for (g, c) in grad.a.iter().zip(&cofactors) {
                assert_relative_eq!(g, c, max_relative = 1e-9, epsilon = 1e-10);
            }
            assert_close(&grad.a, &numerical_gradient(|a: &[f64]| det(a, n), &a));
        }
    }
}

#[test]
fn determinant_of_rows_in_a_generic_float() {
    let flat = matrix(4, 5);
    let rows: Vec<Vec<f64>> = flat.chunks(4).map(|r| r.to_vec()).collect();
    let (value, grad) = det_rows::grad(&rows);
    let (reference, expected) = det::grad(&flat, 4);
    assert_relative_eq!(value, reference, max_relative = 1e-12);
    let grad: Vec<f64> = grad.a.concat();
    for (g, r) in grad.iter().zip(&expected.a) {
        assert_relative_eq!(g, r, max_relative = 1e-9, epsilon = 1e-12);
    }
    let rows32: Vec<Vec<f32>> = rows
        .iter()
        .map(|r| r.iter().map(|&x| x as f32).collect())
        .collect();
    let (value32, grad32) = det_rows::grad(&rows32);
    assert_relative_eq!(value32 as f64, value, max_relative = 1e-4);
    for (g, r) in grad32.a.concat().iter().zip(&expected.a) {
        assert_relative_eq!(*g as f64, r, max_relative = 1e-3, epsilon = 1e-4);
    }
}

// Mutual recursion, each function with its own attribute: neither macro sees the cycle, and
// none needs to (a function that calls others has its cache boxed in its callers').
#[differentiate]
fn even(x: f64, n: usize) -> f64 {
    if n == 0 {
        1.0
    } else {
        x * odd(x, n - 1)
    }
}

#[differentiate]
fn odd(x: f64, n: usize) -> f64 {
    if n == 0 {
        x
    } else {
        (x + even(x, n - 1)).sin()
    }
}

#[differentiate]
mod alternating {
    /// x, then sin and times-x alternately, `n` times; `down` calls `up` in a loop.
    pub fn up(x: f64, n: u32) -> f64 {
        if n == 0 {
            x
        } else {
            down(x, n - 1).sin()
        }
    }

    pub fn down(x: f64, n: u32) -> f64 {
        match n {
            0 => x,
            _ => {
                let mut total = 0.0;
                for k in 0..2 {
                    total += (k as f64 + x) * up(x, n - 1);
                }
                total
            }
        }
    }
}

#[test]
fn mutual_recursion() {
    for n in 0..6 {
        let x = 0.7;
        let (value, grad) = even::grad(x, n);
        assert_eq!(value, even(x, n));
        assert_close(&[grad.x], &numerical_gradient(|p: &[f64]| even(p[0], n), &[x]));
        let (value, grad) = alternating::up::grad(x, n as u32);
        assert_eq!(value, alternating::up(x, n as u32));
        assert_close(
            &[grad.x],
            &numerical_gradient(|p: &[f64]| alternating::up(p[0], n as u32), &[x]),
        );
    }
}

#[differentiate]
mod nested_rows {
    /// As the corpus's entry: `down` pushes rows into a minor and calls `up` on it.
    pub fn up<T: chainrule::Real>(x: T, rows: &[Vec<T>], n: u32) -> T {
        if n == 0 {
            x
        } else {
            down(x, rows, n - 1).sin()
        }
    }

    pub fn down<T: chainrule::Real>(x: T, rows: &[Vec<T>], n: u32) -> T {
        match n {
            0 => x * rows[0][0],
            _ => {
                let mut total = T::zero();
                for row in rows {
                    let mut minor = Vec::new();
                    minor.push(row.clone());
                    total += row[0] * up(x, &minor, n - 1);
                }
                total
            }
        }
    }
}

#[test]
fn mutual_recursion_over_rows() {
    let rows = vec![vec![0.3, -1.2], vec![0.8, 0.5], vec![-0.4, 1.1]];
    for n in 0..5 {
        let (value, grad) = nested_rows::up::grad(0.6, &rows, n);
        assert_eq!(value, nested_rows::up(0.6, &rows, n));
        let mut flat = vec![0.6];
        flat.extend(rows.concat());
        let f = |p: &[f64]| {
            let rows: Vec<Vec<f64>> = p[1..].chunks(2).map(|r| r.to_vec()).collect();
            nested_rows::up(p[0], &rows, n)
        };
        let mut analytic = vec![grad.x];
        analytic.extend(grad.rows.concat());
        assert_close(&analytic, &numerical_gradient(f, &flat));
    }
}
