//! Every operation of the rule table, differentiated by `#[differentiate]` and checked
//! against central finite differences, in f64 and in f32 (in the spirit of JAX's
//! `LAX_GRAD_OPS`): one row per operation, three or more points per row, chosen inside
//! the domain and away from kinks.
//!
//! For each row and each point:
//! - `f::grad` agrees with `chainrule::numerical_gradient` within the type's tolerance;
//! - `f::forward` and `f::grad` return exactly the value of the original function;
//! - (f32) the f32 gradient agrees with the f64 gradient at the same point.

use approx::{assert_relative_eq, RelativeEq};
use chainrule::{differentiate, elu, leaky_relu, maxout, relu, sigmoid, tanh, Real};

/// A `powi` exponent given by name.
const N: i32 = 5;
/// A negative one.
const M: i32 = -3;

/// How closely a gradient must agree with central differences, per float type.
trait Tolerance: Real + RelativeEq<Epsilon = Self> {
    /// Relative to the larger of the two values.
    const MAX_RELATIVE: Self;
    /// Absolute, for gradients at or near 0 (where relative error means nothing).
    const EPSILON: Self;
}

// Central differences err by about ε^(2/3) relative to the function's scale: 4e-11 in
// f64 and 2.4e-5 in f32. The worst rows here (tan at -1.25, x.powi(M) at 0.5) agree to
// 5.4e-10 in f64 and 3.6e-4 in f32.
impl Tolerance for f64 {
    const MAX_RELATIVE: f64 = 1e-6;
    const EPSILON: f64 = 1e-9;
}

impl Tolerance for f32 {
    const MAX_RELATIVE: f32 = 1e-3;
    const EPSILON: f32 = 1e-5;
}

/// Checks one operation at one point; returns the analytic gradient.
fn check<T: Tolerance, const D: usize>(
    op: &str,
    point: [T; D],
    original: impl Fn([T; D]) -> T,
    forward: impl Fn([T; D]) -> T,
    grad: impl Fn([T; D]) -> (T, [T; D]),
) -> [T; D] {
    let expected = original(point);
    assert_eq!(forward(point), expected, "{op}: forward at {point:?}");
    let (value, analytic) = grad(point);
    assert_eq!(value, expected, "{op}: grad's value at {point:?}");
    assert!(
        analytic.iter().all(|g| g.is_finite()),
        "{op}: gradient {analytic:?} at {point:?}"
    );
    let numeric = chainrule::numerical_gradient(
        |v: &[T]| original(v.try_into().expect("one value per parameter")),
        &point,
    );
    eprintln!("{op} at {point:?}: analytic {analytic:?}, numeric {numeric:?}");
    assert_relative_eq!(
        analytic[..],
        numeric[..],
        max_relative = T::MAX_RELATIVE,
        epsilon = T::EPSILON
    );
    analytic
}

/// One module per operation, with an f64 and an f32 version of it and a test for each.
macro_rules! op_module {
    ($name:ident, ($($p:ident),+), $body64:expr, $body32:expr, [$($point:expr),+]) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            pub mod double {
                #[allow(unused_imports)]
                use super::*;

                #[differentiate]
                pub fn f($($p: f64),+) -> f64 {
                    $body64
                }
            }

            pub mod single {
                #[allow(unused_imports)]
                use super::*;

                #[differentiate]
                pub fn f($($p: f32),+) -> f32 {
                    $body32
                }
            }

            #[test]
            fn f64_matches_finite_differences() {
                for point in [$($point),+] {
                    check(
                        concat!(stringify!($name), " (f64)"),
                        point,
                        |[$($p),+]| double::f($($p),+),
                        |[$($p),+]| double::f::forward($($p),+).0,
                        |[$($p),+]| {
                            let (value, grad) = double::f::grad($($p),+);
                            (value, [$(grad.$p),+])
                        },
                    );
                }
            }

            #[test]
            fn f32_matches_finite_differences_and_f64() {
                for point in [$($point),+] {
                    let point = point.map(|v: f64| v as f32);
                    let analytic = check(
                        concat!(stringify!($name), " (f32)"),
                        point,
                        |[$($p),+]| single::f($($p),+),
                        |[$($p),+]| single::f::forward($($p),+).0,
                        |[$($p),+]| {
                            let (value, grad) = single::f::grad($($p),+);
                            (value, [$(grad.$p),+])
                        },
                    );
                    // The same gradient in f64, at the same (f32) point.
                    let [$($p),+] = point.map(f64::from);
                    let grad = double::f::grad($($p),+).1;
                    assert_relative_eq!(
                        analytic.map(f64::from)[..],
                        [$(grad.$p),+][..],
                        max_relative = 1e-5,
                        epsilon = 1e-6
                    );
                }
            }
        }
    };
}

