//! The body language of `#[differentiate]`: `let` (annotated or not), shadowing, nested
//! blocks, a final `return`, literals, named constants, reuse, unused parameters,
//! constant functions, many parameters, and composed expressions — each checked against
//! central finite differences (and, where the gradient is simple, exactly).

use approx::{assert_relative_eq, RelativeEq};
use chainrule::{check_gradient, differentiate, relu, sigmoid, Real};

// ---------------------------------------------------------------------------------------
// The checker

trait Tolerance: Real + RelativeEq<Epsilon = Self> {
    const MAX_RELATIVE: Self;
    const EPSILON: Self;
}

impl Tolerance for f64 {
    const MAX_RELATIVE: f64 = 1e-6;
    const EPSILON: f64 = 1e-9;
}

impl Tolerance for f32 {
    const MAX_RELATIVE: f32 = 2e-3;
    const EPSILON: f32 = 1e-4;
}

/// At each point: `forward` and `grad` give the original function's value exactly, and
/// the gradient agrees with central differences.
fn check_points<T: Tolerance, const D: usize>(
    name: &str,
    points: &[[T; D]],
    original: impl Fn([T; D]) -> T,
    forward: impl Fn([T; D]) -> T,
    grad: impl Fn([T; D]) -> (T, [T; D]),
) {
    for &point in points {
        let expected = original(point);
        assert_eq!(forward(point), expected, "{name}: forward at {point:?}");
        let (value, analytic) = grad(point);
        assert_eq!(value, expected, "{name}: grad's value at {point:?}");
        let numeric = chainrule::numerical_gradient(
            |v: &[T]| original(v.try_into().expect("one value per parameter")),
            &point,
        );
        eprintln!("{name} at {point:?}: analytic {analytic:?}, numeric {numeric:?}");
        assert_relative_eq!(
            analytic[..],
            numeric[..],
            max_relative = T::MAX_RELATIVE,
            epsilon = T::EPSILON
        );
        // The same through the crate's own checker.
        let report = check_gradient(
            |v: &[T]| original(v.try_into().expect("one value per parameter")),
            &point,
            &analytic,
        );
        assert!(report.passes(T::MAX_RELATIVE), "{name}: {report:?}");
    }
}

/// `check!(f(x, y) at [[1.0, 2.0], …])`: checks the function `f` and its module `f`.
macro_rules! check {
    ($f:ident($($p:ident),*) at $points:expr) => {
        check_points(
            stringify!($f),
            &$points,
            |[$($p),*]| $f($($p),*),
            |[$($p),*]| $f::forward($($p),*).0,
            |[$($p),*]| {
                let (value, grad) = $f::grad($($p),*);
                let _ = &grad; // no fields when there are no parameters
                (value, [$(grad.$p),*])
            },
        )
    };
}

// ---------------------------------------------------------------------------------------
// let

#[differentiate]
fn let_plain(x: f64, y: f64) -> f64 {
    let q = x + y;
    let r = q * x;
    r - y.sin()
}

#[differentiate]
fn let_annotated(x: f64, y: f64) -> f64 {
    let t: f64 = x * y;
    let u: f64 = t.exp() - x;
    u / (1.0 + y * y)
}

#[differentiate]
fn let_annotated_f32(x: f32, y: f32) -> f32 {
    let t: f32 = x * y;
    let u: f32 = t.exp() - x;
    u / (1.0 + y * y)
}

#[differentiate]
fn let_wildcard(x: f64, y: f64) -> f64 {
    let _ = y.ln();
    x * x
}

#[differentiate]
#[allow(clippy::let_and_return)]
fn let_alias(x: f64) -> f64 {
    let a = x;
    let b = a;
    let c = b * a;
    c
}

#[test]
fn let_bindings() {
    check!(let_plain(x, y) at [[0.5, 1.5], [-1.25, 2.0], [3.0, -0.75]]);
    check!(let_annotated(x, y) at [[0.5, 1.5], [-1.25, 0.25], [1.0, -0.75]]);
    check!(let_annotated_f32(x, y) at [[0.5, 1.5], [-1.25, 0.25], [1.0, -0.75]]);
    check!(let_wildcard(x, y) at [[0.5, 1.5], [-1.25, 2.0], [3.0, 0.75]]);
    assert_eq!(
        let_wildcard::grad(3.0, 2.0).1,
        let_wildcard::Grad { x: 6.0, y: 0.0 }
    );
    check!(let_alias(x) at [[0.5], [-1.25], [3.0]]);
    assert_eq!(let_alias::grad(3.0), (9.0, let_alias::Grad { x: 6.0 }));
}

