#[differentiate(jvp)]
fn springs(q: [f64; 3], k: f64) -> [f64; 3] {
    let mut force = [0.0; 3];
    for i in 0..3 {
        force[i] = k * (q[(i + 1) % 3] - q[i]).tanh();
    }
    force
}