use chainrule::differentiate;

#[differentiate]
fn f(x: f64) -> f64 {
    let mut y = x;
    y * y
}

fn main() {}
