#[differentiate]
pub fn kinks(a: f32, b: f32) -> f32 {
    let m = a.max(b);
    let r = relu(a * b) + m.abs();
    r * a.tanh() + 2.0_f32.sqrt() * b.powi(3)
}