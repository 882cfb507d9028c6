#[differentiate]
fn pair(x: f64, w: [f64; 2], k: usize) -> (f64, f64) {
    if x > 1.0 {
        return (w[0] * x, w[1]);
    }
    match k {
        0 => x.sin_cos(),
        _ => (x.exp(), w[0] + w[1] * x),
    }
}