//! Second derivatives: `f::hvp(args…, tangent)` (the value, the gradient and the Hessian
//! times a direction, by forward mode over the reverse pass) and `f::hessian(args…)`.
//! Checked at the lecture's points exactly, against num-dual's hyper-dual numbers (an
//! independent second-order forward mode), and against central differences of `grad`.

#![allow(clippy::needless_range_loop)]

use approx::assert_relative_eq;
use chainrule::{differentiate, Differentiable, Real};
use num_dual::{DualNum, HyperDual64};

#[differentiate(hessian)]
fn lecture(x: f64, y: f64, z: f64) -> f64 {
    let q = x + y;
    q * z
}

/// (x + y) z: ∂²f/∂x∂z = ∂²f/∂y∂z = 1, every other entry 0, at any point; the lecture's.
#[test]
fn the_lecture_circuit() {
    let (value, grad, h) = lecture::hessian(-2.0, 5.0, -4.0);
    assert_eq!(value, -12.0);
    assert_eq!((grad.x, grad.y, grad.z), (-4.0, -4.0, 3.0));
    assert_eq!(h.size(), 3);
    assert_eq!(
        h.to_rows(),
        vec![vec![0.0, 0.0, 1.0], vec![0.0, 0.0, 1.0], vec![1.0, 1.0, 0.0]]
    );
}

#[differentiate(hessian)]
fn neuron(w: [f64; 3], x: [f64; 2]) -> f64 {
    let dot = w[0] * x[0] + w[1] * x[1] + w[2];
    1.0 / (1.0 + (-dot).exp())
}

/// The sigmoid neuron at the lecture's point (w·x + b = 1): σ'' = σ(1 − σ)(1 − 2σ), so
/// ∂²f/∂wᵢ∂wⱼ = σ'' xᵢ xⱼ (x₂ = 1 for the bias), and ∂²f/∂wᵢ∂xᵢ = σ'' wᵢ xᵢ + σ'.
#[test]
fn the_lecture_neuron() {
    let (w, x) = ([2.0, -3.0, -3.0], [-1.0, -2.0]);
    let (value, grad, h) = neuron::hessian(w, x);
    let s = 1.0 / (1.0 + (-1.0_f64).exp());
    assert_eq!(value, s);
    let (first, second) = (s * (1.0 - s), s * (1.0 - s) * (1.0 - 2.0 * s));
    assert_relative_eq!(grad.w[0], first * x[0], max_relative = 1e-15);
    let xs = [x[0], x[1], 1.0];
    for i in 0..3 {
        for j in 0..3 {
            assert_relative_eq!(h[(i, j)], second * xs[i] * xs[j], max_relative = 1e-14);
        }
    }
    assert_relative_eq!(h[(0, 3)], second * w[0] * x[0] + first, max_relative = 1e-14);
    assert_relative_eq!(h[(3, 4)], second * w[0] * w[1], max_relative = 1e-14);
    assert_relative_eq!(h[(0, 0)], -0.09085774767294841, max_relative = 1e-14);
}

/// Each entry of a Hessian by hyper-dual numbers: x + εᵢ eᵢ + εⱼ eⱼ, read off ε₁ε₂.
fn hyperdual_hessian(n: usize, x: &[f64], f: impl Fn(&[HyperDual64]) -> HyperDual64) -> Vec<Vec<f64>> {
    (0..n)
        .map(|i| {
            (0..n)
                .map(|j| {
                    let point: Vec<HyperDual64> = (0..n)
                        .map(|k| {
                            let (a, b) = (f64::from(u8::from(k == i)), f64::from(u8::from(k == j)));
                            HyperDual64::new(x[k], a, b, 0.0)
                        })
                        .collect();
                    f(&point).eps1eps2
                })
                .collect()
        })
        .collect()
}

#[differentiate(hessian)]
fn rosenbrock(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        s += 100.0 * a * a + b * b;
    }
    s
}

