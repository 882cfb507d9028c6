//! Properties of the generated code that hold exactly:
//! - `backward(&cache, u)` is linear in the upstream gradient `u`;
//! - `grad` is `forward` followed by `backward(&cache, 1.0)`;
//! - the conventions at kinks (`relu'(0) = 0`, `abs'(0) = 0`, ties of `max`/`min` to the
//!   first argument, `leaky_relu'(0) = slope`, `elu'(0) = alpha`, `hypot` at the origin);
//! - NaN inputs give NaN values, and `max`/`min` ignore a NaN argument as `f64::max` does;
//! - `forward` computes the original function's value to the bit, also where the
//!   simplifier rewrites it (signed zeros, subnormals, infinities, NaN).

use approx::assert_relative_eq;
use chainrule::{differentiate, elu, leaky_relu, maxout, relu, sigmoid};

// ---------------------------------------------------------------------------------------
// functions under test

#[differentiate]
fn lecture(x: f64, y: f64, z: f64) -> f64 {
    let q = x + y;
    q * z
}

#[differentiate]
fn neuron(w0: f64, x0: f64, w1: f64, x1: f64, w2: f64) -> f64 {
    sigmoid(w0 * x0 + w1 * x1 + w2)
}

#[differentiate]
fn piecewise(x: f64, y: f64, z: f64) -> f64 {
    let a = relu(x * y) + x.abs() * z;
    let b = a.max(y * z) - x.min(z) + leaky_relu(y - z, 0.125);
    b * elu(z - x, 1.5) + maxout(x, y)
}

#[differentiate]
fn smooth(x: f64, y: f64, z: f64) -> f64 {
    let r = x.hypot(y);
    let t = y.atan2(x);
    r.powf(z) * t.sin() + (x * z).exp() / (1.0 + y * y) - z.ln_1p().sqrt()
}

#[differentiate]
fn smooth_f32(x: f32, y: f32, z: f32) -> f32 {
    let r = x.hypot(y);
    let t = y.atan2(x);
    r.powf(z) * t.sin() + (x * z).exp() / (1.0 + y * y) - z.ln_1p().sqrt()
}

#[differentiate]
fn reused(x: f64, y: f64, z: f64) -> f64 {
    let t = x * y;
    t * t + t.tanh() * z + x.powi(3) - y / z
}

const POINTS: [[f64; 3]; 4] = [
    [0.5, 1.5, 0.75],
    [-1.25, 2.0, 0.25],
    [3.0, -0.75, 1.5],
    [0.25, 0.25, 2.0],
];

/// Upstream gradients for which `u · g` is exact in floating point: `backward` must give
/// exactly `u` times the gradient.
const EXACT_UPSTREAMS: [f64; 8] = [0.0, -0.0, 1.0, -1.0, 2.0, -0.5, 0.25, -1024.0];
/// Any others: equal up to rounding.
const UPSTREAMS: [f64; 6] = [0.3, -1.7, 3.1, 1e-3, -250.0, 7.0];

/// Checks linearity of one `backward` at one cache, given as the gradient it returns
/// for each upstream.
fn check_linear<const D: usize>(name: &str, backward: impl Fn(f64) -> [f64; D]) {
    let unit = backward(1.0);
    for u in EXACT_UPSTREAMS {
        assert_eq!(backward(u), unit.map(|g| u * g), "{name}: upstream {u}");
    }
    for u in UPSTREAMS {
        assert_relative_eq!(
            backward(u)[..],
            unit.map(|g| u * g)[..],
            max_relative = 1e-14,
            epsilon = 1e-300
        );
    }
    // additivity: backward(u + v) = backward(u) + backward(v)
    for (u, v) in [(0.5, 0.25), (-1.5, 3.0), (0.3, 0.7)] {
        let (a, b) = (backward(u), backward(v));
        let mut sum = [0.0; D];
        for i in 0..D {
            sum[i] = a[i] + b[i];
        }
        assert_relative_eq!(
            backward(u + v)[..],
            sum[..],
            max_relative = 1e-14,
            epsilon = 1e-300
        );
    }
}

