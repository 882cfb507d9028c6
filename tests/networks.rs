//! Small neural networks written with arrays, slices and loops under `#[differentiate]`:
//! the lecture's sigmoid neuron (exactly, to the bit), two- and three-layer ReLU/tanh nets
//! with a squared-error loss, the same with slices and `wrt(…)`, a multiclass hinge loss
//! with an integer label, and a linear model's mean squared error over slices of runtime
//! length. Every gradient is checked against central differences (`check!`, see
//! `support/mod.rs`) and, where it is easy to write, against backpropagation by hand.

#[macro_use]
mod support;

use approx::assert_relative_eq;
use chainrule::{differentiate, relu, sigmoid};
use support::{Flatten, Points};

// ---------------------------------------------------------------------------------------
// The lecture's neuron, with arrays

/// The natural loop: the bias first, then the products.
#[differentiate]
fn neuron(w: [f64; 3], x: [f64; 2]) -> f64 {
    let mut dot = w[2];
    for i in 0..2 {
        dot += w[i] * x[i];
    }
    sigmoid(dot)
}

/// The lecture's order: w0·x0 + w1·x1 + w2.
#[differentiate]
fn neuron_in_lecture_order(w: [f64; 3], x: [f64; 2]) -> f64 {
    sigmoid(w[0] * x[0] + w[1] * x[1] + w[2])
}

/// The sigmoid written out, the dot product in a loop over `enumerate`.
#[differentiate]
fn neuron_written_out(w: [f64; 3], x: [f64; 2]) -> f64 {
    let mut dot = 0.0;
    for (i, xi) in x.iter().enumerate() {
        dot += w[i] * xi;
    }
    dot += w[2];
    1.0 / (1.0 + (-dot).exp())
}

const W: [f64; 3] = [2.0, -3.0, -3.0];
const X: [f64; 2] = [-1.0, -2.0];
const VALUE: f64 = 0.7310585786300049;
const GRAD_W: [f64; 3] = [-0.19661193324148185, -0.3932238664829637, 0.19661193324148185];
const GRAD_X: [f64; 2] = [0.3932238664829637, -0.5898357997244456];

macro_rules! check_neuron {
    ($name:ident) => {{
        let name = stringify!($name);
        assert_eq!($name(W, X), VALUE, "{name}");
        let (value, g) = $name::grad(W, X);
        assert_eq!(value, VALUE, "{name}");
        assert_eq!(g.w, GRAD_W, "{name}: ∂w");
        assert_eq!(g.x, GRAD_X, "{name}: ∂x");
        let (value, cache) = $name::forward(W, X);
        assert_eq!(value, VALUE, "{name}");
        assert_eq!($name::backward(&cache, 1.0), g, "{name}");
        // Everywhere else, central differences.
        check!($name(w, x) at [[2.0, -3.0, -3.0, -1.0, -2.0], [0.5, 1.5, -0.25, 0.75, -1.25]]);
    }};
}

#[test]
fn lecture_neuron_with_arrays_to_the_bit() {
    check_neuron!(neuron);
    check_neuron!(neuron_in_lecture_order);
    check_neuron!(neuron_written_out);
}

// ---------------------------------------------------------------------------------------
// Two layers: (W2 · max(0, W1 x + b1) + b2 - target)²

#[differentiate]
fn two_layer(w1: [[f64; 4]; 3], b1: [f64; 3], w2: [f64; 3], b2: f64, x: [f64; 4], target: f64) -> f64 {
    let mut h = [0.0; 3];
    for i in 0..3 {
        let mut z = b1[i];
        for j in 0..4 {
            z += w1[i][j] * x[j];
        }
        h[i] = z.max(0.0);
    }
    let mut out = b2;
    for i in 0..3 {
        out += w2[i] * h[i];
    }
    let err = out - target;
    err * err
}

/// The same with `wrt`: the weights only (no field for `x` or `target`).
#[differentiate(wrt(w1, b1, w2, b2))]
fn two_layer_weights(
    w1: [[f64; 4]; 3],
    b1: [f64; 3],
    w2: [f64; 3],
    b2: f64,
    x: [f64; 4],
    target: f64,
) -> f64 {
    let mut h = [0.0; 3];
    for i in 0..3 {
        let mut z = b1[i];
        for j in 0..4 {
            z += w1[i][j] * x[j];
        }
        h[i] = z.max(0.0);
    }
    let mut out = b2;
    for i in 0..3 {
        out += w2[i] * h[i];
    }
    let err = out - target;
    err * err
}

