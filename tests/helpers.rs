//! Helpers inlined where they are called (in a `#[differentiate] mod`): ones returning
//! tuples and arrays, ones writing through `&mut` scratch arguments (`&mut Vec<f64>`,
//! `&mut [f64]`, `&mut f64`), with early returns, generic ones, helpers calling helpers;
//! in f64, f32 and generic callers, each against central differences.

#[macro_use]
mod support;

#[chainrule::differentiate]
mod kinematics {
    use chainrule::Real;

    /// A tuple result, taken apart by the caller.
    fn polar(r: f64, theta: f64) -> (f64, f64) {
        let (s, c) = theta.sin_cos();
        (r * c, r * s)
    }

    /// An array result.
    fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
        [
            a[1] * b[2] - a[2] * b[1],
            a[2] * b[0] - a[0] * b[2],
            a[0] * b[1] - a[1] * b[0],
        ]
    }

    /// A scratch vector: emptied, filled, read back; the caller reads it afterwards too.
    fn squares(xs: &[f64], scratch: &mut Vec<f64>) -> f64 {
        scratch.clear();
        for x in xs {
            scratch.push(x * x);
        }
        scratch.iter().sum()
    }

    /// A slice written element by element, with a guard that returns early.
    fn sines(xs: &[f64], out: &mut [f64], cap: f64) -> f64 {
        for i in 0..xs.len() {
            out[i] = (xs[i] * cap).sin();
        }
        if xs[0] > cap {
            return out[0];
        }
        out[0] * 2.0 + out[1]
    }

    /// A float accumulated through `&mut`, no result.
    fn accumulate(total: &mut f64, x: f64, k: u32) {
        for _ in 0..k {
            *total += x.tanh();
        }
    }

    /// A helper calling helpers: its `x` and `s` are not the caller's.
    fn rotated(x: f64, y: f64) -> (f64, f64) {
        let s = x * 0.5;
        let (a, b) = polar(x.hypot(y), y.atan2(x) + s);
        (a, b)
    }

    /// Generic, called from the generic caller below.
    fn scaled<T: Real>(x: T, by: T) -> (T, T) {
        (x * by, x / by)
    }

    pub fn motion(r: f64, theta: f64, xs: &[f64], w: [f64; 3]) -> f64 {
        let (x, y) = polar(r, theta);
        let n = cross(w, [x, y, 1.0]);
        let mut scratch = Vec::new();
        let mut buf = vec![0.0; xs.len()];
        let mut total = 0.0;
        accumulate(&mut total, x * y, 2);
        let s = squares(xs, &mut scratch);
        let first = sines(xs, &mut buf, r);
        let (a, b) = rotated(x, y);
        total + n[0] * n[2] + s * scratch[1] + first + buf[1] * a - b
    }

    pub fn generic<T: Real>(x: T, y: T) -> T {
        let (p, q) = scaled(x, y);
        let mut total = p * q;
        let (u, v) = scaled(p + q, T::from_f64(2.0));
        total += u - v;
        total
    }

    pub fn single(x: f32, y: f32) -> f32 {
        let (p, q) = scaled(x, y);
        p.sin() * q
    }
}

use kinematics::{generic, motion, single};

#[test]
fn tuples_arrays_and_scratch_arguments() {
    check!(motion(r, theta, xs: 3, w) at [
        [0.8, 0.3, 0.5, -0.4, 0.9, 0.2, -0.7, 0.6],
        [1.3, -1.1, -0.2, 0.7, 0.1, -0.5, 0.3, 0.4],
        // `xs[0] > r`: the early return.
        [0.3, 0.6, 0.9, 0.2, -0.3, 0.8, 0.1, -0.2],
    ]);
}

#[test]
fn generic_helpers_in_generic_and_f32_callers() {
    check!(generic(x, y) at [[0.7, 1.3], [-0.4, 0.6]]);
    check!(generic(x, y) at [[0.7f32, 1.3], [-0.4, 0.6]]);
    check!(single(x, y) at [[0.7f32, 1.3], [-0.4, 0.6]]);
}

#[test]
fn scratch_writes_are_the_functions_own() {
    // The inlined helpers compute what the plain module functions compute.
    let xs = [0.5, -0.4, 0.9];
    let (value, _) = motion::grad(0.8, 0.3, &xs, [0.2, -0.7, 0.6]);
    assert_eq!(value, motion(0.8, 0.3, &xs, [0.2, -0.7, 0.6]));
}

/// Associated functions of a `#[differentiate] impl` block, inlined where its methods call
/// them (`Self::split(x)`), one with an early return of a tuple.
#[derive(Clone, Debug, PartialEq, chainrule::Differentiable)]
struct Arm {
    length: f64,
    offset: f64,
}

#[chainrule::differentiate]
impl Arm {
    const GAIN: f64 = 1.5;

    /// An early return of a tuple, then a tuple.
    fn split(x: f64, limit: f64) -> (f64, f64) {
        if x > limit {
            return (limit, x - limit);
        }
        let (s, c) = (x * Self::GAIN).sin_cos();
        (s, c)
    }

    /// A helper calling a helper, writing through `&mut`.
    fn spread(x: f64, out: &mut [f64]) {
        let (a, b) = Self::split(x, 2.0);
        out[0] = a;
        out[1] = b;
    }

    /// A method returning a tuple, inlined where `self.ends(…)` is called.
    fn ends(&self, theta: f64) -> (f64, f64) {
        (self.length * theta.cos(), self.length * theta.sin() + self.offset)
    }

    fn reach(&self, theta: f64) -> f64 {
        let (s, c) = Self::split(theta, 1.0);
        let mut buf = [0.0; 2];
        Self::spread(theta * 0.5 + self.offset, &mut buf);
        let (ex, ey) = self.ends(theta);
        self.length * (s + c) + buf[0] * buf[1] + ex * ey
    }
}

fn reach_of(p: &[f64]) -> f64 {
    Arm {
        length: p[0],
        offset: p[1],
    }
    .reach(p[2])
}

#[test]
fn helpers_of_an_impl_block() {
    // Below and above the early return's limit.
    for p in [[0.8, 0.3, 0.4], [1.2, -0.5, 1.7], [0.6, 2.0, 1.2]] {
        let arm = Arm {
            length: p[0],
            offset: p[1],
        };
        let (value, grad) = arm.reach_grad(p[2]);
        assert_eq!(value, arm.reach(p[2]));
        let analytic = [grad.self_.length, grad.self_.offset, grad.theta];
        let check = chainrule::check_gradient(reach_of, &p, &analytic);
        assert!(check.passes(1e-7), "{check:?}");
    }
}
