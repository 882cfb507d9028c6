#[differentiate(jvp)]
fn through_pair(x: f64, w: [f64; 2]) -> f64 {
    let (a, b) = pair(x, w, 1);
    let (c, _): (f64, f64) = pair(a * b, w, 0);
    a * c + b
}