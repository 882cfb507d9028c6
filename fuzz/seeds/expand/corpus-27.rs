#[differentiate(wrt(x, w))]
fn integers(x: f64, w: [f64; STEPS + 1], n: u32, k: i64, m: usize) -> f64 {
    let mut p = x;
    for _ in 0..n {
        p = p * x;
    }
    for i in k..(k + 3) {
        p = (p * (x - i as f64)).sin();
    }
    for i in 1..m.min(N - 1) {
        p += w[usize::max(i, 2)] * x.powi(i as i32) + x.powf(0.0) / N as f64;
    }
    let mut d: f64 = 1.0;
    while d > 1e-3 {
        d = p * 0.5;
        p -= d;
    }
    for _ in 0..1_000_000 {
        p -= 1e-6 * p;
    }
    p
}