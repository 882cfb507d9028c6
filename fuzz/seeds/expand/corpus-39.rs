#[differentiate]
fn in_place(scores: [f64; 3], t: f64) -> f64 {
    let mut p = scores;
    for v in p.iter_mut() {
        *v = (*v * t).exp();
    }
    let total: f64 = p.iter().sum();
    for (i, v) in p.iter_mut().enumerate() {
        *v /= total;
        *v += 0.01 * i as f64;
    }
    for v in &mut p {
        *v = v.powi(2);
    }
    p[0] + p[2]
}