#[test]
fn rosenbrock_against_hyperdual_numbers() {
    let x: Vec<f64> = (0..6).map(|i| 0.4 * i as f64 - 1.1).collect();
    let (value, grad, h) = rosenbrock::hessian(&x);
    assert_eq!(value, rosenbrock(&x));
    assert_eq!(grad, rosenbrock::grad(&x).1);
    let expected = hyperdual_hessian(6, &x, |x| {
        let mut s = HyperDual64::from(0.0);
        for i in 0..x.len() - 1 {
            let a = x[i + 1] - x[i] * x[i];
            let b = HyperDual64::from(1.0) - x[i];
            s += a * a * 100.0 + b * b;
        }
        s
    });
    for i in 0..6 {
        for j in 0..6 {
            assert_relative_eq!(h[(i, j)], expected[i][j], max_relative = 1e-12, epsilon = 1e-12);
            assert_eq!(h[(i, j)], h[(j, i)]);
        }
    }
    // The closed form on the diagonal: 1200 xᵢ² − 400 xᵢ₊₁ + 2 (+ 200 from the term before).
    assert_relative_eq!(
        h[(0, 0)],
        1200.0 * x[0] * x[0] - 400.0 * x[1] + 2.0,
        max_relative = 1e-14
    );
}

/// Transcendental operations, a branch, a `for` and a `while` loop.
#[differentiate(hessian)]
fn mixed(x: f64, y: f64, w: [f64; 2]) -> f64 {
    let r = (x * x + y * y).sqrt();
    let mut s = if r > 1.0 {
        r.ln() * y.atan2(x).sin()
    } else {
        (r * x).tanh()
    };
    for k in 0..2 {
        s += (w[k] * x).exp() / (1.0 + y * y) + w[k].powi(3) * y;
    }
    let mut t = 0.0;
    while t < 1.0 {
        t += 0.4;
        s *= 1.0 + 0.1 * x.sin();
    }
    s
}

fn mixed_dual(v: &[HyperDual64]) -> HyperDual64 {
    let (x, y, w) = (v[0], v[1], [v[2], v[3]]);
    let r = (x * x + y * y).sqrt();
    let mut s = if r.re > 1.0 {
        r.ln() * y.atan2(x).sin()
    } else {
        (r * x).tanh()
    };
    for k in 0..2 {
        s += (w[k] * x).exp() / (y * y + 1.0) + w[k].powi(3) * y;
    }
    for _ in 0..3 {
        s *= x.sin() * 0.1 + 1.0;
    }
    s
}

#[test]
fn loops_and_branches_against_hyperdual_numbers() {
    for point in [[0.7, 1.3, 0.2, -0.4], [0.3, 0.2, 0.5, 0.9]] {
        let (x, y, w) = (point[0], point[1], [point[2], point[3]]);
        let (value, grad, h) = mixed::hessian(x, y, w);
        assert_eq!(value, mixed(x, y, w));
        assert_eq!(grad, mixed::grad(x, y, w).1);
        let expected = hyperdual_hessian(4, &point, mixed_dual);
        for i in 0..4 {
            for j in 0..4 {
                assert_relative_eq!(h[(i, j)], expected[i][j], max_relative = 1e-11, epsilon = 1e-12);
            }
        }
        // hvp is the Hessian times the direction, and the central difference of `grad`.
        let v = [0.3, -0.5, 1.0, 0.25];
        let (hv_value, hv_grad, hv) = mixed::hvp(
            x,
            y,
            w,
            mixed::Grad {
                x: v[0],
                y: v[1],
                w: [v[2], v[3]],
            },
        );
        assert_eq!((hv_value, hv_grad), (value, grad));
        let flat = [hv.x, hv.y, hv.w[0], hv.w[1]];
        let step = 1e-5;
        let at = |sign: f64| {
            let g = mixed::grad(
                x + sign * step * v[0],
                y + sign * step * v[1],
                [w[0] + sign * step * v[2], w[1] + sign * step * v[3]],
            )
            .1;
            [g.x, g.y, g.w[0], g.w[1]]
        };
        let (ahead, behind) = (at(1.0), at(-1.0));
        for i in 0..4 {
            let row: f64 = (0..4).map(|j| h[(i, j)] * v[j]).sum();
            assert_relative_eq!(flat[i], row, max_relative = 1e-12, epsilon = 1e-12);
            assert_relative_eq!(
                flat[i],
                (ahead[i] - behind[i]) / (2.0 * step),
                max_relative = 1e-6,
                epsilon = 1e-7
            );
        }
    }
}

#[differentiate(hessian)]
fn generic<T: Real>(x: T, y: T) -> T {
    (x * y).sin() + x.exp() / y
}

