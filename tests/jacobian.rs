//! Vector-valued functions: `-> [f64; M]`, `-> (f64, f64)`, `-> Vec<f64>`, `-> Array1<f64>`.
//! `forward` returns the vector, `backward(&cache, upstream)` takes an upstream of its shape
//! (a vector–Jacobian product), `jvp` returns its tangent (a Jacobian–vector product), and
//! `jacobian` one `Grad` per output. Checked against the analytic Jacobian, against central
//! differences, against num-dual's dual numbers (an independent forward mode), and the three
//! ways against each other: row i of `jacobian` is `backward` with the unit upstream eᵢ, column
//! j is `jvp` along the unit tangent eⱼ.

#![allow(clippy::needless_range_loop)]

use approx::assert_relative_eq;
use chainrule::{differentiate, Differentiable, Real};
use num_dual::{Dual64, DualNum};

#[differentiate]
fn polar(r: f64, theta: f64) -> [f64; 2] {
    [r * theta.cos(), r * theta.sin()]
}

/// The polar map's Jacobian is [[cos θ, −r sin θ], [sin θ, r cos θ]]: to the last bit, the
/// same from each of the three ways.
#[test]
fn the_polar_map() {
    let (r, theta) = (2.0, 0.5_f64);
    let (value, jac) = polar::jacobian(r, theta);
    assert_eq!(value, [r * theta.cos(), r * theta.sin()]);
    assert_eq!(value, polar(r, theta));
    assert_eq!(jac[0].r, theta.cos());
    assert_eq!(jac[0].theta, -(r * theta.sin()));
    assert_eq!(jac[1].r, theta.sin());
    assert_eq!(jac[1].theta, r * theta.cos());
    // A vector–Jacobian product: uᵀJ.
    let (_, cache) = polar::forward(r, theta);
    let vjp = polar::backward(&cache, [3.0, -1.0]);
    assert_relative_eq!(vjp.r, 3.0 * jac[0].r - jac[1].r, max_relative = 1e-15);
    assert_relative_eq!(vjp.theta, 3.0 * jac[0].theta - jac[1].theta, max_relative = 1e-15);
    // A Jacobian–vector product: J v.
    let (v, jv) = polar::jvp(r, theta, polar::Tangent { r: 0.5, theta: 2.0 });
    assert_eq!(v, value);
    for i in 0..2 {
        assert_relative_eq!(jv[i], 0.5 * jac[i].r + 2.0 * jac[i].theta, max_relative = 1e-15);
    }
}

/// A tuple, with an early return in a branch; the gradient flows only where each output reads.
#[differentiate]
fn pair(x: f64, w: [f64; 3]) -> (f64, f64) {
    if x > 0.0 {
        return (x * w[0], w[1] * w[2]);
    }
    let e = x.exp();
    (e, w[0] + w[1] * e)
}

#[test]
fn a_tuple_with_an_early_return() {
    let w = [1.0, 2.0, 3.0];
    let (value, jac) = pair::jacobian(1.5, w);
    assert_eq!(value, (1.5, 6.0));
    assert_eq!(value, pair(1.5, w));
    assert_eq!((jac[0].x, jac[0].w), (1.0, [1.5, 0.0, 0.0]));
    assert_eq!((jac[1].x, jac[1].w), (0.0, [0.0, 3.0, 2.0]));
    let (value, jac) = pair::jacobian(-0.5, w);
    let e = (-0.5f64).exp();
    assert_eq!(value, (e, 1.0 + 2.0 * e));
    assert_eq!((jac[0].x, jac[0].w), (e, [0.0; 3]));
    assert_eq!((jac[1].x, jac[1].w), (2.0 * e, [1.0, e, 0.0]));
    // The upstream is a tuple too.
    let (_, cache) = pair::forward(-0.5, w);
    let vjp = pair::backward(&cache, (1.0, 10.0));
    assert_relative_eq!(vjp.x, e + 20.0 * e, max_relative = 1e-15);
    assert_eq!(vjp.w, [10.0, 10.0 * e, 0.0]);
    let (_, tangent) = pair::jvp(
        -0.5,
        w,
        pair::Tangent {
            x: 1.0,
            w: [0.0, 1.0, 0.0],
        },
    );
    assert_relative_eq!(tangent.0, e, max_relative = 1e-15);
    assert_relative_eq!(tangent.1, 2.0 * e + e, max_relative = 1e-15);
}