// ---------------------------------------------------------------------------------------
// shadowing and blocks

#[differentiate]
fn shadowing(x: f64, y: f64) -> f64 {
    let x = x * x;
    let x = x + y;
    let y = x * y;
    x * y
}

#[differentiate]
fn shadowing_f32(x: f32, y: f32) -> f32 {
    let x = x * x;
    let x = x + y;
    let y = x * y;
    x * y
}

#[differentiate]
fn shadowing_in_a_block(x: f64) -> f64 {
    let a = x * 2.0;
    let b = {
        let a = a * a;
        a + 1.0
    };
    // `a` is the outer one again: 2x · (4x² + 1)
    a * b
}

#[differentiate]
fn nested_blocks(x: f64, y: f64) -> f64 {
    let s = {
        let t = x.sin();
        let v = {
            let u = t * y;
            u * u
        };
        v + t
    };
    s * {
        let w = x - y;
        w.exp()
    }
}

#[differentiate]
fn nested_blocks_f32(x: f32, y: f32) -> f32 {
    let s = {
        let t = x.sin();
        let v = {
            let u = t * y;
            u * u
        };
        v + t
    };
    s * {
        let w = x - y;
        w.exp()
    }
}

#[differentiate]
fn block_as_body_value(x: f64) -> f64 {
    {
        let t = x * 3.0;
        t.tanh()
    }
}

#[differentiate]
fn parenthesized(x: f64, y: f64) -> f64 {
    (x) * ((y) + (x))
}

/// Operators and methods whose meaning depends on precedence and grouping: the
/// generated code must keep every pair of parentheses that matters.
#[differentiate]
fn precedence(x: f64, y: f64) -> f64 {
    let a = x - (y - x * y) / (x * (y + 1.0)) * -(x + y);
    let b = -x.powi(2) + (-y).powi(3) - -x.exp() + x / y / (x - 3.0);
    let c = (x + y).sin() * (x - y).cos() - x / (y * 2.0) + x * -y;
    a - b * c - (a - b) / (c - x)
}

#[test]
fn shadowing_and_blocks() {
    check!(shadowing(x, y) at [[0.5, 1.5], [-1.25, 2.0], [3.0, -0.75]]);
    // (x² + y)²y, so ∂x = 4xy(x² + y) and ∂y = 2y(x² + y) + (x² + y)².
    let (value, grad) = shadowing::grad(3.0, 2.0);
    assert_eq!(value, 242.0);
    assert_eq!(grad, shadowing::Grad { x: 264.0, y: 165.0 });
    check!(shadowing_f32(x, y) at [[0.5, 1.5], [-1.25, 2.0], [3.0, -0.75]]);
    check!(shadowing_in_a_block(x) at [[0.5], [-1.25], [3.0]]);
    // 8x³ + 2x → 24x² + 2
    assert_eq!(shadowing_in_a_block::grad(3.0).1.x, 218.0);
    check!(nested_blocks(x, y) at [[0.5, 1.5], [-1.25, 2.0], [3.0, -0.75]]);
    check!(nested_blocks_f32(x, y) at [[0.5, 1.5], [-1.25, 2.0], [1.0, -0.75]]);
    check!(block_as_body_value(x) at [[0.25], [-0.125], [0.5]]);
    check!(parenthesized(x, y) at [[0.5, 1.5], [-1.25, 2.0], [3.0, -0.75]]);
    check!(precedence(x, y) at [[0.5, 1.5], [-1.25, 2.0], [2.0, -0.75]]);
    assert_eq!(
        parenthesized::grad(3.0, 2.0).1,
        parenthesized::Grad { x: 8.0, y: 3.0 }
    );
}

// ---------------------------------------------------------------------------------------
// return

#[differentiate]
#[allow(clippy::needless_return)]
fn final_return(x: f64, y: f64) -> f64 {
    let q = x * y;
    return q.sin() + x;
}

#[differentiate]
#[allow(clippy::needless_return)]
fn final_return_f32(x: f32, y: f32) -> f32 {
    let q = x * y;
    return q.sin() + x;
}

#[differentiate]
#[allow(clippy::needless_return)]
fn only_return(x: f64) -> f64 {
    return x * x * x;
}

#[test]
fn final_return_statement() {
    check!(final_return(x, y) at [[0.5, 1.5], [-1.25, 2.0], [3.0, -0.75]]);
    check!(final_return_f32(x, y) at [[0.5, 1.5], [-1.25, 2.0], [3.0, -0.75]]);
    check!(only_return(x) at [[0.5], [-1.25], [3.0]]);
    assert_eq!(only_return::grad(2.0), (8.0, only_return::Grad { x: 12.0 }));
}

