/// Documented.
#[differentiate]
#[allow(clippy::let_and_return)]
#[cfg(not(feature = "none"))]
pub fn documented(x: f64) -> f64 {
    let y = x.sin() * x.cos();
    y
}