/// Least squares residuals of run-time count: ten outputs, three parameters, so `jacobian` goes
/// by forward passes (one per parameter).
#[differentiate(wrt(p))]
fn residuals(p: [f64; 3], xs: &[f64], ys: &[f64]) -> Vec<f64> {
    xs.iter()
        .zip(ys)
        .map(|(x, y)| p[0] * (p[1] * x).exp() + p[2] - y)
        .collect()
}

/// The same residuals, with every parameter differentiated: 23 parameter floats for ten
/// outputs, so `jacobian` goes by reverse passes.
#[differentiate]
fn all_residuals(p: [f64; 3], xs: &[f64], ys: &[f64]) -> Vec<f64> {
    let mut out = Vec::new();
    for i in 0..xs.len() {
        out.push(p[0] * (p[1] * xs[i]).exp() + p[2] - ys[i]);
    }
    out
}

fn data() -> (Vec<f64>, Vec<f64>) {
    let xs: Vec<f64> = (0..10).map(|i| i as f64 * 0.3).collect();
    let ys = xs
        .iter()
        .map(|x| 2.0 * (0.5 * x).exp() + 1.0 + (7.0 * x).sin() * 0.1)
        .collect();
    (xs, ys)
}

#[test]
fn residuals_by_forward_and_by_reverse_passes() {
    let (xs, ys) = data();
    let p = [1.2, 0.3, 0.5];
    let (value, jac) = residuals::jacobian(p, &xs, &ys);
    let (all_value, all_jac) = all_residuals::jacobian(p, &xs, &ys);
    assert_eq!(value, residuals(p, &xs, &ys));
    assert_eq!(value, all_value);
    assert_eq!((jac.len(), all_jac.len()), (10, 10));
    for i in 0..10 {
        let e = (p[1] * xs[i]).exp();
        let exact = [e, p[0] * xs[i] * e, 1.0];
        for j in 0..3 {
            assert_relative_eq!(jac[i].p[j], exact[j], max_relative = 1e-14);
            assert_relative_eq!(all_jac[i].p[j], exact[j], max_relative = 1e-14);
        }
        // ∂rᵢ/∂xₖ and ∂rᵢ/∂yₖ: only k = i.
        for k in 0..10 {
            let (dx, dy) = if k == i {
                (p[0] * p[1] * e, -1.0)
            } else {
                (0.0, 0.0)
            };
            assert_relative_eq!(all_jac[i].xs[k], dx, max_relative = 1e-14);
            assert_eq!(all_jac[i].ys[k], dy);
        }
    }
    // Central differences of the function itself.
    let h = 1e-6;
    for j in 0..3 {
        let (mut up, mut down) = (p, p);
        up[j] += h;
        down[j] -= h;
        let (up, down) = (residuals(up, &xs, &ys), residuals(down, &xs, &ys));
        for i in 0..10 {
            assert_relative_eq!(
                jac[i].p[j],
                (up[i] - down[i]) / (2.0 * h),
                max_relative = 1e-7,
                epsilon = 1e-9
            );
        }
    }
}

/// The rows are `backward` along unit upstreams and the columns `jvp` along unit tangents,
/// whichever way `jacobian` took.
#[test]
fn rows_are_vjps_and_columns_are_jvps() {
    let (xs, ys) = data();
    let p = [0.7, -0.4, 2.0];
    let (value, jac) = residuals::jacobian(p, &xs, &ys);
    let (_, cache) = residuals::forward(p, &xs, &ys);
    for i in 0..value.len() {
        let mut unit = vec![0.0; value.len()];
        unit[i] = 1.0;
        let row = residuals::backward(&cache, unit);
        for j in 0..3 {
            assert_relative_eq!(row.p[j], jac[i].p[j], max_relative = 1e-15);
        }
    }
    for j in 0..3 {
        let mut tangent = residuals::Tangent::default();
        tangent.p[j] = 1.0;
        let (_, column) = residuals::jvp(p, &xs, &ys, tangent);
        for i in 0..value.len() {
            assert_eq!(column[i], jac[i].p[j]);
        }
    }
}

/// Against num-dual: each column of the Jacobian is the dual part of the function evaluated
/// on dual numbers.
#[differentiate]
fn spring(q: [f64; 3], k: f64) -> [f64; 3] {
    let mut force = [0.0; 3];
    for i in 0..3 {
        let next = q[(i + 1) % 3];
        let stretch = (next - q[i]).tanh();
        force[i] = k * stretch * stretch.abs() + (q[i] * k).sin();
    }
    force
}

fn spring_dual(q: [Dual64; 3], k: Dual64) -> [Dual64; 3] {
    let mut force = [Dual64::from(0.0); 3];
    for i in 0..3 {
        let next = q[(i + 1) % 3];
        let stretch = (next - q[i]).tanh();
        let abs = if stretch.re() < 0.0 { -stretch } else { stretch };
        force[i] = k * stretch * abs + (q[i] * k).sin();
    }
    force
}

