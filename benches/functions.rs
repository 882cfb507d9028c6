//! The benchmarked functions, each as a `#[differentiate]` function and as a hand-written
//! analytic gradient (the limit), with their points: shared by `benches/gradients.rs` and the
//! peer comparison `benches/peers/benches/peers.rs`, which include this file by path.

use chainrule::differentiate;

// ---------------------------------------------------------------------------------------------
// The lecture's neuron, five scalars

#[differentiate]
pub fn neuron_scalar(w0: f64, x0: f64, w1: f64, x1: f64, w2: f64) -> f64 {
    let dot = w0 * x0 + w1 * x1 + w2;
    1.0 / (1.0 + (-dot).exp())
}

/// (value, [∂w0, ∂x0, ∂w1, ∂x1, ∂w2]).
pub fn neuron_scalar_by_hand(w0: f64, x0: f64, w1: f64, x1: f64, w2: f64) -> (f64, [f64; 5]) {
    let dot = w0 * x0 + w1 * x1 + w2;
    let s = 1.0 / (1.0 + (-dot).exp());
    let d_dot = s * (1.0 - s);
    (s, [d_dot * x0, d_dot * w0, d_dot * x1, d_dot * w1, d_dot])
}

// ---------------------------------------------------------------------------------------------
// The lecture's neuron, with arrays and a loop

#[differentiate]
pub fn neuron_array(w: [f64; 3], x: [f64; 2]) -> f64 {
    let mut dot = w[2];
    for i in 0..2 {
        dot += w[i] * x[i];
    }
    chainrule::sigmoid(dot)
}

/// (value, ∂w, ∂x).
pub fn neuron_array_by_hand(w: [f64; 3], x: [f64; 2]) -> (f64, [f64; 3], [f64; 2]) {
    let mut dot = w[2];
    for i in 0..2 {
        dot += w[i] * x[i];
    }
    let s = chainrule::sigmoid(dot);
    let d_dot = s * (1.0 - s);
    (
        s,
        [d_dot * x[0], d_dot * x[1], d_dot],
        [d_dot * w[0], d_dot * w[1]],
    )
}

// ---------------------------------------------------------------------------------------------
// Rosenbrock over a slice

#[differentiate]
pub fn rosenbrock(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() - 1 {
        s += 100.0 * (x[i + 1] - x[i] * x[i]).powi(2) + (1.0 - x[i]).powi(2);
    }
    s
}

/// (value, ∂x).
pub fn rosenbrock_by_hand(x: &[f64]) -> (f64, Vec<f64>) {
    let mut s = 0.0;
    let mut g = vec![0.0; x.len()];
    for i in 0..x.len() - 1 {
        let xi = x[i];
        let t = x[i + 1] - xi * xi;
        let u = 1.0 - xi;
        s += 100.0 * t * t + u * u;
        g[i] += -400.0 * t * xi - 2.0 * u;
        g[i + 1] += 200.0 * t;
    }
    (s, g)
}

pub fn rosenbrock_point(n: usize) -> Vec<f64> {
    (0..n).map(|i| 1.2 * (0.7 * i as f64).sin() + 0.3).collect()
}

// ---------------------------------------------------------------------------------------------
// A two-layer network, 4 → 8 → 1, ReLU, squared error

#[differentiate]
pub fn two_layer(w1: [[f64; 4]; 8], b1: [f64; 8], w2: [f64; 8], b2: f64, x: [f64; 4], target: f64) -> f64 {
    let mut h = [0.0; 8];
    for i in 0..8 {
        let mut z = b1[i];
        for j in 0..4 {
            z += w1[i][j] * x[j];
        }
        h[i] = z.max(0.0);
    }
    let mut out = b2;
    for i in 0..8 {
        out += w2[i] * h[i];
    }
    let err = out - target;
    err * err
}

/// The same network's parameters as a derived struct.
#[derive(Clone, Debug, PartialEq, chainrule::Differentiable)]
pub struct TwoLayerNet {
    pub w1: [[f64; 4]; 8],
    pub b1: [f64; 8],
    pub w2: [f64; 8],
    pub b2: f64,
}

/// `two_layer` over the struct, by reference: what a struct parameter costs.
#[allow(clippy::needless_range_loop)]
#[differentiate]
pub fn two_layer_struct(p: &TwoLayerNet, x: [f64; 4], target: f64) -> f64 {
    let mut h = [0.0; 8];
    for i in 0..8 {
        let mut z = p.b1[i];
        for j in 0..4 {
            z += p.w1[i][j] * x[j];
        }
        h[i] = z.max(0.0);
    }
    let mut out = p.b2;
    for i in 0..8 {
        out += p.w2[i] * h[i];
    }
    let err = out - target;
    err * err
}

/// Gradient of the two-layer loss: ∂W1, ∂b1, ∂W2, ∂b2, ∂x, ∂target.
#[derive(Debug)]
pub struct TwoLayerGrad {
    pub w1: [[f64; 4]; 8],
    pub b1: [f64; 8],
    pub w2: [f64; 8],
    pub b2: f64,
    pub x: [f64; 4],
    pub target: f64,
}

