#[differentiate]
fn run_time_arrays(xs: &[f64], x: f64, n: usize) -> f64 {
    let mut buf: Vec<f64> = vec![x; n];
    let copy = xs.to_vec();
    for i in 0..n {
        buf[i] = buf[i] * copy[i % copy.len()] + i as f64;
    }
    let mut scratch = copy.clone();
    scratch[0] *= buf[n - 1];
    let fixed = vec![x, 2.0 * x];
    buf.iter().sum::<f64>() + scratch[0] * fixed[1] + buf.len() as f64
}