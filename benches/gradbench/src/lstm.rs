//! `lstm`: the ADBench LSTM objective of evals/lstm/README.md (GradBench's
//! `cpp/gradbench/evals/lstm.hpp`): `l` layers of `b` cells whose weights are diagonal (each
//! gate of cell `j` reads only input `j` and hidden `j`), run over a sequence of `c`
//! characters as `b` bits each; the loss is the mean cross-entropy of each step's prediction
//! against the next character, with ADBench's `log(Σ exp(ŷ) + 2)`. The gradient is with
//! respect to `main_params` (2l rows of 4b: each layer's weights, then its biases, gates in
//! the order forget, ingate, outgate, change) and `extra_params` (3 rows of b: the input
//! weight, the output weight, the output bias), rows row-major, as GradBench's output.

use chainrule::{differentiate, sigmoid};

/// The objective, as the README's reference computes it: the state copied into `vec!`
/// buffers (hidden and cell of each layer, layer-major), then per step the prediction
/// through the layers and its log-softmax against the next character.
#[differentiate(wrt(main_params, extra_params))]
pub fn lstm_objective(
    main_params: &[Vec<f64>],
    extra_params: &[Vec<f64>],
    state: &[Vec<f64>],
    sequence: &[Vec<f64>],
) -> f64 {
    let l = main_params.len() / 2;
    let b = main_params[0].len() / 4;
    let mut hidden = vec![0.0; l * b];
    let mut cell = vec![0.0; l * b];
    for i in 0..l {
        for j in 0..b {
            hidden[i * b + j] = state[2 * i][j];
            cell[i * b + j] = state[2 * i + 1][j];
        }
    }
    let mut total = 0.0;
    let mut count = 0;
    for t in 0..sequence.len() - 1 {
        // The prediction: the input scaled, through each layer, then scaled and shifted.
        let mut x = vec![0.0; b];
        for j in 0..b {
            x[j] = sequence[t][j] * extra_params[0][j];
        }
        for i in 0..l {
            for j in 0..b {
                let h = hidden[i * b + j];
                let forget = sigmoid(x[j] * main_params[2 * i][j] + main_params[2 * i + 1][j]);
                let ingate = sigmoid(h * main_params[2 * i][b + j] + main_params[2 * i + 1][b + j]);
                let outgate =
                    sigmoid(x[j] * main_params[2 * i][2 * b + j] + main_params[2 * i + 1][2 * b + j]);
                let change = (h * main_params[2 * i][3 * b + j] + main_params[2 * i + 1][3 * b + j]).tanh();
                cell[i * b + j] = cell[i * b + j] * forget + ingate * change;
                hidden[i * b + j] = outgate * cell[i * b + j].tanh();
                x[j] = hidden[i * b + j];
            }
        }
        let mut ypred = vec![0.0; b];
        for j in 0..b {
            ypred[j] = x[j] * extra_params[1][j] + extra_params[2][j];
        }
        // ADBench's log(sum(exp(ŷ), 2)): the sum of the exponentials, plus 2.
        let lse = (ypred.iter().map(|y| y.exp()).sum::<f64>() + 2.0).ln();
        for j in 0..b {
            total += sequence[t + 1][j] * (ypred[j] - lse);
        }
        count += b;
    }
    -total / count as f64
}

/// One cell's step, kept for the backward pass: the gates and the cell before and after.
#[derive(Clone, Copy, Default)]
struct Step {
    input: f64,
    hidden: f64,
    cell: f64,
    forget: f64,
    ingate: f64,
    outgate: f64,
    change: f64,
    tanh_cell: f64,
}