/// Rows whose body is the same in both types: `name(params) => body, at [points];`.
macro_rules! ops {
    ($($name:ident($($p:ident),+) => $body:expr, at [$($point:expr),+ $(,)?];)+) => {
        $(op_module!($name, ($($p),+), $body, $body, [$($point),+]);)+
    };
}

/// Rows with a body per type (the path forms `f64::exp(x)` / `f32::exp(x)`).
macro_rules! typed_ops {
    ($($name:ident($($p:ident),+) => f64: $body64:expr, f32: $body32:expr, at [$($point:expr),+ $(,)?];)+) => {
        $(op_module!($name, ($($p),+), $body64, $body32, [$($point),+]);)+
    };
}

ops! {
    // operators
    neg(x) => -x, at [[0.5], [-1.25], [3.0]];
    add(x, y) => x + y, at [[0.5, 1.5], [-1.25, 2.0], [3.0, -0.75]];
    sub(x, y) => x - y, at [[0.5, 1.5], [-1.25, 2.0], [3.0, -0.75]];
    mul(x, y) => x * y, at [[0.5, 1.5], [-1.25, 2.0], [3.0, -0.75]];
    div(x, y) => x / y, at [[0.5, 1.5], [-1.25, 2.0], [3.0, -0.75]];

    // exponentials and logarithms
    exp(x) => x.exp(), at [[0.5], [-1.25], [2.0]];
    exp_m1(x) => x.exp_m1(), at [[0.5], [-1.25], [0.0078125]];
    ln(x) => x.ln(), at [[0.5], [1.25], [3.0]];
    ln_1p(x) => x.ln_1p(), at [[0.5], [-0.75], [0.0078125], [3.0]];
    log(x, base) => x.log(base), at [[0.5, 2.0], [3.0, 10.0], [1.25, 0.25]];

    // powers and roots
    sqrt(x) => x.sqrt(), at [[0.25], [1.5], [4.0]];
    cbrt(x) => x.cbrt(), at [[-2.0], [0.5], [3.0]];
    recip(x) => x.recip(), at [[-2.0], [0.5], [3.0]];
    powi_0(x) => x.powi(0), at [[-2.0], [0.5], [3.0]];
    powi_1(x) => x.powi(1), at [[-2.0], [0.5], [3.0]];
    powi_2(x) => x.powi(2), at [[-2.0], [0.5], [3.0]];
    powi_3(x) => x.powi(3), at [[-2.0], [0.5], [3.0]];
    powi_minus_2(x) => x.powi(-2), at [[-2.0], [0.5], [3.0]];
    powi_const(x) => x.powi(N), at [[-2.0], [0.5], [3.0]];
    powi_negative_const(x) => x.powi(M), at [[-2.0], [0.5], [3.0]];
    powf(x, y) => x.powf(y), at [[0.5, 1.5], [2.0, -0.75], [3.0, 2.5]];

    // trigonometry
    sin(x) => x.sin(), at [[0.5], [-1.25], [2.0]];
    cos(x) => x.cos(), at [[0.5], [-1.25], [2.0]];
    tan(x) => x.tan(), at [[0.5], [-1.25], [1.0]];
    asin(x) => x.asin(), at [[0.5], [-0.25], [0.75]];
    acos(x) => x.acos(), at [[0.5], [-0.25], [0.75]];
    atan(x) => x.atan(), at [[0.5], [-1.25], [3.0]];
    // all four quadrants, away from the branch cut (y = 0, x < 0)
    atan2(y, x) => y.atan2(x), at [[0.5, 1.5], [-1.25, 2.0], [0.75, -1.5], [-0.5, -2.0]];
    sinh(x) => x.sinh(), at [[0.5], [-1.25], [2.0]];
    cosh(x) => x.cosh(), at [[0.5], [-1.25], [2.0]];
    tanh_method(x) => x.tanh(), at [[0.5], [-1.25], [2.0]];

    // piecewise and several arguments
    abs(x) => x.abs(), at [[-1.5], [0.75], [2.0]];
    max(a, b) => a.max(b), at [[0.5, 1.5], [2.0, -1.25], [-0.75, -0.5]];
    min(a, b) => a.min(b), at [[0.5, 1.5], [2.0, -1.25], [-0.75, -0.5]];
    hypot(a, b) => a.hypot(b), at [[3.0, 4.0], [-1.25, 0.5], [0.5, -2.0]];
    mul_add(a, b, c) => a.mul_add(b, c), at [[0.5, 1.5, -2.0], [-1.25, 2.0, 0.75], [3.0, -0.5, 1.0]];
    // inside [lo, hi], below, above, and just inside a bound
    clamp(x, lo, hi) => x.clamp(lo, hi), at [[0.5, -1.0, 1.0], [-1.5, -1.0, 1.0], [2.0, -1.0, 1.0], [0.98, -1.0, 1.0]];
    copysign(x, s) => x.copysign(s), at [[1.5, -2.0], [-0.75, 0.5], [2.0, 3.0], [-1.25, -1.0]];

    // inverse hyperbolic functions, near the ends of their domains too
    asinh(x) => x.asinh(), at [[-1.5], [0.5], [3.0]];
    acosh(x) => x.acosh(), at [[1.125], [2.0], [5.0]];
    atanh(x) => x.atanh(), at [[-0.5], [0.25], [0.875]];

    // piecewise constant (gradient 0 between the jumps) and their relatives, near the jumps
    signum(x) => x.signum(), at [[-1.5], [0.75], [0.03125]];
    floor(x) => x.floor(), at [[0.5], [-1.25], [0.96875], [1.03125]];
    ceil(x) => x.ceil(), at [[0.5], [-1.25], [0.96875], [1.03125]];
    round(x) => x.round(), at [[0.25], [-1.75], [0.46875], [2.53125]];
    round_ties_even(x) => x.round_ties_even(), at [[0.25], [-1.75], [0.46875], [2.53125]];
    trunc(x) => x.trunc(), at [[0.5], [-1.25], [-0.96875], [2.96875]];
    fract(x) => x.fract(), at [[0.5], [-1.25], [-0.96875], [2.96875]];
    div_euclid(x, y) => x.div_euclid(y), at [[5.5, 2.0], [-3.25, 1.5], [7.0, -2.5]];
    rem_euclid(x, y) => x.rem_euclid(y), at [[5.5, 2.0], [-3.25, 1.5], [7.0, -2.5], [3.96875, 2.0]];
    rem(x, y) => x % y, at [[5.5, 2.0], [-3.25, 1.5], [7.0, -2.5], [3.96875, 2.0]];
    rem_assign(x, y) => { let mut r = x; r %= y; r }, at [[5.5, 2.0], [-3.25, 1.5], [7.0, -2.5]];

    // angles
    to_radians(x) => x.to_radians(), at [[0.5], [-90.0], [180.0]];
    to_degrees(x) => x.to_degrees(), at [[0.5], [-1.5], [3.25]];

    // activation functions, imported and by path
    sigmoid(z) => sigmoid(z), at [[0.5], [-1.25], [3.0]];
    sigmoid_path(z) => chainrule::sigmoid(z), at [[0.5], [-1.25], [3.0]];
    relu(x) => relu(x), at [[-1.5], [0.75], [2.0]];
    relu_path(x) => chainrule::relu(x), at [[-1.5], [0.75], [2.0]];
    leaky_relu(x, slope) => leaky_relu(x, slope), at [[-1.5, 0.125], [0.75, 0.25], [2.0, 0.5], [-0.5, 0.3]];
    leaky_relu_path(x, slope) => chainrule::leaky_relu(x, slope), at [[-1.5, 0.125], [0.75, 0.25], [-0.5, 0.3]];
    elu(x, alpha) => elu(x, alpha), at [[-1.5, 1.0], [0.75, 0.5], [-0.25, 2.0]];
    elu_path(x, alpha) => chainrule::elu(x, alpha), at [[-1.5, 1.0], [0.75, 0.5], [-0.25, 2.0]];
    maxout(a, b) => maxout(a, b), at [[0.5, 1.5], [2.0, -1.25], [-0.75, -0.5]];
    maxout_path(a, b) => chainrule::maxout(a, b), at [[0.5, 1.5], [2.0, -1.25], [-0.75, -0.5]];
    tanh(z) => tanh(z), at [[0.5], [-1.25], [2.0]];
    tanh_path(z) => chainrule::tanh(z), at [[0.5], [-1.25], [2.0]];
}

