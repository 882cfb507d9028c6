#[differentiate]
fn generic_net<T: Real>(w: [T; 3], x: T) -> T {
    let mut s = T::zero();
    for i in 0..3 {
        s += relu(w[i] * x - T::from_f64(0.5)) * (T::from_f64(i as f64) + T::one());
    }
    (s * s).sqrt() + w[0].powi(2) * T::exp(x)
}