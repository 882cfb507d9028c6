#[differentiate]
fn with_lifetimes<'a, 'b: 'a, T: chainrule::Real>(xs: &'a [T], w: &'b [T; 2]) -> T {
    let mut s = T::zero();
    for i in 0..xs.len() {
        s += xs[i] * w[i % 2];
    }
    s
}