/// ln 2 and ln 10 appear in these derivatives (as `core::f64::consts`, not literals).
mod base_2_and_10 {
    use super::*;

    ops! {
        exp2(x) => x.exp2(), at [[0.5], [-1.25], [3.0]];
        log2(x) => x.log2(), at [[0.5], [1.25], [3.0]];
        log10(x) => x.log10(), at [[0.5], [1.25], [30.0]];
    }
}

typed_ops! {
    path_exp(x) => f64: f64::exp(x), f32: f32::exp(x), at [[0.5], [-1.25], [2.0]];
    path_max(a, b) => f64: f64::max(a, b), f32: f32::max(a, b), at [[0.5, 1.5], [2.0, -1.25], [-0.75, -0.5]];
    path_min(a, b) => f64: f64::min(a, b), f32: f32::min(a, b), at [[0.5, 1.5], [2.0, -1.25], [-0.75, -0.5]];
    path_powi(x) => f64: f64::powi(x, 2), f32: f32::powi(x, 2), at [[-2.0], [0.5], [3.0]];
    path_powf(x, y) => f64: f64::powf(x, y), f32: f32::powf(x, y), at [[0.5, 1.5], [2.0, -0.75], [3.0, 2.5]];
    path_ln(x) => f64: f64::ln(x), f32: f32::ln(x), at [[0.5], [1.25], [3.0]];
    path_sqrt(x) => f64: f64::sqrt(x), f32: f32::sqrt(x), at [[0.25], [1.5], [4.0]];
    path_atan2(y, x) => f64: f64::atan2(y, x), f32: f32::atan2(y, x), at [[0.5, 1.5], [0.75, -1.5], [-0.5, -2.0]];
    path_hypot(a, b) => f64: f64::hypot(a, b), f32: f32::hypot(a, b), at [[3.0, 4.0], [-1.25, 0.5], [0.5, -2.0]];
    path_mul_add(a, b, c) => f64: f64::mul_add(a, b, c), f32: f32::mul_add(a, b, c),
        at [[0.5, 1.5, -2.0], [-1.25, 2.0, 0.75], [3.0, -0.5, 1.0]];
}