// ---------------------------------------------------------------------------------------
// literals

#[differentiate]
fn literals(x: f64, y: f64) -> f64 {
    2.0 * x + 1e-3 * y * y + x / 2. - 2.5e1 * x * y + 0.5_f64 * y + 1E2
}

#[differentiate]
fn literals_f32(x: f32, y: f32) -> f32 {
    2.0 * x + 1e-3 * y * y + x / 2. - 2.5e1 * x * y + 0.5_f32 * y + 1E2
}

#[differentiate]
fn suffixed_literals(x: f64) -> f64 {
    2f64 * x.powi(3i32) + 0.5f64 * x + 1.0e0_f64
}

#[differentiate]
fn suffixed_literals_f32(x: f32) -> f32 {
    2f32 * x.powi(3_i32) + 0.5f32 * x + 1.0e0_f32
}

#[differentiate]
fn literal_receivers(x: f64) -> f64 {
    x * 2.0_f64.ln() + (-2.0_f64).exp() * x.powi(2)
}

#[differentiate]
fn literal_receivers_f32(x: f32) -> f32 {
    x * 2.0_f32.ln() + (-2.0_f32).exp() * x.powi(2)
}

#[differentiate]
fn folded_constants(x: f64) -> f64 {
    (2.0 * 3.0 + 1.0) * x + x * (1.0 / 3.0) - (4.0_f64).sqrt() * x
}

/// A folded constant that looks like a `std` one (`SQRT_2`) must not trip clippy.
mod folded_to_a_known_constant {
    use chainrule::differentiate;

    #[differentiate]
    pub fn sqrt_two(x: f64) -> f64 {
        x * 2.0_f64.sqrt()
    }
}

#[test]
fn float_literals() {
    check!(literals(x, y) at [[0.5, 1.5], [-1.25, 2.0], [3.0, -0.75]]);
    // ∂x = 2 + 1/2 − 25y, ∂y = 2e-3 y − 25x + 1/2
    let grad = literals::grad(3.0, 2.0).1;
    assert_eq!(grad.x, 2.0 + 0.5 - 25.0 * 2.0);
    assert_relative_eq!(grad.y, 2e-3 * 2.0 - 25.0 * 3.0 + 0.5, max_relative = 1e-15);
    check!(literals_f32(x, y) at [[0.5, 1.5], [-1.25, 2.0], [3.0, -0.75]]);
    check!(suffixed_literals(x) at [[0.5], [-1.25], [3.0]]);
    assert_eq!(suffixed_literals::grad(2.0).1.x, 24.5);
    check!(suffixed_literals_f32(x) at [[0.5], [-1.25], [3.0]]);
    check!(literal_receivers(x) at [[0.5], [-1.25], [3.0]]);
    check!(literal_receivers_f32(x) at [[0.5], [-1.25], [3.0]]);
    check!(folded_constants(x) at [[0.5], [-1.25], [3.0]]);
    assert_relative_eq!(
        folded_constants::grad(3.0).1.x,
        7.0 + 1.0 / 3.0 - 2.0,
        max_relative = 1e-15
    );
}

// ---------------------------------------------------------------------------------------
// named constants

const SCALE: f64 = 1.5;
const SCALE_F32: f32 = 1.5;

mod units {
    pub const SCALE: f64 = 0.25;
    pub const POWER: i32 = 3;

    pub mod nested {
        pub const OFFSET: f64 = -2.0;
    }
}

#[differentiate]
fn std_constant(x: f64) -> f64 {
    (std::f64::consts::PI * x).sin() + std::f64::consts::FRAC_1_SQRT_2 * x
}

#[differentiate]
fn std_constant_f32(x: f32) -> f32 {
    (std::f32::consts::PI * x).sin() + std::f32::consts::FRAC_1_SQRT_2 * x
}

#[differentiate]
fn core_constant(x: f64) -> f64 {
    core::f64::consts::LN_2 * x.exp() - core::f64::consts::SQRT_2
}

#[differentiate]
fn user_constant(x: f64, y: f64) -> f64 {
    SCALE * x * y + SCALE
}

#[differentiate]
fn user_constant_f32(x: f32, y: f32) -> f32 {
    SCALE_F32 * x * y + SCALE_F32
}

#[differentiate]
fn constant_by_path(x: f64) -> f64 {
    units::SCALE * x.powi(units::POWER) + units::nested::OFFSET * x
}

#[differentiate]
fn constant_by_crate_path(x: f64) -> f64 {
    crate::units::SCALE * x + crate::SCALE * x * x
}

#[differentiate]
fn constant_by_self_path(x: f64) -> f64 {
    self::units::SCALE * x.powi(self::units::POWER)
}

