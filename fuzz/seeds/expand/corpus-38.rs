#[differentiate(trace, source)]
fn const_lengths<T: chainrule::Real, const N: usize>(x: [T; N], y: T) -> T {
    let mut s = T::zero();
    for i in 0..N {
        s += x[i] * x[(i + 1) % N] * y;
    }
    s / T::from_f64(N as f64)
}