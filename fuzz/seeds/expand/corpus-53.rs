#[differentiate(wrt(p))]
fn residuals(p: [f64; 3], xs: &[f64], ys: &[f64]) -> Vec<f64> {
    xs.iter().zip(ys).map(|(x, y)| p[0] * (p[1] * x).exp() + p[2] - y).collect()
}