#[differentiate]
fn constant_as_method_receiver(x: f64) -> f64 {
    x * SCALE.ln() + std::f64::consts::PI.sin() * x
}

/// Constants brought into scope by `use`, renamed, and associated constants of the
/// float types.
mod imported {
    use super::units::SCALE as QUARTER;
    use chainrule::differentiate;
    use std::f64::consts::PI;

    #[differentiate]
    pub fn imported_constants(x: f64) -> f64 {
        (PI * x).cos() + QUARTER * x * x
    }

    #[differentiate]
    pub fn associated_constants(x: f64) -> f64 {
        x * (1.0 + f64::EPSILON) + f64::MIN_POSITIVE
    }

    #[differentiate]
    pub fn constant_result(_x: f64) -> f64 {
        QUARTER
    }
}

mod inner {
    use chainrule::differentiate;

    #[differentiate]
    pub fn constant_by_super_path(x: f64) -> f64 {
        super::SCALE * x * x + super::units::nested::OFFSET
    }
}

/// `f64::consts::E` needs the module `std::f64` in scope (the primitive type has no
/// `consts`), as in older code.
mod legacy_module_path {
    use chainrule::differentiate;
    use std::f64;

    #[differentiate]
    pub fn euler(x: f64) -> f64 {
        f64::consts::E * x * x
    }
}

#[test]
fn named_constants() {
    check!(std_constant(x) at [[0.5], [-1.25], [3.0]]);
    check!(std_constant_f32(x) at [[0.5], [-1.25], [0.75]]);
    check!(core_constant(x) at [[0.5], [-1.25], [3.0]]);
    check!(user_constant(x, y) at [[0.5, 1.5], [-1.25, 2.0], [3.0, -0.75]]);
    assert_eq!(
        user_constant::grad(2.0, 4.0).1,
        user_constant::Grad { x: 6.0, y: 3.0 }
    );
    check!(user_constant_f32(x, y) at [[0.5, 1.5], [-1.25, 2.0], [3.0, -0.75]]);
    check!(constant_by_path(x) at [[0.5], [-1.25], [3.0]]);
    // 0.25 · 3x² − 2 at x = 2: 1
    assert_eq!(constant_by_path::grad(2.0).1.x, 1.0);
    check!(constant_by_crate_path(x) at [[0.5], [-1.25], [3.0]]);
    check!(constant_by_self_path(x) at [[0.5], [-1.25], [3.0]]);
    check!(constant_as_method_receiver(x) at [[0.5], [-1.25], [3.0]]);

    use inner::constant_by_super_path;
    check!(constant_by_super_path(x) at [[0.5], [-1.25], [3.0]]);
    assert_eq!(constant_by_super_path::grad(2.0).1.x, 6.0);

    use imported::{associated_constants, constant_result, imported_constants};
    check!(imported_constants(x) at [[0.25], [-1.25], [3.0]]);
    // −π sin(πx) + 2 · 0.25x at x = 1/2
    assert_relative_eq!(
        imported_constants::grad(0.5).1.x,
        -std::f64::consts::PI + 0.25,
        max_relative = 1e-15
    );
    check!(associated_constants(x) at [[0.5], [-1.25], [3.0]]);
    assert_eq!(associated_constants::grad(2.0).1.x, 1.0 + f64::EPSILON);
    assert_eq!(
        constant_result::grad(2.0),
        (0.25, constant_result::Grad { _x: 0.0 })
    );

    use legacy_module_path::euler;
    check!(euler(x) at [[0.5], [-1.25], [3.0]]);
    assert_eq!(euler::grad(0.5).1.x, std::f64::consts::E);
}

// ---------------------------------------------------------------------------------------
// reuse: the gradients of every use add up

#[differentiate]
fn reused(x: f64, y: f64) -> f64 {
    x * x * x + x * y * x + x.exp() * x - x / (x + 1.0) + x.sin() * x.cos()
}

#[differentiate]
fn reused_f32(x: f32, y: f32) -> f32 {
    x * x * x + x * y * x + x.exp() * x - x / (x + 1.0) + x.sin() * x.cos()
}

#[differentiate]
fn summed(x: f64) -> f64 {
    x + x + x + x + x
}

#[differentiate]
fn reused_intermediate(x: f64, y: f64) -> f64 {
    let t = x * y;
    t + t * t + t.sin() + sigmoid(t) * t
}