/// The value and the gradient by hand: backpropagation through time. The forward pass keeps
/// each cell's gates per step (8 floats per cell and step); the backward pass runs the steps
/// in reverse, carrying each layer's hidden and cell adjoints. Gradients in GradBench's
/// layout: `main_params` rows then `extra_params` rows, each row-major.
pub fn gradient_by_hand(
    main_params: &[Vec<f64>],
    extra_params: &[Vec<f64>],
    state: &[Vec<f64>],
    sequence: &[Vec<f64>],
) -> (f64, Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let l = main_params.len() / 2;
    let b = main_params[0].len() / 4;
    let steps = sequence.len() - 1;
    let mut hidden: Vec<f64> = (0..l).flat_map(|i| state[2 * i].iter().copied()).collect();
    let mut cell: Vec<f64> = (0..l).flat_map(|i| state[2 * i + 1].iter().copied()).collect();
    let mut saved = vec![Step::default(); steps * l * b];
    // The softmax of each step's prediction, and the top layer's hidden (the output's input).
    let mut softmax = vec![0.0; steps * b];
    let mut top = vec![0.0; steps * b];
    let mut total = 0.0;
    let mut x = vec![0.0; b];
    let mut ypred = vec![0.0; b];
    for t in 0..steps {
        for j in 0..b {
            x[j] = sequence[t][j] * extra_params[0][j];
        }
        for i in 0..l {
            let (w, bias) = (&main_params[2 * i], &main_params[2 * i + 1]);
            for j in 0..b {
                let k = i * b + j;
                let h = hidden[k];
                let forget = sigmoid(x[j] * w[j] + bias[j]);
                let ingate = sigmoid(h * w[b + j] + bias[b + j]);
                let outgate = sigmoid(x[j] * w[2 * b + j] + bias[2 * b + j]);
                let change = (h * w[3 * b + j] + bias[3 * b + j]).tanh();
                let c = cell[k];
                cell[k] = c * forget + ingate * change;
                let tanh_cell = cell[k].tanh();
                hidden[k] = outgate * tanh_cell;
                saved[(t * l + i) * b + j] = Step {
                    input: x[j],
                    hidden: h,
                    cell: c,
                    forget,
                    ingate,
                    outgate,
                    change,
                    tanh_cell,
                };
                x[j] = hidden[k];
            }
        }
        for j in 0..b {
            top[t * b + j] = x[j];
            ypred[j] = x[j] * extra_params[1][j] + extra_params[2][j];
        }
        let sum = ypred.iter().map(|y| y.exp()).sum::<f64>() + 2.0;
        let lse = sum.ln();
        for j in 0..b {
            total += sequence[t + 1][j] * (ypred[j] - lse);
            softmax[t * b + j] = ypred[j].exp() / sum;
        }
    }
    let count = (steps * b) as f64;
    let value = -total / count;

    let mut d_main = vec![vec![0.0; 4 * b]; 2 * l];
    let mut d_extra = vec![vec![0.0; b]; 3];
    // The adjoints of each layer's hidden and cell, carried from step t + 1 back to t.
    let mut d_hidden = vec![0.0; l * b];
    let mut d_cell = vec![0.0; l * b];
    let mut d_x = vec![0.0; b];
    let scale = -1.0 / count;
    for t in (0..steps).rev() {
        // loss = scale Σⱼ gⱼ (ŷⱼ − lse): ∂/∂ŷⱼ = scale (gⱼ − (Σ g) softmaxⱼ).
        let gold: f64 = sequence[t + 1].iter().sum();
        for j in 0..b {
            let d_y = scale * (sequence[t + 1][j] - gold * softmax[t * b + j]);
            d_extra[1][j] += d_y * top[t * b + j];
            d_extra[2][j] += d_y;
            d_x[j] = d_y * extra_params[1][j];
        }
        for i in (0..l).rev() {
            let (w, _) = (&main_params[2 * i], &main_params[2 * i + 1]);
            for j in 0..b {
                let k = i * b + j;
                let s = saved[(t * l + i) * b + j];
                // hidden = outgate tanh(cell'): the hidden's adjoint is the layer above's
                // input adjoint (d_x) plus the next step's.
                let d_h = d_x[j] + d_hidden[k];
                let d_outgate = d_h * s.tanh_cell;
                let d_c = d_cell[k] + d_h * s.outgate * (1.0 - s.tanh_cell * s.tanh_cell);
                // cell' = cell forget + ingate change.
                let d_forget = d_c * s.cell;
                let d_ingate = d_c * s.change;
                let d_change = d_c * s.ingate;
                d_cell[k] = d_c * s.forget;
                // The gates' pre-activations.
                let z_forget = d_forget * s.forget * (1.0 - s.forget);
                let z_ingate = d_ingate * s.ingate * (1.0 - s.ingate);
                let z_outgate = d_outgate * s.outgate * (1.0 - s.outgate);
                let z_change = d_change * (1.0 - s.change * s.change);
                d_main[2 * i][j] += z_forget * s.input;
                d_main[2 * i][b + j] += z_ingate * s.hidden;
                d_main[2 * i][2 * b + j] += z_outgate * s.input;
                d_main[2 * i][3 * b + j] += z_change * s.hidden;
                d_main[2 * i + 1][j] += z_forget;
                d_main[2 * i + 1][b + j] += z_ingate;
                d_main[2 * i + 1][2 * b + j] += z_outgate;
                d_main[2 * i + 1][3 * b + j] += z_change;
                // The previous step's hidden (read by ingate and change), and this layer's
                // input (read by forget and outgate): the layer below's hidden, or x₀.
                d_hidden[k] = z_ingate * w[b + j] + z_change * w[3 * b + j];
                d_x[j] = z_forget * w[j] + z_outgate * w[2 * b + j];
            }
        }
        for j in 0..b {
            d_extra[0][j] += d_x[j] * sequence[t][j];
        }
    }
    (value, d_main, d_extra)
}

/// GradBench's sizes (evals/lstm: `-l` 2, 4, 6 layers × `-c` 1,024, 4,096, 8,192 characters,
/// in order of l · c), and b = 14 bits per character (GradBench's text has a character past
/// U+2000, so ⌈log₂ max code⌉ = 14).
pub const SIZES: &[(usize, usize)] = &[
    (2, 1024),
    (4, 1024),
    (2, 4096),
    (6, 1024),
    (2, 8192),
    (4, 4096),
    (6, 4096),
    (4, 8192),
    (6, 8192),
];

/// Bits per character.
pub const B: usize = 14;

/// The input of `l` layers and `c` characters, as GradBench's `gen_lstm` draws it: state
/// (2l × b), main_params (2l × 4b) and extra_params (3 × b) uniform in [0, 1); the sequence
/// is `c` characters as `b` bits each, most significant first (GradBench takes them from a
/// text; here printable ASCII characters drawn uniformly).
pub struct Input {
    pub main_params: Vec<Vec<f64>>,
    pub extra_params: Vec<Vec<f64>>,
    pub state: Vec<Vec<f64>>,
    pub sequence: Vec<Vec<f64>>,
}

pub fn input(l: usize, c: usize) -> Input {
    let mut u = crate::Uniform::new(31337 + (1000 * l + c) as u64);
    let sequence = (0..c)
        .map(|_| {
            let code = 32 + (u.draw() * 95.0) as u32;
            (0..B).map(|bit| ((code >> (B - 1 - bit)) & 1) as f64).collect()
        })
        .collect();
    let state = (0..2 * l).map(|_| u.vector(B)).collect();
    let main_params = (0..2 * l).map(|_| u.vector(4 * B)).collect();
    let extra_params = (0..3).map(|_| u.vector(B)).collect();
    Input {
        main_params,
        extra_params,
        state,
        sequence,
    }
}