pub fn two_layer_by_hand(
    w1: [[f64; 4]; 8],
    b1: [f64; 8],
    w2: [f64; 8],
    b2: f64,
    x: [f64; 4],
    target: f64,
) -> (f64, TwoLayerGrad) {
    let mut h = [0.0; 8];
    for i in 0..8 {
        let mut z = b1[i];
        for j in 0..4 {
            z += w1[i][j] * x[j];
        }
        h[i] = z.max(0.0);
    }
    let mut out = b2;
    for i in 0..8 {
        out += w2[i] * h[i];
    }
    let err = out - target;
    let d_out = 2.0 * err;
    let mut g = TwoLayerGrad {
        w1: [[0.0; 4]; 8],
        b1: [0.0; 8],
        w2: [0.0; 8],
        b2: d_out,
        x: [0.0; 4],
        target: -d_out,
    };
    for i in 0..8 {
        g.w2[i] = d_out * h[i];
        if h[i] > 0.0 {
            let d_z = d_out * w2[i];
            g.b1[i] = d_z;
            for j in 0..4 {
                g.w1[i][j] = d_z * x[j];
                g.x[j] += d_z * w1[i][j];
            }
        }
    }
    (err * err, g)
}

pub type TwoLayerArgs = ([[f64; 4]; 8], [f64; 8], [f64; 8], f64, [f64; 4], f64);

pub fn two_layer_point() -> TwoLayerArgs {
    let w1 = std::array::from_fn(|i| std::array::from_fn(|j| (1.3 * i as f64 + 0.7 * j as f64).sin()));
    let b1 = std::array::from_fn(|i| 0.1 * (i as f64 - 3.5));
    let w2 = std::array::from_fn(|i| (0.9 * i as f64).cos());
    let x = [0.5, -1.0, 0.25, 0.8];
    (w1, b1, w2, 0.2, x, 1.5)
}

// ---------------------------------------------------------------------------------------------
// A chain of 20 transcendental calls: sin, exp, tanh, ln(1 + x²), five times over

#[differentiate]
pub fn chain(x: f64) -> f64 {
    let a1 = x.sin();
    let a2 = a1.exp();
    let a3 = a2.tanh();
    let a4 = (1.0 + a3 * a3).ln();
    let a5 = a4.sin();
    let a6 = a5.exp();
    let a7 = a6.tanh();
    let a8 = (1.0 + a7 * a7).ln();
    let a9 = a8.sin();
    let a10 = a9.exp();
    let a11 = a10.tanh();
    let a12 = (1.0 + a11 * a11).ln();
    let a13 = a12.sin();
    let a14 = a13.exp();
    let a15 = a14.tanh();
    let a16 = (1.0 + a15 * a15).ln();
    let a17 = a16.sin();
    let a18 = a17.exp();
    let a19 = a18.tanh();
    (1.0 + a19 * a19).ln()
}

/// (value, ∂x): the forward values kept, the derivatives multiplied back to front, each local
/// derivative from the forward value where the calculus allows (exp' = exp, tanh' = 1 − tanh²).
pub fn chain_by_hand(x: f64) -> (f64, f64) {
    let mut v = x;
    // For each round: the input of sin, the output of exp, the output of tanh (the input of ln).
    let mut saved = [[0.0; 3]; 5];
    for round in &mut saved {
        round[0] = v;
        v = v.sin().exp();
        round[1] = v;
        v = v.tanh();
        round[2] = v;
        v = (1.0 + v * v).ln();
    }
    let mut d = 1.0;
    for &[a, e, t] in saved.iter().rev() {
        d *= 2.0 * t / (1.0 + t * t);
        d *= 1.0 - t * t;
        d *= e;
        d *= a.cos();
    }
    (v, d)
}

// ---------------------------------------------------------------------------------------------
// Least squares written with an iterator chain (lowered by the macro to one loop)

#[differentiate(wrt(w))]
pub fn least_squares(w: [f64; 2], xs: &[f64], ys: &[f64]) -> f64 {
    let model = |x: f64| w[0] * x + w[1];
    xs.iter()
        .zip(ys)
        .map(|(&x, &y)| (model(x) - y).powi(2))
        .sum::<f64>()
        / xs.len() as f64
}

/// (value, ∂w).
pub fn least_squares_by_hand(w: [f64; 2], xs: &[f64], ys: &[f64]) -> (f64, [f64; 2]) {
    let (mut s, mut g0, mut g1) = (0.0, 0.0, 0.0);
    for (&x, &y) in xs.iter().zip(ys) {
        let r = w[0] * x + w[1] - y;
        s += r * r;
        g0 += 2.0 * r * x;
        g1 += 2.0 * r;
    }
    let n = xs.len() as f64;
    (s / n, [g0 / n, g1 / n])
}

pub fn least_squares_point(n: usize) -> (Vec<f64>, Vec<f64>) {
    let xs: Vec<f64> = (0..n).map(|i| (0.37 * i as f64).sin()).collect();
    let ys = xs.iter().map(|x| 2.0 * x + 0.5 + 0.1 * (3.1 * x).cos()).collect();
    (xs, ys)
}
