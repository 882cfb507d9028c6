#[differentiate]
fn steps(x: f64, y: f64) -> f64 {
    let s = x.floor() + x.ceil() * y.round() - x.trunc() + y.round_ties_even() * x.fract();
    let r = (x % 1.5) + x.rem_euclid(2.0) * y.div_euclid(0.5) + x.signum() * y.copysign(x);
    let mut a = x.clamp(-1.0, 1.0) * y.asinh() + (y * y + 1.0).acosh() + (0.5 * x.tanh()).atanh();
    a %= 3.0;
    s + r + a + x.to_radians() + y.to_degrees()
}