#[test]
fn backward_is_linear_in_the_upstream_gradient() {
    for [x, y, z] in POINTS {
        let cache = lecture::forward(x, y, z).1;
        check_linear("lecture", |u| {
            let g = lecture::backward(&cache, u);
            [g.x, g.y, g.z]
        });
        let cache = piecewise::forward(x, y, z).1;
        check_linear("piecewise", |u| {
            let g = piecewise::backward(&cache, u);
            [g.x, g.y, g.z]
        });
        let cache = smooth::forward(x, y, z).1;
        check_linear("smooth", |u| {
            let g = smooth::backward(&cache, u);
            [g.x, g.y, g.z]
        });
        let cache = reused::forward(x, y, z).1;
        check_linear("reused", |u| {
            let g = reused::backward(&cache, u);
            [g.x, g.y, g.z]
        });
        let cache = neuron::forward(x, y, z, x * z, -y).1;
        check_linear("neuron", |u| {
            let g = neuron::backward(&cache, u);
            [g.w0, g.x0, g.w1, g.x1, g.w2]
        });
        // f32: exact for the exact upstreams, within f32 rounding otherwise
        let cache = smooth_f32::forward(x as f32, y as f32, z as f32).1;
        let unit = smooth_f32::backward(&cache, 1.0);
        for u in EXACT_UPSTREAMS.map(|u| u as f32) {
            let g = smooth_f32::backward(&cache, u);
            assert_eq!(
                [g.x, g.y, g.z],
                [u * unit.x, u * unit.y, u * unit.z],
                "upstream {u}"
            );
        }
        for u in UPSTREAMS.map(|u| u as f32) {
            let g = smooth_f32::backward(&cache, u);
            assert_relative_eq!(
                [g.x, g.y, g.z][..],
                [u * unit.x, u * unit.y, u * unit.z][..],
                max_relative = 1e-5
            );
        }
    }
}

#[test]
fn backward_of_zero_is_zero() {
    for [x, y, z] in POINTS {
        let cache = piecewise::forward(x, y, z).1;
        assert_eq!(piecewise::backward(&cache, 0.0), piecewise::Grad::default());
        let cache = smooth::forward(x, y, z).1;
        assert_eq!(smooth::backward(&cache, 0.0), smooth::Grad::default());
    }
}

#[test]
fn grad_is_forward_then_backward_of_one() {
    for [x, y, z] in POINTS {
        let (value, cache) = lecture::forward(x, y, z);
        assert_eq!(lecture::grad(x, y, z), (value, lecture::backward(&cache, 1.0)));
        assert_eq!(value, lecture(x, y, z));

        let (value, cache) = piecewise::forward(x, y, z);
        assert_eq!(
            piecewise::grad(x, y, z),
            (value, piecewise::backward(&cache, 1.0))
        );
        assert_eq!(value, piecewise(x, y, z));

        let (value, cache) = smooth::forward(x, y, z);
        assert_eq!(smooth::grad(x, y, z), (value, smooth::backward(&cache, 1.0)));
        assert_eq!(value, smooth(x, y, z));

        let (value, cache) = reused::forward(x, y, z);
        assert_eq!(reused::grad(x, y, z), (value, reused::backward(&cache, 1.0)));
        assert_eq!(value, reused(x, y, z));

        let (value, cache) = neuron::forward(x, y, z, -x, y * z);
        assert_eq!(
            neuron::grad(x, y, z, -x, y * z),
            (value, neuron::backward(&cache, 1.0))
        );
        assert_eq!(value, neuron(x, y, z, -x, y * z));

        let (x, y, z) = (x as f32, y as f32, z as f32);
        let (value, cache) = smooth_f32::forward(x, y, z);
        assert_eq!(
            smooth_f32::grad(x, y, z),
            (value, smooth_f32::backward(&cache, 1.0))
        );
        assert_eq!(value, smooth_f32(x, y, z));

        // The cache is a plain value: copied, it gives the same gradient.
        let copy = cache;
        assert_eq!(copy, cache);
        assert_eq!(
            smooth_f32::backward(&copy, -2.0),
            smooth_f32::backward(&cache, -2.0)
        );
    }
}

// ---------------------------------------------------------------------------------------
// kinks

#[differentiate]
fn relu_of(x: f64) -> f64 {
    relu(x)
}

#[differentiate]
fn relu_by_path(x: f64) -> f64 {
    chainrule::relu(x)
}

#[differentiate]
fn relu_f32(x: f32) -> f32 {
    relu(x)
}

#[differentiate]
fn abs_of(x: f64) -> f64 {
    x.abs()
}

#[differentiate]
fn abs_f32(x: f32) -> f32 {
    x.abs()
}

#[differentiate]
fn max_of(a: f64, b: f64) -> f64 {
    a.max(b)
}

#[differentiate]
fn min_of(a: f64, b: f64) -> f64 {
    a.min(b)
}

