//! The spiral data set and the two classifiers of CS231n's case study, written as ordinary
//! ndarray code; `#[differentiate]` writes their gradients. Shared by `examples/spiral` and
//! `tests/spiral.rs`.

#![allow(dead_code)]

use chainrule::ndarray::{Array1, Array2, Axis};
use chainrule::{cross_entropy, differentiate, relu, Differentiable};

/// Points per class, classes, dimensions.
pub const POINTS: usize = 100;
pub const CLASSES: usize = 3;
pub const DIMENSIONS: usize = 2;
pub const HIDDEN: usize = 100;

/// splitmix64, and normal deviates from it (Box–Muller): the same data everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// The spiral: `CLASSES` arms of `POINTS` points each, radius 0 to 1, angle noise 0.2.
pub fn spiral(seed: u64) -> (Array2<f64>, Vec<usize>) {
    let mut rng = Rng::new(seed);
    let mut x = Array2::zeros((POINTS * CLASSES, DIMENSIONS));
    let mut y = vec![0; POINTS * CLASSES];
    for class in 0..CLASSES {
        for i in 0..POINTS {
            let r = i as f64 / (POINTS - 1) as f64;
            let t = class as f64 * 4.0 + 4.0 * i as f64 / (POINTS - 1) as f64 + rng.normal() * 0.2;
            let row = class * POINTS + i;
            x[[row, 0]] = r * t.sin();
            x[[row, 1]] = r * t.cos();
            y[row] = class;
        }
    }
    (x, y)
}

/// Small random weights (0.01 · N(0, 1)).
pub fn weights(rows: usize, cols: usize, rng: &mut Rng) -> Array2<f64> {
    Array2::from_shape_fn((rows, cols), |_| 0.01 * rng.normal())
}

/// The linear softmax classifier's loss: cross-entropy of X W + b, plus L2 regularization.
#[differentiate(wrt(w, b))]
pub fn linear_loss(w: &Array2<f64>, b: &Array1<f64>, x: &Array2<f64>, y: &[usize], reg: f64) -> f64 {
    let scores = x.dot(w) + b;
    cross_entropy(&scores, y) + 0.5 * reg * (w * w).sum()
}

/// The 2-layer network's parameters: a struct with `#[derive(Differentiable)]`, so that
/// `network_loss` takes it whole and its gradient is a `Network` too.
#[derive(Clone, Debug, PartialEq, Differentiable)]
pub struct Network {
    pub w1: Array2<f64>,
    pub b1: Array1<f64>,
    pub w2: Array2<f64>,
    pub b2: Array1<f64>,
}

/// The 2-layer network's loss: scores = max(0, X W1 + b1) W2 + b2, softmax loss, L2.
#[differentiate(wrt(net))]
pub fn network_loss(net: &Network, x: &Array2<f64>, y: &[usize], reg: f64) -> f64 {
    let hidden = relu(&(x.dot(&net.w1) + &net.b1));
    let scores = hidden.dot(&net.w2) + &net.b2;
    cross_entropy(&scores, y) + 0.5 * reg * ((&net.w1 * &net.w1).sum() + (&net.w2 * &net.w2).sum())
}

/// The linear classifier's parameters.
pub struct Linear {
    pub w: Array2<f64>,
    pub b: Array1<f64>,
}

impl Linear {
    pub fn new(rng: &mut Rng) -> Self {
        Linear {
            w: weights(DIMENSIONS, CLASSES, rng),
            b: Array1::zeros(CLASSES),
        }
    }

    pub fn scores(&self, x: &Array2<f64>) -> Array2<f64> {
        x.dot(&self.w) + &self.b
    }

    /// One step of gradient descent; returns the loss before it.
    pub fn step(&mut self, x: &Array2<f64>, y: &[usize], reg: f64, rate: f64) -> f64 {
        let (loss, grad) = linear_loss::grad(&self.w, &self.b, x, y, reg);
        self.w.scaled_add(-rate, &grad.w);
        self.b.scaled_add(-rate, &grad.b);
        loss
    }
}

impl Network {
    pub fn new(rng: &mut Rng) -> Self {
        Network {
            w1: weights(DIMENSIONS, HIDDEN, rng),
            b1: Array1::zeros(HIDDEN),
            w2: weights(HIDDEN, CLASSES, rng),
            b2: Array1::zeros(CLASSES),
        }
    }

    pub fn scores(&self, x: &Array2<f64>) -> Array2<f64> {
        relu(&(x.dot(&self.w1) + &self.b1)).dot(&self.w2) + &self.b2
    }

    /// One step of gradient descent; returns the loss before it.
    pub fn step(&mut self, x: &Array2<f64>, y: &[usize], reg: f64, rate: f64) -> f64 {
        let (loss, grad) = network_loss::grad(self, x, y, reg);
        *self -= rate * grad.net;
        loss
    }
}

/// The fraction of rows whose highest score is their label.
pub fn accuracy(scores: &Array2<f64>, y: &[usize]) -> f64 {
    let correct = scores
        .axis_iter(Axis(0))
        .zip(y)
        .filter(|(row, &label)| {
            let best =
                row.iter().enumerate().fold(
                    (0, f64::NEG_INFINITY),
                    |(k, m), (j, &s)| if s > m { (j, s) } else { (k, m) },
                );
            best.0 == label
        })
        .count();
    correct as f64 / y.len() as f64
}

/// Step sizes and regularization of the case study.
pub const RATE: f64 = 1.0;
pub const REG: f64 = 1e-3;