#[test]
fn a_loop_against_dual_numbers() {
    let (q, k) = ([0.3, -1.1, 0.8], 1.7);
    let (value, jac) = spring::jacobian(q, k);
    for j in 0..4 {
        let seed = |n: usize, x: f64| {
            if n == j {
                Dual64::new(x, 1.0)
            } else {
                Dual64::from(x)
            }
        };
        let dual = spring_dual([seed(0, q[0]), seed(1, q[1]), seed(2, q[2])], seed(3, k));
        for i in 0..3 {
            assert_relative_eq!(value[i], dual[i].re, max_relative = 1e-15);
            let entry = if j < 3 { jac[i].q[j] } else { jac[i].k };
            assert_relative_eq!(entry, dual[i].eps, max_relative = 1e-13);
        }
    }
}

/// A struct of parameters: each row's `Grad` holds a value of the struct.
#[derive(Differentiable, Clone, Debug, PartialEq, Default)]
struct Arm {
    lengths: [f64; 2],
    base: f64,
}

/// A two-link arm's hand position from its joint angles (robotics' forward kinematics).
#[differentiate]
fn hand(arm: &Arm, angles: [f64; 2]) -> [f64; 2] {
    let a = angles[0] + arm.base;
    let b = a + angles[1];
    [
        arm.lengths[0] * a.cos() + arm.lengths[1] * b.cos(),
        arm.lengths[0] * a.sin() + arm.lengths[1] * b.sin(),
    ]
}

#[test]
fn a_struct_of_parameters() {
    let arm = Arm {
        lengths: [1.0, 0.5],
        base: 0.1,
    };
    let angles = [0.4, -0.9];
    let (value, jac) = hand::jacobian(&arm, angles);
    assert_eq!(value, hand(&arm, angles));
    let (a, b) = (0.4 + 0.1, 0.4 + 0.1 - 0.9);
    assert_relative_eq!(jac[0].angles[0], -(a.sin() + 0.5 * b.sin()), max_relative = 1e-15);
    assert_relative_eq!(jac[0].angles[1], -0.5 * b.sin(), max_relative = 1e-15);
    assert_relative_eq!(jac[1].angles[1], 0.5 * b.cos(), max_relative = 1e-15);
    assert_relative_eq!(jac[0].arm.lengths[1], b.cos(), max_relative = 1e-15);
    assert_relative_eq!(jac[1].arm.base, a.cos() + 0.5 * b.cos(), max_relative = 1e-15);
}

/// A `Grad` flattens (`chainrule::Flatten`) in declaration order, a struct's fields by its
/// own order: the numbering of the matrix conversions.
#[test]
fn a_grad_flattens_in_declaration_order() {
    use chainrule::Flatten;
    let arm = Arm {
        lengths: [1.0, 0.5],
        base: 0.1,
    };
    let (_, jac) = hand::jacobian(&arm, [0.4, -0.9]);
    let row = &jac[1];
    assert_eq!(Flatten::<f64>::count(row), 5);
    let mut floats = Vec::new();
    row.flatten(&mut floats);
    let expected = [
        row.arm.lengths[0],
        row.arm.lengths[1],
        row.arm.base,
        row.angles[0],
        row.angles[1],
    ];
    assert_eq!(floats, expected);
    let unit = row.unit(2);
    assert_eq!(
        (unit.arm.base, unit.arm.lengths, unit.angles),
        (1.0, [0.0; 2], [0.0; 2])
    );
    let unit = row.unit(4);
    assert_eq!((unit.arm.base, unit.angles), (0.0, [0.0, 1.0]));
    let read = row.read(&mut (10..15).map(f64::from));
    assert_eq!(
        (read.arm.lengths, read.arm.base, read.angles),
        ([10.0, 11.0], 12.0, [13.0, 14.0])
    );
}

/// Generic over the float type: in f32 too.
#[differentiate]
fn rotate<T: Real>(v: [T; 2], angle: T) -> [T; 2] {
    let (s, c) = angle.sin_cos();
    [c * v[0] - s * v[1], s * v[0] + c * v[1]]
}

