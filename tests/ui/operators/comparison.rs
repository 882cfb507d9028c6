use chainrule::differentiate;

#[differentiate]
fn f(x: f64, y: f64) -> f64 {
    let b = x > y;
    x * b
}

fn main() {}
