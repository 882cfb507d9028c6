#[differentiate]
fn guards(x: f64, y: f64) -> f64 {
    if x < 0.0 {
        return -x * y;
    }
    let z = x * y;
    if y > 1.0 {
        return z + 1.0;
    } else if y < -1.0 {
        let w = z * 2.0;
        return w - y;
    }
    if z > 4.0 {
        z.sqrt()
    } else {
        return z * z;
    }
}