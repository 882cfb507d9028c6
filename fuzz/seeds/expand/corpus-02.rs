#[differentiate]
fn neuron_arrays(w: [f64; 3], x: [f64; 2]) -> f64 {
    let mut dot = w[2];
    for i in 0..2 {
        dot += w[i] * x[i];
    }
    sigmoid(dot)
}