#[differentiate]
fn control(x: f64, xs: &[f64], n: usize) -> f64 {
    let y = if x > 0.0 { x * x } else { -x };
    let mut p = 1.0;
    for _ in 0..n {
        p = p * y;
    }
    let mut s = 0.0;
    for &v in xs.iter() {
        s += v.sin();
    }
    let mut z = s;
    while z < 10.0 {
        z = z * 2.0 + p;
    }
    z
}