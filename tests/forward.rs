//! Forward mode: `f::jvp(args…, tangent)` gives the value and ∇f · tangent in one forward
//! pass, through everything the gradient goes through. Checked against the gradient's dot
//! product with the tangent, against num-dual's dual numbers (an independent forward
//! mode), and at the lecture's points exactly.

#![allow(clippy::needless_range_loop)]

use approx::assert_relative_eq;
use chainrule::{differentiate, Differentiable, Real};
use num_dual::{Dual64, DualNum};

#[differentiate(jvp)]
fn lecture(x: f64, y: f64, z: f64) -> f64 {
    let q = x + y;
    q * z
}

/// The lecture's circuit, f = (x + y) z at (−2, 5, −4): along each axis the tangent is the
/// gradient's entry (−4, −4, 3), exactly.
#[test]
fn the_lecture_circuit_along_each_axis() {
    let axes = [(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)];
    let expected = [-4.0, -4.0, 3.0];
    for ((x, y, z), d) in axes.into_iter().zip(expected) {
        let (value, tangent) = lecture::jvp(-2.0, 5.0, -4.0, lecture::Tangent { x, y, z });
        assert_eq!(value, -12.0);
        assert_eq!(tangent, d);
    }
}

#[differentiate(jvp)]
fn neuron(w: [f64; 3], x: [f64; 2]) -> f64 {
    let dot = w[0] * x[0] + w[1] * x[1] + w[2];
    1.0 / (1.0 + (-dot).exp())
}

/// The sigmoid neuron at the lecture's point: σ' = σ(1 − σ) = 0.19661193324148185 times
/// each tangent's share, the same bits as the gradient's.
#[test]
fn the_lecture_neuron() {
    let (w, x) = ([2.0, -3.0, -3.0], [-1.0, -2.0]);
    let (value, grad) = neuron::grad(w, x);
    for k in 0..3 {
        let mut tw = [0.0; 3];
        tw[k] = 1.0;
        let (v, t) = neuron::jvp(w, x, neuron::Tangent { w: tw, x: [0.0; 2] });
        assert_eq!(v, value);
        assert_relative_eq!(t, grad.w[k], max_relative = 1e-15);
    }
    let (_, t) = neuron::jvp(
        w,
        x,
        neuron::Tangent {
            w: [1.0, 0.0, 0.0],
            x: [0.0; 2],
        },
    );
    assert_relative_eq!(t, -0.19661193324148185, max_relative = 1e-15);
}

/// The same functions in dual numbers (num-dual), written by hand.
fn rosenbrock_dual(x: &[Dual64]) -> Dual64 {
    let mut s = Dual64::from(0.0);
    for i in 0..x.len() - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = Dual64::from(1.0) - x[i];
        s += a * a * 100.0 + b * b;
    }
    s
}

#[differentiate(jvp)]
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
fn rosenbrock_against_num_dual() {
    let x: Vec<f64> = (0..10).map(|i| 0.3 * i as f64 - 1.2).collect();
    let v: Vec<f64> = (0..10).map(|i| ((i * 7 % 5) as f64 - 2.0) / 3.0).collect();
    let (value, tangent) = rosenbrock::jvp(&x, rosenbrock::Tangent { x: v.clone() });
    let duals: Vec<Dual64> = x.iter().zip(&v).map(|(&a, &b)| Dual64::new(a, b)).collect();
    let dual = rosenbrock_dual(&duals);
    assert_eq!(value, rosenbrock(&x));
    assert_relative_eq!(value, dual.re, max_relative = 1e-14);
    assert_relative_eq!(tangent, dual.eps, max_relative = 1e-12);
    let (_, grad) = rosenbrock::grad(&x);
    let dot: f64 = grad.x.iter().zip(&v).map(|(g, t)| g * t).sum();
    assert_relative_eq!(tangent, dot, max_relative = 1e-12);
}

/// Transcendental operations, kinks and a branch, against num-dual.
#[differentiate(jvp)]
fn mixed(x: f64, y: f64) -> f64 {
    let r = (x * x + y * y).sqrt();
    let a = y.atan2(x);
    let s = if r > 1.0 { r.ln() * a.sin() } else { (r * a).tanh() };
    s + x.max(y).exp() / (1.0 + y.abs()) + x.powi(3) - y.powf(2.5)
}

fn mixed_dual(x: Dual64, y: Dual64) -> Dual64 {
    let r = (x * x + y * y).sqrt();
    let a = y.atan2(x);
    let s = if r.re > 1.0 {
        r.ln() * a.sin()
    } else {
        (r * a).tanh()
    };
    let m = if x.re > y.re { x } else { y };
    let y_abs = if y.re < 0.0 { -y } else { y };
    s + m.exp() / (y_abs + 1.0) + x.powi(3) - y.powf(2.5)
}

