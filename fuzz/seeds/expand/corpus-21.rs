#[differentiate]
fn references(xs: &Vec<f64>, c: &[f64; 3], x: f64, unused: f64, squared: bool) -> f64 {
    let big = x > 2.0;
    let mut s = if squared { x * x } else { x.exp() };
    for &v in xs.iter() {
        s = s * v + c[0];
    }
    for i in 0..c.len() {
        s += c[i] * x;
    }
    if big { s * 3.0 } else { s }
}