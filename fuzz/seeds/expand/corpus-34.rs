#[differentiate]
fn chains(xs: &[f64], w: [f64; 3], x: f64) -> f64 {
    let sq = |t: f64| t * t;
    let mut k = x;
    let scaled = move |t: f64| t * k;
    k += 1.0;
    let a: f64 = xs.iter().zip(w.iter()).map(|(a, b)| sq(a - b)).sum();
    let m = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let n = xs.iter().filter(|&&v| v > 0.0).count() as f64;
    let p: f64 = w.iter().rev().enumerate().skip(1).map(|(i, v)| v * i as f64).product();
    let r = w.into_iter().reduce(f64::min).unwrap_or(0.0);
    let mut s = 0.0;
    for win in xs.windows(2) {
        s += win.iter().map(|v| scaled(*v)).sum::<f64>() / win.len() as f64;
    }
    for (i, v) in (0..3).zip(w).rev() {
        s += v * i as f64 + k;
    }
    xs.iter().for_each(|v| s += v);
    let any = w.iter().any(|v| *v > x) || (1..=3).step_by(2).all(|i| i > 0);
    if any { a + m + n + p + r + s } else { s }
}