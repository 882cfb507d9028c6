#[differentiate]
fn softmax_loss(scores: &[f64], y: usize) -> f64 {
    logsumexp(scores) - scores[y]
}