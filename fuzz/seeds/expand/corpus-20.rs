#[differentiate]
fn activations(x: f32, y: f32, z: f32) -> f32 {
    let a = leaky_relu(x, 0.01) + elu(y, 1.0) + maxout(x, z) + tanh(y) + chainrule::relu(z);
    let b = x.mul_add(y, z) + y.hypot(z) + x.abs().ln_1p() + z.abs().powf(0.5);
    let c = x.atan2(y) + z.exp_m1() + y.cbrt() + x.min(y).recip() + z.log(2.0);
    a * b - c + std::f32::consts::PI * f32::sqrt(x * x + 1.0)
}