#[test]
fn generic_and_f32() {
    let (value, jac) = rotate::jacobian([1.0f32, 2.0], 0.25);
    let (s, c) = 0.25f32.sin_cos();
    assert_eq!(value, [c - 2.0 * s, s + 2.0 * c]);
    assert_eq!(jac[0].v, [c, -s]);
    assert_eq!(jac[1].v, [s, c]);
    assert_relative_eq!(jac[0].angle, -s - 2.0 * c, max_relative = 1e-6);
    let (_, jac64) = rotate::jacobian([1.0f64, 2.0], 0.25);
    assert_relative_eq!(
        jac64[1].angle,
        0.25f64.cos() - 2.0 * 0.25f64.sin(),
        max_relative = 1e-15
    );
}

/// ndarray: a softmax layer's output, `Array1`, with a `Vec` of rows for its Jacobian; the
/// softmax Jacobian diag(s) − s sᵀ.
#[cfg(feature = "ndarray")]
mod arrays {
    use super::*;
    use chainrule::ndarray::{array, Array1, Array2};

    #[differentiate]
    fn layer(w: &Array2<f64>, x: &Array1<f64>) -> Array1<f64> {
        chainrule::softmax(&w.dot(x))
    }

    #[test]
    fn a_softmax_layer() {
        let w = array![[0.5, -1.0], [2.0, 0.3], [-0.7, 0.1]];
        let x = array![1.5, -0.5];
        let (value, jac) = layer::jacobian(&w, &x);
        let z = w.dot(&x);
        let s = chainrule::softmax(&z);
        assert_eq!(value, s);
        assert_eq!(jac.len(), 3);
        for i in 0..3 {
            for j in 0..2 {
                // ∂sᵢ/∂xⱼ = Σₖ (δᵢₖ sᵢ − sᵢ sₖ) wₖⱼ
                let exact: f64 = (0..3)
                    .map(|k| (if i == k { s[i] } else { 0.0 } - s[i] * s[k]) * w[[k, j]])
                    .sum();
                assert_relative_eq!(jac[i].x[j], exact, max_relative = 1e-12, epsilon = 1e-15);
            }
        }
        let (_, cache) = layer::forward(&w, &x);
        let vjp = layer::backward(&cache, array![1.0, 0.0, -2.0]);
        for j in 0..2 {
            assert_relative_eq!(vjp.x[j], jac[0].x[j] - 2.0 * jac[2].x[j], max_relative = 1e-12);
        }
    }
}

/// A tuple taken from `sin_cos`, and from a `match`.
#[differentiate]
fn unit_circle(t: f64, k: i32) -> (f64, f64) {
    match k {
        0 => t.sin_cos(),
        _ => (t.cos(), -t.sin()),
    }
}

#[test]
fn a_tuple_from_sin_cos_and_from_a_match() {
    let (value, jac) = unit_circle::jacobian(0.3, 0);
    assert_eq!(value, 0.3f64.sin_cos());
    assert_eq!((jac[0].t, jac[1].t), (0.3f64.cos(), -0.3f64.sin()));
    let (value, jac) = unit_circle::jacobian(0.3, 1);
    assert_eq!(value, (0.3f64.cos(), -0.3f64.sin()));
    assert_eq!((jac[0].t, jac[1].t), (-0.3f64.sin(), -0.3f64.cos()));
}

/// A float-valued function calling vector-valued ones: the callee's vector–Jacobian product
/// in the caller's backward pass (`let` says the vector's type), its Jacobian–vector product in
/// the caller's forward mode.
#[differentiate(jvp, wrt(p, r))]
fn fit_loss(p: [f64; 3], xs: &[f64], ys: &[f64], r: f64) -> f64 {
    let errors: Vec<f64> = residuals(p, xs, ys);
    let point: [f64; 2] = polar(r, p[1]);
    errors.iter().map(|e| e * e).sum::<f64>() + point[0] * point[1]
}

fn fit_loss_plain(p: [f64; 3], xs: &[f64], ys: &[f64], r: f64) -> f64 {
    let errors = residuals(p, xs, ys);
    let point = polar(r, p[1]);
    errors.iter().map(|e| e * e).sum::<f64>() + point[0] * point[1]
}

