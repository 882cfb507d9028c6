#[differentiate(hessian)]
fn spring(x: f64, k: f64) -> f64 {
    0.5 * k * x * x
}