#[test]
fn reused_variables() {
    check!(reused(x, y) at [[0.5, 1.5], [-0.5, 2.0], [2.0, -0.75]]);
    check!(reused_f32(x, y) at [[0.5, 1.5], [-0.5, 2.0], [2.0, -0.75]]);
    check!(summed(x) at [[0.5], [-1.25], [3.0]]);
    assert_eq!(summed::grad(0.7).1.x, 5.0);
    check!(reused_intermediate(x, y) at [[0.5, 1.5], [-1.25, 0.5], [1.0, -0.75]]);
}

// ---------------------------------------------------------------------------------------
// parameters that do not influence the result

#[differentiate]
fn underscore_parameter(x: f64, _y: f64) -> f64 {
    x * x
}

#[differentiate]
fn dead_binding(x: f64, y: f64) -> f64 {
    let _unused = y.exp() * x;
    x.sin()
}

#[differentiate]
#[allow(clippy::eq_op)]
fn cancelling(x: f64, y: f64) -> f64 {
    x * 3.0 + (y - y)
}

#[differentiate]
fn times_zero(x: f64, y: f64) -> f64 {
    x * 3.0 + y * 0.0
}

#[differentiate]
fn ignored_f32(x: f32, _y: f32, z: f32) -> f32 {
    let _ = z * z;
    x.exp()
}

#[test]
fn unused_parameters_get_exactly_zero() {
    for &(x, y) in &[(0.5, 1.5), (-1.25, 2.0), (3.0, -0.75)] {
        let (value, grad) = underscore_parameter::grad(x, y);
        assert_eq!(value, x * x);
        assert_eq!(grad, underscore_parameter::Grad { x: 2.0 * x, _y: 0.0 });

        let grad = dead_binding::grad(x, y).1;
        assert_eq!(grad.y, 0.0);
        assert_eq!(grad.x, x.cos());

        let grad = cancelling::grad(x, y).1;
        assert_eq!((grad.x, grad.y), (3.0, 0.0));

        let grad = times_zero::grad(x, y).1;
        assert_eq!((grad.x, grad.y), (3.0, 0.0));

        let (x32, y32) = (x as f32, y as f32);
        let grad = ignored_f32::grad(x32, y32, y32).1;
        assert_eq!(
            grad,
            ignored_f32::Grad {
                x: x32.exp(),
                _y: 0.0,
                z: 0.0
            }
        );
    }
    check!(underscore_parameter(x, _y) at [[0.5, 1.5], [-1.25, 2.0]]);
    check!(dead_binding(x, y) at [[0.5, 1.5], [-1.25, 2.0]]);
    check!(cancelling(x, y) at [[0.5, 1.5], [-1.25, 2.0]]);
    check!(times_zero(x, y) at [[0.5, 1.5], [-1.25, 2.0]]);
    check!(ignored_f32(x, _y, z) at [[0.5, 1.5, 2.0], [-1.25, 2.0, -0.5]]);
}

// ---------------------------------------------------------------------------------------
// constant functions, identity

#[differentiate]
fn constant(_x: f64) -> f64 {
    3.0
}

#[differentiate]
fn constant_expression(_x: f64, _y: f64) -> f64 {
    2.0 * std::f64::consts::PI + SCALE.exp()
}

#[differentiate]
fn constant_f32(_x: f32) -> f32 {
    -0.5
}

#[differentiate]
fn no_parameters() -> f64 {
    1.5 * SCALE
}

#[differentiate]
fn identity(x: f64) -> f64 {
    x
}

#[differentiate]
fn first(x: f64, _y: f64) -> f64 {
    x
}

#[test]
fn constant_functions() {
    for &x in &[0.5, -1.25, 3.0] {
        assert_eq!(constant::grad(x), (3.0, constant::Grad { _x: 0.0 }));
        let (value, grad) = constant_expression::grad(x, -x);
        assert_eq!(value, constant_expression(x, -x));
        assert_eq!(grad, constant_expression::Grad { _x: 0.0, _y: 0.0 });
        assert_eq!(
            constant_f32::grad(x as f32),
            (-0.5, constant_f32::Grad { _x: 0.0 })
        );
        assert_eq!(identity::grad(x), (x, identity::Grad { x: 1.0 }));
        assert_eq!(first::grad(x, 2.0), (x, first::Grad { x: 1.0, _y: 0.0 }));
    }
    assert_eq!(no_parameters::grad(), (2.25, no_parameters::Grad {}));
    assert_eq!(no_parameters::forward().0, no_parameters());
    check!(constant(_x) at [[0.5], [-1.25]]);
    check!(constant_expression(_x, _y) at [[0.5, 1.5], [-1.25, 2.0]]);
    check!(constant_f32(_x) at [[0.5], [-1.25]]);
    check!(no_parameters() at [[]]);
    check!(identity(x) at [[0.5], [-1.25]]);
    check!(first(x, _y) at [[0.5, 1.5], [-1.25, 2.0]]);
}

