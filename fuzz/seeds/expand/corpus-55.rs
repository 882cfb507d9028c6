#[differentiate]
fn energy(q: [f64; 3], k: f64) -> f64 {
    let force: [f64; 3] = springs(q, k);
    force.iter().map(|f| f * f).sum::<f64>()
}