#[differentiate]
fn counted_until(x: f64, n: usize) -> f64 {
    let mut s = x;
    let mut k = 0;
    while k < n && s < 100.0 {
        s = s * x + (k as f64);
        k += 1;
    }
    for i in 1..=n {
        s += x / (i as f64);
    }
    for i in (2..n).rev() {
        s = s * 0.75 + x * (i as f64);
    }
    s * 2.0
}