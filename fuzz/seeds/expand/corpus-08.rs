#[differentiate(wrt(w, b))]
fn affine(w: f64, x: f64, b: f64) -> f64 {
    (w * x + b).tanh()
}