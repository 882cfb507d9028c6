#[differentiate]
fn net(w1: [[f64; 4]; 3], b1: [f64; 3], w2: [f64; 3], b2: f64, x: [f64; 4], y: f64) -> f64 {
    let mut h = [0.0; 3];
    for i in 0..3 {
        let mut z = b1[i];
        for j in 0..4 {
            z += w1[i][j] * x[j];
        }
        h[i] = relu(z);
    }
    let mut out = b2;
    for i in 0..3 {
        out += w2[i] * h[i];
    }
    let e = out - y;
    e * e
}