use chainrule::differentiate;

fn square_jvp(x: f64, _value: f64, tangent: square::Tangent) -> f64 {
    2.0 * x * tangent.x
}

#[differentiate(jvp = square_jvp)]
fn square(x: f64) -> f64 {
    x * x
}

fn main() {}
