use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    for _ in 0..3 {}
    x * x
}

fn main() {}
