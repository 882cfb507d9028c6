#[differentiate(wrt(w1, b1, w2, b2))]
fn two_layer_slices(w1: &[f64], b1: &[f64], w2: &[f64], b2: f64, x: &[f64], target: f64) -> f64 {
    let inputs = x.len();
    let mut out = b2;
    for i in 0..b1.len() {
        let mut z = b1[i];
        for j in 0..inputs {
            z += w1[i * inputs + j] * x[j];
        }
        out += w2[i] * z.max(0.0);
    }
    let err = out - target;
    err * err
}