#[test]
fn generic_and_f32() {
    let (_, _, h) = generic::hessian(0.5_f64, 2.0);
    let expected = hyperdual_hessian(2, &[0.5, 2.0], |v| (v[0] * v[1]).sin() + v[0].exp() / v[1]);
    for i in 0..2 {
        for j in 0..2 {
            assert_relative_eq!(h[(i, j)], expected[i][j], max_relative = 1e-13);
        }
    }
    let (_, _, h32) = generic::hessian(0.5_f32, 2.0);
    assert_relative_eq!(f64::from(h32[(0, 1)]), expected[0][1], max_relative = 1e-5);
}

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Line {
    w: [f64; 2],
    b: f64,
    #[chainrule(data)]
    name: &'static str,
}

#[differentiate(hessian)]
fn fit(p: &Line, x: f64, y: f64) -> f64 {
    (p.w[0] * x + p.w[1] * x * x + p.b - y).powi(2) + (p.b * x).sin()
}

/// A struct parameter: its floats numbered in declaration order (`w[0]`, `w[1]`, `b`), then
/// the other parameters'.
#[test]
fn a_struct_parameter() {
    let p = Line {
        w: [0.5, -0.25],
        b: 0.1,
        name: "line",
    };
    let (x, y) = (1.5, 0.3);
    let (value, grad, h) = fit::hessian(&p, x, y);
    assert_eq!(value, fit(&p, x, y));
    assert_eq!(grad, fit::grad(&p, x, y).1);
    assert_eq!(h.size(), 5);
    let expected = hyperdual_hessian(5, &[p.w[0], p.w[1], p.b, x, y], |v| {
        let e = v[0] * v[3] + v[1] * v[3] * v[3] + v[2] - v[4];
        e * e + (v[2] * v[3]).sin()
    });
    for i in 0..5 {
        for j in 0..5 {
            assert_relative_eq!(h[(i, j)], expected[i][j], max_relative = 1e-13, epsilon = 1e-13);
        }
    }
}

/// Calls of other `#[differentiate(hessian)]` functions: the callee's gradient and its
/// tangent (`g::__hvp`) in the caller's second-order pass, the callee's value and tangent
/// (`g::__jvp`) in its forward part; a callee called twice, one call's value the other's
/// argument, an integer argument, and data.
#[differentiate(hessian)]
fn inner(x: f64, w: [f64; 2]) -> f64 {
    (x * w[0]).sin() + w[1] * x * x
}

#[differentiate(hessian, wrt(x, w))]
fn outer(x: f64, w: [f64; 2], k: usize, data: f64) -> f64 {
    let a = inner(x, w);
    let b = inner(a, [w[1], data]);
    a * b + (k as f64) * x.exp()
}

fn inner_dual(x: HyperDual64, w: [HyperDual64; 2]) -> HyperDual64 {
    (x * w[0]).sin() + w[1] * x * x
}

#[test]
fn through_calls_against_hyperdual_numbers() {
    let (x, w, k, data) = (0.7, [1.3, -0.4], 2, 0.5);
    let (value, grad, h) = outer::hessian(x, w, k, data);
    assert_eq!(value, outer(x, w, k, data));
    assert_eq!(grad, outer::grad(x, w, k, data).1);
    let expected = hyperdual_hessian(3, &[x, w[0], w[1]], |v| {
        let a = inner_dual(v[0], [v[1], v[2]]);
        let b = inner_dual(a, [v[2], HyperDual64::from(data)]);
        a * b + HyperDual64::from(k as f64) * v[0].exp()
    });
    for i in 0..3 {
        for j in 0..3 {
            assert_relative_eq!(h[(i, j)], expected[i][j], max_relative = 1e-13, epsilon = 1e-13);
        }
    }
    // The Hessian times a vector, against the rows.
    let v = outer::Grad {
        x: 0.5,
        w: [-1.0, 2.0],
    };
    let (_, _, hv) = outer::hvp(x, w, k, data, v);
    let rows = h.to_rows();
    let dot = |row: &[f64]| row[0] * 0.5 - row[1] + 2.0 * row[2];
    assert_relative_eq!(hv.x, dot(&rows[0]), max_relative = 1e-13);
    assert_relative_eq!(hv.w[1], dot(&rows[2]), max_relative = 1e-13);
}

