#[differentiate]
fn mut_parameters(mut x: f64, mut w: [f64; 3], n: usize) -> f64 {
    for i in 0..n {
        w[i % 3] *= x;
        x = x.sin() + w[0];
    }
    x * w[1] + w[2]
}