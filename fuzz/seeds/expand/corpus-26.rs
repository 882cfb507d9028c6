#[differentiate(trace, source)]
fn traced(w: [f64; 3], x: [f64; 2]) -> f64 {
    let mut dot = w[2];
    for i in 0..2 {
        if x[i] > 0.0 { dot += w[i] * x[i]; } else { dot -= x[i]; }
    }
    sigmoid(dot)
}