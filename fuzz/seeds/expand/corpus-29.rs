#[differentiate]
fn deferred(x: f64, n: usize) -> f64 {
    let y: f64;
    let scale = 2.0;
    if x > 1.0 {
        let t = x.ln();
        y = t * scale;
    } else if n > 2 {
        y = x * x;
    } else {
        y = x.sin();
    }
    let mut z;
    if y > 0.5 {
        z = y * 3.0;
    } else {
        z = y;
    }
    z += 1.0;
    z * y
}