#[differentiate]
fn max_by_path(a: f64, b: f64) -> f64 {
    f64::max(a, b)
}

#[differentiate]
fn min_by_path(a: f64, b: f64) -> f64 {
    f64::min(a, b)
}

#[differentiate]
fn maxout_of(a: f64, b: f64) -> f64 {
    maxout(a, b)
}

#[differentiate]
fn max_f32(a: f32, b: f32) -> f32 {
    a.max(b)
}

#[differentiate]
fn min_f32(a: f32, b: f32) -> f32 {
    a.min(b)
}

/// The same variable on both sides: the whole gradient still arrives, once.
#[differentiate]
fn max_with_itself(x: f64) -> f64 {
    x.max(x) + x.min(x)
}

#[differentiate]
fn leaky_relu_of(x: f64, slope: f64) -> f64 {
    leaky_relu(x, slope)
}

#[differentiate]
fn leaky_relu_f32(x: f32, slope: f32) -> f32 {
    leaky_relu(x, slope)
}

#[differentiate]
fn elu_of(x: f64, alpha: f64) -> f64 {
    elu(x, alpha)
}

#[differentiate]
fn elu_f32(x: f32, alpha: f32) -> f32 {
    elu(x, alpha)
}

#[differentiate]
fn hypot_of(a: f64, b: f64) -> f64 {
    a.hypot(b)
}

#[differentiate]
fn hypot_f32(a: f32, b: f32) -> f32 {
    a.hypot(b)
}

#[differentiate]
fn powf_of(x: f64, y: f64) -> f64 {
    x.powf(y)
}

#[test]
fn relu_at_zero() {
    for x in [0.0, -0.0] {
        assert_eq!(relu_of::grad(x), (0.0, relu_of::Grad { x: 0.0 }));
        assert_eq!(relu_by_path::grad(x), (0.0, relu_by_path::Grad { x: 0.0 }));
        assert_eq!(relu_f32::grad(x as f32), (0.0, relu_f32::Grad { x: 0.0 }));
    }
    // either side of the kink
    assert_eq!(relu_of::grad(1e-300).1.x, 1.0);
    assert_eq!(relu_of::grad(-1e-300).1.x, 0.0);
    assert_eq!(relu_f32::grad(f32::MIN_POSITIVE).1.x, 1.0);
}

#[test]
fn abs_at_zero() {
    for x in [0.0, -0.0] {
        assert_eq!(abs_of::grad(x), (0.0, abs_of::Grad { x: 0.0 }));
        assert_eq!(abs_f32::grad(x as f32), (0.0, abs_f32::Grad { x: 0.0 }));
    }
    assert_eq!(abs_of::grad(1e-300).1.x, 1.0);
    assert_eq!(abs_of::grad(-1e-300).1.x, -1.0);
}

#[test]
fn ties_of_max_and_min_go_to_the_first_argument() {
    for a in [0.0, 1.5, -2.0, 1e300] {
        assert_eq!(max_of::grad(a, a), (a, max_of::Grad { a: 1.0, b: 0.0 }));
        assert_eq!(min_of::grad(a, a), (a, min_of::Grad { a: 1.0, b: 0.0 }));
        assert_eq!(max_by_path::grad(a, a), (a, max_by_path::Grad { a: 1.0, b: 0.0 }));
        assert_eq!(min_by_path::grad(a, a), (a, min_by_path::Grad { a: 1.0, b: 0.0 }));
        assert_eq!(maxout_of::grad(a, a), (a, maxout_of::Grad { a: 1.0, b: 0.0 }));
        let a32 = a as f32;
        if a32.is_finite() {
            assert_eq!(max_f32::grad(a32, a32), (a32, max_f32::Grad { a: 1.0, b: 0.0 }));
            assert_eq!(min_f32::grad(a32, a32), (a32, min_f32::Grad { a: 1.0, b: 0.0 }));
        }
        assert_eq!(
            max_with_itself::grad(a),
            (a + a, max_with_itself::Grad { x: 2.0 })
        );
    }
    // and otherwise to the argument returned
    assert_eq!(max_of::grad(1.0, 2.0).1, max_of::Grad { a: 0.0, b: 1.0 });
    assert_eq!(max_of::grad(2.0, 1.0).1, max_of::Grad { a: 1.0, b: 0.0 });
    assert_eq!(min_of::grad(1.0, 2.0).1, min_of::Grad { a: 1.0, b: 0.0 });
    assert_eq!(min_of::grad(2.0, 1.0).1, min_of::Grad { a: 0.0, b: 1.0 });
}

