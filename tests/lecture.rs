//! The lecture's two worked examples, to the last bit.

use chainrule::{differentiate, sigmoid};

#[differentiate]
fn f(x: f64, y: f64, z: f64) -> f64 {
    let q = x + y;
    q * z
}

#[differentiate]
fn neuron(w0: f64, x0: f64, w1: f64, x1: f64, w2: f64) -> f64 {
    sigmoid(w0 * x0 + w1 * x1 + w2)
}

#[differentiate]
fn neuron_written_out(w0: f64, x0: f64, w1: f64, x1: f64, w2: f64) -> f64 {
    let dot = w0 * x0 + w1 * x1 + w2;
    1.0 / (1.0 + (-dot).exp())
}

#[differentiate]
fn neuron_path_exp(w0: f64, x0: f64, w1: f64, x1: f64, w2: f64) -> f64 {
    let dot = w0 * x0 + w1 * x1 + w2;
    1.0 / (1.0 + f64::exp(-dot))
}

#[differentiate]
fn neuron_recip(w0: f64, x0: f64, w1: f64, x1: f64, w2: f64) -> f64 {
    let dot = w0 * x0 + w1 * x1 + w2;
    (1.0 + (-dot).exp()).recip()
}

#[test]
fn simple_expression() {
    let (value, grad) = f::grad(-2.0, 5.0, -4.0);
    assert_eq!(value, -12.0);
    assert_eq!(
        grad,
        f::Grad {
            x: -4.0,
            y: -4.0,
            z: 3.0
        }
    );
    assert_eq!(value, self::f(-2.0, 5.0, -4.0));
}

const NEURON_VALUE: f64 = 0.7310585786300049;
const NEURON_GRAD: [f64; 5] = [
    -0.19661193324148185,
    0.3932238664829637,
    -0.3932238664829637,
    -0.5898357997244456,
    0.19661193324148185,
];

macro_rules! check_neuron {
    ($name:ident) => {{
        let (value, g) = $name::grad(2.0, -1.0, -3.0, -2.0, -3.0);
        assert_eq!(value, NEURON_VALUE, "{}", stringify!($name));
        assert_eq!(
            [g.w0, g.x0, g.w1, g.x1, g.w2],
            NEURON_GRAD,
            "{}",
            stringify!($name)
        );
    }};
}

#[test]
fn sigmoid_neuron() {
    check_neuron!(neuron);
    check_neuron!(neuron_written_out);
    check_neuron!(neuron_path_exp);
    check_neuron!(neuron_recip);
}
