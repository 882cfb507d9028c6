#[differentiate(backward = rules::weighted_backward)]
fn weighted(w: [f64; 3], x: f64) -> f64 {
    w.iter().enumerate().map(|(i, wi)| wi * x.powi(i as i32)).sum()
}