/// A generic callee, and a struct argument's fields passed one by one.
#[differentiate(hessian)]
fn energy<T: Real>(q: [T; 2], k: T) -> T {
    k * (q[0] - q[1]).powi(2) + (q[0] * q[1]).cos()
}

#[differentiate(hessian)]
fn total<T: Real>(q: [T; 2], k: T) -> T {
    let e = energy(q, k);
    e * e + energy([q[1], q[0]], k * k)
}

#[test]
fn through_a_generic_call() {
    let (q, k) = ([0.3, -0.8], 1.7);
    let (_, _, h) = total::hessian(q, k);
    let e = |v: &[HyperDual64], a: usize, b: usize, k: HyperDual64| {
        k * (v[a] - v[b]).powi(2) + (v[a] * v[b]).cos()
    };
    let expected = hyperdual_hessian(3, &[q[0], q[1], k], |v| {
        let first = e(v, 0, 1, v[2]);
        first * first + e(v, 1, 0, v[2] * v[2])
    });
    for i in 0..3 {
        for j in 0..3 {
            assert_relative_eq!(h[(i, j)], expected[i][j], max_relative = 1e-12, epsilon = 1e-12);
        }
    }
    let (_, _, h32) = total::hessian([0.3f32, -0.8], 1.7);
    assert_relative_eq!(h32[(0, 1)], expected[0][1] as f32, max_relative = 1e-4);
}

/// Parameters entering linearly (a bias, a constant-coefficient term): their rows and
/// columns are zero, and `hessian` makes no pass along them.
#[differentiate(hessian)]
fn with_offsets(w: [f64; 2], bias: f64, x: f64, c: f64) -> f64 {
    (w[0] * x).sin() * w[1] + bias + 3.0 * c + x * x * w[1]
}

#[test]
fn parameters_entering_linearly() {
    let (w, bias, x, c) = ([0.4, -1.1], 0.3, 0.9, 2.0);
    let (_, _, h) = with_offsets::hessian(w, bias, x, c);
    let expected = hyperdual_hessian(5, &[w[0], w[1], bias, x, c], |v| {
        (v[0] * v[3]).sin() * v[1] + v[2] + HyperDual64::from(3.0) * v[4] + v[3] * v[3] * v[1]
    });
    for i in 0..5 {
        for j in 0..5 {
            assert_relative_eq!(h[(i, j)], expected[i][j], max_relative = 1e-13, epsilon = 1e-13);
        }
    }
    assert_eq!(h.row(2), [0.0; 5]);
    assert_eq!(h.row(4), [0.0; 5]);
    assert_eq!((h[(0, 2)], h[(3, 4)]), (0.0, 0.0));
}

/// Calls inside a loop and a branch: the arguments each backward iteration hands to the
/// callee's `__hvp` are saved per iteration, with their tangents.
#[differentiate(hessian)]
fn looped_calls(x: f64, w: [f64; 2], n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..n {
        let a = inner(x + i as f64 * 0.1, w);
        if a > 0.0 {
            s += a * inner(s, [w[1], 0.3]);
        } else {
            s -= inner(a, w);
        }
    }
    s
}

fn looped_calls_dual(v: &[HyperDual64], n: usize) -> HyperDual64 {
    let (x, w) = (v[0], [v[1], v[2]]);
    let mut s = HyperDual64::from(0.0);
    for i in 0..n {
        let a = inner_dual(x + i as f64 * 0.1, w);
        if a.re > 0.0 {
            s += a * inner_dual(s, [w[1], HyperDual64::from(0.3)]);
        } else {
            s -= inner_dual(a, w);
        }
    }
    s
}

#[test]
fn through_calls_in_loops_and_branches() {
    for (x, w) in [(0.7, [1.3, -0.4]), (-0.9, [0.8, 1.5]), (0.2, [-2.0, 0.6])] {
        let (value, grad, h) = looped_calls::hessian(x, w, 4);
        assert_eq!(value, looped_calls(x, w, 4));
        assert_eq!(grad, looped_calls::grad(x, w, 4).1);
        let expected = hyperdual_hessian(3, &[x, w[0], w[1]], |v| looped_calls_dual(v, 4));
        for i in 0..3 {
            for j in 0..3 {
                assert_relative_eq!(h[(i, j)], expected[i][j], max_relative = 1e-12, epsilon = 1e-12);
            }
        }
    }
}