#[test]
fn calls_of_vector_valued_functions() {
    let (xs, ys) = data();
    let (p, r) = ([1.1, 0.4, 0.2], 1.3);
    let (value, grad) = fit_loss::grad(p, &xs, &ys, r);
    assert_eq!(value, fit_loss_plain(p, &xs, &ys, r));
    // Through the callees' Jacobians: 2 rᵀ J_r + J_pointᵀ (point[1], point[0]).
    let (errors, jac) = residuals::jacobian(p, &xs, &ys);
    let (point, jac_point) = polar::jacobian(r, p[1]);
    for j in 0..3 {
        let mut exact: f64 = (0..errors.len()).map(|i| 2.0 * errors[i] * jac[i].p[j]).sum();
        if j == 1 {
            exact += jac_point[0].theta * point[1] + point[0] * jac_point[1].theta;
        }
        assert_relative_eq!(grad.p[j], exact, max_relative = 1e-13);
    }
    assert_relative_eq!(
        grad.r,
        jac_point[0].r * point[1] + point[0] * jac_point[1].r,
        max_relative = 1e-13
    );
    // Central differences, and forward mode along a direction.
    let h = 1e-6;
    let direction = [0.3, -0.7, 0.5];
    let shifted = |t: f64| {
        let q = [
            p[0] + t * direction[0],
            p[1] + t * direction[1],
            p[2] + t * direction[2],
        ];
        fit_loss_plain(q, &xs, &ys, r - t)
    };
    let difference = (shifted(h) - shifted(-h)) / (2.0 * h);
    let along: f64 = (0..3).map(|j| grad.p[j] * direction[j]).sum::<f64>() - grad.r;
    assert_relative_eq!(along, difference, max_relative = 1e-7);
    let tangent = fit_loss::Tangent {
        p: direction,
        r: -1.0,
    };
    let (v, t) = fit_loss::jvp(p, &xs, &ys, r, tangent);
    assert_eq!(v, value);
    assert_relative_eq!(t, along, max_relative = 1e-13);
}

/// A caller taking apart a tuple-valued callee's result, with the tuple's type and without:
/// the callee's tuple upstream and tangent converted from the caller's arrays.
#[differentiate(jvp)]
fn through_pairs(x: f64, w: [f64; 3]) -> f64 {
    let (a, b) = pair(x, w);
    let (c, _): (f64, f64) = unit_circle(a * b, 1);
    a * c + b
}

fn through_pairs_plain(x: f64, w: [f64; 3]) -> f64 {
    let (a, b) = pair(x, w);
    let (c, _) = unit_circle(a * b, 1);
    a * c + b
}

#[test]
fn calls_taking_apart_tuples() {
    let w = [0.7, -1.2, 0.4];
    for x in [0.8, -0.3] {
        let (value, grad) = through_pairs::grad(x, w);
        assert_eq!(value, through_pairs_plain(x, w));
        let h = 1e-6;
        let dx = (through_pairs_plain(x + h, w) - through_pairs_plain(x - h, w)) / (2.0 * h);
        assert_relative_eq!(grad.x, dx, max_relative = 1e-7);
        for j in 0..3 {
            let (mut up, mut down) = (w, w);
            up[j] += h;
            down[j] -= h;
            let dw = (through_pairs_plain(x, up) - through_pairs_plain(x, down)) / (2.0 * h);
            assert_relative_eq!(grad.w[j], dw, max_relative = 1e-6, epsilon = 1e-9);
        }
        let tangent = through_pairs::Tangent {
            x: 0.5,
            w: [1.0, -2.0, 0.25],
        };
        let (v, t) = through_pairs::jvp(x, w, tangent);
        assert_eq!(v, value);
        let dot = 0.5 * grad.x + grad.w[0] - 2.0 * grad.w[1] + 0.25 * grad.w[2];
        assert_relative_eq!(t, dot, max_relative = 1e-12);
    }
}

/// A vector-valued function with its own attribute in a `#[differentiate] mod` (bundle
/// adjustment's reprojection beside its helpers): it gets its module, and the module's other
/// functions still inline it (as a helper returning an array).
#[differentiate]
mod reprojection {
    #[differentiate(wrt(x))]
    pub fn scaled(x: [f64; 2], k: f64) -> [f64; 2] {
        [x[0] * k, x[1] * x[0]]
    }

    pub fn norm_of_scaled(x: [f64; 2], k: f64) -> f64 {
        let s = scaled(x, k);
        s[0] * s[0] + s[1] * s[1]
    }
}

#[test]
fn vector_valued_functions_in_a_module() {
    let (value, jac) = reprojection::scaled::jacobian([2.0, 3.0], 0.5);
    assert_eq!(value, [1.0, 6.0]);
    assert_eq!(jac[0].x, [0.5, 0.0]);
    assert_eq!(jac[1].x, [3.0, 2.0]);
    // ∂/∂x of s₀² + s₁² = (0.5x₀)² + (x₀x₁)²: (x₀/2 + 2x₀x₁², 2x₀²x₁).
    let (value, grad) = reprojection::norm_of_scaled::grad([2.0, 3.0], 0.5);
    assert_eq!(value, 37.0);
    assert_eq!(grad.x, [1.0 + 36.0, 24.0]);
}