/// The same with slices of runtime length (`w1` row-major, `b1.len()` hidden units) and
/// `wrt` on the weights.
#[differentiate(wrt(w1, b1, w2, b2))]
fn two_layer_slices(w1: &[f64], b1: &[f64], w2: &[f64], b2: f64, x: &[f64], target: f64) -> f64 {
    let inputs = x.len();
    let mut out = b2;
    for i in 0..b1.len() {
        let mut z = b1[i];
        for j in 0..inputs {
            z += w1[i * inputs + j] * x[j];
        }
        out += w2[i] * relu(z);
    }
    let err = out - target;
    err * err
}

/// Backpropagation by hand, as in the lecture: (loss, ∂W1, ∂b1, ∂W2, ∂b2).
type TwoLayerGrad = (f64, [[f64; 4]; 3], [f64; 3], [f64; 3], f64);

fn two_layer_by_hand(
    w1: [[f64; 4]; 3],
    b1: [f64; 3],
    w2: [f64; 3],
    b2: f64,
    x: [f64; 4],
    target: f64,
) -> TwoLayerGrad {
    let z: [f64; 3] = std::array::from_fn(|i| b1[i] + (0..4).map(|j| w1[i][j] * x[j]).sum::<f64>());
    let h = z.map(|z| z.max(0.0));
    let out = b2 + (0..3).map(|i| w2[i] * h[i]).sum::<f64>();
    let err = out - target;
    let d_out = 2.0 * err;
    let d_w2 = h.map(|h| d_out * h);
    let d_z: [f64; 3] = std::array::from_fn(|i| if z[i] > 0.0 { d_out * w2[i] } else { 0.0 });
    let d_w1 = std::array::from_fn(|i| x.map(|x| d_z[i] * x));
    (err * err, d_w1, d_z, d_w2, d_out)
}

/// The two-layer net's arguments (W1, b1, W2, b2, x, target).
type TwoLayerArgs = ([[f64; 4]; 3], [f64; 3], [f64; 3], f64, [f64; 4], f64);

/// Unpacks a flat point of the two-layer net.
fn two_layer_point(p: &[f64]) -> TwoLayerArgs {
    let mut values = p.iter().copied();
    let unpacked = (
        support::take(&mut values),
        support::take(&mut values),
        support::take(&mut values),
        support::take(&mut values),
        support::take(&mut values),
        support::take(&mut values),
    );
    assert!(values.next().is_none());
    unpacked
}

/// Random points of the two-layer net whose hidden pre-activations are all at least 0.05
/// away from the ReLU's kink (central differences step about 1e-5 there), some units
/// active and some not.
fn two_layer_points(seed: u64, count: usize) -> Vec<Vec<f64>> {
    let mut random = Points::new(seed);
    let mut points = Vec::new();
    while points.len() < count {
        let mut p = random.point(12 + 3 + 3 + 1 + 4 + 1);
        p[22] *= 3.0; // a target in [-3, 3)
        let (w1, b1, _, _, x, _) = two_layer_point(&p);
        let z: Vec<f64> = (0..3)
            .map(|i| b1[i] + (0..4).map(|j| w1[i][j] * x[j]).sum::<f64>())
            .collect();
        let active = z.iter().filter(|&&z| z > 0.0).count();
        if z.iter().all(|z| z.abs() > 0.05) && (1..3).contains(&active) {
            points.push(p);
        }
    }
    points
}

#[test]
fn two_layer_net_matches_central_differences() {
    let points = two_layer_points(1, 6);
    check!(two_layer(w1, b1, w2, b2, x, target) at points);
    // The weights-only version, with x and target given.
    for p in &points {
        let (_, _, _, _, x, target) = two_layer_point(p);
        check!(two_layer_weights(w1, b1, w2, b2, x = x, target = target) at [&p[..19]]);
    }
}

