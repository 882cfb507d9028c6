#[differentiate(backward = erf_backward)]
fn erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.3275911 * x.abs());
    let y = 1.0 - (((1.061405429 * t - 1.453152027) * t + 1.421413741) * t) * (-x * x).exp();
    if x >= 0.0 { y } else { -y }
}