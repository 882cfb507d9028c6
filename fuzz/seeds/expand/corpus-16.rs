#[differentiate]
fn array_iteration(a: [f64; 5], x: f64) -> f64 {
    let mut s = 0.0;
    for v in a {
        s += v * x;
    }
    for (i, v) in a.iter().enumerate() {
        s += v * v * (i as f64);
    }
    for &v in a.iter() {
        s = s * 0.5 + v.sin();
    }
    for i in (0..5).rev() {
        s = s * x + a[i];
    }
    s
}