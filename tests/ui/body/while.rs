use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    while x > 1.0 {}
    x * x
}

fn main() {}