#[test]
#[allow(clippy::needless_range_loop)]
fn two_layer_net_matches_backpropagation_by_hand() {
    for p in two_layer_points(2, 8) {
        let (w1, b1, w2, b2, x, target) = two_layer_point(&p);
        let (loss, d_w1, d_b1, d_w2, d_b2) = two_layer_by_hand(w1, b1, w2, b2, x, target);
        let (value, g) = two_layer::grad(w1, b1, w2, b2, x, target);
        assert_relative_eq!(value, loss, max_relative = 1e-14);
        for i in 0..3 {
            for j in 0..4 {
                assert_relative_eq!(g.w1[i][j], d_w1[i][j], max_relative = 1e-13, epsilon = 1e-15);
            }
            assert_relative_eq!(g.b1[i], d_b1[i], max_relative = 1e-13, epsilon = 1e-15);
            assert_relative_eq!(g.w2[i], d_w2[i], max_relative = 1e-13, epsilon = 1e-15);
        }
        assert_relative_eq!(g.b2, d_b2, max_relative = 1e-13);
        // wrt: the same numbers, and only the weights' fields.
        let (value, weights) = two_layer_weights::grad(w1, b1, w2, b2, x, target);
        assert_eq!(value, two_layer(w1, b1, w2, b2, x, target));
        let two_layer_weights::Grad {
            w1: g_w1,
            b1: g_b1,
            w2: g_w2,
            b2: g_b2,
        } = weights;
        assert_eq!((g_w1, g_b1, g_w2, g_b2), (g.w1, g.b1, g.w2, g.b2));
    }
}

#[test]
fn two_layer_net_with_slices() {
    for p in two_layer_points(3, 4) {
        let (w1, b1, w2, b2, x, target) = two_layer_point(&p);
        let flat_w1 = w1.as_flattened().to_vec();
        // Central differences over the weights, x and target given.
        check!(two_layer_slices(w1: 12, b1: 3, w2: 3, b2, x = &x, target = target) at [&p[..19]]);
        // The same value and gradient as the fixed-size version (the same operations in
        // the same order; ReLU is `relu` here, `max(0.0)` there).
        let (value, g) = two_layer_slices::grad(&flat_w1, &b1, &w2, b2, &x, target);
        let (fixed_value, fixed) = two_layer::grad(w1, b1, w2, b2, x, target);
        assert_relative_eq!(value, fixed_value, max_relative = 1e-15);
        assert_eq!(g.w1.len(), 12);
        assert_eq!(g.b1.len(), 3);
        assert_eq!(g.w2.len(), 3);
        let mut expected = Vec::new();
        fixed.w1.flatten_into(&mut expected);
        fixed.b1.flatten_into(&mut expected);
        fixed.w2.flatten_into(&mut expected);
        expected.push(fixed.b2);
        let mut got = Vec::new();
        g.w1.flatten_into(&mut got);
        g.b1.flatten_into(&mut got);
        g.w2.flatten_into(&mut got);
        got.push(g.b2);
        assert_relative_eq!(got[..], expected[..], max_relative = 1e-13, epsilon = 1e-15);
        // `Grad` holds vectors: Clone, and exactly the weights' fields.
        let two_layer_slices::Grad {
            w1: _,
            b1: _,
            w2: _,
            b2: _,
        } = g.clone();
    }
    // Other sizes: 2 inputs, 5 hidden units.
    let mut random = Points::new(4);
    let p = random.point(10 + 5 + 5 + 1);
    check!(two_layer_slices(w1: 10, b1: 5, w2: 5, b2, x = &[0.75, -1.5], target = 0.5) at [p]);
}

// ---------------------------------------------------------------------------------------
// Three layers: ReLU, tanh, linear; squared error

#[allow(clippy::too_many_arguments)]
#[differentiate]
fn three_layer(
    w1: [[f64; 4]; 5],
    b1: [f64; 5],
    w2: [[f64; 5]; 3],
    b2: [f64; 3],
    w3: [f64; 3],
    b3: f64,
    x: [f64; 4],
    target: f64,
) -> f64 {
    let mut h1 = [0.0; 5];
    for i in 0..5 {
        let mut z = b1[i];
        for j in 0..4 {
            z += w1[i][j] * x[j];
        }
        h1[i] = relu(z);
    }
    let mut h2 = [0.0; 3];
    for i in 0..3 {
        let mut z = b2[i];
        for j in 0..5 {
            z += w2[i][j] * h1[j];
        }
        h2[i] = z.tanh();
    }
    let mut out = b3;
    for i in 0..3 {
        out += w3[i] * h2[i];
    }
    (out - target) * (out - target)
}

const THREE_LAYER_LEN: usize = 20 + 5 + 15 + 3 + 3 + 1 + 4 + 1;

