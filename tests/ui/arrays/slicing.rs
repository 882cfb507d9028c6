use chainrule::differentiate;

#[differentiate]
fn f(a: &[f64]) -> f64 {
    let b = a[1..3][0];
    b
}

fn main() {}
