//! The lecture's sigmoid neuron with arrays and a loop, then a logistic neuron fitted by gradient
//! descent: `cargo run --example neuron`.

use chainrule::{differentiate, sigmoid};

/// The lecture's neuron, σ(w0·x0 + w1·x1 + w2), with its weights and inputs as arrays.
#[differentiate]
fn neuron(w: [f64; 3], x: [f64; 2]) -> f64 {
    let mut dot = w[2];
    for i in 0..2 {
        dot += w[i] * x[i];
    }
    sigmoid(dot)
}

/// The mean cross-entropy of the neuron's predictions on labelled points (labels 0 and 1). It calls
/// `neuron`, and is differentiated with respect to the weights only: `loss::Grad` has one field, `w`.
#[differentiate(wrt(w))]
fn loss(w: [f64; 3], xs: &[[f64; 2]], ys: &[f64]) -> f64 {
    let mut total = 0.0;
    for (i, &x) in xs.iter().enumerate() {
        let p = neuron(w, x);
        total -= ys[i] * p.ln() + (1.0 - ys[i]) * (1.0 - p).ln();
    }
    total / xs.len() as f64
}

fn main() {
    lecture_point();
    println!();
    fit();
}

fn lecture_point() {
    let (w, x) = ([2.0, -3.0, -3.0], [-1.0, -2.0]);
    let (value, g) = neuron::grad(w, x);
    println!("neuron(w = {w:?}, x = {x:?}) = {value}");
    println!("  ∂/∂w = {:?}", g.w);
    println!("  ∂/∂x = {:?}", g.x);
    assert_eq!(value, 0.7310585786300049);
    assert_eq!(
        g.w,
        [-0.19661193324148185, -0.3932238664829637, 0.19661193324148185]
    );
    assert_eq!(g.x, [0.3932238664829637, -0.5898357997244456]);
}

fn fit() {
    // 40 points scattered over [-2, 2]², labelled 1 above the line x1 = 0.5·x0 - 0.25.
    let xs: Vec<[f64; 2]> = (0..40)
        .map(|k| {
            let t = f64::from(k) * 0.77;
            [2.0 * t.sin(), 2.0 * (1.3 * t + 0.4).cos()]
        })
        .collect();
    let ys: Vec<f64> = xs
        .iter()
        .map(|x| if x[1] > 0.5 * x[0] - 0.25 { 1.0 } else { 0.0 })
        .collect();

    let mut w = [0.0; 3];
    let rate = 0.5;
    let first = loss(w, &xs, &ys);
    println!(
        "fitting a logistic neuron to {} points by gradient descent",
        xs.len()
    );
    for step in 0..=300 {
        let (value, g) = loss::grad(w, &xs, &ys);
        if step % 50 == 0 {
            println!("  step {step:3}: loss {value:.4}");
        }
        for (w, dw) in w.iter_mut().zip(g.w) {
            *w -= rate * dw;
        }
    }
    let last = loss(w, &xs, &ys);
    let correct = xs
        .iter()
        .zip(&ys)
        .filter(|&(&x, &y)| (neuron(w, x) > 0.5) == (y == 1.0))
        .count();
    println!("  weights {w:.3?}, loss {first:.4} → {last:.4}");
    println!("  accuracy {correct}/{}", xs.len());
    assert!(
        last < first / 4.0,
        "the loss did not decrease enough: {first} → {last}"
    );
}
