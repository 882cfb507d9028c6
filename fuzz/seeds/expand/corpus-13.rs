#[differentiate]
pub(crate) fn smooth_abs<T>(x: T, k: T) -> T
where
    T: chainrule::Real,
{
    if x > T::zero() {
        softplus(k * x) / k
    } else {
        softplus(-k * x) / k
    }
}