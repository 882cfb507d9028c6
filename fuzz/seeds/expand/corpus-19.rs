#[differentiate]
fn literals_and_blocks(x: f64, y: f64) -> f64 {
    let t: f64 = 2.0 * x + 1e-3 * y * y + x / 2. - 2.5e1 * x * y + 0.5_f64 * y + 1E2;
    let x = x * x;
    let _ = y.ln();
    let b = {
        let a = t * t;
        a + 1.0
    };
    let a = x - (y - x * y) / (x * (y + 1.0)) * -(x + y);
    let c = -x.powi(2) + (-y).powi(3) - -x.exp() + 2f64 * x.powi(3i32) + f64::hypot(x, y);
    return a * b - c / (t - 3.0);
}