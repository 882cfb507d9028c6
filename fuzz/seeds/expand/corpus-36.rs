#[differentiate]
fn tuples(x: f64, y: f64, n: usize) -> f64 {
    let (s, c) = x.sin_cos();
    let ((p, _), (q, mut r)): ((f64, f64), (f64, f64)) = ((x * y, 0.0), (x + y).sin_cos());
    let (mut u, mut v) = (x, y);
    for _ in 0..n {
        (u, v) = (v, u + v * 0.5);
    }
    r += p;
    let (y, x) = (x, y);
    s * c + q * r + u * v + y - x
}