#[test]
fn operations_and_a_branch_against_num_dual() {
    for &(x, y) in &[(0.7, 1.3), (0.2, 0.4), (1.9, 0.8)] {
        for &(tx, ty) in &[(1.0, 0.0), (0.0, 1.0), (0.6, -0.8)] {
            let (value, tangent) = mixed::jvp(x, y, mixed::Tangent { x: tx, y: ty });
            let dual = mixed_dual(Dual64::new(x, tx), Dual64::new(y, ty));
            assert_eq!(value, mixed(x, y));
            assert_relative_eq!(tangent, dual.eps, max_relative = 1e-12);
        }
    }
}

/// A `while` loop, a loop carrying an array, and a call of a function that did not ask for
/// `jvp` (forward mode goes through its gradient) and of one that did.
#[differentiate]
fn energy(k: f64, xs: &[f64]) -> f64 {
    xs.iter().map(|x| k * x * x).sum()
}

#[differentiate(jvp)]
fn spring(k: f64, x: f64) -> f64 {
    0.5 * k * x * x
}

#[differentiate(jvp)]
fn simulate(k: f64, x0: f64, steps: usize) -> f64 {
    let mut state = [x0, 0.0];
    for _ in 0..steps {
        let force = -k * state[0];
        state[1] += 0.1 * force;
        state[0] += 0.1 * state[1];
    }
    let mut t = 0.0;
    while t < 1.0 {
        t += 0.3 + 0.1 * state[0].abs();
    }
    let xs = [state[0], state[1], t];
    energy(k, &xs) + spring(k, state[0])
}

#[test]
fn loops_and_calls() {
    let (k, x0) = (1.3, 0.8);
    let (value, grad) = simulate::grad(k, x0, 7);
    let h = 1e-6;
    for (tk, tx) in [(1.0, 0.0), (0.0, 1.0), (0.3, -0.7)] {
        let (v, t) = simulate::jvp(k, x0, 7, simulate::Tangent { k: tk, x0: tx });
        assert_eq!(v, value);
        assert_relative_eq!(t, grad.k * tk + grad.x0 * tx, max_relative = 1e-12);
        let numeric =
            (simulate(k + h * tk, x0 + h * tx, 7) - simulate(k - h * tk, x0 - h * tx, 7)) / (2.0 * h);
        assert_relative_eq!(t, numeric, max_relative = 1e-6);
    }
}

#[derive(Clone, Debug, PartialEq, Differentiable)]
struct Line {
    w: [f64; 2],
    b: f64,
    steps: usize,
}

#[differentiate(jvp)]
fn loss(p: &Line, data: &[[f64; 3]]) -> f64 {
    let mut total = 0.0;
    for row in data {
        let mut y = p.b;
        for _ in 0..p.steps {
            y += p.w[0] * row[0] + p.w[1] * row[1];
        }
        total += (y - row[2]).powi(2);
    }
    total / data.len() as f64
}

/// A struct's tangent is a value of the struct (its data fields unread).
#[test]
fn a_struct_parameter() {
    let p = Line {
        w: [0.5, -0.25],
        b: 0.1,
        steps: 2,
    };
    let data = [[1.0, 2.0, 0.5], [-1.0, 0.5, 1.0], [0.3, 0.3, 0.0]];
    let (value, grad) = loss::grad(&p, &data);
    let direction = Line {
        w: [0.2, 1.0],
        b: -0.5,
        steps: 0,
    };
    let (v, t) = loss::jvp(
        &p,
        &data,
        loss::Tangent {
            p: direction.clone(),
            data: vec![[0.0; 3]; 3],
        },
    );
    assert_eq!(v, value);
    let dot = grad.p.w[0] * 0.2 + grad.p.w[1] * 1.0 + grad.p.b * -0.5;
    assert_relative_eq!(t, dot, max_relative = 1e-12);
}

#[differentiate(jvp)]
fn generic<T: Real>(x: T, y: T) -> T {
    (x * y).sin() + x.exp() / y
}

#[test]
fn generic_and_f32() {
    let (v, t) = generic::jvp(0.5_f64, 2.0, generic::Tangent { x: 1.0, y: 0.5 });
    let dual = {
        let (x, y) = (Dual64::new(0.5, 1.0), Dual64::new(2.0, 0.5));
        (x * y).sin() + x.exp() / y
    };
    assert_eq!(v, generic(0.5, 2.0));
    assert_relative_eq!(t, dual.eps, max_relative = 1e-13);
    let (v32, t32) = generic::jvp(0.5_f32, 2.0, generic::Tangent { x: 1.0, y: 0.5 });
    assert_eq!(v32, generic(0.5_f32, 2.0));
    assert_relative_eq!(t32 as f64, dual.eps, max_relative = 1e-5);
}

/// A function that did not ask for `jvp` still serves a caller's: here its `__jvp`, from the
/// gradient, is the same number as the forward pass.
#[test]
fn a_callee_without_jvp() {
    let xs = [0.5, -1.0, 2.0];
    let (v, t) = energy::__jvp(1.5, &xs, 2.0, &[1.0, 0.0, -1.0]);
    assert_eq!(v, energy(1.5, &xs));
    let expected = 2.0 * (0.25 + 1.0 + 4.0) + 1.5 * 2.0 * (0.5 - 2.0);
    assert_relative_eq!(t, expected, max_relative = 1e-14);
}
