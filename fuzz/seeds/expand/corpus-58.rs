#[differentiate(hessian)]
fn two_springs(x: f64, y: f64, k: f64) -> f64 {
    spring(x, k) + spring(y - x, 2.0 * k)
}