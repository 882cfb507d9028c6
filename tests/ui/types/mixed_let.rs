use chainrule::differentiate;

#[differentiate]
fn f(x: f32) -> f32 {
    let y: f64 = 2.0;
    x * y
}

fn main() {}