#[test]
fn three_layer_net_matches_central_differences() {
    let mut random = Points::new(5);
    let mut points = Vec::new();
    while points.len() < 4 {
        let p = random.point(THREE_LAYER_LEN);
        // The first layer's pre-activations away from the kink.
        let (w1, b1, x) = (&p[..20], &p[20..25], &p[46..50]);
        let z: Vec<f64> = (0..5)
            .map(|i| b1[i] + (0..4).map(|j| w1[i * 4 + j] * x[j]).sum::<f64>())
            .collect();
        if z.iter().all(|z| z.abs() > 0.05) && z.iter().any(|&z| z > 0.0) {
            points.push(p);
        }
    }
    check!(three_layer(w1, b1, w2, b2, w3, b3, x, target) at points);
}

// ---------------------------------------------------------------------------------------
// Multiclass hinge loss (SVM), integer labels

/// Σ_{c ≠ y} max(0, s_c - s_y + 1), s = W x.
#[differentiate]
fn svm_loss(w: [[f64; 4]; 3], x: [f64; 4], y: usize) -> f64 {
    let mut scores = [0.0; 3];
    for c in 0..3 {
        for j in 0..4 {
            scores[c] += w[c][j] * x[j];
        }
    }
    let mut loss = 0.0;
    for c in 0..3 {
        if c != y {
            loss += (scores[c] - scores[y] + 1.0).max(0.0);
        }
    }
    loss
}

/// The same over a batch: `xs` holds one row of 2 features per label; the mean loss.
#[differentiate(wrt(w))]
fn svm_batch(w: [[f64; 2]; 3], xs: &[f64], labels: &[usize]) -> f64 {
    let mut total = 0.0;
    for n in 0..labels.len() {
        let y = labels[n];
        let mut scores = [0.0; 3];
        for c in 0..3 {
            scores[c] = w[c][0] * xs[2 * n] + w[c][1] * xs[2 * n + 1];
        }
        for c in 0..3 {
            if c != y {
                total += (scores[c] - scores[y] + 1.0).max(0.0);
            }
        }
    }
    total / (labels.len() as f64)
}

/// The margins s_c - s_y + 1 of one example.
fn margins(w: &[[f64; 4]; 3], x: &[f64; 4], y: usize) -> [f64; 3] {
    let s: [f64; 3] = std::array::from_fn(|c| (0..4).map(|j| w[c][j] * x[j]).sum());
    std::array::from_fn(|c| s[c] - s[y] + 1.0)
}

#[test]
fn multiclass_hinge_loss() {
    let mut random = Points::new(6);
    for y in 0..3 {
        let mut points = Vec::new();
        while points.len() < 4 {
            let p = random.point(16);
            let mut values = p.iter().copied();
            let (w, x): ([[f64; 4]; 3], [f64; 4]) = (support::take(&mut values), support::take(&mut values));
            let m = margins(&w, &x, y);
            if (0..3).filter(|&c| c != y).all(|c| m[c].abs() > 0.05) {
                points.push(p);
            }
        }
        check!(svm_loss(w, x, y = y) at points);
    }
    // By hand: each class with a positive margin pushes its row by +x and the label's by -x.
    let w = [
        [0.5, -0.25, 1.0, 0.0],
        [0.25, 0.5, -0.5, 1.0],
        [-1.0, 0.75, 0.25, 0.5],
    ];
    let x = [1.0, 2.0, -1.0, 0.5];
    // s = [-1, 2.25, 0.5]; y = 0: margins 4.25 and 2.5, both positive.
    let (loss, g) = svm_loss::grad(w, x, 0);
    assert_eq!(loss, 6.75);
    assert_eq!(
        g.w,
        [
            [-2.0, -4.0, 2.0, -1.0],
            [1.0, 2.0, -1.0, 0.5],
            [1.0, 2.0, -1.0, 0.5]
        ]
    );
    // y = 1: margins -2.25 and -0.75, both negative: no loss, no gradient.
    let (loss, g) = svm_loss::grad(w, x, 1);
    assert_eq!(loss, 0.0);
    assert_eq!(g.w, [[0.0; 4]; 3]);
    // x's gradient: Σ over active classes of (w_c - w_y).
    let (_, g) = svm_loss::grad(w, x, 0);
    let expected: [f64; 4] = std::array::from_fn(|j| w[1][j] - w[0][j] + w[2][j] - w[0][j]);
    assert_eq!(g.x, expected);
}