#[test]
fn leaky_relu_at_zero_has_the_slope() {
    for slope in [0.1, 0.01, 0.5, 2.0] {
        assert_eq!(
            leaky_relu_of::grad(0.0, slope),
            (0.0, leaky_relu_of::Grad { x: slope, slope: 0.0 })
        );
        let slope32 = slope as f32;
        assert_eq!(
            leaky_relu_f32::grad(0.0, slope32),
            (
                0.0,
                leaky_relu_f32::Grad {
                    x: slope32,
                    slope: 0.0
                }
            )
        );
    }
    // on the negative side, ∂slope is x
    assert_eq!(
        leaky_relu_of::grad(-2.0, 0.25),
        (-0.5, leaky_relu_of::Grad { x: 0.25, slope: -2.0 })
    );
    assert_eq!(
        leaky_relu_of::grad(2.0, 0.25),
        (2.0, leaky_relu_of::Grad { x: 1.0, slope: 0.0 })
    );
}

#[test]
fn elu_at_zero_has_alpha() {
    for alpha in [1.0, 0.5, 2.0, 1.5] {
        assert_eq!(
            elu_of::grad(0.0, alpha),
            (0.0, elu_of::Grad { x: alpha, alpha: 0.0 })
        );
        let alpha32 = alpha as f32;
        assert_eq!(
            elu_f32::grad(0.0, alpha32),
            (
                0.0,
                elu_f32::Grad {
                    x: alpha32,
                    alpha: 0.0
                }
            )
        );
    }
    assert_eq!(elu_of::grad(2.0, 0.5).1, elu_of::Grad { x: 1.0, alpha: 0.0 });
}

#[test]
fn hypot_at_the_origin_is_zero() {
    assert_eq!(hypot_of::grad(0.0, 0.0), (0.0, hypot_of::Grad { a: 0.0, b: 0.0 }));
    assert_eq!(
        hypot_of::grad(-0.0, 0.0),
        (0.0, hypot_of::Grad { a: 0.0, b: 0.0 })
    );
    assert_eq!(
        hypot_f32::grad(0.0, 0.0),
        (0.0, hypot_f32::Grad { a: 0.0, b: 0.0 })
    );
    // on an axis: the sign of the nonzero coordinate
    assert_eq!(
        hypot_of::grad(-3.0, 0.0),
        (3.0, hypot_of::Grad { a: -1.0, b: 0.0 })
    );
    assert_eq!(hypot_of::grad(0.0, 2.0), (2.0, hypot_of::Grad { a: 0.0, b: 1.0 }));
}

#[test]
fn powf_exponent_gradient_at_zero_base_is_zero() {
    // ∂y = xʸ ln x → 0 · −∞; taken as 0 (the limit for y > 0)
    assert_eq!(powf_of::grad(0.0, 2.0), (0.0, powf_of::Grad { x: 0.0, y: 0.0 }));
    assert_eq!(powf_of::grad(0.0, 3.5), (0.0, powf_of::Grad { x: 0.0, y: 0.0 }));
    assert_eq!(powf_of::grad(0.0, 1.0), (0.0, powf_of::Grad { x: 1.0, y: 0.0 }));
}

// ---------------------------------------------------------------------------------------
// NaN

#[differentiate]
fn sigmoid_of(x: f64) -> f64 {
    sigmoid(x)
}

#[differentiate]
fn tanh_of(x: f64) -> f64 {
    chainrule::tanh(x)
}

#[differentiate]
fn exp_of(x: f64) -> f64 {
    x.exp()
}

#[differentiate]
fn sqrt_of(x: f64) -> f64 {
    x.sqrt()
}

#[differentiate]
fn composed(x: f64, y: f64) -> f64 {
    relu(x * y) + sigmoid(x).ln() * y
}