/// The conventions where the derivative jumps or does not exist (README, "Operations"):
/// exactly these values, as JAX takes them.
#[test]
fn conventions_at_kinks_and_jumps() {
    // Steps: 0, also on the jump.
    for x in [1.0, -2.0, 0.0, 2.5] {
        assert_eq!(floor::double::f::grad(x).1.x, 0.0);
        assert_eq!(ceil::double::f::grad(x).1.x, 0.0);
        assert_eq!(round::double::f::grad(x).1.x, 0.0);
        assert_eq!(round_ties_even::double::f::grad(x).1.x, 0.0);
        assert_eq!(trunc::double::f::grad(x).1.x, 0.0);
        assert_eq!(signum::double::f::grad(x).1.x, 0.0);
        assert_eq!(fract::double::f::grad(x).1.x, 1.0);
    }
    // clamp: all to x at a bound; to the bound beyond it.
    let at_lo = clamp::double::f::grad(-1.0, -1.0, 1.0).1;
    assert_eq!((at_lo.x, at_lo.lo, at_lo.hi), (1.0, 0.0, 0.0));
    let at_hi = clamp::double::f::grad(1.0, -1.0, 1.0).1;
    assert_eq!((at_hi.x, at_hi.lo, at_hi.hi), (1.0, 0.0, 0.0));
    let below = clamp::double::f::grad(-3.0, -1.0, 1.0).1;
    assert_eq!((below.x, below.lo, below.hi), (0.0, 1.0, 0.0));
    // copysign: ±1 by the signs, 0 at x = 0 (as abs), nothing to the sign's argument.
    assert_eq!(copysign::double::f::grad(2.0, -1.0).1.x, -1.0);
    assert_eq!(copysign::double::f::grad(-2.0, -1.0).1.x, 1.0);
    assert_eq!(copysign::double::f::grad(0.0, -1.0).1.x, 0.0);
    assert_eq!(copysign::double::f::grad(2.0, -1.0).1.s, 0.0);
    // %: ∂a = 1, ∂b = −trunc(a/b); rem_euclid: ∂b = −div_euclid(a, b).
    let rem = rem::double::f::grad(-3.25, 1.5).1;
    assert_eq!((rem.x, rem.y), (1.0, 2.0));
    let euclid = rem_euclid::double::f::grad(-3.25, 1.5).1;
    assert_eq!((euclid.x, euclid.y), (1.0, 3.0));
    // NaN propagates through the steps' neighbours.
    assert!(fract::double::f::grad(f64::NAN).0.is_nan());
}