#[test]
fn multiclass_hinge_loss_over_a_batch() {
    let labels = [0, 2, 1, 1, 0];
    let xs = [0.5, -1.0, 1.5, 0.25, -0.75, 2.0, 1.0, 1.0, -0.5, -0.5];
    check!(svm_batch(w, xs = &xs, labels = &labels) at [
        [0.5, -0.25, 1.0, 0.0, 0.25, 0.5],
                // Some margins negative (inactive), none within 0.09 of the kink.
        [-1.0, 0.625, 0.375, 0.5, 1.25, -1.125],
    ]);
    // At the first point every margin is active: row c gets (Σ_{yₙ≠c} xₙ - 2 Σ_{yₙ=c} xₙ) / 5.
    let svm_batch::Grad { w } = svm_batch::grad([[0.5, -0.25], [1.0, 0.0], [0.25, 0.5]], &xs, &labels).1;
    let expected = [0.35, 1.25, 0.2, -1.45, -0.55, 0.2];
    assert_relative_eq!(w.as_flattened(), &expected[..], max_relative = 1e-14);
}

// ---------------------------------------------------------------------------------------
// Mean squared error of a linear model, slices of runtime length

/// (1/N) Σₙ (w · xₙ - yₙ)², `xs` holding N rows of `w.len()` features.
#[differentiate]
fn mse(w: &[f64], xs: &[f64], ys: &[f64]) -> f64 {
    let d = w.len();
    let mut total = 0.0;
    for n in 0..ys.len() {
        let mut prediction = 0.0;
        for j in 0..d {
            prediction += w[j] * xs[n * d + j];
        }
        let err = prediction - ys[n];
        total += err * err;
    }
    total / (ys.len() as f64)
}

#[test]
fn mean_squared_error_over_slices() {
    let mut random = Points::new(7);
    for (d, n) in [(1, 1), (2, 3), (3, 5), (4, 10)] {
        let p = random.point(d + n * d + n);
        check!(mse(w: d, xs: (n * d), ys: n) at [&p[..]]);
        // Closed form: ∂/∂w = (2/N) Σₙ (w · xₙ - yₙ) xₙ; ∂/∂yₙ = -(2/N)(w · xₙ - yₙ).
        let (w, xs, ys) = (&p[..d], &p[d..d + n * d], &p[d + n * d..]);
        let errors: Vec<f64> = (0..n)
            .map(|k| (0..d).map(|j| w[j] * xs[k * d + j]).sum::<f64>() - ys[k])
            .collect();
        let g = mse::grad(w, xs, ys).1;
        assert_eq!((g.w.len(), g.xs.len(), g.ys.len()), (d, n * d, n));
        for j in 0..d {
            let expected = 2.0 / n as f64 * (0..n).map(|k| errors[k] * xs[k * d + j]).sum::<f64>();
            assert_relative_eq!(g.w[j], expected, max_relative = 1e-12, epsilon = 1e-14);
        }
        for (g, error) in g.ys.iter().zip(&errors) {
            assert_relative_eq!(*g, -2.0 / n as f64 * error, max_relative = 1e-12, epsilon = 1e-14);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Grad: Copy with fixed arrays, Clone with vectors

fn assert_copy<T: Copy>() {}
fn assert_clone<T: Clone>() {}

#[test]
fn grad_types() {
    assert_copy::<neuron::Grad>();
    assert_copy::<two_layer::Grad>();
    assert_copy::<two_layer_weights::Grad>();
    assert_copy::<three_layer::Grad>();
    assert_copy::<svm_loss::Grad>();
    assert_clone::<two_layer_slices::Grad>();
    assert_clone::<mse::Grad>();
    let g = two_layer::grad([[0.5; 4]; 3], [0.1; 3], [1.0; 3], 0.0, [1.0; 4], 1.0).1;
    let copy = g;
    assert_eq!(copy, g);
    let g = mse::grad(&[1.0, 2.0], &[1.0, 0.0, 0.0, 1.0], &[0.5, 1.5]).1;
    let clone = g.clone();
    assert_eq!(clone, g);
    // (1·1 - 0.5)² + (2·1 - 1.5)² over 2: ∂w = [0.5, 0.5], ∂ys = [-0.5, -0.5].
    assert_eq!(clone.w, vec![0.5, 0.5]);
    assert_eq!(clone.ys, vec![-0.5, -0.5]);
}