#[test]
fn nan_input_gives_nan_value() {
    let nan = f64::NAN;
    let values = [
        (
            "relu",
            relu_of::forward(nan).0,
            relu_of::grad(nan).0,
            relu_of(nan),
        ),
        (
            "relu path",
            relu_by_path::forward(nan).0,
            relu_by_path::grad(nan).0,
            relu_by_path(nan),
        ),
        ("abs", abs_of::forward(nan).0, abs_of::grad(nan).0, abs_of(nan)),
        (
            "sigmoid",
            sigmoid_of::forward(nan).0,
            sigmoid_of::grad(nan).0,
            sigmoid_of(nan),
        ),
        (
            "tanh",
            tanh_of::forward(nan).0,
            tanh_of::grad(nan).0,
            tanh_of(nan),
        ),
        ("exp", exp_of::forward(nan).0, exp_of::grad(nan).0, exp_of(nan)),
        (
            "sqrt",
            sqrt_of::forward(nan).0,
            sqrt_of::grad(nan).0,
            sqrt_of(nan),
        ),
        (
            "leaky_relu",
            leaky_relu_of::forward(nan, 0.1).0,
            leaky_relu_of::grad(nan, 0.1).0,
            leaky_relu_of(nan, 0.1),
        ),
        (
            "elu",
            elu_of::forward(nan, 1.0).0,
            elu_of::grad(nan, 1.0).0,
            elu_of(nan, 1.0),
        ),
        (
            "elu alpha",
            elu_of::forward(-1.0, nan).0,
            elu_of::grad(-1.0, nan).0,
            elu_of(-1.0, nan),
        ),
        (
            "hypot",
            hypot_of::forward(nan, 1.0).0,
            hypot_of::grad(nan, 1.0).0,
            hypot_of(nan, 1.0),
        ),
        (
            "composed",
            composed::forward(nan, 1.0).0,
            composed::grad(nan, 1.0).0,
            composed(nan, 1.0),
        ),
        (
            "max of NaNs",
            max_of::forward(nan, nan).0,
            max_of::grad(nan, nan).0,
            max_of(nan, nan),
        ),
    ];
    for (name, forward, grad, original) in values {
        assert!(forward.is_nan(), "{name}: forward gives {forward}");
        assert!(grad.is_nan(), "{name}: grad gives {grad}");
        assert!(original.is_nan(), "{name}: the function gives {original}");
    }
    let nan32 = f32::NAN;
    assert!(relu_f32::forward(nan32).0.is_nan());
    assert!(relu_f32::grad(nan32).0.is_nan());
    assert!(abs_f32::grad(nan32).0.is_nan());
    assert!(elu_f32::grad(nan32, 1.0).0.is_nan());
    assert!(leaky_relu_f32::grad(nan32, 0.1).0.is_nan());
}

#[test]
fn max_and_min_ignore_a_nan_argument() {
    let nan = f64::NAN;
    // f64::max(1.0, NaN) is 1.0: the gradient goes to the argument returned
    assert_eq!(max_of::grad(1.0, nan), (1.0, max_of::Grad { a: 1.0, b: 0.0 }));
    assert_eq!(max_of::grad(nan, 1.0), (1.0, max_of::Grad { a: 0.0, b: 1.0 }));
    assert_eq!(min_of::grad(1.0, nan), (1.0, min_of::Grad { a: 1.0, b: 0.0 }));
    assert_eq!(min_of::grad(nan, 1.0), (1.0, min_of::Grad { a: 0.0, b: 1.0 }));
    assert_eq!(
        max_by_path::grad(1.0, nan),
        (1.0, max_by_path::Grad { a: 1.0, b: 0.0 })
    );
    assert_eq!(
        maxout_of::grad(1.0, nan),
        (1.0, maxout_of::Grad { a: 1.0, b: 0.0 })
    );
    assert_eq!(
        maxout_of::grad(nan, -3.0),
        (-3.0, maxout_of::Grad { a: 0.0, b: 1.0 })
    );
    let nan32 = f32::NAN;
    assert_eq!(max_f32::grad(1.0, nan32), (1.0, max_f32::Grad { a: 1.0, b: 0.0 }));
    assert_eq!(max_f32::grad(nan32, 1.0), (1.0, max_f32::Grad { a: 0.0, b: 1.0 }));
    assert_eq!(min_f32::grad(nan32, 1.0), (1.0, min_f32::Grad { a: 0.0, b: 1.0 }));
}

// ---------------------------------------------------------------------------------------
// forward is bit-identical to the function, through the simplifier's rewrites

