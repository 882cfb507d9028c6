#[differentiate(jvp, hessian)]
fn curvature(x: &[f64], k: f64) -> f64 {
    let mut s = [0.0, k];
    let mut i = 0;
    while i < x.len() {
        let d = if x[i] > 0.5 { (x[i] * k).sin() } else { x[i].powi(2) - k.exp() };
        s[0] += d * d;
        s[1] = s[1].max(d);
        i += 1;
    }
    s[0] / (1.0 + s[1].abs()) + x.iter().map(|v| v.tanh()).sum::<f64>()
}