// ---------------------------------------------------------------------------------------
// many parameters

#[differentiate]
#[allow(clippy::too_many_arguments)]
fn nine(a: f64, b: f64, c: f64, d: f64, e: f64, f: f64, g: f64, h: f64, i: f64) -> f64 {
    a * b + c * d - e / f + g.sin() * h + i.exp() * a
}

#[differentiate]
#[allow(clippy::too_many_arguments)]
fn nine_f32(a: f32, b: f32, c: f32, d: f32, e: f32, f: f32, g: f32, h: f32, i: f32) -> f32 {
    a * b + c * d - e / f + g.sin() * h + i.exp() * a
}

#[test]
fn many_parameters() {
    check!(nine(a, b, c, d, e, f, g, h, i) at [
        [0.5, 1.5, -1.25, 2.0, 3.0, -0.75, 0.25, 1.0, -0.5],
        [1.0, -2.0, 0.5, 0.5, -1.0, 2.0, 1.5, -0.25, 0.75],
        [-0.5, 0.25, 2.0, -1.5, 0.125, 1.25, -1.0, 2.0, 0.0],
    ]);
    check!(nine_f32(a, b, c, d, e, f, g, h, i) at [
        [0.5, 1.5, -1.25, 2.0, 3.0, -0.75, 0.25, 1.0, -0.5],
        [1.0, -2.0, 0.5, 0.5, -1.0, 2.0, 1.5, -0.25, 0.75],
    ]);
    let grad = nine::grad(1.0, 2.0, 3.0, 4.0, 5.0, 2.0, 0.0, 7.0, 0.0).1;
    assert_eq!(
        grad,
        nine::Grad {
            a: 3.0,
            b: 1.0,
            c: 4.0,
            d: 3.0,
            e: -0.5,
            f: 1.25,
            g: 7.0,
            h: 0.0,
            i: 1.0
        }
    );
}

// ---------------------------------------------------------------------------------------
// names that the generated code uses itself

#[differentiate]
fn reserved_names(cache: f64, upstream: f64, value: f64, grad: f64) -> f64 {
    let backward = cache * upstream;
    let forward = backward + value * grad;
    forward * cache
}

#[differentiate]
fn adjoint_like_names(x: f64, d_x: f64) -> f64 {
    let d_d_x = x * d_x;
    d_d_x * x + d_x
}

#[differentiate]
fn raw_identifier(r#type: f64, r#match: f64) -> f64 {
    let r#loop = r#type * r#match;
    r#loop.sin()
}

#[differentiate]
fn same_name_as_function(same_name_as_function: f64) -> f64 {
    same_name_as_function * same_name_as_function
}