/// One differentiated function per expression, in f64 and f32, and the list of them.
macro_rules! bit_exact {
    ($($name:ident($x:ident, $y:ident) => $body:expr;)+) => {
        #[allow(clippy::identity_op, clippy::eq_op, clippy::neg_multiply)]
        mod exact {
            #[allow(unused_imports)]
            use chainrule::{differentiate, sigmoid};

            pub mod double {
                #[allow(unused_imports)]
                use super::*;
                $(
                    #[differentiate]
                    pub fn $name($x: f64, $y: f64) -> f64 {
                        $body
                    }
                )+
            }

            pub mod single {
                #[allow(unused_imports)]
                use super::*;
                $(
                    #[differentiate]
                    pub fn $name($x: f32, $y: f32) -> f32 {
                        $body
                    }
                )+
            }

            type Pair<T> = (&'static str, fn(T, T) -> T, fn(T, T) -> T, fn(T, T) -> (T, T));

            pub const DOUBLE: &[Pair<f64>] = &[$((
                stringify!($name),
                double::$name,
                |$x, $y| double::$name::forward($x, $y).0,
                |$x, $y| {
                    let (value, grad) = double::$name::grad($x, $y);
                    (value, grad.$x + grad.$y)
                },
            )),+];

            pub const SINGLE: &[Pair<f32>] = &[$((
                stringify!($name),
                single::$name,
                |$x, $y| single::$name::forward($x, $y).0,
                |$x, $y| {
                    let (value, grad) = single::$name::grad($x, $y);
                    (value, grad.$x + grad.$y)
                },
            )),+];
        }
    };
}

bit_exact! {
    plus_zero(x, y) => x + 0.0 + y * 0.0;
    minus_zero(x, y) => x - 0.0 + (y - 0.0);
    minus_negative_zero(x, y) => x - (-0.0) + y * (-0.0);
    zero_minus(x, y) => 0.0 - x - y;
    times_one(x, y) => x * 1.0 + 1.0 * y;
    times_minus_one(x, y) => x * -1.0 + -1.0 * y;
    divided_by_one(x, y) => x / 1.0 - y / 1.0;
    double_negation(x, y) => -(-x) * -(-y);
    plus_negated(x, y) => x + (-y);
    negated_plus(x, y) => (-x) + y;
    minus_negated(x, y) => x - (-y);
    negated_times(x, y) => (-x) * y + x * (-y);
    twice(x, y) => x + x + (y * x + y * x);
    difference_of_itself(x, y) => (x - x) * y;
    sigmoid_written_out(x, y) => 1.0 / (1.0 + (-x).exp()) + (1.0 + (-y).exp()).recip();
    sigmoid_exp_first(x, y) => 1.0 / ((-x).exp() + 1.0) * sigmoid(y);
    folded(x, y) => x * (2.0 * 3.0 - 6.0) + y * (1.0 / 3.0) + (0.1 + 0.2) * x;
}

const SPECIAL_F64: [f64; 12] = [
    0.0,
    -0.0,
    5e-324,
    -5e-324,
    2.2250738585072014e-308,
    1.5,
    -0.1,
    1e308,
    -1e308,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
];

fn same_bits_f64(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn same_bits_f32(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

#[test]
fn forward_is_bit_identical_to_the_function() {
    for &(name, original, forward, grad) in exact::DOUBLE {
        for x in SPECIAL_F64 {
            for y in SPECIAL_F64 {
                let expected = original(x, y);
                let value = forward(x, y);
                assert!(
                    same_bits_f64(value, expected),
                    "{name}({x:?}, {y:?}): forward gives {value:?}, the function {expected:?}"
                );
                let (value, _) = grad(x, y);
                assert!(
                    same_bits_f64(value, expected),
                    "{name}({x:?}, {y:?}): grad gives {value:?}, the function {expected:?}"
                );
            }
        }
    }
    for &(name, original, forward, grad) in exact::SINGLE {
        for x in SPECIAL_F64.map(|v| v as f32) {
            for y in SPECIAL_F64.map(|v| v as f32) {
                let expected = original(x, y);
                let value = forward(x, y);
                assert!(
                    same_bits_f32(value, expected),
                    "{name}({x:?}, {y:?}) in f32: forward gives {value:?}, the function {expected:?}"
                );
                assert!(
                    same_bits_f32(grad(x, y).0, expected),
                    "{name}({x:?}, {y:?}) in f32: grad"
                );
            }
        }
    }
}

#[test]
fn rewritten_functions_still_have_the_right_gradient() {
    // at ordinary points, the sum of the two partials, against central differences
    for &(name, original, _, grad) in exact::DOUBLE {
        for (x, y) in [(0.5, 1.5), (-1.25, 2.0), (3.0, -0.75)] {
            eprintln!("{name} at ({x}, {y})");
            let numeric = chainrule::numerical_gradient(|v: &[f64]| original(v[0], v[1]), &[x, y]);
            assert_relative_eq!(
                grad(x, y).1,
                numeric[0] + numeric[1],
                max_relative = 1e-6,
                epsilon = 1e-8
            );
        }
    }
}