#[test]
fn generated_names_do_not_collide() {
    check!(reserved_names(cache, upstream, value, grad) at [[0.5, 1.5, -1.25, 2.0], [3.0, -0.75, 0.25, 1.0]]);
    let grad = reserved_names::grad(1.0, 2.0, 3.0, 4.0).1;
    // c²u + cvg
    assert_eq!(
        grad,
        reserved_names::Grad {
            cache: 2.0 * 2.0 + 12.0,
            upstream: 1.0,
            value: 4.0,
            grad: 3.0
        }
    );
    check!(adjoint_like_names(x, d_x) at [[0.5, 1.5], [-1.25, 2.0], [3.0, -0.75]]);
    // x² d + d
    assert_eq!(
        adjoint_like_names::grad(3.0, 2.0).1,
        adjoint_like_names::Grad { x: 12.0, d_x: 10.0 }
    );
    let (value, grad) = raw_identifier::grad(0.5, 1.5);
    assert_eq!(value, raw_identifier(0.5, 1.5));
    assert_eq!(grad.r#type, 1.5 * 0.75_f64.cos());
    assert_eq!(grad.r#match, 0.5 * 0.75_f64.cos());
    let grad = same_name_as_function::grad(3.0).1;
    assert_eq!(grad.same_name_as_function, 6.0);
}

// ---------------------------------------------------------------------------------------
// attributes and visibility

/// Documented, `#[inline]`, `#[must_use]`.
#[differentiate]
#[inline]
#[must_use]
fn with_attributes(x: f64) -> f64 {
    x.sin()
}

// A `cfg` after `#[differentiate]` applies to the module too: when it is false, neither
// exists (and nothing refers to the missing function).
#[differentiate]
#[cfg(not(test))]
fn configured_out(x: f64) -> f64 {
    x
}

#[differentiate]
#[cfg(test)]
fn configured_in(x: f64) -> f64 {
    x * 4.0
}

mod visibility {
    use chainrule::differentiate;

    #[differentiate]
    pub(crate) fn crate_visible(x: f64, y: f64) -> f64 {
        x * y
    }

    pub mod deeper {
        use chainrule::differentiate;

        #[differentiate]
        pub(super) fn parent_visible(x: f64) -> f64 {
            x * x
        }

        #[differentiate]
        pub(in crate::visibility) fn path_visible(x: f64) -> f64 {
            -x
        }
    }

    pub fn from_parent(x: f64) -> (f64, f64) {
        (
            deeper::parent_visible::grad(x).1.x,
            deeper::path_visible::grad(x).1.x,
        )
    }
}

#[test]
fn attributes_and_visibility() {
    check!(with_attributes(x) at [[0.5], [-1.25], [3.0]]);
    assert_eq!(configured_in::grad(2.0), (8.0, configured_in::Grad { x: 4.0 }));
    check!(configured_in(x) at [[0.5], [-1.25]]);
    let grad = visibility::crate_visible::grad(2.0, 3.0).1;
    assert_eq!(grad, visibility::crate_visible::Grad { x: 3.0, y: 2.0 });
    assert_eq!(visibility::from_parent(3.0), (6.0, -1.0));
}

// ---------------------------------------------------------------------------------------
// composed expressions

#[differentiate]
fn rosenbrock(x: f64, y: f64) -> f64 {
    (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2)
}

#[differentiate]
fn rosenbrock_f32(x: f32, y: f32) -> f32 {
    (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2)
}

#[differentiate]
fn softplus(x: f64) -> f64 {
    (1.0 + x.exp()).ln()
}

#[differentiate]
fn softplus_f32(x: f32) -> f32 {
    (1.0 + x.exp()).ln()
}

#[differentiate]
fn sigmoid_written_out(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[differentiate]
fn sigmoid_written_out_f32(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[differentiate]
fn sigmoid_exp_first(x: f64) -> f64 {
    1.0 / ((-x).exp() + 1.0)
}

#[differentiate]
fn sigmoid_recip(x: f64) -> f64 {
    (1.0 + f64::exp(-x)).recip()
}

/// Not a sigmoid: 1/(1 + eˣ) = σ(−x).
#[differentiate]
fn sigmoid_of_minus(x: f64) -> f64 {
    1.0 / (1.0 + x.exp())
}

/// Not a sigmoid either: 2σ(x).
#[differentiate]
fn twice_sigmoid(x: f64) -> f64 {
    2.0 / (1.0 + (-x).exp())
}

#[differentiate]
fn logistic_loss(w: f64, b: f64, x: f64, y: f64) -> f64 {
    let p = sigmoid(w * x + b);
    -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
}

#[differentiate]
fn log_sum_exp(a: f64, b: f64, c: f64) -> f64 {
    let m = a.max(b).max(c);
    m + ((a - m).exp() + (b - m).exp() + (c - m).exp()).ln()
}

#[differentiate]
fn two_layer(x: f64, w1: f64, b1: f64, w2: f64, b2: f64) -> f64 {
    let hidden = relu(w1 * x + b1);
    let out = sigmoid(w2 * hidden + b2);
    (out - 0.25).powi(2)
}

#[differentiate]
fn gaussian(x: f64, mu: f64, sigma: f64) -> f64 {
    let z = (x - mu) / sigma;
    (-0.5 * z * z).exp() / (sigma * (2.0 * std::f64::consts::PI).sqrt())
}

#[differentiate]
fn gaussian_f32(x: f32, mu: f32, sigma: f32) -> f32 {
    let z = (x - mu) / sigma;
    (-0.5 * z * z).exp() / (sigma * (2.0 * std::f32::consts::PI).sqrt())
}

#[differentiate]
fn polar(r: f64, theta: f64) -> f64 {
    let x = r * theta.cos();
    let y = r * theta.sin();
    y.atan2(x) + x.hypot(y) + (x * y).abs().sqrt()
}

#[test]
fn composed_expressions() {
    check!(rosenbrock(x, y) at [[0.5, 1.5], [-1.25, 2.0], [2.0, -0.75]]);
    // the minimum: exactly zero gradient
    assert_eq!(
        rosenbrock::grad(1.0, 1.0),
        (0.0, rosenbrock::Grad { x: 0.0, y: 0.0 })
    );
    // ∂x = −2(1 − x) − 400x(y − x²), ∂y = 200(y − x²)
    assert_eq!(
        rosenbrock::grad(0.5, 1.5).1,
        rosenbrock::Grad { x: -251.0, y: 250.0 }
    );
    check!(rosenbrock_f32(x, y) at [[0.5, 1.5], [-1.25, 2.0], [2.0, -0.75]]);
    check!(softplus(x) at [[0.5], [-1.25], [3.0]]);
    assert_eq!(softplus::grad(0.0).1.x, 0.5);
    check!(softplus_f32(x) at [[0.5], [-1.25], [3.0]]);
    for &x in &[-3.0, -0.5, 0.0, 0.75, 4.0] {
        let expected = sigmoid_written_out::grad(x);
        assert_eq!(expected.0, sigmoid(x));
        assert_eq!(
            sigmoid_exp_first::grad(x),
            (expected.0, sigmoid_exp_first::Grad { x: expected.1.x })
        );
        assert_eq!(
            sigmoid_recip::grad(x),
            (expected.0, sigmoid_recip::Grad { x: expected.1.x })
        );
    }
    check!(sigmoid_written_out(x) at [[0.5], [-1.25], [3.0]]);
    check!(sigmoid_written_out_f32(x) at [[0.5], [-1.25], [3.0]]);
    check!(sigmoid_exp_first(x) at [[0.5], [-1.25], [3.0]]);
    check!(sigmoid_recip(x) at [[0.5], [-1.25], [3.0]]);
    check!(sigmoid_of_minus(x) at [[0.5], [-1.25], [3.0]]);
    check!(twice_sigmoid(x) at [[0.5], [-1.25], [3.0]]);
    check!(logistic_loss(w, b, x, y) at [[0.5, -0.25, 1.5, 1.0], [-1.25, 0.5, 2.0, 0.0], [2.0, 1.0, -0.75, 0.25]]);
    check!(log_sum_exp(a, b, c) at [[0.5, -0.25, 1.5], [-1.25, 0.5, 2.0], [2.0, 1.0, -0.75]]);
    check!(two_layer(x, w1, b1, w2, b2) at [[0.5, 1.5, -0.25, 2.0, -1.0], [1.0, -0.5, 0.25, 1.5, 0.5], [-2.0, 1.0, 0.5, -1.0, 0.25]]);
    check!(gaussian(x, mu, sigma) at [[0.5, -0.25, 1.5], [-1.25, 0.5, 2.0], [2.0, 1.0, 0.75]]);
    check!(gaussian_f32(x, mu, sigma) at [[0.5, -0.25, 1.5], [-1.25, 0.5, 2.0], [2.0, 1.0, 0.75]]);
    check!(polar(r, theta) at [[0.5, 0.25], [2.0, 1.0], [1.5, 2.0]]);
}

/// A float cast to an integer: a table lookup by the integer part, linear interpolation
/// between entries (differentiable in `x` through the fraction, in the table everywhere).
#[differentiate]
fn interpolate(x: f64, table: [f64; 5]) -> f64 {
    let h = 0.5;
    let k = ((x / h) as usize).min(3);
    let t = x / h - k as f64;
    table[k] * (1.0 - t) + table[k + 1] * t
}

#[differentiate]
fn interpolate_f32(x: f32, table: [f32; 5]) -> f32 {
    let k = ((x * 2.0) as i32).clamp(0, 3) as usize;
    let t = x * 2.0 - k as f32;
    table[k] * (1.0 - t) + table[k + 1] * t
}

#[test]
fn float_to_integer_casts() {
    let table = [1.0, 3.0, 2.0, -1.0, 0.5];
    for x in [0.2, 0.7, 1.3, 1.9] {
        let (value, grad) = interpolate::grad(x, table);
        assert_eq!(value, interpolate(x, table));
        let k = (x / 0.5) as usize;
        let t = x / 0.5 - k as f64;
        // ∂/∂x = (table[k + 1] − table[k]) / h; ∂/∂table[k] = 1 − t, ∂/∂table[k + 1] = t.
        assert_relative_eq!(grad.x, (table[k + 1] - table[k]) / 0.5, max_relative = 1e-12);
        let mut expected = [0.0; 5];
        expected[k] = 1.0 - t;
        expected[k + 1] = t;
        assert_eq!(grad.table, expected);
        let single: [f32; 5] = table.map(|v| v as f32);
        let (value, grad) = interpolate_f32::grad(x as f32, single);
        assert_eq!(value, interpolate_f32(x as f32, single));
        assert_relative_eq!(grad.x, (single[k + 1] - single[k]) * 2.0, max_relative = 1e-5);
    }
    // NaN casts to 0, as Rust does; below 0 saturates at 0.
    assert_eq!(interpolate::grad(-0.4, table).0, interpolate(-0.4, table));
    assert!(interpolate::grad(f64::NAN, table).0.is_nan());
}
